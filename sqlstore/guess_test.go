package sqlstore

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// TestHeldNumbersAndCounts: in a commit of several tickets the writer
// holds the numbers and counts it guessed and writes each row once
// (guesses' held rows). The numbers and places are those of tickets
// written one by one: in one commit, after the rows were changed by
// another process (the held rows are found other than guessed: the batch
// runs again, write by write), and with a read of the rows in the middle
// of a write (they are written before it).
func TestHeldNumbersAndCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	s := openAt(t, path)
	putHall(t, s, "h")
	const day = "2026-12-07"
	var id int
	// take takes the next number of service s and counts its ticket.
	take := func(tx civiq.Tx, svc string) (number, place int, err error) {
		if number, err = tx.NextSeq("h", svc, day); err != nil {
			return 0, 0, err
		}
		id++
		now := time.Now()
		tk := &civiq.Ticket{ID: fmt.Sprintf("t%03d", id), HallID: "h", ServiceID: svc, Number: fmt.Sprintf("%s%03d", svc, number), Day: day,
			Channel: civiq.ChannelKiosk, Priority: civiq.PriorityNormal, Status: civiq.StatusWaiting, IssuedAt: now, QueuedAt: now}
		if err := tx.InsertTicket(tk); err != nil {
			return 0, 0, err
		}
		if err := tx.AppendEvent(&civiq.Event{HallID: "h", Type: civiq.EventIssued, At: now, Ticket: tk}); err != nil {
			return 0, 0, err
		}
		if err := tx.PlaceAtEnd(tk); err != nil {
			return 0, 0, err
		}
		return number, *tk.Position, nil
	}
	rows := func() (last, waiting int) {
		t.Helper()
		if err := s.View(ctx, func(tx civiq.Tx) error {
			seqs, err := tx.Sequences("h", []string{day})
			if err != nil {
				return err
			}
			last = seqs[day]["A"]
			_, waiting, err = tx.QueueLength("h", "A")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return last, waiting
	}

	// Eight tickets of two services in one commit.
	release := hold(t, s)
	type got struct{ number, place int }
	var mu sync.Mutex
	gotA, gotB := []got{}, []got{}
	var wg sync.WaitGroup
	for i := range 8 {
		svc := []string{"A", "B"}[i%2]
		wg.Go(func() {
			var g got
			err := s.Update(ctx, func(tx civiq.Tx) (err error) {
				g.number, g.place, err = take(tx, svc)
				return err
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if svc == "A" {
				gotA = append(gotA, g)
			} else {
				gotB = append(gotB, g)
			}
			mu.Unlock()
		})
	}
	waitQueued(t, s, 8)
	release()
	wg.Wait()
	for _, list := range [][]got{gotA, gotB} {
		slices.SortFunc(list, func(a, b got) int { return a.number - b.number })
		if want := []got{{1, 0}, {2, 1}, {3, 2}, {4, 3}}; !slices.Equal(list, want) {
			t.Fatalf("numbers and places %v, want %v", list, want)
		}
	}
	if last, waiting := rows(); last != 4 || waiting != 4 {
		t.Fatalf("service A: last number %d, %d waiting; want 4 and 4", last, waiting)
	}

	// Another process raises A's number and count, and writes a ticket
	// A005: the rows the writer holds are not what it guessed, and the
	// number it would take first is taken (the ticket's INSERT fails).
	other := otherProcess(t, path)
	if _, err := other.Exec(`UPDATE sequences SET last = 20 WHERE hall_id = 'h' AND service_id = 'A'`); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`INSERT INTO tickets (id, hall_id, service_id, number, day, channel, priority, status, issued_at, queued_at)
		VALUES ('x005', 'h', 'A', 'A005', ?, 'kiosk', 'normal', 'done', 0, 0)`, day); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`UPDATE queue_counts SET waiting = 30 WHERE hall_id = 'h' AND service_id = 'A' AND priority = 'normal'`); err != nil {
		t.Fatal(err)
	}
	var g got
	if err := s.Update(ctx, func(tx civiq.Tx) (err error) {
		g.number, g.place, err = take(tx, "A")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if g != (got{21, 30}) {
		t.Fatalf("after another process: number %d, place %d; want 21 and 30", g.number, g.place)
	}

	// A read of the rows in the middle of a write sees the held ones.
	var seen int
	var numbers []int
	if err := s.Update(ctx, func(tx civiq.Tx) error {
		numbers = numbers[:0]
		for i := range 4 {
			n, _, err := take(tx, "A")
			if err != nil {
				return err
			}
			numbers = append(numbers, n)
			if i == 2 {
				seqs, err := tx.Sequences("h", []string{day})
				if err != nil {
					return err
				}
				seen = seqs[day]["A"]
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(numbers, []int{22, 23, 24, 25}) || seen != 24 {
		t.Fatalf("numbers %v, last read in the write %d; want 22-25 and 24", numbers, seen)
	}
	if last, waiting := rows(); last != 25 || waiting != 35 {
		t.Fatalf("service A: last number %d, %d waiting; want 25 and 35", last, waiting)
	}
}
