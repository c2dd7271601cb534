package civiq_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// TestNumbersAndPlacesAfterOtherWrites: SQLite's writer takes a ticket's
// number and counts it in its queue by what it last knew of the two rows
// (sqlstore's guesses). A write that took a number and counted a ticket
// (a walk-in, a green-channel one) and was then rolled back, a number raised by an edge's sync, a call, a
// change of the edge's copy, a green-channel ticket and several services
// leave every next number and place what the rows say, on either store.
func TestNumbersAndPlacesAfterOtherWrites(t *testing.T) {
	e := newEnv(t)
	var got []string
	var places []int
	issue := func(service, group string) *civiq.Ticket {
		tk := e.issue(service, group)
		got = append(got, tk.Number)
		places = append(places, *tk.Position)
		return tk
	}
	a1 := issue("general", "") // A001, 0
	issue("general", "")       // A002, 1
	issue("property", "")      // B001, 0
	day := a1.Day

	// Taken and counted, then rolled back: neither the number nor the
	// count stays.
	errRolledBack := errors.New("rolled back")
	rolledBack := func(priorities ...string) {
		t.Helper()
		err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
			for _, p := range priorities {
				if err := numberAndCount(tx, day, e.now, p); err != nil {
					return err
				}
			}
			return errRolledBack
		})
		if !errors.Is(err, errRolledBack) {
			t.Fatalf("the write that fails: %v", err)
		}
	}
	rolledBack(civiq.PriorityNormal, civiq.PriorityNormal)
	issue("general", "") // A003, 2
	// A green-channel ticket alone: the walk-ins' count stays right, the
	// green channel's, which a walk-in's place counts, is the one to check.
	rolledBack(civiq.PriorityPriority)

	// An edge's sync raises the number.
	if err := e.store.Update(e.ctx, func(tx civiq.Tx) error { return tx.RaiseSequence("demo", "general", day, 10) }); err != nil {
		t.Fatal(err)
	}
	issue("general", "")        // A011, 3
	issue("general", "elderly") // A012, green: 0
	issue("general", "")        // A013, 4 walk-ins and the green one: 5

	// A call takes the green ticket; the edge's copy calls A001.
	if c := e.call("1"); c.Number != "A012" {
		t.Fatalf("called %s, want A012", c.Number)
	}
	e.take()
	a1.Status = civiq.StatusCalled
	if err := e.store.Update(e.ctx, func(tx civiq.Tx) error { return tx.UpsertTicket(a1) }); err != nil {
		t.Fatal(err)
	}
	issue("general", "")  // A014: A002, A003, A011, A013 before it: 4
	issue("property", "") // B002, 1
	issue("general", "")  // A015, 5

	if want := []string{"A001", "A002", "B001", "A003", "A011", "A012", "A013", "A014", "B002", "A015"}; !slices.Equal(got, want) {
		t.Errorf("numbers %q, want %q", got, want)
	}
	if want := []int{0, 1, 0, 2, 3, 0, 5, 4, 1, 5}; !slices.Equal(places, want) {
		t.Errorf("places %v, want %v", places, want)
	}
	prio, normal := e.queueLength("general")
	if prio != 0 || normal != 6 {
		t.Errorf("general waits %d green, %d walk-ins; want 0 and 6", prio, normal)
	}
}

// TestInsertTicketEveryColumn: the store's insert names only the columns a
// new ticket sets (the others keep their defaults); each field of a
// Ticket set alone, and all at once, reads back as written, on either
// store. A field added to Ticket and not to the insert fails here.
func TestInsertTicketEveryColumn(t *testing.T) {
	e := newEnv(t)
	at := e.now.Add(-time.Hour).Round(time.Microsecond)
	n := 0
	base := func() *civiq.Ticket {
		n++
		return &civiq.Ticket{ID: civiq.NewTicketID(), HallID: "demo", ServiceID: "general", Number: civiq.FormatNumber("Z", n),
			Day: "2026-12-07", Channel: civiq.ChannelRemote, Priority: civiq.PriorityNormal, Status: civiq.StatusWaiting, IssuedAt: at, QueuedAt: at.Add(time.Second)}
	}
	// set gives field i of tk a value other than its zero one.
	set := func(tk *civiq.Ticket, i int) bool {
		f := reflect.ValueOf(tk).Elem().Field(i)
		name := reflect.TypeOf(*tk).Field(i).Name
		switch name {
		case "Position", "ETASeconds": // computed when read
			return false
		}
		if !f.IsZero() { // set in every ticket
			return false
		}
		switch v := f.Addr().Interface().(type) {
		case *string:
			*v = "x" + name
		case *int:
			*v = 3
		case *int64:
			*v = 42
		case **time.Time:
			tm := at.Add(time.Duration(i) * time.Minute)
			*v = &tm
		case **civiq.OnBehalf:
			*v = &civiq.OnBehalf{Role: civiq.BehalfFamily}
		default:
			t.Fatalf("field %s of type %s: set it here", name, f.Type())
		}
		return true
	}
	var tickets []*civiq.Ticket
	all := base()
	for i := range reflect.TypeOf(civiq.Ticket{}).NumField() {
		tk := base()
		if set(tk, i) {
			tickets = append(tickets, tk)
			set(all, i)
		}
	}
	tickets = append(tickets, all, base())
	if err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
		for _, tk := range tickets {
			if err := tx.InsertTicket(tk); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		for _, want := range tickets {
			got, err := tx.Ticket(want.ID)
			if err != nil {
				return err
			}
			// The holder is not read back: it is counted.
			_, held, err := tx.WaitingRemote("demo", "general", want.Holder)
			if err != nil {
				return err
			}
			holding := 0
			for _, tk := range tickets {
				if tk.Holder == want.Holder {
					holding++
				}
			}
			if want.Holder != "" && held != holding {
				t.Errorf("holder %q holds %d tickets, want %d", want.Holder, held, holding)
			}
			got.Holder = want.Holder
			if g, w := fmt.Sprintf("%+v", ticketFields(got)), fmt.Sprintf("%+v", ticketFields(want)); g != w {
				t.Errorf("read back\n%s\nwant\n%s", g, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ticketFields are tk's fields as text, its times as Unix nanoseconds.
func ticketFields(tk *civiq.Ticket) []string {
	var out []string
	v := reflect.ValueOf(tk).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		s := fmt.Sprint(f.Interface())
		switch x := f.Interface().(type) {
		case time.Time:
			s = fmt.Sprint(x.UnixNano())
		case *time.Time:
			if x != nil {
				s = fmt.Sprint(x.UnixNano())
			}
		case *civiq.OnBehalf:
			if x != nil {
				s = x.Role
			}
		case *int:
			if x != nil {
				s = fmt.Sprint(*x)
			}
		}
		out = append(out, v.Type().Field(i).Name+"="+s)
	}
	return out
}

// numberAndCount does in tx what issuing a general ticket of the priority
// class does in the store: takes its number, inserts it and counts it at
// the end of its queue (the tests' writes then fail, so that all of it is
// rolled back).
func numberAndCount(tx civiq.Tx, day string, at time.Time, priority string) error {
	n, err := tx.NextSeq("demo", "general", day)
	if err != nil {
		return err
	}
	tk := &civiq.Ticket{ID: civiq.NewTicketID(), HallID: "demo", ServiceID: "general", Number: civiq.FormatNumber("A", n), Day: day,
		Channel: civiq.ChannelKiosk, Priority: priority, Status: civiq.StatusWaiting, IssuedAt: at, QueuedAt: at}
	if err := tx.InsertTicket(tk); err != nil {
		return err
	}
	return tx.PlaceAtEnd(tk)
}

// TestNumbersWithFailingWritesBeside: tickets issued at once with writes
// that take a number and count a ticket and then fail, in the same group
// commits (each failure makes the writer run its batch again, each write
// in a savepoint): the tickets kept hold the numbers 1 to n of their
// service, each once, and the queue counts them alone.
func TestNumbersWithFailingWritesBeside(t *testing.T) {
	e := newEnv(t)
	const workers, each = 6, 25
	day := e.issue("general", "").Day // A001
	at := e.now                       // the clock moves as the engine reads it
	errFail := errors.New("fails")
	var mu sync.Mutex
	got := map[string]bool{"A001": true}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if (w+i)%3 == 0 {
					err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
						if err := numberAndCount(tx, day, at, civiq.PriorityNormal); err != nil {
							return err
						}
						return errFail
					})
					if !errors.Is(err, errFail) {
						t.Errorf("the failing write: %v", err)
					}
					continue
				}
				tk, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if got[tk.Number] {
					t.Errorf("%s issued twice", tk.Number)
				}
				got[tk.Number] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i := 1; i <= len(got); i++ {
		if !got[civiq.FormatNumber("A", i)] {
			t.Fatalf("%d tickets kept, but no %s", len(got), civiq.FormatNumber("A", i))
		}
	}
	prio, normal := e.queueLength("general")
	if prio != 0 || normal != len(got) {
		t.Errorf("general waits %d green, %d walk-ins; want 0 and %d", prio, normal, len(got))
	}
	// The next ticket's place counts every one kept before it.
	if tk := e.issue("general", ""); *tk.Position != len(got) || tk.Number != civiq.FormatNumber("A", len(got)+1) {
		t.Errorf("next: %s at %d; want %s at %d", tk.Number, *tk.Position, civiq.FormatNumber("A", len(got)+1), len(got))
	}
}
