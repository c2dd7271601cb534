package civiq

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Durable delivery (issue 13): the events table is the log, and each
// subscriber of it (a webhook endpoint; later the 好差评 reporter, the
// notifications, the edge link) keeps a cursor into it. A delivery worker
// per subscriber (package outbound) reads the events after the cursor,
// keeps those the subscriber wants, sends them in event order and moves the
// cursor only once the receiver acknowledged them: at-least-once, each
// message with an id that stays the same however often it is sent. A
// message that fails holds back the ones behind it for that subscriber
// only, and is retried on RetrySchedule; when the schedule is spent the
// subscriber is failing, the cursor waits, and an admin may skip the
// message (audited) or replay from an event.

// Subscriber statuses.
const (
	SubscriberActive   = "active"   // delivering, or retrying on schedule
	SubscriberFailing  = "failing"  // the retry schedule is spent: still retried every last step, an admin sees it
	SubscriberDisabled = "disabled" // the receiver answered 410 Gone, or an admin paused it: nothing is sent
)

// SubscriberWebhook is the kind of a webhook endpoint (webhook.go).
const SubscriberWebhook = "webhook"

// EventSubscriberChanged is written with every change of a subscriber
// (added, changed, its cursor moved by an admin, removed; Text is its id),
// by the engine's transaction itself (caches.go's observedTx): a node
// learns of the subscribers another node changed from the events it
// follows (postgres.Follow), not by listing them every while. It belongs
// to no hall, so no subscriber and no stream takes it.
const EventSubscriberChanged = "subscriber.changed"

// SubscriberChange reports whether one of the events is a change of a
// subscriber (EventSubscriberChanged).
func SubscriberChange(evs []*Event) bool {
	return slices.ContainsFunc(evs, func(e *Event) bool { return e.Type == EventSubscriberChanged })
}

// Subscriber is one reader of the events table with its cursor and the
// state of its delivery.
type Subscriber struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"` // event types, or ["*"]
	Halls       []string  `json:"halls"`  // empty: every hall
	Description string    `json:"description"`
	Status      string    `json:"status"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`

	// Secret signs the messages; PrevSecret, until PrevUntil, signs them
	// too after a rotation. Neither is ever shown but once (webhook.go).
	Secret     string    `json:"-"`
	PrevSecret string    `json:"-"`
	PrevUntil  time.Time `json:"-"`

	// Cursor is the id of the last event done with: delivered, or not
	// wanted.
	Cursor int64 `json:"cursor"`
	// Attempts counts the failed tries at the message after the cursor;
	// the next is due at NextAt. FailingSince is the first of them, and
	// LastError the last one's error (cleared with them: resume).
	Attempts     int        `json:"attempts"`
	NextAt       time.Time  `json:"next_attempt_at,omitzero"` // zero: no try is due
	FailingSince *time.Time `json:"failing_since,omitempty"`
	LastError    string     `json:"last_error"`

	// The lease: the node that delivers for the subscriber, until when.
	LeaseOwner string    `json:"-"`
	LeaseUntil time.Time `json:"-"`
}

// Wants reports whether the subscriber takes the event: its type and its
// hall are among those asked for.
func (s *Subscriber) Wants(e *Event) bool {
	if e.HallID == "" { // the delivery's own (EventSubscriberChanged)
		return false
	}
	if len(s.Halls) > 0 && !slices.Contains(s.Halls, e.HallID) {
		return false
	}
	if s.Kind == SubscriberHaochaping {
		return HaochapingRecordID(e) != ""
	}
	if s.Kind == SubscriberNotify { // what notify.go reads, whenever it was made
		return slices.Contains(notifyEvents, e.Type)
	}
	if slices.Contains(s.Events, "*") {
		// A webhook's "*" is every type it may ask for (EventTypes), not
		// the bookkeeping; the edge's subscriber sends the city all.
		return s.Kind != SubscriberWebhook || slices.Contains(EventTypes, e.Type)
	}
	return slices.Contains(s.Events, e.Type)
}

// Secrets are the secrets that sign a message sent at now: the current
// one, and the previous one during a rotation.
func (s *Subscriber) Secrets(now time.Time) []string {
	if s.PrevSecret != "" && now.Before(s.PrevUntil) {
		return []string{s.Secret, s.PrevSecret}
	}
	return []string{s.Secret}
}

// MessageID is the stable id of the message that carries event eventID to
// subscriber subID: the same on every try and every replay, so a receiver
// drops repeats by it.
func MessageID(subID, eventID int64) string {
	var buf [48]byte
	return string(AppendMessageID(buf[:0], subID, eventID))
}

// AppendMessageID appends MessageID(subID, eventID) to b.
func AppendMessageID(b []byte, subID, eventID int64) []byte {
	b = strconv.AppendInt(append(b, "msg_"...), subID, 10)
	return strconv.AppendInt(append(b, '_'), eventID, 10)
}

// Message is what a subscriber is sent for one event.
type Message struct {
	ID      string
	EventID int64 // 0 for a test message
	HallID  string
	Type    string
	At      time.Time
	// Body: {"type","timestamp","data"}, data being the event as the staff
	// stream shows it (Event.Staff): personal data never in it.
	Body []byte
	// Event is the event as the delivery read it, for a sender in this
	// process that would otherwise read it again (the notifications'
	// planner); nil for a test message. Shared by every subscriber's
	// message of the event: senders only read it.
	Event *Event
}

// Message is the message that carries the event to subscriber subID.
func (e *Event) Message(subID int64) *Message {
	m := e.messageOf(subID, e.messageBody())
	return &m
}

func (e *Event) messageOf(subID int64, body []byte) Message {
	return Message{ID: MessageID(subID, e.ID), EventID: e.ID, HallID: e.HallID, Type: e.Type, At: e.At, Body: body, Event: e}
}

// messageBody is the body of the event's messages, made once: every
// subscriber's message of an event has the same body (the id and the
// signature, in the headers, are its own), so with several hooks each
// event is encoded once, not once a hook. The hooks move forward together
// and share the events they read (eventReads), so each body is made once
// per event. Bodies are never changed once made (senders only read them).
//
// When no staff screen made the event's staff view first (Event.JSON),
// the view is written inside the body, and JSON(true) then gives that
// part of it: one allocation for both, where the view alone was a buffer
// of 640 bytes and the body a copy of it (a hall whose events only the
// hooks carry made both for each event).
func (e *Event) messageBody() []byte {
	e.bodyOnce.Do(func() {
		e.staffOnce.Do(func() {
			b := appendMessageHead(make([]byte, 0, 448), e.Type, e.At)
			k := len(b)
			if b = e.appendJSON(b, true); b == nil {
				return // what JSON(true) gives then: nil
			}
			b = append(b, '}')
			e.staff, e.body = slices.Clip(b[k:len(b)-1]), b
		})
		if e.body == nil {
			e.body = messageBody(e.Type, e.At, e.JSON(true))
		}
	})
	return e.body
}

// eventReads keeps the latest reads of the events table by the delivery
// workers: the subscribers move forward together (every hook reads the
// same events after the same commits), so a read one made is the others'
// too, each event read and decoded once, not once a subscriber. A read
// holds every event with an id in (after, its last]: ids commit in order
// (one writer on SQLite, the writers' lock on PostgreSQL), so no event of
// that range can come later. What came after it is read afresh: a worker
// that sent what it found reads again at once (outbound's worker).
type eventReads struct {
	mu    sync.Mutex
	reads [4]eventRead // the latest, by turns
	next  int
	// reading: the read of the store under way, if any: hooks woken by
	// the same commit wait for one read rather than make one each.
	reading *readUnderWay
	// fed counts the commits handed over (feed), fedAt the latest's time.
	fed   uint64
	fedAt time.Time
}

type readUnderWay struct {
	after int64
	done  chan struct{}
}

// wait waits for the read under way, when it reads the events after an id
// at most after, and reports whether there was one.
func (c *eventReads) wait(ctx context.Context, after int64) bool {
	c.mu.Lock()
	r := c.reading
	c.mu.Unlock()
	if r == nil || r.after > after {
		return false
	}
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	return true
}

// begin notes a read of the events after the id under way; the function
// it gives ends it (after keep).
func (c *eventReads) begin(after int64) func() {
	r := &readUnderWay{after: after, done: make(chan struct{})}
	c.mu.Lock()
	if c.reading == nil {
		c.reading = r
	}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		if c.reading == r {
			c.reading = nil
		}
		c.mu.Unlock()
		close(r.done)
	}
}

type eventRead struct {
	after int64
	evs   []*Event
	// at: the read began after this time; last: it reached the newest
	// event then (it found fewer than it asked for).
	at   time.Time
	last bool
	// fed: the count of commits handed over (eventReads.fed) when the
	// latest joined it; 0 for a read of the store.
	fed uint64
}

// feedFresh: a read the latest commit joined is the newest as of now
// while that commit is younger than this. Past it the workers read the
// store again, a safety net for commits no one handed over.
const feedFresh = time.Second

// since gives the events after the id from a kept read that holds some,
// at most limit of them; newestAt, when not zero, says they go to the
// newest event as of that time (the read reached it, and they are its
// last). When none holds any, a read that reached the newest event and
// ends at the id gives none, kept, with its time (the latest such):
// nothing came after the id until then. A read the latest commit handed
// over joined (feed) is the newest as of now, while that is fresh.
func (c *eventReads) since(after int64, limit int) (evs []*Event, newestAt time.Time, kept bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	fresh := now.Sub(c.fedAt) < feedFresh
	for _, r := range c.reads {
		if len(r.evs) == 0 || after < r.after {
			continue
		}
		at := r.at
		if r.fed != 0 && r.fed == c.fed && fresh {
			at = now
		}
		if last := r.evs[len(r.evs)-1].ID; after > last || after == last && !r.last {
			continue
		} else if after == last {
			if !kept || at.After(newestAt) {
				newestAt, kept = at, true
			}
			continue
		}
		i, _ := slices.BinarySearchFunc(r.evs, after, func(ev *Event, id int64) int { return cmp.Compare(ev.ID, id) })
		if r.evs[i].ID == after {
			i++
		}
		end := min(len(r.evs), i+limit)
		if r.last && end == len(r.evs) {
			newestAt = at
		} else {
			newestAt = time.Time{}
		}
		return r.evs[i:end], newestAt, true
	}
	return nil, newestAt, kept
}

// keep keeps a read of the events after the id, begun after at; last: it
// reached the newest event.
func (c *eventReads) keep(after int64, evs []*Event, at time.Time, last bool) {
	if len(evs) == 0 {
		return
	}
	c.mu.Lock()
	c.reads[c.next] = eventRead{after: after, evs: evs, at: at, last: last}
	c.next = (c.next + 1) % len(c.reads)
	c.mu.Unlock()
}

// feedRead bounds a kept read that commits' events join (feed): past it
// they begin another. The kept reads then hold as many events as when
// they were the workers' reads only (outbound.Batch each).
const feedRead = 256

// feed keeps the events of one of this node's commits, handed over once
// they are on disk and before the workers are woken (Engine.Committed), as
// a read of (first-1, last] that reached the newest event at at: when
// their ids follow one another no other event can have an id in that
// range, whoever wrote it. They join the kept read that ends just before
// them, if there is one; events whose ids skip one are not kept (the
// workers read them from the store).
func (c *eventReads) feed(evs []*Event, at time.Time) {
	if len(evs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fed++
	c.fedAt = at
	for i := 1; i < len(evs); i++ {
		if evs[i].ID != evs[i-1].ID+1 {
			return
		}
	}
	first := evs[0].ID
	for i := range c.reads {
		// Those who took events of r hold them below its length: appending
		// changes nothing they see.
		r := &c.reads[i]
		if n := len(r.evs); n > 0 && r.evs[n-1].ID == first-1 && n+len(evs) <= feedRead {
			r.evs = append(r.evs, evs...)
			r.at, r.last, r.fed = at, true, c.fed
			return
		}
	}
	c.reads[c.next] = eventRead{after: first - 1, evs: append(make([]*Event, 0, max(len(evs), 64)), evs...), at: at, last: true, fed: c.fed}
	c.next = (c.next + 1) % len(c.reads)
}

// Committed is given the events of each of this node's commits, in id
// order, once they are on disk and before the delivery workers are woken
// (outbound.Dispatcher.Committed, while it has workers, on a node alone
// on its database: the store's Publish).
// They join the delivery's kept reads (eventReads.feed): a worker woken by
// a commit finds its events there instead of reading them back.
func (e *Engine) Committed(evs []*Event) {
	e.reads.feed(evs, time.Now())
}

// DeliveryPace is how a delivery worker (package outbound) paces a kind of
// subscriber: how many messages it reads and sends at once, how long a
// woken worker lingers for more, and how long it keeps acknowledged
// messages before it records them.
type DeliveryPace struct {
	Batch       int
	Linger      time.Duration
	RecordEvery time.Duration
}

// Pace is the subscriber's own delivery pace, if its kind has one.
func (s *Subscriber) Pace() (DeliveryPace, bool) {
	switch s.Kind {
	case SubscriberEdge:
		return EdgePace, true
	case SubscriberNotify:
		return NotifyPace, true
	}
	return DeliveryPace{}, false
}

// EventTest is the type of the message POST /webhooks/{id}/test sends; it
// is no event of the log and no one subscribes to it.
const EventTest = "webhook.test"

func messageBody(typ string, at time.Time, data []byte) []byte {
	b := appendMessageHead(make([]byte, 0, len(data)+96), typ, at)
	b = append(b, data...)
	return append(b, '}')
}

// appendMessageHead appends a message body's start, to its data.
func appendMessageHead(b []byte, typ string, at time.Time) []byte {
	b = append(b, `{"type":`...)
	b = strconv.AppendQuote(b, typ)
	b = append(b, `,"timestamp":"`...)
	b = at.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, `","data":`...)
}

// DeliveryAttempt is one try at sending a message: kept in the bounded
// delivery log.
type DeliveryAttempt struct {
	ID           int64         `json:"id"`
	SubscriberID int64         `json:"subscriber_id"`
	EventID      int64         `json:"event_id"`
	MessageID    string        `json:"message_id"`
	At           time.Time     `json:"at"`
	Status       int           `json:"status"` // the HTTP status; 0 when none came
	Latency      time.Duration `json:"-"`
	LatencyMS    float64       `json:"latency_ms"`
	Error        string        `json:"error,omitempty"` // short: never the receiver's whole answer
}

// OK reports whether the receiver acknowledged the message (2xx).
func (a *DeliveryAttempt) OK() bool { return a.Status >= 200 && a.Status < 300 }

// Gone reports whether the receiver asked never to be sent again (410).
func (a *DeliveryAttempt) Gone() bool { return a.Status == 410 }

// Sender sends a message to a subscriber and tells how it went; it never
// fails otherwise. The webhook sender is package outbound's.
type Sender interface {
	Send(ctx context.Context, s *Subscriber, m *Message) DeliveryAttempt
}

// BatchSender is a Sender that may send several messages of a subscriber
// at once (the edge link posts them to the city in one request). It tells
// how each went, in order, as many as it tried: every one acknowledged but
// perhaps the last, as if sent one by one.
type BatchSender interface {
	Sender
	SendBatch(ctx context.Context, s *Subscriber, ms []*Message) []DeliveryAttempt
}

// RetrySchedule is the wait before each retry of a failed message (after
// the first try, the second, ...), each within ±10% (jitter): together
// about 27.5 hours, at least 24.7. When it is spent the subscriber is
// failing and the message is tried again every last step until it goes or
// an admin skips it.
var RetrySchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// NotifyRetry is the longest a notifications subscriber waits to try
// again (the schedule's first step, 5 s, stays): the retry of one
// message a provider throttled or could not take holds the hall's other
// messages, which are of use for minutes. It is still failing once the
// schedule's count of tries is spent, for an admin to see.
const NotifyRetry = 15 * time.Second

// RetryDelay is the wait after the attempts-th failed try, jitter being in
// [0,1): ±10% around the schedule's step.
func RetryDelay(attempts int, jitter float64) time.Duration {
	step := RetrySchedule[min(max(attempts, 1), len(RetrySchedule))-1]
	return time.Duration(float64(step) * (0.9 + 0.2*jitter))
}

// retryDelay is the wait after the subscriber's Attempts-th failed try:
// the schedule's (RetryDelay), but an edge's link EdgeRetry (the city is
// expected back), and the notifications' NotifyRetry at most (one
// message a provider asked to have later holds the hall's others, which
// are of use for minutes). jitter is in [0,1): ±10%.
func (s *Subscriber) retryDelay(jitter float64) time.Duration {
	j := 0.9 + 0.2*jitter
	switch s.Kind {
	case SubscriberEdge:
		return time.Duration(float64(EdgeRetry) * j)
	case SubscriberNotify:
		return min(RetryDelay(s.Attempts, jitter), time.Duration(float64(NotifyRetry)*j))
	}
	return RetryDelay(s.Attempts, jitter)
}

// DeliveryLogSize is how many attempts the log keeps per subscriber at
// least (it keeps whole records: AppendDeliveries' batches), and
// DeliveryLogAge how long at most.
const (
	DeliveryLogSize = 1000
	DeliveryLogAge  = 7 * 24 * time.Hour
)

// DeliveryLease is how long a node holds a subscriber without renewing:
// on several PostgreSQL nodes only the holder delivers, and another takes
// over this long after it died.
const DeliveryLease = 10 * time.Second

// DeliveryTx is what a store keeps of subscribers and their delivery log
// (sqlstore/deliveries.go).
type DeliveryTx interface {
	InsertSubscriber(s *Subscriber) error
	// UpdateSubscriber writes everything but the cursor, the retry state
	// and the lease.
	UpdateSubscriber(s *Subscriber) error
	Subscriber(id int64) (*Subscriber, error)
	Subscribers() ([]*Subscriber, error)
	DeleteSubscriber(id int64) error
	// ClaimSubscriber gives the lease to owner until until when it is free,
	// expired at now, or owner's already; it reports whether owner holds it.
	ClaimSubscriber(id int64, owner string, now, until time.Time) (bool, error)
	// SetDeliveryState writes the cursor and the retry state.
	SetDeliveryState(s *Subscriber) error
	// AppendDeliveries logs attempts, as one record, and keeps the
	// records holding the subscriber's last DeliveryLogSize.
	AppendDeliveries(subID int64, as []DeliveryAttempt) error
	// Deliveries gives the subscriber's last attempts, newest first.
	Deliveries(subID int64, limit int) ([]DeliveryAttempt, error)
	// PruneDeliveries forgets at most limit of the records whose first
	// attempt was made before the time, and says how many it forgot.
	PruneDeliveries(before time.Time, limit int) (int, error)
	// EventsSince gives up to limit events of every hall with an id above
	// after, oldest first.
	EventsSince(after int64, limit int) ([]*Event, error)
	// LastEventID is the id of the newest event of any hall, 0 if none.
	LastEventID() (int64, error)
	// CountEvents counts the events after the id of the halls and of the
	// types given (none given: any; no hall given: every hall's, not the
	// delivery's own EventSubscriberChanged), and gives the time of the
	// oldest.
	CountEvents(after int64, halls, types []string) (int, *time.Time, error)
	// EventsOf gives up to limit events after the id of the halls and of
	// the types given (none given: any), oldest first.
	EventsOf(after int64, halls, types []string, limit int) ([]*Event, error)
}

// DeliveryState is what an admin sees of a subscriber's delivery.
type DeliveryState struct {
	Status       string     `json:"status"`
	Cursor       int64      `json:"cursor"`
	Pending      int        `json:"pending"`
	OldestAt     *time.Time `json:"oldest_pending_at,omitempty"`
	OldestAgeSec float64    `json:"oldest_pending_age_seconds"`
	Attempts     int        `json:"attempts"`
	NextAt       *time.Time `json:"next_attempt_at,omitempty"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	LastError    string     `json:"last_error"`
}

// pendingTypes splits the types of events a subscriber wants into those
// it takes every event of (nil: every type) and those it takes some events
// of (Wants looks into them): a 好差评 reporter takes every rating but only
// the follow-ups' outcomes.
func (s *Subscriber) pendingTypes() (every, some []string) {
	switch {
	case s.Kind == SubscriberHaochaping:
		return []string{EventRated}, []string{EventFollowUp}
	case slices.Contains(s.Events, "*") && s.Kind == SubscriberWebhook:
		return EventTypes, nil
	case slices.Contains(s.Events, "*"):
		return nil, nil
	case len(s.Events) == 0: // wants nothing
		return []string{""}, nil
	}
	return s.Events, nil
}

// pendingEvents counts the events after a subscriber's cursor that it
// wants, and gives the time of the oldest: counted by the store, but for
// the types it takes only some events of, which are read (few: a hall's
// follow-ups) and asked Wants.
func pendingEvents(tx Tx, s *Subscriber) (int, *time.Time, error) {
	every, some := s.pendingTypes()
	n, oldest, err := tx.CountEvents(s.Cursor, s.Halls, every)
	if err != nil || len(some) == 0 {
		return n, oldest, err
	}
	const page = 500
	for after := s.Cursor; ; {
		evs, err := tx.EventsOf(after, s.Halls, some, page)
		if err != nil {
			return 0, nil, err
		}
		for _, ev := range evs {
			after = ev.ID
			if !s.Wants(ev) {
				continue
			}
			n++
			if oldest == nil || ev.At.Before(*oldest) {
				at := ev.At
				oldest = &at
			}
		}
		if len(evs) < page {
			return n, oldest, nil
		}
	}
}

func (e *Engine) deliveryState(tx Tx, s *Subscriber) (*DeliveryState, error) {
	n, oldest, err := pendingEvents(tx, s)
	if err != nil {
		return nil, err
	}
	st := &DeliveryState{Status: s.Status, Cursor: s.Cursor, Pending: n, OldestAt: oldest, Attempts: s.Attempts,
		FailingSince: s.FailingSince, LastError: s.LastError}
	if oldest != nil {
		st.OldestAgeSec = e.now().Sub(*oldest).Seconds()
	}
	st.NextAt = s.nextTry()
	return st, nil
}

// nextTry is when the message the subscriber is held on is tried again:
// nil when it is held on none, or disabled (nothing is tried until an
// admin starts it again).
func (s *Subscriber) nextTry() *time.Time {
	if s.Attempts == 0 || s.Status == SubscriberDisabled || s.NextAt.IsZero() {
		return nil
	}
	at := s.NextAt
	return &at
}

// DeliveryStates gives the state of every subscriber by id: the worker's
// metrics read it.
func (e *Engine) DeliveryStates(ctx context.Context) (map[int64]*DeliveryState, error) {
	out := map[int64]*DeliveryState{}
	err := e.store.View(ctx, func(tx Tx) error {
		subs, err := tx.Subscribers()
		if err != nil {
			return err
		}
		for _, s := range subs {
			if out[s.ID], err = e.deliveryState(tx, s); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// AllSubscribers lists every subscriber: the delivery worker's view, not
// an admin's (Webhooks).
func (e *Engine) AllSubscribers(ctx context.Context) ([]*Subscriber, error) {
	var out []*Subscriber
	err := e.store.View(ctx, func(tx Tx) (err error) { out, err = tx.Subscribers(); return })
	return out, err
}

// ClaimDelivery takes or renews owner's lease on the subscriber; it
// reports whether owner holds it. A node alone on its database (SQLite)
// claims it exclusively: a lease left by its own previous life (a crash, a
// kill -9) is taken at once instead of after DeliveryLease.
func (e *Engine) ClaimDelivery(ctx context.Context, subID int64, owner string, exclusive bool) (bool, error) {
	var ok bool
	now := e.now()
	expiredBy := now
	if exclusive {
		expiredBy = time.Unix(0, math.MaxInt64) // every lease has expired by then
	}
	err := e.update(ctx, func(tx Tx) (err error) {
		ok, err = tx.ClaimSubscriber(subID, owner, expiredBy, now.Add(DeliveryLease))
		return
	})
	return ok, err
}

// DeliveryBatch is what a worker sends next.
type DeliveryBatch struct {
	Subscriber *Subscriber
	// Messages, in event order: the events after the cursor the
	// subscriber wants.
	Messages []*Message
	// Through is the id of the last event read: once Messages are
	// delivered the cursor moves there.
	Through int64
	// Wait: nothing is due before then (a retry's backoff, or a
	// subscriber that sends nothing).
	Wait time.Time
	// More: there may be events after these (the read stopped at its
	// limit, or came from another worker's read: eventReads); read again
	// at once.
	More bool
}

// NextDelivery reads up to limit messages due for the subscriber after its
// cursor, or after the event after when it is further: a worker that has
// sent more than it recorded yet (RecordDelivery) goes on from there. A
// disabled subscriber, or one whose retry is not yet due, gets none.
func (e *Engine) NextDelivery(ctx context.Context, subID, after int64, limit int) (*DeliveryBatch, error) {
	return e.NextDeliveryOf(ctx, subID, NextFrom{}, after, limit)
}

// NextFrom is what a delivery worker knows when it reads
// (NextDeliveryOf).
type NextFrom struct {
	// Known is the subscriber's state as a DeliveryBatch or
	// RecordDelivery gave it, not changed since: the worker hears of every
	// change (SubscribersChanged, and the events of other nodes). Nil:
	// read it.
	Known *Subscriber
	// Woken: every commit after this time wakes the worker. A batch
	// taken from a kept read that reached the newest event after it is
	// not More: the worker waits to be woken instead of reading again.
	Woken time.Time
}

// NextDeliveryOf is NextDelivery for a worker that knows the subscriber's
// state (from.Known): its row is not read again, and when the events
// after the cursor are among the kept reads (eventReads: another hook
// read them), nothing is read at all.
func (e *Engine) NextDeliveryOf(ctx context.Context, subID int64, from NextFrom, after int64, limit int) (*DeliveryBatch, error) {
	now, known := e.now(), from.Known
	for try := 0; known != nil; try++ {
		b := &DeliveryBatch{}
		read, err := e.nextBatch(nil, time.Time{}, b, known, from.Woken, after, limit, now)
		if err != nil || !read {
			return b, err
		}
		// Another hook may be reading what this one needs: wait for it.
		if try > 0 || !e.reads.wait(ctx, b.Through) {
			break
		}
	}
	b := &DeliveryBatch{}
	readAt := time.Now() // the read's snapshot is later
	err := e.store.View(ctx, func(tx Tx) error {
		s := known
		if s == nil {
			var err error
			if s, err = tx.Subscriber(subID); err != nil {
				return err
			}
		}
		_, err := e.nextBatch(tx, readAt, b, s, from.Woken, after, limit, now)
		return err
	})
	return b, err
}

// nextBatch fills b with s's messages after its cursor or after. With tx
// nil it takes the kept reads only, and read tells that the store was
// needed (b is then to be filled again, with a tx); tx began after
// readAt.
func (e *Engine) nextBatch(tx Tx, readAt time.Time, b *DeliveryBatch, s *Subscriber, woken time.Time, after int64, limit int, now time.Time) (read bool, err error) {
	b.Subscriber, b.Through = s, max(s.Cursor, after)
	if s.Status == SubscriberDisabled {
		return false, nil
	}
	if s.Attempts > 0 && now.Before(s.NextAt) {
		b.Wait = s.NextAt
		return false, nil
	}
	// Read a few pages at most: a subscriber that wants little moves
	// its cursor over what it does not want.
	b.More = true
	for range 8 {
		evs, newestAt, kept := e.reads.since(b.Through, limit)
		if kept && len(evs) == 0 && (woken.IsZero() || !newestAt.After(woken)) {
			kept = false // nothing after it then, but a commit may have come since
		}
		if !kept {
			if tx == nil {
				return true, nil
			}
			end := e.reads.begin(b.Through)
			evs, err = tx.EventsSince(b.Through, limit)
			if err == nil {
				e.reads.keep(b.Through, evs, readAt, len(evs) < limit)
			}
			end()
			if err != nil {
				return false, err
			}
		}
		var msgs []Message // the messages b.Messages point to, made together
		for i, ev := range evs {
			if len(b.Messages) == limit {
				return false, nil
			}
			if s.Wants(ev) {
				if len(msgs) == cap(msgs) {
					// At most one a message left to read and room for.
					n := min(len(evs)-i, limit-len(b.Messages))
					msgs = make([]Message, 0, n)
					if b.Messages == nil {
						b.Messages = make([]*Message, 0, n)
					}
				}
				msgs = append(msgs, ev.messageOf(s.ID, ev.messageBody()))
				b.Messages = append(b.Messages, &msgs[len(msgs)-1])
			}
			b.Through = ev.ID
		}
		if len(evs) < limit && !kept || kept && !woken.IsZero() && newestAt.After(woken) {
			// The newest event: any later commit wakes the worker.
			b.More = false
			return false, nil
		}
		if len(b.Messages) > 0 {
			return false, nil // the worker reads again at once after sending them
		}
		// A kept read with nothing wanted, or a whole page of it: on.
	}
	return false, nil
}

// ErrLeaseLost: the node no longer holds the subscriber; another delivers.
var ErrLeaseLost = Errorf(EConflict, "another node delivers for this subscriber")

// RecordDelivery writes what a worker holding the lease did with a batch
// it read when the cursor was at from: the attempts, in order, each
// acknowledged but perhaps the last. The cursor moves over what was
// acknowledged (to through when all was); a failure schedules the retry
// (RetryDelay), makes the subscriber failing once the schedule is spent,
// and a 410 disables it. When the cursor is no longer at from, an admin
// moved it meanwhile (a replay, a skip): the attempts are logged, and the
// admin's cursor stays.
func (e *Engine) RecordDelivery(ctx context.Context, owner string, subID int64, from, through int64, attempts []DeliveryAttempt) (*Subscriber, error) {
	var out *Subscriber
	now := e.now()
	err := e.update(ctx, func(tx Tx) error {
		s, err := tx.Subscriber(subID)
		if err != nil {
			return err
		}
		if s.LeaseOwner != owner {
			return ErrLeaseLost
		}
		if err := tx.AppendDeliveries(subID, attempts); err != nil {
			return err
		}
		if s.Kind == SubscriberHaochaping {
			if err := e.ackHaochaping(tx, s, attempts); err != nil {
				return err
			}
		}
		out = s
		if s.Cursor != from {
			return nil
		}
		applyAttempts(s, through, attempts, now, rand.Float64())
		return tx.SetDeliveryState(s)
	})
	return out, err
}

// The admin's moves on a subscriber of any kind (webhook.go's for the
// webhooks, haochaping.go's for the 好差评 reporters): its delivery log,
// replay, skip and the status an admin sets. One implementation; each
// kind names the lookup that finds its own and decides who may.

// subscriberLookup finds a subscriber of one kind that p may manage; any
// other is not found (webhook, haochapingReporter).
type subscriberLookup func(tx Tx, p Principal, id int64) (*Subscriber, error)

// kindName names a kind of subscriber in errors and the audit.
func kindName(kind string) string {
	if kind == SubscriberHaochaping {
		return "好差评 reporter"
	}
	return kind
}

// changeSubscriber runs change on the subscriber find gives and writes it
// (with its EventSubscriberChanged, which tells the dispatchers).
func (e *Engine) changeSubscriber(ctx context.Context, p Principal, id int64, find subscriberLookup, change func(Tx, *Subscriber) error) (*Subscriber, error) {
	var out *Subscriber
	err := e.update(ctx, func(tx Tx) error {
		s, err := find(tx, p, id)
		if err != nil {
			return err
		}
		if err := change(tx, s); err != nil {
			return err
		}
		s.UpdatedAt = e.now()
		out = s
		return tx.UpdateSubscriber(s)
	})
	return out, err
}

// deliveries gives a subscriber's last attempts, newest first.
func (e *Engine) deliveries(ctx context.Context, p Principal, id int64, limit int, find subscriberLookup) ([]DeliveryAttempt, error) {
	var out []DeliveryAttempt
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := find(tx, p, id); err != nil {
			return err
		}
		var err error
		out, err = tx.Deliveries(id, limit)
		return err
	})
	return out, err
}

// replay sets a subscriber to send again every event from fromEventID on.
func (e *Engine) replay(ctx context.Context, p Principal, id, fromEventID int64, find subscriberLookup) (*Subscriber, error) {
	if err := checkReplayFrom(fromEventID); err != nil {
		return nil, err
	}
	return e.changeSubscriber(ctx, p, id, find, func(tx Tx, s *Subscriber) error {
		return s.replayFrom(tx, fromEventID)
	})
}

// heldEvent is the event a retrying subscriber is held on: the first after
// its cursor it wants, among the next 500; nil when none is.
func heldEvent(tx Tx, s *Subscriber) (*Event, error) {
	evs, err := tx.EventsSince(s.Cursor, 500)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if s.Wants(ev) {
			return ev, nil
		}
	}
	return nil, nil
}

// skip drops the message a subscriber is held on and goes on with the
// next: only an admin's explicit decision, audited (AuditDeliverySkipped).
// It answers the id of the event skipped.
func (e *Engine) skip(ctx context.Context, p Principal, id int64, find subscriberLookup) (int64, error) {
	var skipped int64
	_, err := e.changeSubscriber(ctx, p, id, find, func(tx Tx, s *Subscriber) error {
		if p.Role() != RoleAdmin {
			return Errorf(EForbidden, "only admins skip a message")
		}
		what := kindName(s.Kind) + " " + strconv.FormatInt(s.ID, 10)
		if s.Attempts == 0 {
			return Errorf(EConflict, "%s is not stuck on a message", what)
		}
		ev, err := heldEvent(tx, s)
		if err != nil {
			return err
		}
		if ev == nil {
			return Errorf(EConflict, "%s has no message to skip", what)
		}
		skipped = ev.ID
		s.Cursor = skipped
		s.resume()
		if err := tx.SetDeliveryState(s); err != nil {
			return err
		}
		return tx.AppendAudit(&AuditEvent{Type: AuditDeliverySkipped, At: e.now(),
			Username: what + " event " + strconv.FormatInt(skipped, 10), Actor: p.Key()})
	})
	return skipped, err
}

// setStatus is an admin's status for a subscriber of any kind: "disabled"
// pauses it; "active" starts a disabled or failing one again, and one
// retrying on schedule, with its retry state cleared, so the message it is
// held on is tried at once (and the schedule starts over). Empty leaves it.
func (s *Subscriber) setStatus(tx Tx, status string) error {
	switch {
	case status == SubscriberActive && (s.Status != SubscriberActive || s.Attempts > 0):
		s.Status = SubscriberActive
		s.resume()
		return tx.SetDeliveryState(s)
	case status == SubscriberDisabled && !s.NextAt.IsZero():
		// Paused while retrying: its failed tries stay, no next one is due.
		s.Status, s.NextAt = status, time.Time{}
		return tx.SetDeliveryState(s)
	case status != "":
		s.Status = status
	}
	return nil
}

func checkReplayFrom(fromEventID int64) error {
	if fromEventID <= 0 {
		return FieldErrorf("from_event_id", "from_event_id is an event id, at least 1")
	}
	return nil
}

// replayFrom sets the subscriber to send again every event from
// fromEventID on, with the same message ids as the first time.
func (s *Subscriber) replayFrom(tx Tx, fromEventID int64) error {
	last, err := tx.LastEventID()
	if err != nil {
		return err
	}
	if fromEventID > last+1 {
		return FieldErrorf("from_event_id", "from_event_id %d is after the newest event %d", fromEventID, last)
	}
	s.Cursor = fromEventID - 1
	s.resume()
	return tx.SetDeliveryState(s)
}

// resume clears a subscriber's failed tries: the message after its cursor
// is due now, a failing subscriber is active again, and the last error
// goes with the tries it belonged to (the delivery log keeps it), so an
// active subscriber never shows an error of the past as its own.
func (s *Subscriber) resume() {
	s.Attempts, s.FailingSince, s.NextAt, s.LastError = 0, nil, time.Time{}, ""
	if s.Status == SubscriberFailing {
		s.Status = SubscriberActive
	}
}

// applyAttempts is RecordDelivery's rule.
func applyAttempts(s *Subscriber, through int64, attempts []DeliveryAttempt, now time.Time, jitter float64) {
	if len(attempts) == 0 || attempts[len(attempts)-1].OK() {
		s.Cursor = max(s.Cursor, through)
		if len(attempts) > 0 {
			s.resume()
		}
		return
	}
	last := attempts[len(attempts)-1]
	s.Cursor = max(s.Cursor, last.EventID-1)
	s.Attempts++
	s.LastError = last.Error
	if s.FailingSince == nil {
		at := last.At
		s.FailingSince = &at
	}
	s.NextAt = now.Add(s.retryDelay(jitter))
	if s.Kind == SubscriberEdge { // edge.go: the city is expected back, never given up on
		return
	}
	switch {
	case last.Gone():
		s.Status = SubscriberDisabled
		s.NextAt = time.Time{} // nothing is tried until an admin starts it again
	case s.Attempts > len(RetrySchedule):
		s.Status = SubscriberFailing
	}
}

// undelivered is the id after which events are kept for the subscribers
// that have yet to deliver them: the lowest cursor of those not disabled
// (a failing one's cursor waits, and nothing is dropped).
func undelivered(tx Tx) (int64, error) {
	subs, err := tx.Subscribers()
	if err != nil {
		return 0, err
	}
	keep := int64(math.MaxInt64)
	for _, s := range subs {
		if s.Status != SubscriberDisabled {
			keep = min(keep, s.Cursor)
		}
	}
	return keep, nil
}
