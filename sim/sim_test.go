package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sqlstore"
)

// oneService is the M/M/c config of the oracle: Poisson arrivals at load
// rho on c counters, exponential handling of 300 s.
func oneService(c int, rho float64, customers int, seed uint64) (Config, Queue) {
	const h = 300.0
	rate := rho * float64(c) / h * 3600
	cfg := Config{Services: []Service{{ID: "s", Handling: Exponential(h), Arrivals: []Slot{{From: 0, To: math.Inf(1), PerHour: rate}}}},
		Customers: customers, Warmup: customers / 20, Seed: seed}
	for i := range c {
		cfg.Counters = append(cfg.Counters, Counter{ID: fmt.Sprint(i + 1), Services: []string{"s"}})
	}
	return cfg, Queue{ArrivalsPerHour: rate, HandlingSeconds: h, Counters: c}
}

// TestOracleErlangC: one service, Poisson arrivals, exponential handling,
// c counters: the simulated mean wait is within 3% of Erlang C, for six
// cases with utilisation from 0.5 to 0.95.
//
// Near saturation the mean wait of a finite run swings by several percent
// (at utilisation 0.95, about 5% for a million citizens), so the estimate
// uses a control variate, the textbook variance reduction: the same
// arrivals and handling times are fed to one counter c times as fast
// (Lindley's recursion, a few lines here, independent of the simulator),
// whose mean wait is known exactly (M/M/1: rho / (c mu (1 - rho))). Its
// error on this sample is subtracted from the simulator's. For c = 1 the
// two are the same queue, so the simulator must match Lindley's recursion
// wait for wait; the raw means are checked too, more loosely.
func TestOracleErlangC(t *testing.T) {
	customers, tol, rawTol := 250_000, 0.03, 0.15
	if testing.Short() {
		customers, tol, rawTol = 50_000, 0.06, 0.35
	}
	cases := []struct {
		c   int
		rho float64
	}{{1, 0.5}, {2, 0.6}, {3, 0.7}, {5, 0.8}, {8, 0.9}, {4, 0.95}}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("c=%d,rho=%.2f", tc.c, tc.rho), func(t *testing.T) {
			t.Parallel()
			cfg, q := oneService(tc.c, tc.rho, customers, 7)
			r, err := Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := q.MeanWait()
			// The control: one counter c times as fast, the same draws.
			cust := cfg.customers(0)
			w, sum := 0.0, 0.0
			for i := range cust {
				if i > 0 {
					w = max(0, w+cust[i-1].Handling/float64(tc.c)-(cust[i].Arrival-cust[i-1].Arrival))
				}
				if i >= cfg.Warmup {
					sum += w
				}
			}
			control := sum / float64(customers-cfg.Warmup)
			mu := float64(tc.c) / q.HandlingSeconds
			controlExact := tc.rho / (mu * (1 - tc.rho))
			est := r.MeanWait - (control - controlExact)
			t.Logf("Erlang C %.1f s; simulated %.1f s raw (%+.2f%%), %.1f s with the control (%+.2f%%); utilisation %.3f",
				want, r.MeanWait, 100*(r.MeanWait/want-1), est, 100*(est/want-1), r.Utilisation)
			if math.Abs(est/want-1) > tol {
				t.Errorf("mean wait %.1f s, Erlang C %.1f s: off by more than %.0f%%", est, want, tol*100)
			}
			if tc.c == 1 && math.Abs(r.MeanWait-control) > 1e-6*want {
				t.Errorf("one counter: mean wait %.6f s, Lindley %.6f s", r.MeanWait, control)
			}
			if math.Abs(r.MeanWait/want-1) > rawTol {
				t.Errorf("raw mean wait %.1f s, Erlang C %.1f s", r.MeanWait, want)
			}
			if math.Abs(r.Utilisation-tc.rho) > 0.02 {
				t.Errorf("utilisation %.3f, want %.2f", r.Utilisation, tc.rho)
			}
			if r.Customers != customers-cfg.Warmup || r.Called != r.Customers {
				t.Errorf("customers %d, called %d", r.Customers, r.Called)
			}
		})
	}
}

// The share called within a target and the share that waits at all follow
// Erlang C too (a lighter check, without the control).
func TestServiceLevelMatchesErlangC(t *testing.T) {
	cfg, q := oneService(4, 0.8, 100_000, 3)
	cfg.Target = 600
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := q.ServiceLevel(600); math.Abs(r.WithinTarget-want) > 0.02 {
		t.Errorf("within 10 min: %.3f, Erlang C %.3f", r.WithinTarget, want)
	}
	if want := q.WaitQuantile(0.9); math.Abs(r.P90Wait/want-1) > 0.1 {
		t.Errorf("p90 %.0f s, Erlang C %.0f s", r.P90Wait, want)
	}
}

func TestDeterminism(t *testing.T) {
	p := DemoProfile()
	cfg, err := p.Config(42, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different results:\n%+v\n%+v", a, b)
	}
	cfg.Seed = 43
	c, _ := Run(cfg)
	if reflect.DeepEqual(a, c) {
		t.Error("another seed gave the very same result")
	}
	one, _ := oneService(3, 0.9, 20000, 5)
	x, _ := Run(one)
	y, _ := Run(one)
	if !reflect.DeepEqual(x, y) {
		t.Error("one service: same seed, different results")
	}
	// A policy comparison sees the same citizens: only the calls differ.
	cfg.Seed = 42
	cfg.Policy = civiq.PolicyServiceOrder
	d, _ := Run(cfg)
	if d.Customers != a.Customers || d.NoShows != a.NoShows {
		t.Errorf("service-order saw other citizens: %d/%d vs %d/%d", d.Customers, d.NoShows, a.Customers, a.NoShows)
	}
}

// Changing one share leaves the other draws of every citizen alone.
func TestCommonRandomNumbers(t *testing.T) {
	cfg, _ := DemoProfile().Config(9, 1)
	a := cfg.customers(0)
	cfg.NoShow = 0
	b := cfg.customers(0)
	if len(a) != len(b) {
		t.Fatalf("%d vs %d citizens", len(a), len(b))
	}
	for i := range a {
		if a[i].Arrival != b[i].Arrival || a[i].Handling != b[i].Handling || a[i].Priority != b[i].Priority {
			t.Fatalf("citizen %d changed: %+v vs %+v", i, a[i], b[i])
		}
	}
}

// The simulator calls as civiq.PickNext does, for both policies, with
// green-channel citizens and places moved by late returns.
func TestPickMatchesEngine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	services := []string{"a", "b", "c"}
	base := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	for trial := range 2000 {
		policy := civiq.PolicyFIFO
		if trial%2 == 1 {
			policy = civiq.PolicyServiceOrder
		}
		order := slices.Clone(services)
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		order = order[:1+r.IntN(3)]
		cfg := &Config{Policy: policy, Counters: []Counter{{ID: "1", Services: order}}}
		for _, s := range services {
			cfg.Services = append(cfg.Services, Service{ID: s, Handling: Exponential(60), Arrivals: []Slot{{0, 1, 1}}})
		}
		n := 1 + r.IntN(8)
		var cust []Customer
		for range n {
			cust = append(cust, Customer{Service: r.IntN(3), Arrival: float64(r.IntN(5)), Priority: r.IntN(4) == 0, Handling: 1})
		}
		d := newDay(cfg, cust)
		var tickets []civiq.Ticket
		for i := range cust {
			d.state[i].place = cust[i].Arrival - float64(r.IntN(3)) // some moved
			q := &d.normal[cust[i].Service]
			if cust[i].Priority {
				q = &d.prio[cust[i].Service]
			}
			q.ids = append(q.ids, int32(i))
			prio := civiq.PriorityNormal
			if cust[i].Priority {
				prio = civiq.PriorityPriority
			}
			tickets = append(tickets, civiq.Ticket{ID: fmt.Sprintf("%03d", i), ServiceID: services[cust[i].Service], Status: civiq.StatusWaiting,
				Priority: prio, QueuedAt: base.Add(time.Duration(d.state[i].place) * time.Second), IssuedAt: base.Add(time.Duration(cust[i].Arrival) * time.Second)})
		}
		for s := range services {
			for _, q := range []*queue{&d.prio[s], &d.normal[s]} {
				slices.SortFunc(q.ids, func(x, y int32) int {
					if d.lessID(int(x), int(y)) {
						return -1
					}
					return 1
				})
			}
		}
		c := civiq.Counter{ServiceIDs: order}
		want := civiq.PickNext(policy, &c, tickets)
		got := -1
		if q := d.pick(0); q != nil {
			got = int(q.front())
		}
		if got != want {
			t.Fatalf("trial %d (%s, counter %v): simulator picks %d, engine %d\n%+v", trial, policy, order, got, want, tickets)
		}
	}
}

// A late return goes where civiq.ReturnPlace puts it.
func TestReturnPlaceMatchesEngine(t *testing.T) {
	base := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	for _, places := range [][]float64{{}, {10}, {10, 20}, {10, 20, 30}, {10, 20, 30, 40, 50}, {10, 10, 10, 10}} {
		for behind := 0; behind <= 4; behind++ {
			cfg := &Config{LateReturnBehind: behind, Services: []Service{{ID: "s", Handling: Exponential(1), Arrivals: []Slot{{0, 1, 1}}}},
				Counters: []Counter{{ID: "1", Services: []string{"s"}}}}
			cust := make([]Customer, len(places))
			d := newDay(cfg, cust)
			d.now = 100
			var times []time.Time
			for i, p := range places {
				d.state[i].place = p
				d.normal[0].ids = append(d.normal[0].ids, int32(i))
				times = append(times, base.Add(time.Duration(p*float64(time.Second))))
			}
			got := d.returnPlace(0)
			want := civiq.ReturnPlace(times, behind, base.Add(100*time.Second)).Sub(base).Seconds()
			if math.Abs(got-want) > 1e-6 {
				t.Errorf("places %v behind %d: %v, engine %v", places, behind, got, want)
			}
		}
	}
}

// Hours: a counter calls only when staffed, finishes the citizen it has at
// the end of a span, and after its last span serves whoever still waits.
func TestCounterHours(t *testing.T) {
	cfg := &Config{Services: []Service{{ID: "s", Handling: Exponential(600), Arrivals: []Slot{{0, 1, 1}}}},
		Counters: []Counter{{ID: "1", Services: []string{"s"}, Hours: []Interval{{9 * 3600, 10 * 3600}, {11 * 3600, 12 * 3600}}}}}
	at := func(h, m float64) float64 { return h*3600 + m*60 }
	cust := []Customer{
		{Arrival: at(8, 50), Handling: 600},                                   // waits for the opening: 10 min
		{Arrival: at(9, 5), Handling: 600},                                    // called at 9:10
		{Arrival: at(9, 55), Handling: 600},                                   // called at 9:55, done 10:05
		{Arrival: at(10, 30), Handling: 600, NoShow: true, ReturnAfter: 1800}, // called 11:00, no-show till 11:01, back 11:31
		{Arrival: at(11, 50), Handling: 1800},                                 // called 11:50, done 12:20
		{Arrival: at(11, 55), Handling: 600},                                  // after the last span: called 12:20
	}
	d := newDay(cfg, cust)
	d.run()
	wantWait := []float64{600, 300, 0, 1800, 0, 1500}
	for i, w := range wantWait {
		if !d.state[i].called || math.Abs(d.state[i].wait-w) > 1e-9 {
			t.Errorf("citizen %d: called %v wait %v, want %v", i, d.state[i].called, d.state[i].wait, w)
		}
	}
	if !d.state[3].noShow || !d.state[3].returned {
		t.Errorf("citizen 3: no-show %v returned %v", d.state[3].noShow, d.state[3].returned)
	}
	// Staffed 9:00-10:05 (finishing citizen 2) and 11:00-12:30 (going on
	// past 12:00 for citizens 4 and 5).
	c := d.counters[0]
	if want := 65*60.0 + 90*60; math.Abs(c.open-want) > 1e-6 {
		t.Errorf("staffed %v s, want %v", c.open, want)
	}
	if want := 600*5 + 60 + 1800.0; math.Abs(c.busy-want) > 1e-6 {
		t.Errorf("busy %v s, want %v", c.busy, want)
	}
}

func TestErlangKnownValues(t *testing.T) {
	near := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.6f, want %.6f", name, got, want)
		}
	}
	// One counter: the probability of waiting is the utilisation.
	near("ErlangC(1, 0.7)", ErlangC(1, 0.7), 0.7, 1e-12)
	// Two counters, one erlang: 2 rho^2 / (1 + rho) = 1/3.
	near("ErlangC(2, 1)", ErlangC(2, 1), 1.0/3, 1e-12)
	near("ErlangC(3, 2)", ErlangC(3, 2), 4.0/9, 1e-12)
	near("ErlangB(2, 1)", ErlangB(2, 1), 0.2, 1e-12)
	// The classic call-centre example: 200 calls an hour, 180 s each (10
	// erlangs), 80% answered within 20 s.
	for _, c := range []struct {
		n       int
		pw, sl  float64
		meanSec float64
	}{{11, 0.6821, 0.3896, 122.78}, {12, 0.4494, 0.6402, 40.44}, {13, 0.2853, 0.7956, 17.12}, {14, 0.1741, 0.8884, 7.84}} {
		q := Queue{ArrivalsPerHour: 200, HandlingSeconds: 180, Counters: c.n}
		near(fmt.Sprintf("P(wait) with %d", c.n), q.ProbWait(), c.pw, 5e-5)
		near(fmt.Sprintf("within 20 s with %d", c.n), q.ServiceLevel(20), c.sl, 5e-5)
		near(fmt.Sprintf("mean wait with %d", c.n), q.MeanWait(), c.meanSec, 5e-3)
	}
	if n := CountersFor(200, 180, 20, 0.8); n != 14 {
		t.Errorf("counters for 80%% within 20 s: %d, want 14", n)
	}
	// M/M/1: mean wait rho/(mu - lambda); 90% quantile ln(rho/0.1)/(mu-lambda).
	q := Queue{ArrivalsPerHour: 9, HandlingSeconds: 360, Counters: 1}
	near("M/M/1 mean wait", q.MeanWait(), 0.9/(1.0/360-9.0/3600), 1e-9)
	near("M/M/1 p90", q.WaitQuantile(0.9), math.Log(9)/(1.0/360-9.0/3600), 1e-9)
	near("M/M/1 p50 with few waiting", Queue{ArrivalsPerHour: 1, HandlingSeconds: 360, Counters: 1}.WaitQuantile(0.5), 0, 0)
	if !math.IsInf(Queue{ArrivalsPerHour: 10, HandlingSeconds: 360, Counters: 1}.MeanWait(), 1) {
		t.Error("an overloaded counter has a finite mean wait")
	}
	if CountersFor(0, 300, 900, 0.8) != 0 {
		t.Error("no arrivals need counters")
	}
}

func TestProfile(t *testing.T) {
	p := DemoProfile()
	cfg, err := p.Config(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Services) != 4 || len(cfg.Counters) != 6 || cfg.LateReturnBehind != 3 {
		t.Errorf("demo config: %d services, %d counters, behind %d", len(cfg.Services), len(cfg.Counters), cfg.LateReturnBehind)
	}
	sp := ServiceProfile{ID: "x", ArrivalsPerHour: map[string]float64{"08:30": 10, "09:00": 20, "11:00": 5}}
	sl, err := sp.Slots()
	if err != nil {
		t.Fatal(err)
	}
	want := []Slot{{8.5 * 3600, 9 * 3600, 10}, {9 * 3600, 10 * 3600, 20}, {11 * 3600, 12 * 3600, 5}}
	if !reflect.DeepEqual(sl, want) {
		t.Errorf("slots %v, want %v", sl, want)
	}
	for _, bad := range []string{
		`{"services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"9:00":1}}],"counters":[{"id":"1","services":["b"]}]}`,
		`{"services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"25:00":1}}],"counters":[{"id":"1","services":["a"]}]}`,
		`{"services":[{"id":"a","handling_minutes":0,"arrivals_per_hour":{"09:00":1}}],"counters":[{"id":"1","services":["a"]}]}`,
		`{"services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"09:00":-1}}],"counters":[{"id":"1","services":["a"]}]}`,
		`{"services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"09:00":1}}],"counters":[{"id":"1","services":["a"],"hours":["10:00-09:00"]}]}`,
		`{"services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"09:00":1}}],"counters":[{"id":"1","services":["a"],"hours":["09:00-11:00","10:00-12:00"]}]}`,
		`{"services":[{"id":"a","handling_minutes":5,"handling_dist":"weibull","arrivals_per_hour":{"09:00":1}}],"counters":[{"id":"1","services":["a"]}]}`,
		`{"policy":"random","services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"09:00":1}}],"counters":[{"id":"1","services":["a"]}]}`,
		`{"no_show":2,"services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"09:00":1}}],"counters":[{"id":"1","services":["a"]}]}`,
		`{"services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"09:00":1}}],"counters":[]}`,
		`{"sevices":[]}`,
	} {
		if _, err := ReadProfile(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if _, err := ReadProfile(strings.NewReader(`{"services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"9:00":1}}],"counters":[{"id":"1","services":["a"]}]}`)); err != nil {
		t.Errorf("a minimal profile: %v", err)
	}
	for _, d := range []struct {
		kind string
		cv   float64
	}{{DistExponential, 1}, {DistLognormal, 0.5}, {DistGamma, 0.5}, {DistGamma, 2}, {DistDeterministic, 0}} {
		dist, err := NewDist(d.kind, 100, d.cv)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 1))
		var s, s2 float64
		const n = 200000
		for range n {
			x := dist.Sample(r)
			s += x
			s2 += x * x
		}
		mean := s / n
		cv := math.Sqrt(s2/n-mean*mean) / mean
		if math.Abs(mean-100) > 1.5 || math.Abs(cv-d.cv) > 0.05*max(d.cv, 0.2) {
			t.Errorf("%s cv %v: mean %.2f cv %.3f", d.kind, d.cv, mean, cv)
		}
	}
}

func TestProfileFromHistory(t *testing.T) {
	h, svcs, counters := civiq.DemoHall()
	loc := h.Location()
	var tickets []civiq.Ticket
	for day := range 2 {
		for i := range 10 {
			issued := time.Date(2025, 3, 3+day, 9, 3*i, 0, 0, loc)
			called := issued.Add(time.Minute)
			done := called.Add(time.Duration(4+i%3) * time.Minute)
			tk := civiq.Ticket{ServiceID: "general", Priority: civiq.PriorityNormal, Status: civiq.StatusDone, IssuedAt: issued, CalledAt: &called, DoneAt: &done}
			if i == 9 {
				tk.Status, tk.DoneAt = civiq.StatusNoShow, nil
				tk.NoShowAt = &called
			}
			tickets = append(tickets, tk)
		}
		issued := time.Date(2025, 3, 3+day, 14, 10, 0, 0, loc)
		tickets = append(tickets, civiq.Ticket{ServiceID: "tax", Priority: civiq.PriorityPriority, Status: civiq.StatusCancelled, IssuedAt: issued})
	}
	p, err := ProfileFromHistory(&h, svcs, counters, tickets, HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Services) != 4 || len(p.Counters) != 6 || p.Policy != civiq.PolicyFIFO {
		t.Fatalf("profile: %+v", p)
	}
	g := p.Services[0]
	if g.ArrivalsPerHour["09:00"] != 10 || len(g.ArrivalsPerHour) != 1 {
		t.Errorf("general arrivals %v, want 10 an hour at 09:00", g.ArrivalsPerHour)
	}
	// Done in 4, 5, 6, 4, 5, 6, 4, 5, 6 minutes (plus the walk-up minute
	// is not counted: handling runs from the call).
	if math.Abs(g.HandlingMinutes-5) > 0.01 {
		t.Errorf("general handling %v min, want 5", g.HandlingMinutes)
	}
	if p.Services[2].ArrivalsPerHour["14:00"] != 1 {
		t.Errorf("tax arrivals %v", p.Services[2].ArrivalsPerHour)
	}
	if math.Abs(p.NoShow-0.1) > 1e-9 || math.Abs(p.PriorityShare-round2(2.0/22)) > 1e-9 {
		t.Errorf("no-show %v, priority %v", p.NoShow, p.PriorityShare)
	}
	if _, err := ProfileFromHistory(&h, svcs, counters, nil, HistoryOptions{}); err == nil {
		t.Error("a profile from no history")
	}
}

// replayStore is an empty SQLite store for EvaluateETA, closed at the
// test's end.
func replayStore(t *testing.T) civiq.Store {
	store, err := sqlstore.Open(filepath.Join(t.TempDir(), "replay.db"), sqlstore.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// The replay through the real engine, on a short quiet day: every ticket
// is measured, and the prediction beats the naive estimate.
func TestEvaluateETA(t *testing.T) {
	p := &Profile{Policy: civiq.PolicyFIFO, NoShow: 0.05, LateReturn: 0.5, PriorityShare: 0.05, Services: []ServiceProfile{
		{ID: "a", HandlingMinutes: 5, HandlingCV: 0.6, ArrivalsPerHour: map[string]float64{"09:00": 40, "10:00": 0}},
		{ID: "b", HandlingMinutes: 10, HandlingCV: 0.6, ArrivalsPerHour: map[string]float64{"09:00": 8, "10:00": 0}},
	}, Counters: []CounterProfile{
		{ID: "1", Services: []string{"a"}, Hours: []string{"09:00-09:30", "09:40-10:30"}},
		{ID: "2", Services: []string{"a", "b"}},
		{ID: "3", Services: []string{"b", "a"}},
	}}
	rep, err := EvaluateETA(t.Context(), ETAOptions{Profile: p, Seed: 3, Days: 1, Store: replayStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := p.Config(3, 2)
	if want := len(cfg.customers(1)); rep.Tickets != want || len(rep.Samples) != want {
		t.Errorf("measured %d tickets, the day had %d", rep.Tickets, want)
	}
	t.Logf("mean wait %.0f s, MAE %.0f s (%.1f%%), naive %.0f s, previous %.0f s", rep.MeanWait, rep.MAE, 100*rep.MAERatio, rep.NaiveMAE, rep.PreviousMAE)
	if !(rep.MeanWait > 0) || !(rep.MAE < rep.NaiveMAE) {
		t.Errorf("MAE %.0f s not below the naive %.0f s", rep.MAE, rep.NaiveMAE)
	}
	if len(rep.Services) != 2 {
		t.Errorf("services: %+v", rep.Services)
	}
}

// The example profile of docs/simulate.md is a valid profile.
func TestDocsExampleProfile(t *testing.T) {
	doc, err := os.ReadFile("../docs/simulate.md")
	if err != nil {
		t.Skip("docs/simulate.md not found:", err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no JSON example in docs/simulate.md")
	}
	p, err := ReadProfile(strings.NewReader(example))
	if err != nil {
		t.Fatalf("the example profile: %v", err)
	}
	if _, err := Run(must(p.Config(1, 1))); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
