package civiq

import "time"

// PickNext chooses the ticket a counter calls next from candidates, which
// are waiting tickets of the counter's services (all of them, or at least
// the head of each service's priority, appointment and normal queues).
// Green-channel tickets come first, then appointment tickets, then the
// hall's policy decides. It returns -1 when no candidate fits. It is
// PickNextWith knowing neither the time nor the counter's past calls.
func PickNext(policy string, c *Counter, candidates []Ticket) int {
	return PickNextWith(policy, c, candidates, CallState{})
}

// CallState is what PickNextWith knows besides the candidates.
type CallState struct {
	// Now is the time of the call: an appointment ticket is due once its
	// place in time, its slot's start, has come. Zero counts every one as
	// due.
	Now time.Time
	// AppointmentRun counts the appointment tickets the counter called
	// last, in a row.
	AppointmentRun int
	// MaxAppointmentRun is how many appointment tickets a counter calls in
	// a row while walk-ins wait for it (BookingSettings); 0 puts no limit.
	MaxAppointmentRun int
}

// PickNextWith chooses as PickNext does, with appointments: an
// appointment ticket is called only once due (an early arrival waits for
// its slot), then before walk-ins, except that after MaxAppointmentRun
// appointment calls in a row the best waiting walk-in goes first, so that
// walk-ins are not starved.
func PickNextWith(policy string, c *Counter, candidates []Ticket, st CallState) int {
	rank := make(map[string]int, len(c.ServiceIDs))
	for i, s := range c.ServiceIDs {
		rank[s] = i
	}
	best, walkIn := -1, -1
	for i := range candidates {
		t := &candidates[i]
		if _, ok := rank[t.ServiceID]; !ok || t.Status != StatusWaiting {
			continue
		}
		if t.Appointment() && !st.Now.IsZero() && t.QueuedAt.After(st.Now) {
			continue // not due yet
		}
		if best < 0 || before(policy, rank, t, &candidates[best]) {
			best = i
		}
		if !t.Appointment() && (walkIn < 0 || before(policy, rank, t, &candidates[walkIn])) {
			walkIn = i
		}
	}
	if best >= 0 && walkIn >= 0 && candidates[best].Appointment() && st.MaxAppointmentRun > 0 && st.AppointmentRun >= st.MaxAppointmentRun {
		return walkIn
	}
	return best
}

// Appointment reports whether t waits in the appointment class: checked
// in from a booking (booking.go), its place in time the slot's start.
func (t *Ticket) Appointment() bool {
	return t.Channel == ChannelAppointment && t.Priority != PriorityPriority
}

// callClass orders the classes of tickets: green channel, appointment,
// walk-in.
func callClass(t *Ticket) int {
	switch {
	case t.Priority == PriorityPriority:
		return 0
	case t.Appointment():
		return 1
	}
	return 2
}

// before reports whether a is called before b at a counter whose services
// are ranked by rank.
func before(policy string, rank map[string]int, a, b *Ticket) bool {
	if ac, bc := callClass(a), callClass(b); ac != bc {
		return ac < bc
	}
	if policy == PolicyServiceOrder && rank[a.ServiceID] != rank[b.ServiceID] {
		return rank[a.ServiceID] < rank[b.ServiceID]
	}
	return QueueLess(a, b)
}

// QueueLess orders two tickets of one queue: earlier place in time first,
// then the earlier issue, then the id so that the order is total.
func QueueLess(a, b *Ticket) bool {
	if !a.QueuedAt.Equal(b.QueuedAt) {
		return a.QueuedAt.Before(b.QueuedAt)
	}
	if !a.IssuedAt.Equal(b.IssuedAt) {
		return a.IssuedAt.Before(b.IssuedAt)
	}
	return a.ID < b.ID
}

// ReturnPlace is the place in time of a late arrival that comes back after
// a no-show: just behind the behind-th of the normal tickets waiting in its
// service (ordered), or now when fewer wait.
func ReturnPlace(waiting []time.Time, behind int, now time.Time) time.Time {
	if behind <= 0 {
		if len(waiting) > 0 {
			return waiting[0].Add(-time.Nanosecond)
		}
		return now
	}
	if len(waiting) < behind {
		return now
	}
	last := waiting[behind-1]
	if len(waiting) > behind && waiting[behind].Sub(last) > time.Nanosecond {
		return last.Add(waiting[behind].Sub(last) / 2)
	}
	return last.Add(time.Nanosecond)
}

// DefaultHandlingSeconds is the handling time assumed for a service with no
// history yet.
const DefaultHandlingSeconds = 300

// MinHandlingSeconds is the floor of learned handling times: a ticket done
// sooner after its call (finished by mistake, called and closed at once) is
// not learned from, and no figure derived from handling times (a slot's
// capacity, an expected wait) assumes a ticket takes less.
const MinHandlingSeconds = 30

// learnedHandling is the handling time learned from n samples of at least
// MinHandlingSeconds that sum to sum seconds, weighed against the default
// def (DefaultHandlingSeconds when 0) as if it were priorSamples samples:
// with no history it is def, and a little history moves it a little.
func learnedHandling(sum float64, n int, def float64) float64 {
	if def <= 0 {
		def = DefaultHandlingSeconds
	}
	return (sum + priorSamples*def) / float64(n+priorSamples)
}

// EstimateWait gives the expected wait in seconds of a ticket with position
// tickets before it, when counters open counters serve its service and one
// ticket takes handling seconds. It is a first estimate; the prediction issue
// refines it.
func EstimateWait(position int, handling float64, counters int) int {
	if counters < 1 {
		counters = 1
	}
	if handling <= 0 {
		handling = DefaultHandlingSeconds
	}
	return int(float64(position+1) * handling / float64(counters))
}
