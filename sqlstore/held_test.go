package sqlstore

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// heldHall is a hall "h" whose tickets of one day take numbers and
// places through the writer's guesses (take), and what its sequence and
// queue rows hold (rows).
type heldHall struct {
	t  *testing.T
	s  *Store
	id int
}

const heldDay = "2026-12-07"

func newHeldHall(t *testing.T, path string) *heldHall {
	s := openAt(t, path)
	putHall(t, s, "h")
	return &heldHall{t: t, s: s}
}

// take takes the next number of service A for a ticket of priority prio,
// inserts it with its event and counts it in its queue.
func (h *heldHall) take(tx civiq.Tx, prio string) (int, error) {
	number, err := tx.NextSeq("h", "A", heldDay)
	if err != nil {
		return 0, err
	}
	h.id++
	now := time.Now()
	tk := &civiq.Ticket{ID: fmt.Sprintf("t%03d", h.id), HallID: "h", ServiceID: "A", Number: fmt.Sprintf("A%03d", number), Day: heldDay,
		Channel: civiq.ChannelKiosk, Priority: prio, Status: civiq.StatusWaiting, IssuedAt: now, QueuedAt: now}
	if err := tx.InsertTicket(tk); err != nil {
		return 0, err
	}
	if err := tx.AppendEvent(&civiq.Event{HallID: "h", Type: civiq.EventIssued, At: now, Ticket: tk}); err != nil {
		return 0, err
	}
	return number, tx.PlaceAtEnd(tk)
}

// otherProcess is another connection to the database at path, as another
// process writing beside the store would have, closed at the test's end.
func otherProcess(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", DSN(path, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (h *heldHall) update(fn func(tx civiq.Tx) error) {
	h.t.Helper()
	if err := h.s.Update(ctx, fn); err != nil {
		h.t.Fatal(err)
	}
}

// rows answers service A's last number of the day and its walk-ins waiting.
func (h *heldHall) rows() (last, waiting int) {
	h.t.Helper()
	if err := h.s.View(ctx, func(tx civiq.Tx) error {
		seqs, err := tx.Sequences("h", []string{heldDay})
		last = seqs[heldDay]["A"]
		if err != nil {
			return err
		}
		_, waiting, err = tx.QueueLength("h", "A")
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return last, waiting
}

// TestHeldMissSwallowed: a write whose read meets a held row other than
// guessed, and does not pass the read's error on (as some writes ignore a
// read's failure), still never commits a ticket without its number and
// count: the batch runs again, write by write.
func TestHeldMissSwallowed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	h := newHeldHall(t, path)
	for range 3 {
		h.update(func(tx civiq.Tx) error { _, err := h.take(tx, civiq.PriorityNormal); return err })
	}
	other := otherProcess(t, path)
	if _, err := other.Exec(`UPDATE sequences SET last = 20 WHERE hall_id = 'h' AND service_id = 'A'`); err != nil {
		t.Fatal(err)
	}
	var n int
	h.update(func(tx civiq.Tx) (err error) {
		if n, err = h.take(tx, civiq.PriorityNormal); err != nil {
			return err
		}
		_, _ = tx.Service("h", "A") // its error not passed on
		return nil
	})
	if last, waiting := h.rows(); n != 21 || last != 21 || waiting != 4 {
		t.Fatalf("number %d, last %d, waiting %d; want 21, 21, 4", n, last, waiting)
	}
}

// TestHeldAfterRollback: a write that takes a number, reads (writing the
// held rows) and then fails is rolled back with what it wrote; the
// writer's guesses do not stay ahead of the database, and the next
// tickets take the next numbers, counted, even with a read whose error is
// not passed on.
func TestHeldAfterRollback(t *testing.T) {
	h := newHeldHall(t, filepath.Join(t.TempDir(), "held.db"))
	var numbers []int
	for range 3 {
		h.update(func(tx civiq.Tx) error {
			n, err := h.take(tx, civiq.PriorityNormal)
			numbers = append(numbers, n)
			return err
		})
	}
	if err := h.s.Update(ctx, func(tx civiq.Tx) error {
		if _, err := h.take(tx, civiq.PriorityNormal); err != nil {
			return err
		}
		if _, err := tx.Sequences("h", []string{heldDay}); err != nil {
			return err
		}
		return civiq.Errorf(civiq.EInvalid, "found wrong late")
	}); err == nil {
		t.Fatal("the failing write answered no error")
	}
	for i := range 3 {
		h.update(func(tx civiq.Tx) error {
			n, err := h.take(tx, civiq.PriorityNormal)
			if err != nil {
				return err
			}
			if i == 0 {
				_, _ = tx.Service("h", "A") // its error not passed on
			}
			numbers = append(numbers, n)
			return nil
		})
	}
	last, waiting := h.rows()
	if fmt.Sprint(numbers) != "[1 2 3 4 5 6]" || last != 6 || waiting != 6 {
		t.Fatalf("numbers %v, last %d, waiting %d; want 1 to 6, 6, 6", numbers, last, waiting)
	}
}

// TestHeldGreenAfterWalkIn: a walk-in then a green-channel ticket of the
// same service in one commit, the green queue's row at 0: the walk-in's
// held count (checked against the green count as the transaction found
// it) is written before the green ticket moves that count, so the batch
// runs once.
func TestHeldGreenAfterWalkIn(t *testing.T) {
	h := newHeldHall(t, filepath.Join(t.TempDir(), "held.db"))
	take := func(prio string) func(tx civiq.Tx) error {
		return func(tx civiq.Tx) error { _, err := h.take(tx, prio); return err }
	}
	h.update(take(civiq.PriorityPriority))
	h.update(take(civiq.PriorityNormal))
	h.update(func(c civiq.Tx) error { // the green one leaves: its row stays, at 0
		return c.(*tx).exec(`UPDATE tickets SET status = 'cancelled' WHERE id = 't001'`)
	})
	h.update(take(civiq.PriorityNormal))
	runs := 0
	h.update(func(tx civiq.Tx) error {
		runs++
		if err := take(civiq.PriorityNormal)(tx); err != nil {
			return err
		}
		return take(civiq.PriorityPriority)(tx)
	})
	if runs != 1 {
		t.Errorf("the batch ran %d times, want once", runs)
	}
	if last, waiting := h.rows(); last != 5 || waiting != 3 {
		t.Errorf("last %d, walk-ins waiting %d; want 5, 3", last, waiting)
	}
}
