package sqlstore

import (
	"database/sql"
	"io/fs"
	"strconv"
	"strings"
)

// Dialect is what differs between the SQL databases the store runs on.
// All SQL in this package is written once, with ? placeholders, in the
// common subset of SQLite and PostgreSQL; the few places that differ ask
// the dialect.
type Dialect struct {
	Name string // "sqlite" or "postgres"
	// Migrations holds the numbered *.sql files of this database.
	Migrations fs.FS
	// Dollar placeholders: ? becomes $1, $2... (PostgreSQL).
	Dollar bool
	// Begin starts a write transaction.
	Begin string
	// Lock, when set, is run first in every write transaction, so that the
	// writers of several nodes take turns and event ids commit in order.
	Lock string
	// Notify, when set, is run before the commit of a batch with events, to
	// wake the other nodes.
	Notify string
	// SettingsNotify, when set, tells the other nodes at commit that the
	// settings of the hall given as its argument changed.
	SettingsNotify string
	// ReadIsolation is the isolation level of a View.
	ReadIsolation sql.IsolationLevel
	// Unavailable reports whether an error means the database is away
	// rather than a bug: the answer is 503, never 500.
	Unavailable func(error) bool
	// Pipeline, when set, sends statements in one round trip and reports
	// the first that failed (PostgreSQL). The writer then holds back the
	// statements whose answers a write does not wait for (tx.exec, the
	// event insert) until its next read or the commit: inside the cluster's
	// write lock every round trip counts.
	Pipeline func(conn *sql.Conn, stmts []Deferred) error
}

// Deferred is a statement held back for a Pipeline. Scan, when set,
// receives the one integer the statement returns.
type Deferred struct {
	SQL  string
	Args []any
	Scan func(int64)
}

// pipe holds a write batch's deferred statements until they are sent.
type pipe struct {
	conn   *sql.Conn
	send   func(*sql.Conn, []Deferred) error
	stmts  []Deferred
	failed bool // a send failed: the batch runs again without a pipe
}

// flush sends the statements held back; the first failure fails the
// transaction.
func (p *pipe) flush() error {
	if len(p.stmts) == 0 {
		return nil
	}
	err := p.send(p.conn, p.stmts)
	clear(p.stmts)
	p.stmts = p.stmts[:0]
	if err != nil {
		p.failed = true
	}
	return err
}

// IsPostgres reports whether the dialect is PostgreSQL, for the rare query
// written twice.
func (d *Dialect) IsPostgres() bool { return d.Name == "postgres" }

// rebind turns ? placeholders into $1, $2... outside quotes.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (d *Dialect) sql(q string) string {
	if d.Dollar {
		return rebind(q)
	}
	return q
}
