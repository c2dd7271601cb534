package api

import (
	"net/http"
)

// kioskRoutes adds what the kiosk needs besides the contract: how many wait
// in each service and how long a ticket taken now would wait.
func (s *Server) kioskRoutes() {
	s.handle("GET /api/v1/halls/{hall}/waits", anyone, s.waits)
}

// waits answers {"services":[{"id","prefix","name","name_en","waiting",
// "eta_seconds","open_counters"}]} in the hall's order of services
// (civiq.Engine.ServiceWaits). It is public: counts only.
func (s *Server) waits(w http.ResponseWriter, r *http.Request, c *call) error {
	out, err := s.Engine.ServiceWaits(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"services": out})
	return nil
}
