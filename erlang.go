package civiq

// The staffing model: Erlang C, the steady state of a service's queue with
// identical counters. The staffing planner (package sim) plans a day's
// counters by it, and the dashboard's service-level alerts (alert.go)
// suggest how many counters to open by it.

import "math"

// ErlangQueue is the M/M/c model of one service: Poisson arrivals, exponential
// handling, Counters identical counters serving in order of arrival. Erlang
// C gives its steady state.
type ErlangQueue struct {
	ArrivalsPerHour float64
	HandlingSeconds float64 // mean
	Counters        int
}

// Load is the offered load in erlangs: how many counters the arrivals keep
// busy on average.
func (q ErlangQueue) Load() float64 { return q.ArrivalsPerHour / 3600 * q.HandlingSeconds }

// Utilisation is the share of time each counter is busy.
func (q ErlangQueue) Utilisation() float64 {
	if q.Counters < 1 {
		return math.Inf(1)
	}
	return q.Load() / float64(q.Counters)
}

// Stable reports whether the counters keep up: the load is under their
// number, so the queue does not grow without end.
func (q ErlangQueue) Stable() bool {
	return q.Counters >= 1 && q.HandlingSeconds > 0 && q.ArrivalsPerHour >= 0 && q.Load() < float64(q.Counters)
}

// ErlangB is the blocking probability of c servers offered a erlangs
// (computed by the stable recursion B(k) = aB(k-1) / (k + aB(k-1))).
func ErlangB(c int, a float64) float64 {
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// ErlangC is the probability that an arrival waits, for c servers offered
// a erlangs; 1 when a >= c.
func ErlangC(c int, a float64) float64 {
	if c < 1 || a >= float64(c) {
		return 1
	}
	if a <= 0 {
		return 0
	}
	b := ErlangB(c, a)
	return float64(c) * b / (float64(c) - a*(1-b))
}

// decay is c*mu - lambda, per second: the rate at which the tail of the
// wait falls.
func (q ErlangQueue) decay() float64 {
	return float64(q.Counters)/q.HandlingSeconds - q.ArrivalsPerHour/3600
}

// ProbWait is the probability that a citizen waits at all.
func (q ErlangQueue) ProbWait() float64 { return ErlangC(q.Counters, q.Load()) }

// MeanWait is the mean wait in seconds before the call; +Inf when the
// counters do not keep up.
func (q ErlangQueue) MeanWait() float64 {
	if !q.Stable() {
		return math.Inf(1)
	}
	return q.ProbWait() / q.decay()
}

// ServiceLevel is the share of citizens called within t seconds.
func (q ErlangQueue) ServiceLevel(t float64) float64 {
	if !q.Stable() {
		return 0
	}
	return 1 - q.ProbWait()*math.Exp(-q.decay()*t)
}

// WaitQuantile is the wait that a share p of citizens do not exceed (p90:
// p = 0.9).
func (q ErlangQueue) WaitQuantile(p float64) float64 {
	if !q.Stable() {
		return math.Inf(1)
	}
	pw := q.ProbWait()
	if 1-p >= pw {
		return 0
	}
	return math.Log(pw/(1-p)) / q.decay()
}

// CountersFor is the fewest counters with which a share goal of citizens is
// called within target seconds (80% within 15 minutes: goal 0.8, target
// 900), by Erlang C. No arrivals need no counter.
func CountersFor(arrivalsPerHour, handlingSeconds, target, goal float64) int {
	if arrivalsPerHour <= 0 || handlingSeconds <= 0 {
		return 0
	}
	q := ErlangQueue{ArrivalsPerHour: arrivalsPerHour, HandlingSeconds: handlingSeconds}
	q.Counters = max(1, int(math.Floor(q.Load()))+1)
	for q.ServiceLevel(target) < goal && q.Counters < 100000 {
		q.Counters++
	}
	return q.Counters
}
