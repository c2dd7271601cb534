package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/csvfile"
)

// 好差评: ratings, the follow-up of bad ratings, working-day calendars and
// the reports. The rating route itself is registered in routes.go.
func (s *Server) ratingRoutes() {
	s.handle("GET /api/v1/halls/{hall}/followups", need(civiq.PermFollowUp), s.listFollowUps)
	s.handle("GET /api/v1/halls/{hall}/followups/counts", need(civiq.PermFollowUp), s.countFollowUps)
	// Follow-ups are found by their own id; the hall, and so the
	// permission, comes from the case (checked by the engine).
	s.handle("GET /api/v1/followups/{followup}", signed, s.getFollowUp)
	s.handle("POST /api/v1/followups/{followup}/transition", signed, s.transitionFollowUp)
	s.handle("POST /api/v1/followups/{followup}/extend", signed, s.extendFollowUp)
	s.handle("POST /api/v1/followups/{followup}/phone", signed, s.revealFollowUpPhone)

	s.handle("GET /api/v1/calendar/deadline", anyone, s.deadline)
	s.handle("GET /api/v1/halls/{hall}/calendar/{year}", anyone, s.getCalendarYear)
	s.handle("PUT /api/v1/halls/{hall}/calendar/{year}", need(civiq.PermAdmin), s.putCalendarYear)
	s.handle("DELETE /api/v1/halls/{hall}/calendar/{year}", need(civiq.PermAdmin), s.deleteCalendarYear)
	s.handle("PUT /api/v1/halls/{hall}/calendar/days/{date}", need(civiq.PermAdmin), s.putCalendarDay)
	s.handle("DELETE /api/v1/halls/{hall}/calendar/days/{date}", need(civiq.PermAdmin), s.deleteCalendarDay)

	s.handle("GET /api/v1/halls/{hall}/rating-settings", need(civiq.PermFollowUp), s.getRatingSettings)
	s.handle("PUT /api/v1/halls/{hall}/rating-settings", need(civiq.PermAdmin), s.putRatingSettings)
	s.handle("GET /api/v1/halls/{hall}/rating-reasons", anyone, s.ratingReasons)
	s.handle("GET /api/v1/halls/{hall}/reports/ratings", need(civiq.PermFollowUp), s.ratingReport)
	s.handle("GET /api/v1/halls/{hall}/ratings", need(civiq.PermFollowUp), s.listRatings)
	s.handle("GET /api/v1/halls/{hall}/ratings/public", anyone, s.publicRatings)
}

// The request bodies of these routes.

type ratingRequest struct {
	Score        int              `json:"score"`
	Reasons      []string         `json:"reasons"`
	Comment      string           `json:"comment"`
	ContactPhone string           `json:"contact_phone"`
	SubScores    *civiq.SubScores `json:"sub_scores"`
}

type transitionRequest struct {
	To            string `json:"to"`
	Note          string `json:"note"`
	Reason        string `json:"reason"`
	CitizenView   string `json:"citizen_view"`
	PublicSummary string `json:"public_summary"`
}

type extendRequest struct {
	Reason string `json:"reason"`
}

type calendarYearRequest struct {
	Days []civiq.CalendarDay `json:"days"`
}

type calendarDayRequest struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// rate records a rating. The channel follows from who sends it: the
// counter's rater device ("rater"), a signed-in user ("web") or anyone
// holding the ticket id ("phone"). The answer masks the contact phone.
func (s *Server) rate(w http.ResponseWriter, r *http.Request, c *call) error {
	var req ratingRequest
	if err := decode(c.body, &req, "score"); err != nil {
		return err
	}
	rating, err := s.Engine.Rate(r.Context(), civiq.RateRequest{TicketID: r.PathValue("id"), Score: req.Score, Reasons: req.Reasons,
		Comment: req.Comment, ContactPhone: req.ContactPhone, SubScores: req.SubScores, By: c.p})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"rating": rating.Masked()})
	return nil
}

// lastDone answers the ticket the counter finished last to its rater
// device: {"ticket":{"id","number","service_id","counter_id","status",
// "call_count","done_at"}}. The public stream names the ticket by number
// only; the rater needs its id to rate it.
func (s *Server) lastDone(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.Engine.LastDone(r.Context(), r.PathValue("hall"), r.PathValue("counter"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"ticket": struct {
		ID string `json:"id"`
		civiq.PublicTicket
		DoneAt *time.Time `json:"done_at"`
	}{t.ID, t.Public(), t.DoneAt}})
	return nil
}

// queryList reads a query parameter given several times or with commas.
func queryList(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (s *Server) listFollowUps(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return civiq.FieldErrorf("limit", "limit must be a whole number 1..%d", civiq.MaxFollowUpLimit)
		}
		limit = n
	}
	fs, err := s.Engine.FollowUps(r.Context(), r.PathValue("hall"), civiq.FollowUpFilter{
		Statuses: queryList(r, "status"), From: q.Get("from"), To: q.Get("to"), ServiceID: q.Get("service"), CounterID: q.Get("counter"),
		Staff: q.Get("staff"), Limit: limit,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"followups": fs})
	return nil
}

func (s *Server) countFollowUps(w http.ResponseWriter, r *http.Request, c *call) error {
	n, err := s.Engine.FollowUpCounts(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

// followUpID reads the case id of the path; a malformed one is unknown.
func followUpID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("followup"), 10, 64)
	if err != nil || id <= 0 {
		return 0, civiq.Errorf(civiq.ENotFound, "unknown follow-up %s", r.PathValue("followup"))
	}
	return id, nil
}

func (s *Server) getFollowUp(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := followUpID(r)
	if err != nil {
		return err
	}
	f, err := s.Engine.FollowUpCase(r.Context(), c.p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"followup": f})
	return nil
}

func (s *Server) transitionFollowUp(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := followUpID(r)
	if err != nil {
		return err
	}
	var req transitionRequest
	if err := decode(c.body, &req, "to"); err != nil {
		return err
	}
	f, err := s.Engine.MoveFollowUp(r.Context(), c.p, civiq.FollowUpMove{ID: id, To: req.To, Note: req.Note, Reason: req.Reason,
		CitizenView: req.CitizenView, PublicSummary: req.PublicSummary})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"followup": f})
	return nil
}

func (s *Server) extendFollowUp(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := followUpID(r)
	if err != nil {
		return err
	}
	var req extendRequest
	if err := decode(c.body, &req, "reason"); err != nil {
		return err
	}
	f, err := s.Engine.ExtendFollowUp(r.Context(), c.p, id, req.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"followup": f})
	return nil
}

// revealFollowUpPhone answers a case's contact phone in clear,
// {"contact_phone":"13812345678"}, and records an audit event.
func (s *Server) revealFollowUpPhone(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := followUpID(r)
	if err != nil {
		return err
	}
	phone, err := s.Engine.RevealFollowUpPhone(r.Context(), c.p, id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"contact_phone": phone})
	return nil
}

// deadlineQuery reads the deadline endpoint's parameters: from (a date),
// working_days (1..365) and hall (optional).
func deadlineQuery(q map[string][]string) (from time.Time, n int, hall string, err error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if get("from") == "" {
		return from, 0, "", civiq.FieldErrorf("from", "from is required, written YYYY-MM-DD")
	}
	if from, err = civiq.ParseDate("from", get("from")); err != nil {
		return from, 0, "", err
	}
	raw := get("working_days")
	n, convErr := strconv.Atoi(raw)
	if raw == "" || convErr != nil || n < 1 || n > civiq.MaxDeadlineDays {
		return from, 0, "", civiq.FieldErrorf("working_days", "working_days must be a whole number 1..%d", civiq.MaxDeadlineDays)
	}
	return from, n, get("hall"), nil
}

func (s *Server) deadline(w http.ResponseWriter, r *http.Request, c *call) error {
	from, n, hall, err := deadlineQuery(r.URL.Query())
	if err != nil {
		return err
	}
	d, err := s.Engine.Deadline(r.Context(), hall, from, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deadline": d.Format(time.DateOnly), "from": from.Format(time.DateOnly), "working_days": n})
	return nil
}

func pathYear(r *http.Request) (int, error) {
	y, err := strconv.Atoi(r.PathValue("year"))
	if err != nil || len(r.PathValue("year")) != 4 {
		return 0, civiq.FieldErrorf("year", "year must be written YYYY")
	}
	return y, nil
}

func (s *Server) getCalendarYear(w http.ResponseWriter, r *http.Request, c *call) error {
	y, err := pathYear(r)
	if err != nil {
		return err
	}
	cy, err := s.Engine.HallCalendarYear(r.Context(), r.PathValue("hall"), y)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cy)
	return nil
}

func (s *Server) putCalendarYear(w http.ResponseWriter, r *http.Request, c *call) error {
	y, err := pathYear(r)
	if err != nil {
		return err
	}
	var req calendarYearRequest
	if err := decode(c.body, &req, "days"); err != nil {
		return err
	}
	if err := s.Engine.SetHallCalendarYear(r.Context(), r.PathValue("hall"), y, req.Days); err != nil {
		return err
	}
	return s.getCalendarYear(w, r, c)
}

func (s *Server) deleteCalendarYear(w http.ResponseWriter, r *http.Request, c *call) error {
	y, err := pathYear(r)
	if err != nil {
		return err
	}
	if err := s.Engine.ResetHallCalendarYear(r.Context(), r.PathValue("hall"), y); err != nil {
		return err
	}
	return s.getCalendarYear(w, r, c)
}

func (s *Server) putCalendarDay(w http.ResponseWriter, r *http.Request, c *call) error {
	var req calendarDayRequest
	if err := decode(c.body, &req, "kind"); err != nil {
		return err
	}
	d := civiq.CalendarDay{Date: r.PathValue("date"), Kind: req.Kind, Name: req.Name}
	if err := s.Engine.SetHallCalendarDay(r.Context(), r.PathValue("hall"), d); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"day": civiq.CalendarDay{Date: d.Date, Kind: d.Kind, Name: strings.TrimSpace(d.Name), Source: civiq.SourceHall}})
	return nil
}

func (s *Server) deleteCalendarDay(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.Engine.DeleteHallCalendarDay(r.Context(), r.PathValue("hall"), r.PathValue("date")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getRatingSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	st, err := s.Engine.HallRatingSettings(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": st.Shown(), "reasons": st.Reasons()})
	return nil
}

// ratingReasons is the reason list of a bad rating with the hall's
// labels: what the rating pages offer.
func (s *Server) ratingReasons(w http.ResponseWriter, r *http.Request, c *call) error {
	list, err := s.Engine.HallRatingReasons(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reasons": list})
	return nil
}

func (s *Server) putRatingSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	var st civiq.RatingSettings
	if err := decode(c.body, &st); err != nil {
		return err
	}
	if err := s.Engine.SaveRatingSettings(r.Context(), r.PathValue("hall"), &st); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": st.Shown(), "reasons": st.Reasons()})
	return nil
}

func (s *Server) ratingReport(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	rep, err := s.Engine.RatingReport(r.Context(), r.PathValue("hall"), q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) publicRatings(w http.ResponseWriter, r *http.Request, c *call) error {
	pub, err := s.Engine.PublicMonthRatings(r.Context(), r.PathValue("hall"), r.URL.Query().Get("month"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pub)
	return nil
}

// listRatings lists a period's ratings (phones masked), as JSON or, with
// ?format=csv, as a CSV file for spreadsheets.
func (s *Server) listRatings(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return civiq.FieldErrorf("format", "format must be json or csv")
	}
	rows, err := s.Engine.HallRatings(r.Context(), r.PathValue("hall"), q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	if format != "csv" {
		writeJSON(w, http.StatusOK, map[string]any{"ratings": rows})
		return nil
	}
	w.Header().Set("Content-Type", csvfile.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="ratings-`+r.PathValue("hall")+`.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csvfile.NewWriter(w)
	cw.Write([]string{"id", "created_at", "ticket_id", "service_id", "counter_id", "staff", "channel", "score", "reasons", "comment",
		"contact_phone", "efficiency", "level", "attitude", "followup_id", "followup_status"})
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	for _, x := range rows {
		var sub civiq.SubScores
		if x.SubScores != nil {
			sub = *x.SubScores
		}
		fid := ""
		if x.FollowUpID != 0 {
			fid = strconv.FormatInt(x.FollowUpID, 10)
		}
		cw.Write([]string{strconv.FormatInt(x.ID, 10), x.CreatedAt.Format(time.RFC3339), x.TicketID, x.ServiceID, x.CounterID,
			x.Staff, x.Channel, strconv.Itoa(x.Score), strings.Join(x.JoinReasons(), "；"), x.Comment, x.ContactPhone,
			num(sub.Efficiency), num(sub.Level), num(sub.Attitude), fid, x.FollowUpStatus})
	}
	return cw.Flush()
}
