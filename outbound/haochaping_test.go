package outbound_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// province is a stand-in for a provincial 好差评 platform: it checks each
// record's HMAC with its own code (hex HMAC-SHA256 of the body under the
// shared key, in X-Sign) or the bearer token, and keeps what it accepted.
type province struct {
	*httptest.Server
	t           testing.TB
	key, bearer string
	mu          sync.Mutex
	fail        bool // answer 500 to everything
	got         []map[string]any
	ids         []string
	tries       int
}

func newProvince(t testing.TB, key, bearer string) *province {
	p := &province{t: t, key: key, bearer: bearer}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *province) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tries++
	// One of each of the headers the sender writes itself: a second
	// Content-Type (the reporter's own, besides the request's) is a
	// malformed request to a strict platform (RFC 9110 section 5.3).
	for _, k := range []string{"Content-Type", "Content-Length", "User-Agent"} {
		if vs := r.Header.Values(k); len(vs) != 1 {
			p.t.Errorf("record %s: %s %q, want one", r.Header.Get("X-Civiq-Record-Id"), k, vs)
		}
	}
	switch {
	case p.key != "":
		mac := hmac.New(sha256.New, []byte(p.key))
		mac.Write(body)
		want := mac.Sum(nil)
		got, err := hex.DecodeString(r.Header.Get("X-Sign"))
		if err != nil || !hmac.Equal(got, want) {
			p.t.Errorf("record %s: the HMAC does not verify", r.Header.Get("X-Civiq-Record-Id"))
			w.WriteHeader(401)
			return
		}
	case r.Header.Get("Authorization") != "Bearer "+p.bearer:
		p.t.Errorf("record %s: no bearer token", r.Header.Get("X-Civiq-Record-Id"))
		w.WriteHeader(401)
		return
	}
	if p.fail {
		w.WriteHeader(500)
		io.WriteString(w, `{"code":"E500","msg":"系统繁忙"}`)
		return
	}
	var rec map[string]any
	if err := json.Unmarshal(body, &rec); err != nil {
		p.t.Errorf("body %s: %v", body, err)
	}
	p.got = append(p.got, rec)
	p.ids = append(p.ids, r.Header.Get("X-Civiq-Message-Id"))
	io.WriteString(w, `{"code":"0","msg":"成功"}`)
}

func (p *province) records() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.got...)
}

// rateBadly serves a ticket at counter 1, rates it 1 and takes its
// follow-up through to the revisit: a rating and two outcomes to report.
func rateBadly(t testing.TB, s *civiqtest.Server) {
	t.Helper()
	var tk struct{ Ticket struct{ ID string } }
	if code := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "general", "channel": "kiosk"}, &tk); code != 201 {
		t.Fatalf("issue: %d", code)
	}
	var called struct{ Ticket struct{ ID string } }
	for called.Ticket.ID != tk.Ticket.ID {
		if code := s.Call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", s.Admin, nil, &called); code != 200 {
			t.Fatalf("call-next: %d", code)
		}
	}
	for _, a := range []string{"start", "finish"} {
		if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.Ticket.ID+"/"+a, s.Admin, nil, nil); code != 200 {
			t.Fatalf("%s: %d", a, code)
		}
	}
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.Ticket.ID+"/rating", "", map[string]any{"score": 1, "reasons": []string{"poor_attitude"}}, nil); code != 201 {
		t.Fatalf("rate: %d", code)
	}
	var fs struct{ Followups []struct{ ID int64 } }
	s.Call(t, "GET", "/api/v1/halls/demo/followups", s.Admin, nil, &fs)
	id := strconv.FormatInt(fs.Followups[0].ID, 10)
	for _, m := range []map[string]string{{"to": "verifying"}, {"to": "rectifying"}, {"to": "rectified", "public_summary": "已整改"},
		{"to": "revisited", "citizen_view": "basically_satisfied"}} {
		m["note"] = "记录"
		if code := s.Call(t, "POST", "/api/v1/followups/"+id+"/transition", s.Admin, m, nil); code != 200 {
			t.Fatalf("move %v: %d", m, code)
		}
	}
}

// TestHaochapingReporter: a reporter with an HMAC key sends the rating and
// the two outcomes to the province, in order, each once, signed; the
// day's reconciliation counts them acknowledged. A second reporter whose
// platform answers 500 holds on the first record, and the reconciliation
// names it failing with the error, the rest pending; once the platform is
// back, everything arrives.
func TestHaochapingReporter(t *testing.T) {
	s := node(t)
	ok := newProvince(t, "shared-key-0123456789", "")
	down := newProvince(t, "", "token-abcdefghijklmnop")
	down.fail = true
	var a, b struct{ Reporter struct{ ID int64 } }
	if code := s.Call(t, "POST", "/api/v1/haochaping/reporters", s.Admin, map[string]any{"url": ok.URL + "/hcp", "auth": "hmac",
		"key": "shared-key-0123456789", "signature_header": "X-Sign", "halls": []string{"demo"},
		"mapping": map[string]any{"fields": map[string]string{"level": "pjdj"}, "codes": map[string]any{"level": map[string]string{"1": "5"}}}}, &a); code != 201 {
		t.Fatalf("create reporter: %d", code)
	}
	if code := s.Call(t, "POST", "/api/v1/haochaping/reporters", s.Admin, map[string]any{"url": down.URL + "/hcp", "auth": "bearer",
		"key": "token-abcdefghijklmnop"}, &b); code != 201 {
		t.Fatalf("create reporter: %d", code)
	}
	rateBadly(t, s)
	waitFor(t, "3 records", func() bool { return len(ok.records()) >= 3 })
	got := ok.records()
	if len(got) != 3 {
		t.Fatalf("%d records, want 3", len(got))
	}
	for i, want := range []string{"rating", "followup", "followup"} {
		if got[i]["record_type"] != want || got[i]["pjdj"] != "5" || got[i]["level"] != nil {
			t.Errorf("record %d: %v", i, got[i])
		}
	}
	if got[1]["outcome"] != "rectified" || got[2]["outcome"] != "revisited" || got[2]["revisit_view_name"] != "基本满意" {
		t.Errorf("outcomes %v, %v", got[1], got[2])
	}
	date := civiq.Date(s.Clock.Now(), mustZone(t)).Format(time.DateOnly)
	waitFor(t, "the failing reporter's first try", func() bool {
		down.mu.Lock()
		defer down.mu.Unlock()
		return down.tries > 0
	})
	var rep *civiq.HaochapingSync
	waitFor(t, "the acknowledgements", func() bool {
		var err error
		rep, err = s.Engine.HaochapingReconcile(context.Background(), "demo", date)
		return err == nil && len(rep.Reporters) == 2 && rep.Reporters[0].Acknowledged == 3 && len(rep.Reporters[1].Failing) == 1
	})
	if rep.Ratings != 1 || rep.FollowUps != 2 {
		t.Errorf("the day: %+v", rep)
	}
	if r := rep.Reporters[1]; r.Acknowledged != 0 || len(r.Pending) != 2 || r.Failing[0].RecordID[:7] != "rating:" || r.Failing[0].Attempts < 1 ||
		r.Failing[0].Error == "" {
		t.Errorf("the failing reporter: %+v", r)
	}
	// Back up: a replay of nothing needed, the retry delivers all.
	down.mu.Lock()
	down.fail = false
	down.mu.Unlock()
	if code := s.Call(t, "PUT", "/api/v1/haochaping/reporters/"+strconv.FormatInt(b.Reporter.ID, 10), s.Admin,
		map[string]any{"url": down.URL + "/hcp", "status": "active"}, nil); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	waitFor(t, "the retried records", func() bool { return len(down.records()) >= 3 })
	seen := map[string]bool{}
	for _, id := range down.ids {
		if seen[id] {
			t.Errorf("message %s acknowledged twice", id)
		}
		seen[id] = true
	}
}

func mustZone(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Creating, changing, replaying and deleting a reporter tell the
// dispatcher, as a webhook's do: its worker starts, wakes or ends at once.
// Each writes an event of the change (civiq.EventSubscriberChanged), by
// which the other nodes learn of it (on SQLite and on PostgreSQL).
func TestReporterChangesTellTheDispatcher(t *testing.T) {
	s := node(t)
	var told atomic.Int32
	wired := s.Engine.SubscribersChanged
	s.Engine.SubscribersChanged = func() { told.Add(1); wired() }
	p := newProvince(t, "shared-key-0123456789", "")
	var r struct{ Reporter struct{ ID int64 } }
	if code := s.Call(t, "POST", "/api/v1/haochaping/reporters", s.Admin, map[string]any{"url": p.URL + "/hcp", "auth": "hmac",
		"key": "shared-key-0123456789"}, &r); code != 201 {
		t.Fatalf("create reporter: %d", code)
	}
	path := "/api/v1/haochaping/reporters/" + strconv.FormatInt(r.Reporter.ID, 10)
	for i, step := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "", nil, 201},
		{"PUT", path, map[string]any{"url": p.URL + "/hcp", "status": "disabled"}, 200},
		{"POST", path + "/replay", map[string]int64{"from_event_id": 1}, 200},
		{"DELETE", path, nil, 204},
	} {
		if step.path != "" {
			if code := s.Call(t, step.method, step.path, s.Admin, step.body, nil); code != step.want {
				t.Fatalf("%s %s: %d", step.method, step.path, code)
			}
		}
		if n := told.Load(); n != int32(i+1) {
			t.Fatalf("after %s %s the dispatcher was told %d times, want %d", step.method, step.path, n, i+1)
		}
		evs, err := s.App.Store.AllEventsAfter(context.Background(), 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		changes := 0
		for _, ev := range evs {
			if ev.Type == civiq.EventSubscriberChanged && ev.Text == strconv.FormatInt(r.Reporter.ID, 10) && ev.HallID == "" {
				changes++
			}
		}
		if changes != i+1 {
			t.Fatalf("after %s %s %d events of the change, want %d", step.method, step.path, changes, i+1)
		}
	}
}

type reporterView struct {
	ID       int64  `json:"id"`
	Status   string `json:"status"`
	Cursor   int64  `json:"cursor"`
	Delivery struct {
		Pending   int    `json:"pending"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
	} `json:"delivery"`
}

func getReporter(t testing.TB, s *civiqtest.Server, path string) reporterView {
	t.Helper()
	var out struct{ Reporter reporterView }
	if code := s.Call(t, "GET", path, s.Admin, nil, &out); code != 200 {
		t.Fatalf("get reporter: %d", code)
	}
	return out.Reporter
}

// A reporter held on a record has what a webhook has: its pending count
// of what it reports only (the rating and the two outcomes, not the
// follow-up's other moves), its delivery log, the admin's audited skip and
// a replay.
func TestReporterDeliveriesSkipReplay(t *testing.T) {
	s := node(t)
	p := newProvince(t, "shared-key-0123456789", "")
	p.fail = true
	var r struct{ Reporter reporterView }
	if code := s.Call(t, "POST", "/api/v1/haochaping/reporters", s.Admin, map[string]any{"url": p.URL + "/hcp", "auth": "hmac",
		"key": "shared-key-0123456789", "signature_header": "X-Sign"}, &r); code != 201 {
		t.Fatalf("create reporter: %d", code)
	}
	path := "/api/v1/haochaping/reporters/" + strconv.FormatInt(r.Reporter.ID, 10)
	rateBadly(t, s)
	waitFor(t, "a failed try", func() bool { return getReporter(t, s, path).Delivery.Attempts > 0 })
	if v := getReporter(t, s, path); v.Delivery.Pending != 3 || v.Delivery.LastError == "" {
		t.Fatalf("held on the rating: %+v, want 3 pending (a rating, two outcomes)", v)
	}
	var log struct{ Deliveries []civiq.DeliveryAttempt }
	if code := s.Call(t, "GET", path+"/deliveries", s.Admin, nil, &log); code != 200 || len(log.Deliveries) == 0 ||
		log.Deliveries[0].Status != 500 || log.Deliveries[0].EventID != r.Reporter.Cursor+1 && log.Deliveries[0].EventID <= r.Reporter.Cursor {
		t.Fatalf("deliveries: %d %+v", code, log.Deliveries)
	}
	manager := s.User(t, "mgr", civiq.RoleManager, "demo")
	for _, call := range []struct{ method, path string }{{"GET", path + "/deliveries"}, {"POST", path + "/skip"}} {
		if code := s.Call(t, call.method, call.path, manager, nil, nil); code != 403 {
			t.Errorf("a manager: %s %s: %d", call.method, call.path, code)
		}
	}
	var skip struct {
		Skipped int64 `json:"skipped_event_id"`
	}
	if code := s.Call(t, "POST", path+"/skip", s.Admin, nil, &skip); code != 200 || skip.Skipped != log.Deliveries[0].EventID {
		t.Fatalf("skip: %d %+v", code, skip)
	}
	var audit struct{ Events []civiq.AuditEvent }
	s.Call(t, "GET", "/api/v1/audit", s.Admin, nil, &audit)
	want := "好差评 reporter " + strconv.FormatInt(r.Reporter.ID, 10) + " event " + strconv.FormatInt(skip.Skipped, 10)
	if len(audit.Events) == 0 || audit.Events[0].Type != civiq.AuditDeliverySkipped || audit.Events[0].Username != want {
		t.Fatalf("audit: %+v, want %q", audit.Events, want)
	}
	p.mu.Lock()
	p.fail = false
	p.mu.Unlock()
	waitFor(t, "the two outcomes", func() bool { return len(p.records()) >= 2 })
	if got := p.records(); got[0]["record_type"] != "followup" || got[1]["record_type"] != "followup" {
		t.Fatalf("after the skip: %v", got)
	}
	// The platform has them; the worker records it just after.
	waitFor(t, "the outcomes acknowledged", func() bool { return getReporter(t, s, path).Delivery.Pending == 0 })
	if code := s.Call(t, "POST", path+"/skip", s.Admin, nil, nil); code != 409 {
		t.Fatalf("skip when nothing is held: %d", code)
	}
	if code := s.Call(t, "POST", path+"/replay", s.Admin, map[string]int64{"from_event_id": skip.Skipped}, nil); code != 200 {
		t.Fatalf("replay: %d", code)
	}
	waitFor(t, "the three records again", func() bool { return len(p.records()) >= 5 })
	if got := p.records(); got[2]["record_type"] != "rating" {
		t.Fatalf("replayed: %v", got[2])
	}
}

// PUT status active does the same to a webhook and a reporter retrying on
// schedule: the retry state is cleared and the held message goes at once,
// not at the end of the backoff.
func TestActivateRetrying(t *testing.T) {
	for _, kind := range []string{civiq.SubscriberWebhook, civiq.SubscriberHaochaping} {
		t.Run(kind, func(t *testing.T) {
			s := civiqtest.New(t, func(s *civiqtest.Server) {
				s.App.SetWebhookAllow(loopback)
				s.App.Sender.Timeout = 500 * time.Millisecond
				s.App.Outbound.Poll = time.Minute
			})
			var fail atomic.Bool
			fail.Store(true)
			var got atomic.Int32
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if fail.Load() {
					w.WriteHeader(500)
					return
				}
				got.Add(1)
			}))
			defer rc.Close()
			var path string
			var body map[string]any
			if kind == civiq.SubscriberWebhook {
				body = map[string]any{"url": rc.URL + "/hook", "events": []string{"*"}}
				var out struct{ Webhook struct{ ID int64 } }
				if code := s.Call(t, "POST", "/api/v1/webhooks", s.Admin, body, &out); code != 201 {
					t.Fatalf("create: %d", code)
				}
				path = "/api/v1/webhooks/" + strconv.FormatInt(out.Webhook.ID, 10)
			} else {
				body = map[string]any{"url": rc.URL + "/hcp", "auth": "bearer", "key": "token-abcdefghijklmnop"}
				var out struct{ Reporter struct{ ID int64 } }
				if code := s.Call(t, "POST", "/api/v1/haochaping/reporters", s.Admin, body, &out); code != 201 {
					t.Fatalf("create: %d", code)
				}
				path = "/api/v1/haochaping/reporters/" + strconv.FormatInt(out.Reporter.ID, 10)
				delete(body, "key")
			}
			var lastError string
			attempts := func() int {
				var v struct {
					Webhook, Reporter struct {
						Status   string
						Delivery struct {
							Attempts  int
							LastError string `json:"last_error"`
						}
					}
				}
				s.Call(t, "GET", path, s.Admin, nil, &v)
				lastError = v.Webhook.Delivery.LastError + v.Reporter.Delivery.LastError
				return v.Webhook.Delivery.Attempts + v.Reporter.Delivery.Attempts
			}
			rateBadly(t, s)
			waitFor(t, "a failed try", func() bool { return attempts() > 0 })
			fail.Store(false)
			body["status"] = "active"
			if code := s.Call(t, "PUT", path, s.Admin, body, nil); code != 200 {
				t.Fatalf("put: %d", code)
			}
			if attempts(); lastError != "" { // resumed: the error is the log's, not the state's
				t.Fatalf("after resuming, last_error %q", lastError)
			}
			waitFor(t, "the held message, at once", func() bool { return got.Load() > 0 })
			waitFor(t, "the retry state cleared", func() bool { return attempts() == 0 })
		})
	}
}

// TestRefusedSignatureHeaderSaid: a reporter whose signature header was
// set before such names were refused (Content-Type: the request writes it
// itself) sends nothing unsigned: each try fails, saying what to change.
func TestRefusedSignatureHeaderSaid(t *testing.T) {
	s := node(t)
	p := newProvince(t, "shared-key-0123456789", "")
	var r struct{ Reporter struct{ ID int64 } }
	if code := s.Call(t, "POST", "/api/v1/haochaping/reporters", s.Admin, map[string]any{"url": p.URL + "/hcp", "auth": "hmac",
		"key": "shared-key-0123456789", "halls": []string{"demo"}}, &r); code != 201 {
		t.Fatalf("create reporter: %d", code)
	}
	// As stored before the refusal: the API no longer takes it.
	if err := s.Store.Update(context.Background(), func(tx civiq.Tx) error {
		c, err := tx.HaochapingConfig(r.Reporter.ID)
		if err != nil {
			return err
		}
		c.SignatureHeader = "Content-Type"
		return tx.PutHaochapingConfig(r.Reporter.ID, c)
	}); err != nil {
		t.Fatal(err)
	}
	rateBadly(t, s)
	var got struct {
		Reporter struct{ Delivery civiq.DeliveryState }
	}
	waitFor(t, "the try's error", func() bool {
		s.Call(t, "GET", "/api/v1/haochaping/reporters/"+strconv.FormatInt(r.Reporter.ID, 10), s.Admin, nil, &got)
		return strings.Contains(got.Reporter.Delivery.LastError, "signature_header Content-Type")
	})
	if n := len(p.records()); n != 0 {
		t.Errorf("%d records reached the province unsigned", n)
	}
}
