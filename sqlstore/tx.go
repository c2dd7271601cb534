package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civiq/civiq"
)

// tx runs the statements of one transaction. Statements are prepared once
// and reused: parsing SQL was most of the cost of a write.
type tx struct {
	d      *Dialect
	stmt   func(query string) (*sql.Stmt, error)
	events []*civiq.Event
	// pipe, when set, holds back statements whose answers are not waited
	// for (Dialect.Pipeline); reads send them first.
	pipe *pipe
}

// errRow lets row report a failed prepare through Scan.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type scanner interface{ Scan(...any) error }

// scanAll reads every row of a query with scan. It takes the query's
// answer as it comes, so that a list is read in one line:
//
//	return scanAll(scanTicket)(t.rows(`SELECT ...`, args...))
//
// The list is empty, not nil, when there is no row.
func scanAll[T any](scan func(scanner) (T, error)) func(*sql.Rows, error) ([]T, error) {
	return func(rows *sql.Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []T{}
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
}

// deref turns a scan giving a pointer into one giving the value.
func deref[T any](scan func(scanner) (*T, error)) func(scanner) (T, error) {
	return func(sc scanner) (T, error) {
		p, err := scan(sc)
		if err != nil {
			var zero T
			return zero, err
		}
		return *p, nil
	}
}

func (t *tx) row(q string, args ...any) scanner {
	if err := t.flush(); err != nil {
		return errRow{err}
	}
	st, err := t.stmt(q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(bg, ints(args)...)
}

func (t *tx) rows(q string, args ...any) (*sql.Rows, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(bg, ints(args)...)
}

// scalar runs a statement that returns one row of one integer. With a
// pipe it goes with the statements held back, in the same round trip.
func (t *tx) scalar(q string, args ...any) (int64, error) {
	var n int64
	if t.pipe == nil {
		err := t.row(q, args...).Scan(&n)
		return n, err
	}
	t.pipe.stmts = append(t.pipe.stmts, Deferred{SQL: t.d.sql(q), Args: ints(args), Scan: func(v int64) { n = v }})
	return n, t.pipe.flush()
}

// flush sends the statements held back, before a read that may need them.
func (t *tx) flush() error {
	if t.pipe == nil {
		return nil
	}
	return t.pipe.flush()
}

// ints stores booleans as 0 and 1, as SQLite does, so that the same
// INTEGER columns work on PostgreSQL; they scan back into bool either way.
func ints(args []any) []any {
	for i, a := range args {
		if b, ok := a.(bool); ok {
			if b {
				args[i] = int64(1)
			} else {
				args[i] = int64(0)
			}
		}
	}
	return args
}

var _ civiq.Tx = (*tx)(nil)

var bg = context.Background()

func (t *tx) exec(q string, args ...any) error {
	if t.pipe != nil {
		t.pipe.stmts = append(t.pipe.stmts, Deferred{SQL: t.d.sql(q), Args: ints(args)})
		return nil
	}
	st, err := t.stmt(q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(bg, ints(args)...)
	return err
}

func notFound(what, id string) error { return civiq.Errorf(civiq.ENotFound, "unknown %s %s", what, id) }

func nanos(t time.Time) int64 { return t.UnixNano() }

func nullNanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.Unix(0, n.Int64)
	return &t
}

// Halls

func (t *tx) Halls() ([]civiq.Hall, error) {
	rows, err := t.rows(`SELECT data FROM halls ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []civiq.Hall
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		h, err := decodeHall(data)
		if err != nil {
			return nil, err
		}
		out = append(out, *h)
	}
	return out, rows.Err()
}

func (t *tx) Hall(id string) (*civiq.Hall, error) {
	var data string
	err := t.row(`SELECT data FROM halls WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("hall", id)
	}
	if err != nil {
		return nil, err
	}
	return decodeHall(data)
}

// decodeHall reads a hall's settings row. A row written before a setting
// existed (the voice template) gets the setting's default.
func decodeHall(data string) (*civiq.Hall, error) {
	var h civiq.Hall
	if err := json.Unmarshal([]byte(data), &h); err != nil {
		return nil, fmt.Errorf("decode hall: %w", err)
	}
	h.Defaults()
	return &h, nil
}

func (t *tx) PutHall(h *civiq.Hall) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO halls (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data`, h.ID, string(data))
}

// Services

const serviceCols = `hall_id, id, prefix, name, name_en, position`

func scanService(sc scanner) (civiq.Service, error) {
	var s civiq.Service
	err := sc.Scan(&s.HallID, &s.ID, &s.Prefix, &s.Name, &s.NameEn, &s.Position)
	return s, err
}

func (t *tx) Services(hallID string) ([]civiq.Service, error) {
	return scanAll(scanService)(t.rows(`SELECT `+serviceCols+` FROM services WHERE hall_id = ? ORDER BY position, id`, hallID))
}

func (t *tx) Service(hallID, id string) (*civiq.Service, error) {
	s, err := scanService(t.row(`SELECT `+serviceCols+` FROM services WHERE hall_id = ? AND id = ?`, hallID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("service", id)
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) SettingsChanged(hallID string) error {
	if t.d.SettingsNotify == "" {
		return nil
	}
	return t.exec(t.d.SettingsNotify, hallID)
}

func (t *tx) PutService(s *civiq.Service) error {
	return t.exec(`INSERT INTO services (`+serviceCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (hall_id, id) DO UPDATE SET prefix = excluded.prefix, name = excluded.name, name_en = excluded.name_en, position = excluded.position`,
		s.HallID, s.ID, s.Prefix, s.Name, s.NameEn, s.Position)
}

// Counters

const counterCols = `hall_id, id, name, service_ids, status, pause_reason, current_ticket_id`

func scanCounter(sc scanner) (civiq.Counter, error) {
	var c civiq.Counter
	var svcs string
	if err := sc.Scan(&c.HallID, &c.ID, &c.Name, &svcs, &c.Status, &c.PauseReason, &c.CurrentTicketID); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(svcs), &c.ServiceIDs); err != nil {
		return c, fmt.Errorf("decode counter services: %w", err)
	}
	if c.ServiceIDs == nil {
		c.ServiceIDs = []string{}
	}
	return c, nil
}

func (t *tx) Counters(hallID string) ([]civiq.Counter, error) {
	return scanAll(scanCounter)(t.rows(`SELECT `+counterCols+` FROM counters WHERE hall_id = ? ORDER BY position, id`, hallID))
}

func (t *tx) Counter(hallID, id string) (*civiq.Counter, error) {
	c, err := scanCounter(t.row(`SELECT `+counterCols+` FROM counters WHERE hall_id = ? AND id = ?`, hallID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("counter", id)
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (t *tx) ReleaseCounter(hallID, counterID, ticketID string) error {
	return t.exec(`UPDATE counters SET current_ticket_id = '' WHERE hall_id = ? AND id = ? AND current_ticket_id = ?`, hallID, counterID, ticketID)
}

func (t *tx) PutCounter(c *civiq.Counter) error {
	svcs, err := json.Marshal(c.ServiceIDs)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO counters (`+counterCols+`, position) VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COUNT(*) FROM counters WHERE hall_id = ?))
		ON CONFLICT (hall_id, id) DO UPDATE SET name = excluded.name, service_ids = excluded.service_ids, status = excluded.status,
		pause_reason = excluded.pause_reason, current_ticket_id = excluded.current_ticket_id`,
		c.HallID, c.ID, c.Name, string(svcs), c.Status, c.PauseReason, c.CurrentTicketID, c.HallID)
}

// Tickets

const ticketCols = `id, hall_id, service_id, number, day, channel, priority, priority_group, status, issued_at, queued_at,
	called_at, serving_at, done_at, no_show_at, cancelled_at, counter_id, call_count`

func scanTicket(sc scanner) (civiq.Ticket, error) {
	var tk civiq.Ticket
	var issued, queued int64
	var called, serving, done, noShow, cancelled sql.NullInt64
	err := sc.Scan(&tk.ID, &tk.HallID, &tk.ServiceID, &tk.Number, &tk.Day, &tk.Channel, &tk.Priority, &tk.PriorityGroup, &tk.Status,
		&issued, &queued, &called, &serving, &done, &noShow, &cancelled, &tk.CounterID, &tk.CallCount)
	if err != nil {
		return tk, err
	}
	tk.IssuedAt, tk.QueuedAt = time.Unix(0, issued), time.Unix(0, queued)
	tk.CalledAt, tk.ServingAt, tk.DoneAt, tk.NoShowAt, tk.CancelledAt = fromNanos(called), fromNanos(serving), fromNanos(done), fromNanos(noShow), fromNanos(cancelled)
	return tk, nil
}

func (t *tx) Ticket(id string) (*civiq.Ticket, error) {
	tk, err := scanTicket(t.row(`SELECT `+ticketCols+` FROM tickets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("ticket", id)
	}
	if err != nil {
		return nil, err
	}
	return &tk, nil
}

func (t *tx) InsertTicket(tk *civiq.Ticket) error {
	return t.exec(`INSERT INTO tickets (`+ticketCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tk.ID, tk.HallID, tk.ServiceID, tk.Number, tk.Day, tk.Channel, tk.Priority, tk.PriorityGroup, tk.Status,
		nanos(tk.IssuedAt), nanos(tk.QueuedAt), nullNanos(tk.CalledAt), nullNanos(tk.ServingAt), nullNanos(tk.DoneAt),
		nullNanos(tk.NoShowAt), nullNanos(tk.CancelledAt), tk.CounterID, tk.CallCount)
}

func (t *tx) UpdateTicket(tk *civiq.Ticket) error {
	return t.exec(`UPDATE tickets SET service_id = ?, status = ?, queued_at = ?, called_at = ?, serving_at = ?, done_at = ?,
		no_show_at = ?, cancelled_at = ?, counter_id = ?, call_count = ? WHERE id = ?`,
		tk.ServiceID, tk.Status, nanos(tk.QueuedAt), nullNanos(tk.CalledAt), nullNanos(tk.ServingAt), nullNanos(tk.DoneAt),
		nullNanos(tk.NoShowAt), nullNanos(tk.CancelledAt), tk.CounterID, tk.CallCount, tk.ID)
}

func (t *tx) NextSeq(hallID, serviceID, day string) (int, error) {
	n, err := t.scalar(`INSERT INTO sequences (hall_id, service_id, day, last) VALUES (?, ?, ?, 1)
		ON CONFLICT (hall_id, service_id, day) DO UPDATE SET last = sequences.last + 1 RETURNING last`, hallID, serviceID, day)
	return int(n), err
}

// queueHeads find the head of each class of a service's queue: the green
// channel, the walk-ins, and the appointments (booking.go), whose place in
// time is their slot's start.
var queueHeads = []string{
	`SELECT ` + ticketCols + ` FROM tickets WHERE hall_id = ? AND service_id = ? AND priority = 'priority' AND status = 'waiting'
		ORDER BY queued_at, issued_at, id LIMIT 1`,
	`SELECT ` + ticketCols + ` FROM tickets WHERE hall_id = ? AND service_id = ? AND priority = 'normal' AND status = 'waiting'
		AND channel <> 'appointment' ORDER BY queued_at, issued_at, id LIMIT 1`,
	// Without the priority term, so that the appointments' own index serves
	// it: with it, the planner walked every waiting walk-in. A green-channel
	// appointment may come twice, here and as the priority head; the
	// policy picks one ticket either way.
	`SELECT ` + ticketCols + ` FROM tickets WHERE hall_id = ? AND service_id = ? AND status = 'waiting'
		AND channel = 'appointment' ORDER BY queued_at, issued_at, id LIMIT 1`,
}

func (t *tx) QueueHeads(hallID string, serviceIDs []string) ([]civiq.Ticket, error) {
	if len(serviceIDs) == 0 {
		return []civiq.Ticket{}, nil
	}
	// One statement for every head of every service: on PostgreSQL each
	// statement is a round trip inside the writers' lock.
	parts := make([]string, 0, len(serviceIDs)*len(queueHeads))
	args := make([]any, 0, 2*cap(parts))
	for _, s := range serviceIDs {
		for _, q := range queueHeads {
			parts = append(parts, fmt.Sprintf("SELECT * FROM (%s) AS h%d", q, len(parts)))
			args = append(args, hallID, s)
		}
	}
	return scanAll(scanTicket)(t.rows(strings.Join(parts, " UNION ALL "), args...))
}

func (t *tx) WaitingPlaces(hallID, serviceID string, limit int) ([]time.Time, error) {
	rows, err := t.rows(`SELECT queued_at FROM tickets
		WHERE hall_id = ? AND service_id = ? AND priority = 'normal' AND status = 'waiting'
		ORDER BY queued_at, issued_at, id LIMIT ?`, hallID, serviceID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, time.Unix(0, n))
	}
	return out, rows.Err()
}

func (t *tx) CountBehind(tk *civiq.Ticket) (int, error) {
	var n int
	q, ia := nanos(tk.QueuedAt), nanos(tk.IssuedAt)
	err := t.row(`SELECT COUNT(*) FROM tickets
		WHERE hall_id = ? AND service_id = ? AND priority = ? AND status = 'waiting'
		AND (queued_at, issued_at, id) > (?, ?, ?)`, tk.HallID, tk.ServiceID, tk.Priority, q, ia, tk.ID).Scan(&n)
	return n, err
}

func (t *tx) WaitingCounts(hallID string) (map[string]int, error) {
	return scanCounts[string](t.rows(`SELECT service_id, SUM(waiting) FROM queue_counts WHERE hall_id = ? GROUP BY service_id`, hallID))
}

// scanCounts reads rows of a key and a count into a map.
func scanCounts[K comparable](rows *sql.Rows, err error) (map[K]int, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[K]int{}
	for rows.Next() {
		var k K
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

func (t *tx) PlaceAtEnd(tk *civiq.Ticket) error {
	const q = `SELECT COALESCE(SUM(waiting), 0) - 1 FROM queue_counts
		WHERE hall_id = ? AND service_id = ? AND (priority = 'priority' OR ? = 'normal')`
	set := func(n int64) {
		pos := max(int(n), 0)
		tk.Position = &pos
	}
	if t.pipe != nil {
		t.pipe.stmts = append(t.pipe.stmts, Deferred{SQL: t.d.sql(q), Args: []any{tk.HallID, tk.ServiceID, tk.Priority}, Scan: set})
		return nil
	}
	var n int64
	if err := t.row(q, tk.HallID, tk.ServiceID, tk.Priority).Scan(&n); err != nil {
		return err
	}
	set(n)
	return nil
}

func (t *tx) HallLastEventID(hallID string) (int64, error) {
	var id int64
	err := t.row(`SELECT COALESCE(MAX(id), 0) FROM events WHERE hall_id = ?`, hallID).Scan(&id)
	return id, err
}

func (t *tx) QueueLength(hallID, serviceID string) (int, int, error) {
	var prio, normal int
	err := t.row(`SELECT COALESCE(SUM(CASE WHEN priority = 'priority' THEN waiting END), 0), COALESCE(SUM(CASE WHEN priority = 'normal' THEN waiting END), 0)
		FROM queue_counts WHERE hall_id = ? AND service_id = ?`, hallID, serviceID).Scan(&prio, &normal)
	return prio, normal, err
}

func (t *tx) RecentCalls(hallID string, n int) ([]civiq.Ticket, error) {
	return scanAll(scanTicket)(t.rows(`SELECT `+ticketCols+` FROM tickets WHERE hall_id = ? AND called_at IS NOT NULL ORDER BY called_at DESC LIMIT ?`, hallID, n))
}

func (t *tx) MeanHandling(hallID, serviceID string, n int, floor float64) (float64, int, error) {
	var mean sql.NullFloat64
	var count int
	err := t.row(`SELECT AVG(d), COUNT(*) FROM (SELECT (done_at - serving_at) / 1e9 AS d FROM tickets
		WHERE hall_id = ? AND service_id = ? AND status = 'done' AND serving_at IS NOT NULL AND done_at - serving_at >= ?
		ORDER BY done_at DESC LIMIT ?) AS recent`, hallID, serviceID, int64(floor*1e9), n).Scan(&mean, &count)
	return mean.Float64, count, err
}

// Events

func (t *tx) AppendEvent(e *civiq.Event) error {
	data, err := json.Marshal(civiq.EventData{Ticket: e.Ticket, Counter: e.Counter, Text: e.Text, FollowUp: e.FollowUp, Booking: e.Booking})
	if err != nil {
		return err
	}
	// Keep a copy: the caller may go on changing the ticket it passed.
	cp := &civiq.Event{HallID: e.HallID, Type: e.Type, At: e.At,
		Ticket: cloneTicket(e.Ticket), Counter: cloneCounter(e.Counter), Text: e.Text, FollowUp: cloneFollowUp(e.FollowUp), Booking: cloneBookingRef(e.Booking)}
	const insert = `INSERT INTO events (hall_id, type, at, data) VALUES (?, ?, ?, ?) RETURNING id`
	if t.pipe != nil {
		// The id is known once sent, before the commit.
		t.pipe.stmts = append(t.pipe.stmts, Deferred{SQL: t.d.sql(insert), Args: []any{e.HallID, e.Type, nanos(e.At), string(data)},
			Scan: func(id int64) { e.ID, cp.ID = id, id }})
	} else if err := t.row(insert, e.HallID, e.Type, nanos(e.At), string(data)).Scan(&e.ID); err != nil {
		return err
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
	e.Ticket, e.Counter, e.Text, e.FollowUp, e.Booking = d.Ticket, d.Counter, d.Text, d.FollowUp, d.Booking
	return e, nil
}

func (t *tx) Prune(eventsBefore, keysBefore time.Time) error {
	if err := t.exec(`DELETE FROM events WHERE at < ?`, nanos(eventsBefore)); err != nil {
		return err
	}
	return t.exec(`DELETE FROM idempotency WHERE created_at < ?`, nanos(keysBefore))
}

// Idempotency

func (t *tx) Idempotency(scope, key string, since time.Time) (*civiq.IdempotencyRecord, error) {
	r := &civiq.IdempotencyRecord{Scope: scope, Key: key}
	var created int64
	err := t.row(`SELECT request_hash, ticket_id, created_at FROM idempotency WHERE scope = ? AND key = ? AND created_at >= ?`,
		scope, key, nanos(since)).Scan(&r.RequestHash, &r.TicketID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.CreatedAt = time.Unix(0, created)
	return r, nil
}

func (t *tx) PutIdempotency(r *civiq.IdempotencyRecord) error {
	return t.exec(`INSERT INTO idempotency (scope, key, request_hash, ticket_id, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, ticket_id = excluded.ticket_id, created_at = excluded.created_at`,
		r.Scope, r.Key, r.RequestHash, r.TicketID, nanos(r.CreatedAt))
}

// Users and sessions

const userCols = `id, username, role, hall_ids, password_hash, created_at, locked_until`

func scanUser(sc scanner) (*civiq.User, error) {
	u := &civiq.User{}
	var halls string
	var created int64
	var locked sql.NullInt64
	if err := sc.Scan(&u.ID, &u.Username, &u.Role, &halls, &u.PasswordHash, &created, &locked); err != nil {
		return nil, err
	}
	u.LockedUntil = fromNanos(locked)
	if err := json.Unmarshal([]byte(halls), &u.HallIDs); err != nil {
		return nil, fmt.Errorf("decode user halls: %w", err)
	}
	u.CreatedAt = time.Unix(0, created)
	return u, nil
}

func (t *tx) UserCount() (int, error) {
	var n int
	err := t.row(`SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

func (t *tx) User(username string) (*civiq.User, error) {
	u, err := scanUser(t.row(`SELECT `+userCols+` FROM users WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", username)
	}
	return u, err
}

func (t *tx) UserByID(id int64) (*civiq.User, error) {
	u, err := scanUser(t.row(`SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", fmt.Sprint(id))
	}
	return u, err
}

func (t *tx) Users() ([]civiq.User, error) {
	return scanAll(deref(scanUser))(t.rows(`SELECT ` + userCols + ` FROM users ORDER BY username`))
}

func (t *tx) InsertUser(u *civiq.User) error {
	halls, err := json.Marshal(u.HallIDs)
	if err != nil {
		return err
	}
	if u.HallIDs == nil {
		halls = []byte("[]")
	}
	return t.row(`INSERT INTO users (username, role, hall_ids, password_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		u.Username, u.Role, string(halls), u.PasswordHash, nanos(u.CreatedAt)).Scan(&u.ID)
}

func (t *tx) Session(tokenHash string) (*civiq.Session, error) {
	s := &civiq.Session{TokenHash: tokenHash}
	var exp int64
	err := t.row(`SELECT user_id, csrf, expires_at FROM sessions WHERE token_hash = ?`, tokenHash).Scan(&s.UserID, &s.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session", "")
	}
	if err != nil {
		return nil, err
	}
	s.ExpiresAt = time.Unix(0, exp)
	return s, nil
}

func (t *tx) InsertSession(s *civiq.Session) error {
	// Expired sessions go when new ones come, so the table stays small.
	if err := t.exec(`DELETE FROM sessions WHERE expires_at < ?`, time.Now().UnixNano()); err != nil {
		return err
	}
	return t.exec(`INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)`, s.TokenHash, s.UserID, s.CSRF, nanos(s.ExpiresAt))
}

func (t *tx) DeleteSession(tokenHash string) error {
	return t.exec(`DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
}

// Devices

const deviceCols = `id, kind, hall_id, counter_id, name, pairing_code, token_hash, paired_at, created_at`

func scanDevice(sc scanner) (*civiq.Device, error) {
	d := &civiq.Device{}
	var code, token sql.NullString
	var paired sql.NullInt64
	var created int64
	if err := sc.Scan(&d.ID, &d.Kind, &d.HallID, &d.CounterID, &d.Name, &code, &token, &paired, &created); err != nil {
		return nil, err
	}
	d.PairingCode, d.TokenHash, d.PairedAt, d.CreatedAt = code.String, token.String, fromNanos(paired), time.Unix(0, created)
	return d, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *tx) Devices(hallID string) ([]civiq.Device, error) {
	return scanAll(deref(scanDevice))(t.rows(`SELECT `+deviceCols+` FROM devices WHERE hall_id = ? ORDER BY id`, hallID))
}

func (t *tx) InsertDevice(d *civiq.Device) error {
	return t.row(`INSERT INTO devices (kind, hall_id, counter_id, name, pairing_code, token_hash, paired_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, d.Kind, d.HallID, d.CounterID, d.Name, nullString(d.PairingCode), nullString(d.TokenHash),
		nullNanos(d.PairedAt), nanos(d.CreatedAt)).Scan(&d.ID)
}

func (t *tx) device(where string, arg any) (*civiq.Device, error) {
	d, err := scanDevice(t.row(`SELECT `+deviceCols+` FROM devices WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("device", "")
	}
	return d, err
}

func (t *tx) DeviceByPairingCode(code string) (*civiq.Device, error) {
	return t.device(`pairing_code = ?`, strings.ToLower(code))
}

func (t *tx) DeviceByToken(tokenHash string) (*civiq.Device, error) {
	return t.device(`token_hash = ?`, tokenHash)
}

func (t *tx) UpdateDevice(d *civiq.Device) error {
	return t.exec(`UPDATE devices SET name = ?, counter_id = ?, pairing_code = ?, token_hash = ?, paired_at = ? WHERE id = ?`,
		d.Name, d.CounterID, nullString(d.PairingCode), nullString(d.TokenHash), nullNanos(d.PairedAt), d.ID)
}
