// Package api serves civiq's JSON API v1, its live event streams and the
// operations endpoints over net/http.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/inmem"
)

// Server is the HTTP side of civiq.
type Server struct {
	Engine *civiq.Engine
	Hub    *inmem.Hub
	// MetricsAllow lists who may read /metrics; empty means loopback only.
	MetricsAllow []netip.Prefix
	// TrustedProxies lists the reverse proxies whose X-Forwarded-For
	// names the client (clientAddr); none by default.
	TrustedProxies []netip.Prefix
	// Heartbeat is how often a comment keeps event streams open.
	Heartbeat time.Duration
	// StreamWriteTimeout is how long an event stream's client has to take
	// each write before the stream is closed (DefaultStreamWriteTimeout
	// when 0; api/sse.go).
	StreamWriteTimeout time.Duration
	Version            string
	// Ready reports whether the store answers, for /readyz.
	Ready func(context.Context) error
	// Link is an edge node's link to its city (package edgelink); nil on
	// a city.
	Link civiq.Link

	metrics *Metrics
	mux     *http.ServeMux
	// patterns are the routes handle and plain registered, in order (for
	// the tests' route × role matrix).
	patterns []string
	// closed ends with Close: every event stream ends.
	closed   context.Context
	closeAll context.CancelFunc
	// streams counts the event streams being served (stream): net/http's
	// Shutdown forgets a connection once a stream takes it (Hijack), so
	// WaitStreams waits for them instead.
	streamsMu sync.Mutex
	streams   int
	noStreams chan struct{} // closed when streams falls to 0 while WaitStreams waits
}

// NewServer builds the server's routes.
func NewServer(engine *civiq.Engine, hub *inmem.Hub, m *Metrics) *Server {
	s := &Server{Engine: engine, Hub: hub, Heartbeat: 10 * time.Second, metrics: m, mux: http.NewServeMux()}
	s.closed, s.closeAll = context.WithCancel(context.Background())
	s.routes()
	if m != nil {
		m.Registry.MustRegister(newNodeCollector(s)) // api/edge.go
	}
	return s
}

// Mux is the server's router: the web pages register on it, behind the
// same request ids, logs and metrics.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Close ends every event stream; call it when shutting down, then
// WaitStreams before closing the store.
func (s *Server) Close() { s.closeAll() }

// stream counts an event stream's handler from its start: the function
// it gives is called when the handler returns.
func (s *Server) stream() (done func()) {
	s.streamsMu.Lock()
	s.streams++
	s.streamsMu.Unlock()
	return func() {
		s.streamsMu.Lock()
		defer s.streamsMu.Unlock()
		if s.streams--; s.streams == 0 && s.noStreams != nil {
			close(s.noStreams)
			s.noStreams = nil
		}
	}
}

// WaitStreams waits until every event stream's handler has returned
// (after Close, each ends within its write timeout: the last chunk to a
// client that reads nothing waits that long at most), or ctx ends: then
// it says how many are left. Nothing a stream does (a read of the store,
// a write to its client) comes after it returns nil.
func (s *Server) WaitStreams(ctx context.Context) error {
	s.streamsMu.Lock()
	if s.streams == 0 {
		s.streamsMu.Unlock()
		return nil
	}
	if s.noStreams == nil {
		s.noStreams = make(chan struct{})
	}
	none := s.noStreams
	s.streamsMu.Unlock()
	select {
	case <-none:
		return nil
	case <-ctx.Done():
		s.streamsMu.Lock()
		n := s.streams
		s.streamsMu.Unlock()
		return fmt.Errorf("%d event streams still open: %w", n, ctx.Err())
	}
}

// ServeHTTP adds a request id, logs the request and times it by route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 {
		id = newRequestID()
	}
	w.Header().Set("X-Request-Id", id)
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	r = r.WithContext(civiq.WithClientAddr(ctx, s.clientAddr(r))) // sign-ins and more are counted per address
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	if s.deviceConnAllowed(r) {
		s.mux.ServeHTTP(rec, r)
	} else { // connlimit.go
		w.Header().Set("Connection", "close")
		writeError(rec, r, rateLimited(w, 5*time.Second, "over connections from this address (only paired devices may open more)"))
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	d := time.Since(start)
	if s.metrics != nil && !strings.HasSuffix(route, "/events") {
		s.metrics.observeHTTP(r.Method, r.Pattern, rec.status, d)
	}
	level := slog.LevelDebug
	if rec.status >= 500 {
		level = slog.LevelError
	}
	if l := slog.Default(); l.Enabled(r.Context(), level) { // not at info: the line's values are not even boxed
		l.Log(r.Context(), level, "http", "method", r.Method, "route", route, "status", rec.status, "ms", d.Milliseconds(), "request_id", id)
	}
}

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// newRequestID is 16 hex digits that name a request in the logs: not a
// secret, so from math/rand (crypto/rand was a system call a request).
func newRequestID() string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status. Every 503, of the API and of the
// pages alike, tells the client when to try again: storage that failed
// comes back by itself.
func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	if code == http.StatusServiceUnavailable && r.Header().Get("Retry-After") == "" {
		r.Header().Set("Retry-After", "2")
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush and SetWriteDeadline.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// access says who may use a route. Hall and counter come from the path, or
// from the ticket named by {id}.
type access struct {
	anyone bool             // no sign-in needed
	signed bool             // any signed-in user or device
	perm   civiq.Permission // otherwise: this permission in the hall
}

var (
	anyone = access{anyone: true}
	signed = access{signed: true}
)

func need(p civiq.Permission) access { return access{perm: p} }

// call is what a handler gets besides the request: who asks, and the ticket
// named in the path when the route has one.
type call struct {
	p       civiq.Principal
	session *civiq.Session
	token   string
	ticket  *civiq.Ticket
	body    []byte
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// handle registers a route behind the one authorization middleware.
func (s *Server) handle(pattern string, a access, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := s.serve(w, r, a, h); err != nil {
			writeError(w, r, err)
		}
	})
}

// plain registers a route that needs no principal (health, readiness,
// metrics, the API's 404), outside the middleware.
func (s *Server) plain(pattern string, h http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, h)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, a access, h handlerFunc) error {
	c := &call{}
	if err := s.authenticate(r, c); err != nil {
		return err
	}
	r = r.WithContext(civiq.WithActor(r.Context(), c.p)) // who served a ticket (rating.go)
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete || r.Method == http.MethodPatch {
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		c.body = body
	}
	if !a.anyone {
		if c.p.Anonymous() {
			return civiq.Errorf(civiq.EUnauthorized, "sign in first")
		}
		if !a.signed {
			hall, counter := r.PathValue("hall"), r.PathValue("counter")
			if id := r.PathValue("id"); id != "" && hall == "" {
				t, err := s.Engine.Ticket(r.Context(), id)
				if err != nil {
					return err
				}
				c.ticket, hall, counter = t, t.HallID, t.CounterID
			}
			if !c.p.Can(a.perm, hall, counter) {
				if e := c.p.Edge; e != nil && hall != "" && e.HallID != hall {
					// Most often an edge started with another hall's token.
					return civiq.Errorf(civiq.EForbidden, "this edge token is of hall %s, not of hall %s: start the edge with --hall %s, or make a token for hall %s on the city", e.HallID, hall, e.HallID, hall)
				}
				return civiq.Errorf(civiq.EForbidden, "you may not do this here")
			}
		}
	}
	return h(w, r, c)
}

// authenticate finds the principal from a bearer token or the session
// cookie. A cookie session must send its CSRF token with every change.
func (s *Server) authenticate(r *http.Request, c *call) error {
	token, fromCookie := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(rest)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return civiq.Errorf(civiq.EUnauthorized, "the Authorization header must be 'Bearer <token>'")
		}
	} else if ck, err := r.Cookie(civiq.SessionCookie); err == nil && ck.Value != "" {
		token, fromCookie = ck.Value, true
	}
	if token == "" {
		return nil
	}
	p, sess, err := s.Engine.Authenticate(r.Context(), token)
	if err != nil {
		if fromCookie && civiq.ErrorCode(err) == civiq.EUnauthorized {
			return nil // a stale cookie is the same as none
		}
		return err
	}
	if fromCookie && r.Method != http.MethodGet && r.Method != http.MethodHead {
		if sess == nil || r.Header.Get("X-CSRF-Token") != sess.CSRF {
			return civiq.Errorf(civiq.EForbidden, "missing or wrong X-CSRF-Token")
		}
	}
	c.p, c.session, c.token = p, sess, token
	return nil
}

// idem reads the Idempotency-Key of a request, scoped to who sent it and
// to the route, with a hash of the body.
func idem(r *http.Request, c *call) (*civiq.Idem, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if len(key) > 200 {
		return nil, civiq.FieldErrorf("Idempotency-Key", "Idempotency-Key is at most 200 characters")
	}
	sum := sha256.Sum256(c.body)
	return &civiq.Idem{Scope: c.p.Key() + " " + r.Method + " " + r.URL.Path, Key: key, Hash: hex.EncodeToString(sum[:])}, nil
}

// clientIP is the address the request comes from, as ServeHTTP found it
// (clientAddr): what limits per address count and /metrics allows.
func clientIP(r *http.Request) netip.Addr { return civiq.ClientAddr(r.Context()) }

// clientAddr is the address r comes from: its peer's, or, when the peer
// is one of TrustedProxies, the nearest address in X-Forwarded-For that is
// not (walking it from its end, where each proxy appends the address it
// was reached from). An entry that is not an address (with or without a
// port) ends the walk at the proxy that wrote it: what lies before it is
// the client's to say, not a proxy's.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	addr := peerAddr(r.RemoteAddr)
	if !inPrefixes(s.TrustedProxies, addr) {
		return addr
	}
	entries := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(entries) - 1; i >= 0; i-- {
		entry := strings.TrimSpace(entries[i])
		if entry == "" {
			continue
		}
		a, err := netip.ParseAddr(entry)
		if err != nil {
			ap, err := netip.ParseAddrPort(entry)
			if err != nil {
				return addr
			}
			a = ap.Addr()
		}
		if addr = a.Unmap(); !inPrefixes(s.TrustedProxies, addr) {
			return addr
		}
	}
	return addr
}

// peerAddr is the address of a request's peer (http.Request.RemoteAddr).
func peerAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// inPrefixes reports whether a is in one of ps.
func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
