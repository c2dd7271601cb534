package outbound_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/outbound"
	"github.com/civiq/civiq/outbound/webhooktest"
)

// waitFor polls cond for up to 20 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// node starts a node whose webhooks may reach loopback, with short tries.
func node(t testing.TB) *civiqtest.Server {
	return civiqtest.New(t, func(s *civiqtest.Server) {
		s.App.SetWebhookAllow(loopback)
		s.App.Sender.Timeout = 500 * time.Millisecond
		s.App.Outbound.Poll = 100 * time.Millisecond
	})
}

type hookView struct {
	ID       int64      `json:"id"`
	Secret   string     `json:"secret"`
	Status   string     `json:"status"`
	Cursor   int64      `json:"cursor"`
	NextAt   *time.Time `json:"next_attempt_at"` // the hook's own, beside its delivery's
	Delivery struct {
		Pending   int        `json:"pending"`
		Attempts  int        `json:"attempts"`
		LastError string     `json:"last_error"`
		Status    string     `json:"status"`
		NextAt    *time.Time `json:"next_attempt_at"`
	} `json:"delivery"`
}

func createHook(t testing.TB, s *civiqtest.Server, rc *webhooktest.Receiver, events ...string) hookView {
	t.Helper()
	var out struct{ Webhook hookView }
	if code := s.Call(t, "POST", "/api/v1/webhooks", s.Admin, map[string]any{"url": rc.URL + "/hook", "events": events}, &out); code != 201 {
		t.Fatalf("create webhook: %d", code)
	}
	if !strings.HasPrefix(out.Webhook.Secret, "whsec_") {
		t.Fatalf("secret %q", out.Webhook.Secret)
	}
	rc.AddSecret(out.Webhook.Secret)
	return out.Webhook
}

func announce(t testing.TB, s *civiqtest.Server, n int) {
	t.Helper()
	for i := range n {
		if err := s.Engine.Announce(context.Background(), "demo", "line "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func hook(t testing.TB, s *civiqtest.Server, id int64) hookView {
	t.Helper()
	var out struct{ Webhook hookView }
	if code := s.Call(t, "GET", "/api/v1/webhooks/"+strconv.FormatInt(id, 10), s.Admin, nil, &out); code != 200 {
		t.Fatalf("get webhook: %d", code)
	}
	return out.Webhook
}

// checkInOrder: the lines 0..n-1, each acknowledged once, in order.
func checkInOrder(t testing.TB, got []webhooktest.Message, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d messages, want %d", len(got), n)
	}
	seen := map[string]bool{}
	for i, m := range got {
		if m.Type != civiq.EventAnnouncement || m.Data.Text != "line "+strconv.Itoa(i) || m.Time == "" {
			t.Errorf("message %d: %+v", i, m)
		}
		if seen[m.ID] {
			t.Errorf("message id %s acknowledged twice", m.ID)
		}
		seen[m.ID] = true
	}
}

func TestDeliversSignedInOrder(t *testing.T) {
	s := node(t)
	rc := webhooktest.New(t)
	createHook(t, s, rc, civiq.EventAnnouncement)
	// Not wanted: tickets; wanted: the announcements.
	if code := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "general", "channel": "kiosk"}, nil); code != 201 {
		t.Fatalf("issue: %d", code)
	}
	announce(t, s, 30)
	waitFor(t, "30 messages", func() bool { return len(rc.Messages()) >= 30 })
	checkInOrder(t, rc.Messages(), 30)
}

func TestReceiverFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request) bool
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(500); return false }},
		{"timeout", func(w http.ResponseWriter, r *http.Request) bool { time.Sleep(time.Second); return false }},
		{"reset", func(w http.ResponseWriter, r *http.Request) bool {
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
			return false
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := node(t)
			rc := webhooktest.New(t)
			h := createHook(t, s, rc, "*")
			rc.Answer(tc.answer)
			announce(t, s, 3)
			waitFor(t, "a failed try", func() bool { return hook(t, s, h.ID).Delivery.Attempts > 0 })
			v := hook(t, s, h.ID)
			if v.Delivery.LastError == "" || v.Delivery.Pending != 3 || v.Status != civiq.SubscriberActive {
				t.Errorf("after a failure: %+v", v)
			}
			rc.Answer(nil)
			s.Clock.Advance(6 * time.Second) // the first retry is due after 5 s ±10%
			waitFor(t, "3 messages", func() bool { return len(rc.Messages()) >= 3 })
			checkInOrder(t, rc.Messages(), 3)
			waitFor(t, "nothing pending", func() bool { v := hook(t, s, h.ID); return v.Delivery.Pending == 0 && v.Delivery.Attempts == 0 })
			var log struct{ Deliveries []civiq.DeliveryAttempt }
			s.Call(t, "GET", "/api/v1/webhooks/"+strconv.FormatInt(h.ID, 10)+"/deliveries", s.Admin, nil, &log)
			if n := len(log.Deliveries); n < 4 || log.Deliveries[n-1].OK() || log.Deliveries[0].Status != 204 {
				t.Errorf("delivery log: %+v", log.Deliveries)
			}
		})
	}
}

func TestGoneDisables(t *testing.T) {
	s := node(t)
	rc := webhooktest.New(t)
	h := createHook(t, s, rc, "*")
	// Retrying, then paused by an admin: no next try is named, the failed
	// ones stay.
	rc.Answer(func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(500); return false })
	announce(t, s, 2)
	waitFor(t, "a failed try", func() bool { return hook(t, s, h.ID).Delivery.Attempts > 0 })
	if code := s.Call(t, "PUT", "/api/v1/webhooks/"+strconv.FormatInt(h.ID, 10), s.Admin, map[string]any{"status": "disabled"}, nil); code != 200 {
		t.Fatalf("disable: %d", code)
	}
	if v := hook(t, s, h.ID); v.NextAt != nil || v.Delivery.NextAt != nil || v.Delivery.Attempts != 1 || v.Delivery.LastError == "" {
		t.Errorf("paused by an admin: next %v, %+v", v.NextAt, v.Delivery)
	}
	rc.Answer(func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(410); return false })
	if code := s.Call(t, "PUT", "/api/v1/webhooks/"+strconv.FormatInt(h.ID, 10), s.Admin, map[string]any{"status": "active"}, nil); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	waitFor(t, "disabled", func() bool { return hook(t, s, h.ID).Status == civiq.SubscriberDisabled })
	// Disabled, it says why and names no next try: none is due (it named
	// one 5 s on, which never came).
	if v := hook(t, s, h.ID); v.Delivery.LastError != "410 Gone" || v.Delivery.NextAt != nil || v.NextAt != nil || v.Delivery.Status != civiq.SubscriberDisabled {
		t.Errorf("disabled by a 410: next %v, %+v", v.NextAt, v.Delivery)
	}
	rc.Answer(nil)
	s.Clock.Advance(time.Minute)
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.Messages()); n != 0 {
		t.Fatalf("a disabled hook got %d messages", n)
	}
	// An admin starts it again: everything, in order.
	var out struct{ Webhook hookView }
	if code := s.Call(t, "PUT", "/api/v1/webhooks/"+strconv.FormatInt(h.ID, 10), s.Admin,
		map[string]any{"url": rc.URL + "/hook", "events": []string{"*"}, "status": "active"}, &out); code != 200 {
		t.Fatalf("put: %d", code)
	}
	waitFor(t, "2 messages", func() bool { return len(rc.Messages()) >= 2 })
	checkInOrder(t, rc.Messages(), 2)
}

// A receiver down for a while gets everything afterwards, in order, each
// message acknowledged once; the tries of one message share its id.
func TestDownThenUp(t *testing.T) {
	s := node(t)
	rc := webhooktest.New(t)
	h := createHook(t, s, rc, civiq.EventAnnouncement)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(503); return false })
	announce(t, s, 10)
	for i := range 3 { // three failed tries, each after its backoff
		waitFor(t, "a failed try", func() bool { return hook(t, s, h.ID).Delivery.Attempts > i })
		s.Clock.Advance(civiq.RetryDelay(i+1, 1))
	}
	for i := 10; i < 40; i++ {
		if err := s.Engine.Announce(context.Background(), "demo", "line "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	rc.Answer(nil)
	s.Clock.Advance(civiq.RetryDelay(4, 1))
	waitFor(t, "40 messages", func() bool { return len(rc.Messages()) >= 40 })
	checkInOrder(t, rc.Messages(), 40)
	first := rc.Tries(rc.Messages()[0].ID)
	if first < 4 {
		t.Errorf("the first message was tried %d times with its id, want at least 4", first)
	}
}

// A node that stops delivering (a restart, a crash) is followed by another
// that resumes from the cursor once the lease expires: nothing lost,
// nothing reordered.
func TestRestartResumesFromCursor(t *testing.T) {
	s := node(t)
	rc := webhooktest.New(t)
	createHook(t, s, rc, civiq.EventAnnouncement)
	for i := range 5 {
		s.Engine.Announce(context.Background(), "demo", "line "+strconv.Itoa(i))
	}
	waitFor(t, "5 messages", func() bool { return len(rc.Messages()) >= 5 })
	s.App.Outbound.Stop()
	for i := 5; i < 15; i++ {
		s.Engine.Announce(context.Background(), "demo", "line "+strconv.Itoa(i))
	}
	next := outbound.New(s.Engine, s.App.Sender, nil)
	next.Poll = 100 * time.Millisecond
	next.Start()
	defer next.Stop()
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.Messages()); n != 5 {
		t.Fatalf("the second node delivered while the first's lease held: %d messages", n)
	}
	s.Clock.Advance(civiq.DeliveryLease + time.Second)
	waitFor(t, "15 messages", func() bool { return len(rc.Messages()) >= 15 })
	checkInOrder(t, rc.Messages(), 15)
}

func TestRotateSignsWithBoth(t *testing.T) {
	s := node(t)
	rc := webhooktest.New(t)
	h := createHook(t, s, rc, "*")
	var out struct{ Webhook hookView }
	if code := s.Call(t, "POST", "/api/v1/webhooks/"+strconv.FormatInt(h.ID, 10)+"/rotate-secret", s.Admin, nil, &out); code != 200 || out.Webhook.Secret == h.Secret {
		t.Fatalf("rotate: %d %+v", code, out)
	}
	var (
		mu   sync.Mutex
		sigs []string
	)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		sigs = append(sigs, r.Header.Get("webhook-signature"))
		mu.Unlock()
		return true
	})
	// Each secret alone verifies the message.
	rc.SetSecrets(out.Webhook.Secret)
	announce(t, s, 1)
	waitFor(t, "1 message", func() bool { return len(rc.Messages()) >= 1 })
	mu.Lock()
	defer mu.Unlock()
	if len(sigs) != 1 || len(strings.Fields(sigs[0])) != 2 {
		t.Fatalf("signatures during rotation: %q", sigs)
	}
}

func TestTestMessage(t *testing.T) {
	s := node(t)
	rc := webhooktest.New(t)
	h := createHook(t, s, rc, "*")
	var out struct{ Delivery civiq.DeliveryAttempt }
	if code := s.Call(t, "POST", "/api/v1/webhooks/"+strconv.FormatInt(h.ID, 10)+"/test", s.Admin, nil, &out); code != 200 || out.Delivery.Status != 204 {
		t.Fatalf("test: %d %+v", code, out)
	}
	if m := rc.Messages(); len(m) != 1 || m[0].Type != civiq.EventTest {
		t.Fatalf("got %+v", m)
	}
}

func TestWebhookInput(t *testing.T) {
	s := civiqtest.New(t) // no --webhook-allow
	manager := s.User(t, "mgr", civiq.RoleManager, "demo")
	staff := s.User(t, "clerk", civiq.RoleStaff, "demo")
	for _, tc := range []struct {
		name  string
		token string
		body  string
		code  int
		field string
	}{
		{"no url", s.Admin, `{"events":["*"]}`, 400, "url"},
		{"ftp", s.Admin, `{"url":"ftp://example.com/x","events":["*"]}`, 400, "url"},
		{"not absolute", s.Admin, `{"url":"/hook","events":["*"]}`, 400, "url"},
		{"loopback", s.Admin, `{"url":"http://127.0.0.1:9/x","events":["*"]}`, 400, "url"},
		{"private", s.Admin, `{"url":"http://10.1.2.3/x","events":["*"]}`, 400, "url"},
		{"link-local", s.Admin, `{"url":"http://[fe80::1]/x","events":["*"]}`, 400, "url"},
		{"localhost", s.Admin, `{"url":"http://localhost/x","events":["*"]}`, 400, "url"},
		{"no events", s.Admin, `{"url":"https://example.com/x"}`, 400, "events"},
		{"unknown event", s.Admin, `{"url":"https://example.com/x","events":["ticket.eaten"]}`, 400, "events"},
		{"unknown hall", s.Admin, `{"url":"https://example.com/x","events":["*"],"halls":["nope"]}`, 400, "halls"},
		{"staff", staff, `{"url":"https://example.com/x","events":["*"]}`, 403, ""},
		{"manager", manager, `{"url":"https://example.com/x","events":["ticket.called","ticket.updated","case.updated"]}`, 201, ""},
		{"admin", s.Admin, `{"url":"https://example.com/x","events":["*"],"description":"CRM"}`, 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out struct {
				Error struct{ Code, Field string }
			}
			if code := s.Call(t, "POST", "/api/v1/webhooks", tc.token, json.RawMessage(tc.body), &out); code != tc.code || out.Error.Field != tc.field {
				t.Fatalf("got %d %+v, want %d naming %q", code, out.Error, tc.code, tc.field)
			}
		})
	}
	// The manager sees the hook of their hall, not the admin's of every hall.
	var list struct{ Webhooks []hookView }
	s.Call(t, "GET", "/api/v1/webhooks", manager, nil, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].Secret != "" {
		t.Fatalf("manager's list: %+v", list.Webhooks)
	}
	s.Call(t, "GET", "/api/v1/webhooks", s.Admin, nil, &list)
	if len(list.Webhooks) != 2 {
		t.Fatalf("admin's list: %+v", list.Webhooks)
	}
	if code := s.Call(t, "GET", "/api/v1/webhooks/"+strconv.FormatInt(list.Webhooks[1].ID, 10), manager, nil, nil); code != 404 {
		t.Fatalf("manager reads the admin's hook: %d", code)
	}
}

// The sender itself refuses a private address it is not allowed to reach,
// however the name resolves.
func TestSenderRefusesPrivate(t *testing.T) {
	rc := webhooktest.New(t)
	snd := outbound.NewHTTPSender()
	a := snd.Send(context.Background(), &civiq.Subscriber{URL: rc.URL, Secret: civiq.NewWebhookSecret()}, &civiq.Message{ID: "msg_1", Body: []byte("{}")})
	if a.Status != 0 || !strings.Contains(a.Error, "not allowed") {
		t.Fatalf("attempt %+v", a)
	}
}

// BenchmarkDelivery: events committed, then delivered to a local receiver;
// events/s is what a hook keeps up with.
func BenchmarkDelivery(b *testing.B) {
	s := civiqtest.New(b, func(s *civiqtest.Server) {
		s.App.SetWebhookAllow(loopback)
		s.App.Outbound.Poll = 50 * time.Millisecond
	})
	var mu sync.Mutex
	n := 0
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		n++
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer rc.Close()
	var out struct{ Webhook hookView }
	s.Call(b, "POST", "/api/v1/webhooks", s.Admin, map[string]any{"url": rc.URL, "events": []string{"*"}}, &out)
	s.App.Outbound.Stop() // commit first, then time the delivery alone
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += 8 {
				s.Engine.Announce(context.Background(), "demo", "line")
			}
		}()
	}
	wg.Wait()
	s.Clock.Advance(civiq.DeliveryLease + time.Second)
	d := outbound.New(s.Engine, s.App.Sender, nil)
	d.Poll = 20 * time.Millisecond
	b.ResetTimer()
	start := time.Now()
	d.Start()
	defer d.Stop()
	for {
		mu.Lock()
		done := n >= b.N
		mu.Unlock()
		if done {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkDeliveryLatency: events committed one by one at a steady 1,000
// a second with the delivery running, as in a hall; the time from the
// start of each commit to the receiver's answer, p50 and p99 in ms.
func BenchmarkDeliveryLatency(b *testing.B) {
	s := civiqtest.New(b, func(s *civiqtest.Server) { s.App.SetWebhookAllow(loopback) })
	started := make([]time.Time, b.N)
	took := make([]time.Duration, b.N)
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Data struct{ Text string } }
		json.NewDecoder(r.Body).Decode(&m)
		if i, err := strconv.Atoi(m.Data.Text); err == nil && i < len(took) {
			took[i] = time.Since(started[i]) // each i is written once, then read after got says so
		}
		w.WriteHeader(204)
		got.Add(1)
	}))
	defer rc.Close()
	if code := s.Call(b, "POST", "/api/v1/webhooks", s.Admin, map[string]any{"url": rc.URL, "events": []string{"*"}}, nil); code != 201 {
		b.Fatalf("create webhook: %d", code)
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		started[i] = time.Now()
		if err := s.Engine.Announce(context.Background(), "demo", strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	for got.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}

// When the retry schedule is spent the hook is failing and its cursor
// waits; an admin skips the message (audited), and the rest follows.
func TestFailingThenSkip(t *testing.T) {
	s := node(t)
	// One at a time, so that nothing behind the failing message ever
	// reaches the receiver; pipelined, the window of its first try may
	// (TestRetryGoesAlone).
	s.App.Sender.Pipeline = 1
	rc := webhooktest.New(t)
	h := createHook(t, s, rc, civiq.EventAnnouncement)
	first := h.Cursor + 2 // after the hook's own change (civiq.EventSubscriberChanged)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("webhook-id") == civiq.MessageID(h.ID, first) {
			w.WriteHeader(500) // the first message never goes
			return false
		}
		return true
	})
	announce(t, s, 3)
	for i := range len(civiq.RetrySchedule) + 1 {
		waitFor(t, "a failed try", func() bool { return hook(t, s, h.ID).Delivery.Attempts > i })
		s.Clock.Advance(civiq.RetryDelay(i+1, 1))
		s.Admin = s.Login(t, "admin", civiqtest.AdminPassword) // sessions end in that time
	}
	v := hook(t, s, h.ID)
	if v.Status != civiq.SubscriberFailing || v.Delivery.Pending != 3 || len(rc.Messages()) != 0 {
		t.Fatalf("after the schedule: %+v, %d delivered", v, len(rc.Messages()))
	}
	path := "/api/v1/webhooks/" + strconv.FormatInt(h.ID, 10)
	manager := s.User(t, "mgr", civiq.RoleManager, "demo")
	if code := s.Call(t, "POST", path+"/skip", manager, nil, nil); code != 404 {
		t.Fatalf("a manager skips an admin's hook: %d", code)
	}
	var skip struct {
		Skipped int64 `json:"skipped_event_id"`
	}
	if code := s.Call(t, "POST", path+"/skip", s.Admin, nil, &skip); code != 200 || skip.Skipped != first {
		t.Fatalf("skip: %d %+v", code, skip)
	}
	if v := hook(t, s, h.ID); v.Status != civiq.SubscriberActive || v.Delivery.LastError != "" || v.Delivery.Attempts != 0 {
		t.Fatalf("after the skip the old error still shows: %+v", v) // the log keeps it
	}
	waitFor(t, "2 messages", func() bool { return len(rc.Messages()) >= 2 })
	if got := rc.Messages(); got[0].Data.Text != "line 1" || got[1].Data.Text != "line 2" {
		t.Fatalf("after the skip: %+v", got)
	}
	var audit struct{ Events []civiq.AuditEvent }
	s.Call(t, "GET", "/api/v1/audit", s.Admin, nil, &audit)
	if len(audit.Events) == 0 || audit.Events[0].Type != civiq.AuditDeliverySkipped || audit.Events[0].Actor != "user:admin" {
		t.Fatalf("audit: %+v", audit.Events)
	}
	// Replay from the skipped event: all three again, with their ids.
	if code := s.Call(t, "POST", path+"/replay", s.Admin, map[string]int64{"from_event_id": skip.Skipped}, nil); code != 200 {
		t.Fatalf("replay: %d", code)
	}
	rc.Answer(nil)
	waitFor(t, "5 messages", func() bool { return len(rc.Messages()) >= 5 })
	got := rc.Messages()
	if got[2].ID != civiq.MessageID(h.ID, skip.Skipped) || got[3].ID != got[0].ID || got[4].ID != got[1].ID {
		t.Fatalf("replayed ids: %+v", got)
	}
	if code := s.Call(t, "POST", path+"/replay", s.Admin, map[string]any{}, nil); code != 400 {
		t.Fatalf("replay without from_event_id: %d", code)
	}
}

// Events a hook has yet to deliver outlive the events' retention.
func TestPruneKeepsUndelivered(t *testing.T) {
	s := node(t)
	rc := webhooktest.New(t)
	h := createHook(t, s, rc, civiq.EventAnnouncement)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(503); return false })
	announce(t, s, 2)
	waitFor(t, "a failed try", func() bool { return hook(t, s, h.ID).Delivery.Attempts > 0 })
	s.Clock.Advance(civiq.EventRetention + 24*time.Hour)
	if err := s.Engine.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	rc.Answer(nil)
	waitFor(t, "2 messages", func() bool { return len(rc.Messages()) >= 2 })
	checkInOrder(t, rc.Messages(), 2)
}

// An admin's replay while a worker holds acknowledged messages it has not
// recorded yet: the worker's record does not carry the cursor back over
// the replay.
func TestReplayWinsOverBufferedRecord(t *testing.T) {
	s := node(t)
	s.App.Outbound.Stop() // this test is the worker
	rc := webhooktest.New(t)
	h := createHook(t, s, rc, civiq.EventAnnouncement)
	announce(t, s, 3)
	ctx := context.Background()
	if held, err := s.Engine.ClaimDelivery(ctx, h.ID, "w", true); err != nil || !held {
		t.Fatalf("claim: %v %v", held, err)
	}
	b, err := s.Engine.NextDelivery(ctx, h.ID, 0, outbound.Batch)
	if err != nil || len(b.Messages) != 3 {
		t.Fatalf("next: %v %+v", err, b)
	}
	var acked []civiq.DeliveryAttempt
	for _, m := range b.Messages {
		acked = append(acked, civiq.DeliveryAttempt{EventID: m.EventID, MessageID: m.ID, Status: 200, At: s.Clock.Now()})
	}
	// Replay from the second of them: the cursor goes to the first.
	from := b.Messages[1].EventID
	path := "/api/v1/webhooks/" + strconv.FormatInt(h.ID, 10)
	if code := s.Call(t, "POST", path+"/replay", s.Admin, map[string]int64{"from_event_id": from}, nil); code != 200 {
		t.Fatalf("replay: %d", code)
	}
	if _, err := s.Engine.RecordDelivery(ctx, "w", h.ID, b.Subscriber.Cursor, b.Through, acked); err != nil {
		t.Fatal(err)
	}
	if v := hook(t, s, h.ID); v.Cursor != from-1 {
		t.Fatalf("cursor %d after the replay from event %d, want %d", v.Cursor, from, from-1)
	}
	var log struct{ Deliveries []civiq.DeliveryAttempt }
	if s.Call(t, "GET", path+"/deliveries", s.Admin, nil, &log); len(log.Deliveries) != 3 {
		t.Fatalf("the worker's attempts are logged still: %+v", log.Deliveries)
	}
}

// A hook waiting for its retry's time is woken by an admin's replay: the
// message goes at once, not at the end of the wait (after two failed
// tries, five minutes; the dispatcher polls once a minute here).
func TestReplayEndsRetryWait(t *testing.T) {
	s := civiqtest.New(t, func(s *civiqtest.Server) {
		s.App.SetWebhookAllow(loopback)
		s.App.Sender.Timeout = 500 * time.Millisecond
		s.App.Outbound.Poll = time.Minute
	})
	rc := webhooktest.New(t)
	h := createHook(t, s, rc, civiq.EventAnnouncement)
	var fail atomic.Bool
	fail.Store(true)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) bool {
		if fail.Load() {
			w.WriteHeader(500)
			return false
		}
		return true
	})
	announce(t, s, 1)
	waitFor(t, "two failed tries", func() bool { return hook(t, s, h.ID).Delivery.Attempts > 1 })
	fail.Store(false)
	path := "/api/v1/webhooks/" + strconv.FormatInt(h.ID, 10)
	if code := s.Call(t, "POST", path+"/replay", s.Admin, map[string]int64{"from_event_id": h.Cursor + 1}, nil); code != 200 {
		t.Fatalf("replay: %d", code)
	}
	waitFor(t, "the message", func() bool { return len(rc.Messages()) > 0 })
	checkInOrder(t, rc.Messages(), 1)
}

// TestChangeKeepsWhatIsLeftOut: a webhook's or a reporter's PUT changes
// what it names and keeps the rest: {"status":"active"} alone resumes it,
// and leaving halls out never widens a hook of one hall to every hall. The
// answers carry halls as a list ([] for every hall, not null) and no
// next_attempt_at while no try is due (it was 0001-01-01, 1970-01-01 or
// 1754-08-30, by where the hook was read from).
func TestChangeKeepsWhatIsLeftOut(t *testing.T) {
	s := node(t)
	call := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		var out map[string]any
		if code := s.Call(t, method, path, s.Admin, body, &out); code != want {
			t.Fatalf("%s %s: %d %v, want %d", method, path, code, out, want)
		}
		return out
	}
	noNextAt := func(what string, v map[string]any) {
		t.Helper()
		if at, ok := v["next_attempt_at"]; ok {
			t.Errorf("%s: next_attempt_at %v with no try due", what, at)
		}
	}
	all := call("POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/all", "events": []string{"*"}}, 201)["webhook"].(map[string]any)
	if h, ok := all["halls"].([]any); !ok || len(h) != 0 {
		t.Errorf("a hook of every hall: halls %#v, want []", all["halls"])
	}
	noNextAt("created", all)
	one := call("POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/one", "events": []string{"ticket.called"},
		"halls": []string{"demo"}, "description": "CRM"}, 201)["webhook"].(map[string]any)
	path := "/api/v1/webhooks/" + strconv.FormatInt(int64(one["id"].(float64)), 10)
	for _, body := range []map[string]any{{"status": "disabled"}, {"status": "active"}, {"status": "active", "halls": nil}} {
		got := call("PUT", path, body, 200)["webhook"].(map[string]any)
		if got["url"] != "http://127.0.0.1:9/one" || got["description"] != "CRM" || got["status"] != body["status"] ||
			!slices.Equal(toStrings(got["events"]), []string{"ticket.called"}) || !slices.Equal(toStrings(got["halls"]), []string{"demo"}) {
			t.Errorf("PUT %v: %v", body, got)
		}
		noNextAt("changed", got)
	}
	if got := call("PUT", path, map[string]any{"description": "", "halls": []string{}}, 200)["webhook"].(map[string]any); got["description"] != "" ||
		len(toStrings(got["halls"])) != 0 {
		t.Errorf("description and halls emptied, said so: %v", got)
	}
	call("PUT", path, map[string]any{"events": []string{}}, 400)
	noNextAt("rotated", call("POST", path+"/rotate-secret", nil, 200)["webhook"].(map[string]any))
	noNextAt("read", call("GET", path, nil, 200)["webhook"].(map[string]any))

	r := call("POST", "/api/v1/haochaping/reporters", map[string]any{"url": "http://127.0.0.1:9/hcp", "auth": "hmac",
		"key": "shared-key-0123456789", "halls": []string{"demo"}, "description": "省平台"}, 201)["reporter"].(map[string]any)
	rpath := "/api/v1/haochaping/reporters/" + strconv.FormatInt(int64(r["id"].(float64)), 10)
	for _, body := range []map[string]any{{"status": "disabled"}, {"status": "active"}} {
		got := call("PUT", rpath, body, 200)["reporter"].(map[string]any)
		if got["url"] != "http://127.0.0.1:9/hcp" || got["description"] != "省平台" || got["status"] != body["status"] ||
			!slices.Equal(toStrings(got["halls"]), []string{"demo"}) || got["auth"] != "hmac" {
			t.Errorf("reporter PUT %v: %v", body, got)
		}
		noNextAt("reporter changed", got)
	}
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
