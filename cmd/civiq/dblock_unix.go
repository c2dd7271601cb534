//go:build unix

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
)

// lockDB takes the lock file beside a SQLite database (path + ".lock") for
// this process alone, so that a second civiq serve on the same file (or a
// restore, an edge-sync into it) stops at start: each would go on with its
// own event streams and caches, blind to the other's writes; and a
// migrate-to-postgres from it, which would leave the server's later
// writes behind. The kernel lets go of the lock when the process
// ends, however it ends; the file itself stays, empty. unlock lets it go
// before that.
func lockDB(path string) (unlock func(), err error) {
	lp := path + ".lock"
	f, err := os.OpenFile(lp, os.O_RDONLY|os.O_CREATE, 0o600)
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
		// A folder this process may not write: the server starts all the
		// same (a read-only database answers 503 until it can write), unguarded.
		slog.Warn("no lock file beside the database: a second civiq serve on it would not be stopped", "lock", lp, "err", err)
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another civiq serve (or restore, edge-sync, migrate-to-postgres: it holds %s): stop that one first, or give this one another --db", path, lp)
		}
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	return func() { f.Close() }, nil
}
