package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/sqlite"
	"github.com/civiq/civiq/web"
)

// ctrAdminPassword is the first admin's password in the counter tests.
const ctrAdminPassword = "counter-admin-password"

// ctrClock is the engine's clock: real time plus an offset a test moves.
type ctrClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *ctrClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *ctrClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// ctrSite is the real program's parts wired as civiq serve does: SQLite
// in a temporary directory, the demo hall, the API and the pages on one
// mux.
type ctrSite struct {
	URL    string
	Store  *sqlite.Store
	Engine *civiq.Engine
	Clock  *ctrClock
	// Admin is a bearer token of the user admin.
	Admin string
}

func startCtrSite(t testing.TB) *ctrSite {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "civiq.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	hub := inmem.NewHub()
	store.Publish = hub.Publish
	s := &ctrSite{Store: store, Engine: civiq.NewEngine(store), Clock: &ctrClock{}}
	s.Engine.Now = s.Clock.Now
	ctx := context.Background()
	if _, err := s.Engine.Bootstrap(ctx, ctrAdminPassword); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	if _, err := s.Engine.LoadDemo(ctx); err != nil {
		t.Fatalf("load demo: %v", err)
	}
	srv := api.NewServer(s.Engine, hub, api.NewMetrics())
	srv.Heartbeat = time.Second
	(&web.Site{Engine: s.Engine, Version: "test"}).Register(srv.Mux())
	hs := httptest.NewServer(srv)
	s.URL = hs.URL
	t.Cleanup(func() {
		srv.Close() // ends the event streams first, so hs.Close does not wait for them
		hs.CloseClientConnections()
		hs.Close()
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	tok, _, _, err := s.Engine.Login(ctx, "admin", ctrAdminPassword)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	s.Admin = tok
	return s
}

// call sends a JSON request with an optional bearer token and decodes a
// JSON answer into out (when not nil). It returns the status.
func (s *ctrSite) call(t testing.TB, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && len(b) > 0 && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	if res.StatusCode >= 500 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode
}

type ctrTicket struct {
	ID        string `json:"id"`
	Number    string `json:"number"`
	Status    string `json:"status"`
	ServiceID string `json:"service_id"`
	CounterID string `json:"counter_id"`
	CallCount int    `json:"call_count"`
}

// issue takes a staff ticket for a service.
func (s *ctrSite) issue(t testing.TB, service string) ctrTicket {
	t.Helper()
	var out struct{ Ticket ctrTicket }
	if st := s.call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": service, "channel": "staff"}, &out); st != 201 {
		t.Fatalf("issue %s: %d", service, st)
	}
	return out.Ticket
}

// user creates a user and returns a bearer token of theirs.
func (s *ctrSite) user(t testing.TB, name, role string, halls ...string) string {
	t.Helper()
	ctx := context.Background()
	if err := s.Engine.CreateUser(ctx, &civiq.User{Username: name, Role: role, HallIDs: halls}, "password-of-"+name); err != nil {
		t.Fatalf("create user: %v", err)
	}
	tok, _, _, err := s.Engine.Login(ctx, name, "password-of-"+name)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return tok
}

// device creates and pairs a device and returns its token.
func (s *ctrSite) device(t testing.TB, kind, counter string) string {
	t.Helper()
	ctx := context.Background()
	d := &civiq.Device{Kind: kind, HallID: "demo", CounterID: counter}
	if err := s.Engine.CreateDevice(ctx, d); err != nil {
		t.Fatalf("create device: %v", err)
	}
	tok, _, err := s.Engine.PairDevice(ctx, d.PairingCode)
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	return tok
}

// page GETs a page with a session cookie (when not empty) and does not
// follow redirects.
func (s *ctrSite) page(t testing.TB, path, session string) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(s.URL)
	if session != "" {
		jar.SetCookies(u, []*http.Cookie{{Name: civiq.SessionCookie, Value: session}})
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(s.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestCounterPageAccess(t *testing.T) {
	s := startCtrSite(t)
	ctx := context.Background()
	if err := s.Engine.SaveHall(ctx, &civiq.Hall{ID: "other", Name: "另一个大厅", Timezone: "Asia/Shanghai"}); err != nil {
		t.Fatal(err)
	}
	staff := s.user(t, "zhang", civiq.RoleStaff, "demo")
	stranger := s.user(t, "li", civiq.RoleStaff, "other")

	// Nobody signed in: to the sign-in page, back here afterwards.
	res, _ := s.page(t, "/halls/demo/counter/1", "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fhalls%2Fdemo%2Fcounter%2F1" {
		t.Fatalf("anonymous: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// A counter device asks for the pairing screen.
	res, body := s.page(t, "/halls/demo/counter/1?device", "")
	if res.StatusCode != 200 || !strings.Contains(body, `id="pair-form"`) || !strings.Contains(body, `data-mode="device"`) {
		t.Fatalf("device: %d", res.StatusCode)
	}
	// Staff of the hall work here, in Chinese by default.
	res, body = s.page(t, "/halls/demo/counter/1", staff)
	if res.StatusCode != 200 || !strings.Contains(body, `<html lang="zh-CN">`) || !strings.Contains(body, `data-mode="staff"`) {
		t.Fatalf("staff: %d", res.StatusCode)
	}
	for _, want := range []string{"叫号", "重呼", "开始办理", "办结", "过号", "转办", "暂离", `aria-keyshortcuts="N"`, "<kbd>N</kbd>", "社保医保"} {
		if !strings.Contains(body, want) {
			t.Errorf("counter page lacks %q", want)
		}
	}
	res, body = s.page(t, "/halls/demo/counter/1?lang=en", staff)
	if res.StatusCode != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Call next") || !strings.Contains(body, "Social and medical insurance") {
		t.Fatalf("staff in English: %d", res.StatusCode)
	}
	// Staff of another hall may not.
	res, body = s.page(t, "/halls/demo/counter/1", stranger)
	if res.StatusCode != http.StatusForbidden || strings.Contains(body, `id="work"`) {
		t.Fatalf("stranger: %d", res.StatusCode)
	}
	for _, p := range []string{"/halls/demo/counter/99", "/halls/nope/counter/1", "/halls/demo/rate/99"} {
		if res, _ := s.page(t, p, staff); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}

	// The rater opens for anyone (a device pairs on it); an admin tries it.
	res, body = s.page(t, "/halls/demo/rate/1", "")
	if res.StatusCode != 200 || !strings.Contains(body, `data-mode="device"`) {
		t.Fatalf("rater: %d", res.StatusCode)
	}
	for _, want := range []string{"非常满意", "满意", "基本满意", "不满意", "非常不满意", "态度不好", "等候时间长", "业务不熟练", "一次告知不清", "其他", "<svg"} {
		if !strings.Contains(body, want) {
			t.Errorf("rater page lacks %q", want)
		}
	}
	if _, body = s.page(t, "/halls/demo/rate/1", s.Admin); !strings.Contains(body, `data-mode="trial"`) {
		t.Error("admin does not get the rater's trial mode")
	}
	if _, body = s.page(t, "/halls/demo/rate/1", staff); !strings.Contains(body, `data-mode="device"`) {
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
		if st := s.call(t, "GET", path, token, nil, &d); st != 200 {
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

	a1 := s.issue(t, "general")
	a2 := s.issue(t, "general")
	a3 := s.issue(t, "general")
	var called struct{ Ticket ctrTicket }
	s.call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", s.Admin, nil, &called)
	if called.Ticket.ID != a1.ID {
		t.Fatalf("called %+v, want %s", called.Ticket, a1.Number)
	}
	// The current ticket comes back after a reload.
	if d = today(s.Admin); d.Current == nil || d.Current.ID != a1.ID || d.Current.Status != "called" {
		t.Fatalf("current after call: %+v", d.Current)
	}
	s.Clock.Advance(90 * time.Second)
	s.call(t, "POST", "/api/v1/tickets/"+a1.ID+"/start", s.Admin, nil, nil)
	s.Clock.Advance(60 * time.Second)
	s.call(t, "POST", "/api/v1/tickets/"+a1.ID+"/finish", s.Admin, nil, nil)
	// Call-next finishes a2 by itself 30 s after calling it.
	s.call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", s.Admin, nil, &called)
	s.Clock.Advance(30 * time.Second)
	s.call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", s.Admin, nil, &called)
	if called.Ticket.ID != a3.ID {
		t.Fatalf("called %+v, want %s", called.Ticket, a3.Number)
	}
	s.call(t, "POST", "/api/v1/tickets/"+a3.ID+"/no-show", s.Admin, nil, nil)
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
	s.call(t, "GET", "/api/v1/halls/demo/counters/2/today", s.Admin, nil, &d2)
	if d2.Served != 0 || d2.NoShows != 0 {
		t.Errorf("counter 2: %+v", d2)
	}

	// Who may ask: like the counter's actions.
	staff := s.user(t, "wang", civiq.RoleStaff, "demo")
	if today(staff).Served != 2 {
		t.Error("staff see another figure")
	}
	if st := s.call(t, "GET", path, s.device(t, civiq.DeviceCounter, "1"), nil, nil); st != 200 {
		t.Errorf("counter 1's device: %d", st)
	}
	for name, tok := range map[string]string{
		"nobody":           "",
		"counter 2 device": s.device(t, civiq.DeviceCounter, "2"),
		"rater":            s.device(t, civiq.DeviceRater, "1"),
	} {
		want := http.StatusForbidden
		if tok == "" {
			want = http.StatusUnauthorized
		}
		if st := s.call(t, "GET", path, tok, nil, nil); st != want {
			t.Errorf("%s: %d, want %d", name, st, want)
		}
	}
	if st := s.call(t, "GET", "/api/v1/halls/demo/counters/99/today", s.Admin, nil, nil); st != 404 {
		t.Errorf("unknown counter: %d", st)
	}

	// A new local day starts from nothing.
	s.Clock.Advance(24 * time.Hour)
	tok, _, _, err := s.Engine.Login(context.Background(), "admin", ctrAdminPassword) // the session has expired
	if err != nil {
		t.Fatal(err)
	}
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
