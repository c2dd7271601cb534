// Package postgres runs civiq's store on PostgreSQL, for a city that has
// outgrown one machine: several stateless civiq nodes on one database. The
// store's code is the one in package sqlstore, run with the PostgreSQL
// dialect; this package adds the connection, the migrations and the fan-out
// of events between nodes through LISTEN/NOTIFY.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"

	"github.com/civiq/civiq/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// channel is the NOTIFY channel that tells nodes new events are committed;
// settingsChannel tells them which hall's settings changed.
const (
	channel         = "civiq_events"
	settingsChannel = "civiq_settings"
)

// Dialect is PostgreSQL for the shared store. Every write transaction of
// every node first takes one advisory lock: writes take turns across the
// cluster, so ticket numbers, call-next and idempotency keys are safe
// without further locking, and event ids commit in order, so a stream that
// reads "after id N" never skips one committed late. Each node still
// commits many writes together, which is what keeps throughput up.
var Dialect = sqlstore.Dialect{
	Name:       "postgres",
	Migrations: mustSub(migrations, "migrations"),
	Dollar:     true,
	Begin:      "BEGIN",
	Lock:       "SELECT pg_advisory_xact_lock(7262001)",
	Notify:     "SELECT pg_notify('" + channel + "', '')",
	// The hall's id is the notice's payload.
	SettingsNotify: "SELECT pg_notify('" + settingsChannel + "', ?)",
	ReadIsolation:  sql.LevelRepeatableRead,
	Unavailable:    Unavailable,
	Pipeline:       pipeline,
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Open connects to the database at url, applies the migrations and starts
// the writer.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	w, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	r, err := sql.Open("pgx", url)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	r.SetMaxOpenConns(16)
	r.SetMaxIdleConns(16)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return sqlstore.OpenDB(w, r, &Dialect)
}

// Unavailable reports whether err means PostgreSQL is away (down,
// restarting, unreachable) rather than a bug: such requests answer 503.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", "57", "53", "58": // connection exception, operator intervention, insufficient resources (disk full), system error (I/O)
			return true
		}
		return pe.Code == "25006" // read-only transaction: a standby, or default_transaction_read_only
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	return errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) || pgconn.Timeout(err) || isClosed(err)
}

func isClosed(err error) bool {
	msg := err.Error()
	for _, s := range []string{"conn closed", "connection refused", "unexpected EOF", "broken pipe", "connection reset", "bad connection", "the database system is"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// pipeline sends statements in one round trip, as the store's Pipeline.
func pipeline(conn *sql.Conn, stmts []sqlstore.Deferred) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: pipeline on a %T", dc)
		}
		var b pgx.Batch
		for _, s := range stmts {
			b.Queue(s.SQL, s.Args...)
		}
		res := c.Conn().SendBatch(context.Background(), &b)
		var first error
		for _, s := range stmts {
			if s.Scan != nil {
				var n int64
				if err := res.QueryRow().Scan(&n); err != nil {
					if first == nil {
						first = err
					}
					continue
				}
				s.Scan(n)
			} else if _, err := res.Exec(); err != nil && first == nil {
				first = err
			}
		}
		if err := res.Close(); err != nil && first == nil {
			first = err
		}
		return first
	})
}
