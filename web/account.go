package web

import (
	"errors"
	"net/http"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/origin"
)

// registerAccount adds a signed-in user's own page: changing one's password
// (linked from the name at the top of every page).
func (s *Site) registerAccount(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/password", s.passwordPage)
	mux.HandleFunc("POST /account/password", s.passwordSubmit)
}

// passwordView is what password.html gets: a catalogue key for the error,
// the field it concerns, and whether the password has just changed.
type passwordView struct {
	Error, Field string
	Done         bool
}

func (s *Site) passwordPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.signedIn(w, r); ok {
		s.render(w, r, http.StatusOK, "password", "password.title", passwordView{})
	}
}

// passwordSubmit changes the password (civiq.Engine.ChangePassword): the
// user's other sessions end, this one stays. The form carries the
// session's token and must come from this site.
func (s *Site) passwordSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	p, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	_, sess := s.Principal(r)
	if origin.Cross(r) || sess == nil || r.PostFormValue("csrf") != sess.CSRF {
		s.fail(w, r, civiq.Errorf(civiq.EForbidden, "change your password from this site's own page"))
		return
	}
	current, next := r.PostFormValue("current"), r.PostFormValue("new")
	v, status := passwordView{}, http.StatusOK
	if next != r.PostFormValue("confirm") {
		v, status = passwordView{Error: "password.mismatch", Field: "confirm"}, http.StatusBadRequest
	} else if err := s.Engine.ChangePassword(r.Context(), p, sess, current, next); err != nil {
		var ce *civiq.Error
		if errors.As(err, &ce) && ce.Code == civiq.EInvalid {
			field := "new"
			if ce.Field == "current" {
				field = "current"
			}
			v, status = passwordView{Error: "password.bad_" + field, Field: field}, http.StatusBadRequest
		} else { // 429 with Retry-After, 503
			_, a := errorAnswer(w, r, err)
			v, status = passwordView{Error: a.Text}, a.Status
		}
	} else {
		v.Done = true
	}
	s.render(w, r, status, "password", "password.title", v)
}
