package api

import (
	"bufio"
	"net/http"
	"strconv"
	"time"
)

// DefaultStreamWriteTimeout is how long an event stream's client has to
// take each write (an event, a batch of them, a heartbeat) before the
// stream is closed.
const DefaultStreamWriteTimeout = 5 * time.Second

// sseWriter writes one Server-Sent Events stream: the hall's events
// (events.go) and the city's changes (dashboard.go) alike. Every write to
// the connection has a deadline: a client that cannot take what is sent
// within the stream write timeout, because it never reads or reads too
// slowly, gets its connection closed, so it holds no goroutine, no
// subscription and no kernel buffer for longer than that.
type sseWriter struct {
	bw      *bufio.Writer
	rc      *http.ResponseController
	timeout time.Duration
	armed   bool // the deadline of the batch being written is set
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
	s := &sseWriter{rc: http.NewResponseController(w), timeout: timeout}
	s.arm()
	w.WriteHeader(http.StatusOK)
	s.bw = bufio.NewWriterSize(deadlineWriter{s, w}, 8192)
	s.bw.WriteString("retry: 2000\n: connected\n\n")
	return s, s.flush()
}

// deadlineWriter arms the batch's deadline before anything reaches the
// connection.
type deadlineWriter struct {
	s *sseWriter
	w http.ResponseWriter
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.s.arm()
	return d.w.Write(p)
}

// arm sets the write deadline of the batch that starts now.
func (s *sseWriter) arm() {
	if !s.armed {
		s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
		s.armed = true
	}
}

// event buffers one event; id 0 sends none (the city stream's events have
// no id). data is one line of JSON.
func (s *sseWriter) event(id int64, name string, data []byte) {
	if id > 0 {
		s.bw.WriteString("id: ")
		s.bw.WriteString(strconv.FormatInt(id, 10))
		s.bw.WriteByte('\n')
	}
	s.bw.WriteString("event: ")
	s.bw.WriteString(name)
	s.bw.WriteString("\ndata: ")
	s.bw.Write(data)
	s.bw.WriteString("\n\n")
}

// ping writes and flushes a heartbeat comment.
func (s *sseWriter) ping() error {
	s.bw.WriteString(": ping\n\n")
	return s.flush()
}

// flush sends what is buffered to the client within the deadline. After an
// error the stream is over: the handler returns and the server closes the
// connection.
func (s *sseWriter) flush() error {
	s.arm()
	err := s.bw.Flush()
	if err == nil {
		err = s.rc.Flush()
	}
	s.armed = false
	return err
}
