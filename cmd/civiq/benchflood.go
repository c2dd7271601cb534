package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// floodReport is what the connection flood found.
type floodReport struct {
	From       string `json:"from"`
	Opened     int    `json:"opened"`
	DialErrors int    `json:"dial_errors"`
	// MaxServerFiles is the most files the server held open, sampled.
	MaxServerFiles int     `json:"max_server_files"`
	MaxRSSBytes    float64 `json:"max_rss_bytes"`
}

// floodFrom is the flooder's address: another host as far as the server
// knows, while /healthz is asked from 127.0.0.1.
const floodFrom = "127.0.0.2"

// benchFlood starts a node with the default connection caps, opens n idle
// connections to it from floodFrom and holds them for d while /healthz
// is asked every 20 ms, each time on a new connection, from 127.0.0.1.
// It stops by itself after d and reports /healthz's latencies and the
// server's most files and memory.
func benchFlood(ctx context.Context, db string, n int, d time.Duration) (benchResult, *floodReport, error) {
	srv, err := startBenchServer(ctx, db, "", 1)
	if err != nil {
		return benchResult{}, nil, err
	}
	defer srv.stop()
	node := srv.nodes[0]
	host := node.base[len("http://"):]
	rep := &floodReport{From: floodFrom}
	// This process holds the flood's connections: leave it files of its own.
	if soft, _, err := raiseFileLimit(); err == nil && int(soft)-512 < n {
		n = max(0, int(soft)-512)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	var dialErrs atomic.Int64
	next := atomic.Int64{}
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(floodFrom)}, Timeout: 2 * time.Second}
			for next.Add(1) <= int64(n) {
				select {
				case <-stop:
					return
				default:
				}
				c, err := dialer.Dial("tcp", host)
				if err != nil {
					dialErrs.Add(1)
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	var samplerDone sync.WaitGroup
	samplerDone.Add(1)
	go func() {
		defer samplerDone.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss := srv.rss(); rss > rep.MaxRSSBytes {
				rep.MaxRSSBytes = rss
			}
			if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", node.cmd.Process.Pid)); err == nil && len(fds) > rep.MaxServerFiles {
				rep.MaxServerFiles = len(fds)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var lat []time.Duration
	errs := 0
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		t0 := time.Now()
		conn := newBenchConn(node.base)
		status, _, err := conn.do("GET", "/healthz", "", "")
		conn.close()
		if err != nil || status != 200 {
			errs++
		} else {
			lat = append(lat, time.Since(t0))
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	samplerDone.Wait()
	for _, c := range conns {
		c.Close()
	}
	rep.Opened, rep.DialErrors = len(conns), int(dialErrs.Load())
	return summarize(fmt.Sprintf("GET /healthz, %d idle conns", n), 1, lat, errs, elapsed), rep, nil
}
