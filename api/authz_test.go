package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
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

// Expected outcomes: A is allowed (any 2xx), U is 401, F is 403, N is 404
// (a webhook of someone else is not found), B is 400 (the route asks this
// caller for what it does not send). P passes the access check but the
// handler may refuse the input (neither 401 nor 403): for the few cells
// whose success needs a setup the matrix does not make.
const (
	A = 200
	U = http.StatusUnauthorized
	F = http.StatusForbidden
	N = http.StatusNotFound
	B = http.StatusBadRequest
	P = 1
)

type principal struct {
	name  string
	token string
	user  string // username, for users: a row may sign them in anew
}

type authzRow struct {
	route string // the pattern as the server registers it
	note  string // what this row varies, when a route has several rows
	// prep gives a fresh path and body for each cell.
	prep func(t *testing.T) (path string, body any)
	// fresh signs users in anew for the cell (logout ends the session).
	fresh bool
	// after undoes what an allowed cell changed that later cells need.
	after func(t *testing.T, p principal)
	want  [nPrincipals]int
}

// TestAuthzMatrix checks every route of the API server against every kind
// of caller.
func TestAuthzMatrix(t *testing.T) {
	t.Parallel()
	ts := newBookingServer(t) // a secret key (bookings), a working Monday
	if ok, err := ts.Engine.LoadDemoGuides(context.Background()); err != nil || !ok {
		t.Fatalf("LoadDemoGuides = %v, %v", ok, err)
	}
	keys, err := civiq.NewReceiptKeys(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ts.Engine.Receipts = keys
	ts.bookingSettings(t, map[string]any{"phone_limit_per_hour": 0, "address_limit_per_hour": 0})
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
	// waitingFor gives a new waiting ticket of hall's service to call at
	// counter out of order.
	waitingFor := func(hall, service, counter string) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			tk := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/"+hall+"/tickets", ts.Admin, map[string]string{"service_id": service}).want(t, 201))
			return "/api/v1/halls/" + hall + "/counters/" + counter + "/call", map[string]string{"ticket_id": tk.ID, "reason": "急事"}
		}
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

	// Fresh things for the rows of routes that change or remove them.
	seq := 0
	next := func() int { seq++; return seq }
	// Opting a ticket in, each by a number of its own (one number opts in
	// a few tickets a day); for the opt-out, opted in first.
	optInTicket := func(out bool) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			path := "/api/v1/tickets/" + ts.issue(t, ts.Admin, "tax").ID + "/notify"
			body := map[string]string{"phone": fmt.Sprintf("1380000%04d", next())}
			if !out {
				return path, body
			}
			ts.do(t, "POST", path, "", body).want(t, 201)
			return path, nil
		}
	}
	freshUser := func(suffix string) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			name := fmt.Sprintf("target-%d", next())
			ts.createUser(t, name, "staff", "demo")
			return "/api/v1/users/" + name + suffix, nil
		}
	}
	freshDevice := func(suffix string) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			var d struct {
				Device struct {
					ID any `json:"id"`
				} `json:"device"`
			}
			ts.do(t, "POST", "/api/v1/halls/demo/devices", ts.Admin, map[string]string{"kind": "display"}).want(t, 201).json(t, &d)
			return fmt.Sprintf("/api/v1/halls/demo/devices/%v%s", d.Device.ID, suffix), nil
		}
	}
	freshService := func(t *testing.T) (string, any) {
		id := fmt.Sprintf("gone-%d", next())
		ts.do(t, "PUT", "/api/v1/halls/demo/services/"+id, ts.Admin, map[string]any{"prefix": "Z" + string(rune('A'+seq%26)), "name": "临时", "name_en": "Temporary", "position": 90}).want(t, 200)
		return "/api/v1/halls/demo/services/" + id, nil
	}
	freshCounter := func(t *testing.T) (string, any) {
		id := fmt.Sprintf("gone-%d", next())
		ts.do(t, "PUT", "/api/v1/halls/demo/counters/"+id, ts.Admin, map[string]any{"name": "临时窗口", "service_ids": []string{"general"}}).want(t, 200)
		return "/api/v1/halls/demo/counters/" + id, nil
	}
	freshGuide := func(t *testing.T) (string, any) {
		id := fmt.Sprintf("gone-%d", next())
		ts.do(t, "PUT", "/api/v1/halls/demo/guides/"+id, ts.Admin, map[string]any{"name": "临时事项", "service_id": "general"}).want(t, 200)
		return "/api/v1/halls/demo/guides/" + id, nil
	}
	calendarDay := func(t *testing.T) (string, any) {
		ts.do(t, "PUT", "/api/v1/halls/demo/calendar/days/2031-12-30", ts.Admin, map[string]string{"kind": "off", "name": "闭馆"}).want(t, 200)
		return "/api/v1/halls/demo/calendar/days/2031-12-30", nil
	}
	// freshFollowUp gives the follow-up of a bad rating of a ticket
	// served at demo counter 1, with the action path.
	freshFollowUp := func(action string, body any) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			tk := ts.serve(t, ts.Admin, "1", "general")
			r := ratingOf(t, ts.rate(t, "", tk.ID, map[string]any{"score": 1, "reasons": []string{"等候时间长"}, "comment": "太慢", "contact_phone": "13812345678"}).want(t, 201))
			var fs struct {
				FollowUps []followUp `json:"followups"`
			}
			ts.do(t, "GET", "/api/v1/halls/demo/followups", ts.Admin, nil).want(t, 200).json(t, &fs)
			for _, f := range fs.FollowUps {
				if f.TicketID == r.TicketID {
					return fmt.Sprintf("/api/v1/followups/%d%s", f.ID, action), body
				}
			}
			t.Fatalf("no follow-up of %s", tk.Number)
			return "", nil
		}
	}
	caseBody := map[string]any{"guide_id": "demo-s-card", "applicant": map[string]string{"name": "张三", "phone": apiPhone, "id_number": apiID},
		"materials": []map[string]string{{"id": "m1"}, {"id": "m3"}}}
	// freshCase opens a case on a ticket served at demo counter 1.
	freshCase := func(suffix string, body any) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			path, _ := calledAt("demo", "social", "1", "cases", nil)(t)
			c := caseOf(t, ts.do(t, "POST", path, ts.Admin, caseBody).want(t, 201))
			return "/api/v1/cases/" + c.Number + suffix, body
		}
	}
	// freshBooking books a slot of Tuesday for a new person.
	freshBooking := func(format string) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			n := next()
			b := ts.book(t, "general", slotOn(4, 9+n%8, 0), 100+n)
			return fmt.Sprintf(format, b.Booking.Code, personLast4(100+n)), nil
		}
	}
	bookNew := func(*testing.T) (string, any) {
		n := next()
		return "/api/v1/halls/demo/bookings", bookBody("general", slotOn(5, 9+n%8, 0), 100+n)
	}
	var settings struct {
		Settings map[string]any `json:"settings"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/booking-settings", "", nil).want(t, 200).json(t, &settings)
	var ratingSettings struct {
		Settings map[string]any `json:"settings"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/rating-settings", ts.Admin, nil).want(t, 200).json(t, &ratingSettings)
	// Webhooks: a receiver on loopback, allowed for the test.
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(hooks.Close)
	ts.Engine.WebhookAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	hookBody := map[string]any{"url": hooks.URL + "/hook", "events": []string{"*"}, "halls": []string{"demo"}}
	freshHook := func(suffix string, body any) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			var h struct {
				Webhook struct {
					ID int64 `json:"id"`
				} `json:"webhook"`
			}
			ts.do(t, "POST", "/api/v1/webhooks", ts.Admin, hookBody).want(t, 201).json(t, &h)
			return fmt.Sprintf("/api/v1/webhooks/%d%s", h.Webhook.ID, suffix), body
		}
	}
	freshEdgeToken := func(suffix string) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			var e struct {
				EdgeToken struct {
					ID int64 `json:"id"`
				} `json:"edge_token"`
			}
			ts.do(t, "POST", "/api/v1/halls/other/edge-tokens", ts.Admin, nil).want(t, 201).json(t, &e)
			return fmt.Sprintf("/api/v1/halls/other/edge-tokens/%d%s", e.EdgeToken.ID, suffix), nil
		}
	}
	reporterBody := map[string]any{"url": hooks.URL + "/hcp", "auth": "hmac", "key": "0123456789abcdef"}
	freshReporter := func(suffix string, body any) func(*testing.T) (string, any) {
		return func(t *testing.T) (string, any) {
			var r struct {
				Reporter struct {
					ID int64 `json:"id"`
				} `json:"reporter"`
			}
			ts.do(t, "POST", "/api/v1/haochaping/reporters", ts.Admin, reporterBody).want(t, 201).json(t, &r)
			return fmt.Sprintf("/api/v1/haochaping/reporters/%d%s", r.Reporter.ID, suffix), body
		}
	}
	// The password row changes each user's password and puts it back.
	newPassword := userPassword + "-new"
	passwordOf := func(p principal) string {
		if p.user == "admin" {
			return adminPassword
		}
		return userPassword
	}
	var cellPrincipal principal
	changePassword := func(*testing.T) (string, any) {
		return "/api/v1/auth/password", map[string]string{"current": passwordOf(cellPrincipal), "new": newPassword}
	}
	putBack := func(t *testing.T, p principal) {
		ts.do(t, "PUT", "/api/v1/auth/password", p.token, map[string]string{"current": newPassword, "new": passwordOf(p)}).want(t, 204)
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
		{route: "POST /api/v1/halls/{hall}/counters/{counter}/call", prep: waitingFor("demo", "general", "1"), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/halls/{hall}/counters/{counter}/call", note: "counter 2", prep: waitingFor("demo", "general", "2"), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, A}},
		{route: "POST /api/v1/halls/{hall}/counters/{counter}/call", note: "other hall", prep: waitingFor("other", "svc", "1"), want: [nPrincipals]int{U, A, F, F, A, A, F, F, F, F, F}},
		{route: "POST /api/v1/tickets/{id}/recall", prep: demoCalled("recall", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/recall", note: "counter 2", prep: calledAt("demo", "general", "2", "recall", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, A}},
		{route: "POST /api/v1/tickets/{id}/recall", note: "other hall", prep: calledAt("other", "svc", "1", "recall", nil), want: [nPrincipals]int{U, A, F, F, A, A, F, F, F, F, F}},
		{route: "POST /api/v1/tickets/{id}/on-behalf", prep: demoCalled("on-behalf", map[string]any{"on_behalf": map[string]string{"role": "family"}}), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/start", prep: demoCalled("start", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/finish", prep: demoCalled("finish", nil, "start"), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/no-show", prep: demoCalled("no-show", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/transfer", prep: demoCalled("transfer", map[string]string{"service_id": "tax"}), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/return", prep: demoCalled("return", nil, "no-show"), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/tickets/{id}/cancel", prep: waitingTicket("cancel"), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "POST /api/v1/tickets/{id}/rating", prep: demoCalled("rating", rating, "start", "finish"), want: [nPrincipals]int{A, A, A, A, A, A, F, F, A, F, F}},
		{route: "POST /api/v1/tickets/{id}/rating", note: "counter 2", prep: calledAt("demo", "general", "2", "rating", rating, "start", "finish"), want: [nPrincipals]int{A, A, A, A, A, A, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/counters/{counter}/last-done", prep: doneAt1, want: [nPrincipals]int{U, A, A, F, F, F, F, F, A, F, F}},
		{route: "GET /api/v1/users", prep: fixed("/api/v1/users", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/users", prep: newUser, want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/devices", prep: fixed("/api/v1/halls/demo/devices", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/devices", prep: fixed("/api/v1/halls/demo/devices", map[string]string{"kind": "display"}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/devices/pair", prep: newCode, want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /healthz", prep: fixed("/healthz", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /readyz", prep: fixed("/readyz", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /metrics", note: "from loopback", prep: fixed("/metrics", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "/api/", note: "no such route", prep: fixed("/api/v1/no-such-route", nil), want: [nPrincipals]int{N, N, N, N, N, N, N, N, N, N, N}},
		{route: "GET /api/v1/halls/{hall}/counters/{counter}/today", prep: fixed("/api/v1/halls/demo/counters/1/today", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "GET /api/v1/halls/{hall}/counters/{counter}/today", note: "counter 2", prep: fixed("/api/v1/halls/demo/counters/2/today", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, A}},
		{route: "GET /api/v1/halls/{hall}/counters/{counter}/waiting", prep: fixed("/api/v1/halls/demo/counters/1/waiting", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "GET /api/v1/halls/{hall}/counters/{counter}/waiting", note: "counter 2", prep: fixed("/api/v1/halls/demo/counters/2/waiting", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, A}},
		{route: "PUT /api/v1/auth/password", prep: changePassword, after: putBack, want: [nPrincipals]int{U, A, A, A, A, A, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/setup", prep: fixed("/api/v1/halls/demo/setup", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "PUT /api/v1/halls/{hall}/policy", prep: fixed("/api/v1/halls/demo/policy", map[string]any{"policy": hall.Hall["policy"], "max_calls": hall.Hall["max_calls"], "late_return_behind": hall.Hall["late_return_behind"]}), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/announcements", prep: fixed("/api/v1/halls/demo/announcements", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/halls/{hall}/services/{service}", prep: freshService, want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/halls/{hall}/counters/{counter}", prep: freshCounter, want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "PUT /api/v1/users/{username}", prep: func(t *testing.T) (string, any) {
			path, _ := freshUser("")(t)
			return path, map[string]any{"hall_ids": []string{"demo", "other"}}
		}, want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/users/{username}", prep: freshUser(""), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/users/{username}/lock", prep: freshUser("/lock"), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/audit", prep: fixed("/api/v1/audit", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/sso", prep: fixed("/api/v1/sso", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "PUT /api/v1/sso", prep: fixed("/api/v1/sso", map[string]any{"oidc": nil, "ldap": nil}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/halls/{hall}/devices/{id}", prep: freshDevice(""), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/devices/{id}/pairing-code", prep: freshDevice("/pairing-code"), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/waits", prep: fixed("/api/v1/halls/demo/waits", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},

		{route: "GET /api/v1/halls/{hall}/followups", prep: fixed("/api/v1/halls/demo/followups", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/followups/counts", prep: fixed("/api/v1/halls/demo/followups/counts", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/followups/{followup}", prep: freshFollowUp("", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/followups/{followup}/transition", prep: freshFollowUp("/transition", map[string]any{"to": "verifying", "note": "已回访"}), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/followups/{followup}/extend", prep: freshFollowUp("/extend", map[string]any{"reason": "需跨部门协调"}), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/followups/{followup}/phone", prep: freshFollowUp("/phone", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/calendar/deadline", prep: fixed("/api/v1/calendar/deadline?from=2031-03-03&working_days=15&hall=demo", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/halls/{hall}/calendar/{year}", prep: fixed("/api/v1/halls/demo/calendar/2031", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "PUT /api/v1/halls/{hall}/calendar/{year}", prep: fixed("/api/v1/halls/demo/calendar/2031", map[string]any{"days": []map[string]string{{"date": "2031-12-31", "kind": "off", "name": "闭馆"}}}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/halls/{hall}/calendar/{year}", prep: fixed("/api/v1/halls/demo/calendar/2031", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "PUT /api/v1/halls/{hall}/calendar/days/{date}", prep: fixed("/api/v1/halls/demo/calendar/days/2031-12-30", map[string]string{"kind": "off", "name": "闭馆"}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/halls/{hall}/calendar/days/{date}", prep: calendarDay, want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/rating-settings", prep: fixed("/api/v1/halls/demo/rating-settings", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "PUT /api/v1/halls/{hall}/rating-settings", prep: fixed("/api/v1/halls/demo/rating-settings", ratingSettings.Settings), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/rating-reasons", prep: fixed("/api/v1/halls/demo/rating-reasons", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/halls/{hall}/reports/ratings", prep: fixed("/api/v1/halls/demo/reports/ratings", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/ratings", prep: fixed("/api/v1/halls/demo/ratings", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/ratings/public", prep: fixed("/api/v1/halls/demo/ratings/public", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},

		{route: "GET /api/v1/halls/{hall}/guides", prep: fixed("/api/v1/halls/demo/guides", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/guides/{guide}", prep: fixed("/api/v1/guides/demo-s-card", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "PUT /api/v1/halls/{hall}/guides/{guide}", prep: fixed("/api/v1/halls/demo/guides/authz", map[string]any{"name": "授权测试", "service_id": "general"}), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/halls/{hall}/guides/{guide}", prep: freshGuide, want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/guides/export", prep: fixed("/api/v1/halls/demo/guides/export?format=json", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/guides/import", prep: fixed("/api/v1/halls/demo/guides/import?format=json&mode=merge", map[string]any{"guides": []map[string]any{{"id": "authz-import", "name": "导入测试", "service_id": "general"}}}), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/tickets/{id}/cases", prep: calledAt("demo", "social", "1", "cases", caseBody), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "GET /api/v1/tickets/{id}/cases", prep: fixed("/api/v1/tickets/"+anyTicket.ID+"/cases", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/cases", prep: fixed("/api/v1/halls/demo/cases", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/cases/{number}", note: "citizen view", prep: freshCase("?id_last4=1239", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/cases/{number}", note: "whole case", prep: freshCase("", nil), want: [nPrincipals]int{B, A, A, A, F, F, F, F, F, A, F}},
		{route: "POST /api/v1/cases/{number}/transition", prep: freshCase("/transition", map[string]string{"to": "reviewing"}), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, A, F}},
		{route: "GET /api/v1/receipts/verify", prep: fixed("/api/v1/receipts/verify?payload=not-a-receipt", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/receipts/keys", prep: fixed("/api/v1/receipts/keys", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /.well-known/civiq-receipt-keys", prep: fixed("/.well-known/civiq-receipt-keys", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},

		{route: "GET /api/v1/halls/{hall}/services/{service}/slots", prep: fixed("/api/v1/halls/demo/services/general/slots?date=2031-03-04", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/halls/{hall}/booking-settings", prep: fixed("/api/v1/halls/demo/booking-settings", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "PUT /api/v1/halls/{hall}/booking-settings", prep: fixed("/api/v1/halls/demo/booking-settings", settings.Settings), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/bookings", prep: bookNew, want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/halls/{hall}/bookings", prep: fixed("/api/v1/halls/demo/bookings?date=2031-03-04", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/bookings/{code}", note: "the holder", prep: freshBooking("/api/v1/bookings/%s?id_last4=%s"), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/bookings/{code}", note: "staff", prep: func(t *testing.T) (string, any) {
			path, _ := freshBooking("/api/v1/bookings/%s?%s")(t)
			path, _, _ = strings.Cut(path, "?")
			return path, nil
		}, want: [nPrincipals]int{N, A, A, A, N, N, N, N, N, N, N}},
		{route: "DELETE /api/v1/bookings/{code}", prep: freshBooking("/api/v1/bookings/%s?id_last4=%s"), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/bookings/{code}/ics", prep: freshBooking("/api/v1/bookings/%s/ics?id_last4=%s"), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/bookings/{code}/qr.svg", prep: fixed("/api/v1/bookings/ABCDEFGH/qr.svg", nil), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/booking-passes/qr.svg", prep: fixed("/api/v1/booking-passes/qr.svg?pass=not-a-pass", nil), want: [nPrincipals]int{B, B, B, B, B, B, B, B, B, B, B}},
		{route: "POST /api/v1/halls/{hall}/checkins", prep: func(t *testing.T) (string, any) {
			path, _ := freshBooking("%s %s")(t)
			code, last4, _ := strings.Cut(path, " ")
			return "/api/v1/halls/demo/checkins", map[string]string{"code": code, "id_last4": last4}
		}, want: [nPrincipals]int{U, P, P, P, F, F, P, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/strikes", prep: fixed("/api/v1/halls/demo/strikes?all=1", nil), want: [nPrincipals]int{U, A, A, A, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/strikes/{strike}/clear", prep: fixed("/api/v1/halls/demo/strikes/1/clear", map[string]string{"reason": "系统故障"}), want: [nPrincipals]int{U, P, P, P, F, F, F, F, F, F, F}},

		{route: "GET /api/v1/halls/{hall}/dashboard", prep: fixed("/api/v1/halls/demo/dashboard", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/reports/staff", prep: fixed("/api/v1/halls/demo/reports/staff", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/reports/services", prep: fixed("/api/v1/halls/demo/reports/services", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/plan", prep: fixed("/api/v1/halls/demo/plan?source=example", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/plan", prep: fixed("/api/v1/halls/demo/plan", map[string]any{}), want: [nPrincipals]int{U, P, P, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/city", prep: fixed("/api/v1/city", nil), want: [nPrincipals]int{U, A, A, F, A, F, F, F, F, F, F}},
		{route: "GET /api/v1/city/events", prep: fixed("/api/v1/city/events", nil), want: [nPrincipals]int{U, A, A, F, A, F, F, F, F, F, F}},

		{route: "POST /api/v1/webhooks", prep: fixed("/api/v1/webhooks", hookBody), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/webhooks", prep: fixed("/api/v1/webhooks", nil), want: [nPrincipals]int{U, A, A, F, A, F, F, F, F, F, F}},
		{route: "GET /api/v1/webhooks/{id}", prep: freshHook("", nil), want: [nPrincipals]int{U, A, A, N, N, N, N, N, N, N, N}},
		{route: "PUT /api/v1/webhooks/{id}", prep: freshHook("", hookBody), want: [nPrincipals]int{U, A, A, N, N, N, N, N, N, N, N}},
		{route: "DELETE /api/v1/webhooks/{id}", prep: freshHook("", nil), want: [nPrincipals]int{U, A, A, N, N, N, N, N, N, N, N}},
		{route: "POST /api/v1/webhooks/{id}/rotate-secret", prep: freshHook("/rotate-secret", nil), want: [nPrincipals]int{U, A, A, N, N, N, N, N, N, N, N}},
		{route: "GET /api/v1/webhooks/{id}/deliveries", prep: freshHook("/deliveries", nil), want: [nPrincipals]int{U, A, A, N, N, N, N, N, N, N, N}},
		{route: "POST /api/v1/webhooks/{id}/replay", prep: freshHook("/replay", map[string]int64{"from_event_id": 1}), want: [nPrincipals]int{U, A, A, N, N, N, N, N, N, N, N}},
		{route: "POST /api/v1/webhooks/{id}/skip", prep: freshHook("/skip", nil), want: [nPrincipals]int{U, P, F, N, N, N, N, N, N, N, N}},
		{route: "GET /api/v1/halls/{hall}/reports/haochaping-sync", prep: fixed("/api/v1/halls/demo/reports/haochaping-sync?date=2026-12-01", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/reports/haochaping-records", prep: fixed("/api/v1/halls/demo/reports/haochaping-records?date=2026-12-01", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/tickets/{id}/province-page", prep: demoCalled("province-page", nil, "start", "finish"), want: [nPrincipals]int{U, P, P, F, F, F, F, F, P, F, F}},
		{route: "POST /api/v1/halls/{hall}/haochaping/callback", prep: fixed("/api/v1/halls/demo/haochaping/callback", map[string]any{"case_number": "x", "level": 5}), want: [nPrincipals]int{P, P, P, P, P, P, P, P, P, P, P}},
		{route: "GET /api/v1/haochaping/fields", prep: fixed("/api/v1/haochaping/fields", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/haochaping/reporters", prep: fixed("/api/v1/haochaping/reporters", reporterBody), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/haochaping/reporters", prep: fixed("/api/v1/haochaping/reporters", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/haochaping/reporters/{id}", prep: freshReporter("", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "PUT /api/v1/haochaping/reporters/{id}", prep: freshReporter("", reporterBody), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/haochaping/reporters/{id}", prep: freshReporter("", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/haochaping/reporters/{id}/deliveries", prep: freshReporter("/deliveries", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/haochaping/reporters/{id}/skip", prep: freshReporter("/skip", nil), want: [nPrincipals]int{U, P, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/haochaping/reporters/{id}/replay", prep: freshReporter("/replay", map[string]int64{"from_event_id": 1}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/webhooks/{id}/test", prep: freshHook("/test", nil), want: [nPrincipals]int{U, A, A, N, N, N, N, N, N, N, N}},
		// Edge tokens, last: the hall "other" has an edge from here on, so
		// the city refuses its live work (api/edge_test.go has the edge
		// token's own column).
		{route: "POST /api/v1/halls/{hall}/edge-tokens", prep: fixed("/api/v1/halls/other/edge-tokens", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/edge-tokens", prep: fixed("/api/v1/halls/other/edge-tokens", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "DELETE /api/v1/halls/{hall}/edge-tokens/{id}", prep: freshEdgeToken(""), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/edge-tokens/{id}/rotate", prep: freshEdgeToken("/rotate"), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/node", prep: fixed("/api/v1/node", nil), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/edge/hello", prep: fixed("/api/v1/halls/other/edge/hello", map[string]any{"edge_id": "e1"}), want: [nPrincipals]int{U, F, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/edge/events", prep: fixed("/api/v1/halls/other/edge/events", map[string]any{"edge_id": "e1", "after": 0, "events": []any{}}), want: [nPrincipals]int{U, F, F, F, F, F, F, F, F, F, F}},
		{route: "PUT /api/v1/halls/{hall}/notifications", prep: fixed("/api/v1/halls/demo/notifications", map[string]any{"sms": map[string]string{"provider": "log"}}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/notifications", prep: fixed("/api/v1/halls/demo/notifications", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/notifications/messages", prep: fixed("/api/v1/halls/demo/notifications/messages", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/notifications/report", prep: fixed("/api/v1/halls/demo/notifications/report", nil), want: [nPrincipals]int{U, A, A, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/notifications/callbacks/{token}/{provider}/{what}", note: "the token is the access: a wrong one is not found for everyone", prep: fixed("/api/v1/halls/demo/notifications/callbacks/00000000000000000000000000000000/aliyun/report", []any{}), want: [nPrincipals]int{N, N, N, N, N, N, N, N, N, N, N}},
		{route: "POST /api/v1/halls/{hall}/notifications/test", prep: fixed("/api/v1/halls/demo/notifications/test", map[string]string{"phone": "13800000000"}), want: [nPrincipals]int{U, A, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/tickets/{id}/notify", prep: optInTicket(false), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "DELETE /api/v1/tickets/{id}/notify", prep: optInTicket(true), want: [nPrincipals]int{A, A, A, A, A, A, A, A, A, A, A}},
		{route: "GET /api/v1/halls/{hall}/edge/config", prep: fixed("/api/v1/halls/other/edge/config", nil), want: [nPrincipals]int{U, F, F, F, F, F, F, F, F, F, F}},
		{route: "GET /api/v1/halls/{hall}/edge/requests", prep: fixed("/api/v1/halls/other/edge/requests", nil), want: [nPrincipals]int{U, F, F, F, F, F, F, F, F, F, F}},
		{route: "POST /api/v1/halls/{hall}/edge/requests/{id}/answer", prep: fixed("/api/v1/halls/other/edge/requests/1/answer", map[string]any{}), want: [nPrincipals]int{U, F, F, F, F, F, F, F, F, F, F}},
	}

	// Every route the server registered has a row, and every row a route.
	registered := registeredRoutes(t, ts)
	var covered []string
	for _, r := range rows {
		covered = append(covered, r.route)
		if !slices.Contains(registered, r.route) {
			t.Errorf("matrix row for %q, which the server does not register", r.route)
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
				cellPrincipal = p
				path, body := row.prep(t)
				token := p.token
				if row.fresh && p.user != "" {
					pw := userPassword
					if p.user == "admin" {
						pw = adminPassword
					}
					token = ts.login(t, p.user, pw)
				}
				method, _, ok := strings.Cut(row.route, " ")
				if !ok { // a pattern of every method
					method = "GET"
				}
				before := ts.lastEventID(t)
				got, r := cellStatus(t, ts, method, path, token, body)
				want := row.want[i]
				switch {
				case want == A && (got < 200 || got > 299):
					t.Errorf("%s: want allowed, got %s", p.name, r)
				case want == P && (got == U || got == F):
					t.Errorf("%s: want past the access check, got %s", p.name, r)
				case want == P:
				case want != A && got != want:
					t.Errorf("%s: want %d, got %s", p.name, want, r)
				case want != A:
					code := map[int]string{U: "unauthorized", F: "forbidden", N: "not_found", B: "invalid"}[want]
					if e := r.apiErr(t); e.Error.Code != code {
						t.Errorf("%s: want code %s, got %s", p.name, code, r)
					}
					if after := ts.lastEventID(t); after != before {
						t.Errorf("%s: a refused request wrote events (%d -> %d)", p.name, before, after)
					}
				}
				if row.after != nil && got >= 200 && got <= 299 {
					row.after(t, p)
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

// registeredRoutes are the patterns the API server registered (s.handle,
// s.plain), asked of the server itself: a route added in any file of api/
// is here.
func registeredRoutes(t *testing.T, ts *testServer) []string {
	out := ts.API.Patterns()
	if len(out) < 20 {
		t.Fatalf("the server registered only %d routes: %v", len(out), out)
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
