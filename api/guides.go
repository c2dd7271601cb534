package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/csvfile"
	"github.com/civiq/civiq/guidefile"
)

// 办事指南 and 办件: the hall's service guides (search, import, export) and
// the cases opened on a served ticket, with the citizen's progress view.
func (s *Server) guideRoutes() {
	s.handle("GET /api/v1/halls/{hall}/guides", anyone, s.listGuides)
	// {guide}, not {id}: the middleware reads {id} as a ticket.
	s.handle("GET /api/v1/guides/{guide}", anyone, s.getGuide)
	s.handle("PUT /api/v1/halls/{hall}/guides/{guide}", need(civiq.PermManageHall), s.putGuide)
	s.handle("DELETE /api/v1/halls/{hall}/guides/{guide}", need(civiq.PermManageHall), s.deleteGuide)
	s.handle("GET /api/v1/halls/{hall}/guides/export", need(civiq.PermStaffView), s.exportGuides)
	s.handle("POST /api/v1/halls/{hall}/guides/import", need(civiq.PermManageHall), s.importGuides)

	s.handle("POST /api/v1/tickets/{id}/cases", need(civiq.PermCounterAction), s.openCase)
	s.handle("GET /api/v1/tickets/{id}/cases", need(civiq.PermStaffView), s.ticketCases)
	s.handle("GET /api/v1/halls/{hall}/cases", need(civiq.PermStaffView), s.listCases)
	// Staff of the case's hall get the staff view; anyone else gives the
	// last 4 characters of the ID number or phone (checked by the engine).
	s.handle("GET /api/v1/cases/{number}", anyone, s.getCase)
	s.handle("POST /api/v1/cases/{number}/transition", signed, s.transitionCase)
}

// The request bodies of these routes.

type openCaseRequest struct {
	GuideID   string                    `json:"guide_id"`
	Applicant civiq.Applicant           `json:"applicant"`
	Materials []civiq.CaseMaterialInput `json:"materials"`
	Decision  string                    `json:"decision"`
	Reason    string                    `json:"reason"`
	Note      string                    `json:"note"`
	OnBehalf  *civiq.OnBehalf           `json:"on_behalf"`
}

type caseTransitionRequest struct {
	To        string                    `json:"to"`
	Note      string                    `json:"note"`
	Reason    string                    `json:"reason"`
	Materials []civiq.CaseMaterialInput `json:"materials"`
	OnBehalf  *civiq.OnBehalf           `json:"on_behalf"`
}

// queryInt reads a whole-number query parameter; def when absent.
func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, civiq.FieldErrorf(name, "%s must be a whole number", name)
	}
	return n, nil
}

// listGuides answers {"guides":[summary...],"more":bool}: those matching
// ?q= best first, or the hall's in order; ?service= keeps one service's.
func (s *Server) listGuides(w http.ResponseWriter, r *http.Request, c *call) error {
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	gs, more, err := s.Engine.Guides(r.Context(), civiq.GuideQuery{HallID: r.PathValue("hall"), ServiceID: q.Get("service"),
		Text: q.Get("q"), Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	out := make([]civiq.GuideSummary, len(gs))
	for i := range gs {
		out[i] = gs[i].Summary()
	}
	writeJSON(w, http.StatusOK, map[string]any{"guides": out, "more": more})
	return nil
}

func (s *Server) getGuide(w http.ResponseWriter, r *http.Request, c *call) error {
	g, err := s.Engine.Guide(r.Context(), r.PathValue("guide"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"guide": g})
	return nil
}

func (s *Server) putGuide(w http.ResponseWriter, r *http.Request, c *call) error {
	var g civiq.Guide
	if err := decode(c.body, &g, "name", "service_id"); err != nil {
		return err
	}
	g.HallID, g.ID = r.PathValue("hall"), r.PathValue("guide")
	if err := s.Engine.SaveGuide(r.Context(), &g); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"guide": g})
	return nil
}

func (s *Server) deleteGuide(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.Engine.DeleteGuide(r.Context(), r.PathValue("hall"), r.PathValue("guide")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// guideFormat is the file format a request asks for: ?format=, else what
// the Content-Type or the body says.
func guideFormat(r *http.Request, body []byte) (string, error) {
	switch f := strings.ToLower(r.URL.Query().Get("format")); f {
	case guidefile.JSON, guidefile.CSV:
		return f, nil
	case "":
	default:
		return "", civiq.FieldErrorf("format", "format must be json or csv")
	}
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	switch {
	case strings.Contains(ct, "csv"):
		return guidefile.CSV, nil
	case strings.Contains(ct, "json"):
		return guidefile.JSON, nil
	}
	if body == nil {
		return guidefile.JSON, nil
	}
	b := bytes.TrimSpace(csvfile.TrimBOM(body))
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return guidefile.JSON, nil
	}
	return guidefile.CSV, nil
}

// exportGuides gives the hall's catalogue as JSON or as CSV (UTF-8 with a
// BOM), as a download.
func (s *Server) exportGuides(w http.ResponseWriter, r *http.Request, c *call) error {
	format, err := guideFormat(r, nil)
	if err != nil {
		return err
	}
	hallID := r.PathValue("hall")
	gs, err := s.Engine.ExportGuides(r.Context(), hallID)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="guides-%s.%s"`, hallID, format))
	if format == guidefile.CSV {
		var buf bytes.Buffer
		if err := guidefile.WriteCSV(&buf, gs); err != nil {
			return err
		}
		h.Set("Content-Type", csvfile.ContentType)
		w.WriteHeader(http.StatusOK)
		w.Write(buf.Bytes())
		return nil
	}
	writeJSON(w, http.StatusOK, guidefile.Export{HallID: hallID, ExportedAt: s.Engine.Now().UTC().Truncate(time.Second), Guides: gs})
	return nil
}

// importErrorBody is the contract's error body with every fault of the
// file beside it.
type importErrorBody struct {
	Error  errorDetail         `json:"error"`
	Errors []civiq.ImportError `json:"errors"`
}

// importGuides reads a catalogue file (the body) into the hall: all of it,
// or nothing and every fault of the file with its line and field. ?mode=
// replace also removes the hall's guides the file does not hold.
func (s *Server) importGuides(w http.ResponseWriter, r *http.Request, c *call) error {
	format, err := guideFormat(r, c.body)
	if err != nil {
		return err
	}
	replace := false
	switch r.URL.Query().Get("mode") {
	case "", "merge":
	case "replace":
		replace = true
	default:
		return civiq.FieldErrorf("mode", "mode must be merge or replace")
	}
	rows, faults := guidefile.Read(format, c.body)
	res, err := s.Engine.ImportGuides(r.Context(), r.PathValue("hall"), civiq.GuideImport{Rows: rows, Faults: faults, Replace: replace})
	var bad civiq.ImportErrors
	if errors.As(err, &bad) {
		d := errorDetail{Code: civiq.EInvalid, Message: fmt.Sprintf("the file has %d problems: nothing was imported", len(bad))}
		if len(bad) == 1 {
			d.Message = "the file has 1 problem: nothing was imported"
		}
		if len(bad) > 0 {
			d.Field = bad[0].Field
		}
		writeJSON(w, http.StatusBadRequest, importErrorBody{Error: d, Errors: bad})
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"imported": res.Created + res.Updated, "created": res.Created, "updated": res.Updated, "deleted": res.Deleted})
	return nil
}

// caseAnswer is a case as the API gives it after a change: the applicant
// masked, and where the citizen follows it.
func caseAnswer(cs *civiq.Case) map[string]any {
	return caseURLs(cs, cs.Masked())
}

// caseURLs answers a case (as the caller may see it) with where the
// citizen follows it and, once it has one, its signed receipt's page.
func caseURLs(cs *civiq.Case, shown any) map[string]any {
	out := map[string]any{"case": shown, "progress_url": "/c/" + cs.Number}
	if cs.ReceiptCode != "" {
		out["receipt_url"] = ReceiptPath(cs.ReceiptCode)
	}
	return out
}

func (s *Server) openCase(w http.ResponseWriter, r *http.Request, c *call) error {
	var req openCaseRequest
	if err := decode(c.body, &req, "guide_id", "applicant"); err != nil {
		return err
	}
	cs, err := s.Engine.OpenCase(r.Context(), civiq.OpenCaseRequest{TicketID: r.PathValue("id"), GuideID: req.GuideID,
		Applicant: req.Applicant, Materials: req.Materials, Decision: req.Decision, Reason: req.Reason, Note: req.Note, OnBehalf: req.OnBehalf})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, caseAnswer(cs))
	return nil
}

func (s *Server) ticketCases(w http.ResponseWriter, r *http.Request, c *call) error {
	cs, err := s.Engine.Cases(r.Context(), civiq.CaseQuery{HallID: c.ticket.HallID, TicketID: c.ticket.ID}, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": cs})
	return nil
}

// listCases lists a hall's cases, newest first, applicants masked:
// ?status=, ?ticket=, ?overdue=1 (accepted, open and past the promised
// date), ?limit= (at most 500).
func (s *Server) listCases(w http.ResponseWriter, r *http.Request, c *call) error {
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 500 {
		return civiq.FieldErrorf("limit", "limit must be 1..500")
	}
	q := r.URL.Query()
	overdue := q.Get("overdue") == "1" || q.Get("overdue") == "true"
	cs, err := s.Engine.Cases(r.Context(), civiq.CaseQuery{HallID: r.PathValue("hall"), TicketID: q.Get("ticket"), Status: q.Get("status"), Limit: limit}, overdue)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": cs})
	return nil
}

// getCase answers staff of the case's hall with the whole case and its
// history; anyone else needs ?id_last4= (or ?last4=), the last 4
// characters of the applicant's ID number or phone, and gets the
// citizen's view.
func (s *Server) getCase(w http.ResponseWriter, r *http.Request, c *call) error {
	number := r.PathValue("number")
	q := r.URL.Query()
	last4 := q.Get("id_last4")
	if last4 == "" {
		last4 = q.Get("last4")
	}
	if !c.p.Anonymous() && last4 == "" {
		cs, err := s.Engine.Case(r.Context(), number, c.p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, caseURLs(cs, cs))
		return nil
	}
	if last4 == "" {
		return civiq.FieldErrorf("id_last4", "give the last 4 characters of the ID number or phone (id_last4)")
	}
	p, err := s.Engine.CaseProgressFor(r.Context(), number, last4)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"case": p})
	return nil
}

func (s *Server) transitionCase(w http.ResponseWriter, r *http.Request, c *call) error {
	var req caseTransitionRequest
	if err := decode(c.body, &req, "to"); err != nil {
		return err
	}
	cs, err := s.Engine.MoveCase(r.Context(), r.PathValue("number"), civiq.CaseMove{To: req.To, Note: req.Note, Reason: req.Reason,
		Materials: req.Materials, By: c.p, OnBehalf: req.OnBehalf})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, caseAnswer(cs))
	return nil
}
