package web

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/civiq/civiq"
)

// Every key of the Chinese catalogue has an English entry and the other way
// round: a page never shows a bare key.
func TestCataloguesMatch(t *testing.T) {
	s, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	zh, en := s.catalogs["zh-CN"], s.catalogs["en"]
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q has no English entry", k)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("key %q has no Chinese entry", k)
		}
	}
	// Every helper role of 帮办代办 has its name (behalf.<role>).
	for _, r := range civiq.BehalfRoles {
		if zh["behalf."+r] == "" || en["behalf."+r] == "" {
			t.Errorf("helper role %s has no name in the catalogues", r)
		}
	}
	// Keys are unique across files of one language.
	for _, l := range Languages {
		seen := map[string]string{}
		files, _ := fs.Glob(localeFS, "locale/"+l+"/*.json")
		for _, f := range files {
			b, _ := localeFS.ReadFile(f)
			m := map[string]string{}
			json.Unmarshal(b, &m)
			for k := range m {
				if other, ok := seen[k]; ok {
					t.Errorf("%s: key %q is also in %s", f, k, other)
				}
				seen[k] = f
			}
		}
	}
}

// New parses every template once, at start, with the layout and checked.
func TestTemplatesParse(t *testing.T) {
	s, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	if len(s.pages) != len(names)-1 { // all but the layout
		t.Errorf("%d pages parsed from %d templates", len(s.pages), len(names))
	}
	for _, n := range []string{"home", "kiosk", "ticket", "display", "counter", "rate", "admin", "dashboard", "notfound"} {
		if s.pages[n] == nil {
			t.Errorf("page %s not parsed", n)
		}
	}
}

// A broken template stops New: a syntax error, markup html/template cannot
// escape, or a catalogue key that is not in every catalogue.
func TestBrokenTemplateFails(t *testing.T) {
	layout, _ := templateFS.ReadFile("templates/layout.html")
	files := func(page string) fstest.MapFS {
		m := fstest.MapFS{"templates/layout.html": {Data: layout}, "templates/x.html": {Data: []byte(page)}}
		locales, _ := fs.Glob(localeFS, "locale/*/*.json")
		for _, f := range locales {
			b, _ := localeFS.ReadFile(f)
			m[f] = &fstest.MapFile{Data: b}
		}
		return m
	}
	good := `{{define "content"}}<p>{{t .Lang "notfound.title"}}</p>{{end}}`
	s := &Site{}
	if err := s.load(files(good), files(good)); err != nil {
		t.Fatalf("good template: %v", err)
	}
	for _, c := range []struct{ name, page, want string }{
		{"syntax", `{{define "content"}}<p>{{if .Lang}}</p>{{end}}`, "x.html"},
		{"escape", `{{define "content"}}<a href="{{.Lang}}{{if .Title}}">{{end}}</a>{{end}}`, "x.html"},
		{"key", `{{define "content"}}<p>{{t .Lang "no.such.key"}}</p>{{end}}`, "no.such.key"},
		{"key in a branch", `{{define "content"}}{{range .Lang}}{{else}}<p>{{t .Lang "no.such.key"}}</p>{{end}}{{end}}`, "no.such.key"},
		{"key in a pipe", `{{define "content"}}<p title="{{printf "%s" (t .Lang "no.such.key")}}"></p>{{end}}`, "no.such.key"},
	} {
		s := &Site{}
		err := s.load(files(c.page), files(c.page))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error naming %s", c.name, err, c.want)
		}
	}
}

var (
	scriptSrcRE = regexp.MustCompile(`src="/static/([a-z_]+\.js)"`)
	trKeyRE     = regexp.MustCompile(`\btr\(\s*"([a-z0-9_.]+)"\s*[,)]`)
)

// Every catalogue key a script names, tr("key"), reaches it: it is in the
// strings (scriptStrings) of a page that loads the script. civiq.js, on
// every page, names only keys every page gets.
func TestScriptsGetTheirStrings(t *testing.T) {
	s, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	given := map[string]map[string]bool{} // script -> keys of the pages that load it
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		b, _ := templateFS.ReadFile(n)
		for _, m := range scriptSrcRE.FindAllStringSubmatch(string(b), -1) {
			if m[1] == "civiq.js" {
				continue // the layout's, below
			}
			if given[m[1]] == nil {
				given[m[1]] = map[string]bool{}
			}
			for _, k := range s.strings[page] {
				given[m[1]][k] = true
			}
		}
	}
	if len(given) < 10 {
		t.Fatalf("found the scripts of %d pages", len(given))
	}
	for script, keys := range given {
		b, err := staticFS.ReadFile("static/" + script)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range trKeyRE.FindAllStringSubmatch(string(b), -1) {
			if !keys[m[1]] {
				t.Errorf("%s names %q, which no page that loads it gets", script, m[1])
			}
		}
	}
	b, _ := staticFS.ReadFile("static/civiq.js")
	if m := trKeyRE.FindAllStringSubmatch(string(b), -1); len(m) != 1 || m[0][1] != "wait.about" {
		t.Errorf("civiq.js names %v", m)
	}
}

// A page's strings that name nothing in the catalogue stop New.
func TestScriptStringsChecked(t *testing.T) {
	s, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.strings["dashboard"]; !slices.Contains(got, "wait.about") || !slices.Contains(got, "dashboard.title") {
		t.Errorf("dashboard strings: %v", got)
	}
	for _, bad := range []map[string][]string{{"kiosk": {"kiosk.no_such_key"}}, {"kiosk": {"nosuchprefix."}}, {"nosuchpage": {"kiosk."}}} {
		if err := s.resolveStrings(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// A count of 1, the last argument, takes the key's singular where the
// catalogue has one.
func TestSingular(t *testing.T) {
	s, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lang, key string
		n         any
		want      string
	}{
		{"en", "guide.materials_n", 1, "1 document"},
		{"en", "guide.materials_n", 2, "2 documents"},
		{"en", "guide.materials_n", 0, "0 documents"},
		{"en", "guide.visits", 1, "1 visit in person"},
		{"en", "guide.visits", 3, "3 visits in person"},
		{"en", "guide.days", 1, "1 working day"},
		{"en", "fu.left", 1, "1 working day left"},
		{"en", "kiosk.waiting", 1, "1 waiting"}, // no singular: the entry itself
		{"zh-CN", "guide.materials_n", 1, "1 项材料"},
		{"zh-CN", "guide.materials_n", 4, "4 项材料"},
	} {
		if got := s.T(c.lang, c.key, c.n); got != c.want {
			t.Errorf("T(%s, %s, %v) = %q, want %q", c.lang, c.key, c.n, got, c.want)
		}
	}
	// The count is the last argument.
	if got := s.T("en", "kiosk.taken", "A002", 1); got != "Your number is A002; 1 person is ahead of you" {
		t.Errorf("one ahead: %q", got)
	}
	if got := s.T("en", "kiosk.taken", "A003", 2); got != "Your number is A003; 2 people are ahead of you" {
		t.Errorf("two ahead: %q", got)
	}
}
