package civiq_test

// Behaviour tests of the engine on the real SQLite store: every scenario
// runs against a file in t.TempDir(), with the demo hall loaded, a clock the
// test drives, and the events the store publishes collected and checked.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sqlstore"
	"github.com/civiq/civiq/storetest"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// env is an engine on a fresh SQLite file holding the demo hall.
type env struct {
	tb    testing.TB
	ctx   context.Context
	store *sqlstore.Store
	eng   *civiq.Engine

	mu     sync.Mutex
	now    time.Time     // the next reading of the clock
	step   time.Duration // how far each reading moves the clock on
	events []*civiq.Event
	taken  int   // events already handed out by take
	lastID int64 // id of the last event handed out
}

// newEnv opens a store in a temporary directory, starts an engine on it with
// a controllable clock (10:00 in Shanghai on the day after today, advancing
// one second at every reading) and loads the demo hall.
// TestMain runs these tests on SQLite, then again on PostgreSQL.
func TestMain(m *testing.M) { storetest.Main(m) }

// seal gives the engine a fixed key for the secrets it seals (the
// notification providers' keys).
func (e *env) seal() {
	e.tb.Helper()
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{5}, civiq.SecretKeySize))
	if err != nil {
		e.tb.Fatal(err)
	}
	e.eng.Sealer = sealer
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	store := storetest.Open(tb)
	e := &env{tb: tb, ctx: context.Background(), store: store, step: time.Second}
	store.Publish = func(evs []*civiq.Event) {
		e.mu.Lock()
		e.events = append(e.events, evs...)
		e.mu.Unlock()
	}
	tb.Cleanup(func() {
		if err := store.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	if _, ok := tb.(*testing.T); ok {
		// Runs before the store closes: what was published is exactly
		// what the events table holds.
		tb.Cleanup(e.checkPublishedMatchesStore)
	}
	e.eng = civiq.NewEngine(store)
	// The clock starts ahead of the real one so that the store's own
	// clean-up of expired sessions (by the real clock) never removes a
	// session the test has just opened.
	d := time.Now().In(shanghai).AddDate(0, 0, 1)
	e.now = time.Date(d.Year(), d.Month(), d.Day(), 10, 0, 0, 0, shanghai)
	e.eng.Now = e.clock
	loaded, err := e.eng.LoadDemo(e.ctx)
	if err != nil || !loaded {
		tb.Fatalf("LoadDemo = %v, %v; want true, nil", loaded, err)
	}
	if again, err := e.eng.LoadDemo(e.ctx); err != nil || again {
		tb.Fatalf("second LoadDemo = %v, %v; want false, nil", again, err)
	}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.now
	e.now = e.now.Add(e.step)
	return t
}

// set puts the clock at t.
func (e *env) set(t time.Time) {
	e.mu.Lock()
	e.now = t
	e.mu.Unlock()
}

// advance moves the clock on by d.
func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// day returns the local midnight of the day the clock was started on, plus
// days.
func (e *env) day(days int) time.Time {
	d := time.Now().In(shanghai).AddDate(0, 0, 1+days)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, shanghai)
}

// take returns the events published since the last take, checking that
// their ids only grow.
func (e *env) take() []*civiq.Event {
	e.tb.Helper()
	e.mu.Lock()
	evs := append([]*civiq.Event(nil), e.events[e.taken:]...)
	e.taken = len(e.events)
	e.mu.Unlock()
	for _, ev := range evs {
		if ev.ID <= e.lastID {
			e.tb.Errorf("event %d (%s) published after event %d: ids must only grow", ev.ID, ev.Type, e.lastID)
		}
		e.lastID = ev.ID
	}
	return evs
}

// expect takes the new events and checks their types.
// expect checks the live events written since the last take, in order:
// the configuration's (config.changed, TestConfigChangeEvents) are left
// out.
func (e *env) expect(types ...string) []*civiq.Event {
	e.tb.Helper()
	var evs []*civiq.Event
	for _, ev := range e.take() {
		if ev.Type != civiq.EventConfigChanged {
			evs = append(evs, ev)
		}
	}
	got := make([]string, len(evs))
	for i, ev := range evs {
		got[i] = ev.Type
	}
	if !slices.Equal(got, types) {
		e.tb.Errorf("events = %q; want %q", got, types)
	}
	return evs
}

func (e *env) checkPublishedMatchesStore() {
	e.tb.Helper()
	e.take()
	stored, err := e.store.EventsAfter(e.ctx, "demo", 0, 1_000_000)
	if err != nil {
		e.tb.Errorf("EventsAfter: %v", err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var published []*civiq.Event // of the demo hall, as stored is
	for _, ev := range e.events {
		if ev.HallID == "demo" {
			published = append(published, ev)
		}
	}
	if len(stored) != len(published) {
		e.tb.Errorf("the store holds %d events of the demo hall, %d were published", len(stored), len(published))
		return
	}
	for i, ev := range stored {
		if p := published[i]; p.ID != ev.ID || p.Type != ev.Type {
			e.tb.Errorf("event %d: stored %d %s, published %d %s", i, ev.ID, ev.Type, p.ID, p.Type)
		} else if !bytes.Equal(p.JSON(true), ev.JSON(true)) || !bytes.Equal(p.JSON(false), ev.JSON(false)) || !p.At.Equal(ev.At) {
			// The delivery workers send the published events (Engine.Committed)
			// and, after a restart or a replay, the stored ones: the same.
			e.tb.Errorf("event %d %s: stored %s, published %s", ev.ID, ev.Type, ev.JSON(true), p.JSON(true))
		}
	}
}

func (e *env) issue(service, group string) *civiq.Ticket {
	e.tb.Helper()
	t, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: service, Channel: civiq.ChannelKiosk, PriorityGroup: group}, nil)
	if err != nil {
		e.tb.Fatalf("issue %s: %v", service, err)
	}
	return t
}

// call calls the next ticket at a demo counter; nil when nobody waits.
func (e *env) call(counter string) *civiq.Ticket {
	e.tb.Helper()
	t, err := e.eng.CallNext(e.ctx, "demo", counter, nil)
	if err != nil {
		e.tb.Fatalf("call-next at %s: %v", counter, err)
	}
	return t
}

func (e *env) act(id, action, service string) *civiq.Ticket {
	e.tb.Helper()
	t, err := e.eng.Act(e.ctx, civiq.ActRequest{TicketID: id, Action: action, ServiceID: service}, nil)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", action, id, err)
	}
	return t
}

// queueLength is how many green-channel and other tickets wait for the
// demo hall's service, as the store counts them (queue_counts).
func (e *env) queueLength(service string) (prio, normal int) {
	e.tb.Helper()
	if err := e.store.View(e.ctx, func(tx civiq.Tx) (err error) {
		prio, normal, err = tx.QueueLength("demo", service)
		return err
	}); err != nil {
		e.tb.Fatal(err)
	}
	return prio, normal
}

func (e *env) ticket(id string) *civiq.Ticket {
	e.tb.Helper()
	t, err := e.eng.Ticket(e.ctx, id)
	if err != nil {
		e.tb.Fatalf("ticket %s: %v", id, err)
	}
	return t
}

func (e *env) saveHall(change func(h *civiq.Hall)) {
	e.tb.Helper()
	h, _, _ := civiq.DemoHall()
	change(&h)
	if err := e.eng.SaveHall(e.ctx, &h); err != nil {
		e.tb.Fatalf("SaveHall: %v", err)
	}
}

func (e *env) status() *civiq.HallStatus {
	e.tb.Helper()
	st, err := e.eng.Status(e.ctx, "demo")
	if err != nil {
		e.tb.Fatalf("Status: %v", err)
	}
	return st
}

// currentNumber is the number the counter shows now, from the public status.
func (e *env) currentNumber(counter string) string {
	e.tb.Helper()
	for _, c := range e.status().Counters {
		if c.ID == counter {
			return c.CurrentNumber
		}
	}
	e.tb.Fatalf("no counter %s in the status", counter)
	return ""
}

// callAll calls at counter until nobody waits and returns the numbers.
func (e *env) callAll(counter string) []string {
	e.tb.Helper()
	var out []string
	for range 100 {
		t := e.call(counter)
		if t == nil {
			return out
		}
		out = append(out, t.Number)
	}
	e.tb.Fatalf("counter %s never ran out of tickets", counter)
	return nil
}

// wantErr checks err's code and, when field is not "", the field it names.
func wantErr(tb testing.TB, err error, code, field string) {
	tb.Helper()
	if err == nil {
		tb.Errorf("err = nil; want %s", code)
		return
	}
	if got := civiq.ErrorCode(err); got != code {
		tb.Errorf("err = %v (code %s); want code %s", err, got, code)
	}
	if field != "" {
		var ce *civiq.Error
		if !errors.As(err, &ce) || ce.Field != field {
			tb.Errorf("err = %#v; want field %q", err, field)
		}
	}
}

func numbers(ts ...*civiq.Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Number
	}
	return out
}

func TestNumberingPerServiceAndLocalDay(t *testing.T) {
	e := newEnv(t)
	day1, day2 := e.day(0), e.day(1)

	// 07:59 to 08:01 local crosses midnight UTC: numbers go on.
	e.set(day1.Add(7*time.Hour + 59*time.Minute))
	a1 := e.issue("general", "")
	e.set(day1.Add(8*time.Hour + time.Minute))
	a2 := e.issue("general", "")
	b1 := e.issue("property", "")
	a3 := e.issue("general", "")
	c1 := e.issue("tax", "")
	d1 := e.issue("social", "")
	b2 := e.issue("property", "")
	if got, want := numbers(a1, a2, b1, a3, c1, d1, b2), []string{"A001", "A002", "B001", "A003", "C001", "D001", "B002"}; !slices.Equal(got, want) {
		t.Fatalf("numbers = %q; want %q", got, want)
	}

	// 23:59 is still the same local day.
	e.set(day1.Add(23*time.Hour + 59*time.Minute))
	late := e.issue("general", "")
	if late.Number != "A004" {
		t.Errorf("at 23:59 local: %s; want A004", late.Number)
	}
	// 00:01 the next local day (still the same UTC day as 23:59): every
	// service starts again at 001, and the unique index on (hall, day,
	// number) has nothing to say about it.
	e.set(day2.Add(time.Minute))
	next := []*civiq.Ticket{e.issue("general", ""), e.issue("property", ""), e.issue("general", "")}
	if got, want := numbers(next...), []string{"A001", "B001", "A002"}; !slices.Equal(got, want) {
		t.Errorf("the next day: %q; want %q", got, want)
	}
	if got := e.ticket(next[0].ID); got.Number != "A001" || got.Day != day2.Format(time.DateOnly) {
		t.Errorf("stored ticket = %s of %s; want A001 of %s", got.Number, got.Day, day2.Format(time.DateOnly))
	}
	if got := e.ticket(a1.ID); got.Number != "A001" || got.Day != day1.Format(time.DateOnly) {
		t.Errorf("yesterday's ticket = %s of %s; want A001 of %s", got.Number, got.Day, day1.Format(time.DateOnly))
	}
	// Yesterday's A001 and today's are two tickets.
	if a1.ID == next[0].ID {
		t.Error("two days' A001 share an id")
	}
	e.expect(slices.Repeat([]string{civiq.EventIssued}, 11)...)
}

// TestNumbersPastThreeDigits: a service's 1000th ticket of a day is A1000,
// numbers stay unique however many are taken at once, and a queue of four-
// and three-digit numbers is called in order of time, not of text
// ("A1000" < "A999" as strings).
func TestNumbersPastThreeDigits(t *testing.T) {
	e := newEnv(t)
	const n = 1001
	byNumber := map[string]*civiq.Ticket{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				tk := e.issue("general", "")
				mu.Lock()
				if old := byNumber[tk.Number]; old != nil {
					t.Errorf("two tickets numbered %s", tk.Number)
				}
				byNumber[tk.Number] = tk
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i := 1; i <= n; i++ {
		if byNumber[civiq.FormatNumber("A", i)] == nil {
			t.Fatalf("no ticket numbered %s among %d", civiq.FormatNumber("A", i), len(byNumber))
		}
	}
	a1000 := byNumber["A1000"]
	if got := e.ticket(a1000.ID); got.Number != "A1000" {
		t.Errorf("stored number %q, want A1000", got.Number)
	}
	for _, ev := range e.take() {
		if ev.Ticket.ID == a1000.ID && !strings.Contains(string(ev.JSON(false)), `"number":"A1000"`) {
			t.Errorf("the public event of A1000: %s", ev.JSON(false))
		}
	}

	// Leave A999, A1000 and A1001 waiting, with A999 the oldest: counter 1
	// calls A999, then A1000, then A1001, and the status shows them.
	for w := range 8 {
		wg.Go(func() {
			for i := 1 + w; i <= 998; i += 8 {
				e.act(byNumber[civiq.FormatNumber("A", i)].ID, civiq.ActCancel, "")
			}
		})
	}
	wg.Wait()
	for _, want := range []string{"A999", "A1000", "A1001"} {
		got := e.call("1")
		if got == nil || got.Number != want {
			t.Fatalf("call-next gave %v, want %s", got, want)
		}
		if cur := e.currentNumber("1"); cur != want {
			t.Errorf("the status shows %q at counter 1, want %s", cur, want)
		}
	}
	e.take()
}

func TestFIFOAcrossCounterServices(t *testing.T) {
	e := newEnv(t)
	// Counter 1 serves general then social; fifo ignores that order.
	e.issue("social", "")
	e.issue("general", "")
	e.issue("social", "")
	e.issue("general", "")
	e.issue("tax", "") // not for counter 1
	first := e.call("1")
	if first.Number != "D001" || first.Status != civiq.StatusCalled || first.CounterID != "1" || first.CallCount != 1 || first.CalledAt == nil {
		t.Errorf("first call = %+v; want D001 called at 1 once", first)
	}
	if got, want := append([]string{first.Number}, e.callAll("1")...), []string{"D001", "A001", "D002", "A002"}; !slices.Equal(got, want) {
		t.Errorf("counter 1 calls %q; want %q", got, want)
	}
	if got := e.callAll("5"); !slices.Equal(got, []string{"C001"}) {
		t.Errorf("counter 5 calls %q; want [C001]", got)
	}
}

func TestServiceOrderPolicy(t *testing.T) {
	e := newEnv(t)
	e.saveHall(func(h *civiq.Hall) { h.Policy = civiq.PolicyServiceOrder })
	e.issue("social", "")   // D001
	e.issue("general", "")  // A001
	e.issue("social", "")   // D002
	e.issue("general", "")  // A002
	e.issue("general", "")  // A003
	e.issue("property", "") // B001
	// Counter 1 empties general before social.
	var got []string
	for range 3 {
		got = append(got, e.call("1").Number)
	}
	if want := []string{"A001", "A002", "A003"}; !slices.Equal(got, want) {
		t.Errorf("counter 1 calls %q; want %q", got, want)
	}
	// Counter 3 serves property first, although A tickets came earlier.
	e.issue("general", "") // A004
	if got := e.callAll("3"); !slices.Equal(got, []string{"B001", "A004"}) {
		t.Errorf("counter 3 calls %q; want [B001 A004]", got)
	}
	if got := e.callAll("1"); !slices.Equal(got, []string{"D001", "D002"}) {
		t.Errorf("counter 1 then calls %q; want [D001 D002]", got)
	}
}

func TestPriorityFirst(t *testing.T) {
	e := newEnv(t)
	e.issue("general", "") // A001
	a2 := e.issue("general", "")
	green := e.issue("general", "elderly") // A003
	if green.Priority != civiq.PriorityPriority || green.PriorityGroup != "elderly" {
		t.Errorf("green ticket: priority %q group %q", green.Priority, green.PriorityGroup)
	}
	if a2.Priority != civiq.PriorityNormal {
		t.Errorf("normal ticket: priority %q", a2.Priority)
	}
	if green.Position == nil || *green.Position != 0 {
		t.Errorf("green ticket position = %v; want 0", green.Position)
	}
	if p := e.ticket(a2.ID).Position; p == nil || *p != 2 {
		t.Errorf("A002 position after a green ticket = %v; want 2", p)
	}
	e.issue("social", "disabled") // D001
	if got, want := e.callAll("1"), []string{"A003", "D001", "A001", "A002"}; !slices.Equal(got, want) {
		t.Errorf("counter 1 calls %q; want %q", got, want)
	}

	// Green channel first under service-order too: a priority ticket of the
	// counter's second service beats normal ones of its first.
	e.saveHall(func(h *civiq.Hall) { h.Policy = civiq.PolicyServiceOrder })
	e.issue("general", "")         // A004
	e.issue("social", "pregnancy") // D002
	if got, want := e.callAll("2"), []string{"D002", "A004"}; !slices.Equal(got, want) {
		t.Errorf("counter 2 calls %q; want %q", got, want)
	}
}

func TestPriorityGroupNotListed(t *testing.T) {
	e := newEnv(t)
	_, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk, PriorityGroup: "vip"}, nil)
	wantErr(t, err, civiq.EInvalid, "priority_group")

	// A hall keeps its own list.
	e.saveHall(func(h *civiq.Hall) { h.PriorityGroups = []string{"elderly"} })
	_, err = e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk, PriorityGroup: "disabled"}, nil)
	wantErr(t, err, civiq.EInvalid, "priority_group")
	e.expect()
	// Nothing was used up: the first ticket is still A001.
	if tk := e.issue("general", "elderly"); tk.Number != "A001" || tk.Priority != civiq.PriorityPriority {
		t.Errorf("after refusals: %s %s; want A001 priority", tk.Number, tk.Priority)
	}
	if st := e.status(); st.Waiting["general"] != 1 {
		t.Errorf("waiting = %v; want general 1", st.Waiting)
	}
}

func TestRecallUpToMaxCallsThenNoShow(t *testing.T) {
	for _, maxCalls := range []int{3, 1} {
		t.Run(fmt.Sprintf("max_calls=%d", maxCalls), func(t *testing.T) {
			e := newEnv(t)
			if maxCalls != 3 {
				e.saveHall(func(h *civiq.Hall) { h.MaxCalls = maxCalls })
			}
			tk := e.issue("general", "")
			tk = e.call("1")
			e.expect(civiq.EventIssued, civiq.EventCalled)
			for n := 2; n <= maxCalls; n++ {
				tk = e.act(tk.ID, civiq.ActRecall, "")
				if tk.Status != civiq.StatusCalled || tk.CallCount != n {
					t.Fatalf("recall %d: %s call_count %d", n, tk.Status, tk.CallCount)
				}
				evs := e.expect(civiq.EventRecalled)
				if len(evs) == 1 && evs[0].Ticket.CallCount != n {
					t.Errorf("recall event call_count = %d; want %d", evs[0].Ticket.CallCount, n)
				}
			}
			if e.currentNumber("1") != "A001" {
				t.Errorf("counter 1 shows %q while calling A001", e.currentNumber("1"))
			}
			// One recall too many: a no-show.
			tk = e.act(tk.ID, civiq.ActRecall, "")
			if tk.Status != civiq.StatusNoShow || tk.NoShowAt == nil || tk.CallCount != maxCalls {
				t.Errorf("recall past max: %s no_show_at %v call_count %d", tk.Status, tk.NoShowAt, tk.CallCount)
			}
			evs := e.expect(civiq.EventNoShow)
			if len(evs) == 1 && evs[0].Ticket.Status != civiq.StatusNoShow {
				t.Errorf("no-show event carries status %s", evs[0].Ticket.Status)
			}
			if got := e.currentNumber("1"); got != "" {
				t.Errorf("counter 1 still shows %q after the no-show", got)
			}
			_, err := e.eng.Act(e.ctx, civiq.ActRequest{TicketID: tk.ID, Action: civiq.ActRecall}, nil)
			wantErr(t, err, civiq.EInvalidTransition, "")
			e.expect()
		})
	}
}

func TestNoShowByStaff(t *testing.T) {
	e := newEnv(t)
	e.issue("general", "")
	tk := e.call("1")
	tk = e.act(tk.ID, civiq.ActNoShow, "")
	if tk.Status != civiq.StatusNoShow || tk.NoShowAt == nil {
		t.Errorf("no-show: %s %v", tk.Status, tk.NoShowAt)
	}
	e.expect(civiq.EventIssued, civiq.EventCalled, civiq.EventNoShow)
	// The counter moves on without marking it done.
	if got := e.call("1"); got != nil {
		t.Errorf("call-next = %s; want nobody", got.Number)
	}
	e.expect()
	if got := e.ticket(tk.ID); got.Status != civiq.StatusNoShow {
		t.Errorf("after call-next the no-show is %s", got.Status)
	}
}

func TestTransferKeepsPlaceInTime(t *testing.T) {
	e := newEnv(t)
	a1 := e.issue("general", "")
	e.issue("tax", "") // C001, later than A001
	e.issue("tax", "") // C002
	called := e.call("1")
	if called.ID != a1.ID {
		t.Fatalf("counter 1 called %s; want A001", called.Number)
	}
	e.act(a1.ID, civiq.ActStart, "")
	e.advance(10 * time.Minute)
	e.take()

	moved := e.act(a1.ID, civiq.ActTransfer, "tax")
	if moved.Status != civiq.StatusWaiting || moved.ServiceID != "tax" || moved.CounterID != "" || moved.CallCount != 0 ||
		moved.CalledAt != nil || moved.ServingAt != nil || moved.Number != "A001" {
		t.Errorf("transferred ticket = %+v", moved)
	}
	if !moved.IssuedAt.Equal(a1.IssuedAt) || !moved.QueuedAt.Equal(a1.QueuedAt) {
		t.Errorf("transfer moved the ticket in time: issued %v queued %v; want %v %v", moved.IssuedAt, moved.QueuedAt, a1.IssuedAt, a1.QueuedAt)
	}
	if moved.Position == nil || *moved.Position != 0 {
		t.Errorf("transferred ticket position = %v; want 0 (ahead of C001 and C002)", moved.Position)
	}
	evs := e.expect(civiq.EventTransferred)
	if len(evs) == 1 && (evs[0].Ticket.ServiceID != "tax" || evs[0].Ticket.Status != civiq.StatusWaiting) {
		t.Errorf("transfer event ticket = %+v", evs[0].Ticket)
	}
	stored := e.ticket(a1.ID)
	if !stored.IssuedAt.Equal(a1.IssuedAt) || !stored.QueuedAt.Equal(a1.QueuedAt) || stored.ServiceID != "tax" {
		t.Errorf("stored after transfer: service %s issued %v queued %v", stored.ServiceID, stored.IssuedAt, stored.QueuedAt)
	}
	// Counter 1 is free, and does not finish a ticket that left it.
	if got := e.currentNumber("1"); got != "" {
		t.Errorf("counter 1 still shows %q", got)
	}
	if got := e.call("1"); got != nil {
		t.Errorf("counter 1 called %s; nobody waits for it", got.Number)
	}
	e.expect()
	// Counter 5 (tax) takes it before the tax tickets issued after it.
	if got, want := e.callAll("5"), []string{"A001", "C001", "C002"}; !slices.Equal(got, want) {
		t.Errorf("counter 5 calls %q; want %q", got, want)
	}

	// Refusals: unknown service, the service it already waits in.
	w := e.issue("general", "")
	_, err := e.eng.Act(e.ctx, civiq.ActRequest{TicketID: w.ID, Action: civiq.ActTransfer, ServiceID: "nope"}, nil)
	wantErr(t, err, civiq.ENotFound, "service_id")
	_, err = e.eng.Act(e.ctx, civiq.ActRequest{TicketID: w.ID, Action: civiq.ActTransfer, ServiceID: "general"}, nil)
	wantErr(t, err, civiq.EConflict, "")
	_, err = e.eng.Act(e.ctx, civiq.ActRequest{TicketID: w.ID, Action: civiq.ActTransfer}, nil)
	wantErr(t, err, civiq.EInvalid, "service_id")
}

func TestLateReturn(t *testing.T) {
	for _, behind := range []int{3, 1} {
		t.Run(fmt.Sprintf("behind=%d", behind), func(t *testing.T) {
			e := newEnv(t)
			if behind != 3 {
				e.saveHall(func(h *civiq.Hall) { h.LateReturnBehind = behind })
			}
			var ts []*civiq.Ticket
			for range 6 {
				ts = append(ts, e.issue("general", ""))
			}
			late := e.call("1")
			if late.ID != ts[0].ID {
				t.Fatalf("called %s; want A001", late.Number)
			}
			e.act(late.ID, civiq.ActNoShow, "")
			e.take()
			back := e.act(late.ID, civiq.ActReturn, "")
			if back.Status != civiq.StatusWaiting || back.CallCount != 0 || back.CounterID != "" || back.NoShowAt != nil {
				t.Errorf("returned ticket = %+v", back)
			}
			if back.Position == nil || *back.Position != behind {
				t.Errorf("returned ticket position = %v; want %d", back.Position, behind)
			}
			if !back.IssuedAt.Equal(ts[0].IssuedAt) {
				t.Errorf("return changed issued_at")
			}
			e.expect(civiq.EventReturned)
			want := []string{"A002", "A003", "A004", "A005", "A006"}
			want = slices.Insert(want, behind, "A001")
			if got := e.callAll("1"); !slices.Equal(got, want) {
				t.Errorf("calls after the return = %q; want %q", got, want)
			}
		})
	}

	t.Run("fewer waiting", func(t *testing.T) {
		e := newEnv(t)
		for range 3 {
			e.issue("general", "")
		}
		late := e.call("1")
		e.act(late.ID, civiq.ActNoShow, "")
		back := e.act(late.ID, civiq.ActReturn, "")
		if back.Position == nil || *back.Position != 2 {
			t.Errorf("position = %v; want 2 (behind both waiting)", back.Position)
		}
		e.issue("general", "") // A004 comes after the return
		if got, want := e.callAll("1"), []string{"A002", "A003", "A001", "A004"}; !slices.Equal(got, want) {
			t.Errorf("calls = %q; want %q", got, want)
		}
	})

	t.Run("only after a no-show", func(t *testing.T) {
		e := newEnv(t)
		tk := e.issue("general", "")
		e.take()
		_, err := e.eng.Act(e.ctx, civiq.ActRequest{TicketID: tk.ID, Action: civiq.ActReturn}, nil)
		wantErr(t, err, civiq.EInvalidTransition, "")
		e.expect()
	})
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	a1 := e.issue("general", "")
	a2 := e.issue("general", "")
	a3 := e.issue("general", "")
	e.take()
	c := e.act(a1.ID, civiq.ActCancel, "")
	if c.Status != civiq.StatusCancelled || c.CancelledAt == nil || c.Position != nil {
		t.Errorf("cancelled ticket = %+v", c)
	}
	e.expect(civiq.EventCancelled)
	if st := e.status(); st.Waiting["general"] != 2 {
		t.Errorf("waiting general = %d; want 2", st.Waiting["general"])
	}
	// A cancelled ticket is never called.
	if got := e.call("1"); got.ID != a2.ID {
		t.Errorf("called %s; want A002", got.Number)
	}
	// A called ticket can be cancelled; the counter is free again.
	e.act(a2.ID, civiq.ActCancel, "")
	if got := e.currentNumber("1"); got != "" {
		t.Errorf("counter 1 still shows %q", got)
	}
	e.take()
	// Next call does not mark the cancelled one done.
	if got := e.call("1"); got.ID != a3.ID {
		t.Errorf("called %s; want A003", got.Number)
	}
	e.expect(civiq.EventCalled)
	if got := e.ticket(a2.ID); got.Status != civiq.StatusCancelled {
		t.Errorf("A002 is %s", got.Status)
	}
	_, err := e.eng.Act(e.ctx, civiq.ActRequest{TicketID: a1.ID, Action: civiq.ActCancel}, nil)
	wantErr(t, err, civiq.EInvalidTransition, "")
	// A ticket being served is finished, not cancelled.
	e.act(a3.ID, civiq.ActStart, "")
	e.take()
	_, err = e.eng.Act(e.ctx, civiq.ActRequest{TicketID: a3.ID, Action: civiq.ActCancel}, nil)
	wantErr(t, err, civiq.EInvalidTransition, "")
	e.expect()
}

func TestCallNextOnPausedCounter(t *testing.T) {
	e := newEnv(t)
	tk := e.issue("general", "")
	e.take()
	_, err := e.eng.SetCounterStatus(e.ctx, "demo", "1", civiq.CounterPaused, "", nil)
	wantErr(t, err, civiq.EInvalid, "reason")
	c, err := e.eng.SetCounterStatus(e.ctx, "demo", "1", civiq.CounterPaused, "暂离", nil)
	if err != nil || c.Status != civiq.CounterPaused || c.PauseReason != "暂离" {
		t.Fatalf("pause = %+v, %v", c, err)
	}
	evs := e.expect(civiq.EventCounter)
	if len(evs) == 1 && (evs[0].Counter == nil || evs[0].Counter.Status != civiq.CounterPaused) {
		t.Errorf("counter event = %+v", evs[0].Counter)
	}
	_, err = e.eng.CallNext(e.ctx, "demo", "1", nil)
	wantErr(t, err, civiq.EConflict, "")
	if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "1", civiq.CounterClosed, "", nil); err != nil {
		t.Fatal(err)
	}
	e.take()
	_, err = e.eng.CallNext(e.ctx, "demo", "1", nil)
	wantErr(t, err, civiq.EConflict, "")
	e.expect()
	if got := e.ticket(tk.ID); got.Status != civiq.StatusWaiting {
		t.Errorf("ticket is %s after refused calls", got.Status)
	}
	if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "1", civiq.CounterOpen, "", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.call("1"); got == nil || got.ID != tk.ID {
		t.Errorf("open counter called %v", got)
	}
	e.expect(civiq.EventCounter, civiq.EventCalled)
	_, err = e.eng.CallNext(e.ctx, "demo", "99", nil)
	wantErr(t, err, civiq.ENotFound, "")
}

func TestCallNextFinishesCurrent(t *testing.T) {
	e := newEnv(t)
	a1 := e.issue("general", "")
	a2 := e.issue("general", "")
	a3 := e.issue("general", "")
	e.take()

	if got := e.call("1"); got.ID != a1.ID {
		t.Fatalf("called %s", got.Number)
	}
	e.expect(civiq.EventCalled)
	// A001 is still only called: call-next finishes it first.
	if got := e.call("1"); got.ID != a2.ID {
		t.Fatalf("called %s", got.Number)
	}
	evs := e.expect(civiq.EventDone, civiq.EventCalled)
	if len(evs) == 2 {
		if evs[0].Ticket.ID != a1.ID || evs[0].Ticket.Status != civiq.StatusDone {
			t.Errorf("done event for %s (%s); want A001 done", evs[0].Ticket.Number, evs[0].Ticket.Status)
		}
		if evs[1].Ticket.ID != a2.ID {
			t.Errorf("called event for %s; want A002", evs[1].Ticket.Number)
		}
	}
	done := e.ticket(a1.ID)
	if done.Status != civiq.StatusDone || done.ServingAt == nil || done.DoneAt == nil || done.CounterID != "1" {
		t.Errorf("A001 after call-next = %+v", done)
	}
	// A serving ticket is finished too.
	e.act(a2.ID, civiq.ActStart, "")
	e.expect(civiq.EventServing)
	if got := e.call("1"); got.ID != a3.ID {
		t.Fatalf("called %s", got.Number)
	}
	e.expect(civiq.EventDone, civiq.EventCalled)
	if got := e.ticket(a2.ID); got.Status != civiq.StatusDone {
		t.Errorf("A002 is %s", got.Status)
	}
	// Nobody waits: the current one is still finished and the counter freed.
	if got := e.call("1"); got != nil {
		t.Errorf("called %s from an empty queue", got.Number)
	}
	e.expect(civiq.EventDone)
	if got := e.ticket(a3.ID); got.Status != civiq.StatusDone {
		t.Errorf("A003 is %s", got.Status)
	}
	if got := e.currentNumber("1"); got != "" {
		t.Errorf("counter 1 shows %q", got)
	}
	if got := e.call("1"); got != nil {
		t.Errorf("called %s", got.Number)
	}
	e.expect()
	// Another counter's ticket is not touched.
	b := e.issue("general", "")
	e.call("2")
	e.issue("general", "")
	e.call("1")
	if got := e.ticket(b.ID); got.Status != civiq.StatusCalled || got.CounterID != "2" {
		t.Errorf("counter 2's ticket is %s at %s", got.Status, got.CounterID)
	}
}

// snapshot is everything a user could see of the demo hall and the tickets.
func (e *env) snapshot(ids ...string) string {
	e.tb.Helper()
	var tickets []*civiq.Ticket
	for _, id := range ids {
		tickets = append(tickets, e.ticket(id))
	}
	last, err := e.store.LastEventID(e.ctx)
	if err != nil {
		e.tb.Fatal(err)
	}
	var svcs []civiq.Service
	var devices []civiq.Device
	var users []civiq.User
	err = e.store.View(e.ctx, func(tx civiq.Tx) error {
		var err error
		if svcs, err = tx.Services("demo"); err != nil {
			return err
		}
		if devices, err = tx.Devices("demo"); err != nil {
			return err
		}
		users, err = tx.Users()
		return err
	})
	if err != nil {
		e.tb.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"status": e.status(), "tickets": tickets, "last_event": last, "services": svcs, "devices": devices, "users": users})
	if err != nil {
		e.tb.Fatal(err)
	}
	return string(b)
}

func TestEveryChangeOneEvent(t *testing.T) {
	e := newEnv(t)
	// step runs a change and checks it published exactly one event of
	// the type, about the ticket it returned.
	step := func(want string, do func() *civiq.Ticket) *civiq.Ticket {
		t.Helper()
		tk := do()
		evs := e.expect(want)
		if len(evs) == 1 && tk != nil {
			if evs[0].Ticket == nil || evs[0].Ticket.ID != tk.ID || evs[0].Ticket.Status != tk.Status {
				t.Errorf("%s event ticket = %+v; want %s %s", want, evs[0].Ticket, tk.ID, tk.Status)
			}
			if evs[0].HallID != "demo" || evs[0].At.IsZero() {
				t.Errorf("%s event hall %q at %v", want, evs[0].HallID, evs[0].At)
			}
		}
		return tk
	}
	a1 := step(civiq.EventIssued, func() *civiq.Ticket { return e.issue("general", "") })
	a2 := step(civiq.EventIssued, func() *civiq.Ticket { return e.issue("general", "") })
	step(civiq.EventCalled, func() *civiq.Ticket { return e.call("1") })
	step(civiq.EventRecalled, func() *civiq.Ticket { return e.act(a1.ID, civiq.ActRecall, "") })
	step(civiq.EventServing, func() *civiq.Ticket { return e.act(a1.ID, civiq.ActStart, "") })
	step(civiq.EventDone, func() *civiq.Ticket { return e.act(a1.ID, civiq.ActFinish, "") })
	step(civiq.EventRated, func() *civiq.Ticket {
		if _, err := e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: a1.ID, Score: 5, Channel: "rater"}); err != nil {
			t.Fatal(err)
		}
		return e.ticket(a1.ID)
	})
	step(civiq.EventCalled, func() *civiq.Ticket { return e.call("1") }) // A001 is done already: no second done
	step(civiq.EventNoShow, func() *civiq.Ticket { return e.act(a2.ID, civiq.ActNoShow, "") })
	step(civiq.EventReturned, func() *civiq.Ticket { return e.act(a2.ID, civiq.ActReturn, "") })
	step(civiq.EventTransferred, func() *civiq.Ticket { return e.act(a2.ID, civiq.ActTransfer, "social") })
	step(civiq.EventCancelled, func() *civiq.Ticket { return e.act(a2.ID, civiq.ActCancel, "") })
	step(civiq.EventCounter, func() *civiq.Ticket {
		if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "1", civiq.CounterPaused, "lunch", nil); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	step(civiq.EventAnnouncement, func() *civiq.Ticket {
		if err := e.eng.Announce(e.ctx, "demo", "系统维护"); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	step(civiq.EventCounter, func() *civiq.Ticket {
		if err := e.eng.SaveCounter(e.ctx, &civiq.Counter{HallID: "demo", ID: "7", ServiceIDs: []string{"tax"}}); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	a3 := e.issue("general", "")
	e.take()

	// Failed actions publish nothing and change nothing.
	ids := []string{a1.ID, a2.ID, a3.ID}
	before := e.snapshot(ids...)
	issue := func(req civiq.IssueRequest) error {
		_, err := e.eng.IssueTicket(e.ctx, req, nil)
		return err
	}
	act := func(id, action, service string) error {
		_, err := e.eng.Act(e.ctx, civiq.ActRequest{TicketID: id, Action: action, ServiceID: service}, nil)
		return err
	}
	rate := func(id string, score int) error {
		_, err := e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: id, Score: score})
		return err
	}
	fails := []struct {
		name, code, field string
		do                func() error
	}{
		{"issue bad channel", civiq.EInvalid, "channel", func() error {
			return issue(civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: "fax"})
		}},
		{"issue unknown service", civiq.ENotFound, "service_id", func() error {
			return issue(civiq.IssueRequest{HallID: "demo", ServiceID: "nope", Channel: civiq.ChannelKiosk})
		}},
		{"issue unknown hall", civiq.ENotFound, "", func() error {
			return issue(civiq.IssueRequest{HallID: "nope", ServiceID: "general", Channel: civiq.ChannelKiosk})
		}},
		{"issue unknown group", civiq.EInvalid, "priority_group", func() error {
			return issue(civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk, PriorityGroup: "vip"})
		}},
		{"call at paused counter", civiq.EConflict, "", func() error {
			_, err := e.eng.CallNext(e.ctx, "demo", "1", nil)
			return err
		}},
		{"call at unknown counter", civiq.ENotFound, "", func() error {
			_, err := e.eng.CallNext(e.ctx, "demo", "99", nil)
			return err
		}},
		{"start a waiting ticket", civiq.EInvalidTransition, "", func() error { return act(a3.ID, civiq.ActStart, "") }},
		{"finish a waiting ticket", civiq.EInvalidTransition, "", func() error { return act(a3.ID, civiq.ActFinish, "") }},
		{"recall a waiting ticket", civiq.EInvalidTransition, "", func() error { return act(a3.ID, civiq.ActRecall, "") }},
		{"no-show a waiting ticket", civiq.EInvalidTransition, "", func() error { return act(a3.ID, civiq.ActNoShow, "") }},
		{"return a waiting ticket", civiq.EInvalidTransition, "", func() error { return act(a3.ID, civiq.ActReturn, "") }},
		{"call through Act", civiq.EInvalid, "action", func() error { return act(a3.ID, civiq.ActCall, "") }},
		{"unknown action", civiq.EInvalid, "action", func() error { return act(a3.ID, "explode", "") }},
		{"transfer to unknown service", civiq.ENotFound, "service_id", func() error { return act(a3.ID, civiq.ActTransfer, "nope") }},
		{"transfer to its own service", civiq.EConflict, "", func() error { return act(a3.ID, civiq.ActTransfer, "general") }},
		{"cancel a cancelled ticket", civiq.EInvalidTransition, "", func() error { return act(a2.ID, civiq.ActCancel, "") }},
		{"act on unknown ticket", civiq.ENotFound, "", func() error { return act("nope", civiq.ActCancel, "") }},
		{"transfer a done ticket", civiq.EInvalidTransition, "", func() error { return act(a1.ID, civiq.ActTransfer, "tax") }},
		{"rate a waiting ticket", civiq.EConflict, "", func() error { return rate(a3.ID, 4) }},
		{"rate twice", civiq.EConflict, "", func() error { return rate(a1.ID, 1) }},
		{"rate out of range", civiq.EInvalid, "score", func() error { return rate(a1.ID, 6) }},
		{"bad counter status", civiq.EInvalid, "status", func() error {
			_, err := e.eng.SetCounterStatus(e.ctx, "demo", "2", "broken", "", nil)
			return err
		}},
		{"empty announcement", civiq.EInvalid, "text", func() error { return e.eng.Announce(e.ctx, "demo", "") }},
		{"announce in unknown hall", civiq.ENotFound, "", func() error { return e.eng.Announce(e.ctx, "nope", "hi") }},
		{"duplicate prefix", civiq.EConflict, "prefix", func() error {
			return e.eng.SaveService(e.ctx, &civiq.Service{HallID: "demo", ID: "passport", Prefix: "A", Name: "出入境"}, civiq.KeepQuotas{})
		}},
		{"counter with unknown service", civiq.EInvalid, "service_ids", func() error {
			return e.eng.SaveCounter(e.ctx, &civiq.Counter{HallID: "demo", ID: "8", ServiceIDs: []string{"nope"}})
		}},
		{"device without counter", civiq.EInvalid, "counter_id", func() error {
			return e.eng.CreateDevice(e.ctx, &civiq.Device{HallID: "demo", Kind: civiq.DeviceRater})
		}},
		{"pair with unknown code", civiq.EUnauthorized, "", func() error {
			_, _, err := e.eng.PairDevice(e.ctx, "zzzzzzzz")
			return err
		}},
	}
	for _, f := range fails {
		err := f.do()
		if err == nil {
			t.Errorf("%s: no error", f.name)
			continue
		}
		if civiq.ErrorCode(err) != f.code {
			t.Errorf("%s: %v; want code %s", f.name, err, f.code)
		}
		if f.field != "" {
			var ce *civiq.Error
			if !errors.As(err, &ce) || ce.Field != f.field {
				t.Errorf("%s: %#v; want field %s", f.name, err, f.field)
			}
		}
		if evs := e.take(); len(evs) != 0 {
			t.Errorf("%s published %d events", f.name, len(evs))
		}
		if after := e.snapshot(ids...); after != before {
			t.Errorf("%s changed the hall:\nbefore %s\nafter  %s", f.name, before, after)
		}
	}
	// Nor did any of them use up a number.
	if tk := e.issue("general", ""); tk.Number != "A004" {
		t.Errorf("next number %s; want A004", tk.Number)
	}
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	issue := func(idem *civiq.Idem) (*civiq.Ticket, error) {
		return e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk}, idem)
	}
	key := &civiq.Idem{Scope: "device:1", Key: "k-1", Hash: "h1"}
	first, err := issue(key)
	if err != nil {
		t.Fatal(err)
	}
	e.expect(civiq.EventIssued)
	e.advance(time.Hour)
	again, err := issue(key)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Number != first.Number || !again.IssuedAt.Equal(first.IssuedAt) {
		t.Errorf("same key gave %s %s; want %s %s", again.ID, again.Number, first.ID, first.Number)
	}
	if again.Position == nil || *again.Position != 0 {
		t.Errorf("replayed ticket position = %v", again.Position)
	}
	e.expect()

	// Same key, other request: refused, nothing issued.
	_, err = issue(&civiq.Idem{Scope: key.Scope, Key: key.Key, Hash: "h2"})
	wantErr(t, err, civiq.EConflict, "")
	e.expect()
	// The key belongs to its scope.
	other, err := issue(&civiq.Idem{Scope: "device:2", Key: key.Key, Hash: key.Hash})
	if err != nil || other.ID == first.ID || other.Number != "A002" {
		t.Errorf("other scope: %v, %v; want a new A002", other, err)
	}
	e.expect(civiq.EventIssued)
	// No key: always a new ticket.
	if a, b := e.issue("general", ""), e.issue("general", ""); a.ID == b.ID {
		t.Error("two requests without a key gave one ticket")
	}
	e.take()

	// Still remembered just before 24 hours.
	e.advance(22 * time.Hour)
	if got, err := issue(key); err != nil || got.ID != first.ID {
		t.Errorf("after 23h: %v, %v; want the first ticket", got, err)
	}
	e.expect()
	// Forgotten after 24 hours: a new ticket.
	e.advance(2 * time.Hour)
	later, err := issue(key)
	if err != nil {
		t.Fatal(err)
	}
	if later.ID == first.ID {
		t.Error("a key older than 24h gave the old ticket back")
	}
	e.expect(civiq.EventIssued)
	// ... which the key now stands for.
	if got, err := issue(key); err != nil || got.ID != later.ID {
		t.Errorf("after renewal: %v, %v; want %s", got, err, later.ID)
	}
	e.expect()

	// Call-next with a key calls once.
	ck := &civiq.Idem{Scope: "user:staff", Key: "call-1", Hash: "c"}
	c1, err := e.eng.CallNext(e.ctx, "demo", "1", ck)
	if err != nil || c1 == nil {
		t.Fatalf("call-next: %v, %v", c1, err)
	}
	e.expect(civiq.EventCalled)
	c2, err := e.eng.CallNext(e.ctx, "demo", "1", ck)
	if err != nil || c2 == nil || c2.ID != c1.ID || c2.Status != civiq.StatusCalled || c2.CallCount != 1 {
		t.Errorf("repeated call-next = %+v, %v; want %s still called once", c2, err, c1.Number)
	}
	e.expect()
}

func TestRateOnce(t *testing.T) {
	e := newEnv(t)
	tk := e.issue("general", "")
	e.call("1")
	e.take()
	_, err := e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: tk.ID, Score: 5})
	wantErr(t, err, civiq.EConflict, "")
	e.act(tk.ID, civiq.ActStart, "")
	e.act(tk.ID, civiq.ActFinish, "")
	e.take()
	for _, bad := range []int{0, -1, 6} {
		_, err = e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: tk.ID, Score: bad})
		wantErr(t, err, civiq.EInvalid, "score")
	}
	_, err = e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: tk.ID, Score: 3, Comment: strings.Repeat("好", 501)})
	wantErr(t, err, civiq.EInvalid, "comment")
	_, err = e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: "nope", Score: 3})
	wantErr(t, err, civiq.ENotFound, "")
	e.expect()
	r, err := e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: tk.ID, Score: 4, Comment: "很好", Channel: "rater"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || r.TicketID != tk.ID || r.HallID != "demo" || r.ServiceID != "general" || r.CounterID != "1" || r.Score != 4 || r.Comment != "很好" {
		t.Errorf("rating = %+v", r)
	}
	e.expect(civiq.EventRated)
	_, err = e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: tk.ID, Score: 1})
	wantErr(t, err, civiq.EConflict, "")
	e.expect()
	var stored *civiq.Rating
	if err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		var err error
		stored, err = tx.RatingByTicket(tk.ID)
		return err
	}); err != nil || stored.Score != 4 {
		t.Errorf("stored rating = %+v, %v; want the first (4)", stored, err)
	}
}

func TestStatusCounts(t *testing.T) {
	e := newEnv(t)
	st := e.status()
	want := map[string]int{"general": 0, "property": 0, "tax": 0, "social": 0}
	if !mapsEqual(st.Waiting, want) || len(st.Counters) != 6 || len(st.RecentCalls) != 0 {
		t.Errorf("empty hall status = %+v", st)
	}
	for range 3 {
		e.issue("general", "")
	}
	e.issue("property", "")
	e.issue("tax", "elderly")
	want = map[string]int{"general": 3, "property": 1, "tax": 1, "social": 0}
	if st := e.status(); !mapsEqual(st.Waiting, want) {
		t.Errorf("waiting = %v; want %v", st.Waiting, want)
	}
	called := []*civiq.Ticket{
		e.call("1"), // A001
		e.call("3"), // A002: fifo, earlier than B001
		e.call("5"), // C001
	}
	st = e.status()
	want = map[string]int{"general": 1, "property": 1, "tax": 0, "social": 0}
	if !mapsEqual(st.Waiting, want) {
		t.Errorf("waiting = %v; want %v", st.Waiting, want)
	}
	shows := map[string]string{}
	for _, c := range st.Counters {
		shows[c.ID] = c.CurrentNumber
		if c.CurrentTicketID != "" {
			t.Errorf("public status carries counter %s's ticket id", c.ID)
		}
		if c.Status != civiq.CounterOpen {
			t.Errorf("counter %s is %s", c.ID, c.Status)
		}
	}
	if wantShows := map[string]string{"1": "A001", "2": "", "3": "A002", "4": "", "5": "C001", "6": ""}; !mapsEqual(shows, wantShows) {
		t.Errorf("counters show %v; want %v", shows, wantShows)
	}
	var recent []string
	for _, c := range st.RecentCalls {
		recent = append(recent, c.Number+"@"+c.CounterID)
	}
	if wantRecent := []string{"C001@5", "A002@3", "A001@1"}; !slices.Equal(recent, wantRecent) {
		t.Errorf("recent calls = %q; want %q", recent, wantRecent)
	}
	// The public status carries no ticket ids.
	b, _ := json.Marshal(st)
	for _, c := range called {
		if strings.Contains(string(b), c.ID) {
			t.Errorf("status carries the id of %s", c.Number)
		}
	}
	if _, err := e.eng.Status(e.ctx, "nope"); civiq.ErrorCode(err) != civiq.ENotFound {
		t.Errorf("status of unknown hall: %v", err)
	}
}

func mapsEqual[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestBootstrapOnce(t *testing.T) {
	e := newEnv(t)
	pw, err := e.eng.Bootstrap(e.ctx, "")
	if err != nil || len(pw) < 10 {
		t.Fatalf("first Bootstrap = %q, %v; want a generated password", pw, err)
	}
	if again, err := e.eng.Bootstrap(e.ctx, ""); err != nil || again != "" {
		t.Errorf("second Bootstrap = %q, %v; want nothing", again, err)
	}
	if again, err := e.eng.Bootstrap(e.ctx, "another-password"); err != nil || again != "" {
		t.Errorf("third Bootstrap = %q, %v; want nothing", again, err)
	}
	var users []civiq.User
	if err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		var err error
		users, err = tx.Users()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Username != "admin" || users[0].Role != civiq.RoleAdmin {
		t.Errorf("users = %+v; want only admin", users)
	}
	if strings.Contains(users[0].PasswordHash, pw) {
		t.Error("the password is stored in clear")
	}
	if _, _, _, err := e.eng.Login(e.ctx, "admin", pw); err != nil {
		t.Errorf("login with the generated password: %v", err)
	}
	if _, _, _, err := e.eng.Login(e.ctx, "admin", "another-password"); civiq.ErrorCode(err) != civiq.EUnauthorized {
		t.Errorf("the later password works: %v", err)
	}

	// With a password given, nothing is printed.
	e2 := newEnv(t)
	if pw, err := e2.eng.Bootstrap(e2.ctx, "given-password-1"); err != nil || pw != "" {
		t.Errorf("Bootstrap with a password = %q, %v", pw, err)
	}
	if _, _, _, err := e2.eng.Login(e2.ctx, "admin", "given-password-1"); err != nil {
		t.Errorf("login with the given password: %v", err)
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	if _, err := e.eng.Bootstrap(e.ctx, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	start := e.clock()
	token, sess, u, err := e.eng.Login(e.ctx, "admin", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 20 || sess == nil || u == nil || u.Username != "admin" || u.Role != civiq.RoleAdmin {
		t.Errorf("login = %q %+v %+v", token, sess, u)
	}
	if sess.TokenHash != civiq.HashToken(token) || sess.TokenHash == token || sess.CSRF == "" {
		t.Errorf("session = %+v", sess)
	}
	if d := sess.ExpiresAt.Sub(start); d < civiq.SessionTTL || d > civiq.SessionTTL+time.Minute {
		t.Errorf("session lasts %v; want %v", d, civiq.SessionTTL)
	}
	token2, _, _, err := e.eng.Login(e.ctx, "admin", "correct horse battery")
	if err != nil || token2 == token {
		t.Errorf("second login = %q, %v; want a new token", token2, err)
	}
	_, _, _, errWrong := e.eng.Login(e.ctx, "admin", "wrong horse battery")
	wantErr(t, errWrong, civiq.EUnauthorized, "")
	_, _, _, errNobody := e.eng.Login(e.ctx, "nobody", "correct horse battery")
	wantErr(t, errNobody, civiq.EUnauthorized, "")
	if civiq.ErrorMessage(errWrong) != civiq.ErrorMessage(errNobody) {
		t.Errorf("wrong password says %q, unknown user %q: they must not differ", civiq.ErrorMessage(errWrong), civiq.ErrorMessage(errNobody))
	}
	_, _, _, err = e.eng.Login(e.ctx, "admin", "")
	wantErr(t, err, civiq.EUnauthorized, "")
	// Both sessions work.
	for _, tok := range []string{token, token2} {
		if p, _, err := e.eng.Authenticate(e.ctx, tok); err != nil || p.User == nil {
			t.Errorf("authenticate: %v", err)
		}
	}
	e.expect() // signing in is not a hall event
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	if _, err := e.eng.Bootstrap(e.ctx, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	staff := &civiq.User{Username: "li.wei", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
	if err := e.eng.CreateUser(e.ctx, staff, "staff-password-1"); err != nil {
		t.Fatal(err)
	}
	token, _, _, err := e.eng.Login(e.ctx, "li.wei", "staff-password-1")
	if err != nil {
		t.Fatal(err)
	}
	p, sess, err := e.eng.Authenticate(e.ctx, token)
	if err != nil || p.User == nil || p.Device != nil || sess == nil {
		t.Fatalf("authenticate session: %+v %+v %v", p, sess, err)
	}
	if p.User.Username != "li.wei" || p.Role() != civiq.RoleStaff || !slices.Equal(p.User.HallIDs, []string{"demo"}) {
		t.Errorf("principal = %+v", p.User)
	}
	if !p.Can(civiq.PermCounterAction, "demo", "1") || p.Can(civiq.PermAdmin, "demo", "") || p.Can(civiq.PermCounterAction, "other", "1") {
		t.Error("staff permissions are wrong")
	}

	// A paired device's token.
	d := &civiq.Device{HallID: "demo", Kind: civiq.DeviceCounter, CounterID: "2", Name: "2号窗口呼叫器"}
	if err := e.eng.CreateDevice(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	devToken, _, err := e.eng.PairDevice(e.ctx, d.PairingCode)
	if err != nil {
		t.Fatal(err)
	}
	p, sess, err = e.eng.Authenticate(e.ctx, devToken)
	if err != nil || p.Device == nil || p.User != nil || sess != nil {
		t.Fatalf("authenticate device: %+v %+v %v", p, sess, err)
	}
	if p.Device.ID != d.ID || p.Device.Kind != civiq.DeviceCounter || p.Device.CounterID != "2" || p.Device.HallID != "demo" {
		t.Errorf("device = %+v", p.Device)
	}
	if !p.Can(civiq.PermCounterAction, "demo", "2") || p.Can(civiq.PermCounterAction, "demo", "1") || p.Can(civiq.PermIssueTicket, "demo", "") {
		t.Error("device permissions are wrong")
	}

	for _, bad := range []string{"", "nope", civiq.HashToken(token)} {
		_, _, err := e.eng.Authenticate(e.ctx, bad)
		wantErr(t, err, civiq.EUnauthorized, "")
	}

	// Logout ends one session.
	other, _, _, err := e.eng.Login(e.ctx, "li.wei", "staff-password-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Logout(e.ctx, other); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.eng.Authenticate(e.ctx, other)
	wantErr(t, err, civiq.EUnauthorized, "")

	// Sessions expire; device tokens do not.
	e.advance(civiq.SessionTTL + time.Hour)
	_, _, err = e.eng.Authenticate(e.ctx, token)
	wantErr(t, err, civiq.EUnauthorized, "")
	if p, _, err := e.eng.Authenticate(e.ctx, devToken); err != nil || p.Device == nil {
		t.Errorf("device token after 13h: %v", err)
	}
}

func TestDevices(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		d           civiq.Device
		code, field string
	}{
		{civiq.Device{HallID: "demo", Kind: "toaster"}, civiq.EInvalid, "kind"},
		{civiq.Device{HallID: "demo", Kind: civiq.DeviceCounter}, civiq.EInvalid, "counter_id"},
		{civiq.Device{HallID: "demo", Kind: civiq.DeviceRater, CounterID: "99"}, civiq.EInvalid, "counter_id"},
		{civiq.Device{HallID: "nope", Kind: civiq.DeviceKiosk}, civiq.ENotFound, ""},
	} {
		err := e.eng.CreateDevice(e.ctx, &c.d)
		wantErr(t, err, c.code, c.field)
	}
	kiosk := &civiq.Device{HallID: "demo", Kind: civiq.DeviceKiosk, CounterID: "1", Name: "门口取号机"}
	if err := e.eng.CreateDevice(e.ctx, kiosk); err != nil {
		t.Fatal(err)
	}
	if kiosk.ID == 0 || len(kiosk.PairingCode) != 8 || kiosk.CounterID != "" {
		t.Errorf("kiosk = %+v; want an id, an 8-character code and no counter", kiosk)
	}
	rater := &civiq.Device{HallID: "demo", Kind: civiq.DeviceRater, CounterID: "3"}
	if err := e.eng.CreateDevice(e.ctx, rater); err != nil {
		t.Fatal(err)
	}
	if rater.PairingCode == kiosk.PairingCode {
		t.Error("two devices share a pairing code")
	}

	token, d, err := e.eng.PairDevice(e.ctx, kiosk.PairingCode)
	if err != nil {
		t.Fatal(err)
	}
	if token == "" || d.ID != kiosk.ID || d.PairingCode != "" || d.PairedAt == nil || d.TokenHash != civiq.HashToken(token) {
		t.Errorf("paired device = %+v", d)
	}
	// A code works once.
	_, _, err = e.eng.PairDevice(e.ctx, kiosk.PairingCode)
	wantErr(t, err, civiq.EUnauthorized, "")
	_, _, err = e.eng.PairDevice(e.ctx, "")
	wantErr(t, err, civiq.EUnauthorized, "")
	// Codes are read aloud: case does not matter.
	rtoken, rd, err := e.eng.PairDevice(e.ctx, strings.ToUpper(rater.PairingCode))
	if err != nil || rd.ID != rater.ID || rtoken == token {
		t.Errorf("pair the rater in capitals: %+v, %v", rd, err)
	}
	p, _, err := e.eng.Authenticate(e.ctx, token)
	if err != nil || p.Device == nil || p.Device.ID != kiosk.ID || !p.Can(civiq.PermIssueTicket, "demo", "") {
		t.Errorf("kiosk principal = %+v, %v", p, err)
	}
	p, _, err = e.eng.Authenticate(e.ctx, rtoken)
	if err != nil || p.Device == nil || !p.Can(civiq.PermRate, "demo", "3") || p.Can(civiq.PermRate, "demo", "4") {
		t.Errorf("rater principal = %+v, %v", p, err)
	}

	var list []civiq.Device
	if err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		var err error
		list, err = tx.Devices("demo")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("devices = %+v; want 2", list)
	}
	for _, d := range list {
		if d.PairingCode != "" || d.PairedAt == nil || d.TokenHash == "" {
			t.Errorf("stored device %d = %+v; want paired without a code", d.ID, d)
		}
		if d.TokenHash == token || d.TokenHash == rtoken {
			t.Errorf("device %d token is stored in clear", d.ID)
		}
	}
}

// A clerk calls a chosen ticket out of order: the call's event says why to
// staff, not to the public; a second counter cannot call it too.
func TestCallTicketOutOfOrder(t *testing.T) {
	e := newEnv(t)
	first := e.issue("general", "")
	chosen := e.issue("general", "")
	e.take()
	got, err := e.eng.CallTicket(e.ctx, "demo", "1", chosen.ID, " 孕妇 ", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != chosen.ID || got.Status != civiq.StatusCalled || got.CounterID != "1" {
		t.Fatalf("called %+v", got)
	}
	evs := e.expect(civiq.EventCalled)
	if evs[0].Reason != "孕妇" || strings.Contains(string(evs[0].JSON(false)), "孕妇") || !strings.Contains(string(evs[0].JSON(true)), `"reason":"孕妇"`) {
		t.Errorf("the call's event: reason %q, public %s, staff %s", evs[0].Reason, evs[0].JSON(false), evs[0].JSON(true))
	}
	if _, err := e.eng.CallTicket(e.ctx, "demo", "2", chosen.ID, "urgent", nil); civiq.ErrorCode(err) != civiq.EConflict {
		t.Fatalf("a second counter called the ticket: %v", err)
	}
	e.expect()
	// The next call goes on by the policy: the first ticket.
	if next := e.call("2"); next == nil || next.ID != first.ID {
		t.Fatalf("call-next after: %+v", next)
	}
	e.checkPublishedMatchesStore()
}

// TestSaveCounterKeepsWhoOpenedIt: "open" means a clerk opened the counter.
// A new counter starts closed (the screens say 未开放, not 空闲, and nobody
// is called there); saving an existing one keeps its status and reason,
// whatever the caller sends.
func TestSaveCounterKeepsWhoOpenedIt(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		before string // the status set before the save; "" for a new counter
		reason string
		send   string // the status the caller puts in the counter
		want   string
	}{
		{"new counter", "7", "", "", "", civiq.CounterClosed},
		{"new counter sent as open", "8", "", "", civiq.CounterOpen, civiq.CounterClosed},
		{"open counter renamed", "1", civiq.CounterOpen, "", "", civiq.CounterOpen},
		{"paused counter renamed", "2", civiq.CounterPaused, "暂离", civiq.CounterOpen, civiq.CounterPaused},
		{"closed counter sent as open", "3", civiq.CounterClosed, "", civiq.CounterOpen, civiq.CounterClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.before != "" {
				if _, err := e.eng.SetCounterStatus(e.ctx, "demo", tt.id, tt.before, tt.reason, nil); err != nil {
					t.Fatal(err)
				}
				e.take()
			}
			if err := e.eng.SaveCounter(e.ctx, &civiq.Counter{HallID: "demo", ID: tt.id, Name: "新窗口", ServiceIDs: []string{"general"}, Status: tt.send}); err != nil {
				t.Fatal(err)
			}
			evs := e.expect(civiq.EventCounter)
			if len(evs) != 1 || evs[0].Counter == nil || evs[0].Counter.Status != tt.want || evs[0].Counter.PauseReason != tt.reason {
				t.Fatalf("counter event = %+v, want status %s", evs, tt.want)
			}
			if tt.before == "" {
				e.issue("general", "")
				e.take()
				_, err := e.eng.CallNext(e.ctx, "demo", tt.id, nil)
				wantErr(t, err, civiq.EConflict, "")
			}
		})
	}
}

// readsFail is a store whose reads fail while fail is set; its writes
// still commit.
type readsFail struct {
	civiq.Store
	fail *atomic.Bool
}

func (s readsFail) View(ctx context.Context, fn func(civiq.Tx) error) error {
	if s.fail.Load() {
		return civiq.Errorf(civiq.EUnavailable, "storage is not available")
	}
	return s.Store.View(ctx, fn)
}

// A ticket whose estimate cannot be read after its write is still given,
// and the warning logged names it by its hall and number, never by its
// id: the id is its holder's key, in no log.
func TestEstimateWarningHoldsNoTicketID(t *testing.T) {
	e := newEnv(t)
	var fail atomic.Bool
	eng := civiq.NewEngine(readsFail{e.store, &fail})
	eng.Now = e.clock
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	fail.Store(true)
	tk, err := eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk}, nil)
	fail.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	log := logs.String()
	if !strings.Contains(log, "estimate after write") || !strings.Contains(log, "hall=demo") || !strings.Contains(log, "ticket="+tk.Number) {
		t.Errorf("the warning does not name the ticket by hall and number: %q", log)
	}
	if strings.Contains(log, tk.ID) {
		t.Errorf("the log holds the ticket's id %s: %q", tk.ID, log)
	}
}
