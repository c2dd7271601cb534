// Package sim simulates a service hall and plans its staffing: a
// discrete-event simulation of citizens arriving, waiting and being called
// by counters under the hall's calling policy; the Erlang C formulas of the
// M/M/c queue; and the counters needed per hour and service to call a share
// of citizens within a target time. Everything is deterministic for a seed
// (math/rand/v2 with a PCG source).
package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/civiq/civiq"
)

// Slot is a span of the day, in seconds from midnight, with a steady
// arrival rate.
type Slot struct {
	From, To float64
	PerHour  float64
}

// Interval is a span of the day, in seconds from midnight, when a counter
// is staffed.
type Interval struct{ From, To float64 }

// Service is one service of a simulated hall.
type Service struct {
	ID       string
	Handling Dist
	// Arrivals are the slots of the day with their arrival rates; with
	// Config.Customers set, only the first slot's rate is used, forever.
	Arrivals []Slot
}

// Counter is one counter of a simulated hall.
type Counter struct {
	ID       string
	Services []string // in calling order
	// Hours are when the counter is staffed, in order; none means always.
	// After its last interval a counter goes on until nobody waits for it:
	// everyone who has a ticket is served.
	Hours []Interval
}

// Config is one simulation: the hall, the citizens' behaviour and how long
// to run.
type Config struct {
	Services []Service
	Counters []Counter
	// Policy is civiq.PolicyFIFO (the default) or civiq.PolicyServiceOrder.
	Policy string
	// Customers, when above 0, stops arrivals after that many citizens;
	// otherwise arrivals follow the slots of one day.
	Customers int
	// Warmup citizens at the start of each day are left out of the
	// statistics (for steady-state estimates).
	Warmup int
	// Days simulated, each with its own random draws; statistics pool them.
	Days int

	// NoShow is the share of citizens who are not there when called; the
	// counter spends NoShowSeconds calling them before moving on.
	NoShow        float64
	NoShowSeconds float64
	// LateReturn is the share of no-shows who come back, on average
	// LateReturnSeconds after being marked, and wait again behind
	// LateReturnBehind waiting citizens of their service.
	LateReturn        float64
	LateReturnSeconds float64
	LateReturnBehind  int
	// PriorityShare is the share of green-channel (priority) citizens.
	PriorityShare float64

	// Target is the wait in seconds that "called within target" counts.
	Target float64
	Seed   uint64
}

// Defaults and limits of a Config.
const (
	MaxCustomers             = 5_000_000
	DefaultTarget            = 15 * 60
	DefaultNoShowSeconds     = 60
	DefaultLateReturnSeconds = 10 * 60
)

// Validate checks the config and names what is wrong.
func (c *Config) Validate() error {
	if len(c.Services) == 0 {
		return errors.New("no service to simulate")
	}
	if len(c.Counters) == 0 {
		return errors.New("no counter to simulate")
	}
	ids := map[string]bool{}
	for _, s := range c.Services {
		if s.ID == "" || ids[s.ID] {
			return fmt.Errorf("service id %q is empty or used twice", s.ID)
		}
		ids[s.ID] = true
		if err := s.Handling.Validate(); err != nil {
			return fmt.Errorf("service %s: %w", s.ID, err)
		}
		if len(s.Arrivals) == 0 {
			return fmt.Errorf("service %s has no arrival rate", s.ID)
		}
		for _, sl := range s.Arrivals {
			if sl.PerHour < 0 || math.IsNaN(sl.PerHour) || math.IsInf(sl.PerHour, 0) || !(sl.To > sl.From) {
				return fmt.Errorf("service %s: an arrival slot needs from < to and a rate >= 0", s.ID)
			}
		}
	}
	cids := map[string]bool{}
	for _, ct := range c.Counters {
		if ct.ID == "" || cids[ct.ID] {
			return fmt.Errorf("counter id %q is empty or used twice", ct.ID)
		}
		cids[ct.ID] = true
		if len(ct.Services) == 0 {
			return fmt.Errorf("counter %s serves no service", ct.ID)
		}
		for _, s := range ct.Services {
			if !ids[s] {
				return fmt.Errorf("counter %s serves unknown service %q", ct.ID, s)
			}
		}
		for i, h := range ct.Hours {
			if !(h.To > h.From) || i > 0 && h.From < ct.Hours[i-1].To {
				return fmt.Errorf("counter %s: hours must be in order and not overlap", ct.ID)
			}
		}
	}
	if c.Policy != "" && c.Policy != civiq.PolicyFIFO && c.Policy != civiq.PolicyServiceOrder {
		return fmt.Errorf("policy must be %q or %q", civiq.PolicyFIFO, civiq.PolicyServiceOrder)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"no-show share", c.NoShow}, {"late-return share", c.LateReturn}, {"priority share", c.PriorityShare}} {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("the %s must be between 0 and 1", p.name)
		}
	}
	if c.Customers < 0 || c.Warmup < 0 || c.Days < 0 || c.LateReturnBehind < 0 {
		return errors.New("customers, warm-up, days and late-return-behind cannot be negative")
	}
	if c.Customers > 0 && c.Warmup >= c.Customers {
		return errors.New("the warm-up must be shorter than the run")
	}
	if c.Customers == 0 {
		total := 0.0
		for _, s := range c.Services {
			for _, sl := range s.Arrivals {
				if math.IsInf(sl.To, 1) {
					return fmt.Errorf("service %s: an open-ended arrival slot needs a number of customers", s.ID)
				}
				total += sl.PerHour * (sl.To - sl.From) / 3600
			}
		}
		if total > 5e6 {
			return errors.New("more than 5 million citizens a day: too many to simulate")
		}
	}
	if c.Customers > MaxCustomers {
		return fmt.Errorf("at most %d customers", MaxCustomers)
	}
	return nil
}

// Customer is one simulated citizen.
type Customer struct {
	Service  int     // index in Config.Services
	Arrival  float64 // seconds from midnight (or from the start)
	Handling float64 // seconds at the counter, walking up included
	Priority bool
	// NoShow: not there at the first call. ReturnAfter > 0: comes back
	// that long after being marked a no-show.
	NoShow      bool
	ReturnAfter float64
}

// customers draws the citizens of day d of a run, in order of arrival.
// Arrival times come from one stream; each citizen's own draws (handling
// time, green channel, no-show, return) from a stream of its own, so that
// changing one share or one distribution leaves the others' draws alone.
func (c *Config) customers(day int) []Customer {
	seed := c.Seed + uint64(day)*0x5851f42d4c957f2d
	arr := newRand(seed, 1)
	src := rand.NewPCG(0, 0)
	attr := rand.New(src)
	var out []Customer
	draw := func(si int, at float64) {
		src.Seed(seed^0x2545f4914f6cdd1d, uint64(len(out))*0x9e3779b97f4a7c15+uint64(si))
		cu := Customer{Service: si, Arrival: at}
		u1, u2, u3 := attr.Float64(), attr.Float64(), attr.Float64()
		back := attr.ExpFloat64()
		cu.Priority = u1 < c.PriorityShare
		cu.NoShow = u2 < c.NoShow
		if cu.NoShow && u3 < c.LateReturn {
			mean := c.LateReturnSeconds
			if mean <= 0 {
				mean = DefaultLateReturnSeconds
			}
			cu.ReturnAfter = back * mean
		}
		cu.Handling = c.Services[si].Handling.Sample(attr)
		out = append(out, cu)
	}
	if c.Customers > 0 {
		// One steady stream: the superposition of the services' rates,
		// each citizen's service drawn by its share.
		total := 0.0
		rates := make([]float64, len(c.Services))
		for i, s := range c.Services {
			rates[i] = s.Arrivals[0].PerHour / 3600
			total += rates[i]
		}
		if total <= 0 {
			return nil
		}
		out = make([]Customer, 0, c.Customers)
		t := c.Services[0].Arrivals[0].From
		for len(out) < c.Customers {
			t += arr.ExpFloat64() / total
			si := 0
			if len(rates) > 1 {
				u := arr.Float64() * total
				for si < len(rates)-1 && u >= rates[si] {
					u -= rates[si]
					si++
				}
			}
			draw(si, t)
		}
		return out
	}
	type arrival struct {
		at float64
		si int
	}
	var all []arrival
	for si, s := range c.Services {
		for _, sl := range s.Arrivals {
			if sl.PerHour <= 0 {
				continue
			}
			rate := sl.PerHour / 3600
			for t := sl.From + arr.ExpFloat64()/rate; t < sl.To; t += arr.ExpFloat64() / rate {
				all = append(all, arrival{t, si})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b arrival) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	out = make([]Customer, 0, len(all))
	for _, a := range all {
		draw(a.si, a.at)
	}
	return out
}
