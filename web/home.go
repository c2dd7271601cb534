package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civiq/civiq"
)

// home lets a visitor choose a hall and a role.
func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	type hallView struct {
		civiq.Hall
		Counters []civiq.Counter
	}
	ls, err := s.Engine.HallsLaidOut(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	halls := make([]hallView, 0, len(ls))
	for _, l := range ls {
		halls = append(halls, hallView{*l.Hall, l.Counters})
	}
	s.render(w, r, http.StatusOK, "home", "home.title", halls)
}

func (s *Site) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", "login.title", map[string]string{"Next": safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
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
	data := map[string]string{"Next": next, "Username": user}
	if user == "" || pw == "" {
		data["Error"] = "login.missing"
		s.render(w, r, http.StatusBadRequest, "login", "login.title", data)
		return
	}
	token, sess, _, err := s.Engine.Login(r.Context(), user, pw)
	if err != nil {
		status := http.StatusUnauthorized
		data["Error"] = "login.bad"
		var ce *civiq.Error
		switch {
		case errors.As(err, &ce) && ce.Code == civiq.ERateLimited:
			status, data["Error"] = http.StatusTooManyRequests, "login.limited"
			w.Header().Set("Retry-After", strconv.Itoa(civiq.RetrySeconds(ce.RetryAfter)))
		case civiq.ErrorCode(err) != civiq.EUnauthorized:
			_, a := errorAnswer(w, r, err)
			status, data["Error"] = a.Status, a.Text
		}
		s.render(w, r, status, "login", "login.title", data)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: civiq.SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil, Expires: sess.ExpiresAt})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(civiq.SessionCookie); err == nil && c.Value != "" {
		_, sess := s.Principal(r)
		if sess != nil && r.PostFormValue("csrf") == sess.CSRF {
			s.Engine.Logout(r.Context(), c.Value)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: civiq.SessionCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0), HttpOnly: true})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
