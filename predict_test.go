package civiq_test

// Tests of the expected wait (predict.go): scripted scenarios on the real
// engine and SQLite store, with a clock the test sets, where the right
// answer can be worked out by hand; and the pieces of the prediction.

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sqlstore"
)

// predictHall is a hall on a real store with a clock the test sets.
type predictHall struct {
	t   *testing.T
	ctx context.Context
	eng *civiq.Engine
	now time.Time
}

// newPredictHall creates hall "p" (fifo unless policy says otherwise) with
// the services and counters given, counters as id -> services.
func newPredictHall(t *testing.T, policy string, services []string, counters [][2]any) *predictHall {
	t.Helper()
	store, err := sqlstore.Open(filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &predictHall{t: t, ctx: context.Background(), eng: civiq.NewEngine(store),
		now: time.Date(2025, 3, 3, 9, 0, 0, 0, shanghai)}
	h.eng.Now = func() time.Time { return h.now }
	if err := h.eng.SaveHall(h.ctx, &civiq.Hall{ID: "p", Name: "P", Timezone: "Asia/Shanghai", Policy: policy}); err != nil {
		t.Fatal(err)
	}
	for i, s := range services {
		if err := h.eng.SaveService(h.ctx, &civiq.Service{HallID: "p", ID: s, Prefix: string(rune('A' + i)), Name: s}, civiq.KeepQuotas{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range counters {
		if err := h.eng.SaveCounter(h.ctx, &civiq.Counter{HallID: "p", ID: c[0].(string), ServiceIDs: c[1].([]string)}); err != nil {
			t.Fatal(err)
		}
		// Opened by its clerk, signed in there: it calls (Counter.Calls).
		clerk := civiq.WithActor(h.ctx, civiq.Principal{User: &civiq.User{ID: int64(i + 1), Username: "clerk" + c[0].(string)}})
		if _, err := h.eng.SetCounterStatus(clerk, "p", c[0].(string), civiq.CounterOpen, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *predictHall) advance(d time.Duration) { h.now = h.now.Add(d) }

func (h *predictHall) issue(service string) *civiq.Ticket {
	h.t.Helper()
	tk, err := h.eng.IssueTicket(h.ctx, civiq.IssueRequest{HallID: "p", ServiceID: service, Channel: civiq.ChannelKiosk}, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return tk
}

func (h *predictHall) call(counter string) *civiq.Ticket {
	h.t.Helper()
	tk, err := h.eng.CallNext(h.ctx, "p", counter, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return tk
}

func (h *predictHall) act(id, action string) {
	h.t.Helper()
	if _, err := h.eng.Act(h.ctx, civiq.ActRequest{TicketID: id, Action: action}, nil); err != nil {
		h.t.Fatal(err)
	}
}

// history serves n tickets of a service at a counter, each taking d from
// call to done, so that the prediction has recent handling times.
func (h *predictHall) history(service, counter string, n int, d time.Duration) {
	h.t.Helper()
	for range n {
		h.issue(service)
		tk := h.call(counter)
		h.act(tk.ID, civiq.ActStart)
		h.advance(d)
		h.act(tk.ID, civiq.ActFinish)
	}
	h.advance(time.Minute)
}

func eta(t *civiq.Ticket) int {
	if t.ETASeconds == nil {
		return -1
	}
	return *t.ETASeconds
}

// Two counters of one service, both busy: the tickets are called as the
// counters come free, one after the other, every handling time per counter.
func TestPredictTwoBusyCounters(t *testing.T) {
	h := newPredictHall(t, civiq.PolicyFIFO, []string{"s"}, [][2]any{{"1", []string{"s"}}, {"2", []string{"s"}}})
	h.history("s", "1", 12, 240*time.Second)
	h.issue("s")
	h.issue("s")
	h.call("2")
	h.advance(120 * time.Second)
	h.call("1")
	h.advance(60 * time.Second)
	// Counter 2 called 180 s ago (60 s left), counter 1 60 s ago (180 s).
	want := []int{60, 180, 300, 420, 540}
	for pos, w := range want {
		h.advance(time.Millisecond) // tickets issued at one instant are ordered by id
		tk := h.issue("s")
		if *tk.Position != pos {
			t.Fatalf("ticket %d: position %d", pos, *tk.Position)
		}
		if got := eta(tk); got != w {
			t.Errorf("position %d: eta %d s, want %d (naive would say %d)", pos, got, w, civiq.EstimateWait(pos, 240, 2))
		}
	}
	// Reading the ticket later gives the remaining wait.
	h.advance(30 * time.Second)
	// Counter 2 is free in 30 s, counter 1 in 150 s, and so on: position 5
	// is the sixth call, at 630 s.
	tk := h.issue("s")
	if got := eta(tk); got != 630 {
		t.Errorf("position 5 after 30 s: eta %d, want 630", got)
	}
}

// A counter that also serves an older queue of another service spends its
// time there first (fifo): the naive estimate, which sees one counter and
// two tickets ahead, is far too short.
func TestPredictSharedCounter(t *testing.T) {
	h := newPredictHall(t, civiq.PolicyFIFO, []string{"a", "b"}, [][2]any{{"x", []string{"a", "b"}}, {"y", []string{"b"}}})
	h.history("a", "x", 12, 120*time.Second)
	h.history("b", "y", 12, 300*time.Second)
	for range 4 {
		h.issue("b") // b1..b4
		h.advance(time.Second)
	}
	h.issue("a") // a1
	h.advance(time.Second)
	h.issue("a") // a2
	h.advance(5 * time.Second)
	if tk := h.call("x"); tk.ServiceID != "b" {
		t.Fatalf("x called %s, want the oldest ticket, of b", tk.Number)
	}
	h.advance(10 * time.Second)
	h.call("y")
	h.advance(60 * time.Second)
	// x is free in 230 s and takes b3 (300 s), y in 240 s and takes b4;
	// then x takes a1 and a2 (120 s each): a3 is called at
	// 230+300+120+120 = 770 s.
	a3 := h.issue("a")
	if *a3.Position != 2 {
		t.Fatalf("a3 position %d, want 2", *a3.Position)
	}
	if got := eta(a3); got != 770 {
		t.Errorf("a3: eta %d s, want 770 (naive: %d)", got, 2*120)
	}
	// Once b is empty and x is on a1, the wait is a1's rest and a2.
	h.advance(230 * time.Second)
	if tk := h.call("x"); tk.ServiceID != "b" { // b3
		t.Fatalf("x called %s, want b3", tk.Number)
	}
	h.advance(10 * time.Second)
	h.call("y") // b4
	h.advance(290 * time.Second)
	if tk := h.call("x"); tk.ServiceID != "a" { // a1, b3 done
		t.Fatalf("x called %s, want a1", tk.Number)
	}
	got, err := h.eng.Ticket(h.ctx, a3.ID)
	if err != nil {
		t.Fatal(err)
	}
	if eta(got) != 240 || *got.Position != 1 {
		t.Errorf("a3 later: position %d eta %d, want 1 and 240", *got.Position, eta(got))
	}
}

// Under service-order, a counter whose first service keeps receiving
// tickets calls them before the target's service.
func TestPredictServiceOrderOvertaking(t *testing.T) {
	m := &civiq.WaitModel{Policy: civiq.PolicyServiceOrder, Services: map[string]*civiq.ServiceLoad{
		"a": {Handling: 100},
		"b": {Handling: 100, Rate: 1.0 / 200},
	}, Counters: []civiq.CounterLoad{{ServiceIDs: []string{"b", "a"}, Open: true}}}
	// A b ticket arrives at 100, 300, 500...: the counter is free at 0 and
	// calls the target first, since nothing of b waits yet.
	if w, ok := civiq.PredictWait(m, civiq.WaitTarget{ServiceID: "a"}); !ok || w != 0 {
		t.Errorf("empty hall: %v %v, want 0", w, ok)
	}
	// With one a ticket ahead: a1 at 0-100; b1 (arrived 100) at 100-200;
	// then the target at 200.
	m.Services["a"].Ahead = 1
	if w, _ := civiq.PredictWait(m, civiq.WaitTarget{ServiceID: "a"}); w != 200 {
		t.Errorf("one ahead: %v, want 200", w)
	}
	// Under fifo the b tickets that come later do not overtake.
	m.Policy = civiq.PolicyFIFO
	if w, _ := civiq.PredictWait(m, civiq.WaitTarget{ServiceID: "a"}); w != 100 {
		t.Errorf("fifo: %v, want 100", w)
	}
}

// Green-channel tickets go first at every counter; a green ticket waits
// only behind the green ones.
func TestPredictPriority(t *testing.T) {
	m := &civiq.WaitModel{Services: map[string]*civiq.ServiceLoad{"a": {Handling: 60, Ahead: 1, Behind: 5, OldestAge: 600}},
		Counters: []civiq.CounterLoad{{ServiceIDs: []string{"a"}, Open: true, Remaining: 30}}}
	if w, _ := civiq.PredictWait(m, civiq.WaitTarget{ServiceID: "a", Priority: true, Age: 10}); w != 90 {
		t.Errorf("green ticket with one green ahead: %v, want 90", w)
	}
}

// No counter works for the service: no prediction.
func TestPredictNoCounter(t *testing.T) {
	m := &civiq.WaitModel{Services: map[string]*civiq.ServiceLoad{"a": {Handling: 60}, "b": {Handling: 60}},
		Counters: []civiq.CounterLoad{{ServiceIDs: []string{"b"}, Open: true}, {ServiceIDs: []string{"a"}}}}
	if _, ok := civiq.PredictWait(m, civiq.WaitTarget{ServiceID: "a"}); ok {
		t.Error("a prediction with no open counter for the service")
	}
	// A paused counter is expected back.
	m.Counters[1].Paused = true
	if w, ok := civiq.PredictWait(m, civiq.WaitTarget{ServiceID: "a"}); !ok || w != civiq.PausedReturnSeconds {
		t.Errorf("paused counter: %v %v, want %v", w, ok, civiq.PausedReturnSeconds)
	}
}

// In the engine, a hall with no working counter for the service falls back
// to the naive estimate; closed counters are not counted.
func TestPredictClosedCounters(t *testing.T) {
	h := newPredictHall(t, civiq.PolicyFIFO, []string{"s"}, [][2]any{{"1", []string{"s"}}})
	if _, err := h.eng.SetCounterStatus(h.ctx, "p", "1", civiq.CounterClosed, "", nil); err != nil {
		t.Fatal(err)
	}
	h.issue("s")
	h.advance(time.Second)
	tk := h.issue("s")
	if got, want := eta(tk), civiq.EstimateWait(1, civiq.DefaultHandlingSeconds, 1); got != want {
		t.Errorf("closed hall: position %d eta %d, want the naive %d", *tk.Position, got, want)
	}
}

// A counter open with nobody there (opened by no one, as the demo loads
// its counters; the screens say 未开放) calls no one: an expected wait
// counts it as closed. A ticket called there (a paired counter device at
// work) makes it count, as a clerk signed in there does.
func TestPredictCountsStaffedCounters(t *testing.T) {
	h := newPredictHall(t, civiq.PolicyFIFO, []string{"s"}, [][2]any{{"1", []string{"s"}}, {"2", []string{"s"}}})
	h.history("s", "1", 3, 5*time.Minute)
	for range 6 {
		h.issue("s")
	}
	wait := func() int {
		t.Helper()
		ws, err := h.eng.ServiceWaits(h.ctx, "p")
		if err != nil || len(ws) != 1 {
			t.Fatalf("waits %v, %v", ws, err)
		}
		return ws[0].ETASeconds
	}
	status := func(status string, clerk *civiq.User) {
		t.Helper()
		ctx := h.ctx
		if clerk != nil {
			ctx = civiq.WithActor(ctx, civiq.Principal{User: clerk})
		}
		if _, err := h.eng.SetCounterStatus(ctx, "p", "2", status, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	both := wait()
	status(civiq.CounterClosed, nil)
	one := wait()
	if both >= one {
		t.Fatalf("two clerks: %d s, one: %d s", both, one)
	}
	status(civiq.CounterOpen, nil) // nobody signed in
	if got := wait(); got != one {
		t.Errorf("counter 2 open with nobody there: %d s; want %d s, as closed", got, one)
	}
	h.call("2") // a device calls there
	device := wait()
	status(civiq.CounterOpen, &civiq.User{ID: 9, Username: "clerk9"})
	if got := wait(); got != device || device >= one {
		t.Errorf("counter 2 calling by a device: %d s, with its clerk %d s (one counter %d s)", device, got, one)
	}
}

// A queue of thousands costs no more to predict than a short one: it is
// moved in lumps, and the answer stays close to the fluid one.
func TestPredictLongQueue(t *testing.T) {
	m := &civiq.WaitModel{Services: map[string]*civiq.ServiceLoad{"a": {Handling: 120, Ahead: 5000, OldestAge: 3600}}, Runs: 31}
	for range 10 {
		m.Counters = append(m.Counters, civiq.CounterLoad{ServiceIDs: []string{"a"}, Open: true})
	}
	w, _ := civiq.PredictWait(m, civiq.WaitTarget{ServiceID: "a"})
	if want := 5000 * 120 / 10.0; math.Abs(w-want)/want > 0.02 {
		t.Errorf("5000 ahead at 10 counters: %v, want about %v", w, want)
	}
}

func TestWinsorize(t *testing.T) {
	d := []float64{100, 120, 90, 110, 10000}
	w := civiq.Winsorize(d, civiq.OutlierFactor)
	if w[4] != 6*110 || w[0] != 100 || d[4] != 10000 {
		t.Errorf("Winsorize = %v (input %v)", w, d)
	}
	if len(civiq.Winsorize(nil, 6)) != 0 {
		t.Error("Winsorize(nil) not empty")
	}
}

// TestHandlingFloor: durations under MinHandlingSeconds (a ticket finished
// right after its call) are not learned from; with none left the default
// stands.
func TestHandlingFloor(t *testing.T) {
	base := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		seconds []float64
		mean    float64
		learned int
	}{
		{"none", nil, 300, 0},
		{"all near zero", []float64{0.001, 0.001, 0, 1, 2, 29.9}, 300, 0},
		{"at the floor", []float64{30, 30, 30}, (3*30 + 3*300) / 6.0, 3},
		{"near zero among real ones", []float64{0.001, 240, 0.002, 240, 1}, (2*240 + 3*300) / 5.0, 2},
	}
	for _, tt := range tests {
		var samples []civiq.HandlingSample
		for i, x := range tt.seconds {
			at := base.Add(time.Duration(i) * time.Minute)
			samples = append(samples, civiq.HandlingSample{IssuedAt: at, CalledAt: at, DoneAt: at.Add(time.Duration(x * float64(time.Second)))})
		}
		st := civiq.NewHandlingStats(samples, 0)
		if math.Abs(st.Mean-tt.mean) > 1e-9 || len(st.Sorted) != tt.learned {
			t.Errorf("%s: mean %v from %d; want %v from %d", tt.name, st.Mean, len(st.Sorted), tt.mean, tt.learned)
		}
	}
}

func TestHandlingStats(t *testing.T) {
	base := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	var samples []civiq.HandlingSample
	for i := range 20 {
		d := 200 * time.Second
		if i == 7 {
			d = 5 * time.Hour // a ticket finished hours late
		}
		at := base.Add(time.Duration(i) * time.Minute)
		samples = append(samples, civiq.HandlingSample{IssuedAt: at, CalledAt: at, DoneAt: at.Add(d), Priority: i%10 == 0})
	}
	st := civiq.NewHandlingStats(samples, 0)
	// 19 of 200, one held at 1200, and 3 of the default 300.
	want := (19*200 + 1200 + 3*300) / 23.0
	if math.Abs(st.Mean-want) > 1e-9 {
		t.Errorf("Mean = %v, want %v", st.Mean, want)
	}
	if math.Abs(st.Rate-19.0/(19*60)) > 1e-9 || math.Abs(st.PriorityRate-st.Rate*2/20) > 1e-12 {
		t.Errorf("Rate = %v, PriorityRate = %v", st.Rate, st.PriorityRate)
	}
	if r := st.Remaining(150); math.Abs(r-(19*50+1050)/20.0) > 1e-9 {
		t.Errorf("Remaining(150) = %v", r)
	}
	if r := st.Remaining(5000); r != st.Mean/6 {
		t.Errorf("Remaining past every sample = %v, want %v", r, st.Mean/6)
	}
	empty := civiq.NewHandlingStats(nil, 0)
	if empty.Mean != civiq.DefaultHandlingSeconds {
		t.Errorf("no history: mean %v", empty.Mean)
	}
}

// BenchmarkPredictWait reads a ticket's expected wait in the demo hall with
// a few dozen tickets waiting and a history of handling times.
func BenchmarkPredictWait(b *testing.B) {
	store, err := sqlstore.Open(filepath.Join(b.TempDir(), "p.db"), sqlstore.Options{Synchronous: "OFF"})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2025, 3, 3, 9, 0, 0, 0, shanghai)
	eng := civiq.NewEngine(store)
	eng.Now = func() time.Time { return now }
	ctx := context.Background()
	if _, err := eng.LoadDemo(ctx); err != nil {
		b.Fatal(err)
	}
	services := []string{"general", "property", "tax", "social"}
	counters := []string{"1", "2", "3", "4", "5", "6"}
	var last *civiq.Ticket
	for i := range 200 {
		if last, err = eng.IssueTicket(ctx, civiq.IssueRequest{HallID: "demo", ServiceID: services[i%4], Channel: civiq.ChannelKiosk}, nil); err != nil {
			b.Fatal(err)
		}
		now = now.Add(20 * time.Second)
		if i%2 == 0 {
			if _, err := eng.CallNext(ctx, "demo", counters[i/2%6], nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, c := range counters {
		if _, err := eng.CallNext(ctx, "demo", c, nil); err != nil {
			b.Fatal(err)
		}
	}
	t, _ := eng.Ticket(ctx, last.ID)
	b.Logf("position %d, eta %d s", *t.Position, *t.ETASeconds)
	b.ResetTimer()
	for i := range b.N {
		now = now.Add(time.Duration(i%3) * time.Second)
		if _, err := eng.Ticket(ctx, last.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// burstModel is a wait model whose arrival rate was read from a burst (a
// thousand tickets a second).
func burstModel() *civiq.WaitModel {
	return &civiq.WaitModel{Policy: civiq.PolicyServiceOrder, Services: map[string]*civiq.ServiceLoad{
		"a": {Handling: 100, Ahead: 3},
		"b": {Handling: 100, Rate: 1000, PriorityRate: 1000},
	}, Counters: []civiq.CounterLoad{{ServiceIDs: []string{"b", "a"}, Open: true}}, Runs: 21}
}

// An arrival rate read from a burst does not flood the replay: the wait is
// still predicted. How long that takes is BenchmarkPredictBurstRate's
// figure, never timed here.
func TestPredictBurstRate(t *testing.T) {
	w, ok := civiq.PredictWait(burstModel(), civiq.WaitTarget{ServiceID: "a"})
	if !ok || w <= 0 {
		t.Errorf("PredictWait = %v %v", w, ok)
	}
}

func BenchmarkPredictBurstRate(b *testing.B) {
	m := burstModel()
	for range b.N {
		if _, ok := civiq.PredictWait(m, civiq.WaitTarget{ServiceID: "a"}); !ok {
			b.Fatal("no prediction")
		}
	}
}

// TestDefaultHandlingSeconds: a service's configured handling time (the
// booking settings' handling_seconds) is what a service without history
// is expected to take, weighed against few real durations; durations
// under MinHandlingSeconds are never learned from.
func TestDefaultHandlingSeconds(t *testing.T) {
	at := time.Date(2025, 3, 3, 9, 0, 0, 0, shanghai)
	sample := func(secs int) civiq.HandlingSample {
		return civiq.HandlingSample{IssuedAt: at, CalledAt: at, DoneAt: at.Add(time.Duration(secs) * time.Second)}
	}
	for _, tt := range []struct {
		name    string
		samples []civiq.HandlingSample
		def     float64
		want    float64
	}{
		{"no history, no setting", nil, 0, civiq.DefaultHandlingSeconds},
		{"no history, set", nil, 1200, 1200},
		{"one sample against the setting", []civiq.HandlingSample{sample(600)}, 1200, (600 + 3*1200) / 4.0},
		{"too short to learn from", []civiq.HandlingSample{sample(5), sample(civiq.MinHandlingSeconds - 1)}, 1200, 1200},
	} {
		if got := civiq.NewHandlingStats(tt.samples, tt.def).Mean; math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: mean %v, want %v", tt.name, got, tt.want)
		}
	}

	// The kiosk's expected wait follows the setting while the service has
	// no history: two waiting at one counter, 20 minutes each.
	h := newPredictHall(t, "fifo", []string{"tax"}, [][2]any{{"1", []string{"tax"}}})
	h.issue("tax")
	h.issue("tax")
	eta := func() int {
		ws, err := h.eng.ServiceWaits(h.ctx, "p")
		if err != nil || len(ws) != 1 {
			t.Fatalf("waits: %v %v", ws, err)
		}
		return ws[0].ETASeconds
	}
	before := eta()
	set, err := h.eng.BookingSettings(h.ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	set.Services["tax"] = civiq.ServiceBooking{HandlingSeconds: 1200}
	if err := h.eng.SetBookingSettings(h.ctx, "p", set); err != nil {
		t.Fatal(err)
	}
	h.advance(2 * time.Minute) // past the statistics' minute
	if after := eta(); after < 2*1200*9/10 || after <= before {
		t.Errorf("expected wait with 20-minute services: %d s (before the setting %d s)", after, before)
	}
}

// A ticket sent to a given counter or clerk waits for that counter alone:
// its current citizen, then those sent there before it.
func TestDirectedWait(t *testing.T) {
	for _, tt := range []struct {
		name  string
		c     *civiq.CounterLoad
		ahead []float64
		want  float64
		ok    bool
	}{
		{"no counter takes it", nil, []float64{60}, 0, false},
		{"its counter is closed", &civiq.CounterLoad{}, nil, 0, false},
		{"free, nobody before", &civiq.CounterLoad{Open: true}, nil, 0, true},
		{"busy, nobody before", &civiq.CounterLoad{Open: true, Busy: true, Remaining: 90}, nil, 90, true},
		{"busy, two before", &civiq.CounterLoad{Open: true, Busy: true, Remaining: 90}, []float64{60, 300}, 450, true},
		{"a handling time unknown", &civiq.CounterLoad{Open: true}, []float64{0}, civiq.DefaultHandlingSeconds, true},
		{"paused: back first", &civiq.CounterLoad{Paused: true, Remaining: 30}, []float64{60}, civiq.PausedReturnSeconds + 60, true},
	} {
		w, ok := civiq.DirectedWait(tt.c, tt.ahead)
		if w != tt.want || ok != tt.ok {
			t.Errorf("%s: %v, %v; want %v, %v", tt.name, w, ok, tt.want, tt.ok)
		}
	}
}

// In the engine, a ticket transferred to a counter or a clerk is placed
// among the tickets that counter calls first (those sent to it or to its
// clerk), not behind its service's queue: counter 2 is 60 s into a
// 240-second citizen while five wait in the service.
func TestPredictDirected(t *testing.T) {
	h := newPredictHall(t, civiq.PolicyFIFO, []string{"s"}, [][2]any{{"1", []string{"s"}}, {"2", []string{"s"}}})
	h.history("s", "1", 12, 240*time.Second)
	for range 7 {
		h.advance(time.Millisecond)
		h.issue("s")
	}
	h.call("2")
	h.advance(60 * time.Second)
	move := func(by string, req civiq.ActRequest) *civiq.Ticket {
		t.Helper()
		tk := h.call(by)
		req.TicketID, req.Action = tk.ID, civiq.ActTransfer
		moved, err := h.eng.Act(h.ctx, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		return moved
	}
	check := func(tk *civiq.Ticket, pos, lo, hi int) {
		t.Helper()
		if tk.Position == nil || *tk.Position != pos || eta(tk) < lo || eta(tk) > hi {
			t.Errorf("%s: position %v, eta %d; want %d, %d..%d s", tk.Number, tk.Position, eta(tk), pos, lo, hi)
		}
	}
	a := move("1", civiq.ActRequest{CounterID: "2"})
	check(a, 0, 180, 180) // counter 2's citizen has 180 s left
	b := move("1", civiq.ActRequest{CounterID: "2"})
	check(b, 1, eta(a)+200, eta(a)+300) // then a's handling, about 240 s
	// li signs in at counter 1: a ticket sent to li waits for counter 1,
	// and one sent to counter 1 after it waits for it too. Counter 2 calls
	// a and b first, and sends them there.
	li := &civiq.User{Username: "li", Role: civiq.RoleStaff, HallIDs: []string{"p"}}
	if err := h.eng.CreateUser(h.ctx, li, "password-li"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.SetCounterStatus(civiq.WithActor(h.ctx, civiq.Principal{User: li}), "p", "1", civiq.CounterOpen, "", nil); err != nil {
		t.Fatal(err)
	}
	a = move("2", civiq.ActRequest{Clerk: "li"})
	check(a, 0, civiq.MinWaitSeconds, civiq.MinWaitSeconds) // counter 1 is free
	b = move("2", civiq.ActRequest{CounterID: "1"})
	check(b, 1, 200, 300)
	// Read again, each keeps its place.
	for _, tk := range []*civiq.Ticket{a, b} {
		v, err := h.eng.Ticket(h.ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(v, *tk.Position, eta(tk)-1, eta(tk))
	}
	// li signs out: a waits for li, whom no counter has: the naive
	// estimate, still first of those sent to li.
	if _, err := h.eng.SetCounterStatus(h.ctx, "p", "1", civiq.CounterClosed, "", nil); err != nil {
		t.Fatal(err)
	}
	v, err := h.eng.Ticket(h.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	check(v, 0, 1, math.MaxInt)
}

// deepModel is the demo hall as civiq bench's issue phase leaves it: its
// six counters open, every service thousands deep (the target joins the
// end of general intake, everyone else ahead of it); with history, a
// hundred recent handling times per service, busy counters and a green
// channel's arrivals, as a hall that has been calling has.
func deepModel(history bool) *civiq.WaitModel {
	serve := [][]string{{"general", "social"}, {"general", "social"}, {"property", "general"}, {"property", "general"}, {"tax"}, {"general", "property", "tax", "social"}}
	m := &civiq.WaitModel{Policy: civiq.PolicyFIFO, Services: map[string]*civiq.ServiceLoad{}, Runs: 21}
	for _, s := range []string{"general", "property", "tax", "social"} {
		l := &civiq.ServiceLoad{Handling: civiq.DefaultHandlingSeconds, Ahead: 5000, OldestAge: 60}
		if history {
			for i := range 100 {
				l.Durations = append(l.Durations, float64(120+7*i))
			}
			l.Handling, l.Rate, l.PriorityRate = 470, 0.05, 0.002
		}
		m.Services[s] = l
	}
	for _, s := range serve {
		c := civiq.CounterLoad{ServiceIDs: s, Open: true}
		if history {
			c.Busy, c.Current, c.Elapsed, c.Remaining = true, s[0], 100, 400
		}
		m.Counters = append(m.Counters, c)
	}
	return m
}

// BenchmarkPredictDeep is the replay alone for a ticket joining queues
// thousands deep (civiq bench's issue load), without and with a hall's
// history.
func BenchmarkPredictDeep(b *testing.B) {
	for _, history := range []bool{false, true} {
		name := "no-history"
		if history {
			name = "history"
		}
		b.Run(name, func(b *testing.B) {
			m := deepModel(history)
			b.ReportAllocs()
			for range b.N {
				if _, ok := civiq.PredictWait(m, civiq.WaitTarget{ServiceID: "general"}); !ok {
					b.Fatal("no prediction")
				}
			}
		})
	}
}
