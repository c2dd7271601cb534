package sim

import (
	"context"
	"math"
	"slices"
	"strconv"

	"github.com/civiq/civiq"
)

// The staffing plan of a day, as the managers' planner shows it: from a
// profile of a hall's day, the counters each service needs in each slot
// of the day so that a share Goal of citizens is called within Target:
// first by Erlang C per slot (CountersFor), then checked by simulating
// days of the hall staffed so (Run); a service that falls short in the
// simulation gets one more counter in its tightest slot, and the
// simulation runs again, until every service reaches the goal. The
// managers' page (PlanHall) and civiq simulate --plan both plan so.

// StaffingOptions say what PlanStaffing aims at and how it checks it.
type StaffingOptions struct {
	Target  float64 // seconds (0: DefaultTarget)
	Goal    float64 // share called within Target (0: DefaultPlanGoal)
	Seed    uint64
	SimDays int // days simulated in each round (0: DefaultPlanSimDays)
}

// Defaults and limits of a staffing plan. The work of a plan is bounded:
// each round simulates the profile's arrivals of a day times SimDays
// citizens (at most MaxPlanWork), in at most MaxStaffingRounds rounds and
// at most MaxPlanRoundsWork citizens in all; the plan has at most
// MaxPlanCells services × slots and MaxPlanCounters counters in any slot
// (the simulation's time grows with citizens × counters).
const (
	DefaultPlanGoal    = 0.8
	DefaultPlanSimDays = 30
	MaxPlanSimDays     = 200
	MaxStaffingRounds  = 40
	MaxPlanWork        = 500_000
	MaxPlanRoundsWork  = 4 * MaxPlanWork
	MaxPlanCells       = 10_000
	MaxPlanCounters    = 500
)

// Staffing is the staffing plan of a profile.
type Staffing struct {
	Name          string  `json:"name,omitempty"`
	TargetSeconds float64 `json:"target_seconds"`
	Goal          float64 `json:"goal"`
	// Slots are the rows of the plan, in order of the day, with the
	// counters of every service together.
	Slots    []StaffingSlot    `json:"slots"`
	Services []StaffingService `json:"services"`
	Check    StaffingCheck     `json:"check"`
	// Profile is the profile planned from, in the format civiq simulate
	// reads, for download and editing.
	Profile *Profile `json:"profile"`
}

// StaffingSlot is one row of the plan.
type StaffingSlot struct {
	From            string  `json:"from"` // "HH:MM"
	To              string  `json:"to"`
	ArrivalsPerHour float64 `json:"arrivals_per_hour"`
	ErlangCounters  int     `json:"erlang_counters"`
	Counters        int     `json:"counters"`
}

// StaffingService is the plan of one service.
type StaffingService struct {
	ID              string         `json:"id"`
	Prefix          string         `json:"prefix,omitempty"`
	Name            string         `json:"name,omitempty"`
	NameEn          string         `json:"name_en,omitempty"`
	HandlingMinutes float64        `json:"handling_minutes"`
	HandlingCV      float64        `json:"handling_cv"`
	Cells           []StaffingCell `json:"cells"` // one per slot of the plan
	PeakCounters    int            `json:"peak_counters"`
	// CounterHours is the staffed time the plan asks for, in hours.
	CounterHours float64     `json:"counter_hours"`
	Simulated    StaffingSim `json:"simulated"`
}

// StaffingCell is one service in one slot.
type StaffingCell struct {
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

// StaffingSim is what the simulation of the planned staffing measured.
type StaffingSim struct {
	Customers       int     `json:"customers"`
	WithinTarget    float64 `json:"within_target"`
	MeanWaitSeconds float64 `json:"mean_wait_seconds"`
	P90WaitSeconds  float64 `json:"p90_wait_seconds"`
	MeetsGoal       bool    `json:"meets_goal"`
}

// StaffingCheck tells how the plan was checked.
type StaffingCheck struct {
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

// PlanStaffing plans the staffing of a profile's day. It stops with the
// context's error when ctx ends. A profile or options beyond the limits
// are an invalid *civiq.Error naming the limit (field "profile",
// "sim_days", "goal" or "target_minutes").
func PlanStaffing(ctx context.Context, p *Profile, o StaffingOptions) (*Staffing, error) {
	if o.Target == 0 {
		o.Target = DefaultTarget
	}
	if o.Goal == 0 {
		o.Goal = DefaultPlanGoal
	}
	if o.SimDays == 0 {
		o.SimDays = DefaultPlanSimDays
	}
	switch {
	case !(o.Target > 0):
		return nil, civiq.FieldErrorf("target_minutes", "the target must be a positive time")
	case !(o.Goal > 0 && o.Goal < 1):
		return nil, civiq.FieldErrorf("goal", "the goal must be a share between 0 and 1 (exclusive), like 0.8")
	case o.SimDays < 1 || o.SimDays > MaxPlanSimDays:
		return nil, civiq.FieldErrorf("sim_days", "sim_days must be 1..%d", MaxPlanSimDays)
	}
	cfg, err := p.Config(o.Seed, 1)
	if err != nil {
		return nil, civiq.FieldErrorf("profile", "%s", err)
	}
	perDay := 0.0
	for _, s := range cfg.Services {
		for _, sl := range s.Arrivals {
			perDay += sl.PerHour * (sl.To - sl.From) / 3600
		}
	}
	if perDay > MaxPlanWork {
		return nil, civiq.FieldErrorf("profile", "the profile brings %.0f citizens a day: a plan simulates at most %d citizens a round (arrivals a day × sim_days)", perDay, MaxPlanWork)
	}
	work := perDay * float64(o.SimDays)
	if work > MaxPlanWork {
		return nil, civiq.FieldErrorf("sim_days", "%.0f citizens a day × %d days is %.0f: a plan simulates at most %d citizens a round (arrivals a day × sim_days); ask for fewer sim_days", perDay, o.SimDays, work, MaxPlanWork)
	}
	plan := &Staffing{Name: p.Name, TargetSeconds: o.Target, Goal: o.Goal, Profile: p,
		Slots: []StaffingSlot{}, Services: []StaffingService{}, Check: StaffingCheck{Seed: o.Seed, Days: o.SimDays}}
	// The rows: every boundary of every service's slots.
	slots := make([][]Slot, len(p.Services))
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
	if cells := len(p.Services) * len(rows); cells > MaxPlanCells {
		return nil, civiq.FieldErrorf("profile", "the profile has %d services × %d slots: a plan has at most %d", len(p.Services), len(rows), MaxPlanCells)
	}
	total := make([]int, len(rows))
	for si := range p.Services {
		sp := &p.Services[si]
		ps := StaffingService{ID: sp.ID, Prefix: sp.Prefix, Name: sp.Name, HandlingMinutes: sp.HandlingMinutes, HandlingCV: sp.HandlingCV,
			Cells: make([]StaffingCell, len(rows))}
		for ri, r := range rows {
			c := &ps.Cells[ri]
			c.ArrivalsPerHour = rate(si, r.from)
			// The load is the fewest counters that keep up: beyond the
			// limit, Erlang C is not even asked.
			if load := (Queue{ArrivalsPerHour: c.ArrivalsPerHour, HandlingSeconds: sp.HandlingMinutes * 60}).Load(); load+float64(total[ri]) > MaxPlanCounters {
				return nil, tooManyCounters(r)
			}
			c.ErlangCounters = CountersFor(c.ArrivalsPerHour, sp.HandlingMinutes*60, o.Target, o.Goal)
			c.Counters = c.ErlangCounters
			if total[ri] += c.Counters; total[ri] > MaxPlanCounters {
				return nil, tooManyCounters(r)
			}
		}
		plan.Services = append(plan.Services, ps)
	}
	// Check by simulation, adding where a service falls short.
	rounds := MaxStaffingRounds
	if work > 0 {
		rounds = min(rounds, max(1, int(MaxPlanRoundsWork/work)))
	}
	for round := 1; round <= rounds; round++ {
		res, err := simulateStaffing(ctx, p, plan, rows, o)
		if err != nil {
			return nil, err
		}
		plan.Check.Rounds = round
		short := false
		for si := range plan.Services {
			ps := &plan.Services[si]
			ps.Simulated = StaffingSim{MeetsGoal: true}
			if res == nil {
				continue
			}
			for _, sr := range res.Services {
				if sr.ID != ps.ID {
					continue
				}
				ps.Simulated = StaffingSim{Customers: sr.Customers, WithinTarget: round4(sr.WithinTarget),
					MeanWaitSeconds: math.Round(sr.MeanWait), P90WaitSeconds: math.Round(sr.P90Wait),
					MeetsGoal: sr.Customers == 0 || sr.WithinTarget >= o.Goal}
			}
			if !ps.Simulated.MeetsGoal && round < rounds {
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
				q := Queue{ArrivalsPerHour: c.ArrivalsPerHour, HandlingSeconds: ps.HandlingMinutes * 60, Counters: c.Counters}
				c.ServiceLevel = round4(q.ServiceLevel(o.Target))
				c.MeanWaitSeconds = math.Round(q.MeanWait())
				c.Utilisation = round4(q.Utilisation())
			}
			ps.PeakCounters = max(ps.PeakCounters, c.Counters)
			ps.CounterHours += float64(c.Counters) * (r.to - r.from) / 3600
		}
		ps.CounterHours = round2(ps.CounterHours)
	}
	for ri, r := range rows {
		s := StaffingSlot{From: FormatClock(r.from), To: FormatClock(r.to)}
		for _, ps := range plan.Services {
			s.ArrivalsPerHour += ps.Cells[ri].ArrivalsPerHour
			s.ErlangCounters += ps.Cells[ri].ErlangCounters
			s.Counters += ps.Cells[ri].Counters
		}
		s.ArrivalsPerHour = round2(s.ArrivalsPerHour)
		plan.Slots = append(plan.Slots, s)
	}
	return plan, nil
}

func tooManyCounters(r span) error {
	return civiq.FieldErrorf("profile", "the profile needs more than %d counters at once (%s-%s): a plan has at most %d", MaxPlanCounters, FormatClock(r.from), FormatClock(r.to), MaxPlanCounters)
}

// tightest adds a counter to the service's slot where Erlang C gives the
// lowest share within target; it reports whether there was one.
func tightest(ps *StaffingService, o StaffingOptions) bool {
	best, bestSL := -1, 2.0
	for i, c := range ps.Cells {
		if c.ArrivalsPerHour <= 0 {
			continue
		}
		q := Queue{ArrivalsPerHour: c.ArrivalsPerHour, HandlingSeconds: ps.HandlingMinutes * 60, Counters: c.Counters}
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

// simulateStaffing runs the profile's days with every service served by
// counters of its own, as many in each slot as the plan says. It returns
// nil when the plan has no counter at all (nobody arrives).
func simulateStaffing(ctx context.Context, p *Profile, plan *Staffing, rows []span, o StaffingOptions) (*Result, error) {
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
			var hours []Interval
			for ri, r := range rows {
				if ps.Cells[ri].Counters < k {
					continue
				}
				if n := len(hours); n > 0 && hours[n-1].To == r.from {
					hours[n-1].To = r.to
				} else {
					hours = append(hours, Interval{From: r.from, To: r.to})
				}
			}
			cfg.Counters = append(cfg.Counters, Counter{ID: ps.ID + "#" + strconv.Itoa(k), Services: []string{ps.ID}, Hours: hours})
		}
	}
	if len(cfg.Counters) == 0 {
		return nil, nil
	}
	return RunContext(ctx, cfg)
}

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }
