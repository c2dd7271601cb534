package api_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq/api"
)

// smallBuffers accepts connections whose kernel send buffer is small, so
// that a client that never reads blocks the server's writes soon.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
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
	srv.Listener = smallBuffers{srv.Listener}
	srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			mu.Lock()
			closed[c.RemoteAddr().String()] = true
			mu.Unlock()
		}
	}
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
