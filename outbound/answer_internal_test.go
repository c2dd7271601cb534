package outbound

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
)

// quickAnswer reads what net/http's reader reads, the same way, or
// leaves the answer to it: the status, whether the connection closes,
// where the next answer starts, and the start of a failure's body.
func FuzzQuickAnswer(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nDate: Sun, 06 Dec 2026 20:00:00 GMT\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops",
		"HTTP/1.1 410 Gone\r\ncontent-length: 0\r\nConnection: keep-alive, Close\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
		"HTTP/1.1 204 X\nConnection: close\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n folded: line\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nuntil the close",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(b), 64<<10)
		r.Peek(1)
		a, whole, closed, ok := quickAnswer(r)
		if !ok {
			if r.Buffered() != min(len(b), 64<<10) {
				t.Fatalf("%q: not read by hand, yet %d bytes gone", b, min(len(b), 64<<10)-r.Buffered())
			}
			return
		}
		nr := bufio.NewReader(bytes.NewReader(b))
		res, err := http.ReadResponse(nr, nil)
		if err != nil {
			t.Fatalf("%q: read by hand as %+v, net/http: %v", b, a, err)
		}
		body, err := io.ReadAll(res.Body)
		if res.StatusCode != a.status || res.Close != closed {
			t.Fatalf("%q: by hand status %d close %v, net/http %d %v", b, a.status, closed, res.StatusCode, res.Close)
		}
		if err != nil { // the body was cut short
			if whole {
				t.Fatalf("%q: by hand whole, net/http: %v", b, err)
			}
			return
		}
		if !whole {
			t.Fatalf("%q: by hand not whole, net/http read %q", b, body)
		}
		if r.Buffered() != nr.Buffered() {
			t.Fatalf("%q: by hand %d bytes left, net/http %d", b, r.Buffered(), nr.Buffered())
		}
		if a.status >= 200 && a.status < 300 {
			if a.text != "" || a.head != nil {
				t.Fatalf("%q: a 2xx kept %q %q", b, a.text, a.head)
			}
		} else if a.text != res.Status || !bytes.HasPrefix(body, a.head) || len(a.head) != min(len(body), maxErrorLen) {
			t.Fatalf("%q: by hand %q %q, net/http %q %q", b, a.text, a.head, res.Status, body)
		}
	})
}

// BenchmarkReadAnswer: a receiver's 204 read by hand (quickAnswer), and
// by net/http's reader (the fallback).
func BenchmarkReadAnswer(b *testing.B) {
	msg := bytes.Repeat([]byte("HTTP/1.1 204 No Content\r\nDate: Sun, 06 Dec 2026 20:00:00 GMT\r\n\r\n"), 64)
	for _, quick := range []bool{true, false} {
		name := "net/http"
		if quick {
			name = "by hand"
		}
		b.Run(name, func(b *testing.B) {
			rd := bytes.NewReader(msg)
			r := bufio.NewReader(rd)
			for i := range b.N {
				if i%64 == 0 {
					rd.Reset(msg)
					r.Reset(rd)
				}
				if quick {
					if _, _, _, err := readAnswer(r); err != nil {
						b.Fatal(err)
					}
					continue
				}
				res, err := http.ReadResponse(r, nil)
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
			}
		})
	}
}
