// Package civiqtest starts a real civiq node for tests: a store of the
// run's kind (SQLite, or PostgreSQL under storetest), wired by package app
// as civiq serve wires it, with the demo hall and the first admin, behind
// an httptest server. Tests of the API and the pages share it.
package civiqtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq/app"
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

// New starts a node with the demo hall and the admin signed in. opts change
// the node before it starts serving. Everything stops when t ends.
func New(t testing.TB, opts ...func(*app.App)) *Server {
	t.Helper()
	store := storetest.Open(t)
	s := &Server{App: app.New(store, "test", false), Clock: &Clock{}}
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
	for _, o := range opts {
		o(s.App)
	}
	s.HTTP = httptest.NewServer(s.API)
	s.URL = s.HTTP.URL
	t.Cleanup(func() {
		s.API.Close() // ends the event streams, so Close below does not wait for them
		s.HTTP.Close()
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	s.Admin = s.Login(t, "admin", AdminPassword)
	return s
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
