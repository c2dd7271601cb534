package api

import (
	"encoding/csv"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/civiq/civiq/sim"
)

// The staffing planner: from a profile of a hall's day (sim.Profile, read
// from a file or built from the hall's history), the counters each service
// needs in each slot of the day so that a share goal of citizens is called
// within target: first by Erlang C per slot (sim.CountersFor), then checked
// by simulating days of the hall staffed so (sim.Run); a service that falls
// short in the simulation gets one more counter in its tightest slot, and
// the simulation runs again, until every service reaches the goal.

// planOptions say what the plan aims at and how it is checked.
type planOptions struct {
	Target  float64 // seconds
	Goal    float64 // share called within Target, 0.5..0.99
	Seed    uint64
	SimDays int
}

// Limits of the planner's options.
const (
	defaultPlanGoal    = 0.8
	defaultPlanSimDays = 30
	maxPlanSimDays     = 200
	maxPlanRounds      = 40
)

// Plan is the staffing plan of a profile.
type Plan struct {
	Source string `json:"source"` // history, example or profile
	Name   string `json:"name,omitempty"`
	// HistoryFrom and HistoryTo are the local days read, for a plan from
	// history.
	HistoryFrom string `json:"history_from,omitempty"`
	HistoryTo   string `json:"history_to,omitempty"`
	// HistoryDays counts the days in that period that had tickets: the
	// arrivals are their mean.
	HistoryDays   int     `json:"history_days,omitempty"`
	TargetSeconds float64 `json:"target_seconds"`
	Goal          float64 `json:"goal"`
	// Slots are the rows of the plan, in order of the day, with the
	// counters of every service together.
	Slots    []PlanSlot    `json:"slots"`
	Services []PlanService `json:"services"`
	Check    PlanCheck     `json:"check"`
	// Profile is the profile planned from, in the format civiq simulate
	// reads, for download and editing.
	Profile *sim.Profile `json:"profile"`
}

// PlanSlot is one row of the plan.
type PlanSlot struct {
	From            string  `json:"from"` // "HH:MM"
	To              string  `json:"to"`
	ArrivalsPerHour float64 `json:"arrivals_per_hour"`
	ErlangCounters  int     `json:"erlang_counters"`
	Counters        int     `json:"counters"`
}

// PlanService is the plan of one service.
type PlanService struct {
	ID              string     `json:"id"`
	Prefix          string     `json:"prefix,omitempty"`
	Name            string     `json:"name,omitempty"`
	HandlingMinutes float64    `json:"handling_minutes"`
	HandlingCV      float64    `json:"handling_cv"`
	Cells           []PlanCell `json:"cells"` // one per slot of the plan
	PeakCounters    int        `json:"peak_counters"`
	// CounterHours is the staffed time the plan asks for, in hours.
	CounterHours float64 `json:"counter_hours"`
	Simulated    PlanSim `json:"simulated"`
}

// PlanCell is one service in one slot.
type PlanCell struct {
	ArrivalsPerHour float64 `json:"arrivals_per_hour"`
	// ErlangCounters is what Erlang C asks for; Counters is the plan after
	// the simulation check (never fewer).
	ErlangCounters int `json:"erlang_counters"`
	Counters       int `json:"counters"`
	// By Erlang C with Counters: the share called within the target, the
	// mean wait and the counters' utilisation.
	ServiceLevel    float64 `json:"service_level"`
	MeanWaitSeconds float64 `json:"mean_wait_seconds"`
	Utilisation     float64 `json:"utilisation"`
}

// PlanSim is what the simulation of the planned staffing measured.
type PlanSim struct {
	Customers       int     `json:"customers"`
	WithinTarget    float64 `json:"within_target"`
	MeanWaitSeconds float64 `json:"mean_wait_seconds"`
	P90WaitSeconds  float64 `json:"p90_wait_seconds"`
	MeetsGoal       bool    `json:"meets_goal"`
}

// PlanCheck tells how the plan was checked.
type PlanCheck struct {
	Seed uint64 `json:"seed"`
	Days int    `json:"days"`
	// Rounds of simulation run; Added counters beyond Erlang C.
	Rounds       int     `json:"rounds"`
	Added        int     `json:"added"`
	WithinTarget float64 `json:"within_target"`
	MeetsGoal    bool    `json:"meets_goal"`
}

// span is a slot of the plan, in seconds from midnight.
type span struct{ from, to float64 }

// makePlan plans the staffing of a profile.
func makePlan(p *sim.Profile, o planOptions) (*Plan, error) {
	if _, err := p.Config(o.Seed, 1); err != nil {
		return nil, err
	}
	plan := &Plan{Name: p.Name, TargetSeconds: o.Target, Goal: o.Goal, Profile: p,
		Slots: []PlanSlot{}, Services: []PlanService{}, Check: PlanCheck{Seed: o.Seed, Days: o.SimDays}}
	// The rows: every boundary of every service's slots.
	slots := make([][]sim.Slot, len(p.Services))
	var bounds []float64
	for i := range p.Services {
		sl, err := p.Services[i].Slots()
		if err != nil {
			return nil, err
		}
		slots[i] = sl
		for _, s := range sl {
			bounds = append(bounds, s.From, s.To)
		}
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	rate := func(si int, at float64) float64 {
		for _, s := range slots[si] {
			if s.From <= at && at < s.To {
				return s.PerHour
			}
		}
		return 0
	}
	var rows []span
	for i := 0; i+1 < len(bounds); i++ {
		r := span{bounds[i], bounds[i+1]}
		for si := range p.Services {
			if rate(si, r.from) > 0 {
				rows = append(rows, r)
				break
			}
		}
	}
	for si := range p.Services {
		sp := &p.Services[si]
		ps := PlanService{ID: sp.ID, Prefix: sp.Prefix, Name: sp.Name, HandlingMinutes: sp.HandlingMinutes, HandlingCV: sp.HandlingCV,
			Cells: make([]PlanCell, len(rows))}
		for ri, r := range rows {
			c := &ps.Cells[ri]
			c.ArrivalsPerHour = rate(si, r.from)
			c.ErlangCounters = sim.CountersFor(c.ArrivalsPerHour, sp.HandlingMinutes*60, o.Target, o.Goal)
			c.Counters = c.ErlangCounters
		}
		plan.Services = append(plan.Services, ps)
	}
	// Check by simulation, adding where a service falls short.
	for round := 1; round <= maxPlanRounds; round++ {
		res, err := simulatePlan(p, plan, rows, o)
		if err != nil {
			return nil, err
		}
		plan.Check.Rounds = round
		short := false
		for si := range plan.Services {
			ps := &plan.Services[si]
			ps.Simulated = PlanSim{MeetsGoal: true}
			if res == nil {
				continue
			}
			for _, sr := range res.Services {
				if sr.ID != ps.ID {
					continue
				}
				ps.Simulated = PlanSim{Customers: sr.Customers, WithinTarget: round4(sr.WithinTarget),
					MeanWaitSeconds: math.Round(sr.MeanWait), P90WaitSeconds: math.Round(sr.P90Wait),
					MeetsGoal: sr.Customers == 0 || sr.WithinTarget >= o.Goal}
			}
			if !ps.Simulated.MeetsGoal && round < maxPlanRounds {
				if tightest(ps, o) {
					short = true
					plan.Check.Added++
				}
			}
		}
		plan.Check.MeetsGoal = true
		for _, ps := range plan.Services {
			plan.Check.MeetsGoal = plan.Check.MeetsGoal && ps.Simulated.MeetsGoal
		}
		if res != nil {
			plan.Check.WithinTarget = round4(res.WithinTarget)
		}
		if !short {
			break
		}
	}
	// Erlang C figures of the final counts, and the totals.
	for si := range plan.Services {
		ps := &plan.Services[si]
		for ri, r := range rows {
			c := &ps.Cells[ri]
			if c.ArrivalsPerHour > 0 && c.Counters > 0 {
				q := sim.Queue{ArrivalsPerHour: c.ArrivalsPerHour, HandlingSeconds: ps.HandlingMinutes * 60, Counters: c.Counters}
				c.ServiceLevel = round4(q.ServiceLevel(o.Target))
				c.MeanWaitSeconds = math.Round(q.MeanWait())
				c.Utilisation = round4(q.Utilisation())
			}
			ps.PeakCounters = max(ps.PeakCounters, c.Counters)
			ps.CounterHours += float64(c.Counters) * (r.to - r.from) / 3600
		}
		ps.CounterHours = math.Round(ps.CounterHours*100) / 100
	}
	for ri, r := range rows {
		s := PlanSlot{From: sim.FormatClock(r.from), To: sim.FormatClock(r.to)}
		for _, ps := range plan.Services {
			s.ArrivalsPerHour += ps.Cells[ri].ArrivalsPerHour
			s.ErlangCounters += ps.Cells[ri].ErlangCounters
			s.Counters += ps.Cells[ri].Counters
		}
		s.ArrivalsPerHour = math.Round(s.ArrivalsPerHour*100) / 100
		plan.Slots = append(plan.Slots, s)
	}
	return plan, nil
}

// tightest adds a counter to the service's slot where Erlang C gives the
// lowest share within target; it reports whether there was one.
func tightest(ps *PlanService, o planOptions) bool {
	best, bestSL := -1, 2.0
	for i, c := range ps.Cells {
		if c.ArrivalsPerHour <= 0 {
			continue
		}
		q := sim.Queue{ArrivalsPerHour: c.ArrivalsPerHour, HandlingSeconds: ps.HandlingMinutes * 60, Counters: c.Counters}
		if sl := q.ServiceLevel(o.Target); sl < bestSL {
			best, bestSL = i, sl
		}
	}
	if best < 0 {
		return false
	}
	ps.Cells[best].Counters++
	return true
}

// simulatePlan runs the profile's days with every service served by
// counters of its own, as many in each slot as the plan says. It returns
// nil when the plan has no counter at all (nobody arrives).
func simulatePlan(p *sim.Profile, plan *Plan, rows []span, o planOptions) (*sim.Result, error) {
	cfg, err := p.Config(o.Seed, o.SimDays)
	if err != nil {
		return nil, err
	}
	cfg.Target = o.Target
	cfg.Counters = nil
	for _, ps := range plan.Services {
		peak := 0
		for _, c := range ps.Cells {
			peak = max(peak, c.Counters)
		}
		for k := 1; k <= peak; k++ {
			var hours []sim.Interval
			for ri, r := range rows {
				if ps.Cells[ri].Counters < k {
					continue
				}
				if n := len(hours); n > 0 && hours[n-1].To == r.from {
					hours[n-1].To = r.to
				} else {
					hours = append(hours, sim.Interval{From: r.from, To: r.to})
				}
			}
			cfg.Counters = append(cfg.Counters, sim.Counter{ID: ps.ID + "#" + strconv.Itoa(k), Services: []string{ps.ID}, Hours: hours})
		}
	}
	if len(cfg.Counters) == 0 {
		return nil, nil
	}
	return sim.Run(cfg)
}

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// writePlanCSV writes the plan as a table for spreadsheets: UTF-8 with a
// BOM, a row per slot, for each service its arrivals per hour and its
// counters, then the total counters.
func writePlanCSV(w io.Writer, plan *Plan, names map[string]string, en bool) error {
	if _, err := w.Write([]byte("\ufeff")); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	label := func(zh, english string) string {
		if en {
			return english
		}
		return zh
	}
	head := []string{label("开始", "From"), label("结束", "To")}
	for _, s := range plan.Services {
		name := s.Name
		if n := names[s.ID]; n != "" {
			name = n
		}
		if name == "" {
			name = s.ID
		}
		head = append(head, name+label(" 每小时到达", " arrivals per hour"), name+label(" 窗口数", " counters"))
	}
	head = append(head, label("合计窗口数", "Total counters"))
	cw.Write(head)
	for ri, sl := range plan.Slots {
		row := []string{sl.From, sl.To}
		for _, s := range plan.Services {
			c := s.Cells[ri]
			row = append(row, strconv.FormatFloat(c.ArrivalsPerHour, 'f', -1, 64), strconv.Itoa(c.Counters))
		}
		row = append(row, strconv.Itoa(sl.Counters))
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
