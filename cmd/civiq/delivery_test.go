package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/outbound/webhooktest"
	"github.com/civiq/civiq/pgtest"
	"github.com/civiq/civiq/postgres"
	"github.com/civiq/civiq/sqlstore"
)

// The receivers of these tests listen on loopback.
const allowLoopback = "CIVIQ_WEBHOOK_ALLOW=127.0.0.0/8"

// hookAnswer is a webhook as the API shows it.
type hookAnswer struct {
	Webhook struct {
		ID       int64  `json:"id"`
		Secret   string `json:"secret"`
		Cursor   int64  `json:"cursor"`
		Delivery struct {
			Pending int `json:"pending"`
		} `json:"delivery"`
	} `json:"webhook"`
}

// createHook registers a webhook for every event, to rc.
func createHook(t *testing.T, hc *http.Client, base, token string, rc *webhooktest.Receiver) hookAnswer {
	t.Helper()
	var h hookAnswer
	mustDo(t, hc, "POST", base+"/api/v1/webhooks", token, map[string]any{"url": rc.URL + "/hook", "events": []string{"*"}}, 201, &h)
	rc.AddSecret(h.Webhook.Secret)
	return h
}

// issueTickets has clients take tickets on base until the returned stop
// is called; stop answers how many were acknowledged.
func issueTickets(hc *http.Client, base, token string, clients int) (stop func() int64) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var acked atomic.Int64
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				svc := demoServices[(i+n)%len(demoServices)].ID
				status, _, err := request(ctx, hc, "POST", base+"/api/v1/halls/demo/tickets", token, map[string]string{"service_id": svc})
				switch {
				case err != nil: // the node is gone, or going
					time.Sleep(5 * time.Millisecond)
				case status == http.StatusCreated:
					acked.Add(1)
				default:
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	return func() int64 {
		cancel()
		wg.Wait()
		return acked.Load()
	}
}

// waitUntil polls cond for up to within; false when it never held.
func waitUntil(within time.Duration, cond func() bool) bool {
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// waitDelivered waits (a minute at most: a loaded machine) until the hook
// has nothing pending, as node base sees it.
func waitDelivered(t *testing.T, hc *http.Client, base, token string, id int64) {
	t.Helper()
	path := base + "/api/v1/webhooks/" + strconv.FormatInt(id, 10)
	var h hookAnswer
	if !waitUntil(time.Minute, func() bool {
		h = hookAnswer{}
		mustDo(t, hc, "GET", path, token, nil, 200, &h)
		return h.Webhook.Delivery.Pending == 0
	}) {
		t.Fatalf("webhook %d: %d events still pending after a minute", id, h.Webhook.Delivery.Pending)
	}
}

// allEvents reads every event after the id from the store.
func allEvents(t *testing.T, s *sqlstore.Store, after int64) []*civiq.Event {
	t.Helper()
	var out []*civiq.Event
	for {
		evs, err := s.AllEventsAfter(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, evs...)
		if len(evs) < 1000 {
			return out
		}
		after = evs[len(evs)-1].ID
	}
}

// TestDeliveryKilled kills civiq with SIGKILL while it delivers to a webhook
// under load, starts it again on the same SQLite file and checks the
// receiver: every event came, in order, a repeat only with its first id and
// body, nothing lost.
func TestDeliveryKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it while it delivers")
	}
	bin := buildCiviq(t)
	db := filepath.Join(t.TempDir(), "d.db")
	p := startBinary(t, bin, db, allowLoopback)
	hc := newHTTPClient()
	token := mustLogin(t, hc, p.url, "admin", testAdminPassword)
	rc := webhooktest.New(t)
	// A receiver a little slower than the load, so that a backlog is on
	// its way when the kill comes.
	rc.Answer(func(http.ResponseWriter, *http.Request) bool { time.Sleep(2 * time.Millisecond); return true })
	h := createHook(t, hc, p.url, token, rc)

	stop := issueTickets(hc, p.url, token, 8)
	if !waitUntil(30*time.Second, func() bool { return rc.Len() >= 200 }) {
		stop()
		t.Fatalf("only %d messages delivered in 30 s; log:\n%s", rc.Len(), p.logs.String())
	}
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL, mid-delivery
		t.Fatal(err)
	}
	<-p.done
	before := rc.Len()
	acked := stop()
	checkNoRace(t, p)
	t.Logf("killed with %d tickets acknowledged and %d messages delivered", acked, before)

	p2 := startBinary(t, bin, db, allowLoopback)
	token2 := mustLogin(t, hc, p2.url, "admin", testAdminPassword)
	rc.Answer(nil)
	stop = issueTickets(hc, p2.url, token2, 2) // and more after the restart
	time.Sleep(300 * time.Millisecond)
	stop()
	waitDelivered(t, hc, p2.url, token2, h.Webhook.ID)
	if err := p2.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-p2.done
	checkNoRace(t, p2)

	store, err := sqlstore.Open(db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	evs := allEvents(t, store, h.Webhook.Cursor)
	if before >= len(evs) {
		t.Fatalf("the kill came after delivery ended (%d of %d delivered): nothing was tested", before, len(evs))
	}
	repeats := webhooktest.CheckDelivery(t, rc.Messages(), h.Webhook.ID, evs)
	t.Logf("%d events delivered, %d of them before the kill, %d sent again after it", len(evs), before, repeats)
}

// TestDeliveryTakeoverPostgres runs two civiq processes on one PostgreSQL
// database: exactly one delivers to the webhook (it holds the lease); that
// one is killed with SIGKILL (a real process), and the other takes over
// once the lease has expired, losing nothing and reordering nothing.
func TestDeliveryTakeoverPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it while it delivers")
	}
	url := pgtest.Database(t)
	bin := buildCiviq(t)
	nodes := []*proc{startBinary(t, bin, url, allowLoopback), startBinary(t, bin, url, allowLoopback)}
	hc := newHTTPClient()
	token := mustLogin(t, hc, nodes[0].url, "admin", testAdminPassword)
	rc := webhooktest.New(t)
	// Made after both nodes started: the other learns of it from its
	// event (subscriber.changed), as no node polls the subscriber list.
	h := createHook(t, hc, nodes[0].url, token, rc)
	delivers := func(p *proc) bool {
		return strings.Contains(p.logs.String(), `this node delivers for the subscriber" subscriber=`+strconv.FormatInt(h.Webhook.ID, 10)+" ")
	}

	stop := issueTickets(hc, nodes[0].url, token, 2)
	if !waitUntil(30*time.Second, func() bool { return rc.Len() >= 100 }) {
		stop()
		t.Fatalf("only %d messages delivered in 30 s", rc.Len())
	}
	var holder, other *proc
	switch a, b := delivers(nodes[0]), delivers(nodes[1]); {
	case a && !b:
		holder, other = nodes[0], nodes[1]
	case b && !a:
		holder, other = nodes[1], nodes[0]
	default:
		stop()
		t.Fatalf("nodes delivering for the webhook: %v and %v, want exactly one", a, b)
	}
	stop()
	// The load moves to the node that stays.
	token = mustLogin(t, hc, other.url, "admin", testAdminPassword)
	stop = issueTickets(hc, other.url, token, 2)
	time.Sleep(200 * time.Millisecond)
	if err := holder.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-holder.done
	killed, before := time.Now(), rc.Len()
	if !waitUntil(civiq.DeliveryLease+30*time.Second, func() bool { return delivers(other) && rc.Len() > before }) {
		stop()
		t.Fatalf("the other node did not take over; its log:\n%s", other.logs.String())
	}
	t.Logf("the other node delivered again %.1f s after the kill (the lease is %s)", time.Since(killed).Seconds(), civiq.DeliveryLease)
	time.Sleep(300 * time.Millisecond)
	stop()
	waitDelivered(t, hc, other.url, token, h.Webhook.ID)

	store, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	evs := allEvents(t, store, h.Webhook.Cursor)
	repeats := webhooktest.CheckDelivery(t, rc.Messages(), h.Webhook.ID, evs)
	t.Logf("%d events delivered, %d before the kill, %d sent again after it", len(evs), before, repeats)
}
