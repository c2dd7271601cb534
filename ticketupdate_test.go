package civiq_test

import (
	"cmp"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// UpdateTicket writes only the columns that changed since the write read
// the ticket: each column changed alone, after a read by id, among the
// heads of a call (sent to the counter or its clerk, or in its queues) or
// as the counter's current ticket read with them,
// twice in one write and unread, reads back as written, and the queue's
// counts follow a change of status or service.
func TestUpdateTicketWritesWhatChanged(t *testing.T) {
	e := newEnv(t)
	at := func(s int) *time.Time { v := e.now.Add(time.Duration(s) * time.Second); return &v }
	changes := []struct {
		name string
		move func(tk *civiq.Ticket)
	}{
		{"service", func(tk *civiq.Ticket) { tk.ServiceID = "tax" }},
		{"status", func(tk *civiq.Ticket) { tk.Status = civiq.StatusCancelled }},
		{"queued", func(tk *civiq.Ticket) { tk.QueuedAt = tk.QueuedAt.Add(-time.Minute) }},
		{"called", func(tk *civiq.Ticket) { tk.CalledAt = at(1) }},
		{"serving", func(tk *civiq.Ticket) { tk.ServingAt = at(2) }},
		{"done", func(tk *civiq.Ticket) { tk.DoneAt = at(3) }},
		{"no-show", func(tk *civiq.Ticket) { tk.NoShowAt = at(4) }},
		{"cancelled", func(tk *civiq.Ticket) { tk.CancelledAt = at(5) }},
		{"counter", func(tk *civiq.Ticket) { tk.CounterID = "2" }},
		{"calls", func(tk *civiq.Ticket) { tk.CallCount = 3 }},
		{"for counter", func(tk *civiq.Ticket) { tk.ForCounter = "4" }},
		{"for clerk", func(tk *civiq.Ticket) { tk.ForClerk = 7 }},
		{"note", func(tk *civiq.Ticket) { tk.TransferNote = "材料已收 / papers taken" }},
		{"call", func(tk *civiq.Ticket) {
			tk.Status, tk.CalledAt, tk.CounterID, tk.CallCount = civiq.StatusCalled, at(6), "1", 1
		}},
		{"nothing", func(tk *civiq.Ticket) {}},
	}
	for i, c := range changes {
		number := string(rune('A'+i)) + "1"
		id := "upd-" + number
		// Each ticket ahead of those before it: the head of its queue.
		now := e.now.Add(-time.Duration(i) * time.Hour)
		tk := &civiq.Ticket{ID: id, HallID: "demo", ServiceID: "general", Number: number, Day: "2026-12-06", Channel: civiq.ChannelKiosk,
			Priority: civiq.PriorityNormal, Status: civiq.StatusWaiting, IssuedAt: now, QueuedAt: now}
		if err := e.store.Update(e.ctx, func(tx civiq.Tx) error { return tx.InsertTicket(tk) }); err != nil {
			t.Fatal(err)
		}
		var want civiq.Ticket
		for _, read := range []string{"by id", "head", "current", "twice", "unread"} {
			err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
				var got *civiq.Ticket
				switch read {
				case "head":
					_, heads, err := tx.CallHeads(&civiq.Counter{HallID: "demo", ID: "4", ClerkID: 7, ServiceIDs: []string{"general", "tax"}})
					if err != nil {
						return err
					}
					for j := range heads {
						if heads[j].ID == id {
							got = &heads[j]
						}
					}
					if got == nil {
						if want.Waiting() {
							t.Errorf("%s: not among the heads", c.name)
						}
						return nil
					}
				case "current":
					cur, _, err := tx.CallHeads(&civiq.Counter{HallID: "demo", ID: "4", ServiceIDs: []string{"tax"}, CurrentTicketID: id})
					if err != nil {
						return err
					}
					if cur == nil {
						t.Errorf("%s: no current ticket", c.name)
						return nil
					}
					got = cur
				case "unread":
					got = &want
				default:
					var err error
					if got, err = tx.Ticket(id); err != nil {
						return err
					}
				}
				c.move(got)
				if read == "twice" {
					if err := tx.UpdateTicket(got); err != nil {
						return err
					}
					got.TransferNote, got.CallCount = got.TransferNote+"+", got.CallCount+1
				}
				want = *got
				return tx.UpdateTicket(got)
			})
			if err != nil {
				t.Fatalf("%s, %s: %v", c.name, read, err)
			}
			var got *civiq.Ticket
			if err := e.store.View(e.ctx, func(tx civiq.Tx) (err error) {
				got, err = tx.Ticket(id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			want.Position, want.ETASeconds = nil, nil
			if !sameTicket(*got, want) {
				t.Fatalf("%s, %s: read back\n%+v\nwant\n%+v", c.name, read, *got, want)
			}
		}
	}
	// Waiting after their moves: all but "service" (in tax), "status"
	// (cancelled) and "call" in general.
	err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		for svc, want := range map[string]int{"general": 12, "tax": 1} {
			if _, n, err := tx.QueueLength("demo", svc); err != nil || n != want {
				t.Errorf("%s: %d waiting, %v; want %d", svc, n, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sameTicket compares two tickets by their times' instants.
func sameTicket(a, b civiq.Ticket) bool {
	for _, tk := range []*civiq.Ticket{&a, &b} {
		tk.In(time.UTC)
	}
	return reflect.DeepEqual(a, b)
}

// CallHeads gives the counter's current ticket with the heads: none when
// the counter has none or it is gone; a waiting one both as the current
// ticket and as a head.
func TestCallHeadsCurrent(t *testing.T) {
	e := newEnv(t)
	a := e.issue("general", "")
	b := e.issue("general", "")
	if _, err := e.eng.CallNext(e.ctx, "demo", "1", nil); err != nil { // a
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, current, want string
		heads               []string
	}{
		{"none", "", "", []string{b.ID}},
		{"called", a.ID, a.ID, []string{b.ID}},
		{"waiting", b.ID, b.ID, []string{b.ID}},
		{"gone", "no-such-ticket", "", []string{b.ID}},
	} {
		err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
			cur, heads, err := tx.CallHeads(&civiq.Counter{HallID: "demo", ID: "1", ServiceIDs: []string{"general"}, CurrentTicketID: tc.current})
			if err != nil {
				return err
			}
			switch {
			case tc.want == "" && cur != nil:
				t.Errorf("%s: current %s, want none", tc.name, cur.ID)
			case tc.want != "" && (cur == nil || cur.ID != tc.want):
				t.Errorf("%s: current %v, want %s", tc.name, cur, tc.want)
			}
			var ids []string
			for _, h := range heads {
				ids = append(ids, h.ID)
			}
			if !reflect.DeepEqual(ids, tc.heads) {
				t.Errorf("%s: heads %v, want %v", tc.name, ids, tc.heads)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// UnratedRemoteDone reads the remote tickets done in a range and not
// rated, in the order they were done, up to its limit (by an index of
// their own); CountUnratedDone counts those of several channels in one
// go, by service (a service the hall no longer lists included: the
// province's page).
func TestUnratedDoneByChannel(t *testing.T) {
	e := newEnv(t)
	base := e.now.Add(-time.Hour)
	services := []string{"general", "tax", "gone"}
	channels := []string{civiq.ChannelKiosk, civiq.ChannelRemote, civiq.ChannelStaff, civiq.ChannelAppointment}
	var all []civiq.Ticket
	err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
		for i := range 40 {
			done := base.Add(time.Duration(i/8) * time.Minute) // each channel's two by two at the same time
			tk := civiq.Ticket{ID: "ud-" + string(rune('a'+i%26)) + string(rune('A'+i/26)), HallID: "demo", ServiceID: services[i%3],
				Number: "U" + string(rune('A'+i%26)) + string(rune('A'+i/26)), Day: "2026-12-06", Channel: channels[i%4],
				Priority: civiq.PriorityNormal, Status: civiq.StatusDone, IssuedAt: base.Add(-time.Hour), QueuedAt: base.Add(-time.Hour),
				CalledAt: &done, DoneAt: &done, CounterID: "1"}
			if i%7 == 6 {
				tk.Status, tk.DoneAt = civiq.StatusNoShow, nil
			}
			if err := tx.InsertTicket(&tk); err != nil {
				return err
			}
			if i%5 == 0 && tk.Status == civiq.StatusDone {
				if err := tx.InsertRating(&civiq.Rating{TicketID: tk.ID, HallID: "demo", ServiceID: tk.ServiceID, CounterID: "1", Score: 5,
					Reasons: []string{}, Channel: civiq.RatingDefault, CreatedAt: done}); err != nil {
					return err
				}
				continue
			}
			all = append(all, tk)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	from, to := base.Add(time.Minute), base.Add(4*time.Minute)
	counts := map[string]int{}
	for _, ch := range channels {
		var found []civiq.Ticket
		for _, tk := range all {
			if tk.Channel == ch && tk.Status == civiq.StatusDone && !tk.DoneAt.Before(from) && tk.DoneAt.Before(to) {
				found = append(found, tk)
			}
		}
		slices.SortFunc(found, func(a, b civiq.Ticket) int { return cmp.Or(a.DoneAt.Compare(*b.DoneAt), cmp.Compare(a.ID, b.ID)) })
		var want []string
		for _, tk := range found {
			want = append(want, tk.ID)
		}
		if len(want) < 3 {
			t.Fatalf("%s: %d tickets to find", ch, len(want))
		}
		counts[ch] = len(want)
		if ch != civiq.ChannelRemote {
			continue
		}
		for _, limit := range []int{100, 2} {
			var got []string
			err := e.store.View(e.ctx, func(tx civiq.Tx) error {
				ts, err := tx.UnratedRemoteDone("demo", from, to, limit)
				for _, tk := range ts {
					got = append(got, tk.ID)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			w := want[:min(limit, len(want))]
			if !reflect.DeepEqual(got, w) {
				t.Errorf("%s, limit %d: %v, want %v", ch, limit, got, w)
			}
		}
	}
	for _, chs := range [][]string{channels, {civiq.ChannelKiosk, civiq.ChannelRemote}, {civiq.ChannelStaff}, {}} {
		want := 0
		for _, ch := range chs {
			want += counts[ch]
		}
		var got int
		err := e.store.View(e.ctx, func(tx civiq.Tx) (err error) {
			got, err = tx.CountUnratedDone("demo", chs, from, to)
			return err
		})
		if err != nil || got != want {
			t.Errorf("count of %v: %d, %v, want %d", chs, got, err, want)
		}
	}
}
