package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
)

// Appointments through the API. The server's clock is put on Monday 3 March
// 2031, 08:00 in Shanghai (a year the built-in calendar does not know:
// weekends only), so the tests do not depend on the day they run.

var bookingMonday = time.Date(2031, 3, 3, 8, 0, 0, 0, shanghaiLoc)

// newBookingServer is the test server with a secret key and the clock on
// bookingMonday, the admin signed in again.
func newBookingServer(t testing.TB) *testServer {
	t.Helper()
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{0x5a}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(s *api.Server) { s.Engine.Sealer = sealer })
	ts.Clock.Advance(time.Until(bookingMonday))
	ts.Admin = ts.login(t, "admin", adminPassword)
	return ts
}

// personID is the n-th test person's ID number.
func personID(n int) string {
	first := fmt.Sprintf("11010119900307%03d", n)
	return first + string(civiq.IDCheckChar(first))
}

func personLast4(n int) string { return civiq.Last4(personID(n)) }

// slotOn is a slot start in March 2031, as the API writes it.
func slotOn(day, hh, mm int) string {
	return time.Date(2031, 3, day, hh, mm, 0, 0, shanghaiLoc).Format(time.RFC3339)
}

type booking struct {
	ID           string    `json:"id"`
	Code         string    `json:"code"`
	HallID       string    `json:"hall_id"`
	ServiceID    string    `json:"service_id"`
	SlotStart    time.Time `json:"slot_start"`
	SlotEnd      time.Time `json:"slot_end"`
	Status       string    `json:"status"`
	Name         string    `json:"name"`
	Phone        string    `json:"phone"`
	IDNumber     string    `json:"id_number"`
	TicketID     string    `json:"ticket_id"`
	TicketNumber string    `json:"ticket_number"`
	TicketStatus string    `json:"ticket_status"`
}

type bookingAnswer struct {
	Booking *booking `json:"booking"`
	QRURL   string   `json:"qr_url"`
	ICSURL  string   `json:"ics_url"`
}

func bookBody(service, start string, person int) map[string]string {
	return map[string]string{"service_id": service, "slot_start": start, "name": fmt.Sprintf("王%d", person),
		"phone": fmt.Sprintf("139%08d", person), "id_number": personID(person)}
}

func (ts *testServer) book(t testing.TB, service, start string, person int) bookingAnswer {
	t.Helper()
	var out bookingAnswer
	ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", bookBody(service, start, person)).want(t, 201).json(t, &out)
	if out.Booking == nil || out.Booking.Code == "" {
		t.Fatalf("no booking in the answer")
	}
	return out
}

func (ts *testServer) bookingSettings(t testing.TB, body map[string]any) {
	t.Helper()
	ts.do(t, "PUT", "/api/v1/halls/demo/booking-settings", ts.Admin, body).want(t, 200)
}

func TestBookingFlow(t *testing.T) {
	t.Parallel()
	ts := newBookingServer(t)

	// Slots of Tuesday.
	var day struct {
		Date    string `json:"date"`
		Working bool   `json:"working"`
		Slots   []struct {
			Start     string `json:"start"`
			End       string `json:"end"`
			Capacity  int    `json:"capacity"`
			Available int    `json:"available"`
			Bookable  bool   `json:"bookable"`
		} `json:"slots"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/services/property/slots?date=2031-03-04", "", nil).want(t, 200).json(t, &day)
	if !day.Working || len(day.Slots) != 16 || day.Slots[2].Start != slotOn(4, 10, 0) || day.Slots[2].End != slotOn(4, 10, 30) ||
		day.Slots[2].Capacity < 1 || day.Slots[2].Available != day.Slots[2].Capacity || !day.Slots[2].Bookable {
		t.Fatalf("slots %+v", day)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/services/property/slots?date=2031-03-08", "", nil).want(t, 200).json(t, &day)
	if day.Working || len(day.Slots) != 0 {
		t.Errorf("a Saturday has slots: %+v", day)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/services/property/slots?date=March", "", nil).wantErr(t, 400, "invalid", "date")
	ts.do(t, "GET", "/api/v1/halls/demo/services/nope/slots", "", nil).wantErr(t, 404, "not_found", "service_id")
	ts.do(t, "GET", "/api/v1/halls/nope/services/property/slots", "", nil).wantErr(t, 404, "not_found", "")

	// Book, as anyone.
	ans := ts.book(t, "property", slotOn(4, 10, 0), 1)
	b := ans.Booking
	if b.ID == "" || b.ServiceID != "property" || b.Status != "booked" || b.SlotStart.Format(time.RFC3339) != slotOn(4, 10, 0) {
		t.Errorf("booking %+v", b)
	}
	if b.Name != "王*" || b.Phone != "139****0001" || b.IDNumber != civiq.MaskIDNumber(personID(1)) {
		t.Errorf("the answer must mask the person: %+v", b)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/services/property/slots?date=2031-03-04", "", nil).want(t, 200).json(t, &day)
	if day.Slots[2].Available != day.Slots[2].Capacity-1 {
		t.Errorf("after one booking %d of %d available", day.Slots[2].Available, day.Slots[2].Capacity)
	}

	// The QR code and the calendar file.
	qr := ts.do(t, "GET", ans.QRURL, "", nil).want(t, 200)
	if ct := qr.Header.Get("Content-Type"); ct != "image/svg+xml" || !bytes.HasPrefix(qr.Body, []byte("<svg")) {
		t.Errorf("qr: %s %q", ct, qr.Body[:20])
	}
	ics := ts.do(t, "GET", ans.ICSURL, "", nil).want(t, 200)
	if ct := ics.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
		t.Errorf("ics Content-Type %q", ct)
	}
	body := strings.ReplaceAll(string(ics.Body), "\r\n ", "")
	for _, want := range []string{"BEGIN:VCALENDAR\r\n", "TZID:Asia/Shanghai", "DTSTART;TZID=Asia/Shanghai:20310304T100000", "DTEND;TZID=Asia/Shanghai:20310304T103000",
		"不动产登记", "示范政务服务大厅", b.Code, "09:30"} {
		if !strings.Contains(body, want) {
			t.Errorf("ics lacks %q:\n%s", want, body)
		}
	}
	for _, secret := range []string{personID(1), "13900000001", "王1"} {
		if strings.Contains(body, secret) {
			t.Errorf("ics holds %q", secret)
		}
	}
	en := ts.do(t, "GET", ans.ICSURL+"&lang=en", "", nil).want(t, 200)
	if !strings.Contains(string(en.Body), "Real estate registration") {
		t.Errorf("English ics: %s", en.Body)
	}
	ts.do(t, "GET", "/api/v1/bookings/"+b.Code+"/ics?id_last4=0000", "", nil).wantErr(t, 404, "not_found", "")
	ts.do(t, "GET", "/api/v1/bookings/"+b.Code+"/ics", "", nil).wantErr(t, 404, "not_found", "")
	var got bookingAnswer
	ts.do(t, "GET", "/api/v1/bookings/"+strings.ToLower(b.Code)+"?id_last4="+personLast4(1), "", nil).want(t, 200).json(t, &got)
	if got.Booking == nil || got.Booking.ID != b.ID {
		t.Errorf("GET booking: %+v", got)
	}
	// Staff of the hall read it without the ID; others do not.
	ts.do(t, "GET", "/api/v1/bookings/"+b.Code, ts.createUser(t, "bk-staff", civiq.RoleStaff, "demo"), nil).want(t, 200)
	ts.do(t, "GET", "/api/v1/bookings/"+b.Code, "", nil).wantErr(t, 404, "not_found", "")

	// The staff's list of the day.
	var list struct {
		Bookings []booking `json:"bookings"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/bookings?date=2031-03-04", ts.Admin, nil).want(t, 200).json(t, &list)
	if len(list.Bookings) != 1 || list.Bookings[0].Code != b.Code || list.Bookings[0].Name != "王*" || list.Bookings[0].Phone != "139****0001" {
		t.Errorf("list %+v", list)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/bookings", "", nil).wantErr(t, 401, "unauthorized", "")
	kiosk := ts.pairDevice(t, "demo", "kiosk", "")
	ts.do(t, "GET", "/api/v1/halls/demo/bookings", kiosk, nil).wantErr(t, 403, "forbidden", "")

	// Check-in at the kiosk, from 30 minutes before.
	ts.Clock.Advance(time.Date(2031, 3, 4, 9, 29, 0, 0, shanghaiLoc).Sub(ts.Engine.Now()))
	ts.Admin = ts.login(t, "admin", adminPassword) // sessions last 12 hours
	ts.do(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"code": b.Code, "id_last4": personLast4(1)}).wantErr(t, 409, "too_early", "")
	ts.Clock.Advance(10 * time.Minute)
	ts.do(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"code": b.Code, "id_last4": "0000"}).wantErr(t, 404, "not_found", "")
	ts.do(t, "POST", "/api/v1/halls/demo/checkins", "", map[string]string{"code": b.Code, "id_last4": personLast4(1)}).wantErr(t, 401, "unauthorized", "")
	r := ts.do(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"code": b.Code, "id_last4": personLast4(1)}).want(t, 201)
	tk := ticketOf(t, r)
	if tk.Channel != "appointment" || tk.Status != "waiting" || !strings.HasPrefix(tk.Number, "B") || tk.Position == nil {
		t.Errorf("ticket %+v", tk)
	}
	ts.do(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"code": b.Code, "id_last4": personLast4(1)}).wantErr(t, 409, "conflict", "")
	ts.do(t, "GET", "/api/v1/halls/demo/bookings?date=2031-03-04", ts.Admin, nil).want(t, 200).json(t, &list)
	if s := list.Bookings[0]; s.Status != "checked_in" || s.TicketNumber != tk.Number || s.TicketStatus != "waiting" {
		t.Errorf("after check-in %+v", s)
	}
	// Called at the slot's time, before the walk-in who came first.
	walkIn := ts.issue(t, kiosk, "property")
	if c, _ := ts.callNext(t, ts.Admin, "3"); c.ID != walkIn.ID {
		t.Errorf("before the slot the walk-in is called first, got %s", c.Number)
	}
	walkIn2 := ts.issue(t, kiosk, "property")
	ts.Clock.Advance(21 * time.Minute) // 10:00
	if c, _ := ts.callNext(t, ts.Admin, "3"); c.ID != tk.ID {
		t.Errorf("at the slot the appointment is called first, got %s", c.Number)
	}
	if c, _ := ts.callNext(t, ts.Admin, "3"); c.ID != walkIn2.ID {
		t.Errorf("then the walk-in, got %s", c.Number)
	}
}

func TestBookingRefusals(t *testing.T) {
	t.Parallel()
	ts := newBookingServer(t)
	post := func(body map[string]string) *resp { return ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", body) }
	with := func(k, v string) map[string]string {
		b := bookBody("general", slotOn(4, 10, 0), 50)
		b[k] = v
		return b
	}
	post(with("id_number", "110105194912310021")).wantErr(t, 400, "invalid_id_number", "id_number")
	post(with("id_number", "1234")).wantErr(t, 400, "invalid_id_number", "id_number")
	post(with("phone", "12345")).wantErr(t, 400, "invalid", "phone")
	post(with("name", "")).wantErr(t, 400, "invalid", "name")
	post(with("slot_start", slotOn(4, 10, 10))).wantErr(t, 400, "invalid", "slot_start")
	post(with("slot_start", slotOn(3, 8, 30))).wantErr(t, 400, "invalid", "slot_start")
	post(with("slot_start", slotOn(3, 9, 0))).wantErr(t, 409, "too_late", "")
	post(with("slot_start", slotOn(11, 9, 0))).wantErr(t, 409, "too_early", "")
	post(with("service_id", "nope")).wantErr(t, 404, "not_found", "service_id")
	for _, f := range []string{"service_id", "slot_start", "name", "phone", "id_number"} {
		b := bookBody("general", slotOn(4, 10, 0), 50)
		delete(b, f)
		post(b).wantErr(t, 400, "invalid", f)
	}
	ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", `{"service_id":5}`).wantErr(t, 400, "invalid", "service_id")
	ts.do(t, "POST", "/api/v1/halls/nope/bookings", "", bookBody("general", slotOn(4, 10, 0), 50)).wantErr(t, 404, "not_found", "")

	// slot_full, limit_reached.
	ts.bookingSettings(t, map[string]any{"services": map[string]any{"tax": map[string]any{"capacity": 1}}})
	ts.book(t, "tax", slotOn(4, 9, 0), 1)
	post(bookBody("tax", slotOn(4, 9, 0), 2)).wantErr(t, 409, "slot_full", "")
	post(bookBody("tax", slotOn(4, 9, 30), 1)).wantErr(t, 409, "limit_reached", "")
	ts.book(t, "general", slotOn(5, 9, 0), 1)
	ts.book(t, "general", slotOn(6, 9, 0), 1)
	post(bookBody("social", slotOn(7, 9, 0), 1)).wantErr(t, 409, "limit_reached", "")

	// Cancel: with the ID's last 4, until 2 hours before.
	a := ts.book(t, "social", slotOn(4, 11, 0), 3)
	ts.do(t, "DELETE", "/api/v1/bookings/"+a.Booking.Code+"?id_last4=0000", "", nil).wantErr(t, 404, "not_found", "")
	var c bookingAnswer
	ts.do(t, "DELETE", "/api/v1/bookings/"+a.Booking.Code+"?id_last4="+personLast4(3), "", nil).want(t, 200).json(t, &c)
	if c.Booking.Status != "cancelled" {
		t.Errorf("cancel: %+v", c.Booking)
	}
	ts.do(t, "DELETE", "/api/v1/bookings/"+a.Booking.Code+"?id_last4="+personLast4(3), "", nil).wantErr(t, 409, "conflict", "")
	late := ts.book(t, "social", slotOn(4, 11, 0), 4)
	ts.Clock.Advance(time.Date(2031, 3, 4, 9, 5, 0, 0, shanghaiLoc).Sub(ts.Engine.Now()))
	ts.Admin = ts.login(t, "admin", adminPassword)
	ts.do(t, "DELETE", "/api/v1/bookings/"+late.Booking.Code+"?id_last4="+personLast4(4), "", nil).wantErr(t, 409, "too_late", "")
	ts.do(t, "DELETE", "/api/v1/bookings/"+late.Booking.Code, ts.Admin, nil).want(t, 200)

	// Check-in too late: 15 minutes after the start.
	kiosk := ts.pairDevice(t, "demo", "kiosk", "")
	ts.Clock.Advance(time.Date(2031, 3, 4, 9, 16, 0, 0, shanghaiLoc).Sub(ts.Engine.Now()))
	ts.do(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"code": "ABCD2345", "id_last4": "1234"}).wantErr(t, 404, "not_found", "")
	var list struct {
		Bookings []booking `json:"bookings"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/bookings?date=2031-03-04", ts.Admin, nil).want(t, 200).json(t, &list)
	var taxCode string
	for _, b := range list.Bookings {
		if b.ServiceID == "tax" {
			taxCode = b.Code
		}
	}
	ts.do(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"code": taxCode, "id_last4": personLast4(1)}).wantErr(t, 409, "too_late", "")
	ts.do(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"id_last4": personLast4(1)}).wantErr(t, 400, "invalid", "code")
	ts.do(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"code": taxCode}).wantErr(t, 400, "invalid", "id_last4")
}

// TestBookingConcurrent: 100 citizens book the last places of a slot of 5 at
// once: exactly 5 bookings, 95 clear refusals.
func TestBookingConcurrent(t *testing.T) {
	t.Parallel()
	ts := newBookingServer(t)
	ts.bookingSettings(t, map[string]any{"address_limit_per_hour": 0, "services": map[string]any{"tax": map[string]any{"capacity": 5}}})
	var wg sync.WaitGroup
	answers := make([]*resp, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", bookBody("tax", slotOn(4, 14, 0), 100+i))
		}()
	}
	wg.Wait()
	ok, full := 0, 0
	for _, r := range answers {
		switch r.Status {
		case 201:
			ok++
		case 409:
			r.wantErr(t, 409, "slot_full", "")
			full++
		default:
			t.Errorf("unexpected %s", r)
		}
	}
	if ok != 5 || full != 95 {
		t.Errorf("%d booked and %d refused; want 5 and 95", ok, full)
	}
}

func TestBookingRateLimits(t *testing.T) {
	t.Parallel()
	ts := newBookingServer(t)
	ts.bookingSettings(t, map[string]any{"phone_limit_per_hour": 3, "address_limit_per_hour": 5})
	// Per phone: the 4th request with one number is refused, whatever the
	// ID number and whatever the answer.
	for i := range 3 {
		b := bookBody("general", slotOn(4, 9, 0), 1)
		b["id_number"] = personID(10 + i)
		ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", b)
	}
	r := ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", bookBody("general", slotOn(4, 9, 0), 1))
	r.wantErr(t, 429, "rate_limited", "")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	// Per address: 5 in an hour from here.
	ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", bookBody("general", slotOn(4, 9, 0), 2)).want(t, 201)
	ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", bookBody("general", slotOn(4, 9, 0), 3)).wantErr(t, 429, "rate_limited", "")
	// An hour later, again.
	ts.Clock.Advance(time.Hour)
	ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", bookBody("general", slotOn(4, 9, 30), 3)).want(t, 201)

	// Probing codes: 30 failures an hour from an address, then 429 even
	// for a right one.
	a := ts.book(t, "general", slotOn(4, 10, 0), 4)
	right := "/api/v1/bookings/" + a.Booking.Code + "?id_last4=" + personLast4(4)
	for i := range 30 {
		madeUp := fmt.Sprintf("QQQQQQ%c%c", 'A'+i/8, 'P'+i%8)
		ts.do(t, "GET", "/api/v1/bookings/"+madeUp+"?id_last4="+personLast4(4), "", nil).wantErr(t, 404, "not_found", "")
	}
	ts.do(t, "GET", right, "", nil).wantErr(t, 429, "rate_limited", "")
	ts.Clock.Advance(time.Hour)
	ts.do(t, "GET", right, "", nil).want(t, 200)

	// Guessing one code's last 4 characters: 5 wrong tries, then 429 even
	// for the right ones, for 15 minutes.
	for i := range 5 {
		ts.do(t, "GET", fmt.Sprintf("/api/v1/bookings/%s?id_last4=%04d", a.Booking.Code, i), "", nil).wantErr(t, 404, "not_found", "")
	}
	ts.do(t, "GET", right, "", nil).wantErr(t, 429, "rate_limited", "")
	ts.Clock.Advance(15 * time.Minute)
	ts.do(t, "GET", right, "", nil).want(t, 200)
}

func TestStrikesAPI(t *testing.T) {
	t.Parallel()
	ts := newBookingServer(t)
	a := ts.book(t, "general", slotOn(4, 10, 0), 1)
	ts.Clock.Advance(time.Date(2031, 3, 4, 10, 16, 0, 0, shanghaiLoc).Sub(ts.Engine.Now()))
	ts.Admin = ts.login(t, "admin", adminPassword)
	staff := ts.createUser(t, "st-staff", civiq.RoleStaff, "demo")
	var out struct {
		Strikes []struct {
			ID          int64      `json:"id"`
			BookingCode string     `json:"booking_code"`
			Name        string     `json:"name"`
			Phone       string     `json:"phone"`
			IDNumber    string     `json:"id_number"`
			Warning     string     `json:"warning"`
			ClearedAt   *time.Time `json:"cleared_at"`
			ClearReason string     `json:"clear_reason"`
		} `json:"strikes"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/strikes", staff, nil).want(t, 200).json(t, &out)
	if len(out.Strikes) != 1 || out.Strikes[0].BookingCode != a.Booking.Code || out.Strikes[0].Name != "王*" ||
		out.Strikes[0].IDNumber != civiq.MaskIDNumber(personID(1)) || !strings.Contains(out.Strikes[0].Warning, "爽约1次") {
		t.Fatalf("strikes %+v", out)
	}
	id := out.Strikes[0].ID
	ts.do(t, "GET", "/api/v1/halls/demo/strikes", "", nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "GET", "/api/v1/halls/demo/strikes", ts.pairDevice(t, "demo", "kiosk", ""), nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "POST", fmt.Sprintf("/api/v1/halls/demo/strikes/%d/clear", id), staff, map[string]string{}).wantErr(t, 400, "invalid", "reason")
	ts.do(t, "POST", "/api/v1/halls/demo/strikes/999/clear", staff, map[string]string{"reason": "x"}).wantErr(t, 404, "not_found", "")
	ts.do(t, "POST", "/api/v1/halls/demo/strikes/x/clear", staff, map[string]string{"reason": "x"}).wantErr(t, 404, "not_found", "")
	ts.do(t, "POST", fmt.Sprintf("/api/v1/halls/demo/strikes/%d/clear", id), staff, map[string]string{"reason": "病假证明"}).want(t, 200)
	ts.do(t, "GET", "/api/v1/halls/demo/strikes", staff, nil).want(t, 200).json(t, &out)
	if len(out.Strikes) != 0 {
		t.Errorf("a cleared strike is listed as active: %+v", out)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/strikes?all=1", staff, nil).want(t, 200).json(t, &out)
	if len(out.Strikes) != 1 || out.Strikes[0].ClearedAt == nil || out.Strikes[0].ClearReason != "病假证明" {
		t.Errorf("all strikes %+v", out)
	}

	// Three strikes in 180 days: 403 suspended.
	ts.bookingSettings(t, map[string]any{"strikes_to_suspend": 2})
	for day := 5; day <= 6; day++ {
		ts.book(t, "general", slotOn(day, 10, 0), 7)
		ts.Clock.Advance(time.Date(2031, 3, day, 10, 16, 0, 0, shanghaiLoc).Sub(ts.Engine.Now()))
	}
	ts.Admin = ts.login(t, "admin", adminPassword)
	ts.do(t, "POST", "/api/v1/halls/demo/bookings", "", bookBody("general", slotOn(10, 10, 0), 7)).wantErr(t, 403, "suspended", "")

	// Settings: anyone reads them, admins change them.
	ts.do(t, "GET", "/api/v1/halls/demo/booking-settings", "", nil).want(t, 200)
	staff = ts.login(t, "st-staff", userPassword)
	ts.do(t, "PUT", "/api/v1/halls/demo/booking-settings", staff, map[string]any{}).wantErr(t, 403, "forbidden", "")
	ts.do(t, "PUT", "/api/v1/halls/demo/booking-settings", ts.Admin, map[string]any{"slot_minutes": 1}).wantErr(t, 400, "invalid", "slot_minutes")
}

// TestBookingEventsCarryNoPersonalData: the hall's events, public and
// staff, never carry a name, phone, ID number or booking code.
func TestBookingEventsCarryNoPersonalData(t *testing.T) {
	t.Parallel()
	ts := newBookingServer(t)
	a := ts.book(t, "general", slotOn(4, 10, 0), 1)
	kiosk := ts.pairDevice(t, "demo", "kiosk", "")
	ts.Clock.Advance(time.Date(2031, 3, 4, 9, 45, 0, 0, shanghaiLoc).Sub(ts.Engine.Now()))
	ts.do(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"code": a.Booking.Code, "id_last4": personLast4(1)}).want(t, 201)
	b := ts.book(t, "general", slotOn(4, 15, 0), 2)
	ts.Clock.Advance(6 * time.Hour)
	ts.Admin = ts.login(t, "admin", adminPassword)
	ts.do(t, "GET", "/api/v1/halls/demo/strikes", ts.createUser(t, "ev-mgr", civiq.RoleManager, "demo"), nil).want(t, 200)
	evs, err := ts.Store.EventsAfter(t.Context(), "demo", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, ev := range evs {
		types[ev.Type] = true
		for _, staff := range []bool{false, true} {
			js := string(ev.JSON(staff))
			for _, secret := range []string{personID(1), personID(2), "1390000000", "王", a.Booking.Code, b.Booking.Code} {
				if strings.Contains(js, secret) {
					t.Errorf("event %s holds %q", js, secret)
				}
			}
		}
	}
	for _, want := range []string{civiq.EventBookingCreated, civiq.EventIssued, civiq.EventBookingNoShow} {
		if !types[want] {
			t.Errorf("no %s event among %v", want, types)
		}
	}
}

// FuzzBookingRequests posts arbitrary bodies to the booking and check-in
// routes: never a 5xx; every refusal is the contract's error body.
func FuzzBookingRequests(f *testing.F) {
	ts := newBookingServer(f)
	ts.bookingSettings(f, map[string]any{"address_limit_per_hour": 0, "phone_limit_per_hour": 0})
	kiosk := ts.pairDevice(f, "demo", "kiosk", "")
	good := `{"service_id":"general","slot_start":"` + slotOn(4, 10, 0) + `","name":"王五","phone":"13912345678","id_number":"` + personID(5) + `"}`
	for _, s := range []string{good, `{}`, ``, `[]`, `{"service_id":"general"}`, `{"service_id":1}`, `{"slot_start":"2031-03-04T10:00:00Z"}`,
		`{"id_number":"11010519491231002x","name":"\u0000"}`, `{"code":"ABCD2345","id_last4":"002X"}`, `{"code":"abcd-2345","id_number":"x"}`,
		`{"code":null}`, `{"name":"` + strings.Repeat("名", 40) + `"}`, "{\"phone\":\"\xff\"}", `{"slot_start":"9999-99-99"}`, `{}}`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	wantStatus := map[string]int{"invalid": 400, "invalid_id_number": 400, "not_found": 404, "slot_full": 409, "limit_reached": 409,
		"too_early": 409, "too_late": 409, "conflict": 409, "suspended": 403, "forbidden": 403, "rate_limited": 429}
	f.Fuzz(func(t *testing.T, body []byte, checkIn bool) {
		path, token := "/api/v1/halls/demo/bookings", ""
		if checkIn {
			path, token = "/api/v1/halls/demo/checkins", kiosk
		}
		r := httptest.NewRequest("POST", path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		ts.API.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e apiError
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d without an error body: %s", w.Code, w.Body)
			}
			if s, ok := wantStatus[e.Error.Code]; !ok || s != w.Code {
				t.Fatalf("code %s with status %d", e.Error.Code, w.Code)
			}
		} else if w.Code != http.StatusCreated {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// TestBookingAuthz: who may use each appointment route.
func TestBookingAuthz(t *testing.T) {
	t.Parallel()
	ts := newBookingServer(t)
	a := ts.book(t, "general", slotOn(4, 10, 0), 1)
	ts.addOtherHall(t)
	staffOther := ts.createUser(t, "bz-staff-other", civiq.RoleStaff, "other")
	staff := ts.createUser(t, "bz-staff", civiq.RoleStaff, "demo")
	display := ts.pairDevice(t, "demo", "display", "")
	kiosk := ts.pairDevice(t, "demo", "kiosk", "")
	otherKiosk := ts.pairDevice(t, "other", "kiosk", "")
	rows := []struct {
		method, path string
		body         any
		want         map[string]int // token name -> status
	}{
		{"GET", "/api/v1/halls/demo/bookings", nil, map[string]int{"anon": 401, "staff": 200, "other": 403, "kiosk": 403, "display": 403}},
		{"GET", "/api/v1/halls/demo/strikes", nil, map[string]int{"anon": 401, "staff": 200, "other": 403, "kiosk": 403, "display": 403}},
		{"POST", "/api/v1/halls/demo/checkins", map[string]string{"code": a.Booking.Code, "id_last4": "0000"},
			map[string]int{"anon": 401, "staff": 404, "other": 403, "kiosk": 404, "display": 403, "other-kiosk": 403}},
		{"GET", "/api/v1/halls/demo/booking-settings", nil, map[string]int{"anon": 200, "staff": 200, "kiosk": 200}},
		{"GET", "/api/v1/bookings/" + a.Booking.Code, nil, map[string]int{"anon": 404, "staff": 200, "other": 404, "kiosk": 404}},
	}
	tokens := map[string]string{"anon": "", "staff": staff, "other": staffOther, "kiosk": kiosk, "display": display, "other-kiosk": otherKiosk}
	for _, row := range rows {
		for who, want := range row.want {
			if r := ts.do(t, row.method, row.path, tokens[who], row.body); r.Status != want {
				t.Errorf("%s %s as %s: %s; want %d", row.method, row.path, who, r, want)
			}
		}
	}
}
