package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// smsProvider is a stand-in of Alibaba Cloud SMS for a test of real
// processes: it keeps every SendSms it is given, by its OutId (civiq's id
// of the message), and answers OK. hold, when set, is called with each
// request before it answers.
type smsProvider struct {
	*httptest.Server
	mu   sync.Mutex
	got  []smsRequest
	hold atomic.Pointer[func(smsRequest)]
}

type smsRequest struct {
	OutID, Phone, Template, Number string
}

func newSMSProvider(t *testing.T) *smsProvider {
	p := &smsProvider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "SendSms" {
			http.Error(w, "bad request", 400)
			return
		}
		var vars map[string]string
		json.Unmarshal([]byte(r.Form.Get("TemplateParam")), &vars)
		m := smsRequest{OutID: r.Form.Get("OutId"), Phone: r.Form.Get("PhoneNumbers"), Template: r.Form.Get("TemplateCode"), Number: vars["number"]}
		p.mu.Lock()
		p.got = append(p.got, m)
		p.mu.Unlock()
		if h := p.hold.Load(); h != nil {
			(*h)(m)
		}
		fmt.Fprintf(w, `{"Code":"OK","Message":"OK","BizId":"biz-%s","RequestId":"r"}`, m.OutID)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *smsProvider) requests() []smsRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]smsRequest(nil), p.got...)
}

// TestNotifyKilled kills civiq with SIGKILL while the provider holds one of
// its SMS (taken, not yet answered) in a burst of calls, starts it again on
// the same file and calls the rest: every opted-in ticket got its "taken"
// and its "called", each message under one id, and only the message the
// provider held when the process died sent again, with its first id (civiq
// cannot know the provider took it); the answers that came before the kill
// were recorded.
func TestNotifyKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it while it sends")
	}
	const tickets = 60
	bin := buildCiviq(t)
	db := t.TempDir() + "/n.db"
	sms := newSMSProvider(t)
	p := startBinary(t, bin, db, notifyLoopback)
	hc := newHTTPClient()
	token := mustLogin(t, hc, p.url, "admin", testAdminPassword)
	mustDo(t, hc, "PUT", p.url+"/api/v1/halls/demo/notifications", token, map[string]any{
		"sms": map[string]any{"provider": "aliyun", "endpoint": sms.URL, "access_key_id": "id", "access_key_secret": "secret",
			"sign_name": "civiq", "templates": map[string]string{"taken": "SMS_1", "called": "SMS_2"}},
		"per_phone_hour": 100, "per_hall_minute": 10000}, 200, nil)
	for i := range tickets {
		var out struct{ Ticket struct{ ID string } }
		mustDo(t, hc, "POST", p.url+"/api/v1/halls/demo/tickets", token, map[string]string{"service_id": "tax"}, 201, &out)
		mustDo(t, hc, "POST", p.url+"/api/v1/tickets/"+out.Ticket.ID+"/notify", "", map[string]string{"phone": fmt.Sprintf("138%08d", i)}, 201, nil)
	}
	if !waitUntil(time.Minute, func() bool { return len(sms.requests()) >= tickets }) {
		t.Fatalf("%d of %d taken sent in a minute; log:\n%s", len(sms.requests()), tickets, p.logs.String())
	}

	// The burst: call and finish at counter 5 (tax alone); the provider
	// answers slowly, and the process is killed while it holds the 20th
	// "called".
	slow := func(m smsRequest) { time.Sleep(20 * time.Millisecond) }
	var called atomic.Int32
	killed := make(chan struct{})
	hold := func(m smsRequest) {
		if m.Template == "SMS_2" && called.Add(1) == 20 {
			// The others answered meanwhile are recorded (notify.RecordEvery),
			// and the calls' events acknowledged: the messages left queued
			// or sending go on when the next node takes the delivery
			// (civiq.Resumer), not at the hall's next event.
			time.Sleep(1500 * time.Millisecond)
			p.cmd.Process.Kill() // SIGKILL, with this message in hand
			<-p.done
			close(killed)
			return
		}
		slow(m)
	}
	sms.hold.Store(&hold)
	callAll := func(base, token string, stop <-chan struct{}) int {
		n := 0
		for {
			select {
			case <-stop:
				return n
			default:
			}
			var out struct{ Ticket *struct{ ID string } }
			status, body, err := request(t.Context(), hc, "POST", base+"/api/v1/halls/demo/counters/5/call-next", token, nil)
			if err != nil || status != 200 {
				return n
			}
			if json.Unmarshal(body, &out) != nil || out.Ticket == nil {
				return n
			}
			n++
			if status, _, err := request(t.Context(), hc, "POST", base+"/api/v1/tickets/"+out.Ticket.ID+"/finish", token, nil); err != nil || status != 200 {
				return n
			}
		}
	}
	before := callAll(p.url, token, killed)
	select {
	case <-killed:
	case <-time.After(time.Minute):
		t.Fatalf("the 20th called never reached the provider (%d calls); log:\n%s", before, p.logs.String())
	}
	checkNoRace(t, p)
	sent := len(sms.requests())
	t.Logf("killed after %d calls, %d messages at the provider", before, sent)

	sms.hold.Store(nil)
	p2 := startBinary(t, bin, db, notifyLoopback)
	token = mustLogin(t, hc, p2.url, "admin", testAdminPassword)
	after := callAll(p2.url, token, nil)
	if !waitUntil(time.Minute, func() bool {
		ids := map[string]bool{}
		for _, m := range sms.requests() {
			ids[m.OutID] = true
		}
		return len(ids) >= 2*tickets
	}) {
		t.Errorf("not every message came in a minute")
		_, body, _ := request(t.Context(), hc, "GET", p2.url+"/api/v1/halls/demo/notifications/messages", token, nil)
		t.Logf("the messages as the server has them: %s", body)
		t.Logf("log:\n%s", p2.logs.String())
	}
	time.Sleep(300 * time.Millisecond) // and nothing more
	if err := p2.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-p2.done
	checkNoRace(t, p2)

	// Each ticket (by number) got one "taken" and one "called", each
	// under one id; a repeat only with it.
	idOf := map[string]string{} // number and template: the message's id
	byID := map[string]smsRequest{}
	repeats := 0
	for _, m := range sms.requests() {
		key := m.Number + " " + m.Template
		if id, ok := idOf[key]; ok && id != m.OutID {
			t.Errorf("%s sent under two ids: %s and %s (a duplicate)", key, id, m.OutID)
		}
		if first, ok := byID[m.OutID]; ok {
			if first != m {
				t.Errorf("id %s sent as %+v, then as %+v", m.OutID, first, m)
			}
			repeats++
		}
		idOf[key], byID[m.OutID] = m.OutID, m
	}
	if got := len(idOf); got != 2*tickets {
		t.Errorf("%d distinct messages, want %d (a taken and a called for each of %d tickets): lost", got, 2*tickets, tickets)
	}
	if repeats == 0 {
		t.Errorf("no message was sent again: the one the provider held when the process died should be")
	}
	if repeats > 1 {
		t.Errorf("%d messages sent twice: only the one in hand at the kill should be, the others' answers were recorded", repeats)
	}
	t.Logf("%d calls before the kill, %d after; %d requests, %d repeats (same id)", before, after, len(sms.requests()), repeats)
}

// notifyLoopback lets the node reach the SMS stand-in on loopback, as a
// private cloud's endpoint would need (--notify-allow, not --webhook-allow).
const notifyLoopback = "CIVIQ_NOTIFY_ALLOW=127.0.0.0/8"
