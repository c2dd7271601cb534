// Package webhooktest is a webhook receiver for tests: a real HTTP server
// that checks each message's Standard Webhooks signature with its own
// implementation of the specification (not outbound.Sign), and keeps what
// it acknowledged, in order.
package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// Verify checks a Standard Webhooks signature the way a receiver would: the
// signed content as one string, each "v1,..." of the header compared in
// constant time, the timestamp within five minutes of now.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("missing headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s too far from now", ts)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, id+"."+ts+"."+string(body))
	want := mac.Sum(nil)
	for _, s := range strings.Split(sigs, " ") {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no signature matches")
}

// Message is one message the receiver acknowledged.
type Message struct {
	ID   string    `json:"-"` // webhook-id
	At   time.Time `json:"-"` // when it arrived
	Body []byte    `json:"-"`
	Type string    `json:"type"`
	Time string    `json:"timestamp"`
	Data struct {
		Type   string `json:"type"`
		Text   string `json:"text"`
		Ticket struct {
			ID     string `json:"id"`
			Number string `json:"number"`
		} `json:"ticket"`
	} `json:"data"`
}

// EventID is the event a message carries, from its id (civiq.MessageID:
// "msg_<subscriber>_<event>"); 0 when the id is not of that form.
func (m *Message) EventID() int64 {
	i := strings.LastIndexByte(m.ID, '_')
	n, err := strconv.ParseInt(m.ID[i+1:], 10, 64)
	if i < 0 || err != nil {
		return 0
	}
	return n
}

// Receiver is a webhook endpoint; Answer decides what it says.
type Receiver struct {
	*httptest.Server
	t       testing.TB
	mu      sync.Mutex
	secrets []string
	answer  func(w http.ResponseWriter, r *http.Request) bool // false: not acknowledged
	got     []Message                                         // acknowledged, in order
	tries   map[string]int                                    // by webhook-id
}

// New starts a receiver, closed when t ends. It acknowledges every message
// that verifies with 204 until Answer says otherwise; one that does not
// verify fails t and is answered 400.
func New(t testing.TB) *Receiver {
	rc := &Receiver{t: t, tries: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	secrets, answer := rc.secrets, rc.answer
	rc.tries[r.Header.Get("webhook-id")]++
	rc.mu.Unlock()
	ok := false
	for _, s := range secrets {
		if Verify(s, r.Header, body, time.Now()) == nil {
			ok = true
		}
	}
	if !ok || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("message %s: signature does not verify", r.Header.Get("webhook-id"))
		w.WriteHeader(400)
		return
	}
	if answer != nil && !answer(w, r) {
		return
	}
	m := Message{ID: r.Header.Get("webhook-id"), Body: body}
	if err := json.Unmarshal(body, &m); err != nil {
		rc.t.Errorf("body %s: %v", body, err)
	}
	rc.mu.Lock()
	m.At = time.Now()
	rc.got = append(rc.got, m)
	rc.mu.Unlock()
	w.WriteHeader(204)
}

// AddSecret makes the receiver accept messages signed with secret.
func (rc *Receiver) AddSecret(secret string) {
	rc.mu.Lock()
	rc.secrets = append(rc.secrets, secret)
	rc.mu.Unlock()
}

// SetSecrets replaces the secrets the receiver accepts.
func (rc *Receiver) SetSecrets(secrets ...string) {
	rc.mu.Lock()
	rc.secrets = secrets
	rc.mu.Unlock()
}

// Answer sets what the receiver does with a verified message before it
// acknowledges it; answer returning false has answered and acknowledges
// nothing. Nil acknowledges every message.
func (rc *Receiver) Answer(answer func(w http.ResponseWriter, r *http.Request) bool) {
	rc.mu.Lock()
	rc.answer = answer
	rc.mu.Unlock()
}

// Messages are those acknowledged so far, in the order they came.
func (rc *Receiver) Messages() []Message {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Message(nil), rc.got...)
}

// Len is how many messages were acknowledged.
func (rc *Receiver) Len() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

// Tries is how many times a message with the id came, acknowledged or not.
func (rc *Receiver) Tries(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.tries[id]
}

// CheckDelivery checks what a receiver acknowledged for subscriber subID
// against the events it wants, oldest first: each came at least once, with
// its id (civiq.MessageID) and its type; the first arrivals are in event
// order (each hall's events in that hall's order among them); a repeat
// carries the same id and the same body as the first; nothing else came.
// It answers how many repeats there were.
func CheckDelivery(t testing.TB, got []Message, subID int64, want []*civiq.Event) (repeats int) {
	t.Helper()
	wanted := map[string]*civiq.Event{}
	for _, ev := range want {
		if ev.HallID == "" { // the delivery's own (civiq.EventSubscriberChanged): no subscriber's
			continue
		}
		wanted[civiq.MessageID(subID, ev.ID)] = ev
	}
	first := map[string]*Message{}
	var last int64
	for i := range got {
		m := &got[i]
		ev := wanted[m.ID]
		if ev == nil {
			t.Errorf("message %s (%s) is no event the subscriber wants", m.ID, m.Type)
			continue
		}
		if f := first[m.ID]; f != nil {
			repeats++
			if string(f.Body) != string(m.Body) {
				t.Errorf("message %s came again with another body:\n%s\n%s", m.ID, f.Body, m.Body)
			}
			continue
		}
		first[m.ID] = m
		if m.Type != ev.Type {
			t.Errorf("message %s is a %s, event %d a %s", m.ID, m.Type, ev.ID, ev.Type)
		}
		if ev.ID < last {
			t.Errorf("event %d came after event %d", ev.ID, last)
		}
		last = ev.ID
	}
	lost := 0
	for id, ev := range wanted {
		if first[id] == nil {
			if lost++; lost <= 10 {
				t.Errorf("event %d (%s) never came", ev.ID, ev.Type)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d events never came", lost, len(want))
	}
	return repeats
}
