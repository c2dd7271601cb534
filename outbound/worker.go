package outbound

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/civiq/civiq"
	"github.com/prometheus/client_golang/prometheus"
)

// Linger is how long a woken webhook worker waits for more events before
// it reads (Dispatcher.Linger): under a busy hall each read then takes 10
// ms of commits, a pipelined window of some 50 messages at 5,000 tickets
// a second (HTTPSender.Pipeline), where 5 ms gave two windows of half
// that, each a write and a read on both sides of the connection.
const Linger = 10 * time.Millisecond

// Batch is how many messages a worker reads at once; RecordMost is how
// many acknowledged messages it keeps before it records them, and
// RecordEvery how long. A crash sends again what was not recorded, with
// the same ids. A record is a write of the hall's one writer (the cursor
// and a row of the delivery log): under a busy hall a hook acknowledges
// thousands of messages a second, and records every Batch were a few
// dozen writes a second a hook.
const (
	Batch       = 256
	RecordMost  = 4 * Batch
	RecordEvery = 200 * time.Millisecond
)

// Dispatcher runs one worker per subscriber this node holds the lease of
// (civiq.DeliveryLease): on several nodes exactly one delivers for each.
type Dispatcher struct {
	Engine *civiq.Engine
	Sender civiq.Sender
	// Owner names this node in the leases.
	Owner string
	// Exclusive: this node is alone on its database (SQLite), and takes
	// the leases at once, its own from before a crash included.
	Exclusive bool
	// Poll is how often workers look for new events when nobody woke them:
	// a safety net, as every commit wakes the workers (Notify; on
	// PostgreSQL the commits of every node, through postgres.Follow). The
	// dispatcher lists the subscribers at the start and when told of a
	// change only: by this node's engine (Changed), and by the events of
	// every node (Events: a change of a subscriber is an event,
	// civiq.EventSubscriberChanged), never by polling the list.
	Poll time.Duration
	// Linger is how long a woken worker waits for more events before it
	// reads: one read for the commits of that while, not one each.
	Linger  time.Duration
	Metrics *Metrics

	// list gives every subscriber: Engine.AllSubscribers.
	list func(context.Context) ([]*civiq.Subscriber, error)

	mu      sync.Mutex
	workers map[int64]*worker
	wake    chan struct{} // closed and replaced on each Notify
	moved   chan struct{} // closed and replaced on each Changed: ends a retry's wait
	changed chan struct{} // a subscriber changed: list them again
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// New returns a dispatcher of engine's subscribers sending with sender; m
// may be nil.
func New(engine *civiq.Engine, sender civiq.Sender, m *Metrics) *Dispatcher {
	b := make([]byte, 8)
	rand.Read(b)
	if m != nil {
		m.states = engine.DeliveryStates
	}
	return &Dispatcher{Engine: engine, Sender: sender, Owner: hex.EncodeToString(b), Poll: 5 * time.Second, Linger: Linger, Metrics: m,
		list: engine.AllSubscribers, workers: map[int64]*worker{}, wake: make(chan struct{}), moved: make(chan struct{}), changed: make(chan struct{}, 1)}
}

// Changed tells the dispatcher a subscriber was added, changed or removed
// (civiq.Engine.SubscribersChanged). It never blocks.
func (d *Dispatcher) Changed() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
	d.mu.Lock()
	close(d.moved)
	d.moved = make(chan struct{})
	d.mu.Unlock()
	d.Notify()
}

// Notify wakes the workers: events were committed. It never blocks.
func (d *Dispatcher) Notify() {
	d.mu.Lock()
	if len(d.workers) == 0 { // nobody to wake: no commit pays for it
		d.mu.Unlock()
		return
	}
	close(d.wake)
	d.wake = make(chan struct{})
	d.mu.Unlock()
}

// Committed is given the events of each of this node's commits, once on
// disk, on a node alone on its database (the store's Publish): they join
// the workers' kept reads (civiq.Engine.Committed), so a woken worker
// finds them without reading them back, and the workers are woken. With
// no worker nothing is kept.
func (d *Dispatcher) Committed(evs []*civiq.Event) {
	d.mu.Lock()
	n := len(d.workers)
	d.mu.Unlock()
	if n > 0 {
		d.Engine.Committed(evs)
	}
	d.Notify()
}

// Events is given the events of every node's commits (postgres.Follow on
// several nodes): they wake the workers, and a change of a subscriber
// among them, made on any node, has the subscribers listed again.
func (d *Dispatcher) Events(evs []*civiq.Event) {
	if civiq.SubscriberChange(evs) {
		d.Changed()
		return
	}
	d.Notify()
}

// woken gives the channels the next Notify and the next Changed close.
func (d *Dispatcher) woken() (wake, moved <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.wake, d.moved
}

// Start runs the dispatcher until Stop.
func (d *Dispatcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	d.done.Add(1)
	go d.run(ctx)
}

// Stop ends every worker and waits for them.
func (d *Dispatcher) Stop() {
	if d.stop != nil {
		d.stop()
	}
	d.done.Wait()
}

// run keeps a worker for each subscriber there is: it lists them at the
// start and when told of a change. A list that fails is tried again after
// Poll.
func (d *Dispatcher) run(ctx context.Context) {
	defer d.done.Done()
	for {
		subs, err := d.list(ctx)
		var retry <-chan time.Time
		if err == nil {
			d.keep(ctx, subs)
		} else if ctx.Err() == nil {
			slog.Warn("outbound: list subscribers", "err", err)
			retry = time.After(d.Poll)
		}
		select {
		case <-ctx.Done():
			d.mu.Lock()
			for _, w := range d.workers {
				w.cancel()
			}
			d.mu.Unlock()
			return
		case <-retry:
		case <-d.changed:
		}
	}
}

func (d *Dispatcher) keep(ctx context.Context, subs []*civiq.Subscriber) {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := map[int64]bool{}
	for _, s := range subs {
		seen[s.ID] = true
		if d.workers[s.ID] != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{d: d, id: s.ID, cancel: cancel, label: strconv.FormatInt(s.ID, 10)}
		d.workers[s.ID] = w
		d.done.Add(1)
		go func() {
			defer d.done.Done()
			w.run(wctx)
		}()
	}
	for id, w := range d.workers {
		if !seen[id] {
			w.cancel()
			delete(d.workers, id)
			if d.Metrics != nil {
				d.Metrics.forget(w.label)
			}
		}
	}
}

type worker struct {
	d      *Dispatcher
	id     int64
	label  string
	cancel context.CancelFunc
	// The subscriber's metrics, each looked up by its label once
	// (observe), when first counted.
	delivered, failed prometheus.Counter
	latency           prometheus.Observer
}

// run delivers for one subscriber while this node holds its lease.
func (w *worker) run(ctx context.Context) {
	d := w.d
	for ctx.Err() == nil {
		held, err := d.Engine.ClaimDelivery(ctx, w.id, d.Owner, d.Exclusive)
		if err != nil || !held {
			if civiq.ErrorCode(err) == civiq.ENotFound {
				return
			}
			sleep(ctx, nil, civiq.DeliveryLease/4)
			continue
		}
		slog.Info("outbound: this node delivers for the subscriber", "subscriber", w.id, "node", d.Owner)
		w.deliver(ctx)
	}
}

// deliver sends while the lease is renewed beside it; it returns when the
// lease is lost or the subscriber gone. What the receiver acknowledged is
// recorded (the cursor, the delivery log) once per RecordMost messages, or
// RecordEvery after the first of them, or at a failure, or when it stops:
// not once per commit, which with several hooks would be several writes
// for each of the hall's. A crash sends that much again, with the same ids.
func (w *worker) deliver(ctx context.Context) {
	d := w.d
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // renew the lease; stop delivering when it is lost
		for sleep(ctx, nil, civiq.DeliveryLease/4) {
			if held, err := d.Engine.ClaimDelivery(ctx, w.id, d.Owner, d.Exclusive); err == nil && !held {
				cancel()
			}
		}
	}()
	// The subscriber's kind may pace it otherwise (civiq.Subscriber.Pace:
	// the edge link's bigger uploads); known after the first read.
	size, most, linger, every := Batch, RecordMost, d.Linger, RecordEvery
	var (
		base    int64                   // the cursor recorded when the unrecorded run began
		through int64                   // sent and acknowledged, or not wanted, through this event
		acked   []civiq.DeliveryAttempt // not yet recorded
		since   time.Time               // when the unrecorded run began
		// The subscriber's state as last read or recorded, while no
		// change of a subscriber was told since (moved) and for Poll at
		// most: the next read need not read its row again.
		known      *civiq.Subscriber
		knownMoved <-chan struct{}
		knownAt    time.Time
	)
	know := func(s *civiq.Subscriber, moved <-chan struct{}) {
		known, knownMoved, knownAt = s, moved, time.Now()
	}
	record := func(ctx context.Context, attempts []civiq.DeliveryAttempt) error {
		_, moved := d.woken()
		s, err := d.Engine.RecordDelivery(ctx, d.Owner, w.id, base, through, attempts)
		through, acked = 0, acked[:0]
		know(s, moved)
		if err != nil {
			known = nil
		}
		return err
	}
	defer func() { // stopping: keep what was acknowledged, if the lease is still ours
		if through > 0 {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			record(rctx, acked)
		}
	}()
	// wake and moved are closed by the next commit and the next change of
	// a subscriber after wokenAt: taken before each read, or, when a
	// commit woke the worker, before it lingers (the read after the
	// linger then began after wokenAt: NextFrom.Woken).
	var (
		wake, moved <-chan struct{}
		wokenAt     time.Time
		lingered    bool
	)
	lingerOn := func() {
		wake, moved = d.woken()
		wokenAt, lingered = time.Now(), true
		sleep(ctx, nil, linger)
	}
	for ctx.Err() == nil {
		if !lingered {
			wake, moved = d.woken()
			wokenAt = time.Now()
		}
		lingered = false
		if known != nil && (isClosed(knownMoved) || time.Since(knownAt) >= d.Poll) {
			known = nil
		}
		b, err := d.Engine.NextDeliveryOf(ctx, w.id, civiq.NextFrom{Known: known, Woken: wokenAt}, through, size)
		if err == nil && known == nil {
			know(b.Subscriber, moved)
		}
		if err != nil {
			known = nil
			if civiq.ErrorCode(err) == civiq.ENotFound {
				through = 0
				return
			}
			sleep(ctx, nil, d.Poll)
			continue
		}
		if p, ok := b.Subscriber.Pace(); ok {
			size, most, linger, every = p.Batch, p.Batch, p.Linger, p.RecordEvery
		}
		if through > 0 && b.Subscriber.Cursor != base {
			// An admin moved the cursor (replay, skip): start again from it.
			through, acked = 0, acked[:0]
			continue
		}
		if through == 0 {
			base, since = b.Subscriber.Cursor, time.Now()
		}
		var failed *civiq.DeliveryAttempt
		if len(b.Messages) > 0 {
			tries := d.send(ctx, b)
			for i := range tries {
				a := &tries[i] // not a copy: one failed points to would be on the heap, a try each
				if ctx.Err() != nil && !a.OK() {
					return // stopping: the try does not count
				}
				w.observe(a)
				if !a.OK() {
					failed = a
					break
				}
				acked = append(acked, *a)
				through = a.EventID
			}
		}
		if failed == nil && b.Through > max(through, b.Subscriber.Cursor) {
			through = b.Through // and read over events it does not want
		}
		switch {
		case failed != nil:
			through = max(through, base) // the cursor stays before the failed message
			if err := record(ctx, append(acked, *failed)); err != nil {
				if errors.Is(err, civiq.ErrLeaseLost) {
					return
				}
				if ctx.Err() == nil {
					slog.Warn("outbound: record delivery", "subscriber", w.id, "err", err)
					sleep(ctx, nil, d.Poll)
				}
			}
		case through > 0 && (len(acked) >= most || time.Since(since) >= every):
			if err := record(ctx, acked); err != nil {
				if errors.Is(err, civiq.ErrLeaseLost) {
					return
				}
				if ctx.Err() == nil {
					slog.Warn("outbound: record delivery", "subscriber", w.id, "err", err)
					sleep(ctx, nil, d.Poll)
				}
			}
		case len(b.Messages) > 0 && b.More:
			// More may be waiting: read again at once. A read that
			// reached the newest event waits to be woken, and lingers,
			// like one that found nothing: under a busy writer each read
			// then takes the commits of a while, not those of one.
		case through > 0:
			if woken(ctx, wake, every-time.Since(since)) { // new events, or time to record
				lingerOn()
			}
		default:
			wait, on := d.Poll, wake
			if !b.Wait.IsZero() {
				wait = min(max(b.Wait.Sub(d.Engine.Now()), 0), d.Poll)
				on = moved // a retry waits for its time, not for new events: or for an admin's replay or resume
			}
			if woken(ctx, on, wait) {
				lingerOn()
			}
		}
	}
}

// send sends a batch's messages in order until one fails: at once when
// the sender is a civiq.BatchSender (the edge link's one upload, the
// webhooks' pipelined requests).
func (d *Dispatcher) send(ctx context.Context, b *civiq.DeliveryBatch) []civiq.DeliveryAttempt {
	if bs, ok := d.Sender.(civiq.BatchSender); ok {
		return bs.SendBatch(ctx, b.Subscriber, b.Messages)
	}
	attempts := make([]civiq.DeliveryAttempt, 0, len(b.Messages))
	for _, m := range b.Messages {
		a := d.Sender.Send(ctx, b.Subscriber, m)
		attempts = append(attempts, a)
		if !a.OK() || ctx.Err() != nil {
			break
		}
	}
	return attempts
}

func (w *worker) observe(a *civiq.DeliveryAttempt) {
	m := w.d.Metrics
	if m == nil {
		return
	}
	if a.OK() {
		if w.delivered == nil {
			w.delivered = m.Delivered.WithLabelValues(w.label)
		}
		w.delivered.Inc()
	} else {
		if w.failed == nil {
			w.failed = m.Failed.WithLabelValues(w.label)
		}
		w.failed.Inc()
	}
	if w.latency == nil {
		w.latency = m.Latency.WithLabelValues(w.label)
	}
	w.latency.Observe(a.Latency.Seconds())
}

// isClosed reports whether c was closed.
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// sleep waits for d, wake or the end of ctx; it reports whether ctx goes on.
func sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}

// woken waits like sleep; it reports whether wake ended the wait.
func woken(ctx context.Context, wake <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
		return true
	case <-t.C:
	}
	return false
}

// Metrics of the delivery, by subscriber id (a bounded set: admins create
// subscribers). The pending events are counted when the metrics are
// scraped (civiq.Engine.DeliveryStates), not on a timer.
type Metrics struct {
	Delivered *prometheus.CounterVec
	Failed    *prometheus.CounterVec
	Latency   *prometheus.HistogramVec

	pending *prometheus.Desc
	states  func(context.Context) (map[int64]*civiq.DeliveryState, error) // set by New
}

// NewMetrics registers the delivery metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civiq_outbound_delivered_total",
			Help: "Messages acknowledged by the receiver (2xx), by subscriber."}, []string{"subscriber"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civiq_outbound_failed_total",
			Help: "Tries that failed (no answer, or not 2xx), by subscriber."}, []string{"subscriber"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "civiq_outbound_latency_seconds",
			Help: "Time of one try, by subscriber.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"subscriber"}),
		pending: prometheus.NewDesc("civiq_outbound_pending", "Events waiting for a subscriber, by subscriber.", []string{"subscriber"}, nil),
	}
	reg.MustRegister(m.Delivered, m.Failed, m.Latency, (*pendingCollector)(m))
	return m
}

func (m *Metrics) forget(label string) {
	m.Delivered.DeleteLabelValues(label)
	m.Failed.DeleteLabelValues(label)
	m.Latency.DeleteLabelValues(label)
}

// pendingCollector gives civiq_outbound_pending at each scrape.
type pendingCollector Metrics

func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.pending }

func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	if c.states == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	states, err := c.states(ctx)
	if err != nil {
		slog.Warn("outbound: pending events for the metrics", "err", err)
		return
	}
	for id, st := range states {
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(st.Pending), strconv.FormatInt(id, 10))
	}
}
