package civiq_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// waits is every waiting ticket's place and expected wait as an engine
// answers them.
func waits(t *testing.T, e *env, eng *civiq.Engine, ids []string) map[string][2]int {
	t.Helper()
	out := map[string][2]int{}
	for _, id := range ids {
		tk, err := eng.Ticket(e.ctx, id)
		if err != nil {
			t.Fatalf("ticket %s: %v", id, err)
		}
		if tk.Status != civiq.StatusWaiting {
			continue
		}
		if tk.Position == nil || tk.ETASeconds == nil {
			t.Fatalf("waiting ticket %s without place or wait", tk.Number)
		}
		out[tk.Number] = [2]int{*tk.Position, *tk.ETASeconds}
	}
	return out
}

// The engine reuses each hall's queue picture and settings between writes
// (caches.go). After each of its own writes its answers must be exactly
// those of an engine that has cached nothing.
func TestCachesFollowOwnWrites(t *testing.T) {
	e := newEnv(t)
	e.step = 0 // a still clock: only the writes may change the answers
	var ids []string
	issue := func(service, group string) {
		ids = append(ids, e.issue(service, group).ID)
	}
	fresh := func() *civiq.Engine {
		f := civiq.NewEngine(e.store)
		f.Now = e.clock
		return f
	}
	same := func(after string) {
		t.Helper()
		got, want := waits(t, e, e.eng, ids), waits(t, e, fresh(), ids)
		if !mapsEqual(got, want) {
			t.Fatalf("after %s: cached answers %v, uncached %v", after, got, want)
		}
	}
	for _, s := range []string{"general", "general", "tax", "property", "general", "tax", "social"} {
		issue(s, "")
		same("issue " + s)
	}
	issue("general", "elderly")
	same("a green-channel issue")
	first := e.call("1")
	same("a call")
	e.act(first.ID, civiq.ActRecall, "")
	same("a recall")
	e.act(first.ID, civiq.ActStart, "")
	same("a start")
	second := e.call("1") // finishes the first
	same("a call finishing the one before")
	e.act(second.ID, civiq.ActFinish, "")
	same("a finish")
	third := e.call("3")
	e.act(third.ID, civiq.ActNoShow, "")
	// A no-show also moves the hall's no-show share, which predictions
	// reuse for a minute (handlingTTL): compare the places only.
	got, want := waits(t, e, e.eng, ids), waits(t, e, fresh(), ids)
	for n := range want {
		if got[n][0] != want[n][0] {
			t.Fatalf("after a no-show: cached places %v, uncached %v", got, want)
		}
	}
	e.advance(time.Minute) // past every cache
	issue("general", "")
	issue("tax", "")
	same("issues after calls")
	if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "2", civiq.CounterPaused, "午休", nil); err != nil {
		t.Fatal(err)
	}
	same("a pause")
	e.act(ids[2], civiq.ActTransfer, "general")
	same("a transfer")
	issue("property", "")
	e.act(ids[len(ids)-1], civiq.ActCancel, "")
	same("a cancel")
	if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "2", civiq.CounterOpen, "", nil); err != nil {
		t.Fatal(err)
	}
	same("an open")
	e.saveHall(func(h *civiq.Hall) { h.Policy = civiq.PolicyServiceOrder })
	same("a change of calling policy")

	// A hall's settings changed are in force for the very next ticket.
	e.saveHall(func(h *civiq.Hall) { h.PriorityGroups = []string{"military"} })
	_, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk, PriorityGroup: "elderly"}, nil)
	wantErr(t, err, civiq.EInvalid, "priority_group")
	e.saveHall(func(h *civiq.Hall) { h.OpensAt, h.ClosesAt = "06:00", "07:00" })
	_, err = e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk}, nil)
	wantErr(t, err, civiq.EConflict, "")
}

// Another engine on the same store (another node on PostgreSQL) is seen
// within the caches' second.
func TestCachesSeeOtherNodes(t *testing.T) {
	e := newEnv(t)
	for _, c := range []string{"1", "2", "3", "4"} { // the demo's are open with nobody there
		e.staffAt("clerk"+c, c)
	}
	e.step = 0
	var ids []string
	for _, s := range []string{"general", "general", "general", "tax"} {
		ids = append(ids, e.issue(s, "").ID)
	}
	before := waits(t, e, e.eng, ids)
	other := civiq.NewEngine(e.store)
	other.Now = e.clock
	for _, c := range []string{"1", "2", "3"} {
		if _, err := other.SetCounterStatus(e.ctx, "demo", c, civiq.CounterClosed, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	e.advance(time.Second)
	after := waits(t, e, e.eng, ids)
	fresh := civiq.NewEngine(e.store)
	fresh.Now = e.clock
	if want := waits(t, e, fresh, ids); !mapsEqual(after, want) {
		t.Fatalf("a second after another node closed counters: %v, uncached %v", after, want)
	}
	if mapsEqual(before, after) {
		t.Fatalf("closing three counters changed no wait: %v", after)
	}
}

// Pictures read while writes commit around them stay exact: a write is
// either in a picture's reads or applied to it once, never lost or
// counted twice.
func TestCachesUnderConcurrentWrites(t *testing.T) {
	e := newEnv(t)
	e.step = 0
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				switch {
				case g < 4:
					s := []string{"general", "tax", "property", "social"}[(g+i)%4]
					tk, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: s, Channel: civiq.ChannelKiosk}, nil)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids = append(ids, tk.ID)
					mu.Unlock()
				case g == 4 && i%3 == 0:
					if _, err := e.eng.CallNext(e.ctx, "demo", []string{"1", "2", "3"}[i%3], nil); err != nil {
						t.Error(err)
						return
					}
				default: // read pictures while the others write
					mu.Lock()
					some := append([]string(nil), ids...)
					mu.Unlock()
					for _, id := range some {
						if _, err := e.eng.Ticket(e.ctx, id); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	current, waiting, appts, ok := e.eng.CachedQueue("demo")
	if !ok {
		t.Fatal("no queue picture kept after issues and calls")
	}
	err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		cs, err := tx.Counters("demo")
		if err != nil {
			return err
		}
		for _, c := range cs {
			if current[c.ID] != c.CurrentTicketID {
				t.Errorf("counter %s: picture has %q, the store %q", c.ID, current[c.ID], c.CurrentTicketID)
			}
		}
		w, err := tx.WaitingCounts("demo")
		if err != nil {
			return err
		}
		a, err := tx.WaitingAppointments("demo")
		if err != nil {
			return err
		}
		if !mapsEqual(nonZero(waiting), nonZero(w)) || !mapsEqual(nonZero(appts), nonZero(a)) {
			t.Errorf("picture counts %v %v, the store %v %v", waiting, appts, w, a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Opting in or out moves no queue: the hall's queue picture is kept, not
// read again for the next ticket's expected wait (each opt-in dropped it).
func TestOptInKeepsQueuePicture(t *testing.T) {
	e := newEnv(t)
	admin := bootstrapAdmin(t, e)
	e.seal()
	if _, err := e.eng.SetNotifySettings(e.ctx, admin, "demo", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"}}); err != nil {
		t.Fatal(err)
	}
	tk, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "tax", Channel: civiq.ChannelKiosk}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := e.eng.CachedQueue("demo"); !ok {
		t.Fatal("no queue picture after an issue")
	}
	if err := e.eng.OptIn(e.ctx, tk.ID, civiq.OptInRequest{Medium: civiq.MediumSMS, Address: "13800138000"}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := e.eng.CachedQueue("demo"); !ok {
		t.Error("an opt-in dropped the hall's queue picture")
	}
	if err := e.eng.OptOut(e.ctx, tk.ID, civiq.MediumSMS); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := e.eng.CachedQueue("demo"); !ok {
		t.Error("an opt-out dropped the hall's queue picture")
	}
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// A hall moved to another time zone shows its tickets' times in it at once.
func TestTimezoneChangeSeen(t *testing.T) {
	e := newEnv(t)
	tk := e.issue("general", "")
	if _, off := e.ticket(tk.ID).IssuedAt.Zone(); off != 8*3600 {
		t.Fatalf("Shanghai offset %d", off)
	}
	e.saveHall(func(h *civiq.Hall) { h.Timezone = "Asia/Urumqi" })
	if _, off := e.ticket(tk.ID).IssuedAt.Zone(); off != 6*3600 {
		t.Errorf("after the move to Urumqi the ticket shows offset %d", off)
	}
}

// snapshotStore calls during once, inside the first read transaction that
// reads a ticket, just after that read: the read's snapshot is then older
// than what during writes.
type snapshotStore struct {
	civiq.Store
	during func()
}

type snapshotTx struct {
	civiq.Tx
	s *snapshotStore
}

func (t snapshotTx) Ticket(id string) (*civiq.Ticket, error) {
	tk, err := t.Tx.Ticket(id)
	if f := t.s.during; f != nil {
		t.s.during = nil
		f()
	}
	return tk, err
}

func (s *snapshotStore) View(ctx context.Context, fn func(civiq.Tx) error) error {
	return s.Store.View(ctx, func(tx civiq.Tx) error { return fn(snapshotTx{tx, s}) })
}

// A hall that stops sending SMS refuses the next SMS opt-in at once, the
// clock standing still (the engine's cache of the notifications settings
// is forgotten at the change), even when a read that began before the
// change (the phone page asking for the ticket's channel) reads the
// settings after it: what that read saw is not kept.
func TestOptInRefusedOnceTheHallStopsSMS(t *testing.T) {
	for _, reader := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "old-read-beside"}[reader], func(t *testing.T) {
			e := newEnv(t)
			admin := bootstrapAdmin(t, e)
			e.seal()
			e.step = 0
			s := &snapshotStore{Store: e.store}
			eng := civiq.NewEngine(s)
			eng.Now, eng.Sealer = e.clock, e.eng.Sealer
			if _, err := eng.SetNotifySettings(e.ctx, admin, "demo", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"}}); err != nil {
				t.Fatal(err)
			}
			first := e.issue("tax", "")
			if err := eng.OptIn(e.ctx, first.ID, civiq.OptInRequest{Medium: civiq.MediumSMS, Address: "13800138001"}); err != nil {
				t.Fatal(err) // and the settings are in the cache
			}
			off := func() {
				if _, err := eng.SetNotifySettings(e.ctx, admin, "demo", civiq.NotifySettings{}); err != nil {
					t.Fatal(err)
				}
			}
			next := e.issue("tax", "")
			if reader {
				s.during = off
				eng.TicketChannel(e.ctx, next.ID, civiq.MediumSMS) // any answer: what it leaves cached matters
			} else {
				off()
			}
			err := eng.OptIn(e.ctx, next.ID, civiq.OptInRequest{Medium: civiq.MediumSMS, Address: "13800138000"})
			if civiq.ErrorCode(err) != civiq.EConflict {
				t.Fatalf("an SMS opt-in after the hall stopped SMS: %v, want a conflict", err)
			}
		})
	}
}

// A service's prefix changed while a read that began before the change
// (a ticket's phone page) reads the hall's services after it: the next
// ticket of the service takes the new prefix at once, the clock standing
// still, since what that read saw is not kept.
func TestServiceChangeSeenDespiteAnOldRead(t *testing.T) {
	e := newEnv(t)
	e.step = 0
	s := &snapshotStore{Store: e.store}
	eng := civiq.NewEngine(s)
	eng.Now = e.clock
	first := e.issue("tax", "")
	_, svcs, _ := civiq.DemoHall()
	tax := &svcs[2]
	if tax.ID != "tax" || first.Number[:1] != tax.Prefix {
		t.Fatalf("first ticket %s, service %s prefix %s", first.Number, tax.ID, tax.Prefix)
	}
	s.during = func() {
		tax.Prefix = "Z"
		if err := eng.SaveService(e.ctx, tax, civiq.KeepQuotas{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eng.TicketView(e.ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	next, err := eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "tax", Channel: civiq.ChannelKiosk}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if next.Number[:1] != "Z" {
		t.Fatalf("the ticket after the prefix became Z: %s", next.Number)
	}
}

// The writes that run most keep what they read of the hall's settings,
// and so does a ticket's page; a change forgets them.
func TestCachesKeptByWrites(t *testing.T) {
	e := newEnv(t)
	admin := bootstrapAdmin(t, e)
	e.seal()
	e.step = 0
	if _, err := e.eng.SetNotifySettings(e.ctx, admin, "demo", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"}}); err != nil {
		t.Fatal(err)
	}
	kept := func(what string, hall, notify bool) {
		t.Helper()
		h, _, n := e.eng.CachedSettings("demo")
		if h != hall || n != notify {
			t.Fatalf("after %s: hall kept %v, notifications kept %v; want %v, %v", what, h, n, hall, notify)
		}
	}
	kept("setting the notifications", false, false)
	tk := e.issue("tax", "")
	kept("an issue", true, false)
	if err := e.eng.OptIn(e.ctx, tk.ID, civiq.OptInRequest{Medium: civiq.MediumSMS, Address: "13800138002"}); err != nil {
		t.Fatal(err)
	}
	kept("an opt-in", true, true)
	_, svcs, _ := civiq.DemoHall()
	if err := e.eng.SaveService(e.ctx, &svcs[2], civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	kept("a service saved", false, false)
	if _, err := e.eng.TicketView(e.ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	kept("a ticket's page", true, false)
}

// A hall moved to another time zone while a read that began before the
// move (a ticket's page) looks the zone up after it: a later read shows
// the new zone, not what that read saw.
func TestTimezoneChangeSeenDespiteAnOldRead(t *testing.T) {
	e := newEnv(t)
	s := &snapshotStore{Store: e.store}
	eng := civiq.NewEngine(s)
	eng.Now = e.clock
	tk := e.issue("general", "")
	s.during = func() {
		h, _, _ := civiq.DemoHall()
		h.Timezone = "Asia/Urumqi"
		if err := eng.SaveHall(e.ctx, &h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eng.TicketView(e.ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	got, err := eng.Ticket(e.ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, off := got.IssuedAt.Zone(); off != 6*3600 {
		t.Fatalf("after the move to Urumqi the ticket shows offset %d, want %d", off, 6*3600)
	}
}
