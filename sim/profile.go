package sim

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civiq/civiq"
)

// Profile is a hall's day as the simulator and the planner take it: its
// services with their arrivals per hour and handling times, its counters
// with their hours, and how citizens behave. It is read from JSON; the
// format is in docs/simulate.md. Times of day are local "HH:MM".
type Profile struct {
	Name string `json:"name,omitempty"`
	// Policy is "fifo" (the default) or "service-order".
	Policy string `json:"policy,omitempty"`
	// TargetMinutes is the wait that "called within target" counts
	// (default 15).
	TargetMinutes float64 `json:"target_minutes,omitempty"`
	// NoShow is the share of citizens not there when called; the counter
	// spends NoShowMinutes (default 1) calling them.
	NoShow        float64 `json:"no_show,omitempty"`
	NoShowMinutes float64 `json:"no_show_minutes,omitempty"`
	// LateReturn is the share of no-shows who come back, on average
	// LateReturnMinutes (default 10) later, and wait behind
	// LateReturnBehind (default 3) citizens of their service.
	LateReturn        float64 `json:"late_return,omitempty"`
	LateReturnMinutes float64 `json:"late_return_minutes,omitempty"`
	LateReturnBehind  *int    `json:"late_return_behind,omitempty"`
	// PriorityShare is the share of green-channel citizens.
	PriorityShare float64 `json:"priority_share,omitempty"`

	Services []ServiceProfile `json:"services"`
	Counters []CounterProfile `json:"counters"`
}

// ServiceProfile is one service of a Profile.
type ServiceProfile struct {
	ID     string `json:"id"`
	Prefix string `json:"prefix,omitempty"`
	Name   string `json:"name,omitempty"`
	// HandlingMinutes is the mean time a citizen takes at the counter,
	// walking up included; HandlingCV its coefficient of variation (0:
	// exponential) and HandlingDist its shape ("exponential", "lognormal",
	// "gamma" or "deterministic"; by default exponential when the CV is 0
	// or 1, lognormal otherwise).
	HandlingMinutes float64 `json:"handling_minutes"`
	HandlingCV      float64 `json:"handling_cv,omitempty"`
	HandlingDist    string  `json:"handling_dist,omitempty"`
	// ArrivalsPerHour maps the start of a slot ("08:30") to the arrival
	// rate in it, per hour. A slot lasts until the next one starts, or one
	// hour at most.
	ArrivalsPerHour map[string]float64 `json:"arrivals_per_hour"`
}

// CounterProfile is one counter of a Profile.
type CounterProfile struct {
	ID       string   `json:"id"`
	Services []string `json:"services"`
	// Hours are the spans the counter is staffed ("08:30-11:30"); none
	// means from the first arrival slot to the end of the last one. After
	// its last span a counter serves everyone still waiting for it.
	Hours []string `json:"hours,omitempty"`
}

// ReadProfile decodes a JSON profile and checks it.
func ReadProfile(r io.Reader) (*Profile, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if _, err := p.Config(1, 1); err != nil {
		return nil, err
	}
	return &p, nil
}

//go:embed demo_profile.json
var demoProfile []byte

// DemoProfile is a busy weekday of the demo hall (civiq serve --demo): a
// morning and an afternoon peak, staggered lunch breaks, 5% no-shows.
func DemoProfile() *Profile {
	p, err := ReadProfile(strings.NewReader(string(demoProfile)))
	if err != nil {
		panic("sim: the embedded demo profile: " + err.Error())
	}
	return p
}

// ParseClock reads a local time of day "HH:MM" as seconds from midnight;
// "24:00" is the end of the day.
func ParseClock(s string) (float64, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return float64(hh*3600 + mm*60), nil
}

// FormatClock writes seconds from midnight as "HH:MM".
func FormatClock(sec float64) string {
	m := int(math.Round(sec / 60))
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// Slots gives the service's arrival slots in order.
func (s *ServiceProfile) Slots() ([]Slot, error) {
	var out []Slot
	for k, v := range s.ArrivalsPerHour {
		from, err := ParseClock(k)
		if err != nil {
			return nil, fmt.Errorf("service %s: arrivals_per_hour: %w", s.ID, err)
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("service %s: arrivals_per_hour %s must be a rate >= 0", s.ID, k)
		}
		out = append(out, Slot{From: from, PerHour: v})
	}
	slices.SortFunc(out, func(a, b Slot) int { return int(a.From - b.From) })
	for i := range out {
		out[i].To = min(out[i].From+3600, 24*3600)
		if i+1 < len(out) {
			out[i].To = min(out[i].To, out[i+1].From)
		}
		if !(out[i].To > out[i].From) {
			return nil, fmt.Errorf("service %s: an arrival slot starts at 24:00", s.ID)
		}
	}
	return out, nil
}

// Span is the day of the profile: from the first arrival slot to the end
// of the last.
func (p *Profile) Span() (from, to float64, err error) {
	from, to = math.Inf(1), math.Inf(-1)
	for i := range p.Services {
		sl, err := p.Services[i].Slots()
		if err != nil {
			return 0, 0, err
		}
		for _, s := range sl {
			from, to = min(from, s.From), max(to, s.To)
		}
	}
	if math.IsInf(from, 1) {
		return 0, 0, errors.New("profile: no arrival slot")
	}
	return from, to, nil
}

// Config turns the profile into a simulation of days days with seed.
func (p *Profile) Config(seed uint64, days int) (Config, error) {
	c := Config{Policy: p.Policy, Days: days, Seed: seed,
		NoShow: p.NoShow, NoShowSeconds: p.NoShowMinutes * 60,
		LateReturn: p.LateReturn, LateReturnSeconds: p.LateReturnMinutes * 60,
		LateReturnBehind: civiq.DefaultLateReturnBehind, PriorityShare: p.PriorityShare,
		Target: p.TargetMinutes * 60}
	if p.LateReturnBehind != nil {
		c.LateReturnBehind = *p.LateReturnBehind
	}
	if p.TargetMinutes < 0 || p.NoShowMinutes < 0 || p.LateReturnMinutes < 0 {
		return c, errors.New("profile: minutes cannot be negative")
	}
	dayFrom, dayTo, err := p.Span()
	if err != nil {
		return c, err
	}
	for i := range p.Services {
		sp := &p.Services[i]
		d, err := NewDist(sp.HandlingDist, sp.HandlingMinutes*60, sp.HandlingCV)
		if err != nil {
			return c, fmt.Errorf("service %s: %w", sp.ID, err)
		}
		sl, err := sp.Slots()
		if err != nil {
			return c, err
		}
		if len(sl) == 0 {
			sl = []Slot{{From: dayFrom, To: dayTo}}
		}
		c.Services = append(c.Services, Service{ID: sp.ID, Handling: d, Arrivals: sl})
	}
	for _, cp := range p.Counters {
		ct := Counter{ID: cp.ID, Services: cp.Services}
		for _, h := range cp.Hours {
			a, b, ok := strings.Cut(h, "-")
			from, err1 := ParseClock(a)
			to, err2 := ParseClock(b)
			if !ok || err1 != nil || err2 != nil {
				return c, fmt.Errorf("counter %s: hours %q must be HH:MM-HH:MM", cp.ID, h)
			}
			ct.Hours = append(ct.Hours, Interval{From: from, To: to})
		}
		if len(ct.Hours) == 0 {
			ct.Hours = []Interval{{From: dayFrom, To: dayTo}}
		}
		c.Counters = append(c.Counters, ct)
	}
	return c, c.Validate()
}

// HistoryOptions say how tickets of past days become a profile.
type HistoryOptions struct {
	Location *time.Location // the hall's time zone
	// Slot is the length of the arrival slots (default one hour).
	Slot time.Duration
}

// ProfileFromHistory builds a profile from a hall's recorded tickets: the
// mean arrivals per slot of the days that had tickets, the handling times
// of the tickets done (from the call to done, with outliers above six
// times the median held at that), the share of no-shows and of the green
// channel. Counters are the hall's, staffed in its opening hours (or over
// the day of the arrivals).
func ProfileFromHistory(h *civiq.Hall, svcs []civiq.Service, counters []civiq.Counter, tickets []civiq.Ticket, o HistoryOptions) (*Profile, error) {
	loc := o.Location
	if loc == nil {
		loc = h.Location()
	}
	slot := o.Slot
	if slot <= 0 {
		slot = time.Hour
	}
	if slot > time.Hour || time.Hour%slot != 0 {
		return nil, errors.New("the slot must divide an hour")
	}
	p := &Profile{Name: h.Name, Policy: h.Policy, TargetMinutes: DefaultTarget / 60}
	behind := h.LateReturnBehind
	p.LateReturnBehind = &behind
	days := map[string]bool{}
	type acc struct {
		slots     map[int]int
		durations []float64
	}
	per := map[string]*acc{}
	for _, s := range svcs {
		per[s.ID] = &acc{slots: map[int]int{}}
	}
	called, noShows, priority := 0, 0, 0
	for _, t := range tickets {
		a := per[t.ServiceID]
		if a == nil {
			continue
		}
		local := t.IssuedAt.In(loc)
		days[local.Format(time.DateOnly)] = true
		sec := local.Hour()*3600 + local.Minute()*60 + local.Second()
		a.slots[sec/int(slot.Seconds())]++
		if t.Priority == civiq.PriorityPriority {
			priority++
		}
		if t.CalledAt != nil || t.NoShowAt != nil {
			called++
		}
		if t.Status == civiq.StatusNoShow {
			noShows++
		}
		if t.Status == civiq.StatusDone && t.CalledAt != nil && t.DoneAt != nil {
			a.durations = append(a.durations, t.DoneAt.Sub(*t.CalledAt).Seconds())
		}
	}
	if len(days) == 0 {
		return nil, errors.New("the hall has no ticket in the days read")
	}
	n := float64(len(days))
	perHour := float64(time.Hour / slot)
	total := 0
	for _, s := range svcs {
		a := per[s.ID]
		sp := ServiceProfile{ID: s.ID, Prefix: s.Prefix, Name: s.Name, ArrivalsPerHour: map[string]float64{}}
		for k, cnt := range a.slots {
			sp.ArrivalsPerHour[FormatClock(float64(k)*slot.Seconds())] = round2(float64(cnt) / n * perHour)
			total += cnt
		}
		mean, cv := RobustMoments(a.durations)
		if mean <= 0 {
			mean, cv = civiq.DefaultHandlingSeconds, 1
		}
		sp.HandlingMinutes, sp.HandlingCV = round2(mean/60), round2(cv)
		if sp.HandlingCV <= 0 {
			sp.HandlingDist = DistDeterministic
		}
		p.Services = append(p.Services, sp)
	}
	if total > 0 {
		p.PriorityShare = round2(float64(priority) / float64(total))
	}
	if called > 0 {
		p.NoShow = round2(float64(noShows) / float64(called))
	}
	var hours []string
	if h.OpensAt != "" && h.ClosesAt != "" && h.OpensAt < h.ClosesAt {
		hours = []string{h.OpensAt + "-" + h.ClosesAt}
	}
	for _, c := range counters {
		p.Counters = append(p.Counters, CounterProfile{ID: c.ID, Services: c.ServiceIDs, Hours: hours})
	}
	if _, err := p.Config(1, 1); err != nil {
		return nil, err
	}
	return p, nil
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// RobustMoments gives the mean and coefficient of variation of durations,
// with values above six times the median held at that (a ticket finished
// hours late by a forgotten click should not move the mean much).
func RobustMoments(d []float64) (mean, cv float64) {
	if len(d) == 0 {
		return 0, 0
	}
	w := civiq.Winsorize(d, civiq.OutlierFactor)
	var s, s2 float64
	for _, x := range w {
		s += x
		s2 += x * x
	}
	n := float64(len(w))
	mean = s / n
	if mean <= 0 {
		return 0, 0
	}
	v := max(s2/n-mean*mean, 0)
	return mean, math.Sqrt(v) / mean
}
