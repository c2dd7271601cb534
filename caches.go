package civiq

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
)

// cacheTTL is how long a hall's settings and queue picture are reused.
// The engine keeps them up to date with its own writes (observe), so the
// time only bounds how late a write of another node is seen (PostgreSQL).
const cacheTTL = time.Second

// queuePicture is what a prediction reads of a hall besides the ticket's
// own place: its counters and, per service, how many wait, how many of them
// are appointment tickets and since when the first normal ticket waits,
// read when first asked for. counters, waiting and appts are never changed
// once made; oldest only under the cache's lock.
type queuePicture struct {
	at time.Time
	// upTo is the id of the hall's newest event the reads saw: later
	// events are applied to the picture, earlier ones are in it.
	upTo     int64
	counters []Counter
	waiting  map[string]int
	appts    map[string]int // appointment tickets waiting
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
	seen  map[string]int64 // each hall's newest event observed
	// moved counts, per hall and service, the events observed that may
	// move the service's oldest place: a place read while one came in is
	// not kept.
	moved map[string]int
}

// picture returns the hall's queue picture, read again when it is older
// than cacheTTL. The caller must not change it.
func (c *queueCache) picture(tx Tx, hallID string, now time.Time) (*queuePicture, error) {
	c.mu.Lock()
	p := c.halls[hallID]
	c.mu.Unlock()
	if p != nil && freshAt(p.at, now) {
		return p, nil
	}
	upTo, err := tx.HallLastEventID(hallID)
	if err != nil {
		return nil, err
	}
	counters, err := tx.Counters(hallID)
	if err != nil {
		return nil, err
	}
	waiting, err := tx.WaitingCounts(hallID)
	if err != nil {
		return nil, err
	}
	appts, err := tx.WaitingAppointments(hallID)
	if err != nil {
		return nil, err
	}
	p = &queuePicture{at: now, upTo: upTo, counters: counters, waiting: waiting, appts: appts, oldest: map[string]oldestPlace{}}
	c.mu.Lock()
	if c.halls == nil {
		c.halls = map[string]*queuePicture{}
	}
	// A write committed after these reads and observed before now would
	// be missing from the picture for good: keep it for this answer only.
	if c.seen[hallID] <= upTo {
		c.halls[hallID] = p
	}
	c.mu.Unlock()
	return p, nil
}

// oldest is since when the first normal ticket of service s waits.
func (c *queueCache) oldest(tx Tx, p *queuePicture, hallID, s string) (oldestPlace, error) {
	key := hallID + "\x00" + s
	c.mu.Lock()
	o, ok := p.oldest[s]
	moved := c.moved[key]
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
	if c.moved[key] == moved { // else the place may have moved meanwhile: read it again next time
		p.oldest[s] = o
	}
	c.mu.Unlock()
	return o, nil
}

// observe brings the pictures up to date with committed events, as a
// fresh read would find them: a ticket issued joins its queue's count, a
// ticket called leaves it for its counter, a ticket done or gone leaves its
// counter free, a counter changed is replaced. Any other change to a
// hall's queues (a transfer, a cancel, a return) makes its picture read
// again. caches_test.go checks each kind against an uncached engine.
func (c *queueCache) observe(evs []*Event) {
	if len(evs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen, c.moved = map[string]int64{}, map[string]int{}
	}
	for _, ev := range evs {
		c.seen[ev.HallID] = max(c.seen[ev.HallID], ev.ID)
		p := c.halls[ev.HallID]
		if p == nil || ev.ID <= p.upTo {
			continue // none, or the picture was read after this event
		}
		// Readers hold counters and counts without the lock: change copies.
		q := &queuePicture{at: p.at, upTo: p.upTo, counters: p.counters, waiting: p.waiting, appts: p.appts, oldest: p.oldest}
		t := ev.Ticket
		switch {
		case ev.Type == EventRated || ev.Type == EventAnnouncement || ev.Type == EventRecalled || ev.Type == EventServing || ev.Type == EventUpdated,
			ev.Type == EventNotifyOptIn || ev.Type == EventNotifyOptOut || ev.Type == EventNotifySettings:
			continue // the queues and the counters' tickets stay as they are
		case ev.Type == EventIssued && t != nil:
			q.count(t, +1)
			if o, ok := q.oldest[t.ServiceID]; !ok || !o.any { // the first of its queue, maybe
				delete(q.oldest, t.ServiceID)
				c.moved[ev.HallID+"\x00"+t.ServiceID]++
			}
		case ev.Type == EventCalled && t != nil:
			q.count(t, -1)
			delete(q.oldest, t.ServiceID)
			c.moved[ev.HallID+"\x00"+t.ServiceID]++
			if !q.setCurrent(t.CounterID, t.ID) {
				delete(c.halls, ev.HallID)
				continue
			}
		case (ev.Type == EventDone || ev.Type == EventNoShow) && t != nil:
			q.release(t.ID)
		case ev.Type == EventCounter && ev.Counter != nil:
			i := slices.IndexFunc(q.counters, func(x Counter) bool { return x.ID == ev.Counter.ID })
			if i < 0 {
				delete(c.halls, ev.HallID) // a new counter: read its place among the others
				continue
			}
			q.counters = slices.Clone(q.counters)
			device := q.counters[i].DeviceCalls // the event's counter has none (CounterTx.Counter)
			q.counters[i] = *ev.Counter
			q.counters[i].ServiceIDs = slices.Clone(ev.Counter.ServiceIDs)
			q.counters[i].DeviceCalls = device
		default:
			delete(c.halls, ev.HallID)
			continue
		}
		c.halls[ev.HallID] = q
	}
}

// count adds d to the counts of t's queue.
func (q *queuePicture) count(t *Ticket, d int) {
	q.waiting = maps.Clone(q.waiting)
	q.waiting[t.ServiceID] += d
	if t.Channel == ChannelAppointment {
		q.appts = maps.Clone(q.appts)
		q.appts[t.ServiceID] += d
	}
}

// setCurrent gives a counter its current ticket; false when the counter
// is not in the picture.
func (q *queuePicture) setCurrent(counterID, ticketID string) bool {
	i := slices.IndexFunc(q.counters, func(x Counter) bool { return x.ID == counterID })
	if i < 0 {
		return false
	}
	q.counters = slices.Clone(q.counters)
	q.counters[i].CurrentTicketID = ticketID
	return true
}

// release frees the counter whose current ticket is ticketID.
func (q *queuePicture) release(ticketID string) {
	if i := slices.IndexFunc(q.counters, func(x Counter) bool { return x.CurrentTicketID == ticketID }); i >= 0 {
		q.counters = slices.Clone(q.counters)
		q.counters[i].CurrentTicketID = ""
	}
}

// settingsCache holds each hall's settings, services and rating settings,
// for the writes that run most (issue, call, rate): reading and decoding
// them every time costs more than the write itself.
type settingsCache struct {
	mu       sync.Mutex
	halls    map[string]kept[*hallSettings]
	ratings  map[string]kept[*RatingSettings]
	notifies map[string]kept[*NotifySettings] // as stored: the secrets sealed
	zones    map[string]kept[*time.Location]  // by the wall clock (zone)
	// forgot counts the forgets: what a transaction read is kept only
	// when none came since it began (mayKeep), since one begun before a
	// change may read the settings before it after the change's forget.
	forgot int64
}

// kept is what the cache keeps of a hall (its settings and services,
// rating or notifications settings, time zone), and when it was read.
type kept[T any] struct {
	at time.Time
	s  T
}

// fresh tells whether it was read less than cacheTTL before now.
func (k kept[T]) fresh(now time.Time) bool { return freshAt(k.at, now) }

// freshAt tells whether something read at was read less than cacheTTL
// before now (and not after it: a clock moved back).
func freshAt(at, now time.Time) bool { return now.Sub(at) < cacheTTL && !now.Before(at) }

type hallSettings struct {
	hall     *Hall
	list     []Service // in their order on screen
	services map[string]*Service
}

// fresh returns the hall's settings if they were read less than cacheTTL
// ago, else nil; the caller must not change them.
func (c *settingsCache) fresh(id string, now time.Time) *hallSettings {
	c.mu.Lock()
	e, ok := c.halls[id]
	c.mu.Unlock()
	if ok && e.fresh(now) {
		return e.s
	}
	return nil
}

// entry returns the hall's settings and services, read again when they
// are older than cacheTTL; the caller must not change them.
func (c *settingsCache) entry(tx Tx, id string, now time.Time) (*hallSettings, error) {
	return keepOrRead(c, &c.halls, tx, id, now, func(id string) (*hallSettings, error) {
		h, err := tx.Hall(id)
		if err != nil {
			return nil, err
		}
		svcs, err := tx.Services(id)
		if err != nil {
			return nil, err
		}
		e := &hallSettings{hall: h, list: svcs, services: make(map[string]*Service, len(svcs))}
		for i := range svcs {
			e.services[svcs[i].ID] = &svcs[i]
		}
		return e, nil
	})
}

// ownHall is a copy of the cached hall that the caller may change.
func (e *hallSettings) ownHall() *Hall {
	h := *e.hall
	h.PriorityGroups = slices.Clone(h.PriorityGroups)
	return &h
}

// hall returns the hall's settings; the caller must not change them.
func (c *settingsCache) hall(tx Tx, id string, now time.Time) (*Hall, error) {
	e, err := c.entry(tx, id, now)
	if err != nil {
		return nil, err
	}
	return e.hall, nil
}

// service returns a service of the hall, or not_found.
func (c *settingsCache) service(tx Tx, hallID, id string, now time.Time) (*Service, error) {
	e, err := c.entry(tx, hallID, now)
	if err != nil {
		return nil, err
	}
	if s, ok := e.services[id]; ok {
		return s, nil
	}
	return tx.Service(hallID, id) // not_found, or one made a moment ago
}

// rating returns the hall's rating settings; the caller must not change
// them.
func (c *settingsCache) rating(tx Tx, hallID string, now time.Time) (*RatingSettings, error) {
	return keepOrRead(c, &c.ratings, tx, hallID, now, tx.RatingSettings)
}

// notify returns the hall's notifications settings as stored (the secrets
// sealed), a not_found error when it has none; the caller must not change
// them. An opt-in decoded them at every write (about a quarter of its
// time in the writer).
func (c *settingsCache) notify(tx Tx, hallID string, now time.Time) (*NotifySettings, error) {
	return keepOrRead(c, &c.notifies, tx, hallID, now, tx.NotifySettings)
}

// zone returns the hall's time zone. It is timed by the wall clock, not
// the engine's: the zone does not depend on the clock, and the reads that
// want it (a ticket's times) take none.
func (c *settingsCache) zone(tx Tx, hallID string) (*time.Location, error) {
	return keepOrRead(c, &c.zones, tx, hallID, time.Now(), func(id string) (*time.Location, error) {
		h, err := tx.Hall(id)
		if err != nil {
			return nil, err
		}
		return h.Location(), nil
	})
}

// keepOrRead returns what m keeps of the hall when it is fresh, else
// reads it (by read, of tx) and keeps it when tx may (mayKeep).
func keepOrRead[T any](c *settingsCache, m *map[string]kept[T], tx Tx, hallID string, now time.Time, read func(string) (T, error)) (T, error) {
	c.mu.Lock()
	e, ok := (*m)[hallID]
	c.mu.Unlock()
	if ok && e.fresh(now) {
		return e.s, nil
	}
	s, err := read(hallID)
	if err != nil {
		var none T
		return none, err
	}
	c.mu.Lock()
	if mayKeep(tx, c.forgot) {
		if *m == nil {
			*m = map[string]kept[T]{}
		}
		(*m)[hallID] = kept[T]{at: now, s: s}
	}
	c.mu.Unlock()
	return s, nil
}

// settingsSince is a transaction that may keep what it reads of a hall's
// settings in the engine's cache: it tells the count of forgets when it
// began. A write (observedTx) and a read begun by viewSettings are; any
// other read keeps nothing.
type settingsSince interface{ settingsSince() int64 }

// mayKeep says whether what tx read may be kept, forgot being the forgets
// now (under the cache's lock): none since tx began. Each change of a
// hall's settings is forgotten after its commit, so a transaction that
// saw the settings before it began before that forget.
func mayKeep(tx Tx, forgot int64) bool {
	s, ok := tx.(settingsSince)
	return ok && s.settingsSince() == forgot
}

// generation is the count of forgets now.
func (c *settingsCache) generation() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.forgot
}

// sinceTx is a read begun by viewSettings.
type sinceTx struct {
	Tx
	since int64
}

func (t sinceTx) settingsSince() int64 { return t.since }

// viewSettings runs fn in a read transaction whose reads of the halls'
// settings may be kept in the cache (for reads that run often).
func (e *Engine) viewSettings(ctx context.Context, fn func(Tx) error) error {
	since := e.settings.generation()
	return e.store.View(ctx, func(tx Tx) error { return fn(sinceTx{tx, since}) })
}

// hallSettings returns a hall's settings and services for a read use
// case: from the cache, without a transaction, while they are fresh. The
// caller must not change them.
func (e *Engine) hallSettings(ctx context.Context, hallID string) (*hallSettings, error) {
	now := e.now()
	if s := e.settings.fresh(hallID, now); s != nil {
		return s, nil
	}
	var s *hallSettings
	err := e.viewSettings(ctx, func(tx Tx) (err error) { s, err = e.settings.entry(tx, hallID, now); return })
	return s, err
}

func (c *settingsCache) forget(hallIDs []string) {
	c.mu.Lock()
	for _, id := range hallIDs {
		delete(c.halls, id)
		delete(c.ratings, id)
		delete(c.notifies, id)
		delete(c.zones, id)
	}
	c.forgot++
	c.mu.Unlock()
}

// written is what a write transaction changed that the caches keep.
type written struct {
	events   []*Event
	settings []string // halls whose settings, services, rating or notifications settings changed
	// refuse, when set, is asked of each event before it is written: the
	// ownership rule (edge.go).
	refuse func(Tx, *Event) error
	// since is the settings cache's count of forgets when the write began
	// (settingsSince).
	since int64
	now   func() time.Time // the engine's clock
}

// observedTx is a Tx that remembers what is written through it.
type observedTx struct {
	Tx
	w *written
}

func (t observedTx) settingsSince() int64 { return t.w.since }

func (t observedTx) AppendEvent(ev *Event) error {
	if t.w.refuse != nil {
		if err := t.w.refuse(t.Tx, ev); err != nil {
			return err
		}
	}
	if err := t.Tx.AppendEvent(ev); err != nil {
		return err
	}
	t.w.events = append(t.w.events, ev)
	return nil
}

func (t observedTx) PutHall(h *Hall) error {
	return t.settingsChanged(h.ID, t.Tx.PutHall(h))
}

func (t observedTx) PutService(s *Service) error {
	return t.settingsChanged(s.HallID, t.Tx.PutService(s))
}

func (t observedTx) PutRatingSettings(hallID string, s *RatingSettings) error {
	return t.settingsChanged(hallID, t.Tx.PutRatingSettings(hallID, s))
}

func (t observedTx) PutNotifySettings(s *NotifySettings) error {
	return t.settingsChanged(s.HallID, t.Tx.PutNotifySettings(s))
}

func (t observedTx) DeleteService(hallID, id string) error {
	return t.settingsChanged(hallID, t.Tx.DeleteService(hallID, id))
}

// settingsChanged notes a settings write of the hall, this node's caches
// to clear and the others' to be told, unless the write failed.
func (t observedTx) settingsChanged(hallID string, err error) error {
	if err != nil {
		return err
	}
	t.w.settings = append(t.w.settings, hallID)
	return t.Tx.SettingsChanged(hallID)
}

// InsertSubscriber, UpdateSubscriber and DeleteSubscriber write, with the
// change, its event (EventSubscriberChanged): every node's delivery
// learns of it from the events (delivery.go), whichever use case made it.
func (t observedTx) InsertSubscriber(s *Subscriber) error {
	if err := t.Tx.InsertSubscriber(s); err != nil {
		return err
	}
	return t.subscriberChanged(s.ID)
}

func (t observedTx) UpdateSubscriber(s *Subscriber) error {
	if err := t.Tx.UpdateSubscriber(s); err != nil {
		return err
	}
	return t.subscriberChanged(s.ID)
}

func (t observedTx) DeleteSubscriber(id int64) error {
	if err := t.Tx.DeleteSubscriber(id); err != nil {
		return err
	}
	return t.subscriberChanged(id)
}

func (t observedTx) subscriberChanged(id int64) error {
	return t.AppendEvent(&Event{Type: EventSubscriberChanged, At: t.w.now(), Text: strconv.FormatInt(id, 10)})
}

// ForgetSettings makes the engine read a hall's settings again: another
// node changed them (postgres.Follow hears of it).
func (e *Engine) ForgetSettings(hallID string) { e.forgetSettings(hallID) }

// forgetSettings drops what the engine keeps of halls' settings, their
// time zones with them.
func (e *Engine) forgetSettings(hallIDs ...string) { e.settings.forget(hallIDs) }
