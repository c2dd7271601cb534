package web

import (
	"html/template"
	"net/http"

	"github.com/civiq/civiq"
)

func (s *Site) registerCity(mux *http.ServeMux) {
	mux.HandleFunc("GET /city", s.cityPage)
}

// cityView is what city.html gets.
type cityView struct {
	Admin  bool
	Count  int
	Config template.JS
}

// cityConfig starts the page's script: the overview as the page was made
// (civiq.CityOverview, as GET /api/v1/city gives it).
type cityConfig struct {
	Admin    bool                `json:"admin"`
	Overview *civiq.CityOverview `json:"overview"`
}

// cityPage shows every hall the user may watch: admins every hall,
// managers theirs. It follows GET /api/v1/city/events, one stream for the
// whole city, and fetches again only the halls that changed.
func (s *Site) cityPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	ov, err := s.Engine.City(r.Context(), p, nil)
	if civiq.ErrorCode(err) == civiq.EForbidden {
		s.render(w, r, http.StatusForbidden, "dashboard_forbidden", "dashboard.forbidden.title", nil)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	admin := p.Can(civiq.PermDashboard, "", "")
	js, ok := s.scriptConfig(w, r, cityConfig{Admin: admin, Overview: ov})
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "city", "city.title", cityView{Admin: admin, Count: len(ov.Halls), Config: js})
}
