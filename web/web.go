// Package web serves civiq's pages: html/template pages and static files,
// embedded in the binary, in Chinese first and English on request. Pages
// talk to the JSON API and follow the hall's live event stream.
package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/template/parse"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/origin"
	"github.com/civiq/civiq/qr"
	"github.com/civiq/civiq/sso"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed locale
var localeFS embed.FS

// Languages civiq speaks; the first is the default.
var Languages = []string{"zh-CN", "en"}

// langCookie remembers the language chosen with ?lang=.
const langCookie = "civiq_lang"

// Site serves the pages. Make it with New.
type Site struct {
	Engine  *civiq.Engine
	Version string
	// FrameAncestors are the origins that may embed the pages meant for it
	// (embeddable); no other page may be framed by anyone.
	FrameAncestors []string
	// VAPIDPublicKey is the installation's Web Push public key (package
	// webpush), with which the phone page subscribes a browser.
	VAPIDPublicKey string
	// SSO are single sign-on's clients of the settings in force (the
	// identity platform's: sso.go); nil without any.
	SSO *sso.Clients

	pages    map[string]*template.Template
	catalogs map[string]map[string]string
	strings  map[string][]string // page -> the catalogue keys its script gets
}

// embeddable are the pages other sites may frame, when FrameAncestors
// names them: the hall display and the service guides. Every other page
// refuses every frame (issue 18: pages could be framed, for clickjacking).
var embeddable = map[string]bool{"display": true, "guide_list": true, "guide": true}

// ParseFrameAncestors reads the origins that may embed the display and
// the guides: scheme://host[:port] separated by spaces or commas, a host
// may start with "*." ; "" gives none.
func ParseFrameAncestors(s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" ||
			strings.ContainsFunc(u.Host, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:*[]", r))
			}) {
			return nil, fmt.Errorf("frame ancestor %q: want an origin such as https://portal.example.gov.cn", f)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out, nil
}

// page is what every template gets.
type page struct {
	Lang  string
	Other string // the language to switch to
	// OtherHref is this page in the other language: its query kept (a
	// display's counters, the results' month), lang replaced.
	OtherHref string
	Path      string
	Title     string
	User      *civiq.User
	CSRF      string
	Version   string
	Data      any
	// Strings are the catalogue entries the page's script needs.
	Strings template.JS
}

// New makes the site: it reads the catalogues and parses and checks every
// template, so that a broken one stops the start instead of failing a
// request.
func New(engine *civiq.Engine, version string) (*Site, error) {
	s := &Site{Engine: engine, Version: version}
	if err := s.load(localeFS, templateFS); err != nil {
		return nil, err
	}
	if err := s.resolveStrings(scriptStrings); err != nil {
		return nil, err
	}
	return s, nil
}

// load reads the catalogues (locale/<lang>/<page>.json, keys unique across
// the files of a language) and the templates (templates/<page>.html, each
// with templates/layout.html).
func (s *Site) load(locales, templates fs.FS) error {
	s.catalogs = map[string]map[string]string{}
	for _, l := range Languages {
		files, err := fs.Glob(locales, "locale/"+l+"/*.json")
		if err == nil && len(files) == 0 {
			err = errors.New("no catalogue")
		}
		if err != nil {
			return fmt.Errorf("locale %s: %w", l, err)
		}
		m := map[string]string{}
		for _, f := range files {
			b, err := fs.ReadFile(locales, f)
			if err == nil {
				err = json.Unmarshal(b, &m)
			}
			if err != nil {
				return fmt.Errorf("locale %s: %w", f, err)
			}
		}
		s.catalogs[l] = m
	}
	s.pages = map[string]*template.Template{}
	names, err := fs.Glob(templates, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t := template.New("layout.html").Funcs(template.FuncMap{
			"t": func(lang, key string, args ...any) string { return s.T(lang, key, args...) },
			// dates.go: one date format per language.
			"day":      dayIn,
			"datetime": dateTimeIn,
			"behalf":   behalf,
		})
		t, err := t.ParseFS(templates, "templates/layout.html", n)
		if err == nil {
			err = s.check(t)
		}
		if err != nil {
			return fmt.Errorf("template %s: %w", n, err)
		}
		s.pages[name] = t
	}
	if len(s.pages) == 0 {
		return errors.New("no templates")
	}
	return nil
}

// behalfChoice is what the template "behalfoptions" (layout.html) draws:
// the 帮办代办 choice of the counter, the case desk and the case intake
// page.
type behalfChoice struct {
	Lang, None, Selected string // None: the in-person option's text
	Roles                []string
}

// behalf makes a page's behalfChoice: none is its text for the applicant
// in person, selected the helper's role chosen ("" for in person).
func behalf(lang, none, selected string) behalfChoice {
	return behalfChoice{Lang: lang, None: none, Selected: selected, Roles: civiq.BehalfRoles}
}

// resolveStrings turns each page's list of keys and prefixes (a key ending
// in ".") into the catalogue keys its script gets. A key or a prefix that
// names nothing in the catalogue, or a page that does not exist, is an
// error.
func (s *Site) resolveStrings(lists map[string][]string) error {
	s.strings = map[string][]string{}
	for page, list := range lists {
		if s.pages[page] == nil {
			return fmt.Errorf("script strings: no page %q", page)
		}
		seen := map[string]bool{}
		for _, k := range list {
			n := 0
			for key := range s.catalogs[Languages[0]] {
				if key == k || strings.HasSuffix(k, ".") && strings.HasPrefix(key, k) {
					n++
					seen[key] = true
				}
			}
			if n == 0 {
				return fmt.Errorf("script strings of %s: %q names no catalogue entry", page, k)
			}
		}
		keys := make([]string, 0, len(seen))
		for k := range seen {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s.strings[page] = keys
	}
	return nil
}

// check finds what html/template would otherwise find at a page's first
// request: it escapes the template (running it once on an empty page, whose
// run may stop for want of data: that is no fault), and it checks that
// every catalogue key written out in it, {{t .Lang "key"}}, is in every
// catalogue.
func (s *Site) check(t *template.Template) error {
	var escape *template.Error
	if err := t.Execute(io.Discard, page{Lang: Languages[0], Other: Languages[1]}); errors.As(err, &escape) {
		return err
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		var err error
		walkCalls(tt.Tree.Root, func(fn string, args []parse.Node) {
			if fn != "t" || len(args) < 3 || err != nil {
				return
			}
			key, ok := args[2].(*parse.StringNode)
			if !ok {
				return // a key made at run time, like printf "role.%s"
			}
			for _, l := range Languages {
				if _, ok := s.catalogs[l][key.Text]; !ok {
					err = fmt.Errorf("%s: key %q is not in the %s catalogue", tt.Name(), key.Text, l)
				}
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// walkCalls calls fn for every call of a named function in the tree below
// n, with the call's arguments, the function's name first.
func walkCalls(n parse.Node, fn func(name string, args []parse.Node)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkCalls(c, fn)
		}
	case *parse.ActionNode:
		walkCalls(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkCalls(c, fn)
		}
	case *parse.CommandNode:
		if id, ok := n.Args[0].(*parse.IdentifierNode); ok {
			fn(id.Ident, n.Args)
		}
		for _, a := range n.Args {
			walkCalls(a, fn)
		}
	case *parse.IfNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.TemplateNode:
		walkCalls(n.Pipe, fn)
	}
}

func walkBranch(b *parse.BranchNode, fn func(name string, args []parse.Node)) {
	walkCalls(b.Pipe, fn)
	walkCalls(b.List, fn)
	walkCalls(b.ElseList, fn)
}

// T translates key into lang, formatting args into it; a missing entry
// falls back to Chinese, then to the key itself. A count of 1, the last
// argument, takes the key's singular, key+".one", where the catalogue has
// one ("1 document", not "1 documents"); civiq.js's C.tr does the same.
func (s *Site) T(lang, key string, args ...any) string {
	if len(args) > 0 && args[len(args)-1] == 1 {
		if _, ok := s.catalogs[lang][key+".one"]; ok {
			key += ".one"
		}
	}
	msg, ok := s.catalogs[lang][key]
	if !ok {
		if msg, ok = s.catalogs[Languages[0]][key]; !ok {
			msg = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// Lang picks the page language: ?lang=, then the cookie, then Chinese.
func Lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		for _, known := range Languages {
			if l == known {
				http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
				return l
			}
		}
	}
	if c, err := r.Cookie(langCookie); err == nil {
		for _, known := range Languages {
			if c.Value == known {
				return known
			}
		}
	}
	return Languages[0]
}

// Principal returns who is signed in through the session cookie: nobody
// when the session cannot be read.
func (s *Site) Principal(r *http.Request) (civiq.Principal, *civiq.Session) {
	p, sess, _ := s.principal(r)
	return p, sess
}

// principal is Principal with the error of a session that could not be
// read (a token that names no session is nobody, not an error).
func (s *Site) principal(r *http.Request) (civiq.Principal, *civiq.Session, error) {
	c, err := r.Cookie(civiq.SessionCookie)
	if err != nil || c.Value == "" {
		return civiq.Principal{}, nil, nil
	}
	p, sess, err := s.Engine.Authenticate(r.Context(), c.Value)
	if civiq.ErrorCode(err) == civiq.EUnauthorized {
		err = nil
	}
	if err != nil {
		return civiq.Principal{}, nil, err
	}
	return p, sess, nil
}

// signedIn returns who is signed in for a staff page; with nobody, it sends
// the browser to sign in and back, and returns false. A session that
// cannot be read is an error, not nobody.
func (s *Site) signedIn(w http.ResponseWriter, r *http.Request) (civiq.Principal, bool) {
	p, _, err := s.principal(r)
	if err != nil {
		s.fail(w, r, err)
		return p, false
	}
	if p.User == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return p, false
	}
	return p, true
}

// render writes a page, with the catalogue entries its script uses
// (scriptStrings).
func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	lang := Lang(w, r)
	p := page{Lang: lang, Other: Languages[1], Path: r.URL.Path, Title: s.T(lang, title), Version: s.Version, Data: data}
	if lang != Languages[0] {
		p.Other = Languages[0]
	}
	q := r.URL.Query()
	q.Set("lang", p.Other)
	p.OtherHref = "?" + q.Encode()
	pr, sess := s.Principal(r)
	p.User = pr.User
	if sess != nil {
		p.CSRF = sess.CSRF
	}
	strs := map[string]string{}
	for _, k := range s.strings[name] {
		strs[k] = s.T(lang, k)
	}
	js, _ := json.Marshal(strs)
	p.Strings = template.JS(js)
	var buf bytes.Buffer
	t, ok := s.pages[name]
	err := errors.New("no such page")
	if ok {
		err = t.Execute(&buf, p)
	}
	if err != nil {
		err = fmt.Errorf("render %s: %w", name, err)
		if name != pageErrors[civiq.EInternal].Page {
			s.fail(w, r, err)
			return
		}
		// The error page itself failed: the bare status is all there is.
		errorAnswer(w, r, err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	frames := "'none'"
	if embeddable[name] && len(s.FrameAncestors) > 0 {
		frames = strings.Join(s.FrameAncestors, " ")
	} else {
		h.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	}
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors "+frames)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Register adds the pages and static files to mux.
func (s *Site) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fileServer.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("/", s.notFound) // any other page: a 404 in the page's language
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.loginSubmit)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET "+sso.StartPath, s.oidcStart) // sso.go
	mux.HandleFunc("GET "+sso.CallbackPath, s.oidcCallback)
	s.registerPages(mux)
}

// notFound answers an unknown page in the page's language.
func (s *Site) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, civiq.Errorf(civiq.ENotFound, "no such page"))
}

// siteOrigin is the scheme and host the browser reached the site by: what
// the addresses in QR codes start with.
func siteOrigin(r *http.Request) string {
	scheme := "http"
	if origin.HTTPS(r) {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host}).String()
}

// serveQR answers the QR code of link as SVG.
func serveQR(w http.ResponseWriter, r *http.Request, link string) {
	svg, err := qr.SVG(link)
	if err != nil {
		failJSON(w, r, err) // errors.go
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(svg)
}
