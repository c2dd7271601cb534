package civiq_test

import (
	"bytes"
	"fmt"
	"github.com/civiq/civiq/storetest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// Appointments on the real store: the demo hall with bookings, its clock on
// Monday 2 March 2026 at 08:00 in Shanghai.

func newBookingEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.eng.Sealer = testSealer(t)
	e.set(time.Date(2026, 3, 2, 8, 0, 0, 0, shanghai))
	return e
}

// idOf is the n-th person's ID number (n < 1000), with its check
// character.
func idOf(n int) string {
	first := fmt.Sprintf("11010119900307%03d", n)
	return first + string(civiq.IDCheckChar(first))
}

// slot is the start of a slot on a day of March 2026, as clients send it.
func slot(day, hh, mm int) string {
	return time.Date(2026, 3, day, hh, mm, 0, 0, shanghai).Format(time.RFC3339)
}

func (e *env) book(service, start string, person int) (*civiq.Booking, error) {
	return e.eng.Book(e.ctx, civiq.BookRequest{HallID: "demo", ServiceID: service, SlotStart: start,
		Name: fmt.Sprintf("张%d", person), Phone: fmt.Sprintf("138%08d", person), IDNumber: idOf(person)})
}

func (e *env) mustBook(service, start string, person int) *civiq.Booking {
	e.tb.Helper()
	b, err := e.book(service, start, person)
	if err != nil {
		e.tb.Fatalf("book %s %s for %d: %v", service, start, person, err)
	}
	return b
}

func (e *env) settings(change func(s *civiq.BookingSettings)) {
	e.tb.Helper()
	s, err := e.eng.BookingSettings(e.ctx, "demo")
	if err != nil {
		e.tb.Fatal(err)
	}
	change(s)
	if err := e.eng.SetBookingSettings(e.ctx, "demo", s); err != nil {
		e.tb.Fatalf("SetBookingSettings: %v", err)
	}
}

func (e *env) checkIn(code, last4 string) (*civiq.Ticket, error) {
	t, _, err := e.eng.CheckIn(e.ctx, civiq.CheckInRequest{HallID: "demo", Code: code, IDLast4: last4}, nil)
	return t, err
}

func TestBook(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	b := e.mustBook("property", slot(3, 10, 0), 1)
	if civiq.NormalizeCode(b.Code) != b.Code || len(b.Code) != civiq.CodeLength {
		t.Errorf("code %q", b.Code)
	}
	if b.Status != civiq.BookingBooked || b.ServiceID != "property" || b.HallID != "demo" {
		t.Errorf("booking %+v", b)
	}
	if got := b.SlotStart.Format(time.RFC3339) + " " + b.SlotEnd.Format(time.RFC3339); got != "2026-03-03T10:00:00+08:00 2026-03-03T10:30:00+08:00" {
		t.Errorf("slot %s", got)
	}
	if b.Name != "张*" || b.Phone != "138****0001" || b.IDNumber != civiq.MaskIDNumber(idOf(1)) {
		t.Errorf("masked %q %q %q", b.Name, b.Phone, b.IDNumber)
	}
	// Codes are read as typed.
	got, _, _, err := e.eng.FindBooking(e.ctx, strings.ToLower(b.Code[:4]+"-"+b.Code[4:]), strings.ToLower(civiq.Last4(idOf(1))), civiq.Principal{})
	if err != nil || got.ID != b.ID {
		t.Fatalf("FindBooking = %v, %v", got, err)
	}
	_, _, _, err = e.eng.FindBooking(e.ctx, b.Code, "0000", civiq.Principal{})
	wantErr(t, err, civiq.ENotFound, "")
	_, _, _, err = e.eng.FindBooking(e.ctx, b.Code, "", civiq.Principal{})
	wantErr(t, err, civiq.ENotFound, "")
	staff := civiq.Principal{User: &civiq.User{Username: "s", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}}
	if _, _, _, err := e.eng.FindBooking(e.ctx, b.Code, "", staff); err != nil {
		t.Errorf("staff of the hall find a booking without the ID: %v", err)
	}

	// The event tells the staff which booking, and nobody anything personal.
	evs := e.expect(civiq.EventBookingCreated)
	for _, staffView := range []bool{false, true} {
		js := string(evs[0].JSON(staffView))
		if strings.Contains(js, b.ID) != staffView {
			t.Errorf("event (staff %v) %s: the booking id is for the staff only", staffView, js)
		}
		for _, secret := range []string{idOf(1), civiq.Last4(idOf(1)), "13800000001", "张", b.Code} {
			if strings.Contains(js, secret) {
				t.Errorf("event %s holds %q", js, secret)
			}
		}
	}

	// Kept sealed: the database files never hold the ID number, name or
	// phone in clear.
	files, _ := filepath.Glob(filepath.Join(t.TempDir(), "..", "*", "civiq.db*"))
	if len(files) == 0 && storetest.Kind() == "sqlite" {
		t.Fatal("no database files found")
	}
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		for _, secret := range []string{idOf(1), "13800000001", "张1"} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("%s holds %q in clear", filepath.Base(f), secret)
			}
		}
	}
}

func TestBookRefused(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	tests := []struct {
		name         string
		req          civiq.BookRequest
		code, field  string
		changeBefore func()
	}{
		{"check digit", civiq.BookRequest{IDNumber: "110105194912310021"}, civiq.EInvalidIDNumber, "id_number", nil},
		{"short ID", civiq.BookRequest{IDNumber: "11010519491231"}, civiq.EInvalidIDNumber, "id_number", nil},
		{"phone", civiq.BookRequest{Phone: "12345678901"}, civiq.EInvalid, "phone", nil},
		{"no name", civiq.BookRequest{Name: "  "}, civiq.EInvalid, "name", nil},
		{"long name", civiq.BookRequest{Name: strings.Repeat("名", 31)}, civiq.EInvalid, "name", nil},
		{"not a time", civiq.BookRequest{SlotStart: "tomorrow"}, civiq.EInvalid, "slot_start", nil},
		{"not a slot's start", civiq.BookRequest{SlotStart: slot(3, 10, 15)}, civiq.EInvalid, "slot_start", nil},
		{"before opening", civiq.BookRequest{SlotStart: slot(3, 8, 30)}, civiq.EInvalid, "slot_start", nil},
		{"a Sunday", civiq.BookRequest{SlotStart: slot(8, 10, 0)}, civiq.EInvalid, "slot_start", nil},
		{"within the hour", civiq.BookRequest{SlotStart: slot(2, 9, 0)}, civiq.ETooLate, "", nil},
		{"past", civiq.BookRequest{SlotStart: "2026-02-27T10:00:00+08:00"}, civiq.ETooLate, "", nil},
		{"more than 7 days ahead", civiq.BookRequest{SlotStart: slot(10, 9, 0)}, civiq.ETooEarly, "", nil},
		{"unknown service", civiq.BookRequest{ServiceID: "nope"}, civiq.ENotFound, "service_id", nil},
		{"bookings off", civiq.BookRequest{}, civiq.EConflict, "service_id", func() { e.settings(func(s *civiq.BookingSettings) { s.Enabled = false }) }},
	}
	for _, tt := range tests {
		if tt.changeBefore != nil {
			tt.changeBefore()
		}
		r := civiq.BookRequest{HallID: "demo", ServiceID: "general", SlotStart: slot(3, 10, 0), Name: "李四", Phone: "13912345678", IDNumber: idOf(9)}
		if tt.req.IDNumber != "" {
			r.IDNumber = tt.req.IDNumber
		}
		if tt.req.Phone != "" {
			r.Phone = tt.req.Phone
		}
		if tt.req.Name != "" {
			r.Name = tt.req.Name
		}
		if tt.req.SlotStart != "" {
			r.SlotStart = tt.req.SlotStart
		}
		if tt.req.ServiceID != "" {
			r.ServiceID = tt.req.ServiceID
		}
		_, err := e.eng.Book(e.ctx, r)
		t.Run(tt.name, func(t *testing.T) { wantErr(t, err, tt.code, tt.field) })
	}
	e.take()
	// Without a key there is no booking at all.
	e.eng.Sealer = nil
	_, err := e.book("general", slot(3, 10, 0), 1)
	wantErr(t, err, civiq.EUnavailable, "")
}

func TestBookingLimits(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	e.mustBook("property", slot(3, 10, 0), 1)
	// One active booking per service a day.
	_, err := e.book("property", slot(3, 14, 0), 1)
	wantErr(t, err, civiq.ELimitReached, "")
	// Another service the same day, another day: fine; three a week.
	e.mustBook("tax", slot(3, 14, 0), 1)
	e.mustBook("property", slot(4, 10, 0), 1)
	_, err = e.book("general", slot(6, 10, 0), 1)
	wantErr(t, err, civiq.ELimitReached, "")
	// The next week (Monday 9 March) is another week.
	e.mustBook("general", slot(9, 10, 0), 1)
	// Somebody else is not limited by the first.
	e.mustBook("property", slot(3, 14, 0), 2)
	// A cancelled booking frees the person's day and week.
	b := e.mustBook("social", slot(9, 11, 0), 3)
	if _, err := e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: b.Code, IDLast4: civiq.Last4(idOf(3))}); err != nil {
		t.Fatal(err)
	}
	e.mustBook("social", slot(9, 15, 0), 3)
	// The limits are the hall's.
	e.settings(func(s *civiq.BookingSettings) { s.MaxPerWeek = 5; s.MaxPerServiceDay = 2 })
	e.mustBook("general", slot(6, 10, 0), 1)
	e.mustBook("property", slot(3, 15, 0), 1)
}

func TestSlotFullConcurrent(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	e.settings(func(s *civiq.BookingSettings) {
		s.Services = map[string]civiq.ServiceBooking{"tax": {Capacity: 5}}
	})
	start := slot(3, 9, 30)
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.book("tax", start, i+1)
		}()
	}
	wg.Wait()
	ok, full := 0, 0
	for _, err := range errs {
		switch civiq.ErrorCode(err) {
		case "":
			ok++
		case civiq.ESlotFull:
			full++
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if ok != 5 || full != 95 {
		t.Errorf("%d booked, %d refused as full; want 5 and 95", ok, full)
	}
	day, _ := e.eng.Slots(e.ctx, "demo", "tax", "2026-03-03")
	for _, s := range day.Slots {
		if s.Start.Format(time.RFC3339) == start && s.Available != 0 {
			t.Errorf("the full slot shows %d available", s.Available)
		}
	}
}

func TestCancelBooking(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	e.settings(func(s *civiq.BookingSettings) {
		s.Services = map[string]civiq.ServiceBooking{"tax": {Capacity: 1}}
	})
	b := e.mustBook("tax", slot(3, 10, 0), 1)
	_, err := e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: b.Code, IDLast4: "9999"})
	wantErr(t, err, civiq.ENotFound, "")
	_, err = e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: "NOTACODE1"})
	wantErr(t, err, civiq.ENotFound, "")
	c, err := e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: b.Code, IDLast4: civiq.Last4(idOf(1))})
	if err != nil || c.Status != civiq.BookingCancelled || c.CancelledAt == nil {
		t.Fatalf("cancel = %+v, %v", c, err)
	}
	_, err = e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: b.Code, IDLast4: civiq.Last4(idOf(1))})
	wantErr(t, err, civiq.EConflict, "")
	// The place comes back at a random time within 30 minutes, not at once.
	if c.ReleasedAt == nil || !c.ReleasedAt.After(*c.CancelledAt) || c.ReleasedAt.After(c.CancelledAt.Add(30*time.Minute)) {
		t.Errorf("released at %v, cancelled at %v: want within the next 30 minutes", c.ReleasedAt, c.CancelledAt)
	}
	// The clock steps a second at each reading (and the engine's other
	// readers may take some): held at the cancel's time, a release however
	// soon after it is still to come.
	e.set(*c.CancelledAt)
	e.mu.Lock()
	step := e.step
	e.step = 0
	e.mu.Unlock()
	_, err = e.book("tax", slot(3, 10, 0), 2)
	wantErr(t, err, civiq.ESlotFull, "")
	e.mu.Lock()
	e.step = step
	e.mu.Unlock()
	e.advance(31 * time.Minute)
	b2 := e.mustBook("tax", slot(3, 10, 0), 2)

	// Until 2 hours before; later only staff cancel.
	e.set(time.Date(2026, 3, 3, 8, 1, 0, 0, shanghai))
	_, err = e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: b2.Code, IDLast4: civiq.Last4(idOf(2))})
	wantErr(t, err, civiq.ETooLate, "")
	other := civiq.Principal{User: &civiq.User{Username: "o", Role: civiq.RoleStaff, HallIDs: []string{"other"}}}
	_, err = e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: b2.Code, By: other})
	wantErr(t, err, civiq.ENotFound, "")
	staff := civiq.Principal{User: &civiq.User{Username: "s", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}}
	if _, err := e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: b2.Code, By: staff}); err != nil {
		t.Errorf("staff cancel late: %v", err)
	}
	// With no release delay the place is free at once.
	e.settings(func(s *civiq.BookingSettings) { s.ReleaseMinutes = 0 })
	b3 := e.mustBook("tax", slot(3, 15, 0), 3)
	if _, err := e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: b3.Code, IDLast4: civiq.Last4(idOf(3))}); err != nil {
		t.Fatal(err)
	}
	e.mustBook("tax", slot(3, 15, 0), 4)
	s, _ := e.eng.BookingSettings(e.ctx, "demo")
	if s.ReleaseMinutes != 0 {
		t.Errorf("ReleaseMinutes set to 0 reads back as %d", s.ReleaseMinutes)
	}
}

func TestCheckIn(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	b := e.mustBook("property", slot(3, 10, 0), 1)
	last4 := civiq.Last4(idOf(1))
	e.take()

	e.set(time.Date(2026, 3, 3, 9, 29, 0, 0, shanghai))
	_, err := e.checkIn(b.Code, last4)
	wantErr(t, err, civiq.ETooEarly, "")
	e.set(time.Date(2026, 3, 3, 9, 40, 0, 0, shanghai))
	_, err = e.checkIn(b.Code, "0000")
	wantErr(t, err, civiq.ENotFound, "")
	_, err = e.checkIn(b.Code, "")
	wantErr(t, err, civiq.EInvalid, "id_last4")
	_, _, err = e.eng.CheckIn(e.ctx, civiq.CheckInRequest{HallID: "other", Code: b.Code, IDLast4: last4}, nil)
	wantErr(t, err, civiq.ENotFound, "")
	// A card reader gives the whole number and the name: both must match.
	_, _, err = e.eng.CheckIn(e.ctx, civiq.CheckInRequest{HallID: "demo", Code: b.Code, IDNumber: idOf(2)}, nil)
	wantErr(t, err, civiq.ENotFound, "")
	_, _, err = e.eng.CheckIn(e.ctx, civiq.CheckInRequest{HallID: "demo", Code: b.Code, IDNumber: idOf(1), Name: "王五"}, nil)
	wantErr(t, err, civiq.EForbidden, "")
	tk, booking, err := e.eng.CheckIn(e.ctx, civiq.CheckInRequest{HallID: "demo", Code: b.Code, IDNumber: idOf(1), Name: "张1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Channel != civiq.ChannelAppointment || tk.Status != civiq.StatusWaiting || !strings.HasPrefix(tk.Number, "B") {
		t.Errorf("ticket %+v", tk)
	}
	if booking.Status != civiq.BookingCheckedIn || booking.TicketID != tk.ID || booking.TicketNumber != tk.Number {
		t.Errorf("booking %+v", booking)
	}
	evs := e.expect(civiq.EventIssued)
	if evs[0].Booking == nil || evs[0].Booking.ID != b.ID || !strings.Contains(string(evs[0].JSON(true)), b.ID) || strings.Contains(string(evs[0].JSON(false)), b.ID) {
		t.Errorf("the issue event does not tell the staff (only) the booking: %s", evs[0].JSON(true))
	}
	_, err = e.checkIn(b.Code, last4)
	wantErr(t, err, civiq.EConflict, "")

	// Late: 15 minutes after the start at most; later it is a no-show.
	b2 := e.mustBook("property", slot(4, 10, 0), 2)
	e.set(time.Date(2026, 3, 4, 10, 15, 0, 0, shanghai))
	if _, err := e.checkIn(b2.Code, civiq.Last4(idOf(2))); err != nil {
		t.Errorf("check-in at 15 minutes: %v", err)
	}
	b3 := e.mustBook("property", slot(4, 14, 0), 3)
	e.set(time.Date(2026, 3, 4, 14, 15, 1, 0, shanghai))
	_, err = e.checkIn(b3.Code, civiq.Last4(idOf(3)))
	wantErr(t, err, civiq.ETooLate, "")
	if n, err := e.eng.SweepNoShows(e.ctx, ""); err != nil || n != 1 {
		t.Errorf("SweepNoShows = %d, %v; want 1", n, err)
	}
	_, err = e.checkIn(b3.Code, civiq.Last4(idOf(3)))
	wantErr(t, err, civiq.ETooLate, "")

	// Idempotent: the same key gives the same ticket.
	b4 := e.mustBook("tax", slot(5, 10, 0), 4)
	e.set(time.Date(2026, 3, 5, 9, 50, 0, 0, shanghai))
	key := &civiq.Idem{Scope: "kiosk", Key: "k1", Hash: "h"}
	t1, _, err1 := e.eng.CheckIn(e.ctx, civiq.CheckInRequest{HallID: "demo", Code: b4.Code, IDLast4: civiq.Last4(idOf(4))}, key)
	t2, _, err2 := e.eng.CheckIn(e.ctx, civiq.CheckInRequest{HallID: "demo", Code: b4.Code, IDLast4: civiq.Last4(idOf(4))}, key)
	if err1 != nil || err2 != nil || t1.ID != t2.ID {
		t.Errorf("idempotent check-in: %v %v %v %v", t1, err1, t2, err2)
	}

	list, err := e.eng.HallBookings(e.ctx, "demo", "2026-03-04")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, bk := range list {
		states = append(states, bk.SlotStart.Format("15:04")+" "+bk.Status+" "+bk.TicketStatus)
	}
	if want := []string{"10:00 checked_in waiting", "14:00 no_show "}; !slices.Equal(states, want) {
		t.Errorf("bookings of the day %q; want %q", states, want)
	}
}

func TestNoShowStrikesSuspend(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	var codes []string
	for i, day := range []int{3, 4, 5} {
		b := e.mustBook("general", slot(day, 10, 0), 7)
		codes = append(codes, b.Code)
		e.set(time.Date(2026, 3, day, 10, 16, 0, 0, shanghai))
		strikes, err := e.eng.Strikes(e.ctx, "demo", false)
		if err != nil {
			t.Fatal(err)
		}
		if len(strikes) != i+1 {
			t.Fatalf("after %d no-shows: %d strikes", i+1, len(strikes))
		}
		st := strikes[0] // newest first
		if st.BookingCode != b.Code || st.Name != "张*" || st.Phone != "138****0007" || !st.CreatedAt.Equal(time.Date(2026, 3, day, 10, 15, 0, 0, shanghai)) {
			t.Errorf("strike %+v", st)
		}
		switch i {
		case 0:
			if !strings.Contains(st.Warning, "爽约1次") || !strings.Contains(st.Warning, "示范政务服务大厅") {
				t.Errorf("first strike's warning %q", st.Warning)
			}
		case 1:
			if st.Warning != "" {
				t.Errorf("second strike warns %q", st.Warning)
			}
		case 2:
			if !strings.Contains(st.Warning, "暂停") || st.SuspendedUntil == nil || !st.SuspendedUntil.Equal(time.Date(2026, 6, 3, 10, 15, 0, 0, shanghai)) {
				t.Errorf("third strike: warning %q, suspended until %v", st.Warning, st.SuspendedUntil)
			}
		}
	}
	e.expect(civiq.EventBookingCreated, civiq.EventBookingNoShow, civiq.EventBookingCreated, civiq.EventBookingNoShow, civiq.EventBookingCreated, civiq.EventBookingNoShow)
	_, err := e.book("general", slot(9, 10, 0), 7)
	wantErr(t, err, civiq.ESuspended, "")
	// Somebody else books as before.
	e.mustBook("general", slot(9, 10, 0), 8)

	strikes, _ := e.eng.Strikes(e.ctx, "demo", false)
	_, err = e.eng.ClearStrike(e.ctx, "demo", strikes[1].ID, " ", "boss")
	wantErr(t, err, civiq.EInvalid, "reason")
	_, err = e.eng.ClearStrike(e.ctx, "demo", 9999, "x", "boss")
	wantErr(t, err, civiq.ENotFound, "")
	cl, err := e.eng.ClearStrike(e.ctx, "demo", strikes[1].ID, "医院证明", "boss")
	if err != nil || cl.ClearedAt == nil || cl.ClearReason != "医院证明" || cl.ClearedBy != "boss" {
		t.Fatalf("ClearStrike = %+v, %v", cl, err)
	}
	_, err = e.eng.ClearStrike(e.ctx, "demo", strikes[1].ID, "again", "boss")
	wantErr(t, err, civiq.EConflict, "")
	e.mustBook("general", slot(9, 11, 0), 7)
	active, _ := e.eng.Strikes(e.ctx, "demo", false)
	all, _ := e.eng.Strikes(e.ctx, "demo", true)
	if len(active) != 2 || len(all) != 3 {
		t.Errorf("%d active, %d in all; want 2 and 3", len(active), len(all))
	}
	for _, ev := range e.take() {
		for _, staff := range []bool{false, true} {
			if js := string(ev.JSON(staff)); strings.Contains(js, "138") || strings.Contains(js, "张") || strings.Contains(js, "医院") {
				t.Errorf("event with personal data: %s", js)
			}
		}
	}
}

// TestPickNextWith: due appointments before walk-ins, never more than the
// hall's run of them in a row while a walk-in waits, early arrivals wait.
func TestPickNextWith(t *testing.T) {
	at := func(min int) time.Time {
		return time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai).Add(time.Duration(min) * time.Minute)
	}
	walkIn := func(id string, min int) civiq.Ticket {
		return civiq.Ticket{ID: id, ServiceID: "a", Channel: civiq.ChannelKiosk, Priority: civiq.PriorityNormal, Status: civiq.StatusWaiting, IssuedAt: at(min), QueuedAt: at(min)}
	}
	appt := func(id string, due, arrived int) civiq.Ticket {
		t := walkIn(id, arrived)
		t.Channel, t.QueuedAt = civiq.ChannelAppointment, at(due)
		return t
	}
	green := func(t civiq.Ticket) civiq.Ticket { t.Priority = civiq.PriorityPriority; return t }
	counter := &civiq.Counter{ID: "1", ServiceIDs: []string{"a", "b"}}
	tests := []struct {
		name  string
		cands []civiq.Ticket
		state civiq.CallState
		want  string
	}{
		{"a due appointment first", []civiq.Ticket{walkIn("w", -20), appt("p", 0, -10)}, civiq.CallState{Now: at(0), MaxAppointmentRun: 2}, "p"},
		{"early arrival waits", []civiq.Ticket{walkIn("w", -20), appt("p", 30, -10)}, civiq.CallState{Now: at(0), MaxAppointmentRun: 2}, "w"},
		{"only an early arrival: nobody", []civiq.Ticket{appt("p", 30, -10)}, civiq.CallState{Now: at(0)}, ""},
		{"late arrival within the window keeps its slot", []civiq.Ticket{walkIn("w", -20), appt("p", -10, 5)}, civiq.CallState{Now: at(5)}, "p"},
		{"after two in a row a walk-in", []civiq.Ticket{walkIn("w", -20), appt("p", 0, -10)}, civiq.CallState{Now: at(0), AppointmentRun: 2, MaxAppointmentRun: 2}, "w"},
		{"one in a row: still the appointment", []civiq.Ticket{walkIn("w", -20), appt("p", 0, -10)}, civiq.CallState{Now: at(0), AppointmentRun: 1, MaxAppointmentRun: 2}, "p"},
		{"no walk-in waits: appointments go on", []civiq.Ticket{appt("p", 0, -10)}, civiq.CallState{Now: at(0), AppointmentRun: 5, MaxAppointmentRun: 2}, "p"},
		{"no limit", []civiq.Ticket{walkIn("w", -20), appt("p", 0, -10)}, civiq.CallState{Now: at(0), AppointmentRun: 9}, "p"},
		{"green channel before appointments", []civiq.Ticket{appt("p", 0, -10), green(walkIn("g", -1))}, civiq.CallState{Now: at(0)}, "g"},
		{"earlier slot first", []civiq.Ticket{appt("p2", 0, -25), appt("p1", -30, -5)}, civiq.CallState{Now: at(0)}, "p1"},
		{"another counter's service", []civiq.Ticket{func() civiq.Ticket { t := appt("p", 0, 0); t.ServiceID = "c"; return t }(), walkIn("w", 0)}, civiq.CallState{Now: at(0)}, "w"},
		{"no clock: every appointment due", []civiq.Ticket{walkIn("w", -20), appt("p", 30, -10)}, civiq.CallState{}, "p"},
	}
	for _, tt := range tests {
		for _, policy := range []string{civiq.PolicyFIFO, civiq.PolicyServiceOrder} {
			// Any order of the candidates gives the same pick.
			for _, cands := range [][]civiq.Ticket{tt.cands, reversed(tt.cands)} {
				i := civiq.PickNextWith(policy, counter, cands, tt.state)
				got := ""
				if i >= 0 {
					got = cands[i].ID
				}
				if got != tt.want {
					t.Errorf("%s (%s): picked %q; want %q", tt.name, policy, got, tt.want)
				}
			}
		}
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func reversed(ts []civiq.Ticket) []civiq.Ticket {
	out := slices.Clone(ts)
	slices.Reverse(out)
	return out
}

// TestCallingWithAppointments: walk-ins and checked-in appointments mixed
// at the tax counter (5): early arrivals wait for their slot, then at most
// two appointments in a row while walk-ins wait.
func TestCallingWithAppointments(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	var codes []string
	for p := 1; p <= 5; p++ {
		codes = append(codes, e.mustBook("tax", slot(3, 10, 0), p).Code)
	}
	// Counter 6 serves every service: close it, so that counter 5 alone
	// calls tax.
	if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "6", civiq.CounterClosed, "", nil); err != nil {
		t.Fatal(err)
	}
	e.set(time.Date(2026, 3, 3, 9, 35, 0, 0, shanghai))
	w := []*civiq.Ticket{e.issue("tax", ""), e.issue("tax", "")}
	e.advance(time.Minute)
	appts := map[string]int{}
	for i, code := range codes {
		tk, err := e.checkIn(code, civiq.Last4(idOf(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		appts[tk.Number] = i + 1
		// Its place: after the appointments of earlier check-ins only; its
		// wait: not before 10:00.
		if tk.Position == nil || *tk.Position != i || tk.ETASeconds == nil || *tk.ETASeconds < 23*60 {
			t.Errorf("appointment %d: position %v, eta %v; want %d and at least 23 minutes", i+1, deref(tk.Position), deref(tk.ETASeconds), i)
		}
	}
	w = append(w, e.issue("tax", ""))
	// 09:45: the appointments are not due yet.
	e.set(time.Date(2026, 3, 3, 9, 45, 0, 0, shanghai))
	if got := e.call("5"); got.Number != w[0].Number {
		t.Errorf("before the slot called %s; want the walk-in %s", got.Number, w[0].Number)
	}
	e.set(time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai))
	var got []string
	for _, n := range e.callAll("5") {
		if p, ok := appts[n]; ok {
			got = append(got, fmt.Sprintf("A%d", p))
		} else {
			got = append(got, n)
		}
	}
	want := []string{"A1", "A2", w[1].Number, "A3", "A4", w[2].Number, "A5"}
	if !slices.Equal(got, want) {
		t.Errorf("calling order %q; want %q", got, want)
	}
}

// A booking code takes 5 wrong tries at its last 4 characters in 15
// minutes, at check-in, look-up or cancel alike; then it is refused, even
// with the right ones, until the tries are 15 minutes old. Staff are not
// held up.
func TestBookingCodeWrongTries(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	b := e.mustBook("property", slot(3, 10, 0), 1)
	last4 := civiq.Last4(idOf(1))
	e.set(time.Date(2026, 3, 3, 9, 40, 0, 0, shanghai))
	e.step = 0
	for i, wrong := range []string{"0000", "1111", "2222", "3333", "4444"} {
		var err error
		switch i % 3 {
		case 0:
			_, err = e.checkIn(b.Code, wrong)
		case 1:
			_, _, _, err = e.eng.FindBooking(e.ctx, b.Code, wrong, civiq.Principal{})
		case 2:
			_, err = e.eng.CancelBooking(e.ctx, civiq.CancelRequest{Code: b.Code, IDLast4: wrong})
		}
		wantErr(t, err, civiq.ENotFound, "")
	}
	_, err := e.checkIn(b.Code, last4)
	wantErr(t, err, civiq.ERateLimited, "")
	_, _, _, err = e.eng.FindBooking(e.ctx, b.Code, last4, civiq.Principal{})
	wantErr(t, err, civiq.ERateLimited, "")
	staff := civiq.Principal{User: &civiq.User{ID: 99, Username: "clerk", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}}
	if _, _, _, err := e.eng.FindBooking(e.ctx, b.Code, "", staff); err != nil {
		t.Fatalf("staff look-up of a blocked code: %v", err)
	}
	e.advance(15 * time.Minute)
	if _, _, _, err := e.eng.FindBooking(e.ctx, b.Code, last4, civiq.Principal{}); err != nil {
		t.Fatalf("15 minutes later: %v", err)
	}
}

// The clerk at the counter sees who booked the ticket being served, masked,
// and for a green-channel ticket the document to check; a kiosk ticket
// names nobody.
func TestCounterTodayContext(t *testing.T) {
	t.Parallel()
	e := newBookingEnv(t)
	b := e.mustBook("property", slot(3, 10, 0), 1)
	e.set(time.Date(2026, 3, 3, 9, 40, 0, 0, shanghai))
	tk, err := e.checkIn(b.Code, civiq.Last4(idOf(1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.CallTicket(e.ctx, "demo", "3", tk.ID, "预约", nil); err != nil {
		t.Fatal(err)
	}
	d, err := e.eng.CounterToday(e.ctx, "demo", "3")
	if err != nil {
		t.Fatal(err)
	}
	if d.Context == nil || d.Context.BookingName != "张*" || d.Context.CheckDocument != nil || len(d.Context.Cases) != 0 {
		t.Errorf("appointment's context: %+v", d.Context)
	}

	g, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "tax", Channel: civiq.ChannelKiosk, PriorityGroup: "disabled"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.CallTicket(e.ctx, "demo", "5", g.ID, "绿色通道", nil); err != nil {
		t.Fatal(err)
	}
	d, err = e.eng.CounterToday(e.ctx, "demo", "5")
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Context; c == nil || c.BookingName != "" || c.CheckDocument == nil || c.CheckDocument.Zh != "残疾人证" || c.CheckDocument.En == "" {
		t.Errorf("green channel's context: %+v", c)
	}
	if d, err = e.eng.CounterToday(e.ctx, "demo", "1"); err != nil || d.Context != nil {
		t.Errorf("a counter without a ticket has a context: %+v, %v", d, err)
	}
}

// Each default green-channel group has a document to check, in both
// languages.
func TestGroupDocuments(t *testing.T) {
	for _, g := range civiq.DefaultPriorityGroups {
		if d, ok := civiq.DocumentFor(g); !ok || d.Zh == "" || d.En == "" {
			t.Errorf("group %s: document %+v, %v", g, d, ok)
		}
	}
	if _, ok := civiq.DocumentFor("hall_own"); ok {
		t.Error("a hall's own group has a document")
	}
}
