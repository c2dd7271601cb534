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

// Batch is how many messages a worker reads at once; the cursor moves once
// per batch (a crash sends again at most one batch, with the same ids).
const Batch = 256

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
	// Poll is how often workers look for new events when nobody woke them,
	// and the dispatcher for subscribers nobody told it of (Changed): a
	// safety net, as every commit wakes the workers (Notify; on
	// PostgreSQL the commits of every node, through postgres.Follow).
	Poll    time.Duration
	Metrics *Metrics

	mu      sync.Mutex
	workers map[int64]*worker
	wake    chan struct{} // closed and replaced on each Notify
	changed chan struct{} // a subscriber changed: list them again
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// New returns a dispatcher of engine's subscribers sending with sender; m
// may be nil.
func New(engine *civiq.Engine, sender civiq.Sender, m *Metrics) *Dispatcher {
	b := make([]byte, 8)
	rand.Read(b)
	return &Dispatcher{Engine: engine, Sender: sender, Owner: hex.EncodeToString(b), Poll: 5 * time.Second, Metrics: m,
		workers: map[int64]*worker{}, wake: make(chan struct{}), changed: make(chan struct{}, 1)}
}

// Changed tells the dispatcher a subscriber was added, changed or removed
// (civiq.Engine.SubscribersChanged). It never blocks.
func (d *Dispatcher) Changed() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
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

func (d *Dispatcher) woken() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.wake
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

// run keeps a worker for each subscriber there is, and the gauges.
func (d *Dispatcher) run(ctx context.Context) {
	defer d.done.Done()
	tick := time.NewTicker(d.Poll)
	defer tick.Stop()
	lastGauges := time.Time{}
	for {
		subs, err := d.Engine.AllSubscribers(ctx)
		if err == nil {
			d.keep(ctx, subs)
		} else if ctx.Err() == nil {
			slog.Warn("outbound: list subscribers", "err", err)
		}
		if d.Metrics != nil && time.Since(lastGauges) > 10*time.Second {
			lastGauges = time.Now()
			d.gauges(ctx)
		}
		select {
		case <-ctx.Done():
			d.mu.Lock()
			for _, w := range d.workers {
				w.cancel()
			}
			d.mu.Unlock()
			return
		case <-tick.C:
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

func (d *Dispatcher) gauges(ctx context.Context) {
	states, err := d.Engine.DeliveryStates(ctx)
	if err != nil {
		return
	}
	for id, st := range states {
		d.Metrics.Pending.WithLabelValues(strconv.FormatInt(id, 10)).Set(float64(st.Pending))
	}
}

type worker struct {
	d      *Dispatcher
	id     int64
	label  string
	cancel context.CancelFunc
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
// lease is lost or the subscriber gone.
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
	for ctx.Err() == nil {
		wake := d.woken()
		b, err := d.Engine.NextDelivery(ctx, w.id, Batch)
		if err != nil {
			if civiq.ErrorCode(err) == civiq.ENotFound {
				return
			}
			sleep(ctx, nil, d.Poll)
			continue
		}
		if len(b.Messages) == 0 {
			if b.Through > b.Subscriber.Cursor { // read over events it does not want
				if _, err := d.Engine.RecordDelivery(ctx, d.Owner, w.id, b.Through, nil); err != nil {
					return
				}
				continue
			}
			wait := d.Poll
			if !b.Wait.IsZero() {
				wait = min(max(b.Wait.Sub(d.Engine.Now()), 0), d.Poll)
				wake = nil // a retry waits for its time, not for new events
			}
			sleep(ctx, wake, wait)
			continue
		}
		attempts := make([]civiq.DeliveryAttempt, 0, len(b.Messages))
		for _, m := range b.Messages {
			a := d.Sender.Send(ctx, b.Subscriber, m)
			if ctx.Err() != nil && !a.OK() {
				return // stopping: the try does not count
			}
			attempts = append(attempts, a)
			w.observe(&a)
			if !a.OK() {
				break
			}
		}
		if _, err := d.Engine.RecordDelivery(ctx, d.Owner, w.id, b.Through, attempts); err != nil {
			if !errors.Is(err, civiq.ErrLeaseLost) && ctx.Err() == nil {
				slog.Warn("outbound: record delivery", "subscriber", w.id, "err", err)
				sleep(ctx, nil, d.Poll)
			}
			if errors.Is(err, civiq.ErrLeaseLost) {
				return
			}
		}
	}
}

func (w *worker) observe(a *civiq.DeliveryAttempt) {
	m := w.d.Metrics
	if m == nil {
		return
	}
	if a.OK() {
		m.Delivered.WithLabelValues(w.label).Inc()
	} else {
		m.Failed.WithLabelValues(w.label).Inc()
	}
	m.Latency.WithLabelValues(w.label).Observe(a.Latency.Seconds())
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

// Metrics of the delivery, by subscriber id (a bounded set: admins create
// subscribers).
type Metrics struct {
	Pending   *prometheus.GaugeVec
	Delivered *prometheus.CounterVec
	Failed    *prometheus.CounterVec
	Latency   *prometheus.HistogramVec
}

// NewMetrics registers the delivery metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "civiq_outbound_pending",
			Help: "Events waiting for a subscriber, by subscriber."}, []string{"subscriber"}),
		Delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civiq_outbound_delivered_total",
			Help: "Messages acknowledged by the receiver (2xx), by subscriber."}, []string{"subscriber"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civiq_outbound_failed_total",
			Help: "Tries that failed (no answer, or not 2xx), by subscriber."}, []string{"subscriber"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "civiq_outbound_latency_seconds",
			Help: "Time of one try, by subscriber.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"subscriber"}),
	}
	reg.MustRegister(m.Pending, m.Delivered, m.Failed, m.Latency)
	return m
}

func (m *Metrics) forget(label string) {
	m.Pending.DeleteLabelValues(label)
	m.Delivered.DeleteLabelValues(label)
	m.Failed.DeleteLabelValues(label)
	m.Latency.DeleteLabelValues(label)
}
