// Package inmem fans events out to the live streams of one process.
package inmem

import (
	"sync"

	"github.com/civiq/civiq"
)

// Hub delivers each committed event to every subscriber of its hall. A
// subscriber whose buffer is full is cut, never waited for: its stream ends
// and the client comes back with Last-Event-ID.
type Hub struct {
	mu    sync.RWMutex
	halls map[string]map[*Sub]struct{}
	n     int
	// OnCount, when set, is told the number of subscribers after each change.
	OnCount func(n int)
}

// Sub is one live stream's subscription. C is closed when the subscriber
// is cut or unsubscribed.
type Sub struct {
	HallID string
	C      chan *civiq.Event
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{halls: map[string]map[*Sub]struct{}{}} }

// Subscribe starts delivering the hall's events to a new subscriber with a
// buffer of buf events.
func (h *Hub) Subscribe(hallID string, buf int) *Sub {
	s := &Sub{HallID: hallID, C: make(chan *civiq.Event, buf)}
	h.mu.Lock()
	m := h.halls[hallID]
	if m == nil {
		m = map[*Sub]struct{}{}
		h.halls[hallID] = m
	}
	m[s] = struct{}{}
	h.n++
	n := h.n
	h.mu.Unlock()
	h.count(n)
	return s
}

// Unsubscribe stops delivery to s and closes its channel; calling it again,
// or after s was cut, does nothing.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	removed := h.remove(s)
	n := h.n
	h.mu.Unlock()
	if removed {
		h.count(n)
	}
}

// remove deletes s; h.mu must be held.
func (h *Hub) remove(s *Sub) bool {
	m := h.halls[s.HallID]
	if _, ok := m[s]; !ok {
		return false
	}
	delete(m, s)
	if len(m) == 0 {
		delete(h.halls, s.HallID)
	}
	h.n--
	close(s.C)
	return true
}

// Publish hands events, in id order, to their halls' subscribers.
func (h *Hub) Publish(events []*civiq.Event) {
	var slow map[*Sub]bool
	h.mu.RLock()
	for _, e := range events {
		for s := range h.halls[e.HallID] {
			if slow[s] {
				continue // no later event may reach it past the one it missed
			}
			select {
			case s.C <- e:
			default:
				if slow == nil {
					slow = map[*Sub]bool{}
				}
				slow[s] = true
			}
		}
	}
	h.mu.RUnlock()
	if len(slow) == 0 {
		return
	}
	h.mu.Lock()
	for s := range slow {
		h.remove(s)
	}
	n := h.n
	h.mu.Unlock()
	h.count(n)
}

// Count returns the number of subscribers.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

func (h *Hub) count(n int) {
	if h.OnCount != nil {
		h.OnCount(n)
	}
}
