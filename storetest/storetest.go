// Package storetest runs one behaviour suite against both stores. A test
// package opens its stores with Open and calls Main from its TestMain: the
// package's tests run on SQLite, then once more, in a child process, on
// PostgreSQL (a real server from the machine's binaries, see pgtest).
package storetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/civiq/civiq/pgtest"
	"github.com/civiq/civiq/postgres"
	"github.com/civiq/civiq/sqlstore"
)

// envKind names the store the tests of this process run on.
const envKind = "CIVIQ_TEST_STORE"

// Kind is "sqlite" or "postgres": the store this process's tests use.
func Kind() string {
	if os.Getenv(envKind) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// Open returns a new, empty store of this run's kind, closed when tb ends.
// A SQLite store is opened with synchronous=NORMAL: in WAL mode a commit
// then waits for no fsync (a few milliseconds each on CI's disk, thousands
// of them in a package) and is still whole after a crash of the process;
// what FULL adds, surviving a power cut, is cmd/civiq's crash tests' and
// the default of civiq serve. CIVIQ_TEST_SYNC=FULL opens them as civiq
// serve does, for benchmarks that stand for the server (BENCHMARKS.md).
func Open(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	var s *sqlstore.Store
	var err error
	if Kind() == "postgres" {
		s, err = postgres.Open(context.Background(), pgtest.Database(tb))
	} else {
		s, err = sqlstore.Open(filepath.Join(tb.TempDir(), "civiq.db"), sqlstore.Options{Synchronous: testSync()})
	}
	if err != nil {
		tb.Fatalf("open %s store: %v", Kind(), err)
	}
	return s
}

// Main runs the tests on SQLite and then on PostgreSQL. Without the
// PostgreSQL binaries the second run is skipped with a note, or fails under
// CIVIQ_REQUIRE_POSTGRES=1.
func Main(m *testing.M) {
	code := m.Run()
	if code != 0 || os.Getenv(envKind) != "" {
		os.Exit(code)
	}
	if _, err := pgtest.BinDir(); err != nil {
		msg := fmt.Sprintf("storetest: the suite did not run on PostgreSQL: %v (apt-get install postgresql)", err)
		fmt.Fprintln(os.Stderr, msg)
		if os.Getenv("CIVIQ_REQUIRE_POSTGRES") == "1" {
			os.Exit(1)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), envKind+"=postgres")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "storetest: on PostgreSQL:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// testSync is the test stores' synchronous pragma: NORMAL, or
// CIVIQ_TEST_SYNC when set (FULL: as civiq serve).
func testSync() string {
	if v := os.Getenv("CIVIQ_TEST_SYNC"); v != "" {
		return v
	}
	return "NORMAL"
}
