package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"math/bits"
	"strconv"
	"strings"
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
	s.NextAt, s.LeaseUntil = time.Unix(0, nextAt), time.Unix(0, leaseUntil)
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
	if err := t.exec(`DELETE FROM deliveries WHERE subscriber_id = ?`, id); err != nil {
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

func (t *tx) AppendDeliveries(subID int64, as []civiq.DeliveryAttempt) error {
	if len(as) == 0 {
		return nil
	}
	// Rows go in by the largest power of two that is left (at most 128 a
	// statement): a batch is a few statements, and few texts are prepared.
	args := make([]any, 0, 7*min(len(as), 128))
	for rest := as; len(rest) > 0; {
		n := 128
		for n > len(rest) {
			n /= 2
		}
		args = args[:0]
		for i := range rest[:n] {
			a := &rest[i]
			a.SubscriberID = subID
			args = append(args, subID, a.EventID, a.MessageID, nanos(a.At), a.Status, a.Latency.Microseconds(), a.Error)
		}
		if err := t.exec(insertDeliveries[bits.Len(uint(n))-1], args...); err != nil {
			return err
		}
		rest = rest[n:]
	}
	// Keep the last DeliveryLogSize: the id below which none is kept.
	return t.exec(`DELETE FROM deliveries WHERE subscriber_id = ? AND id <= (
		SELECT id FROM deliveries WHERE subscriber_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, subID, subID, civiq.DeliveryLogSize)
}

// insertDeliveries[k] inserts 1<<k rows of the delivery log.
var insertDeliveries = func() (qs [8]string) {
	for k := range qs {
		qs[k] = `INSERT INTO deliveries (subscriber_id, event_id, message_id, at, status, latency_us, error) VALUES (?, ?, ?, ?, ?, ?, ?)` +
			strings.Repeat(`, (?, ?, ?, ?, ?, ?, ?)`, 1<<k-1)
	}
	return qs
}()

func (t *tx) Deliveries(subID int64, limit int) ([]civiq.DeliveryAttempt, error) {
	return scanAll(func(sc scanner) (civiq.DeliveryAttempt, error) {
		var a civiq.DeliveryAttempt
		var at, us int64
		err := sc.Scan(&a.ID, &a.SubscriberID, &a.EventID, &a.MessageID, &at, &a.Status, &us, &a.Error)
		a.At, a.Latency = time.Unix(0, at), time.Duration(us)*time.Microsecond
		a.LatencyMS = float64(us) / 1000
		return a, err
	})(t.rows(`SELECT id, subscriber_id, event_id, message_id, at, status, latency_us, error FROM deliveries
		WHERE subscriber_id = ? ORDER BY id DESC LIMIT ?`, subID, limit))
}

func (t *tx) PruneDeliveries(before time.Time) error {
	return t.exec(`DELETE FROM deliveries WHERE at < ?`, nanos(before))
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
		q += ` AND ` + col + ` IN (?` + strings.Repeat(`, ?`, len(vals)-1) + `)`
		for _, v := range vals {
			args = append(args, v)
		}
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
