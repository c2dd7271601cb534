package main

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/civiq/civiq/pgtest"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// The binary is built once per test run into binDir, which TestMain removes.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binOut  []byte
	binErr  error
)

// moduleRoot walks up from the test's working directory to go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// buildCiviq builds ./cmd/civiq once and returns the binary's path.
func buildCiviq(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "civiq-test-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "civiq")
		// Build with -race (and the -gcflags, -tags) the tests run with:
		// the packages are then already compiled that way, and the
		// process checks itself.
		args := []string{"build", "-o", binPath}
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if (s.Key == "-race" && s.Value == "true") || ((s.Key == "-tags" || s.Key == "-gcflags") && s.Value != "") {
					args = append(args, s.Key+"="+s.Value)
				}
			}
		}
		cmd := exec.Command("go", append(args, "./cmd/civiq")...)
		cmd.Dir = root
		binOut, binErr = cmd.CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("go build ./cmd/civiq: %v\n%s", binErr, binOut)
	}
	return binPath
}

// freeAddr finds a loopback port that is free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// proc is the civiq binary running civiq serve.
type proc struct {
	cmd  *exec.Cmd
	db   string
	url  string
	logs *civiqtest.Output
	done chan struct{} // closed when the process has exited
	err  error         // what Wait said; read it after done
}

// startBinary runs `civiq serve --db db --addr <free port> --demo` with
// CIVIQ_ADMIN_PASSWORD and env set and waits for /healthz. The process is
// killed when the test ends, if it still runs.
func startBinary(t *testing.T, bin, db string, env ...string) *proc {
	t.Helper()
	return startServeAt(t, bin, db, "", []string{"--demo"}, env...)
}

// startBinaryAt is startBinary on addr (a free port when empty): a node
// that comes back where others look for it.
func startBinaryAt(t *testing.T, bin, db, at string, env ...string) *proc {
	t.Helper()
	return startServeAt(t, bin, db, at, []string{"--demo"}, env...)
}

// startServe runs `civiq serve --db db --addr <free port>` with the flags
// given, as startBinary does.
func startServe(t *testing.T, bin, db string, flags []string, env ...string) *proc {
	t.Helper()
	return startServeAt(t, bin, db, "", flags, env...)
}

// startServeAt is startServe on addr (a free port when empty).
func startServeAt(t *testing.T, bin, db, at string, flags []string, env ...string) *proc {
	t.Helper()
	var last *proc
	for attempt := 0; attempt < 3; attempt++ {
		addr := at
		if addr == "" {
			addr = freeAddr(t)
		}
		p := &proc{db: db, url: "http://" + addr, logs: &civiqtest.Output{}, done: make(chan struct{})}
		store := []string{"--db", db}
		if strings.HasPrefix(db, "postgres://") {
			store = []string{"--postgres", db}
		}
		p.cmd = exec.Command(bin, append(append(append([]string{"serve"}, store...), "--addr", addr), flags...)...)
		p.cmd.Env = append(os.Environ(),
			"CIVIQ_ADMIN_PASSWORD="+testAdminPassword,
			"CIVIQ_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
			"CIVIQ_RECEIPT_KEYS=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
			"CIVIQ_SQLITE_SYNCHRONOUS=FULL",
			"CIVIQ_POSTGRES_URL=",
			"CIVIQ_METRICS_ALLOW=",
			"CIVIQ_LOG_LEVEL=info",
		)
		p.cmd.Env = append(p.cmd.Env, env...)
		p.cmd.Dir = t.TempDir() // key files a node makes beside itself stay out of the tree
		p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		go func() {
			p.err = p.cmd.Wait()
			close(p.done)
		}()
		t.Cleanup(func() {
			select {
			case <-p.done:
			default:
				p.cmd.Process.Kill()
				<-p.done
			}
		})
		if waitHealthy(t, p) {
			return p
		}
		last = p
		if !strings.Contains(p.logs.String(), "address already in use") {
			break // not the port race: give up
		}
	}
	t.Fatalf("civiq serve did not become healthy (%v); log:\n%s", last.err, last.logs.String())
	return nil
}

// waitHealthy polls /healthz until it answers 200; false when the process
// exits or 30 s pass first.
func waitHealthy(t *testing.T, p *proc) bool {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return false
		default:
		}
		resp, err := hc.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// shanghai is the demo hall's zone; it has no daylight saving time.
var shanghai = time.FixedZone("CST", 8*3600)

// hallDay is the demo hall's local day of an instant: numbers restart with it.
func hallDay(at time.Time) string { return at.In(shanghai).Format("2006-01-02") }

// numberSeq reads the sequence of a ticket number ("A012" -> 12) after
// checking its prefix.
func numberSeq(t *testing.T, number, prefix string) int {
	t.Helper()
	rest, ok := strings.CutPrefix(number, prefix)
	n, err := strconv.Atoi(rest)
	if !ok || err != nil || n <= 0 || len(rest) < 3 {
		t.Fatalf("ticket number %q: want prefix %s and at least three digits", number, prefix)
	}
	return n
}

func prefixOf(service string) string {
	for _, s := range demoServices {
		if s.ID == service {
			return s.Prefix
		}
	}
	return "?"
}

// TestCrashKeepsAcknowledgedTickets kills the server with SIGKILL while 16
// clients take tickets, restarts it on the same file and checks that every
// acknowledged ticket is there with its number, and that numbering goes on
// past them without duplicates.
func TestCrashKeepsAcknowledgedTickets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it under load")
	}
	crashTest(t, filepath.Join(t.TempDir(), "c.db"))
}

// The same on PostgreSQL: a node killed under load loses nothing it
// acknowledged and gives no number twice.
func TestCrashPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it under load")
	}
	crashTest(t, pgtest.Database(t))
}

// crashTest kills a server on db (a SQLite file or a PostgreSQL URL) with
// SIGKILL under load, starts it again and checks every acknowledged ticket.
func crashTest(t *testing.T, db string) {
	bin := buildCiviq(t)
	p := startBinary(t, bin, db)
	hc := newHTTPClient()
	token := mustLogin(t, hc, p.url, "admin", testAdminPassword)

	var (
		mu         sync.Mutex
		acks       []apiTicket
		unexpected []string
		attempts   atomic.Int64
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Citizens take remote tickets only in the hall's opening hours; staff
	// (the admin token) at any time.
	demo, _, _ := civiq.DemoHall()
	remoteOpen := demo.OpenAt(time.Now())
	var wg sync.WaitGroup
	const clients = 16
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				svc := demoServices[(i+n)%len(demoServices)].ID
				tok, body := token, map[string]string{"service_id": svc}
				anonymous := remoteOpen && i%2 == 1
				if anonymous { // half the clients are citizens on their phones
					tok, body["channel"] = "", "remote"
				}
				attempts.Add(1)
				status, b, err := request(ctx, hc, "POST", p.url+"/api/v1/halls/demo/tickets", tok, body)
				switch {
				case err != nil:
					// The process is gone (or going): nothing was acknowledged.
					time.Sleep(5 * time.Millisecond)
				case status == http.StatusCreated:
					var a ticketAnswer
					if err := json.Unmarshal(b, &a); err != nil || a.Ticket.ID == "" {
						mu.Lock()
						unexpected = append(unexpected, "201 with body "+string(b))
						mu.Unlock()
						continue
					}
					mu.Lock()
					acks = append(acks, a.Ticket)
					mu.Unlock()
				case anonymous && status == http.StatusConflict && strings.Contains(string(b), "closed"):
					// The hall closed its remote tickets during the test.
					time.Sleep(10 * time.Millisecond)
				case status == http.StatusTooManyRequests:
					time.Sleep(10 * time.Millisecond)
				default:
					mu.Lock()
					unexpected = append(unexpected, strconv.Itoa(status)+" "+string(b))
					mu.Unlock()
				}
			}
		}()
	}

	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL, mid-load
		t.Fatalf("kill: %v", err)
	}
	<-p.done
	cancel()
	wg.Wait()
	var exitErr *exec.ExitError
	if !errors.As(p.err, &exitErr) || exitErr.ExitCode() != -1 {
		t.Logf("process ended with %v", p.err)
	}
	checkNoRace(t, p)
	for _, u := range unexpected {
		t.Errorf("unexpected answer while issuing: %s", u)
	}
	if len(acks) < 10 {
		t.Fatalf("only %d tickets acknowledged in 1.5 s of load (%d attempts); log:\n%s", len(acks), attempts.Load(), p.logs.String())
	}
	t.Logf("%d tickets acknowledged out of %d attempts before SIGKILL", len(acks), attempts.Load())

	// No two acknowledged tickets share an id or a number of one service's day.
	ids := map[string]bool{}
	numbers := map[string]string{}
	maxSeq := map[string]int{} // service|day -> highest acknowledged number
	for _, a := range acks {
		if ids[a.ID] {
			t.Errorf("ticket id %s acknowledged twice", a.ID)
		}
		ids[a.ID] = true
		key := a.ServiceID + "|" + hallDay(a.IssuedAt)
		nk := key + "|" + a.Number
		if other, dup := numbers[nk]; dup {
			t.Errorf("number %s of %s given to tickets %s and %s", a.Number, key, other, a.ID)
		}
		numbers[nk] = a.ID
		if n := numberSeq(t, a.Number, prefixOf(a.ServiceID)); n > maxSeq[key] {
			maxSeq[key] = n
		}
	}

	// Restart on the same database file.
	p2 := startBinary(t, bin, db)
	token2 := mustLogin(t, hc, p2.url, "admin", testAdminPassword)

	// Every acknowledged ticket is there, unchanged.
	work := make(chan apiTicket)
	var vwg sync.WaitGroup
	for range 16 {
		vwg.Add(1)
		go func() {
			defer vwg.Done()
			for a := range work {
				status, b, err := request(context.Background(), hc, "GET", p2.url+"/api/v1/tickets/"+a.ID, "", nil)
				if err != nil || status != http.StatusOK {
					t.Errorf("acknowledged ticket %s (%s) after the crash: %d %s %v", a.ID, a.Number, status, b, err)
					continue
				}
				var got ticketAnswer
				if err := json.Unmarshal(b, &got); err != nil {
					t.Errorf("ticket %s: decode %s: %v", a.ID, b, err)
					continue
				}
				g := got.Ticket
				if g.Number != a.Number || g.ServiceID != a.ServiceID || g.HallID != "demo" || g.Status != "waiting" ||
					!g.IssuedAt.Equal(a.IssuedAt) {
					t.Errorf("ticket %s after the crash: %s %s %s %v, acknowledged as %s %s waiting %v",
						a.ID, g.Number, g.ServiceID, g.Status, g.IssuedAt, a.Number, a.ServiceID, a.IssuedAt)
				}
			}
		}()
	}
	for _, a := range acks {
		work <- a
	}
	close(work)
	vwg.Wait()

	// Numbering goes on past every acknowledged number, and the numbers of
	// a day have no gap and no duplicate: the n-th ticket of a service is
	// number n, so n tickets wait when the new one is number n.
	newSeq := map[string]int{}
	sameDay := true
	for _, s := range demoServices {
		var a ticketAnswer
		mustDo(t, hc, "POST", p2.url+"/api/v1/halls/demo/tickets", token2, map[string]string{"service_id": s.ID}, 201, &a)
		n := numberSeq(t, a.Ticket.Number, s.Prefix)
		day := hallDay(a.Ticket.IssuedAt)
		for key, max := range maxSeq {
			if !strings.HasPrefix(key, s.ID+"|") {
				continue
			}
			if key != s.ID+"|"+day {
				sameDay = false
				t.Logf("the hall's day changed during the test (%s, now %s): not comparing numbers", key, day)
				continue
			}
			if n <= max {
				t.Errorf("new %s ticket after the crash is %s, not past the acknowledged %s%03d", s.ID, a.Ticket.Number, s.Prefix, max)
			}
		}
		newSeq[s.ID] = n
	}
	if sameDay {
		var st struct {
			Waiting map[string]int `json:"waiting"`
		}
		mustDo(t, hc, "GET", p2.url+"/api/v1/halls/demo/status", "", nil, 200, &st)
		for _, s := range demoServices {
			if st.Waiting[s.ID] != newSeq[s.ID] {
				t.Errorf("%s: %d tickets wait but the newest is number %d: numbers were skipped or repeated",
					s.ID, st.Waiting[s.ID], newSeq[s.ID])
			}
		}
	}
}

// checkNoRace fails the test when a -race build of the process reported a
// data race.
func checkNoRace(t *testing.T, p *proc) {
	t.Helper()
	if strings.Contains(p.logs.String(), "WARNING: DATA RACE") {
		t.Errorf("the civiq process reported a data race:\n%s", p.logs.String())
	}
}
