package outbound_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/outbound"
)

// The sender's own HTTP/1.1 client: https with the receiver's roots,
// one kept-alive connection for several messages, and a message sent
// on a new connection when the receiver closed the kept one (Connection:
// close, or silently), each answered in full.
func TestSenderConnections(t *testing.T) {
	var conns, bodies atomic.Int32
	rc := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"n":1}` || r.Header.Get("webhook-signature") == "" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(400)
			return
		}
		if bodies.Add(1) == 2 {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(204)
	}))
	rc.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	rc.StartTLS()
	defer rc.Close()
	pool := x509.NewCertPool()
	pool.AddCert(rc.Certificate())
	h := outbound.NewHTTPSender()
	h.Allow, h.TLS = loopback, &tls.Config{RootCAs: pool}
	s := &civiq.Subscriber{ID: 1, URL: rc.URL + "/hook?x=1", Secret: civiq.NewWebhookSecret()}
	for i := range 4 {
		m := &civiq.Message{ID: civiq.MessageID(1, int64(i+1)), EventID: int64(i + 1), Body: []byte(`{"n":1}`)}
		if a := h.Send(context.Background(), s, m); a.Status != 204 {
			t.Fatalf("message %d: %+v", i, a)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections for 4 messages, the second answer closing its own: want 2", n)
	}
	// The receiver drops the kept connection without a word: the next
	// message goes on a new one.
	rc.CloseClientConnections()
	m := &civiq.Message{ID: civiq.MessageID(1, 5), EventID: 5, Body: []byte(`{"n":1}`)}
	if a := h.Send(context.Background(), s, m); a.Status != 204 || conns.Load() != 3 {
		t.Fatalf("after the receiver closed the connection: %+v, %d connections", a, conns.Load())
	}
}
