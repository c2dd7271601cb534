// Package pgtest starts a throwaway PostgreSQL server for a test.
//
// Start runs initdb in a temporary directory and starts postgres on a free
// loopback port, with fsync on, and stops it when the test ends. When the
// PostgreSQL server binaries are missing it skips the test, or fails it when
// CIVIQ_REQUIRE_POSTGRES=1 (as CI sets it). Run as root (as CI is), the
// server runs as the unprivileged user "postgres" (or "nobody" where there is
// no such user), since PostgreSQL refuses to run as root.
package pgtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const installHint = "install with `apt-get install -y postgresql` (Debian), " +
	"or set CIVIQ_PG_BIN to the directory holding initdb and postgres"

// StartTimeout bounds how long Start waits for the server to accept queries.
var StartTimeout = 60 * time.Second

// Start starts a fresh PostgreSQL server for t and returns a URL for its
// "postgres" database as superuser "postgres" (trust authentication), e.g.
// postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable. The server
// is stopped (SIGINT, a fast shutdown) and its files removed when t ends.
func Start(t testing.TB) (url string) {
	t.Helper()
	bin := requireBin(t)
	url, stop, out, err := startIn(bin, t.TempDir())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("pgtest: postgres output:\n%s", out.String())
		}
	})
	return url
}

// Server is a PostgreSQL server a test can stop and start again, to see
// how civiq behaves while its database is away.
type Server struct {
	URL  string
	t    testing.TB
	bin  string
	cred *syscall.Credential
	dir  string
	port int
	stop func()
}

// StartServer starts a server for t, like Start, and returns it.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := requireBin(t)
	dir := t.TempDir()
	url, stop, _, err := startIn(bin, dir)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s := &Server{URL: url, t: t, bin: bin, dir: dir, stop: stop}
	s.cred, _ = credential(dir)
	fmt.Sscanf(url[strings.LastIndex(url, ":")+1:], "%d", &s.port)
	t.Cleanup(func() { s.Stop() })
	return s
}

// Stop shuts the server down (fast shutdown) and waits for it.
func (s *Server) Stop() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// Restart starts the stopped server again on the same port and data.
func (s *Server) Restart() {
	s.t.Helper()
	url, stop, _, err := startOn(s.bin, s.cred, s.dir, filepath.Join(s.dir, "data"), s.port)
	if err != nil {
		s.t.Fatalf("pgtest: restart: %v", err)
	}
	s.URL, s.stop = url, stop
}

// requireBin finds the server binaries, or skips t (fails it under
// CIVIQ_REQUIRE_POSTGRES=1).
func requireBin(t testing.TB) string {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		msg := "PostgreSQL test needs the server binaries: " + err.Error() + " — " + installHint
		if os.Getenv("CIVIQ_REQUIRE_POSTGRES") == "1" {
			t.Fatal(msg + " (CIVIQ_REQUIRE_POSTGRES=1, so this is an error, not a skip)")
		}
		t.Skip(msg)
	}
	return bin
}

// startIn runs initdb in dir and starts a server on it.
func startIn(bin, dir string) (url string, stop func(), out *Output, err error) {
	cred, err := credential(dir)
	if err != nil {
		return "", nil, nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := command(cred, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	if b, err := initdb.CombinedOutput(); err != nil {
		return "", nil, nil, fmt.Errorf("initdb: %v\n%s", err, b)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		url, stop, out, err := start(bin, cred, dir, data)
		if err == nil {
			return url, stop, out, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return "", nil, nil, lastErr
}

// shared is one server for every Database of the test process; it lives
// as long as the process (the kernel stops it when the process dies).
var shared struct {
	once sync.Once
	url  string
	err  error
	n    int
	mu   sync.Mutex
}

// Database returns the URL of a new, empty database on a server shared by
// the whole test process, and drops the database when t ends. It is much
// faster than Start when many tests each need a database of their own.
func Database(t testing.TB) string {
	t.Helper()
	bin := requireBin(t)
	shared.once.Do(func() {
		removeStale(os.TempDir())
		dir, err := os.MkdirTemp("", "civiq-pgtest-")
		if err != nil {
			shared.err = err
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			shared.err = err
			return
		}
		shared.url, _, _, shared.err = startIn(bin, dir)
	})
	if shared.err != nil {
		t.Fatalf("pgtest: %v", shared.err)
	}
	shared.mu.Lock()
	shared.n++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), shared.n)
	shared.mu.Unlock()
	addr := strings.TrimSuffix(strings.TrimPrefix(shared.url, "postgres://postgres@"), "/postgres?sslmode=disable")
	c, err := Dial(addr, "postgres", "postgres")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer c.Close()
	if _, err := c.Query("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := Dial(addr, "postgres", "postgres")
		if err != nil {
			return
		}
		defer c.Close()
		c.Query("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	return strings.Replace(shared.url, "/postgres?", "/"+name+"?", 1)
}

// removeStale deletes, in tmp, the shared servers' directories of test
// processes that have ended: a shared server lives as long as its process,
// which cannot remove the directory after it, and each left 50-90 MB
// behind (hundreds a day on a developer's machine). A directory without
// its owner's pid (being made, or from before) is left alone.
func removeStale(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, "civiq-pgtest-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

var errPortTaken = errors.New("port taken")

// Output collects what a process (here the PostgreSQL server) or a logger
// writes from its goroutines while a test reads it.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

func start(bin string, cred *syscall.Credential, dir, data string) (string, func(), *Output, error) {
	port, err := freePort()
	if err != nil {
		return "", nil, nil, err
	}
	return startOn(bin, cred, dir, data, port)
}

func startOn(bin string, cred *syscall.Credential, dir, data string, port int) (string, func(), *Output, error) {
	out := &Output{}
	cmd := command(cred, filepath.Join(bin, "postgres"),
		"-D", data,
		"-p", strconv.Itoa(port),
		"-k", dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=on",
		"-c", "max_connections=50",
		"-c", "shared_buffers=32MB",
		"-c", "logging_collector=off",
	)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return "", nil, nil, fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		select {
		case <-exited:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(StartTimeout)
	for {
		err := Ping(addr, "postgres", "postgres")
		if err == nil {
			break
		}
		select {
		case <-exited:
			if strings.Contains(out.String(), "could not bind") || strings.Contains(out.String(), "Address already in use") {
				return "", nil, nil, fmt.Errorf("%w: postgres on port %d: %v\n%s", errPortTaken, port, waitErr, out.String())
			}
			return "", nil, nil, fmt.Errorf("postgres exited: %v\n%s", waitErr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, nil, fmt.Errorf("postgres on %s not ready after %v: %v\n%s", addr, StartTimeout, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", addr), stop, out, nil
}

// command builds an exec.Cmd that runs as cred's user when cred is non-nil,
// in its own process group, and is sent SIGQUIT (immediate shutdown) if the
// test process dies without stopping it.
func command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGQUIT,
		Credential: cred,
	}
	env := []string{"LC_ALL=C", "TZ=UTC"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "TZ" || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	return cmd
}

// credential returns nil when not root. As root it picks the unprivileged
// user that runs the server, gives it dir and makes dir's parent (the test's
// private temporary directory) traversable for it.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root, and there is no user postgres or nobody to run the server as: %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %s: bad uid/gid %q/%q", u.Username, u.Uid, u.Gid)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	// t.TempDir() makes a 0700 directory per test, owned by root, below
	// os.TempDir(): the server's user must be able to pass through it.
	tmp := filepath.Clean(os.TempDir())
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if !strings.HasPrefix(p, tmp+string(filepath.Separator)) {
				return nil, fmt.Errorf("user %s cannot pass through %s (mode %v) to reach %s; set TMPDIR to a directory others can enter",
					u.Username, p, fi.Mode().Perm(), dir)
			}
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return nil, err
			}
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// BinDir returns the directory holding initdb and postgres: CIVIQ_PG_BIN,
// else the newest /usr/lib/postgresql/*/bin, else the one in PATH.
func BinDir() (string, error) {
	if d := os.Getenv("CIVIQ_PG_BIN"); d != "" {
		if hasServer(d) {
			return d, nil
		}
		return "", fmt.Errorf("CIVIQ_PG_BIN=%s holds no initdb and postgres", d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if hasServer(d) {
			return d, nil
		}
	}
	initdb, err1 := exec.LookPath("initdb")
	postgres, err2 := exec.LookPath("postgres")
	if err1 == nil && err2 == nil {
		// Follow symlinks (as in /usr/local/bin) to the real directory.
		if r, err := filepath.EvalSymlinks(initdb); err == nil && hasServer(filepath.Dir(r)) {
			return filepath.Dir(r), nil
		}
		if filepath.Dir(initdb) == filepath.Dir(postgres) {
			return filepath.Dir(initdb), nil
		}
	}
	return "", errors.New("initdb and postgres not found (CIVIQ_PG_BIN unset, no /usr/lib/postgresql/*/bin, none in PATH)")
}

func versionOf(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// Ping opens a TCP connection to a PostgreSQL server at addr, logs in as
// user to database (trust authentication, no TLS) and waits for
// ReadyForQuery. It returns an error while the server is still starting up.
func Ping(addr, user, database string) error {
	c, err := Dial(addr, user, database)
	if err != nil {
		return err
	}
	return c.Close()
}

// Conn is a minimal PostgreSQL wire-protocol (v3) client: enough to check a
// server from tests without a driver. It supports trust authentication and
// the simple query protocol only.
type Conn struct {
	nc net.Conn
}

// Dial connects and logs in; see Ping.
func Dial(addr, user, database string) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &Conn{nc: nc}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	var body []byte
	body = binary.BigEndian.AppendUint32(body, 196608) // protocol 3.0
	for _, kv := range [][2]string{{"user", user}, {"database", database}} {
		body = append(body, kv[0]...)
		body = append(body, 0)
		body = append(body, kv[1]...)
		body = append(body, 0)
	}
	body = append(body, 0)
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
	if _, err := nc.Write(append(msg, body...)); err != nil {
		nc.Close()
		return nil, err
	}
	for {
		typ, payload, err := c.read()
		if err != nil {
			nc.Close()
			return nil, err
		}
		switch typ {
		case 'R':
			if len(payload) < 4 || binary.BigEndian.Uint32(payload) != 0 {
				nc.Close()
				return nil, errors.New("postgres: server asks for a password (only trust authentication is supported)")
			}
		case 'E':
			nc.Close()
			return nil, errorResponse(payload)
		case 'Z':
			_ = nc.SetDeadline(time.Time{})
			return c, nil
		}
	}
}

// Query runs sql with the simple query protocol and returns the rows as
// text (NULL as ""). An error response from the server is returned as error.
func (c *Conn) Query(sql string) ([][]string, error) {
	_ = c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.nc.SetDeadline(time.Time{})
	msg := []byte{'Q'}
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(sql)+5))
	msg = append(msg, sql...)
	msg = append(msg, 0)
	if _, err := c.nc.Write(msg); err != nil {
		return nil, err
	}
	var rows [][]string
	var qerr error
	for {
		typ, payload, err := c.read()
		if err != nil {
			return nil, err
		}
		switch typ {
		case 'D':
			row, err := dataRow(payload)
			if err != nil {
				return nil, err
			}
			rows = append(rows, row)
		case 'E':
			qerr = errorResponse(payload)
		case 'Z':
			return rows, qerr
		}
	}
}

// Close sends Terminate and closes the connection.
func (c *Conn) Close() error {
	_, _ = c.nc.Write([]byte{'X', 0, 0, 0, 4})
	return c.nc.Close()
}

func (c *Conn) read() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 64<<20 {
		return 0, nil, fmt.Errorf("postgres: bad message length %d", n)
	}
	payload := make([]byte, n-4)
	if _, err := io.ReadFull(c.nc, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

func dataRow(p []byte) ([]string, error) {
	if len(p) < 2 {
		return nil, errors.New("postgres: short DataRow")
	}
	n := int(binary.BigEndian.Uint16(p))
	p = p[2:]
	row := make([]string, n)
	for i := range row {
		if len(p) < 4 {
			return nil, errors.New("postgres: short DataRow")
		}
		l := int32(binary.BigEndian.Uint32(p))
		p = p[4:]
		if l < 0 {
			continue
		}
		if int(l) > len(p) {
			return nil, errors.New("postgres: short DataRow")
		}
		row[i] = string(p[:l])
		p = p[l:]
	}
	return row, nil
}

// errorResponse turns an ErrorResponse payload into an error of the form
// "postgres: SEVERITY: message (SQLSTATE code)".
func errorResponse(p []byte) error {
	fields := map[byte]string{}
	for len(p) > 0 && p[0] != 0 {
		k := p[0]
		end := bytes.IndexByte(p[1:], 0)
		if end < 0 {
			break
		}
		fields[k] = string(p[1 : 1+end])
		p = p[2+end:]
	}
	return fmt.Errorf("postgres: %s: %s (SQLSTATE %s)", fields['S'], fields['M'], fields['C'])
}
