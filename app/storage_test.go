package app_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/civiq/civiq/app"
	"github.com/civiq/civiq/sqlstore"
)

// node is a civiq node on the SQLite file at path, served over HTTP.
type node struct {
	*app.App
	url string
}

func startNode(t *testing.T, path string) *node {
	t.Helper()
	store, err := sqlstore.Open(path, sqlstore.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	a, err := app.New(store, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	srv := httptest.NewServer(a.API)
	t.Cleanup(func() {
		a.API.Close()
		srv.Close()
		store.Close()
	})
	return &node{App: a, url: srv.URL}
}

// takeTicket takes a remote ticket at the demo hall and returns the
// answer's status and its Retry-After.
func (n *node) takeTicket(t *testing.T) (int, string) {
	t.Helper()
	res, err := http.Post(n.url+"/api/v1/halls/demo/tickets", "application/json",
		strings.NewReader(`{"service_id":"general","channel":"remote"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("take a ticket: %d %s", res.StatusCode, b)
	}
	return res.StatusCode, res.Header.Get("Retry-After")
}

func (n *node) ready(t *testing.T) int {
	t.Helper()
	res, err := http.Get(n.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// demoFile writes the demo hall to a new SQLite file in dir and closes it.
func demoFile(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "civiq.db")
	store, err := sqlstore.Open(path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(store, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	if _, err := a.Engine.LoadDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The node's workers stop before the store closes: a read of theirs
	// still running keeps the file open past Close, and SQLite shares an
	// open file within a process, so the next store opened on it here
	// could commit to it after all once it is read-only (/readyz 200 on
	// a read-only file, under load).
	a.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// A node started on a read-only database file answers writes 503 with
// Retry-After and is not ready; once the file is writable again it takes
// writes and is ready, without a restart (issue 18: 500 for good, ready
// throughout). File modes do not stop root, so as root the test runs
// itself again as the user nobody.
func TestReadOnlyFileAnswers503UntilWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t)
		return
	}
	path := demoFile(t, t.TempDir())
	// The WAL and shared-memory files, where SQLite left them, are made
	// read-only too: a writable WAL beside a read-only file still takes
	// commits, so that file would not be read-only storage at all.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o444); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	n := startNode(t, path)
	if code := n.ready(t); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz on a read-only file before any write: %d, want 503", code)
	}
	if code, retry := n.takeTicket(t); code != http.StatusServiceUnavailable || retry == "" {
		t.Fatalf("ticket on a read-only file: %d, Retry-After %q; want 503 with Retry-After", code, retry)
	}
	if code := n.ready(t); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while writes fail: %d, want 503", code)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := n.ready(t); code != http.StatusOK {
		t.Fatalf("/readyz once the file is writable: %d, want 200", code)
	}
	if code, _ := n.takeTicket(t); code != http.StatusCreated {
		t.Fatalf("ticket once the file is writable: %d, want 201", code)
	}
}

// runAsNobody runs the test again in a child process as the user nobody
// (uid 65534), from a copy of the test binary that user may run.
func runAsNobody(t *testing.T) {
	t.Helper()
	if os.Getenv("CIVIQ_TEST_AS_NOBODY") != "" {
		t.Fatal("still root in the child process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "civiq-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "app.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, tmp} {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "CIVIQ_TEST_AS_NOBODY=1", "TMPDIR="+tmp, "HOME="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody:\n%s", out)
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Skipf("cannot run a child process as nobody: %v", err)
		}
		t.Fatalf("as nobody: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatal("the run as nobody did not pass")
	}
}

// A node whose disk fills answers writes 503 with Retry-After and is not
// ready; once space is freed it takes writes and is ready again, without
// a restart. The disk is a small tmpfs, so the test needs to mount one.
func TestFullDiskAnswers503UntilSpace(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("needs a small filesystem to fill, and mounting a tmpfs failed (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	n := startNode(t, demoFile(t, mnt))
	if code, _ := n.takeTicket(t); code != http.StatusCreated {
		t.Fatalf("ticket: %d, want 201", code)
	}
	fill := filepath.Join(mnt, "fill")
	f, err := os.Create(fill)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	// Space the WAL already holds may take a few more writes.
	code, retry := 0, ""
	for i := 0; i < 500; i++ {
		if code, retry = n.takeTicket(t); code != http.StatusCreated {
			break
		}
	}
	if code != http.StatusServiceUnavailable || retry == "" {
		t.Fatalf("ticket on a full disk: %d, Retry-After %q; want 503 with Retry-After", code, retry)
	}
	if code := n.ready(t); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while writes fail: %d, want 503", code)
	}
	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	if code := n.ready(t); code != http.StatusOK {
		t.Fatalf("/readyz once there is space: %d, want 200", code)
	}
	if code, _ := n.takeTicket(t); code != http.StatusCreated {
		t.Fatalf("ticket once there is space: %d, want 201", code)
	}
}
