package civiq

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Event names, as the contract gives them.
const (
	EventIssued      = "ticket.issued"
	EventCalled      = "ticket.called"
	EventRecalled    = "ticket.recalled"
	EventServing     = "ticket.serving"
	EventDone        = "ticket.done"
	EventNoShow      = "ticket.no_show"
	EventTransferred = "ticket.transferred"
	EventReturned    = "ticket.returned"
	EventCancelled   = "ticket.cancelled"
	EventRated       = "ticket.rated"
	// EventUpdated: staff marked the ticket they serve as taken on
	// someone's behalf, or unmarked it (SetTicketBehalf).
	EventUpdated      = "ticket.updated"
	EventCounter      = "counter.updated"
	EventAnnouncement = "announcement"
)

// actionEvents names the event each ticket action produces.
var actionEvents = map[string]string{
	ActCall:     EventCalled,
	ActRecall:   EventRecalled,
	ActStart:    EventServing,
	ActFinish:   EventDone,
	ActNoShow:   EventNoShow,
	ActTransfer: EventTransferred,
	ActReturn:   EventReturned,
	ActCancel:   EventCancelled,
}

// Event is one change a user can see, written in the same transaction as
// the change itself. IDs only grow, in one order per installation.
type Event struct {
	ID      int64
	HallID  string
	Type    string
	At      time.Time
	Ticket  *Ticket
	Counter *Counter
	Text    string // the announcement
	// Reason is why a clerk called this ticket out of order (CallTicket),
	// or the note of its transfer for the next clerk: in the staff view
	// only.
	Reason string
	// FollowUp is the follow-up case a rating opened or a move changed
	// (followup.go): in the staff view only.
	FollowUp *FollowUpRef
	// Booking is the booking a change concerns (booking.go): in the staff
	// view only, and never with personal data.
	Booking *BookingRef
	// Case is the 办件 case a change concerns (case.go): in the staff view
	// only, without the applicant.
	Case *CaseRef
	// Alert is the service alert raised or cleared (alert.go): in the
	// staff view only.
	Alert *ServiceAlert

	// Each view's JSON, made once at its first use (JSON).
	publicOnce, staffOnce sync.Once
	public, staff         []byte

	// Each view's stream frame, made once at its first use (Frame).
	publicFrameOnce, staffFrameOnce sync.Once
	publicFrame, staffFrame         []byte

	// The body of the event's webhook messages (delivery.go's
	// messageBody), made once however many subscribers send it.
	bodyOnce sync.Once
	body     []byte
}

// EventTx is what a store keeps of events (sqlstore/events.go).
type EventTx interface {
	AppendEvent(e *Event) error
	// HallLastEventID is the id of the hall's newest event, 0 if none.
	HallLastEventID(hallID string) (int64, error)
	// Prune deletes events and idempotency keys older than the times
	// given, but no event with an id above keepAfter.
	Prune(eventsBefore, keysBefore time.Time, keepAfter int64) error
	// Announcements returns the hall's last n announcement events still
	// kept, newest first (the display starts with the first).
	Announcements(hallID string, n int) ([]*Event, error)
}

// EventData is what an event row stores besides its id, hall, type and time.
type EventData struct {
	Ticket  *Ticket  `json:"ticket,omitempty"`
	Counter *Counter `json:"counter,omitempty"`
	Text    string   `json:"text,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	// FollowUp: see Event.FollowUp.
	FollowUp *FollowUpRef `json:"followup,omitempty"`
	// Booking: see Event.Booking.
	Booking *BookingRef `json:"booking,omitempty"`
	// Case: see Event.Case.
	Case *CaseRef `json:"case,omitempty"`
	// Alert: see Event.Alert.
	Alert *ServiceAlert `json:"alert,omitempty"`
}

// StaffTicket is what staff see of a ticket in events: the public view,
// the ticket's id and how it came.
type StaffTicket struct {
	ID string `json:"id"`
	PublicTicket
	Channel  string    `json:"channel"`
	Priority string    `json:"priority"`
	IssuedAt time.Time `json:"issued_at"`
	// OnBehalf is the helper's role of a ticket taken for someone.
	OnBehalf *OnBehalf `json:"on_behalf,omitempty"`
}

// EventView is an event as a stream's data line carries it.
type EventView struct {
	Type string `json:"type"`
	At   string `json:"at"`
	// Ticket is a PublicTicket in the public view, a StaffTicket in the
	// staff view.
	Ticket  any      `json:"ticket,omitempty"`
	Counter *Counter `json:"counter,omitempty"`
	Text    string   `json:"text,omitempty"`
	// Reason, of a call out of order or a transfer, is in the staff view
	// only.
	Reason string `json:"reason,omitempty"`
	// FollowUp is in the staff view only.
	FollowUp *FollowUpRef `json:"followup,omitempty"`
	// Booking is in the staff view only.
	Booking *BookingRef `json:"booking,omitempty"`
	// Case is in the staff view only.
	Case *CaseRef `json:"case,omitempty"`
	// Alert is in the staff view only.
	Alert *ServiceAlert `json:"alert,omitempty"`
}

// Public is the event as anyone may see it: the ticket by its number
// (Ticket.Public), a counter without its ticket (Counter.Public), no
// follow-up or booking. Times are in UTC, live or replayed alike.
func (e *Event) Public() EventView {
	v := EventView{Type: e.Type, At: e.At.UTC().Format(time.RFC3339Nano), Text: e.Text}
	if e.Ticket != nil {
		v.Ticket = e.Ticket.Public()
	}
	if e.Counter != nil {
		c := e.Counter.Public()
		v.Counter = &c
	}
	return v
}

// Staff is the event as staff of its hall see it: tickets with their ids
// and how they came, the counter's ticket, the follow-up or booking it
// concerns. Still no names, phones or ID numbers.
func (e *Event) Staff() EventView {
	v := EventView{Type: e.Type, At: e.At.UTC().Format(time.RFC3339Nano), Counter: e.Counter, Text: e.Text, Reason: e.Reason,
		FollowUp: e.FollowUp, Booking: e.Booking, Case: e.Case, Alert: e.Alert}
	if t := e.Ticket; t != nil {
		v.Ticket = StaffTicket{ID: t.ID, PublicTicket: t.Public(), Channel: t.Channel, Priority: t.Priority, IssuedAt: t.IssuedAt.UTC(), OnBehalf: t.OnBehalf}
	}
	return v
}

// JSON is the event's data line: Public, or Staff when staff is true, as
// encoding/json writes them. It is encoded once per event however many
// streams and webhooks carry it.
func (e *Event) JSON(staff bool) []byte {
	// Each view on its own: a webhook's message carries the staff view
	// only, and a hall whose events no screen shows needs no public one.
	if staff {
		e.staffOnce.Do(func() { e.staff = slices.Clip(e.appendJSON(make([]byte, 0, 640), true)) })
		return e.staff
	}
	e.publicOnce.Do(func() { e.public = slices.Clip(e.appendJSON(make([]byte, 0, 512), false)) })
	return e.public
}

// appendJSON appends the view's JSON to b, byte for byte what
// json.Marshal writes for e.Public() or e.Staff() (the field names, order
// and omissions, the HTML-safe escapes), without reflection for the
// event's own fields, its ticket and its counter: a message's body was
// mostly this, about 12 µs an event by reflection. A follow-up, booking,
// case or alert is encoded by encoding/json in its place. Where
// json.Marshal fails (a time past the year 9999) it gives what that gave,
// nil. FuzzEventJSON holds the two to the same bytes.
func (e *Event) appendJSON(b []byte, staff bool) []byte {
	n := len(b)
	plain := func() []byte {
		v := e.Public()
		if staff {
			v = e.Staff()
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil
		}
		return append(b[:n], j...)
	}
	b = append(b, `{"type":`...)
	b = AppendJSONString(b, e.Type)
	b = append(b, `,"at":"`...)
	b = e.At.UTC().AppendFormat(b, time.RFC3339Nano) // digits and -:.TZ+, nothing to escape
	b = append(b, '"')
	if t := e.Ticket; t != nil {
		b = append(b, `,"ticket":{`...)
		if staff {
			b = append(b, `"id":`...)
			b = AppendJSONString(b, t.ID)
			b = append(b, ',')
		}
		b = append(b, `"number":`...)
		b = AppendJSONString(b, t.Number)
		b = append(b, `,"service_id":`...)
		b = AppendJSONString(b, t.ServiceID)
		if t.CounterID != "" {
			b = append(b, `,"counter_id":`...)
			b = AppendJSONString(b, t.CounterID)
		}
		b = append(b, `,"status":`...)
		b = AppendJSONString(b, t.Status)
		b = append(b, `,"call_count":`...)
		b = strconv.AppendInt(b, int64(t.CallCount), 10)
		if staff {
			b = append(b, `,"channel":`...)
			b = AppendJSONString(b, t.Channel)
			b = append(b, `,"priority":`...)
			b = AppendJSONString(b, t.Priority)
			b = append(b, `,"issued_at":`...)
			var ok bool
			if b, ok = appendJSONTime(b, t.IssuedAt.UTC()); !ok {
				return plain()
			}
			if t.OnBehalf != nil {
				b = append(b, `,"on_behalf":{"role":`...)
				b = AppendJSONString(b, t.OnBehalf.Role)
				b = append(b, '}')
			}
		}
		b = append(b, '}')
	}
	if c := e.Counter; c != nil {
		b = append(b, `,"counter":{"id":`...)
		b = AppendJSONString(b, c.ID)
		b = append(b, `,"name":`...)
		b = AppendJSONString(b, c.Name)
		b = append(b, `,"service_ids":`...)
		if c.ServiceIDs == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, id := range c.ServiceIDs {
				if i > 0 {
					b = append(b, ',')
				}
				b = AppendJSONString(b, id)
			}
			b = append(b, ']')
		}
		b = append(b, `,"status":`...)
		b = AppendJSONString(b, c.Status)
		if c.PauseReason != "" {
			b = append(b, `,"pause_reason":`...)
			b = AppendJSONString(b, c.PauseReason)
		}
		if staff && c.CurrentTicketID != "" { // Counter.Public leaves it out
			b = append(b, `,"current_ticket_id":`...)
			b = AppendJSONString(b, c.CurrentTicketID)
		}
		if staff && c.Clerk != "" {
			b = append(b, `,"clerk":`...)
			b = AppendJSONString(b, c.Clerk)
		}
		b = strconv.AppendBool(append(b, `,"staffed":`...), c.Staffed)
		b = append(b, '}')
	}
	if e.Text != "" {
		b = append(b, `,"text":`...)
		b = AppendJSONString(b, e.Text)
	}
	if staff {
		if e.Reason != "" {
			b = append(b, `,"reason":`...)
			b = AppendJSONString(b, e.Reason)
		}
		for _, f := range [...]struct {
			key string
			v   any
			set bool
		}{{`,"followup":`, e.FollowUp, e.FollowUp != nil}, {`,"booking":`, e.Booking, e.Booking != nil},
			{`,"case":`, e.Case, e.Case != nil}, {`,"alert":`, e.Alert, e.Alert != nil}} {
			if !f.set {
				continue
			}
			j, err := json.Marshal(f.v)
			if err != nil {
				return plain()
			}
			b = append(append(b, f.key...), j...)
		}
	}
	return append(b, '}')
}

// Frame is the event as frame writes it of the view JSON gives: an event
// stream's frame (api/sse.go, which owns the format). Like JSON it is
// made once per view, at its first use, however many streams carry it;
// every caller passes the same frame.
func (e *Event) Frame(staff bool, frame func(id int64, typ string, data []byte) []byte) []byte {
	if staff {
		e.staffFrameOnce.Do(func() { e.staffFrame = frame(e.ID, e.Type, e.JSON(true)) })
		return e.staffFrame
	}
	e.publicFrameOnce.Do(func() { e.publicFrame = frame(e.ID, e.Type, e.JSON(false)) })
	return e.publicFrame
}

// EventsAfter returns up to limit stored events of a hall with an id above
// after, oldest first: what a live stream replays to a client that comes
// back.
func (e *Engine) EventsAfter(ctx context.Context, hallID string, after int64, limit int) ([]*Event, error) {
	return e.store.EventsAfter(ctx, hallID, after, limit)
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

// EventRetention is how long events stay for replay; the contract asks
// for at least a day.
const EventRetention = 7 * 24 * time.Hour

// Prune forgets events older than EventRetention, but none a subscriber
// still has to deliver (delivery.go), and idempotency keys older than
// IdempotencyWindow. It first rates by default the phone tickets
// left unrated, in halls that ask for it (ApplyDefaultRatings), and
// then forgets the delivery log's old records and the notifications' old
// messages, each in writes of their own (pruneInWrites).
func (e *Engine) Prune(ctx context.Context) error {
	if _, err := e.ApplyDefaultRatings(ctx, ""); err != nil { // rating.go
		return err
	}
	now := e.now()
	if err := e.update(ctx, func(tx Tx) error {
		if err := tx.PruneOptIns(now.Add(-OptInAge), now.Add(-OptInAfterEnd)); err != nil { // notify.go
			return err
		}
		keep, err := undelivered(tx)
		if err != nil {
			return err
		}
		return tx.Prune(now.Add(-EventRetention), now.Add(-IdempotencyWindow), keep)
	}); err != nil {
		return err
	}
	if err := e.pruneInWrites(ctx, func(tx Tx) (int, error) {
		return tx.PruneDeliveries(now.Add(-DeliveryLogAge), PruneBatch) // delivery.go
	}); err != nil {
		return err
	}
	return e.PruneNotices(ctx) // notify.go
}

// PruneBatch is how many rows one write of a prune deletes at most (the
// delivery log's records, a hall's messages); the next write comes
// prunePause later, so that a long backlog (the first prune of a log or
// a hall that kept everything) never holds the one writer for long
// between the halls' own writes.
const PruneBatch = 500

var prunePause = 50 * time.Millisecond

// pruneInWrites runs del, which deletes at most PruneBatch rows and says
// how many, each time in a write of its own, until it deletes fewer,
// prunePause apart; it stops between the writes once ctx is done.
func (e *Engine) pruneInWrites(ctx context.Context, del func(Tx) (int, error)) error {
	for {
		var n int
		if err := e.update(ctx, func(tx Tx) error {
			var err error
			n, err = del(tx)
			return err
		}); err != nil {
			return err
		}
		if n < PruneBatch {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(prunePause):
		}
	}
}

// Announcement is a line once sent to a hall's screens.
type Announcement struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Announcements returns the hall's last n announcements still kept with its
// events, newest first.
func (e *Engine) Announcements(ctx context.Context, hallID string, n int) ([]Announcement, error) {
	out := []Announcement{}
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		evs, err := tx.Announcements(hallID, n)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			out = append(out, Announcement{Text: ev.Text, At: ev.At})
		}
		return nil
	})
	return out, err
}
