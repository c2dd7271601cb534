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
func edgeLoop(t *testing.T, city, edge *civiq.Engine, hall string, tokenID int64) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			reqs, err := city.TakeEdgeRequests(ctx, hall, tokenID, time.Second)
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

	stop := edgeLoop(t, city.eng, edge, "demo", 0)
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
		if reqs, err = city.eng.TakeEdgeRequests(ctx, "demo", 0, time.Second); err != nil {
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

// TestFollowUpRelay: a move city staff make on a follow-up of a hall with
// an edge is queued for the edge, without the citizen's phone, and the
// edge's case of the same ticket takes it, with its history and event.
func TestFollowUpRelay(t *testing.T) {
	t.Parallel()
	city, edge := newEnv(t), newEnv(t)
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	city.badRating()
	edgeRating := edge.badRating()
	cases, err := city.eng.FollowUps(city.ctx, "demo", civiq.FollowUpFilter{})
	if err != nil || len(cases) != 1 {
		t.Fatalf("city cases %+v, %v", cases, err)
	}
	if _, _, err := city.eng.CreateEdgeToken(city.ctx, admin, "demo", "hall server"); err != nil {
		t.Fatal(err)
	}
	if _, err := city.eng.MoveFollowUp(city.ctx, admin, civiq.FollowUpMove{ID: cases[0].ID, To: civiq.FollowUpVerifying, Note: "核实情况"}); err != nil {
		t.Fatal(err)
	}
	reqs, err := city.eng.TakeEdgeRequests(city.ctx, "demo", 0, 0)
	if err != nil || len(reqs) != 1 || reqs[0].Kind != civiq.RequestFollowUp || reqs[0].FollowUp.Status != civiq.FollowUpVerifying ||
		reqs[0].FollowUp.ContactPhone != "" || reqs[0].Entry.To != civiq.FollowUpVerifying {
		t.Fatalf("queued %+v, %v", reqs, err)
	}
	// The edge's copy is the case of the same ticket (here the edge's own).
	r := reqs[0]
	r.FollowUp.TicketID = edgeRating.TicketID
	edge.take()
	if a := edge.eng.DoEdgeRequest(edge.ctx, r); a.Error != nil {
		t.Fatalf("the edge: %+v", a.Error)
	}
	got, err := edge.eng.FollowUps(edge.ctx, "demo", civiq.FollowUpFilter{})
	if err != nil || len(got) != 1 || got[0].Status != civiq.FollowUpVerifying {
		t.Fatalf("edge cases %+v, %v", got, err)
	}
	view, err := edge.eng.FollowUpCase(edge.ctx, admin, got[0].ID)
	if err != nil || len(view.History) == 0 || view.History[len(view.History)-1].Note != "核实情况" {
		t.Errorf("edge history %+v, %v", view, err)
	}
	if evs := edge.take(); len(evs) != 1 || evs[0].Type != civiq.EventFollowUp || evs[0].FollowUp.Move != civiq.FollowUpVerifying {
		t.Errorf("edge events %+v", evs)
	}
}

// TestRemotePausedPerCityNode: a city of two nodes on one database; the
// hall's edge polls one of them. The other knows it (the poll stamps the
// edge's token in the database) and relays a phone's remote ticket
// instead of answering remote_paused; once the edge stops polling, both
// answer remote_paused.
func TestRemotePausedPerCityNode(t *testing.T) {
	t.Parallel()
	city := newBookingEnv(t)
	other := civiq.NewEngine(city.store) // a second node of the city
	other.Now = city.eng.Now
	edge := emptyEdge(t)
	edge.Now = city.eng.Now
	ctx := context.Background()
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	_, tok, err := city.eng.CreateEdgeToken(ctx, admin, "demo", "hall server")
	if err != nil {
		t.Fatal(err)
	}
	pull(t, city.eng, edge, "demo")
	ask := civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelRemote, Holder: "phone-1"}
	for _, node := range []*civiq.Engine{city.eng, other} {
		_, err := node.RelayRemoteTicket(ctx, ask, nil)
		wantErr(t, err, civiq.ERemotePaused, "")
	}
	stop := edgeLoop(t, city.eng, edge, "demo", tok.ID)
	time.Sleep(300 * time.Millisecond) // the first poll has stamped the token
	tk, err := other.RelayRemoteTicket(ctx, ask, nil)
	if err != nil || tk == nil || tk.Number == "" {
		t.Fatalf("the other node's remote ticket: %+v, %v", tk, err)
	}
	stop()
	time.Sleep(civiq.EdgeReachable + 200*time.Millisecond)
	ask.Holder = "phone-2"
	for _, node := range []*civiq.Engine{city.eng, other} {
		_, err := node.RelayRemoteTicket(ctx, ask, nil)
		wantErr(t, err, civiq.ERemotePaused, "")
	}
}
