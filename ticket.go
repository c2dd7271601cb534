package civiq

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Ticket statuses.
const (
	StatusWaiting   = "waiting"
	StatusCalled    = "called"
	StatusServing   = "serving"
	StatusDone      = "done"
	StatusNoShow    = "no_show"
	StatusCancelled = "cancelled"
)

// Statuses lists every ticket status.
var Statuses = []string{StatusWaiting, StatusCalled, StatusServing, StatusDone, StatusNoShow, StatusCancelled}

// Channels a ticket comes through.
const (
	ChannelKiosk       = "kiosk"
	ChannelRemote      = "remote"
	ChannelAppointment = "appointment"
	ChannelStaff       = "staff"
)

// ValidChannel reports whether c is a known channel.
func ValidChannel(c string) bool {
	switch c {
	case ChannelKiosk, ChannelRemote, ChannelAppointment, ChannelStaff:
		return true
	}
	return false
}

// Priority classes.
const (
	PriorityNormal   = "normal"
	PriorityPriority = "priority"
)

// Ticket is one citizen's place in a hall's queue. It is created by a kiosk,
// a phone, an appointment check-in or staff, and moved only through Apply.
type Ticket struct {
	ID        string `json:"id"`
	HallID    string `json:"hall_id"`
	ServiceID string `json:"service_id"`
	Number    string `json:"number"`
	// Day is the hall's local day the number belongs to.
	Day      string `json:"-"`
	Channel  string `json:"channel"`
	Priority string `json:"priority"`
	// PriorityGroup is the green-channel group, when Priority is "priority".
	PriorityGroup string `json:"priority_group,omitempty"`
	// PriorityBy says the hall gave the group by itself: "age" from a
	// resident ID (greenage.go); empty when the citizen or staff chose it.
	PriorityBy string `json:"priority_by,omitempty"`
	// OnBehalf: the ticket was taken for someone by a helper (帮办代办,
	// behalf.go); nil when the citizen took it.
	OnBehalf *OnBehalf `json:"on_behalf,omitempty"`
	Status   string    `json:"status"`
	IssuedAt time.Time `json:"issued_at"`
	// QueuedAt is the ticket's place in time: the issue time, kept across
	// transfers, moved back when a late arrival returns.
	QueuedAt    time.Time  `json:"-"`
	CalledAt    *time.Time `json:"called_at"`
	ServingAt   *time.Time `json:"serving_at,omitempty"`
	DoneAt      *time.Time `json:"done_at,omitempty"`
	NoShowAt    *time.Time `json:"no_show_at,omitempty"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	CounterID   string     `json:"counter_id,omitempty"`
	CallCount   int        `json:"call_count"`
	// Position and ETASeconds are computed when read; nil when not waiting.
	Position   *int `json:"position"`
	ETASeconds *int `json:"eta_seconds"`
	// Holder names the phone that took a remote ticket (IssueRequest).
	Holder string `json:"-"`
	// GuideID is the guide the ticket was taken from (a guide page's
	// "take a ticket" at the kiosk or on a phone), "" otherwise: the clerk
	// sees it (ServingContext).
	GuideID string `json:"guide_id,omitempty"`
	// ForCounter and ForClerk: a ticket transferred to a given counter, or
	// to a given clerk (a user id), waits for that counter, or for the
	// counter that clerk is signed in at, alone (Transfer); cleared by its
	// call.
	ForCounter string `json:"for_counter,omitempty"`
	ForClerk   int64  `json:"-"`
	// TransferNote is what the clerk who transferred it wrote for the next
	// one: staff only (ServingContext), never the holder's or a screen's.
	TransferNote string `json:"-"`
}

// Directed reports whether t waits for a given counter or clerk.
func (t *Ticket) Directed() bool { return t.ForCounter != "" || t.ForClerk != 0 }

// DirectedTo reports whether t was sent to counter c, or to the clerk
// signed in at it.
func (t *Ticket) DirectedTo(c *Counter) bool {
	return t.ForCounter == c.ID || t.ForClerk != 0 && t.ForClerk == c.ClerkID
}

// TicketTx is what a store keeps of tickets and their queues
// (sqlstore/tickets.go).
type TicketTx interface {
	Ticket(id string) (*Ticket, error)
	InsertTicket(t *Ticket) error
	UpdateTicket(t *Ticket) error
	// UpdateTicketBy is UpdateTicket that also records userID as the user
	// serving the ticket (RatingTx.ServedBy), in the same statement; 0
	// leaves who serves it as it was.
	UpdateTicketBy(t *Ticket, userID int64) error
	// SetTicketBehalf keeps the helper role of a ticket ("" for none).
	SetTicketBehalf(id, role string) error
	// NextSeq gives the next ticket number of a service on a local day,
	// starting at 1; it is never given twice.
	NextSeq(hallID, serviceID, day string) (int, error)
	// CallHeads returns the tickets a call at counter c chooses from: the
	// first waiting ticket sent to c or to its clerk (DirectedTo), if any,
	// and, for each of c's services, the first waiting priority ticket, the
	// first waiting normal walk-in ticket and the first waiting appointment
	// ticket (booking.go) in queue order, of those sent to no counter or
	// clerk. In the same read it gives c's current ticket
	// (CurrentTicketID), which the call finishes first; nil when c has
	// none or it is gone.
	CallHeads(c *Counter) (current *Ticket, heads []Ticket, err error)
	// WaitingPlaces returns the places in time of the normal tickets waiting
	// in a service, in order, at most limit of them.
	WaitingPlaces(hallID, serviceID string, limit int) ([]time.Time, error)
	// CountBehind counts the waiting tickets of t's service and priority
	// class that come after t.
	CountBehind(t *Ticket) (int, error)
	// QueueLength gives how many priority and normal tickets wait in a
	// service.
	QueueLength(hallID, serviceID string) (priority, normal int, err error)
	// PlaceAtEnd sets the Position of t, a ticket just put at the end of
	// its queue: how many wait before it in its class and above. A store
	// that holds statements back until the commit (PostgreSQL) sets it by
	// the time the write's Update returns.
	PlaceAtEnd(t *Ticket) error
	// WaitingRemote counts the remote tickets waiting in a service, and
	// those of them held by holder (none for an empty holder).
	WaitingRemote(hallID, serviceID, holder string) (all, held int, err error)
	// QuotaCounts counts the tickets a service gave on the hall's day,
	// appointments left out (quota.go): all, those issued in [from, to),
	// and those held by holder (none for an empty holder).
	QuotaCounts(hallID, serviceID, day string, from, to time.Time, holder string) (QuotaCounts, error)
	// WaitingTickets gives up to limit tickets waiting in the services,
	// green-channel ones first, each class by its place in time.
	WaitingTickets(hallID string, serviceIDs []string, limit int) ([]Ticket, error)
	// DirectedWaiting gives the hall's waiting tickets sent to a given
	// counter or clerk (Ticket.Directed), by their places in time, at most
	// MaxDirected of them.
	DirectedWaiting(hallID string) ([]Ticket, error)
	// NoShowsAt gives up to limit tickets a counter made no-shows since
	// the time, the latest first.
	NoShowsAt(hallID, counterID string, since time.Time, limit int) ([]Ticket, error)
	// WaitingCounts gives the number of waiting tickets per service.
	WaitingCounts(hallID string) (map[string]int, error)
	// RecentCalls returns the last n tickets called in the hall, newest first.
	RecentCalls(hallID string, n int) ([]Ticket, error)
	// MeanHandling is the mean serving time in seconds of the last n tickets
	// done in a service that were served at least floor seconds, and how
	// many there were.
	MeanHandling(hallID, serviceID string, n int, floor float64) (float64, int, error)
	// RecentHandling returns the last n tickets done in a service after a
	// call, newest first by done time: when each was issued, called and
	// done, and whether it was green-channel (expected waits, predict.go).
	RecentHandling(hallID, serviceID string, n int) ([]HandlingSample, error)
}

// NewTicketID returns an unguessable ticket id: 24 base32 characters,
// 96 random bits after 24 bits of the time it was made (in steps of 2^26
// ns, about 67 ms, wrapping every 13 days). Tickets made together share
// the first characters, so they sit together in the tickets' primary key:
// a write of many tickets changes a few pages of that index, not one
// page per ticket, as wholly random ids did.
func NewTicketID() string {
	b := make([]byte, 15)
	step := uint64(time.Now().UnixNano()) >> 26
	b[0], b[1], b[2] = byte(step>>16), byte(step>>8), byte(step)
	if _, err := rand.Read(b[3:]); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return strings.ToLower(b32.EncodeToString(b))
}

// NewToken returns a random secret of 160 bits for sessions and devices.
func NewToken() string { return randomToken(20) }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return strings.ToLower(b32.EncodeToString(b))
}

// Actions on a ticket.
const (
	ActCall     = "call"
	ActRecall   = "recall"
	ActStart    = "start"
	ActFinish   = "finish"
	ActNoShow   = "no_show"
	ActTransfer = "transfer"
	ActReturn   = "return" // a late arrival comes back after a no-show
	ActCancel   = "cancel"
)

// Actions lists every action.
var Actions = []string{ActCall, ActRecall, ActStart, ActFinish, ActNoShow, ActTransfer, ActReturn, ActCancel}

// transitions is the ticket state machine: for a status and an action, the
// next status. Anything not listed is invalid_transition.
var transitions = map[string]map[string]string{
	StatusWaiting: {
		ActCall:     StatusCalled,
		ActTransfer: StatusWaiting,
		ActCancel:   StatusCancelled,
	},
	StatusCalled: {
		ActRecall:   StatusCalled,
		ActStart:    StatusServing,
		ActFinish:   StatusDone, // served without pressing start: service began at the call
		ActNoShow:   StatusNoShow,
		ActTransfer: StatusWaiting,
		ActCancel:   StatusCancelled,
	},
	StatusServing: {
		ActFinish:   StatusDone,
		ActTransfer: StatusWaiting,
	},
	StatusNoShow: {
		ActReturn: StatusWaiting,
	},
	StatusDone:      {},
	StatusCancelled: {},
}

// Next returns the status that action leads to from status, or an
// invalid_transition error.
func Next(status, action string) (string, error) {
	if to, ok := transitions[status][action]; ok {
		return to, nil
	}
	return "", Errorf(EInvalidTransition, "cannot %s a ticket that is %s", strings.ReplaceAll(action, "_", "-"), status)
}

// Move carries what an action needs besides the ticket.
type Move struct {
	Action    string
	At        time.Time
	CounterID string // for call
	ServiceID string // for transfer
	// ForCounter, ForClerk and Note: for a transfer to a given counter or
	// clerk, and its note for the next clerk.
	ForCounter string
	ForClerk   int64
	Note       string
	MaxCalls   int // for recall: at most this many calls
	// QueuedAt is the new place in time, for return.
	QueuedAt time.Time
}

// Apply performs the move on t, recording the time of the transition. It is
// the only place a ticket changes status. A recall past MaxCalls turns the
// ticket into a no-show; Apply reports that by the returned action.
func (t *Ticket) Apply(m Move) (string, error) {
	to, err := Next(t.Status, m.Action)
	if err != nil {
		return "", err
	}
	at := m.At
	action := m.Action
	switch m.Action {
	case ActCall:
		t.CounterID = m.CounterID
		t.ForCounter, t.ForClerk = "", 0
		t.CallCount = 1
		t.CalledAt = &at
	case ActRecall:
		if m.MaxCalls > 0 && t.CallCount >= m.MaxCalls {
			to, action = StatusNoShow, ActNoShow
			t.NoShowAt = &at
			break
		}
		t.CallCount++
		t.CalledAt = &at
	case ActStart:
		t.ServingAt = &at
	case ActFinish:
		if t.ServingAt == nil {
			t.ServingAt = t.CalledAt
		}
		t.DoneAt = &at
	case ActNoShow:
		t.NoShowAt = &at
	case ActTransfer:
		// 一票到底: the same ticket waits in the next service, keeping its
		// original place in time.
		t.ServiceID = m.ServiceID
		t.ForCounter, t.ForClerk, t.TransferNote = m.ForCounter, m.ForClerk, m.Note
		t.CounterID = ""
		t.CallCount = 0
		t.CalledAt, t.ServingAt = nil, nil
	case ActReturn:
		t.QueuedAt = m.QueuedAt
		t.CounterID = ""
		t.CallCount = 0
		t.CalledAt, t.NoShowAt = nil, nil
	case ActCancel:
		t.CancelledAt = &at
	}
	t.Status = to
	return action, nil
}

// In shows the ticket's times in loc, the hall's time zone.
func (t *Ticket) In(loc *time.Location) {
	t.IssuedAt, t.QueuedAt = t.IssuedAt.In(loc), t.QueuedAt.In(loc)
	for _, p := range []**time.Time{&t.CalledAt, &t.ServingAt, &t.DoneAt, &t.NoShowAt, &t.CancelledAt} {
		if *p != nil {
			v := (*p).In(loc)
			*p = &v
		}
	}
}

// Waiting reports whether the ticket is in a queue.
func (t *Ticket) Waiting() bool { return t.Status == StatusWaiting }

// PublicTicket is what anyone may see of a ticket on a public screen or
// stream: its number and where it stands. Never its id (the holder's key:
// whoever has it may follow, cancel and rate the ticket), its priority
// group or anything personal.
type PublicTicket struct {
	Number    string `json:"number"`
	ServiceID string `json:"service_id"`
	CounterID string `json:"counter_id,omitempty"`
	Status    string `json:"status"`
	CallCount int    `json:"call_count"`
}

// Public returns the public view of t: the one projection every public
// surface (event stream, hall status, display) uses.
func (t *Ticket) Public() PublicTicket {
	return PublicTicket{Number: t.Number, ServiceID: t.ServiceID, CounterID: t.CounterID, Status: t.Status, CallCount: t.CallCount}
}

// TicketView is a ticket as its holder's page and its printed receipt show
// it: with its place and expected wait, its hall, its service, the hall's
// counters, whether it was rated and, for an appointment ticket, the
// booking it was checked in from.
type TicketView struct {
	Ticket      *Ticket
	Hall        *Hall
	Service     *Service
	Counters    []Counter
	Rated       bool
	Appointment *Booking
}

// TicketView reads a ticket with what its page shows around it.
func (e *Engine) TicketView(ctx context.Context, id string) (*TicketView, error) {
	v := &TicketView{}
	err := e.viewSettings(ctx, func(tx Tx) error {
		t, err := tx.Ticket(id)
		if err != nil {
			return err
		}
		if err := e.estimate(tx, t); err != nil {
			return err
		}
		now := e.now()
		s, err := e.settings.entry(tx, t.HallID, now) // caches.go
		if err != nil {
			return err
		}
		svc, err := e.settings.service(tx, t.HallID, t.ServiceID, now)
		if err != nil {
			return err
		}
		own := *svc
		v.Ticket, v.Hall, v.Service = t, s.ownHall(), &own
		if v.Counters, err = tx.Counters(t.HallID); err != nil {
			return err
		}
		if _, err := tx.RatingByTicket(t.ID); err == nil {
			v.Rated = true
		} else if ErrorCode(err) != ENotFound {
			return err
		}
		v.Appointment, err = ticketBooking(tx, t) // booking.go
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// numberedTicket makes a waiting ticket of the service with the service's
// next number of the hall's local day (A001 … A999, A1000), issued and
// queued now: the one place numbers are given, for walk-ins and check-ins.
func numberedTicket(tx Tx, hall *Hall, svc *Service, channel string, now time.Time) (*Ticket, error) {
	day := hall.Day(now)
	seq, err := tx.NextSeq(hall.ID, svc.ID, day)
	if err != nil {
		return nil, err
	}
	return &Ticket{
		ID: NewTicketID(), HallID: hall.ID, ServiceID: svc.ID, Number: FormatNumber(svc.Prefix, seq), Day: day,
		Channel: channel, Priority: PriorityNormal, Status: StatusWaiting, IssuedAt: now, QueuedAt: now,
	}, nil
}

// IssueRequest asks for a ticket.
type IssueRequest struct {
	HallID        string
	ServiceID     string
	Channel       string
	PriorityGroup string // a green-channel group of the hall, or empty
	// Holder names the phone that takes a remote ticket (a hash of its
	// cookie), or is empty: one phone holds at most the hall's
	// RemotePerPhone waiting tickets of a service.
	Holder string
	// IDNumber is a resident ID read at the kiosk (its card reader) or by
	// staff: its holder's age may give the green channel by itself
	// (Hall.AutoPriority), and it is the person of the per-person quota.
	// It is never kept; a remote ticket carries none.
	IDNumber string
	// GuideID is the guide of the hall the ticket is taken from (a guide
	// page), or empty; the guide's service is the ticket's.
	GuideID string
	// OnBehalf marks a kiosk or staff ticket taken by a helper (帮办代办).
	OnBehalf *OnBehalf
}

// IssueTicketAs gives a ticket to whoever asks, by who they are. A kiosk
// takes kiosk tickets; a user who may issue tickets in the hall takes any
// channel, staff by default; anyone else takes remote tickets, in a hall
// that gives them.
func (e *Engine) IssueTicketAs(ctx context.Context, by Principal, req IssueRequest, idem *Idem) (*Ticket, error) {
	switch {
	case req.Channel != "":
	case by.Device != nil:
		req.Channel = ChannelKiosk
	case by.User != nil:
		req.Channel = ChannelStaff
	default:
		req.Channel = ChannelRemote
	}
	if err := checkChannel(req.Channel); err != nil {
		return nil, err
	}
	if !by.Can(PermIssueTicket, req.HallID, "") {
		if req.Channel != ChannelRemote {
			if by.Anonymous() {
				return nil, Errorf(EUnauthorized, "only kiosks and staff take %s tickets; citizens use channel remote", req.Channel)
			}
			return nil, Errorf(EForbidden, "you may not take tickets in this hall")
		}
		s, err := e.hallSettings(ctx, req.HallID) // caches.go
		if err != nil {
			return nil, err
		}
		if !s.hall.AllowRemote {
			return nil, Errorf(EForbidden, "this hall does not give tickets remotely")
		}
	}
	if by.Device != nil && req.Channel != ChannelKiosk {
		return nil, FieldErrorf("channel", "a kiosk takes kiosk tickets")
	}
	if req.Channel == ChannelRemote && !e.Node.Edge() {
		// A hall with an edge numbers its own tickets: the city asks it
		// (edgerelay.go).
		has, err := e.hallHasEdge(ctx, req.HallID)
		if err != nil {
			return nil, err
		}
		if has {
			return e.RelayRemoteTicket(ctx, req, idem)
		}
	}
	return e.IssueTicket(ctx, req, idem)
}

func checkChannel(ch string) error {
	if !ValidChannel(ch) {
		return FieldErrorf("channel", "channel must be kiosk, remote, appointment or staff")
	}
	return nil
}

// IssueTicket gives a new ticket with the next number of its service
// today, to a caller who may issue it (IssueTicketAs checks who).
func (e *Engine) IssueTicket(ctx context.Context, req IssueRequest, idem *Idem) (*Ticket, error) {
	if err := checkChannel(req.Channel); err != nil {
		return nil, err
	}
	if req.Channel == ChannelAppointment {
		// Called ahead of walk-ins, so only a check-in makes one (CheckIn).
		return nil, FieldErrorf("channel", "appointment tickets come from a check-in: POST /api/v1/halls/{hall}/checkins")
	}
	behalf, err := ParseBehalf("on_behalf.role", req.OnBehalf)
	if err != nil {
		return nil, err
	}
	if behalf != nil && req.Channel == ChannelRemote {
		return nil, FieldErrorf("on_behalf", "a helper takes a ticket at the kiosk or with staff, not from a phone")
	}
	id := ""
	if req.IDNumber != "" {
		if req.Channel == ChannelRemote {
			return nil, FieldErrorf("id_number", "a resident ID is read at the kiosk or by staff, not sent from a phone")
		}
		if id, err = ParseIDNumber(req.IDNumber); err != nil {
			return nil, err
		}
		if req.Holder == "" {
			req.Holder = e.personOfID(id)
		}
	}
	var out *Ticket
	err = e.update(ctx, func(tx Tx) error {
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
			if req.Channel == ChannelRemote {
				if err := remoteAllowed(tx, hall, svc.ID, req.Holder); err != nil {
					return nil, err
				}
			}
			priority, by := PriorityNormal, ""
			if req.PriorityGroup == "" {
				if req.PriorityGroup = hall.AutoPriority(id, now); req.PriorityGroup != "" {
					by = PriorityByAge
				}
			}
			if req.PriorityGroup != "" {
				if !hall.HasPriorityGroup(req.PriorityGroup) {
					return nil, FieldErrorf("priority_group", "this hall has no green channel for %q", req.PriorityGroup)
				}
				priority = PriorityPriority
			}
			if req.GuideID != "" {
				g, err := tx.Guide(req.GuideID)
				if err != nil && !IsNotFound(err) {
					return nil, err
				}
				if err != nil || g.HallID != hall.ID {
					return nil, &Error{Code: ENotFound, Field: "guide_id", Message: "the hall has no guide " + req.GuideID}
				}
				if g.ServiceID != svc.ID {
					return nil, FieldErrorf("guide_id", "guide %s is of service %s, not %s", g.ID, g.ServiceID, svc.ID)
				}
			}
			t, err := numberedTicket(tx, hall, svc, req.Channel, now)
			if err != nil {
				return nil, err
			}
			// Counted after the number is taken, in the issuing write: the
			// writes of a hall take turns (SQLite's one writer, PostgreSQL's
			// write lock), so no two tickets both take the last place.
			if err := e.quotaAllows(tx, hall, svc, t.Day, req.Holder, now); err != nil {
				return nil, err
			}
			t.Priority, t.PriorityGroup, t.PriorityBy, t.Holder, t.GuideID = priority, req.PriorityGroup, by, req.Holder, req.GuideID
			t.OnBehalf = behalf
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

// quotaAllows refuses a ticket past one of the service's quotas. A
// refusal changes nothing, so it writes no event row (the house's events
// are the changes people see, and the refusing write is rolled back);
// the API counts refusals in the civiq_quota_refusals_total metric.
func (e *Engine) quotaAllows(tx Tx, hall *Hall, svc *Service, day, holder string, now time.Time) error {
	if !svc.HasQuota() {
		return nil
	}
	from, to, _ := hall.HalfDayBounds(now)
	c, err := tx.QuotaCounts(hall.ID, svc.ID, day, from, to, holder)
	if err != nil {
		return err
	}
	if hall.CheckQuota(svc, c, now, nil) == nil {
		return nil
	}
	// Refused: when tickets come again is by the hall's calendar.
	cal, err := e.calendar(tx, hall.ID)
	if err != nil {
		return err
	}
	return hall.CheckQuota(svc, c, now, cal)
}

// remoteAllowed refuses a remote ticket when the service holds the
// hall's most waiting remote tickets, or the phone holder as many
// waiting tickets of the service as the hall allows one phone.
func remoteAllowed(tx Tx, hall *Hall, serviceID, holder string) error {
	all, held, err := tx.WaitingRemote(hall.ID, serviceID, holder)
	if err != nil {
		return err
	}
	if all >= hall.MaxRemoteWaiting {
		return Errorf(ERemoteFull, "%d remote tickets already wait for this service, the most this hall takes: take a ticket at the hall", all)
	}
	if holder != "" && held >= hall.RemotePerPhone {
		return Errorf(ETicketHeld, "this phone already holds %d waiting ticket(s) for this service, the most this hall allows", held)
	}
	return nil
}

// Ticket returns a ticket with its position and expected wait.
func (e *Engine) Ticket(ctx context.Context, id string) (*Ticket, error) {
	var t *Ticket
	err := e.viewSettings(ctx, func(tx Tx) error {
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
			// The current ticket and the heads in one read: the heads are
			// waiting tickets, which finishing the current one leaves be.
			cur, heads, err := tx.CallHeads(c)
			if err != nil {
				return nil, err
			}
			if err := e.finishCurrent(tx, c, cur, now); err != nil {
				return nil, err
			}
			// A ticket sent to this counter, or to its clerk, goes first:
			// its citizen was being served already (一票到底). The queues'
			// heads are of tickets sent nowhere.
			for i := range heads {
				if heads[i].Directed() {
					t := heads[i]
					return &t, e.call(ctx, tx, c, &t, now, "")
				}
			}
			cs, err := e.callState(tx, hallID, c.ID, heads, now) // booking.go: appointments
			if err != nil {
				return nil, err
			}
			i := PickNextWith(hall.Policy, c, heads, cs)
			if i < 0 {
				if c.CurrentTicketID != "" {
					c.CurrentTicketID = ""
					return nil, tx.SetCounterState(c)
				}
				return nil, nil
			}
			t := heads[i]
			return &t, e.call(ctx, tx, c, &t, now, "")
		})
		out = t
		return err
	})
	return e.present(ctx, out, err)
}

// call calls t at counter c, whose last ticket is closed: the one way a
// ticket is called (CallNext, CallTicket).
func (e *Engine) call(ctx context.Context, tx Tx, c *Counter, t *Ticket, now time.Time, reason string) error {
	if _, err := t.Apply(Move{Action: ActCall, At: now, CounterID: c.ID}); err != nil {
		return err
	}
	if err := tx.UpdateTicketBy(t, servingUser(ctx, ActCall)); err != nil {
		return err
	}
	c.CurrentTicketID = t.ID
	// Only the counter's state: its row read in this write, its
	// configuration unchanged (PutCounter's upsert rewrote it all).
	if err := tx.SetCounterState(c); err != nil {
		return err
	}
	return tx.AppendEvent(&Event{HallID: c.HallID, Type: EventCalled, At: now, Ticket: t, Reason: reason})
}

// WaitingTicket is a ticket in a counter's waiting list (CounterQueue).
type WaitingTicket struct {
	ID            string    `json:"id"`
	Number        string    `json:"number"`
	ServiceID     string    `json:"service_id"`
	Channel       string    `json:"channel"`
	Priority      string    `json:"priority"`
	PriorityGroup string    `json:"priority_group,omitempty"`
	IssuedAt      time.Time `json:"issued_at"`
	WaitedSeconds int       `json:"waited_seconds"`
	// ForHere: the ticket was sent to this counter or its clerk (a
	// transfer), with the note for the next clerk.
	ForHere      bool   `json:"for_here,omitempty"`
	TransferNote string `json:"transfer_note,omitempty"`
}

// MaxCounterQueue is how many waiting tickets CounterQueue lists at most,
// MaxCounterNoShows how many no-shows, and MaxDirected how many of a
// hall's tickets sent to a given counter or clerk are read at a call.
const (
	MaxCounterQueue   = 200
	MaxCounterNoShows = 20
	MaxDirected       = 500
)

// CounterQueue is what a clerk chooses from at a counter: the tickets
// waiting in its services, to call one out of turn (CallTicket), and the
// no-shows it made today, to put one back in line (ActReturn).
type CounterQueue struct {
	Tickets []WaitingTicket `json:"tickets"`
	NoShows []WaitingTicket `json:"no_shows"`
}

// CounterQueue lists the tickets waiting in the counter's services,
// green-channel first, each class in its order of places in time, with how
// long each has waited since it was issued; and the counter's no-shows of
// the hall's day, the latest first.
func (e *Engine) CounterQueue(ctx context.Context, hallID, counterID string) (*CounterQueue, error) {
	out := &CounterQueue{}
	err := e.store.View(ctx, func(tx Tx) error {
		h, c, err := hallCounter(tx, hallID, counterID)
		if err != nil {
			return err
		}
		loc := h.Location()
		all, err := tx.WaitingTickets(hallID, c.ServiceIDs, MaxCounterQueue)
		if err != nil {
			return err
		}
		dir, err := tx.DirectedWaiting(hallID)
		if err != nil {
			return err
		}
		// Those sent here first, whatever their service; those sent to
		// another counter or clerk not at all.
		var ts []Ticket
		for _, t := range dir {
			if t.DirectedTo(c) {
				ts = append(ts, t)
			}
		}
		for _, t := range all {
			if !t.Directed() {
				ts = append(ts, t)
			}
		}
		now := e.now()
		from, _ := h.DayBounds(now)
		ns, err := tx.NoShowsAt(hallID, counterID, from, MaxCounterNoShows)
		if err != nil {
			return err
		}
		view := func(t Ticket) WaitingTicket {
			w := WaitingTicket{ID: t.ID, Number: t.Number, ServiceID: t.ServiceID, Channel: t.Channel, Priority: t.Priority,
				PriorityGroup: t.PriorityGroup, IssuedAt: t.IssuedAt.In(loc), WaitedSeconds: max(int(now.Sub(t.IssuedAt).Seconds()), 0)}
			if t.Waiting() && t.DirectedTo(c) {
				w.ForHere, w.TransferNote = true, t.TransferNote
			}
			return w
		}
		out.Tickets, out.NoShows = make([]WaitingTicket, len(ts)), make([]WaitingTicket, len(ns))
		for i, t := range ts {
			out.Tickets[i] = view(t)
		}
		for i, t := range ns {
			out.NoShows[i] = view(t)
		}
		return nil
	})
	return out, err
}

// MaxCallReason is how many characters the reason of a call out of order
// may have.
const MaxCallReason = 200

// CheckChosenCall is the rule of calling ticket t out of order at counter
// c: the clerk says why, the counter is open, and the ticket waits in one
// of the counter's services, or was sent to this counter or its clerk by a
// transfer (and to no other). A ticket called or served at a counter is
// never called at a second one.
func CheckChosenCall(c *Counter, t *Ticket, reason string) error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(reason)); {
	case n == 0:
		return FieldErrorf("reason", "reason is required: say why this ticket goes first")
	case n > MaxCallReason:
		return FieldErrorf("reason", "reason is at most %d characters", MaxCallReason)
	}
	if c.Status != CounterOpen {
		return Errorf(EConflict, "counter %s is %s: open it before calling", c.ID, c.Status)
	}
	if t.HallID != c.HallID {
		return &Error{Code: ENotFound, Field: "ticket_id", Message: "unknown ticket " + t.ID}
	}
	switch t.Status {
	case StatusWaiting:
	case StatusCalled, StatusServing:
		if t.CounterID == c.ID {
			return Errorf(EConflict, "ticket %s is already at this counter", t.Number)
		}
		return Errorf(EConflict, "ticket %s is already %s at counter %s", t.Number, t.Status, t.CounterID)
	default:
		return Errorf(EInvalidTransition, "ticket %s is %s, not waiting", t.Number, t.Status)
	}
	switch {
	case t.DirectedTo(c):
		return nil // sent here by a transfer, whatever its service
	case t.ForCounter != "":
		return &Error{Code: EConflict, Field: "ticket_id", Message: "ticket " + t.Number + " was sent to counter " + t.ForCounter}
	case t.ForClerk != 0:
		return &Error{Code: EConflict, Field: "ticket_id", Message: "ticket " + t.Number + " was sent to another clerk"}
	}
	if !slices.Contains(c.ServiceIDs, t.ServiceID) {
		return &Error{Code: EConflict, Field: "ticket_id", Message: "counter " + c.ID + " does not serve " + t.ServiceID + ": transfer the ticket first"}
	}
	return nil
}

// CallTicket calls a chosen waiting ticket at a counter, out of the
// policy's order (CheckChosenCall); the reason goes into the call's event,
// which staff see. The counter's current ticket, if still called or
// serving, is done first.
func (e *Engine) CallTicket(ctx context.Context, hallID, counterID, ticketID, reason string, idem *Idem) (*Ticket, error) {
	var out *Ticket
	err := e.update(ctx, func(tx Tx) error {
		t, err := e.idempotent(tx, idem, func() (*Ticket, error) {
			c, err := tx.Counter(hallID, counterID)
			if err != nil {
				return nil, err
			}
			t, err := tx.Ticket(ticketID)
			if err != nil {
				if ErrorCode(err) == ENotFound {
					return nil, &Error{Code: ENotFound, Field: "ticket_id", Message: "unknown ticket " + ticketID}
				}
				return nil, err
			}
			if err := CheckChosenCall(c, t, reason); err != nil {
				return nil, err
			}
			now := e.now()
			if err := e.closeCurrent(tx, c, now); err != nil {
				return nil, err
			}
			return t, e.call(ctx, tx, c, t, now, strings.TrimSpace(reason))
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
	return e.finishCurrent(tx, c, t, now)
}

// finishCurrent finishes t, counter c's current ticket as this write read
// it (nil when there is none), if it is still called or served there.
func (e *Engine) finishCurrent(tx Tx, c *Counter, t *Ticket, now time.Time) error {
	if t == nil || t.CounterID != c.ID {
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
	// CounterID or Clerk (a username), for a transfer to a given counter
	// or to the counter a given clerk is signed in at; Note is what the
	// next clerk reads (transferTo).
	CounterID string
	Clerk     string
	Note      string
}

// MaxTransferNote is how many characters a transfer's note may have.
const MaxTransferNote = 200

// transferTo fills the move of a transfer of t: to a service (the ticket
// waits there for any of its counters), to a given counter or to a given
// clerk (it waits for that counter, or for the counter that clerk is
// signed in at, alone), with a note for the next clerk. Without a service,
// a ticket sent to a counter keeps its own when the counter serves it,
// else takes the counter's first.
func transferTo(tx Tx, t *Ticket, req ActRequest, m *Move) error {
	m.Note = strings.TrimSpace(req.Note)
	if utf8.RuneCountInString(m.Note) > MaxTransferNote {
		return FieldErrorf("note", "note is at most %d characters", MaxTransferNote)
	}
	if req.CounterID != "" && req.Clerk != "" {
		return FieldErrorf("clerk", "give counter_id or clerk, not both")
	}
	if req.ServiceID == "" && req.CounterID == "" && req.Clerk == "" {
		return FieldErrorf("service_id", "service_id is required, or a counter_id or clerk to send the ticket to")
	}
	var to *Counter
	switch {
	case req.CounterID != "":
		c, err := tx.Counter(t.HallID, req.CounterID)
		if err != nil {
			if IsNotFound(err) {
				return &Error{Code: ENotFound, Field: "counter_id", Message: "unknown counter " + req.CounterID}
			}
			return err
		}
		to, m.ForCounter = c, c.ID
	case req.Clerk != "":
		u, err := tx.User(req.Clerk)
		if err != nil && !IsNotFound(err) {
			return err
		}
		if err != nil || u.Role != RoleAdmin && !slices.Contains(u.HallIDs, t.HallID) {
			return &Error{Code: ENotFound, Field: "clerk", Message: "no clerk " + req.Clerk + " in this hall"}
		}
		cs, err := tx.Counters(t.HallID)
		if err != nil {
			return err
		}
		for i := range cs {
			if cs[i].ClerkID == u.ID {
				to = &cs[i]
			}
		}
		if to == nil {
			return &Error{Code: EConflict, Field: "clerk", Message: req.Clerk + " is not signed in at a counter of this hall"}
		}
		m.ForClerk = u.ID
	}
	if to != nil && to.ID == t.CounterID {
		return &Error{Code: EConflict, Field: "counter_id", Message: "the ticket is at counter " + to.ID + " already"}
	}
	m.ServiceID = req.ServiceID
	switch {
	case m.ServiceID == "" && to.Serves(t.ServiceID):
		m.ServiceID = t.ServiceID
	case m.ServiceID == "":
		m.ServiceID = to.ServiceIDs[0]
	}
	if _, err := tx.Service(t.HallID, m.ServiceID); err != nil {
		if ErrorCode(err) == ENotFound {
			return &Error{Code: ENotFound, Field: "service_id", Message: "unknown service " + m.ServiceID}
		}
		return err
	}
	if to == nil && m.ServiceID == t.ServiceID && t.Status == StatusWaiting && !t.Directed() {
		return Errorf(EConflict, "the ticket already waits for %s", m.ServiceID)
	}
	return nil
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
				if err := transferTo(tx, t, req, &m); err != nil {
					return nil, err
				}
			case ActReturn:
				places, err := tx.WaitingPlaces(t.HallID, t.ServiceID, hall.LateReturnBehind+1)
				if err != nil {
					return nil, err
				}
				m.QueuedAt = ReturnPlace(places, hall.LateReturnBehind, now)
			}
			prevCounter, prevCalled := t.CounterID, t.CalledAt
			action, err := t.Apply(m)
			if err != nil {
				return nil, err
			}
			if err := tx.UpdateTicketBy(t, servingUser(ctx, action)); err != nil {
				return nil, err
			}
			if action == ActTransfer { // hallreport.go: the reports count it
				if err := recordTransfer(ctx, tx, t, prevCounter, prevCalled, now); err != nil {
					return nil, err
				}
			}
			if prevCounter != "" && t.CounterID == "" || t.Status == StatusDone || t.Status == StatusNoShow || t.Status == StatusCancelled {
				if err := e.releaseCounter(tx, t.HallID, prevCounter, t.ID); err != nil {
					return nil, err
				}
			}
			ev := &Event{HallID: t.HallID, Type: actionEvents[action], At: now, Ticket: t}
			if action == ActTransfer {
				ev.Reason = t.TransferNote // staff view only
			}
			return t, tx.AppendEvent(ev)
		})
		out = t
		return err
	})
	return e.present(ctx, out, err)
}
