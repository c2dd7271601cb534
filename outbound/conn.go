package outbound

import (
	"bufio"
	"bytes"
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

	"github.com/civiq/civiq"
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
		a, whole, closed, err := readAnswer(c.r)
		if err != nil {
			return got, false, err
		}
		a.took = time.Since(start)
		got++
		more := each(a)
		if !whole || closed || ctx.Err() != nil {
			if got < n && more {
				return got, false, errUnanswered
			}
			return got, false, nil
		}
		if !more {
			return got, got == n, nil
		}
		if got < n && !headBuffered(c.r) {
			// The next answer is to be read from the connection: within
			// the timeout of this one (the requests are written, only
			// reads are left). One whose head came with this one (a
			// receiver answers a window's requests together) came in
			// time, and setting a deadline for each cost two timers'
			// changes an answer.
			c.c.SetReadDeadline(time.Now().Add(h.Timeout))
		}
	}
	return got, true, nil
}

// headBuffered reports whether the head of the next answer, to its blank
// line, is in r's buffer already.
func headBuffered(r *bufio.Reader) bool {
	buf, _ := r.Peek(r.Buffered())
	return bytes.Contains(buf, []byte("\r\n\r\n"))
}

// readAnswer reads the next answer and a bounded part of its body, a few
// bytes of which go to the log: whole, all of it was read (the connection
// may carry the next); closed, the receiver closes the connection after
// it. A plain answer (quickAnswer) is read by hand, any other by
// http.ReadResponse.
func readAnswer(r *bufio.Reader) (a answer, whole, closed bool, err error) {
	if r.Buffered() == 0 {
		if _, err := r.Peek(1); err != nil {
			return a, false, false, err
		}
	}
	if a, whole, closed, ok := quickAnswer(r); ok {
		return a, whole, closed, nil
	}
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		return a, false, false, err
	}
	head := make([]byte, maxErrorLen)
	k, _ := io.ReadFull(res.Body, head)
	rest, _ := io.Copy(io.Discard, io.LimitReader(res.Body, MaxResponse-int64(k)))
	whole = int64(k) < maxErrorLen || int64(k)+rest < MaxResponse
	res.Body.Close()
	return answer{status: res.StatusCode, text: res.Status, head: head[:k]}, whole, res.Close, nil
}

// quickAnswer reads an answer whose status line and headers are all in
// r's buffer when it is of the plain kind a webhook receiver gives:
// HTTP/1.1, not 1xx, its length told by Content-Length (at most
// MaxResponse) or nothing (204, 304), no Transfer-Encoding, no folded
// header lines. Otherwise it reads nothing and ok is false.
// http.ReadResponse cost 4.5 µs and six allocations a 204 on the shared
// machine, this 1 µs and none (BenchmarkReadAnswer).
func quickAnswer(r *bufio.Reader) (a answer, whole, closed, ok bool) {
	buf, _ := r.Peek(r.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 || !bytes.HasPrefix(buf, []byte("HTTP/1.1 ")) {
		return a, false, false, false
	}
	lines := buf[:end]
	if crlf := bytes.Count(lines, []byte("\r\n")); bytes.Count(lines, []byte{'\r'}) != crlf || bytes.Count(lines, []byte{'\n'}) != crlf {
		return a, false, false, false // a bare CR or LF
	}
	line, lines, _ := bytes.Cut(lines, []byte("\r\n"))
	code := line[len("HTTP/1.1 "):]
	if len(code) < 3 || len(code) > 3 && code[3] != ' ' {
		return a, false, false, false
	}
	status := 0
	for _, c := range code[:3] {
		if c < '0' || c > '9' {
			return a, false, false, false
		}
		status = status*10 + int(c-'0')
	}
	if status < 200 {
		return a, false, false, false
	}
	n := int64(-1)
	for len(lines) > 0 {
		line, lines, _ = bytes.Cut(lines, []byte("\r\n"))
		name, value, found := bytes.Cut(line, []byte{':'})
		if !found || !token(name) || !fieldValue(value) {
			return a, false, false, false
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if n >= 0 || len(value) == 0 || len(value) > 18 {
				return a, false, false, false
			}
			n = 0
			for _, c := range value {
				if c < '0' || c > '9' {
					return a, false, false, false
				}
				n = n*10 + int64(c-'0')
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return a, false, false, false
		case bytes.EqualFold(name, []byte("Connection")):
			for _, tok := range bytes.Split(value, []byte{','}) {
				if bytes.EqualFold(bytes.TrimSpace(tok), []byte("close")) {
					closed = true
				}
			}
		}
	}
	if n < 0 {
		if status != 204 && status != 304 {
			return a, false, false, false // a body until the close
		}
		n = 0
	}
	if status == 204 || status == 304 {
		n = 0 // no body, whatever it says
	}
	if n > MaxResponse {
		return a, false, false, false
	}
	a.status = status
	if status < 200 || status > 299 {
		a.text = string(line0(buf))
	}
	if _, err := r.Discard(end + 4); err != nil {
		return a, false, false, false // not reached: the bytes were buffered
	}
	if n > 0 && a.text != "" { // the start of a failure's body, for the log
		head := make([]byte, min(n, maxErrorLen))
		k, _ := io.ReadFull(r, head)
		a.head, n = head[:k], n-int64(k)
	}
	if d, _ := r.Discard(int(n)); int64(d) < n {
		return a, false, closed, true
	}
	return a, true, closed, true
}

// token reports whether b is a header's name: RFC 9110's token.
func token(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return true
}

// fieldValue reports whether b holds no control character but tabs.
func fieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// line0 is the status line's text after the version: "500 Internal
// Server Error".
func line0(buf []byte) []byte {
	line, _, _ := bytes.Cut(buf, []byte("\r\n"))
	return line[len("HTTP/1.1 "):]
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
// break in it is left out (the request would carry another header), and
// so is a header of the request's own (civiq.SenderHeader: appendHead
// writes them, once).
func headerLines(b []byte, header http.Header) []byte {
	for k, vs := range header {
		if civiq.SenderHeader(k) {
			continue
		}
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
