package sqlstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// heldSync makes a store's WAL syncs wait for the test: entered receives
// once a sync begins, and the sync ends with what release is sent.
type heldSync struct {
	entered chan struct{}
	release chan error
}

// openHeld opens a store at synchronous=FULL with a table to write rows
// to, its syncs held from then on.
func openHeld(t *testing.T) (*Store, *heldSync) {
	t.Helper()
	s := openAt(t, filepath.Join(t.TempDir(), "civiq.db"))
	if err := s.Update(ctx, func(t civiq.Tx) error {
		return t.(*tx).exec(`CREATE TABLE sync_probe (n INTEGER)`)
	}); err != nil {
		t.Fatal(err)
	}
	return s, holdSyncs(t, s)
}

func holdSyncs(t *testing.T, s *Store) *heldSync {
	t.Helper()
	if s.wal == nil {
		t.Fatal("a store at synchronous=FULL syncs beside its writer")
	}
	h := &heldSync{entered: make(chan struct{}, 16), release: make(chan error)}
	s.wal.sync = func(f *os.File) error {
		h.entered <- struct{}{}
		if err := <-h.release; err != nil {
			return err
		}
		return f.Sync()
	}
	return h
}

func insertN(n int) func(civiq.Tx) error {
	return func(t civiq.Tx) error { return t.(*tx).exec(`INSERT INTO sync_probe (n) VALUES (?)`, n) }
}

func countProbes(t *testing.T, s *Store) int {
	t.Helper()
	var n int64
	if err := s.View(ctx, func(t civiq.Tx) error {
		var err error
		n, err = t.(*tx).scalar(`SELECT COUNT(*) FROM sync_probe`)
		return err
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	return int(n)
}

// A write is answered, and a read that may see it answers, only once its
// commit is synced; the writes that come meanwhile run in the next
// transaction without waiting for the disk.
func TestWALSyncedBesideWriter(t *testing.T) {
	s, h := openHeld(t)

	first := make(chan error, 1)
	go func() { first <- s.Update(ctx, insertN(1)) }()
	<-h.entered // committed, its sync held

	ran := make(chan struct{})
	second := make(chan error, 1)
	go func() {
		second <- s.Update(ctx, func(t civiq.Tx) error {
			close(ran)
			return insertN(2)(t)
		})
	}()
	select {
	case <-ran: // runs while the first commit's sync is held
	case <-time.After(5 * time.Second):
		t.Fatal("a write waited for the last commit's sync before it ran")
	}
	read := make(chan int, 1)
	go func() { read <- countProbes(t, s) }()
	select {
	case err := <-first:
		t.Fatalf("the write was answered (%v) before its commit was synced", err)
	case n := <-read:
		t.Fatalf("a read answered (%d rows) before what it saw was synced", n)
	case <-time.After(100 * time.Millisecond):
	}

	h.release <- nil // the first commit's sync
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	<-h.entered // the second's, with its own commit
	select {
	case err := <-second:
		t.Fatalf("the second write was answered (%v) before its sync", err)
	case <-time.After(50 * time.Millisecond):
	}
	h.release <- nil
	if err := <-second; err != nil {
		t.Fatalf("second write: %v", err)
	}
	if n := <-read; n < 1 {
		t.Fatalf("the read saw %d rows, want the first write at least", n)
	}
	go func() {
		for range h.entered {
			h.release <- nil
		}
	}()
	if n := countProbes(t, s); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
}

// A sync that fails answers its writes 503 and marks the storage failing;
// the next commit synced clears it.
func TestWALSyncFails(t *testing.T) {
	s, h := openHeld(t)
	done := make(chan error, 1)
	go func() { done <- s.Update(ctx, insertN(1)) }()
	<-h.entered
	h.release <- errors.New("EIO")
	var e *civiq.Error
	if err := <-done; !errors.As(err, &e) || e.Code != civiq.EUnavailable {
		t.Fatalf("err = %v, want %s", err, civiq.EUnavailable)
	}
	if !s.failing.Load() {
		t.Fatal("a failed sync leaves the storage marked working")
	}
	go func() { done <- s.Update(ctx, insertN(2)) }()
	<-h.entered
	h.release <- nil
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.failing.Load() {
		t.Fatal("a synced write leaves the storage marked failing")
	}
}

// flush syncs the WAL at its path: the same file opened once, a new file
// there (the old one removed and made anew) opened in its place, none
// there nothing.
func TestWALSyncFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db-wal")
	var synced []*os.File
	w := &walSync{path: path, sync: func(f *os.File) error { synced = append(synced, f); return nil }}
	defer func() {
		if w.f != nil {
			w.f.Close()
		}
	}()
	if err := w.flush(); err != nil || len(synced) != 0 {
		t.Fatalf("no WAL: %v, %d synced", err, len(synced))
	}
	if err := os.WriteFile(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
	}
	if len(synced) != 2 || synced[0] != synced[1] {
		t.Fatalf("the same WAL twice: synced %v", synced)
	}
	if err := os.WriteFile(path+".new", []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	now, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := synced[2].Stat()
	if err != nil {
		t.Fatal(err)
	}
	if synced[2] == synced[0] || !os.SameFile(got, now) {
		t.Fatal("a new WAL at the path was not the one synced")
	}
}
