package sim

import (
	"math"
	"testing"
)

// The simulator and the real engine agree wait for wait: a day replayed
// through civiq.Engine (EvaluateETA) and the same citizens in the
// simulator give each citizen the same wait, with shared counters, hours,
// green channel, no-shows and late returns.
func TestSimulatorMatchesEngine(t *testing.T) {
	p := DemoProfile()
	hours := map[string][]string{"1": {"08:30-11:30", "12:30-17:00"}, "2": {"08:30-12:30", "13:30-17:00"}}
	for i := range p.Counters {
		p.Counters[i].Hours = hours[p.Counters[i].ID]
	}
	for _, policy := range []string{"fifo", "service-order"} {
		p.Policy = policy
		rep, err := EvaluateETA(t.Context(), ETAOptions{Profile: p, Seed: 11, Days: 1, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := p.Config(11, 2)
		d := newDay(&cfg, cfg.customers(1))
		d.run()
		if len(rep.Samples) != len(d.cust) {
			t.Fatalf("%s: %d samples, %d citizens", policy, len(rep.Samples), len(d.cust))
		}
		diff := 0
		for i, s := range rep.Samples {
			if math.Abs(s.Wait-d.state[i].wait) > 1e-6 {
				if diff < 5 {
					t.Logf("%s: citizen %d (%s, arrived %.3f): engine %.6f s, simulator %.6f s", policy, i, s.Service, d.cust[i].Arrival, s.Wait, d.state[i].wait)
				}
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("%s: %d of %d waits differ", policy, diff, len(rep.Samples))
		}
	}
}
