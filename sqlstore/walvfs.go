package sqlstore

import (
	"errors"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The writer's connection opens its files through walVFS: SQLite's own
// unix VFS, except that the frames a transaction appends to the WAL are
// gathered and written with one pwrite when the commit's last frame is
// complete, instead of two pwrites a frame (its 24-byte header, then its
// page). A commit of 13 tickets writes about 20 frames, and each small
// pwrite costs several microseconds of system time whatever its size.
//
// Nothing else changes: every frame reaches the file before SQLite makes
// the commit visible (it writes the wal-index header only after the last
// frame's write returns), before anything reads, syncs, sizes, truncates
// or closes the WAL through this connection, and before any write that
// is not the next append (a rewrite of a frame's checksum, the WAL's
// header at a restart, a write after a rollback). So the file holds what
// SQLite would have written, in the same order for any one offset, by
// the time anything can look at it; walSync fsyncs after the COMMIT
// returns, when the frames are in the file. The frames still held for a
// transaction rolled back are dropped when the writer lets go of the WAL
// (walShmLock) or, in exclusive locking mode, of the database file
// (walDBUnlock), never written once another connection may write there.
const walVFSName = "civiq-wal"

// walFrameHeader is the size of a WAL frame's header; its bytes 4 to 7
// are the database's size in pages after a commit, 0 in a frame that
// does not end one.
const walFrameHeader = 24

// walGatherMax is how many bytes of frames are held at most before they
// are written anyway (a large transaction spilling pages).
const walGatherMax = 1 << 20

// walWriteMax is the most bytes given to one write of the unix VFS: it
// masks a pwrite's length with 0x1ffff (seekAndWrite), so a write of
// 0x20000 bytes or more writes a part or nothing, and it takes a short
// write for a full disk. Keep it under 128 KiB.
const walWriteMax = 31 * 4096

var walVFS struct {
	once   sync.Once
	err    error
	unix   uintptr    // SQLite's unix VFS
	base   uintptr    // the unix methods of a WAL file, as first seen
	wal    uintptr    // base with the methods below
	dbBase uintptr    // the unix methods of a database file, as first seen
	db     uintptr    // dbBase with walShmLock and walDBUnlock
	mu     sync.Mutex // guards base, wal, dbBase and db as they are set
	files  sync.Map   // sqlite3_file pointer → *walFile
	dbs    sync.Map   // the database file's sqlite3_file pointer → its WAL's *walFile
}

// walFile is what walVFS keeps for one open WAL file.
type walFile struct {
	name   string  // its path
	writes int     // the writes given to the unix VFS (for tests)
	buf    uintptr // walGatherMax bytes of C memory, made at the first write
	n      int     // the bytes of frames appended in buf, not yet written
	at     int64   // the file offset of buf's first byte
	front  int64   // the end of the last frame appended: the next one starts here
	commit bool    // the last frame header in buf ends a commit
	db     uintptr // the database file's sqlite3_file
}

// registerWALVFS registers walVFS once; it says why it cannot be used.
func registerWALVFS() error {
	walVFS.once.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		unix := sqlite3.Xsqlite3_vfs_find(tls, 0)
		if unix == 0 {
			walVFS.err = errors.New("sqlite: no default VFS")
			return
		}
		name, err := libc.CString(walVFSName)
		if err != nil {
			walVFS.err = err
			return
		}
		// SQLite's structures live in C memory (libc's), where SQLite's
		// pointer arithmetic is at home; they are never freed.
		cv := libc.Xmalloc(tls, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
		if cv == 0 {
			walVFS.err = errors.New("sqlite: out of memory")
			return
		}
		v := (*sqlite3.Tsqlite3_vfs)(cptr(cv))
		*v = *(*sqlite3.Tsqlite3_vfs)(cptr(unix))
		v.FpNext, v.FzName = 0, name
		*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&v.FxOpen)) = walVFSOpen
		walVFS.unix = unix
		if rc := sqlite3.Xsqlite3_vfs_register(tls, cv, 0); rc != sqlite3.SQLITE_OK {
			walVFS.err = errors.New("sqlite: registering the WAL VFS failed")
		}
	})
	return walVFS.err
}

// walVFSOpen opens a file as the unix VFS does; a WAL file gets the
// methods that gather its frames, a database file walShmLock.
func walVFSOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	unix := (*sqlite3.Tsqlite3_vfs)(cptr(walVFS.unix))
	rc := (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{unix.FxOpen})))(tls, walVFS.unix, zName, pFile, flags, pOutFlags)
	if rc != sqlite3.SQLITE_OK || flags&(sqlite3.SQLITE_OPEN_WAL|sqlite3.SQLITE_OPEN_MAIN_DB) == 0 {
		return rc
	}
	file := (*sqlite3.Tsqlite3_file)(cptr(pFile))
	if file.FpMethods == 0 {
		return rc
	}
	walVFS.mu.Lock()
	defer walVFS.mu.Unlock()
	if flags&sqlite3.SQLITE_OPEN_MAIN_DB != 0 {
		if walVFS.db == 0 { // the first database file: its methods, wrapped
			cm := libc.Xmalloc(tls, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
			if cm == 0 {
				return rc
			}
			walVFS.dbBase = file.FpMethods
			m := (*sqlite3.Tsqlite3_io_methods)(cptr(cm))
			*m = *(*sqlite3.Tsqlite3_io_methods)(cptr(file.FpMethods))
			*(*func(*libc.TLS, uintptr, int32, int32, int32) int32)(unsafe.Pointer(&m.FxShmLock)) = walShmLock
			*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxUnlock)) = walDBUnlock
			walVFS.db = cm
		} else if file.FpMethods != walVFS.dbBase {
			return rc
		}
		file.FpMethods = walVFS.db
		return rc
	}
	// SQLite's Wal holds the WAL file right after itself, and the database
	// file's pointer (sqlite3WalOpen): the pair is found there, once the
	// Wal's pointer to the WAL file is seen to be this one. A WAL not so
	// paired with a database file of walVFS (whose unlocks tell it that a
	// transaction rolled back) is left as the unix VFS made it, each frame
	// written as it comes (TestWALVFSOneWriteACommit then fails).
	w := (*sqlite3.TWal)(cptr(pFile - unsafe.Sizeof(sqlite3.TWal{})))
	if w.FpWalFd != pFile || w.FpDbFd == 0 || walVFS.db == 0 || (*sqlite3.Tsqlite3_file)(cptr(w.FpDbFd)).FpMethods != walVFS.db {
		return rc
	}
	if walVFS.wal == 0 { // the first WAL file: its methods, wrapped
		cm := libc.Xmalloc(tls, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
		if cm == 0 {
			return rc // left as the unix VFS made it
		}
		walVFS.base = file.FpMethods
		m := (*sqlite3.Tsqlite3_io_methods)(cptr(cm))
		*m = *(*sqlite3.Tsqlite3_io_methods)(cptr(file.FpMethods))
		*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&m.FxClose)) = walClose
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxRead)) = walRead
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxWrite)) = walWrite
		*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&m.FxTruncate)) = walTruncate
		*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxSync)) = walSyncFile
		*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&m.FxFileSize)) = walFileSize
		*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&m.FxFileControl)) = walFileControl
		walVFS.wal = cm
	} else if file.FpMethods != walVFS.base {
		return rc // not the methods wrapped: left as the unix VFS made it
	}
	f := &walFile{name: libc.GoString(zName), db: w.FpDbFd}
	walVFS.dbs.Store(f.db, f)
	walVFS.files.Store(pFile, f)
	file.FpMethods = walVFS.wal
	return rc
}

// cptr is the memory at p, an address SQLite gave (its own, or a Go
// value it was handed): never Go memory the collector could free.
func cptr(p uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&p))
}

func walBase() *sqlite3.Tsqlite3_io_methods {
	return (*sqlite3.Tsqlite3_io_methods)(cptr(walVFS.base))
}

func walFileOf(pFile uintptr) *walFile {
	f, _ := walVFS.files.Load(pFile)
	return f.(*walFile)
}

// baseWrite writes n bytes at p to the file with the unix VFS's write.
func baseWrite(tls *libc.TLS, pFile, p uintptr, n int32, off int64) int32 {
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walBase().FxWrite})))(tls, pFile, p, n, off)
}

// flush writes the frames held, in one call. Frames whose write fails
// stay held and are written by the next flush: SQLite was told they were
// written when they were appended, and the failure may reach it where it
// undoes nothing (the read of one of them, whose statement alone is rolled
// back for a full disk); nothing may then read in their place what the
// file held before, nor a commit follow them without them.
//
// Not so when they end with a commit's frame (f.commit: its header held,
// its page being written): the failure reaches SQLite as the commit's,
// the COMMIT fails and the transaction is rolled back, and nothing reads
// its frames again. Written later (the rollback reads the WAL), they
// would make the failed commit whole in the file, where the next recovery
// (a crash, a restart) would find it; they are dropped.
func (f *walFile) flush(tls *libc.TLS, pFile uintptr) int32 {
	for i := 0; i < f.n; i += walWriteMax {
		f.writes++
		if rc := baseWrite(tls, pFile, f.buf+uintptr(i), int32(min(f.n-i, walWriteMax)), f.at+int64(i)); rc != sqlite3.SQLITE_OK {
			if f.commit {
				f.n, f.commit = 0, false
			}
			return rc
		}
	}
	f.n = 0
	return sqlite3.SQLITE_OK
}

func walWrite(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	f := walFileOf(pFile)
	held := f.n > 0 && off == f.at+int64(f.n) // the next part of the frames held
	if !held || f.n+int(amt) > walGatherMax {
		if rc := f.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
			return rc
		}
	}
	if !held && (amt != walFrameHeader || off < f.front) || int(amt) > walGatherMax {
		// Written as it comes: the WAL's header (a restart, after which
		// frames are appended from its end again), a frame's checksums
		// rewritten, a frame written again after a rollback.
		if off == 0 {
			f.front = int64(amt)
		} else {
			f.front = max(f.front, off+int64(amt))
		}
		f.commit = false
		f.writes++
		return baseWrite(tls, pFile, pBuf, amt, off)
	}
	if f.buf == 0 {
		if f.buf = libc.Xmalloc(tls, walGatherMax); f.buf == 0 {
			return sqlite3.SQLITE_NOMEM
		}
	}
	if f.n == 0 {
		f.at = off
	}
	p := unsafe.Slice((*byte)(cptr(pBuf)), amt)
	copy(unsafe.Slice((*byte)(cptr(f.buf+uintptr(f.n))), amt), p)
	f.n += int(amt)
	f.front = max(f.front, off+int64(amt))
	if amt == walFrameHeader {
		f.commit = p[4]|p[5]|p[6]|p[7] != 0
		return sqlite3.SQLITE_OK
	}
	if f.commit { // the commit's last page: all of it, now
		rc := f.flush(tls, pFile)
		f.commit = false
		return rc
	}
	return sqlite3.SQLITE_OK
}

func walRead(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	if rc := walFileOf(pFile).flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walBase().FxRead})))(tls, pFile, pBuf, amt, off)
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	f := walFileOf(pFile)
	if rc := f.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	f.front = min(f.front, size)
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walBase().FxTruncate})))(tls, pFile, size)
}

func walSyncFile(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	if rc := walFileOf(pFile).flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ uintptr }{walBase().FxSync})))(tls, pFile, flags)
}

func walFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	if rc := walFileOf(pFile).flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walBase().FxFileSize})))(tls, pFile, pSize)
}

func walFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	if rc := walFileOf(pFile).flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walBase().FxFileControl})))(tls, pFile, op, pArg)
}

func walClose(tls *libc.TLS, pFile uintptr) int32 {
	f := walFileOf(pFile)
	rc := f.flush(tls, pFile)
	if f.buf != 0 {
		libc.Xfree(tls, f.buf)
	}
	walVFS.files.Delete(pFile)
	walVFS.dbs.CompareAndDelete(f.db, f)
	if rc2 := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walBase().FxClose})))(tls, pFile); rc == sqlite3.SQLITE_OK {
		rc = rc2
	}
	return rc
}

// walShmLock takes or lets go of locks of the database's wal-index. When
// the writer lets go of the WAL's write lock (lock 0) its transaction is
// over: committed, and its frames are written already, or rolled back,
// and the frames still held are of no use. They are dropped: SQLite would
// have written them past the WAL's last commit, where nothing reads them,
// but once the lock is let go another connection (another process) may
// append its own commit there, which a late write of them would overwrite.
func walShmLock(tls *libc.TLS, pFile uintptr, ofst, n, flags int32) int32 {
	if ofst == 0 && flags == sqlite3.SQLITE_SHM_UNLOCK|sqlite3.SQLITE_SHM_EXCLUSIVE {
		walDrop(pFile)
	}
	return (*(*func(*libc.TLS, uintptr, int32, int32, int32) int32)(unsafe.Pointer(&struct{ uintptr }{(*sqlite3.Tsqlite3_io_methods)(cptr(walVFS.dbBase)).FxShmLock})))(tls, pFile, ofst, n, flags)
}

// walDBUnlock lowers the database file's lock. In exclusive locking mode
// SQLite takes no lock of the wal-index, and walShmLock never sees the
// end of a transaction; the database file's exclusive lock keeps other
// connections out instead, until the writer leaves that mode and lowers
// it here, outside any transaction. Frames still held then are a rolled
// back transaction's, dropped for the same reason as in walShmLock.
func walDBUnlock(tls *libc.TLS, pFile uintptr, lock int32) int32 {
	walDrop(pFile)
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ uintptr }{(*sqlite3.Tsqlite3_io_methods)(cptr(walVFS.dbBase)).FxUnlock})))(tls, pFile, lock)
}

// walDrop drops the frames held for the WAL of the database file pFile.
func walDrop(pFile uintptr) {
	if f, ok := walVFS.dbs.Load(pFile); ok {
		f.(*walFile).n, f.(*walFile).commit = 0, false
	}
}
