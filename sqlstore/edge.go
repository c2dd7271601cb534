package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/civiq/civiq"
)

// Edge nodes (civiq's edge.go): the city's edge tokens and links, what the
// city writes of an edge's events, an edge's own id.

var _ civiq.EdgeTx = (*tx)(nil)

const edgeTokenCols = `id, hall_id, description, hash, created_by, created_at, expires_at, last_used_at`

func scanEdgeToken(sc scanner) (*civiq.EdgeToken, error) {
	t := &civiq.EdgeToken{}
	var created int64
	var expires, used sql.NullInt64
	if err := sc.Scan(&t.ID, &t.HallID, &t.Description, &t.Hash, &t.CreatedBy, &created, &expires, &used); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = time.Unix(0, created), fromNanos(expires), fromNanos(used)
	return t, nil
}

func (t *tx) InsertEdgeToken(et *civiq.EdgeToken) error {
	return t.row(`INSERT INTO edge_tokens (hall_id, description, hash, created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		et.HallID, et.Description, et.Hash, et.CreatedBy, nanos(et.CreatedAt)).Scan(&et.ID)
}

func (t *tx) EdgeTokens(hallID string) ([]*civiq.EdgeToken, error) {
	return scanAll(scanEdgeToken)(t.rows(`SELECT `+edgeTokenCols+` FROM edge_tokens WHERE hall_id = ? ORDER BY id`, hallID))
}

func (t *tx) EdgeTokenByHash(hash string) (*civiq.EdgeToken, error) {
	et, err := scanEdgeToken(t.row(`SELECT `+edgeTokenCols+` FROM edge_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("edge token", "")
	}
	return et, err
}

func (t *tx) SetEdgeTokenExpiry(hallID string, id int64, at time.Time) error {
	return t.exec(`UPDATE edge_tokens SET expires_at = ? WHERE hall_id = ? AND id = ?`, nanos(at), hallID, id)
}

func (t *tx) TouchEdgeToken(id int64, at time.Time) error {
	return t.exec(`UPDATE edge_tokens SET last_used_at = ? WHERE id = ?`, nanos(at), id)
}

func (t *tx) EdgeHalls(now time.Time) ([]string, error) {
	return scanAll(scanString)(t.rows(`SELECT DISTINCT hall_id FROM edge_tokens WHERE expires_at IS NULL OR expires_at > ? ORDER BY hall_id`, nanos(now)))
}

const edgeLinkCols = `hall_id, edge_id, last_applied, applied_at, seen_at, pending, oldest_at`

func scanEdgeLink(sc scanner) (*civiq.EdgeLink, error) {
	l := &civiq.EdgeLink{}
	var applied, seen int64
	var oldest sql.NullInt64
	if err := sc.Scan(&l.HallID, &l.EdgeID, &l.LastApplied, &applied, &seen, &l.Pending, &oldest); err != nil {
		return nil, err
	}
	l.AppliedAt, l.SeenAt, l.OldestAt = time.Unix(0, applied), time.Unix(0, seen), fromNanos(oldest)
	return l, nil
}

func (t *tx) EdgeLink(hallID, edgeID string) (*civiq.EdgeLink, error) {
	l, err := scanEdgeLink(t.row(`SELECT `+edgeLinkCols+` FROM edge_links WHERE hall_id = ? AND edge_id = ?`, hallID, edgeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("edge link", edgeID)
	}
	return l, err
}

func (t *tx) PutEdgeLink(l *civiq.EdgeLink) error {
	return t.exec(`INSERT INTO edge_links (`+edgeLinkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hall_id, edge_id) DO UPDATE SET last_applied = excluded.last_applied, applied_at = excluded.applied_at,
		seen_at = excluded.seen_at, pending = excluded.pending, oldest_at = excluded.oldest_at`,
		l.HallID, l.EdgeID, l.LastApplied, nanos(l.AppliedAt), nanos(l.SeenAt), l.Pending, nullNanos(l.OldestAt))
}

func (t *tx) EdgeLinks() ([]*civiq.EdgeLink, error) {
	return scanAll(scanEdgeLink)(t.rows(`SELECT ` + edgeLinkCols + ` FROM edge_links ORDER BY hall_id, seen_at DESC`))
}

// UpsertTicket writes the whole ticket, new or changed; a ticket of
// another hall with the same id (never, with random ids) is left alone. A
// new one is inserted as InsertTicket does, counted in its queue; a
// change of one there is counted by the tickets' update triggers.
func (t *tx) UpsertTicket(tk *civiq.Ticket) error {
	n, err := t.scalar(`SELECT COUNT(*) FROM tickets WHERE id = ?`, tk.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return t.InsertTicket(tk)
	}
	set, args := ticketInsertValues(tk, true)
	return t.exec(ticketInsert(set)+`
		ON CONFLICT (id) DO UPDATE SET service_id = excluded.service_id, status = excluded.status, queued_at = excluded.queued_at,
		called_at = excluded.called_at, serving_at = excluded.serving_at, done_at = excluded.done_at, no_show_at = excluded.no_show_at,
		cancelled_at = excluded.cancelled_at, counter_id = excluded.counter_id, call_count = excluded.call_count,
		for_counter = excluded.for_counter, for_user = excluded.for_user, transfer_note = excluded.transfer_note,
		behalf_role = excluded.behalf_role
		WHERE tickets.hall_id = excluded.hall_id`, args...)
}

func (t *tx) SetCounterState(c *civiq.Counter) error {
	return t.exec(`UPDATE counters SET status = ?, pause_reason = ?, current_ticket_id = ?, clerk_id = ? WHERE hall_id = ? AND id = ?`,
		c.Status, c.PauseReason, c.CurrentTicketID, c.ClerkID, c.HallID, c.ID)
}

func (t *tx) PutEdgeRating(r *civiq.Rating) (bool, error) {
	reasons := r.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	rs, err := json.Marshal(reasons)
	if err != nil {
		return false, err
	}
	var s civiq.SubScores
	if r.SubScores != nil {
		s = *r.SubScores
	}
	err = t.row(`INSERT INTO ratings (ticket_id, hall_id, service_id, counter_id, staff_id, score, reasons, comment, channel, contact_phone,
		efficiency, level, attitude, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id) DO NOTHING RETURNING id`,
		r.TicketID, r.HallID, r.ServiceID, r.CounterID, nullInt(r.StaffID), r.Score, string(rs), r.Comment, r.Channel, r.ContactPhone,
		nullScore(s.Efficiency), nullScore(s.Level), nullScore(s.Attitude), nanos(r.CreatedAt)).Scan(&r.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t *tx) Sequences(hallID string, days []string) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	if len(days) == 0 {
		return out, nil
	}
	rows, err := t.rows(`SELECT day, service_id, last FROM sequences WHERE hall_id = ? AND day IN (`+marks(len(days))+`)`,
		append([]any{hallID}, anys(days)...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var day, svc string
		var n int
		if err := rows.Scan(&day, &svc, &n); err != nil {
			return nil, err
		}
		if out[day] == nil {
			out[day] = map[string]int{}
		}
		out[day][svc] = n
	}
	return out, rows.Err()
}

func (t *tx) RaiseSequence(hallID, serviceID, day string, n int) error {
	return t.exec(`INSERT INTO sequences (hall_id, service_id, day, last) VALUES (?, ?, ?, ?)
		ON CONFLICT (hall_id, service_id, day) DO UPDATE SET last = CASE WHEN sequences.last < excluded.last THEN excluded.last ELSE sequences.last END`,
		hallID, serviceID, day, n)
}

func (t *tx) EdgeSelf(newID string) (string, error) {
	if err := t.exec(`INSERT INTO edge_self (id, created_at) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM edge_self)`, newID, nanos(time.Now())); err != nil {
		return "", err
	}
	var id string
	err := t.row(`SELECT id FROM edge_self ORDER BY created_at LIMIT 1`).Scan(&id)
	return id, err
}

func (t *tx) HallEventBefore(hallID string, id int64) (int64, error) {
	var n int64
	err := t.row(`SELECT COALESCE(MAX(id), 0) FROM events WHERE hall_id = ? AND id < ?`, hallID, id).Scan(&n)
	return n, err
}
