package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/civiq/civiq/api"
)

// The issue comparison (issue 19): the bare SQLite ceiling, the
// no-storage HTTP ceiling (the issue route's decoding and answer, nothing
// behind it) and durable issue, measured back to back, --rounds times in
// turn, by civiq bench's own clients or by vegeta (--vegeta).

// kioskServices are the demo hall's four services, which the comparison's
// kiosk takes tickets of in turn.
var kioskServices = []string{"general", "property", "tax", "social"}

// benchRound is one turn of the comparison.
type benchRound struct {
	Round int `json:"round"`
	// Per second: the bare SQLite ceiling (0 on PostgreSQL), the
	// no-storage HTTP ceiling and durable issue.
	Bare    float64 `json:"bare_sqlite_per_second,omitempty"`
	NoStore float64 `json:"no_store_http_per_second,omitempty"`
	Issue   float64 `json:"issue_per_second,omitempty"`
	// ToBare and ToNoStore are durable issue over each ceiling.
	ToBare    float64 `json:"issue_to_bare,omitempty"`
	ToNoStore float64 `json:"issue_to_no_store,omitempty"`
	// AgainstToA is durable issue of --against's server over this one's.
	AgainstToA float64 `json:"against_to_this,omitempty"`
}

// loadAverage is the machine's load average over 1, 5 and 15 minutes, as
// /proc/loadavg gives it ("" where there is none).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// writtenBytes is what process pid has written so far, to files and
// sockets (wchar of /proc/pid/io); 0 when it cannot be read. Unlike CPU
// time it does not depend on how busy the machine is: the WAL pages a
// write dirties show in it.
func writtenBytes(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar:"); ok {
			var n float64
			fmt.Sscan(strings.TrimSpace(v), &n)
			return n
		}
	}
	return 0
}

// startAgainst serves --against's binary, with a paired kiosk, for the
// A/B phases (issue and call-next); nil without --against.
func startAgainst(ctx context.Context, c benchConfig, dir string) (against *benchServer, kiosk string, err error) {
	if c.Against == "" || !c.runs("issue") {
		return nil, "", nil
	}
	if against, err = startServerOf(ctx, c.Against, filepath.Join(dir, "against.db"), "", 1, "--max-conns-per-addr", "0"); err != nil {
		return nil, "", fmt.Errorf("--against: %w", err)
	}
	if kiosk, err = against.pairKiosk(); err != nil {
		against.stop()
		return nil, "", fmt.Errorf("--against: pair a kiosk: %w", err)
	}
	return against, kiosk, nil
}

// benchCompare runs the comparison's rounds and returns the last round's
// durable issue; against (nil for none) is --against's server, with its
// kiosk's token.
func benchCompare(ctx context.Context, c benchConfig, dir string, srv, against *benchServer, againstKiosk string, rep *benchReport, log io.Writer) (benchResult, error) {
	kiosk, err := srv.pairKiosk()
	if err != nil {
		return benchResult{}, fmt.Errorf("pair a kiosk: %w", err)
	}
	var noStore *benchServer
	if c.runs("http-ceiling") {
		if noStore, err = startNoStoreServer(ctx); err != nil {
			return benchResult{}, fmt.Errorf("no-storage server: %w", err)
		}
		defer noStore.stop()
	}
	var issue benchResult
	for round := 1; round <= c.Rounds; round++ {
		r := benchRound{Round: round}
		if c.Postgres == "" && c.runs("ceiling") {
			fmt.Fprintln(log, "bench: bare SQLite ceiling (one durable single-row insert per transaction)")
			cpu0 := cpuSeconds(os.Getpid())
			bare, err := benchCeiling(ctx, filepath.Join(dir, "ceiling.db"), c.Duration)
			if err != nil {
				return benchResult{}, fmt.Errorf("ceiling: %w", err)
			}
			bare.Round, bare.Load = round, "civiq"
			if bare.Count > 0 {
				bare.ServerCPUMicros = (cpuSeconds(os.Getpid()) - cpu0) * 1e6 / float64(bare.Count)
			}
			rep.Results = append(rep.Results, bare)
			r.Bare = bare.PerSecond
		}
		if noStore != nil {
			fmt.Fprintf(log, "bench: no-storage HTTP ceiling (the issue route's decoding and answer), %s\n", c.Duration)
			res, err := noStore.issueLoad(ctx, c, "no-storage HTTP issue (ceiling)", "", dir)
			if err != nil {
				return benchResult{}, err
			}
			res.Round = round
			rep.Results = append(rep.Results, res)
			r.NoStore = res.PerSecond
		}
		if c.runs("issue") {
			fmt.Fprintf(log, "bench: ticket issue, kiosk, %d clients on %d node(s), %s\n", c.Clients, len(srv.nodes), c.Duration)
			if issue, err = srv.issueLoad(ctx, c, "issue ticket (HTTP, durable)", kiosk, dir); err != nil {
				return benchResult{}, err
			}
			issue.Round = round
			rep.Results = append(rep.Results, issue)
			r.Issue = issue.PerSecond
		}
		if against != nil {
			fmt.Fprintf(log, "bench: ticket issue on %s, kiosk, %d clients, %s\n", c.Against, c.Clients, c.Duration)
			b, err := against.issueLoad(ctx, c, "issue ticket (HTTP, durable)", againstKiosk, dir)
			if err != nil {
				return benchResult{}, err
			}
			b.Round, b.Against = round, true
			rep.Results = append(rep.Results, b)
			if r.Issue > 0 {
				r.AgainstToA = b.PerSecond / r.Issue
			}
		}
		if r.Bare > 0 && r.Issue > 0 {
			r.ToBare = r.Issue / r.Bare
		}
		if r.NoStore > 0 && r.Issue > 0 {
			r.ToNoStore = r.Issue / r.NoStore
		}
		rep.Rounds = append(rep.Rounds, r)
	}
	return issue, nil
}

// pairKiosk makes a kiosk device in the demo hall and pairs it: the
// comparison's tickets are a kiosk's, with its bearer token.
func (s *benchServer) pairKiosk() (string, error) {
	conn := s.conn(0)
	defer conn.close()
	b, err := s.post(conn, "/api/v1/halls/demo/devices", `{"kind":"kiosk","name":"civiq bench"}`, http.StatusCreated)
	if err != nil {
		return "", err
	}
	var d struct {
		Device struct {
			PairingCode string `json:"pairing_code"`
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return "", err
	}
	b, err = s.postAs(conn, "", "/api/v1/devices/pair", fmt.Sprintf(`{"code":%q}`, d.Device.PairingCode), http.StatusOK)
	if err != nil {
		return "", err
	}
	var p struct{ Token string }
	if err := json.Unmarshal(b, &p); err != nil || p.Token == "" {
		return "", fmt.Errorf("pairing answered %s", b)
	}
	return p.Token, nil
}

// issueLoad takes kiosk tickets of the four demo services in turn for
// c.Duration from c.Clients clients, with token as the bearer token, and
// gives the server's CPU per ticket: by the bench's own clients, or by
// vegeta when c.Vegeta names it.
func (s *benchServer) issueLoad(ctx context.Context, c benchConfig, name, token, dir string) (benchResult, error) {
	mark := s.mark()
	var res benchResult
	if c.Vegeta != "" {
		var err error
		if res, err = s.vegeta(ctx, c, name, s.issueTargets(token), c.Clients, http.StatusCreated, dir); err != nil {
			return res, err
		}
	} else {
		var n atomic.Int64
		res = s.load(ctx, name, c.Clients, c.Duration, func(conn *benchConn) error {
			body := fmt.Sprintf(`{"service_id":%q,"channel":"kiosk"}`, kioskServices[int(n.Add(1)-1)%len(kioskServices)])
			_, err := s.postAs(conn, token, "/api/v1/halls/demo/tickets", body, http.StatusCreated)
			return err
		})
		res.Load = "civiq"
	}
	bench := mark.account(s, &res)
	if c.Vegeta == "" {
		res.LoadCPUMicros = bench
	}
	return res, nil
}

// serverMark is the server's CPU and the bytes it wrote at the start of
// a phase (issue, call-next).
type serverMark struct {
	cpu   cpuMeter
	wrote float64
}

func (s *benchServer) mark() serverMark {
	return serverMark{s.cpu(), writtenBytes(s.nodes[0].cmd.Process.Pid)}
}

// account gives res the server's CPU and bytes written per request since
// the mark, and answers the bench's own CPU per request in microseconds.
func (m serverMark) account(s *benchServer, res *benchResult) (benchMicros float64) {
	server, bench := m.cpu.perTicket(s.cpu(), res.Count)
	res.ServerCPUMicros = server * 1000
	if wrote := writtenBytes(s.nodes[0].cmd.Process.Pid); wrote > 0 && res.Count > 0 {
		res.ServerWrittenBytes = (wrote - m.wrote) / float64(res.Count)
	}
	return bench * 1000
}

// vegetaTarget is a request of a vegeta attack: POST to a URL with a
// bearer token ("" for none) and a JSON body ("" for none).
type vegetaTarget struct{ url, token, body string }

// issueTargets are the kiosk's tickets of the four services in turn, on
// each of the server's nodes.
func (s *benchServer) issueTargets(token string) []vegetaTarget {
	var ts []vegetaTarget
	for _, n := range s.nodes {
		for _, svc := range kioskServices {
			ts = append(ts, vegetaTarget{n.base + "/api/v1/halls/demo/tickets", token, fmt.Sprintf(`{"service_id":%q,"channel":"kiosk"}`, svc)})
		}
	}
	return ts
}

// vegeta runs `vegeta attack` with the targets in turn from workers
// workers at rate 0 (as fast as they go) for c.Duration, and reads its
// report: answers of status want count, others are errors.
func (s *benchServer) vegeta(ctx context.Context, c benchConfig, name string, targets []vegetaTarget, workers, want int, dir string) (benchResult, error) {
	var tb strings.Builder
	for i, t := range targets {
		fmt.Fprintf(&tb, "POST %s\n", t.url)
		if t.token != "" {
			fmt.Fprintf(&tb, "Authorization: Bearer %s\n", t.token)
		}
		if t.body != "" {
			body := filepath.Join(dir, fmt.Sprintf("vegeta-body-%d.json", i))
			if err := os.WriteFile(body, []byte(t.body), 0o600); err != nil {
				return benchResult{}, err
			}
			fmt.Fprintf(&tb, "Content-Type: application/json\n@%s\n", body)
		}
		tb.WriteString("\n")
	}
	tf, out := filepath.Join(dir, "vegeta-targets.txt"), filepath.Join(dir, "vegeta-results.bin")
	if err := os.WriteFile(tf, []byte(tb.String()), 0o600); err != nil {
		return benchResult{}, err
	}
	args := []string{"attack", "-targets", tf, "-rate", "0", "-workers", fmt.Sprint(workers), "-max-workers", fmt.Sprint(workers),
		"-duration", c.Duration.String(), "-output", out}
	attack := exec.CommandContext(ctx, c.Vegeta, args...)
	attack.Stderr = os.Stderr
	if err := attack.Run(); err != nil {
		return benchResult{}, fmt.Errorf("vegeta %s: %w", strings.Join(args, " "), err)
	}
	b, err := exec.CommandContext(ctx, c.Vegeta, "report", "-type", "json", out).Output()
	if err != nil {
		return benchResult{}, fmt.Errorf("vegeta report: %w", err)
	}
	var m struct {
		Latencies struct {
			P50 float64 `json:"50th"`
			P99 float64 `json:"99th"`
			Max float64 `json:"max"`
		}
		Requests    int            `json:"requests"`
		Throughput  float64        `json:"throughput"`
		StatusCodes map[string]int `json:"status_codes"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return benchResult{}, fmt.Errorf("vegeta report: %w", err)
	}
	ok := m.StatusCodes[fmt.Sprint(want)]
	res := benchResult{Op: name, Count: ok, Errors: m.Requests - ok, PerSecond: m.Throughput,
		P50Millis: m.Latencies.P50 / 1e6, P99Millis: m.Latencies.P99 / 1e6, MaxMillis: m.Latencies.Max / 1e6,
		Concurrent: workers, Load: "vegeta"}
	if st := attack.ProcessState; st != nil && ok > 0 {
		res.LoadCPUMicros = (st.UserTime() + st.SystemTime()).Seconds() * 1e6 / float64(m.Requests)
	}
	return res, nil
}

// startNoStoreServer runs this binary's no-storage issue route (bench
// --serve-no-store) in a child process on a free loopback port, as the
// real server runs in one.
func startNoStoreServer(ctx context.Context) (*benchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "--serve-no-store", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchServer{nodes: []*benchNode{{cmd: cmd, base: "http://" + addr}}}
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("did not start: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveNoStore serves api.NoStoreIssue on addr until ctx ends, with the
// real server's collector setting.
func serveNoStore(ctx context.Context, addr string) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200) // as civiq serve
	}
	srv := &http.Server{Addr: addr, Handler: api.NoStoreIssue(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
