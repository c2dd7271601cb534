package web

import (
	"errors"
	"net/http"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/origin"
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

// oidc is the identity platform's client of the settings in force, nil
// when none is set up.
func (s *Site) oidc(r *http.Request) (*sso.OIDC, error) {
	if s.SSO == nil {
		return nil, nil
	}
	return s.SSO.OIDC(r.Context())
}

func (s *Site) oidcStart(w http.ResponseWriter, r *http.Request) {
	o, err := s.oidc(r)
	if err != nil || o == nil {
		s.failOrNotFound(w, r, err)
		return
	}
	to, f, err := o.Begin(r.Context(), safeNext(r.URL.Query().Get("next")))
	if err != nil {
		s.loginRefused(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: f.Encode(), Path: sso.CallbackPath, MaxAge: flowTTL,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: origin.HTTPS(r)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Site) oidcCallback(w http.ResponseWriter, r *http.Request) {
	o, err := s.oidc(r)
	if err != nil || o == nil {
		s.failOrNotFound(w, r, err)
		return
	}
	// The flow is good once, whatever the answer.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: sso.CallbackPath, MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: origin.HTTPS(r)})
	// Answers are limited per address as passwords are (login.go): a
	// refused one counts as a wrong password.
	done, err := s.Engine.BeginExternal(r.Context())
	if err != nil {
		s.loginRefused(w, r, err)
		return
	}
	next, err := s.oidcSignIn(w, r, o)
	done(err)
	if err != nil {
		s.loginRefused(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// oidcSignIn reads the platform's answer to this browser's sign-in and
// opens its session, or says why not; a refusal before anyone is known is
// audited here (the domain audits the others).
func (s *Site) oidcSignIn(w http.ResponseWriter, r *http.Request, o *sso.OIDC) (next string, err error) {
	c, err := r.Cookie(flowCookie)
	var f sso.Flow
	if err == nil {
		f, err = sso.DecodeFlow(c.Value)
	}
	if err != nil {
		err = &sso.Refusal{Audit: civiq.AuditSSOBadState,
			Err: civiq.Errorf(civiq.EInvalid, "this sign-in took longer than ten minutes, or began in another browser: start again")}
	} else {
		var id *civiq.Identity
		if id, err = o.Finish(r.Context(), f, r.URL.Query()); err == nil {
			var token string
			var sess *civiq.Session
			if token, sess, _, err = s.Engine.SignInExternal(r.Context(), *id, o.Roles()); err == nil {
				setSession(w, r, token, sess)
				return safeNext(f.Next), nil
			}
		}
	}
	var rf *sso.Refusal
	if errors.As(err, &rf) {
		if aerr := s.Engine.AuditExternal(r.Context(), civiq.SourceOIDC, rf.Audit); aerr != nil {
			return "", aerr
		}
	}
	return "", err
}

// failOrNotFound answers err, or, without one, 404: no platform is set
// up.
func (s *Site) failOrNotFound(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.notFound(w, r)
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
