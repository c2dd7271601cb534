package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/outbound"
)

// node is a test node with a secret key and the demo hall's notifications
// sent by the log channel.
func node(t testing.TB, settings map[string]any, opts ...func(*civiqtest.Server)) *civiqtest.Server {
	t.Helper()
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{7}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := civiqtest.New(t, append(opts, func(s *civiqtest.Server) { s.Engine.Sealer = sealer })...)
	if settings == nil {
		settings = map[string]any{"ahead": 3, "sms": map[string]any{"provider": "log"}, "link_base": "https://hall.example.cn"}
	}
	if code := s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, settings, nil); code != 200 {
		t.Fatalf("PUT notifications: %d", code)
	}
	return s
}

func issue(t testing.TB, s *civiqtest.Server, service string) civiq.Ticket {
	t.Helper()
	var out struct{ Ticket civiq.Ticket }
	if code := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": service}, &out); code != 201 {
		t.Fatalf("issue: %d", code)
	}
	return out.Ticket
}

func callNext(t testing.TB, s *civiqtest.Server, counter string) civiq.Ticket {
	t.Helper()
	var out struct{ Ticket civiq.Ticket }
	if code := s.Call(t, "POST", "/api/v1/halls/demo/counters/"+counter+"/call-next", s.Admin, nil, &out); code != 200 {
		t.Fatalf("call-next: %d", code)
	}
	return out.Ticket
}

// told is what the log channel sent, as "number kind" lines, by ticket:
// each ticket's in the order sent (the sender keeps it), the tickets by
// number (it sends several tickets' at once).
func told(s *civiqtest.Server) []string {
	var out []string
	for _, m := range s.NotifyLog.Sent() {
		out = append(out, m.Params[0].Value+" "+m.Kind)
	}
	return byTicket(out)
}

// byTicket orders "number kind" lines as told does.
func byTicket(lines []string) []string {
	out := slices.Clone(lines)
	slices.SortStableFunc(out, func(a, b string) int {
		return strings.Compare(strings.Fields(a)[0], strings.Fields(b)[0])
	})
	return out
}

// sentOf is the message the log channel sent of a ticket's number and kind.
func sentOf(t *testing.T, s *civiqtest.Server, number, kind string) civiq.ChannelMessage {
	t.Helper()
	for _, m := range s.NotifyLog.Sent() {
		if m.Params[0].Value == number && m.Kind == kind {
			return m
		}
	}
	t.Fatalf("no %s message of %s", kind, number)
	return civiq.ChannelMessage{}
}

// await waits until the log channel sent n messages (a bound for a loaded
// machine, not a speed limit), then a little longer for any extra one.
func await(t *testing.T, s *civiqtest.Server, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(told(s)) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	s.Outbound.Notify()
	time.Sleep(100 * time.Millisecond)
	return told(s)
}

// TestHallDay: opted-in tickets get exactly their messages, in order: the
// ticket taken, "3 ahead", "next", the call; nothing after the call, an
// "ahead" too late is dropped, and an opted-out ticket gets nothing.
func TestHallDay(t *testing.T) {
	s := node(t, nil)
	var tickets []civiq.Ticket
	for range 7 {
		tickets = append(tickets, issue(t, s, "tax")) // counter 5 serves tax alone
	}
	optIn := func(i int, phone string) {
		t.Helper()
		var out struct {
			OptIn map[string]string `json:"opt_in"`
		}
		if code := s.Call(t, "POST", "/api/v1/tickets/"+tickets[i].ID+"/notify", "", map[string]string{"phone": phone}, &out); code != 201 {
			t.Fatalf("opt in %d: %d", i, code)
		}
		if out.OptIn["to"] != civiq.MaskPhone(strings.ReplaceAll(strings.TrimPrefix(phone, "+86"), " ", "")) {
			t.Errorf("opt-in answers %v", out.OptIn)
		}
	}
	optIn(0, "13800000001") // first in line: taken and next at once
	optIn(4, "+86 138 0000 0005")
	optIn(6, "13800000007")
	if code := s.Call(t, "DELETE", "/api/v1/tickets/"+tickets[6].ID+"/notify", "", nil, nil); code != 204 {
		t.Fatalf("opt out: %d", code)
	}
	got := await(t, s, 3)
	want := []string{"C001 taken", "C001 next", "C005 taken"}
	if !slices.Equal(got, want) {
		var raw json.RawMessage
		s.Call(t, "GET", "/api/v1/halls/demo/notifications/messages", s.Admin, nil, &raw)
		t.Fatalf("after opting in: %v, want %v\n%s", got, want, raw)
	}
	// Each call waits for its messages: one called in the meantime
	// would drop them (TestStaleDropped).
	after := [][]string{{"C001 called", "C005 ahead"}, nil, nil, {"C005 next"}, {"C005 called"}, nil}
	for i := range 6 {
		c := callNext(t, s, "5")
		if c.Number != tickets[i].Number {
			t.Fatalf("called %s, want %s", c.Number, tickets[i].Number)
		}
		if code := s.Call(t, "POST", "/api/v1/tickets/"+c.ID+"/finish", s.Admin, nil, nil); code != 200 {
			t.Fatalf("finish: %d", code)
		}
		want = byTicket(append(want, after[i]...))
		if got = await(t, s, len(want)); !slices.Equal(got, want) {
			t.Fatalf("after calling %s: %v, want %v", c.Number, got, want)
		}
	}
	if m := sentOf(t, s, "C001", civiq.NoticeTaken); m.Link != "https://hall.example.cn/t/"+tickets[0].ID || !strings.Contains(m.Text, "C001") {
		t.Errorf("taken: link %q text %q", m.Link, m.Text)
	}
	if p := sentOf(t, s, "C005", civiq.NoticeAhead).Params; len(p) != 2 || p[1] != (civiq.NoticeParam{Name: "ahead", Value: "3"}) {
		t.Errorf("ahead's params %v", p)
	}
	if p := sentOf(t, s, "C005", civiq.NoticeCalled).Params; len(p) != 2 || p[1].Name != "counter" || p[1].Value == "" {
		t.Errorf("called's params %v", p)
	}
	for _, m := range s.NotifyLog.Sent() {
		if m.To != "13800000001" && m.To != "13800000005" {
			t.Errorf("sent to %q", m.To)
		}
	}

	// The list: every message, masked, with its status; C001 came
	// straight to next: its "ahead" was never due and is not there.
	var list struct{ Messages []civiq.Notice }
	if code := s.Call(t, "GET", "/api/v1/halls/demo/notifications/messages", s.Admin, nil, &list); code != 200 {
		t.Fatalf("messages: %d", code)
	}
	var lines []string
	for _, m := range list.Messages {
		if m.Number == tickets[6].Number {
			// Opted out just after opting in: when the sender planned its
			// "taken" in between, the record keeps it, dropped at its claim;
			// otherwise it was never due. Either way nothing was sent.
			if m.Kind != civiq.NoticeTaken || m.Status != civiq.NoticeDropped {
				t.Errorf("the opted-out ticket's message %s %s, want none or taken dropped", m.Kind, m.Status)
			}
			continue
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s", m.Number, m.Kind, m.Status, m.To))
	}
	wantLines := []string{
		"C001 taken delivered 138****0001", "C001 next delivered 138****0001",
		"C005 taken delivered 138****0005", "C001 called delivered 138****0001", "C005 ahead delivered 138****0005",
		"C005 next delivered 138****0005", "C005 called delivered 138****0005"}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("messages:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	raw, _ := json.Marshal(list)
	for _, leak := range []string{"13800000001", "13800000005", tickets[0].ID} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("the list shows %s", leak)
		}
	}
	// The report counts them.
	var rep struct{ Report civiq.NotifyReport }
	if code := s.Call(t, "GET", "/api/v1/halls/demo/notifications/report", s.Admin, nil, &rep); code != 200 {
		t.Fatalf("report: %d", code)
	}
	if rep.Report.SMSToday != 7 {
		t.Errorf("report: %d SMS today, want 7: %+v", rep.Report.SMSToday, rep.Report)
	}
	// Days whose messages the prune has begun to forget are refused, never
	// counted short: the report goes back 39 days before today.
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	now := s.Engine.Now().In(shanghai)
	day := func(ago int) string { return now.AddDate(0, 0, -ago).Format(time.DateOnly) }
	if code := s.Call(t, "GET", "/api/v1/halls/demo/notifications/report?from="+day(39), s.Admin, nil, nil); code != 200 {
		t.Errorf("report from 39 days ago: %d, want 200", code)
	}
	var bad struct {
		Error struct{ Code, Field, Message string }
	}
	if code := s.Call(t, "GET", "/api/v1/halls/demo/notifications/report?from="+day(40)+"&to="+day(0), s.Admin, nil, &bad); code != 400 ||
		bad.Error.Field != "from" || !strings.Contains(bad.Error.Message, "kept 40 days") || !strings.Contains(bad.Error.Message, day(39)) {
		t.Errorf("report from 40 days ago: %d %+v, want 400 naming from and %s", code, bad.Error, day(39))
	}
}

// TestNumberHourLimit: a number has at most the hall's per_phone_hour
// messages an hour, counted across batches (the plan's read counts those
// handed before) and within one (the claim counts those it hands).
func TestNumberHourLimit(t *testing.T) {
	s := node(t, map[string]any{"sms": map[string]any{"provider": "log"}, "per_phone_hour": 2})
	var tickets []civiq.Ticket
	for range 7 {
		tickets = append(tickets, issue(t, s, "tax")) // the last three have more than 3 before them: "taken" alone
	}
	optIn := func(i int) {
		t.Helper()
		if code := s.Call(t, "POST", "/api/v1/tickets/"+tickets[i].ID+"/notify", "", map[string]string{"phone": "13800000009"}, nil); code != 201 {
			t.Fatalf("opt in %d: %d", i, code)
		}
	}
	optIn(4)
	if got := await(t, s, 1); !slices.Equal(got, []string{"C005 taken"}) {
		t.Fatalf("told %v", got)
	}
	optIn(5)
	optIn(6)
	var lines []string
	for deadline := time.Now().Add(20 * time.Second); len(lines) < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var list struct{ Messages []civiq.Notice }
		s.Call(t, "GET", "/api/v1/halls/demo/notifications/messages", s.Admin, nil, &list)
		lines = lines[:0]
		for _, m := range list.Messages {
			if m.Status != civiq.NoticeSending {
				lines = append(lines, m.Kind+" "+m.Status+" "+m.Code)
			}
		}
	}
	slices.Sort(lines)
	if want := []string{"taken delivered OK", "taken delivered OK", "taken failed limit_phone"}; !slices.Equal(lines, want) {
		t.Errorf("messages %v, want %v", lines, want)
	}
}

// TestStaleDropped: a message that was due but can no longer help when its
// turn to go comes (the "ahead" of a ticket called meanwhile) is dropped,
// not sent late, and the list shows it so; one the ticket went past before
// it was planned (its "next", the sender stopped) is no message at all.
func TestStaleDropped(t *testing.T) {
	s := node(t, nil)
	var refuse atomic.Bool
	refuse.Store(true)
	s.NotifyLog.Answer = func(m *civiq.ChannelMessage) civiq.ChannelResult {
		if m.Kind == civiq.NoticeAhead && refuse.Load() {
			return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "Throttling", Error: "later", Retry: true}
		}
		return civiq.ChannelResult{ProviderID: "log-" + m.ID, Status: civiq.NoticeDelivered, Code: "OK"}
	}
	var tickets []civiq.Ticket
	for range 5 {
		tickets = append(tickets, issue(t, s, "tax"))
	}
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tickets[4].ID+"/notify", "", map[string]string{"phone": "13800000005"}, nil); code != 201 {
		t.Fatalf("opt in: %d", code)
	}
	if got := await(t, s, 1); !slices.Equal(got, []string{"C005 taken"}) {
		t.Fatalf("told %v", got)
	}
	lines := func() []string {
		var list struct{ Messages []civiq.Notice }
		s.Call(t, "GET", "/api/v1/halls/demo/notifications/messages", s.Admin, nil, &list)
		var out []string
		for _, m := range list.Messages {
			out = append(out, strings.TrimSpace(m.Kind+" "+m.Status+" "+m.Code))
		}
		slices.Sort(out)
		return out
	}
	// C001 called: C005 has 3 before it and its "ahead" is due; the
	// provider asks to have it again later, so it waits queued.
	c := callNext(t, s, "5")
	s.Call(t, "POST", "/api/v1/tickets/"+c.ID+"/finish", s.Admin, nil, nil)
	for deadline := time.Now().Add(20 * time.Second); !slices.Contains(lines(), "ahead queued Throttling"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no ahead left queued: %v", lines())
		}
	}
	// The delivery stops (a restart), the hall goes on to C005's call.
	s.Outbound.Stop()
	refuse.Store(false)
	for range 4 {
		c := callNext(t, s, "5")
		s.Call(t, "POST", "/api/v1/tickets/"+c.ID+"/finish", s.Admin, nil, nil)
	}
	d := outbound.New(s.Engine, s.Senders, nil)
	d.Start()
	t.Cleanup(d.Stop)
	if got := await(t, s, 2); !slices.Equal(got, []string{"C005 taken", "C005 called"}) {
		t.Fatalf("told %v, want taken and called alone", got)
	}
	if got, want := lines(), []string{"ahead dropped stale", "called delivered OK", "taken delivered OK"}; !slices.Equal(got, want) {
		t.Errorf("messages %v, want %v", got, want)
	}
}

// TestNotifyBadInput: bad input is a clear 4xx and changes nothing;
// secrets are never answered.
func TestNotifyBadInput(t *testing.T) {
	s := node(t, map[string]any{"sms": map[string]any{"provider": "log", "access_key_id": "id", "access_key_secret": "s3cret-value"}})
	tk := issue(t, s, "tax")
	path := "/api/v1/tickets/" + tk.ID + "/notify"
	for _, c := range []struct {
		method, path string
		token        string
		body         any
		want         int
	}{
		{"POST", path, "", map[string]string{"phone": "12345"}, 400},
		{"POST", path, "", map[string]string{"phone": "1380000000x"}, 400},
		{"POST", path, "", map[string]string{"phone": "13800000001", "lang": "fr"}, 400},
		{"POST", path, "", map[string]any{}, 400},
		{"POST", path, "", map[string]any{"phone": "13800000001", "wechat": map[string]string{"openid": "o1"}}, 400},
		{"POST", path, "", map[string]any{"wechat": map[string]string{"openid": "o1"}}, 409}, // no WeChat set up
		{"POST", path, "", "13800000001", 400},
		{"POST", "/api/v1/tickets/nosuchticket/notify", "", map[string]string{"phone": "13800000001"}, 404},
		{"DELETE", path + "?medium=carrier-pigeon", "", nil, 400},
		{"DELETE", path, "", nil, 404}, // not opted in
		{"PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"ahead": 99}, 400},
		{"PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"sms": map[string]any{"provider": "nosuch"}}, 400},
		{"PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"sms": map[string]any{"provider": "log", "templates": map[string]string{"lottery": "T1"}}}, 400},
		{"PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"quiet_from": "25:00", "quiet_to": "08:00"}, 400},
		{"PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"daily_budget": -1}, 400},
		{"PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"link_base": "ftp://x"}, 400},
		{"PUT", "/api/v1/halls/nosuch/notifications", s.Admin, map[string]any{}, 404},
		{"GET", "/api/v1/halls/demo/notifications/messages?date=yesterday", s.Admin, nil, 400},
		{"GET", "/api/v1/halls/demo/notifications/report?from=2026-13-01", s.Admin, nil, 400},
		{"POST", "/api/v1/halls/demo/notifications/test", s.Admin, map[string]string{"phone": "5"}, 400},
	} {
		if got := s.Call(t, c.method, c.path, c.token, c.body, nil); got != c.want {
			t.Errorf("%s %s %v: %d, want %d", c.method, c.path, c.body, got, c.want)
		}
	}
	// Nothing changed: the settings are still the first.
	var got struct{ Notifications civiq.NotifySettings }
	s.Call(t, "GET", "/api/v1/halls/demo/notifications", s.Admin, nil, &got)
	if n := got.Notifications; n.Ahead != 3 || n.SMS == nil || n.SMS.Provider != "log" || !n.SMS.HasSecret || n.SMS.Secret != "" {
		t.Errorf("settings now %+v %+v", n, n.SMS)
	}
	// A change without the secret keeps it; no answer ever shows it.
	var raw json.RawMessage
	s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"ahead": 2, "sms": map[string]any{"provider": "log", "access_key_id": "id"}}, &raw)
	if strings.Contains(string(raw), "s3cret") || !strings.Contains(string(raw), `"has_secret":true`) {
		t.Errorf("PUT answers %s", raw)
	}
	// One number for many tickets: the sixth opt-in of a day is refused.
	for i := range civiq.MaxOptInsPerAddressDay + 1 {
		k := issue(t, s, "tax")
		want := 201
		if i == civiq.MaxOptInsPerAddressDay {
			want = 429
		}
		if code := s.Call(t, "POST", "/api/v1/tickets/"+k.ID+"/notify", "", map[string]string{"phone": "13900000000"}, nil); code != want {
			t.Errorf("opt-in %d of one number: %d, want %d", i+1, code, want)
		}
	}
	// A ticket done has nothing left to tell.
	c := callNext(t, s, "5")
	s.Call(t, "POST", "/api/v1/tickets/"+c.ID+"/finish", s.Admin, nil, nil)
	if code := s.Call(t, "POST", "/api/v1/tickets/"+c.ID+"/notify", "", map[string]string{"phone": "13800000002"}, nil); code != 409 {
		t.Errorf("opt-in of a done ticket: %d", code)
	}
	// The test message goes by the hall's channel.
	var res struct{ Result civiq.ChannelResult }
	if code := s.Call(t, "POST", "/api/v1/halls/demo/notifications/test", s.Admin, map[string]string{"phone": "13800000009"}, &res); code != 200 || res.Result.Status != civiq.NoticeDelivered {
		t.Errorf("test send: %d %+v", code, res.Result)
	}
}

// TestThrottledHoldsBriefly: a ticket's message the provider keeps asking
// to have later holds the hall's other messages NotifyRetry at most each
// time, not the retry schedule's 5 minutes, 30 minutes and hours; another
// ticket's message goes at the next try.
func TestThrottledHoldsBriefly(t *testing.T) {
	s := node(t, nil, func(s *civiqtest.Server) { s.App.Outbound.Poll = 100 * time.Millisecond })
	s.NotifyLog.Answer = func(m *civiq.ChannelMessage) civiq.ChannelResult {
		if m.To == "13800000001" {
			return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "Throttling", Error: "later", Retry: true}
		}
		return civiq.ChannelResult{ProviderID: "log-" + m.ID, Status: civiq.NoticeDelivered, Code: "OK"}
	}
	optIn := func(tk civiq.Ticket, phone string) {
		if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/notify", "", map[string]string{"phone": phone}, nil); code != 201 {
			t.Fatalf("opt in: %d", code)
		}
	}
	notifier := func() *civiq.Subscriber {
		subs, err := s.Engine.AllSubscribers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range subs {
			if sub.Kind == civiq.SubscriberNotify {
				return sub
			}
		}
		t.Fatal("no notifications subscriber")
		return nil
	}
	optIn(issue(t, s, "tax"), "13800000001")
	for i := range 4 { // past the schedule's 5 s and 5 min steps
		deadline := time.Now().Add(20 * time.Second)
		for notifier().Attempts <= i {
			if time.Now().After(deadline) {
				t.Fatalf("no failed try %d", i+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
		wait := notifier().NextAt.Sub(s.Clock.Now())
		if wait > civiq.NotifyRetry*11/10 {
			t.Fatalf("after failed try %d the hall's messages wait %s, want at most %s", i+1, wait, civiq.NotifyRetry*11/10)
		}
		s.Clock.Advance(wait + time.Millisecond)
	}
	optIn(issue(t, s, "tax"), "13800000002")
	s.Clock.Advance(civiq.NotifyRetry * 11 / 10)
	if got := await(t, s, 1); !slices.Contains(got, "C002 taken") || slices.Contains(got, "C001 taken") {
		t.Fatalf("told %v, want the other ticket's taken", got)
	}
}
