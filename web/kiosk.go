package web

import (
	"encoding/json"
	"github.com/civiq/civiq/qr"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/escpos"
	qrcode "github.com/skip2/go-qrcode"
)

// registerKiosk adds the kiosk, the citizen's ticket page and the ticket's
// QR code and ESC/POS receipt.
func (s *Site) registerKiosk(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/kiosk", s.kiosk)
	mux.HandleFunc("GET /t/{id}", s.ticketPage)
	mux.HandleFunc("GET /t/{id}/qr.svg", s.ticketQR)
	mux.HandleFunc("GET /t/{id}/qr.png", s.ticketQR)
	// Public like GET /api/v1/tickets/{id}: whoever holds the id.
	mux.HandleFunc("GET /api/v1/tickets/{id}/escpos", s.ticketEscpos)
}

// kioskSvc is a service as the kiosk and the ticket page show it: its name
// in the page's language and, smaller, in the other one.
type kioskSvc struct {
	ID     string `json:"id"`
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
	Other  string `json:"other,omitempty"`
}

func kioskService(lang string, svc civiq.Service) kioskSvc {
	v := kioskSvc{ID: svc.ID, Prefix: svc.Prefix}
	v.Name, v.Other = svc.Names(lang)
	if v.Other == v.Name {
		v.Other = ""
	}
	return v
}

// kioskGroupLabel translates a green-channel group; a group an admin added
// without a catalogue entry shows its id.
func (s *Site) kioskGroupLabel(lang, group string) string {
	key := "kiosk.group." + group
	if l := s.T(lang, key); l != key {
		return l
	}
	return group
}

func kioskJSON(v any) template.JS {
	b, _ := json.Marshal(v)
	return template.JS(b)
}

// The keys of the check-in's on-screen keypads: the characters of booking
// codes (civiq's code alphabet: no 0/O, 1/I/L), digits first as the booking
// page shows codes; and those of the end of an ID number, X last.
var (
	kioskCodeKeys = strings.Split("23456789ABCDEFGHJKMNPQRSTUVWXYZ", "")
	kioskIDKeys   = strings.Split("123456789X0", "")
	// kioskPhoneKeys type a mobile number for "text me": "+" begins a
	// number of another country's (where the hall's provider sends there).
	kioskPhoneKeys = strings.Split("1234567890+", "")
)

// kiosk is the touch screen where citizens take a ticket. It needs a
// paired kiosk device (token in the browser) or a signed-in user who may
// issue tickets in the hall; without either it shows the pairing form.
func (s *Site) kiosk(w http.ResponseWriter, r *http.Request) {
	hallID := r.PathValue("hall")
	hall, err := s.Engine.Hall(r.Context(), hallID)
	var svcs []civiq.Service
	if err == nil {
		svcs, err = s.Engine.Services(r.Context(), hallID)
	}
	// Check-in needs the hall's check-in window; a hall that takes no
	// bookings shows no check-in button.
	var set *civiq.BookingSettings
	if err == nil {
		set, err = s.Engine.BookingSettings(r.Context(), hallID)
	}
	// The ticket screen offers "text me" when the hall sends SMS.
	var media []string
	if err == nil {
		media, err = s.Engine.HallMedia(r.Context(), hallID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := Lang(w, r)
	p, _ := s.Principal(r)
	type group struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	}
	data := struct {
		Hall     string     `json:"hall"`
		Name     string     `json:"name"`
		TZ       string     `json:"tz"`
		CanIssue bool       `json:"can_issue"`
		Services []kioskSvc `json:"services"`
		Groups   []group    `json:"groups"`
		// Appointments shows the check-in (预约取号); EarlyMinutes and
		// LateMinutes frame it around the slot's start.
		Appointments bool   `json:"appointments"`
		EarlyMinutes int    `json:"checkin_early_minutes"`
		LateMinutes  int    `json:"checkin_late_minutes"`
		Guides       string `json:"guides"`
		SMS          bool   `json:"sms"`
		// ElderAge is the age from which an ID read at the start gives the
		// green channel by itself; 0 when the hall has no elderly group.
		ElderAge int `json:"elder_age"`
	}{SMS: slices.Contains(media, civiq.MediumSMS), Hall: hall.ID, Name: hall.NameIn(lang), TZ: hall.Timezone, CanIssue: p.User != nil && p.Can(civiq.PermIssueTicket, hall.ID, ""),
		Services: []kioskSvc{}, Groups: []group{},
		Appointments: set.Enabled, EarlyMinutes: set.CheckInEarlyMinutes, LateMinutes: set.CheckInLateMinutes,
		Guides: "/halls/" + url.PathEscape(hall.ID) + "/guides?from=kiosk"}
	for _, svc := range svcs {
		data.Services = append(data.Services, kioskService(lang, svc))
	}
	if hall.HasPriorityGroup(civiq.ElderGroup) {
		data.ElderAge = hall.ElderAge
	}
	for _, g := range hall.PriorityGroups {
		data.Groups = append(data.Groups, group{g, s.kioskGroupLabel(lang, g)})
	}
	s.render(w, r, http.StatusOK, "kiosk", "kiosk.title", map[string]any{"V": data, "JSON": kioskJSON(data),
		"CodeKeys": kioskCodeKeys, "IDKeys": kioskIDKeys, "PhoneKeys": kioskPhoneKeys, "CodeMax": civiq.CodeLength + 1,
		"Behalf": civiq.BehalfRoles})
}

// ticketPage is the citizen's page of one ticket, phone first.
func (s *Site) ticketPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.Engine.TicketView(r.Context(), r.PathValue("id"))
	if civiq.ErrorCode(err) == civiq.ENotFound {
		s.render(w, r, http.StatusNotFound, "ticket_notfound", "ticket.notfound_title", nil)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := Lang(w, r)
	t, hall, rated := v.Ticket, v.Hall, v.Rated
	counters := map[string]string{}
	for _, c := range v.Counters {
		counters[c.ID] = c.NameIn(lang)
	}
	sv := kioskService(lang, *v.Service)
	data := map[string]any{
		"id": t.ID, "hall": hall.ID, "tz": hall.Timezone, "service": sv, "counters": counters,
		"rated": rated, "ticket": t,
	}
	if b := v.Appointment; b != nil {
		// The slot only, nothing of the person: the page shows it as the
		// kiosk's ticket does, and that calls start at its start.
		data["appointment"] = map[string]time.Time{"slot_start": b.SlotStart, "slot_end": b.SlotEnd}
	}
	reasons, err := s.reasonChoices(r.Context(), hall.ID, lang)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Notifications: the SMS opt-in when the hall sends SMS (notify.go),
	// browser notifications and the WeChat login (push.go).
	var tn *civiq.TicketNotify
	if tn, err = s.Engine.TicketNotifyOf(r.Context(), t); err == nil {
		data["notify"] = tn
		s.ticketPush(r, tn, data)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "ticket", "ticket.title", map[string]any{
		"Ticket": t, "Hall": hall.NameIn(lang), "HallID": hall.ID, "Service": sv, "Rated": rated, "JSON": kioskJSON(data),
		"Scores": ticketFaces, "Reasons": reasons,
	})
}

// ticketFaces are the five levels of 好差评, best first, each with the
// mouth of its face.
var ticketFaces = []struct {
	Score int
	Mouth string
}{
	{5, "M7.5 14 Q12 19.5 16.5 14"},
	{4, "M8 14.5 Q12 17.5 16 14.5"},
	{3, "M8 15.5 H16"},
	{2, "M8 16.5 Q12 14 16 16.5"},
	{1, "M7.5 17.5 Q12 12.5 16.5 17.5"},
}

// kioskTicketURL is the absolute address of the ticket's page, as the
// request reached us: what a phone scanning the QR code opens.
func kioskTicketURL(r *http.Request, id string) string {
	return siteOrigin(r) + "/t/" + url.PathEscape(id)
}

// ticketQR draws the QR code of the ticket's page, as SVG or PNG.
func (s *Site) ticketQR(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.Engine.Ticket(r.Context(), id); err != nil {
		failJSON(w, r, err)
		return
	}
	q, err := qrcode.New(kioskTicketURL(r, id), qrcode.Medium)
	if err != nil {
		failJSON(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasSuffix(r.URL.Path, ".png") {
		b, err := q.PNG(330)
		if err != nil {
			failJSON(w, r, err)
			return
		}
		h.Set("Content-Type", "image/png")
		w.Write(b)
		return
	}
	h.Set("Content-Type", "image/svg+xml")
	w.Write(qr.Draw(q.Bitmap()))
}

// ticketEscpos gives the ticket as an ESC/POS receipt for an 80 mm thermal
// printer: the same content as the kiosk's printed ticket, Chinese in
// GB18030 (see package escpos), the QR code drawn by the printer. ?lang=en
// prints it in English.
func (s *Site) ticketEscpos(w http.ResponseWriter, r *http.Request) {
	v, err := s.Engine.TicketView(r.Context(), r.PathValue("id"))
	if err != nil {
		failJSON(w, r, err)
		return
	}
	lang := Languages[0]
	if r.URL.Query().Get("lang") == "en" {
		lang = "en"
	}
	t := v.Ticket
	b, err := s.kioskReceipt(lang, t, v.Hall, v.Service, v.Appointment, kioskTicketURL(r, t.ID))
	if err != nil {
		failJSON(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="ticket-`+t.Number+`.bin"`)
	h.Set("Cache-Control", "no-store")
	w.Write(b)
}

// kioskSlot is a booking's slot as a receipt prints it: 10:00-10:30, in
// ASCII, which prints on any ESC/POS printer.
func kioskSlot(b *civiq.Booking, loc *time.Location) string {
	return b.SlotStart.In(loc).Format("15:04") + "-" + b.SlotEnd.In(loc).Format("15:04")
}

// kioskReceipt writes the ticket for a thermal printer; appt is the booking
// of an appointment ticket, nil for a walk-in.
func (s *Site) kioskReceipt(lang string, t *civiq.Ticket, hall *civiq.Hall, svc *civiq.Service, appt *civiq.Booking, link string) ([]byte, error) {
	d := escpos.New().Align(escpos.Center).
		Size(2, 2).Bold(true).Line(hall.NameIn(lang)).Bold(false).Size(1, 1).Feed(1).
		Size(6, 6).Bold(true).Line(t.Number).Bold(false).
		Size(2, 2).Line(kioskService(lang, *svc).Name).Size(1, 1)
	if t.PriorityGroup != "" {
		d.Line(s.T(lang, "kiosk.ticket_priority", s.kioskGroupLabel(lang, t.PriorityGroup)))
	}
	if appt != nil {
		d.Bold(true).Line(s.T(lang, "kiosk.appt_mark", kioskSlot(appt, hall.Location()))).Bold(false)
	}
	d.Feed(1)
	ahead := 0
	if t.Position != nil {
		ahead = *t.Position
		d.Line(s.T(lang, "kiosk.ahead", ahead))
	}
	if t.ETASeconds != nil {
		d.Line(s.T(lang, "kiosk.eta", s.kioskMinutes(lang, *t.ETASeconds)))
	}
	taken := s.T(lang, "kiosk.taken", t.Number, ahead)
	if appt != nil {
		taken = s.T(lang, "kiosk.appt_taken", t.Number)
	}
	d.Line(dateTimeIn(lang, t.IssuedAt.In(hall.Location()))).Feed(1).
		QR(link, 6, escpos.LevelM).
		Line(s.T(lang, "kiosk.scan")).Feed(1).
		Line(taken).
		Feed(3).Cut()
	return d.Bytes()
}

// kioskMinutes rounds a wait for people as civiq.js's CIVIQ.minutes does:
// whole minutes, at least one, in fives beyond half an hour.
func (s *Site) kioskMinutes(lang string, secs int) string {
	step := 1.0
	if secs > 1800 {
		step = 5
	}
	m := max(1, int(math.Round(float64(secs)/60/step)*step))
	return s.T(lang, "wait.about", m)
}
