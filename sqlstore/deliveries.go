package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/civiq/civiq"
)

// Subscribers of the events table and their delivery log (civiq's
// delivery.go and webhook.go).

var _ civiq.DeliveryTx = (*tx)(nil)

const subscriberColumns = `id, kind, url, events, halls, description, status, created_by, created_at, updated_at,
	secret, prev_secret, prev_until, after_event, attempts, next_at, failing_since, last_error, lease_owner, lease_until`

func scanSubscriber(sc scanner) (*civiq.Subscriber, error) {
	s := &civiq.Subscriber{}
	var events, halls string
	var created, updated, prevUntil, nextAt, leaseUntil int64
	var failing sql.NullInt64
	if err := sc.Scan(&s.ID, &s.Kind, &s.URL, &events, &halls, &s.Description, &s.Status, &s.CreatedBy, &created, &updated,
		&s.Secret, &s.PrevSecret, &prevUntil, &s.Cursor, &s.Attempts, &nextAt, &failing, &s.LastError, &s.LeaseOwner, &leaseUntil); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &s.Events); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(halls), &s.Halls); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt, s.PrevUntil = time.Unix(0, created), time.Unix(0, updated), time.Unix(0, prevUntil)
	s.LeaseUntil = time.Unix(0, leaseUntil)
	if nextAt > 0 { // none due: 0 (the column's default), or the zero time's nanos (before 1970)
		s.NextAt = time.Unix(0, nextAt)
	}
	s.FailingSince = fromNanos(failing)
	return s, nil
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func (t *tx) InsertSubscriber(s *civiq.Subscriber) error {
	var err error
	s.ID, err = t.scalar(`INSERT INTO subscribers (kind, url, events, halls, description, status, created_by, created_at, updated_at,
		secret, prev_secret, prev_until, after_event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.Kind, s.URL, jsonList(s.Events), jsonList(s.Halls), s.Description, s.Status, s.CreatedBy, nanos(s.CreatedAt), nanos(s.UpdatedAt),
		s.Secret, s.PrevSecret, nanos(s.PrevUntil), s.Cursor)
	return err
}

func (t *tx) UpdateSubscriber(s *civiq.Subscriber) error {
	return t.exec(`UPDATE subscribers SET url = ?, events = ?, halls = ?, description = ?, status = ?, updated_at = ?,
		secret = ?, prev_secret = ?, prev_until = ? WHERE id = ?`,
		s.URL, jsonList(s.Events), jsonList(s.Halls), s.Description, s.Status, nanos(s.UpdatedAt),
		s.Secret, s.PrevSecret, nanos(s.PrevUntil), s.ID)
}

func (t *tx) Subscriber(id int64) (*civiq.Subscriber, error) {
	s, err := scanSubscriber(t.row(`SELECT `+subscriberColumns+` FROM subscribers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("subscriber", strconv.FormatInt(id, 10))
	}
	return s, err
}

func (t *tx) Subscribers() ([]*civiq.Subscriber, error) {
	return scanAll(scanSubscriber)(t.rows(`SELECT ` + subscriberColumns + ` FROM subscribers ORDER BY id`))
}

func (t *tx) DeleteSubscriber(id int64) error {
	if err := t.exec(`DELETE FROM delivery_log WHERE subscriber_id = ?`, id); err != nil {
		return err
	}
	return t.exec(`DELETE FROM subscribers WHERE id = ?`, id)
}

func (t *tx) ClaimSubscriber(id int64, owner string, now, until time.Time) (bool, error) {
	got, err := t.scalar(`UPDATE subscribers SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND (lease_owner = ? OR lease_until < ?) RETURNING id`, owner, nanos(until), id, owner, nanos(now))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return got == id, err
}

func (t *tx) SetDeliveryState(s *civiq.Subscriber) error {
	return t.exec(`UPDATE subscribers SET status = ?, after_event = ?, attempts = ?, next_at = ?, failing_since = ?, last_error = ? WHERE id = ?`,
		s.Status, s.Cursor, s.Attempts, nanos(s.NextAt), nullNanos(s.FailingSince), s.LastError, s.ID)
}

// The delivery log holds a row for each record (AppendDeliveries), its
// tries in order as JSON: [[event_id, at, status, latency_us, error,
// message_id], ...], message_id "" when it is civiq.MessageID's. A try's
// id is its row's times logChunk plus its place in the row.
const logChunk = 1024

func (t *tx) AppendDeliveries(subID int64, as []civiq.DeliveryAttempt) error {
	if len(as) == 0 {
		return nil
	}
	// A try is about 45 bytes ("[id,at,status,µs,error,message id]"):
	// the record made in one buffer, not grown through its sizes.
	b := make([]byte, 0, 2+56*min(len(as), logChunk))
	for rest := as; len(rest) > 0; {
		chunk := rest[:min(len(rest), logChunk)]
		rest = rest[len(chunk):]
		b = append(b[:0], '[')
		for i := range chunk {
			a := &chunk[i]
			a.SubscriberID = subID
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, a.EventID, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, nanos(a.At), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(a.Status), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, a.Latency.Microseconds(), 10)
			b = civiq.AppendJSONString(append(b, ','), a.Error)
			id := a.MessageID
			if isMessageID(id, subID, a.EventID) {
				id = ""
			}
			b = append(civiq.AppendJSONString(append(b, ','), id), ']')
		}
		b = append(b, ']')
		if err := t.exec(`INSERT INTO delivery_log (subscriber_id, at, tries, log) VALUES (?, ?, ?, ?)`,
			subID, nanos(chunk[0].At), len(chunk), string(b)); err != nil {
			return err
		}
	}
	// Keep the last DeliveryLogSize tries: the records that hold them.
	var keepFrom int64
	err := func() error {
		rows, err := t.rows(`SELECT id, tries FROM delivery_log WHERE subscriber_id = ? ORDER BY id DESC`, subID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for n := 0; n < civiq.DeliveryLogSize && rows.Next(); {
			var tries int
			if err := rows.Scan(&keepFrom, &tries); err != nil {
				return err
			}
			n += tries
		}
		return rows.Err()
	}()
	if err != nil || keepFrom == 0 {
		return err
	}
	return t.exec(`DELETE FROM delivery_log WHERE subscriber_id = ? AND id < ?`, subID, keepFrom)
}

// isMessageID reports whether id is civiq.MessageID(subID, eventID),
// without making that.
func isMessageID(id string, subID, eventID int64) bool {
	var buf [48]byte
	return string(civiq.AppendMessageID(buf[:0], subID, eventID)) == id
}

func (t *tx) Deliveries(subID int64, limit int) ([]civiq.DeliveryAttempt, error) {
	rows, err := t.rows(`SELECT id, log FROM delivery_log WHERE subscriber_id = ? ORDER BY id DESC`, subID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []civiq.DeliveryAttempt
	for len(out) < limit && rows.Next() {
		var id int64
		var log string
		if err := rows.Scan(&id, &log); err != nil {
			return nil, err
		}
		var tries [][6]json.RawMessage
		if err := json.Unmarshal([]byte(log), &tries); err != nil {
			return nil, fmt.Errorf("delivery log %d: %w", id, err)
		}
		for i := len(tries) - 1; i >= 0 && len(out) < limit; i-- {
			f := tries[i]
			a := civiq.DeliveryAttempt{ID: id*logChunk + int64(i), SubscriberID: subID}
			var at, us int64
			for j, v := range []any{&a.EventID, &at, &a.Status, &us, &a.Error, &a.MessageID} {
				if err := json.Unmarshal(f[j], v); err != nil {
					return nil, fmt.Errorf("delivery log %d: %w", id, err)
				}
			}
			if a.MessageID == "" {
				a.MessageID = civiq.MessageID(subID, a.EventID)
			}
			a.At, a.Latency = time.Unix(0, at), time.Duration(us)*time.Microsecond
			a.LatencyMS = float64(us) / 1000
			out = append(out, a)
		}
	}
	return out, rows.Err()
}

// PruneDeliveries walks the log in the order it was written (by id: the
// old records come first), no index of the time for every record's
// insert to keep.
func (t *tx) PruneDeliveries(before time.Time, limit int) (int, error) {
	res, err := t.execResult(`DELETE FROM delivery_log WHERE id IN (SELECT id FROM delivery_log WHERE at < ? ORDER BY id LIMIT ?)`,
		nanos(before), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *tx) EventsSince(after int64, limit int) ([]*civiq.Event, error) {
	return scanAll(scanEvent)(t.rows(eventsSince, after, limit))
}

func (t *tx) LastEventID() (int64, error) {
	var id int64
	err := t.row(`SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id)
	return id, err
}

// eventsWhere is the filter of CountEvents and EventsOf: one statement
// text per length of the two lists.
func eventsWhere(after int64, halls, types []string) (string, []any) {
	q := ` FROM events WHERE id > ?`
	args := make([]any, 0, 1+len(halls)+len(types))
	args = append(args, after)
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		q += ` AND ` + col + ` IN (` + marks(len(vals)) + `)`
		args = append(args, anys(vals)...)
	}
	in("hall_id", halls)
	if len(halls) == 0 {
		q += ` AND hall_id <> ''` // every hall's, not the delivery's own (civiq.EventSubscriberChanged)
	}
	in("type", types)
	return q, args
}

func (t *tx) CountEvents(after int64, halls, types []string) (int, *time.Time, error) {
	q, args := eventsWhere(after, halls, types)
	var n int
	var oldest sql.NullInt64
	err := t.row(`SELECT COUNT(*), MIN(at)`+q, args...).Scan(&n, &oldest)
	return n, fromNanos(oldest), err
}

func (t *tx) EventsOf(after int64, halls, types []string, limit int) ([]*civiq.Event, error) {
	q, args := eventsWhere(after, halls, types)
	return scanAll(scanEvent)(t.rows(`SELECT id, hall_id, type, at, data`+q+` ORDER BY id LIMIT ?`, append(args, limit)...))
}
