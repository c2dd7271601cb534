package sqlstore

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// walVFSDB opens path's writer through walVFS, with a page cache small
// enough that large transactions spill frames before their commit (and
// write some of them again, which rewrites their checksums), and a reader
// through SQLite's own VFS.
func walVFSDB(t *testing.T, path string) (w, r *sql.DB) {
	t.Helper()
	if err := registerWALVFS(); err != nil {
		t.Fatal(err)
	}
	w, err := sql.Open("sqlite", DSN(path, Options{Synchronous: "NORMAL"})+"&vfs="+walVFSName+"&_pragma=cache_size(12)")
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	r, err = sql.Open("sqlite", DSN(path, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); r.Close() })
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	return w, r
}

// copyFiles copies the database and its WAL (not the wal-index, which a
// process that died leaves behind as garbage) into a new directory, as a
// crash would leave them, and opens the copy with SQLite's own VFS.
func copyFiles(t *testing.T, path string) *sql.DB {
	t.Helper()
	dir := t.TempDir()
	for _, suffix := range []string{"", "-wal"} {
		in, err := os.Open(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, "copy.db"+suffix))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
	db, err := sql.Open("sqlite", DSN(filepath.Join(dir, "copy.db"), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB) (n int, sum int64) {
	t.Helper()
	if err := db.QueryRow(`SELECT count(*), coalesce(sum(length(v) + id), 0) FROM t`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	return n, sum
}

func integrity(t *testing.T, db *sql.DB) {
	t.Helper()
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
}

// Every commit through walVFS is in the files when it returns, whole:
// a reader sees it at once, and a copy of the files taken then (a crash)
// holds it after SQLite's recovery checks every frame's checksum — over
// small and large transactions, spills, pages written twice before the
// commit, rollbacks and the checkpoints and WAL restarts in between.
func TestWALVFSKeepsEveryCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vfs.db")
	w, r := walVFSDB(t, path)
	rnd := rand.New(rand.NewPCG(1, 2))
	wantN, wantSum := 0, int64(0)
	nextID := 1
	for round := range 240 {
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		n, size := 1+rnd.IntN(20), 10+rnd.IntN(300)
		switch round % 10 {
		case 3: // large: spills, and more than walGatherMax
			n, size = 300+rnd.IntN(200), 3000+rnd.IntN(2000)
		case 6: // pages written, spilled and written again
			n = 150
		}
		addN, addSum := 0, int64(0)
		for range n {
			v := bytes.Repeat([]byte{byte(nextID)}, size)
			if _, err := tx.Exec(`INSERT INTO t (id, k, v) VALUES (?, ?, ?)`, nextID, fmt.Sprintf("k%08x", rnd.Uint32()), v); err != nil {
				t.Fatal(err)
			}
			addN, addSum = addN+1, addSum+int64(size+nextID)
			nextID++
		}
		if round%10 == 6 { // every row of the transaction grown: its pages again
			if _, err := tx.Exec(`UPDATE t SET v = zeroblob(length(v) + 1) WHERE id >= ?`, nextID-n); err != nil {
				t.Fatal(err)
			}
			addSum += int64(n)
		}
		if round%7 == 5 {
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			nextID -= n
		} else {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			wantN, wantSum = wantN+addN, wantSum+addSum
		}
		if gotN, gotSum := count(t, r); gotN != wantN || gotSum != wantSum {
			t.Fatalf("round %d: the reader sees %d rows (%d), want %d (%d)", round, gotN, gotSum, wantN, wantSum)
		}
		if round%20 == 19 {
			c := copyFiles(t, path)
			if gotN, gotSum := count(t, c); gotN != wantN || gotSum != wantSum {
				t.Fatalf("round %d: the files hold %d rows (%d), want %d (%d)", round, gotN, gotSum, wantN, wantSum)
			}
			integrity(t, c)
		}
		if round%50 == 49 {
			if _, err := w.Exec(`PRAGMA wal_checkpoint(RESTART)`); err != nil {
				t.Fatal(err)
			}
		}
	}
	integrity(t, w)
}

// A commit's frames go to the file in one write, not two a frame.
func TestWALVFSOneWriteACommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vfs.db")
	w, _ := walVFSDB(t, path)
	if _, err := w.Exec(`INSERT INTO t (id, k, v) VALUES (1, 'a', x'00')`); err != nil {
		t.Fatal(err)
	}
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 { // a few pages of the table and of its index
		if _, err := tx.Exec(`INSERT INTO t (id, k, v) VALUES (?, ?, zeroblob(1500))`, 2+i*1000, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := walOf(path).writes
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := walOf(path).writes - before; n != 1 {
		t.Fatalf("the commit took %d writes, want 1", n)
	}
	if n, _ := count(t, copyFiles(t, path)); n != 7 {
		t.Fatalf("the files hold %d rows, want 7", n)
	}
}

// walOf is walVFS's WAL file of the database at path, an empty one when
// none is open.
func walOf(path string) (f *walFile) {
	f = &walFile{}
	walVFS.files.Range(func(_, v any) bool {
		if w := v.(*walFile); w.name == path+"-wal" {
			f = w
		}
		return true
	})
	return f
}

// insertTx inserts as insertRows in a transaction of its own on db,
// committed or rolled back.
func insertTx(t *testing.T, db *sql.DB, from, n, size int, commit bool) (sum int64) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	sum = insertRows(t, tx, from, n, size)
	end := tx.Rollback
	if commit {
		end = tx.Commit
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
	return sum
}

func insertRows(t *testing.T, tx *sql.Tx, from, n, size int) (sum int64) {
	t.Helper()
	for id := from; id < from+n; id++ {
		if _, err := tx.Exec(`INSERT INTO t (id, k, v) VALUES (?, ?, ?)`, id, fmt.Sprint("k", id), bytes.Repeat([]byte{byte(id)}, size)); err != nil {
			t.Fatal(err)
		}
		sum += int64(id + size)
	}
	return sum
}

// walFault has the unix VFS's writes to walVFS's files fail as on a full
// disk (SQLITE_FULL) the next n times, after skip more that succeed;
// where is the walVFS method in which the first one failed.
var walFault struct {
	write   uintptr // the unix VFS's own
	skip, n int
	where   string
}

// failWALWrites puts faultyWrite under the files walVFS has opened, for
// the rest of the test.
func failWALWrites(t *testing.T) {
	t.Helper()
	tls := libc.NewTLS()
	cm := libc.Xmalloc(tls, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
	tls.Close()
	if cm == 0 {
		t.Fatal("out of memory")
	}
	m := (*sqlite3.Tsqlite3_io_methods)(cptr(cm))
	*m = *walBase()
	walFault.write, walFault.n, walFault.where = m.FxWrite, 0, ""
	*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxWrite)) = faultyWrite
	base := walVFS.base
	walVFS.base = cm
	t.Cleanup(func() { walVFS.base = base; walFault.skip, walFault.n = 0, 0 })
}

func faultyWrite(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	if walFault.skip > 0 {
		walFault.skip--
	} else if walFault.n > 0 {
		walFault.n--
		if walFault.where == "" {
			pc := make([]uintptr, 32)
			frames := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
			for {
				fr, more := frames.Next()
				if name := fr.Function[strings.LastIndex(fr.Function, ".")+1:]; name != "flush" && name != "baseWrite" {
					walFault.where = name
					break
				}
				if !more {
					break
				}
			}
		}
		return sqlite3.SQLITE_FULL
	}
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walFault.write})))(tls, pFile, pBuf, amt, off)
}

// Frames whose write failed (a full disk) stay held and are written by
// the next flush. SQLite was told they were written when they were
// spilled; the failure reaches it later, in the read of one of them,
// where a statement that meets SQLITE_FULL is rolled back alone and the
// transaction goes on to commit after them. Dropped, they would be read
// as what the file held there before (an older WAL's frames), and the
// commit would keep pages that are nowhere.
func TestWALVFSFailedWriteKeepsFrames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vfs.db")
	w, r := walVFSDB(t, path)
	// A WAL of older frames, checkpointed: the next transaction writes
	// over them from the WAL's start.
	insertTx(t, w, 1, 300, 3000, true)
	if _, err := w.Exec(`PRAGMA wal_checkpoint(RESTART)`); err != nil {
		t.Fatal(err)
	}
	wantN, wantSum := count(t, r)
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	addSum := insertRows(t, tx, 1001, 100, 1000)
	// The old rows, read from the database file, take the cache: the new
	// rows' pages are all spilled. More rows after them are spilled too,
	// and held.
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM t WHERE id <= 300 AND length(v) > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	addSum += insertRows(t, tx, 2001, 100, 1000)
	t.Logf("held before the failure: %d bytes", walOf(path).n)
	if walOf(path).n == 0 {
		t.Fatal("no frames held before the failure")
	}
	failWALWrites(t)
	walFault.n = 1
	if _, err := tx.Exec(`UPDATE t SET k = k || 'x' WHERE id BETWEEN 1001 AND 1100`); err == nil {
		t.Fatal("the UPDATE met no failure")
	} else {
		t.Logf("the UPDATE: %v (the write failed in %s)", err, walFault.where)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("COMMIT after the statement rolled back: %v", err)
	}
	wantN, wantSum = wantN+200, wantSum+addSum
	if gotN, gotSum := count(t, r); gotN != wantN || gotSum != wantSum {
		t.Fatalf("the reader sees %d rows (%d), want %d (%d)", gotN, gotSum, wantN, wantSum)
	}
	integrity(t, r)
	c := copyFiles(t, path)
	if gotN, gotSum := count(t, c); gotN != wantN || gotSum != wantSum {
		t.Fatalf("the files hold %d rows (%d), want %d (%d)", gotN, gotSum, wantN, wantSum)
	}
	integrity(t, c)
}

// Frames held for a transaction that was rolled back are never written
// once the writer has let go of the WAL: another connection (another
// process) may have committed its own frames where they were to go.
func TestWALVFSRolledBackFramesStayOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vfs.db")
	w, r := walVFSDB(t, path)
	other, err := sql.Open("sqlite", DSN(path, Options{Synchronous: "NORMAL"}))
	if err != nil {
		t.Fatal(err)
	}
	other.SetMaxOpenConns(1)
	t.Cleanup(func() { other.Close() })
	// The WAL emptied: the transaction restarts it, and its rollback reads
	// nothing from it (which would write the frames held).
	if _, err := w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	insertRows(t, tx, 1001, 100, 1000)
	t.Logf("held after the rolled-back inserts: %d bytes", walOf(path).n)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	t.Logf("held after the rollback: %d bytes", walOf(path).n)
	wantSum := insertTx(t, other, 1, 200, 1000, true)
	// The writer reads again: what it reads of the WAL is the other's.
	var gotN int
	var gotSum int64
	if err := w.QueryRow(`SELECT count(*), coalesce(sum(length(v) + id), 0) FROM t`).Scan(&gotN, &gotSum); err != nil || gotN != 200 || gotSum != wantSum {
		t.Errorf("the writer sees %d rows (%d), %v; want 200 (%d)", gotN, gotSum, err, wantSum)
	}
	if gotN, gotSum := count(t, r); gotN != 200 || gotSum != wantSum {
		t.Fatalf("the reader sees %d rows (%d), want 200 (%d)", gotN, gotSum, wantSum)
	}
	integrity(t, r)
	c := copyFiles(t, path)
	if gotN, gotSum := count(t, c); gotN != 200 || gotSum != wantSum {
		t.Fatalf("the files hold %d rows (%d), want 200 (%d)", gotN, gotSum, wantSum)
	}
	integrity(t, c)
}
