package main

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// benchStream is the fan-out's event stream client, as lean as a minimal
// real Server-Sent Events client can be: a GET by hand on a benchConn,
// the chunked body read chunk by chunk, every line of it parsed (id,
// event, data, comments) and an event dispatched at its blank line.
// net/http's client (its body, chunked reader and a bufio.Reader on top)
// cost about as much CPU a delivered event as the server's write did, on
// the same two CPUs, so the bench measured much of its own reading as the
// server's fan-out.
type benchStream struct {
	c    *benchConn
	buf  []byte // the body read: from off on, not parsed yet
	off  int
	name []byte // the event being read
	data []byte
}

var errStreamEnded = errors.New("bench: the event stream ended")

// openBenchStream opens the event stream at path on the node at base and
// reads until the server's ": connected" comment.
func openBenchStream(base, path string) (*benchStream, error) {
	c := newBenchConn(base)
	if err := c.send("GET", path, "", ""); err != nil {
		return nil, err
	}
	status, _, chunked, _, err := c.head()
	if err == nil && (status != 200 || !chunked) {
		err = fmt.Errorf("%s: status %d (chunked: %v)", path, status, chunked)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	c.conn.SetDeadline(time.Time{}) // the stream stays open until closed
	s := &benchStream{c: c, buf: make([]byte, 0, 4096)}
	for {
		line, err := s.line()
		if err != nil {
			c.close()
			return nil, err
		}
		if string(line) == ": connected" {
			return s, nil
		}
	}
}

// close closes the connection: a next blocked in reading returns.
func (s *benchStream) close() { s.c.conn.Close() }

// next returns the next event's name and data (its data lines joined by
// newlines), valid until the next call.
func (s *benchStream) next() (name, data []byte, err error) {
	s.name, s.data = s.name[:0], s.data[:0]
	hasData := false
	for {
		line, err := s.line()
		if err != nil {
			return nil, nil, err
		}
		if len(line) == 0 {
			if hasData {
				return s.name, s.data, nil
			}
			s.name = s.name[:0]
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			s.name = append(s.name, value...)
		case "data":
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			hasData = true
		}
		// "" is a comment; id and retry are not needed here.
	}
}

// line returns the stream's next line without its end, reading chunks as
// needed; valid until the next call.
func (s *benchStream) line() ([]byte, error) {
	for {
		if i := bytes.IndexByte(s.buf[s.off:], '\n'); i >= 0 {
			line := s.buf[s.off : s.off+i]
			s.off += i + 1
			return bytes.TrimSuffix(line, []byte("\r")), nil
		}
		n := copy(s.buf, s.buf[s.off:])
		s.buf, s.off = s.buf[:n], 0
		buf, last, err := s.c.chunk(s.buf)
		if err == nil && last {
			err = errStreamEnded
		}
		if err != nil {
			return nil, err
		}
		s.buf = buf
	}
}
