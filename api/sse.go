package api

import (
	"net/http"
	"time"

	"github.com/civiq/civiq"
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
// as it can: the frames go straight to the ResponseWriter (whose buffer
// gathers a batch into one chunk), and the deadline is set again only when
// less than half of the timeout is left of it, not before every write.
type sseWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	deadline time.Time // the write deadline set on the connection
	scratch  []byte    // a frame made by event
}

// startSSE answers 200 with the stream's headers, the retry hint and a
// first comment, and flushes them. The connection closes when the stream
// ends, so no later request on it meets a stream's deadline.
func startSSE(w http.ResponseWriter, timeout time.Duration) (*sseWriter, error) {
	if timeout <= 0 {
		timeout = DefaultStreamWriteTimeout
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "close")
	s := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
	s.arm()
	w.WriteHeader(http.StatusOK)
	s.write(sseStart)
	return s, s.flush()
}

// arm makes sure the connection's write deadline is at least half the
// timeout away, setting it a whole timeout away when it is not: a write
// that blocks is cut within the timeout, and the deadline is set about
// once every half timeout rather than once a write.
func (s *sseWriter) arm() {
	now := time.Now()
	if s.deadline.Sub(now) < s.timeout/2 {
		s.deadline = now.Add(s.timeout)
		s.rc.SetWriteDeadline(s.deadline)
	}
}

// write buffers p in the ResponseWriter, which sends a full buffer on
// its own: the deadline is armed first.
func (s *sseWriter) write(p []byte) {
	s.arm()
	s.w.Write(p)
}

// frame writes one event's frame, as civiq.Event.Frame makes it.
func (s *sseWriter) frame(f []byte) { s.write(f) }

// event writes one event; id 0 sends none (the city stream's events have
// no id). data is one line of JSON.
func (s *sseWriter) event(id int64, name string, data []byte) {
	s.scratch = civiq.AppendSSE(s.scratch[:0], id, name, data)
	s.write(s.scratch)
}

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

// flush sends what is buffered to the client within the deadline. After an
// error the stream is over: the handler returns and the server closes the
// connection.
func (s *sseWriter) flush() error {
	s.arm()
	return s.rc.Flush()
}
