package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testAdminPassword is the first admin's password in the tests that set
// CIVIQ_ADMIN_PASSWORD.
const testAdminPassword = "test-admin-password-0123"

func TestMain(m *testing.M) {
	// The program logs through slog; keep the test output to errors.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// mustRun starts the real program in this process on 127.0.0.1:0 with a
// fresh database, the demo hall and CIVIQ_ADMIN_PASSWORD set; it is closed
// when the test ends.
func mustRun(t *testing.T) *Main {
	t.Helper()
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	m, _ := startMain(t, filepath.Join(t.TempDir(), "civiq.db"))
	return m
}

// startMain opens the program on db and returns it with a stop function
// that closes it (once; the test's cleanup calls it too).
func startMain(t *testing.T, db string) (*Main, func()) {
	t.Helper()
	return startConfig(t, Config{Addr: "127.0.0.1:0", DB: db, Demo: true, Synchronous: "FULL"})
}

// startConfig is startMain with the whole configuration.
func startConfig(t *testing.T, c Config) (*Main, func()) {
	t.Helper()
	m := &Main{Config: c}
	if err := m.Open(context.Background()); err != nil {
		m.Close()
		t.Fatalf("open: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := m.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return m, stop
}

// newHTTPClient is a client that keeps enough idle connections for many
// goroutines hitting one server.
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// request sends a JSON request and returns the status and body. It does not
// use testing.T so goroutines may call it.
func request(ctx context.Context, hc *http.Client, method, url, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, b, nil
}

// mustDo is request for the test goroutine: it fails the test on a
// transport error or an unexpected status, and decodes the answer into out.
func mustDo(t *testing.T, hc *http.Client, method, url, token string, body any, want int, out any) []byte {
	t.Helper()
	status, b, err := request(context.Background(), hc, method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, b, err)
		}
	}
	return b
}

// login signs in and returns the bearer token, or "" with the status when
// the server refuses.
func login(t *testing.T, hc *http.Client, base, username, password string) (string, int) {
	t.Helper()
	status, b, err := request(context.Background(), hc, "POST", base+"/api/v1/auth/login", "",
		map[string]string{"username": username, "password": password})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if status != http.StatusOK {
		return "", status
	}
	var out struct {
		Token string `json:"token"`
		User  struct {
			Username string `json:"username"`
			Role     string `json:"role"`
		} `json:"user"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("login: decode %s: %v", b, err)
	}
	if out.Token == "" || out.User.Username != username {
		t.Fatalf("login answer %s: want a token for %s", b, username)
	}
	return out.Token, status
}

func mustLogin(t *testing.T, hc *http.Client, base, username, password string) string {
	t.Helper()
	token, status := login(t, hc, base, username, password)
	if token == "" {
		t.Fatalf("login %s: status %d, want 200", username, status)
	}
	return token
}

// apiTicket is the part of a ticket the tests look at.
type apiTicket struct {
	ID        string     `json:"id"`
	Number    string     `json:"number"`
	HallID    string     `json:"hall_id"`
	ServiceID string     `json:"service_id"`
	Channel   string     `json:"channel"`
	Status    string     `json:"status"`
	IssuedAt  time.Time  `json:"issued_at"`
	CalledAt  *time.Time `json:"called_at"`
	CounterID string     `json:"counter_id"`
	CallCount int        `json:"call_count"`
}

type ticketAnswer struct {
	Ticket apiTicket `json:"ticket"`
}

// demoServices are the demo hall's services with their prefixes.
var demoServices = []struct{ ID, Prefix string }{
	{"general", "A"}, {"property", "B"}, {"tax", "C"}, {"social", "D"},
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("civiq version: exit %d, stderr %q", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "civiq ") || strings.TrimSpace(out.String()) == "civiq" {
		t.Fatalf("civiq version printed %q, want \"civiq <version>\"", out.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"frobnicate"}, 2},
		{nil, 2},
		{[]string{"serve", "--no-such-flag"}, 2},
		{[]string{"serve", "extra-argument"}, 2},
		{[]string{"serve", "--webhook-pipeline", "-1"}, 2},
		{[]string{"serve", "--help"}, 0},
		{[]string{"serve", "-h"}, 0},
		{[]string{"help"}, 0},
	} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), tc.args, &out, &errb)
		if code != tc.code {
			t.Errorf("civiq %q: exit %d, want %d (stdout %q, stderr %q)", tc.args, code, tc.code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	Run(context.Background(), []string{"frobnicate"}, &out, &errb)
	if !strings.Contains(errb.String(), "frobnicate") {
		t.Errorf("unknown command: stderr %q does not name it", errb.String())
	}
	out.Reset()
	errb.Reset()
	Run(context.Background(), []string{"serve", "--help"}, &out, &errb)
	if help := out.String() + errb.String(); !strings.Contains(help, "-addr") || !strings.Contains(help, "-db") {
		t.Errorf("serve --help does not list --addr and --db: %q", help)
	}
}

func TestServeHealth(t *testing.T) {
	m := mustRun(t)
	hc := newHTTPClient()
	status, b, err := request(context.Background(), hc, "GET", m.URL()+"/healthz", "", nil)
	if err != nil || status != 200 || strings.TrimSpace(string(b)) != "ok" {
		t.Fatalf("GET /healthz: %d %q %v", status, b, err)
	}
	mustLogin(t, hc, m.URL(), "admin", testAdminPassword)
	if _, status := login(t, hc, m.URL(), "admin", "wrong-password-123"); status != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password: status %d, want 401", status)
	}
}

func TestFirstAdminRandomPassword(t *testing.T) {
	t.Setenv("CIVIQ_ADMIN_PASSWORD", "")
	db := filepath.Join(t.TempDir(), "civiq.db")
	hc := newHTTPClient()

	m, stop := startMain(t, db)
	pw := m.AdminPassword
	if len(pw) < 16 {
		t.Fatalf("first start without CIVIQ_ADMIN_PASSWORD: generated password %q, want at least 16 characters", pw)
	}
	mustLogin(t, hc, m.URL(), "admin", pw)
	for _, guess := range []string{"admin", "password", "civiq", ""} {
		if _, status := login(t, hc, m.URL(), "admin", guess); status == http.StatusOK {
			t.Fatalf("admin signs in with the guessable password %q", guess)
		}
	}
	stop()

	// Another empty database gets another password.
	m3, _ := startMain(t, filepath.Join(t.TempDir(), "other.db"))
	if m3.AdminPassword == "" || m3.AdminPassword == pw {
		t.Fatalf("a second fresh database got password %q after %q; want a new random one", m3.AdminPassword, pw)
	}

	// The second start on the same database creates nobody and keeps the
	// first password, even when CIVIQ_ADMIN_PASSWORD is set now.
	t.Setenv("CIVIQ_ADMIN_PASSWORD", "a-later-password-456")
	m2, _ := startMain(t, db)
	if m2.AdminPassword != "" {
		t.Fatalf("second start generated another password %q", m2.AdminPassword)
	}
	token := mustLogin(t, hc, m2.URL(), "admin", pw)
	if _, status := login(t, hc, m2.URL(), "admin", "a-later-password-456"); status == http.StatusOK {
		t.Fatal("a later CIVIQ_ADMIN_PASSWORD replaced the first admin's password")
	}
	var users struct {
		Users []struct {
			Username string `json:"username"`
			Role     string `json:"role"`
		} `json:"users"`
	}
	mustDo(t, hc, "GET", m2.URL()+"/api/v1/users", token, nil, 200, &users)
	if len(users.Users) != 1 || users.Users[0].Username != "admin" || users.Users[0].Role != "admin" {
		t.Fatalf("users after restart: %+v, want only admin", users.Users)
	}
}

func TestDemoHallLoadedOnce(t *testing.T) {
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	db := filepath.Join(t.TempDir(), "civiq.db")
	hc := newHTTPClient()

	m, stop := startMain(t, db)
	token := mustLogin(t, hc, m.URL(), "admin", testAdminPassword)
	checkDemo(t, hc, m.URL())
	// Change the demo hall: a restart with --demo must not reset it.
	mustDo(t, hc, "PUT", m.URL()+"/api/v1/halls/demo/services/tax", token,
		map[string]any{"prefix": "C", "name": "税务服务", "name_en": "Tax", "position": 2}, 200, nil)
	var issued ticketAnswer
	// Staff tickets: the demo hall gives remote ones only in its opening hours.
	mustDo(t, hc, "POST", m.URL()+"/api/v1/halls/demo/tickets", token,
		map[string]string{"service_id": "general"}, 201, &issued)
	if issued.Ticket.Number != "A001" {
		t.Fatalf("first ticket of the day: %s, want A001", issued.Ticket.Number)
	}
	stop()

	m2, _ := startMain(t, db)
	token = mustLogin(t, hc, m2.URL(), "admin", testAdminPassword)
	checkDemo(t, hc, m2.URL())
	var svcs struct {
		Services []struct {
			ID, Name string
		} `json:"services"`
	}
	mustDo(t, hc, "GET", m2.URL()+"/api/v1/halls/demo/services", "", nil, 200, &svcs)
	for _, s := range svcs.Services {
		if s.ID == "tax" && s.Name != "税务服务" {
			t.Fatalf("restart with --demo reset the edited service: name %q", s.Name)
		}
	}
	var got ticketAnswer
	mustDo(t, hc, "GET", m2.URL()+"/api/v1/tickets/"+issued.Ticket.ID, "", nil, 200, &got)
	if got.Ticket.Number != "A001" || got.Ticket.Status != "waiting" {
		t.Fatalf("ticket after restart: %+v", got.Ticket)
	}
	var next ticketAnswer
	mustDo(t, hc, "POST", m2.URL()+"/api/v1/halls/demo/tickets", token,
		map[string]string{"service_id": "general"}, 201, &next)
	if hallDay(next.Ticket.IssuedAt) != hallDay(issued.Ticket.IssuedAt) {
		t.Skip("the hall's day changed during the test")
	}
	if next.Ticket.Number != "A002" {
		t.Fatalf("ticket after restart: %s, want A002 (numbering goes on)", next.Ticket.Number)
	}
}

// checkDemo asserts the server holds exactly the demo hall of the contract.
func checkDemo(t *testing.T, hc *http.Client, base string) {
	t.Helper()
	var halls struct {
		Halls []struct {
			ID, Name, Timezone string
		} `json:"halls"`
	}
	mustDo(t, hc, "GET", base+"/api/v1/halls", "", nil, 200, &halls)
	if len(halls.Halls) != 1 || halls.Halls[0].ID != "demo" || halls.Halls[0].Timezone != "Asia/Shanghai" ||
		halls.Halls[0].Name != "示范政务服务大厅" {
		t.Fatalf("halls: %+v, want the demo hall once", halls.Halls)
	}
	var svcs struct {
		Services []struct {
			ID, Prefix string
		} `json:"services"`
	}
	mustDo(t, hc, "GET", base+"/api/v1/halls/demo/services", "", nil, 200, &svcs)
	if len(svcs.Services) != len(demoServices) {
		t.Fatalf("services: %+v, want %d", svcs.Services, len(demoServices))
	}
	for i, s := range svcs.Services {
		if s.ID != demoServices[i].ID || s.Prefix != demoServices[i].Prefix {
			t.Fatalf("service %d: %+v, want %+v", i, s, demoServices[i])
		}
	}
	var cs struct {
		Counters []struct {
			ID         string   `json:"id"`
			ServiceIDs []string `json:"service_ids"`
		} `json:"counters"`
	}
	mustDo(t, hc, "GET", base+"/api/v1/halls/demo/counters", "", nil, 200, &cs)
	if len(cs.Counters) != 6 {
		t.Fatalf("counters: %+v, want 6", cs.Counters)
	}
	want := map[string]string{
		"1": "general,social", "2": "general,social", "3": "property,general", "4": "property,general",
		"5": "tax", "6": "general,property,tax,social",
	}
	for _, c := range cs.Counters {
		if got := strings.Join(c.ServiceIDs, ","); got != want[c.ID] {
			t.Errorf("counter %s serves %s, want %s", c.ID, got, want[c.ID])
		}
	}
}

// TestGracefulShutdown runs the built binary, holds an event stream open
// and sends SIGTERM: the stream ends and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildCiviq(t)
	p := startBinary(t, bin, filepath.Join(t.TempDir(), "c.db"))
	hc := newHTTPClient()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/api/v1/halls/demo/events", nil)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatalf("open event stream: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("event stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 64)
	streamEnd := make(chan error, 1)
	go func() {
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				streamEnd <- err
				close(lines)
				return
			}
			lines <- strings.TrimRight(line, "\n")
		}
	}()
	waitLine := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended before %q", want)
				}
				if strings.HasPrefix(l, want) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q on the stream", want)
			}
		}
	}
	waitLine(": connected")

	// The stream is live: a new ticket shows up on it.
	token := mustLogin(t, hc, p.url, "admin", testAdminPassword)
	mustDo(t, hc, "POST", p.url+"/api/v1/halls/demo/tickets", token,
		map[string]string{"service_id": "tax"}, 201, nil)
	waitLine("event: ticket.issued")

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(8 * time.Second):
		t.Fatalf("the process did not exit within 8 s of SIGTERM; log:\n%s", p.logs.String())
	}
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0; log:\n%s", p.err, p.logs.String())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	checkNoRace(t, p)
	select {
	case err := <-streamEnd:
		if !errors.Is(err, io.EOF) {
			t.Errorf("the event stream ended with %v, want a clean end (EOF)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream is still open after the process exited")
	}
	t.Logf("shutdown took %v", time.Since(start))
	if !strings.Contains(p.logs.String(), "shutting down") {
		t.Errorf("log does not say it shuts down:\n%s", p.logs.String())
	}

	// The database was closed properly: a new start finds the ticket.
	p2 := startBinary(t, bin, p.db)
	var st struct {
		Waiting map[string]int `json:"waiting"`
	}
	mustDo(t, hc, "GET", p2.url+"/api/v1/halls/demo/status", "", nil, 200, &st)
	if st.Waiting["tax"] != 1 {
		t.Fatalf("after restart, waiting: %v, want tax 1", st.Waiting)
	}
}

func TestHomeURL(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080/"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/"},
		{"[::]:8080", "http://127.0.0.1:8080/"},
		{"[::1]:9000", "http://[::1]:9000/"},
		{"192.168.1.20:80", "http://192.168.1.20:80/"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := homeURL(a); got != tt.want {
			t.Errorf("homeURL(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

// One P more than the CPUs where a commit's fsync blocks a goroutine of
// the server beside the writer (SQLite at FULL) and no container's CPU
// limit is in force; the runtime's choice elsewhere, and the operator's
// GOMAXPROCS always.
func TestServeProcs(t *testing.T) {
	for _, c := range []struct {
		name  string
		cfg   Config
		env   string
		procs int
		cpus  int
		want  int
	}{
		{"SQLite at FULL", Config{Synchronous: "FULL"}, "", 2, 2, 3},
		{"SQLite at FULL, one CPU", Config{Synchronous: "full"}, "", 1, 1, 2},
		{"SQLite at FULL, 8 CPUs", Config{Synchronous: "FULL"}, "", 8, 8, 9},
		{"container limited to 1 CPU of 8 (the runtime says 2)", Config{Synchronous: "FULL"}, "", 2, 8, 0},
		{"container limited to 3 CPUs of 8", Config{Synchronous: "FULL"}, "", 3, 8, 0},
		{"SQLite at EXTRA: the writer syncs, not measured", Config{Synchronous: "EXTRA"}, "", 8, 8, 0},
		{"SQLite at NORMAL: no fsync a commit", Config{Synchronous: "normal"}, "", 2, 2, 0},
		{"PostgreSQL", Config{Synchronous: "FULL", Postgres: "postgres://x"}, "", 2, 2, 0},
		{"GOMAXPROCS set", Config{Synchronous: "FULL"}, "2", 2, 2, 0},
	} {
		if got := serveProcs(c.cfg.syncer(), c.env, c.procs, c.cpus); got != c.want {
			t.Errorf("%s: serveProcs = %d, want %d", c.name, got, c.want)
		}
	}
}

// A command's error from the domain reads as its message, with the code
// in brackets, not Go's dump of the struct.
func TestCommandErrorMessage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	city := "http://" + l.Addr().String()
	l.Close() // nobody answers there
	t.Setenv("CIVIQ_EDGE_TOKEN", "edge_x")
	var out, errb bytes.Buffer
	dir := t.TempDir()
	code := Run(context.Background(), []string{"edge-sync", "--db", filepath.Join(dir, "hall.db"), "--hall", "demo", "--city", city}, &out, &errb)
	if code != 1 || !strings.HasPrefix(errb.String(), "civiq edge-sync: the city does not answer") ||
		!strings.HasSuffix(strings.TrimSpace(errb.String()), "(unavailable)") || strings.Contains(errb.String(), "code=") {
		t.Errorf("edge-sync to a city away: exit %d, %q", code, errb.String())
	}
	// The database the failed run made is gone with it (it left an empty
	// hall's file behind).
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a failed edge-sync left %v", left)
	}
}

// TestServeOneFileOneServer: a second civiq serve on the SQLite file one
// already serves stops at start, naming the file, and changes nothing;
// a restore does not replace it under the server; once the first is
// gone, another starts on it. (Two ran together, each
// blind to the other's writes in its event streams and caches.)
func TestServeOneFileOneServer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "civiq.db")
	_, stop := startMain(t, db)
	second := &Main{Config: Config{Addr: "127.0.0.1:0", DB: db, Demo: true, Synchronous: "FULL"}}
	err := second.Open(context.Background())
	second.Close()
	if err == nil || !strings.Contains(err.Error(), db+" is in use by another civiq serve") {
		t.Fatalf("a second serve on one file: %v", err)
	}
	// Nor does a restore replace the file under the server.
	backup := filepath.Join(t.TempDir(), "backup.db")
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"backup", "--db", db, "--to", backup}, &out, &errb); code != 0 {
		t.Fatalf("backup: %d %s", code, errb.String())
	}
	errb.Reset()
	if code := Run(context.Background(), []string{"restore", "--from", backup, "--db", db, "--force"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "in use by another civiq serve") {
		t.Fatalf("restore under a running serve: exit %d, %s", code, errb.String())
	}
	stop()
	third, _ := startMain(t, db)
	if third.Store == nil {
		t.Fatal("no store after the first serve stopped")
	}
}
