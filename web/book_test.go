package web_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// newBookServer is the whole server (API and pages) on the demo hall with
// a secret key, its clock on Monday 3 March 2031, 08:00 in Shanghai,
// moving with the real one (POST /test/clock moves it, see civiqtest).
func newBookServer(t testing.TB) *civiqtest.Server {
	t.Helper()
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{3}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return civiqtest.New(t, func(s *civiqtest.Server) {
		s.Engine.Sealer = sealer
		s.Clock.Set(time.Date(2031, 3, 3, 8, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	})
}

func TestBookPage(t *testing.T) {
	s := newBookServer(t)
	res, body := s.Page(t, "/halls/demo/book", "")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /halls/demo/book: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{`<html lang="zh-CN">`, "预约办理", "不动产登记", `name="id_number"`, "/static/book.js", "3月3日", "今天",
		"可预约今天起7天内的时段", `value="2031-03-08" disabled`} {
		if !strings.Contains(body, want) {
			t.Errorf("the booking page lacks %q", want)
		}
	}
	_, en := s.Page(t, "/halls/demo/book?lang=en", "")
	for _, want := range []string{`<html lang="en">`, "Book an appointment", "Real estate registration", "3 Mar", "Today"} {
		if !strings.Contains(en, want) {
			t.Errorf("the English booking page lacks %q", want)
		}
	}
	if res, _ := s.Page(t, "/halls/nope/book", ""); res.StatusCode != 404 {
		t.Errorf("unknown hall: %d", res.StatusCode)
	}
	// A closed service is not offered; bookings off, the page says so.
	set, _ := s.Engine.BookingSettings(context.Background(), "demo")
	set.Services = map[string]civiq.ServiceBooking{"tax": {Closed: true}}
	if err := s.Engine.SetBookingSettings(context.Background(), "demo", set); err != nil {
		t.Fatal(err)
	}
	if _, body := s.Page(t, "/halls/demo/book", ""); strings.Contains(body, `value="tax"`) {
		t.Error("a closed service is offered")
	}
	set.Enabled = false
	s.Engine.SetBookingSettings(context.Background(), "demo", set)
	if _, body := s.Page(t, "/halls/demo/book", ""); !strings.Contains(body, "暂未开放网上预约") || strings.Contains(body, `id="book-form"`) {
		t.Error("a hall without bookings still shows the form")
	}
}

func TestBookingsStaffPage(t *testing.T) {
	s := newBookServer(t)
	res, _ := s.Page(t, "/halls/demo/bookings", "")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
		t.Errorf("signed out: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := s.Page(t, "/halls/demo/bookings?date=2031-03-04", s.Admin)
	if code := res.StatusCode; code != 200 || !strings.Contains(body, `"date":"2031-03-04"`) || !strings.Contains(body, `id="checkin-form"`) {
		t.Errorf("admin: %d", code)
	}
	if err := s.Engine.SaveHall(context.Background(), &civiq.Hall{ID: "other", Name: "其他", Timezone: "Asia/Shanghai", Policy: civiq.PolicyFIFO, MaxCalls: 3}); err != nil {
		t.Fatal(err)
	}
	tok := s.User(t, "other-staff", civiq.RoleStaff, "other")
	if res, body := s.Page(t, "/halls/demo/bookings", tok); res.StatusCode != 403 || strings.Contains(body, "book.js") {
		t.Errorf("staff of another hall: %d", res.StatusCode)
	}
}
