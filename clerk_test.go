package civiq_test

import (
	"context"
	"slices"
	"testing"

	"github.com/civiq/civiq"
)

// staffAt creates a staff user of the demo hall and opens counter as them:
// they are signed in there.
func (e *env) staffAt(name, counter string) *civiq.User {
	e.tb.Helper()
	u := &civiq.User{Username: name, Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
	if err := e.eng.CreateUser(e.ctx, u, "password-"+name); err != nil {
		e.tb.Fatal(err)
	}
	e.openAs(u, counter)
	return u
}

func (e *env) openAs(u *civiq.User, counter string) *civiq.Counter {
	e.tb.Helper()
	c, err := e.eng.SetCounterStatus(civiq.WithActor(e.ctx, civiq.Principal{User: u}), "demo", counter, civiq.CounterOpen, "", nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	return c
}

func (e *env) clerkOf(counter string) string {
	e.tb.Helper()
	d, err := e.eng.CounterToday(e.ctx, "demo", counter)
	if err != nil {
		e.tb.Fatal(err)
	}
	return d.Counter.Clerk
}

// Who is signed in at a counter: the user who opened it, at one counter
// at a time, until it closes; never on a public view.
func TestClerkSignedInAtCounter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	li := e.staffAt("li", "1")
	if got := e.clerkOf("1"); got != "li" {
		t.Fatalf("clerk at 1 = %q; want li", got)
	}
	e.take()
	// Opening another counter signs li out of the first: two events.
	e.openAs(li, "2")
	evs := e.expect(civiq.EventCounter, civiq.EventCounter)
	if got, want := []string{e.clerkOf("1"), e.clerkOf("2")}, []string{"", "li"}; !slices.Equal(got, want) {
		t.Errorf("clerks at 1 and 2 = %q; want %q", got, want)
	}
	for _, ev := range evs {
		if ev.Public().Counter.Clerk != "" {
			t.Errorf("the public view names the clerk: %+v", ev.Public().Counter)
		}
	}
	if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "2", civiq.CounterPaused, "午休", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.clerkOf("2"); got != "li" {
		t.Errorf("a pause signed li out: %q", got)
	}
	if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "2", civiq.CounterClosed, "", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.clerkOf("2"); got != "" {
		t.Errorf("closing kept the clerk: %q", got)
	}
}

// A transfer sends a ticket to a service, a given counter or a given
// clerk, with a note the next clerk reads; a ticket sent to a counter or
// clerk is called there first and nowhere else.
func TestTransferToCounterOrClerk(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wang := e.staffAt("wang", "4")
	a1 := e.issue("general", "")
	e.issue("general", "") // A002
	if got := e.call("1"); got.ID != a1.ID {
		t.Fatalf("counter 1 called %s", got.Number)
	}
	e.take()
	// To counter 5, which serves tax only: the ticket takes tax.
	moved, err := e.eng.Act(e.ctx, civiq.ActRequest{TicketID: a1.ID, Action: civiq.ActTransfer, CounterID: "5", Note: " 缺少身份证复印件 "}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if moved.ForCounter != "5" || moved.ServiceID != "tax" || moved.TransferNote != "缺少身份证复印件" || moved.Status != civiq.StatusWaiting {
		t.Errorf("moved = %+v", moved)
	}
	if evs := e.expect(civiq.EventTransferred); len(evs) == 1 && (evs[0].Staff().Reason != "缺少身份证复印件" || evs[0].Public().Reason != "") {
		t.Errorf("the transfer's note: staff %q public %q", evs[0].Staff().Reason, evs[0].Public().Reason)
	}
	// Counter 6 serves tax too, but A001 is not for it; 1 does not take it back.
	if got := e.callAll("6"); !slices.Equal(got, []string{"A002"}) {
		t.Errorf("counter 6 called %q; want only A002", got)
	}
	_, err = e.eng.CallTicket(e.ctx, "demo", "6", a1.ID, "插队", nil)
	wantErr(t, err, civiq.EConflict, "ticket_id")
	q, err := e.eng.CounterQueue(e.ctx, "demo", "5")
	if err != nil || len(q.Tickets) != 1 || !q.Tickets[0].ForHere || q.Tickets[0].TransferNote != "缺少身份证复印件" {
		t.Errorf("counter 5's waiting list = %+v, %v", q, err)
	}
	if q, err := e.eng.CounterQueue(e.ctx, "demo", "6"); err != nil || len(q.Tickets) != 0 {
		t.Errorf("counter 6 lists a ticket sent to 5: %+v, %v", q, err)
	}
	// Counter 5 calls it first, with the note in the clerk's context.
	e.issue("tax", "")
	if got := e.call("5"); got.ID != a1.ID || got.ForCounter != "" {
		t.Fatalf("counter 5 called %+v; want A001, no longer directed", got)
	}
	d, err := e.eng.CounterToday(e.ctx, "demo", "5")
	if err != nil || d.Context == nil || d.Context.TransferNote != "缺少身份证复印件" {
		t.Errorf("counter 5's context = %+v, %v", d, err)
	}

	// To a clerk: wang is at counter 4 (property, general); the ticket
	// keeps general, which 4 serves, and waits for wang.
	if _, err := e.eng.Act(e.ctx, civiq.ActRequest{TicketID: a1.ID, Action: civiq.ActTransfer, ServiceID: "general", Clerk: "wang"}, nil); err != nil {
		t.Fatal(err)
	}
	a3 := e.issue("general", "")
	if got := e.callAll("3"); !slices.Equal(got, []string{a3.Number}) {
		t.Errorf("counter 3 called %q; want only %s", got, a3.Number)
	}
	// wang moves to counter 6: the ticket follows the clerk.
	e.openAs(wang, "6")
	if got := e.call("6"); got == nil || got.ID != a1.ID {
		t.Errorf("wang's counter called %+v; want A001", got)
	}

	// Refusals, each changing nothing.
	w := e.issue("general", "")
	e.take()
	long := string(make([]rune, civiq.MaxTransferNote+1))
	for _, c := range []struct {
		name        string
		req         civiq.ActRequest
		code, field string
	}{
		{"nothing to send to", civiq.ActRequest{}, civiq.EInvalid, "service_id"},
		{"counter and clerk", civiq.ActRequest{CounterID: "5", Clerk: "wang"}, civiq.EInvalid, "clerk"},
		{"unknown counter", civiq.ActRequest{CounterID: "99"}, civiq.ENotFound, "counter_id"},
		{"unknown clerk", civiq.ActRequest{Clerk: "nobody"}, civiq.ENotFound, "clerk"},
		{"clerk at no counter", civiq.ActRequest{Clerk: "li"}, civiq.EConflict, "clerk"},
		{"note too long", civiq.ActRequest{CounterID: "5", Note: long}, civiq.EInvalid, "note"},
	} {
		if c.name == "clerk at no counter" {
			u := &civiq.User{Username: "li", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
			if err := e.eng.CreateUser(e.ctx, u, "password-li"); err != nil {
				t.Fatal(err)
			}
		}
		c.req.TicketID, c.req.Action = w.ID, civiq.ActTransfer
		_, err := e.eng.Act(e.ctx, c.req, nil)
		t.Run(c.name, func(t *testing.T) { wantErr(t, err, c.code, c.field) })
	}
	e.take() // CreateUser writes no hall event
	if got := e.ticket(w.ID); got.Directed() || got.ServiceID != "general" {
		t.Errorf("a refused transfer changed the ticket: %+v", got)
	}
}

// A ticket taken from a guide keeps it; the clerk sees the guide.
func TestTicketFromGuide(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.eng.LoadDemoGuides(e.ctx); err != nil {
		t.Fatal(err)
	}
	gs, _, err := e.eng.Guides(e.ctx, civiq.GuideQuery{HallID: "demo", Limit: 10})
	if err != nil || len(gs) == 0 {
		t.Fatal(len(gs), err)
	}
	g := gs[0]
	tk, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: g.ServiceID, Channel: civiq.ChannelKiosk, GuideID: g.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tk.GuideID != g.ID || e.ticket(tk.ID).GuideID != g.ID {
		t.Errorf("ticket's guide = %q; want %q", tk.GuideID, g.ID)
	}
	counter := "6" // serves every service
	if _, err := e.eng.CallTicket(e.ctx, "demo", counter, tk.ID, "指南", nil); err != nil {
		t.Fatal(err)
	}
	d, err := e.eng.CounterToday(e.ctx, "demo", counter)
	if err != nil || d.Context == nil || d.Context.Guide == nil || d.Context.Guide.Name != g.Name || d.Context.Guide.NameEn != g.NameEn {
		t.Errorf("counter's context = %+v, %v", d.Context, err)
	}
	other := "general"
	if g.ServiceID == other {
		other = "tax"
	}
	_, err = e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: other, Channel: civiq.ChannelKiosk, GuideID: g.ID}, nil)
	wantErr(t, err, civiq.EInvalid, "guide_id")
	_, err = e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "tax", Channel: civiq.ChannelKiosk, GuideID: "g-nope"}, nil)
	wantErr(t, err, civiq.ENotFound, "guide_id")
}

// What the screens say of a counter: 未开放 when it is closed, or open or
// paused with nobody signed in and no ticket there, never 空闲.
func TestCounterShown(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status string
		clerk  int64
		busy   bool
		want   string
	}{
		{civiq.CounterClosed, 0, false, civiq.ShownClosed},
		{civiq.CounterClosed, 7, false, civiq.ShownClosed}, // never: closing signs out
		{civiq.CounterOpen, 7, false, civiq.ShownIdle},
		{civiq.CounterOpen, 7, true, civiq.ShownBusy},
		{civiq.CounterOpen, 0, false, civiq.ShownClosed}, // a device opened it, or the demo
		{civiq.CounterOpen, 0, true, civiq.ShownBusy},    // a device at work
		{civiq.CounterPaused, 7, false, civiq.ShownPaused},
		{civiq.CounterPaused, 7, true, civiq.ShownPaused},
		{civiq.CounterPaused, 0, false, civiq.ShownClosed},
		{civiq.CounterPaused, 0, true, civiq.ShownBusy},
	} {
		c := civiq.Counter{ID: "1", Status: tt.status, ClerkID: tt.clerk}
		c.SetStaffed()
		if got := c.Shown(tt.busy); got != tt.want {
			t.Errorf("%s, clerk %d, busy %v: shown %s; want %s", tt.status, tt.clerk, tt.busy, got, tt.want)
		}
		if want := tt.clerk != 0 && tt.status != civiq.CounterClosed; c.Staffed != want {
			t.Errorf("%s, clerk %d: staffed %v", tt.status, tt.clerk, c.Staffed)
		}
	}
}

// Staffed follows who opened the counter, on the public views: a clerk
// signed in makes it staffed until they close it or open another; a paired
// counter device or the demo's loading does not.
func TestCounterStaffed(t *testing.T) {
	t.Parallel()
	dev := civiq.WithActor(context.Background(), civiq.Principal{Device: &civiq.Device{ID: 9, Kind: civiq.DeviceCounter, HallID: "demo", CounterID: "1"}})
	for _, tt := range []struct {
		name  string
		steps func(e *env)
		want  map[string]bool // counter: staffed
	}{
		{"the demo loaded open", func(e *env) {}, map[string]bool{"1": false, "2": false}},
		{"a clerk opens it", func(e *env) { e.staffAt("li", "1") }, map[string]bool{"1": true, "2": false}},
		{"a device opens it", func(e *env) {
			if _, err := e.eng.SetCounterStatus(dev, "demo", "1", civiq.CounterOpen, "", nil); err != nil {
				e.tb.Fatal(err)
			}
		}, map[string]bool{"1": false}},
		{"a clerk pauses", func(e *env) {
			e.staffAt("li", "1")
			if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "1", civiq.CounterPaused, "午休", nil); err != nil {
				e.tb.Fatal(err)
			}
		}, map[string]bool{"1": true}},
		{"a clerk moves to another counter", func(e *env) {
			li := e.staffAt("li", "1")
			e.openAs(li, "2")
		}, map[string]bool{"1": false, "2": true}},
		{"a clerk closes", func(e *env) {
			e.staffAt("li", "1")
			if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "1", civiq.CounterClosed, "", nil); err != nil {
				e.tb.Fatal(err)
			}
		}, map[string]bool{"1": false}},
		{"a device after the clerk keeps them", func(e *env) {
			e.staffAt("li", "1")
			if _, err := e.eng.SetCounterStatus(dev, "demo", "1", civiq.CounterOpen, "", nil); err != nil {
				e.tb.Fatal(err)
			}
		}, map[string]bool{"1": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.steps(e)
			last := map[string]bool{}
			for _, ev := range e.take() {
				if ev.Type == civiq.EventCounter {
					last[ev.Counter.ID] = ev.Public().Counter.Staffed
				}
			}
			st, err := e.eng.Status(e.ctx, "demo")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range st.Counters {
				want, ok := tt.want[c.ID]
				if !ok {
					continue
				}
				if c.Staffed != want {
					t.Errorf("counter %s: staffed %v in the hall's status; want %v", c.ID, c.Staffed, want)
				}
				if got, ok := last[c.ID]; ok && got != want {
					t.Errorf("counter %s: staffed %v in its last event; want %v", c.ID, got, want)
				}
			}
		})
	}
}
