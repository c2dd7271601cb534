package sqlstore

import "errors"

// guesses are what SQLite's writer last knew of two kinds of small
// counter rows: each service's last number of a day (sequences) and each
// queue's count of waiting tickets (queue_counts). With them a new ticket
// takes its number and is counted, its place known, in one statement each
// instead of a write and a read: the statement names the value guessed
// (`… AND last = ?`) and changes the row only when it holds it. A guess
// that is wrong (a write rolled back, a call that moved a count, the edge's
// copy, another process) changes nothing and costs one statement, after
// which the row is written and read as without guesses: never a wrong
// number or place. The writer goroutine alone uses them.
type guesses struct {
	seq   guessed[seqKey]
	count guessed[countKey]
	// hold lets the open run hold rows (heldSeq, heldCount: see below);
	// missed tells the commit loop a held row was not as guessed.
	hold      bool
	missed    bool
	heldSeq   []heldRow[seqKey]
	heldCount []heldRow[countKey]
}

type seqKey struct{ hall, service, day string }

type countKey struct{ hall, service, priority string }

// maxGuesses bounds each map: a hall's services, days and classes are few,
// and a map past it starts again empty.
const maxGuesses = 1024

// guessed are the values of one kind of row by their keys.
type guessed[K comparable] map[K]int64

func (m *guessed[K]) set(k K, n int64) {
	if *m == nil || len(*m) >= maxGuesses {
		*m = guessed[K]{}
	}
	(*m)[k] = n
}

func (g *guesses) lastSeq(k seqKey) (int64, bool) {
	if g == nil {
		return 0, false
	}
	n, ok := g.seq[k]
	return n, ok
}

func (g *guesses) setSeq(k seqKey, n int64) {
	if g != nil {
		g.seq.set(k, n)
	}
}

func (g *guesses) waiting(k countKey) (int64, bool) {
	if g == nil {
		return 0, false
	}
	n, ok := g.count[k]
	return n, ok
}

func (g *guesses) setWaiting(k countKey, n int64) {
	if g != nil {
		g.count.set(k, n)
	}
}

// forgetCounts drops the counts guessed: a ticket was written in a way
// that may move them (its update's triggers), and a count guessed wrong
// costs a statement.
func (g *guesses) forgetCounts() {
	if g != nil {
		clear(g.count)
	}
}

// Held rows. In the first run of a batch (no savepoints), a number or a
// count guessed is not written at once: the row is held, moved in memory
// by each ticket of the batch, and written once before any other
// statement and before the COMMIT, by an UPDATE that names the value the
// transaction found (`… AND last = ?`, `… AND waiting = ?`). A commit of
// twelve tickets of four services then writes each of the eight rows once
// instead of three times. Only a new ticket's INSERT and an event's run
// while rows are held (neither reads or moves them, no trigger). A held row
// found other than guessed fails the batch, which runs again with each
// write in its savepoint and nothing held: never a wrong number or place.

// heldRow is a row held in the open transaction: as the transaction found
// it (base) and as its tickets have moved it (cur). For a walk-in queue's
// count, prio is the green channel's count its places were counted after,
// as the transaction found it.
type heldRow[K comparable] struct {
	k         K
	base, cur int64
	prio      int64
	moved     bool // cur was moved (a green channel's count may only be relied on)
}

// errMissed fails the write that found a held row other than guessed; the
// batch runs again, write by write (guesses.missed).
var errMissed = errors.New("a number or count held by the writer was not as guessed")

func (g *guesses) holding() bool {
	return g != nil && (len(g.heldSeq) > 0 || len(g.heldCount) > 0)
}

// begin starts a run of a batch: rows are held only in a first run. Rows
// still held were rolled back with their run, and the guesses moved with
// them are not in the database: forgotten.
func (g *guesses) begin(hold bool) {
	if g.holding() {
		g.heldSeq, g.heldCount = g.heldSeq[:0], g.heldCount[:0]
		clear(g.seq)
		clear(g.count)
	}
	g.hold, g.missed = hold, false
}

func findHeld[K comparable](rows []heldRow[K], k K) *heldRow[K] {
	for i := range rows {
		if rows[i].k == k {
			return &rows[i]
		}
	}
	return nil
}
