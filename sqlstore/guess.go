package sqlstore

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
