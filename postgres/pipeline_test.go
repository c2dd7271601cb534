package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/pgtest"
	"github.com/civiq/civiq/postgres"
)

var errOwn = errors.New("the write's own error")

// On PostgreSQL the writer holds back the statements no write waits for
// and sends them together (sqlstore.Dialect.Pipeline). When one of them
// fails, the batch runs again statement by statement: each write gets its
// own outcome, the failed ones leave nothing, and what is published is
// exactly the events of the others, in id order.
func TestPipelinedBatchFailures(t *testing.T) {
	ctx := context.Background()
	store, err := postgres.Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var mu sync.Mutex
	var published []*civiq.Event
	store.Publish = func(evs []*civiq.Event) {
		mu.Lock()
		published = append(published, evs...)
		mu.Unlock()
	}
	h := &civiq.Hall{ID: "h", Name: "Hall h"}
	h.Defaults()
	day := "2026-11-28"
	ticket := func(number string) *civiq.Ticket {
		return &civiq.Ticket{ID: civiq.NewTicketID(), HallID: "h", ServiceID: "s", Number: number, Day: day,
			Channel: civiq.ChannelKiosk, Priority: civiq.PriorityNormal, Status: civiq.StatusWaiting, IssuedAt: time.Now(), QueuedAt: time.Now()}
	}
	if err := store.Update(ctx, func(tx civiq.Tx) error {
		if err := tx.PutHall(h); err != nil {
			return err
		}
		if err := tx.PutService(&civiq.Service{HallID: "h", ID: "s", Prefix: "A", Name: "s"}); err != nil {
			return err
		}
		return tx.InsertTicket(ticket("A001"))
	}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	published = nil
	mu.Unlock()

	// Hold the writer so that the writes queue up and share commits.
	started, free := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- store.Update(ctx, func(civiq.Tx) error { close(started); <-free; return nil })
	}()
	<-started
	const n = 60
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = store.Update(ctx, func(tx civiq.Tx) error {
				number := fmt.Sprintf("B%03d", i)
				if i%3 == 1 {
					number = "A001" // taken: the insert fails when sent
				}
				if err := tx.InsertTicket(ticket(number)); err != nil {
					return err
				}
				if err := tx.AppendEvent(&civiq.Event{HallID: "h", Type: civiq.EventAnnouncement, At: time.Now(), Text: number}); err != nil {
					return err
				}
				if i%3 == 2 {
					return errOwn
				}
				return nil
			})
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(free)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}

	var want []string
	for i, err := range errs {
		switch i % 3 {
		case 0:
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
			want = append(want, fmt.Sprintf("B%03d", i))
		case 1:
			if err == nil || errors.Is(err, errOwn) {
				t.Errorf("write %d with a taken number: %v; want the insert's failure", i, err)
			}
		case 2:
			if !errors.Is(err, errOwn) {
				t.Errorf("write %d: %v; want its own error", i, err)
			}
		}
	}
	evs, err := store.EventsAfter(ctx, "h", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, "stored", evs, want)
	mu.Lock()
	defer mu.Unlock()
	checkEvents(t, "published", published, want)
}

// checkEvents checks that events come in increasing id order and carry
// exactly the texts want, in any order.
func checkEvents(t *testing.T, what string, evs []*civiq.Event, want []string) {
	t.Helper()
	var got []string
	var last int64
	for _, ev := range evs {
		if ev.ID <= last {
			t.Errorf("event %d %s after %d", ev.ID, what, last)
		}
		last = ev.ID
		got = append(got, ev.Text)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s events %q\nwant %q", what, got, want)
	}
}
