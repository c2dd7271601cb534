package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/origin"
)

// home lets a visitor choose a hall and a role.
func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	type counterView struct{ ID, Label string }
	type hallView struct {
		civiq.Hall
		Counters []counterView
	}
	ls, err := s.Engine.HallsLaidOut(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := Lang(w, r)
	halls := make([]hallView, 0, len(ls))
	for _, l := range ls {
		v := hallView{Hall: *l.Hall}
		for _, c := range l.Counters { // named as the screens name them: "Counter 1" on an English page
			v.Counters = append(v.Counters, counterView{c.ID, c.NameIn(lang)})
		}
		halls = append(halls, v)
	}
	s.render(w, r, http.StatusOK, "home", "home.title", halls)
}

// loginData is what the sign-in page shows.
type loginData struct {
	Next, Username string
	Error          string // catalogue key
	Detail         string // what single sign-on said, in English
	// OIDC: the identity platform's button, with its name; Directory: a
	// directory checks the passwords of the names no local user has.
	OIDC      bool
	OIDCName  string
	Directory bool
}

func (s *Site) loginView(r *http.Request, next string) *loginData {
	v := &loginData{Next: next, Directory: s.Engine.HasDirectory(r.Context())}
	if o, _ := s.oidc(r); o != nil { // a platform that cannot be read is no button
		v.OIDC, v.OIDCName = true, o.Name()
	}
	return v
}

func (s *Site) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if q := r.URL.Query(); q.Has("next") && q.Get("next") != next {
		q.Set("next", next) // the page's links (its other language) carry only what it keeps
		r.URL.RawQuery = q.Encode()
	}
	s.render(w, r, http.StatusOK, "login", "login.title", s.loginView(r, next))
}

// setSession gives the browser the session cookie of a sign-in, a
// password's or single sign-on's.
func setSession(w http.ResponseWriter, r *http.Request, token string, sess *civiq.Session) {
	http.SetCookie(w, &http.Cookie{Name: civiq.SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: origin.HTTPS(r), MaxAge: int(civiq.SessionTTL / time.Second)})
}

// safeNext keeps a redirect after sign-in on this site: a path that
// starts with a single / and holds no backslash, no control character, no
// scheme and no host; anything else goes to /. (Issue 18: browsers read
// next=/\evil.example as //evil.example, another site.)
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) ||
		strings.IndexFunc(next, unicode.IsControl) >= 0 {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}

func (s *Site) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, civiq.Errorf(civiq.EInvalid, "bad form"))
		return
	}
	next := safeNext(r.PostFormValue("next"))
	user, pw := strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("password")
	data := s.loginView(r, next)
	data.Username = user
	if origin.Cross(r) { // login CSRF: another site signing this browser in
		data.Error = "login.cross"
		s.render(w, r, http.StatusForbidden, "login", "login.title", data)
		return
	}
	if user == "" || pw == "" {
		data.Error = "login.missing"
		s.render(w, r, http.StatusBadRequest, "login", "login.title", data)
		return
	}
	token, sess, _, err := s.Engine.Login(r.Context(), user, pw)
	if err != nil {
		status := http.StatusUnauthorized
		data.Error = "login.bad"
		switch civiq.ErrorCode(err) {
		case civiq.EUnauthorized:
		case civiq.EForbidden: // the directory's user without a role (sso.go)
			s.loginRefused(w, r, err)
			return
		default: // 429 with Retry-After, 503
			_, a := errorAnswer(w, r, err)
			status, data.Error = a.Status, a.Text
		}
		s.render(w, r, status, "login", "login.title", data)
		return
	}
	setSession(w, r, token, sess)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session on the server and clears the cookie. Another
// site's page, or a form without the session's token, changes nothing.
func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_, sess := s.Principal(r)
	if origin.Cross(r) || (sess != nil && r.PostFormValue("csrf") != sess.CSRF) {
		s.fail(w, r, civiq.Errorf(civiq.EForbidden, "sign out from this site's own pages"))
		return
	}
	if sess != nil {
		c, _ := r.Cookie(civiq.SessionCookie)
		if err := s.Engine.Logout(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: civiq.SessionCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0), HttpOnly: true})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
