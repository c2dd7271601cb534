package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/civiq/civiq"
)

// Notifications to citizens (civiq's notify.go): a hall's settings, the
// tickets' opt-ins and the messages.

var _ civiq.NotifyTx = (*tx)(nil)

func (t *tx) NotifySettings(hallID string) (*civiq.NotifySettings, error) {
	var body string
	err := t.row(`SELECT body FROM notify_settings WHERE hall_id = ?`, hallID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("notifications of hall", hallID)
	}
	if err != nil {
		return nil, err
	}
	s := &civiq.NotifySettings{}
	return s, json.Unmarshal([]byte(body), s)
}

func (t *tx) PutNotifySettings(s *civiq.NotifySettings) error {
	body, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO notify_settings (hall_id, body, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (hall_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
		s.HallID, string(body), nanos(s.UpdatedAt))
}

func (t *tx) PutOptIn(o *civiq.OptIn) error {
	if !t.d.IsPostgres() {
		// A replace as a delete and an insert that cannot abort: no
		// statement journal (below, at the messages).
		if err := t.exec(`DELETE FROM notify_optins WHERE ticket_id = ? AND medium = ?`, o.TicketID, o.Medium); err != nil {
			return err
		}
		return t.exec(`INSERT OR IGNORE INTO notify_optins (ticket_id, medium, hall_id, address, address_key, lang, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, o.TicketID, o.Medium, o.HallID, o.Address, o.AddressKey, o.Lang, nanos(o.CreatedAt))
	}
	return t.exec(`INSERT INTO notify_optins (ticket_id, medium, hall_id, address, address_key, lang, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id, medium) DO UPDATE SET address = excluded.address,
		address_key = excluded.address_key, lang = excluded.lang, created_at = excluded.created_at`,
		o.TicketID, o.Medium, o.HallID, o.Address, o.AddressKey, o.Lang, nanos(o.CreatedAt))
}

func (t *tx) DeleteOptIn(ticketID, medium string) (bool, error) {
	_, err := t.scalar(`DELETE FROM notify_optins WHERE ticket_id = ? AND medium = ? RETURNING 1`, ticketID, medium)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ForgetOptIns deletes the tickets' opt-ins in one statement on SQLite
// (their list as JSON), where a statement a ticket was half of the
// answers' write of a busy hall's batch; one a ticket on PostgreSQL.
func (t *tx) ForgetOptIns(ticketIDs []string) error {
	const cond = ` AND EXISTS (SELECT 1 FROM tickets WHERE id = notify_optins.ticket_id AND status IN (?, ?))
		AND NOT EXISTS (SELECT 1 FROM notify_messages m WHERE m.ticket_id = notify_optins.ticket_id AND m.status IN (?, ?))`
	if len(ticketIDs) == 0 {
		return nil
	}
	if t.d.IsPostgres() {
		for _, id := range ticketIDs {
			if err := t.exec(`DELETE FROM notify_optins WHERE ticket_id = ?`+cond,
				id, civiq.StatusDone, civiq.StatusCancelled, civiq.NoticeQueued, civiq.NoticeSending); err != nil {
				return err
			}
		}
		return nil
	}
	list, err := json.Marshal(ticketIDs)
	if err != nil {
		return err
	}
	return t.exec(`DELETE FROM notify_optins WHERE ticket_id IN (SELECT value FROM json_each(?))`+cond,
		string(list), civiq.StatusDone, civiq.StatusCancelled, civiq.NoticeQueued, civiq.NoticeSending)
}

func (t *tx) PruneOptIns(before, finishedBefore time.Time) error {
	// A finished ticket's message still queued or sending (a "called"
	// planned with its finish, one the provider throttled) needs the
	// address: its opt-ins wait for it, as forgetFinished's do.
	return t.exec(`DELETE FROM notify_optins WHERE created_at < ? OR (ticket_id IN
		(SELECT id FROM tickets WHERE id = notify_optins.ticket_id AND status IN (?, ?) AND COALESCE(done_at, cancelled_at, 0) < ?)
		AND NOT EXISTS (SELECT 1 FROM notify_messages m WHERE m.ticket_id = notify_optins.ticket_id AND m.status IN (?, ?)))`,
		nanos(before), civiq.StatusDone, civiq.StatusCancelled, nanos(finishedBefore), civiq.NoticeQueued, civiq.NoticeSending)
}

const optInColumns = `o.ticket_id, o.hall_id, o.medium, o.address, o.address_key, o.lang, o.created_at`

func scanOptIn(sc scanner, more ...any) (civiq.OptIn, error) {
	var o civiq.OptIn
	var created int64
	err := sc.Scan(append([]any{&o.TicketID, &o.HallID, &o.Medium, &o.Address, &o.AddressKey, &o.Lang, &created}, more...)...)
	o.CreatedAt = time.Unix(0, created)
	return o, err
}

func (t *tx) OptIns(ticketID string) ([]civiq.OptIn, error) {
	return scanAll(func(sc scanner) (civiq.OptIn, error) { return scanOptIn(sc) })(t.rows(`SELECT `+optInColumns+
		` FROM notify_optins o WHERE o.ticket_id = ? ORDER BY o.medium`, ticketID))
}

// WaitingOptIns numbers the opt-ins of each queue in the database and
// brings up only the first perQueue of each: a hall of a thousand waiting
// opt-ins sent all of them up to Go at every call, half of the
// notifications' work in a burst.
func (t *tx) WaitingOptIns(hallID string, perQueue int) ([]civiq.OptIn, error) {
	return scanAll(func(sc scanner) (civiq.OptIn, error) {
		var service, priority, channel string
		o, err := scanOptIn(sc, &service, &priority, &channel)
		o.ServiceID, o.Priority, o.Appointment = service, priority, channel == civiq.ChannelAppointment
		return o, err
	})(t.rows(`SELECT `+optInColumns+`, o.service_id, o.priority, o.channel FROM (
		SELECT o.*, k.service_id, k.priority, k.channel, k.queued_at, ROW_NUMBER() OVER (
			PARTITION BY k.service_id, k.priority, k.channel = ?, o.medium ORDER BY k.queued_at) AS place
		FROM notify_optins o JOIN tickets k ON k.id = o.ticket_id
		WHERE o.hall_id = ? AND k.status = ? AND o.medium <> ? AND NOT EXISTS (SELECT 1 FROM notify_messages m
			WHERE m.ticket_id = o.ticket_id AND m.medium = o.medium AND m.kind = ?)) o
		WHERE o.place <= ? OR o.channel = ?
		ORDER BY o.service_id, o.priority, o.channel = ?, o.queued_at`,
		civiq.ChannelAppointment, hallID, civiq.StatusWaiting, civiq.OptedAtEdge, civiq.NoticeNext, perQueue,
		civiq.ChannelAppointment, civiq.ChannelAppointment))
}

func (t *tx) CountOptIns(addressKey string, since time.Time) (int, error) {
	n, err := t.scalar(`SELECT COUNT(*) FROM notify_optins WHERE address_key = ? AND created_at >= ?`, addressKey, nanos(since))
	return int(n), err
}

const noticeColumns = `id, hall_id, day, ticket_id, number, medium, kind, provider, to_masked, address_key, params,
	status, provider_id, code, error, tries, event_id, ord, created_at, updated_at, due_at, reported_at`

func scanNotice(sc scanner) (*civiq.Notice, error) {
	n := &civiq.Notice{}
	var params string
	var created, updated, due, reported int64
	if err := sc.Scan(&n.ID, &n.HallID, &n.Day, &n.TicketID, &n.Number, &n.Medium, &n.Kind, &n.Provider, &n.To, &n.AddressKey,
		&params, &n.Status, &n.ProviderID, &n.Code, &n.Error, &n.Tries, &n.EventID, &n.Ord, &created, &updated, &due, &reported); err != nil {
		return nil, err
	}
	n.CreatedAt, n.UpdatedAt = time.Unix(0, created), time.Unix(0, updated)
	n.DueAt, n.ReportedAt = dueTime(due), dueTime(reported)
	return n, json.Unmarshal([]byte(params), &n.Params)
}

// The messages' writes are OR IGNORE on SQLite. There a statement that
// may abort halfway (on a NOT NULL or a unique constraint) inside the
// writer's transaction, which holds a batch of writes, keeps a statement
// journal: every page it first touches is copied to a temporary file, a
// write to the file system each, and a message's row touches ten b-trees
// (the table, its keys and indexes). That was about two thirds of the time
// of adding one. These statements cannot abort: every value is given
// (never NULL), the key (ticket, medium, kind) is the conflict InsertNotice
// reports, and an id is random; an UPDATE changes no key. PostgreSQL has
// no statement journal and keeps its standard form.
func (t *tx) ignoring() string {
	if t.d.IsPostgres() {
		return ""
	}
	return " OR IGNORE"
}

func (t *tx) InsertNotice(n *civiq.Notice) (bool, error) {
	params, err := json.Marshal(n.Params)
	if err != nil {
		return false, err
	}
	return t.changed(`INSERT`+t.ignoring()+` INTO notify_messages (`+noticeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (ticket_id, medium, kind) DO NOTHING`,
		n.ID, n.HallID, n.Day, n.TicketID, n.Number, n.Medium, n.Kind, n.Provider, n.To, n.AddressKey, string(params),
		n.Status, n.ProviderID, n.Code, n.Error, n.Tries, n.EventID, n.Ord, nanos(n.CreatedAt), nanos(n.UpdatedAt), dueNanos(n.DueAt),
		dueNanos(n.ReportedAt))
}

// changed runs a write and reports whether it changed a row: by the
// count of rows it changed on SQLite, where RETURNING would keep a table
// of answers (a statement's 15 against 28-36 µs a message's insert,
// measured); by RETURNING on PostgreSQL, where the writer may hold a
// plain statement back (Dialect.Pipeline) and so not know its count yet.
func (t *tx) changed(q string, args ...any) (bool, error) {
	if t.d.IsPostgres() {
		_, err := t.scalar(q+` RETURNING 1`, args...)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	res, err := t.execResult(q, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *tx) UpdateNotice(n *civiq.Notice) error {
	return t.exec(`UPDATE`+t.ignoring()+` notify_messages SET status = ?, provider_id = ?, code = ?, error = ?, tries = ?, updated_at = ?,
		day = ?, due_at = ?, reported_at = ? WHERE id = ?`,
		n.Status, n.ProviderID, n.Code, n.Error, n.Tries, nanos(n.UpdatedAt), n.Day, dueNanos(n.DueAt), dueNanos(n.ReportedAt), n.ID)
}

func (t *tx) SettleNotice(n *civiq.Notice) (bool, error) {
	return t.changed(`UPDATE`+t.ignoring()+` notify_messages SET status = ?, provider_id = ?, code = ?, error = ?, updated_at = ?
		WHERE id = ? AND status = ?`,
		n.Status, n.ProviderID, n.Code, n.Error, nanos(n.UpdatedAt), n.ID, civiq.NoticeSending)
}

// dueNanos is a scheduled message's due time, 0 for the others.
func dueNanos(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return nanos(*t)
}

func (t *tx) DueNotices(now time.Time, limit int) ([]*civiq.Notice, error) {
	// The status as written in the index's condition (migration 30), so
	// that the planner may take it.
	return scanAll(scanNotice)(t.rows(`SELECT `+noticeColumns+` FROM notify_messages
		WHERE status = '`+civiq.NoticeScheduled+`' AND due_at <= ? ORDER BY due_at LIMIT ?`, nanos(now), limit))
}

func (t *tx) NoticeKinds(ticketID, medium string) (map[string]bool, error) {
	kinds, err := scanAll(scanString)(t.rows(`SELECT kind FROM notify_messages WHERE ticket_id = ? AND medium = ?`, ticketID, medium))
	out := map[string]bool{}
	for _, k := range kinds {
		out[k] = true
	}
	return out, err
}

func (t *tx) NoticesIn(hallID, status string, limit int) ([]*civiq.Notice, error) {
	return scanAll(scanNotice)(t.rows(`SELECT `+noticeColumns+` FROM notify_messages
		WHERE hall_id = ? AND status = ? ORDER BY created_at, event_id, ord LIMIT ?`, hallID, status, limit))
}

func (t *tx) Notices(hallID, day string) ([]*civiq.Notice, error) {
	return scanAll(scanNotice)(t.rows(`SELECT `+noticeColumns+` FROM notify_messages
		WHERE hall_id = ? AND day = ? ORDER BY created_at, event_id, ord`, hallID, day))
}

// handed are the statuses of a message handed to a provider.
var handed = []any{civiq.NoticeSending, civiq.NoticeSent, civiq.NoticeDelivered}

// CountSent counts the rows of the last minutes by the index of the time
// they were handed (the hall's, or the number's). The status and medium
// are tested in the count, not among the conditions: there they would
// lead the planner to the status index, and through the whole day. The
// database counts; the rows never come up to Go (they did, one by one,
// and cost a sixth of a busy hall's notifications). The hall's index holds
// the status and medium (migration 28): its count reads the index alone.
func (t *tx) CountSent(hallID, medium, addressKey string, since time.Time) (int, error) {
	where, key := `hall_id = ? AND updated_at >= ?`, hallID
	if addressKey != "" {
		where, key = `address_key = ? AND updated_at >= ?`, addressKey
	}
	test, args := `hall_id = ?`, []any{hallID}
	if medium != "" {
		test, args = test+` AND medium = ?`, append(args, medium)
	}
	args = append(append(args, handed...), key, nanos(since))
	n, err := t.scalar(`SELECT COUNT(CASE WHEN `+test+` AND status IN (?, ?, ?) THEN 1 END)
		FROM notify_messages WHERE `+where, args...)
	return int(n), err
}

func (t *tx) CountSentDay(hallID, medium, day string) (int, error) {
	n, err := t.scalar(`SELECT COUNT(*) FROM notify_messages WHERE hall_id = ? AND day = ? AND medium = ? AND status IN (?, ?, ?)`,
		append([]any{hallID, day, medium}, handed...)...)
	return int(n), err
}

func (t *tx) NoticeCounts(hallID, from, to string) ([]civiq.NoticeCount, error) {
	return scanAll(func(sc scanner) (civiq.NoticeCount, error) {
		var c civiq.NoticeCount
		return c, sc.Scan(&c.Day, &c.Medium, &c.Provider, &c.Kind, &c.Status, &c.Count)
	})(t.rows(`SELECT day, medium, provider, kind, status, COUNT(*) FROM notify_messages
		WHERE hall_id = ? AND day >= ? AND day <= ? GROUP BY day, medium, provider, kind, status
		ORDER BY day, medium, provider, kind, status`, hallID, from, to))
}

// PruneNotices walks the hall's index of the time a message last changed
// (notify_messages_handed, which holds the status too), and a subject's
// row by its key: a case by its number, a booking and a follow-up by
// their id (the CASE keeps a ticket's id from being read as a number).
// Which statuses are final, open or closed is keep's (the domain's).
func (t *tx) PruneNotices(hallID string, before time.Time, limit int, keep civiq.NoticeKeep) (int, error) {
	args := append([]any{hallID, nanos(before)}, anys(keep.Final)...)
	args = append(args, anys(keep.BookingOpen)...)
	args = append(args, anys(keep.CaseClosed)...)
	args = append(append(args, anys(keep.FollowUpClosed)...), limit)
	res, err := t.execResult(`DELETE FROM notify_messages WHERE id IN (SELECT m.id FROM notify_messages m
		WHERE m.hall_id = ? AND m.updated_at < ? AND m.status IN (`+marks(len(keep.Final))+`)
		AND NOT (m.ticket_id LIKE 'booking:%' AND EXISTS (SELECT 1 FROM bookings b
			WHERE b.id = substr(m.ticket_id, 9) AND b.status IN (`+marks(len(keep.BookingOpen))+`)))
		AND NOT (m.ticket_id LIKE 'case:%' AND EXISTS (SELECT 1 FROM cases c
			WHERE c.number = substr(m.ticket_id, 6) AND c.status NOT IN (`+marks(len(keep.CaseClosed))+`)))
		AND NOT (m.ticket_id LIKE 'followup:%' AND EXISTS (SELECT 1 FROM followups f
			WHERE f.id = CAST(CASE WHEN m.ticket_id LIKE 'followup:%' THEN substr(m.ticket_id, 10) END AS BIGINT)
			AND f.status NOT IN (`+marks(len(keep.FollowUpClosed))+`)))
		LIMIT ?)`, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// dueTime reads an optional time (0: none).
func dueTime(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := time.Unix(0, ns)
	return &t
}

// The delivery reports and opt-outs (civiq's notifyreport.go).

var _ civiq.NotifyOpsTx = (*tx)(nil)

func (t *tx) Notice(id string) (*civiq.Notice, error) {
	n, err := scanNotice(t.row(`SELECT `+noticeColumns+` FROM notify_messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("message", id)
	}
	return n, err
}

func (t *tx) NoticeByProviderID(hallID, provider, providerID string) (*civiq.Notice, error) {
	n, err := scanNotice(t.row(`SELECT `+noticeColumns+` FROM notify_messages WHERE provider = ? AND provider_id = ? AND hall_id = ?
		ORDER BY created_at DESC LIMIT 1`, provider, providerID, hallID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("message of provider id", providerID)
	}
	return n, err
}

func (t *tx) PutOptOut(hallID, medium, addressKey, via string, at time.Time) error {
	return t.exec(`INSERT INTO notify_optouts (hall_id, medium, address_key, via, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (hall_id, medium, address_key) DO UPDATE SET via = excluded.via, created_at = excluded.created_at`,
		hallID, medium, addressKey, via, nanos(at))
}

func (t *tx) OptedOut(hallID, medium, addressKey string) (bool, error) {
	n, err := t.scalar(`SELECT COUNT(*) FROM notify_optouts WHERE hall_id = ? AND medium = ? AND address_key = ?`, hallID, medium, addressKey)
	return n > 0, err
}

func (t *tx) DeleteOptOut(hallID, medium, addressKey string) error {
	return t.exec(`DELETE FROM notify_optouts WHERE hall_id = ? AND medium = ? AND address_key = ?`, hallID, medium, addressKey)
}

func (t *tx) OptInsTo(hallID, medium, addressKey string) ([]civiq.OptIn, error) {
	return scanAll(func(sc scanner) (civiq.OptIn, error) { return scanOptIn(sc) })(t.rows(`SELECT `+optInColumns+
		` FROM notify_optins o WHERE o.address_key = ? AND o.hall_id = ? AND o.medium = ?`, addressKey, hallID, medium))
}
