package sqlstore

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/civiq/civiq"
)

// Events (civiq's event.go): written with the change they show, replayed
// to the streams, announcements among them.

var _ civiq.EventTx = (*tx)(nil)

// eventJSON are the buffers an event's data is encoded in before its
// insert copies it: a ticket's, about 400 bytes, took five allocations
// grown from nothing.
var eventJSON = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (t *tx) AppendEvent(e *civiq.Event) error {
	// encoding/json's bytes, a ticket's without reflection.
	buf := eventJSON.Get().(*[]byte)
	b, err := civiq.EventData{Ticket: e.Ticket, Counter: e.Counter, Text: e.Text, Reason: e.Reason, FollowUp: e.FollowUp, Booking: e.Booking, Case: e.Case, Alert: e.Alert}.AppendJSON((*buf)[:0])
	data := string(b)
	if cap(b) <= 64<<10 {
		*buf = b[:0]
		eventJSON.Put(buf)
	}
	if err != nil {
		return err
	}
	// Keep a copy: the caller may go on changing the ticket it passed.
	cp := &civiq.Event{HallID: e.HallID, Type: e.Type, At: e.At,
		Ticket: cloneTicket(e.Ticket), Counter: cloneCounter(e.Counter), Text: e.Text, Reason: e.Reason, FollowUp: cloneFollowUp(e.FollowUp), Booking: cloneBookingRef(e.Booking), Case: cloneCaseRef(e.Case),
		Alert: cloneAlert(e.Alert)}
	const insert = `INSERT INTO events (hall_id, type, at, data) VALUES (?, ?, ?, ?)`
	switch {
	case t.pipe != nil:
		// The id is known once sent, before the commit.
		t.pipe.stmts = append(t.pipe.stmts, Deferred{SQL: t.d.sql(insert + ` RETURNING id`), Args: []any{e.HallID, e.Type, nanos(e.At), data},
			Scan: func(id int64) { e.ID, cp.ID = id, id }})
	case t.d.IsPostgres():
		if err := t.row(insert+` RETURNING id`, e.HallID, e.Type, nanos(e.At), data).Scan(&e.ID); err != nil {
			return err
		}
	default:
		// On SQLite the id is the row's rowid, which the insert leaves
		// behind: RETURNING would cost SQLite a table of its answers and a
		// statement journal, about 40% of the insert. An event moves no
		// queue and no ticket: the place of a ticket just counted and the
		// tickets read stay known.
		placed, read := t.placed, t.read
		res, err := t.execHeld(insert, e.HallID, e.Type, nanos(e.At), data) // the rows held stay held
		if err != nil {
			return err
		}
		t.placed, t.read = placed, read
		if e.ID, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	cp.ID = e.ID
	t.events = append(t.events, cp)
	return nil
}

func cloneTicket(tk *civiq.Ticket) *civiq.Ticket {
	if tk == nil {
		return nil
	}
	c := *tk
	c.Position, c.ETASeconds = nil, nil
	return &c
}

func cloneCounter(c *civiq.Counter) *civiq.Counter {
	if c == nil {
		return nil
	}
	d := *c
	d.ServiceIDs = append([]string(nil), c.ServiceIDs...)
	return &d
}

func scanEvent(sc scanner) (*civiq.Event, error) {
	e := &civiq.Event{}
	var at int64
	var data string
	if err := sc.Scan(&e.ID, &e.HallID, &e.Type, &at, &data); err != nil {
		return nil, err
	}
	e.At = time.Unix(0, at)
	var d civiq.EventData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return nil, fmt.Errorf("decode event %d: %w", e.ID, err)
	}
	e.Ticket, e.Counter, e.Text, e.Reason, e.FollowUp, e.Booking, e.Case, e.Alert = d.Ticket, d.Counter, d.Text, d.Reason, d.FollowUp, d.Booking, d.Case, d.Alert
	return e, nil
}

func (t *tx) HallLastEventID(hallID string) (int64, error) {
	var id int64
	err := t.row(`SELECT COALESCE(MAX(id), 0) FROM events WHERE hall_id = ?`, hallID).Scan(&id)
	return id, err
}

func (t *tx) Prune(eventsBefore, keysBefore time.Time, keepAfter int64) error {
	if err := t.exec(`DELETE FROM events WHERE at < ? AND id <= ?`, nanos(eventsBefore), keepAfter); err != nil {
		return err
	}
	return t.exec(`DELETE FROM idempotency WHERE created_at < ?`, nanos(keysBefore))
}

func cloneFollowUp(f *civiq.FollowUpRef) *civiq.FollowUpRef {
	if f == nil {
		return nil
	}
	c := *f
	return &c
}

func cloneAlert(a *civiq.ServiceAlert) *civiq.ServiceAlert {
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

func cloneBookingRef(b *civiq.BookingRef) *civiq.BookingRef {
	if b == nil {
		return nil
	}
	c := *b
	return &c
}

func cloneCaseRef(c *civiq.CaseRef) *civiq.CaseRef {
	if c == nil {
		return nil
	}
	d := *c
	return &d
}

// Announcements walks the events_hall index backwards.
func (t *tx) Announcements(hallID string, n int) ([]*civiq.Event, error) {
	return scanAll(scanEvent)(t.rows(`SELECT id, hall_id, type, at, data FROM events WHERE hall_id = ? AND type = ? ORDER BY id DESC LIMIT ?`,
		hallID, civiq.EventAnnouncement, n))
}
