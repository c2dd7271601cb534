package web

import (
	"net/http"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sso"
)

// Single sign-on's pages (issue 17): the button on the sign-in page sends
// the browser to the identity platform (sso.StartPath), which sends it
// back to sso.CallbackPath; the session is the one a password opens.

// flowCookie carries a sign-in's state, nonce, PKCE verifier and next page
// from its start to the platform's answer: only to the callback, for ten
// minutes, never to scripts.
const flowCookie = "civiq_oidc"

// flowTTL is how long a sign-in at the platform may take.
const flowTTL = 10 * 60

func (s *Site) oidcStart(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.notFound(w, r)
		return
	}
	to, f, err := s.OIDC.Begin(r.Context(), safeNext(r.URL.Query().Get("next")))
	if err != nil {
		s.loginRefused(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: f.Encode(), Path: sso.CallbackPath, MaxAge: flowTTL,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Site) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.notFound(w, r)
		return
	}
	// The flow is good once, whatever the answer.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: sso.CallbackPath, MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	c, err := r.Cookie(flowCookie)
	var f sso.Flow
	if err == nil {
		f, err = sso.DecodeFlow(c.Value)
	}
	if err != nil {
		s.loginRefused(w, r, civiq.Errorf(civiq.EInvalid, "this sign-in took longer than ten minutes, or began in another browser: start again"))
		return
	}
	id, err := s.OIDC.Finish(r.Context(), f, r.URL.Query())
	if err != nil {
		s.loginRefused(w, r, err)
		return
	}
	token, sess, _, err := s.Engine.SignInExternal(r.Context(), *id, s.OIDC.Roles())
	if err != nil {
		s.loginRefused(w, r, err)
		return
	}
	setSession(w, r, token, sess)
	http.Redirect(w, r, safeNext(f.Next), http.StatusSeeOther)
}

// loginRefused shows the sign-in page with why single sign-on did not
// sign the browser in, with the status of err.
func (s *Site) loginRefused(w http.ResponseWriter, r *http.Request, err error) {
	_, a := errorAnswer(w, r, err)
	v := s.loginView(r, "/")
	v.Error = "login.sso_refused"
	if a.Status < 500 {
		v.Detail = civiq.ErrorMessage(err)
	} else {
		v.Error = a.Text
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, a.Status, "login", "login.title", v)
}
