package notify_test

import (
	"bytes"
	"context"
	"github.com/civiq/civiq/civiqtest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/pgtest"
	"github.com/civiq/civiq/postgres"
	"github.com/civiq/civiq/storetest"
)

// TestRemindersOnceAcrossNodes: two nodes on one PostgreSQL database run
// the minute tick at the same moments, many times over: each reminder is
// queued by one of them, once, with one booking.reminder event.
func TestRemindersOnceAcrossNodes(t *testing.T) {
	if storetest.Kind() != "postgres" {
		t.Skip("nodes share a PostgreSQL database: the run on PostgreSQL tests it")
	}
	ctx := context.Background()
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{7}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	var now atomic.Int64
	now.Store(time.Date(2031, 3, 3, 8, 0, 0, 0, sh).UnixNano())
	url := pgtest.Database(t)
	node := func() *civiq.Engine {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		e := civiq.NewEngine(st)
		e.Sealer, e.Now = sealer, func() time.Time { return time.Unix(0, now.Load()) }
		return e
	}
	a, b := node(), node()
	if _, err := a.Bootstrap(ctx, "a-long-enough-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	admin := civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}
	if _, err := a.SetNotifySettings(ctx, admin, "demo", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Book(ctx, civiq.BookRequest{HallID: "demo", ServiceID: "property", SlotStart: "2031-03-04T10:00:00+08:00",
		Name: "王一", Phone: "13900000001", IDNumber: person(1)}); err != nil {
		t.Fatal(err)
	}
	events := func(typ string) []int64 {
		t.Helper()
		evs, err := a.EventsAfter(ctx, "demo", 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, ev := range evs {
			if ev.Type == typ {
				ids = append(ids, ev.ID)
			}
		}
		return ids
	}
	// The booking's event planned (as the delivery does): its reminders
	// scheduled.
	if _, err := a.PlanNotices(ctx, "demo", events(civiq.EventBookingCreated), 64); err != nil {
		t.Fatal(err)
	}
	tick := func(at time.Time) {
		t.Helper()
		now.Store(at.UnixNano())
		var wg sync.WaitGroup
		var queued atomic.Int64
		for _, e := range []*civiq.Engine{a, b, a, b, a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := e.QueueDueReminders(ctx)
				if err != nil {
					t.Error(err)
				}
				queued.Add(int64(n))
			}()
		}
		wg.Wait()
		if queued.Load() != 1 {
			t.Errorf("at %v the nodes queued %d reminders, want 1", at.In(sh), queued.Load())
		}
	}
	tick(time.Date(2031, 3, 3, 18, 0, 0, 0, sh))
	tick(time.Date(2031, 3, 4, 9, 0, 0, 0, sh))
	if n := len(events(civiq.EventBookingReminder)); n != 2 {
		t.Errorf("%d booking.reminder events, want 2", n)
	}
}

// BenchmarkReminderTick: the minute tick's cost when nothing is due, the
// usual case, with 60 bookings' reminders scheduled for later (a read of
// the due index and no write), and the write that queues 60 due at once.
//
//	CIVIQ_TEST_STORE=sqlite go test -run '^$' -bench ReminderTick ./notify
func BenchmarkReminderTick(b *testing.B) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	monday := time.Date(2031, 3, 3, 8, 0, 0, 0, sh)
	setup := func(b *testing.B) *civiqtest.Server {
		s := node(b, nil, func(s *civiqtest.Server) { s.Clock.Set(monday) })
		ctx := context.Background()
		for i := range 60 {
			slot := monday.Add(24*time.Hour + 2*time.Hour + time.Duration(i%10)*30*time.Minute)
			if _, err := s.Engine.Book(ctx, civiq.BookRequest{HallID: "demo", ServiceID: "property", SlotStart: slot.Format(time.RFC3339),
				Name: "王一", Phone: "13900000001", IDNumber: person(100 + i)}); err != nil {
				b.Fatal(err)
			}
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			var list struct{ Messages []civiq.Notice }
			s.Call(b, "GET", "/api/v1/halls/demo/notifications/messages", s.Admin, nil, &list)
			n := 0
			for _, m := range list.Messages {
				if m.Status == civiq.NoticeScheduled {
					n++
				}
			}
			if n == 120 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d reminders scheduled, want 120", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return s
	}
	b.Run("idle", func(b *testing.B) {
		s := setup(b)
		b.ResetTimer()
		for range b.N {
			if n, err := s.Engine.QueueDueReminders(context.Background()); err != nil || n != 0 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("queue60", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			s := setup(b)
			s.Outbound.Stop()                       // the sending is not timed
			s.Clock.Set(monday.Add(10 * time.Hour)) // 18:00, the day before
			b.StartTimer()
			if n, err := s.Engine.QueueDueReminders(context.Background()); err != nil || n != 60 {
				b.Fatal(n, err)
			}
		}
	})
}
