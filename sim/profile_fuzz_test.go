package sim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sim"
)

// FuzzPlanProfile reads any body as the planner's POST does and plans it:
// nothing panics, a profile that does not read or passes the limits is an
// invalid error naming a field, and a plan keeps within the limits.
func FuzzPlanProfile(f *testing.F) {
	demo, _ := json.Marshal(sim.DemoProfile())
	f.Add(demo)
	f.Add([]byte(`{"services":[{"id":"s","handling_minutes":10,"arrivals_per_hour":{"08:00":12,"09:00":12}}],"counters":[{"id":"1","services":["s"]}]}`))
	f.Add([]byte(`{"services":[{"id":"s","handling_minutes":1,"arrivals_per_hour":{"08:00":600000}}],"counters":[{"id":"1","services":["s"]}]}`))
	f.Add([]byte(`{"services":[{"id":"s","handling_minutes":600,"arrivals_per_hour":{"08:00":5000}}],"counters":[{"id":"1","services":["s"]}]}`))
	f.Add([]byte(`{"services":[{"id":"s","handling_minutes":1e308,"handling_cv":9,"arrivals_per_hour":{"23:59":1e-300}}],"counters":[{"id":"1","services":["s"],"hours":["00:00-23:59"]}]}`))
	f.Add([]byte(`{"services":[{"id":"s","handling_minutes":5,"arrivals_per_hour":{"24:00":1}}],"counters":[]}`))
	f.Add([]byte(`{"target_minutes":-1,"services":[]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := sim.ReadProfile(bytes.NewReader(data))
		if err != nil {
			return
		}
		pl, err := sim.PlanStaffing(t.Context(), p, sim.StaffingOptions{SimDays: 1})
		if err != nil {
			var e *civiq.Error
			if !errors.As(err, &e) || e.Code != civiq.EInvalid || e.Field == "" {
				t.Fatalf("plan: %v; want an invalid error naming a field", err)
			}
			return
		}
		for _, s := range pl.Slots {
			if s.Counters > sim.MaxPlanCounters+sim.MaxStaffingRounds*len(pl.Services) {
				t.Fatalf("slot %s: %d counters", s.From, s.Counters)
			}
		}
		if len(pl.Slots)*len(pl.Services) > sim.MaxPlanCells {
			t.Fatalf("%d slots × %d services", len(pl.Slots), len(pl.Services))
		}
	})
}
