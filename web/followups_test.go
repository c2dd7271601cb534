package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// deskHall is the demo hall with a month of 好差评 for the desk and the
// results page: on 2 November 2026 a clerk's ticket rated 1 with a phone
// and a case (overdue by 1 December), then on 1 December a ticket rated 2
// without a phone and one rated 5.
type deskHall struct {
	*civiqtest.Server
	// Tokens of the hall's managers (mgr, mgr2), its clerk, and a
	// manager of another hall.
	Mgr, Mgr2, Clerk, Other string
	// Overdue and Fresh are the two bad ratings' tickets.
	Overdue, Fresh *civiq.Ticket
	CaseNumber     string
}

const deskPassword = "desk-password-0001"

func newDeskHall(t testing.TB) *deskHall {
	t.Helper()
	s := civiqtest.New(t)
	ctx := context.Background()
	if _, err := s.Engine.LoadDemoGuides(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Engine.SaveHall(ctx, &civiq.Hall{ID: "h2", Name: "二号大厅", Timezone: "Asia/Shanghai", Policy: civiq.PolicyFIFO, MaxCalls: 3}); err != nil {
		t.Fatal(err)
	}
	d := &deskHall{Server: s}
	user := func(name, role string, halls ...string) string {
		if err := s.Engine.CreateUser(ctx, &civiq.User{Username: name, Role: role, HallIDs: halls}, deskPassword); err != nil {
			t.Fatal(err)
		}
		return s.Login(t, name, deskPassword)
	}
	d.Mgr, d.Mgr2, d.Clerk, d.Other = user("mgr", civiq.RoleManager, "demo"), user("mgr2", civiq.RoleManager, "demo"),
		user("clerk", civiq.RoleStaff, "demo"), user("mgr-h2", civiq.RoleManager, "h2")
	clerk, _, err := s.Engine.Authenticate(ctx, d.Clerk)
	if err != nil {
		t.Fatal(err)
	}
	asClerk := civiq.WithActor(ctx, clerk)
	serve := func(service string, withCase bool) *civiq.Ticket {
		tk, err := s.Engine.IssueTicket(ctx, civiq.IssueRequest{HallID: "demo", ServiceID: service, Channel: civiq.ChannelKiosk}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			c, err := s.Engine.CallNext(asClerk, "demo", "6", nil)
			if err != nil || c == nil {
				t.Fatalf("call-next: %v %v", c, err)
			}
			if c.ID == tk.ID {
				break
			}
			if _, err := s.Engine.Act(asClerk, civiq.ActRequest{TicketID: c.ID, Action: civiq.ActFinish}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if withCase {
			c, err := s.Engine.OpenCase(asClerk, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-s-card",
				Applicant: civiq.Applicant{Name: "张三", Phone: "13912345678"}})
			if err != nil {
				t.Fatal(err)
			}
			d.CaseNumber = c.Number
		}
		if _, err := s.Engine.Act(asClerk, civiq.ActRequest{TicketID: tk.ID, Action: civiq.ActFinish}, nil); err != nil {
			t.Fatal(err)
		}
		return tk
	}
	rate := func(tk *civiq.Ticket, req civiq.RateRequest) {
		req.TicketID = tk.ID
		if _, err := s.Engine.Rate(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	s.Clock.Set(time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai))
	d.Overdue = serve("social", true)
	rate(d.Overdue, civiq.RateRequest{Score: 1, Reasons: []string{"long_wait", "poor_attitude"}, Comment: "等了两个小时没人理", ContactPhone: "13800001111"})
	s.Clock.Set(time.Date(2026, 12, 1, 10, 0, 0, 0, shanghai))
	d.Fresh = serve("general", false)
	rate(d.Fresh, civiq.RateRequest{Score: 2, Reasons: []string{"unskilled"}, Comment: "材料讲不清楚"})
	rate(serve("general", false), civiq.RateRequest{Score: 5})
	return d
}

// client is an HTTP client signed in with token, which follows no
// redirect.
func (d *deskHall) client(t testing.TB, token string) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(d.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: civiq.SessionCookie, Value: token, Path: "/"}})
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestFollowUpDeskAccess: the desk is for the hall's managers and the
// admins; the results page is for everyone and shows nobody.
func TestFollowUpDeskAccess(t *testing.T) {
	d := newDeskHall(t)
	if status, _ := get(t, nil, d.URL+"/halls/demo/followups"); status != http.StatusSeeOther {
		t.Errorf("anonymous desk: %d; want a redirect to sign in", status)
	}
	for _, c := range []struct {
		who, token string
		want       int
	}{{"clerk", d.Clerk, 403}, {"manager of another hall", d.Other, 403}, {"manager", d.Mgr, 200}, {"admin", d.Admin, 200}} {
		status, page := get(t, d.client(t, c.token), d.URL+"/halls/demo/followups")
		if status != c.want {
			t.Errorf("%s: desk %d, want %d", c.who, status, c.want)
		}
		if c.want == 403 && strings.Contains(page, "fu-config") {
			t.Errorf("%s: the refusal carries the desk", c.who)
		}
		if c.want == 200 {
			mustContain(t, page, "好差评整改台", `id="fu-config"`, `"staff":["clerk","mgr","mgr2"]`, `"rejection_requested":["verifying","rejected"]`, "/static/followups.js")
		}
	}
	if status, _ := get(t, d.client(t, d.Mgr), d.URL+"/halls/nope/followups"); status != 404 {
		t.Errorf("unknown hall: %d", status)
	}

	// The results of November: one bad rating, nothing of the citizen.
	for _, q := range []string{"?month=2026-11", "?month=2026-12&lang=en"} {
		status, page := get(t, nil, d.URL+"/halls/demo/results"+q)
		if status != 200 {
			t.Fatalf("results %s: %d", q, status)
		}
		for _, secret := range []string{"13800001111", "138****1111", "等了两个小时", "材料讲不清楚", "clerk", d.Overdue.Number, d.Fresh.Number, d.CaseNumber} {
			if strings.Contains(page, secret) {
				t.Errorf("results %s show %q", q, secret)
			}
		}
	}
	_, page := get(t, nil, d.URL+"/halls/demo/results?month=2026-12")
	mustContain(t, page, "好差评结果公示", "本月共 2 次评价", "50%", "非常不满意", `href="?month=2026-11"`)
	if n := strings.Count(page, `class="rs-bar"`); n != 2 {
		t.Errorf("two levels rated, %d bars (a level nobody gave has none)", n)
	}
	if strings.Contains(page, `rel="next"`) {
		t.Error("this month links a month to come")
	}
	if status, _ := get(t, nil, d.URL+"/halls/demo/results?month=2026-13"); status != 400 {
		t.Errorf("a bad month: %d", status)
	}
	if status, _ := get(t, nil, d.URL+"/halls/nope/results"); status != 404 {
		t.Errorf("results of an unknown hall: %d", status)
	}
	res, err := http.Get(d.URL + "/halls/demo/results/qr.svg")
	if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("the results' QR code: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if _, page := get(t, nil, d.URL+"/halls/demo/display"); !strings.Contains(page, `href="/halls/demo/results"`) {
		t.Error("the display does not link the results")
	}
	if _, page := get(t, nil, d.URL+"/t/"+d.Fresh.ID); !strings.Contains(page, `href="/halls/demo/results"`) || strings.Contains(page, "匿名") {
		t.Error("the phone page does not link the results, or says 匿名")
	}

	// Reachable from the home page and the dashboard.
	_, home := get(t, d.client(t, d.Mgr), d.URL+"/")
	mustContain(t, home, `href="/halls/demo/followups"`, `href="/halls/demo/results"`)
	_, db := get(t, d.client(t, d.Mgr), d.URL+"/halls/demo/dashboard")
	mustContain(t, db, `href="/halls/demo/followups"`, `href="/halls/demo/followups?overdue=1"`, `id="db-rates"`)
}
