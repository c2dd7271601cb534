package sim

import (
	"context"
	"math"
	"slices"
	"sort"

	"github.com/civiq/civiq"
)

// Result is what a simulation measured. Waits run from the issue of a
// ticket to its first call, in seconds.
type Result struct {
	Customers int // citizens counted (after the warm-up), every day
	Called    int // of which called at least once
	NoShows   int
	Returned  int // no-shows who came back
	Unserved  int // still waiting when every counter had closed

	MeanWait     float64
	P90Wait      float64
	MaxWait      float64
	WithinTarget float64 // share of counted citizens called within the target
	Target       float64
	// Utilisation is the counters' busy time over their staffed time.
	Utilisation float64

	Services []ServiceResult
	Counters []CounterResult
}

// ServiceResult is the part of a Result for one service.
type ServiceResult struct {
	ID           string  `json:"id"`
	Customers    int     `json:"customers"`
	MeanWait     float64 `json:"mean_wait_seconds"`
	P90Wait      float64 `json:"p90_wait_seconds"`
	MaxWait      float64 `json:"max_wait_seconds"`
	WithinTarget float64 `json:"within_target"`
}

// CounterResult is the part of a Result for one counter.
type CounterResult struct {
	ID          string  `json:"id"`
	Called      int     `json:"called"`
	BusySeconds float64 `json:"busy_seconds"`
	OpenSeconds float64 `json:"open_seconds"`
	Utilisation float64 `json:"utilisation"`
}

// Run simulates the config's days and returns the pooled statistics.
func Run(cfg Config) (*Result, error) { return RunContext(context.Background(), cfg) }

// RunContext is Run that stops with the context's error, between days,
// when ctx ends.
func RunContext(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	days := max(cfg.Days, 1)
	target := cfg.Target
	if target <= 0 {
		target = DefaultTarget
	}
	res := &Result{Target: target}
	waits := make([][]float64, len(cfg.Services))
	counters := make([]CounterResult, len(cfg.Counters))
	for i, c := range cfg.Counters {
		counters[i].ID = c.ID
	}
	for d := range days {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		day := newDay(&cfg, cfg.customers(d))
		day.run()
		for i, cu := range day.cust {
			if i < cfg.Warmup {
				continue
			}
			res.Customers++
			st := &day.state[i]
			if st.noShow {
				res.NoShows++
			}
			if st.returned {
				res.Returned++
			}
			if !st.called {
				res.Unserved++
				continue
			}
			res.Called++
			waits[cu.Service] = append(waits[cu.Service], st.wait)
		}
		for i := range day.counters {
			counters[i].Called += day.counters[i].called
			counters[i].BusySeconds += day.counters[i].busy
			counters[i].OpenSeconds += day.counters[i].open
		}
	}
	var all []float64
	for i, s := range cfg.Services {
		sr := ServiceResult{ID: s.ID}
		sr.Customers, sr.MeanWait, sr.P90Wait, sr.MaxWait, sr.WithinTarget = summarize(waits[i], target)
		res.Services = append(res.Services, sr)
		all = append(all, waits[i]...)
	}
	_, res.MeanWait, res.P90Wait, res.MaxWait, res.WithinTarget = summarize(all, target)
	if res.Customers > 0 {
		// Unserved citizens were not called within the target.
		res.WithinTarget *= float64(res.Called) / float64(res.Customers)
	}
	var busy, open float64
	for i := range counters {
		c := &counters[i]
		if c.OpenSeconds > 0 {
			c.Utilisation = c.BusySeconds / c.OpenSeconds
		}
		busy += c.BusySeconds
		open += c.OpenSeconds
	}
	if open > 0 {
		res.Utilisation = busy / open
	}
	res.Counters = counters
	return res, nil
}

// summarize gives the count, mean, 90th percentile (nearest rank), max and
// share within target of waits; it reorders waits.
func summarize(waits []float64, target float64) (n int, mean, p90, maxw, within float64) {
	n = len(waits)
	if n == 0 {
		return 0, 0, 0, 0, 0
	}
	sum, in := 0.0, 0
	// Only positive waits need sorting: many citizens do not wait at all.
	pos := waits[:0:0]
	zeros := 0
	for _, w := range waits {
		sum += w
		if w <= target {
			in++
		}
		if w > 0 {
			pos = append(pos, w)
		} else {
			zeros++
		}
		maxw = max(maxw, w)
	}
	rank := int(math.Ceil(0.9*float64(n))) - 1 // 0-based nearest rank
	if rank >= zeros {
		slices.Sort(pos)
		p90 = pos[rank-zeros]
	}
	return n, sum / float64(n), p90, maxw, float64(in) / float64(n)
}

// Events of the simulation.
const (
	evDone   = iota // a counter is through with its citizen
	evReturn        // a no-show comes back
	evOpen          // a counter starts an interval of its hours
	evClose         // a counter ends an interval
)

type event struct {
	at   float64
	seq  uint64
	kind uint8
	idx  int32 // counter or customer
	last bool  // evClose: the counter's last interval
}

// eventHeap is a binary min-heap on (at, seq): ties go in the order the
// events were scheduled, so a run is the same every time.
type eventHeap []event

func (h eventHeap) less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a.less(i, p) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *eventHeap) pop() event {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a.less(l, m) {
			m = l
		}
		if r < n && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

// queue holds the citizens waiting in one class of one service, in calling
// order (by place, then arrival, then number).
type queue struct {
	ids  []int32
	head int
}

func (q *queue) len() int { return len(q.ids) - q.head }

func (q *queue) front() int32 { return q.ids[q.head] }

func (q *queue) pop() int32 {
	v := q.ids[q.head]
	q.head++
	if q.head > 1024 && q.head*2 > len(q.ids) {
		q.ids = append(q.ids[:0], q.ids[q.head:]...)
		q.head = 0
	}
	return v
}

type custState struct {
	place    float64 // place in time (the arrival; moved for a late return)
	wait     float64
	called   bool
	noShow   bool
	returned bool
}

type counterState struct {
	services  []int // indexes, in calling order
	rank      []int // rank[service] = position in services, -1 if not served
	hours     []Interval
	open      float64 // staffed seconds
	busy      float64
	called    int
	working   bool // staffed now (or going on after its last interval)
	draining  bool // past its last interval: closes when nobody waits
	closing   bool // closes when the current citizen is done
	busyNow   bool
	since     float64 // start of the current staffed span
	idleSince float64
}

type day struct {
	cfg      *Config
	cust     []Customer
	state    []custState
	prio     []queue
	normal   []queue
	counters []counterState
	servedBy [][]int // service -> counters
	events   eventHeap
	seq      uint64
	now      float64
	policy   string
	noShowS  float64
}

func newDay(cfg *Config, cust []Customer) *day {
	d := &day{cfg: cfg, cust: cust, state: make([]custState, len(cust)),
		prio: make([]queue, len(cfg.Services)), normal: make([]queue, len(cfg.Services)),
		counters: make([]counterState, len(cfg.Counters)), servedBy: make([][]int, len(cfg.Services)),
		policy: cfg.Policy, noShowS: cfg.NoShowSeconds}
	if d.policy == "" {
		d.policy = civiq.PolicyFIFO
	}
	if d.noShowS <= 0 {
		d.noShowS = DefaultNoShowSeconds
	}
	index := map[string]int{}
	for i, s := range cfg.Services {
		index[s.ID] = i
	}
	for ci, c := range cfg.Counters {
		cs := &d.counters[ci]
		cs.rank = make([]int, len(cfg.Services))
		for i := range cs.rank {
			cs.rank[i] = -1
		}
		for r, s := range c.Services {
			si := index[s]
			if cs.rank[si] >= 0 {
				continue
			}
			cs.services = append(cs.services, si)
			cs.rank[si] = r
			d.servedBy[si] = append(d.servedBy[si], ci)
		}
		cs.hours = c.Hours
		if len(cs.hours) == 0 {
			cs.hours = []Interval{{From: math.Inf(-1), To: math.Inf(1)}}
		}
		for i, h := range cs.hours {
			d.schedule(event{at: h.From, kind: evOpen, idx: int32(ci)})
			d.schedule(event{at: h.To, kind: evClose, idx: int32(ci), last: i == len(cs.hours)-1})
		}
	}
	return d
}

func (d *day) schedule(e event) {
	d.seq++
	e.seq = d.seq
	d.events.push(e)
}

// run plays the day: arrivals in order, merged with the counters' events.
func (d *day) run() {
	next := 0
	end := 0.0
	for {
		arrival := next < len(d.cust)
		if arrival && len(d.events) > 0 && d.events[0].at <= d.cust[next].Arrival {
			arrival = false
		}
		if !arrival && len(d.events) == 0 {
			break
		}
		if arrival {
			i := next
			next++
			d.now = d.cust[i].Arrival
			d.state[i].place = d.now
			d.enqueue(i)
			end = d.now
			continue
		}
		e := d.events.pop()
		if math.IsInf(e.at, 1) {
			// Counters without hours stop when nothing else is left.
			d.now = end
			d.close(int(e.idx), true)
			continue
		}
		if !math.IsInf(e.at, -1) {
			d.now = e.at
			end = max(end, d.now)
		}
		switch e.kind {
		case evDone:
			c := &d.counters[e.idx]
			c.busyNow = false
			c.idleSince = d.now
			if c.closing {
				d.stop(int(e.idx))
			} else {
				d.dispatch(int(e.idx))
			}
		case evReturn:
			i := int(e.idx)
			d.state[i].returned = true
			s := d.cust[i].Service
			d.state[i].place = d.returnPlace(s)
			d.enqueue(i)
		case evOpen:
			c := &d.counters[e.idx]
			if !c.working {
				c.since = d.now
			}
			c.working, c.closing, c.draining = true, false, false
			if !c.busyNow {
				c.idleSince = d.now
				d.dispatch(int(e.idx))
			}
		case evClose:
			d.close(int(e.idx), e.last)
		}
	}
	// Close the books of counters still staffed (draining at the end).
	for ci := range d.counters {
		if d.counters[ci].working {
			d.stop(ci)
		}
	}
}

func (d *day) close(ci int, last bool) {
	c := &d.counters[ci]
	if !c.working {
		return
	}
	if last {
		c.draining = true
		if !c.busyNow {
			d.dispatch(ci)
		}
		return
	}
	if c.busyNow {
		c.closing = true
		return
	}
	d.stop(ci)
}

func (d *day) stop(ci int) {
	c := &d.counters[ci]
	if !c.working {
		return
	}
	c.working, c.closing, c.draining = false, false, false
	c.open += d.now - c.since
}

// enqueue puts citizen i in its queue by its place and lets an idle counter
// call.
func (d *day) enqueue(i int) {
	cu := &d.cust[i]
	q := &d.normal[cu.Service]
	if cu.Priority {
		q = &d.prio[cu.Service]
	}
	n := q.len()
	if n == 0 || !d.lessID(i, int(q.ids[len(q.ids)-1])) {
		q.ids = append(q.ids, int32(i))
	} else {
		k := q.head + sort.Search(n, func(k int) bool { return d.lessID(i, int(q.ids[q.head+k])) })
		q.ids = slices.Insert(q.ids, k, int32(i))
	}
	// The counter idle the longest calls.
	best := -1
	for _, ci := range d.servedBy[cu.Service] {
		c := &d.counters[ci]
		if !c.working || c.busyNow || c.closing {
			continue
		}
		if best < 0 || c.idleSince < d.counters[best].idleSince {
			best = ci
		}
	}
	if best >= 0 {
		d.dispatch(best)
	}
}

// lessID orders two citizens of one queue as civiq.QueueLess does.
func (d *day) lessID(a, b int) bool {
	pa, pb := d.state[a].place, d.state[b].place
	if pa != pb {
		return pa < pb
	}
	if d.cust[a].Arrival != d.cust[b].Arrival {
		return d.cust[a].Arrival < d.cust[b].Arrival
	}
	return a < b
}

// returnPlace is civiq.ReturnPlace for the normal queue of service s: just
// behind the LateReturnBehind-th waiting citizen.
func (d *day) returnPlace(s int) float64 {
	q := &d.normal[s]
	n, behind := q.len(), d.cfg.LateReturnBehind
	if behind <= 0 {
		if n > 0 {
			return math.Nextafter(d.state[q.front()].place, math.Inf(-1))
		}
		return d.now
	}
	if n < behind {
		return d.now
	}
	last := d.state[q.ids[q.head+behind-1]].place
	if n > behind {
		next := d.state[q.ids[q.head+behind]].place
		if next > last {
			return last + (next-last)/2
		}
	}
	return math.Nextafter(last, math.Inf(1))
}

// pick chooses the next citizen for counter ci as civiq.PickNext does:
// green channel first, then by the hall's policy. It returns the queue.
func (d *day) pick(ci int) *queue {
	c := &d.counters[ci]
	var best *queue
	bestID, bestPrio, bestRank := -1, false, 0
	for _, s := range c.services {
		for k, q := range []*queue{&d.prio[s], &d.normal[s]} {
			if q.len() == 0 {
				continue
			}
			id, prio, rank := int(q.front()), k == 0, c.rank[s]
			better := best == nil
			if !better {
				switch {
				case prio != bestPrio:
					better = prio
				case d.policy == civiq.PolicyServiceOrder && rank != bestRank:
					better = rank < bestRank
				default:
					better = d.lessID(id, bestID)
				}
			}
			if better {
				best, bestID, bestPrio, bestRank = q, id, prio, rank
			}
		}
	}
	return best
}

// dispatch lets an idle staffed counter call its next citizen.
func (d *day) dispatch(ci int) {
	c := &d.counters[ci]
	q := d.pick(ci)
	if q == nil {
		if c.draining {
			d.stop(ci)
		}
		return
	}
	i := int(q.pop())
	st, cu := &d.state[i], &d.cust[i]
	if !st.called {
		st.called = true
		st.wait = d.now - cu.Arrival
	}
	c.called++
	dur := cu.Handling
	if cu.NoShow && !st.returned {
		dur = d.noShowS
		st.noShow = true
		if cu.ReturnAfter > 0 {
			d.schedule(event{at: d.now + dur + cu.ReturnAfter, kind: evReturn, idx: int32(i)})
		}
	}
	c.busyNow = true
	c.busy += dur
	d.schedule(event{at: d.now + dur, kind: evDone, idx: int32(ci)})
}
