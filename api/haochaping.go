package api

import (
	"encoding/json"
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
	s.handle("GET /api/v1/haochaping/reporters/{id}", signed, withID("好差评 reporter", "reporter", func(r *http.Request, c *call, id int64) (*civiq.HaochapingReporter, error) {
		return s.Engine.HaochapingReporter(r.Context(), c.p, id)
	}))
	s.handle("PUT /api/v1/haochaping/reporters/{id}", signed, withID("好差评 reporter", "reporter", func(r *http.Request, c *call, id int64) (*civiq.HaochapingReporter, error) {
		var in civiq.HaochapingReporterInput // what is left out stays
		if err := decode(c.body, &in); err != nil {
			return nil, err
		}
		return s.Engine.UpdateHaochapingReporter(r.Context(), c.p, id, in)
	}))
	s.handle("POST /api/v1/haochaping/reporters/{id}/replay", signed, withID("好差评 reporter", "reporter", func(r *http.Request, c *call, id int64) (*civiq.HaochapingReporter, error) {
		var req struct {
			FromEventID int64 `json:"from_event_id"`
		}
		if err := decode(c.body, &req, "from_event_id"); err != nil {
			return nil, err
		}
		return s.Engine.ReplayHaochapingReporter(r.Context(), c.p, id, req.FromEventID)
	}))
	s.handle("GET /api/v1/haochaping/reporters/{id}/deliveries", signed, withID("好差评 reporter", "deliveries", func(r *http.Request, c *call, id int64) ([]civiq.DeliveryAttempt, error) {
		return s.Engine.HaochapingReporterDeliveries(r.Context(), c.p, id, 200)
	}))
	s.handle("POST /api/v1/haochaping/reporters/{id}/skip", signed, withID("好差评 reporter", "skipped_event_id", func(r *http.Request, c *call, id int64) (int64, error) {
		return s.Engine.SkipHaochapingRecord(r.Context(), c.p, id)
	}))
	s.handle("DELETE /api/v1/haochaping/reporters/{id}", signed, s.deleteReporter)
	s.handle("GET /api/v1/halls/{hall}/reports/haochaping-sync", need(civiq.PermFollowUp), s.haochapingSync)
	s.handle("GET /api/v1/halls/{hall}/reports/haochaping-records", need(civiq.PermFollowUp), s.haochapingRecords)
	// The province's rating page: what a rater opens, and the platform's
	// callback, which authenticates by the hall's key, not a session.
	s.handle("GET /api/v1/tickets/{id}/province-page", need(civiq.PermRate), s.provincePage)
	s.handle("POST /api/v1/halls/{hall}/haochaping/callback", anyone, s.provinceCallback)
}

func (s *Server) provincePage(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := s.Engine.ProvincePage(r.Context(), c.p, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"url": u})
	return nil
}

func (s *Server) provinceCallback(w http.ResponseWriter, r *http.Request, c *call) error {
	rating, err := s.Engine.ProvinceCallback(r.Context(), r.PathValue("hall"), c.body, r.Header.Get("X-Signature"), r.Header.Get("X-Callback-Token"))
	if err != nil {
		return err
	}
	m := rating.Masked()
	writeJSON(w, http.StatusCreated, map[string]any{"rating": &m})
	return nil
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

func (s *Server) haochapingSync(w http.ResponseWriter, r *http.Request, c *call) error {
	rep, err := s.Engine.HaochapingReconcile(r.Context(), r.PathValue("hall"), r.URL.Query().Get("date"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// haochapingRecords is the day's export: the records as JSON, or as a
// CSV file or a workbook with the fields' Chinese names as headers.
func (s *Server) haochapingRecords(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" && format != "xlsx" {
		return civiq.FieldErrorf("format", "format must be json, csv or xlsx")
	}
	hall, date := r.PathValue("hall"), q.Get("date")
	recs, loc, err := s.Engine.HaochapingDay(r.Context(), hall, date)
	if err != nil {
		return err
	}
	if format == "csv" || format == "xlsx" {
		return writeExport(w, format, "好差评", "haochaping-"+hall+"-"+date, civiq.HaochapingHeaders(), func(write func([]string)) {
			for _, rec := range recs {
				write(rec.Strings(loc))
			}
		})
	}
	out := make([]json.RawMessage, 0, len(recs))
	var none civiq.HaochapingMapping
	for _, rec := range recs {
		b, err := json.Marshal(none.Apply(rec, loc, false))
		if err != nil {
			return err
		}
		out = append(out, b)
	}
	writeJSON(w, http.StatusOK, map[string]any{"hall_id": hall, "date": date, "records": out})
	return nil
}
