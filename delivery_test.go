package civiq_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// The retry schedule lasts at least 24 hours whatever the jitter, and each
// wait stays within ±10% of its step.
func TestRetrySchedule(t *testing.T) {
	for _, jitter := range []float64{0, 0.5, 0.999999} {
		var total time.Duration
		for i := 1; i <= len(civiq.RetrySchedule); i++ {
			d := civiq.RetryDelay(i, jitter)
			step := civiq.RetrySchedule[i-1]
			if d < step*9/10 || d > step*11/10 {
				t.Errorf("attempt %d, jitter %v: %v, outside ±10%% of %v", i, jitter, d, step)
			}
			total += d
		}
		if total < 24*time.Hour {
			t.Errorf("jitter %v: the schedule lasts %v, less than 24 h", jitter, total)
		}
	}
	if got, last := civiq.RetryDelay(100, 0.5), civiq.RetrySchedule[len(civiq.RetrySchedule)-1]; got != last {
		t.Errorf("after the schedule: %v, want the last step %v", got, last)
	}
}

func TestWebhookAddrAllowed(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1::1", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"10.1.2.3", false},
		{"10.20.3.4", true}, // allowed
		{"::ffff:10.20.3.4", true},
		{"::ffff:127.0.0.1", false},
		{"192.168.1.1", false},
		{"172.16.0.1", false},
		{"fd00::1", false},
		{"0.0.0.0", false},
		{"224.0.0.1", false},
	} {
		if got := civiq.WebhookAddrAllowed(netip.MustParseAddr(tc.ip), allow); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestSubscriberWants(t *testing.T) {
	s := &civiq.Subscriber{Events: []string{civiq.EventCalled}, Halls: []string{"a"}}
	for _, tc := range []struct {
		hall, typ string
		want      bool
	}{
		{"a", civiq.EventCalled, true},
		{"b", civiq.EventCalled, false},
		{"a", civiq.EventIssued, false},
	} {
		if got := s.Wants(&civiq.Event{HallID: tc.hall, Type: tc.typ}); got != tc.want {
			t.Errorf("%s %s: %v", tc.hall, tc.typ, got)
		}
	}
	all := &civiq.Subscriber{Events: []string{"*"}}
	if !all.Wants(&civiq.Event{HallID: "z", Type: civiq.EventRated}) {
		t.Error("* in every hall wants every event")
	}
	if all.Wants(&civiq.Event{Type: civiq.EventSubscriberChanged, Text: "1"}) {
		t.Error("a subscriber's change (no hall's) is the delivery's own")
	}
}

// A webhook of ["*"] takes every type a webhook may ask for (EventTypes,
// docs/api.md section 15), not the bookkeeping no list offers: an edge's
// config.pulled (which goes up to the city with the hall's events), the
// notifications' opt-ins, the settings' own events. The edge's own
// subscriber, of ["*"] too, still takes everything: the city needs it.
func TestWebhookStarTakesTheOfferedTypes(t *testing.T) {
	hook := &civiq.Subscriber{Kind: civiq.SubscriberWebhook, Events: []string{"*"}}
	for _, typ := range civiq.EventTypes {
		if !hook.Wants(&civiq.Event{HallID: "demo", Type: typ}) {
			t.Errorf("a webhook of * does not take %s", typ)
		}
	}
	for _, typ := range []string{civiq.EventConfigPulled, civiq.EventNotifyOptIn, civiq.EventNotifyOptOut,
		civiq.EventNotifySettings, civiq.EventBookingSettings, civiq.EventBookingReminder} {
		if hook.Wants(&civiq.Event{HallID: "demo", Type: typ}) {
			t.Errorf("a webhook of * takes %s, which no webhook may ask for", typ)
		}
	}
	edge := &civiq.Subscriber{Kind: civiq.SubscriberEdge, Events: []string{"*"}, Halls: []string{"demo"}}
	if !edge.Wants(&civiq.Event{HallID: "demo", Type: civiq.EventConfigPulled}) {
		t.Error("the edge's subscriber does not take config.pulled")
	}
}

// TestPruneDeliveriesInWrites: the hourly prune forgets the delivery log's
// records older than DeliveryLogAge in writes of PruneBatch, a pause
// apart, as it does the notifications' messages, and stops between two
// writes once its context ends (the server stopping); a younger record
// stays.
func TestPruneDeliveriesInWrites(t *testing.T) {
	e := newEnv(t)
	defer civiq.SetPrunePause(time.Hour)() // the prune waits after its first write
	const sub, old = 7, civiq.PruneBatch + 100
	at := e.clock().Add(-civiq.DeliveryLogAge - time.Hour)
	if err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
		for i := range old + 1 { // one record a try; the last one young
			a := civiq.DeliveryAttempt{EventID: int64(i + 1), At: at.Add(time.Duration(i) * time.Millisecond), Status: 204}
			if i == old {
				a.At = e.clock()
			}
			if err := tx.AppendDeliveries(sub, []civiq.DeliveryAttempt{a}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	left := func() int {
		var as []civiq.DeliveryAttempt
		if err := e.store.View(e.ctx, func(tx civiq.Tx) (err error) { as, err = tx.Deliveries(sub, 2*old); return }); err != nil {
			t.Fatal(err)
		}
		return len(as)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.eng.Prune(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for left() == old+1 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cancel() // the server stops while the prune waits for its next write
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the stopped prune: %v, want it cancelled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the prune did not stop")
	}
	if n := left(); n != old+1-civiq.PruneBatch {
		t.Errorf("%d records left after the first write, want %d", n, old+1-civiq.PruneBatch)
	}
	if err := e.eng.Prune(e.ctx); err != nil { // the pause is not waited after a last, short write
		t.Fatal(err)
	}
	if n := left(); n != 1 {
		t.Errorf("%d records left after a whole prune, want the young one", n)
	}
}
