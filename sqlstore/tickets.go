package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/civiq/civiq"
)

// Tickets and their queues (civiq's ticket.go), and the handling times
// the expected waits learn from (predict.go).

var _ civiq.TicketTx = (*tx)(nil)

const ticketCols = `id, hall_id, service_id, number, day, channel, priority, priority_group, status, issued_at, queued_at,
	called_at, serving_at, done_at, no_show_at, cancelled_at, counter_id, call_count, priority_by, guide_id, for_counter, for_user, transfer_note, behalf_role`

func scanTicket(sc scanner) (civiq.Ticket, error) {
	var tk civiq.Ticket
	var issued, queued int64
	var called, serving, done, noShow, cancelled sql.NullInt64
	var behalf string
	err := sc.Scan(&tk.ID, &tk.HallID, &tk.ServiceID, &tk.Number, &tk.Day, &tk.Channel, &tk.Priority, &tk.PriorityGroup, &tk.Status,
		&issued, &queued, &called, &serving, &done, &noShow, &cancelled, &tk.CounterID, &tk.CallCount, &tk.PriorityBy,
		&tk.GuideID, &tk.ForCounter, &tk.ForClerk, &tk.TransferNote, &behalf)
	if err != nil {
		return tk, err
	}
	tk.OnBehalf = civiq.BehalfOf(behalf)
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
	t.read.keep(tk)
	return &tk, nil
}

// countWaiting counts a new waiting ticket in queue_counts;
// countWaitingPlace also answers its place at the end of its queue: those
// of its class before it, and for a walk-in the green channel's too
// (PlaceAtEnd's sum).
const (
	countWaiting = `INSERT INTO queue_counts (hall_id, service_id, priority, waiting) VALUES (?, ?, ?, 1)
	ON CONFLICT (hall_id, service_id, priority) DO UPDATE SET waiting = queue_counts.waiting + 1`
	countWaitingPlace = countWaiting + `
	RETURNING waiting - 1 + CASE WHEN priority = 'normal' THEN COALESCE((SELECT q.waiting FROM queue_counts q
		WHERE q.hall_id = queue_counts.hall_id AND q.service_id = queue_counts.service_id AND q.priority = 'priority'), 0) ELSE 0 END`
)

// placed is the place the count answered (countWaitingPlace) or knew
// (countGuessed) for the ticket just inserted, kept for PlaceAtEnd; with a
// pipe it comes when the statement is sent.
type placed struct {
	tk    *civiq.Ticket
	n     int64
	known bool // n has come
	want  bool // PlaceAtEnd asked before it came
}

// InsertTicket writes a new ticket and, when it waits, counts it in its
// queue (no trigger does: one would cost SQLite a statement journal for
// every insert); on PostgreSQL the count also gives its place for
// PlaceAtEnd, in the same round trip, and on SQLite it does when the
// writer guessed the counts right (countGuessed).
func (t *tx) InsertTicket(tk *civiq.Ticket) error {
	set, args := ticketInsertValues(tk, false)
	if t.pipe != nil {
		if err := t.exec(ticketInsert(set), args...); err != nil {
			return err
		}
	} else if _, err := t.execHeld(ticketInsert(set), args...); err != nil {
		// A new ticket's row moves no number or count (no trigger): the
		// rows held stay held.
		return err
	}
	if tk.Status != civiq.StatusWaiting {
		return nil
	}
	if !t.d.IsPostgres() {
		return t.countGuessed(tk)
	}
	p := &placed{tk: tk}
	got := func(n int64) {
		p.n, p.known = n, true
		if p.want {
			setPlace(tk, n)
		}
	}
	t.wrote = true
	if t.pipe != nil {
		t.pipe.stmts = append(t.pipe.stmts, Deferred{SQL: t.d.sql(countWaitingPlace), Args: []any{tk.HallID, tk.ServiceID, tk.Priority}, Scan: got})
	} else {
		var n int64
		if err := t.row(countWaitingPlace, tk.HallID, tk.ServiceID, tk.Priority).Scan(&n); err != nil {
			return err
		}
		got(n)
	}
	t.placed = p
	return nil
}

// ticketOptional are the columns a new ticket often leaves at their
// defaults (an empty string, 0 or NULL, the same on both stores); InsertTicket names
// only those it sets, by their bits (UpsertTicket all of them): binding a value costs the driver a
// conversion and, for a string, a copy (a kiosk's ticket sets 10 columns
// of 25).
var ticketOptional = [...]string{"priority_group", "called_at", "serving_at", "done_at", "no_show_at", "cancelled_at",
	"counter_id", "call_count", "priority_by", "guide_id", "for_counter", "for_user", "transfer_note", "behalf_role", "holder"}

// ticketInserts are the INSERT statements of the sets of optional columns
// met so far, by their bits.
var ticketInserts sync.Map // uint16 -> string

func ticketInsert(set uint16) string {
	if q, ok := ticketInserts.Load(set); ok {
		return q.(string)
	}
	cols, marks := "id, hall_id, service_id, number, day, channel, priority, status, issued_at, queued_at", strings.Repeat("?, ", 9)+"?"
	for i, col := range ticketOptional {
		if set&(1<<i) != 0 {
			cols += ", " + col
			marks += ", ?"
		}
	}
	q, _ := ticketInserts.LoadOrStore(set, `INSERT INTO tickets (`+cols+`) VALUES (`+marks+`)`)
	return q.(string)
}

// ticketInsertValues are the bits of the optional columns tk sets, or of
// all of them, and the INSERT's values in order.
func ticketInsertValues(tk *civiq.Ticket, all bool) (uint16, []any) {
	args := make([]any, 0, 10+len(ticketOptional))
	args = append(args, tk.ID, tk.HallID, tk.ServiceID, tk.Number, tk.Day, tk.Channel, tk.Priority, tk.Status, nanos(tk.IssuedAt), nanos(tk.QueuedAt))
	var set uint16
	text := func(i int, v string) {
		if all || v != "" {
			set |= 1 << i
			args = append(args, v)
		}
	}
	at := func(i int, v *time.Time) {
		if all || v != nil {
			set |= 1 << i
			args = append(args, nullNanos(v))
		}
	}
	number := func(i int, v int64) {
		if all || v != 0 {
			set |= 1 << i
			args = append(args, v)
		}
	}
	// In the order of ticketOptional.
	text(0, tk.PriorityGroup)
	at(1, tk.CalledAt)
	at(2, tk.ServingAt)
	at(3, tk.DoneAt)
	at(4, tk.NoShowAt)
	at(5, tk.CancelledAt)
	text(6, tk.CounterID)
	number(7, int64(tk.CallCount))
	text(8, tk.PriorityBy)
	text(9, tk.GuideID)
	text(10, tk.ForCounter)
	number(11, tk.ForClerk)
	text(12, tk.TransferNote)
	text(13, civiq.BehalfRoleOf(tk.OnBehalf))
	text(14, tk.Holder)
	return set, args
}

// seqGuessedSQL takes a service's next number when the writer knows its
// last (guesses): it changes the row only when it holds the number guessed.
const seqGuessedSQL = `UPDATE sequences SET last = ? WHERE hall_id = ? AND service_id = ? AND day = ? AND last = ?`

// countGuessedSQL count a new waiting ticket on SQLite when the writer
// knows its queue's count (guesses): the UPDATE changes the row only when
// it holds the count guessed and, for a walk-in, the green channel's count
// is the one guessed too, so that the ticket's place is known without a
// read.
const (
	countGuessedSQL       = `UPDATE queue_counts SET waiting = ? WHERE hall_id = ? AND service_id = ? AND priority = ? AND waiting = ?`
	countGuessedNormalSQL = countGuessedSQL + ` AND COALESCE((SELECT q.waiting FROM queue_counts q
		WHERE q.hall_id = ? AND q.service_id = ? AND q.priority = 'priority'), 0) = ?`
)

// countGuessed counts tk, a new waiting ticket, on SQLite. With the counts
// guessed right it is one statement and the place is known (placed); else
// the plain upsert, and PlaceAtEnd reads the counts: on SQLite RETURNING
// costs a table of its answers and a statement journal, so the count
// without it and a read by key cost less than the count with the place.
func (t *tx) countGuessed(tk *civiq.Ticket) error {
	k := countKey{tk.HallID, tk.ServiceID, tk.Priority}
	n, ok := t.guess.waiting(k)
	var prio int64
	switch tk.Priority {
	case civiq.PriorityPriority:
	case civiq.PriorityNormal:
		var pok bool
		prio, pok = t.guess.waiting(countKey{tk.HallID, tk.ServiceID, civiq.PriorityPriority})
		ok = ok && pok
	default:
		ok = false
	}
	if ok && n > 0 && t.guess.hold {
		// Held: written once before the next other statement or the
		// COMMIT (writeHeld), by an UPDATE that checks both counts as this
		// transaction found them. (A count of 0 may be a row not there
		// yet, which an UPDATE cannot write: counted below.)
		g := t.guess
		h := findHeld(g.heldCount, k)
		if h == nil {
			g.heldCount = append(g.heldCount, heldRow[countKey]{k: k, base: n, cur: n})
			h = &g.heldCount[len(g.heldCount)-1]
			if tk.Priority == civiq.PriorityNormal {
				pk := countKey{tk.HallID, tk.ServiceID, civiq.PriorityPriority}
				p := findHeld(g.heldCount, pk)
				if p == nil {
					g.heldCount = append(g.heldCount, heldRow[countKey]{k: pk, base: prio, cur: prio})
					p = &g.heldCount[len(g.heldCount)-1]
					h = findHeld(g.heldCount, k) // the append may have moved it
				}
				h.prio = p.base
			}
		}
		h.cur, h.moved = n+1, true
		g.setWaiting(k, n+1)
		t.placed = &placed{tk: tk, n: n + prio, known: true}
		return nil
	}
	if ok && t.guess.hold && findHeld(t.guess.heldCount, k) != nil {
		// A held row (a green channel's a walk-in counted after) is
		// written before this one moves it.
		if err := t.writeHeld(); err != nil {
			return err
		}
	}
	if ok {
		var right bool
		var err error
		if tk.Priority == civiq.PriorityNormal {
			right, err = t.guessedRight(countGuessedNormalSQL, n+1, tk.HallID, tk.ServiceID, tk.Priority, n, tk.HallID, tk.ServiceID, prio)
		} else {
			right, err = t.guessedRight(countGuessedSQL, n+1, tk.HallID, tk.ServiceID, tk.Priority, n)
		}
		if err != nil {
			return err
		}
		if right {
			t.guess.setWaiting(k, n+1)
			t.placed = &placed{tk: tk, n: n + prio, known: true}
			return nil
		}
	}
	_, err := t.execResult(countWaiting, tk.HallID, tk.ServiceID, tk.Priority)
	return err
}

// guessedRight runs q, an UPDATE of one row that names the values the
// writer guessed it holds (guesses), and reports whether it held them:
// the row changed.
func (t *tx) guessedRight(q string, args ...any) (bool, error) {
	res, err := t.execHeld(q, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t *tx) WaitingRemote(hallID, serviceID, holder string) (all, held int, err error) {
	err = t.row(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN holder = ? AND holder <> '' THEN 1 ELSE 0 END), 0) FROM tickets
		WHERE hall_id = ? AND service_id = ? AND status = 'waiting' AND channel = 'remote'`, holder, hallID, serviceID).Scan(&all, &held)
	return all, held, err
}

func (t *tx) QuotaCounts(hallID, serviceID, day string, from, to time.Time, holder string) (civiq.QuotaCounts, error) {
	var c civiq.QuotaCounts
	err := t.row(`SELECT COALESCE(SUM(CASE WHEN channel <> 'appointment' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN channel <> 'appointment' AND issued_at >= ? AND issued_at < ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN holder = ? AND holder <> '' THEN 1 ELSE 0 END), 0) FROM tickets
		WHERE hall_id = ? AND day = ? AND service_id = ?`,
		nanos(from), nanos(to), holder, hallID, day, serviceID).Scan(&c.Day, &c.HalfDay, &c.Person)
	return c, err
}

// ticketSet are the columns UpdateTicket may write, by their bits
// (ticketChanges); served_by comes after them when UpdateTicketBy names
// who serves.
var ticketSet = [...]string{"service_id", "status", "queued_at", "called_at", "serving_at", "done_at",
	"no_show_at", "cancelled_at", "counter_id", "call_count", "for_counter", "for_user", "transfer_note"}

// ticketSetAll has every bit of ticketSet; servedBy is the bit of
// served_by.
const (
	ticketSetAll = 1<<len(ticketSet) - 1
	servedBy     = 1 << len(ticketSet)
)

// ticketUpdates are the UPDATE statements of the sets of columns written
// so far, by their bits (a handful: each move changes its own few).
var ticketUpdates sync.Map // uint16 -> string

func ticketUpdate(set uint16) string {
	if q, ok := ticketUpdates.Load(set); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("UPDATE tickets SET ")
	sep := ""
	for i, col := range ticketSet {
		if set&(1<<i) != 0 {
			b.WriteString(sep + col + " = ?")
			sep = ", "
		}
	}
	if set&servedBy != 0 {
		b.WriteString(sep + "served_by = ?")
	}
	b.WriteString(" WHERE id = ?")
	q, _ := ticketUpdates.LoadOrStore(set, b.String())
	return q.(string)
}

func (t *tx) UpdateTicket(tk *civiq.Ticket) error { return t.UpdateTicketBy(tk, 0) }

// UpdateTicketBy writes the columns of the ticket that changed since this
// write read it (readTickets), every column when it did not: SQLite
// rewrites the entry of each index that holds a column named in the SET,
// changed or not, and a ticket has eleven indexes.
func (t *tx) UpdateTicketBy(tk *civiq.Ticket, userID int64) error {
	set, args := ticketChanges(t.read.find(tk.ID), tk, make([]any, 0, len(ticketSet)+2))
	if userID != 0 {
		set |= servedBy
		args = append(args, userID)
	}
	read := t.read
	t.guess.forgetCounts() // its triggers may move them
	if err := t.exec(ticketUpdate(set), append(args, tk.ID)...); err != nil {
		return err
	}
	// The row is now tk, kept for a later update in this write (any other
	// statement that writes forgets what was read: exec).
	t.read = read
	t.read.keep(*tk)
	return nil
}

// ticketChanges are the columns of ticketSet in which tk differs from old,
// as bits and as the SET's values in order; every column when old is nil.
func ticketChanges(old, tk *civiq.Ticket, args []any) (uint16, []any) {
	all := old == nil
	if all {
		old = tk
	}
	var set uint16
	col := func(i int, changed bool) bool {
		if all || changed {
			set |= 1 << i
			return true
		}
		return false
	}
	// In the order of ticketSet.
	if col(0, old.ServiceID != tk.ServiceID) {
		args = append(args, tk.ServiceID)
	}
	if col(1, old.Status != tk.Status) {
		args = append(args, tk.Status)
	}
	if col(2, old.QueuedAt.UnixNano() != tk.QueuedAt.UnixNano()) {
		args = append(args, nanos(tk.QueuedAt))
	}
	for i, p := range [...][2]*time.Time{{old.CalledAt, tk.CalledAt}, {old.ServingAt, tk.ServingAt}, {old.DoneAt, tk.DoneAt},
		{old.NoShowAt, tk.NoShowAt}, {old.CancelledAt, tk.CancelledAt}} {
		if col(3+i, !sameTime(p[0], p[1])) {
			args = append(args, nullNanos(p[1]))
		}
	}
	if col(8, old.CounterID != tk.CounterID) {
		args = append(args, tk.CounterID)
	}
	if col(9, old.CallCount != tk.CallCount) {
		args = append(args, tk.CallCount)
	}
	if col(10, old.ForCounter != tk.ForCounter) {
		args = append(args, tk.ForCounter)
	}
	if col(11, old.ForClerk != tk.ForClerk) {
		args = append(args, tk.ForClerk)
	}
	if col(12, old.TransferNote != tk.TransferNote) {
		args = append(args, tk.TransferNote)
	}
	if set == 0 {
		// Nothing changed: the write is made all the same, of a column no
		// index or trigger holds.
		return 1 << 12, append(args, tk.TransferNote)
	}
	return set, args
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.UnixNano() == b.UnixNano()
}

// readTickets are copies of the tickets a write has read (Ticket,
// CallHeads) or written (UpdateTicket), as they stand in the database,
// for UpdateTicket to write only what changed; any other statement that
// writes but an event's insert forgets them (exec). A ticket's times are
// replaced by a move, never written through (Ticket.Apply), so a copy
// keeps its own.
type readTickets []civiq.Ticket

func (r readTickets) find(id string) *civiq.Ticket {
	for i := range r {
		if r[i].ID == id {
			return &r[i]
		}
	}
	return nil
}

func (r *readTickets) keep(tks ...civiq.Ticket) {
	for _, tk := range tks {
		if old := r.find(tk.ID); old != nil {
			*old = tk
		} else {
			*r = append(*r, tk)
		}
	}
}

func (t *tx) SetTicketBehalf(id, role string) error {
	return t.exec(`UPDATE tickets SET behalf_role = ? WHERE id = ?`, role, id)
}

func (t *tx) NextSeq(hallID, serviceID, day string) (int, error) {
	if !t.d.IsPostgres() {
		// As the count above: on SQLite an UPDATE and a read by key cost
		// less than the upsert with RETURNING; the row is new once a day.
		// When the writer knows the last number (guesses), the UPDATE that
		// names it is the number's one statement.
		k := seqKey{hallID, serviceID, day}
		if last, ok := t.guess.lastSeq(k); ok {
			if t.guess.hold {
				// Held: written once before the next other statement
				// or the COMMIT (writeHeld).
				h := findHeld(t.guess.heldSeq, k)
				if h == nil {
					t.guess.heldSeq = append(t.guess.heldSeq, heldRow[seqKey]{k: k, base: last, cur: last})
					h = &t.guess.heldSeq[len(t.guess.heldSeq)-1]
				}
				h.cur, h.moved = last+1, true
				t.guess.setSeq(k, last+1)
				return int(last + 1), nil
			}
			if right, err := t.guessedRight(seqGuessedSQL, last+1, hallID, serviceID, day, last); err != nil {
				return 0, err
			} else if right {
				t.guess.setSeq(k, last+1)
				return int(last + 1), nil
			}
		}
		res, err := t.execResult(`UPDATE sequences SET last = last + 1 WHERE hall_id = ? AND service_id = ? AND day = ?`, hallID, serviceID, day)
		if err != nil {
			return 0, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				_, err = t.execResult(`INSERT INTO sequences (hall_id, service_id, day, last) VALUES (?, ?, ?, 1)`, hallID, serviceID, day)
			}
			if err == nil {
				t.guess.setSeq(k, 1)
			}
			return 1, err
		}
		n, err := t.scalar(`SELECT last FROM sequences WHERE hall_id = ? AND service_id = ? AND day = ?`, hallID, serviceID, day)
		if err == nil {
			t.guess.setSeq(k, n)
		}
		return int(n), err
	}
	n, err := t.scalar(`INSERT INTO sequences (hall_id, service_id, day, last) VALUES (?, ?, ?, 1)
		ON CONFLICT (hall_id, service_id, day) DO UPDATE SET last = sequences.last + 1 RETURNING last`, hallID, serviceID, day)
	return int(n), err
}

// queueHeads find the head of each class of a service's queue: the green
// channel, the walk-ins, and the appointments (booking.go), whose place in
// time is their slot's start. directedHead finds the first ticket sent to
// a counter or to its clerk; its first term and its order are
// tickets_directed's (no sort at each call).
var (
	queueHeads = []string{
		`SELECT ` + ticketCols + ` FROM tickets WHERE hall_id = ? AND service_id = ? AND priority = 'priority' AND status = 'waiting'
		AND for_counter = '' AND for_user = 0 ORDER BY queued_at, issued_at, id LIMIT 1`,
		`SELECT ` + ticketCols + ` FROM tickets WHERE hall_id = ? AND service_id = ? AND priority = 'normal' AND status = 'waiting'
		AND channel <> 'appointment' AND for_counter = '' AND for_user = 0 ORDER BY queued_at, issued_at, id LIMIT 1`,
		// Without the priority term, so that the appointments' own index
		// serves it: with it, the planner walked every waiting walk-in. A
		// green-channel appointment may come twice, here and as the
		// priority head; the policy picks one ticket either way.
		`SELECT ` + ticketCols + ` FROM tickets WHERE hall_id = ? AND service_id = ? AND status = 'waiting'
		AND channel = 'appointment' AND for_counter = '' AND for_user = 0 ORDER BY queued_at, issued_at, id LIMIT 1`,
	}
	directedHead = `SELECT ` + ticketCols + ` FROM tickets WHERE hall_id = ? AND status = 'waiting' AND (for_counter <> '' OR for_user <> 0)
		AND (for_counter = ? OR (for_user <> 0 AND for_user = ?)) ORDER BY queued_at, issued_at, id LIMIT 1`
)

// CallHeads reads the counter's current ticket, the directed ticket and
// the queues' heads in one statement: on PostgreSQL each statement is a
// round trip inside the writers' lock, on SQLite each costs its own
// preparing of a cursor and its answer. The current ticket is told by its
// id: a waiting one may come twice, as the current ticket and as a head.
func (t *tx) CallHeads(c *civiq.Counter) (*civiq.Ticket, []civiq.Ticket, error) {
	cur := c.CurrentTicketID
	args := make([]any, 0, 4+2*len(c.ServiceIDs)*len(queueHeads))
	if cur != "" {
		args = append(args, cur)
	}
	args = append(args, c.HallID, c.ID, c.ClerkID)
	for _, s := range c.ServiceIDs {
		for range queueHeads {
			args = append(args, c.HallID, s)
		}
	}
	heads, err := scanAll(scanTicket)(t.rows(callHeads(len(c.ServiceIDs), cur != ""), args...))
	if err != nil {
		return nil, nil, err
	}
	t.read.keep(heads...)
	var current *civiq.Ticket
	for i := range heads {
		if cur != "" && heads[i].ID == cur {
			tk := heads[i]
			current, heads = &tk, slices.Delete(heads, i, i+1)
			break
		}
	}
	return current, heads, nil
}

// callHeadsSQL are CallHeads' statements by the number of services, with
// the current ticket's read or without (key 2n+1, 2n).
var callHeadsSQL sync.Map // int -> string

func callHeads(services int, current bool) string {
	key := 2 * services
	if current {
		key++
	}
	if q, ok := callHeadsSQL.Load(key); ok {
		return q.(string)
	}
	var parts []string
	if current {
		parts = append(parts, "SELECT * FROM (SELECT "+ticketCols+" FROM tickets WHERE id = ?) AS hc")
	}
	parts = append(parts, "SELECT * FROM ("+directedHead+") AS h0")
	for range services {
		for _, q := range queueHeads {
			parts = append(parts, fmt.Sprintf("SELECT * FROM (%s) AS h%d", q, len(parts)))
		}
	}
	q, _ := callHeadsSQL.LoadOrStore(key, strings.Join(parts, " UNION ALL "))
	return q.(string)
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

func setPlace(tk *civiq.Ticket, n int64) {
	pos := max(int(n), 0)
	tk.Position = &pos
}

func (t *tx) PlaceAtEnd(tk *civiq.Ticket) error {
	if p := t.placed; p != nil && p.tk == tk {
		// Inserted by this write with nothing written since: its count
		// gave the place.
		if p.known {
			setPlace(tk, p.n)
		} else {
			p.want = true
		}
		return nil
	}
	if !t.d.IsPostgres() {
		// Both counts, which the writer keeps as guesses for the next.
		prio, normal, err := t.QueueLength(tk.HallID, tk.ServiceID)
		if err != nil {
			return err
		}
		t.guess.setWaiting(countKey{tk.HallID, tk.ServiceID, civiq.PriorityPriority}, int64(prio))
		t.guess.setWaiting(countKey{tk.HallID, tk.ServiceID, civiq.PriorityNormal}, int64(normal))
		n := prio - 1
		if tk.Priority == civiq.PriorityNormal {
			n += normal
		}
		setPlace(tk, int64(n))
		return nil
	}
	const q = `SELECT COALESCE(SUM(waiting), 0) - 1 FROM queue_counts
		WHERE hall_id = ? AND service_id = ? AND (priority = 'priority' OR ? = 'normal')`
	set := func(n int64) { setPlace(tk, n) }
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

func (t *tx) QueueLength(hallID, serviceID string) (int, int, error) {
	var prio, normal int
	err := t.row(`SELECT COALESCE(SUM(CASE WHEN priority = 'priority' THEN waiting END), 0), COALESCE(SUM(CASE WHEN priority = 'normal' THEN waiting END), 0)
		FROM queue_counts WHERE hall_id = ? AND service_id = ?`, hallID, serviceID).Scan(&prio, &normal)
	return prio, normal, err
}

func (t *tx) WaitingTickets(hallID string, serviceIDs []string, limit int) ([]civiq.Ticket, error) {
	if len(serviceIDs) == 0 {
		return []civiq.Ticket{}, nil
	}
	args := append(append([]any{hallID}, anys(serviceIDs)...), limit)
	return scanAll(scanTicket)(t.rows(`SELECT `+ticketCols+` FROM tickets
		WHERE hall_id = ? AND status = 'waiting' AND service_id IN (`+marks(len(serviceIDs))+`)
		ORDER BY CASE WHEN priority = 'priority' THEN 0 ELSE 1 END, queued_at, issued_at, id LIMIT ?`, args...))
}

func (t *tx) DirectedWaiting(hallID string) ([]civiq.Ticket, error) {
	// tickets_directed holds these few, by the same condition.
	return scanAll(scanTicket)(t.rows(`SELECT `+ticketCols+` FROM tickets
		WHERE hall_id = ? AND status = 'waiting' AND (for_counter <> '' OR for_user <> 0)
		ORDER BY queued_at, issued_at, id LIMIT ?`, hallID, civiq.MaxDirected))
}

func (t *tx) NoShowsAt(hallID, counterID string, since time.Time, limit int) ([]civiq.Ticket, error) {
	return scanAll(scanTicket)(t.rows(`SELECT `+ticketCols+` FROM tickets
		WHERE hall_id = ? AND counter_id = ? AND status = 'no_show' AND no_show_at >= ?
		ORDER BY no_show_at DESC, id LIMIT ?`, hallID, counterID, nanos(since), limit))
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

func (t *tx) RecentHandling(hallID, serviceID string, n int) ([]civiq.HandlingSample, error) {
	// tickets_done (hall_id, service_id, done_at) WHERE status = 'done'
	// serves the order and the limit.
	return scanAll(scanHandling)(t.rows(`SELECT issued_at, called_at, done_at, priority FROM tickets
		WHERE hall_id = ? AND service_id = ? AND status = 'done' AND called_at IS NOT NULL
		ORDER BY done_at DESC LIMIT ?`, hallID, serviceID, n))
}

func scanHandling(sc scanner) (civiq.HandlingSample, error) {
	var issued, called, done int64
	var prio string
	err := sc.Scan(&issued, &called, &done, &prio)
	return civiq.HandlingSample{IssuedAt: time.Unix(0, issued), CalledAt: time.Unix(0, called),
		DoneAt: time.Unix(0, done), Priority: prio == civiq.PriorityPriority}, err
}

// TicketsIssued returns the tickets of a hall issued in [from, to), in
// order of issue: the recorded history that civiq simulate and the
// staffing planner read. It scans the hall's tickets and is meant for
// offline use.
func (s *Store) TicketsIssued(ctx context.Context, hallID string, from, to time.Time) ([]civiq.Ticket, error) {
	out, err := scanAll(scanTicket)(s.read.QueryContext(ctx, s.d.sql(`SELECT `+ticketCols+` FROM tickets
		WHERE hall_id = ? AND issued_at >= ? AND issued_at < ? ORDER BY issued_at, id`), hallID, nanos(from), nanos(to)))
	s.settle()
	return out, err
}
