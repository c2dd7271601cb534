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

// target is where a URL's requests go, parsed once.
type target struct {
	key  string // scheme and address: the connections' pool
	addr string // host:port dialled
	host string // the Host header
	name string // the TLS server name
	uri  string // the request's path and query
	tls  bool
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

// answer is what came back: the status, its text and the answer's first
// bytes (for the log).
type answer struct {
	status int
	text   string
	head   []byte
}

// exchange posts the request (req: the request line and headers, without
// the blank line) and body to t, and reads the answer. A connection kept
// from before that fails before an answer came (the receiver closed it
// meanwhile) is given up and the request sent once more on a new one: the
// message keeps its id, and receivers drop repeats.
func (h *HTTPSender) exchange(ctx context.Context, t *target, req, body []byte, deadline time.Time) (answer, error) {
	for try := 0; ; try++ {
		c := h.pool.get(t.key)
		reused := c != nil
		if c == nil {
			var err error
			if c, err = h.dial(ctx, t, deadline); err != nil {
				return answer{}, err
			}
		}
		a, keep, err := h.roundTrip(ctx, c, req, body, deadline)
		if err == nil && keep {
			h.pool.put(t.key, c)
		} else {
			c.c.Close()
		}
		if err != nil && reused && try == 0 && ctx.Err() == nil && !isTimeout(err) {
			continue
		}
		return a, err
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

// roundTrip writes one request and reads its answer, a bounded part of
// its body; keep says the connection may carry the next.
func (h *HTTPSender) roundTrip(ctx context.Context, c *hconn, req, body []byte, deadline time.Time) (a answer, keep bool, err error) {
	c.c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Unix(1, 0)) }) // ended: unblock at once
	defer stop()
	// The request and its body in one write where they fit a segment's
	// worth; a larger body goes in a second.
	if len(req)+2+len(body) <= 16<<10 {
		buf := make([]byte, 0, len(req)+2+len(body))
		buf = append(append(append(buf, req...), "\r\n"...), body...)
		_, err = c.c.Write(buf)
	} else if _, err = c.c.Write(append(req, "\r\n"...)); err == nil {
		_, err = c.c.Write(body)
	}
	if err != nil {
		return a, false, err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return a, false, err
	}
	// Read a bounded part of the answer, so the connection can be reused
	// when it was small; a few bytes of it go to the log.
	head := make([]byte, maxErrorLen)
	n, _ := io.ReadFull(res.Body, head)
	rest, _ := io.Copy(io.Discard, io.LimitReader(res.Body, MaxResponse-int64(n)))
	whole := int64(n) < maxErrorLen || int64(n)+rest < MaxResponse
	res.Body.Close()
	a = answer{status: res.StatusCode, text: res.Status, head: head[:n]}
	return a, whole && !res.Close && ctx.Err() == nil, nil
}

// request is the request line and headers of a JSON POST to t (without
// the blank line that ends them), extra being more header lines.
func (h *HTTPSender) request(t *target, n int, extra func([]byte) []byte) []byte {
	b := make([]byte, 0, 512)
	b = append(b, "POST "...)
	b = append(b, t.uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.host...)
	b = append(b, "\r\nUser-Agent: "...)
	b = append(b, h.UserAgent...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, "\r\n"...)
	if extra != nil {
		b = extra(b)
	}
	return b
}

// headerLines appends the header's lines; a name or value with a line
// break in it is left out (the request would carry another header).
func headerLines(header http.Header) func([]byte) []byte {
	return func(b []byte) []byte {
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
}
