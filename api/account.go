package api

import (
	"net/http"
)

// accountRoutes are a signed-in user's own: changing one's password.
func (s *Server) accountRoutes() {
	s.handle("PUT /api/v1/auth/password", signed, s.changePassword)
}

type passwordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// changePassword changes the caller's own password; their other sessions
// end, this one stays.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c *call) error {
	var req passwordRequest
	if err := decode(c.body, &req, "current", "new"); err != nil {
		return err
	}
	if err := s.Engine.ChangePassword(r.Context(), c.p, c.session, req.Current, req.New); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
