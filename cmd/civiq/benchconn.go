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
	if b.conn == nil {
		c, err := net.DialTimeout("tcp", b.host, benchTimeout)
		if err != nil {
			return 0, nil, err
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
		return 0, nil, err
	}
	status, out, keep, err := b.read(method)
	if err != nil || !keep {
		b.close()
	}
	return status, out, err
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
	line, err := b.line()
	if err != nil {
		return 0, nil, false, err
	}
	// HTTP/1.1 201 Created
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, false, errBenchAnswer
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, errBenchAnswer
	}
	length, chunked, keep := -1, false, line[7] == '1'
	for {
		h, err := b.line()
		if err != nil {
			return 0, nil, false, err
		}
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, nil, false, errBenchAnswer
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, false, errBenchAnswer
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
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

// line reads one line without its CRLF.
func (b *benchConn) line() ([]byte, error) {
	line, err := b.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func (b *benchConn) chunks() ([]byte, error) {
	var body []byte
	for {
		line, err := b.line()
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || n < 0 || int64(len(body))+n > maxBenchBody {
			return nil, errBenchAnswer
		}
		if n == 0 {
			for { // trailers, then the blank line
				t, err := b.line()
				if err != nil {
					return nil, err
				}
				if len(t) == 0 {
					return body, nil
				}
			}
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(b.r, body[start:]); err != nil {
			return nil, err
		}
		if crlf, err := b.line(); err != nil || len(crlf) != 0 {
			return nil, fmt.Errorf("%w: chunk not followed by CRLF", errBenchAnswer)
		}
	}
}
