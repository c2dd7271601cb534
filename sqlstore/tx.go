package sqlstore

import (
	"context"
	"database/sql"
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
	// wrote is set once a write statement ran (or was held back): a
	// transaction that only read proves nothing about the storage.
	wrote bool
	// placed is the place of the ticket InsertTicket has just counted,
	// until the next statement that writes (exec) other than an event's.
	placed *placed
	// read are the tickets this write has read, until the next statement
	// that writes (exec) other than UpdateTicket's own and an event's.
	read readTickets
	// guess is the writer's knowledge of the numbers and counts (nil in
	// a view).
	guess *guesses
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

// scanString reads a row of one text column.
func scanString(sc scanner) (string, error) {
	var s string
	err := sc.Scan(&s)
	return s, err
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
	if err := t.writeHeld(); err != nil {
		return errRow{err}
	}
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
	if err := t.writeHeld(); err != nil {
		return nil, err
	}
	if err := t.flush(); err != nil {
		return nil, err
	}
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(bg, ints(args)...)
}

// timesByKey reads a query of two columns, a key and a time in Unix
// nanoseconds, as a map.
func (t *tx) timesByKey(q string, args ...any) (map[string]time.Time, error) {
	rows, err := t.rows(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var key string
		var at int64
		if err := rows.Scan(&key, &at); err != nil {
			return nil, err
		}
		out[key] = time.Unix(0, at)
	}
	return out, rows.Err()
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
		t.placed, t.read = nil, nil // as execResult does
		t.pipe.stmts = append(t.pipe.stmts, Deferred{SQL: t.d.sql(q), Args: ints(args)})
		t.wrote = true
		return nil
	}
	_, err := t.execResult(q, args...)
	return err
}

// execResult runs a write statement at once, not held back in a pipe, and
// returns its result.
func (t *tx) execResult(q string, args ...any) (sql.Result, error) {
	if err := t.writeHeld(); err != nil {
		return nil, err
	}
	return t.execHeld(q, args...)
}

// execHeld is execResult with the writer's held rows left held
// (guesses): for a statement that neither reads nor moves a number or a
// count, a new ticket's INSERT or an event's, and for the held rows' own
// UPDATEs.
func (t *tx) execHeld(q string, args ...any) (sql.Result, error) {
	t.placed, t.read = nil, nil // a write may move the queue's counts, or a ticket
	if err := t.flush(); err != nil {
		return nil, err
	}
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(bg, ints(args)...)
	if err == nil {
		t.wrote = true
	}
	return res, err
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

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// marks is the placeholders of a list of n > 0 values: "?, ?, ?".
func marks(n int) string { return "?" + strings.Repeat(", ?", n-1) }

// anys is a list of strings as query arguments.
func anys(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// writeHeld writes the rows the writer holds (guesses), each by an UPDATE
// that names the value the transaction found: the walk-in queues' counts
// first, whose UPDATE also checks the green channel's count as the
// transaction found it, then the green channels' counts and the numbers.
// A row not as guessed fails the write (errMissed) and the guesses are
// forgotten; the batch runs again write by write (guesses.missed).
func (t *tx) writeHeld() error {
	g := t.guess
	if !g.holding() {
		return nil
	}
	seqs, counts := g.heldSeq, g.heldCount
	g.heldSeq, g.heldCount = seqs[:0], counts[:0]
	miss := func(right bool, err error) error {
		if err != nil {
			g.missed = true // the rows not written must not be committed without
		}
		if err == nil && !right {
			g.missed = true
			clear(g.seq)
			clear(g.count)
			err = errMissed
		}
		return err
	}
	for _, normal := range [...]bool{true, false} {
		for _, h := range counts {
			if !h.moved || (h.k.priority == civiq.PriorityNormal) != normal {
				continue
			}
			var right bool
			var err error
			if normal {
				right, err = t.guessedRight(countGuessedNormalSQL, h.cur, h.k.hall, h.k.service, h.k.priority, h.base, h.k.hall, h.k.service, h.prio)
			} else {
				right, err = t.guessedRight(countGuessedSQL, h.cur, h.k.hall, h.k.service, h.k.priority, h.base)
			}
			if err := miss(right, err); err != nil {
				return err
			}
		}
	}
	for _, h := range seqs {
		if err := miss(t.guessedRight(seqGuessedSQL, h.cur, h.k.hall, h.k.service, h.k.day, h.base)); err != nil {
			return err
		}
	}
	return nil
}
