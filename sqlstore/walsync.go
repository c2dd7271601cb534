package sqlstore

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
)

// walSync puts the writer's commits on disk beside it. At
// synchronous=FULL a COMMIT writes its frames to the WAL and waits for
// the disk before the writer can begin the next transaction: under load
// about half the writer's time went to that wait. With walSync the
// writer's connection runs at NORMAL, where a COMMIT writes its frames
// and returns, and a goroutine of its own fsyncs the WAL file after each
// commit (several commits at once when they come faster than the disk).
// Only then are the commit's writes answered and its events published:
// the writer builds the next commit while the disk takes the last one.
//
// A write is answered once it is on disk, as at FULL. A commit is visible
// to readers as soon as its frames are written, so a read answers only
// once every commit it may have seen is on disk too (settled): nothing
// shown can be lost by a power cut. SQLite itself still syncs the WAL
// before each checkpoint and the database file after it (what NORMAL
// keeps), so the checkpoints are as safe as before.
type walSync struct {
	path string      // the -wal file
	f    *os.File    // opened on the first sync, again when the file is new
	fi   os.FileInfo // f's, read once when it is opened
	jobs chan syncJob
	done chan struct{}
	// freed is signalled when a sync ends, for a writer waiting in more.
	freed chan struct{}

	// begun counts the COMMITs started, durable those on disk (or failed).
	begun   atomic.Int64
	durable atomic.Int64
	mu      sync.Mutex
	settled *sync.Cond // broadcast when durable grows; mu guards the wait

	// sync puts the file on disk: (*os.File).Sync, a test's stand-in.
	sync func(*os.File) error
}

// syncJob is a commit waiting for the disk: its number, its writes, and
// its error when the COMMIT itself failed.
type syncJob struct {
	seq   int64
	batch []*writeReq
	err   error
}

func newWALSync(dbPath string) *walSync {
	w := &walSync{path: dbPath + "-wal", jobs: make(chan syncJob, maxBatch), done: make(chan struct{}),
		freed: make(chan struct{}, 1), sync: (*os.File).Sync}
	w.settled = sync.NewCond(&w.mu)
	return w
}

// syncRun answers the commits in order: one fsync for all those waiting.
func (s *Store) syncRun() {
	w := s.wal
	defer close(w.done)
	var jobs []syncJob
	for j := range w.jobs {
		jobs = append(jobs[:0], j)
	more:
		for {
			select {
			case j, ok := <-w.jobs:
				if !ok {
					break more
				}
				jobs = append(jobs, j)
			default:
				break more
			}
		}
		err := w.flush()
		if err != nil {
			slog.Error("sync of the WAL failed", "err", err)
			s.failing.Store(true)
			err = storageError()
		}
		w.settle(jobs[len(jobs)-1].seq)
		select {
		case w.freed <- struct{}{}:
		default:
		}
		for i, j := range jobs {
			if j.err == nil {
				j.err = err
			}
			s.finish(j.batch, j.err)
			jobs[i] = syncJob{}
		}
	}
	if w.f != nil {
		w.f.Close()
	}
}

// flush puts everything written to the WAL so far on disk. A WAL that is
// no longer there was checkpointed into the database file and removed by
// SQLite, which syncs the database first; a WAL made anew is opened again.
func (w *walSync) flush() error {
	fi, err := os.Stat(w.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if w.f != nil && !os.SameFile(w.fi, fi) {
		// An open file's identity never changes: the one read at its
		// opening is compared, one stat a sync, not two.
		w.f.Close()
		w.f = nil
	}
	if w.f == nil {
		f, err := os.OpenFile(w.path, os.O_RDWR, 0)
		if errors.Is(err, os.ErrPermission) {
			f, err = os.Open(w.path) // a read-only file syncs too on Linux
		}
		if err != nil {
			return err
		}
		ofi, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		w.f, w.fi = f, ofi
	}
	return w.sync(w.f)
}

// settle records that the commits up to seq are on disk.
func (w *walSync) settle(seq int64) {
	w.mu.Lock()
	w.durable.Store(seq)
	w.mu.Unlock()
	w.settled.Broadcast()
}

// wait returns once every commit begun so far is on disk: a read calls it
// after its statements, so that what it saw cannot be lost.
func (w *walSync) wait() {
	seq := w.begun.Load()
	if w.durable.Load() >= seq {
		return
	}
	w.mu.Lock()
	for w.durable.Load() < seq {
		w.settled.Wait()
	}
	w.mu.Unlock()
}

// settle waits, when commits are synced beside the writer, until what a
// read saw is on disk.
func (s *Store) settle() {
	if s.wal != nil {
		s.wal.wait()
	}
}

// more gives the next write to run in the transaction of a batch of n
// writes, or nil when it is to be committed now. While the last commit is
// still being synced, the writer waits for writes to come and runs them in
// the open transaction: the batch grows as it did when the writer itself
// waited for the disk, and its statements run while the disk works. Once
// the disk is free, the writes queued already join too. A batch run again
// in savepoints (a write failed) waits for none.
func (s *Store) more(n int, savepoints bool) *writeReq {
	w := s.wal
	if w == nil || n >= maxBatch {
		return nil
	}
	for !savepoints && w.begun.Load() > w.durable.Load() {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return nil
			}
			return r
		case <-w.freed:
		}
	}
	select {
	case r, ok := <-s.reqs:
		if ok {
			return r
		}
	default:
	}
	return nil
}
