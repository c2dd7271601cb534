package api

import (
	"net/http"

	"github.com/civiq/civiq"
)

// counterStatsRoutes adds what the counter page needs besides the
// contract: the counter's day and its current ticket, for whoever may act
// at the counter.
func (s *Server) counterStatsRoutes() {
	s.handle("GET /api/v1/halls/{hall}/counters/{counter}/today", need(civiq.PermCounterAction), s.counterToday)
	s.handle("GET /api/v1/halls/{hall}/counters/{counter}/waiting", need(civiq.PermCounterAction), s.counterQueue)
}

// counterToday answers {"day","served","average_handling_seconds",
// "no_shows","counter","current_ticket"}, counted in the hall's local day.
// counterQueue lists the tickets waiting in the counter's services, and
// its no-shows of the day.
func (s *Server) counterQueue(w http.ResponseWriter, r *http.Request, c *call) error {
	q, err := s.Engine.CounterQueue(r.Context(), r.PathValue("hall"), r.PathValue("counter"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, q)
	return nil
}

func (s *Server) counterToday(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.Engine.CounterToday(r.Context(), r.PathValue("hall"), r.PathValue("counter"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, d)
	return nil
}
