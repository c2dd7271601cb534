package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civiq/civiq"
)

// 办事指南 and 办件 pages: the query mode (多媒体查询) of the kiosk and the
// phone, where citizens browse and search the hall's service guides, see
// what to bring as a checklist and take a ticket for the service; the
// case progress page a citizen opens with a case number; the staff's case
// intake for the ticket being served, and their case desk (cases.go).
func (s *Site) registerGuides(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/guides", s.guideList)
	mux.HandleFunc("GET /halls/{hall}/guides/{guide}", s.guidePage)
	mux.HandleFunc("GET /c", s.caseLookup)
	mux.HandleFunc("GET /c/{number}", s.caseLookup)
	mux.HandleFunc("POST /c", s.caseProgress)
	mux.HandleFunc("POST /c/{number}", s.caseProgress)
	mux.HandleFunc("GET /c/{number}/qr.svg", s.caseQR)
	mux.HandleFunc("GET /halls/{hall}/cases/new", s.caseIntake)
	mux.HandleFunc("GET /halls/{hall}/cases", s.caseDesk) // cases.go
}

// guideSvc is a service tab of the query mode.
type guideSvc struct {
	ID, Prefix, Name, URL string
	Active                bool
}

// guideCard is a guide in a list.
type guideCard struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Other       string `json:"other,omitempty"`
	ServiceID   string `json:"service_id"`
	ServiceName string `json:"service_name"`
	Promised    string `json:"promised"`
	Visits      string `json:"visits"`
	Materials   string `json:"materials"`
	Online      bool   `json:"online"`
	Appointment bool   `json:"appointment"`
	URL         string `json:"url"`
}

func (s *Site) promisedLabel(lang string, days int) string {
	if days == 0 {
		return s.T(lang, "guide.instant")
	}
	return s.T(lang, "guide.promised", days)
}

// daysLabel is a time limit as a fact: 5 个工作日, or 即办.
func (s *Site) daysLabel(lang string, days int) string {
	if days == 0 {
		return s.T(lang, "guide.instant")
	}
	return s.T(lang, "guide.days", days)
}

func (s *Site) visitsLabel(lang string, n int) string {
	if n == 0 {
		return s.T(lang, "guide.visits0")
	}
	return s.T(lang, "guide.visits", n)
}

func (s *Site) guideCard(lang, hallID string, g *civiq.Guide, svcNames map[string]string) guideCard {
	name, other := g.Names(lang)
	return guideCard{ID: g.ID, Name: name, Other: other, ServiceID: g.ServiceID, ServiceName: svcNames[g.ServiceID],
		Promised: s.promisedLabel(lang, g.PromisedDays), Visits: s.visitsLabel(lang, g.Visits),
		Materials: s.T(lang, "guide.materials_n", len(g.Materials)), Online: g.Online, Appointment: g.Appointment,
		URL: "/halls/" + url.PathEscape(hallID) + "/guides/" + url.PathEscape(g.ID)}
}

// guideHall reads a hall and its services; ok is false when the answer
// has been written (not found, or trouble).
func (s *Site) guideHall(w http.ResponseWriter, r *http.Request, hallID string) (*civiq.Hall, []civiq.Service, bool) {
	hall, err := s.Engine.Hall(r.Context(), hallID)
	var svcs []civiq.Service
	if err == nil {
		svcs, err = s.Engine.Services(r.Context(), hallID)
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	return hall, svcs, true
}

// guideList is the query mode's first screen: the search box, the hall's
// services as tabs and the guides found, best first. It works without
// script; guide.js searches as the citizen types.
func (s *Site) guideList(w http.ResponseWriter, r *http.Request) {
	hall, svcs, ok := s.guideHall(w, r, r.PathValue("hall"))
	if !ok {
		return
	}
	lang := Lang(w, r)
	q := r.URL.Query()
	text, service := strings.TrimSpace(q.Get("q")), q.Get("service")
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = min(max(offset, 0), 100000)
	names := map[string]string{}
	base := "/halls/" + url.PathEscape(hall.ID) + "/guides"
	tabs := []guideSvc{{Name: s.T(lang, "guide.all"), URL: base + guideQuery(text, "", 0), Active: service == ""}}
	known := false
	for _, sv := range svcs {
		ks := kioskService(lang, sv)
		names[sv.ID] = ks.Name
		tabs = append(tabs, guideSvc{ID: sv.ID, Prefix: sv.Prefix, Name: ks.Name, URL: base + guideQuery(text, sv.ID, 0), Active: service == sv.ID})
		known = known || sv.ID == service
	}
	if !known {
		service = ""
		tabs[0].Active = true
	}
	gs, more, err := s.Engine.Guides(r.Context(), civiq.GuideQuery{HallID: hall.ID, ServiceID: service, Text: text, Limit: 60, Offset: offset})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cards := make([]guideCard, len(gs))
	for i := range gs {
		cards[i] = s.guideCard(lang, hall.ID, &gs[i], names)
	}
	data := map[string]any{
		"Hall": hall.ID, "HallName": hall.NameIn(lang), "Tabs": tabs, "Q": text, "Service": service,
		"Guides": cards, "Base": base,
		"JSON": kioskJSON(map[string]any{"hall": hall.ID, "services": names, "base": base, "tz": hall.Timezone}),
	}
	if more {
		data["Next"] = base + guideQuery(text, service, offset+60)
	}
	if offset > 0 {
		data["Prev"] = base + guideQuery(text, service, max(offset-60, 0))
	}
	w.Header().Set("Cache-Control", "no-cache")
	s.render(w, r, http.StatusOK, "guide_list", "guide.title", data)
}

func guideQuery(text, service string, offset int) string {
	v := url.Values{}
	if text != "" {
		v.Set("q", text)
	}
	if service != "" {
		v.Set("service", service)
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// guideMaterial is a material as the checklist shows it.
type guideMaterial struct {
	civiq.Material
	Need, Form string
	// Shown is its name in the page's language, Chinese when it has no
	// English one (Chinese then says so: lang="zh-CN").
	Shown    string
	Chinese  bool
	Required bool
}

// guidePage is one guide: the facts that matter first, the materials as a
// checklist, the button that takes a ticket for its service, then every
// other field of the guide.
func (s *Site) guidePage(w http.ResponseWriter, r *http.Request) {
	hall, svcs, ok := s.guideHall(w, r, r.PathValue("hall"))
	if !ok {
		return
	}
	g, err := s.Engine.Guide(r.Context(), r.PathValue("guide"))
	if civiq.IsNotFound(err) || err == nil && g.HallID != hall.ID {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := Lang(w, r)
	var svc kioskSvc
	for _, sv := range svcs {
		if sv.ID == g.ServiceID {
			svc = kioskService(lang, sv)
		}
	}
	name, other := g.Names(lang)
	mats := make([]guideMaterial, len(g.Materials))
	required := 0
	for i, m := range g.Materials {
		mats[i] = guideMaterial{Material: m, Need: s.T(lang, "case.need."+m.Necessity), Form: s.T(lang, "case.form."+m.Form),
			Required: m.Necessity == civiq.NeedRequired}
		mats[i].Shown = m.NameIn(lang)
		mats[i].Chinese = lang == "en" && m.NameEn == ""
		if mats[i].Required {
			required++
		}
	}
	cs, err := s.Engine.Counters(r.Context(), hall.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	counters := make(map[string]string, len(cs))
	for _, c := range cs {
		counters[c.ID] = c.NameIn(lang)
	}
	// A guide done by appointment leads to the booking page, its service
	// chosen, where the hall books that service online.
	set, err := s.Engine.BookingSettings(r.Context(), hall.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	book := ""
	if g.Appointment && set.Enabled && set.Bookable(g.ServiceID) {
		book = "/halls/" + url.PathEscape(hall.ID) + "/book?service=" + url.QueryEscape(g.ServiceID)
	}
	back := "/halls/" + url.PathEscape(hall.ID) + "/guides"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path == back {
		back = ref.RequestURI() // back to the search the citizen came from
	}
	data := map[string]any{
		"Hall": hall.ID, "HallName": hall.NameIn(lang), "G": g, "Name": name, "Other": other, "Service": svc,
		"Promised": s.daysLabel(lang, g.PromisedDays), "Legal": s.daysLabel(lang, g.LegalDays), "Visits": s.T(lang, "guide.times", g.Visits),
		"Materials": mats, "Required": required, "Back": back, "Book": book, "Kiosk": "/halls/" + url.PathEscape(hall.ID) + "/kiosk",
		"JSON": kioskJSON(map[string]any{"hall": hall.ID, "guide": g.ID, "service": svc, "allow_remote": hall.AllowRemote,
			"required": required, "tz": hall.Timezone, "counters": counters, "back": "/halls/" + url.PathEscape(hall.ID) + "/guides"}),
	}
	w.Header().Set("Cache-Control", "no-cache")
	s.render(w, r, http.StatusOK, "guide", "guide.title", data)
}

// caseLookup asks a citizen for the case number (given in the path when
// they come from the receipt's QR code) and the last 4 characters.
func (s *Site) caseLookup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "guide_progress", "case.progress_title", map[string]any{"Number": r.PathValue("number")})
}

// caseStep is a step of the progress line.
type caseStep struct {
	Label, At, Reason, Class string
}

// caseProgress shows a case to the citizen who gave its number and the
// last 4 characters (a POST, so they stay out of addresses and logs).
func (s *Site) caseProgress(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, civiq.Errorf(civiq.EInvalid, "bad form"))
		return
	}
	lang := Lang(w, r)
	number := strings.TrimSpace(r.PostFormValue("number"))
	if number == "" {
		number = r.PathValue("number")
	}
	data := map[string]any{"Number": number}
	w.Header().Set("Cache-Control", "no-store")
	p, err := s.Engine.CaseProgressFor(r.Context(), number, r.PostFormValue("last4"))
	if err != nil {
		status := http.StatusBadRequest
		switch civiq.ErrorCode(err) {
		case civiq.ENotFound:
			status, data["Error"] = http.StatusNotFound, "case.not_found"
		case civiq.ERateLimited:
			status, data["Error"] = http.StatusTooManyRequests, "case.too_many"
		case civiq.EInvalid:
			data["Error"] = "case.bad_input"
		default:
			s.fail(w, r, err)
			return
		}
		s.render(w, r, status, "guide_progress", "case.progress_title", data)
		return
	}
	loc := time.UTC
	if h := p.OpenedAt.Location(); h != nil {
		loc = h
	}
	at := func(t time.Time) string { return dateTimeIn(lang, t.In(loc)) }
	var steps []caseStep
	for i, st := range p.Steps {
		c := "done"
		switch {
		case st.Status == civiq.CaseNotAccepted || st.Status == civiq.CaseRefused:
			c = "bad"
		case i == len(p.Steps)-1 && !civiq.CaseClosed(p.Status):
			c = "current"
		}
		steps = append(steps, caseStep{Label: s.T(lang, "case.step."+st.Status), At: at(st.At), Reason: st.Reason, Class: c})
	}
	pending := map[string][]string{
		civiq.CaseCorrection: {civiq.CaseAccepted, civiq.CaseReviewing, civiq.CaseFinished},
		civiq.CaseAccepted:   {civiq.CaseReviewing, civiq.CaseFinished},
		civiq.CaseReviewing:  {civiq.CaseFinished},
	}[p.Status]
	for _, st := range pending {
		steps = append(steps, caseStep{Label: s.T(lang, "case.step."+st), Class: "todo"})
	}
	data["P"], data["Steps"], data["HallName"], data["GuideName"] = p, steps, p.HallNameIn(lang), p.GuideNameIn(lang)
	data["Status"] = s.T(lang, "case.status."+p.Status)
	s.render(w, r, http.StatusOK, "guide_progress", "case.progress_title", data)
}

// caseQR draws the QR code of a case's progress page, for the receipt.
func (s *Site) caseQR(w http.ResponseWriter, r *http.Request) {
	number := r.PathValue("number")
	if len(number) < 8 || len(number) > 24 || strings.Trim(number, "0123456789") != "" {
		http.NotFound(w, r)
		return
	}
	serveQR(w, r, siteOrigin(r)+"/c/"+number) // web.go
}

// caseIntake is the staff's page to open a case on the ticket being
// served: choose the guide item, check the materials against its list,
// enter the applicant, accept or refuse, and print the notice.
func (s *Site) caseIntake(w http.ResponseWriter, r *http.Request) {
	pg, ok := s.casePage(w, r, civiq.PermCounterAction, "guide_intake", "case.intake_title", "case.forbidden") // cases.go
	if !ok {
		return
	}
	hall, svcs, lang, data := pg.hall, pg.svcs, pg.lang, pg.data
	names := map[string]string{}
	for _, sv := range svcs {
		names[sv.ID] = kioskService(lang, sv).Name
	}
	t, err := s.Engine.Ticket(r.Context(), r.URL.Query().Get("ticket"))
	if err != nil || t.HallID != hall.ID {
		if err != nil && !civiq.IsNotFound(err) {
			s.fail(w, r, err)
			return
		}
		data["Error"] = "case.no_ticket"
		s.render(w, r, http.StatusNotFound, "guide_intake", "case.intake_title", data)
		return
	}
	gs, _, err := s.Engine.Guides(r.Context(), civiq.GuideQuery{HallID: hall.ID, ServiceID: t.ServiceID, Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cards := make([]guideCard, len(gs))
	for i := range gs {
		cards[i] = s.guideCard(lang, hall.ID, &gs[i], names)
	}
	data["Ticket"], data["ServiceName"], data["Guides"] = t, names[t.ServiceID], cards
	data["Servable"] = t.Status == civiq.StatusCalled || t.Status == civiq.StatusServing || t.Status == civiq.StatusDone
	// 帮办代办: the choice starts with the ticket's helper, when it was
	// taken or is being handled on someone's behalf.
	data["BehalfRole"] = civiq.BehalfRoleOf(t.OnBehalf)
	data["JSON"] = kioskJSON(map[string]any{"hall": hall.ID, "hall_name": hall.NameIn(lang), "ticket": t.ID,
		"number": t.Number, "services": names, "tz": hall.Timezone, "behalf": civiq.BehalfRoleOf(t.OnBehalf)})
	s.render(w, r, http.StatusOK, "guide_intake", "case.intake_title", data)
}
