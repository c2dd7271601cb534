package civiq_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/civiq/civiq"
)

// rerunStore runs a write's fn, while on, twice in its transaction: first
// on a Tx whose notice writes are dropped, as a group commit's batch that
// another write made fail and that runs again (sqlstore's Update: fn may
// run again).
type rerunStore struct {
	civiq.Store
	on bool
}

func (s *rerunStore) Update(ctx context.Context, fn func(civiq.Tx) error) error {
	if !s.on {
		return s.Store.Update(ctx, fn)
	}
	return s.Store.Update(ctx, func(tx civiq.Tx) error {
		if err := fn(droppedNotices{tx}); err != nil {
			return err
		}
		return fn(tx)
	})
}

type droppedNotices struct{ civiq.Tx }

func (droppedNotices) InsertNotice(*civiq.Notice) (bool, error) { return true, nil }
func (droppedNotices) UpdateNotice(*civiq.Notice) error         { return nil }

// A plan's write run again claims as if run once: the first run's claims
// neither count against the number's hourly limit nor leave the messages
// planned as sending without a job.
func TestPlanWriteRunAgain(t *testing.T) {
	e := newEnv(t)
	admin := bootstrapAdmin(t, e)
	rs := &rerunStore{Store: e.store}
	eng := civiq.NewEngine(rs)
	eng.Now = e.clock
	var err error
	if eng.Sealer, err = civiq.NewSealer(bytes.Repeat([]byte{5}, civiq.SecretKeySize)); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SetNotifySettings(e.ctx, admin, "demo", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"},
		PerPhoneHour: 4}); err != nil {
		t.Fatal(err)
	}
	var tickets []*civiq.Ticket
	for range 2 {
		tk, err := eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "tax", Channel: civiq.ChannelKiosk}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	e.take()
	for _, tk := range tickets {
		if err := eng.OptIn(e.ctx, tk.ID, civiq.OptInRequest{Medium: civiq.MediumSMS, Address: "13800138000"}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	for _, ev := range e.take() {
		ids = append(ids, ev.ID)
	}
	rs.on = true
	b, err := eng.PlanNotices(e.ctx, "demo", ids, 100)
	rs.on = false
	if err != nil {
		t.Fatal(err)
	}
	ns, err := eng.NotifyMessages(e.ctx, admin, "demo", tickets[0].Day)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range ns {
		got = append(got, n.Number+" "+n.Kind+" "+n.Status+" "+n.Code)
	}
	sending := 0
	for _, n := range ns {
		if n.Status == civiq.NoticeSending {
			sending++
		}
	}
	if len(b.Jobs) != 4 || len(ns) != 4 || sending != 4 { // taken and next, taken and ahead
		t.Errorf("%d jobs; messages %q", len(b.Jobs), got)
	}
}
