package civiq

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Counter statuses.
const (
	CounterOpen   = "open"
	CounterPaused = "paused"
	CounterClosed = "closed"
)

// Counter is one window (窗口) of a hall, serving its services in the order
// listed. Admins set its services; staff at it open, pause and close it.
type Counter struct {
	HallID     string   `json:"-"`
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	ServiceIDs []string `json:"service_ids"`
	Status     string   `json:"status"`
	// PauseReason says why a paused counter is away (暂离), for the screens.
	PauseReason string `json:"pause_reason,omitempty"`
	// CurrentTicketID is the ticket called or served there now, if any.
	CurrentTicketID string `json:"current_ticket_id,omitempty"`
	// ClerkID is the user signed in at the counter: who opened it last
	// (SetCounterStatus), until it closes or they open another; 0 for
	// nobody, or a paired counter device alone. Clerk is their username,
	// for staff (never on a public screen).
	ClerkID int64  `json:"-"`
	Clerk   string `json:"clerk,omitempty"`
	// Staffed says, publicly and without a name, that someone is signed
	// in at the counter: it is open or paused and has its clerk
	// (SetStaffed). A counter opened by a paired counter device alone, or
	// loaded open by the demo, is not staffed: a device cannot tell
	// whether anyone sits at it. The screens show such a counter 未开放
	// unless a ticket is called or served there (Shown).
	Staffed bool `json:"staffed"`
	// DeviceCalls says a paired counter device calls at the counter
	// (device.go, DeviceCounter): it calls between its tickets as a clerk
	// does, though no one is signed in. Set by CounterTx.Counters, which
	// the expected waits and the open counters are counted from; never
	// shown.
	DeviceCalls bool `json:"-"`
}

// NameIn names the counter for a citizen in a page's or a message's
// language: its name, or, where the name cannot serve, "3号窗口" in Chinese
// and in English "Counter 3" (a name in Chinese, such as the demo's
// 3号窗口, means nothing on an English page or in an English message).
func (c *Counter) NameIn(lang string) string {
	en := lang == "en"
	if c.Name == "" || (en && strings.ContainsFunc(c.Name, func(r rune) bool { return unicode.Is(unicode.Han, r) })) {
		if en {
			return "Counter " + c.ID
		}
		return c.ID + "号窗口"
	}
	return c.Name
}

// SetStaffed sets Staffed from the counter's status and clerk; every
// change of either calls it, and the store when it reads a counter.
func (c *Counter) SetStaffed() { c.Staffed = c.Status != CounterClosed && c.ClerkID != 0 }

// What the screens (display, window screen, dashboard) say of a counter.
const (
	ShownClosed = "closed" // 未开放: closed, or nobody there
	ShownPaused = "paused" // 暂停服务, with its reason
	ShownIdle   = "idle"   // 空闲: its clerk is there, nobody called
	ShownBusy   = "busy"   // a number called or served there
)

// Shown is what the screens say of the counter, busy telling whether a
// ticket is called or served there now: a closed counter is not open; a
// paused one with its clerk is paused; a ticket at it is shown, whoever
// called it (a clerk, or a paired counter device at work); and an open or
// paused counter with nobody signed in and no ticket is not open either,
// not idle. The display's and window screen's scripts follow the same
// rule from the public Staffed.
func (c *Counter) Shown(busy bool) string {
	switch {
	case c.Status == CounterClosed:
		return ShownClosed
	case c.Status == CounterPaused && c.Staffed:
		return ShownPaused
	case busy:
		return ShownBusy
	case !c.Staffed:
		return ShownClosed
	case c.Status == CounterPaused:
		return ShownPaused
	}
	return ShownIdle
}

// Calls says whether the counter calls its queues now, or will once back
// from a pause: the screens show it open (Shown, busy when a ticket is
// called or served there): its clerk is signed in, or a ticket is at it;
// or a paired counter device calls at it (DeviceCalls), between its
// tickets too. One open with nobody there (the demo's, loaded open) calls
// no one, and an expected wait counts no such counter (predict.go).
func (c *Counter) Calls() bool {
	return c.Shown(c.CurrentTicketID != "") != ShownClosed || (c.DeviceCalls && c.Status != CounterClosed)
}

// Works says whether the counter is open and calls (Calls): the expected
// waits count it, and so do open_counters of the waits, the dashboard
// and the service alerts, and counters_open of the city overview, so
// that they never say otherwise.
func (c *Counter) Works() bool { return c.Status == CounterOpen && c.Calls() }

// CounterTx is what a store keeps of counters (sqlstore/counters.go).
type CounterTx interface {
	// Counters reads a hall's counters in their order, each with its
	// DeviceCalls: whether a paired counter device (Kind DeviceCounter,
	// paired, its token set) is at it.
	Counters(hallID string) ([]Counter, error)
	// Counter reads one counter, without its DeviceCalls.
	Counter(hallID, id string) (*Counter, error)
	PutCounter(c *Counter) error
	// ReleaseCounter clears a counter's current ticket if it is ticketID.
	ReleaseCounter(hallID, counterID, ticketID string) error
	DeleteCounter(hallID, id string) error
}

// Public returns the counter as anyone may see it: without the id of the
// ticket at it (a ticket's id is its holder's key) or who works there.
func (c Counter) Public() Counter {
	c.CurrentTicketID, c.Clerk = "", ""
	return c
}

// Serves reports whether the counter serves the service.
func (c *Counter) Serves(serviceID string) bool {
	for _, s := range c.ServiceIDs {
		if s == serviceID {
			return true
		}
	}
	return false
}

// SetStatus changes the counter's status; a pause needs a reason.
func (c *Counter) SetStatus(status, reason string) error {
	switch status {
	case CounterOpen, CounterClosed:
		c.Status, c.PauseReason = status, ""
	case CounterPaused:
		if reason == "" {
			return FieldErrorf("reason", "a pause needs a reason")
		}
		if len([]rune(reason)) > 100 {
			return FieldErrorf("reason", "reason is at most 100 characters")
		}
		c.Status, c.PauseReason = status, reason
	default:
		return FieldErrorf("status", "status must be open, paused or closed")
	}
	return nil
}

// SaveCounter creates a counter or changes its name and services; its status
// and current ticket stay as they are. A new counter starts closed: "open"
// means a clerk has opened it (the counter page's Open), so a counter
// nobody works at shows 未开放 on the public screens, not 空闲, and counts
// for no waits or places.
func (e *Engine) SaveCounter(ctx context.Context, c *Counter) error {
	if err := e.Refuse(ctx, WorkCounters, c.HallID); err != nil { // edge.go: the city owns it
		return err
	}
	if !ValidID(c.ID) {
		return FieldErrorf("id", "id must be 1-40 lower-case letters, digits, '-' or '_'")
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	if utf8.RuneCountInString(c.Name) > 40 {
		return FieldErrorf("name", "name is at most 40 characters")
	}
	if len(c.ServiceIDs) == 0 {
		return FieldErrorf("service_ids", "a counter serves at least one service")
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(c.HallID); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, s := range c.ServiceIDs {
			if seen[s] {
				return FieldErrorf("service_ids", "service %s is listed twice", s)
			}
			seen[s] = true
			if _, err := tx.Service(c.HallID, s); err != nil {
				if IsNotFound(err) {
					return FieldErrorf("service_ids", "unknown service %s", s)
				}
				return err
			}
		}
		c.Status, c.PauseReason, c.CurrentTicketID, c.ClerkID, c.Clerk = CounterClosed, "", "", 0, ""
		if old, err := tx.Counter(c.HallID, c.ID); err == nil {
			c.Status, c.PauseReason, c.CurrentTicketID, c.ClerkID, c.Clerk = old.Status, old.PauseReason, old.CurrentTicketID, old.ClerkID, old.Clerk
		} else if !IsNotFound(err) {
			return err
		}
		c.SetStaffed()
		if err := tx.PutCounter(c); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{HallID: c.HallID, Type: EventCounter, At: e.now(), Counter: c})
	})
}

// SetCounterStatus opens, pauses (with a reason) or closes a counter. A
// user who opens it is signed in at it (Counter.ClerkID), and at no other
// counter of the hall: one clerk, one counter. Closing it signs its clerk
// out; a pause keeps them.
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
		now := e.now()
		switch p, _ := ctx.Value(actorKey{}).(Principal); {
		case status == CounterClosed:
			c.ClerkID, c.Clerk = 0, ""
		case status == CounterOpen && p.User != nil && p.User.ID != 0:
			if err := e.signOutElsewhere(tx, c, p.User.ID, now); err != nil {
				return err
			}
			c.ClerkID, c.Clerk = p.User.ID, p.User.Username
		}
		c.SetStaffed()
		if err := tx.PutCounter(c); err != nil {
			return err
		}
		out = c
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventCounter, At: now, Counter: c})
	})
	return out, err
}

// signOutElsewhere signs the user out of the hall's counters but c, the
// one they open now.
func (e *Engine) signOutElsewhere(tx Tx, c *Counter, userID int64, now time.Time) error {
	cs, err := tx.Counters(c.HallID)
	if err != nil {
		return err
	}
	for i := range cs {
		o := &cs[i]
		if o.ID == c.ID || o.ClerkID != userID {
			continue
		}
		o.ClerkID, o.Clerk = 0, ""
		o.SetStaffed()
		if err := tx.PutCounter(o); err != nil {
			return err
		}
		if err := tx.AppendEvent(&Event{HallID: c.HallID, Type: EventCounter, At: now, Counter: o}); err != nil {
			return err
		}
	}
	return nil
}

// hallCounter reads a counter with its hall, for the counter page's
// views (CounterQueue, CounterToday), which count in the hall's day.
func hallCounter(tx Tx, hallID, counterID string) (*Hall, *Counter, error) {
	h, err := tx.Hall(hallID)
	if err != nil {
		return nil, nil, err
	}
	c, err := tx.Counter(hallID, counterID)
	if err != nil {
		return nil, nil, err
	}
	return h, c, nil
}

// releaseCounter clears the counter's current ticket when it was this one.
func (e *Engine) releaseCounter(tx Tx, hallID, counterID, ticketID string) error {
	if counterID == "" {
		return nil
	}
	return tx.ReleaseCounter(hallID, counterID, ticketID)
}

// DeleteCounter removes a counter that has no ticket called or served and
// no device bound to it. The screens are told it is closed.
func (e *Engine) DeleteCounter(ctx context.Context, hallID, counterID string) error {
	if err := e.Refuse(ctx, WorkCounters, hallID); err != nil { // edge.go: the city owns it
		return err
	}
	return e.update(ctx, func(tx Tx) error {
		c, err := tx.Counter(hallID, counterID)
		if err != nil {
			return err
		}
		if c.CurrentTicketID != "" {
			return Errorf(EConflict, "counter %s has a ticket called or in service: finish it first", counterID)
		}
		ds, err := tx.Devices(hallID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.CounterID == counterID {
				return Errorf(EConflict, "device %d (%s) is bound to counter %s: remove it first", d.ID, d.Kind, counterID)
			}
		}
		if err := tx.DeleteCounter(hallID, counterID); err != nil {
			return err
		}
		c.Status, c.PauseReason = CounterClosed, ""
		c.SetStaffed()
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventCounter, At: e.now(), Counter: c})
	})
}
