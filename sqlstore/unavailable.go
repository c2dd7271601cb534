package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"os"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteUnavailable reports whether err means the SQLite file cannot be
// used now — read-only, disk full, busy, unreadable — rather than a bug in
// a statement: such requests answer 503 and may succeed again later.
func sqliteUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary code; extended ones add bits above
		case sqlite3.SQLITE_PERM, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM,
			sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB:
			return true
		}
		return false
	}
	return errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EDQUOT)
}

// mendModes gives SQLite's WAL and shared-memory files the mode of the
// database file again. SQLite creates them with the file's mode, so
// those made while the file was read-only stay read-only after its
// permissions come back, and every write would fail until a restart.
// When it changes a mode it closes the idle readers too: the process
// shares one shared-memory mapping, kept while any connection is open.
func (s *Store) mendModes() {
	if s.path == "" {
		return
	}
	db, err := os.Stat(s.path)
	if err != nil {
		return
	}
	changed := false
	for _, p := range Sidecars(s.path) {
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().Perm() != db.Mode().Perm() && os.Chmod(p, db.Mode().Perm()) == nil {
			changed = true
		}
	}
	if changed {
		s.read.SetMaxIdleConns(0)
		s.read.SetMaxIdleConns(readConns)
	}
}
