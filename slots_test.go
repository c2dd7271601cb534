package civiq_test

import (
	"slices"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

func slotTimes(slots []civiq.Slot) []string {
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = s.Start.Format("15:04") + "-" + s.End.Format("15:04")
	}
	return out
}

func TestDaySlots(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		opens, closes string
		length        time.Duration
		want          []string
	}{
		{"default hours", "09:00", "17:00", 2 * time.Hour, []string{"09:00-11:00", "11:00-13:00", "13:00-15:00", "15:00-17:00"}},
		{"the last slot ends by closing", "08:30", "12:10", 40 * time.Minute, []string{"08:30-09:10", "09:10-09:50", "09:50-10:30", "10:30-11:10", "11:10-11:50"}},
		{"shorter than a slot", "09:00", "09:20", 30 * time.Minute, nil},
		{"across midnight: until midnight", "22:00", "02:00", time.Hour, []string{"22:00-23:00", "23:00-00:00"}},
	}
	for _, tt := range tests {
		got := civiq.DaySlots(day, shanghai, tt.opens, tt.closes, tt.length)
		if !slices.Equal(slotTimes(got), tt.want) {
			t.Errorf("%s: DaySlots = %q; want %q", tt.name, slotTimes(got), tt.want)
		}
		for _, s := range got {
			if s.Start.Location() != shanghai || s.Start.Day() != 2 {
				t.Errorf("%s: slot %v not on the day in the hall's zone", tt.name, s.Start)
			}
		}
	}
	if n := len(civiq.DaySlots(day, shanghai, "09:00", "17:00", 30*time.Minute)); n != 16 {
		t.Errorf("09:00-17:00 in 30 minutes: %d slots; want 16", n)
	}
	h := &civiq.Hall{}
	if o, c := civiq.BookingHours(h); o != "09:00" || c != "17:00" {
		t.Errorf("a hall without hours books %s-%s; want 09:00-17:00", o, c)
	}
	h.OpensAt, h.ClosesAt = "08:30", "18:00"
	if o, c := civiq.BookingHours(h); o != "08:30" || c != "18:00" {
		t.Errorf("BookingHours = %s-%s; want the hall's", o, c)
	}
}

func TestDerivedCapacity(t *testing.T) {
	tests := []struct {
		counters int
		length   time.Duration
		handling float64
		share    int
		want     int
	}{
		{5, 30 * time.Minute, 300, 50, 15}, // 5 counters x 6 an hour-half, half of it
		{1, 30 * time.Minute, 600, 50, 1},  // 1.5 -> 1
		{1, 30 * time.Minute, 3600, 50, 1}, // at least one
		{0, 30 * time.Minute, 300, 50, 0},  // nobody serves it
		{2, 40 * time.Minute, 0, 100, 16},  // no history: 300 s
		{3, 30 * time.Minute, 400, 100, 13},
		// A handling time learned near zero is held at the floor (30 s):
		// 1 counter serves at most 60 in 30 minutes, 2 counters half
		// their time 60, however small the time.
		{1, 30 * time.Minute, 0.0013, 100, 60},
		{2, 30 * time.Minute, 0.0013, 50, 60},
		{1, 30 * time.Minute, 1e-12, 100, 60},
		{1, 30 * time.Minute, 29, 100, 60},
		{1, 30 * time.Minute, 30, 100, 60},
		{1, 30 * time.Minute, 31, 100, 58},
		{1, 30 * time.Minute, -5, 100, 6},  // unknown: 300 s
		{4, 30 * time.Minute, 1, 250, 240}, // never above the counters' ceiling
	}
	for _, tt := range tests {
		if got := civiq.DerivedCapacity(tt.counters, tt.length, tt.handling, tt.share); got != tt.want {
			t.Errorf("DerivedCapacity(%d, %v, %v, %d) = %d; want %d", tt.counters, tt.length, tt.handling, tt.share, got, tt.want)
		}
	}
}

// TestSlotCapacityLearned: the derived capacity learns the service's
// handling time from tickets served at least 30 s; with none it assumes the
// service's configured handling time, else 300 s.
func TestSlotCapacityLearned(t *testing.T) {
	e := newEnv(t)
	e.eng.Sealer = testSealer(t)
	capacity := func() int {
		t.Helper()
		for d := 1; d <= 5; d++ { // the next working day
			day, err := e.eng.Slots(e.ctx, "demo", "property", e.day(d).Format(time.DateOnly))
			if err != nil {
				t.Fatal(err)
			}
			if len(day.Slots) > 0 {
				return day.Slots[0].Capacity
			}
		}
		t.Fatal("no working day in the next 5 days")
		return 0
	}
	// serve serves n tickets of property at counter 3, each d long.
	serve := func(n int, d time.Duration) {
		for range n {
			tk := e.served("property", "3")
			e.act(tk.ID, civiq.ActStart, "")
			e.advance(d)
			e.act(tk.ID, civiq.ActFinish, "")
		}
	}
	// Counters 3, 4 and 6 serve property, half their time: 3 x 1800 / h / 2.
	tests := []struct {
		name     string
		serve    int
		took     time.Duration
		handling int // the service's configured handling_seconds
		want     int
	}{
		{"no history: 300 s", 0, 0, 0, 9},
		{"no history: the configured 600 s", 0, 0, 600, 4},
		{"60 tickets done in a second: not learned from", 60, 0, 0, 9},
		{"and still the configured time", 0, 0, 600, 4},
		{"50 of 900 s: learned", 50, 900 * time.Second, 0, 3},
	}
	for _, tt := range tests {
		set := civiq.DefaultBookingSettings()
		set.Services = map[string]civiq.ServiceBooking{"property": {HandlingSeconds: tt.handling}}
		if err := e.eng.SetBookingSettings(e.ctx, "demo", &set); err != nil {
			t.Fatal(err)
		}
		serve(tt.serve, tt.took)
		if got := capacity(); got != tt.want {
			t.Errorf("%s: capacity %d; want %d", tt.name, got, tt.want)
		}
	}
}

func TestBookableAt(t *testing.T) {
	s := civiq.DefaultBookingSettings()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai) // Monday 10:00
	tests := []struct {
		start time.Time
		want  string // error code, "" when bookable
	}{
		{now.Add(61 * time.Minute), ""},
		{now.Add(60 * time.Minute), ""},
		{now.Add(59 * time.Minute), civiq.ETooLate},
		{now.Add(-time.Hour), civiq.ETooLate},
		{time.Date(2026, 3, 9, 16, 30, 0, 0, shanghai), ""}, // the 7th day after today, its last slot
		{time.Date(2026, 3, 10, 9, 0, 0, 0, shanghai), civiq.ETooEarly},
		// 7 days by the hall's calendar day, not by UTC's.
		{time.Date(2026, 3, 9, 23, 30, 0, 0, shanghai), ""},
	}
	for _, tt := range tests {
		if got := civiq.ErrorCode(s.BookableAt(tt.start, now, shanghai)); got != tt.want {
			t.Errorf("BookableAt(%v) = %q; want %q", tt.start, got, tt.want)
		}
	}
}

func TestBookingSettingsValidate(t *testing.T) {
	s := civiq.DefaultBookingSettings()
	if err := s.Validate(); err != nil {
		t.Fatalf("the defaults are invalid: %v", err)
	}
	for _, tt := range []struct {
		change func(*civiq.BookingSettings)
		field  string
	}{
		{func(s *civiq.BookingSettings) { s.SlotMinutes = 0 }, "slot_minutes"},
		{func(s *civiq.BookingSettings) { s.MaxPerWeek = 0 }, "max_per_week"},
		{func(s *civiq.BookingSettings) { s.StrikesToSuspend = 0 }, "strikes_to_suspend"},
		{func(s *civiq.BookingSettings) { s.AppointmentSharePercent = 101 }, "appointment_share_percent"},
		{func(s *civiq.BookingSettings) { s.PhoneLimitPerHour = -1 }, "phone_limit_per_hour"},
		{func(s *civiq.BookingSettings) {
			s.Services = map[string]civiq.ServiceBooking{"tax": {Capacity: -1}}
		}, "services.tax.capacity"},
		{func(s *civiq.BookingSettings) {
			s.Services = map[string]civiq.ServiceBooking{"tax": {HandlingSeconds: 29}}
		}, "services.tax.handling_seconds"},
	} {
		s := civiq.DefaultBookingSettings()
		tt.change(&s)
		wantErr(t, s.Validate(), civiq.EInvalid, tt.field)
	}
}

// TestSlotsAcrossHolidays reads the slots of the demo hall through the
// Spring Festival of 2026: 14 February, a Saturday, is worked (调休); 15 to
// 23 February are off; a hall's own day off counts too.
func TestSlotsAcrossHolidays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.eng.Sealer = testSealer(t)
	if err := e.eng.SetHallCalendarDay(e.ctx, "demo", civiq.CalendarDay{Date: "2026-02-12", Kind: civiq.DayOff, Name: "local"}); err != nil {
		t.Fatal(err)
	}
	e.set(time.Date(2026, 2, 10, 10, 0, 0, 0, shanghai)) // Tuesday, after the day off was set (each write reads the clock)
	tests := []struct {
		date     string
		working  bool
		bookable int // how many of the 16 slots can be booked now
	}{
		{"2026-02-10", true, 12}, // today, 10:00: from 11:00, an hour ahead
		{"2026-02-11", true, 16},
		{"2026-02-12", false, 0}, // the hall's own day off
		{"2026-02-13", true, 16},
		{"2026-02-14", true, 16}, // Saturday worked
		{"2026-02-15", false, 0}, // Sunday, Spring Festival
		{"2026-02-16", false, 0}, // Monday, Spring Festival
		{"2026-02-17", false, 0}, // the 7th day ahead, off
		{"2026-02-24", true, 0},  // working but too far ahead
		{"2026-02-28", true, 0},  // Saturday worked, too far ahead
		{"2026-03-01", false, 0}, // Sunday
	}
	for _, tt := range tests {
		day, err := e.eng.Slots(e.ctx, "demo", "property", tt.date)
		if err != nil {
			t.Fatalf("Slots %s: %v", tt.date, err)
		}
		if day.Working != tt.working {
			t.Errorf("%s: working = %v; want %v", tt.date, day.Working, tt.working)
		}
		n := 0
		for _, s := range day.Slots {
			if s.Bookable {
				n++
				if s.Available != s.Capacity || s.Capacity < 1 {
					t.Errorf("%s %s: available %d of %d", tt.date, s.Start.Format("15:04"), s.Available, s.Capacity)
				}
			} else if s.Available != 0 {
				t.Errorf("%s %s: not bookable but %d available", tt.date, s.Start.Format("15:04"), s.Available)
			}
		}
		if n != tt.bookable {
			t.Errorf("%s: %d bookable slots; want %d", tt.date, n, tt.bookable)
		}
		if tt.working && len(day.Slots) != 16 {
			t.Errorf("%s: %d slots; want 16 (09:00-17:00 by 30 minutes)", tt.date, len(day.Slots))
		}
		if !tt.working && len(day.Slots) != 0 {
			t.Errorf("%s: a day off has %d slots", tt.date, len(day.Slots))
		}
	}
	// The demo's property service: counters 3, 4 and 6 serve it, 300 s a
	// ticket, half their time: 3 x 6 / 2 = 9 a slot.
	day, _ := e.eng.Slots(e.ctx, "demo", "property", "2026-02-11")
	if c := day.Slots[0].Capacity; c != 9 {
		t.Errorf("derived capacity %d; want 9", c)
	}
	if s := day.Slots[0].Start.Format(time.RFC3339); s != "2026-02-11T09:00:00+08:00" {
		t.Errorf("first slot starts %s", s)
	}
	// Opening hours of the hall shape the day; a service's own slot length
	// and capacity win over the hall's.
	e.saveHall(func(h *civiq.Hall) { h.OpensAt, h.ClosesAt = "08:30", "12:00" })
	set := civiq.DefaultBookingSettings()
	set.Services = map[string]civiq.ServiceBooking{"property": {SlotMinutes: 60, Capacity: 4}}
	if err := e.eng.SetBookingSettings(e.ctx, "demo", &set); err != nil {
		t.Fatal(err)
	}
	day, _ = e.eng.Slots(e.ctx, "demo", "property", "2026-02-11")
	if got := slotTimes(day.Slots); !slices.Equal(got, []string{"08:30-09:30", "09:30-10:30", "10:30-11:30"}) || day.Slots[0].Capacity != 4 {
		t.Errorf("slots %q capacity %d; want three hours from 08:30, capacity 4", got, day.Slots[0].Capacity)
	}
	// A closed service takes no bookings; an unknown one is unknown.
	set.Services["tax"] = civiq.ServiceBooking{Closed: true}
	if err := e.eng.SetBookingSettings(e.ctx, "demo", &set); err != nil {
		t.Fatal(err)
	}
	_, err := e.eng.Slots(e.ctx, "demo", "tax", "2026-02-11")
	wantErr(t, err, civiq.EConflict, "service_id")
	_, err = e.eng.Slots(e.ctx, "demo", "nope", "2026-02-11")
	wantErr(t, err, civiq.ENotFound, "service_id")
	_, err = e.eng.Slots(e.ctx, "demo", "general", "2026-2-11")
	wantErr(t, err, civiq.EInvalid, "date")
	set.Services["nope"] = civiq.ServiceBooking{}
	wantErr(t, e.eng.SetBookingSettings(e.ctx, "demo", &set), civiq.EInvalid, "services")
}
