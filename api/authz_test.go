package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The principals of the matrix, in the order of its columns.
const (
	pAnon = iota
	pAdmin
	pMgrDemo
	pStaffDemo
	pMgrOther
	pStaffOther
	pKiosk    // kiosk of demo
	pDisplay  // display of demo
	pRater1   // rater of demo counter 1
	pCounter1 // counter device of demo counter 1
	pCounter2 // counter device of demo counter 2
	nPrincipals
)

var principalNames = [nPrincipals]string{"anon", "admin", "mgr-demo", "staff-demo", "mgr-other", "staff-other", "kiosk", "display", "rater-1", "counter-1", "counter-2"}

// Expected outcomes: A is allowed (any 2xx), U is 401, F is 403.
const (
	A = 200
	U = http.StatusUnauthorized
	F = http.StatusForbidden
)

type principal struct {
	name  string
	token string
	user  string // username, for users: a row may sign them in anew
}

type authzRow struct {
	route string // the pattern as registered in routes.go
	note  string // what this row varies, when a route has several rows
	// prep gives a fresh path and body for each cell.
	prep func(t *testing.T) (path string, body any)
	// fresh signs users in anew for the cell (logout ends the session).
	fresh bool
	want  [nPrincipals]int
}

// TestAuthzMatrix checks every route behind the auth middleware against
// every kind of caller.
func TestAuthzMatrix(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addOtherHall(t)
	ps := [nPrincipals]principal{
		pAnon:       {},
		pAdmin:      {token: ts.Admin, user: "admin"},
		pMgrDemo:    {token: ts.createUser(t, "mgr-demo", "manager", "demo"), user: "mgr-demo"},
		pStaffDemo:  {token: ts.createUser(t, "staff-demo", "staff", "demo"), user: "staff-demo"},
		pMgrOther:   {token: ts.createUser(t, "mgr-other", "manager", "other"), user: "mgr-other"},
		pStaffOther: {token: ts.createUser(t, "staff-other", "staff", "other"), user: "staff-other"},
		pKiosk:      {token: ts.pairDevice(t, "demo", "kiosk", "")},
		pDisplay:    {token: ts.pairDevice(t, "demo", "display", "")},
		pRater1:     {token: ts.pairDevice(t, "demo", "rater", "1")},
		pCounter1:   {token: ts.pairDevice(t, "demo", "counter", "1")},
		pCounter2:   {token: ts.pairDevice(t, "demo", "counter", "2")},
	}
	for i := range ps {
		ps[i].name = principalNames[i]
	}

	var hall struct {
		Hall map[string]any `json:"hall"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo", "", nil).want(t, 200).json(t, &hall)
	anyTicket := ts.issue(t, ts.Admin, "property")

	fixed := func(path string, body any) func(*testing.T) (string, any) {
		return func(*testing.T) (string, any) { return path, body }
	}
	// calledAt gives a ticket of hall called at counter, with the action
	// path; more moves it on as admin first.
	calledAt := func(hall, service, counter, action string, body any, more ...string) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			tk := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/"+hall+"/tickets", ts.Admin, map[string]string{"service_id": service}).want(t, 201))
			for i := 0; ; i++ {
				c := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/"+hall+"/counters/"+counter+"/call-next", ts.Admin, nil).want(t, 200))
				if c.ID == tk.ID {
					break
				}
				if i == 50 {
					t.Fatalf("%s counter %s never called %s", hall, counter, tk.Number)
				}
			}
			for _, m := range more {
				ts.act(t, ts.Admin, tk.ID, m, nil)
			}
			return "/api/v1/tickets/" + tk.ID + "/" + action, body
		}
	}
	demoCalled := func(action string, body any, more ...string) func(*testing.T) (string, any) {
		return calledAt("demo", "general", "1", action, body, more...)
	}
	n := 0
	newUser := func(*testing.T) (string, any) {
		n++
		return "/api/v1/users", map[string]any{"username": fmt.Sprintf("user-%d", n), "password": userPassword, "role": "staff", "hall_ids": []string{"demo"}}
	}
	newCode := func(t *testing.T) (string, any) {
		var d struct {
			Device struct {
				PairingCode string `json:"pairing_code"`
			} `json:"device"`
		}
		ts.do(t, "POST", "/api/v1/halls/demo/devices", ts.Admin, map[string]string{"kind": "kiosk"}).want(t, 201).json(t, &d)
		return "/api/v1/devices/pair", map[string]string{"code": d.Device.PairingCode}
	}
	waitingTicket := func(action string) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			return "/api/v1/tickets/" + ts.issue(t, ts.Admin, "tax").ID + "/" + action, nil
		}
	}
	rating := map[string]int{"score": 4}
	doneAt1 := func(t *testing.T) (string, any) {
		demoCalled("", nil, "start", "finish")(t)
		return "/api/v1/halls/demo/counters/1/last-done", nil
	}

	rows := []authzRow{
		//                                                                                                            anon admin mgrD staffD mgrO staffO kiosk display rater1 ctr1 ctr2
		{route: "POST /api/v1/auth/login", prep: fixed("/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword}), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "POST /api/v1/auth/logout", prep: fixed("/api/v1/auth/logout", nil), fresh: true, want: [nPrincipals]int{U, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/auth/me", prep: fixed("/api/v1/auth/me", nil), want: [nPrincipals]int{U, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/halls", prep: fixed("/api/v1/halls", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/halls/{hall}", prep: fixed("/api/v1/halls/demo", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "PUT /api/v1/halls/{hall}", prep: fixed("/api/v1/halls/demo", hall.Hall), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/services", prep: fixed("/api/v1/halls/demo/services", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "PUT /api/v1/halls/{hall}/services/{service}", prep: fixed("/api/v1/halls/demo/services/general", map[string]any{"prefix": "A", "name": "综合受理", "name_en": "General intake", "position": 0}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/counters", prep: fixed("/api/v1/halls/demo/counters", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "PUT /api/v1/halls/{hall}/counters/{counter}", prep: fixed("/api/v1/halls/demo/counters/1", map[string]any{"name": "1号窗口", "service_ids": []string{"general", "social"}}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/counters/{counter}/status", prep: fixed("/api/v1/halls/demo/counters/1/status", map[string]string{"status": "open"}), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/halls/{hall}/counters/{counter}/status", note: "counter 2", prep: fixed("/api/v1/halls/demo/counters/2/status", map[string]string{"status": "open"}), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, A}},
		{route: "GET /api/v1/halls/{hall}/status", prep: fixed("/api/v1/halls/demo/status", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/halls/{hall}/events", prep: fixed("/api/v1/halls/demo/events", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "POST /api/v1/halls/{hall}/announcements", prep: fixed("/api/v1/halls/demo/announcements", map[string]string{"text": "请注意"}), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/tickets", note: "default channel", prep: fixed("/api/v1/halls/demo/tickets", map[string]string{"service_id": "tax"}), want: [nPrincipals]int{A, A, A, A, F, F, A, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/tickets", note: "kiosk channel", prep: fixed("/api/v1/halls/demo/tickets", map[string]string{"service_id": "tax", "channel": "kiosk"}), want: [nPrincipals]int{U, A, A, A, F, F, A, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/tickets", note: "other hall", prep: fixed("/api/v1/halls/other/tickets", map[string]string{"service_id": "svc", "channel": "kiosk"}), want: [nPrincipals]int{U, A, F, F, A, A, F, F, F, F, F}},
		{route: "GET /api/v1/tickets/{id}", prep: fixed("/api/v1/tickets/"+anyTicket.ID, nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "POST /api/v1/halls/{hall}/counters/{counter}/call-next", prep: fixed("/api/v1/halls/demo/counters/1/call-next", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/halls/{hall}/counters/{counter}/call-next", note: "counter 2", prep: fixed("/api/v1/halls/demo/counters/2/call-next", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, A}},
		{route: "POST /api/v1/halls/{hall}/counters/{counter}/call-next", note: "other hall", prep: fixed("/api/v1/halls/other/counters/1/call-next", nil), want: [nPrincipals]int{U, A, F, F, A, A, F, F, F, F, F}},
		{route: "POST /api/v1/tickets/{id}/recall", prep: demoCalled("recall", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/recall", note: "counter 2", prep: calledAt("demo", "general", "2", "recall", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, A}},
		{route: "POST /api/v1/tickets/{id}/recall", note: "other hall", prep: calledAt("other", "svc", "1", "recall", nil), want: [nPrincipals]int{U, A, F, F, A, A, F, F, F, F, F}},
		{route: "POST /api/v1/tickets/{id}/start", prep: demoCalled("start", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/finish", prep: demoCalled("finish", nil, "start"), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/no-show", prep: demoCalled("no-show", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/transfer", prep: demoCalled("transfer", map[string]string{"service_id": "tax"}), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/return", prep: demoCalled("return", nil, "no-show"), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/cancel", prep: waitingTicket("cancel"), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "POST /api/v1/tickets/{id}/rating", prep: demoCalled("rating", rating, "start", "finish"), want: [nPrincipals]int{A, A, A, A, A, A, F, F, A, F, F}},
		{route: "POST /api/v1/tickets/{id}/rating", note: "counter 2", prep: calledAt("demo", "general", "2", "rating", rating, "start", "finish"), want: [nPrincipals]int{A, A, A, A, A, A, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/counters/{counter}/last-done", prep: doneAt1, want: [nPrincipals]int{U, A, F, F, F, F, F, F, A, F, F}},
		{route: "GET /api/v1/users", prep: fixed("/api/v1/users", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/users", prep: newUser, want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/devices", prep: fixed("/api/v1/halls/demo/devices", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/devices", prep: fixed("/api/v1/halls/demo/devices", map[string]string{"kind": "display"}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/devices/pair", prep: newCode, want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
	}

	// Every route behind the middleware has a row, and every row a route.
	registered := registeredRoutes(t)
	var covered []string
	for _, r := range rows {
		covered = append(covered, r.route)
		if !slices.Contains(registered, r.route) {
			t.Errorf("matrix row for %q, which routes.go does not register", r.route)
		}
	}
	for _, r := range registered {
		if !slices.Contains(covered, r) {
			t.Errorf("route %q has no row in the matrix", r)
		}
	}

	for _, row := range rows {
		name := row.route
		if row.note != "" {
			name += " (" + row.note + ")"
		}
		t.Run(name, func(t *testing.T) {
			for i, p := range ps {
				path, body := row.prep(t)
				token := p.token
				if row.fresh && p.user != "" {
					pw := userPassword
					if p.user == "admin" {
						pw = adminPassword
					}
					token = ts.login(t, p.user, pw)
				}
				method, _, _ := strings.Cut(row.route, " ")
				before := ts.lastEventID(t)
				got, r := cellStatus(t, ts, method, path, token, body)
				want := row.want[i]
				switch {
				case want == A && (got < 200 || got > 299):
					t.Errorf("%s: want allowed, got %s", p.name, r)
				case want != A && got != want:
					t.Errorf("%s: want %d, got %s", p.name, want, r)
				case want != A:
					code := map[int]string{U: "unauthorized", F: "forbidden"}[want]
					if e := r.apiErr(t); e.Error.Code != code {
						t.Errorf("%s: want code %s, got %s", p.name, code, r)
					}
					if after := ts.lastEventID(t); after != before {
						t.Errorf("%s: a refused request wrote events (%d -> %d)", p.name, before, after)
					}
				}
			}
		})
	}
}

// cellStatus sends one request of the matrix; an event stream is only
// opened and closed.
func cellStatus(t *testing.T, ts *testServer, method, path, token string, body any) (int, *resp) {
	if !strings.HasSuffix(path, "/events") {
		r := ts.do(t, method, path, token, body)
		return r.Status, r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := ts.HTTP.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	r := &resp{Status: res.StatusCode, Header: res.Header}
	if res.StatusCode != 200 {
		r.Body, _ = io.ReadAll(res.Body)
	} else if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("events Content-Type %q", ct)
	}
	return res.StatusCode, r
}

// registeredRoutes reads the patterns that routes.go registers behind the
// auth middleware (s.handle), expanding the loop over ticket actions.
func registeredRoutes(t *testing.T) []string {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatalf("read routes.go: %v", err)
	}
	var out []string
	actions := regexp.MustCompile(`"([a-z-]+)":\s*civiq\.Act`).FindAllStringSubmatch(string(src), -1)
	for _, m := range regexp.MustCompile(`s\.handle\("([A-Z]+ [^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		if strings.HasSuffix(m[1], "/") {
			if len(actions) == 0 {
				t.Fatalf("routes.go: cannot expand %q", m[1])
			}
			for _, a := range actions {
				out = append(out, m[1]+a[1])
			}
			continue
		}
		out = append(out, m[1])
	}
	if len(out) < 20 {
		t.Fatalf("routes.go: found only %d routes: %v", len(out), out)
	}
	return out
}

// TestCookieSessionCSRF: a cookie session must send its X-CSRF-Token with
// every change; bearer tokens need none.
func TestCookieSessionCSRF(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	r := ts.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": adminPassword}).want(t, 200)
	var login struct {
		Token     string `json:"token"`
		CSRFToken string `json:"csrf_token"`
		ExpiresAt string `json:"expires_at"`
	}
	r.json(t, &login)
	if login.CSRFToken == "" || login.CSRFToken == login.Token {
		t.Fatalf("login: %s", r)
	}
	if _, err := time.Parse(time.RFC3339, login.ExpiresAt); err != nil {
		t.Errorf("expires_at %q: %v", login.ExpiresAt, err)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "civiq_session" {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != login.Token || !cookie.HttpOnly {
		t.Fatalf("session cookie: %+v", cookie)
	}
	ck := header{"Cookie", "civiq_session=" + login.Token}
	path := "/api/v1/halls/demo/counters/1/status"
	body := map[string]string{"status": "open"}

	ts.do(t, "GET", "/api/v1/auth/me", "", nil, ck).want(t, 200)
	ts.do(t, "POST", path, "", body, ck).wantErr(t, 403, "forbidden", "")
	ts.do(t, "POST", path, "", body, ck, header{"X-CSRF-Token", "wrong"}).wantErr(t, 403, "forbidden", "")
	ts.do(t, "POST", path, "", body, ck, header{"X-CSRF-Token", login.Token}).wantErr(t, 403, "forbidden", "")
	ts.do(t, "POST", path, "", body, ck, header{"X-CSRF-Token", login.CSRFToken}).want(t, 200)
	ts.do(t, "PUT", "/api/v1/halls/demo/counters/1", "", map[string]any{"service_ids": []string{"general", "social"}}, ck).wantErr(t, 403, "forbidden", "")
	// A bearer token sends no CSRF token.
	ts.do(t, "POST", path, login.Token, body).want(t, 200)
	// Even an anonymous-friendly change needs it with a cookie.
	ts.do(t, "POST", "/api/v1/halls/demo/tickets", "", map[string]string{"service_id": "general"}, ck).wantErr(t, 403, "forbidden", "")

	// After logout the cookie is stale: the same as none.
	ts.do(t, "POST", "/api/v1/auth/logout", "", nil, ck, header{"X-CSRF-Token", login.CSRFToken}).want(t, 204)
	ts.do(t, "GET", "/api/v1/halls", "", nil, ck).want(t, 200)
	ts.do(t, "GET", "/api/v1/auth/me", "", nil, ck).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "POST", path, "", body, ck, header{"X-CSRF-Token", login.CSRFToken}).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "GET", "/api/v1/auth/me", login.Token, nil).wantErr(t, 401, "unauthorized", "")
}

// TestBadTokens: malformed, unknown, logged-out and expired tokens are 401,
// even on routes anyone may use.
func TestBadTokens(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	staff := ts.createUser(t, "staff1", "staff", "demo")
	kiosk := ts.pairDevice(t, "demo", "kiosk", "")

	for _, auth := range []string{"Bearer", "Bearer ", "Basic YWRtaW46eA==", "Token " + ts.Admin, "Bearer not-a-token", "Bearer " + ts.Admin + "x"} {
		for _, path := range []string{"/api/v1/auth/me", "/api/v1/halls"} {
			ts.do(t, "GET", path, "", nil, header{"Authorization", auth}).wantErr(t, 401, "unauthorized", "")
		}
		ts.do(t, "POST", "/api/v1/halls/demo/counters/1/call-next", "", nil, header{"Authorization", auth}).wantErr(t, 401, "unauthorized", "")
	}
	// No credentials at all on a protected route.
	ts.do(t, "POST", "/api/v1/halls/demo/counters/1/call-next", "", nil).wantErr(t, 401, "unauthorized", "")

	// A pairing code works once.
	var d struct {
		Device struct {
			PairingCode string `json:"pairing_code"`
		} `json:"device"`
	}
	ts.do(t, "POST", "/api/v1/halls/demo/devices", ts.Admin, map[string]string{"kind": "display"}).want(t, 201).json(t, &d)
	ts.do(t, "POST", "/api/v1/devices/pair", "", map[string]string{"code": d.Device.PairingCode}).want(t, 200)
	ts.do(t, "POST", "/api/v1/devices/pair", "", map[string]string{"code": d.Device.PairingCode}).wantErr(t, 401, "unauthorized", "")

	// Logged out.
	other := ts.login(t, "staff1", userPassword)
	ts.do(t, "POST", "/api/v1/auth/logout", other, nil).want(t, 204)
	ts.do(t, "GET", "/api/v1/auth/me", other, nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "GET", "/api/v1/auth/me", staff, nil).want(t, 200) // the other session lives on

	// Expired: sessions last 12 hours; device tokens do not expire.
	ts.Clock.Advance(11 * time.Hour)
	ts.do(t, "GET", "/api/v1/auth/me", staff, nil).want(t, 200)
	ts.Clock.Advance(2 * time.Hour)
	ts.do(t, "GET", "/api/v1/auth/me", staff, nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "GET", "/api/v1/halls", "", nil, header{"Authorization", "Bearer " + staff}).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "POST", "/api/v1/halls/demo/counters/1/call-next", staff, nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "GET", "/api/v1/auth/me", kiosk, nil).want(t, 200)
	fresh := ts.login(t, "staff1", userPassword)
	ts.do(t, "GET", "/api/v1/auth/me", fresh, nil).want(t, 200)
}
