package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// benchConn is the load generator's HTTP/1.1 client: one keep-alive
// connection to one node, requests written by hand and answers read with
// only what a JSON API answer needs (Content-Length or chunked). The load
// generator shares the machine's CPUs with the server; net/http's client
// spends several times more of them per request, which would then be
// measured as the server's slowness.
type benchConn struct {
	host string // host:port of the node
	conn net.Conn
	r    *bufio.Reader
	req  []byte
	// counter is the counter this client calls at, in the call phase.
	counter string
}

// benchTimeout bounds one request, so that a stuck server ends the run.
const benchTimeout = 30 * time.Second

func newBenchConn(base string) *benchConn {
	return &benchConn{host: strings.TrimPrefix(base, "http://")}
}

// do sends one request and returns the answer's status and body. A body
// is sent as JSON; token, when set, as a bearer token.
func (b *benchConn) do(method, path, token, body string) (int, []byte, error) {
	if err := b.send(method, path, token, body); err != nil {
		return 0, nil, err
	}
	status, out, keep, err := b.read(method)
	if err != nil || !keep {
		b.close()
	}
	return status, out, err
}

// send writes one request, dialling first when the connection is closed.
func (b *benchConn) send(method, path, token, body string) error {
	if b.conn == nil {
		c, err := net.DialTimeout("tcp", b.host, benchTimeout)
		if err != nil {
			return err
		}
		b.conn, b.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	req := append(b.req[:0], method...)
	req = append(req, ' ')
	req = append(req, path...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, b.host...)
	req = append(req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	req = strconv.AppendInt(req, int64(len(body)), 10)
	if token != "" {
		req = append(req, "\r\nAuthorization: Bearer "...)
		req = append(req, token...)
	}
	req = append(req, "\r\n\r\n"...)
	req = append(req, body...)
	b.req = req
	b.conn.SetDeadline(time.Now().Add(benchTimeout))
	if _, err := b.conn.Write(req); err != nil {
		b.close()
		return err
	}
	return nil
}

func (b *benchConn) close() {
	if b.conn != nil {
		b.conn.Close()
		b.conn, b.r = nil, nil
	}
}

// maxBenchBody bounds an answer's body: civiq's are small.
const maxBenchBody = 16 << 20

var errBenchAnswer = errors.New("bench: malformed HTTP answer")

// read reads one answer: its status, its body and whether the connection
// stays open.
func (b *benchConn) read(method string) (int, []byte, bool, error) {
	status, length, chunked, keep, err := b.head()
	if err != nil {
		return 0, nil, false, err
	}
	switch {
	case method == "HEAD" || status == 204 || status == 304 || status < 200:
		return status, nil, keep, nil
	case chunked:
		body, err := b.chunks()
		return status, body, keep, err
	case length > maxBenchBody:
		return 0, nil, false, errBenchAnswer
	case length >= 0:
		body := make([]byte, length)
		_, err := io.ReadFull(b.r, body)
		return status, body, keep, err
	default:
		body, err := io.ReadAll(b.r)
		return status, body, false, err
	}
}

// head reads an answer's status line and headers: the status, the
// Content-Length (-1 without), whether the body is chunked and whether
// the connection stays open.
func (b *benchConn) head() (status, length int, chunked, keep bool, err error) {
	line, err := b.line()
	if err != nil {
		return 0, 0, false, false, err
	}
	// HTTP/1.1 201 Created
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, false, false, errBenchAnswer
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, false, false, errBenchAnswer
	}
	length, keep = -1, line[7] == '1'
	for {
		h, err := b.line()
		if err != nil {
			return 0, 0, false, false, err
		}
		if len(h) == 0 {
			return status, length, chunked, keep, nil
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, 0, false, false, errBenchAnswer
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, 0, false, false, errBenchAnswer
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
}

// line reads one line without its CRLF.
func (b *benchConn) line() ([]byte, error) {
	line, err := b.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// chunks reads a chunked body whole.
func (b *benchConn) chunks() ([]byte, error) {
	var body []byte
	for {
		var last bool
		var err error
		if body, last, err = b.chunk(body); err != nil || last {
			return body, err
		}
	}
}

// chunk reads the next chunk of a chunked body and appends its data to
// body; last tells the body's end (the empty chunk and the trailers were
// read).
func (b *benchConn) chunk(body []byte) ([]byte, bool, error) {
	line, err := b.line()
	if err != nil {
		return nil, false, err
	}
	size, _, _ := bytes.Cut(line, []byte(";"))
	n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
	if err != nil || n < 0 || int64(len(body))+n > maxBenchBody {
		return nil, false, errBenchAnswer
	}
	if n == 0 {
		for { // trailers, then the blank line
			t, err := b.line()
			if err != nil {
				return nil, false, err
			}
			if len(t) == 0 {
				return body, true, nil
			}
		}
	}
	start := len(body)
	body = append(body, make([]byte, n)...)
	if _, err := io.ReadFull(b.r, body[start:]); err != nil {
		return nil, false, err
	}
	if crlf, err := b.line(); err != nil || len(crlf) != 0 {
		return nil, false, fmt.Errorf("%w: chunk not followed by CRLF", errBenchAnswer)
	}
	return body, false, nil
}
