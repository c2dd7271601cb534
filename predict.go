package civiq

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// The expected wait of a waiting ticket.
//
// The naive estimate (EstimateWait: people ahead times the mean handling
// time over the open counters of the service) is wrong wherever counters
// serve several services, as in most halls: the open counters of general
// intake also call property and social tickets, so a general ticket waits
// far longer than its own queue suggests. PredictWait instead replays the
// hall's next calls in a small deterministic simulation: the tickets that
// will be called before this one in every queue its counters serve (their
// number read from the store, their places spread evenly between the oldest
// and now), the counters open for it and what else they serve, how long
// each busy counter still needs for its current citizen, and the robust
// recent handling time of each service; green-channel tickets expected to
// arrive meanwhile, and under service-order the tickets of services a
// counter takes first, are fed in as they would come. The ticket's call in
// that replay is its expected wait; when the queue is short the replay is
// played again with handling times drawn from the recent ones (from a
// fixed seed, so the same state gives the same answer) and the median call
// time is taken. docs/simulate.md describes it, BENCHMARKS.md measures it.

// Tuning of the prediction.
const (
	// RecentHandlingN is how many recently done tickets of a service the
	// handling time is taken from.
	RecentHandlingN = 100
	// OutlierFactor: a duration above this many times the median is held
	// at that, so one ticket finished hours late does not move the mean.
	OutlierFactor = 6
	// priorSamples is how many samples the default handling time weighs
	// against few real ones.
	priorSamples = 3
	// handlingTTL is how long recent handling statistics are reused.
	handlingTTL = time.Minute
	// MinWaitSeconds is the least wait predicted, so that a ticket about
	// to be called at a free counter still shows a wait above zero.
	MinWaitSeconds = 1
	// PausedReturnSeconds is when a paused counter (暂离) is expected back.
	PausedReturnSeconds = 600
	// predictRuns is how many times a short queue is replayed with drawn
	// handling times (WaitModel.Runs).
	predictRuns = 21
	// overtakeHorizon: tickets expected to arrive later than this are not
	// fed into the replay; the rate they would come at is not known that
	// far ahead.
	overtakeHorizon = 3600
	// maxArrivalGap: a longer gap between two issues (the night) is left
	// out of the arrival rate.
	maxArrivalGap = 3600
	// maxSimTickets bounds the tickets the replay moves one by one; a
	// longer queue is moved in lumps, so a prediction costs the same
	// however long the queue.
	maxSimTickets = 200
)

// HandlingSample is one ticket done at a counter, as the prediction reads
// it from the store.
type HandlingSample struct {
	IssuedAt time.Time
	CalledAt time.Time
	DoneAt   time.Time
	Priority bool
}

// Winsorize returns a copy of d with every value above factor times the
// median held at that value.
func Winsorize(d []float64, factor float64) []float64 {
	out := slices.Clone(d)
	if len(out) == 0 {
		return out
	}
	s := slices.Clone(d)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	limit := factor * med
	for i, x := range out {
		if x > limit {
			out[i] = limit
		}
	}
	return out
}

// HandlingStats are a service's recent handling times.
type HandlingStats struct {
	// Mean is the expected counter time of one ticket, in seconds: the
	// winsorized mean of the recent durations of at least
	// MinHandlingSeconds, weighed against the default when there are few.
	Mean float64
	// Sorted are the recent durations learned from, winsorized, in
	// increasing order.
	Sorted []float64
	// Rate and PriorityRate are the recent arrivals per second (all, and
	// green channel), from the issue times of the tickets done.
	Rate, PriorityRate float64
}

// NewHandlingStats summarizes samples of one service (newest first).
// defaultSeconds is the service's configured handling time (the booking
// settings' handling_seconds; 0 for DefaultHandlingSeconds): with little
// or no history the mean leans on it.
func NewHandlingStats(samples []HandlingSample, defaultSeconds float64) HandlingStats {
	d := make([]float64, 0, len(samples))
	for _, s := range samples {
		if x := s.DoneAt.Sub(s.CalledAt).Seconds(); x >= MinHandlingSeconds {
			d = append(d, x)
		}
	}
	w := Winsorize(d, OutlierFactor)
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	st := HandlingStats{Mean: learnedHandling(sum, len(w), defaultSeconds)} // policy.go
	slices.Sort(w)
	st.Sorted = w
	if len(samples) >= 5 {
		// The arrival rate from the gaps between issues, leaving out gaps
		// over an hour (the night, a closed hall).
		issued := make([]time.Time, 0, len(samples))
		prio := 0
		for _, s := range samples {
			issued = append(issued, s.IssuedAt)
			if s.Priority {
				prio++
			}
		}
		slices.SortFunc(issued, func(a, b time.Time) int { return a.Compare(b) })
		var span float64
		gaps := 0
		for i := 1; i < len(issued); i++ {
			if g := issued[i].Sub(issued[i-1]).Seconds(); g <= maxArrivalGap {
				span += g
				gaps++
			}
		}
		if span > 0 && gaps >= 4 {
			st.Rate = float64(gaps) / span
			st.PriorityRate = st.Rate * float64(prio) / float64(len(samples))
		}
	}
	return st
}

// Remaining is how much longer a ticket called elapsed seconds ago is
// expected to keep its counter: the mean excess of the recent durations
// longer than elapsed, or a short while when few were that long.
func (h *HandlingStats) Remaining(elapsed float64) float64 {
	mean := h.Mean
	if mean <= 0 {
		mean = DefaultHandlingSeconds
	}
	elapsed = max(elapsed, 0)
	i, _ := slices.BinarySearch(h.Sorted, elapsed)
	if n := len(h.Sorted) - i; n >= 3 {
		sum := 0.0
		for _, x := range h.Sorted[i:] {
			sum += x - elapsed
		}
		return sum / float64(n)
	}
	if len(h.Sorted) < 10 {
		return max(mean-elapsed, mean/4)
	}
	return mean / 6
}

// WaitModel is a hall at one moment, as the prediction sees it. Ages and
// times are in seconds; "now" is 0.
type WaitModel struct {
	Policy   string
	Services map[string]*ServiceLoad
	Counters []CounterLoad
	// Runs is how many times the replay is played with handling times
	// drawn from the recent ones, when the queue is short enough for it;
	// the median call time is the prediction. 0 or 1: once, with mean
	// handling times.
	Runs int
	// NoShowShare is the share of called tickets that turn out no-shows,
	// each keeping its counter NoShowSeconds.
	NoShowShare   float64
	NoShowSeconds float64
}

// ServiceLoad is one service's queue and pace.
type ServiceLoad struct {
	Handling float64 // expected counter seconds per ticket
	// Durations are recent handling times in increasing order, drawn
	// from when the replay is played more than once.
	Durations []float64
	// Ahead are the waiting tickets of the service that a counter
	// serving it and the predicted ticket's service calls before the
	// predicted ticket under fifo (green channel first, then by place);
	// Behind the other waiting tickets, the predicted ticket excluded.
	Ahead, Behind int
	// OldestAge is how long the first waiting ticket has waited.
	OldestAge float64
	// Rate and PriorityRate are expected arrivals per second.
	Rate, PriorityRate float64
	// DueAppointments are appointment tickets that counters will call
	// before walk-ins in the time to come. Appointments (issue 5) fill it
	// in; zero until then.
	DueAppointments int
}

// CounterLoad is one counter: whether it works, and when it is free.
type CounterLoad struct {
	ServiceIDs []string // in calling order
	// Open: it calls. A counter that is neither open nor Paused is closed.
	Open   bool
	Paused bool
	// Remaining is the expected seconds until it is through with its
	// current citizen; 0 when free. Busy says it has one, of service
	// Current, called Elapsed seconds ago.
	Remaining float64
	Busy      bool
	Current   string
	Elapsed   float64
}

// WaitTarget is the ticket whose wait is predicted.
type WaitTarget struct {
	ServiceID string
	Priority  bool
	Age       float64 // how long it has waited already (its place is -Age)
}

// simTicket is one ticket, or a lump of tickets, in the replay.
type simTicket struct {
	place  float64
	work   float64 // mean counter seconds
	seq    int32
	svc    int16
	lump   bool
	prio   bool
	target bool
}

// simGroup is a run of a service's tickets in the replay: n of them (in
// lumps when there are many) spread evenly from place from to place to,
// in the service's priority queue or its normal one.
type simGroup struct {
	n        int
	from, to float64
	prio     bool
	target   bool // the ticket whose wait is asked (n is 1)
}

// lumpedGroup is a group of tickets in its queue of the replay: its
// tickets, or lumps of lump tickets each, numbered from seq on.
type lumpedGroup struct {
	simGroup
	lump int
	work float64 // mean counter seconds of a ticket
	seq  int32
	svc  int16
}

// ticket is the group's ticket, or lump, that starts with its k-th ticket.
func (g *lumpedGroup) ticket(k int) simTicket {
	c := min(g.lump, g.n-k)
	mid := float64(k) + float64(c)/2
	return simTicket{place: g.from + (g.to-g.from)*mid/float64(g.n), work: float64(c) * g.work, seq: g.seq + int32(k/g.lump),
		svc: g.svc, lump: c > 1, prio: g.prio, target: g.target}
}

// simQueue is a queue of the replay (a service's green channel or its
// normal one): its groups, whose tickets are made only when the replay
// reaches them (of a queue thousands deep it seldom reaches more than a
// few lumps), then the tickets that arrived in the run.
type simQueue struct {
	groups  []lumpedGroup
	arrived []simTicket
	// Where the run is: the k-th ticket of groups[r], then arrived[a];
	// made: the head of groups[r] is made (tk).
	r, k, a int
	made    bool
	tk      simTicket
}

func (q *simQueue) reset() {
	q.r, q.k, q.a, q.made = 0, 0, 0, false
	q.arrived = q.arrived[:0]
}

// head is the queue's first ticket, nil when it is empty.
func (q *simQueue) head() *simTicket {
	if q.made {
		return &q.tk
	}
	if q.r < len(q.groups) {
		q.tk, q.made = q.groups[q.r].ticket(q.k), true
		return &q.tk
	}
	if q.a < len(q.arrived) {
		return &q.arrived[q.a]
	}
	return nil
}

// pop takes the head away.
func (q *simQueue) pop() {
	if !q.made {
		q.a++
		return
	}
	q.made = false
	if q.k += q.groups[q.r].lump; q.k >= q.groups[q.r].n {
		q.r, q.k = q.r+1, 0
	}
}

// simGroups are a service's tickets in the order the replay adds them:
// due appointments first at every counter, like green tickets; those
// ahead, from the oldest to the target's place; in the target's service
// the target; then those behind it, to now.
func simGroups(l *ServiceLoad, isTarget bool, target WaitTarget) [4]simGroup {
	tPlace := min(-target.Age, 0)
	oldest := max(l.OldestAge, -tPlace)
	g := [4]simGroup{
		{n: l.DueAppointments, from: -oldest, to: tPlace, prio: true},
		{n: l.Ahead, from: -oldest, to: tPlace, prio: target.Priority && isTarget},
		{},
		{n: l.Behind, from: tPlace, to: 0},
	}
	if isTarget {
		g[2] = simGroup{n: 1, from: tPlace, to: tPlace, prio: target.Priority, target: true}
	}
	return g
}

// stream brings the tickets of a service that may overtake the target
// while it waits.
type stream struct {
	first, gap float64
	prio       bool
	svc        int
}

type simCounter struct {
	services []int
	rank     []int // by service index; -1 when not served
	free     float64
	remain   float64 // deterministic time to free
	paused   bool
	current  int     // service of the current ticket, -1 when none
	elapsed  float64 // since the current ticket was called
}

// waitSim is the replay of one prediction.
type waitSim struct {
	policy   string
	ids      []string // the services, sorted
	index    map[string]int
	queues   []simQueue    // each service's green channel, then each one's normal queue
	groups   []lumpedGroup // the queues' groups
	streams  []stream
	next     []float64 // a run's next arrival of each stream
	ranks    []int     // the counters' ranks
	services []int     // and services
	calls    []float64 // the drawn runs' calls
	counters []simCounter
	dur      [][]float64 // recent durations per service, sorted
	noShow   float64     // share of no-shows
	noShowS  float64     // counter seconds of a no-show
	mean     []float64
	seq      int32
}

// PredictWait is the expected wait in seconds of the target in the hall m
// describes, and false when no counter that is open or paused serves it.
func PredictWait(m *WaitModel, target WaitTarget) (float64, bool) {
	w := sims.Get().(*waitSim)
	defer w.free()
	ids := w.ids[:0]
	for id := range m.Services {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w.ids = ids
	if w.index == nil {
		w.index = map[string]int{}
	}
	index := w.index
	for i, id := range ids {
		index[id] = i
	}
	ts, ok := index[target.ServiceID]
	if !ok {
		return 0, false
	}
	total := 1
	for _, l := range m.Services {
		total += l.Ahead + l.Behind + l.DueAppointments
	}
	lump := max(1, (total+maxSimTickets-1)/maxSimTickets)
	w.policy, w.noShow, w.noShowS, w.seq = m.Policy, min(max(m.NoShowShare, 0), 1), max(m.NoShowSeconds, 0), 0
	w.dur, w.mean = resize(w.dur, len(ids)), resize(w.mean, len(ids))
	if cap(w.queues) < 2*len(ids) {
		w.queues = make([]simQueue, 2*len(ids))
	} else {
		w.queues = w.queues[:2*len(ids)]
		for i := range w.queues {
			w.queues[i] = simQueue{arrived: w.queues[i].arrived[:0]}
		}
	}
	// The queues' groups share one array, each queue its own part of it.
	groups := slices.Grow(w.groups[:0], 4*len(ids))
	w.streams = w.streams[:0]
	for i, id := range ids {
		l := m.Services[id]
		h := l.Handling
		if h <= 0 {
			h = DefaultHandlingSeconds
		}
		w.dur[i] = l.Durations
		// A ticket ahead may turn out a no-show, over sooner.
		h = (1-m.NoShowShare)*h + m.NoShowShare*m.NoShowSeconds
		w.mean[i] = h
		// The lumps are numbered in the order of the groups.
		gs := simGroups(l, i == ts, target)
		var seq [len(gs)]int32
		for k, g := range gs {
			seq[k] = w.seq + 1
			w.seq += int32((g.n + lump - 1) / lump)
		}
		for q, prio := range [2]bool{true, false} {
			first := len(groups)
			for k, g := range gs {
				if g.prio == prio && g.n > 0 {
					groups = append(groups, lumpedGroup{simGroup: g, lump: lump, work: h, seq: seq[k], svc: int16(i)})
				}
			}
			w.queues[q*len(ids)+i].groups = groups[first:len(groups):len(groups)]
		}
		if l.PriorityRate > 0 && !target.Priority {
			w.streams = append(w.streams, stream{first: 1 / l.PriorityRate / 2, gap: 1 / l.PriorityRate, prio: true, svc: i})
		}
		if m.Policy == PolicyServiceOrder && l.Rate > 0 && i != ts {
			w.streams = append(w.streams, stream{first: 1 / l.Rate / 2, gap: 1 / l.Rate, svc: i})
		}
	}
	w.groups = groups
	serves := false
	// The counters' ranks and services share two arrays likewise.
	served := 0
	for _, c := range m.Counters {
		served += len(c.ServiceIDs)
	}
	w.ranks, w.services = resize(w.ranks, len(m.Counters)*len(ids)), slices.Grow(w.services[:0], served)
	ranks, services := w.ranks, w.services
	w.counters = slices.Grow(w.counters[:0], len(m.Counters))
	for _, c := range m.Counters {
		if !c.Open && !c.Paused {
			continue
		}
		k := simCounter{rank: ranks[:len(ids):len(ids)], remain: max(c.Remaining, 0), paused: c.Paused, current: -1, elapsed: c.Elapsed}
		ranks = ranks[len(ids):]
		for i := range k.rank {
			k.rank[i] = -1
		}
		first := len(services)
		for r, s := range c.ServiceIDs {
			if i, ok := index[s]; ok && k.rank[i] < 0 {
				services = append(services, i)
				k.rank[i] = r
				serves = serves || i == ts
			}
		}
		k.services = services[first:len(services):len(services)]
		if i, ok := index[c.Current]; ok && c.Busy {
			k.current = i
		}
		if len(k.services) > 0 {
			w.counters = append(w.counters, k)
		}
	}
	if !serves {
		return 0, false
	}
	at, steps := w.run(nil)
	runs := m.Runs
	if runs <= 1 || steps == 0 || !w.drawn() {
		return at, true
	}
	// Play again with drawn handling times while it stays cheap: short
	// queues are where the mean handling time misleads most.
	runs = min(runs, max(1, maxSimSteps/steps))
	if runs < 5 {
		return at, true
	}
	rng := rand.New(rand.NewPCG(uint64(total), uint64(len(m.Counters))))
	w.calls = resize(w.calls, runs)
	calls := w.calls
	for r := range calls {
		calls[r], _ = w.run(rng)
	}
	slices.Sort(calls)
	return calls[runs/2], true
}

// sims keeps the replays' arrays for the next prediction.
var sims = sync.Pool{New: func() any { return new(waitSim) }}

// free forgets the model and keeps the arrays for the next replay.
func (w *waitSim) free() {
	clear(w.ids)
	clear(w.index)
	clear(w.dur)
	sims.Put(w)
}

// resize is s with n zero elements, in its own array when it holds them.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// maxSimSteps bounds the calls played, all runs together.
const maxSimSteps = 800

// minDrawn is how many recent handling times a service needs before a
// replay draws from them; with fewer it takes the mean.
const minDrawn = 10

// drawn reports whether a replay with drawn handling times can end
// otherwise than the one with means: some service of the replay has
// enough recent durations to draw from (draw, remaining), or tickets may
// overtake the target at drawn times (streams). When none can, every run
// plays the same calls, so one is the median of any number.
func (w *waitSim) drawn() bool {
	if len(w.streams) > 0 {
		return true
	}
	for _, d := range w.dur {
		if len(d) >= minDrawn {
			return true
		}
	}
	return false
}

// draw is a handling time of service s: one of the recent ones.
func (w *waitSim) draw(rng *rand.Rand, s int) float64 {
	d := w.dur[s]
	if rng == nil || len(d) < minDrawn {
		return w.mean[s]
	}
	if w.noShow > 0 && rng.Float64() < w.noShow {
		return w.noShowS
	}
	return d[rng.IntN(len(d))]
}

// remaining is how long counter c still needs for its current ticket:
// in a drawn run, one of the recent durations longer than what has passed.
func (w *waitSim) remaining(rng *rand.Rand, c *simCounter) float64 {
	if rng == nil || c.current < 0 {
		return c.remain
	}
	d := w.dur[c.current]
	i, _ := slices.BinarySearch(d, c.elapsed)
	if len(d) < minDrawn || len(d)-i < 3 {
		return c.remain
	}
	return d[i+rng.IntN(len(d)-i)] - c.elapsed
}

// run plays the calls until the target's; with rng, handling times are
// drawn. It returns when the target is called and how many calls it took.
func (w *waitSim) run(rng *rand.Rand) (float64, int) {
	n := len(w.queues) / 2
	for i := range w.queues {
		w.queues[i].reset()
	}
	w.next = resize(w.next, len(w.streams))
	next := w.next
	for k, st := range w.streams {
		next[k] = st.first
		if rng != nil {
			next[k] = rng.ExpFloat64() * st.gap
		}
	}
	for i := range w.counters {
		c := &w.counters[i]
		c.free = w.remaining(rng, c)
		if c.paused {
			c.free = max(c.free, PausedReturnSeconds)
		}
	}
	const horizon = 24 * 3600
	seq := w.seq
	for steps := 0; steps < 20*maxSimTickets+1000; steps++ {
		// The counter free first calls (ties: the first listed).
		ci := 0
		for i := range w.counters {
			if w.counters[i].free < w.counters[ci].free {
				ci = i
			}
		}
		c := &w.counters[ci]
		now := c.free
		if now > horizon {
			return horizon, steps
		}
		// Let in the overtaking tickets due by now (so many at most that
		// a rate read from a burst cannot flood the replay).
		for k := range w.streams {
			st := &w.streams[k]
			for next[k] <= now {
				if seq-w.seq >= 2*maxSimTickets {
					next[k] = math.Inf(1)
					break
				}
				seq++
				q := &w.queues[n+st.svc]
				if st.prio {
					q = &w.queues[st.svc]
				}
				q.arrived = append(q.arrived, simTicket{place: next[k], work: w.mean[st.svc], seq: seq, svc: int16(st.svc), prio: st.prio})
				if rng != nil {
					next[k] += rng.ExpFloat64() * st.gap
				} else {
					next[k] += st.gap
				}
				if next[k] > overtakeHorizon {
					next[k] = math.Inf(1)
				}
			}
		}
		var bt *simTicket
		bq, bestRank := -1, 0
		for _, s := range c.services {
			for k := range 2 {
				t := w.queues[k*n+s].head()
				if t == nil {
					continue
				}
				r := c.rank[s]
				better := bt == nil
				if !better {
					switch {
					case t.prio != bt.prio:
						better = t.prio
					case w.policy == PolicyServiceOrder && r != bestRank:
						better = r < bestRank
					case t.place != bt.place:
						better = t.place < bt.place
					default:
						better = t.seq < bt.seq
					}
				}
				if better {
					bt, bq, bestRank = t, k*n+s, r
				}
			}
		}
		if bt == nil {
			// Nothing for this counter now: it waits for the next
			// overtaking ticket of its services, or is out of the picture.
			c.free = math.Inf(1)
			for k, st := range w.streams {
				if c.rank[st.svc] >= 0 {
					c.free = min(c.free, next[k])
				}
			}
			continue
		}
		if bt.target {
			return now, steps + 1
		}
		if bt.lump {
			c.free = now + bt.work
		} else {
			c.free = now + w.draw(rng, int(bt.svc))
		}
		w.queues[bq].pop()
	}
	return horizon, 20*maxSimTickets + 1000
}

// handlingCache keeps each service's recent handling statistics for a
// while, so that a prediction does not read them every time.
type handlingCache struct {
	mu      sync.Mutex
	m       map[serviceKey]handlingEntry
	halls   map[string]hallEntry
	tickets map[string]currentEntry
}

// currentEntry is what the prediction needs of a counter's current
// ticket: a recall moving its call time is seen within handlingTTL.
type currentEntry struct {
	at       time.Time
	active   bool // called or serving
	counter  string
	service  string
	calledAt time.Time
}

func (c *handlingCache) current(tx Tx, id string, now time.Time) (currentEntry, error) {
	c.mu.Lock()
	e, ok := c.tickets[id]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < handlingTTL && !now.Before(e.at) {
		return e, nil
	}
	t, err := tx.Ticket(id)
	if err != nil && !IsNotFound(err) {
		return e, err
	}
	e = currentEntry{at: now}
	if err == nil && t.CalledAt != nil && (t.Status == StatusCalled || t.Status == StatusServing) {
		e.active, e.counter, e.service, e.calledAt = true, t.CounterID, t.ServiceID, *t.CalledAt
	}
	c.mu.Lock()
	if c.tickets == nil || len(c.tickets) > 4096 {
		c.tickets = map[string]currentEntry{}
	}
	c.tickets[id] = e
	c.mu.Unlock()
	return e, nil
}

// hallEntry is a hall's recent no-show share and no-show time.
type hallEntry struct {
	at              time.Time
	share, duration float64
}

// recentCallsN is how many of a hall's last calls the no-show share is
// taken from.
const recentCallsN = 200

func (c *handlingCache) hall(tx Tx, hallID string, now time.Time) (hallEntry, error) {
	c.mu.Lock()
	e, ok := c.halls[hallID]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < handlingTTL && !now.Before(e.at) {
		return e, nil
	}
	calls, err := tx.RecentCalls(hallID, recentCallsN)
	if err != nil {
		return e, err
	}
	e = hallEntry{at: now}
	var n, ns int
	var sum float64
	for _, t := range calls {
		switch {
		case t.Status == StatusDone:
			n++
		case t.Status == StatusNoShow && t.NoShowAt != nil && t.CalledAt != nil:
			n++
			ns++
			sum += max(t.NoShowAt.Sub(*t.CalledAt).Seconds(), 0)
		}
	}
	if n > 0 && ns > 0 {
		e.share, e.duration = float64(ns)/float64(n), sum/float64(ns)
	}
	c.mu.Lock()
	if c.halls == nil {
		c.halls = map[string]hallEntry{}
	}
	c.halls[hallID] = e
	c.mu.Unlock()
	return e, nil
}

// serviceKey names a service of a hall in a map without building a string.
type serviceKey struct{ hall, service string }

type handlingEntry struct {
	at    time.Time
	stats *HandlingStats
}

func (c *handlingCache) get(tx Tx, hallID, serviceID string, now time.Time) (*HandlingStats, error) {
	key := serviceKey{hallID, serviceID}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < handlingTTL && !now.Before(e.at) {
		return e.stats, nil
	}
	samples, err := tx.RecentHandling(hallID, serviceID, RecentHandlingN)
	if err != nil {
		return nil, err
	}
	set, err := tx.BookingSettings(hallID)
	if err != nil {
		return nil, err
	}
	st := NewHandlingStats(samples, float64(set.Service(serviceID).HandlingSeconds))
	c.mu.Lock()
	if c.m == nil {
		c.m = map[serviceKey]handlingEntry{}
	}
	c.m[key] = handlingEntry{at: now, stats: &st}
	c.mu.Unlock()
	return &st, nil
}

// predictWait reads what the prediction needs for the waiting ticket t,
// at position pos in its queue, and gives its expected wait in seconds.
func (e *Engine) predictWait(tx Tx, t *Ticket, pos int) (int, error) {
	now := e.now()
	hs, err := e.handling.hall(tx, t.HallID, now)
	if err != nil {
		return 0, err
	}
	pic, err := e.queues.picture(tx, t.HallID, now) // caches.go
	if err != nil {
		return 0, err
	}
	counters := pic.counters
	// The services connected to t's through counters that work: that
	// call, someone there (Counter.Calls).
	working := (*Counter).Calls
	inSet := map[string]bool{t.ServiceID: true}
	for grew := true; grew; {
		grew = false
		for i := range counters {
			c := &counters[i]
			if !working(c) || !slices.ContainsFunc(c.ServiceIDs, func(s string) bool { return inSet[s] }) {
				continue
			}
			for _, s := range c.ServiceIDs {
				if !inSet[s] {
					inSet[s], grew = true, true
				}
			}
		}
	}
	waiting := pic.waiting
	// A ticket issued within the last second has (nearly) nobody behind it
	// in the other queues: they need not be counted.
	fresh := now.Sub(t.QueuedAt) < time.Second
	hall, err := e.settings.hall(tx, t.HallID, now) // caches.go
	if err != nil {
		return 0, err
	}
	m := &WaitModel{Policy: hall.Policy, Services: make(map[string]*ServiceLoad, len(inSet)), Runs: predictRuns,
		Counters:    make([]CounterLoad, 0, len(counters)),
		NoShowShare: hs.share, NoShowSeconds: hs.duration}
	stats := map[string]*HandlingStats{}
	loads := make([]ServiceLoad, len(inSet))
	for s := range inSet {
		st, err := e.handling.get(tx, t.HallID, s, now)
		if err != nil {
			return 0, err
		}
		stats[s] = st
		l := &loads[len(m.Services)]
		*l = ServiceLoad{Handling: st.Mean, Durations: st.Sorted, Rate: st.Rate, PriorityRate: st.PriorityRate}
		m.Services[s] = l
		n := waiting[s]
		if s == t.ServiceID {
			l.Ahead = pos
			l.Behind = max(n-1-pos, 0)
		} else if n > 0 {
			// Those of the other queue before t's place go first: all but
			// the normal ones behind it, or for a green ticket the green
			// ones before it. A ticket just issued has nobody behind.
			behind := 0
			if !fresh {
				probe := Ticket{HallID: t.HallID, ServiceID: s, Priority: t.Priority, QueuedAt: t.QueuedAt, IssuedAt: t.IssuedAt, ID: t.ID}
				if behind, err = tx.CountBehind(&probe); err != nil {
					return 0, err
				}
			}
			l.Ahead = max(n-behind, 0)
			if t.Priority == PriorityPriority {
				prio, _, err := tx.QueueLength(t.HallID, s)
				if err != nil {
					return 0, err
				}
				l.Ahead = max(prio-behind, 0)
			}
			l.Behind = max(n-l.Ahead, 0)
		}
		if n > 0 {
			o, err := e.queues.oldest(tx, pic, t.HallID, s)
			if err != nil {
				return 0, err
			}
			if o.any {
				l.OldestAge = now.Sub(o.at).Seconds()
			}
		}
	}
	// Appointment tickets that go first are waiting behind t in its queue:
	// move them ahead.
	if own := m.Services[t.ServiceID]; own != nil {
		if pic.appts[t.ServiceID] > 0 { // none wait, most of the time
			own.DueAppointments = dueAppointments(tx, t)
		}
		own.Behind = max(own.Behind-own.DueAppointments, 0)
	}
	for i := range counters {
		c := &counters[i]
		if !working(c) || !slices.ContainsFunc(c.ServiceIDs, func(s string) bool { return inSet[s] }) {
			continue
		}
		cl, err := e.counterLoad(tx, c, stats, now)
		if err != nil {
			return 0, err
		}
		m.Counters = append(m.Counters, cl)
	}
	w, ok := PredictWait(m, WaitTarget{ServiceID: t.ServiceID, Priority: t.Priority == PriorityPriority, Age: now.Sub(t.QueuedAt).Seconds()})
	if !ok {
		// No counter works for this service now: the naive estimate as
		// if one opened.
		return EstimateWait(pos, stats[t.ServiceID].Mean, 1), nil
	}
	return int(math.Round(max(w, MinWaitSeconds))), nil
}

// counterLoad is counter c as the prediction sees it: whether it works,
// and when it is through with its current citizen. stats holds the
// handling statistics read already, by service.
func (e *Engine) counterLoad(tx Tx, c *Counter, stats map[string]*HandlingStats, now time.Time) (CounterLoad, error) {
	calls := c.Calls() // nobody there: closed to the prediction
	cl := CounterLoad{ServiceIDs: c.ServiceIDs, Open: c.Works(), Paused: calls && c.Status == CounterPaused}
	if c.CurrentTicketID == "" {
		return cl, nil
	}
	cur, err := e.handling.current(tx, c.CurrentTicketID, now)
	if err != nil || !cur.active || cur.counter != c.ID {
		return cl, err
	}
	st := stats[cur.service]
	if st == nil {
		if st, err = e.handling.get(tx, c.HallID, cur.service, now); err != nil {
			return cl, err
		}
	}
	cl.Elapsed = now.Sub(cur.calledAt).Seconds()
	cl.Remaining = st.Remaining(cl.Elapsed)
	cl.Busy, cl.Current = true, cur.service
	return cl, nil
}

// DirectedWait is the expected wait in seconds of a ticket sent to a given
// counter or clerk (Ticket.Directed), and false when no counter that is
// open or paused takes it (c nil: its clerk is signed in nowhere, or its
// counter is closed). That counter calls the tickets sent to it before
// any other, in their order (CallNext): the ticket waits for the
// counter's current citizen (or a paused counter's return) and for those
// sent there before it, ahead being the handling seconds of each; the
// hall's other queues do not come first.
func DirectedWait(c *CounterLoad, ahead []float64) (float64, bool) {
	if c == nil || !c.Open && !c.Paused {
		return 0, false
	}
	w := max(c.Remaining, 0)
	if c.Paused {
		w = max(w, PausedReturnSeconds)
	}
	for _, h := range ahead {
		if h <= 0 {
			h = DefaultHandlingSeconds
		}
		w += h
	}
	return w, true
}

// directedAhead reads the queue of t, a ticket sent to a given counter or
// clerk: the counter that takes it now (its counter, or the one its clerk
// is signed in at; nil for none that is open or paused) and the tickets
// that counter calls before t — those sent to it or to its clerk before
// t, in the order it calls them. With no such counter, those sent to the
// same counter or clerk before t.
func directedAhead(tx Tx, t *Ticket) (*Counter, []Ticket, error) {
	cs, err := tx.Counters(t.HallID) // fresh: another node's picture lacks the clerks; DeviceCalls, which counterLoad counts
	if err != nil {
		return nil, nil, err
	}
	var c *Counter
	for i := range cs {
		if cs[i].Status != CounterClosed && t.DirectedTo(&cs[i]) && (t.ForCounter == "" || cs[i].ID == t.ForCounter) {
			c = &cs[i]
			break
		}
	}
	ts, err := tx.DirectedWaiting(t.HallID)
	if err != nil {
		return nil, nil, err
	}
	var ahead []Ticket
	for _, o := range ts {
		if o.ID == t.ID {
			break
		}
		if c != nil && o.DirectedTo(c) || c == nil && o.ForCounter == t.ForCounter && o.ForClerk == t.ForClerk {
			ahead = append(ahead, o)
		}
	}
	return c, ahead, nil
}

// predictDirected gives the position and expected wait in seconds of t,
// a waiting ticket sent to a given counter or clerk: among the tickets
// that counter calls first (directedAhead, DirectedWait). When no counter
// takes it now, the naive estimate as if its counter opened or its clerk
// came.
func (e *Engine) predictDirected(tx Tx, t *Ticket) (int, int, error) {
	now := e.now()
	c, ahead, err := directedAhead(tx, t)
	if err != nil {
		return 0, 0, err
	}
	stats := map[string]*HandlingStats{}
	handling := make([]float64, len(ahead))
	for i, a := range ahead {
		st := stats[a.ServiceID]
		if st == nil {
			if st, err = e.handling.get(tx, t.HallID, a.ServiceID, now); err != nil {
				return 0, 0, err
			}
			stats[a.ServiceID] = st
		}
		handling[i] = st.Mean
	}
	var load *CounterLoad
	if c != nil {
		cl, err := e.counterLoad(tx, c, stats, now)
		if err != nil {
			return 0, 0, err
		}
		load = &cl
	}
	if w, ok := DirectedWait(load, handling); ok {
		return len(ahead), int(math.Round(max(w, MinWaitSeconds))), nil
	}
	own, err := e.handling.get(tx, t.HallID, t.ServiceID, now)
	if err != nil {
		return 0, 0, err
	}
	return len(ahead), EstimateWait(len(ahead), own.Mean, 1), nil
}

// dueAppointments is the hook for appointments: the number of appointment
// tickets of t's service that will be called before t (booking.go).
func dueAppointments(tx Tx, t *Ticket) int { return appointmentsAhead(tx, t) }

// ServiceWait is a service as the kiosk shows it on its button: how many
// wait, and how long a ticket taken now would wait.
type ServiceWait struct {
	ID     string `json:"id"`
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
	// Waiting counts the tickets waiting in the service.
	Waiting int `json:"waiting"`
	// ETASeconds is the expected wait of a normal ticket taken now, by
	// the same prediction an issued ticket gets.
	ETASeconds int `json:"eta_seconds"`
	// OpenCounters counts the open counters serving the service.
	OpenCounters int `json:"open_counters"`
}

// ServiceWaits gives the waits of every service of a hall, in the hall's
// order of services. Counts only: no personal data.
func (e *Engine) ServiceWaits(ctx context.Context, hallID string) ([]ServiceWait, error) {
	out := []ServiceWait{}
	err := e.store.View(ctx, func(tx Tx) error {
		_, svcs, counters, err := hallLayout(tx, hallID)
		if err != nil {
			return err
		}
		counts, err := tx.WaitingCounts(hallID)
		if err != nil {
			return err
		}
		now := e.now()
		for _, svc := range svcs {
			open := 0
			for _, c := range counters {
				if c.Works() && c.Serves(svc.ID) { // as the estimate counts them
					open++
				}
			}
			// A ticket taken now: behind every waiting ticket of its service.
			n := counts[svc.ID]
			probe := &Ticket{HallID: hallID, ServiceID: svc.ID, Priority: PriorityNormal, Status: StatusWaiting, IssuedAt: now, QueuedAt: now}
			eta, err := e.predictWait(tx, probe, n)
			if err != nil {
				return err
			}
			out = append(out, ServiceWait{ID: svc.ID, Prefix: svc.Prefix, Name: svc.Name, NameEn: svc.NameEn,
				Waiting: n, ETASeconds: eta, OpenCounters: open})
		}
		return nil
	})
	return out, err
}
