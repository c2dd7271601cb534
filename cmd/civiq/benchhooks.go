package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// hookReceiver is a webhook endpoint on loopback as lean as a real
// minimal receiver can be: HTTP/1.1 by hand on keep-alive connections
// (Content-Length bodies, as civiq sends), each message read whole and its
// signature checked as Standard Webhooks asks (HMAC-SHA256 of
// "id.timestamp.body" under the secret), then answered 204, or 401 when
// the signature does not match (counted: the bench fails on any); the
// answers to requests that came together (pipelined) go out in one write.
// net/http's
// server cost about 70 µs of CPU a message here, which the bench then
// measured as the hooks' cost to the server's issue rate. It notes when
// each ticket.issued message came, by ticket id.
type hookReceiver struct {
	ln    net.Listener
	url   string
	key   atomic.Pointer[[]byte] // the hook's secret, decoded, once registered
	bad   atomic.Int64           // messages whose signature did not match
	mu    sync.Mutex
	at    map[string]time.Time
	conns []net.Conn
}

var (
	issuedPrefix = []byte(`{"type":"ticket.issued"`)
	ticketID     = []byte(`"ticket":{"id":"`)
	answer204    = []byte("HTTP/1.1 204 No Content\r\n\r\n")
	answer401    = []byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
	answer411    = []byte("HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
)

func startHookReceiver() (*hookReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &hookReceiver{ln: ln, url: "http://" + ln.Addr().String() + "/hook", at: map[string]time.Time{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rc.mu.Lock()
			rc.conns = append(rc.conns, c)
			rc.mu.Unlock()
			go rc.serve(c)
		}
	}()
	return rc, nil
}

// setSecret gives the receiver the hook's secret ("whsec_" and base64).
func (rc *hookReceiver) setSecret(secret string) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	rc.key.Store(&key)
	return nil
}

func (rc *hookReceiver) close() {
	rc.ln.Close()
	rc.mu.Lock()
	for _, c := range rc.conns {
		c.Close()
	}
	rc.mu.Unlock()
}

// serve answers the messages of one connection, in turn.
func (rc *hookReceiver) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 16<<10)
	// The answers go out together while more requests are already read
	// (the sender pipelines): one write for them, as fasthttp's server
	// does; net/http's server writes each answer on its own.
	w := bufio.NewWriterSize(c, 4<<10)
	var (
		body, id, ts, sigs []byte
		mac                hash.Hash
		sum                []byte
		want               = make([]byte, base64.StdEncoding.EncodedLen(sha256.Size))
	)
	for {
		n := -1
		for first := true; ; first = false {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
			k, v, ok := bytes.Cut(line, []byte{':'})
			if first || !ok {
				continue // the request line
			}
			v = bytes.TrimSpace(v)
			switch {
			case bytes.EqualFold(k, []byte("content-length")):
				if l, err := strconv.Atoi(string(v)); err == nil {
					n = l
				}
			case bytes.EqualFold(k, []byte("webhook-id")):
				id = append(id[:0], v...)
			case bytes.EqualFold(k, []byte("webhook-timestamp")):
				ts = append(ts[:0], v...)
			case bytes.EqualFold(k, []byte("webhook-signature")):
				sigs = append(sigs[:0], v...)
			}
		}
		if n < 0 || n > 1<<20 {
			w.Write(answer411)
			w.Flush()
			return
		}
		body = slices.Grow(body[:0], n)[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		now := time.Now()
		ok := false
		if key := rc.key.Load(); key != nil {
			if mac == nil {
				mac = hmac.New(sha256.New, *key)
			}
			mac.Reset()
			mac.Write(id)
			mac.Write([]byte{'.'})
			mac.Write(ts)
			mac.Write([]byte{'.'})
			mac.Write(body)
			sum = mac.Sum(sum[:0])
			base64.StdEncoding.Encode(want, sum)
			for _, sig := range bytes.Fields(sigs) {
				if v, found := bytes.CutPrefix(sig, []byte("v1,")); found && hmac.Equal(v, want) {
					ok = true
				}
			}
		}
		if !ok {
			rc.bad.Add(1)
			w.Write(answer401)
			if r.Buffered() == 0 && w.Flush() != nil {
				return
			}
			continue
		}
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
		w.Write(answer204)
		if r.Buffered() == 0 && w.Flush() != nil {
			return
		}
	}
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
			rc.close()
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
		var h struct {
			Webhook struct {
				ID     int64
				Secret string
			}
		}
		json.Unmarshal(b, &h)
		ids = append(ids, h.Webhook.ID)
		if err := rc.setSecret(h.Webhook.Secret); err != nil {
			conn.close()
			return nil, nil, fmt.Errorf("the webhook's secret: %w", err)
		}
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
	for _, rc := range receivers {
		if n := rc.bad.Load(); n > 0 {
			return nil, nil, fmt.Errorf("a receiver had %d messages whose signature did not match", n)
		}
	}
	delivered := summarize(fmt.Sprintf("webhook: issue to receiver's 2xx (%d)", c.Hooks), c.Hooks, lat, missing, c.Duration)
	delivered.PerSecond = 0 // a latency, not a rate
	rep.Without, rep.With = without.PerSecond, with.PerSecond
	if rep.Without > 0 {
		rep.Ratio = rep.With / rep.Without
	}
	return rep, []benchResult{without, with, delivered}, nil
}
