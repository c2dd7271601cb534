package outbound

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// The dispatcher lists the subscribers once at the start, and then only
// when told of a change: by its engine, or by an event of a change
// (civiq.EventSubscriberChanged) another node made; never every Poll.
func TestDispatcherListsWhenTold(t *testing.T) {
	e := civiq.NewEngine(storetest.Open(t))
	d := New(e, Kinds{}, nil)
	d.Poll = 10 * time.Millisecond
	var lists atomic.Int32
	d.list = func(ctx context.Context) ([]*civiq.Subscriber, error) {
		lists.Add(1)
		return e.AllSubscribers(ctx)
	}
	d.Start()
	defer d.Stop()
	time.Sleep(200 * time.Millisecond)
	if n := lists.Load(); n != 1 {
		t.Errorf("listed %d times in 200 ms at a 10 ms poll, want once", n)
	}
	for i, tell := range []func(){
		d.Changed,
		func() { d.Events([]*civiq.Event{{ID: 7, Type: civiq.EventSubscriberChanged, Text: "3"}}) },
	} {
		n := lists.Load()
		tell()
		for end := time.Now().Add(5 * time.Second); lists.Load() == n; time.Sleep(time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("telling %d did not list the subscribers", i)
			}
		}
	}
	n := lists.Load()
	d.Events([]*civiq.Event{{ID: 8, HallID: "demo", Type: civiq.EventIssued}})
	time.Sleep(100 * time.Millisecond)
	if lists.Load() != n {
		t.Error("a ticket's event listed the subscribers")
	}
}

// civiq_outbound_pending is counted when scraped.
func TestPendingScraped(t *testing.T) {
	e := civiq.NewEngine(storetest.Open(t))
	ctx := context.Background()
	if _, err := e.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	New(e, Kinds{}, NewMetrics(reg)) // not started: nothing delivers
	admin := civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}
	if _, err := e.CreateWebhook(ctx, admin, civiq.WebhookInput{URL: "https://hooks.example.org/x", Events: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.Announce(ctx, "demo", "一"); err != nil {
			t.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if f.GetName() == "civiq_outbound_pending" {
				got = append(got, m.GetLabel()[0].GetValue()+"="+strconv.FormatFloat(m.GetGauge().GetValue(), 'f', -1, 64))
			}
		}
	}
	if len(got) != 1 || got[0] != "1=2" {
		t.Errorf("civiq_outbound_pending: %v, want subscriber 1 at 2", got)
	}
}

// Several hooks' messages of an event share one body, encoded once, and
// one read of the events; a batch says whether more events may wait after
// it.
func TestMessagesShareBody(t *testing.T) {
	e := civiq.NewEngine(storetest.Open(t))
	ctx := context.Background()
	if _, err := e.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	admin := civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}
	var ids []int64
	for range 2 {
		h, err := e.CreateWebhook(ctx, admin, civiq.WebhookInput{URL: "https://hooks.example.org/x", Events: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, h.ID)
	}
	for range 3 {
		if err := e.Announce(ctx, "demo", "一"); err != nil {
			t.Fatal(err)
		}
	}
	var batches []*civiq.DeliveryBatch
	for i, id := range ids {
		// The second reads what the first read (eventReads): it cannot
		// tell whether more came since, and says there may be.
		b, err := e.NextDelivery(ctx, id, 0, Batch)
		if err != nil || len(b.Messages) != 3 || b.More != (i > 0) {
			t.Fatalf("next: %v %+v", err, b)
		}
		batches = append(batches, b)
	}
	for i := range 3 {
		m1, m2 := batches[0].Messages[i], batches[1].Messages[i]
		if m1.ID == m2.ID || string(m1.Body) != string(m2.Body) || &m1.Body[0] != &m2.Body[0] {
			t.Errorf("message %d: ids %s %s, the body encoded twice", i, m1.ID, m2.ID)
		}
	}
	if b, err := e.NextDelivery(ctx, ids[0], 0, 2); err != nil || len(b.Messages) != 2 || !b.More {
		t.Fatalf("a full batch: %v %+v", err, b)
	}
}

// A worker that knows its subscriber's state reads no row of it again;
// a batch from a read that reached the newest event after the worker was
// last woken is not More (any later commit wakes it), one from an older
// read may be.
func TestNextDeliveryOfKnown(t *testing.T) {
	e := civiq.NewEngine(storetest.Open(t))
	ctx := context.Background()
	if _, err := e.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	admin := civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}
	var subs []*civiq.Subscriber
	for range 2 {
		h, err := e.CreateWebhook(ctx, admin, civiq.WebhookInput{URL: "https://hooks.example.org/x", Events: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.NextDelivery(ctx, h.ID, 0, Batch)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, b.Subscriber)
	}
	for range 3 {
		if err := e.Announce(ctx, "demo", "一"); err != nil {
			t.Fatal(err)
		}
	}
	woken := time.Now()
	b, err := e.NextDeliveryOf(ctx, subs[0].ID, civiq.NextFrom{Known: subs[0], Woken: woken}, 0, Batch)
	if err != nil || len(b.Messages) != 3 || b.More {
		t.Fatalf("first: %v %+v", err, b)
	}
	b, err = e.NextDeliveryOf(ctx, subs[1].ID, civiq.NextFrom{Known: subs[1], Woken: woken}, 0, Batch)
	if err != nil || len(b.Messages) != 3 || b.More {
		t.Fatalf("from the first's read, which reached the newest event after the worker was woken: %v %+v", err, b)
	}
	b, err = e.NextDeliveryOf(ctx, subs[1].ID, civiq.NextFrom{Known: subs[1], Woken: time.Now()}, 0, Batch)
	if err != nil || len(b.Messages) != 3 || !b.More {
		t.Fatalf("from a read older than the wake: %v %+v", err, b)
	}
	// The state known is the one used: here it wants tickets only.
	only := *subs[1]
	only.Events = []string{civiq.EventIssued}
	b, err = e.NextDeliveryOf(ctx, only.ID, civiq.NextFrom{Known: &only}, 0, Batch)
	if err != nil || len(b.Messages) != 0 || b.Subscriber != &only {
		t.Fatalf("with the state known: %v %+v", err, b)
	}
}
