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
