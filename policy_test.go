package civiq

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// queued returns a waiting normal ticket of service svc queued and issued
// at minute min.
func queued(id, svc string, min int) Ticket {
	return Ticket{ID: id, ServiceID: svc, Priority: PriorityNormal, Status: StatusWaiting, IssuedAt: at(min), QueuedAt: at(min)}
}

// green makes t a green-channel ticket.
func green(t Ticket) Ticket {
	t.Priority, t.PriorityGroup = PriorityPriority, "elderly"
	return t
}

// inStatus returns t with another status.
func inStatus(t Ticket, status string) Ticket {
	t.Status = status
	return t
}

// issued returns t with another issue time, keeping its place in time.
func issued(t Ticket, min int) Ticket {
	t.IssuedAt = at(min)
	return t
}

// permutations returns every order of ts (ts is short).
func permutations(ts []Ticket) [][]Ticket {
	if len(ts) <= 1 {
		return [][]Ticket{slices.Clone(ts)}
	}
	var out [][]Ticket
	for i := range ts {
		rest := append(slices.Clone(ts[:i]), ts[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]Ticket{ts[i]}, p...))
		}
	}
	return out
}

func TestPickNext(t *testing.T) {
	// The counter serves a first, then b; c is another counter's service.
	counter := &Counter{ID: "c1", ServiceIDs: []string{"a", "b"}}
	tests := []struct {
		name       string
		candidates []Ticket
		// The id of the ticket called under each policy; "" when none.
		fifo, serviceOrder string
	}{
		{
			name: "nobody waits",
			fifo: "", serviceOrder: "",
		},
		{
			name:       "one ticket",
			candidates: []Ticket{queued("a1", "a", 5)},
			fifo:       "a1", serviceOrder: "a1",
		},
		{
			name:       "earliest of one service",
			candidates: []Ticket{queued("a2", "a", 7), queued("a1", "a", 3), queued("a3", "a", 9)},
			fifo:       "a1", serviceOrder: "a1",
		},
		{
			name:       "fifo takes the earliest across services, service order the first service",
			candidates: []Ticket{queued("a1", "a", 10), queued("b1", "b", 5)},
			fifo:       "b1", serviceOrder: "a1",
		},
		{
			name:       "the first service's ticket is also the earliest",
			candidates: []Ticket{queued("a1", "a", 1), queued("b1", "b", 5)},
			fifo:       "a1", serviceOrder: "a1",
		},
		{
			name:       "service order falls to the second service when the first is empty",
			candidates: []Ticket{queued("b2", "b", 8), queued("b1", "b", 4)},
			fifo:       "b1", serviceOrder: "b1",
		},
		{
			name:       "green channel first, whatever the policy",
			candidates: []Ticket{queued("a1", "a", 1), green(queued("b9", "b", 30)), queued("b1", "b", 2)},
			fifo:       "b9", serviceOrder: "b9",
		},
		{
			name:       "among green tickets the policy decides",
			candidates: []Ticket{green(queued("a5", "a", 20)), green(queued("b5", "b", 10)), queued("a1", "a", 1)},
			fifo:       "b5", serviceOrder: "a5",
		},
		{
			name:       "services the counter does not serve are ignored",
			candidates: []Ticket{queued("c1", "c", 1), queued("b1", "b", 7)},
			fifo:       "b1", serviceOrder: "b1",
		},
		{
			name:       "a green ticket of another service is ignored",
			candidates: []Ticket{green(queued("c1", "c", 1)), queued("a1", "a", 7)},
			fifo:       "a1", serviceOrder: "a1",
		},
		{
			name:       "only other services wait",
			candidates: []Ticket{queued("c1", "c", 1), green(queued("c2", "c", 2)), queued("x1", "", 0)},
			fifo:       "", serviceOrder: "",
		},
		{
			name: "tickets that are not waiting are ignored",
			candidates: []Ticket{
				inStatus(queued("a0", "a", 0), StatusCalled),
				inStatus(green(queued("b0", "b", 0)), StatusServing),
				inStatus(queued("b00", "b", 0), StatusNoShow),
				queued("b1", "b", 6),
				queued("a1", "a", 9),
			},
			fifo: "b1", serviceOrder: "a1",
		},
		{
			name: "nobody waiting at all",
			candidates: []Ticket{
				inStatus(queued("a1", "a", 1), StatusCalled),
				inStatus(queued("a2", "a", 2), StatusServing),
				inStatus(queued("a3", "a", 3), StatusDone),
				inStatus(queued("a4", "a", 4), StatusNoShow),
				inStatus(green(queued("a5", "a", 5)), StatusCancelled),
			},
			fifo: "", serviceOrder: "",
		},
		{
			name:       "a place in time moved back beats an earlier issue",
			candidates: []Ticket{queued("a1", "a", 3), issued(queued("a2", "a", 2), 8)},
			fifo:       "a2", serviceOrder: "a2",
		},
		{
			name:       "same place in time: the earlier issue first",
			candidates: []Ticket{issued(queued("a1", "a", 5), 2), issued(queued("a2", "a", 5), 1)},
			fifo:       "a2", serviceOrder: "a2",
		},
		{
			name:       "same place and issue: the smaller id first",
			candidates: []Ticket{queued("a2", "a", 5), queued("a1", "a", 5), queued("a3", "a", 5)},
			fifo:       "a1", serviceOrder: "a1",
		},
		{
			name:       "fifo ties across services use the issue time",
			candidates: []Ticket{issued(queued("a1", "a", 5), 4), issued(queued("b1", "b", 5), 3)},
			fifo:       "b1", serviceOrder: "a1",
		},
		{
			name:       "fifo ties across services use the id last",
			candidates: []Ticket{queued("x", "a", 5), queued("m", "b", 5)},
			fifo:       "m", serviceOrder: "x",
		},
	}
	policies := []string{PolicyFIFO, PolicyServiceOrder}
	for _, tt := range tests {
		for _, policy := range policies {
			want := tt.fifo
			if policy == PolicyServiceOrder {
				want = tt.serviceOrder
			}
			t.Run(policy+"/"+tt.name, func(t *testing.T) {
				// The answer must not depend on the order of the candidates.
				for _, cands := range permutations(tt.candidates) {
					i := PickNext(policy, counter, cands)
					got := ""
					if i >= 0 {
						got = cands[i].ID
					}
					if got != want {
						t.Fatalf("PickNext(%s) over %v = %q (index %d), want %q", policy, ids(cands), got, i, want)
					}
				}
			})
		}
	}
}

func ids(ts []Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func TestPickNextCounterWithoutServices(t *testing.T) {
	c := &Counter{ID: "c1"}
	for _, policy := range []string{PolicyFIFO, PolicyServiceOrder} {
		if i := PickNext(policy, c, []Ticket{queued("a1", "a", 1)}); i != -1 {
			t.Errorf("PickNext(%s) at a counter with no services = %d, want -1", policy, i)
		}
	}
}

func TestQueueLess(t *testing.T) {
	tests := []struct {
		name string
		a, b Ticket
		want bool // a before b
	}{
		{"earlier place", queued("z", "a", 1), queued("a", "a", 2), true},
		{"later place", queued("a", "a", 2), queued("z", "a", 1), false},
		{"place beats issue", issued(queued("z", "a", 1), 9), queued("a", "a", 2), true},
		{"same place, earlier issue", issued(queued("z", "a", 5), 1), issued(queued("a", "a", 5), 2), true},
		{"same place, later issue", issued(queued("a", "a", 5), 2), issued(queued("z", "a", 5), 1), false},
		{"same place and issue, smaller id", queued("a", "a", 5), queued("b", "a", 5), true},
		{"same place and issue, larger id", queued("b", "a", 5), queued("a", "a", 5), false},
		{"identical", queued("a", "a", 5), queued("a", "a", 5), false},
	}
	for _, tt := range tests {
		if got := QueueLess(&tt.a, &tt.b); got != tt.want {
			t.Errorf("%s: QueueLess = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestQueueLessSameInstantOtherZone(t *testing.T) {
	a, b := queued("b", "a", 5), queued("a", "a", 5)
	a.QueuedAt = a.QueuedAt.In(time.FixedZone("CST", 8*3600))
	if QueueLess(&a, &b) {
		t.Error("the same instant in another zone counts as earlier")
	}
	if !QueueLess(&b, &a) {
		t.Error("the same instant in another zone is not compared by id")
	}
}

func TestReturnPlace(t *testing.T) {
	now := at(60)
	// places returns n waiting places a minute apart from minute 1.
	places := func(n int) []time.Time {
		out := make([]time.Time, n)
		for i := range out {
			out[i] = at(i + 1)
		}
		return out
	}
	tests := []struct {
		name    string
		waiting []time.Time
		behind  int
		// wantNow: the returned place is now. Otherwise it must be after
		// waiting[pos-1] (if pos > 0) and before waiting[pos] (if any).
		wantNow bool
		pos     int
	}{
		{name: "nobody waits", waiting: nil, behind: 3, wantNow: true},
		{name: "fewer than behind wait", waiting: places(2), behind: 3, wantNow: true},
		{name: "exactly behind wait", waiting: places(3), behind: 3, pos: 3},
		{name: "more than behind wait", waiting: places(4), behind: 3, pos: 3},
		{name: "behind one", waiting: places(4), behind: 1, pos: 1},
		{name: "behind zero goes first", waiting: places(4), behind: 0, pos: 0},
		{name: "behind zero, nobody waits", waiting: nil, behind: 0, wantNow: true},
		{name: "negative behind is zero", waiting: places(2), behind: -1, pos: 0},
		{
			name:    "neighbours two nanoseconds apart",
			waiting: []time.Time{at(1), at(2), at(2).Add(2 * time.Nanosecond)},
			behind:  2, pos: 2,
		},
		{
			name:    "sub-second places",
			waiting: []time.Time{at(1).Add(time.Millisecond), at(1).Add(3 * time.Millisecond)},
			behind:  1, pos: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ReturnPlace(tt.waiting, tt.behind, now)
			if tt.wantNow {
				if !got.Equal(now) {
					t.Fatalf("ReturnPlace = %v, want now (%v)", got, now)
				}
				return
			}
			if tt.pos > 0 && !got.After(tt.waiting[tt.pos-1]) {
				t.Errorf("ReturnPlace = %v, not strictly after place %d (%v)", got, tt.pos, tt.waiting[tt.pos-1])
			}
			if tt.pos < len(tt.waiting) && !got.Before(tt.waiting[tt.pos]) {
				t.Errorf("ReturnPlace = %v, not strictly before place %d (%v)", got, tt.pos+1, tt.waiting[tt.pos])
			}
			if got.After(now) {
				t.Errorf("ReturnPlace = %v, after now (%v)", got, now)
			}

			// Sorted with the waiting tickets, the returned one lands at pos.
			queue := make([]Ticket, 0, len(tt.waiting)+1)
			for i, p := range tt.waiting {
				queue = append(queue, Ticket{ID: fmt.Sprintf("w%02d", i), QueuedAt: p, IssuedAt: p})
			}
			queue = append(queue, Ticket{ID: "late", QueuedAt: got, IssuedAt: at(-100)})
			slices.SortFunc(queue, func(a, b Ticket) int {
				if QueueLess(&a, &b) {
					return -1
				}
				if QueueLess(&b, &a) {
					return 1
				}
				return 0
			})
			if i := slices.IndexFunc(queue, func(t Ticket) bool { return t.ID == "late" }); i != tt.pos {
				t.Errorf("the late arrival is at position %d of %v, want %d", i, ids(queue), tt.pos)
			}
		})
	}
}

func TestEstimateWait(t *testing.T) {
	tests := []struct {
		name     string
		position int
		handling float64
		counters int
		want     int
	}{
		{"first in line, one counter", 0, 300, 1, 300},
		{"third in line, one counter", 2, 120, 1, 360},
		{"shared by two counters", 2, 120, 2, 180},
		{"shared by three counters", 5, 90, 3, 180},
		{"fractions are truncated", 1, 100, 3, 66},
		{"no history: default handling", 0, 0, 1, DefaultHandlingSeconds},
		{"negative handling: default", 1, -5, 1, 2 * DefaultHandlingSeconds},
		{"no open counter counts as one", 1, 60, 0, 120},
		{"negative counters count as one", 0, 60, -2, 60},
	}
	for _, tt := range tests {
		if got := EstimateWait(tt.position, tt.handling, tt.counters); got != tt.want {
			t.Errorf("%s: EstimateWait(%d, %v, %d) = %d, want %d", tt.name, tt.position, tt.handling, tt.counters, got, tt.want)
		}
	}
}

func TestEstimateWaitGrowsWithPosition(t *testing.T) {
	prev := -1
	for pos := range 50 {
		got := EstimateWait(pos, 137.5, 3)
		if got < prev {
			t.Fatalf("EstimateWait(%d) = %d, less than for the position before (%d)", pos, got, prev)
		}
		prev = got
	}
}
