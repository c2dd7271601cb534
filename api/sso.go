package api

import (
	"net/http"

	"github.com/civiq/civiq"
)

// Single sign-on's settings (civiq's ssosettings.go): admins read the
// ones in force and set them; the secrets are write-only.
func (s *Server) ssoRoutes() {
	s.handle("GET /api/v1/sso", need(civiq.PermAdmin), s.getSSO)
	s.handle("PUT /api/v1/sso", need(civiq.PermAdmin), s.putSSO)
}

func (s *Server) getSSO(w http.ResponseWriter, r *http.Request, c *call) error {
	out, err := s.Engine.SSOSettingsView(r.Context(), c.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) putSSO(w http.ResponseWriter, r *http.Request, c *call) error {
	var in civiq.SSOSettings
	if err := decode(c.body, &in); err != nil {
		return err
	}
	out, err := s.Engine.SetSSOSettings(r.Context(), c.p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
