package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/sqlite"
	"github.com/civiq/civiq/web"
	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/text/encoding/simplifiedchinese"
)

const kioskAdminPassword = "kiosk-admin-password"

// kioskSite is the real server as civiq serve wires it (SQLite file, hub,
// API and pages on one mux), with the demo hall.
type kioskSite struct {
	URL    string
	Engine *civiq.Engine
	Admin  string // the admin's bearer token
}

func newKioskSite(t testing.TB) *kioskSite {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "civiq.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hub := inmem.NewHub()
	store.Publish = hub.Publish
	eng := civiq.NewEngine(store)
	ctx := context.Background()
	if _, err := eng.Bootstrap(ctx, kioskAdminPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(eng, hub, api.NewMetrics())
	(&web.Site{Engine: eng, Version: "test"}).Register(srv.Mux())
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		store.Close()
	})
	s := &kioskSite{URL: hs.URL, Engine: eng}
	var out struct{ Token string }
	if st := s.call(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": kioskAdminPassword}, &out, nil); st != 200 {
		t.Fatalf("admin login: %d", st)
	}
	s.Admin = out.Token
	return s
}

// call sends a JSON request with a bearer token ("" for none), decodes the
// answer into out and returns the status.
func (s *kioskSite) call(t testing.TB, method, path, token string, body, out any, header http.Header) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

// get fetches a path with optional headers, returning the answer and body.
func (s *kioskSite) get(t testing.TB, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	if h := header.Get("Host"); h != "" {
		req.Host = h
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

type kioskTicket struct {
	ID            string `json:"id"`
	Number        string `json:"number"`
	Channel       string `json:"channel"`
	Status        string `json:"status"`
	Position      *int   `json:"position"`
	ETASeconds    *int   `json:"eta_seconds"`
	PriorityGroup string `json:"priority_group"`
}

func (s *kioskSite) issue(t testing.TB, token, service string) kioskTicket {
	t.Helper()
	var out struct{ Ticket kioskTicket }
	if st := s.call(t, "POST", "/api/v1/halls/demo/tickets", token, map[string]string{"service_id": service, "channel": "kiosk"}, &out, nil); st != 201 {
		t.Fatalf("issue %s: %d", service, st)
	}
	return out.Ticket
}

// wantAPIError checks the API's error body.
func wantAPIError(t *testing.T, res *http.Response, body []byte, status int, code string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: status %d, want %d (%s)", res.Request.URL.Path, res.StatusCode, status, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", res.Request.URL.Path, ct)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("%s: error body %s, want code %s", res.Request.URL.Path, body, code)
	}
}

func TestKioskPage(t *testing.T) {
	s := newKioskSite(t)
	res, b := s.get(t, "/halls/demo/kiosk", nil)
	html := string(b)
	if res.StatusCode != 200 || !strings.Contains(html, `<html lang="zh-CN">`) {
		t.Fatalf("kiosk: %d\n%s", res.StatusCode, html)
	}
	for _, want := range []string{"综合受理", "不动产登记", "税务", "社保医保", "绿色通道", "老年人", "残疾人", "军人军属", "孕妇", "重病患者", "烈属", "消防救援人员",
		`"can_issue":false`, "/static/kiosk.js", "取号机配对"} {
		if !strings.Contains(html, want) {
			t.Errorf("kiosk page lacks %q", want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	_, b = s.get(t, "/halls/demo/kiosk?lang=en", nil)
	for _, want := range []string{`<html lang="en">`, "General intake", "Elderly", "Fire and rescue staff", "Demo Service Hall"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("English kiosk page lacks %q", want)
		}
	}
	if res, _ := s.get(t, "/halls/nowhere/kiosk", nil); res.StatusCode != 404 {
		t.Errorf("unknown hall: %d", res.StatusCode)
	}

	// A signed-in staff member of the hall may use the kiosk without
	// pairing it; the API takes their tickets on the kiosk channel.
	if st := s.call(t, "POST", "/api/v1/users", s.Admin, map[string]any{"username": "clerk", "password": "clerk-password-1", "role": "staff", "hall_ids": []string{"demo"}}, nil, nil); st != 201 {
		t.Fatalf("create staff: %d", st)
	}
	var login struct{ Token string }
	s.call(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "clerk", "password": "clerk-password-1"}, &login, nil)
	_, b = s.get(t, "/halls/demo/kiosk", http.Header{"Cookie": {civiq.SessionCookie + "=" + login.Token}})
	if !strings.Contains(string(b), `"can_issue":true`) {
		t.Error("a signed-in staff member cannot issue at the kiosk")
	}
	if tk := s.issue(t, login.Token, "general"); tk.Channel != "kiosk" {
		t.Errorf("staff ticket at the kiosk: channel %q", tk.Channel)
	}
	// Staff of another hall are not enough.
	var e any
	if st := s.call(t, "PUT", "/api/v1/halls/elsewhere", s.Admin, map[string]any{"name": "另一个大厅"}, &e, nil); st != 200 {
		t.Fatalf("create another hall: %d %v", st, e)
	}
	if st := s.call(t, "POST", "/api/v1/users", s.Admin, map[string]any{"username": "other", "password": "other-password-1", "role": "staff", "hall_ids": []string{"elsewhere"}}, &e, nil); st != 201 {
		t.Fatalf("create staff of another hall: %d %v", st, e)
	}
	s.call(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "other", "password": "other-password-1"}, &login, nil)
	_, b = s.get(t, "/halls/demo/kiosk", http.Header{"Cookie": {civiq.SessionCookie + "=" + login.Token}})
	if !strings.Contains(string(b), `"can_issue":false`) {
		t.Error("staff of no hall may issue at the kiosk")
	}
}

func TestKioskWaits(t *testing.T) {
	s := newKioskSite(t)
	type wait struct {
		ID           string
		Waiting      int
		ETASeconds   int `json:"eta_seconds"`
		OpenCounters int `json:"open_counters"`
	}
	read := func() map[string]wait {
		var out struct{ Services []wait }
		if st := s.call(t, "GET", "/api/v1/halls/demo/waits", "", nil, &out, nil); st != 200 {
			t.Fatalf("waits: %d", st)
		}
		m := map[string]wait{}
		for _, w := range out.Services {
			m[w.ID] = w
		}
		return m
	}
	w := read()
	if len(w) != 4 || w["general"].Waiting != 0 || w["general"].OpenCounters != 5 || w["tax"].OpenCounters != 2 {
		t.Fatalf("waits of an empty hall: %+v", w)
	}
	s.issue(t, s.Admin, "general")
	s.issue(t, s.Admin, "general")
	w = read()
	// The button shows what the next ticket is told: its place behind both
	// and its expected wait (the prediction moves a little with time).
	tk := s.issue(t, s.Admin, "general")
	if w["general"].Waiting != 2 || tk.Position == nil || *tk.Position != 2 || tk.ETASeconds == nil || kioskAbs(*tk.ETASeconds-w["general"].ETASeconds) > 5 {
		t.Errorf("waits after two tickets: %+v; the next ticket: position %v, eta %v", w["general"], tk.Position, tk.ETASeconds)
	}
	if w := read(); w["general"].Waiting != 3 || w["property"].Waiting != 0 {
		t.Errorf("waits after three tickets: %+v", w)
	}
	res, b := s.get(t, "/api/v1/halls/nowhere/waits", nil)
	wantAPIError(t, res, b, 404, "not_found")
}

func kioskAbs(n int) int { return max(n, -n) }

func TestTicketQR(t *testing.T) {
	s := newKioskSite(t)
	tk := s.issue(t, s.Admin, "general")

	res, b := s.get(t, "/t/"+tk.ID+"/qr.svg", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" || !bytes.HasPrefix(b, []byte("<svg")) || !bytes.Contains(b, []byte("<path")) {
		t.Fatalf("qr.svg: %d %q %.80s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}

	// The PNG is the QR code of the ticket page's absolute address, built
	// from the address the request came to.
	for _, c := range []struct {
		header http.Header
		want   string
	}{
		{nil, s.URL + "/t/" + tk.ID},
		{http.Header{"Host": {"hall.example.cn"}}, "http://hall.example.cn/t/" + tk.ID},
		{http.Header{"Host": {"hall.example.cn"}, "X-Forwarded-Proto": {"https"}}, "https://hall.example.cn/t/" + tk.ID},
	} {
		res, b := s.get(t, "/t/"+tk.ID+"/qr.png", c.header)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("qr.png: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
		q, err := qrcode.New(c.want, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := q.PNG(330)
		if !bytes.Equal(b, want) {
			t.Errorf("qr.png with %v is not the QR code of %s", c.header, c.want)
		}
	}

	for _, p := range []string{"/t/nope/qr.svg", "/t/nope/qr.png"} {
		res, b := s.get(t, p, nil)
		wantAPIError(t, res, b, 404, "not_found")
	}
}

func TestTicketEscpos(t *testing.T) {
	s := newKioskSite(t)
	s.issue(t, s.Admin, "general")
	var out struct{ Ticket kioskTicket }
	if st := s.call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "general", "channel": "kiosk", "priority_group": "elderly"}, &out, nil); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	tk := out.Ticket

	res, b := s.get(t, "/api/v1/tickets/"+tk.ID+"/escpos", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("escpos: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	gb := func(s string) []byte {
		b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	link := s.URL + "/t/" + tk.ID
	store := append([]byte{0x1d, '(', 'k', byte(len(link) + 3), 0, '1', 'P', '0'}, link...)
	if !bytes.HasPrefix(b, []byte{0x1b, '@', 0x1c, '&'}) || !bytes.HasSuffix(b, []byte{0x1d, 'V', 66, 3}) {
		t.Errorf("escpos does not start with ESC @ FS & and end with a cut: % x", b)
	}
	for name, want := range map[string][]byte{
		"hall name":     gb("示范政务服务大厅"),
		"service":       gb("综合受理"),
		"big number":    append([]byte{0x1d, '!', 0x55, 0x1b, 'E', 1}, tk.Number+"\n"...),
		"green channel": gb("绿色通道 · 老年人"),
		"people ahead":  gb("前方等待 0 人"),
		"taken":         gb("您已领取" + tk.Number + "号，前方等待0人"),
		"QR code":       store,
		"QR print":      {0x1d, '(', 'k', 3, 0, '1', 'Q', '0'},
	} {
		if !bytes.Contains(b, want) {
			t.Errorf("escpos lacks the %s (% x)", name, want)
		}
	}
	_, b = s.get(t, "/api/v1/tickets/"+tk.ID+"/escpos?lang=en", nil)
	for _, want := range []string{"Demo Service Hall", "General intake", "0 ahead of you", "Your number is " + tk.Number} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("English escpos lacks %q", want)
		}
	}
	res, b = s.get(t, "/api/v1/tickets/nope/escpos", nil)
	wantAPIError(t, res, b, 404, "not_found")
}

func TestTicketPage(t *testing.T) {
	s := newKioskSite(t)
	tk := s.issue(t, s.Admin, "property")
	res, b := s.get(t, "/t/"+tk.ID, nil)
	html := string(b)
	if res.StatusCode != 200 {
		t.Fatalf("/t: %d", res.StatusCode)
	}
	for _, want := range []string{`<html lang="zh-CN">`, tk.Number, "不动产登记", "等待中", "/static/ticket.js", "非常满意", "非常不满意", `"rated":false`} {
		if !strings.Contains(html, want) {
			t.Errorf("/t lacks %q", want)
		}
	}
	_, b = s.get(t, "/t/"+tk.ID+"?lang=en", nil)
	for _, want := range []string{`<html lang="en">`, "Real estate registration", "Waiting", "Very satisfied", "Counter 3"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("English /t lacks %q", want)
		}
	}

	res, b = s.get(t, "/t/no-such-ticket", nil)
	if res.StatusCode != 404 || !strings.Contains(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "找不到这张号票") {
		t.Errorf("unknown ticket: %d %q", res.StatusCode, b)
	}
	res, b = s.get(t, "/t/no-such-ticket?lang=en", nil)
	if res.StatusCode != 404 || !strings.Contains(string(b), "Ticket not found") {
		t.Errorf("unknown ticket in English: %d", res.StatusCode)
	}

	// Once rated, the page knows it and shows no form.
	for _, a := range []string{"call-next"} {
		if st := s.call(t, "POST", "/api/v1/halls/demo/counters/3/"+a, s.Admin, nil, nil, nil); st != 200 {
			t.Fatalf("%s: %d", a, st)
		}
	}
	for _, a := range []string{"start", "finish"} {
		if st := s.call(t, "POST", "/api/v1/tickets/"+tk.ID+"/"+a, s.Admin, nil, nil, nil); st != 200 {
			t.Fatalf("%s: %d", a, st)
		}
	}
	if st := s.call(t, "POST", "/api/v1/tickets/"+tk.ID+"/rating", "", map[string]any{"score": 5}, nil, nil); st != 201 {
		t.Fatalf("rate: %d", st)
	}
	_, b = s.get(t, "/t/"+tk.ID, nil)
	if !strings.Contains(string(b), `"rated":true`) || !strings.Contains(string(b), "已办结") {
		t.Error("a rated ticket's page does not know it")
	}
}
