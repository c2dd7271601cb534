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
	p := &Profile{NoShow: 0.15, NoShowMinutes: 1, LateReturn: 0.6, LateReturnMinutes: 10, PriorityShare: 0.1, Services: []ServiceProfile{
		{ID: "a", HandlingMinutes: 4, HandlingCV: 0.6, ArrivalsPerHour: map[string]float64{"09:00": 36, "10:00": 0}},
		{ID: "b", HandlingMinutes: 8, HandlingCV: 0.6, ArrivalsPerHour: map[string]float64{"09:00": 12, "10:00": 0}},
	}, Counters: []CounterProfile{
		{ID: "1", Services: []string{"a"}, Hours: []string{"09:00-09:30", "09:45-11:00"}},
		{ID: "2", Services: []string{"a", "b"}},
		{ID: "3", Services: []string{"b", "a"}},
	}}
	for _, policy := range []string{"fifo", "service-order"} {
		p.Policy = policy
		rep, err := EvaluateETA(t.Context(), ETAOptions{Profile: p, Seed: 11, Days: 1, Store: replayStore(t)})
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := p.Config(11, 2)
		d := newDay(&cfg, cfg.customers(1))
		d.run()
		if len(rep.Samples) != len(d.cust) {
			t.Fatalf("%s: %d samples, %d citizens", policy, len(rep.Samples), len(d.cust))
		}
		returned, green := 0, 0
		for i := range d.cust {
			if d.state[i].returned {
				returned++
			}
			if d.cust[i].Priority {
				green++
			}
		}
		if returned == 0 || green == 0 {
			t.Errorf("%s: the day has %d late returns and %d green tickets; want some of each", policy, returned, green)
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
