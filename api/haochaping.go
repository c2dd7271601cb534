package api

import (
	"net/http"

	"github.com/civiq/civiq"
)

// haochapingRoutes: the 好差评 reporters to the provincial platform
// (civiq/haochaping.go), admins only: the engine decides (the paths name
// no hall).
func (s *Server) haochapingRoutes() {
	s.handle("GET /api/v1/haochaping/fields", need(civiq.PermAdmin), s.haochapingFields)
	s.handle("POST /api/v1/haochaping/reporters", signed, s.createReporter)
	s.handle("GET /api/v1/haochaping/reporters", signed, s.listReporters)
	s.handle("GET /api/v1/haochaping/reporters/{id}", signed, withReporter(func(r *http.Request, c *call, id int64) (*civiq.HaochapingReporter, error) {
		return s.Engine.HaochapingReporter(r.Context(), c.p, id)
	}))
	s.handle("PUT /api/v1/haochaping/reporters/{id}", signed, withReporter(func(r *http.Request, c *call, id int64) (*civiq.HaochapingReporter, error) {
		var in civiq.HaochapingReporterInput
		if err := decode(c.body, &in, "url"); err != nil {
			return nil, err
		}
		return s.Engine.UpdateHaochapingReporter(r.Context(), c.p, id, in)
	}))
	s.handle("POST /api/v1/haochaping/reporters/{id}/replay", signed, withReporter(func(r *http.Request, c *call, id int64) (*civiq.HaochapingReporter, error) {
		var req struct {
			FromEventID int64 `json:"from_event_id"`
		}
		if err := decode(c.body, &req, "from_event_id"); err != nil {
			return nil, err
		}
		return s.Engine.ReplayHaochapingReporter(r.Context(), c.p, id, req.FromEventID)
	}))
	s.handle("DELETE /api/v1/haochaping/reporters/{id}", signed, s.deleteReporter)
}

// withReporter is a handler that takes the reporter's id from the path and
// answers 200 {"reporter": what do gives}.
func withReporter(do func(r *http.Request, c *call, id int64) (*civiq.HaochapingReporter, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		id, err := pathID(r, "好差评 reporter")
		if err != nil {
			return err
		}
		v, err := do(r, c, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"reporter": v})
		return nil
	}
}

func (s *Server) haochapingFields(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, map[string]any{"fields": civiq.HaochapingFields})
	return nil
}

func (s *Server) createReporter(w http.ResponseWriter, r *http.Request, c *call) error {
	var in civiq.HaochapingReporterInput
	if err := decode(c.body, &in, "url", "auth", "key"); err != nil {
		return err
	}
	v, err := s.Engine.CreateHaochapingReporter(r.Context(), c.p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"reporter": v})
	return nil
}

func (s *Server) listReporters(w http.ResponseWriter, r *http.Request, c *call) error {
	vs, err := s.Engine.HaochapingReporters(r.Context(), c.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reporters": vs})
	return nil
}

func (s *Server) deleteReporter(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "好差评 reporter")
	if err != nil {
		return err
	}
	if err := s.Engine.DeleteHaochapingReporter(r.Context(), c.p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
