package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hooksReport is what the hooks phase found: the issue rate without and
// with webhooks registered, and how the hooks kept up.
type hooksReport struct {
	Hooks   int     `json:"hooks"`
	Without float64 `json:"issue_per_second_without"`
	With    float64 `json:"issue_per_second_with"`
	// Ratio is With over Without: the issue's target is at least 0.9.
	Ratio float64 `json:"ratio"`
	// DrainSeconds is how long after the load the last hook had every
	// ticket the load took.
	DrainSeconds float64 `json:"drain_seconds"`
	// CPU each issued ticket cost, in milliseconds of CPU time, without
	// and with the hooks (the hooks' phase counted until every hook had
	// every ticket): the server's, and the bench's own (its clients and,
	// with hooks, the receivers). 0 where /proc cannot be read.
	ServerCPUWithout float64 `json:"server_cpu_ms_per_ticket_without"`
	ServerCPUWith    float64 `json:"server_cpu_ms_per_ticket_with"`
	BenchCPUWithout  float64 `json:"bench_cpu_ms_per_ticket_without"`
	BenchCPUWith     float64 `json:"bench_cpu_ms_per_ticket_with"`
}

// cpuSeconds is the CPU time (user and system) process pid has used so
// far, from /proc; 0 when it cannot be read.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command's name, which ends with the last ')':
	// utime and stime are the 12th and 13th of them, in clock ticks (100
	// a second on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

// cpuMeter reads the CPU time of the server's first node and of the bench.
type cpuMeter struct{ server, bench float64 }

func (s *benchServer) cpu() cpuMeter {
	return cpuMeter{server: cpuSeconds(s.nodes[0].cmd.Process.Pid), bench: cpuSeconds(os.Getpid())}
}

// perTicket is the CPU used since m, in milliseconds per ticket.
func (m cpuMeter) perTicket(now cpuMeter, tickets int) (server, bench float64) {
	if tickets == 0 || m.server == 0 {
		return 0, 0
	}
	return (now.server - m.server) * 1000 / float64(tickets), (now.bench - m.bench) * 1000 / float64(tickets)
}

// hookReceiver is a webhook endpoint on loopback that answers 204 and
// notes when each ticket.issued message came, by ticket id. It does not
// check signatures (the tests do): it is the load's receiver.
type hookReceiver struct {
	srv *http.Server
	url string
	mu  sync.Mutex
	at  map[string]time.Time
}

var (
	issuedPrefix = []byte(`{"type":"ticket.issued"`)
	ticketID     = []byte(`"ticket":{"id":"`)
)

func startHookReceiver() (*hookReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &hookReceiver{url: "http://" + ln.Addr().String() + "/hook", at: map[string]time.Time{}}
	rc.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		now := time.Now()
		// Cut the ticket's id out rather than decode: the load generator
		// shares the machine with the server.
		if bytes.HasPrefix(body, issuedPrefix) {
			if i := bytes.Index(body, ticketID); i >= 0 {
				rest := body[i+len(ticketID):]
				if j := bytes.IndexByte(rest, '"'); j >= 0 {
					rc.mu.Lock()
					if _, seen := rc.at[string(rest[:j])]; !seen {
						rc.at[string(rest[:j])] = now
					}
					rc.mu.Unlock()
				}
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go rc.srv.Serve(ln)
	return rc, nil
}

// arrived is when the ticket's message came, if it did.
func (rc *hookReceiver) arrived(id string) (time.Time, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	at, ok := rc.at[id]
	return at, ok
}

// benchHooks measures the issue rate without webhooks, then with n hooks
// registered (each wanting every event, each its own receiver), and the
// time from the start of each issue request to each receiver's answer.
func benchHooks(ctx context.Context, c benchConfig, srv *benchServer, log io.Writer) (*hooksReport, []benchResult, error) {
	rep := &hooksReport{Hooks: c.Hooks}
	fmt.Fprintf(log, "bench: ticket issue without webhooks, %d clients, %s\n", c.Clients, c.Duration)
	cpu0 := srv.cpu()
	without := srv.load(ctx, "issue ticket, no webhooks", c.Clients, c.Duration, srv.issueOp(nil))
	rep.ServerCPUWithout, rep.BenchCPUWithout = cpu0.perTicket(srv.cpu(), without.Count)

	var receivers []*hookReceiver
	var ids []int64
	defer func() {
		conn := srv.conn(0)
		defer conn.close()
		for _, id := range ids {
			conn.do(http.MethodDelete, "/api/v1/webhooks/"+strconv.FormatInt(id, 10), srv.token, "")
		}
		for _, rc := range receivers {
			rc.srv.Close()
		}
	}()
	conn := srv.conn(0)
	for range c.Hooks {
		rc, err := startHookReceiver()
		if err != nil {
			return nil, nil, err
		}
		receivers = append(receivers, rc)
		b, err := srv.post(conn, "/api/v1/webhooks", fmt.Sprintf(`{"url":%q,"events":["*"]}`, rc.url), http.StatusCreated)
		if err != nil {
			conn.close()
			return nil, nil, fmt.Errorf("register a webhook (is --webhook-allow missing?): %w %s", err, b)
		}
		var h struct{ Webhook struct{ ID int64 } }
		json.Unmarshal(b, &h)
		ids = append(ids, h.Webhook.ID)
	}
	conn.close()

	fmt.Fprintf(log, "bench: ticket issue with %d webhooks on loopback, %d clients, %s\n", c.Hooks, c.Clients, c.Duration)
	var mu sync.Mutex
	sent := map[string]time.Time{}
	cpu1 := srv.cpu()
	with := srv.load(ctx, fmt.Sprintf("issue ticket, %d webhooks", c.Hooks), c.Clients, c.Duration, srv.issueOp(func(id string, t0 time.Time) {
		mu.Lock()
		sent[id] = t0
		mu.Unlock()
	}))
	loadEnd := time.Now()

	// Wait (a minute at most) for every hook to have every ticket.
	var lat []time.Duration
	missing := 0
	deadline := loadEnd.Add(time.Minute)
	for _, rc := range receivers {
		for id, t0 := range sent {
			at, ok := rc.arrived(id)
			for !ok && time.Now().Before(deadline) && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
				at, ok = rc.arrived(id)
			}
			if !ok {
				missing++
				continue
			}
			lat = append(lat, at.Sub(t0))
			if d := at.Sub(loadEnd).Seconds(); d > rep.DrainSeconds {
				rep.DrainSeconds = d
			}
		}
	}
	rep.ServerCPUWith, rep.BenchCPUWith = cpu1.perTicket(srv.cpu(), with.Count)
	delivered := summarize(fmt.Sprintf("webhook: issue to receiver's 2xx (%d)", c.Hooks), c.Hooks, lat, missing, c.Duration)
	delivered.PerSecond = 0 // a latency, not a rate
	rep.Without, rep.With = without.PerSecond, with.PerSecond
	if rep.Without > 0 {
		rep.Ratio = rep.With / rep.Without
	}
	return rep, []benchResult{without, with, delivered}, nil
}
