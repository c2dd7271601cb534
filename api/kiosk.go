package api

import (
	"net/http"

	"github.com/civiq/civiq"
)

// kioskRoutes adds what the kiosk needs besides the contract: how many wait
// in each service and how long a ticket taken now would wait.
func (s *Server) kioskRoutes() {
	s.handle("GET /api/v1/halls/{hall}/waits", anyone, s.waits)
}

// serviceWait is one service as the kiosk shows it.
type serviceWait struct {
	ID     string `json:"id"`
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
	// Waiting counts the tickets waiting in the service.
	Waiting int `json:"waiting"`
	// ETASeconds is the expected wait of a normal ticket taken now.
	ETASeconds int `json:"eta_seconds"`
	// OpenCounters counts the open counters serving the service.
	OpenCounters int `json:"open_counters"`
}

// waits answers {"services":[{"id","prefix","name","name_en","waiting",
// "eta_seconds","open_counters"}]} in the hall's order of services. The
// estimate is the one a ticket gets when issued (civiq.EstimateWait). It
// is public: counts only.
func (s *Server) waits(w http.ResponseWriter, r *http.Request, c *call) error {
	hallID := r.PathValue("hall")
	out := []serviceWait{}
	err := s.view(r, func(tx civiq.Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		svcs, err := tx.Services(hallID)
		if err != nil {
			return err
		}
		counts, err := tx.WaitingCounts(hallID)
		if err != nil {
			return err
		}
		counters, err := tx.Counters(hallID)
		if err != nil {
			return err
		}
		for _, svc := range svcs {
			open := 0
			for _, ctr := range counters {
				if ctr.Status == civiq.CounterOpen && ctr.Serves(svc.ID) {
					open++
				}
			}
			mean, _, err := tx.MeanHandling(hallID, svc.ID, 20)
			if err != nil {
				return err
			}
			n := counts[svc.ID]
			out = append(out, serviceWait{ID: svc.ID, Prefix: svc.Prefix, Name: svc.Name, NameEn: svc.NameEn,
				Waiting: n, ETASeconds: civiq.EstimateWait(n, mean, open), OpenCounters: open})
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"services": out})
	return nil
}
