package sim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/civiq/civiq/csvfile"
)

// PlanOptions configure MakePlan.
type PlanOptions struct {
	// Target is the wait in seconds (default 15 minutes) within which a
	// share Goal (default 0.8) of citizens should be called.
	Target float64
	Goal   float64
	// Customers simulated to check each hour and service (default 20000;
	// -1: no check). Seed makes the checks repeatable.
	Customers int
	Seed      uint64
}

// PlanRow is the staffing of one service in one hour.
type PlanRow struct {
	From            string  `json:"from"` // "09:00"
	To              string  `json:"to"`
	Service         string  `json:"service"`
	ArrivalsPerHour float64 `json:"arrivals_per_hour"`
	HandlingMinutes float64 `json:"handling_minutes"`
	// Load is the offered load in erlangs: the counters kept busy.
	Load float64 `json:"load"`
	// Counters is the fewest counters serving only this service that call
	// the goal's share within the target, by Erlang C.
	Counters    int     `json:"counters"`
	Utilisation float64 `json:"utilisation"`
	// ServiceLevel and MeanWait are Erlang C's for Counters; SimServiceLevel
	// and SimMeanWait the simulation's, with the service's own handling
	// time distribution (-1 when not checked).
	ServiceLevel    float64 `json:"service_level"`
	MeanWait        float64 `json:"mean_wait_seconds"`
	SimServiceLevel float64 `json:"sim_service_level"`
	SimMeanWait     float64 `json:"sim_mean_wait_seconds"`
}

// PlanHour sums the counters of one hour.
type PlanHour struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Counters int    `json:"counters"`
}

// Plan is the counters needed per hour and service.
type Plan struct {
	Target float64    `json:"target_seconds"`
	Goal   float64    `json:"goal"`
	Rows   []PlanRow  `json:"rows"`
	Hours  []PlanHour `json:"hours"`
}

// MakePlan computes, for each hour of the profile's day and each service,
// the counters needed to call a share Goal of citizens within Target, by
// Erlang C on the hour's mean arrival rate, and checks each answer by
// simulating that hour in steady state with the service's handling-time
// distribution. The counters are dedicated to the service: counters shared
// between services pool their capacity, so the totals are an upper bound,
// and civiq simulate checks a real staffing.
func MakePlan(p *Profile, o PlanOptions) (*Plan, error) {
	if o.Target == 0 {
		o.Target = DefaultTarget
	}
	if o.Goal == 0 {
		o.Goal = 0.8
	}
	if !(o.Target > 0) || !(o.Goal > 0 && o.Goal < 1) {
		return nil, errors.New("the target must be positive and the goal between 0 and 1 (exclusive)")
	}
	if o.Customers == 0 {
		o.Customers = 20000
	}
	cfg, err := p.Config(o.Seed, 1)
	if err != nil {
		return nil, err
	}
	from, to, err := p.Span()
	if err != nil {
		return nil, err
	}
	pl := &Plan{Target: o.Target, Goal: o.Goal}
	for h := math.Floor(from/3600) * 3600; h < to; h += 3600 {
		hour := PlanHour{From: FormatClock(h), To: FormatClock(h + 3600)}
		busy := false
		for _, s := range cfg.Services {
			busy = busy || meanRate(s.Arrivals, h, h+3600) > 0
		}
		if !busy {
			continue
		}
		for si, s := range cfg.Services {
			rate := meanRate(s.Arrivals, h, h+3600)
			row := PlanRow{From: hour.From, To: hour.To, Service: s.ID, ArrivalsPerHour: round2(rate),
				HandlingMinutes: round2(s.Handling.Mean / 60), SimServiceLevel: -1, SimMeanWait: -1}
			q := Queue{ArrivalsPerHour: rate, HandlingSeconds: s.Handling.Mean}
			row.Load = round2(q.Load())
			q.Counters = CountersFor(rate, s.Handling.Mean, o.Target, o.Goal)
			row.Counters = q.Counters
			if q.Counters > 0 {
				row.Utilisation = q.Utilisation()
				row.ServiceLevel = q.ServiceLevel(o.Target)
				row.MeanWait = q.MeanWait()
				if o.Customers > 0 {
					sl, mw, err := checkStaffing(s, rate, q.Counters, o, uint64(si)<<32|uint64(h))
					if err != nil {
						return nil, err
					}
					row.SimServiceLevel, row.SimMeanWait = sl, mw
				}
			}
			hour.Counters += row.Counters
			pl.Rows = append(pl.Rows, row)
		}
		pl.Hours = append(pl.Hours, hour)
	}
	return pl, nil
}

// meanRate is the mean arrival rate of slots over [from, to).
func meanRate(slots []Slot, from, to float64) float64 {
	n := 0.0
	for _, s := range slots {
		a, b := max(s.From, from), min(s.To, to)
		if b > a {
			n += s.PerHour * (b - a)
		}
	}
	return n / (to - from)
}

// checkStaffing simulates counters dedicated counters serving rate
// arrivals per hour of service s in steady state.
func checkStaffing(s Service, rate float64, counters int, o PlanOptions, stream uint64) (serviceLevel, meanWait float64, err error) {
	cfg := Config{Services: []Service{{ID: s.ID, Handling: s.Handling, Arrivals: []Slot{{From: 0, To: math.Inf(1), PerHour: rate}}}},
		Customers: o.Customers, Warmup: o.Customers / 20, Target: o.Target, Seed: o.Seed ^ stream*0x9e3779b97f4a7c15}
	for i := range counters {
		cfg.Counters = append(cfg.Counters, Counter{ID: strconv.Itoa(i + 1), Services: []string{s.ID}})
	}
	r, err := Run(cfg)
	if err != nil {
		return 0, 0, err
	}
	return r.WithinTarget, r.MeanWait, nil
}

// WriteCSV writes the plan as CSV for spreadsheets (csvfile), one row per
// hour and service.
func (pl *Plan) WriteCSV(w io.Writer) error {
	cw := csvfile.NewWriter(w)
	cw.Write([]string{"from", "to", "service", "arrivals_per_hour", "handling_minutes", "load_erlangs", "counters",
		"utilisation", "erlang_service_level", "erlang_mean_wait_seconds", "sim_service_level", "sim_mean_wait_seconds"})
	f := func(x float64, prec int) string {
		if x < 0 {
			return ""
		}
		return strconv.FormatFloat(x, 'f', prec, 64)
	}
	for _, r := range pl.Rows {
		cw.Write([]string{r.From, r.To, r.Service, f(r.ArrivalsPerHour, 2), f(r.HandlingMinutes, 2), f(r.Load, 2),
			strconv.Itoa(r.Counters), f(r.Utilisation, 3), f(r.ServiceLevel, 3), f(r.MeanWait, 0),
			f(r.SimServiceLevel, 3), f(r.SimMeanWait, 0)})
	}
	return cw.Flush()
}

// WriteTable writes the plan as a table for people: counters per hour
// and service, then the detail.
func (pl *Plan) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var services []string
	seen := map[string]bool{}
	for _, r := range pl.Rows {
		if !seen[r.Service] {
			seen[r.Service] = true
			services = append(services, r.Service)
		}
	}
	fmt.Fprintf(tw, "Counters needed to call %.0f%% within %s (Erlang C, dedicated counters)\n", pl.Goal*100, minutes(pl.Target))
	fmt.Fprint(tw, "hour\t")
	for _, s := range services {
		fmt.Fprintf(tw, "%s\t", s)
	}
	fmt.Fprint(tw, "total\t\n")
	for _, h := range pl.Hours {
		fmt.Fprintf(tw, "%s-%s\t", h.From, h.To)
		for _, r := range pl.Rows {
			if r.From == h.From {
				fmt.Fprintf(tw, "%d\t", r.Counters)
			}
		}
		fmt.Fprintf(tw, "%d\t\n", h.Counters)
	}
	fmt.Fprint(tw, "\nhour\tservice\tarrivals/h\thandling min\tload\tcounters\tutilisation\twithin target (Erlang C)\t(simulated)\tmean wait (Erlang C)\t(simulated)\t\n")
	for _, r := range pl.Rows {
		if r.Counters == 0 {
			continue
		}
		sim, simW := "-", "-"
		if r.SimServiceLevel >= 0 {
			sim, simW = fmt.Sprintf("%.1f%%", r.SimServiceLevel*100), minutes(r.SimMeanWait)
		}
		fmt.Fprintf(tw, "%s-%s\t%s\t%.1f\t%.1f\t%.2f\t%d\t%.0f%%\t%.1f%%\t%s\t%s\t%s\t\n", r.From, r.To, r.Service, r.ArrivalsPerHour,
			r.HandlingMinutes, r.Load, r.Counters, r.Utilisation*100, r.ServiceLevel*100, sim, minutes(r.MeanWait), simW)
	}
	return tw.Flush()
}

// minutes writes seconds as minutes for people.
func minutes(sec float64) string {
	if math.IsInf(sec, 0) || math.IsNaN(sec) {
		return "∞"
	}
	return fmt.Sprintf("%.1f min", sec/60)
}
