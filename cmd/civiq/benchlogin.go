package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// loginFloodReport is what the login flood measured on the first node: the
// sign-ins and how they were answered, /healthz timed throughout, and the
// node's peak resident memory (issue 18: 500 parallel wrong sign-ins took
// a server to 11.5 GiB and kept it there).
type loginFloodReport struct {
	Attempts    benchResult    `json:"attempts"`
	Healthz     benchResult    `json:"healthz"`
	Statuses    map[string]int `json:"statuses"`
	PeakRSS     float64        `json:"peak_rss_bytes"`
	RSSBefore   float64        `json:"rss_before_bytes"`
	TargetRSS   float64        `json:"target_rss_bytes"`
	TargetMaxMs float64        `json:"target_healthz_max_ms"`
}

// loginFlood sends wrong sign-ins from n clients at once, each on its own
// connection from loopback, to one user and to made-up names in turn, for
// d; meanwhile it asks /healthz every 50 ms and reads the node's memory
// every 20 ms. It stops by itself after d.
func (s *benchServer) loginFlood(ctx context.Context, n int, d time.Duration) loginFloodReport {
	node := s.nodes[0]
	rep := loginFloodReport{Statuses: map[string]int{}, TargetRSS: 512 << 20, TargetMaxMs: 100}
	rep.RSSBefore = s.nodeRSS(node)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	var peak atomic.Int64
	var health []time.Duration
	healthErrs := 0
	var watchers sync.WaitGroup
	watchers.Add(2)
	go func() {
		defer watchers.Done()
		for t := time.NewTicker(20 * time.Millisecond); ctx.Err() == nil; <-t.C {
			if r := int64(s.nodeRSS(node)); r > peak.Load() {
				peak.Store(r)
			}
		}
	}()
	go func() {
		defer watchers.Done()
		conn := newBenchConn(node.base)
		defer conn.close()
		for t := time.NewTicker(50 * time.Millisecond); ctx.Err() == nil; <-t.C {
			t0 := time.Now()
			if status, _, err := conn.do(http.MethodGet, "/healthz", "", ""); err != nil || status != http.StatusOK {
				healthErrs++
				continue
			}
			health = append(health, time.Since(t0))
		}
	}()

	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := newBenchConn(node.base)
			defer conn.close()
			user := "admin"
			if i%2 == 1 {
				user = fmt.Sprintf("nobody-%d", i)
			}
			body := fmt.Sprintf(`{"username":%q,"password":"wrong-password-%d"}`, user, i)
			var mine []time.Duration
			codes := map[string]int{}
			bad := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				status, _, err := conn.do(http.MethodPost, "/api/v1/auth/login", "", body)
				switch {
				case err != nil:
					bad++
					codes["error"]++
				case status == http.StatusUnauthorized || status == http.StatusTooManyRequests:
					mine = append(mine, time.Since(t0))
					codes[fmt.Sprint(status)]++
				default:
					bad++
					codes[fmt.Sprint(status)]++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			for k, v := range codes {
				rep.Statuses[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	watchers.Wait()
	rep.Attempts = summarize(fmt.Sprintf("login flood: %d parallel wrong logins", n), n, lat, errs, elapsed)
	rep.Healthz = summarize("/healthz during the login flood", 1, health, healthErrs, elapsed)
	rep.PeakRSS = float64(peak.Load())
	return rep
}
