// Package civiqtest starts a real civiq node for tests: a store of the
// run's kind (SQLite, or PostgreSQL under storetest), wired by package app
// as civiq serve wires it, with the demo hall and the first admin, behind
// an httptest server. Tests of the API and the pages share it.
//
// Besides the node's own routes the test server answers two requests a
// browser script may send: POST /test/clock {"to": RFC 3339} sets the
// node's clock (204), and POST /test/cut-streams ends every event stream
// open now, as a network failure would ({"cut": n}).
package civiqtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/app"
	"github.com/civiq/civiq/pgtest"
	"github.com/civiq/civiq/storetest"
)

// AdminPassword is the first admin's password on every test server.
const AdminPassword = "admin-password-for-tests"

// Server is a running node.
type Server struct {
	*app.App
	URL   string
	HTTP  *httptest.Server
	Clock *Clock
	// Admin is a bearer token of the user admin.
	Admin string

	mu      sync.Mutex
	streams map[*http.Request]context.CancelFunc // the event streams open
}

// Clock is the engine's clock: the real time plus an offset a test moves.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Set puts the clock at the time at; from there it goes on with the real
// time.
func (c *Clock) Set(at time.Time) {
	c.mu.Lock()
	c.offset = time.Until(at)
	c.mu.Unlock()
}

// New starts a node with the demo hall and the admin signed in. opts change
// the node (its engine, its API server, its clock) before it starts
// serving and before the admin signs in. Everything stops when t ends.
func New(t testing.TB, opts ...func(*Server)) *Server {
	t.Helper()
	store := storetest.Open(t)
	a, err := app.New(store, "test", false)
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	s := &Server{App: a, Clock: &Clock{}, streams: map[*http.Request]context.CancelFunc{}}
	s.Engine.Now = s.Clock.Now
	ctx := context.Background()
	if pw, err := s.Engine.Bootstrap(ctx, AdminPassword); err != nil || pw != "" {
		store.Close()
		t.Fatalf("bootstrap: %q, %v", pw, err)
	}
	if loaded, err := s.Engine.LoadDemo(ctx); err != nil || !loaded {
		store.Close()
		t.Fatalf("load demo: %v, %v", loaded, err)
	}
	t.Cleanup(func() {
		s.API.Close() // ends the event streams, so Close below does not wait for them
		s.App.Close() // the delivery workers
		s.CutStreams()
		if s.HTTP != nil {
			s.HTTP.Close()
		}
		// httptest's Close forgets the connections the streams took, as
		// Shutdown does: their handlers end before the store closes.
		wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.API.WaitStreams(wait); err != nil {
			t.Errorf("streams at the end: %v", err)
		}
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	for _, o := range opts {
		o(s)
	}
	s.App.Start()
	s.HTTP = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.HTTP.URL
	s.Admin = s.Login(t, "admin", AdminPassword)
	return s
}

// serve answers the test requests and hands the rest to the node, keeping
// the event streams it may cut.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/test/clock":
		var req struct {
			To time.Time `json:"to"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.Clock.Set(req.To)
		w.WriteHeader(http.StatusNoContent)
		return
	case r.Method == http.MethodPost && r.URL.Path == "/test/cut-streams":
		json.NewEncoder(w).Encode(map[string]int{"cut": s.CutStreams()})
		return
	case strings.HasSuffix(r.URL.Path, "/events"):
		ctx, cancel := context.WithCancel(r.Context())
		s.mu.Lock()
		s.streams[r] = cancel
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			delete(s.streams, r)
			s.mu.Unlock()
			cancel()
		}()
		r = r.WithContext(ctx)
	}
	s.API.ServeHTTP(w, r)
}

// CutStreams ends every event stream open now, as a network failure
// would (a browser then reconnects with Last-Event-ID), and returns how
// many it ended.
func (s *Server) CutStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.streams {
		cancel()
	}
	return len(s.streams)
}

// Call sends a JSON request with a bearer token ("" for none), decodes the
// answer into out when out is not nil, and returns the status.
func (s *Server) Call(t testing.TB, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		t.Errorf("%s %s: a 5xx is a bug: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return res.StatusCode
}

// Login signs a user in and returns the bearer token.
func (s *Server) Login(t testing.TB, username, password string) string {
	t.Helper()
	var out struct{ Token string }
	if code := s.Call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": username, "password": password}, &out); code != http.StatusOK {
		t.Fatalf("login %s: status %d", username, code)
	}
	return out.Token
}

// UserPassword is the password of a user that User creates.
func UserPassword(username string) string { return username + "-password" }

// User creates a user with the role in the halls through the API, as the
// admin, with the password UserPassword(username), and signs them in: it
// returns their bearer token.
func (s *Server) User(t testing.TB, username, role string, halls ...string) string {
	t.Helper()
	body := map[string]any{"username": username, "password": UserPassword(username), "role": role, "hall_ids": halls}
	if code := s.Call(t, http.MethodPost, "/api/v1/users", s.Admin, body, nil); code != http.StatusCreated {
		t.Fatalf("create user %s: status %d", username, code)
	}
	return s.Login(t, username, UserPassword(username))
}

// Page GETs a path with the session cookie of a token ("" for none), as a
// browser does, without following redirects. It returns the answer and
// its body.
func (s *Server) Page(t testing.TB, path, session string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: civiq.SessionCookie, Value: session})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	if res.StatusCode >= 500 {
		t.Errorf("GET %s: a 5xx is a bug: %d %s", path, res.StatusCode, b)
	}
	return res, string(b)
}

// Output collects what a logger or a process writes from its goroutines
// while a test reads it (pgtest's, which collects a PostgreSQL server's).
type Output = pgtest.Output
