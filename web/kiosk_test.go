package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/text/encoding/simplifiedchinese"
)

const kioskAdminPassword = civiqtest.AdminPassword

// kioskSite is a test node (civiqtest: wired as civiq serve wires it,
// with the demo hall), as the kiosk tests use it.
type kioskSite struct {
	URL    string
	Engine *civiq.Engine
	Admin  string // the admin's bearer token
}

// opts set up the engine (its clock, its secret key) before it serves.
func newKioskSite(t testing.TB, opts ...func(*civiq.Engine)) *kioskSite {
	t.Helper()
	n := civiqtest.New(t, func(n *civiqtest.Server) {
		for _, o := range opts {
			o(n.Engine)
		}
	})
	return &kioskSite{URL: n.URL, Engine: n.Engine, Admin: n.Admin}
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
	// The demo's counters are open with nobody signed in: none calls, as
	// the estimate counts them (Counter.Works); one signed in at 5 does.
	w := read()
	if len(w) != 4 || w["general"].Waiting != 0 || w["general"].OpenCounters != 0 || w["tax"].OpenCounters != 0 {
		t.Fatalf("waits of an empty hall: %+v", w)
	}
	if st := s.call(t, "POST", "/api/v1/halls/demo/counters/5/status", s.Admin, map[string]string{"status": "open"}, nil, nil); st != 200 {
		t.Fatalf("open 5: %d", st)
	}
	if w = read(); w["tax"].OpenCounters != 1 || w["general"].OpenCounters != 0 {
		t.Fatalf("waits with a clerk at 5: %+v", w)
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

// kioskMorning is when the appointment tests run by the server's clock: a
// Tuesday morning in a year the built-in calendar does not know (weekends
// only), so that slots of today can be booked and checked in to whenever
// the tests run.
var kioskMorning = time.Date(2031, 3, 4, 9, 40, 0, 0, time.FixedZone("CST", 8*3600))

// newApptSite is the kiosk site with a secret key (bookings keep ID
// numbers sealed) and a clock running from kioskMorning; booking closes at
// a slot's start (lead_minutes 0), so today's 10:00 slots can be booked.
func newApptSite(t testing.TB) *kioskSite {
	t.Helper()
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{0x6b}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	offset := time.Until(kioskMorning)
	s := newKioskSite(t, func(e *civiq.Engine) {
		e.Sealer = sealer
		e.Now = func() time.Time { return time.Now().Add(offset) }
	})
	if st := s.call(t, "PUT", "/api/v1/halls/demo/booking-settings", s.Admin, map[string]any{"lead_minutes": 0}, nil, nil); st != 200 {
		t.Fatalf("booking settings: %d", st)
	}
	return s
}

// kioskPerson is the n-th test person's ID number (person 2's ends in X).
func kioskPerson(n int) string {
	first := fmt.Sprintf("11010119900307%03d", n)
	return first + string(civiq.IDCheckChar(first))
}

// book books a slot of today (hh:mm by the hall's clock) for person n and
// returns the booking code.
func (s *kioskSite) book(t testing.TB, service, hhmm string, n int) string {
	t.Helper()
	var out struct{ Booking struct{ Code string } }
	body := map[string]string{"service_id": service, "slot_start": kioskMorning.Format("2006-01-02") + "T" + hhmm + ":00+08:00",
		"name": fmt.Sprintf("王%d", n), "phone": fmt.Sprintf("139%08d", n), "id_number": kioskPerson(n)}
	if st := s.call(t, "POST", "/api/v1/halls/demo/bookings", "", body, &out, nil); st != 201 || out.Booking.Code == "" {
		t.Fatalf("book %s %s: %d", service, hhmm, st)
	}
	return out.Booking.Code
}

// TestKioskCheckInPage: the start screen offers check-in and the guides;
// the keypads have every character of booking codes and ID endings; a
// hall without bookings has no check-in.
func TestKioskCheckInPage(t *testing.T) {
	s := newApptSite(t)
	_, b := s.get(t, "/halls/demo/kiosk", nil)
	html := string(b)
	for _, want := range []string{`id="checkin-open"`, "预约取号", `id="s-checkin"`, "预约码", "身份证号码后4位", "签到取号",
		`href="/halls/demo/guides?from=kiosk"`, "办事指南", `"appointments":true`, `"checkin_early_minutes":30`, `"checkin_late_minutes":15`,
		"请在预约时段开始前30分钟至开始后15分钟内签到"} {
		if !strings.Contains(html, want) {
			t.Errorf("kiosk page lacks %q", want)
		}
	}
	keys := map[string]map[string]bool{"keys-code": {}, "keys-id": {}}
	for pad := range keys {
		i := strings.Index(html, `id="`+pad+`"`)
		if i < 0 {
			t.Fatalf("no keypad %s", pad)
		}
		rest := html[i:]
		rest = rest[:strings.Index(rest, "</div>")]
		for _, part := range strings.Split(rest, `data-key="`)[1:] {
			keys[pad][part[:strings.IndexByte(part, '"')]] = true
		}
	}
	for range 200 {
		for _, c := range civiq.NewBookingCode() {
			if !keys["keys-code"][string(c)] {
				t.Fatalf("the code keypad lacks %q", c)
			}
		}
	}
	for _, c := range "0123456789X" {
		if !keys["keys-id"][string(c)] {
			t.Errorf("the ID keypad lacks %q", c)
		}
	}
	if len(keys["keys-code"]) != 32 || len(keys["keys-id"]) != 12 { // with delete
		t.Errorf("keypads: %v", keys)
	}
	_, b = s.get(t, "/halls/demo/kiosk?lang=en", nil)
	for _, want := range []string{"I have an appointment", "Service guides", "Booking code", "Last 4 characters of your ID number"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("English kiosk page lacks %q", want)
		}
	}

	if st := s.call(t, "PUT", "/api/v1/halls/demo/booking-settings", s.Admin, map[string]any{"enabled": false}, nil, nil); st != 200 {
		t.Fatalf("booking settings: %d", st)
	}
	_, b = s.get(t, "/halls/demo/kiosk", nil)
	if strings.Contains(string(b), `id="checkin-open"`) || !strings.Contains(string(b), `id="guides-open"`) {
		t.Error("a hall without bookings offers check-in, or no guides")
	}
}

// TestKioskAppointmentEscpos: an appointment ticket prints as a walk-in's,
// marked with its slot.
func TestKioskAppointmentEscpos(t *testing.T) {
	s := newApptSite(t)
	code := s.book(t, "general", "10:00", 2)
	var out struct{ Ticket kioskTicket }
	if st := s.call(t, "POST", "/api/v1/halls/demo/checkins", s.Admin, map[string]string{"code": code, "id_last4": "002X"}, &out, nil); st != 201 {
		t.Fatalf("check in: %d", st)
	}
	if out.Ticket.Channel != "appointment" || out.Ticket.Number != "A001" {
		t.Fatalf("ticket %+v", out.Ticket)
	}
	_, b := s.get(t, "/api/v1/tickets/"+out.Ticket.ID+"/escpos", nil)
	for _, want := range []string{"预约 10:00-10:30", "预约签到成功，您的号码是A001", "综合受理"} {
		gb, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(want))
		if !bytes.Contains(b, gb) {
			t.Errorf("escpos lacks %q", want)
		}
	}
	if bytes.Contains(b, []byte("\xc4\xfa\xd2\xd1\xc1\xec\xc8\xa1")) { // 您已领取
		t.Error("an appointment ticket prints the walk-in's line")
	}
	_, b = s.get(t, "/api/v1/tickets/"+out.Ticket.ID+"/escpos?lang=en", nil)
	for _, want := range []string{"Appointment 10:00-10:30", "Checked in: your number is A001"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("English escpos lacks %q", want)
		}
	}
	// A walk-in's has no mark.
	tk := s.issue(t, s.Admin, "general")
	_, b = s.get(t, "/api/v1/tickets/"+tk.ID+"/escpos?lang=en", nil)
	if bytes.Contains(b, []byte("Appointment")) {
		t.Error("a walk-in ticket is marked as an appointment")
	}
}
