package civiq_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// monthOfBusyHall writes straight into the store a month (30 days) of the
// demo hall at perDay tickets a day, 08:30 to 17:00: each ticket called
// after a wait, served (or a no-show, or sent on to general intake) at a
// counter by one of eight clerks, a third of those served rated; the last
// 7 days keep their events (issued, called, done), as pruning leaves them.
// It returns the period's first and last days.
func monthOfBusyHall(b *testing.B, e *env, perDay int) (from, to string) {
	b.Helper()
	var clerks []int64
	for i := range 8 {
		u := &civiq.User{Username: fmt.Sprintf("clerk%d", i), Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
		if err := e.eng.CreateUser(e.ctx, u, "clerk-password-long"); err != nil {
			b.Fatal(err)
		}
		clerks = append(clerks, u.ID)
	}
	_, svcs, counters := civiq.DemoHall()
	rng := rand.New(rand.NewPCG(1, 2))
	last := e.day(-1)
	first := last.AddDate(0, 0, -29)
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		keepEvents := last.Sub(d) < 7*24*time.Hour
		err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
			seq := map[string]int{}
			for i := range perDay {
				svc := svcs[rng.IntN(len(svcs))]
				seq[svc.ID]++
				issued := d.Add(8*time.Hour + 30*time.Minute + time.Duration(i)*(510*time.Minute)/time.Duration(perDay))
				called := issued.Add(time.Duration(rng.IntN(1500)) * time.Second)
				done := called.Add(time.Duration(120+rng.IntN(900)) * time.Second)
				c := counters[rng.IntN(len(counters))]
				t := &civiq.Ticket{ID: fmt.Sprintf("%s-%s-%d", day, svc.ID, seq[svc.ID]), HallID: "demo", ServiceID: svc.ID,
					Number: civiq.FormatNumber(svc.Prefix, seq[svc.ID]), Day: day, Channel: civiq.ChannelKiosk, Priority: civiq.PriorityNormal,
					Status: civiq.StatusDone, IssuedAt: issued, QueuedAt: issued, CalledAt: &called, DoneAt: &done, CounterID: c.ID, CallCount: 1}
				roll := rng.IntN(100)
				switch {
				case roll < 4:
					t.Status, t.DoneAt, t.NoShowAt = civiq.StatusNoShow, nil, &done
				case roll < 7:
					t.Status, t.DoneAt, t.CancelledAt, t.CalledAt, t.CounterID, t.CallCount = civiq.StatusCancelled, nil, &called, nil, "", 0
				}
				if err := tx.InsertTicket(t); err != nil {
					return err
				}
				clerk := clerks[rng.IntN(len(clerks))]
				if t.CalledAt != nil {
					if err := tx.SetServedBy(t.ID, clerk); err != nil {
						return err
					}
				}
				if roll >= 7 && roll < 9 {
					if err := tx.AddTransfer(&civiq.TransferRecord{HallID: "demo", TicketID: t.ID, Day: day, CounterID: c.ID, UserID: clerk, CalledAt: &called, At: called.Add(time.Minute)}); err != nil {
						return err
					}
				}
				if t.Status == civiq.StatusDone && rng.IntN(3) == 0 {
					r := &civiq.Rating{TicketID: t.ID, HallID: "demo", ServiceID: t.ServiceID, CounterID: t.CounterID, StaffID: clerk,
						Score: 3 + rng.IntN(3), Channel: civiq.RatingRater, CreatedAt: done.Add(time.Minute)}
					if err := tx.InsertRating(r); err != nil {
						return err
					}
				}
				if keepEvents {
					for _, ev := range []struct {
						typ string
						at  time.Time
					}{{civiq.EventIssued, issued}, {civiq.EventCalled, called}, {civiq.EventDone, done}} {
						if ev.typ != civiq.EventIssued && t.CalledAt == nil {
							break
						}
						if err := tx.AppendEvent(&civiq.Event{HallID: "demo", Type: ev.typ, At: ev.at, Ticket: t}); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return first.Format(time.DateOnly), last.Format(time.DateOnly)
}

// BenchmarkReportsMonth reads the staff and the service reports of a
// month of a busy hall (1,500 tickets a day), whole, by day and (services)
// by hour: what a manager's reports page asks for.
func BenchmarkReportsMonth(b *testing.B) {
	e := newEnv(b)
	e.step = 0
	from, to := monthOfBusyHall(b, e, 1500)
	for _, c := range []struct{ name, kind, by string }{
		{"staff/range", "staff", civiq.ByRange},
		{"staff/day", "staff", civiq.ByDay},
		{"services/range", "services", civiq.ByRange},
		{"services/hour", "services", civiq.ByHour},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if c.kind == "staff" {
					_, err = e.eng.StaffReport(e.ctx, "demo", from, to, c.by)
				} else {
					_, err = e.eng.ServiceReport(e.ctx, "demo", from, to, c.by)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
