package api

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// DefaultStreamWriteTimeout is how long an event stream's client has at
// most to take a write (an event, a batch of them, a heartbeat) before the
// stream is closed; at least half of it is always left.
const DefaultStreamWriteTimeout = 5 * time.Second

// sseWriter writes one Server-Sent Events stream: the hall's events
// (events.go) and the city's changes (dashboard.go) alike. Every write to
// the connection has a deadline: a client that cannot take what is sent
// within the stream write timeout, because it never reads or reads too
// slowly, gets its connection closed, so it holds no goroutine, no
// subscription and no kernel buffer for longer than that.
//
// A hall's events reach every stream at once, so a write costs as little
// as it can. Once the headers and the first chunk are out, the stream
// takes its connection from net/http (Hijack) and writes each batch as one
// chunk of its own, the same bytes net/http's chunked writer sent, in one
// write to the connection: net/http's three buffers, its chunk writer
// (which formats the size with fmt) and its flushes were a quarter of a
// stream's CPU. A goroutine reads the connection to notice a client that
// leaves, as net/http did. Where the connection cannot be taken (a
// ResponseWriter that does not allow it), the frames go through net/http.
// The deadline is set again only when less than half of the timeout is
// left of it, not before every write.
type sseWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	deadline time.Time // the write deadline set on the connection

	// Once the connection is taken: buf holds the batch being written,
	// after room for its chunk's size line; failed is set by a write that
	// failed.
	conn   net.Conn
	buf    []byte
	failed bool

	// ctx ends when the stream is to end: the client left, the request's
	// context ended or the server is closing; gone is its Done, and
	// cancel ends it. The stream's reads of the store take ctx.
	ctx    context.Context
	gone   <-chan struct{}
	cancel func()

	scratch []byte // a frame made by event
}

// chunkRoom is the room kept at the front of buf for a chunk's size line:
// up to 16 hex digits and CRLF.
const chunkRoom = 18

// startSSE answers 200 with the stream's headers, the retry hint and a
// first comment, and flushes them. The connection closes when the stream
// ends (close), so no later request on it meets a stream's deadline.
func startSSE(w http.ResponseWriter, r *http.Request, closed context.Context, timeout time.Duration) (*sseWriter, error) {
	if timeout <= 0 {
		timeout = DefaultStreamWriteTimeout
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "close")
	// The stream's context ends with the request's, with the server's
	// closed and, once the connection is taken, when the client leaves:
	// one channel for the stream's loop to wait on besides its events.
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(closed, cancel)
	s := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: timeout, ctx: ctx, gone: ctx.Done(), cancel: func() { stop(); cancel() }}
	s.arm()
	w.WriteHeader(http.StatusOK)
	s.write(sseStart)
	if err := s.flush(); err != nil {
		s.cancel()
		return nil, err
	}
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return s, nil // HTTP/2 is not taken; HTTP/1.0 gets no chunks
	}
	conn, rw, err := s.rc.Hijack()
	if err != nil {
		return s, nil // net/http keeps writing
	}
	conn.SetReadDeadline(time.Time{}) // what is left of the request's
	// The request's context no longer ends when the client leaves: the
	// stream's does.
	s.conn, s.buf = conn, make([]byte, chunkRoom, 1024)
	go func(r *bufio.Reader) {
		io.Copy(io.Discard, r) // a client sends nothing more: EOF when it leaves
		cancel()
	}(rw.Reader)
	return s, nil
}

// arm makes sure the connection's write deadline is at least half the
// timeout away, setting it a whole timeout away when it is not: a write
// that blocks is cut within the timeout, and the deadline is set about
// once every half timeout rather than once a write.
func (s *sseWriter) arm() {
	now := time.Now()
	if s.deadline.Sub(now) < s.timeout/2 {
		s.deadline = now.Add(s.timeout)
		if s.conn != nil {
			s.conn.SetWriteDeadline(s.deadline)
		} else {
			s.rc.SetWriteDeadline(s.deadline)
		}
	}
}

// write adds p to the batch: in buf once the connection is taken, else
// in the ResponseWriter, which sends a full buffer on its own (so the
// deadline is armed first).
func (s *sseWriter) write(p []byte) {
	if s.conn != nil {
		s.buf = append(s.buf, p...)
		return
	}
	s.arm()
	s.w.Write(p)
}

// frame writes one event's frame, as civiq.Event.Frame makes it.
func (s *sseWriter) frame(f []byte) { s.write(f) }

// event writes one event; id 0 sends none (the city stream's events have
// no id). data is one line of JSON.
func (s *sseWriter) event(id int64, name string, data []byte) {
	s.scratch = appendSSE(s.scratch[:0], id, name, data)
	s.write(s.scratch)
}

// appendSSE appends to b one Server-Sent Events frame: the id line (none
// for id 0), the event line, the data line (data is one line) and the
// blank line that ends the frame (docs/api.md section 7).
func appendSSE(b []byte, id int64, name string, data []byte) []byte {
	if id > 0 {
		b = append(b, "id: "...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// sseFrame is an event's frame of its own (civiq.Event.Frame keeps it).
func sseFrame(id int64, name string, data []byte) []byte { return appendSSE(nil, id, name, data) }

// The stream's fixed lines.
var (
	sseStart = []byte("retry: 2000\n: connected\n\n")
	ssePing  = []byte(": ping\n\n")
)

// ping writes and flushes a heartbeat comment.
func (s *sseWriter) ping() error {
	s.write(ssePing)
	return s.flush()
}

// flush sends the batch to the client within the deadline. After an error
// the stream is over: the handler returns and the connection is closed.
func (s *sseWriter) flush() error {
	s.arm()
	if s.conn == nil {
		return s.rc.Flush()
	}
	n := len(s.buf) - chunkRoom
	if n == 0 {
		return nil
	}
	if s.failed {
		return net.ErrClosed
	}
	// The chunk: its size in hex and CRLF, right before the data, then
	// CRLF after it.
	var size [16]byte
	hex := strconv.AppendInt(size[:0], int64(n), 16)
	start := chunkRoom - len(hex) - 2
	copy(s.buf[start:], hex)
	s.buf[chunkRoom-2], s.buf[chunkRoom-1] = '\r', '\n'
	s.buf = append(s.buf, '\r', '\n')
	_, err := s.conn.Write(s.buf[start:])
	s.buf = s.buf[:chunkRoom]
	if err != nil {
		s.failed = true
	}
	return err
}

// close ends the stream: its context and, once the connection is taken,
// the answer with the last chunk (as net/http ends a chunked answer)
// unless a write failed, and the connection. net/http does both itself
// otherwise.
func (s *sseWriter) close() {
	s.cancel()
	if s.conn == nil {
		return
	}
	if !s.failed {
		s.arm()
		s.conn.Write(lastChunk)
	}
	s.conn.Close()
}

var lastChunk = []byte("0\r\n\r\n")
