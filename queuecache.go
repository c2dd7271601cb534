package civiq

import (
	"context"
	"sync"
	"time"
)

// queueTTL is how long a hall's queue picture is reused. The engine keeps
// the pictures of its own writes up to date (observe), so the time only
// bounds how late a write of another node is seen (PostgreSQL).
const queueTTL = time.Second

// queuePicture is what a prediction reads of a hall besides the ticket's
// own place: its counters and, per service, how many wait and since when
// the first normal ticket waits, read when first asked for. counters and
// waiting are never changed once made; oldest only under the cache's lock.
type queuePicture struct {
	at       time.Time
	counters []Counter
	waiting  map[string]int
	oldest   map[string]oldestPlace
}

type oldestPlace struct {
	at  time.Time
	any bool
}

// queueCache holds the queue picture of each hall.
type queueCache struct {
	mu    sync.Mutex
	halls map[string]*queuePicture
}

// picture returns the hall's queue picture, read again when it is older
// than queueTTL. The caller must not change it.
func (c *queueCache) picture(tx Tx, hallID string, now time.Time) (*queuePicture, error) {
	c.mu.Lock()
	p := c.halls[hallID]
	c.mu.Unlock()
	if p != nil && now.Sub(p.at) < queueTTL && !now.Before(p.at) {
		return p, nil
	}
	counters, err := tx.Counters(hallID)
	if err != nil {
		return nil, err
	}
	waiting, err := tx.WaitingCounts(hallID)
	if err != nil {
		return nil, err
	}
	p = &queuePicture{at: now, counters: counters, waiting: waiting, oldest: map[string]oldestPlace{}}
	c.mu.Lock()
	if c.halls == nil {
		c.halls = map[string]*queuePicture{}
	}
	c.halls[hallID] = p
	c.mu.Unlock()
	return p, nil
}

// oldest is since when the first normal ticket of service s waits.
func (c *queueCache) oldest(tx Tx, p *queuePicture, hallID, s string) (oldestPlace, error) {
	c.mu.Lock()
	o, ok := p.oldest[s]
	c.mu.Unlock()
	if ok {
		return o, nil
	}
	places, err := tx.WaitingPlaces(hallID, s, 1)
	if err != nil {
		return o, err
	}
	if len(places) > 0 {
		o = oldestPlace{at: places[0], any: true}
	}
	c.mu.Lock()
	p.oldest[s] = o
	c.mu.Unlock()
	return o, nil
}

// observe brings the pictures up to date with committed events: a ticket
// issued joins its queue's count; any other change to a hall's queues or
// counters makes its picture read again.
func (c *queueCache) observe(evs []*Event) {
	if len(evs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		p := c.halls[ev.HallID]
		if p == nil {
			continue
		}
		switch ev.Type {
		case EventRated, EventAnnouncement:
		case EventIssued:
			if ev.Ticket == nil {
				delete(c.halls, ev.HallID)
				continue
			}
			s := ev.Ticket.ServiceID
			// Readers hold the counts without the lock: change a copy.
			waiting := make(map[string]int, len(p.waiting)+1)
			for k, v := range p.waiting {
				waiting[k] = v
			}
			waiting[s]++
			p = &queuePicture{at: p.at, counters: p.counters, waiting: waiting, oldest: p.oldest}
			c.halls[ev.HallID] = p
			if o, ok := p.oldest[s]; ok && !o.any {
				delete(p.oldest, s)
			}
		default:
			delete(c.halls, ev.HallID)
		}
	}
}

// update runs fn in a write transaction of the store and, once it is
// committed, shows the events it appended to the engine's caches.
func (e *Engine) update(ctx context.Context, fn func(Tx) error) error {
	var evs []*Event
	err := e.Store.Update(ctx, func(tx Tx) error {
		evs = evs[:0]
		return fn(observedTx{tx, &evs})
	})
	if err == nil {
		e.queues.observe(evs)
	}
	return err
}

// observedTx is a Tx that remembers the events appended through it.
type observedTx struct {
	Tx
	evs *[]*Event
}

func (t observedTx) AppendEvent(ev *Event) error {
	if err := t.Tx.AppendEvent(ev); err != nil {
		return err
	}
	*t.evs = append(*t.evs, ev)
	return nil
}
