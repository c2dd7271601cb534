package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sqlstore"
)

// benchConfig is what civiq bench is told.
type benchConfig struct {
	Duration    time.Duration
	Clients     int
	Counters    int
	Subscribers int
	Calls       int
	Dir         string
	JSON        bool
	// Postgres runs Nodes civiq nodes on this database instead of one node
	// on SQLite, and adds the mixed load of the city issue.
	Postgres string
	Nodes    int
	// Flood is how many idle connections the connection flood opens
	// (benchflood.go); 0 skips it. FloodOnly skips everything else.
	Flood     int
	FloodOnly bool
	// LoginFlood is how many clients send wrong sign-ins at once in the
	// login flood (benchlogin.go); 0 skips it.
	LoginFlood int
	// Only names the phases to run, comma-separated (benchPhases); empty
	// runs them all.
	Only string
	// Hooks is how many webhooks the hooks phase registers (benchhooks.go);
	// 0 skips it.
	Hooks int
	// HookRounds is how many phases with hooks the hooks phase runs, each
	// between two without (benchhooks.go).
	HookRounds int
	// Rounds is how many times the issue comparison (benchcompare.go)
	// measures its ceilings and durable issue in turn.
	Rounds int
	// Vegeta is the path of a vegeta binary that loads the issue
	// comparison instead of the bench's own clients; empty: those.
	Vegeta string
	// Against is the path of another civiq binary whose server the issue
	// comparison measures in each round too, after this one's (A/B).
	Against string
	// ServeNoStore, when set, makes this process the no-storage server
	// on that address (the comparison starts it as a child).
	ServeNoStore string
}

// benchPhases are the phases of civiq bench, in the order they run.
var benchPhases = []string{"conn-flood", "ceiling", "http-ceiling", "issue", "call", "hooks", "mixed", "fanout", "login-flood"}

// runs reports whether the phase is to run.
func (c benchConfig) runs(phase string) bool {
	return c.Only == "" || slices.Contains(strings.Split(c.Only, ","), phase)
}

// benchResult is one measured operation.
type benchResult struct {
	Op         string  `json:"op"`
	Count      int     `json:"count"`
	Errors     int     `json:"errors"`
	PerSecond  float64 `json:"per_second"`
	P50Millis  float64 `json:"p50_ms"`
	P99Millis  float64 `json:"p99_ms"`
	MaxMillis  float64 `json:"max_ms"`
	Concurrent int     `json:"concurrency"`
	// Round is the comparison's round the result is of (benchcompare.go).
	Round int `json:"round,omitempty"`
	// Load is what made the load: "civiq" (the bench's own clients) or
	// "vegeta".
	Load string `json:"load,omitempty"`
	// Against is set on the results of --against's server.
	Against bool `json:"against,omitempty"`
	// ServerCPUMicros is the CPU the server's first node (for the bare
	// ceiling: the bench itself) used per operation, user and system,
	// in microseconds; LoadCPUMicros the load generator's.
	ServerCPUMicros float64 `json:"server_cpu_us_per_op,omitempty"`
	LoadCPUMicros   float64 `json:"load_cpu_us_per_op,omitempty"`
	// ServerWrittenBytes is what the server wrote per operation, to its
	// files and its sockets (/proc's wchar).
	ServerWrittenBytes float64 `json:"server_written_bytes_per_op,omitempty"`
}

type benchReport struct {
	Machine string `json:"machine"`
	// LoadAverage is the machine's at the start and at the end of the
	// run (1, 5 and 15 minutes).
	LoadAverage [2]string     `json:"load_average"`
	Results     []benchResult `json:"results"`
	// Rounds are the issue comparison's turns (benchcompare.go).
	Rounds []benchRound `json:"rounds,omitempty"`
	// CeilingRatio is durable ticket issue over HTTP divided by the bare
	// SQLite ceiling measured in the same run on the same disk.
	CeilingRatio float64 `json:"issue_to_ceiling_ratio,omitempty"`
	// BytesPerSubscriber is the nodes' resident memory grown per open
	// event stream.
	BytesPerSubscriber float64 `json:"bytes_per_subscriber,omitempty"`
	// Flood is what the connection flood found (benchflood.go).
	Flood *floodReport `json:"connection_flood,omitempty"`
	// LoginFlood is the login flood's memory and /healthz (benchlogin.go).
	LoginFlood *loginFloodReport `json:"login_flood,omitempty"`
	// Hooks is the issue rate without and with webhooks (benchhooks.go).
	Hooks *hooksReport `json:"hooks,omitempty"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c benchConfig
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long each load phase runs")
	fs.IntVar(&c.Clients, "clients", 32, "concurrent clients issuing tickets")
	fs.IntVar(&c.Counters, "counters", 6, "counters calling next at once (the demo hall has 6)")
	fs.IntVar(&c.Subscribers, "subscribers", 1000, "live event streams that receive each call")
	fs.IntVar(&c.Calls, "calls", 100, "calls timed while the streams are open")
	fs.StringVar(&c.Dir, "dir", "", "directory for the databases (default: a new temporary directory); the ceiling uses the same disk")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&c.Postgres, "postgres", "", "PostgreSQL URL: run --nodes nodes on it (the database must be empty or a civiq database you may fill)")
	fs.IntVar(&c.Nodes, "nodes", 3, "civiq nodes with --postgres")
	fs.IntVar(&c.Flood, "flood", 20000, "idle connections of the connection flood, from one other loopback address; 0 skips it")
	fs.BoolVar(&c.FloodOnly, "flood-only", false, "run only the connection flood (for --duration)")
	fs.IntVar(&c.LoginFlood, "login-flood", 500, "clients sending wrong sign-ins at once in the login flood, on the first node; 0 skips it")
	fs.IntVar(&c.Hooks, "hooks", 3, "webhooks the hooks phase registers, each to a receiver of its own on loopback; 0 skips the phase")
	fs.IntVar(&c.HookRounds, "hook-rounds", 3, "phases with the hooks registered in the hooks phase, each between two without them (--duration each); the ratio is of the medians")
	fs.IntVar(&c.Rounds, "rounds", 1, "times the issue comparison measures the bare SQLite ceiling, the no-storage HTTP ceiling and durable issue in turn")
	fs.StringVar(&c.Vegeta, "vegeta", "", "path of a vegeta binary (github.com/tsenart/vegeta/v12) to load the issue comparison with instead of the bench's own clients")
	fs.StringVar(&c.Against, "against", "", "path of another civiq binary: each round of the issue comparison measures its server's durable issue too, and the call phase its call-next (A/B, same run)")
	fs.StringVar(&c.ServeNoStore, "serve-no-store", "", "serve only the no-storage issue route on this address (civiq bench starts it as a child)")
	fs.StringVar(&c.Only, "only", "", "comma-separated phases to run, of "+strings.Join(benchPhases, ", ")+" (default all)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if c.ServeNoStore != "" {
		if err := serveNoStore(ctx, c.ServeNoStore); err != nil {
			fmt.Fprintln(stderr, "civiq bench:", err)
			return 1
		}
		return 0
	}
	if c.Postgres == "" {
		c.Nodes = 1
	}
	for _, p := range strings.Split(c.Only, ",") {
		if c.Only != "" && !slices.Contains(benchPhases, p) {
			fmt.Fprintf(stderr, "civiq bench: --only: unknown phase %q (phases: %s)\n", p, strings.Join(benchPhases, ", "))
			return 2
		}
	}
	if c.Clients < 1 || c.Counters < 1 || c.Counters > 6 || c.Subscribers < 0 || c.Calls < 1 || c.Duration <= 0 || c.Nodes < 1 || c.Nodes > 16 || c.Flood < 0 || c.Hooks < 0 || c.Rounds < 1 || c.HookRounds < 1 {
		fmt.Fprintln(stderr, "civiq bench: --clients, --calls, --rounds, --hook-rounds and --duration must be positive, --counters 1..6, --flood and --hooks not negative")
		return 2
	}
	rep, err := bench(ctx, c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "civiq bench:", err)
		return 1
	}
	if c.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		return 0
	}
	fmt.Fprintf(stdout, "machine: %s; load average %s at the start, %s at the end\n", rep.Machine, rep.LoadAverage[0], rep.LoadAverage[1])
	fmt.Fprintf(stdout, "%-37s %6s %8s %7s %10s %9s %9s %9s %10s %10s %10s\n", "operation", "load", "count", "errors", "per second", "p50 ms", "p99 ms", "max ms", "server µs", "load µs", "written B")
	for _, r := range rep.Results {
		op := r.Op
		if r.Against {
			op = "B " + op
		}
		if r.Round > 0 && len(rep.Rounds) > 1 {
			op = fmt.Sprintf("%d: %s", r.Round, op)
		}
		fmt.Fprintf(stdout, "%-37s %6s %8d %7d %10.0f %9.2f %9.2f %9.2f %10s %10s %10s\n", op, r.Load, r.Count, r.Errors, r.PerSecond, r.P50Millis, r.P99Millis, r.MaxMillis,
			micros(r.ServerCPUMicros), micros(r.LoadCPUMicros), micros(r.ServerWrittenBytes))
	}
	for _, r := range rep.Rounds {
		if r.ToBare > 0 || r.ToNoStore > 0 {
			fmt.Fprintf(stdout, "round %d: durable issue / bare SQLite ceiling %.2f (target at least 1.0), / no-storage HTTP ceiling %.2f (moonshot 0.5)\n", r.Round, r.ToBare, r.ToNoStore)
		}
		if r.AgainstToA > 0 {
			fmt.Fprintf(stdout, "round %d: durable issue of --against's server / this one's %.2f\n", r.Round, r.AgainstToA)
		}
	}
	if rep.CeilingRatio > 0 && len(rep.Rounds) == 0 {
		fmt.Fprintf(stdout, "durable issue over HTTP / bare SQLite ceiling: %.2f\n", rep.CeilingRatio)
	}
	if rep.BytesPerSubscriber > 0 {
		fmt.Fprintf(stdout, "memory per event stream (server side): %.1f KiB\n", rep.BytesPerSubscriber/1024)
	}
	if f := rep.Flood; f != nil {
		fmt.Fprintf(stdout, "connection flood: %d opened from %s (%d failed), server held at most %d files, RSS at most %.0f MiB\n",
			f.Opened, f.From, f.DialErrors, f.MaxServerFiles, f.MaxRSSBytes/(1<<20))
	}
	if h := rep.Hooks; h != nil {
		fmt.Fprintf(stdout, "issue with %d webhooks / without: %.2f, the medians of %d phases with and %d without in turn (target at least 0.90); each with / the mean of the two without beside it: %s; the first with / the first without: %.2f; the last hook had every ticket %.1f s after its load at most\n",
			h.Hooks, h.Ratio, len(h.WithRates), len(h.WithoutRates), ratios(h.Neighbours), h.First, h.DrainSeconds)
		fmt.Fprintf(stdout, "CPU per ticket without / with %d webhooks, over their phases: server %.3f / %.3f ms, bench (clients, receivers) %.3f / %.3f ms\n",
			h.Hooks, h.ServerCPUWithout, h.ServerCPUWith, h.BenchCPUWithout, h.BenchCPUWith)
		fmt.Fprintf(stdout, "the receivers answered %.1f requests a write (a pipelined window's)\n", h.MessagesPerWrite)
	}
	if f := rep.LoginFlood; f != nil {
		fmt.Fprintf(stdout, "login flood: answers %v; server RSS %.0f MiB before, peak %.0f MiB (target at most %.0f MiB); /healthz max %.1f ms (target %.0f ms)\n",
			f.Statuses, f.RSSBefore/(1<<20), f.PeakRSS/(1<<20), f.TargetRSS/(1<<20), f.Healthz.MaxMillis, f.TargetMaxMs)
	}
	return 0
}

func bench(ctx context.Context, c benchConfig, log io.Writer) (*benchReport, error) {
	dir := c.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "civiq-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	rep := &benchReport{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())}
	rep.LoadAverage[0] = loadAverage()
	defer func() { rep.LoadAverage[1] = loadAverage() }()
	if c.Flood > 0 && c.runs("conn-flood") {
		fmt.Fprintf(log, "bench: connection flood, %d idle connections for %s, /healthz timed from another address\n", c.Flood, c.Duration)
		res, f, err := benchFlood(ctx, filepath.Join(dir, "flood.db"), c.Flood, c.Duration)
		if err != nil {
			return nil, fmt.Errorf("connection flood: %w", err)
		}
		rep.Results, rep.Flood = append(rep.Results, res), f
	}
	if c.FloodOnly {
		return rep, nil
	}

	// The load comes from one address, loopback: no cap per address; the
	// hooks' receivers listen there too.
	srv, err := startBenchServer(ctx, filepath.Join(dir, "civiq.db"), c.Postgres, c.Nodes, "--max-conns-per-addr", "0",
		"--webhook-allow", "127.0.0.0/8")
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	if c.runs("ceiling") || c.runs("http-ceiling") || c.runs("issue") {
		against, againstKiosk, err := startAgainst(ctx, c, dir)
		if err != nil {
			return nil, err
		}
		if against != nil {
			defer against.stop()
		}
		issue, err := benchCompare(ctx, c, dir, srv, against, againstKiosk, rep, log)
		if err != nil {
			return nil, err
		}
		if last := rep.Rounds[len(rep.Rounds)-1]; last.ToBare > 0 {
			rep.CeilingRatio = last.ToBare
		}
		if issue.Count > 0 && c.runs("call") {
			if err := benchCall(ctx, c, srv, false, rep, dir, log); err != nil {
				return nil, err
			}
			if against != nil {
				if err := benchCall(ctx, c, against, true, rep, dir, log); err != nil {
					return nil, err
				}
			}
		}
	}
	if c.Hooks > 0 && c.runs("hooks") {
		h, res, err := benchHooks(ctx, c, srv, log)
		if err != nil {
			return nil, fmt.Errorf("hooks: %w", err)
		}
		rep.Results, rep.Hooks = append(rep.Results, res...), h
	}
	if c.Postgres != "" && c.runs("mixed") {
		fmt.Fprintf(log, "bench: mixed issue, call, finish and rate, %d clients on %d nodes, %s\n", c.Clients, len(srv.nodes), c.Duration)
		rep.Results = append(rep.Results, srv.mixed(ctx, c.Clients, c.Duration)...)
	}

	if c.Subscribers > 0 && c.runs("fanout") {
		fmt.Fprintf(log, "bench: %d calls delivered to %d event streams on %d node(s)\n", c.Calls, c.Subscribers, len(srv.nodes))
		fan, perSub, err := srv.fanout(ctx, c.Subscribers, c.Calls)
		if err != nil {
			return nil, fmt.Errorf("fan-out: %w", err)
		}
		rep.Results = append(rep.Results, fan)
		rep.BytesPerSubscriber = perSub
	}

	if c.LoginFlood > 0 && c.runs("login-flood") {
		fmt.Fprintf(log, "bench: login flood, %d clients sending wrong sign-ins on loopback, %s\n", c.LoginFlood, c.Duration)
		f := srv.loginFlood(ctx, c.LoginFlood, c.Duration)
		rep.Results = append(rep.Results, f.Attempts, f.Healthz)
		rep.LoginFlood = &f
	}
	return rep, nil
}

// micros prints CPU microseconds per operation, or nothing.
func micros(us float64) string {
	if us <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f", us)
}

// benchCall runs the call phase on the tickets the issue phase left, by
// the bench's own clients (each keeps to a counter) or by vegeta (the
// counters' call-next in turn); against marks --against's server.
func benchCall(ctx context.Context, c benchConfig, srv *benchServer, against bool, rep *benchReport, dir string, log io.Writer) error {
	if against {
		fmt.Fprintf(log, "bench: call-next on %s, %d counters, %s\n", c.Against, c.Counters, c.Duration)
	} else {
		fmt.Fprintf(log, "bench: call-next, %d counters, %s\n", c.Counters, c.Duration)
	}
	mark := srv.mark()
	var call benchResult
	if c.Vegeta != "" {
		var targets []vegetaTarget
		for i := 1; i <= c.Counters; i++ {
			targets = append(targets, vegetaTarget{url: fmt.Sprintf("%s/api/v1/halls/demo/counters/%d/call-next", srv.nodes[0].base, i), token: srv.token})
		}
		var err error
		if call, err = srv.vegeta(ctx, c, "call-next (HTTP, durable)", targets, c.Counters, http.StatusOK, dir); err != nil {
			return err
		}
	} else {
		var counter atomic.Int64
		call = srv.load(ctx, "call-next (HTTP, durable)", c.Counters, c.Duration, func(conn *benchConn) error {
			if conn.counter == "" { // each client keeps to one counter
				conn.counter = fmt.Sprint(int(counter.Add(1)-1)%6 + 1)
			}
			b, err := srv.post(conn, "/api/v1/halls/demo/counters/"+conn.counter+"/call-next", "", http.StatusOK)
			if err != nil && len(b) == 0 && strings.HasSuffix(err.Error(), "status 204") {
				return errDry
			}
			return err
		})
		call.Load = "civiq"
	}
	mark.account(srv, &call)
	call.Against = against
	rep.Results = append(rep.Results, call)
	return nil
}

// issueOp takes a ticket: half of them for general, which every counter
// but 5 serves, so the call phase does not run dry. With record, it tells
// each ticket's id and when its request started.
func (s *benchServer) issueOp(record func(id string, start time.Time)) func(*benchConn) error {
	services := []string{"general", "property", "general", "tax", "general", "social"}
	var n atomic.Int64
	return func(conn *benchConn) error {
		body := fmt.Sprintf(`{"service_id":%q}`, services[int(n.Add(1))%len(services)])
		t0 := time.Now()
		b, err := s.post(conn, "/api/v1/halls/demo/tickets", body, http.StatusCreated)
		if err == nil && record != nil {
			// Cut the id out rather than decode the answer: the clients
			// share the machine with the server (benchhooks.go).
			id, ok := cutTicketID(b)
			if !ok {
				return fmt.Errorf("no ticket id in the answer: %.80s", b)
			}
			record(id, t0)
		}
		return err
	}
}

// benchCeiling measures the bare durable write rate of the disk through the
// same driver and pragmas: one single-row insert per transaction.
func benchCeiling(ctx context.Context, path string, d time.Duration) (benchResult, error) {
	db, err := sql.Open("sqlite", sqlstore.DSN(path, sqlstore.Options{}))
	if err != nil {
		return benchResult{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		return benchResult{}, err
	}
	var lat []time.Duration
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		t0 := time.Now()
		if _, err := db.Exec(`INSERT INTO t (v) VALUES ('ticket')`); err != nil {
			return benchResult{}, err
		}
		lat = append(lat, time.Since(t0))
	}
	return summarize("bare SQLite insert (ceiling)", 1, lat, 0, time.Since(start)), nil
}

type benchServer struct {
	nodes []*benchNode
	token string
}

type benchNode struct {
	cmd  *exec.Cmd
	base string
}

// startBenchServer runs this binary's serve in child processes on free
// loopback ports, so the load generator does not share their heap: one
// node on the SQLite file db, or n nodes on PostgreSQL; flags go to each
// serve.
func startBenchServer(ctx context.Context, db, pg string, n int, flags ...string) (*benchServer, error) {
	return startServerOf(ctx, "", db, pg, n, flags...)
}

// startServerOf is startBenchServer with the serve of another civiq
// binary, exe ("" for this one).
func startServerOf(ctx context.Context, exe, db, pg string, n int, flags ...string) (*benchServer, error) {
	password := civiq.NewToken()
	s := &benchServer{}
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.stop()
			return nil, err
		}
		addr := ln.Addr().String()
		ln.Close()
		if exe == "" {
			if exe, err = os.Executable(); err != nil {
				s.stop()
				return nil, err
			}
		}
		args := append([]string{"serve", "--demo", "--addr", addr, "--log-level", "warn"}, flags...)
		if pg != "" {
			args = append(args, "--postgres", pg)
		} else {
			args = append(args, "--db", db)
		}
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Env = append(os.Environ(), "CIVIQ_ADMIN_PASSWORD="+password, "CIVIQ_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			s.stop()
			return nil, err
		}
		node := &benchNode{cmd: cmd, base: "http://" + addr}
		s.nodes = append(s.nodes, node)
		deadline := time.Now().Add(15 * time.Second)
		for {
			resp, err := http.Get(node.base + "/healthz")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				s.stop()
				return nil, fmt.Errorf("server did not start: %w", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	resp, err := http.Post(s.nodes[0].base+"/api/v1/auth/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q}`, password)))
	if err != nil {
		s.stop()
		return nil, err
	}
	defer resp.Body.Close()
	var login struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&login); err != nil || login.Token == "" {
		s.stop()
		return nil, fmt.Errorf("login failed (status %d; with --postgres the database must not hold another admin): %v", resp.StatusCode, err)
	}
	s.token = login.Token
	return s, nil
}

func (s *benchServer) stop() {
	for _, n := range s.nodes {
		if n.cmd.Process == nil {
			continue
		}
		n.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
		}
	}
}

// post sends a request, as the admin, on conn and returns the answer's
// body.
func (s *benchServer) post(conn *benchConn, path, body string, want int) ([]byte, error) {
	return s.postAs(conn, s.token, path, body, want)
}

// postAs is post with another token, or none.
func (s *benchServer) postAs(conn *benchConn, token, path, body string, want int) ([]byte, error) {
	status, b, err := conn.do(http.MethodPost, path, token, body)
	if err != nil {
		return nil, err
	}
	if status != want {
		return b, fmt.Errorf("%s: status %d", path, status)
	}
	return b, nil
}

// conn is a new connection of client i, to its node.
func (s *benchServer) conn(i int) *benchConn {
	return newBenchConn(s.nodes[i%len(s.nodes)].base)
}

// mixed runs the city's mixed load: each client takes a ticket, calls the
// next one at a counter, finishes it and rates it, over and over, on the
// nodes in turn. It reports each operation and all of them together.
func (s *benchServer) mixed(ctx context.Context, n int, d time.Duration) []benchResult {
	client := &http.Client{Timeout: benchTimeout}
	ops := []string{"issue", "call-next", "finish", "rate"}
	// A counter of its own per client, serving general: a call-next of
	// another client at the same counter would finish this one's ticket.
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"name":"bench %d","service_ids":["general"]}`, i)
		req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v1/halls/demo/counters/b%d", s.nodes[0].base, i), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.token)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
		// A new counter starts closed: its clerk opens it.
		req, _ = http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/halls/demo/counters/b%d/status", s.nodes[0].base, i), strings.NewReader(`{"status":"open"}`))
		req.Header.Set("Authorization", "Bearer "+s.token)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	errs := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn := s.conn(i)
			defer conn.close()
			mine := map[string][]time.Duration{}
			bad := map[string]int{}
			timed := func(op string, f func() error) bool {
				t0 := time.Now()
				if err := f(); err != nil {
					bad[op]++
					return false
				}
				mine[op] = append(mine[op], time.Since(t0))
				return true
			}
			counter := fmt.Sprintf("b%d", i)
			for time.Since(start) < d && ctx.Err() == nil {
				timed("issue", func() error {
					_, err := s.post(conn, "/api/v1/halls/demo/tickets", `{"service_id":"general"}`, http.StatusCreated)
					return err
				})
				var called struct{ Ticket civiq.Ticket }
				if !timed("call-next", func() error {
					b, err := s.post(conn, "/api/v1/halls/demo/counters/"+counter+"/call-next", "", http.StatusOK)
					if err == nil {
						err = json.Unmarshal(b, &called)
					}
					return err
				}) {
					continue
				}
				if !timed("finish", func() error {
					_, err := s.post(conn, "/api/v1/tickets/"+called.Ticket.ID+"/finish", "", http.StatusOK)
					return err
				}) {
					continue
				}
				timed("rate", func() error {
					// The citizen rates from the phone: staff may not rate what they served.
					_, err := s.postAs(conn, "", "/api/v1/tickets/"+called.Ticket.ID+"/rating", `{"score":5}`, http.StatusCreated)
					return err
				})
			}
			mu.Lock()
			for op, l := range mine {
				lat[op] = append(lat[op], l...)
			}
			for op, e := range bad {
				errs[op] += e
			}
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var out []benchResult
	var all []time.Duration
	total := 0
	for _, op := range ops {
		out = append(out, summarize("mixed: "+op, n, lat[op], errs[op], elapsed))
		all = append(all, lat[op]...)
		total += errs[op]
	}
	return append(out, summarize(fmt.Sprintf("mixed: all operations, %d nodes", len(s.nodes)), n, all, total, elapsed))
}

// rss returns the resident memory of the nodes, in bytes.
func (s *benchServer) rss() float64 {
	var sum float64
	for _, n := range s.nodes {
		r := s.nodeRSS(n)
		if r == 0 {
			return 0
		}
		sum += r
	}
	return sum
}

// nodeRSS returns the resident memory of one node, in bytes (0 when it
// cannot be read).
func (s *benchServer) nodeRSS(n *benchNode) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(line[6:]), "%f", &kb)
			return kb * 1024
		}
	}
	return 0
}

// errDry tells load that a client has nothing left to do.
var errDry = errors.New("nothing left")

// load runs op from n clients, each on a connection of its own, for d and
// summarizes the latencies.
func (s *benchServer) load(ctx context.Context, name string, n int, d time.Duration, op func(*benchConn) error) benchResult {
	var mu sync.Mutex
	var all []time.Duration
	var errs int
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn := s.conn(i)
			defer conn.close()
			var lat []time.Duration
			bad := 0
			for time.Since(start) < d && ctx.Err() == nil {
				t0 := time.Now()
				if err := op(conn); err == errDry {
					break // this client's queue is empty: it stops
				} else if err != nil {
					bad++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			errs += bad
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return summarize(name, n, all, errs, time.Since(start))
}

// fanout opens subs event streams spread over the nodes, then makes calls
// one at a time on the first node and times each call's arrival at every
// stream, from just before the request, and the CPU the server and the
// bench used per delivery. It also returns the nodes' memory grown per
// stream.
func (s *benchServer) fanout(ctx context.Context, subs, calls int) (benchResult, float64, error) {
	conn := s.conn(0)
	defer conn.close()
	for i := 0; i < calls; i++ {
		if _, err := s.post(conn, "/api/v1/halls/demo/tickets", `{"service_id":"tax"}`, http.StatusCreated); err != nil {
			return benchResult{}, 0, err
		}
	}
	rssBefore := s.rss()
	type arrival struct {
		number string
		at     time.Time
	}
	arrivals := make(chan arrival, subs*4)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var streams []*benchStream
	var ready, wg sync.WaitGroup
	for i := 0; i < subs; i++ {
		ready.Add(1)
		wg.Add(1)
		base := s.nodes[i%len(s.nodes)].base
		go func() {
			defer wg.Done()
			st, err := openBenchStream(base, "/api/v1/halls/demo/events")
			if err != nil {
				ready.Done()
				return
			}
			mu.Lock()
			streams = append(streams, st)
			mu.Unlock()
			ready.Done()
			for {
				name, data, err := st.next()
				if err != nil {
					return
				}
				if string(name) != civiq.EventCalled {
					continue
				}
				at := time.Now()
				// The number is all we need: cut it out rather than
				// decode, so that 10,000 streams in this one process do
				// not time the load generator instead of the server.
				number := ""
				if i := bytes.Index(data, []byte(`"number":"`)); i >= 0 {
					rest := data[i+10:]
					if j := bytes.IndexByte(rest, '"'); j >= 0 {
						number = string(rest[:j])
					}
				}
				select {
				case arrivals <- arrival{number, at}:
				case <-sctx.Done():
					return
				}
			}
		}()
	}
	ready.Wait()
	perSub := 0.0
	if subs > 0 {
		perSub = (s.rss() - rssBefore) / float64(subs)
	}
	var lat []time.Duration
	errs := 0
	mark := s.mark()
	start := time.Now()
	for i := 0; i < calls; i++ {
		t0 := time.Now()
		b, err := s.post(conn, "/api/v1/halls/demo/counters/5/call-next", "", http.StatusOK)
		if err != nil {
			return benchResult{}, 0, err
		}
		var out struct{ Ticket civiq.Ticket }
		if err := json.Unmarshal(b, &out); err != nil {
			return benchResult{}, 0, fmt.Errorf("call-next: %w", err)
		}
		got := 0
		timeout := time.After(10 * time.Second)
		for got < subs {
			select {
			case a := <-arrivals:
				if a.number == out.Ticket.Number {
					lat = append(lat, a.at.Sub(t0))
					got++
				}
			case <-timeout:
				errs += subs - got
				got = subs
			}
		}
	}
	elapsed := time.Since(start)
	r := summarize(fmt.Sprintf("call delivered to %d streams", subs), subs, lat, errs, elapsed)
	r.PerSecond = float64(len(lat)) / elapsed.Seconds()
	// The CPU and bytes of the calls and their deliveries, per delivery
	// (with more than one node, the first node's only).
	r.LoadCPUMicros = mark.account(s, &r)
	cancel()
	mu.Lock()
	for _, st := range streams {
		st.close()
	}
	mu.Unlock()
	wg.Wait()
	return r, perSub, nil
}

func summarize(name string, n int, lat []time.Duration, errs int, elapsed time.Duration) benchResult {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r := benchResult{Op: name, Count: len(lat), Errors: errs, Concurrent: n}
	if len(lat) > 0 {
		r.PerSecond = float64(len(lat)) / elapsed.Seconds()
		r.P50Millis = ms(lat[len(lat)/2])
		r.P99Millis = ms(lat[min(len(lat)-1, len(lat)*99/100)])
		r.MaxMillis = ms(lat[len(lat)-1])
	}
	return r
}

// ratios writes ratios with two decimals, space-separated.
func ratios(xs []float64) string {
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.2f", x)
	}
	return b.String()
}
