package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// startCtrSite is the real program (civiqtest) with event streams that
// beat every second.
func startCtrSite(t testing.TB) *civiqtest.Server {
	t.Helper()
	return civiqtest.New(t, func(s *civiqtest.Server) { s.API.Heartbeat = time.Second })
}

type ctrTicket struct {
	ID        string `json:"id"`
	Number    string `json:"number"`
	Status    string `json:"status"`
	ServiceID string `json:"service_id"`
	CounterID string `json:"counter_id"`
	CallCount int    `json:"call_count"`
}

// issueStaff takes a staff ticket for a service.
func issueStaff(t testing.TB, s *civiqtest.Server, service string) ctrTicket {
	t.Helper()
	var out struct{ Ticket ctrTicket }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": service, "channel": "staff"}, &out); st != 201 {
		t.Fatalf("issue %s: %d", service, st)
	}
	return out.Ticket
}

// pairDevice creates and pairs a device of the demo hall and returns its
// token.
func pairDevice(t testing.TB, eng *civiq.Engine, kind, counter string) string {
	t.Helper()
	ctx := context.Background()
	d := &civiq.Device{Kind: kind, HallID: "demo", CounterID: counter}
	if err := eng.CreateDevice(ctx, d); err != nil {
		t.Fatalf("create device: %v", err)
	}
	tok, _, err := eng.PairDevice(ctx, d.PairingCode)
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	return tok
}

func TestCounterPageAccess(t *testing.T) {
	s := startCtrSite(t)
	ctx := context.Background()
	if err := s.Engine.SaveHall(ctx, &civiq.Hall{ID: "other", Name: "另一个大厅", Timezone: "Asia/Shanghai"}); err != nil {
		t.Fatal(err)
	}
	staff := s.User(t, "zhang", civiq.RoleStaff, "demo")
	stranger := s.User(t, "li", civiq.RoleStaff, "other")

	// Nobody signed in: to the sign-in page, back here afterwards.
	res, _ := s.Page(t, "/halls/demo/counter/1", "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fhalls%2Fdemo%2Fcounter%2F1" {
		t.Fatalf("anonymous: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// A counter device asks for the pairing screen.
	res, body := s.Page(t, "/halls/demo/counter/1?device", "")
	if res.StatusCode != 200 || !strings.Contains(body, `id="pair-form"`) || !strings.Contains(body, `data-mode="device"`) {
		t.Fatalf("device: %d", res.StatusCode)
	}
	// Staff of the hall work here, in Chinese by default.
	res, body = s.Page(t, "/halls/demo/counter/1", staff)
	if res.StatusCode != 200 || !strings.Contains(body, `<html lang="zh-CN">`) || !strings.Contains(body, `data-mode="staff"`) {
		t.Fatalf("staff: %d", res.StatusCode)
	}
	if !strings.Contains(body, `<select id="cur-behalf">`) || !strings.Contains(body, `<option value="grid">社区网格员</option>`) {
		t.Fatal("the counter page lacks the 帮办代办 choice")
	}
	for _, want := range []string{"叫号", "重呼", "开始办理", "办结", "过号", "转办", "暂离", `aria-keyshortcuts="N"`, "<kbd>N</kbd>", "社保医保"} {
		if !strings.Contains(body, want) {
			t.Errorf("counter page lacks %q", want)
		}
	}
	res, body = s.Page(t, "/halls/demo/counter/1?lang=en", staff)
	if res.StatusCode != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Call next") || !strings.Contains(body, "Social and medical insurance") {
		t.Fatalf("staff in English: %d", res.StatusCode)
	}
	// Staff of another hall may not, nor learn who works here (the clerk
	// signed in at it is the staff view's, never another hall's).
	if code := s.Call(t, "POST", "/api/v1/halls/demo/counters/1/status", staff, map[string]string{"status": "open"}, nil); code != 200 {
		t.Fatalf("staff opens counter 1: %d", code)
	}
	res, body = s.Page(t, "/halls/demo/counter/1", stranger)
	if res.StatusCode != http.StatusForbidden || strings.Contains(body, `id="work"`) || strings.Contains(body, "zhang") {
		t.Fatalf("stranger: %d, or the page names the clerk: %v", res.StatusCode, strings.Contains(body, "zhang"))
	}
	for _, p := range []string{"/halls/demo/counter/99", "/halls/nope/counter/1", "/halls/demo/rate/99"} {
		if res, _ := s.Page(t, p, staff); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}

	// The rater opens for anyone (a device pairs on it); an admin tries it.
	res, body = s.Page(t, "/halls/demo/rate/1", "")
	if res.StatusCode != 200 || !strings.Contains(body, `data-mode="device"`) {
		t.Fatalf("rater: %d", res.StatusCode)
	}
	for _, want := range []string{"非常满意", "满意", "基本满意", "不满意", "非常不满意", "服务态度差", "等候时间过长", "业务不熟练", "未一次性告知", "其他", `value="long_wait"`, `id="reason-phone"`, "<svg"} {
		if !strings.Contains(body, want) {
			t.Errorf("rater page lacks %q", want)
		}
	}
	// The rater's header names the counter in the page's language.
	for _, c := range []struct{ path, want, not string }{
		{"/halls/demo/rate/1", `class="rate-where">1号窗口 ·`, "Counter 1"},
		{"/halls/demo/rate/1?lang=en", `class="rate-where">Counter 1 ·`, "1号窗口"},
	} {
		if _, body := s.Page(t, c.path, ""); !strings.Contains(body, c.want) || strings.Contains(body, c.not) {
			t.Errorf("%s: the rater's header is not %q (or shows %q)", c.path, c.want, c.not)
		}
	}
	if _, body = s.Page(t, "/halls/demo/rate/1", s.Admin); !strings.Contains(body, `data-mode="trial"`) {
		t.Error("admin does not get the rater's trial mode")
	}
	if _, body = s.Page(t, "/halls/demo/rate/1", staff); !strings.Contains(body, `data-mode="device"`) {
		t.Error("staff get the rater's trial mode")
	}
}

type counterDay struct {
	Day     string  `json:"day"`
	Served  int     `json:"served"`
	Avg     float64 `json:"average_handling_seconds"`
	NoShows int     `json:"no_shows"`
	Counter struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"counter"`
	Current *ctrTicket `json:"current_ticket"`
}

func TestCounterToday(t *testing.T) {
	s := startCtrSite(t)
	const path = "/api/v1/halls/demo/counters/1/today"
	today := func(token string) counterDay {
		t.Helper()
		var d counterDay
		if st := s.Call(t, "GET", path, token, nil, &d); st != 200 {
			t.Fatalf("today: %d", st)
		}
		return d
	}

	d := today(s.Admin)
	if d.Served != 0 || d.NoShows != 0 || d.Avg != 0 || d.Current != nil || d.Counter.ID != "1" || d.Counter.Status != "open" {
		t.Fatalf("empty day: %+v", d)
	}
	if want := s.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly); d.Day != want {
		t.Errorf("day %s, want the hall's local day %s", d.Day, want)
	}

	a1 := issueStaff(t, s, "general")
	a2 := issueStaff(t, s, "general")
	a3 := issueStaff(t, s, "general")
	var called struct{ Ticket ctrTicket }
	s.Call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", s.Admin, nil, &called)
	if called.Ticket.ID != a1.ID {
		t.Fatalf("called %+v, want %s", called.Ticket, a1.Number)
	}
	// The current ticket comes back after a reload.
	if d = today(s.Admin); d.Current == nil || d.Current.ID != a1.ID || d.Current.Status != "called" {
		t.Fatalf("current after call: %+v", d.Current)
	}
	s.Clock.Advance(90 * time.Second)
	s.Call(t, "POST", "/api/v1/tickets/"+a1.ID+"/start", s.Admin, nil, nil)
	s.Clock.Advance(60 * time.Second)
	s.Call(t, "POST", "/api/v1/tickets/"+a1.ID+"/finish", s.Admin, nil, nil)
	// Call-next finishes a2 by itself 30 s after calling it.
	s.Call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", s.Admin, nil, &called)
	s.Clock.Advance(30 * time.Second)
	s.Call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", s.Admin, nil, &called)
	if called.Ticket.ID != a3.ID {
		t.Fatalf("called %+v, want %s", called.Ticket, a3.Number)
	}
	s.Call(t, "POST", "/api/v1/tickets/"+a3.ID+"/no-show", s.Admin, nil, nil)
	_ = a2

	d = today(s.Admin)
	if d.Served != 2 || d.NoShows != 1 || d.Current != nil {
		t.Fatalf("after the work: %+v", d)
	}
	// From call to done: 150 s and 30 s.
	if d.Avg < 89 || d.Avg > 91 {
		t.Errorf("average handling %.1f s, want 90", d.Avg)
	}
	// Another counter's day is its own.
	var d2 counterDay
	s.Call(t, "GET", "/api/v1/halls/demo/counters/2/today", s.Admin, nil, &d2)
	if d2.Served != 0 || d2.NoShows != 0 {
		t.Errorf("counter 2: %+v", d2)
	}

	// Who may ask: like the counter's actions.
	staff := s.User(t, "wang", civiq.RoleStaff, "demo")
	if today(staff).Served != 2 {
		t.Error("staff see another figure")
	}
	if st := s.Call(t, "GET", path, pairDevice(t, s.Engine, civiq.DeviceCounter, "1"), nil, nil); st != 200 {
		t.Errorf("counter 1's device: %d", st)
	}
	for name, tok := range map[string]string{
		"nobody":           "",
		"counter 2 device": pairDevice(t, s.Engine, civiq.DeviceCounter, "2"),
		"rater":            pairDevice(t, s.Engine, civiq.DeviceRater, "1"),
	} {
		want := http.StatusForbidden
		if tok == "" {
			want = http.StatusUnauthorized
		}
		if st := s.Call(t, "GET", path, tok, nil, nil); st != want {
			t.Errorf("%s: %d, want %d", name, st, want)
		}
	}
	if st := s.Call(t, "GET", "/api/v1/halls/demo/counters/99/today", s.Admin, nil, nil); st != 404 {
		t.Errorf("unknown counter: %d", st)
	}

	// A new local day starts from nothing.
	s.Clock.Advance(24 * time.Hour)
	tok := s.Login(t, "admin", civiqtest.AdminPassword) // the session has expired
	if d = today(tok); d.Served != 0 || d.NoShows != 0 {
		t.Errorf("next day: %+v", d)
	}
}

func TestHallDayBounds(t *testing.T) {
	h := civiq.Hall{Timezone: "Asia/Shanghai"}
	at := time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC) // 01:30 on 2 March in Beijing
	from, to := h.DayBounds(at)
	if want := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC); !from.Equal(want) {
		t.Errorf("from %v, want %v", from, want)
	}
	if to.Sub(from) != 24*time.Hour {
		t.Errorf("day of %v", to.Sub(from))
	}
	// Where clocks change, a day is 23 hours long.
	ny := civiq.Hall{Timezone: "America/New_York"}
	from, to = ny.DayBounds(time.Date(2026, 3, 8, 15, 0, 0, 0, time.UTC))
	if to.Sub(from) != 23*time.Hour {
		t.Errorf("DST day of %v", to.Sub(from))
	}
}
