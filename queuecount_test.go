package civiq_test

import (
	"slices"
	"testing"

	"github.com/civiq/civiq"
)

// A new waiting ticket is counted in its queue by the store's insert (no
// trigger does since schema 27), which also gives its place: a walk-in's
// counts the green channel ahead of it, a green-channel ticket's only its
// own class. The edge's UpsertTicket counts a new ticket the same way and a
// changed one once, through the update triggers. One write inserts two
// tickets, so the second's place must not be the first's.
func TestInsertCountsQueueAndPlace(t *testing.T) {
	e := newEnv(t)
	mk := func(id, number, prio string) *civiq.Ticket {
		now := e.now
		return &civiq.Ticket{ID: id, HallID: "demo", ServiceID: "general", Number: number, Day: "2026-12-06", Channel: civiq.ChannelKiosk,
			Priority: prio, Status: civiq.StatusWaiting, IssuedAt: now, QueuedAt: now}
	}
	// Read after the commit: on PostgreSQL a place comes when the write's
	// statements are sent.
	var placed []*civiq.Ticket
	err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
		for _, tk := range []*civiq.Ticket{mk("t1", "A1", civiq.PriorityNormal), mk("t2", "A2", civiq.PriorityNormal),
			mk("t3", "A3", civiq.PriorityPriority), mk("t4", "A4", civiq.PriorityNormal)} {
			if err := tx.InsertTicket(tk); err != nil {
				return err
			}
			if err := tx.PlaceAtEnd(tk); err != nil {
				return err
			}
			placed = append(placed, tk)
		}
		// Another write between the insert and the place: counted afresh.
		t5 := mk("t5", "A5", civiq.PriorityNormal)
		if err := tx.InsertTicket(t5); err != nil {
			return err
		}
		if err := tx.SetTicketBehalf("t1", ""); err != nil {
			return err
		}
		if err := tx.PlaceAtEnd(t5); err != nil {
			return err
		}
		placed = append(placed, t5)
		// The edge's: a new ticket, then a change of t2 (called).
		if err := tx.UpsertTicket(mk("t6", "A6", civiq.PriorityNormal)); err != nil {
			return err
		}
		t2 := mk("t2", "A2", civiq.PriorityNormal)
		t2.Status = civiq.StatusCalled
		return tx.UpsertTicket(t2)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, tk := range placed {
		if tk.Position == nil {
			t.Fatalf("%s: no place", tk.ID)
		}
		got = append(got, *tk.Position)
	}
	if want := []int{0, 1, 0, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("places %v, want %v", got, want)
	}
	prio, normal := e.queueLength("general")
	if prio != 1 || normal != 4 {
		t.Fatalf("waiting %d priority, %d normal; want 1 and 4 (t1, t4, t5, t6)", prio, normal)
	}
}
