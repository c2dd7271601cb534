package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/sim"
	"github.com/civiq/civiq/storetest"
)

// fixedClock is a clock that moves only when told.
type fixedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fixedClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// at is a local time of the demo hall on 10 March 2026.
func at(hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", "2026-03-10 "+hhmm, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// dashboard is the dashboard as the API gives it.
type dashboard struct {
	Day                string         `json:"day"`
	TargetSeconds      int            `json:"target_seconds"`
	Waiting            int            `json:"waiting"`
	LongestWaitSeconds int            `json:"longest_wait_seconds"`
	LongestWaitSince   *time.Time     `json:"longest_wait_since"`
	NextChangeAt       time.Time      `json:"next_change_at"`
	CounterStates      map[string]int `json:"counter_states"`
	Services           []struct {
		ID                 string `json:"id"`
		Waiting            int    `json:"waiting"`
		Priority           int    `json:"priority"`
		LongestWaitSeconds int    `json:"longest_wait_seconds"`
		OpenCounters       int    `json:"open_counters"`
		Issued             int    `json:"issued"`
		Called             int    `json:"called"`
		Served             int    `json:"served"`
		MeanWaitSeconds    int    `json:"mean_wait_seconds"`
		WithinTarget       int    `json:"within_target"`
		Missed             int    `json:"missed"`
	} `json:"services"`
	Counters []struct {
		ID            string     `json:"id"`
		Status        string     `json:"status"`
		PauseReason   string     `json:"pause_reason"`
		CurrentNumber string     `json:"current_number"`
		CurrentStatus string     `json:"current_status"`
		CurrentSince  *time.Time `json:"current_since"`
		Served        int        `json:"served"`
	} `json:"counters"`
	Today struct {
		Issued              int      `json:"issued"`
		Called              int      `json:"called"`
		Served              int      `json:"served"`
		NoShows             int      `json:"no_shows"`
		Cancelled           int      `json:"cancelled"`
		WithinTarget        int      `json:"within_target"`
		Missed              int      `json:"missed"`
		WithinTargetShare   *float64 `json:"within_target_share"`
		MeanWaitSeconds     int      `json:"mean_wait_seconds"`
		MaxWaitSeconds      int      `json:"max_wait_seconds"`
		MeanHandlingSeconds int      `json:"mean_handling_seconds"`
	} `json:"today"`
	Hours []struct {
		Hour            int `json:"hour"`
		Arrivals        int `json:"arrivals"`
		Called          int `json:"called"`
		MeanWaitSeconds int `json:"mean_wait_seconds"`
		MaxWaitSeconds  int `json:"max_wait_seconds"`
		WithinTarget    int `json:"within_target"`
	} `json:"hours"`
}

// dashScenario plays a scripted morning in the demo hall (calling by
// service order) on a clock that moves only when told, and leaves it at
// 09:45:
//
//	yesterday 15:00 A001 issued, called, done (not today)
//	08:50 A001 general, 08:55 A002 general, 09:00 C001 tax
//	09:05 counter 1 calls A001 (waited 15:00, just within 15 min)
//	09:06 recall (the wait stays 15:00), 09:07 start, 09:15 finish (9 min from the last call), rated 5
//	09:20 counter 5 calls C001 (waited 20:00), 09:21 no-show
//	09:25 B001 property; 09:26 counter 3 calls it (1:00); 09:30 transferred to tax
//	09:40 counter 5 calls B001 again: its wait stays 1:00
//	09:41 counter 2 paused; 09:44 D001 social
//	09:45: A002 waits 50 min (past the target), D001 1 min
func dashScenario(t *testing.T) (*testServer, *fixedClock) {
	t.Helper()
	clock := &fixedClock{now: time.Date(2026, 3, 9, 15, 0, 0, 0, shanghai)}
	ts := newTestServer(t, func(s *api.Server) { s.Engine.Now = clock.Now })
	// Counters empty their first service first: counter 3 calls property
	// before general.
	ts.do(t, "PUT", "/api/v1/halls/demo/policy", ts.Admin, map[string]any{"policy": "service-order", "max_calls": 3, "late_return_behind": 3}).want(t, 200)
	old := ts.issue(t, ts.Admin, "general")
	ts.callUntil(t, "1", old.ID)
	ts.act(t, ts.Admin, old.ID, "start", nil)
	clock.Set(time.Date(2026, 3, 9, 15, 10, 0, 0, shanghai))
	ts.act(t, ts.Admin, old.ID, "finish", nil)

	clock.Set(at("08:50"))
	ts.Admin = ts.login(t, "admin", adminPassword)
	a1 := ts.issue(t, ts.Admin, "general")
	clock.Set(at("08:55"))
	a2 := ts.issue(t, ts.Admin, "general")
	clock.Set(at("09:00"))
	c1 := ts.issue(t, ts.Admin, "tax")
	if a1.Number != "A001" || a2.Number != "A002" || c1.Number != "C001" {
		t.Fatalf("numbers %s %s %s", a1.Number, a2.Number, c1.Number)
	}
	clock.Set(at("09:05"))
	if got, _ := ts.callNext(t, ts.Admin, "1"); got.ID != a1.ID {
		t.Fatalf("counter 1 called %s", got.Number)
	}
	clock.Set(at("09:06"))
	ts.act(t, ts.Admin, a1.ID, "recall", nil)
	clock.Set(at("09:07"))
	ts.act(t, ts.Admin, a1.ID, "start", nil)
	clock.Set(at("09:15"))
	ts.act(t, ts.Admin, a1.ID, "finish", nil)
	ts.do(t, "POST", "/api/v1/tickets/"+a1.ID+"/rating", "", map[string]any{"score": 5}).want(t, 201)
	clock.Set(at("09:20"))
	if got, _ := ts.callNext(t, ts.Admin, "5"); got.ID != c1.ID {
		t.Fatalf("counter 5 called %s", got.Number)
	}
	clock.Set(at("09:21"))
	ts.act(t, ts.Admin, c1.ID, "no-show", nil)
	clock.Set(at("09:25"))
	b1 := ts.issue(t, ts.Admin, "property")
	clock.Set(at("09:26"))
	if got, _ := ts.callNext(t, ts.Admin, "3"); got.ID != b1.ID {
		t.Fatalf("counter 3 called %s", got.Number)
	}
	clock.Set(at("09:30"))
	ts.act(t, ts.Admin, b1.ID, "transfer", map[string]string{"service_id": "tax"})
	clock.Set(at("09:40"))
	if got, _ := ts.callNext(t, ts.Admin, "5"); got.ID != b1.ID {
		t.Fatalf("counter 5 called %s", got.Number)
	}
	clock.Set(at("09:41"))
	ts.do(t, "POST", "/api/v1/halls/demo/counters/2/status", ts.Admin, map[string]string{"status": "open"}).want(t, 200) // signed in there
	ts.do(t, "POST", "/api/v1/halls/demo/counters/2/status", ts.Admin, map[string]string{"status": "paused", "reason": "午休"}).want(t, 200)
	clock.Set(at("09:44"))
	ts.issue(t, ts.Admin, "social")
	clock.Set(at("09:45"))
	return ts, clock
}

func getDashboard(t *testing.T, ts *testServer, token, query string) dashboard {
	t.Helper()
	var d dashboard
	ts.do(t, "GET", "/api/v1/halls/demo/dashboard"+query, token, nil).want(t, 200).json(t, &d)
	return d
}

// The dashboard's numbers on the scripted morning.
func TestDashboardScenario(t *testing.T) {
	ts, clock := dashScenario(t)
	d := getDashboard(t, ts, ts.Admin, "")
	if d.Day != "2026-03-10" || d.TargetSeconds != 900 {
		t.Fatalf("day %s, target %d", d.Day, d.TargetSeconds)
	}
	if d.Waiting != 2 || d.LongestWaitSeconds != 3000 || d.LongestWaitSince == nil || !d.LongestWaitSince.Equal(at("08:55")) {
		t.Errorf("waiting %d, longest %d since %v; want 2, 3000 since 08:55", d.Waiting, d.LongestWaitSeconds, d.LongestWaitSince)
	}
	// D001, issued at 09:44, passes the target at 09:59: the page fetches
	// again then.
	if !d.NextChangeAt.Equal(at("09:59")) {
		t.Errorf("next change at %v, want 09:59", d.NextChangeAt)
	}
	td := d.Today
	if td.Issued != 5 || td.Called != 3 || td.Served != 1 || td.NoShows != 1 || td.Cancelled != 0 {
		t.Errorf("today %+v: want issued 5, called 3, served 1, no-shows 1", td)
	}
	// Waits of the called: A001 900 s, C001 1200 s, B001 60 s (its first
	// call); A001 and B001 are within 15 min; A002 waits past it.
	if td.WithinTarget != 2 || td.Missed != 1 || td.WithinTargetShare == nil || *td.WithinTargetShare != 0.5 {
		t.Errorf("within target %d, missed %d, share %v; want 2, 1, 0.5", td.WithinTarget, td.Missed, td.WithinTargetShare)
	}
	if td.MeanWaitSeconds != 720 || td.MaxWaitSeconds != 1200 || td.MeanHandlingSeconds != 540 {
		t.Errorf("mean wait %d, max %d, handling %d; want 720, 1200, 540", td.MeanWaitSeconds, td.MaxWaitSeconds, td.MeanHandlingSeconds)
	}
	// The demo's counters are open with nobody signed in: those with no
	// ticket count as closed, as the screens show them (未开放); 5 is busy,
	// 2 paused by its clerk.
	if d.CounterStates["open"] != 1 || d.CounterStates["paused"] != 1 || d.CounterStates["closed"] != 4 || d.CounterStates["busy"] != 1 {
		t.Errorf("counter states %v", d.CounterStates)
	}
	svc := map[string]int{}
	for i, s := range d.Services {
		svc[s.ID] = i
	}
	// open: the counters that work as the estimate counts them
	// (Counter.Works): only 5, B001 at it; 2 is paused, the others open
	// with nobody there.
	type want struct{ waiting, longest, open, issued, called, served, mean, within, missed int }
	for id, w := range map[string]want{
		"general":  {1, 3000, 0, 2, 1, 1, 900, 1, 1},
		"property": {0, 0, 0, 0, 0, 0, 0, 0, 0},
		"tax":      {0, 0, 1, 2, 2, 0, 630, 1, 0}, // C001 and the transferred B001
		"social":   {1, 60, 0, 1, 0, 0, 0, 0, 0},
	} {
		s := d.Services[svc[id]]
		got := want{s.Waiting, s.LongestWaitSeconds, s.OpenCounters, s.Issued, s.Called, s.Served, s.MeanWaitSeconds, s.WithinTarget, s.Missed}
		if got != w {
			t.Errorf("%s: %+v, want %+v", id, got, w)
		}
	}
	if len(d.Services) != 4 || d.Services[0].ID != "general" {
		t.Errorf("services in order: %+v", d.Services)
	}
	c := map[string]int{}
	for i, x := range d.Counters {
		c[x.ID] = i
	}
	if x := d.Counters[c["5"]]; x.CurrentNumber != "B001" || x.CurrentStatus != "called" || x.CurrentSince == nil || !x.CurrentSince.Equal(at("09:40")) {
		t.Errorf("counter 5: %+v", x)
	}
	if x := d.Counters[c["1"]]; x.Served != 1 || x.CurrentNumber != "" {
		t.Errorf("counter 1: %+v", x)
	}
	if x := d.Counters[c["2"]]; x.Status != "paused" || x.PauseReason != "午休" {
		t.Errorf("counter 2: %+v", x)
	}
	// Hours 08:00..17:00 (a hall without opening hours); 8 o'clock: A001
	// and A002 came, A001 called after 900 s; 9 o'clock: C001, B001 and
	// D001 came, C001 (1200 s) and B001 (60 s) called.
	if len(d.Hours) != 10 || d.Hours[0].Hour != 8 || d.Hours[9].Hour != 17 {
		t.Fatalf("hours %+v", d.Hours)
	}
	if h := d.Hours[0]; h.Arrivals != 2 || h.Called != 1 || h.MeanWaitSeconds != 900 || h.MaxWaitSeconds != 900 || h.WithinTarget != 1 {
		t.Errorf("08:00 %+v", h)
	}
	if h := d.Hours[1]; h.Arrivals != 3 || h.Called != 2 || h.MeanWaitSeconds != 630 || h.MaxWaitSeconds != 1200 || h.WithinTarget != 1 {
		t.Errorf("09:00 %+v", h)
	}
	for _, h := range d.Hours[2:] {
		if h.Arrivals != 0 || h.Called != 0 {
			t.Errorf("%d:00 %+v", h.Hour, h)
		}
	}

	// A 20-minute target: C001 is within too, A002 is still past it.
	d = getDashboard(t, ts, ts.Admin, "?target_minutes=20")
	if d.TargetSeconds != 1200 || d.Today.WithinTarget != 3 || d.Today.Missed != 1 || *d.Today.WithinTargetShare != 0.75 {
		t.Errorf("20 min: %d within, %d missed, share %v", d.Today.WithinTarget, d.Today.Missed, *d.Today.WithinTargetShare)
	}
	// A 60-minute target: nobody is past it yet.
	d = getDashboard(t, ts, ts.Admin, "?target_minutes=60")
	if d.Today.WithinTarget != 3 || d.Today.Missed != 0 || *d.Today.WithinTargetShare != 1 {
		t.Errorf("60 min: %+v", d.Today)
	}
	// Ten minutes later the longest wait has grown by 600 s; an evening
	// hour widens the chart.
	clock.Set(at("09:55"))
	if d = getDashboard(t, ts, ts.Admin, ""); d.LongestWaitSeconds != 3600 {
		t.Errorf("at 09:55 the longest wait is %d", d.LongestWaitSeconds)
	}
	clock.Set(at("19:30"))
	if d = getDashboard(t, ts, ts.Admin, ""); d.Hours[len(d.Hours)-1].Hour != 19 || d.Hours[0].Hour != 8 {
		t.Errorf("hours at 19:30: %d..%d", d.Hours[0].Hour, d.Hours[len(d.Hours)-1].Hour)
	}
	// Everyone waiting is past the target: the next change is midnight.
	if want := time.Date(2026, 3, 11, 0, 0, 0, 0, shanghai); !d.NextChangeAt.Equal(want) {
		t.Errorf("next change at %v, want midnight", d.NextChangeAt)
	}
	// The next day starts afresh, but what still waits is still waiting.
	clock.Set(time.Date(2026, 3, 11, 8, 0, 0, 0, shanghai))
	ts.Admin = ts.login(t, "admin", adminPassword)
	d = getDashboard(t, ts, ts.Admin, "")
	if d.Day != "2026-03-11" || d.Today.Issued != 0 || d.Today.Called != 0 || d.Today.WithinTargetShare != nil || d.Waiting != 2 {
		t.Errorf("next day: %s %+v waiting %d", d.Day, d.Today, d.Waiting)
	}
}

func TestDashboardBadInputAndAccess(t *testing.T) {
	ts := newTestServer(t)
	ts.addOtherHall(t)
	manager := ts.createUser(t, "mgr", civiq.RoleManager, "demo")
	staff := ts.createUser(t, "stf", civiq.RoleStaff, "demo")
	otherMgr := ts.createUser(t, "omgr", civiq.RoleManager, "other")
	kiosk := ts.pairDevice(t, "demo", civiq.DeviceKiosk, "")
	for _, q := range []string{"?target_minutes=0", "?target_minutes=241", "?target_minutes=abc", "?target_minutes=NaN"} {
		ts.do(t, "GET", "/api/v1/halls/demo/dashboard"+q, ts.Admin, nil).wantErr(t, 400, "invalid", "target_minutes")
	}
	ts.do(t, "GET", "/api/v1/halls/nope/dashboard", ts.Admin, nil).wantErr(t, 404, "not_found", "")

	// Who may read what: every route but the city stream (TestCityEvents).
	otherStaff := ts.createUser(t, "ostf", civiq.RoleStaff, "other")
	counter := ts.pairDevice(t, "demo", civiq.DeviceCounter, "1")
	display := ts.pairDevice(t, "demo", civiq.DeviceDisplay, "")
	profile := `{"services":[{"id":"s","handling_minutes":5,"arrivals_per_hour":{"09:00":10}}],"counters":[{"id":"1","services":["s"]}]}`
	who := []struct {
		name, token string
		demo, city  int // the answer for the demo hall's routes and for the city
	}{
		{"nobody", "", 401, 401}, {"admin", ts.Admin, 200, 200}, {"demo manager", manager, 200, 200},
		{"demo staff", staff, 403, 403}, {"other manager", otherMgr, 403, 200}, {"other staff", otherStaff, 403, 403},
		{"kiosk", kiosk, 403, 403}, {"counter", counter, 403, 403}, {"display", display, 403, 403},
	}
	for _, w := range who {
		for _, r := range []struct {
			method, path string
			body         any
			want         int
		}{
			{"GET", "/api/v1/halls/demo/dashboard", nil, w.demo},
			{"GET", "/api/v1/halls/demo/plan?source=example&sim_days=2", nil, w.demo},
			{"POST", "/api/v1/halls/demo/plan?sim_days=2", profile, w.demo},
			{"GET", "/api/v1/city", nil, w.city},
		} {
			if got := ts.do(t, r.method, r.path, w.token, r.body); got.Status != r.want {
				t.Errorf("%s: %s %s: %s, want %d", w.name, r.method, r.path, got, r.want)
			}
		}
	}
	ts.do(t, "GET", "/api/v1/halls/other/dashboard", otherMgr, nil).want(t, 200)
}

// cityHall is one hall of the city overview as the API gives it.
type cityHall struct {
	ID                 string   `json:"id"`
	Waiting            int      `json:"waiting"`
	LongestWaitSeconds int      `json:"longest_wait_seconds"`
	Counters           int      `json:"counters"`
	CountersOpen       int      `json:"counters_open"`
	Ratings            int      `json:"ratings"`
	Satisfied          int      `json:"satisfied"`
	SatisfactionRate   *float64 `json:"satisfaction_rate"`
}

type cityOverview struct {
	Halls  []cityHall `json:"halls"`
	Totals cityHall   `json:"totals"`
}

// The city overview: admins see every hall, a manager their own; staff
// and devices none. Satisfaction is the share of today's ratings of 4 and
// 5.
func TestCityOverview(t *testing.T) {
	ts, clock := dashScenario(t)
	ts.addOtherHall(t)
	x := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/other/tickets", ts.Admin, map[string]string{"service_id": "svc"}).want(t, 201))
	ts.do(t, "POST", "/api/v1/halls/other/counters/1/call-next", ts.Admin, nil).want(t, 200)
	ts.act(t, ts.Admin, x.ID, "start", nil)
	ts.act(t, ts.Admin, x.ID, "finish", nil)
	ts.do(t, "POST", "/api/v1/tickets/"+x.ID+"/rating", "", map[string]any{"score": 3}).want(t, 201)
	ts.issue(t, ts.Admin, "general") // demo: A003 at 09:45
	ts.do(t, "POST", "/api/v1/halls/other/counters/1/status", ts.Admin, map[string]string{"status": "closed"}).want(t, 200)
	ts.pairDevice(t, "demo", civiq.DeviceCounter, "3") // calls at 3, open with nobody signed in

	var ov cityOverview
	ts.do(t, "GET", "/api/v1/city", ts.Admin, nil).want(t, 200).json(t, &ov)
	if len(ov.Halls) != 2 || ov.Halls[0].ID != "demo" || ov.Halls[1].ID != "other" {
		t.Fatalf("halls %+v", ov.Halls)
	}
	demo, other := ov.Halls[0], ov.Halls[1]
	// counters_open counts the counters that work, as the hall's dashboard
	// counts its services' (Counter.Works): of the demo's six 5, B001 at
	// it, and 3, its paired counter device's; 2 is paused and the others
	// are open with nobody there.
	if demo.Waiting != 3 || demo.LongestWaitSeconds != 3000 || demo.Counters != 6 || demo.CountersOpen != 2 ||
		demo.Ratings != 1 || demo.Satisfied != 1 || demo.SatisfactionRate == nil || *demo.SatisfactionRate != 1 {
		t.Errorf("demo %+v", demo)
	}
	if other.Waiting != 0 || other.LongestWaitSeconds != 0 || other.CountersOpen != 0 || other.Ratings != 1 || other.Satisfied != 0 || *other.SatisfactionRate != 0 {
		t.Errorf("other %+v", other)
	}
	if tot := ov.Totals; tot.Waiting != 3 || tot.Counters != 7 || tot.CountersOpen != 2 || tot.Ratings != 2 || tot.Satisfied != 1 || *tot.SatisfactionRate != 0.5 || tot.LongestWaitSeconds != 3000 {
		t.Errorf("totals %+v", tot)
	}
	ts.do(t, "GET", "/api/v1/city?halls=other", ts.Admin, nil).want(t, 200).json(t, &ov)
	if len(ov.Halls) != 1 || ov.Halls[0].ID != "other" {
		t.Errorf("?halls=other: %+v", ov.Halls)
	}

	manager := ts.createUser(t, "mgr", civiq.RoleManager, "demo")
	ts.do(t, "GET", "/api/v1/city", manager, nil).want(t, 200).json(t, &ov)
	if len(ov.Halls) != 1 || ov.Halls[0].ID != "demo" {
		t.Errorf("the demo manager sees %+v", ov.Halls)
	}
	ts.do(t, "GET", "/api/v1/city?halls=other", manager, nil).want(t, 200).json(t, &ov)
	if len(ov.Halls) != 0 {
		t.Errorf("the demo manager asked for other and got %+v", ov.Halls)
	}
	staff := ts.createUser(t, "stf", civiq.RoleStaff, "demo")
	ts.do(t, "GET", "/api/v1/city", staff, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", "/api/v1/city", ts.pairDevice(t, "demo", civiq.DeviceDisplay, ""), nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", "/api/v1/city", "", nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "GET", "/api/v1/city/events", staff, nil).wantErr(t, 403, "forbidden", "")

	// Tomorrow, today's ratings are yesterday's.
	clock.Set(time.Date(2026, 3, 11, 8, 0, 0, 0, shanghai))
	ts.Admin = ts.login(t, "admin", adminPassword)
	ts.do(t, "GET", "/api/v1/city", ts.Admin, nil).want(t, 200).json(t, &ov)
	if ov.Halls[0].Ratings != 0 || ov.Halls[0].SatisfactionRate != nil {
		t.Errorf("next day %+v", ov.Halls[0])
	}
}

// The city stream names the halls that changed, gathered, and only those
// the caller may watch.
func TestCityEvents(t *testing.T) {
	ts := newTestServer(t)
	ts.addOtherHall(t)
	manager := ts.createUser(t, "mgr", civiq.RoleManager, "demo")
	open := func(token string) (*bufio.Reader, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/city/events", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := ts.HTTP.Client().Do(req)
		if err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("open city stream: %v %v", err, res)
		}
		br := bufio.NewReader(res.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == ": connected\n" {
				break
			}
		}
		return br, func() { cancel(); res.Body.Close() }
	}
	next := func(br *bufio.Reader) []string {
		t.Helper()
		type msg struct {
			halls []string
			err   error
		}
		ch := make(chan msg, 1)
		go func() {
			event := ""
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					ch <- msg{err: err}
					return
				}
				line = strings.TrimSuffix(line, "\n")
				switch {
				case strings.HasPrefix(line, "event: "):
					event = strings.TrimPrefix(line, "event: ")
				case strings.HasPrefix(line, "data: ") && event == "halls":
					var d struct {
						Halls []string `json:"halls"`
					}
					err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d)
					ch <- msg{d.Halls, err}
					return
				}
			}
		}()
		select {
		case m := <-ch:
			if m.err != nil {
				t.Fatal(m.err)
			}
			return m.halls
		case <-time.After(5 * time.Second):
			t.Fatal("no city event in 5 s")
		}
		return nil
	}
	admin, closeAdmin := open(ts.Admin)
	defer closeAdmin()
	mgr, closeMgr := open(manager)
	defer closeMgr()

	// Events in both halls at once come as one message.
	ts.issue(t, ts.Admin, "general")
	ts.do(t, "POST", "/api/v1/halls/other/tickets", ts.Admin, map[string]string{"service_id": "svc"}).want(t, 201)
	if got := next(admin); strings.Join(got, ",") != "demo,other" {
		t.Errorf("admin got %v", got)
	}
	if got := next(mgr); strings.Join(got, ",") != "demo" {
		t.Errorf("manager got %v", got)
	}
	// The manager hears nothing of the other hall: the next message is
	// the demo hall's again.
	ts.do(t, "POST", "/api/v1/halls/other/tickets", ts.Admin, map[string]string{"service_id": "svc"}).want(t, 201)
	if got := next(admin); strings.Join(got, ",") != "other" {
		t.Errorf("admin got %v", got)
	}
	ts.do(t, "POST", "/api/v1/halls/demo/counters/1/status", ts.Admin, map[string]string{"status": "paused", "reason": "会议"}).want(t, 200)
	if got := next(mgr); strings.Join(got, ",") != "demo" {
		t.Errorf("manager got %v", got)
	}
	if got := next(admin); strings.Join(got, ",") != "demo" {
		t.Errorf("admin got %v", got)
	}
}

// planAnswer is the staffing plan as the API gives it.
type planAnswer struct {
	Source        string  `json:"source"`
	HistoryFrom   string  `json:"history_from"`
	HistoryTo     string  `json:"history_to"`
	HistoryDays   int     `json:"history_days"`
	TargetSeconds float64 `json:"target_seconds"`
	Goal          float64 `json:"goal"`
	Slots         []struct {
		From     string `json:"from"`
		To       string `json:"to"`
		Counters int    `json:"counters"`
	} `json:"slots"`
	Services []struct {
		ID              string  `json:"id"`
		HandlingMinutes float64 `json:"handling_minutes"`
		HandlingCV      float64 `json:"handling_cv"`
		Cells           []struct {
			ArrivalsPerHour float64 `json:"arrivals_per_hour"`
			ErlangCounters  int     `json:"erlang_counters"`
			Counters        int     `json:"counters"`
		} `json:"cells"`
		Simulated struct {
			Customers int  `json:"customers"`
			MeetsGoal bool `json:"meets_goal"`
		} `json:"simulated"`
	} `json:"services"`
	Check struct {
		MeetsGoal bool `json:"meets_goal"`
		Days      int  `json:"days"`
	} `json:"check"`
	Profile map[string]any `json:"profile"`
}

// The planner's API: from a recorded day (twelve general tickets an hour,
// each ten minutes at a counter: 2 erlangs, so 3 counters for 80% within
// 15 minutes), from the example day, from a profile sent, as CSV; and
// what it refuses.
func TestPlanAPI(t *testing.T) {
	clock := &fixedClock{now: time.Date(2026, 3, 9, 8, 0, 0, 0, shanghai)}
	ts := newTestServer(t, func(s *api.Server) { s.Engine.Now = clock.Now })
	// No history yet.
	ts.do(t, "GET", "/api/v1/halls/demo/plan", ts.Admin, nil).wantErr(t, 409, "conflict", "days")

	// 9 March, 09:00-09:55: a general ticket every five minutes, called at
	// once by one of three counters and done ten minutes later.
	type step struct {
		at time.Time
		do func()
	}
	var steps []step
	ids := make([]string, 12)
	for k := range 12 {
		issued := time.Date(2026, 3, 9, 9, 5*k, 0, 0, shanghai)
		counter := []string{"1", "3", "6"}[k%3]
		steps = append(steps, step{issued, func() {
			ids[k] = ts.issue(t, ts.Admin, "general").ID
			if got, _ := ts.callNext(t, ts.Admin, counter); got.ID != ids[k] {
				t.Fatalf("called %s", got.Number)
			}
			ts.act(t, ts.Admin, ids[k], "start", nil)
		}}, step{issued.Add(10 * time.Minute), func() { ts.act(t, ts.Admin, ids[k], "finish", nil) }})
	}
	slices.SortStableFunc(steps, func(a, b step) int { return a.at.Compare(b.at) })
	for _, s := range steps {
		clock.Set(s.at)
		s.do()
	}
	clock.Set(time.Date(2026, 3, 12, 8, 0, 0, 0, shanghai))
	ts.Admin = ts.login(t, "admin", adminPassword)

	var p planAnswer
	ts.do(t, "GET", "/api/v1/halls/demo/plan?days=7", ts.Admin, nil).want(t, 200).json(t, &p)
	if p.Source != "history" || p.HistoryFrom != "2026-03-05" || p.HistoryTo != "2026-03-11" || p.HistoryDays != 1 || p.Goal != 0.8 || p.TargetSeconds != 900 {
		t.Fatalf("plan %+v", p)
	}
	if len(p.Slots) != 1 || p.Slots[0].From != "09:00" || p.Slots[0].To != "10:00" || p.Slots[0].Counters != 3 {
		t.Fatalf("slots %+v", p.Slots)
	}
	g := p.Services[0]
	if g.ID != "general" || g.HandlingMinutes != 10 || g.HandlingCV != 0 || g.Cells[0].ArrivalsPerHour != 12 || g.Cells[0].ErlangCounters != 3 || g.Cells[0].Counters != 3 {
		t.Fatalf("general %+v", g)
	}
	if !p.Check.MeetsGoal || !g.Simulated.MeetsGoal || g.Simulated.Customers == 0 || p.Check.Days != 30 {
		t.Fatalf("check %+v %+v", p.Check, g.Simulated)
	}
	if p.Profile["services"] == nil {
		t.Fatal("no profile in the plan")
	}
	// 95% within 15 minutes needs a fourth counter.
	ts.do(t, "GET", "/api/v1/halls/demo/plan?days=7&goal=0.95&sim_days=5&seed=3", ts.Admin, nil).want(t, 200).json(t, &p)
	if p.Slots[0].Counters != 4 || p.Check.Days != 5 {
		t.Fatalf("95%%: %+v", p.Slots)
	}
	// The two days before 12 March hold no ticket.
	ts.do(t, "GET", "/api/v1/halls/demo/plan?days=2", ts.Admin, nil).wantErr(t, 409, "conflict", "days")

	// The example day.
	ts.do(t, "GET", "/api/v1/halls/demo/plan?source=example", ts.Admin, nil).want(t, 200).json(t, &p)
	if p.Source != "example" || len(p.Slots) != 9 || len(p.Services) != 4 || !p.Check.MeetsGoal {
		t.Fatalf("example %+v", p)
	}

	// A profile sent: the textbook case again, with a 20-minute target.
	profile := `{"services":[{"id":"s","handling_minutes":10,"arrivals_per_hour":{"08:00":12,"09:00":12}}],"counters":[{"id":"1","services":["s"]}]}`
	ts.do(t, "POST", "/api/v1/halls/demo/plan?target_minutes=20", ts.Admin, profile).want(t, 200).json(t, &p)
	if p.Source != "profile" || len(p.Slots) != 2 || p.TargetSeconds != 1200 || p.Services[0].Cells[0].ErlangCounters != 3 {
		t.Fatalf("profile %+v", p)
	}
	r := ts.do(t, "POST", "/api/v1/halls/demo/plan?format=csv&lang=en", ts.Admin, profile).want(t, 200)
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv headers %v", r.Header)
	}
	if want := "\ufeffFrom,To,s arrivals per hour,s counters,Total counters\r\n08:00,09:00,12,3,3\r\n09:00,10:00,12,3,3\r\n"; string(r.Body) != want {
		t.Fatalf("csv %q, want %q", r.Body, want)
	}
	r = ts.do(t, "GET", "/api/v1/halls/demo/plan?days=7&format=csv", ts.Admin, nil).want(t, 200)
	if !strings.HasPrefix(string(r.Body), "\ufeff开始,结束,综合受理 每小时到达,综合受理 窗口数,不动产登记 每小时到达") {
		t.Fatalf("csv %q", r.Body)
	}

	for _, c := range []struct{ method, query, body, status, code, field string }{
		{"GET", "?goal=1", "", "400", "invalid", "goal"},
		{"GET", "?goal=0.4", "", "400", "invalid", "goal"},
		{"GET", "?goal=x", "", "400", "invalid", "goal"},
		{"GET", "?target_minutes=0", "", "400", "invalid", "target_minutes"},
		{"GET", "?target_minutes=241", "", "400", "invalid", "target_minutes"},
		{"GET", "?days=0", "", "400", "invalid", "days"},
		{"GET", "?days=93", "", "400", "invalid", "days"},
		{"GET", "?sim_days=0", "", "400", "invalid", "sim_days"},
		{"GET", "?sim_days=201", "", "400", "invalid", "sim_days"},
		{"GET", "?seed=-1", "", "400", "invalid", "seed"},
		{"GET", "?source=nope", "", "400", "invalid", "source"},
		{"GET", "?format=xml", "", "400", "invalid", "format"},
		{"POST", "", "", "400", "invalid", "profile"},
		{"POST", "", "{", "400", "invalid", "profile"},
		{"POST", "", `{"services":[]}`, "400", "invalid", "profile"},
		{"POST", "", `{"services":[{"id":"s","handling_minutes":10,"arrivals_per_hour":{"25:00":1}}],"counters":[{"id":"1","services":["s"]}]}`, "400", "invalid", "profile"},
		{"POST", "", `{"surprise":1}`, "400", "invalid", "profile"},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		status := map[string]int{"400": 400}[c.status]
		ts.do(t, c.method, "/api/v1/halls/demo/plan"+c.query, ts.Admin, body).wantErr(t, status, c.code, c.field)
	}
	ts.do(t, "GET", "/api/v1/halls/nope/plan?source=example", ts.Admin, nil).wantErr(t, 404, "not_found", "")
	ts.do(t, "POST", "/api/v1/halls/nope/plan", ts.Admin, profile).wantErr(t, 404, "not_found", "")
}

// TestPlanLimits: a plan's work is capped (issue 18: one oversized
// profile ran 3 CPU-minutes to 4.6 GiB after its client left). A profile
// whose arrivals a day × sim_days pass the cap, or whose one day does, is
// 400 naming the limit, at once.
func TestPlanLimits(t *testing.T) {
	ts := newTestServer(t)
	day := func(perHour int) string {
		return fmt.Sprintf(`{"services":[{"id":"s","handling_minutes":1,"arrivals_per_hour":{"08:00":%d,"09:00":0}}],"counters":[{"id":"1","services":["s"]}]}`, perHour)
	}
	for _, c := range []struct{ query, body, field string }{
		{"", day(20_000), "sim_days"},            // 20,000 a day × 30 days
		{"?sim_days=1", day(600_000), "profile"}, // 600,000 in one day
		{"?sim_days=25", day(20_000), ""},        // 500,000: within
	} {
		if c.field == "" && storetest.Kind() == "postgres" {
			// A plan of a posted profile is simulation alone, the same on
			// either store: half a million citizens once (SQLite) is enough.
			continue
		}
		r := ts.do(t, "POST", "/api/v1/halls/demo/plan"+c.query, ts.Admin, c.body)
		if c.field == "" {
			r.want(t, 200)
			continue
		}
		r.wantErr(t, 400, "invalid", c.field)
		var e struct{ Error struct{ Message string } }
		json.Unmarshal(r.Body, &e)
		if !strings.Contains(e.Error.Message, strconv.Itoa(sim.MaxPlanWork)) {
			t.Errorf("%s: the message %q does not name the limit %d", c.query, e.Error.Message, sim.MaxPlanWork)
		}
	}
}
