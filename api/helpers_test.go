package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/sqlstore"
	"github.com/civiq/civiq/storetest"
)

// adminPassword is the first admin's password in every test server.
const adminPassword = civiqtest.AdminPassword

// userPassword is the password of the users the helpers create.
const userPassword = "user-password-1234"

// testServer is the real thing on a SQLite file of its own: store, hub,
// metrics, engine and API behind httptest.
type testServer struct {
	URL     string
	Store   *sqlstore.Store
	Engine  *civiq.Engine
	Hub     *inmem.Hub
	Metrics *api.Metrics
	API     *api.Server
	HTTP    *httptest.Server
	Clock   *civiqtest.Clock
	// Admin is a bearer token of the user admin.
	Admin string
}

// TestMain runs the API tests on SQLite, then again on PostgreSQL.
func TestMain(m *testing.M) { storetest.Main(m) }

// newTestServer starts a server with the demo hall and the admin signed
// in. opts change the API server before it starts serving.
func newTestServer(t testing.TB, opts ...func(*api.Server)) *testServer {
	t.Helper()
	n := civiqtest.New(t, func(n *civiqtest.Server) {
		for _, o := range opts {
			o(n.API)
		}
	})
	return &testServer{URL: n.URL, Store: n.Store, Engine: n.Engine, Hub: n.Hub, Metrics: n.Metrics, API: n.API, HTTP: n.HTTP,
		Clock: n.Clock, Admin: n.Admin}
}

// resp is an answer, read whole.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// apiError is the contract's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func (r *resp) String() string {
	b := r.Body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(b))
}

// json decodes the body into v.
func (r *resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
}

// apiErr decodes the error body; it fails the test when there is none.
func (r *resp) apiErr(t testing.TB) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("want an error body, got %s", r)
	}
	if e.Error.Message == "" {
		t.Errorf("error without a message: %s", r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q", ct)
	}
	return e
}

// want fails the test unless the answer has the status.
func (r *resp) want(t testing.TB, status int) *resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want %d, got %s", status, r)
	}
	return r
}

// wantErr fails the test unless the answer is the error with the status,
// code and (when not empty) field.
func (r *resp) wantErr(t testing.TB, status int, code, field string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want %d %s, got %s", status, code, r)
	}
	e := r.apiErr(t)
	if e.Error.Code != code {
		t.Fatalf("want code %s, got %s", code, r)
	}
	if field != "" && e.Error.Field != field {
		t.Fatalf("want field %q, got %s", field, r)
	}
}

// header is one request header.
type header struct{ name, value string }

// do sends a request. body is nil for none, a string or []byte sent as is,
// anything else as JSON. token, when set, goes in the Authorization header.
func (ts *testServer) do(t testing.TB, method, path, token string, body any, hdrs ...header) *resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range hdrs {
		req.Header.Set(h.name, h.value)
	}
	res, err := ts.HTTP.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	if res.StatusCode >= 500 {
		t.Errorf("%s %s: a 5xx is a bug: %d %s", method, path, res.StatusCode, b)
	}
	return &resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// login signs a user in and returns the bearer token.
func (ts *testServer) login(t testing.TB, username, password string) string {
	t.Helper()
	var out struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
		User      struct {
			Username string `json:"username"`
			Role     string `json:"role"`
		} `json:"user"`
	}
	ts.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": username, "password": password}).want(t, 200).json(t, &out)
	if out.Token == "" || out.User.Username != username {
		t.Fatalf("login %s: %+v", username, out)
	}
	return out.Token
}

// createUser adds a user with the role in the halls, and signs them in.
func (ts *testServer) createUser(t testing.TB, username, role string, halls ...string) string {
	t.Helper()
	ts.do(t, "POST", "/api/v1/users", ts.Admin, map[string]any{
		"username": username, "password": userPassword, "role": role, "hall_ids": halls,
	}).want(t, 201)
	return ts.login(t, username, userPassword)
}

// addOtherHall creates the hall "other" with one service "svc" (prefix X)
// and one counter "1" serving it.
func (ts *testServer) addOtherHall(t testing.TB) {
	t.Helper()
	ts.do(t, "PUT", "/api/v1/halls/other", ts.Admin, map[string]any{
		"name": "另一个大厅", "name_en": "Other hall", "timezone": "Asia/Shanghai", "allow_remote": true,
	}).want(t, 200)
	ts.do(t, "PUT", "/api/v1/halls/other/services/svc", ts.Admin, map[string]any{
		"prefix": "X", "name": "其他", "name_en": "Other service",
	}).want(t, 200)
	ts.do(t, "PUT", "/api/v1/halls/other/counters/1", ts.Admin, map[string]any{
		"name": "1号窗口", "service_ids": []string{"svc"},
	}).want(t, 200)
	ts.do(t, "POST", "/api/v1/halls/other/counters/1/status", ts.Admin, map[string]any{"status": "open"}).want(t, 200)
}

// pairDevice creates a device of the kind in the hall (bound to counter
// where the kind needs one), pairs it and returns its token.
func (ts *testServer) pairDevice(t testing.TB, hall, kind, counter string) string {
	t.Helper()
	var created struct {
		Device struct {
			PairingCode string `json:"pairing_code"`
			Kind        string `json:"kind"`
		} `json:"device"`
	}
	body := map[string]string{"kind": kind, "name": kind + " " + counter}
	if counter != "" {
		body["counter_id"] = counter
	}
	ts.do(t, "POST", "/api/v1/halls/"+hall+"/devices", ts.Admin, body).want(t, 201).json(t, &created)
	if created.Device.PairingCode == "" || created.Device.Kind != kind {
		t.Fatalf("create device: %+v", created)
	}
	var paired struct {
		Token string `json:"token"`
	}
	ts.do(t, "POST", "/api/v1/devices/pair", "", map[string]string{"code": created.Device.PairingCode}).want(t, 200).json(t, &paired)
	if paired.Token == "" {
		t.Fatal("pairing gave no token")
	}
	return paired.Token
}

// ticket is the contract's ticket, as the API gives it.
type ticket struct {
	ID            string     `json:"id"`
	Number        string     `json:"number"`
	HallID        string     `json:"hall_id"`
	ServiceID     string     `json:"service_id"`
	Channel       string     `json:"channel"`
	Priority      string     `json:"priority"`
	PriorityGroup string     `json:"priority_group"`
	Status        string     `json:"status"`
	IssuedAt      time.Time  `json:"issued_at"`
	CalledAt      *time.Time `json:"called_at"`
	CounterID     string     `json:"counter_id"`
	CallCount     int        `json:"call_count"`
	Position      *int       `json:"position"`
	ETASeconds    *int       `json:"eta_seconds"`
}

// ticketOf decodes {"ticket":{...}}.
func ticketOf(t testing.TB, r *resp) ticket {
	t.Helper()
	var out struct {
		Ticket *ticket `json:"ticket"`
	}
	r.json(t, &out)
	if out.Ticket == nil || out.Ticket.ID == "" {
		t.Fatalf("no ticket in %s", r)
	}
	return *out.Ticket
}

// issue takes a ticket of the demo hall's service; body fields beyond
// service_id come from extra (key, value pairs).
func (ts *testServer) issue(t testing.TB, token, service string, extra ...string) ticket {
	t.Helper()
	body := map[string]string{"service_id": service}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	return ticketOf(t, ts.do(t, "POST", "/api/v1/halls/demo/tickets", token, body).want(t, 201))
}

// callNext calls the next ticket at a demo counter; ok is false on 204.
func (ts *testServer) callNext(t testing.TB, token, counter string) (ticket, bool) {
	t.Helper()
	r := ts.do(t, "POST", "/api/v1/halls/demo/counters/"+counter+"/call-next", token, nil)
	if r.Status == 204 {
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %q", r.Body)
		}
		return ticket{}, false
	}
	return ticketOf(t, r.want(t, 200)), true
}

// callUntil calls at a demo counter until the ticket id is called, and
// returns it.
func (ts *testServer) callUntil(t testing.TB, counter, id string) ticket {
	t.Helper()
	for range 50 {
		tk, ok := ts.callNext(t, ts.Admin, counter)
		if !ok {
			t.Fatalf("counter %s: nobody waits, %s was never called", counter, id)
		}
		if tk.ID == id {
			return tk
		}
	}
	t.Fatalf("counter %s: %s not called after 50 calls", counter, id)
	return ticket{}
}

// act performs a ticket action (recall, start, ...) and returns the ticket.
func (ts *testServer) act(t testing.TB, token, id, action string, body any) ticket {
	t.Helper()
	return ticketOf(t, ts.do(t, "POST", "/api/v1/tickets/"+id+"/"+action, token, body).want(t, 200))
}

// getTicket reads a ticket as anyone.
func (ts *testServer) getTicket(t testing.TB, id string) ticket {
	t.Helper()
	return ticketOf(t, ts.do(t, "GET", "/api/v1/tickets/"+id, "", nil).want(t, 200))
}

// waiting returns the demo hall's waiting counts per service.
func (ts *testServer) waiting(t testing.TB) map[string]int {
	t.Helper()
	var st struct {
		Waiting map[string]int `json:"waiting"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/status", "", nil).want(t, 200).json(t, &st)
	return st.Waiting
}

// lastEventID is the id of the last event stored.
func (ts *testServer) lastEventID(t testing.TB) int64 {
	t.Helper()
	id, err := ts.Store.LastEventID(context.Background())
	if err != nil {
		t.Fatalf("last event id: %v", err)
	}
	return id
}

// snapshot is what a failed request must leave as it was: the public
// status of the demo hall and the events.
type snapshot struct {
	status    string
	lastEvent int64
}

func (ts *testServer) snapshot(t testing.TB) snapshot {
	t.Helper()
	r := ts.do(t, "GET", "/api/v1/halls/demo/status", "", nil).want(t, 200)
	return snapshot{status: string(r.Body), lastEvent: ts.lastEventID(t)}
}
