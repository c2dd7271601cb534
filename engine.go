package civiq

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"
)

// Engine runs the use cases of a hall on a Store: every method that changes
// something is one transaction with its event rows.
type Engine struct {
	Store Store
	// Now is the clock; tests set it.
	Now func() time.Time
	// Sealer encrypts the personal data of bookings (idnumber.go); without
	// it booking is unavailable.
	Sealer *Sealer

	auth     authCache
	logins   loginGuard    // sign-in limits (login.go)
	locs     sync.Map      // hall id -> *time.Location
	handling handlingCache // recent handling times per service (predict.go)
	queues   queueCache    // each hall's queue picture (caches.go)
	settings settingsCache // each hall's settings and services (caches.go)
	// Wrong tries at the last 4 characters (tries.go): per case number,
	// per booking code.
	caseTries, codeTries wrongTries
}

// location is the hall's time zone, remembered after the first look.
func (e *Engine) location(tx Tx, hallID string) (*time.Location, error) {
	if l, ok := e.locs.Load(hallID); ok {
		return l.(*time.Location), nil
	}
	h, err := tx.Hall(hallID)
	if err != nil {
		return nil, err
	}
	loc := h.Location()
	e.locs.Store(hallID, loc)
	return loc, nil
}

// hallLayout reads a hall with its services and its counters, in their
// order on screen.
func hallLayout(tx Tx, hallID string) (*Hall, []Service, []Counter, error) {
	h, err := tx.Hall(hallID)
	if err != nil {
		return nil, nil, nil, err
	}
	svcs, err := tx.Services(hallID)
	if err != nil {
		return nil, nil, nil, err
	}
	cs, err := tx.Counters(hallID)
	if err != nil {
		return nil, nil, nil, err
	}
	return h, svcs, cs, nil
}

// NewEngine returns an engine on store with the real clock.
func NewEngine(store Store) *Engine { return &Engine{Store: store, Now: time.Now} }

func (e *Engine) now() time.Time { return e.Now() }

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

// IssueRequest asks for a ticket.
type IssueRequest struct {
	HallID        string
	ServiceID     string
	Channel       string
	PriorityGroup string // a green-channel group of the hall, or empty
}

// IssueTicket gives a new ticket with the next number of its service today.
func (e *Engine) IssueTicket(ctx context.Context, req IssueRequest, idem *Idem) (*Ticket, error) {
	if !ValidChannel(req.Channel) {
		return nil, FieldErrorf("channel", "channel must be kiosk, remote, appointment or staff")
	}
	if req.Channel == ChannelAppointment {
		// Called ahead of walk-ins, so only a check-in makes one (CheckIn).
		return nil, FieldErrorf("channel", "appointment tickets come from a check-in: POST /api/v1/halls/{hall}/checkins")
	}
	var out *Ticket
	err := e.update(ctx, func(tx Tx) error {
		t, err := e.idempotent(tx, idem, func() (*Ticket, error) {
			now := e.now()
			hall, err := e.settings.hall(tx, req.HallID, now)
			if err != nil {
				return nil, err
			}
			svc, err := e.settings.service(tx, req.HallID, req.ServiceID, now)
			if err != nil {
				if ErrorCode(err) == ENotFound {
					return nil, &Error{Code: ENotFound, Field: "service_id", Message: "unknown service " + req.ServiceID}
				}
				return nil, err
			}
			if req.Channel != ChannelStaff && !hall.OpenAt(now) {
				return nil, Errorf(EConflict, "the hall is closed: it gives tickets from %s to %s", hall.OpensAt, hall.ClosesAt)
			}
			priority := PriorityNormal
			if req.PriorityGroup != "" {
				if !hall.HasPriorityGroup(req.PriorityGroup) {
					return nil, FieldErrorf("priority_group", "this hall has no green channel for %q", req.PriorityGroup)
				}
				priority = PriorityPriority
			}
			day := hall.Day(now)
			seq, err := tx.NextSeq(hall.ID, svc.ID, day)
			if err != nil {
				return nil, err
			}
			t := &Ticket{
				ID: NewTicketID(), HallID: hall.ID, ServiceID: svc.ID, Number: FormatNumber(svc.Prefix, seq), Day: day,
				Channel: req.Channel, Priority: priority, PriorityGroup: req.PriorityGroup,
				Status: StatusWaiting, IssuedAt: now, QueuedAt: now,
			}
			if err := tx.InsertTicket(t); err != nil {
				return nil, err
			}
			if err := tx.AppendEvent(&Event{HallID: hall.ID, Type: EventIssued, At: now, Ticket: t}); err != nil {
				return nil, err
			}
			// Its place, counted where nobody can join behind it yet, so
			// that the estimate after the commit need not count again.
			return t, tx.PlaceAtEnd(t)
		})
		out = t
		return err
	})
	return e.present(ctx, out, err)
}

// present fills the position and expected wait of a ticket just written,
// in a read of its own: the reads run beside the writer instead of holding
// it. A failed read leaves them out rather than failing a committed write.
func (e *Engine) present(ctx context.Context, t *Ticket, err error) (*Ticket, error) {
	if err != nil || t == nil {
		return t, err
	}
	if verr := e.Store.View(ctx, func(tx Tx) error { return e.estimate(tx, t) }); verr != nil {
		slog.Warn("estimate after write", "ticket", t.ID, "err", verr)
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
	var pos int
	if counted != nil {
		pos = *counted
	} else if pos, err = position(tx, t); err != nil {
		return err
	}
	eta, err := e.predictWait(tx, t, pos) // predict.go
	if err != nil {
		return err
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

// Ticket returns a ticket with its position and expected wait.
func (e *Engine) Ticket(ctx context.Context, id string) (*Ticket, error) {
	var t *Ticket
	err := e.Store.View(ctx, func(tx Tx) error {
		var err error
		if t, err = tx.Ticket(id); err != nil {
			return err
		}
		return e.estimate(tx, t)
	})
	return t, err
}

// CallNext calls the next ticket for a counter by the hall's policy. The
// counter's current ticket, if still called or serving, is done first. It
// returns nil when nobody waits for the counter.
func (e *Engine) CallNext(ctx context.Context, hallID, counterID string, idem *Idem) (*Ticket, error) {
	var out *Ticket
	err := e.update(ctx, func(tx Tx) error {
		t, err := e.idempotent(tx, idem, func() (*Ticket, error) {
			hall, err := e.settings.hall(tx, hallID, e.now())
			if err != nil {
				return nil, err
			}
			c, err := tx.Counter(hallID, counterID)
			if err != nil {
				return nil, err
			}
			if c.Status != CounterOpen {
				return nil, Errorf(EConflict, "counter %s is %s: open it before calling", c.ID, c.Status)
			}
			now := e.now()
			if err := e.closeCurrent(tx, c, now); err != nil {
				return nil, err
			}
			heads, err := tx.QueueHeads(hallID, c.ServiceIDs)
			if err != nil {
				return nil, err
			}
			cs, err := e.callState(tx, hallID, c.ID, heads, now) // booking.go: appointments
			if err != nil {
				return nil, err
			}
			i := PickNextWith(hall.Policy, c, heads, cs)
			if i < 0 {
				if c.CurrentTicketID != "" {
					c.CurrentTicketID = ""
					return nil, tx.PutCounter(c)
				}
				return nil, nil
			}
			t := heads[i]
			if _, err := t.Apply(Move{Action: ActCall, At: now, CounterID: c.ID}); err != nil {
				return nil, err
			}
			if err := tx.UpdateTicket(&t); err != nil {
				return nil, err
			}
			if err := markServed(ctx, tx, t.ID, ActCall); err != nil {
				return nil, err
			}
			c.CurrentTicketID = t.ID
			if err := tx.PutCounter(c); err != nil {
				return nil, err
			}
			return &t, tx.AppendEvent(&Event{HallID: hallID, Type: EventCalled, At: now, Ticket: &t})
		})
		out = t
		return err
	})
	return e.present(ctx, out, err)
}

// closeCurrent finishes the counter's current ticket when the counter moves
// on to the next one: staff often call the next citizen without pressing
// start or finish.
func (e *Engine) closeCurrent(tx Tx, c *Counter, now time.Time) error {
	if c.CurrentTicketID == "" {
		return nil
	}
	t, err := tx.Ticket(c.CurrentTicketID)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return nil
		}
		return err
	}
	if t.CounterID != c.ID {
		return nil
	}
	if t.Status != StatusCalled && t.Status != StatusServing {
		return nil
	}
	if _, err := t.Apply(Move{Action: ActFinish, At: now}); err != nil {
		return err
	}
	if err := tx.UpdateTicket(t); err != nil {
		return err
	}
	return tx.AppendEvent(&Event{HallID: t.HallID, Type: EventDone, At: now, Ticket: t})
}

// ActRequest moves one ticket: recall, start, finish, no_show, transfer,
// return or cancel.
type ActRequest struct {
	TicketID  string
	Action    string
	ServiceID string // transfer: the service to wait in next
}

// Act performs a counter action on a ticket.
func (e *Engine) Act(ctx context.Context, req ActRequest, idem *Idem) (*Ticket, error) {
	if _, ok := actionEvents[req.Action]; !ok || req.Action == ActCall {
		return nil, FieldErrorf("action", "unknown action %q", req.Action)
	}
	var out *Ticket
	err := e.update(ctx, func(tx Tx) error {
		t, err := e.idempotent(tx, idem, func() (*Ticket, error) {
			t, err := tx.Ticket(req.TicketID)
			if err != nil {
				return nil, err
			}
			now := e.now()
			hall, err := e.settings.hall(tx, t.HallID, now)
			if err != nil {
				return nil, err
			}
			m := Move{Action: req.Action, At: now, MaxCalls: hall.MaxCalls, ServiceID: req.ServiceID}
			if _, err := Next(t.Status, req.Action); err != nil {
				return nil, err
			}
			switch req.Action {
			case ActTransfer:
				if req.ServiceID == "" {
					return nil, FieldErrorf("service_id", "service_id is required")
				}
				if _, err := tx.Service(t.HallID, req.ServiceID); err != nil {
					if ErrorCode(err) == ENotFound {
						return nil, &Error{Code: ENotFound, Field: "service_id", Message: "unknown service " + req.ServiceID}
					}
					return nil, err
				}
				if req.ServiceID == t.ServiceID && t.Status == StatusWaiting {
					return nil, Errorf(EConflict, "the ticket already waits for %s", req.ServiceID)
				}
			case ActReturn:
				places, err := tx.WaitingPlaces(t.HallID, t.ServiceID, hall.LateReturnBehind+1)
				if err != nil {
					return nil, err
				}
				m.QueuedAt = ReturnPlace(places, hall.LateReturnBehind, now)
			}
			prevCounter := t.CounterID
			action, err := t.Apply(m)
			if err != nil {
				return nil, err
			}
			if err := tx.UpdateTicket(t); err != nil {
				return nil, err
			}
			if err := markServed(ctx, tx, t.ID, action); err != nil {
				return nil, err
			}
			if prevCounter != "" && t.CounterID == "" || t.Status == StatusDone || t.Status == StatusNoShow || t.Status == StatusCancelled {
				if err := e.releaseCounter(tx, t.HallID, prevCounter, t.ID); err != nil {
					return nil, err
				}
			}
			return t, tx.AppendEvent(&Event{HallID: t.HallID, Type: actionEvents[action], At: now, Ticket: t})
		})
		out = t
		return err
	})
	return e.present(ctx, out, err)
}

// releaseCounter clears the counter's current ticket when it was this one.
func (e *Engine) releaseCounter(tx Tx, hallID, counterID, ticketID string) error {
	if counterID == "" {
		return nil
	}
	return tx.ReleaseCounter(hallID, counterID, ticketID)
}

// SetCounterStatus opens, pauses (with a reason) or closes a counter.
func (e *Engine) SetCounterStatus(ctx context.Context, hallID, counterID, status, reason string, idem *Idem) (*Counter, error) {
	var out *Counter
	err := e.update(ctx, func(tx Tx) error {
		c, err := tx.Counter(hallID, counterID)
		if err != nil {
			return err
		}
		if err := c.SetStatus(status, reason); err != nil {
			return err
		}
		if err := tx.PutCounter(c); err != nil {
			return err
		}
		out = c
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventCounter, At: e.now(), Counter: c})
	})
	return out, err
}

// Announce puts a line on the hall's display.
func (e *Engine) Announce(ctx context.Context, hallID, text string) error {
	if text == "" {
		return FieldErrorf("text", "text is required")
	}
	if utf8.RuneCountInString(text) > 500 {
		return FieldErrorf("text", "text is at most 500 characters")
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventAnnouncement, At: e.now(), Text: text})
	})
}

// RecentCall is a call on the hall's screens: the ticket's public view
// and when it was called.
type RecentCall struct {
	PublicTicket
	CalledAt time.Time `json:"called_at"`
}

// HallStatus is the public state of a hall: tickets by number only, no
// ticket id, priority group or personal data.
type HallStatus struct {
	Waiting     map[string]int `json:"waiting"`
	Counters    []CounterState `json:"counters"`
	RecentCalls []RecentCall   `json:"recent_calls"`
}

// CounterState is a counter and the number it serves now.
type CounterState struct {
	Counter
	CurrentNumber string `json:"current_number,omitempty"`
}

// Status returns the public state of a hall.
func (e *Engine) Status(ctx context.Context, hallID string) (*HallStatus, error) {
	st := &HallStatus{}
	err := e.Store.View(ctx, func(tx Tx) error {
		_, svcs, cs, err := hallLayout(tx, hallID)
		if err != nil {
			return err
		}
		if st.Waiting, err = tx.WaitingCounts(hallID); err != nil {
			return err
		}
		for _, s := range svcs {
			if _, ok := st.Waiting[s.ID]; !ok {
				st.Waiting[s.ID] = 0
			}
		}
		st.Counters = make([]CounterState, 0, len(cs))
		for _, c := range cs {
			cst := CounterState{Counter: c.Public()}
			if c.CurrentTicketID != "" {
				if t, err := tx.Ticket(c.CurrentTicketID); err == nil {
					cst.CurrentNumber = t.Number
				}
			}
			st.Counters = append(st.Counters, cst)
		}
		calls, err := tx.RecentCalls(hallID, 8)
		if err != nil {
			return err
		}
		st.RecentCalls = make([]RecentCall, 0, len(calls))
		for _, t := range calls {
			st.RecentCalls = append(st.RecentCalls, RecentCall{PublicTicket: t.Public(), CalledAt: *t.CalledAt})
		}
		return nil
	})
	return st, err
}

// errBadLogin is returned by Login for unknown users and wrong passwords alike.
var errBadLogin = Errorf(EUnauthorized, "wrong username or password")

// Login checks a password and opens a session. It returns the session
// token, which is stored only as a hash. Attempts are limited per client
// address (WithClientAddr) and per username (login.go): too many answer
// rate_limited, with the wait.
func (e *Engine) Login(ctx context.Context, username, password string) (string, *Session, *User, error) {
	u, err := e.checkLogin(ctx, username, password)
	if err != nil {
		return "", nil, nil, err
	}
	token := NewToken()
	s := &Session{TokenHash: HashToken(token), UserID: u.ID, CSRF: NewToken(), ExpiresAt: e.now().Add(SessionTTL)}
	if err := e.update(ctx, func(tx Tx) error { return tx.InsertSession(s) }); err != nil {
		return "", nil, nil, err
	}
	return token, s, u, nil
}

// Authenticate finds who holds a bearer token: a user's session or a paired
// device. An unknown or expired token is unauthorized.
func (e *Engine) Authenticate(ctx context.Context, token string) (Principal, *Session, error) {
	var p Principal
	var sess *Session
	h := HashToken(token)
	if c, ok := e.auth.get(h, e.now()); ok {
		return c.p, c.sess, nil
	}
	err := e.Store.View(ctx, func(tx Tx) error {
		s, err := tx.Session(h)
		if err == nil {
			if e.now().After(s.ExpiresAt) {
				return Errorf(EUnauthorized, "the session has expired: sign in again")
			}
			u, err := tx.UserByID(s.UserID)
			if err != nil {
				return err
			}
			p.User, sess = u, s
			return nil
		}
		if ErrorCode(err) != ENotFound {
			return err
		}
		d, err := tx.DeviceByToken(h)
		if err != nil {
			return err
		}
		p.Device = d
		return nil
	})
	if ErrorCode(err) == ENotFound {
		return p, nil, Errorf(EUnauthorized, "unknown token")
	}
	if err == nil {
		e.auth.put(h, p, sess, e.now())
	}
	return p, sess, err
}

// Logout ends a session.
func (e *Engine) Logout(ctx context.Context, token string) error {
	e.auth.drop(HashToken(token))
	return e.update(ctx, func(tx Tx) error { return tx.DeleteSession(HashToken(token)) })
}

// Bootstrap creates the user admin when there is no user at all, with
// password, or with a random password that it returns so it can be shown
// once. It returns "" when users already exist or password was given.
func (e *Engine) Bootstrap(ctx context.Context, password string) (string, error) {
	generated := ""
	if password == "" {
		generated = NewToken()[:20]
		password = generated
	}
	hash := HashPassword(password)
	created := false
	err := e.update(ctx, func(tx Tx) error {
		n, err := tx.UserCount()
		if err != nil || n > 0 {
			return err
		}
		created = true
		return tx.InsertUser(&User{Username: "admin", Role: RoleAdmin, PasswordHash: hash, CreatedAt: e.now()})
	})
	if err != nil || !created {
		return "", err
	}
	return generated, nil
}

// CreateUser adds a user; only admins do this.
func (e *Engine) CreateUser(ctx context.Context, u *User, password string) error {
	if !validUsername(u.Username) {
		return FieldErrorf("username", "username must be 1-40 letters, digits, '.', '-' or '_'")
	}
	if !ValidRole(u.Role) {
		return FieldErrorf("role", "role must be admin, manager or staff")
	}
	if err := ValidatePassword(password); err != nil {
		return err
	}
	if u.Role != RoleAdmin && len(u.HallIDs) == 0 {
		return FieldErrorf("hall_ids", "a %s needs at least one hall", u.Role)
	}
	u.PasswordHash = HashPassword(password)
	u.CreatedAt = e.now()
	return e.update(ctx, func(tx Tx) error {
		for _, h := range u.HallIDs {
			if _, err := tx.Hall(h); err != nil {
				if ErrorCode(err) == ENotFound {
					return FieldErrorf("hall_ids", "unknown hall %s", h)
				}
				return err
			}
		}
		if _, err := tx.User(u.Username); err == nil {
			return &Error{Code: EConflict, Field: "username", Message: "user " + u.Username + " already exists"}
		} else if ErrorCode(err) != ENotFound {
			return err
		}
		return tx.InsertUser(u)
	})
}

func validUsername(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// CreateDevice registers a device with a one-time pairing code.
func (e *Engine) CreateDevice(ctx context.Context, d *Device) error {
	if !ValidDeviceKind(d.Kind) {
		return FieldErrorf("kind", "kind must be kiosk, display, rater or counter")
	}
	if NeedsCounter(d.Kind) && d.CounterID == "" {
		return FieldErrorf("counter_id", "a %s device needs a counter_id", d.Kind)
	}
	if !NeedsCounter(d.Kind) {
		d.CounterID = ""
	}
	d.PairingCode = NewPairingCode()
	d.CreatedAt = e.now()
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(d.HallID); err != nil {
			return err
		}
		if d.CounterID != "" {
			if _, err := tx.Counter(d.HallID, d.CounterID); err != nil {
				if ErrorCode(err) == ENotFound {
					return FieldErrorf("counter_id", "unknown counter %s", d.CounterID)
				}
				return err
			}
		}
		return tx.InsertDevice(d)
	})
}

// PairDevice exchanges a pairing code, once, for the device's own token.
func (e *Engine) PairDevice(ctx context.Context, code string) (string, *Device, error) {
	token := NewToken()
	var d *Device
	err := e.update(ctx, func(tx Tx) error {
		var err error
		d, err = tx.DeviceByPairingCode(code)
		if ErrorCode(err) == ENotFound {
			return Errorf(EUnauthorized, "unknown or used pairing code")
		}
		if err != nil {
			return err
		}
		now := e.now()
		d.PairingCode, d.TokenHash, d.PairedAt = "", HashToken(token), &now
		return tx.UpdateDevice(d)
	})
	if err != nil {
		return "", nil, err
	}
	return token, d, nil
}

// NewPairingCode returns an 8-character code an admin reads to a device.
func NewPairingCode() string { return randomToken(5)[:8] }

// EventRetention is how long events stay for replay; the contract asks
// for at least a day.
const EventRetention = 7 * 24 * time.Hour

// Prune forgets events older than EventRetention and idempotency keys
// older than IdempotencyWindow. It first rates by default the phone tickets
// left unrated, in halls that ask for it (ApplyDefaultRatings).
func (e *Engine) Prune(ctx context.Context) error {
	if _, err := e.ApplyDefaultRatings(ctx, ""); err != nil { // rating.go
		return err
	}
	now := e.now()
	return e.update(ctx, func(tx Tx) error { return tx.Prune(now.Add(-EventRetention), now.Add(-IdempotencyWindow)) })
}

// IsNotFound reports whether err is a not_found error.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ENotFound
}
