package web

import (
	"net/http"
	"time"

	"github.com/civiq/civiq"
)

// Appointments: the citizen's booking page, phone first, and the staff's
// page of a day's bookings with check-in and no-show strikes. Both talk to
// the API of api/bookings.go.
func (s *Site) registerBook(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/book", s.bookPage)
	mux.HandleFunc("GET /halls/{hall}/bookings", s.bookingsPage)
}

// bookDay is a day the booking page offers.
type bookDay struct {
	Date    string `json:"date"`
	Label   string `json:"label"`   // 3月4日 / 4 Mar
	Weekday string `json:"weekday"` // 周三 / Wed, or 今天 / Today
	Working bool   `json:"working"`
}

// bookHall reads what both pages need: the hall, its services and its
// booking rules. A hall that does not exist answers the not-found page.
func (s *Site) bookHall(w http.ResponseWriter, r *http.Request) (*civiq.Hall, []civiq.Service, *civiq.BookingSettings, bool) {
	hallID := r.PathValue("hall")
	hall, err := s.Engine.Hall(r.Context(), hallID)
	var svcs []civiq.Service
	if err == nil {
		svcs, err = s.Engine.Services(r.Context(), hallID)
	}
	var set *civiq.BookingSettings
	if err == nil {
		set, err = s.Engine.BookingSettings(r.Context(), hallID)
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, nil, false
	}
	return hall, svcs, set, true
}

// bookDays lists today and the days bookable after it, working or not, by
// the hall's calendar.
func (s *Site) bookDays(r *http.Request, lang string, hall *civiq.Hall, set *civiq.BookingSettings) ([]bookDay, error) {
	loc := hall.Location()
	today := civiq.Date(s.Engine.Now(), loc)
	exceptions := map[string]string{}
	for _, y := range []int{today.Year(), today.AddDate(0, 0, set.DaysAhead).Year()} {
		cy, err := s.Engine.HallCalendarYear(r.Context(), hall.ID, y)
		if err != nil {
			return nil, err
		}
		for _, d := range cy.Days {
			exceptions[d.Date] = d.Kind
		}
	}
	var out []bookDay
	for i := 0; i <= set.DaysAhead; i++ {
		d := today.AddDate(0, 0, i)
		date := d.Format(time.DateOnly)
		working := d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
		if k, ok := exceptions[date]; ok {
			working = k == civiq.DayWork
		}
		bd := bookDay{Date: date, Working: working, Weekday: weekdayIn(lang, d), Label: monthDayIn(lang, d)} // dates.go
		if i == 0 {
			bd.Weekday = s.T(lang, "book.today")
		}
		out = append(out, bd)
	}
	return out, nil
}

// bookPage is where citizens book: a service, a day and a slot, then their
// name, mobile number and ID number. The answer shows the booking code, its
// QR code and a calendar file.
func (s *Site) bookPage(w http.ResponseWriter, r *http.Request) {
	hall, svcs, set, ok := s.bookHall(w, r)
	if !ok {
		return
	}
	lang := Lang(w, r)
	var services []kioskSvc
	for _, svc := range svcs {
		if set.Bookable(svc.ID) {
			services = append(services, kioskService(lang, svc))
		}
	}
	days, err := s.bookDays(r, lang, hall, set)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rules := []string{
		s.T(lang, "book.rule.window", set.DaysAhead, set.LeadMinutes),
		s.T(lang, "book.rule.limits", set.MaxPerServiceDay, set.MaxPerWeek),
		s.T(lang, "book.rule.checkin", set.CheckInEarlyMinutes, set.CheckInLateMinutes),
		s.T(lang, "book.rule.cancel", set.CancelMinutes),
		s.T(lang, "book.rule.strikes", set.StrikeWindowDays, set.StrikesToSuspend, set.SuspendDays),
	}
	data := map[string]any{
		"hall": hall.ID, "tz": hall.Timezone, "services": services, "days": days, "enabled": set.Enabled && len(services) > 0,
		"cancel_minutes": set.CancelMinutes, "early": set.CheckInEarlyMinutes, "late": set.CheckInLateMinutes,
	}
	s.render(w, r, http.StatusOK, "book", "book.title", map[string]any{
		"Hall": hall.NameIn(lang), "HallID": hall.ID, "Services": services, "Days": days, "Rules": rules,
		"Enabled": data["enabled"], "JSON": kioskJSON(data),
	})
}

// bookingsPage is the staff's page of a day's bookings: their states, the
// tickets of those checked in, check-in for a citizen at the counter, and
// the hall's strikes. Signed-in staff of the hall only.
func (s *Site) bookingsPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	hall, svcs, _, ok := s.bookHall(w, r)
	if !ok {
		return
	}
	lang := Lang(w, r)
	if !p.Can(civiq.PermStaffView, hall.ID, "") {
		s.render(w, r, http.StatusForbidden, "book_staff", "book.staff.title", map[string]any{"Forbidden": true, "Hall": hall.NameIn(lang)})
		return
	}
	names := map[string]string{}
	for _, svc := range svcs {
		names[svc.ID] = kioskService(lang, svc).Name
	}
	date := r.URL.Query().Get("date")
	if _, err := civiq.ParseDate("date", date); err != nil {
		date = civiq.Date(s.Engine.Now(), hall.Location()).Format(time.DateOnly)
	}
	data := map[string]any{"hall": hall.ID, "tz": hall.Timezone, "date": date, "services": names}
	s.render(w, r, http.StatusOK, "book_staff", "book.staff.title", map[string]any{
		"Hall": hall.NameIn(lang), "HallID": hall.ID, "Date": date, "JSON": kioskJSON(data),
	})
}
