package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The bench client reads what net/http's server writes: short answers
// with a length, long ones chunked, and a closed connection after
// "Connection: close"; it sends the body and the token.
func TestBenchConn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("Authorization"), body)
		case "/long":
			w.(http.Flusher).Flush() // no length known: chunked
			w.Write(bytes.Repeat([]byte("x"), 100_000))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	c := newBenchConn(srv.URL)
	defer c.close()
	for round := 0; round < 2; round++ {
		status, body, err := c.do("POST", "/echo", "tok", `{"a":1}`)
		if err != nil || status != 201 || string(body) != `POST Bearer tok {"a":1}` {
			t.Fatalf("echo: %d %q %v", status, body, err)
		}
		status, body, err = c.do("GET", "/long", "", "")
		if err != nil || status != 200 || len(body) != 100_000 {
			t.Fatalf("long: %d %d %v", status, len(body), err)
		}
		status, body, err = c.do("POST", "/empty", "", "")
		if err != nil || status != 204 || len(body) != 0 {
			t.Fatalf("empty: %d %q %v", status, body, err)
		}
		status, body, err = c.do("GET", "/close", "", "")
		if err != nil || status != 200 || string(body) != "bye" || c.conn != nil {
			t.Fatalf("close: %d %q %v, connection kept: %v", status, body, err, c.conn != nil)
		}
	}
}

func FuzzBenchConnRead(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 500 Oops\r\n\r\nall of it"))
	f.Add([]byte("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &benchConn{r: bufio.NewReader(bytes.NewReader(data))}
		status, body, _, err := c.read("GET")
		if err == nil && (status < 0 || status > 999 || len(body) > len(data)) {
			t.Fatalf("status %d, %d body bytes from %d", status, len(body), len(data))
		}
	})
}

// The fan-out's stream client reads an event stream as net/http's server
// chunks it, whatever the chunks' boundaries: events split across
// chunks, several in one, comments, several data lines, CRLF line ends.
func TestBenchStream(t *testing.T) {
	parts := []string{
		"retry: 2000\n: connected\n\n",
		"id: 1\nevent: ticket.called\ndata: {\"number\":\"A001\"}\n\n: ping\n\nid: 2\nevent: tick",
		"et.done\ndata: one\r\ndata: two\n",
		"\nid: 3\ndata: no name\n\n",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, p := range parts {
			w.Write([]byte(p))
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	s, err := openBenchStream(srv.URL, "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	want := []string{`ticket.called {"number":"A001"}`, "ticket.done one\ntwo", " no name"}
	for _, w := range want {
		name, data, err := s.next()
		if got := string(name) + " " + string(data); err != nil || got != w {
			t.Fatalf("got %q, %v; want %q", got, err, w)
		}
	}
	if _, _, err := s.next(); err != errStreamEnded {
		t.Fatalf("after the last event: %v", err)
	}
}

func FuzzBenchStream(f *testing.F) {
	f.Add([]byte("1a\r\n: connected\n\nevent: x\ndata: y\n\n\r\n0\r\n\r\n"))
	f.Add([]byte("d\r\n: connected\n\n\r\n3\r\nda\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &benchStream{c: &benchConn{r: bufio.NewReader(bytes.NewReader(data))}}
		for i := 0; i < len(data); i++ {
			name, d, err := s.next()
			if err != nil {
				return
			}
			if len(name)+len(d) > len(data) {
				t.Fatalf("%d bytes of event from %d", len(name)+len(d), len(data))
			}
		}
	})
}
