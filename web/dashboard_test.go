package web_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// mgrPassword is the password of every user of the managers' pages tests:
// the admin's, which mgr and stf share.
const mgrPassword = civiqtest.AdminPassword

// mgrSite is the real server (civiqtest) with the demo hall and the users
// admin, mgr (manager of demo) and stf (staff of demo).
type mgrSite struct {
	*civiqtest.Server
	// Noon is today at 11:20 in Shanghai by the real clock: the moment
	// the tests' mornings are played up to.
	Noon time.Time
}

var mgrTZ = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func newMgrSite(t testing.TB) *mgrSite {
	t.Helper()
	s := civiqtest.New(t, func(s *civiqtest.Server) {
		s.API.Heartbeat = time.Second
		for _, u := range []civiq.User{{Username: "mgr", Role: civiq.RoleManager, HallIDs: []string{"demo"}},
			{Username: "stf", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}} {
			if err := s.Engine.CreateUser(context.Background(), &u, mgrPassword); err != nil {
				t.Fatal(err)
			}
		}
	})
	y, m, d := time.Now().In(mgrTZ).Date()
	return &mgrSite{Server: s, Noon: time.Date(y, m, d, 11, 20, 0, 0, mgrTZ)}
}

// dayPlan is a day to play in a hall: arrivals per hour and handling
// minutes of each service, from and to (local times of day), and things
// that happen at given times.
type dayPlan struct {
	Hall     string
	Day      time.Time // local midnight
	From, To time.Duration
	Rates    map[string]float64 // per hour
	Handling map[string]float64 // minutes
	Seed     uint64
	// NoShow and Rated are shares of the tickets called.
	NoShow, Rated float64
	// Good is the share of 4 and 5 among ratings (the rest are 3).
	Good float64
	// At runs at the first step at or after its time of day.
	At map[time.Duration]func(eng *civiq.Engine)
	// Step is the time between two looks at the hall (30 s unless set).
	Step time.Duration
}

// play drives the engine through a day, in steps of 30 seconds: arrivals
// drawn by their rates; every open counter that is free calls the next
// ticket, starts it (or marks a no-show) and finishes it after a handling
// time drawn around its service's mean; finished tickets are rated.
func (s *mgrSite) play(t testing.TB, p dayPlan) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(p.Seed, 7))
	type busy struct {
		id     string
		doneAt time.Duration
	}
	svcs, err := s.Engine.Services(ctx, p.Hall)
	if err != nil {
		t.Fatal(err)
	}
	at := map[string]*busy{}
	done := map[time.Duration]bool{}
	step := p.Step
	if step <= 0 {
		step = 30 * time.Second
	}
	for now := p.From; now < p.To; now += step {
		s.Clock.Set(p.Day.Add(now))
		for when, fn := range p.At {
			if !done[when] && now >= when {
				done[when] = true
				fn(s.Engine)
			}
		}
		for _, sv := range svcs {
			lambda := p.Rates[sv.ID] * step.Hours()
			// Poisson by inversion.
			n, l, prod := 0, math.Exp(-lambda), rng.Float64()
			for prod > l {
				n++
				prod *= rng.Float64()
			}
			for range n {
				if _, err := s.Engine.IssueTicket(ctx, civiq.IssueRequest{HallID: p.Hall, ServiceID: sv.ID, Channel: civiq.ChannelKiosk}, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		cs, err := s.Engine.Counters(ctx, p.Hall)
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Engine.Status(ctx, p.Hall)
		if err != nil {
			t.Fatal(err)
		}
		waiting := st.Waiting
		for _, c := range cs {
			b := at[c.ID]
			if b != nil && now >= b.doneAt {
				if _, err := s.Engine.Act(ctx, civiq.ActRequest{TicketID: b.id, Action: civiq.ActFinish}, nil); err != nil {
					t.Fatal(err)
				}
				if rng.Float64() < p.Rated {
					score := 3
					if rng.Float64() < p.Good {
						score = 4 + rng.IntN(2)
					}
					if _, err := s.Engine.Rate(ctx, civiq.RateRequest{TicketID: b.id, Score: score}); err != nil {
						t.Fatal(err)
					}
				}
				at[c.ID], b = nil, nil
			}
			if b != nil || c.Status != civiq.CounterOpen {
				continue
			}
			someone := false // calling when nobody waits is a write for nothing
			for _, sv := range c.ServiceIDs {
				someone = someone || waiting[sv] > 0
			}
			if !someone {
				continue
			}
			tk, err := s.Engine.CallNext(ctx, p.Hall, c.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tk == nil {
				continue
			}
			waiting[tk.ServiceID]--
			if rng.Float64() < p.NoShow {
				if _, err := s.Engine.Act(ctx, civiq.ActRequest{TicketID: tk.ID, Action: civiq.ActNoShow}, nil); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if _, err := s.Engine.Act(ctx, civiq.ActRequest{TicketID: tk.ID, Action: civiq.ActStart}, nil); err != nil {
				t.Fatal(err)
			}
			mean := p.Handling[tk.ServiceID] * float64(time.Minute)
			d := time.Duration(mean * (0.4 + 0.6*rng.ExpFloat64()))
			at[c.ID] = &busy{tk.ID, now + max(d.Round(step), step)}
		}
	}
}

// demoMorning plays the demo hall from 08:30 to 11:20 today: busier than
// its counters keep up with, counter 2 away since 10:40 and counter 6
// closed at 11:00.
func (s *mgrSite) demoMorning(t testing.TB) { s.demoFrom(t, 8*time.Hour+30*time.Minute) }

// demoFrom plays the demo hall's morning from a time of day to 11:20.
func (s *mgrSite) demoFrom(t testing.TB, from time.Duration) {
	t.Helper()
	day := time.Date(s.Noon.Year(), s.Noon.Month(), s.Noon.Day(), 0, 0, 0, 0, mgrTZ)
	s.play(t, dayPlan{Hall: "demo", Day: day, From: from, To: 11*time.Hour + 20*time.Minute, Seed: 1,
		Rates:    map[string]float64{"general": 30, "property": 8, "tax": 5, "social": 12},
		Handling: map[string]float64{"general": 6, "property": 14, "tax": 10, "social": 5},
		NoShow:   0.04, Rated: 0.7, Good: 0.93,
		At: map[time.Duration]func(*civiq.Engine){
			8 * time.Hour: func(e *civiq.Engine) { // stf opens counter 1: signed in there
				us, _ := e.Users(context.Background())
				for i := range us {
					if us[i].Username == "stf" {
						e.SetCounterStatus(civiq.WithActor(context.Background(), civiq.Principal{User: &us[i]}), "demo", "1", civiq.CounterOpen, "", nil)
					}
				}
			},
			10*time.Hour + 40*time.Minute: func(e *civiq.Engine) { // stf steps away, still signed in
				e.SetCounterStatus(context.Background(), "demo", "1", civiq.CounterPaused, "临时离开", nil)
			},
			11 * time.Hour: func(e *civiq.Engine) {
				e.SetCounterStatus(context.Background(), "demo", "6", civiq.CounterClosed, "", nil)
			},
		}})
	s.Clock.Set(s.Noon)
}

// demoHistory plays the demo hall's whole days before today, quieter
// than the morning (SQLite under the race detector is slow), for the
// planner to read.
func (s *mgrSite) demoHistory(t testing.TB, days int) {
	t.Helper()
	today := time.Date(s.Noon.Year(), s.Noon.Month(), s.Noon.Day(), 0, 0, 0, 0, mgrTZ)
	for i := days; i >= 1; i-- {
		s.play(t, dayPlan{Hall: "demo", Day: today.AddDate(0, 0, -i), From: 8*time.Hour + 30*time.Minute, To: 17 * time.Hour, Seed: uint64(100 + i),
			Step:     2 * time.Minute,
			Rates:    map[string]float64{"general": 14, "property": 4, "tax": 3, "social": 6},
			Handling: map[string]float64{"general": 6, "property": 14, "tax": 10, "social": 5},
			NoShow:   0.04})
	}
	s.Clock.Set(s.Noon)
}

// client is a browser-like client with a cookie jar, signed in as user.
func (s *mgrSite) client(t testing.TB, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if user == "" {
		return c
	}
	res, err := c.PostForm(s.URL+"/login", url.Values{"username": {user}, "password": {mgrPassword}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", user, res.StatusCode)
	}
	return c
}

func mgrGet(t testing.TB, c *http.Client, u string) (int, http.Header, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// Who may open the managers' pages: nobody is sent to sign in, staff and
// other halls' managers get a plain 403 page, an unknown hall is 404, the
// hall's manager and admins get the page in Chinese or English with the
// hall's data for the script.
func TestManagerPagesAccess(t *testing.T) {
	s := newMgrSite(t)
	ctx := context.Background()
	if err := s.Engine.SaveHall(ctx, &civiq.Hall{ID: "east", Name: "东区政务服务中心", NameEn: "East District Service Centre", Timezone: "Asia/Shanghai"}); err != nil {
		t.Fatal(err)
	}
	u := civiq.User{Username: "east", Role: civiq.RoleManager, HallIDs: []string{"east"}}
	if err := s.Engine.CreateUser(ctx, &u, mgrPassword); err != nil {
		t.Fatal(err)
	}
	anon, staff, mgr, admin, east := s.client(t, ""), s.client(t, "stf"), s.client(t, "mgr"), s.client(t, "admin"), s.client(t, "east")
	for _, path := range []string{"/halls/demo/dashboard", "/halls/demo/planner", "/halls/demo/reports", "/city"} {
		code, h, _ := mgrGet(t, anon, s.URL+path+"?lang=en")
		if code != http.StatusSeeOther || h.Get("Location") != "/login?next="+url.QueryEscape(path+"?lang=en") {
			t.Errorf("%s anonymous: %d %s", path, code, h.Get("Location"))
		}
		code, _, body := mgrGet(t, staff, s.URL+path)
		if code != http.StatusForbidden || !strings.Contains(body, "您没有查看此页面的权限") {
			t.Errorf("%s staff: %d", path, code)
		}
	}
	for _, path := range []string{"/halls/demo/dashboard", "/halls/demo/planner", "/halls/demo/reports"} {
		if code, _, _ := mgrGet(t, east, s.URL+path); code != http.StatusForbidden {
			t.Errorf("%s, another hall's manager: %d", path, code)
		}
		for _, c := range []*http.Client{mgr, admin} {
			code, h, body := mgrGet(t, c, s.URL+path+"?lang=zh-CN")
			if code != 200 || !strings.Contains(body, `<html lang="zh-CN">`) || !strings.Contains(body, "示范政务服务大厅") ||
				!strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("%s: %d", path, code)
			}
		}
		code, _, body := mgrGet(t, mgr, s.URL+path+"?lang=en")
		if code != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Demo Service Hall") {
			t.Errorf("%s in English: %d", path, code)
		}
		if code, _, _ := mgrGet(t, admin, s.URL+strings.Replace(path, "demo", "nope", 1)); code != http.StatusNotFound {
			t.Errorf("%s of an unknown hall: %d", path, code)
		}
	}
	// The dashboard takes its target from the address, within reason.
	_, _, body := mgrGet(t, mgr, s.URL+"/halls/demo/dashboard?target=25")
	if !strings.Contains(body, `"target":25`) || !strings.Contains(body, `<option value="25" selected>`) {
		t.Error("target=25 is not taken")
	}
	_, _, body = mgrGet(t, mgr, s.URL+"/halls/demo/dashboard?target=9999")
	if !strings.Contains(body, `"target":15`) {
		t.Error("target=9999 is not refused")
	}
	// The city: the manager's halls only; every hall for admins.
	for user, want := range map[*http.Client][]string{mgr: {"demo"}, east: {"east"}, admin: {"demo", "east"}} {
		code, _, body := mgrGet(t, user, s.URL+"/city")
		if code != 200 {
			t.Fatalf("city: %d", code)
		}
		i := strings.Index(body, `<script type="application/json" id="cy-config">`)
		j := strings.Index(body[i:], "</script>")
		var cfg struct {
			Overview struct {
				Halls []struct {
					ID string `json:"id"`
				} `json:"halls"`
			} `json:"overview"`
		}
		if err := json.Unmarshal([]byte(body[i+len(`<script type="application/json" id="cy-config">`):i+j]), &cfg); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range cfg.Overview.Halls {
			got = append(got, h.ID)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("city shows %v, want %v", got, want)
		}
	}
}

// The scripted morning gives the figures the dashboard shows, the same
// through the API and from the engine, and they hold together.
func TestDemoMorningFigures(t *testing.T) {
	s := newMgrSite(t)
	start := time.Now()
	s.demoMorning(t)
	t.Logf("played the morning in %v", time.Since(start))
	d, err := s.Engine.Dashboard(context.Background(), "demo", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	waiting := 0
	for _, sv := range d.Services {
		waiting += sv.Waiting
	}
	if d.Waiting != waiting || d.Today.Issued != d.Today.Called+waiting || d.Today.Served+d.Today.NoShows+d.CounterStates["busy"] != d.Today.Called {
		t.Errorf("figures do not add up: %+v, waiting %d, busy %d", d.Today, waiting, d.CounterStates["busy"])
	}
	if d.CounterStates["paused"] != 1 || d.CounterStates["closed"] != 1 || d.Waiting < 5 || d.Today.Issued < 100 {
		t.Errorf("the morning is not the busy one meant: %+v %v waiting %d", d.Today, d.CounterStates, d.Waiting)
	}
	t.Logf("%+v waiting %d longest %ds", d.Today, d.Waiting, d.LongestWaitSeconds)
	// stf is signed in at counter 1, paused; the others were opened by
	// nobody (the demo's loading): busy while a ticket is there, else not
	// open, never idle.
	for _, c := range d.Counters {
		if c.Staffed != (c.ID == "1") || c.ID == "1" && c.Shown != civiq.ShownPaused || c.ID != "1" && c.Shown == civiq.ShownIdle {
			t.Errorf("counter %s: %s, staffed %v, shown %s, current %q", c.ID, c.Status, c.Staffed, c.Shown, c.CurrentNumber)
		}
	}
}
