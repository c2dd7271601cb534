package civiq

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Appointment slots. Each bookable service of a hall has slots of a fixed
// length (30 minutes unless set) through the hall's opening hours (09:00 to
// 17:00 for a hall without hours), on the hall's working days only (its
// calendar, with the official holidays and the weekend days worked instead).
// A slot takes a set number of bookings, or as many as the counters serving
// the service can handle in it, by the service's mean handling time, times
// the share of their time given to appointments.

// Opening hours assumed for slots when the hall has none.
const (
	DefaultSlotOpens  = "09:00"
	DefaultSlotCloses = "17:00"
)

// BookingSettings are a hall's rules for appointments. Local rules differ,
// so each number is the hall's to change; DefaultBookingSettings gives the
// values the issue names. Durations are whole minutes or days.
type BookingSettings struct {
	// Enabled lets citizens book in the hall at all.
	Enabled bool `json:"enabled"`
	// SlotMinutes is the length of a slot, unless a service sets its own.
	SlotMinutes int `json:"slot_minutes"`
	// DaysAhead is how many days after today the last bookable day is.
	DaysAhead int `json:"days_ahead"`
	// LeadMinutes: booking a slot closes this long before it starts.
	LeadMinutes int `json:"lead_minutes"`
	// CancelMinutes: a citizen may cancel until this long before the slot.
	CancelMinutes int `json:"cancel_minutes"`
	// CheckInEarlyMinutes and CheckInLateMinutes frame check-in around the
	// slot's start; no check-in by the end of it is a no-show (a strike).
	CheckInEarlyMinutes int `json:"checkin_early_minutes"`
	CheckInLateMinutes  int `json:"checkin_late_minutes"`
	// MaxPerServiceDay is how many active bookings a person may hold for
	// one service on one day; MaxPerWeek how many bookings (not cancelled)
	// in one week, Monday to Sunday.
	MaxPerServiceDay int `json:"max_per_service_day"`
	MaxPerWeek       int `json:"max_per_week"`
	// StrikesToSuspend no-shows within StrikeWindowDays suspend booking for
	// SuspendDays.
	StrikesToSuspend int `json:"strikes_to_suspend"`
	StrikeWindowDays int `json:"strike_window_days"`
	SuspendDays      int `json:"suspend_days"`
	// MaxAppointmentRun is how many appointment tickets a counter calls in
	// a row while walk-ins wait for it; 0 puts no limit.
	MaxAppointmentRun int `json:"max_appointment_run"`
	// AppointmentSharePercent is the share of the counters' time a derived
	// slot capacity gives to appointments.
	AppointmentSharePercent int `json:"appointment_share_percent"`
	// ReleaseMinutes: a cancelled place comes back at a random time within
	// this many minutes, not at once, so that scalpers cannot catch it; 0
	// releases it at once.
	ReleaseMinutes int `json:"release_minutes"`
	// PhoneLimitPerHour and AddressLimitPerHour bound the booking requests
	// per mobile number and per client address in an hour (429 beyond);
	// 0 puts no limit.
	PhoneLimitPerHour   int `json:"phone_limit_per_hour"`
	AddressLimitPerHour int `json:"address_limit_per_hour"`
	// Services holds the services' own settings, by service id.
	Services map[string]ServiceBooking `json:"services"`
}

// ServiceBooking is one service's own booking settings.
type ServiceBooking struct {
	// Closed takes the service off the booking page.
	Closed bool `json:"closed,omitempty"`
	// SlotMinutes overrides the hall's slot length; 0 keeps it.
	SlotMinutes int `json:"slot_minutes,omitempty"`
	// Capacity is the number of bookings a slot takes; 0 derives it from
	// the counters and the mean handling time.
	Capacity int `json:"capacity,omitempty"`
	// HandlingSeconds is the handling time a derived capacity assumes
	// while the service has little history; 0 means
	// DefaultHandlingSeconds.
	HandlingSeconds int `json:"handling_seconds,omitempty"`
}

// DefaultBookingSettings are the rules of a hall that never set its own.
func DefaultBookingSettings() BookingSettings {
	return BookingSettings{
		Enabled: true, SlotMinutes: 30, DaysAhead: 7, LeadMinutes: 60, CancelMinutes: 120,
		CheckInEarlyMinutes: 30, CheckInLateMinutes: 15, MaxPerServiceDay: 1, MaxPerWeek: 3,
		StrikesToSuspend: 3, StrikeWindowDays: 180, SuspendDays: 90, MaxAppointmentRun: 2,
		AppointmentSharePercent: 50, ReleaseMinutes: 30, PhoneLimitPerHour: 10, AddressLimitPerHour: 100,
		Services: map[string]ServiceBooking{},
	}
}

// Validate checks the settings and names the first field out of range.
func (s *BookingSettings) Validate() error {
	for _, f := range []struct {
		name    string
		v, l, h int
	}{
		{"slot_minutes", s.SlotMinutes, 5, 240},
		{"days_ahead", s.DaysAhead, 0, 60},
		{"lead_minutes", s.LeadMinutes, 0, 7 * 24 * 60},
		{"cancel_minutes", s.CancelMinutes, 0, 7 * 24 * 60},
		{"checkin_early_minutes", s.CheckInEarlyMinutes, 0, 240},
		{"checkin_late_minutes", s.CheckInLateMinutes, 0, 240},
		{"max_per_service_day", s.MaxPerServiceDay, 1, 10},
		{"max_per_week", s.MaxPerWeek, 1, 50},
		{"strikes_to_suspend", s.StrikesToSuspend, 1, 20},
		{"strike_window_days", s.StrikeWindowDays, 1, 3 * 366},
		{"suspend_days", s.SuspendDays, 0, 3 * 366},
		{"max_appointment_run", s.MaxAppointmentRun, 0, 20},
		{"appointment_share_percent", s.AppointmentSharePercent, 1, 100},
		{"release_minutes", s.ReleaseMinutes, 0, 24 * 60},
		{"phone_limit_per_hour", s.PhoneLimitPerHour, 0, 10000},
		{"address_limit_per_hour", s.AddressLimitPerHour, 0, 100000},
	} {
		if f.v < f.l || f.v > f.h {
			return FieldErrorf(f.name, "%s must be %d..%d", f.name, f.l, f.h)
		}
	}
	if s.Services == nil {
		s.Services = map[string]ServiceBooking{}
	}
	for id, sb := range s.Services {
		if sb.SlotMinutes != 0 && (sb.SlotMinutes < 5 || sb.SlotMinutes > 240) {
			return FieldErrorf("services."+id+".slot_minutes", "slot_minutes must be 5..240, or 0 for the hall's")
		}
		if sb.Capacity < 0 || sb.Capacity > 1000 {
			return FieldErrorf("services."+id+".capacity", "capacity must be 0..1000 (0: derived from the counters)")
		}
		if sb.HandlingSeconds != 0 && (sb.HandlingSeconds < MinHandlingSeconds || sb.HandlingSeconds > 4*3600) {
			return FieldErrorf("services."+id+".handling_seconds", "handling_seconds must be %d..%d, or 0 for %d", MinHandlingSeconds, 4*3600, DefaultHandlingSeconds)
		}
	}
	return nil
}

// Service returns a service's own settings.
func (s *BookingSettings) Service(id string) ServiceBooking { return s.Services[id] }

// SlotLength is the length of the service's slots.
func (s *BookingSettings) SlotLength(serviceID string) time.Duration {
	m := s.SlotMinutes
	if sb := s.Service(serviceID); sb.SlotMinutes > 0 {
		m = sb.SlotMinutes
	}
	return time.Duration(m) * time.Minute
}

// Bookable reports whether the service takes bookings.
func (s *BookingSettings) Bookable(serviceID string) bool {
	return s.Enabled && !s.Service(serviceID).Closed
}

// minutes turns a number of minutes into a duration.
func minutes(n int) time.Duration { return time.Duration(n) * time.Minute }

// days turns a number of days into a duration of 24-hour days.
func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// Slot is one bookable period of a service.
type Slot struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Capacity  int       `json:"capacity"`
	Available int       `json:"available"`
	// Bookable tells whether the slot can be booked now (not too soon,
	// not too far ahead); Available is 0 when not.
	Bookable bool `json:"bookable"`
}

// BookingHours are the local opening and closing times that slots fill:
// the hall's opening hours, or 09:00 to 17:00 when it has none.
func BookingHours(h *Hall) (opens, closes string) {
	if h.OpensAt == "" || h.ClosesAt == "" {
		return DefaultSlotOpens, DefaultSlotCloses
	}
	return h.OpensAt, h.ClosesAt
}

// clockOn is the time hh:mm on the day of date in loc; "24:00" is the end
// of the day.
func clockOn(date time.Time, loc *time.Location, hhmm string) time.Time {
	var hh, mm int
	fmt.Sscanf(hhmm, "%d:%d", &hh, &mm)
	return time.Date(date.Year(), date.Month(), date.Day(), hh, mm, 0, 0, loc)
}

// DaySlots returns the slots of a day, date as Date and ParseDate give it,
// from opens to closes (local "HH:MM" in loc), each length long; the last
// slot ends by closing time. Hours that close before they open (across
// midnight) give slots until midnight. It knows nothing of working days.
func DaySlots(date time.Time, loc *time.Location, opens, closes string, length time.Duration) []Slot {
	if length <= 0 {
		return nil
	}
	from, to := clockOn(date, loc, opens), clockOn(date, loc, closes)
	if !to.After(from) {
		to = clockOn(date, loc, "24:00")
	}
	var out []Slot
	for s := from; !s.Add(length).After(to); s = s.Add(length) {
		out = append(out, Slot{Start: s, End: s.Add(length)})
	}
	return out
}

// DerivedCapacity is the number of bookings a slot of the given length
// takes when counters counters serve the service, one booking takes
// handlingSeconds (DefaultHandlingSeconds when unknown, never less than
// MinHandlingSeconds) and sharePercent of the counters' time goes to
// appointments. It is at least 1 when any counter serves the service, 0
// when none does, and never more than the counters can serve in the slot
// at MinHandlingSeconds a booking.
func DerivedCapacity(counters int, length time.Duration, handlingSeconds float64, sharePercent int) int {
	if counters <= 0 {
		return 0
	}
	if handlingSeconds <= 0 {
		handlingSeconds = DefaultHandlingSeconds
	}
	handlingSeconds = max(handlingSeconds, MinHandlingSeconds)
	ceiling := float64(counters) * length.Seconds() / MinHandlingSeconds
	n := min(float64(counters)*length.Seconds()/handlingSeconds*float64(min(sharePercent, 100))/100, ceiling)
	return max(int(math.Floor(n+1e-9)), 1)
}

// BookableAt says why a slot starting at start cannot be booked at now, or
// nil when it can: booking closes LeadMinutes before the start (too_late),
// and opens DaysAhead days before the slot's day (too_early).
func (s *BookingSettings) BookableAt(start, now time.Time, loc *time.Location) error {
	if now.After(start.Add(-minutes(s.LeadMinutes))) {
		return Errorf(ETooLate, "booking this slot has closed: slots are booked until %d minutes before they start", s.LeadMinutes)
	}
	last := Date(now, loc).AddDate(0, 0, s.DaysAhead)
	if Date(start, loc).After(last) {
		return Errorf(ETooEarly, "this slot cannot be booked yet: slots are booked at most %d days ahead", s.DaysAhead)
	}
	return nil
}

// ServiceDay is the answer of Slots: a day of one service.
type ServiceDay struct {
	Date string `json:"date"`
	// Working tells whether the day is a working day of the hall; a day off
	// has no slots.
	Working bool   `json:"working"`
	Slots   []Slot `json:"slots"`
}

// slotCapacity is the capacity of the service's slots in the hall.
func slotCapacity(tx Tx, hallID, serviceID string, s *BookingSettings) (int, error) {
	if c := s.Service(serviceID).Capacity; c > 0 {
		return c, nil
	}
	counters, err := tx.Counters(hallID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range counters {
		if c.Serves(serviceID) {
			n++
		}
	}
	mean, count, err := tx.MeanHandling(hallID, serviceID, 50, MinHandlingSeconds)
	if err != nil {
		return 0, err
	}
	handling := learnedHandling(mean*float64(count), count, float64(s.Service(serviceID).HandlingSeconds)) // policy.go
	return DerivedCapacity(n, s.SlotLength(serviceID), handling, s.AppointmentSharePercent), nil
}

// daySlots gives the slots of a service on a day with their capacity and
// what is left at now: none on a day off.
func (e *Engine) daySlots(tx Tx, hall *Hall, serviceID string, s *BookingSettings, date, now time.Time) (ServiceDay, error) {
	out := ServiceDay{Date: date.Format(time.DateOnly), Slots: []Slot{}}
	cal, err := e.calendar(tx, hall.ID)
	if err != nil {
		return out, err
	}
	if out.Working = cal.Working(date); !out.Working {
		return out, nil
	}
	loc := hall.Location()
	opens, closes := BookingHours(hall)
	slots := DaySlots(date, loc, opens, closes, s.SlotLength(serviceID))
	if len(slots) == 0 {
		return out, nil
	}
	capacity, err := slotCapacity(tx, hall.ID, serviceID, s)
	if err != nil {
		return out, err
	}
	taken, err := tx.SlotsTaken(hall.ID, serviceID, slots[0].Start, slots[len(slots)-1].End, now)
	if err != nil {
		return out, err
	}
	for _, sl := range slots {
		sl.Capacity = capacity
		sl.Bookable = s.BookableAt(sl.Start, now, loc) == nil
		if sl.Bookable {
			sl.Available = max(capacity-taken[sl.Start.UnixNano()], 0)
		}
		sl.Start, sl.End = sl.Start.In(loc), sl.End.In(loc)
		out.Slots = append(out.Slots, sl)
	}
	return out, nil
}

// bookingService reads a hall, one of its services and the hall's booking
// settings, and checks that the service takes bookings.
func bookingService(tx Tx, hallID, serviceID string) (*Hall, *Service, *BookingSettings, error) {
	hall, err := tx.Hall(hallID)
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err := tx.Service(hallID, serviceID)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return nil, nil, nil, &Error{Code: ENotFound, Field: "service_id", Message: "unknown service " + serviceID}
		}
		return nil, nil, nil, err
	}
	s, err := tx.BookingSettings(hallID)
	if err != nil {
		return nil, nil, nil, err
	}
	if !s.Bookable(serviceID) {
		return nil, nil, nil, &Error{Code: EConflict, Field: "service_id", Message: "this service takes no bookings in this hall"}
	}
	return hall, svc, s, nil
}

// Slots gives the slots of a service on a day (YYYY-MM-DD in the hall's
// time zone; "" for today) with the places left.
func (e *Engine) Slots(ctx context.Context, hallID, serviceID, date string) (*ServiceDay, error) {
	now := e.now()
	var out ServiceDay
	err := e.store.View(ctx, func(tx Tx) error {
		hall, _, s, err := bookingService(tx, hallID, serviceID)
		if err != nil {
			return err
		}
		d := Date(now, hall.Location())
		if date != "" {
			if d, err = ParseDate("date", date); err != nil {
				return err
			}
		}
		out, err = e.daySlots(tx, hall, serviceID, s, d, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// BookingSettings returns a hall's booking rules.
func (e *Engine) BookingSettings(ctx context.Context, hallID string) (*BookingSettings, error) {
	var out *BookingSettings
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		var err error
		out, err = tx.BookingSettings(hallID)
		return err
	})
	return out, err
}

// SetBookingSettings replaces a hall's booking rules.
func (e *Engine) SetBookingSettings(ctx context.Context, hallID string, s *BookingSettings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		for id := range s.Services {
			if _, err := tx.Service(hallID, id); err != nil {
				if ErrorCode(err) == ENotFound {
					return FieldErrorf("services", "unknown service %s", id)
				}
				return err
			}
		}
		if err := tx.PutBookingSettings(hallID, s); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventBookingSettings, At: e.now()})
	})
}
