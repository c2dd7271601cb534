package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/civiq/civiq"
)

// ETAOptions configure EvaluateETA.
type ETAOptions struct {
	Profile *Profile
	Seed    uint64
	// Days measured, after one day that is replayed first so that the
	// hall has a history, as a real hall does (default 2).
	Days int
	// Store is an empty store the replay fills (a hall "sim"); the caller
	// opens it and closes it (cmd/civiq opens a SQLite file in a
	// temporary directory).
	Store civiq.Store
	// Date is the first day replayed (default 2025-03-03), in the hall's
	// time zone Asia/Shanghai.
	Date time.Time
}

// ETAReport compares the expected waits the engine gave at issue with the
// waits that followed.
type ETAReport struct {
	Days    int `json:"days"`
	Tickets int `json:"tickets"`
	// MeanWait is the mean of the waits that followed (issue to first
	// call), in seconds.
	MeanWait float64 `json:"mean_wait_seconds"`
	// MAE is the mean absolute error of eta_seconds at issue; MAERatio
	// MAE over MeanWait.
	MAE      float64 `json:"mae_seconds"`
	MAERatio float64 `json:"mae_ratio"`
	Bias     float64 `json:"bias_seconds"` // mean of eta minus wait
	// NaiveMAE is the error of the naive estimate: people ahead times the
	// mean handling time (last 20 done) over the open counters of the
	// service. Improvement is 1 - MAE/NaiveMAE.
	NaiveMAE    float64 `json:"naive_mae_seconds"`
	Improvement float64 `json:"improvement_over_naive"`
	// PreviousMAE is the error of the estimate civiq gave before
	// (EstimateWait with the mean serving time).
	PreviousMAE float64            `json:"previous_mae_seconds"`
	Services    []ETAServiceReport `json:"services"`
	Samples     []ETASample        `json:"-"`
	Elapsed     time.Duration      `json:"-"`
}

// ETAServiceReport is the part of an ETAReport for one service.
type ETAServiceReport struct {
	ID       string  `json:"id"`
	Tickets  int     `json:"tickets"`
	MeanWait float64 `json:"mean_wait_seconds"`
	MAE      float64 `json:"mae_seconds"`
	NaiveMAE float64 `json:"naive_mae_seconds"`
}

// ETASample is one ticket of the replay.
type ETASample struct {
	Service  string
	Issued   time.Time
	Position int
	ETA      float64 // what the engine said at issue
	Naive    float64
	Previous float64
	Wait     float64 // what followed
}

// replay events.
const (
	rvArrive = iota
	rvStart
	rvFinish
	rvGiveUp // the counter marks a no-show
	rvReturn
	rvOpen
	rvClose
)

type rcounter struct {
	id        string
	services  []string
	hours     []Interval
	working   bool
	busy      bool
	closing   bool
	draining  bool
	idleSince float64
	ticket    string
	// clerk is who opens it: signed in there, so that it calls
	// (civiq.Counter.Calls), as a hall's clerk opening their counter is.
	clerk civiq.Principal
}

// EvaluateETA replays simulated days of a profile through the real
// calling engine (civiq.Engine on o.Store, with a clock it drives):
// citizens take tickets, counters call the next ticket as soon as they are
// free, start, finish, mark no-shows and take late arrivals back. It
// records the eta_seconds each ticket was given at issue and compares it
// with the wait that followed.
func EvaluateETA(ctx context.Context, o ETAOptions) (*ETAReport, error) {
	start := time.Now()
	p := o.Profile
	if p == nil {
		p = DemoProfile()
	}
	days := o.Days
	if days <= 0 {
		days = 2
	}
	cfg, err := p.Config(o.Seed, days+1)
	if err != nil {
		return nil, err
	}
	store := o.Store
	if store == nil {
		return nil, errors.New("EvaluateETA needs an empty store to replay into")
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, err
	}
	date := o.Date
	if date.IsZero() {
		date = time.Date(2025, 3, 3, 0, 0, 0, 0, loc)
	}
	r := &replayer{ctx: ctx, cfg: &cfg, store: store, eng: civiq.NewEngine(store), hall: "sim"}
	r.eng.Now = func() time.Time { return r.now }
	r.now = date
	if err := r.setup(p); err != nil {
		return nil, err
	}
	rep := &ETAReport{Days: days}
	for d := 0; d <= days; d++ {
		midnight := time.Date(date.Year(), date.Month(), date.Day()+d, 0, 0, 0, 0, loc)
		samples, err := r.day(midnight, cfg.customers(d))
		if err != nil {
			return nil, fmt.Errorf("day %d: %w", d+1, err)
		}
		if d > 0 {
			rep.Samples = append(rep.Samples, samples...)
		}
	}
	rep.summarize(cfg.Services)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func (rep *ETAReport) summarize(svcs []Service) {
	type acc struct{ n, wait, mae, naive, prev, bias float64 }
	var all acc
	per := map[string]*acc{}
	for _, s := range rep.Samples {
		a := per[s.Service]
		if a == nil {
			a = &acc{}
			per[s.Service] = a
		}
		for _, x := range []*acc{a, &all} {
			x.n++
			x.wait += s.Wait
			x.mae += math.Abs(s.ETA - s.Wait)
			x.naive += math.Abs(s.Naive - s.Wait)
			x.prev += math.Abs(s.Previous - s.Wait)
			x.bias += s.ETA - s.Wait
		}
	}
	rep.Tickets = int(all.n)
	if all.n == 0 {
		return
	}
	rep.MeanWait, rep.MAE, rep.NaiveMAE, rep.PreviousMAE, rep.Bias = all.wait/all.n, all.mae/all.n, all.naive/all.n, all.prev/all.n, all.bias/all.n
	if rep.MeanWait > 0 {
		rep.MAERatio = rep.MAE / rep.MeanWait
	}
	if rep.NaiveMAE > 0 {
		rep.Improvement = 1 - rep.MAE/rep.NaiveMAE
	}
	for _, s := range svcs {
		if a := per[s.ID]; a != nil {
			rep.Services = append(rep.Services, ETAServiceReport{ID: s.ID, Tickets: int(a.n), MeanWait: a.wait / a.n, MAE: a.mae / a.n, NaiveMAE: a.naive / a.n})
		}
	}
}

type replayer struct {
	ctx      context.Context
	cfg      *Config
	store    civiq.Store
	eng      *civiq.Engine
	hall     string
	now      time.Time
	midnight time.Time
	counters []*rcounter
	events   eventHeap
	seq      uint64
	// per day
	cust    []Customer
	byID    map[string]int
	ids     []string
	called  []bool
	back    []bool // returned after a no-show
	samples []ETASample
}

func (r *replayer) setup(p *Profile) error {
	h := &civiq.Hall{ID: r.hall, Name: "simulated hall", Timezone: "Asia/Shanghai", Policy: r.cfg.Policy,
		MaxCalls: 3, LateReturnBehind: r.cfg.LateReturnBehind, AllowRemote: true}
	if err := r.eng.SaveHall(r.ctx, h); err != nil {
		return err
	}
	for i, s := range r.cfg.Services {
		prefix := ""
		if i < len(p.Services) {
			prefix = p.Services[i].Prefix
		}
		if prefix == "" {
			prefix = string(rune('A'+i%26)) + []string{"", "A", "B", "C"}[min(i/26, 3)]
		}
		if err := r.eng.SaveService(r.ctx, &civiq.Service{HallID: r.hall, ID: s.ID, Prefix: prefix, Name: s.ID, Position: i}, civiq.KeepQuotas{}); err != nil {
			return err
		}
	}
	for _, c := range r.cfg.Counters {
		if err := r.eng.SaveCounter(r.ctx, &civiq.Counter{HallID: r.hall, ID: c.ID, Name: c.ID, ServiceIDs: c.Services}); err != nil {
			return err
		}
		if _, err := r.eng.SetCounterStatus(r.ctx, r.hall, c.ID, civiq.CounterClosed, "", nil); err != nil {
			return err
		}
		clerk := civiq.Principal{User: &civiq.User{ID: int64(len(r.counters) + 1), Username: "clerk-" + c.ID, Role: civiq.RoleStaff,
			HallIDs: []string{r.hall}}}
		r.counters = append(r.counters, &rcounter{id: c.ID, services: c.Services, hours: c.Hours, clerk: clerk})
	}
	return nil
}

func (r *replayer) at(sec float64) time.Time {
	return r.midnight.Add(time.Duration(sec * float64(time.Second)))
}

func (r *replayer) schedule(sec float64, kind uint8, idx int, last bool) {
	r.seq++
	r.events.push(event{at: sec, seq: r.seq, kind: kind, idx: int32(idx), last: last})
}

// day replays one day and returns its samples.
func (r *replayer) day(midnight time.Time, cust []Customer) ([]ETASample, error) {
	r.midnight, r.cust = midnight, cust
	r.byID = map[string]int{}
	r.ids = make([]string, len(cust))
	r.called = make([]bool, len(cust))
	r.back = make([]bool, len(cust))
	r.samples = r.samples[:0:0]
	r.events = r.events[:0]
	for ci, c := range r.counters {
		for k, h := range c.hours {
			r.schedule(h.From, rvOpen, ci, false)
			r.schedule(h.To, rvClose, ci, k == len(c.hours)-1)
		}
	}
	for i, cu := range cust {
		r.schedule(cu.Arrival, rvArrive, i, false)
	}
	for len(r.events) > 0 {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		e := r.events.pop()
		r.now = r.at(e.at)
		i := int(e.idx)
		switch e.kind {
		case rvArrive:
			cu := &cust[i]
			req := civiq.IssueRequest{HallID: r.hall, ServiceID: r.cfg.Services[cu.Service].ID, Channel: civiq.ChannelKiosk}
			if cu.Priority {
				req.PriorityGroup = "elderly"
			}
			t, err := r.eng.IssueTicket(r.ctx, req, nil)
			if err != nil {
				return nil, err
			}
			r.byID[t.ID], r.ids[i] = i, t.ID
			naive, prev, err := r.naive(t)
			if err != nil {
				return nil, err
			}
			r.samples = append(r.samples, ETASample{Service: t.ServiceID, Issued: t.IssuedAt, Position: *t.Position,
				ETA: float64(*t.ETASeconds), Naive: naive, Previous: prev})
			if err := r.wake(t.ServiceID); err != nil {
				return nil, err
			}
		case rvStart:
			if _, err := r.eng.Act(r.ctx, civiq.ActRequest{TicketID: r.ids[i], Action: civiq.ActStart}, nil); err != nil {
				return nil, err
			}
		case rvFinish, rvGiveUp:
			c := r.counters[i]
			action := civiq.ActFinish
			if e.kind == rvGiveUp {
				action = civiq.ActNoShow
			}
			if _, err := r.eng.Act(r.ctx, civiq.ActRequest{TicketID: c.ticket, Action: action}, nil); err != nil {
				return nil, err
			}
			if e.kind == rvGiveUp {
				ci := r.byID[c.ticket]
				if ra := cust[ci].ReturnAfter; ra > 0 {
					r.schedule(e.at+ra, rvReturn, ci, false)
				}
			}
			c.busy, c.ticket, c.idleSince = false, "", e.at
			if c.closing {
				if err := r.setStatus(c, civiq.CounterPaused); err != nil {
					return nil, err
				}
				continue
			}
			if err := r.call(c); err != nil {
				return nil, err
			}
		case rvReturn:
			r.back[i] = true
			if _, err := r.eng.Act(r.ctx, civiq.ActRequest{TicketID: r.ids[i], Action: civiq.ActReturn}, nil); err != nil {
				return nil, err
			}
			if err := r.wake(r.cfg.Services[cust[i].Service].ID); err != nil {
				return nil, err
			}
		case rvOpen:
			c := r.counters[i]
			c.closing, c.draining = false, false
			if !c.working {
				if err := r.setStatus(c, civiq.CounterOpen); err != nil {
					return nil, err
				}
			}
			if !c.busy {
				c.idleSince = e.at
				if err := r.call(c); err != nil {
					return nil, err
				}
			}
		case rvClose:
			c := r.counters[i]
			if e.last {
				c.draining = true
				if !c.busy {
					if err := r.call(c); err != nil {
						return nil, err
					}
				}
				continue
			}
			if c.busy {
				c.closing = true
				continue
			}
			if err := r.setStatus(c, civiq.CounterPaused); err != nil {
				return nil, err
			}
		}
	}
	for i, ok := range r.called {
		if !ok {
			return nil, fmt.Errorf("ticket %d (%s) was never called", i, r.ids[i])
		}
	}
	// Late arrivals who came back after the counters closed go home.
	for i, back := range r.back {
		if !back {
			continue
		}
		t, err := r.eng.Ticket(r.ctx, r.ids[i])
		if err != nil {
			return nil, err
		}
		if t.Status == civiq.StatusWaiting {
			if _, err := r.eng.Act(r.ctx, civiq.ActRequest{TicketID: t.ID, Action: civiq.ActCancel}, nil); err != nil {
				return nil, err
			}
		}
	}
	return r.samples, nil
}

func (r *replayer) setStatus(c *rcounter, status string) error {
	reason := ""
	if status == civiq.CounterPaused {
		reason = "午休 lunch"
	}
	if _, err := r.eng.SetCounterStatus(civiq.WithActor(r.ctx, c.clerk), r.hall, c.id, status, reason, nil); err != nil {
		return err
	}
	c.working = status == civiq.CounterOpen
	return nil
}

// wake lets the counter idle the longest among those serving service call.
func (r *replayer) wake(service string) error {
	var best *rcounter
	for _, c := range r.counters {
		if !c.working || c.busy || c.closing || !slices.Contains(c.services, service) {
			continue
		}
		if best == nil || c.idleSince < best.idleSince {
			best = c
		}
	}
	if best == nil {
		return nil
	}
	return r.call(best)
}

// call has a free, working counter call its next ticket.
func (r *replayer) call(c *rcounter) error {
	if !c.working {
		return nil
	}
	t, err := r.eng.CallNext(r.ctx, r.hall, c.id, nil)
	if err != nil {
		return err
	}
	if t == nil {
		if c.draining {
			return r.setStatus(c, civiq.CounterClosed)
		}
		return nil
	}
	i, ok := r.byID[t.ID]
	if !ok {
		return fmt.Errorf("counter %s called an unknown ticket %s", c.id, t.Number)
	}
	sec := r.now.Sub(r.midnight).Seconds()
	if !r.called[i] {
		r.called[i] = true
		r.recordWait(i, r.now.Sub(t.IssuedAt).Seconds())
	}
	c.busy, c.ticket = true, t.ID
	cu := &r.cust[i]
	if cu.NoShow && !r.back[i] {
		r.schedule(sec+r.noShowSeconds(), rvGiveUp, r.counterIndex(c), false)
		return nil
	}
	walk := min(30, cu.Handling/4)
	r.schedule(sec+walk, rvStart, i, false)
	r.schedule(sec+cu.Handling, rvFinish, r.counterIndex(c), false)
	return nil
}

func (r *replayer) recordWait(i int, w float64) {
	// Samples are appended in arrival order, one per customer.
	r.samples[i].Wait = w
}

func (r *replayer) noShowSeconds() float64 {
	if r.cfg.NoShowSeconds > 0 {
		return r.cfg.NoShowSeconds
	}
	return DefaultNoShowSeconds
}

func (r *replayer) counterIndex(c *rcounter) int {
	for i, x := range r.counters {
		if x == c {
			return i
		}
	}
	return -1
}

// naive gives the naive estimate for a just issued ticket (people ahead
// times the mean handling of the last 20 done, over the open counters of
// its service) and the estimate civiq gave before (EstimateWait with the
// mean serving time).
func (r *replayer) naive(t *civiq.Ticket) (naive, previous float64, err error) {
	err = r.store.View(r.ctx, func(tx civiq.Tx) error {
		samples, err := tx.RecentHandling(t.HallID, t.ServiceID, 20)
		if err != nil {
			return err
		}
		mean := float64(civiq.DefaultHandlingSeconds)
		if len(samples) > 0 {
			sum := 0.0
			for _, s := range samples {
				sum += s.DoneAt.Sub(s.CalledAt).Seconds()
			}
			mean = sum / float64(len(samples))
		}
		serving, _, err := tx.MeanHandling(t.HallID, t.ServiceID, 20, civiq.MinHandlingSeconds)
		if err != nil {
			return err
		}
		counters, err := tx.Counters(t.HallID)
		if err != nil {
			return err
		}
		open := 0
		for _, c := range counters {
			if c.Status == civiq.CounterOpen && c.Serves(t.ServiceID) {
				open++
			}
		}
		naive = float64(*t.Position) * mean / float64(max(open, 1))
		previous = float64(civiq.EstimateWait(*t.Position, serving, open))
		return nil
	})
	return naive, previous, err
}
