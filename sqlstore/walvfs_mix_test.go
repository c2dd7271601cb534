package sqlstore

import (
	"bytes"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// mixDB is one connection to the file of a mixed run: through walVFS or
// SQLite's own VFS.
func mixDB(t *testing.T, path string, vfs bool) *sql.DB {
	t.Helper()
	dsn := DSN(path, Options{Synchronous: "NORMAL"})
	if vfs {
		dsn += "&vfs=" + walVFSName + "&_pragma=cache_size(12)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// mixModel is what the table t holds after the commits so far.
type mixModel map[int]int // id → length of v

func (m mixModel) sums() (n int, sum int64) {
	for id, size := range m {
		n, sum = n+1, sum+int64(id+size)
	}
	return n, sum
}

func (m mixModel) check(t *testing.T, db *sql.DB, what string) {
	t.Helper()
	wantN, wantSum := m.sums()
	if gotN, gotSum := count(t, db); gotN != wantN || gotSum != wantSum {
		t.Fatalf("%s: %d rows (%d), want %d (%d)", what, gotN, gotSum, wantN, wantSum)
	}
}

// mixTx runs one transaction on db: inserts, updates and deletes, some
// of them in savepoints rolled back, and commits it or rolls it back;
// it returns the model after it.
func mixTx(t *testing.T, rnd *rand.Rand, db *sql.DB, m mixModel, nextID *int) mixModel {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	work := mixModel{}
	for id, size := range m {
		work[id] = size
	}
	step := func(w mixModel) {
		n, size := 1+rnd.IntN(30), 10+rnd.IntN(400)
		if rnd.IntN(8) == 0 { // large: spills, more than walGatherMax
			n, size = 200+rnd.IntN(200), 2000+rnd.IntN(3000)
		}
		for range n {
			id := *nextID
			*nextID++
			exec(`INSERT INTO t (id, k, v) VALUES (?, ?, ?)`, id, fmt.Sprintf("k%08x", rnd.Uint32()), bytes.Repeat([]byte{byte(id)}, size))
			w[id] = size
		}
		for id, size := range w { // some rows grown, some gone
			switch rnd.IntN(20) {
			case 0:
				exec(`UPDATE t SET v = zeroblob(?) WHERE id = ?`, size+7, id)
				w[id] = size + 7
			case 1:
				exec(`DELETE FROM t WHERE id = ?`, id)
				delete(w, id)
			}
		}
	}
	for range 1 + rnd.IntN(3) {
		if rnd.IntN(3) > 0 {
			step(work)
			continue
		}
		exec(`SAVEPOINT sp`)
		inner := mixModel{}
		for id, size := range work {
			inner[id] = size
		}
		step(inner)
		if rnd.IntN(2) == 0 {
			exec(`ROLLBACK TO sp`)
			if rnd.IntN(2) == 0 {
				step(work) // more after the savepoint's undo
			}
		} else {
			work = inner
		}
		exec(`RELEASE sp`)
	}
	if rnd.IntN(6) == 0 {
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return work
}

// A long random run of everything SQLite does to a WAL, through walVFS
// and beside it: transactions with savepoints rolled back, large ones,
// rollbacks; a second writer through walVFS and a third through SQLite's
// own VFS on the same file; every checkpoint mode; journal_size_limit;
// VACUUM; the journal mode to DELETE and back; connections closed and
// opened again. After every step a reader on SQLite's own VFS sees every
// commit, and copies of the files (a crash) hold every one.
func TestWALVFSMixedRun(t *testing.T) {
	if err := registerWALVFS(); err != nil {
		t.Fatal(err)
	}
	seed := uint64(7)
	if s := os.Getenv("CIVIQ_WALVFS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rnd := rand.New(rand.NewPCG(seed, 3))
	path := filepath.Join(t.TempDir(), "mix.db")
	if ps := os.Getenv("CIVIQ_WALVFS_PAGESIZE"); ps != "" {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=page_size("+ps+")")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	a, b, c, r := mixDB(t, path, true), mixDB(t, path, true), mixDB(t, path, false), mixDB(t, path, false)
	defer func() { a.Close(); b.Close(); c.Close(); r.Close() }()
	if _, err := a.Exec(`CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	var pageSize int
	if err := a.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	t.Logf("page size %d", pageSize)
	m, nextID := mixModel{}, 1
	run := func(db *sql.DB, q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	steps := 200
	if testing.Short() {
		steps = 100
	}
	for step := range steps {
		what := ""
		switch k := rnd.IntN(100); {
		case k < 55:
			what = "a's transaction"
			m = mixTx(t, rnd, a, m, &nextID)
		case k < 65:
			what = "b's transaction"
			m = mixTx(t, rnd, b, m, &nextID)
		case k < 75:
			what = "c's transaction"
			m = mixTx(t, rnd, c, m, &nextID)
		case k < 85:
			mode := []string{"PASSIVE", "FULL", "RESTART", "TRUNCATE"}[rnd.IntN(4)]
			db := []*sql.DB{a, b, c, r}[rnd.IntN(4)]
			what = "wal_checkpoint(" + mode + ")"
			run(db, `PRAGMA wal_checkpoint(`+mode+`)`)
		case k < 89:
			what = "journal_size_limit"
			run([]*sql.DB{a, b}[rnd.IntN(2)], fmt.Sprintf(`PRAGMA journal_size_limit=%d`, []int{0, 4096, 100000, -1}[rnd.IntN(4)]))
		case k < 91:
			what = "VACUUM"
			run([]*sql.DB{a, b}[rnd.IntN(2)], `VACUUM`)
		case k < 94:
			what = "a closed and opened again"
			a.Close()
			a = mixDB(t, path, true)
		case k < 96:
			what = "b closed and opened again"
			b.Close()
			b = mixDB(t, path, true)
		default:
			// Out of WAL needs the file to itself: the others closed.
			what = "journal_mode DELETE and back"
			b.Close()
			c.Close()
			r.Close()
			run(a, `PRAGMA journal_mode=DELETE`)
			m = mixTx(t, rnd, a, m, &nextID)
			run(a, `PRAGMA journal_mode=WAL`)
			b, c, r = mixDB(t, path, true), mixDB(t, path, false), mixDB(t, path, false)
		}
		m.check(t, r, fmt.Sprintf("step %d (%s): the reader sees", step, what))
		if step%10 == 9 {
			cp := copyFiles(t, path)
			m.check(t, cp, fmt.Sprintf("step %d (%s): the files hold", step, what))
			integrity(t, cp)
			cp.Close()
		}
	}
	integrity(t, a)
}

// walVFSChild, when set, makes the test binary a writer of its own on the
// file it names, through SQLite's own VFS (TestWALVFSOtherProcess).
const walVFSChild = "CIVIQ_WALVFS_CHILD"

// Another process writing the same file between the writer's
// transactions (some rolled back with frames held, some large), each
// checked by a reader and in a copy of the files.
func TestWALVFSOtherProcess(t *testing.T) {
	if p := os.Getenv(walVFSChild); p != "" {
		db := mixDB(t, p, false)
		defer db.Close()
		from, _ := strconv.Atoi(os.Getenv(walVFSChild + "_FROM"))
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		insertRows(t, tx, from, 50, 700)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if os.Getenv(walVFSChild+"_CKPT") != "" {
			if _, err := db.Exec(`PRAGMA wal_checkpoint(RESTART)`); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if err := registerWALVFS(); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "proc.db")
	a, r := mixDB(t, path, true), mixDB(t, path, false)
	defer func() { a.Close(); r.Close() }()
	if _, err := a.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(11, 12))
	m, nextID := mixModel{}, 1
	for round := range 8 {
		m = mixTx(t, rnd, a, m, &nextID)
		insertTx(t, a, 1_000_000, 100, 1000, false) // rolled back, large enough to hold frames
		cmd := exec.Command(exe, "-test.run=^TestWALVFSOtherProcess$")
		cmd.Env = append(os.Environ(), walVFSChild+"="+path, walVFSChild+"_FROM="+strconv.Itoa(nextID))
		if round%2 == 1 {
			cmd.Env = append(cmd.Env, walVFSChild+"_CKPT=1")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the other process: %v\n%s", err, out)
		}
		for id := nextID; id < nextID+50; id++ {
			m[id] = 700
		}
		nextID += 50
		m.check(t, r, fmt.Sprintf("round %d: the reader sees", round))
		m.check(t, a, fmt.Sprintf("round %d: the writer sees", round))
		m = mixTx(t, rnd, a, m, &nextID)
		m.check(t, r, fmt.Sprintf("round %d, after the writer: the reader sees", round))
		cp := copyFiles(t, path)
		m.check(t, cp, fmt.Sprintf("round %d: the files hold", round))
		integrity(t, cp)
		cp.Close()
	}
}

// A transaction rolled back while the writer held the file in exclusive
// locking mode, where SQLite takes no lock of the wal-index, leaves no
// frames to be written once another connection may write there.
func TestWALVFSExclusiveModeRollback(t *testing.T) {
	if err := registerWALVFS(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "excl.db")
	w := mixDB(t, path, true)
	defer w.Close()
	run := func(db *sql.DB, q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	run(w, `CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)`)
	run(w, `PRAGMA wal_checkpoint(TRUNCATE)`)
	run(w, `PRAGMA locking_mode=EXCLUSIVE`)
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	insertRows(t, tx, 1001, 100, 1000)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	t.Logf("held after the rollback: %d bytes", walOf(path).n)
	run(w, `PRAGMA locking_mode=NORMAL`)
	count(t, w) // the exclusive lock let go
	other := mixDB(t, path, false)
	defer other.Close()
	insertTx(t, other, 1, 200, 1000, true)
	m := mixModel{}
	for id := 1; id <= 200; id++ {
		m[id] = 1000
	}
	m.check(t, w, "the writer sees")
	r := mixDB(t, path, false)
	defer r.Close()
	m.check(t, r, "a reader sees")
	integrity(t, r)
	cp := copyFiles(t, path)
	m.check(t, cp, "the files hold")
	integrity(t, cp)
}

// A COMMIT whose frames fail to reach the file after a part of them did
// (a full disk in the second of the writes a large commit takes) fails,
// and leaves no commit behind: not for a reader, not in the files; the
// writer and another connection commit after it, over the part written.
func TestWALVFSCommitFailsHalfWritten(t *testing.T) {
	if err := registerWALVFS(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "half.db")
	w, err := sql.Open("sqlite", DSN(path, Options{Synchronous: "NORMAL"})+"&vfs="+walVFSName)
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	other, r := mixDB(t, path, false), mixDB(t, path, false)
	defer func() { w.Close(); other.Close(); r.Close() }()
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	m := mixModel{}
	commit := func(db *sql.DB, from, n, size int) error {
		t.Helper()
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		insertRows(t, tx, from, n, size)
		if err := tx.Commit(); err != nil {
			return err
		}
		for id := from; id < from+n; id++ {
			m[id] = size
		}
		return nil
	}
	if err := commit(w, 1, 20, 500); err != nil {
		t.Fatal(err)
	}
	failWALWrites(t)
	for round := range 6 {
		from := 10000 * (round + 1)
		// About 100 pages in the cache, written at the COMMIT: several
		// writes of walWriteMax, one of which fails (the first, the
		// second, the last); or 500 pages, more than walGatherMax, whose
		// frames are written in two parts.
		rows := []int{300, 300, 300, 1500, 1500, 1500}[round]
		walFault.skip, walFault.n = []int{1, 0, 3, 2, 8, 12}[round], 1
		if err := commit(w, from, rows, 1000); err == nil {
			t.Fatalf("round %d: the COMMIT met no failure", round)
		} else {
			t.Logf("round %d: the COMMIT: %v (the write failed in %s)", round, err, walFault.where)
		}
		walFault.skip, walFault.n, walFault.where = 0, 0, ""
		m.check(t, r, fmt.Sprintf("round %d, after the failure: a reader sees", round))
		cp := copyFiles(t, path)
		m.check(t, cp, fmt.Sprintf("round %d, after the failure: the files hold", round))
		integrity(t, cp)
		cp.Close()
		db := []*sql.DB{w, other}[round%2]
		if err := commit(db, from+500, 5, 300); err != nil {
			t.Fatal(err)
		}
		m.check(t, r, fmt.Sprintf("round %d, after the next commit: a reader sees", round))
		m.check(t, w, fmt.Sprintf("round %d, after the next commit: the writer sees", round))
		cp = copyFiles(t, path)
		m.check(t, cp, fmt.Sprintf("round %d, after the next commit: the files hold", round))
		integrity(t, cp)
		cp.Close()
	}
}

// walVFSKillChild, when set, makes the test binary a writer through
// walVFS that commits until it is killed, saying each commit once it
// returned (TestWALVFSKilled).
const walVFSKillChild = "CIVIQ_WALVFS_KILL_CHILD"

// A writer killed at any moment (in the middle of a commit's writes, of
// a rollback, of a checkpoint) leaves every commit it was told of in the
// files, whole, and none it was not.
func TestWALVFSKilled(t *testing.T) {
	if p := os.Getenv(walVFSKillChild); p != "" {
		if err := registerWALVFS(); err != nil {
			t.Fatal(err)
		}
		w := mixDB(t, p, true)
		if _, err := w.Exec(`CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)`); err != nil {
			t.Fatal(err)
		}
		rnd := rand.New(rand.NewPCG(uint64(os.Getpid()), 5))
		next := 1
		for i := 0; ; i++ {
			n, size := 1+rnd.IntN(40), 100+rnd.IntN(2000)
			if i%7 == 3 {
				n = 300 + rnd.IntN(300)
			}
			tx, err := w.Begin()
			if err != nil {
				t.Fatal(err)
			}
			insertRows(t, tx, next, n, size)
			if i%5 == 4 {
				tx.Rollback()
				continue
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			next += n
			fmt.Printf("committed %d\n", next-1)
			if i%11 == 10 {
				w.Exec(`PRAGMA wal_checkpoint(` + []string{"PASSIVE", "RESTART", "TRUNCATE"}[rnd.IntN(3)] + `)`)
			}
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for round := range 5 {
		path := filepath.Join(dir, fmt.Sprintf("killed%d.db", round))
		cmd := exec.Command(exe, "-test.run=^TestWALVFSKilled$")
		cmd.Env = append(os.Environ(), walVFSKillChild+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		told, stop := 0, 1500*(round+1)
		var line []byte
		buf := make([]byte, 1)
		for told < stop {
			if _, err := out.Read(buf); err != nil {
				t.Fatalf("the writer stopped: %v (told of %d)", err, told)
			}
			if buf[0] != '\n' {
				line = append(line, buf[0])
				continue
			}
			if n, ok := bytes.CutPrefix(line, []byte("committed ")); ok {
				told, _ = strconv.Atoi(string(n))
			}
			line = line[:0]
		}
		cmd.Process.Kill()
		cmd.Wait()
		// What it said after the last line read may be in the files too.
		db := mixDB(t, path, false)
		var n, max int
		if err := db.QueryRow(`SELECT count(*), coalesce(max(id), 0) FROM t`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		if n != max || n < told {
			t.Fatalf("round %d: %d rows up to id %d, told of %d", round, n, max, told)
		}
		integrity(t, db)
		db.Close()
		t.Logf("round %d: told of %d, %d in the files", round, told, n)
	}
}
