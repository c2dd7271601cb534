package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/storetest"
)

// BenchmarkForgetWrites: the opt-ins of finished tickets forgotten in the
// answers' write, a hundred tickets a write (each done, with its two
// messages delivered): one statement a ticket ("each") or one for all
// ("one"). Setting them up is not timed.
func BenchmarkForgetWrites(b *testing.B) {
	for _, way := range []string{"each", "one"} {
		b.Run(way, func(b *testing.B) {
			s := civiqtest.New(b).Store // the demo hall
			ctx := context.Background()
			now := time.Unix(1_800_000_000, 0)
			const batch = 100
			ids := make([]string, 0, batch)
			b.ResetTimer()
			defer storetest.CPUPerOp(b, time.Microsecond)()
			for i := 0; i < b.N; i += batch {
				b.StopTimer()
				ids = ids[:0]
				if err := s.Update(ctx, func(tx civiq.Tx) error {
					for j := i; j < min(i+batch, b.N); j++ {
						id := fmt.Sprintf("tkt_%016x", uint64(j+1)*0x9e3779b97f4a7c15)
						ids = append(ids, id)
						called, done := now, now.Add(time.Minute)
						if err := tx.InsertTicket(&civiq.Ticket{ID: id, HallID: "demo", ServiceID: "tax", Number: civiq.FormatNumber("C", j+1),
							Day: "2027-01-15", Channel: civiq.ChannelKiosk, Priority: civiq.PriorityNormal, Status: civiq.StatusDone,
							IssuedAt: now, QueuedAt: now, CalledAt: &called, DoneAt: &done, CounterID: "5", CallCount: 1}); err != nil {
							return err
						}
						if err := tx.PutOptIn(&civiq.OptIn{TicketID: id, HallID: "demo", Medium: civiq.MediumSMS, Address: "sealed",
							AddressKey: fmt.Sprintf("k%016x", j/4), Lang: "zh", CreatedAt: now}); err != nil {
							return err
						}
						for _, kind := range []string{civiq.NoticeTaken, civiq.NoticeCalled} {
							if _, err := tx.InsertNotice(&civiq.Notice{ID: fmt.Sprintf("ntf_%010x%06x%s", now.UnixMilli(), j, kind[:1]), HallID: "demo",
								Day: "2027-01-15", TicketID: id, Number: "C001", Medium: civiq.MediumSMS, Kind: kind, Provider: "log",
								To: "138****0000", AddressKey: fmt.Sprintf("k%016x", j/4), Params: []civiq.NoticeParam{{Name: "number", Value: "C001"}},
								Status: civiq.NoticeDelivered, Tries: 1, EventID: int64(j), CreatedAt: now, UpdatedAt: now}); err != nil {
								return err
							}
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := s.Update(ctx, func(tx civiq.Tx) error {
					if way == "one" {
						return tx.ForgetOptIns(ids)
					}
					for _, id := range ids {
						if err := tx.ForgetOptIns([]string{id}); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := s.View(ctx, func(tx civiq.Tx) error {
				os, err := tx.OptIns(ids[0])
				if err == nil && len(os) > 0 {
					err = fmt.Errorf("the opt-ins of %s are still there", ids[0])
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
		})
	}
}
