package civiq

import (
	"math"
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
// that replay is its expected wait.

// Tuning of the prediction.
const (
	// RecentHandlingN is how many recently done tickets of a service the
	// handling time is taken from.
	RecentHandlingN = 50
	// OutlierFactor: a duration above this many times the median is held
	// at that, so one ticket finished hours late does not move the mean.
	OutlierFactor = 6
	// priorSamples is how many samples the default handling time weighs
	// against few real ones.
	priorSamples = 3
	// handlingTTL is how long recent handling statistics are reused.
	handlingTTL = time.Minute
	// MinWaitSeconds is the least wait predicted: even at a free counter
	// the staff still has to call.
	MinWaitSeconds = 30
	// PausedReturnSeconds is when a paused counter (暂离) is expected back.
	PausedReturnSeconds = 600
	// maxSimTickets bounds the tickets the replay moves one by one; a
	// longer queue is moved in lumps, so a prediction costs the same
	// however long the queue.
	maxSimTickets = 400
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
	// winsorized mean of the recent durations, weighed against the default
	// when there are few.
	Mean float64
	// Sorted are the recent durations, winsorized, in increasing order.
	Sorted []float64
	// Rate and PriorityRate are the recent arrivals per second (all, and
	// green channel), from the issue times of the tickets done.
	Rate, PriorityRate float64
}

// NewHandlingStats summarizes samples of one service (newest first).
func NewHandlingStats(samples []HandlingSample) HandlingStats {
	d := make([]float64, 0, len(samples))
	for _, s := range samples {
		d = append(d, max(s.DoneAt.Sub(s.CalledAt).Seconds(), 0))
	}
	w := Winsorize(d, OutlierFactor)
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	st := HandlingStats{Mean: (sum + priorSamples*DefaultHandlingSeconds) / float64(len(w)+priorSamples)}
	slices.Sort(w)
	st.Sorted = w
	if len(samples) >= 5 {
		first, last, prio := samples[0].IssuedAt, samples[0].IssuedAt, 0
		for _, s := range samples {
			if s.IssuedAt.Before(first) {
				first = s.IssuedAt
			}
			if s.IssuedAt.After(last) {
				last = s.IssuedAt
			}
			if s.Priority {
				prio++
			}
		}
		if span := last.Sub(first).Seconds(); span > 0 {
			st.Rate = float64(len(samples)-1) / span
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
}

// ServiceLoad is one service's queue and pace.
type ServiceLoad struct {
	Handling float64 // expected counter seconds per ticket
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
	// current citizen; 0 when free.
	Remaining float64
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
	work   float64
	seq    int
	prio   bool
	target bool
}

type simQueue struct {
	ts   []simTicket
	head int
}

func (q *simQueue) front() *simTicket {
	if q.head < len(q.ts) {
		return &q.ts[q.head]
	}
	return nil
}

// PredictWait is the expected wait in seconds of the target in the hall m
// describes, and false when no counter that is open or paused serves it.
func PredictWait(m *WaitModel, target WaitTarget) (float64, bool) {
	ids := make([]string, 0, len(m.Services))
	for id := range m.Services {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	index := make(map[string]int, len(ids))
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
	seq := 0
	prio := make([]simQueue, len(ids))
	normal := make([]simQueue, len(ids))
	// Future arrivals: the next time each service's tickets come, and how
	// far apart, for the classes that can overtake the target.
	type stream struct {
		next, gap float64
		prio      bool
	}
	var streams [][]stream = make([][]stream, len(ids))
	for i, id := range ids {
		l := m.Services[id]
		h := l.Handling
		if h <= 0 {
			h = DefaultHandlingSeconds
		}
		tPlace := -target.Age
		oldest := max(l.OldestAge, 0)
		if i == ts {
			oldest = max(oldest, target.Age)
		}
		// Tickets ahead, spread evenly from the oldest to the target's
		// place (or to now); then those behind, to now.
		ahead, behind := l.Ahead, l.Behind
		aheadTo := min(tPlace, 0)
		if -oldest > aheadTo {
			oldest = -aheadTo
		}
		q := &normal[i]
		add := func(n int, from, to float64, isPrio bool) {
			for k := 0; k < n; k += lump {
				c := min(lump, n-k)
				mid := float64(k) + float64(c)/2
				seq++
				tk := simTicket{place: from + (to-from)*mid/float64(n), work: float64(c) * h, seq: seq, prio: isPrio}
				if isPrio {
					prio[i].ts = append(prio[i].ts, tk)
				} else {
					q.ts = append(q.ts, tk)
				}
			}
		}
		// Due appointments come first at every counter: model them as
		// green-channel tickets already waiting.
		add(l.DueAppointments, -oldest, aheadTo, true)
		if target.Priority && i == ts {
			// A green-channel target: the tickets ahead are green too.
			add(ahead, -oldest, aheadTo, true)
		} else {
			add(ahead, -oldest, aheadTo, false)
		}
		if i == ts {
			seq++
			tk := simTicket{place: tPlace, work: h, seq: seq, prio: target.Priority, target: true}
			if target.Priority {
				prio[i].ts = append(prio[i].ts, tk)
			} else {
				q.ts = append(q.ts, tk)
			}
		}
		add(behind, aheadTo, 0, false)
		if l.PriorityRate > 0 && !target.Priority {
			streams[i] = append(streams[i], stream{next: 1 / l.PriorityRate / 2, gap: 1 / l.PriorityRate, prio: true})
		}
		if m.Policy == PolicyServiceOrder && l.Rate > 0 && i != ts {
			streams[i] = append(streams[i], stream{next: 1 / l.Rate / 2, gap: 1 / l.Rate})
		}
	}
	type ctr struct {
		free     float64
		services []int
		rank     map[int]int
	}
	var counters []ctr
	serves := false
	for _, c := range m.Counters {
		if !c.Open && !c.Paused {
			continue
		}
		k := ctr{free: max(c.Remaining, 0), rank: map[int]int{}}
		if c.Paused {
			k.free = max(k.free, PausedReturnSeconds)
		}
		for r, s := range c.ServiceIDs {
			if i, ok := index[s]; ok {
				if _, dup := k.rank[i]; !dup {
					k.services = append(k.services, i)
					k.rank[i] = r
				}
				serves = serves || i == ts
			}
		}
		if len(k.services) > 0 {
			counters = append(counters, k)
		}
	}
	if !serves {
		return 0, false
	}
	h := func(i int) float64 {
		if v := m.Services[ids[i]].Handling; v > 0 {
			return v
		}
		return DefaultHandlingSeconds
	}
	const horizon = 24 * 3600
	for steps := 0; steps < 20*maxSimTickets+1000; steps++ {
		// The counter free first calls (ties: the first listed).
		ci := -1
		for i := range counters {
			if ci < 0 || counters[i].free < counters[ci].free {
				ci = i
			}
		}
		c := &counters[ci]
		now := c.free
		if now > horizon {
			break
		}
		// Let the arrivals due by now in.
		for _, s := range c.services {
			for k := range streams[s] {
				st := &streams[s][k]
				for st.next <= now {
					seq++
					tk := simTicket{place: st.next, work: h(s), seq: seq, prio: st.prio}
					if st.prio {
						prio[s].ts = append(prio[s].ts, tk)
					} else {
						normal[s].ts = append(normal[s].ts, tk)
					}
					st.next += st.gap
				}
			}
		}
		var best *simQueue
		var bt *simTicket
		bestRank := 0
		for _, s := range c.services {
			for _, q := range [2]*simQueue{&prio[s], &normal[s]} {
				t := q.front()
				if t == nil {
					continue
				}
				r := c.rank[s]
				better := bt == nil
				if !better {
					switch {
					case t.prio != bt.prio:
						better = t.prio
					case m.Policy == PolicyServiceOrder && r != bestRank:
						better = r < bestRank
					case t.place != bt.place:
						better = t.place < bt.place
					default:
						better = t.seq < bt.seq
					}
				}
				if better {
					best, bt, bestRank = q, t, r
				}
			}
		}
		if bt == nil {
			// Nothing for this counter now: it waits for the next arrival
			// of its services, or is out of the picture.
			next := math.Inf(1)
			for _, s := range c.services {
				for _, st := range streams[s] {
					next = min(next, st.next)
				}
			}
			c.free = next
			continue
		}
		if bt.target {
			return now, true
		}
		best.head++
		c.free = now + bt.work
	}
	return horizon, true
}

// handlingCache keeps each service's recent handling statistics for a
// while, so that a prediction does not read them every time.
type handlingCache struct {
	mu sync.Mutex
	m  map[string]handlingEntry
}

type handlingEntry struct {
	at    time.Time
	stats *HandlingStats
}

func (c *handlingCache) get(tx Tx, hallID, serviceID string, now time.Time) (*HandlingStats, error) {
	key := hallID + "\x00" + serviceID
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
	st := NewHandlingStats(samples)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]handlingEntry{}
	}
	c.m[key] = handlingEntry{at: now, stats: &st}
	c.mu.Unlock()
	return &st, nil
}

// predictWait reads what the prediction needs for the waiting ticket t,
// at position pos in its queue, and gives its expected wait in seconds.
func (e *Engine) predictWait(tx Tx, t *Ticket, pos int) (int, error) {
	now := e.now()
	hall, err := tx.Hall(t.HallID)
	if err != nil {
		return 0, err
	}
	counters, err := tx.Counters(t.HallID)
	if err != nil {
		return 0, err
	}
	// The services connected to t's through counters that work.
	working := func(c *Counter) bool { return c.Status == CounterOpen || c.Status == CounterPaused }
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
	waiting, err := tx.WaitingCounts(t.HallID)
	if err != nil {
		return 0, err
	}
	m := &WaitModel{Policy: hall.Policy, Services: map[string]*ServiceLoad{}}
	stats := map[string]*HandlingStats{}
	for s := range inSet {
		st, err := e.handling.get(tx, t.HallID, s, now)
		if err != nil {
			return 0, err
		}
		stats[s] = st
		l := &ServiceLoad{Handling: st.Mean, Rate: st.Rate, PriorityRate: st.PriorityRate}
		m.Services[s] = l
		n := waiting[s]
		if s == t.ServiceID {
			l.Ahead = pos
			l.Behind = max(n-1-pos, 0)
		} else if n > 0 {
			// Count those of the other queue behind t's place.
			probe := Ticket{HallID: t.HallID, ServiceID: s, Priority: PriorityNormal, QueuedAt: t.QueuedAt, IssuedAt: t.IssuedAt, ID: t.ID}
			behind, err := tx.CountBehind(&probe)
			if err != nil {
				return 0, err
			}
			if t.Priority == PriorityPriority {
				// Only green tickets queued before it go first.
				prio, _, err := tx.QueueLength(t.HallID, s)
				if err != nil {
					return 0, err
				}
				probe.Priority = PriorityPriority
				pb, err := tx.CountBehind(&probe)
				if err != nil {
					return 0, err
				}
				l.Ahead = max(prio-pb, 0)
			} else {
				l.Ahead = max(n-behind, 0)
			}
			l.Behind = max(n-l.Ahead, 0)
		}
		if n > 0 {
			places, err := tx.WaitingPlaces(t.HallID, s, 1)
			if err != nil {
				return 0, err
			}
			if len(places) > 0 {
				l.OldestAge = now.Sub(places[0]).Seconds()
			}
		}
	}
	m.Services[t.ServiceID].DueAppointments = dueAppointments(tx, t)
	for i := range counters {
		c := &counters[i]
		if !working(c) || !slices.ContainsFunc(c.ServiceIDs, func(s string) bool { return inSet[s] }) {
			continue
		}
		cl := CounterLoad{ServiceIDs: c.ServiceIDs, Open: c.Status == CounterOpen, Paused: c.Status == CounterPaused}
		if c.CurrentTicketID != "" {
			cur, err := tx.Ticket(c.CurrentTicketID)
			if err != nil && !IsNotFound(err) {
				return 0, err
			}
			if err == nil && cur.CounterID == c.ID && cur.CalledAt != nil && (cur.Status == StatusCalled || cur.Status == StatusServing) {
				st := stats[cur.ServiceID]
				if st == nil {
					if st, err = e.handling.get(tx, t.HallID, cur.ServiceID, now); err != nil {
						return 0, err
					}
				}
				cl.Remaining = st.Remaining(now.Sub(*cur.CalledAt).Seconds())
			}
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

// dueAppointments is the hook for appointments: the number of appointment
// tickets of t's service that will be called before t. None yet.
func dueAppointments(tx Tx, t *Ticket) int { return 0 }
