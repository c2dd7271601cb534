package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq/api"
)

// smallBuffers accepts connections whose kernel send buffer is small, so
// that a client that never reads blocks the server's writes soon, and
// tells closed each one's client address when the server closes it
// (the streams take their connections from net/http, so the server's
// ConnState never sees them closed).
type smallBuffers struct {
	net.Listener
	closed func(client string)
}

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	if err != nil {
		return nil, err
	}
	return &closeNoted{Conn: c, closed: l.closed}, nil
}

type closeNoted struct {
	net.Conn
	once   sync.Once
	closed func(client string)
}

func (c *closeNoted) Close() error {
	c.once.Do(func() { c.closed(c.RemoteAddr().String()) })
	return c.Conn.Close()
}

// TestStreamsCloseClientsThatDoNotRead: a client that opens an event
// stream (a hall's, the city's) and never reads has its connection closed
// a write timeout after the server's writes stop getting through, instead
// of holding the handler, its subscriptions and kernel buffers forever.
// Heartbeats every millisecond fill the buffers quickly.
func TestStreamsCloseClientsThatDoNotRead(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *api.Server) {
		s.Heartbeat = time.Millisecond
		s.StreamWriteTimeout = 300 * time.Millisecond
	})
	var mu sync.Mutex
	closed := map[string]bool{} // by the client's address
	srv := httptest.NewUnstartedServer(ts.API)
	srv.Listener = smallBuffers{srv.Listener, func(client string) {
		mu.Lock()
		closed[client] = true
		mu.Unlock()
	}}
	srv.Start()
	t.Cleanup(srv.Close)

	for _, path := range []string{"/api/v1/halls/demo/events", "/api/v1/city/events"} {
		t.Run(path, func(t *testing.T) {
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.(*net.TCPConn).SetReadBuffer(4096)
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: civiq\r\nAuthorization: Bearer %s\r\n\r\n", path, ts.Admin)
			// Never read: the server's writes stop getting through.
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				mu.Lock()
				done := closed[c.LocalAddr().String()]
				mu.Unlock()
				if done {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Fatalf("the stream of a client that never reads is still open after 15 s")
		})
	}
}

// dialStream opens the event stream at path on a bare connection to addr
// as token, and reads its answer up to ": connected": the stream is
// subscribed. The caller closes the connection.
func dialStream(t *testing.T, addr, path, token string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: civiq\r\nAuthorization: Bearer %s\r\n\r\n", path, token)
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			c.Close()
			t.Fatalf("%s: %v", path, err)
		}
		if line == ": connected\n" {
			return c, r
		}
	}
}

// TestStreamsEndWhenTheClientLeaves: a stream whose client closes its
// connection ends at once, with no write to find it out (heartbeats an
// hour apart here), and lets go of its subscriptions.
func TestStreamsEndWhenTheClientLeaves(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *api.Server) { s.Heartbeat = time.Hour })
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, path := range []string{"/api/v1/halls/demo/events", "/api/v1/city/events"} {
		c, _ := dialStream(t, addr, path, ts.Admin)
		if ts.Hub.Count() == 0 {
			t.Fatalf("%s: no subscription while the stream is open", path)
		}
		c.Close()
		deadline := time.Now().Add(5 * time.Second)
		for ts.Hub.Count() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d subscriptions 5 s after the client left", path, ts.Hub.Count())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// noHijack is a ResponseWriter that flushes but cannot give up its
// connection (as under HTTP/2, or behind a wrapper that hides it).
type noHijack struct {
	http.ResponseWriter
	http.Flusher
}

// TestStreamsWithoutHijack: where the stream cannot take its connection,
// the events go through net/http as they are, replay and live alike.
func TestStreamsWithoutHijack(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.API.ServeHTTP(noHijack{w, w.(http.Flusher)}, r)
	}))
	t.Cleanup(srv.Close)
	wrapped := *ts
	wrapped.URL, wrapped.HTTP = srv.URL, srv
	first := ts.issue(t, ts.Admin, "general")
	s := openStream(t, &wrapped, ts.Admin, header{"Last-Event-ID", "0"})
	if ev := s.next(t); ev.Event != "ticket.issued" || !strings.Contains(ev.Data, first.ID) {
		t.Fatalf("replayed: %+v", ev)
	}
	ts.issue(t, ts.Admin, "tax")
	if ev := s.next(t); ev.Event != "ticket.issued" || ev.ID <= 0 || !strings.Contains(ev.Data, `"service_id":"tax"`) {
		t.Fatalf("live: %+v", ev)
	}
}

// An HTTP/1.0 client cannot read chunks: its stream is the events as they
// are, ended by the connection's close, as net/http sends it.
func TestStreamHTTP10(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	first := ts.issue(t, ts.Admin, "general")
	c, err := net.Dial("tcp", ts.HTTP.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/v1/halls/demo/events HTTP/1.0\r\nAuthorization: Bearer %s\r\nLast-Event-ID: 0\r\n\r\n", ts.Admin)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || len(res.TransferEncoding) != 0 {
		t.Fatalf("HTTP/1.0 stream: %d, transfer encoding %q", res.StatusCode, res.TransferEncoding)
	}
	var body strings.Builder
	for !strings.Contains(body.String(), first.ID) {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%v after %q", err, body.String())
		}
		body.WriteString(line)
	}
	// Chunks are framed by CRLF lines; the stream's own lines end in LF.
	if !strings.HasPrefix(body.String(), "retry: 2000\n") || strings.Contains(body.String(), "\r") {
		t.Errorf("HTTP/1.0 stream's body %q, want the events as they are", body.String())
	}
}

// TestWaitStreams: net/http's Shutdown forgets a connection a stream took,
// so a shutdown waits for the streams itself: after Close, WaitStreams
// returns once every stream's handler has (its subscription gone, its
// answer ended with the last chunk), before the store is closed.
func TestWaitStreams(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *api.Server) { s.Heartbeat = time.Hour })
	addr := strings.TrimPrefix(ts.URL, "http://")
	var clients []*bufio.Reader
	for _, path := range []string{"/api/v1/halls/demo/events", "/api/v1/city/events", "/api/v1/halls/demo/events?last_event_id=0"} {
		c, r := dialStream(t, addr, path, ts.Admin)
		defer c.Close()
		clients = append(clients, r)
	}
	ts.API.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.API.WaitStreams(ctx); err != nil {
		t.Fatal(err)
	}
	if n := ts.Hub.Count(); n != 0 {
		t.Errorf("%d subscriptions left once WaitStreams returned", n)
	}
	for i, r := range clients {
		rest, err := io.ReadAll(r)
		if err != nil || !strings.HasSuffix(string(rest), "0\r\n\r\n") {
			t.Errorf("stream %d ended with %q, %v; want the last chunk", i, rest, err)
		}
	}
}
