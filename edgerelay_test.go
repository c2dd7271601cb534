package civiq_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// edgeLoop is an edge's poll of its city's requests, as the link runs it,
// until stop is called.
func edgeLoop(t *testing.T, city, edge *civiq.Engine, hall string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			reqs, err := city.TakeEdgeRequests(ctx, hall, time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range reqs {
				a := edge.DoEdgeRequest(ctx, r)
				wanted, err := city.AnswerEdgeRequest(ctx, hall, r.ID, a)
				if err != nil {
					t.Error(err)
				}
				if !wanted && a.Ticket != nil {
					edge.UnwantedTicket(ctx, a.Ticket)
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// TestRemoteTicketRelay: the city relays a phone's remote ticket to the
// hall's edge, which numbers it; while the edge is not polling the city
// answers remote_paused at once; a ticket answered after the phone gave
// up is cancelled at the edge; a booking cancelled online reaches the
// edge by the same path.
func TestRemoteTicketRelay(t *testing.T) {
	t.Parallel()
	city := newBookingEnv(t)
	edge := emptyEdge(t)
	edge.Now = city.eng.Now
	ctx := context.Background()
	pull(t, city.eng, edge, "demo")
	ask := civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelRemote, Holder: "phone-1"}

	start := time.Now()
	_, err := city.eng.RelayRemoteTicket(ctx, ask, nil)
	wantErr(t, err, civiq.ERemotePaused, "")
	if time.Since(start) > time.Second {
		t.Errorf("remote_paused took %v: it is answered at once", time.Since(start))
	}

	stop := edgeLoop(t, city.eng, edge, "demo")
	var tk *civiq.Ticket
	for range 100 { // until the loop polls
		if tk, err = city.eng.RelayRemoteTicket(ctx, ask, nil); civiq.ErrorCode(err) != civiq.ERemotePaused {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if tk.Number != "A001" || tk.Channel != civiq.ChannelRemote || tk.ID == "" {
		t.Errorf("relayed ticket %+v", tk)
	}
	if got, err := edge.Ticket(ctx, tk.ID); err != nil || got.Number != "A001" {
		t.Errorf("the edge holds %+v, %v", got, err)
	}
	_, err = city.eng.RelayRemoteTicket(ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "nope", Channel: civiq.ChannelRemote}, nil)
	wantErr(t, err, civiq.ENotFound, "service_id")

	// A booking cancelled online.
	b := city.mustBook("property", slot(3, 10, 0), 1)
	pull(t, city.eng, edge, "demo")
	if err := city.eng.QueueEdgeRequest(ctx, &civiq.EdgeRequest{HallID: "demo", Kind: civiq.RequestCancelBooking, Code: b.Code}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, _ := edge.HallBookings(ctx, "demo", "2026-03-03")
		if len(list) == 1 && list[0].Status == civiq.BookingCancelled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edge's bookings %+v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()

	// The edge answers too late: the phone was told remote_paused, and
	// the ticket is cancelled at the edge.
	// The edge polled a moment ago, so it counts as reachable.
	done := make(chan error, 1)
	ask.Holder = "phone-2"
	go func() { _, err := city.eng.RelayRemoteTicket(ctx, ask, nil); done <- err }()
	var reqs []*civiq.EdgeRequest
	for len(reqs) == 0 {
		if reqs, err = city.eng.TakeEdgeRequests(ctx, "demo", time.Second); err != nil {
			t.Fatal(err)
		}
	}
	a := edge.DoEdgeRequest(ctx, reqs[0])
	wantErr(t, <-done, civiq.ERemotePaused, "")
	wanted, err := city.eng.AnswerEdgeRequest(ctx, "demo", reqs[0].ID, a)
	if err != nil || wanted || a.Ticket == nil {
		t.Fatalf("a late answer: %v, %v, %+v", wanted, err, a)
	}
	if err := edge.UnwantedTicket(ctx, a.Ticket); err != nil {
		t.Fatal(err)
	}
	if got, _ := edge.Ticket(ctx, a.Ticket.ID); got.Status != civiq.StatusCancelled {
		t.Errorf("the unwanted ticket is %s", got.Status)
	}
}
