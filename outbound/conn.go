package outbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The webhook sender's own HTTP/1.1 client: each try is one write of the
// request and one read of the answer on a kept-alive connection, by the
// delivery worker's goroutine itself. net/http's client hands every
// request to a writing and a reading goroutine of the connection and back,
// and cost about 80 µs of CPU a message under civiq bench's hooks, most of
// the delivery's cost. The answer is still read by net/http
// (http.ReadResponse: Content-Length, chunked, Connection: close), and
// nothing else changes: the addresses dialled are checked (the guarded
// dialer), no proxy, no redirect followed (a 3xx is a failed try), TLS for
// https, HTTP/1.1 as before.
//
// When a webhook has several messages ready, they go pipelined (RFC 9112
// section 9.3.2): up to HTTPSender.Pipeline requests in one write, their
// answers read in order (SendBatch, send.go). A webhook's POST is
// idempotent by its webhook-id, which receivers drop repeats by.

// target is where a URL's requests go, parsed once.
type target struct {
	key  string // scheme and address: the connections' pool
	addr string // host:port dialled
	host string // the Host header
	name string // the TLS server name
	uri  string // the request's path and query
	tls  bool
	// solo: until when (Unix nanoseconds) requests go one at a time, a
	// pipelined window having failed here.
	solo atomic.Int64
}

// hconn is a kept-alive connection to a target.
type hconn struct {
	c net.Conn
	r *bufio.Reader
}

// conns keeps the idle connections by target and the targets by URL.
type conns struct {
	mu      sync.Mutex
	idle    map[string][]*hconn
	targets map[string]*target
}

// maxIdle is how many idle connections are kept per target: a subscriber
// sends one message at a time, a few subscribers may share a receiver.
const maxIdle = 4

func (p *conns) target(raw string) (*target, error) {
	p.mu.Lock()
	t := p.targets[raw]
	p.mu.Unlock()
	if t != nil {
		return t, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("unsupported URL %q", raw)
	}
	t = &target{host: u.Host, name: u.Hostname(), uri: u.RequestURI(), tls: u.Scheme == "https"}
	port := u.Port()
	if port == "" {
		port = "80"
		if t.tls {
			port = "443"
		}
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	t.key = u.Scheme + "://" + t.addr
	p.mu.Lock()
	if p.targets == nil || len(p.targets) > 1000 {
		p.targets = map[string]*target{}
	}
	p.targets[raw] = t
	p.mu.Unlock()
	return t, nil
}

func (p *conns) get(key string) *hconn {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.idle[key]
	if len(cs) == 0 {
		return nil
	}
	c := cs[len(cs)-1]
	p.idle[key] = cs[:len(cs)-1]
	return c
}

func (p *conns) put(key string, c *hconn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = map[string][]*hconn{}
	}
	if len(p.idle[key]) >= maxIdle {
		c.c.Close()
		return
	}
	p.idle[key] = append(p.idle[key], c)
}

// answer is what came back: the status, its text, the answer's first
// bytes (for the log), and how long after the write it came.
type answer struct {
	status int
	text   string
	head   []byte
	took   time.Duration
}

// errUnanswered: the connection ended with requests on it unanswered.
var errUnanswered = errors.New("the receiver closed the connection before answering every request on it")

// dialError is a failure to reach the target at all.
type dialError struct{ error }

func (e dialError) Unwrap() error { return e.error }

// exchange writes buf, n whole requests, to t on one kept-alive
// connection and reads their answers in order: the first within the
// timeout of the write, each next one within the timeout of the one
// before it (a receiver works through them in turn). each is told every
// answer as it comes and says whether to read on: false ends the
// exchange and closes the connection (the answers behind are not
// wanted). It returns how many answers came, and why the rest did not.
// A connection kept from before that fails before any answer came (the
// receiver closed it meanwhile) is given up and the requests written once
// more on a new one: the messages keep their ids, and receivers drop
// repeats.
func (h *HTTPSender) exchange(ctx context.Context, t *target, buf []byte, n int, each func(answer) bool) (int, error) {
	start := time.Now()
	for try := 0; ; try++ {
		c := h.pool.get(t.key)
		reused := c != nil
		if c == nil {
			var err error
			if c, err = h.dial(ctx, t, start.Add(h.Timeout)); err != nil {
				return 0, dialError{err}
			}
		}
		got, keep, err := h.roundTrip(ctx, c, buf, n, start, each)
		if keep {
			h.pool.put(t.key, c)
		} else {
			c.c.Close()
		}
		if err != nil && got == 0 && reused && try == 0 && ctx.Err() == nil && !isTimeout(err) {
			continue
		}
		return got, err
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (h *HTTPSender) dial(ctx context.Context, t *target, deadline time.Time) (*hconn, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	raw, err := h.dialer.DialContext(dctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if t.tls {
		cfg := &tls.Config{ServerName: t.name, MinVersion: tls.VersionTLS12}
		if h.TLS != nil {
			cfg = h.TLS.Clone()
			cfg.ServerName = t.name
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, err
		}
		raw = tc
	}
	return &hconn{c: raw, r: bufio.NewReaderSize(raw, 4096)}, nil
}

// roundTrip writes the n requests of buf in one write and reads their
// answers, a bounded part of each body; keep says the connection may
// carry the next.
func (h *HTTPSender) roundTrip(ctx context.Context, c *hconn, buf []byte, n int, start time.Time, each func(answer) bool) (got int, keep bool, err error) {
	c.c.SetDeadline(start.Add(h.Timeout))
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Unix(1, 0)) }) // ended: unblock at once
	defer stop()
	if _, err = c.c.Write(buf); err != nil {
		return 0, false, err
	}
	for got < n {
		res, err := http.ReadResponse(c.r, nil)
		if err != nil {
			return got, false, err
		}
		// Read a bounded part of the answer, so the connection can be
		// reused when it was small; a few bytes of it go to the log.
		head := make([]byte, maxErrorLen)
		k, _ := io.ReadFull(res.Body, head)
		rest, _ := io.Copy(io.Discard, io.LimitReader(res.Body, MaxResponse-int64(k)))
		whole := int64(k) < maxErrorLen || int64(k)+rest < MaxResponse
		res.Body.Close()
		got++
		more := each(answer{status: res.StatusCode, text: res.Status, head: head[:k], took: time.Since(start)})
		if !whole || res.Close || ctx.Err() != nil {
			if got < n && more {
				return got, false, errUnanswered
			}
			return got, false, nil
		}
		if !more {
			return got, got == n, nil
		}
		if got < n {
			c.c.SetDeadline(time.Now().Add(h.Timeout))
		}
	}
	return got, true, nil
}

// appendHead appends the request line and headers of a JSON POST of n
// bytes to t, without the blank line that ends them.
func (h *HTTPSender) appendHead(b []byte, t *target, n int) []byte {
	b = append(b, "POST "...)
	b = append(b, t.uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.host...)
	b = append(b, "\r\nUser-Agent: "...)
	b = append(b, h.UserAgent...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, "\r\n"...)
}

// headerLines appends the header's lines; a name or value with a line
// break in it is left out (the request would carry another header).
func headerLines(b []byte, header http.Header) []byte {
	for k, vs := range header {
		for _, v := range vs {
			if strings.ContainsAny(k, "\r\n:") || strings.ContainsAny(v, "\r\n") {
				continue
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return b
}
