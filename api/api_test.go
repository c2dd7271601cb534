package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	r := ts.do(t, "GET", "/healthz", "", nil).want(t, 200)
	if strings.TrimSpace(string(r.Body)) != "ok" {
		t.Errorf("healthz: %q", r.Body)
	}
	ts.do(t, "GET", "/readyz", "", nil).want(t, 200)
	ts.do(t, "GET", "/api/v1/nothing-here", "", nil).wantErr(t, 404, "not_found", "")
}

func TestListings(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)

	var halls struct {
		Halls []map[string]string `json:"halls"`
	}
	ts.do(t, "GET", "/api/v1/halls", "", nil).want(t, 200).json(t, &halls)
	if len(halls.Halls) != 1 {
		t.Fatalf("halls: %+v", halls)
	}
	h := halls.Halls[0]
	if h["id"] != "demo" || h["name"] != "示范政务服务大厅" || h["timezone"] != "Asia/Shanghai" {
		t.Errorf("demo hall: %+v", h)
	}

	var svcs struct {
		Services []struct {
			ID, Prefix, Name string
			NameEn           string `json:"name_en"`
		} `json:"services"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/services", "", nil).want(t, 200).json(t, &svcs)
	var got []string
	for _, s := range svcs.Services {
		got = append(got, s.ID+":"+s.Prefix)
		if s.Name == "" || s.NameEn == "" {
			t.Errorf("service %s without both names: %+v", s.ID, s)
		}
	}
	if want := []string{"general:A", "property:B", "tax:C", "social:D"}; !slices.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}

	var ctrs struct {
		Counters []struct {
			ID         string   `json:"id"`
			Name       string   `json:"name"`
			ServiceIDs []string `json:"service_ids"`
			Status     string   `json:"status"`
		} `json:"counters"`
	}
	r := ts.do(t, "GET", "/api/v1/halls/demo/counters", "", nil).want(t, 200)
	r.json(t, &ctrs)
	want := map[string][]string{
		"1": {"general", "social"}, "2": {"general", "social"},
		"3": {"property", "general"}, "4": {"property", "general"},
		"5": {"tax"}, "6": {"general", "property", "tax", "social"},
	}
	if len(ctrs.Counters) != len(want) {
		t.Fatalf("counters: %s", r)
	}
	for _, c := range ctrs.Counters {
		if !slices.Equal(c.ServiceIDs, want[c.ID]) || c.Status != "open" || c.Name == "" {
			t.Errorf("counter %+v", c)
		}
	}
}

// TestTicketLifecycle walks tickets through every move of the contract.
func TestTicketLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	staff := ts.createUser(t, "staff1", "staff", "demo")

	// Issue: 201, numbers in order, position and wait estimate.
	r := ts.do(t, "POST", "/api/v1/halls/demo/tickets", "", map[string]string{"service_id": "general", "channel": "remote"}).want(t, 201)
	a1 := ticketOf(t, r)
	if a1.Number != "A001" || a1.Status != "waiting" || a1.HallID != "demo" || a1.ServiceID != "general" || a1.Channel != "remote" {
		t.Fatalf("first ticket: %+v", a1)
	}
	if len(a1.ID) < 20 { // 96 bits in base32 at least
		t.Errorf("ticket id %q is too short to be unguessable", a1.ID)
	}
	if a1.Position == nil || *a1.Position != 0 || a1.ETASeconds == nil || *a1.ETASeconds <= 0 {
		t.Errorf("position/eta of the first ticket: %v %v", a1.Position, a1.ETASeconds)
	}
	if a1.IssuedAt.IsZero() || a1.CalledAt != nil || a1.CallCount != 0 {
		t.Errorf("fresh ticket: %+v", a1)
	}
	var raw map[string]map[string]any
	r.json(t, &raw)
	for _, k := range []string{"id", "number", "hall_id", "service_id", "channel", "status", "issued_at", "call_count", "position", "eta_seconds"} {
		if _, ok := raw["ticket"][k]; !ok {
			t.Errorf("ticket has no %q: %s", k, r)
		}
	}
	a2 := ts.issue(t, "", "general", "channel", "remote")
	a3 := ts.issue(t, staff, "general")
	if a2.Number != "A002" || a3.Number != "A003" || *a2.Position != 1 || *a3.Position != 2 || a3.Channel != "staff" {
		t.Errorf("next tickets: %+v %+v", a2, a3)
	}
	if c1 := ts.issue(t, staff, "tax"); c1.Number != "C001" || *c1.Position != 0 {
		t.Errorf("numbering is per service: %+v", c1)
	}
	if got := ts.getTicket(t, a2.ID); got.Number != "A002" || got.Status != "waiting" || *got.Position != 1 {
		t.Errorf("GET ticket: %+v", got)
	}

	// Call next: the oldest general ticket, at counter 1.
	called, ok := ts.callNext(t, staff, "1")
	if !ok || called.ID != a1.ID || called.Status != "called" || called.CounterID != "1" || called.CallCount != 1 || called.CalledAt == nil {
		t.Fatalf("call-next: %+v", called)
	}
	if got := ts.getTicket(t, a2.ID); *got.Position != 0 {
		t.Errorf("A002 after A001 was called: position %d", *got.Position)
	}

	// Recall: call_count goes up to max_calls (3), then a recall is a no-show.
	if tk := ts.act(t, staff, a1.ID, "recall", nil); tk.CallCount != 2 || tk.Status != "called" {
		t.Errorf("first recall: %+v", tk)
	}
	if tk := ts.act(t, staff, a1.ID, "recall", nil); tk.CallCount != 3 || tk.Status != "called" {
		t.Errorf("second recall: %+v", tk)
	}
	if tk := ts.act(t, staff, a1.ID, "recall", nil); tk.Status != "no_show" {
		t.Errorf("recall past max_calls: %+v", tk)
	}

	// Start, finish.
	called, _ = ts.callNext(t, staff, "1")
	if called.ID != a2.ID {
		t.Fatalf("after A001, called %+v", called)
	}
	if tk := ts.act(t, staff, a2.ID, "start", nil); tk.Status != "serving" {
		t.Errorf("start: %+v", tk)
	}
	if tk := ts.act(t, staff, a2.ID, "finish", nil); tk.Status != "done" {
		t.Errorf("finish: %+v", tk)
	}

	// No-show.
	called, _ = ts.callNext(t, staff, "1")
	if called.ID != a3.ID {
		t.Fatalf("after A002, called %+v", called)
	}
	if tk := ts.act(t, staff, a3.ID, "no-show", nil); tk.Status != "no_show" {
		t.Errorf("no-show: %+v", tk)
	}

	// Nobody waits for counter 1 (general, social); C001 is not its.
	if tk, ok := ts.callNext(t, staff, "1"); ok {
		t.Fatalf("call-next with nobody waiting: %+v", tk)
	}

	// Call-next finishes the counter's current ticket.
	a4 := ts.issue(t, staff, "general")
	a5 := ts.issue(t, staff, "general")
	ts.callUntil(t, "1", a4.ID)
	ts.callUntil(t, "1", a5.ID)
	if got := ts.getTicket(t, a4.ID); got.Status != "done" {
		t.Errorf("the counter's previous ticket after call-next: %+v", got)
	}
	ts.act(t, staff, a5.ID, "start", nil)
	if _, ok := ts.callNext(t, staff, "1"); ok {
		t.Fatal("nobody should wait")
	}
	if got := ts.getTicket(t, a5.ID); got.Status != "done" {
		t.Errorf("a serving ticket after call-next: %+v", got)
	}

	// Rating: once, and only done tickets.
	ts.do(t, "POST", "/api/v1/tickets/"+a1.ID+"/rating", "", map[string]any{"score": 5}).wantErr(t, 409, "conflict", "")
	ts.do(t, "POST", "/api/v1/tickets/"+a2.ID+"/rating", "", map[string]any{"score": 5, "comment": "很好"}).want(t, 201)
	ts.do(t, "POST", "/api/v1/tickets/"+a2.ID+"/rating", "", map[string]any{"score": 1}).wantErr(t, 409, "conflict", "")
	waitingTicket := ts.issue(t, staff, "property")
	ts.do(t, "POST", "/api/v1/tickets/"+waitingTicket.ID+"/rating", "", map[string]any{"score": 4}).wantErr(t, 409, "conflict", "")

	// Status: counts, counters and recent calls, no personal data.
	r = ts.do(t, "GET", "/api/v1/halls/demo/status", "", nil).want(t, 200)
	var st struct {
		Waiting     map[string]int   `json:"waiting"`
		Counters    []map[string]any `json:"counters"`
		RecentCalls []map[string]any `json:"recent_calls"`
	}
	r.json(t, &st)
	if want := map[string]int{"general": 0, "property": 1, "tax": 1, "social": 0}; !reflect.DeepEqual(st.Waiting, want) {
		t.Errorf("waiting %v, want %v", st.Waiting, want)
	}
	if len(st.Counters) != 6 || len(st.RecentCalls) == 0 {
		t.Errorf("status: %s", r)
	}
	for _, tk := range []ticket{a1, a2, a3, a4, a5, waitingTicket} {
		if strings.Contains(string(r.Body), tk.ID) {
			t.Errorf("status shows ticket id %s", tk.ID)
		}
	}
	var top map[string]json.RawMessage
	r.json(t, &top)
	if keys := sortedKeys(top); !slices.Equal(keys, []string{"counters", "recent_calls", "waiting"}) {
		t.Errorf("status keys %v", keys)
	}
	allowed := map[string]bool{"number": true, "service_id": true, "counter_id": true, "status": true, "call_count": true, "called_at": true}
	for _, c := range st.RecentCalls {
		for k := range c {
			if !allowed[k] {
				t.Errorf("recent call carries %q: %v", k, c)
			}
		}
	}
	for _, c := range st.Counters {
		if _, ok := c["current_ticket_id"]; ok {
			t.Errorf("status shows the counter's ticket id: %v", c)
		}
	}
	for _, word := range []string{`"channel"`, `"priority`, `"hall_id"`, `"issued_at"`, `"username"`, `"phone"`, `"id_number"`} {
		if strings.Contains(string(r.Body), word) {
			t.Errorf("status carries %s: %s", word, r)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestTransferKeepsPlace: a transferred ticket keeps its number and its
// place in time, so it goes before the new service's later tickets.
func TestTransferKeepsPlace(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a1 := ts.issue(t, ts.Admin, "general")
	c1 := ts.issue(t, ts.Admin, "tax")
	c2 := ts.issue(t, ts.Admin, "tax")
	ts.callUntil(t, "1", a1.ID)

	ts.do(t, "POST", "/api/v1/tickets/"+a1.ID+"/transfer", ts.Admin, map[string]string{"service_id": "nope"}).wantErr(t, 404, "not_found", "")
	ts.do(t, "POST", "/api/v1/tickets/"+a1.ID+"/transfer", ts.Admin, map[string]string{}).wantErr(t, 400, "invalid", "service_id")

	tk := ts.act(t, ts.Admin, a1.ID, "transfer", map[string]string{"service_id": "tax"})
	if tk.Status != "waiting" || tk.ServiceID != "tax" || tk.Number != "A001" || tk.CounterID != "" || tk.CallCount != 0 {
		t.Errorf("transferred: %+v", tk)
	}
	if !tk.IssuedAt.Equal(a1.IssuedAt) {
		t.Errorf("issued_at changed from %v to %v", a1.IssuedAt, tk.IssuedAt)
	}
	if tk.Position == nil || *tk.Position != 0 {
		t.Errorf("transferred ticket's position: %v", tk.Position)
	}
	if got := ts.getTicket(t, c1.ID); *got.Position != 1 {
		t.Errorf("C001 after the transfer: position %d", *got.Position)
	}
	if ts.waiting(t)["general"] != 0 {
		t.Error("the transferred ticket still waits in general")
	}
	for _, want := range []ticket{a1, c1, c2} {
		got, ok := ts.callNext(t, ts.Admin, "5")
		if !ok || got.ID != want.ID {
			t.Fatalf("counter 5 called %+v, want %s", got, want.Number)
		}
	}
	// A waiting ticket may be transferred too, but not to its own service.
	b1 := ts.issue(t, ts.Admin, "property")
	ts.do(t, "POST", "/api/v1/tickets/"+b1.ID+"/transfer", ts.Admin, map[string]string{"service_id": "property"}).wantErr(t, 409, "conflict", "")
	if tk := ts.act(t, ts.Admin, b1.ID, "transfer", map[string]string{"service_id": "social"}); tk.ServiceID != "social" || tk.Number != "B001" {
		t.Errorf("transfer of a waiting ticket: %+v", tk)
	}
}

// TestReturnAfterNoShow: a late arrival comes back behind the next three
// waiting tickets.
func TestReturnAfterNoShow(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	late := ts.issue(t, ts.Admin, "general")
	ts.callUntil(t, "1", late.ID)
	ts.act(t, ts.Admin, late.ID, "no-show", nil)
	var queue []ticket
	for range 5 {
		queue = append(queue, ts.issue(t, ts.Admin, "general"))
	}
	tk := ts.act(t, ts.Admin, late.ID, "return", nil)
	if tk.Status != "waiting" || tk.CounterID != "" || tk.CallCount != 0 || tk.Number != late.Number {
		t.Errorf("returned: %+v", tk)
	}
	if tk.Position == nil || *tk.Position != 3 {
		t.Errorf("returned ticket's position %v, want 3", tk.Position)
	}
	want := []string{queue[0].ID, queue[1].ID, queue[2].ID, late.ID, queue[3].ID, queue[4].ID}
	for i, id := range want {
		got, ok := ts.callNext(t, ts.Admin, "1")
		if !ok || got.ID != id {
			t.Fatalf("call %d: got %s, want %s", i, got.Number, id)
		}
	}
	// Only a no-show comes back.
	ts.do(t, "POST", "/api/v1/tickets/"+queue[4].ID+"/return", ts.Admin, nil).wantErr(t, 409, "invalid_transition", "")
}

// TestBadInput: every bad request gets its error, and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	called := ts.issue(t, ts.Admin, "social")
	ts.callUntil(t, "2", called.ID)
	waiting := ts.issue(t, ts.Admin, "general")
	ts.issue(t, ts.Admin, "tax")
	admin := ts.Admin
	huge := `{"service_id":"general","pad":"` + strings.Repeat("x", 1<<20) + `"}`

	type tc struct {
		name         string
		method, path string
		token        string
		body         any
		hdrs         []header
		status       int
		code, field  string
	}
	tick := "/api/v1/tickets/"
	cases := []tc{
		// Unknown things.
		{"unknown hall services", "GET", "/api/v1/halls/nope/services", "", nil, nil, 404, "not_found", ""},
		{"unknown hall counters", "GET", "/api/v1/halls/nope/counters", "", nil, nil, 404, "not_found", ""},
		{"unknown hall status", "GET", "/api/v1/halls/nope/status", "", nil, nil, 404, "not_found", ""},
		{"unknown hall get", "GET", "/api/v1/halls/nope", "", nil, nil, 404, "not_found", ""},
		{"unknown hall issue anon", "POST", "/api/v1/halls/nope/tickets", "", `{"service_id":"general"}`, nil, 404, "not_found", ""},
		{"unknown hall issue admin", "POST", "/api/v1/halls/nope/tickets", admin, `{"service_id":"general"}`, nil, 404, "not_found", ""},
		{"unknown service", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":"nope"}`, nil, 404, "not_found", "service_id"},
		{"unknown hall call-next", "POST", "/api/v1/halls/nope/counters/1/call-next", admin, nil, nil, 404, "not_found", ""},
		{"unknown counter call-next", "POST", "/api/v1/halls/demo/counters/99/call-next", admin, nil, nil, 404, "not_found", ""},
		{"unknown counter status", "POST", "/api/v1/halls/demo/counters/99/status", admin, `{"status":"paused","reason":"午休"}`, nil, 404, "not_found", ""},
		{"unknown ticket get", "GET", tick + "nope", "", nil, nil, 404, "not_found", ""},
		{"unknown ticket recall", "POST", tick + "nope/recall", admin, nil, nil, 404, "not_found", ""},
		{"unknown ticket transfer", "POST", tick + "nope/transfer", admin, `{"service_id":"tax"}`, nil, 404, "not_found", ""},
		{"unknown ticket rating", "POST", tick + "nope/rating", "", `{"score":5}`, nil, 404, "not_found", ""},
		{"unknown ticket cancel", "POST", tick + "nope/cancel", "", nil, nil, 404, "not_found", ""},
		{"unknown route", "GET", "/api/v1/nope", "", nil, nil, 404, "not_found", ""},

		// Malformed bodies.
		{"malformed JSON", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":`, nil, 400, "invalid", ""},
		{"not an object", "POST", "/api/v1/halls/demo/tickets", admin, `["general"]`, nil, 400, "invalid", ""},
		{"a string", "POST", "/api/v1/halls/demo/tickets", admin, `"general"`, nil, 400, "invalid", ""},
		{"two objects", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":"general"}{"service_id":"general"}`, nil, 400, "invalid", ""},
		{"trailing brace", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":"general"}}`, nil, 400, "invalid", ""},
		{"trailing bracket", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":"general"}]`, nil, 400, "invalid", ""},
		{"wrong type", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":5}`, nil, 400, "invalid", "service_id"},
		{"wrong type channel", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":"general","channel":["kiosk"]}`, nil, 400, "invalid", "channel"},
		{"missing field", "POST", "/api/v1/halls/demo/tickets", admin, `{}`, nil, 400, "invalid", "service_id"},
		{"empty body", "POST", "/api/v1/halls/demo/tickets", admin, nil, nil, 400, "invalid", "service_id"},
		{"null field", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":null}`, nil, 400, "invalid", "service_id"},
		{"unknown channel", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":"general","channel":"fax"}`, nil, 400, "invalid", "channel"},
		{"unknown priority group", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":"general","priority_group":"vip"}`, nil, 400, "invalid", "priority_group"},
		{"long idempotency key", "POST", "/api/v1/halls/demo/tickets", admin, `{"service_id":"general"}`, []header{{"Idempotency-Key", strings.Repeat("k", 201)}}, 400, "invalid", "Idempotency-Key"},
		{"too large", "POST", "/api/v1/halls/demo/tickets", admin, huge, nil, 413, "too_large", ""},
		{"too large anon", "POST", "/api/v1/halls/demo/tickets", "", huge, nil, 413, "too_large", ""},
		{"transfer wrong type", "POST", tick + called.ID + "/transfer", admin, `{"service_id":true}`, nil, 400, "invalid", "service_id"},
		{"transfer missing", "POST", tick + called.ID + "/transfer", admin, `{"service":"tax"}`, nil, 400, "invalid", "service_id"},
		{"transfer unknown service", "POST", tick + called.ID + "/transfer", admin, `{"service_id":"nope"}`, nil, 404, "not_found", "service_id"},
		{"rating wrong type", "POST", tick + waiting.ID + "/rating", "", `{"score":"5"}`, nil, 400, "invalid", "score"},
		{"rating out of range", "POST", tick + waiting.ID + "/rating", "", `{"score":9}`, nil, 400, "invalid", "score"},
		{"rating missing", "POST", tick + waiting.ID + "/rating", "", `{"comment":"ok"}`, nil, 400, "invalid", "score"},
		{"counter status unknown", "POST", "/api/v1/halls/demo/counters/1/status", admin, `{"status":"gone"}`, nil, 400, "invalid", "status"},
		{"counter pause without reason", "POST", "/api/v1/halls/demo/counters/1/status", admin, `{"status":"paused"}`, nil, 400, "invalid", "reason"},
		{"login missing password", "POST", "/api/v1/auth/login", "", `{"username":"admin"}`, nil, 400, "invalid", "password"},
		{"login wrong password", "POST", "/api/v1/auth/login", "", `{"username":"admin","password":"wrong-password"}`, nil, 401, "unauthorized", ""},
		{"login unknown user", "POST", "/api/v1/auth/login", "", `{"username":"nobody","password":"wrong-password"}`, nil, 401, "unauthorized", ""},
		{"pair unknown code", "POST", "/api/v1/devices/pair", "", `{"code":"nope"}`, nil, 401, "unauthorized", ""},
		{"bad last event id", "GET", "/api/v1/halls/demo/events", "", nil, []header{{"Last-Event-ID", "x"}}, 400, "invalid", "Last-Event-ID"},
		{"hall bad policy", "PUT", "/api/v1/halls/demo", admin, `{"name":"x","policy":"random"}`, nil, 400, "invalid", "policy"},
		{"hall bad timezone", "PUT", "/api/v1/halls/demo", admin, `{"name":"x","timezone":"Mars/Olympus"}`, nil, 400, "invalid", "timezone"},
		{"user short password", "POST", "/api/v1/users", admin, `{"username":"u1","password":"short","role":"staff","hall_ids":["demo"]}`, nil, 400, "invalid", "password"},
		{"user unknown hall", "POST", "/api/v1/users", admin, `{"username":"u1","password":"long-enough-pw","role":"staff","hall_ids":["nope"]}`, nil, 400, "invalid", "hall_ids"},
		{"device bad kind", "POST", "/api/v1/halls/demo/devices", admin, `{"kind":"toaster"}`, nil, 400, "invalid", "kind"},
		{"device without counter", "POST", "/api/v1/halls/demo/devices", admin, `{"kind":"rater"}`, nil, 400, "invalid", "counter_id"},

		// Moves the state machine forbids.
		{"finish a waiting ticket", "POST", tick + waiting.ID + "/finish", admin, nil, nil, 409, "invalid_transition", ""},
		{"start a waiting ticket", "POST", tick + waiting.ID + "/start", admin, nil, nil, 409, "invalid_transition", ""},
		{"recall a waiting ticket", "POST", tick + waiting.ID + "/recall", admin, nil, nil, 409, "invalid_transition", ""},
		{"no-show a waiting ticket", "POST", tick + waiting.ID + "/no-show", admin, nil, nil, 409, "invalid_transition", ""},
		{"return a called ticket", "POST", tick + called.ID + "/return", admin, nil, nil, 409, "invalid_transition", ""},
		{"finish a waiting ticket", "POST", tick + waiting.ID + "/finish", admin, nil, nil, 409, "invalid_transition", ""},
		{"rate a called ticket", "POST", tick + called.ID + "/rating", "", `{"score":5}`, nil, 409, "conflict", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := ts.snapshot(t)
			ts.do(t, c.method, c.path, c.token, c.body, c.hdrs...).wantErr(t, c.status, c.code, c.field)
			if after := ts.snapshot(t); after != before {
				t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
	if got := ts.getTicket(t, waiting.ID); got.Status != "waiting" {
		t.Errorf("waiting ticket after the errors: %+v", got)
	}
	if got := ts.getTicket(t, called.ID); got.Status != "called" || got.ServiceID != "social" || got.CallCount != 1 {
		t.Errorf("called ticket after the errors: %+v", got)
	}
}

// TestIdempotency: the same Idempotency-Key gives the same answer, and
// never a second ticket or a second call.
func TestIdempotency(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	key := header{"Idempotency-Key", "kiosk-press-7f3a"}
	body := map[string]string{"service_id": "general", "channel": "remote"}

	first := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/demo/tickets", "", body, key).want(t, 201))
	events := ts.lastEventID(t)
	again := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/demo/tickets", "", body, key).want(t, 201))
	if again.ID != first.ID || again.Number != first.Number {
		t.Fatalf("same key, another ticket: %+v vs %+v", first, again)
	}
	if n := ts.waiting(t)["general"]; n != 1 {
		t.Errorf("waiting %d after a repeated issue, want 1", n)
	}
	if got := ts.lastEventID(t); got != events {
		t.Errorf("a repeated issue wrote events: %d -> %d", events, got)
	}
	// The same key with another body is refused, and issues nothing.
	ts.do(t, "POST", "/api/v1/halls/demo/tickets", "", map[string]string{"service_id": "tax", "channel": "remote"}, key).wantErr(t, 409, "conflict", "")
	if w := ts.waiting(t); w["general"] != 1 || w["tax"] != 0 {
		t.Errorf("waiting after a reused key: %v", w)
	}
	// Another key is another ticket.
	second := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/demo/tickets", "", body, header{"Idempotency-Key", "other"}).want(t, 201))
	if second.ID == first.ID || second.Number != "A002" {
		t.Errorf("another key: %+v", second)
	}

	// Call-next: the same key calls once.
	ckey := header{"Idempotency-Key", "counter-1-press-1"}
	c1 := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/demo/counters/1/call-next", ts.Admin, nil, ckey).want(t, 200))
	events = ts.lastEventID(t)
	c2 := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/demo/counters/1/call-next", ts.Admin, nil, ckey).want(t, 200))
	if c1.ID != first.ID || c2.ID != first.ID {
		t.Fatalf("call-next with one key called %s then %s, want %s twice", c1.Number, c2.Number, first.Number)
	}
	if got := ts.getTicket(t, second.ID); got.Status != "waiting" {
		t.Errorf("the repeated call-next called A002: %+v", got)
	}
	if got := ts.getTicket(t, first.ID); got.Status != "called" {
		t.Errorf("the repeated call-next finished A001: %+v", got)
	}
	if got := ts.lastEventID(t); got != events {
		t.Errorf("a repeated call-next wrote events: %d -> %d", events, got)
	}
	ts.do(t, "POST", "/api/v1/halls/demo/counters/1/call-next", ts.Admin, `{"x":1}`, ckey).wantErr(t, 409, "conflict", "")
	// A 204 is remembered too: nobody waits for counter 5.
	k5 := header{"Idempotency-Key", "counter-5"}
	ts.do(t, "POST", "/api/v1/halls/demo/counters/5/call-next", ts.Admin, nil, k5).want(t, 204)
	ts.issue(t, ts.Admin, "tax")
	ts.do(t, "POST", "/api/v1/halls/demo/counters/5/call-next", ts.Admin, nil, k5).want(t, 204)
	if ts.waiting(t)["tax"] != 1 {
		t.Error("a repeated empty call-next called a later ticket")
	}
}

// TestPriority: a green-channel ticket is called before earlier normal ones.
func TestPriority(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a1 := ts.issue(t, ts.Admin, "general")
	a2 := ts.issue(t, ts.Admin, "general")
	p := ts.issue(t, ts.Admin, "general", "priority_group", "elderly")
	if p.Number != "A003" || p.Priority != "priority" || p.PriorityGroup != "elderly" {
		t.Errorf("priority ticket: %+v", p)
	}
	if p.Position == nil || *p.Position != 0 {
		t.Errorf("priority ticket position %v, want 0", p.Position)
	}
	for _, want := range []ticket{p, a1, a2} {
		got, ok := ts.callNext(t, ts.Admin, "1")
		if !ok || got.ID != want.ID {
			t.Fatalf("called %s, want %s", got.Number, want.Number)
		}
	}
}

// TestPolicy: fifo calls the oldest ticket of any of the counter's
// services; service-order empties the counter's first service first.
func TestPolicy(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var hall struct {
		Hall map[string]any `json:"hall"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo", "", nil).want(t, 200).json(t, &hall)
	if hall.Hall["policy"] != "fifo" || hall.Hall["max_calls"] != float64(3) || hall.Hall["allow_remote"] != true {
		t.Fatalf("demo hall settings: %v", hall.Hall)
	}

	// Counter 1 serves general, then social.
	d1 := ts.issue(t, ts.Admin, "social")
	a1 := ts.issue(t, ts.Admin, "general")
	for _, want := range []ticket{d1, a1} {
		if got, _ := ts.callNext(t, ts.Admin, "1"); got.ID != want.ID {
			t.Fatalf("fifo called %s, want %s", got.Number, want.Number)
		}
	}

	hall.Hall["policy"] = "service-order"
	var saved struct {
		Hall map[string]any `json:"hall"`
	}
	ts.do(t, "PUT", "/api/v1/halls/demo", ts.Admin, hall.Hall).want(t, 200).json(t, &saved)
	var got struct {
		Hall map[string]any `json:"hall"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo", "", nil).want(t, 200).json(t, &got)
	if !reflect.DeepEqual(got.Hall, hall.Hall) {
		t.Errorf("hall after PUT:\n got %v\nwant %v", got.Hall, hall.Hall)
	}

	d2 := ts.issue(t, ts.Admin, "social")
	a2 := ts.issue(t, ts.Admin, "general")
	for _, want := range []ticket{a2, d2} {
		if got, _ := ts.callNext(t, ts.Admin, "1"); got.ID != want.ID {
			t.Fatalf("service-order called %s, want %s", got.Number, want.Number)
		}
	}
	// Counter 3 serves property first.
	a3 := ts.issue(t, ts.Admin, "general")
	b1 := ts.issue(t, ts.Admin, "property")
	for _, want := range []ticket{b1, a3} {
		if got, _ := ts.callNext(t, ts.Admin, "3"); got.ID != want.ID {
			t.Fatalf("service-order at counter 3 called %s, want %s", got.Number, want.Number)
		}
	}
}

// TestCounterStatus: a paused or closed counter calls nobody.
func TestCounterStatus(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a1 := ts.issue(t, ts.Admin, "general")
	var out struct {
		Counter struct {
			Status      string `json:"status"`
			PauseReason string `json:"pause_reason"`
		} `json:"counter"`
	}
	ts.do(t, "POST", "/api/v1/halls/demo/counters/1/status", ts.Admin, map[string]string{"status": "paused", "reason": "暂离"}).want(t, 200).json(t, &out)
	if out.Counter.Status != "paused" || out.Counter.PauseReason != "暂离" {
		t.Errorf("paused: %+v", out)
	}
	ts.do(t, "POST", "/api/v1/halls/demo/counters/1/call-next", ts.Admin, nil).wantErr(t, 409, "conflict", "")
	ts.do(t, "POST", "/api/v1/halls/demo/counters/1/status", ts.Admin, map[string]string{"status": "open"}).want(t, 200)
	if got, _ := ts.callNext(t, ts.Admin, "1"); got.ID != a1.ID {
		t.Errorf("after reopening called %+v", got)
	}
}

// TestCancel: the holder of a ticket id may cancel it while it waits.
func TestCancel(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a1 := ts.issue(t, "", "general", "channel", "remote")
	if tk := ts.act(t, "", a1.ID, "cancel", nil); tk.Status != "cancelled" {
		t.Errorf("cancel: %+v", tk)
	}
	ts.do(t, "POST", "/api/v1/tickets/"+a1.ID+"/cancel", "", nil).wantErr(t, 409, "invalid_transition", "")
	if _, ok := ts.callNext(t, ts.Admin, "1"); ok {
		t.Error("a cancelled ticket was called")
	}
}

// TestRemoteNotAllowed: a hall that does not allow remote tickets refuses
// anonymous callers.
func TestRemoteNotAllowed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addOtherHall(t)
	ts.do(t, "PUT", "/api/v1/halls/other", ts.Admin, map[string]any{"name": "另一个大厅", "allow_remote": false}).want(t, 200)
	ts.do(t, "POST", "/api/v1/halls/other/tickets", "", map[string]string{"service_id": "svc", "channel": "remote"}).wantErr(t, 403, "forbidden", "")
	ts.do(t, "POST", "/api/v1/halls/other/tickets", "", map[string]string{"service_id": "svc", "channel": "kiosk"}).wantErr(t, 401, "unauthorized", "")
	r := ts.do(t, "POST", "/api/v1/halls/other/tickets", ts.Admin, map[string]string{"service_id": "svc"}).want(t, 201)
	if tk := ticketOf(t, r); tk.Number != "X001" || tk.HallID != "other" {
		t.Errorf("other hall ticket: %+v", tk)
	}
}

// TestMetrics: /metrics is served to loopback and counts issued tickets.
func TestMetrics(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.issue(t, ts.Admin, "general")
	r := ts.do(t, "GET", "/metrics", "", nil).want(t, http.StatusOK)
	want := fmt.Sprintf(`civiq_tickets_issued_total{channel="staff",hall="demo",service="general"} %d`, 1)
	if !strings.Contains(string(r.Body), want) {
		t.Errorf("metrics lack %q", want)
	}
}

// A chosen ticket called out of order: each refusal its status and field,
// and no second counter on one ticket.
func TestCallChosenTicket(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a1 := ts.issue(t, ts.Admin, "general")
	a2 := ts.issue(t, ts.Admin, "general")
	c1 := ts.issue(t, ts.Admin, "tax")
	path := "/api/v1/halls/demo/counters/1/call"
	ts.do(t, "POST", path, ts.Admin, map[string]string{"ticket_id": a2.ID}).wantErr(t, 400, "invalid", "reason")
	ts.do(t, "POST", path, ts.Admin, map[string]string{"ticket_id": a2.ID, "reason": "  "}).wantErr(t, 400, "invalid", "reason")
	ts.do(t, "POST", path, ts.Admin, map[string]string{"reason": "急"}).wantErr(t, 400, "invalid", "ticket_id")
	ts.do(t, "POST", path, ts.Admin, map[string]string{"ticket_id": "nope", "reason": "急"}).wantErr(t, 404, "not_found", "ticket_id")
	ts.do(t, "POST", path, ts.Admin, map[string]string{"ticket_id": c1.ID, "reason": "急"}).wantErr(t, 409, "conflict", "ticket_id")
	// Counter 1 serves general and social: its list has a1 and a2, not the
	// tax ticket; a green-channel ticket first.
	g := ts.issue(t, ts.Admin, "social", "priority_group", "elderly")
	type row struct {
		ID, Number, Channel, Priority string
		PriorityGroup                 string `json:"priority_group"`
		Waited                        *int   `json:"waited_seconds"`
	}
	var list struct {
		Tickets []row
		NoShows []row `json:"no_shows"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/counters/1/waiting", ts.Admin, nil).want(t, 200).json(t, &list)
	if len(list.Tickets) != 3 || list.Tickets[0].ID != g.ID || list.Tickets[0].PriorityGroup != "elderly" ||
		list.Tickets[1].ID != a1.ID || list.Tickets[2].ID != a2.ID || list.Tickets[1].Channel == "" || list.Tickets[1].Waited == nil {
		t.Fatalf("counter 1's waiting list: %+v", list.Tickets)
	}
	var got struct{ Ticket ticket }
	ts.do(t, "POST", path, ts.Admin, map[string]string{"ticket_id": a2.ID, "reason": "行动不便"}).want(t, 200).json(t, &got)
	if got.Ticket.ID != a2.ID || got.Ticket.Status != "called" || got.Ticket.CounterID != "1" {
		t.Fatalf("called %+v", got.Ticket)
	}
	ts.do(t, "POST", "/api/v1/halls/demo/counters/2/call", ts.Admin, map[string]string{"ticket_id": a2.ID, "reason": "急"}).wantErr(t, 409, "conflict", "")
	ts.do(t, "GET", "/api/v1/halls/demo/counters/1/waiting", ts.Admin, nil).want(t, 200).json(t, &list)
	if len(list.Tickets) != 2 || len(list.NoShows) != 0 {
		t.Fatalf("after the call: %+v", list)
	}
	// A no-show is listed at its counter, to be put back in line.
	ts.act(t, ts.Admin, a2.ID, "no-show", nil)
	ts.do(t, "GET", "/api/v1/halls/demo/counters/1/waiting", ts.Admin, nil).want(t, 200).json(t, &list)
	if len(list.NoShows) != 1 || list.NoShows[0].ID != a2.ID || len(list.Tickets) != 2 {
		t.Fatalf("after the no-show: %+v", list)
	}
	ts.act(t, ts.Admin, a2.ID, "return", nil)
	ts.do(t, "GET", "/api/v1/halls/demo/counters/1/waiting", ts.Admin, nil).want(t, 200).json(t, &list)
	if len(list.NoShows) != 0 || len(list.Tickets) != 3 {
		t.Fatalf("after the return: %+v", list)
	}
	ts.callUntil(t, "2", a1.ID) // the policy's order goes on
}

// TestTransferToClerk: who is signed in at a counter (staff see it, the
// public does not); a transfer to that clerk with a note, which the next
// clerk reads in the counter's context.
func TestTransferToClerk(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	zhao := ts.createUser(t, "zhao", "staff", "demo")
	ts.do(t, "POST", "/api/v1/halls/demo/counters/4/status", zhao, map[string]string{"status": "open"}).want(t, 200)
	clerks := func(token string) map[string]string {
		var out struct {
			Counters []struct {
				ID    string `json:"id"`
				Clerk string `json:"clerk"`
			} `json:"counters"`
		}
		ts.do(t, "GET", "/api/v1/halls/demo/counters", token, nil).want(t, 200).json(t, &out)
		m := map[string]string{}
		for _, c := range out.Counters {
			m[c.ID] = c.Clerk
		}
		return m
	}
	if got := clerks(ts.Admin); got["4"] != "zhao" || got["1"] != "" {
		t.Errorf("staff see clerks %v; want zhao at 4", got)
	}
	if got := clerks(""); got["4"] != "" {
		t.Errorf("the public sees the clerk: %v", got)
	}

	a1 := ts.issue(t, ts.Admin, "general")
	ts.callUntil(t, "1", a1.ID)
	ts.do(t, "POST", "/api/v1/tickets/"+a1.ID+"/transfer", ts.Admin, map[string]string{"clerk": "nobody"}).wantErr(t, 404, "not_found", "clerk")
	ts.do(t, "POST", "/api/v1/tickets/"+a1.ID+"/transfer", ts.Admin, map[string]string{"counter_id": "4", "clerk": "zhao"}).wantErr(t, 400, "invalid", "clerk")
	var moved struct {
		Ticket struct {
			Status     string `json:"status"`
			ServiceID  string `json:"service_id"`
			ForCounter string `json:"for_counter"`
			Note       string `json:"transfer_note"`
		} `json:"ticket"`
	}
	ts.do(t, "POST", "/api/v1/tickets/"+a1.ID+"/transfer", ts.Admin, map[string]string{"clerk": "zhao", "note": "请核对房产证"}).want(t, 200).json(t, &moved)
	if m := moved.Ticket; m.Status != "waiting" || m.ServiceID != "general" || m.Note != "" {
		t.Errorf("moved: %+v (the note is for staff, not in the ticket)", m)
	}
	if got, _ := ts.callNext(t, zhao, "4"); got.ID != a1.ID {
		t.Fatalf("zhao's counter called %+v", got)
	}
	var today struct {
		Counter struct {
			Clerk string `json:"clerk"`
		} `json:"counter"`
		Context struct {
			Note string `json:"transfer_note"`
		} `json:"current_context"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/counters/4/today", zhao, nil).want(t, 200).json(t, &today)
	if today.Counter.Clerk != "zhao" || today.Context.Note != "请核对房产证" {
		t.Errorf("counter 4 today: %+v", today)
	}
}
