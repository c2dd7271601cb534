package civiq

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Engine runs the use cases of a hall on a Store: every method that changes
// something is one transaction with its event rows. It is the one way into
// the domain: the store is its own, so no handler, page or command opens a
// transaction.
type Engine struct {
	store Store
	// Now is the clock; tests set it.
	Now func() time.Time
	// Sealer encrypts the personal data of bookings (idnumber.go); without
	// it booking is unavailable.
	Sealer *Sealer
	// Receipts signs the receipts of cases (receipt.go); without it none
	// is issued.
	Receipts *ReceiptKeys
	// CityKeys are the city's public receipt keys, at an edge node: they
	// verify the passes of bookings it never pulled (bookingpass.go).
	CityKeys *ReceiptKeys
	// Outbound sends webhooks' test messages (webhook.go); the delivery
	// worker (package outbound) sets it.
	Outbound Sender
	// SubscribersChanged is told when a subscriber was added, changed or
	// removed (each such write has its EventSubscriberChanged: the engine
	// tells it once committed), or its cursor moved by hand: the delivery
	// worker (package outbound) looks at once.
	SubscribersChanged func()
	// Node is the node's role: a city (the default) or a hall's edge
	// (edge.go).
	Node Node
	// WebhookAllow lists the loopback, link-local and private addresses
	// webhooks may be sent to (civiq serve --webhook-allow).
	WebhookAllow []netip.Prefix
	// OIDCAllow lists the loopback, link-local and private addresses the
	// identity platform may be reached at (civiq serve --oidc-allow).
	OIDCAllow []netip.Prefix
	// LDAPAllow lists those the directory may be reached at (civiq serve
	// --ldap-allow).
	LDAPAllow []netip.Prefix
	// NotifyAllow lists those the notifications' SMS and WeChat providers
	// may be reached at (civiq serve --notify-allow): a hall's provider
	// endpoint is checked against it when an admin sets it
	// (providerAllowed), and dialled through it (app.Providers).
	NotifyAllow []netip.Prefix
	// Channels makes the notifications' channels of a hall's settings
	// (notify.go; package notify's Makers); without it settings are
	// checked without their providers and nothing is sent.
	Channels ChannelMaker
	// MakeDirectory makes the directory's client of LDAP settings
	// (package sso): it checks the passwords of the names no local user
	// has, and of the users it made (sso.go); without it, or without
	// LDAP settings, only local users sign in with a password.
	MakeDirectory func(*LDAPSettings) (Directory, error)
	sso           ssoCache // the settings in force (ssosettings.go)

	auth     authCache
	logins   loginGuard    // sign-in limits (login.go)
	handling handlingCache // recent handling times per service (predict.go)
	queues   queueCache    // each hall's queue picture (caches.go)
	reads    eventReads    // the delivery's latest reads of the events, shared likewise
	settings settingsCache // each hall's settings and services (caches.go)
	relay    relay         // city-side requests for edges (edgerelay.go)
	pulled   sync.Map      // hall id -> pulledConfig: the last configuration an edge pulled (edgedown.go)
	// edgeHalls: the halls with an edge node, on a city (edge.go).
	edgeHalls edgeHallCache
	// Wrong tries at the last 4 characters (tries.go): per case number,
	// per booking code.
	caseTries, codeTries wrongTries
}

// location is the hall's time zone, kept with its settings (caches.go).
func (e *Engine) location(tx Tx, hallID string) (*time.Location, error) {
	return e.settings.zone(tx, hallID)
}

// NewEngine returns an engine on store with the real clock.
func NewEngine(store Store) *Engine { return &Engine{store: store, Now: time.Now} }

func (e *Engine) now() time.Time { return e.Now() }

// update runs fn in a write transaction of the store and, once it is
// committed, shows what it changed to the engine's caches.
func (e *Engine) update(ctx context.Context, fn func(Tx) error) error {
	var w written
	var refuse func(Tx, *Event) error
	if ownerOf(ctx) == "" {
		refuse = e.refuseEvent // edge.go: the ownership rule
	}
	err := e.store.Update(ctx, func(tx Tx) error {
		w = written{refuse: refuse, now: e.now, since: e.settings.generation()}
		return fn(observedTx{tx, &w})
	})
	if len(w.settings) > 0 {
		e.forgetSettings(w.settings...)
	}
	if err == nil {
		e.queues.observe(w.events)
		if SubscriberChange(w.events) {
			e.subscribersChanged() // this node's delivery at once; the others' from the event
		}
	}
	return err
}

// Idem is an Idempotency-Key sent with a request, scoped to who sent it and
// to what, with a hash of the request so a reused key with another request
// is refused.
type Idem struct {
	Scope string
	Key   string
	Hash  string
}

// IdempotencyRecord remembers the answer to a request sent with an
// Idempotency-Key, so the same key gives the same answer for 24 hours.
type IdempotencyRecord struct {
	Scope       string
	Key         string
	RequestHash string
	TicketID    string // empty when the answer had no ticket (204)
	CreatedAt   time.Time
}

// IdempotencyWindow is how long a key is remembered.
const IdempotencyWindow = 24 * time.Hour

// IdempotencyTx is what a store keeps of idempotency keys
// (sqlstore/idempotency.go).
type IdempotencyTx interface {
	Idempotency(scope, key string, since time.Time) (*IdempotencyRecord, error)
	PutIdempotency(r *IdempotencyRecord) error
}

// idempotent runs do unless the key was seen; then it returns the ticket of
// the first answer (nil for an answer without one).
func (e *Engine) idempotent(tx Tx, idem *Idem, do func() (*Ticket, error)) (*Ticket, error) {
	if idem == nil || idem.Key == "" {
		return do()
	}
	now := e.now()
	rec, err := tx.Idempotency(idem.Scope, idem.Key, now.Add(-IdempotencyWindow))
	if err != nil {
		return nil, err
	}
	if rec != nil {
		if rec.RequestHash != idem.Hash {
			return nil, Errorf(EConflict, "this Idempotency-Key was used for another request")
		}
		if rec.TicketID == "" {
			return nil, nil
		}
		return tx.Ticket(rec.TicketID)
	}
	t, err := do()
	if err != nil {
		return nil, err
	}
	r := &IdempotencyRecord{Scope: idem.Scope, Key: idem.Key, RequestHash: idem.Hash, CreatedAt: now}
	if t != nil {
		r.TicketID = t.ID
	}
	return t, tx.PutIdempotency(r)
}

// present fills the position and expected wait of a ticket just written,
// in a read of its own: the reads run beside the writer instead of holding
// it. A failed read leaves them out rather than failing a committed write.
func (e *Engine) present(ctx context.Context, t *Ticket, err error) (*Ticket, error) {
	if err != nil || t == nil {
		return t, err
	}
	if verr := e.viewSettings(ctx, func(tx Tx) error { return e.estimate(tx, t) }); verr != nil {
		// By its hall and number: its id is the holder's key, in no log.
		slog.Warn("estimate after write", "hall", t.HallID, "ticket", t.Number, "err", verr)
	}
	return t, nil
}

// estimate fills the position and expected wait of a waiting ticket, and
// shows its times in the hall's time zone.
func (e *Engine) estimate(tx Tx, t *Ticket) error {
	counted := t.Position // by the write that issued it (IssueTicket)
	t.Position, t.ETASeconds = nil, nil
	loc, err := e.location(tx, t.HallID)
	if err != nil {
		return err
	}
	t.In(loc)
	if t.Status != StatusWaiting {
		return nil
	}
	var pos, eta int
	if t.Directed() { // sent to a given counter or clerk: its own queue there
		if pos, eta, err = e.predictDirected(tx, t); err != nil { // predict.go
			return err
		}
	} else {
		if counted != nil {
			pos = *counted
		} else if pos, err = position(tx, t); err != nil {
			return err
		}
		if eta, err = e.predictWait(tx, t, pos); err != nil { // predict.go
			return err
		}
	}
	eta = appointmentWait(t, eta, e.now()) // booking.go: not before its slot
	t.Position, t.ETASeconds = &pos, &eta
	return nil
}

// position counts the tickets called before t in its service: the
// tickets waiting in its class and above, less itself and those behind it.
// Counting those behind is cheap for the common case, a ticket that has just
// joined the end of its queue.
func position(tx Tx, t *Ticket) (int, error) {
	prio, normal, err := tx.QueueLength(t.HallID, t.ServiceID)
	if err != nil {
		return 0, err
	}
	if t.Appointment() { // booking.go: after the green channel, in slot order
		before, err := tx.AppointmentsBefore(t)
		return prio + before, err
	}
	behind, err := tx.CountBehind(t)
	if err != nil {
		return 0, err
	}
	n := prio + normal
	if t.Priority == PriorityPriority {
		n = prio
	}
	return max(n-1-behind, 0), nil
}
