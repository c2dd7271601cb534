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
