package civiq_test

// The replay's answers pinned: PredictWait on a fixed set of seeded
// random halls gives the same waits bit for bit whatever order it is
// asked in and from however many goroutines (its arrays are pooled), and
// the same as the replay before it was made lazy (predictGolden, computed
// at 0951293's predict.go with this file's models).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/civiq/civiq"
)

// replayCase is one prediction: a hall and the ticket asked about.
type replayCase struct {
	m      *civiq.WaitModel
	target civiq.WaitTarget
}

// replayCases are halls of one to five services with queues from empty
// to thousands deep (lumps), with and without recent handling times
// (drawn runs), counters busy, free, paused or closed, both policies.
func replayCases() []replayCase {
	rng := rand.New(rand.NewPCG(19, 8))
	ids := []string{"a", "b", "c", "d", "e"}
	var cases []replayCase
	for h := 0; h < 48; h++ {
		m := &civiq.WaitModel{Policy: civiq.PolicyFIFO, Services: map[string]*civiq.ServiceLoad{}}
		if h%3 == 1 {
			m.Policy = civiq.PolicyServiceOrder
		}
		if h%2 == 0 {
			m.Runs = 40
		}
		if h%4 == 3 {
			m.NoShowShare, m.NoShowSeconds = 0.1, 30
		}
		n := 1 + rng.IntN(len(ids))
		deep := []int{0, 3, 40, 400, 2000}[h%5]
		for _, id := range ids[:n] {
			l := &civiq.ServiceLoad{
				Handling:  60 + 600*rng.Float64(),
				Ahead:     rng.IntN(deep + 1),
				Behind:    rng.IntN(deep + 1),
				OldestAge: 3600 * rng.Float64(),
			}
			if rng.IntN(3) > 0 {
				l.Rate = rng.Float64() / 60
			}
			if rng.IntN(3) == 0 {
				l.PriorityRate = rng.Float64() / 600
			}
			if rng.IntN(4) == 0 {
				l.DueAppointments = rng.IntN(5)
			}
			if h%2 == 0 && rng.IntN(4) > 0 { // history to draw from
				for range 3 + rng.IntN(30) {
					l.Durations = append(l.Durations, 30+900*rng.Float64())
				}
				slices.Sort(l.Durations)
			}
			m.Services[id] = l
		}
		for range 2 + rng.IntN(8) {
			c := civiq.CounterLoad{Open: true}
			for _, k := range rng.Perm(n)[:1+rng.IntN(n)] {
				c.ServiceIDs = append(c.ServiceIDs, ids[k])
			}
			switch rng.IntN(5) {
			case 0:
				c.Open, c.Paused = false, true
			case 1:
				c.Open = false // closed
			}
			if rng.IntN(2) == 0 {
				c.Busy, c.Current = true, c.ServiceIDs[0]
				c.Elapsed = 600 * rng.Float64()
				c.Remaining = 300 * rng.Float64()
			}
			m.Counters = append(m.Counters, c)
		}
		for range 3 {
			t := civiq.WaitTarget{ServiceID: ids[rng.IntN(n)], Priority: rng.IntN(6) == 0, Age: 1200 * rng.Float64()}
			cases = append(cases, replayCase{m, t})
		}
	}
	return cases
}

// replayAnswer is a prediction as bits, so that equal means bit for bit.
type replayAnswer struct {
	bits uint64
	ok   bool
}

func predictBits(c replayCase) replayAnswer {
	w, ok := civiq.PredictWait(c.m, c.target)
	return replayAnswer{math.Float64bits(w), ok}
}

func TestPredictWaitSameWhateverOrder(t *testing.T) {
	cases := replayCases()
	want := make([]replayAnswer, len(cases))
	for i, c := range cases {
		want[i] = predictBits(c)
	}
	got := make([]replayAnswer, len(cases))
	for i := len(cases) - 1; i >= 0; i-- {
		got[i] = predictBits(cases[i])
	}
	var wg sync.WaitGroup
	conc := make([]replayAnswer, len(cases))
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(cases); i += 4 {
				conc[i] = predictBits(cases[len(cases)-1-i])
			}
		}()
	}
	wg.Wait()
	lumps, drawn := 0, 0
	for i, c := range cases {
		if got[i] != want[i] {
			t.Errorf("case %d: reversed %v, in order %v", i, got[i], want[i])
		}
		if j := len(cases) - 1 - i; conc[i] != want[j] {
			t.Errorf("case %d: concurrently %v, in order %v", j, conc[i], want[j])
		}
		total := 0
		for _, l := range c.m.Services {
			total += l.Ahead + l.Behind
		}
		if total > 400 {
			lumps++
		}
		if c.m.Runs > 1 {
			drawn++
		}
	}
	if lumps < 10 || drawn < 10 {
		t.Fatalf("the cases lack lumps (%d) or drawn runs (%d)", lumps, drawn)
	}
}

// predictGolden are answers of 0951293's replay (before it was made
// lazy) to some of replayCases, by index: -1 when it found no counter
// (86400 is the replay's bound). That replay gave all of them the same
// answers as this one, bit for bit.
var predictGolden = map[int]float64{
	0:   266.485647253415,
	1:   0,
	5:   609.3937467528389,
	9:   86400,
	14:  2309.665775004275,
	17:  -1,
	18:  194.39687655008046,
	25:  60473.6399394264,
	32:  507.2807304242939,
	41:  55916.69932828672,
	49:  885.510934937733,
	58:  84490.50356794479,
	64:  245.45194500808034,
	79:  428.31179808378204,
	85:  44628.30356070983,
	88:  62109.618274414395,
	95:  279.6906434172962,
	101: 56153.66302523558,
	112: 2559.419933376849,
}

func TestPredictWaitGolden(t *testing.T) {
	cases := replayCases()
	var table string
	for i, c := range cases {
		want, in := predictGolden[i]
		if !in {
			continue
		}
		w, ok := civiq.PredictWait(c.m, c.target)
		if !ok {
			w = -1
		}
		table += fmt.Sprintf("\t%d: %v,\n", i, w)
		if math.Float64bits(want) != math.Float64bits(w) {
			t.Errorf("case %d: %v, want %v", i, w, want)
		}
	}
	if t.Failed() {
		t.Logf("this replay's answers:\n%s", table)
	}
}
