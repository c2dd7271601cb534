package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/storetest"
)

// TestCountSent: the limits count the messages handed to a provider
// (sending, sent, delivered) in the last minutes, of the hall, or of the
// number and medium in the hall; queued, failed and dropped ones, older
// ones, other halls' and other numbers' are not counted.
func TestCountSent(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	i := 0
	add := func(tx civiq.Tx, hall, medium, key, status string, at time.Time) {
		i++
		n := &civiq.Notice{ID: fmt.Sprintf("ntf_%d", i), HallID: hall, Day: "2027-01-15", TicketID: fmt.Sprintf("tkt_%d", i),
			Number: "A001", Medium: medium, Kind: civiq.NoticeCalled, To: "138****0000", AddressKey: key,
			Params: []civiq.NoticeParam{}, Status: status, EventID: int64(i), CreatedAt: at, UpdatedAt: at}
		if _, err := tx.InsertNotice(n); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Update(ctx, func(tx civiq.Tx) error {
		recent := now.Add(-30 * time.Second)
		for _, st := range []string{civiq.NoticeSending, civiq.NoticeSent, civiq.NoticeDelivered,
			civiq.NoticeQueued, civiq.NoticeFailed, civiq.NoticeDropped} {
			add(tx, "demo", civiq.MediumSMS, "k1", st, recent)
		}
		add(tx, "demo", civiq.MediumSMS, "k2", civiq.NoticeSent, recent)
		add(tx, "demo", civiq.MediumWebPush, "k1", civiq.NoticeSent, recent)
		add(tx, "demo", civiq.MediumSMS, "k1", civiq.NoticeSent, now.Add(-2*time.Minute))
		add(tx, "other", civiq.MediumSMS, "k1", civiq.NoticeSent, recent)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx civiq.Tx) error {
		for _, c := range []struct {
			medium, key string
			since       time.Duration
			want        int
		}{
			{"", "", time.Minute, 5},
			{"", "", time.Hour, 6},
			{civiq.MediumSMS, "k1", time.Minute, 3},
			{civiq.MediumSMS, "k1", time.Hour, 4},
			{civiq.MediumWebPush, "k1", time.Hour, 1},
			{civiq.MediumSMS, "k2", time.Hour, 1},
			{civiq.MediumSMS, "k3", time.Hour, 0},
		} {
			n, err := tx.CountSent("demo", c.medium, c.key, now.Add(-c.since))
			if err != nil {
				return err
			}
			if n != c.want {
				t.Errorf("CountSent(demo, %q, %q, last %v) = %d, want %d", c.medium, c.key, c.since, n, c.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkNoticeWrites: what the store does for each message a sender
// hands and answers, without the rest: added as the claim leaves it
// (sending), then settled delivered with the provider's id, a hundred
// messages a transaction each way, as a busy hall's batches are; the
// process's CPU per message beside the wall time. "random": message ids
// random, as before 2026-12-07; "by-time": ids that begin with the time
// they were made, as civiq's (noticeID). The provider's ids are random in
// both.
//
//	CIVIQ_TEST_SYNC=FULL CIVIQ_TEST_STORE=sqlite go test -run '^$' -bench NoticeWrites -benchtime 20000x ./notify
func BenchmarkNoticeWrites(b *testing.B) {
	mix := func(j int, k uint64) uint64 { return uint64(j+1) * k }
	for _, ids := range []string{"random", "by-time"} {
		b.Run(ids, func(b *testing.B) {
			s := storetest.Open(b)
			ctx := context.Background()
			now := time.Unix(1_800_000_000, 0)
			const batch = 100
			ns := make([]*civiq.Notice, 0, batch)
			b.ResetTimer()
			defer storetest.CPUPerOp(b, time.Microsecond)()
			for i := 0; i < b.N; i += batch {
				ns = ns[:0]
				for j := i; j < min(i+batch, b.N); j++ {
					id := fmt.Sprintf("ntf_%016x", mix(j, 0x9e3779b97f4a7c15))
					if ids == "by-time" {
						id = fmt.Sprintf("ntf_%010x%06x", time.Now().UnixMilli(), mix(j, 0x9e3779b97f4a7c15)>>40)
					}
					ns = append(ns, &civiq.Notice{ID: id, HallID: "demo", Day: "2027-01-15",
						TicketID: fmt.Sprintf("tkt_%016x", mix(j, 0xbf58476d1ce4e5b9)), Number: "A001", Medium: civiq.MediumSMS,
						Kind: civiq.NoticeCalled, Provider: "aliyun", To: "138****0000", AddressKey: fmt.Sprintf("k%016x", mix(j/4, 0x94d049bb133111eb)),
						Params: []civiq.NoticeParam{{Name: "number", Value: "A001"}}, Status: civiq.NoticeSending, Tries: 1, EventID: int64(j),
						CreatedAt: now, UpdatedAt: now})
				}
				if err := s.Update(ctx, func(tx civiq.Tx) error {
					for _, n := range ns {
						if _, err := tx.InsertNotice(n); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				if err := s.Update(ctx, func(tx civiq.Tx) error {
					for k, n := range ns {
						n.Status, n.Code, n.UpdatedAt = civiq.NoticeDelivered, "OK", now.Add(time.Second)
						n.ProviderID = fmt.Sprintf("biz-%016x", mix(i+k, 0xd6e8feb86659fd93))
						if _, err := tx.SettleNotice(n); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
