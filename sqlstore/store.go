// Package sqlite is civiq's store on an embedded SQLite file
// (modernc.org/sqlite, no cgo): WAL, synchronous=FULL, and one writer
// goroutine that commits the writes waiting for it together (group commit).
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/civiq/civiq"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// SQLite is the dialect of the embedded database.
var SQLite = Dialect{
	Name:          "sqlite",
	Migrations:    mustSub(migrations, "migrations"),
	Begin:         "BEGIN IMMEDIATE",
	ReadIsolation: sql.LevelDefault,
	Unavailable:   sqliteUnavailable,
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

var _ civiq.Store = (*Store)(nil)

// maxBatch bounds how many writes share one commit.
const maxBatch = 256

// readConns is the size of SQLite's read pool.
const readConns = 8

// Store is a civiq.Store on one SQLite file, or on PostgreSQL through the
// postgres package: the same code with another Dialect.
type Store struct {
	path  string
	d     *Dialect
	write *sql.DB // one connection, used only by the writer goroutine
	read  *sql.DB // readers; WAL lets them run beside the writer

	// Publish receives the events of each commit, in id order, after the
	// commit is on disk. Set it before the first Update.
	Publish func([]*civiq.Event)

	wconn  *sql.Conn            // the writer's connection, held for good
	wstmts map[string]*sql.Stmt // prepared on wconn; the writer goroutine's own
	rstmts sync.Map             // query -> *sql.Stmt prepared on the read pool
	// preparing counts the read statements being prepared in the
	// background; Close waits for them.
	preparing sync.WaitGroup

	// failing is set while writes fail for want of storage (read-only,
	// disk full, database away) and cleared by the next commit that
	// writes; readiness follows it (Ready). broken tells the writer to
	// take a new connection after its batch: one opened while the file
	// was read-only stays read-only.
	failing atomic.Bool
	broken  bool

	// wal, on a SQLite file at synchronous=FULL, syncs the commits beside
	// the writer (walSync); nil elsewhere.
	wal *walSync

	// guess is what the writer knows of the numbers and counts
	// (guesses), its own.
	guess guesses

	reqs   chan *writeReq
	quit   chan struct{}
	done   chan struct{}
	mu     sync.Mutex // guards closed
	closed bool
}

type writeReq struct {
	fn     func(civiq.Tx) error
	err    error
	events []*civiq.Event
	wrote  bool // the write ran a statement that writes
	done   chan struct{}
}

// Options tune the store; the zero value is the safe default.
type Options struct {
	// Synchronous is the SQLite synchronous pragma; "" means FULL, so a
	// commit survives a power cut. At FULL the store syncs each commit
	// beside the writer (walSync), which is as safe.
	Synchronous string
}

// DSN gives the data source name used for path with the project's pragmas;
// the bench's bare ceiling opens its file the same way.
func DSN(path string, o Options) string {
	sync := o.Synchronous
	if sync == "" {
		sync = "FULL"
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(" + sync + ")", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the SQLite file at path, applies the
// embedded migrations and starts the writer. The file is its owner's only
// (PrivateFile), and so are its WAL and shared-memory files, which SQLite
// creates with the database's mode.
func Open(path string, o Options) (*Store, error) {
	if err := PrivateFile(path); err != nil {
		return nil, err
	}
	dsn := DSN(path, o)
	wdsn := dsn // the writer's: its WAL frames gathered (walvfs.go)
	if err := registerWALVFS(); err == nil {
		wdsn += "&vfs=" + walVFSName
	} else {
		slog.Warn("SQLite's WAL written frame by frame: the WAL VFS is not registered", "err", err)
	}
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s, err := openDB(w, r, &SQLite, func(s *Store) error {
		s.path = path
		if o.Synchronous != "" && !strings.EqualFold(o.Synchronous, "FULL") {
			return nil
		}
		var mode string
		if err := w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			return err
		}
		if strings.EqualFold(mode, "wal") { // else SQLite syncs at FULL itself
			s.wal = newWALSync(path)
			go s.syncRun()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// Sidecars are the files SQLite keeps beside the database at path in WAL
// mode: its WAL and its shared memory.
func Sidecars(path string) []string { return []string{path + "-wal", path + "-shm"} }

// PrivateFile makes the SQLite file at path readable and writable by its
// owner only (0600): it creates it empty with that mode when it does not
// exist, and takes the group's and others' access from it, and from its
// -wal and -shm files, when they have any. The database holds personal
// data. A read-only file is opened all the same: the store then answers
// writes 503 and recovers once the file is writable again.
func PrivateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range append([]string{path}, Sidecars(path)...) {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			if err := os.Chmod(p, mode&0o700); err != nil {
				return fmt.Errorf("make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// OpenDB builds a store on two handles of one database: write, of which
// the store uses one connection, and read, a pool for views. It applies the
// dialect's migrations and starts the writer. It owns both handles.
func OpenDB(write, read *sql.DB, d *Dialect) (*Store, error) {
	return openDB(write, read, d, nil)
}

// openDB is OpenDB with a step of the caller's, when not nil, between
// the migrations and the writer's start.
func openDB(write, read *sql.DB, d *Dialect, setUp func(*Store) error) (*Store, error) {
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	s := &Store{d: d, write: write, read: read, wstmts: map[string]*sql.Stmt{},
		reqs: make(chan *writeReq, maxBatch), quit: make(chan struct{}), done: make(chan struct{})}
	s.failing.Store(true) // until a write succeeds, readiness tries one
	if err := s.migrate(); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if setUp != nil {
		if err := setUp(s); err != nil {
			write.Close()
			read.Close()
			return nil, err
		}
	}
	go s.run()
	return s, nil
}

// Dialect tells which database the store runs on.
func (s *Store) Dialect() *Dialect { return s.d }

// Version returns the schema version applied.
func (s *Store) Version() (int, error) {
	var v int
	err := s.read.QueryRow(`SELECT COALESCE(MAX(version),0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrationVersions sorts names and returns each one's number, refusing a
// name without one and two names with the same one (two branches that took
// the same next number: one of them would never be applied).
func migrationVersions(names []string) ([]int, error) {
	sort.Strings(names)
	out := make([]int, len(names))
	for i, name := range names {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number", name)
		}
		if i > 0 && v == out[i-1] {
			return nil, fmt.Errorf("migrations %s and %s have the same number", names[i-1], name)
		}
		out[i] = v
	}
	return out, nil
}

// migrate applies the dialect's migrations not applied yet, each in its
// own transaction, in order of their numbers.
func (s *Store) migrate() error {
	db, d := s.write, s.d
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return err
	}
	names, err := fs.Glob(d.Migrations, "*.sql")
	if err != nil {
		return err
	}
	versions, err := migrationVersions(names)
	if err != nil {
		return err
	}
	for i, name := range names {
		v := versions[i]
		body, err := fs.ReadFile(d.Migrations, name)
		if err != nil {
			return err
		}
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if d.Lock != "" {
			// Nodes that start together migrate one after the other.
			if _, err := tx.Exec(d.Lock); err != nil {
				tx.Rollback()
				return err
			}
		}
		var n int
		if err := tx.QueryRow(d.sql(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), v).Scan(&n); err != nil {
			tx.Rollback()
			return err
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if _, err := tx.Exec(d.sql(`INSERT INTO schema_migrations (version) VALUES (?)`), v); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

var errClosed = civiq.Errorf(civiq.EUnavailable, "the store is closed")

// Update runs fn in the next group commit. fn may run again never; its
// changes and events are kept only when it returns nil and the commit
// succeeds. Once Update returns nil the change is on disk.
func (s *Store) Update(ctx context.Context, fn func(civiq.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{fn: fn, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		s.mu.Unlock()
		return ctx.Err()
	}
	s.mu.Unlock()
	// Once queued, wait for the outcome whatever ctx says: the caller must
	// not report a failure for a write that commits.
	<-r.done
	return r.err
}

func (s *Store) run() {
	defer close(s.done)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		var r *writeReq
		var ok bool
		select {
		case r, ok = <-s.reqs:
			if !ok {
				return
			}
		}
		batch = append(batch[:0], r)
		// Where a transaction first waits for the cluster's write lock
		// (PostgreSQL), take it before gathering: the writes that come
		// while it waits join this commit instead of the next.
		var began error
		if s.d.Lock != "" {
			began = s.begin()
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.commit(batch, s.d.Lock != "", began)
	}
}

// commit runs a batch in one transaction, each write in its own savepoint so
// that a write that fails leaves the others in. When begun, the
// transaction was begun already, with the outcome beginErr.
func (s *Store) commit(batch []*writeReq, begun bool, beginErr error) {
	defer func() {
		if s.broken {
			s.dropConn()
			s.broken = false
		}
	}()
	finish := func(err error) { s.finish(batch, err) }
	abort := func(err error) { finish(s.rollBack(err)) }
	// First every write of the batch runs straight in the transaction. If
	// one fails, the transaction is rolled back and the batch runs again
	// with each write in a savepoint of its own, so that only the failed
	// write is lost. Failures are rare; savepoints cost two statements a
	// write, which on PostgreSQL are two round trips inside the lock.
	// There the first run also holds back the statements whose answers
	// no write waits for and sends them together (Dialect.Pipeline); when
	// any of them fails, the run again sends each one on its own, so that
	// each write meets its own failure where it makes it.
	var p *pipe
	for attempt := 0; ; attempt++ {
		err := beginErr
		if attempt > 0 || !begun {
			err = s.begin()
		}
		if err != nil {
			s.dropConn()
			finish(s.unavailable(err))
			return
		}
		savepoints := attempt > 0
		// A first run holds the numbers and counts it moves (guesses).
		s.guess.begin(!savepoints && s.d.Pipeline == nil)
		p = nil
		if !savepoints && s.d.Pipeline != nil {
			p = &pipe{conn: s.wconn, send: s.d.Pipeline}
		}
		var failed *writeReq
		for _, r := range batch {
			r.err, r.events, r.wrote = nil, nil, false
		}
		for i := 0; ; i++ {
			if i == len(batch) {
				// While the last commit is still being synced, the
				// writes that come join this one (walSync).
				r := s.more(len(batch), savepoints)
				if r == nil {
					break
				}
				batch = append(batch, r)
			}
			r := batch[i]
			if savepoints {
				if err := s.x(`SAVEPOINT w`); err != nil {
					abort(err)
					return
				}
			}
			t := &tx{d: s.d, stmt: s.writeStmt, pipe: p, guess: &s.guess}
			r.err = runSafely(r.fn, t)
			if r.err != nil {
				r.err = s.writeErr(r.err)
				if !savepoints {
					failed = r
					break
				}
				if err := s.x(`ROLLBACK TO w`); err != nil {
					abort(err)
					return
				}
			} else {
				r.events, r.wrote = t.events, t.wrote
			}
			if savepoints {
				if err := s.x(`RELEASE w`); err != nil {
					abort(err)
					return
				}
			}
		}
		if failed == nil && s.guess.missed {
			// A held row was found other than guessed by a read whose
			// error the write did not return: run again all the same.
			failed = batch[len(batch)-1]
			failed.err = s.writeErr(errMissed)
		}
		if failed == nil && p == nil {
			// The rows held are written before the COMMIT.
			t := &tx{d: s.d, stmt: s.writeStmt, guess: &s.guess}
			if err := t.writeHeld(); err != nil {
				failed = batch[len(batch)-1]
				failed.err = s.writeErr(err)
			}
		}
		if failed != nil && s.guess.holding() {
			// A number or count held may have been guessed wrong (a
			// number taken twice fails the ticket's INSERT): the batch
			// runs again, write by write, with nothing held.
			s.guess.missed = true
		}
		if failed == nil && p != nil {
			// The notice goes with the last statements held back.
			if s.d.Notify != "" && batchHasEvents(batch) {
				p.stmts = append(p.stmts, Deferred{SQL: s.d.Notify})
			}
			if err := p.flush(); err != nil {
				failed = batch[len(batch)-1]
				failed.err = s.writeErr(err)
			}
		}
		if failed == nil {
			break
		}
		if err := s.x(`ROLLBACK`); err != nil {
			s.dropConn()
			if len(batch) == 1 {
				finish(nil) // the write's own error says it all
				return
			}
			finish(s.unavailable(err))
			return
		}
		// What the run wrote of the numbers and counts is rolled back:
		// the guesses moved with it are forgotten, not left ahead.
		clear(s.guess.seq)
		clear(s.guess.count)
		if len(batch) == 1 && (p == nil || !p.failed) && !s.guess.missed {
			finish(nil)
			return
		}
	}
	if s.d.Notify != "" && p == nil && batchHasEvents(batch) {
		if err := s.x(s.d.Notify); err != nil {
			abort(err)
			return
		}
	}
	if s.wal == nil {
		if err := s.x(`COMMIT`); err != nil {
			abort(err)
			return
		}
		finish(nil)
		return
	}
	// The commit's frames are written; the syncer puts them on disk and
	// answers the batch while the writer goes on with the next one.
	seq := s.wal.begun.Add(1)
	err := s.x(`COMMIT`)
	if err != nil {
		err = s.rollBack(err)
	}
	s.wal.jobs <- syncJob{seq: seq, batch: slices.Clone(batch), err: err}
}

// rollBack ends the batch's transaction that met err, a failure of the
// storage, and gives the batch's answer.
func (s *Store) rollBack(err error) error {
	if s.x(`ROLLBACK`) != nil {
		s.dropConn() // the connection is gone: take a new one next time
	}
	return s.unavailable(err)
}

// finish answers the writes of a batch whose commit ended with err (nil:
// on disk) and publishes their events.
func (s *Store) finish(batch []*writeReq, err error) {
	var events []*civiq.Event
	wrote := false
	for _, r := range batch {
		if err != nil && r.err == nil {
			r.err, r.events = err, nil
		}
		wrote = wrote || r.err == nil && r.wrote
		events = append(events, r.events...)
	}
	if wrote {
		s.failing.Store(false) // something was written: storage is back
	}
	if err == nil && len(events) > 0 && s.Publish != nil {
		s.Publish(events)
	}
	for _, r := range batch {
		close(r.done)
	}
}

// begin starts the batch's transaction on the writer's connection, taking
// a new connection when there is none. On PostgreSQL the connection kept
// from the last write may have died since with its server (a restart, a
// failover): when it fails to begin, a new one tries once more, before
// any of the batch's statements ran. SQLite's connection is a file's,
// which no server takes away: its failure (busy, read-only, full) is not
// tried twice.
func (s *Store) begin() error {
	kept := s.wconn != nil && s.d.IsPostgres()
	err := s.beginOn()
	if err != nil && kept {
		s.dropConn()
		err = s.beginOn()
	}
	return err
}

// beginOn is begin on the writer's connection as it is.
func (s *Store) beginOn() error {
	if s.wconn == nil {
		if s.failing.Load() {
			s.mendModes()
		}
		c, err := s.write.Conn(context.Background())
		if err != nil {
			return err
		}
		s.wconn = c
		if s.wal != nil { // the commits are synced beside the writer
			if _, err := c.ExecContext(bg, `PRAGMA synchronous=NORMAL`); err != nil {
				s.dropConn()
				return err
			}
		}
	}
	if err := s.x(s.d.Begin); err != nil {
		return err
	}
	if s.d.Lock != "" {
		if err := s.x(s.d.Lock); err != nil {
			s.x(`ROLLBACK`)
			return err
		}
	}
	return nil
}

// dropConn forgets the writer's connection and its statements.
func (s *Store) dropConn() {
	for q, st := range s.wstmts {
		st.Close()
		delete(s.wstmts, q)
	}
	if s.wconn != nil {
		s.wconn.Raw(func(any) error { return driver.ErrBadConn }) // not reused by the pool
		s.wconn.Close()
		s.wconn = nil
	}
}

// x runs a statement without arguments on the writer's connection.
func (s *Store) x(q string) error {
	st, err := s.writeStmt(q)
	if err != nil {
		return err
	}
	_, err = st.Exec()
	return err
}

// writeStmt prepares a statement on the writer's connection, once.
func (s *Store) writeStmt(q string) (*sql.Stmt, error) {
	if st, ok := s.wstmts[q]; ok {
		return st, nil
	}
	st, err := s.wconn.PrepareContext(context.Background(), s.d.sql(q))
	if err != nil {
		return nil, err
	}
	s.wstmts[q] = st
	return st, nil
}

// readStmt returns the read pool's prepared statement for q, bound to t.
// A query not prepared yet is prepared on t's own connection for this use,
// and on the pool in the background: preparing on the pool here would wait
// for a free connection while t holds one, and with every connection held
// by a View doing the same, no View would ever move again.
func (s *Store) readStmt(t *sql.Tx, q string) (*sql.Stmt, error) {
	v, ok := s.rstmts.Load(q)
	if !ok {
		s.mu.Lock()
		if !s.closed { // Close waits for the ones started
			s.preparing.Add(1)
			go func() {
				defer s.preparing.Done()
				st, err := s.read.Prepare(s.d.sql(q))
				if err != nil {
					return // the query fails: t.Prepare reports it
				}
				if _, loaded := s.rstmts.LoadOrStore(q, st); loaded {
					st.Close()
				}
			}()
		}
		s.mu.Unlock()
		return t.Prepare(s.d.sql(q))
	}
	return t.StmtContext(context.Background(), v.(*sql.Stmt)), nil
}

// runSafely turns a panic in a write into an internal error, so one bad
// request cannot stop the writer.
func runSafely(fn func(civiq.Tx) error, t civiq.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic in write", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in write: %v", p)
		}
	}()
	return fn(t)
}

// unavailable turns a write's storage failure into a 503, marks the
// writes failing (readiness turns false) and has the writer take a new
// connection after the batch.
func (s *Store) unavailable(err error) error {
	slog.Error("write failed", "err", err)
	s.failing.Store(true)
	s.broken = true
	return storageError()
}

// storageError is the answer to a request that met a storage failure.
func storageError() error {
	return &civiq.Error{Code: civiq.EUnavailable, Message: "storage is not available, try again"}
}

// writeErr turns the error of a write into a 503 when the database is away.
func (s *Store) writeErr(err error) error {
	if _, ok := errors.AsType[*civiq.Error](err); ok || !s.d.Unavailable(err) {
		return err
	}
	return s.unavailable(err)
}

// readErr turns the error of a read into a 503 when the database is away
// or the store is closed.
func (s *Store) readErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*civiq.Error](err); ok {
		return err
	}
	if !s.d.Unavailable(err) {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if !closed {
			return err
		}
	}
	return storageError()
}

// View runs fn in a read transaction: a consistent snapshot.
//
// The read transaction begins with fn's first statement: a View answered
// from the engine's caches costs the database nothing.
func (s *Store) View(ctx context.Context, fn func(civiq.Tx) error) error {
	var t *sql.Tx
	stmt := func(q string) (*sql.Stmt, error) {
		if t == nil {
			var err error
			if t, err = s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.ReadIsolation}); err != nil {
				t = nil
				return nil, fmt.Errorf("begin read: %w", err)
			}
		}
		return s.readStmt(t, q)
	}
	defer func() {
		if t != nil {
			t.Rollback()
		}
	}()
	err := fn(&tx{d: s.d, stmt: stmt})
	if t != nil {
		s.settle()
	}
	return s.readErr(err)
}

// EventsAfter returns up to limit events of a hall with an id above after.
func (s *Store) EventsAfter(ctx context.Context, hallID string, after int64, limit int) ([]*civiq.Event, error) {
	out, err := scanAll(scanEvent)(s.read.QueryContext(ctx, s.d.sql(`SELECT id, hall_id, type, at, data FROM events WHERE hall_id = ? AND id > ? ORDER BY id LIMIT ?`), hallID, after, limit))
	s.settle()
	return out, s.readErr(err)
}

// eventsSince reads the events of every hall after an id (AllEventsAfter,
// and the delivery workers' tx.EventsSince).
const eventsSince = `SELECT id, hall_id, type, at, data FROM events WHERE id > ? ORDER BY id LIMIT ?`

// AllEventsAfter returns up to limit events of every hall with an id above
// after: what a node of a cluster reads to hear of other nodes' events.
func (s *Store) AllEventsAfter(ctx context.Context, after int64, limit int) ([]*civiq.Event, error) {
	out, err := scanAll(scanEvent)(s.read.QueryContext(ctx, s.d.sql(eventsSince), after, limit))
	s.settle()
	return out, s.readErr(err)
}

// LastEventID returns the id of the newest event of any hall.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id)
	s.settle()
	return id, err
}

// Ready reports whether the store serves reads and writes: the database
// answers, and while writes fail for want of storage a probe write
// succeeds. It turns true again by itself once storage is back.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return err
	}
	if !s.failing.Load() {
		return nil
	}
	return s.Update(ctx, func(t civiq.Tx) error {
		// Writes a row as it is: the page goes to disk like any change.
		return t.(*tx).exec(`UPDATE schema_migrations SET version = version WHERE version = (SELECT MAX(version) FROM schema_migrations)`)
	})
}

// Close stops the writer after the writes already queued and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	if s.wal != nil {
		close(s.wal.jobs)
		<-s.wal.done
	}
	s.preparing.Wait()
	for _, st := range s.wstmts {
		st.Close()
	}
	s.rstmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	var werr error
	if s.wconn != nil {
		werr = s.wconn.Close()
	}
	return errors.Join(werr, s.read.Close(), s.write.Close())
}

func batchHasEvents(batch []*writeReq) bool {
	for _, r := range batch {
		if len(r.events) > 0 {
			return true
		}
	}
	return false
}
