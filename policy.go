package civiq

import "time"

// PickNext chooses the ticket a counter calls next from candidates, which
// are waiting tickets of the counter's services (all of them, or at least
// the head of each service's priority and normal queues). Green-channel
// tickets come first, then the hall's policy decides. It returns -1 when no
// candidate fits.
func PickNext(policy string, c *Counter, candidates []Ticket) int {
	rank := make(map[string]int, len(c.ServiceIDs))
	for i, s := range c.ServiceIDs {
		rank[s] = i
	}
	best := -1
	for i := range candidates {
		t := &candidates[i]
		if _, ok := rank[t.ServiceID]; !ok || t.Status != StatusWaiting {
			continue
		}
		if best < 0 || before(policy, rank, t, &candidates[best]) {
			best = i
		}
	}
	return best
}

// before reports whether a is called before b at a counter whose services
// are ranked by rank.
func before(policy string, rank map[string]int, a, b *Ticket) bool {
	ap, bp := a.Priority == PriorityPriority, b.Priority == PriorityPriority
	if ap != bp {
		return ap
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
