package outbound_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/outbound"
	"github.com/civiq/civiq/outbound/webhooktest"
)

// What a scripted receiver does with a request.
type move int

const (
	ack         move = iota // 204
	fail                    // 500, and read on
	ackClose                // 204, then close the connection (no Connection: close said)
	ackReset                // 204, then reset the connection
	ackDropRest             // 204, then drop what else was read with it and read on
)

// seen is a request a scripted receiver read.
type seen struct {
	id        string
	conn      int  // which connection, from 1
	pipelined bool // more was already there behind it when it was read
}

// scripted is a webhook receiver written on TCP, so that a test decides
// what each request meets: it reads each connection's requests in turn,
// checks every signature, and does what script says for the n-th request
// of its life (from 0).
type scripted struct {
	t      *testing.T
	url    string
	secret string
	script func(n int) move
	mu     sync.Mutex
	got    []seen
	conns  int
}

func newScripted(t *testing.T, script func(n int) move) *scripted {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := &scripted{t: t, url: "http://" + ln.Addr().String() + "/hook", secret: civiq.NewWebhookSecret(), script: script}
	var wg sync.WaitGroup
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		rc.mu.Lock()
		for _, c := range open {
			c.Close()
		}
		rc.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rc.mu.Lock()
			rc.conns++
			open = append(open, c)
			n := rc.conns
			rc.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				rc.serve(c, n)
			}()
		}
	}()
	return rc
}

func (rc *scripted) serve(c net.Conn, conn int) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	for {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		if err := webhooktest.Verify(rc.secret, req.Header, body, time.Now()); err != nil {
			rc.t.Errorf("message %s: %v", req.Header.Get("webhook-id"), err)
		}
		rc.mu.Lock()
		n, script := len(rc.got), rc.script
		rc.got = append(rc.got, seen{id: req.Header.Get("webhook-id"), conn: conn, pipelined: r.Buffered() > 0})
		rc.mu.Unlock()
		switch script(n) {
		case fail:
			io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")
			continue
		default:
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
		case ackClose:
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
			return
		case ackReset:
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
			c.(*net.TCPConn).SetLinger(0)
			return
		case ackDropRest:
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
			r.Discard(r.Buffered())
		}
	}
}

func (rc *scripted) seen() []seen {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// pipeSender sends to loopback with short tries, and messages 1..n.
func pipeSender(rc *scripted, n int) (*outbound.HTTPSender, *civiq.Subscriber, []*civiq.Message) {
	h := outbound.NewHTTPSender()
	h.Allow, h.Timeout = loopback, 300*time.Millisecond
	s := &civiq.Subscriber{ID: 7, URL: rc.url, Secret: rc.secret}
	var ms []*civiq.Message
	for i := 1; i <= n; i++ {
		ms = append(ms, &civiq.Message{ID: civiq.MessageID(7, int64(i)), EventID: int64(i), Body: []byte(`{"n":` + strconv.Itoa(i) + `}`)})
	}
	return h, s, ms
}

// statuses is each attempt's status, in order.
func statuses(as []civiq.DeliveryAttempt) []int {
	var out []int
	for _, a := range as {
		out = append(out, a.Status)
	}
	return out
}

// ids are the seen requests' webhook-ids, from the i-th on.
func ids(got []seen, from int) []string {
	var out []string
	for _, s := range got[from:] {
		out = append(out, s.id)
	}
	return out
}

func msgIDs(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, civiq.MessageID(7, int64(i)))
	}
	return out
}

// A batch goes pipelined: the requests on one connection, written before
// their answers came, answered in order.
func TestPipelined(t *testing.T) {
	rc := newScripted(t, func(int) move { return ack })
	h, s, ms := pipeSender(rc, 6)
	as := h.SendBatch(context.Background(), s, ms)
	if !slices.Equal(statuses(as), []int{204, 204, 204, 204, 204, 204}) {
		t.Fatalf("attempts %+v", as)
	}
	for i, a := range as {
		if a.EventID != int64(i+1) || a.MessageID != civiq.MessageID(7, int64(i+1)) {
			t.Errorf("attempt %d: %+v", i, a)
		}
	}
	got := rc.seen()
	if !slices.Equal(ids(got, 0), msgIDs(1, 6)) || !got[0].pipelined || got[5].conn != 1 {
		t.Errorf("the receiver saw %+v: want 1 to 6 on one connection, pipelined", got)
	}
	// Pipeline 1 sends one at a time.
	h.Pipeline = 1
	if as := h.SendBatch(context.Background(), s, ms[:3]); len(as) != 3 || !as[2].OK() {
		t.Fatalf("one at a time: %+v", as)
	}
	for _, g := range rc.seen()[6:] {
		if g.pipelined {
			t.Errorf("--webhook-pipeline 1, yet pipelined: %+v", g)
		}
	}
}

// A 500 in the middle of a window: the messages before it are
// acknowledged, it is the failed try, and those behind it, though the
// receiver had them (and said 204), are not: they go again after it, and
// this receiver is sent one message at a time from then on.
func TestPipelinedFailureInTheMiddle(t *testing.T) {
	rc := newScripted(t, func(n int) move {
		if n == 2 {
			return fail
		}
		return ack
	})
	h, s, ms := pipeSender(rc, 6)
	as := h.SendBatch(context.Background(), s, ms)
	if !slices.Equal(statuses(as), []int{204, 204, 500}) || as[2].EventID != 3 || as[2].Error == "" {
		t.Fatalf("attempts %+v: want 204 204 500, message 3 failed", as)
	}
	as = h.SendBatch(context.Background(), s, ms[2:])
	if !slices.Equal(statuses(as), []int{204, 204, 204, 204}) || as[0].EventID != 3 {
		t.Fatalf("again from message 3: %+v", as)
	}
	// The failed window's connection was closed; the receiver may still
	// have read what was on it.
	var after []seen
	for _, g := range rc.seen() {
		if g.conn > 1 {
			after = append(after, g)
		}
	}
	if !slices.Equal(ids(after, 0), msgIDs(3, 6)) {
		t.Errorf("after the failure the receiver saw %v, want 3 to 6", ids(after, 0))
	}
	for _, g := range after {
		if g.pipelined {
			t.Errorf("after a failed window, still pipelined: %+v", g)
		}
	}
}

// A failing message holds back those behind it: pipelined, the receiver
// may have them once, in the window where it first failed; its retries go
// alone, and nothing behind it comes again until it is acknowledged.
func TestRetryGoesAlone(t *testing.T) {
	rc := newScripted(t, func(n int) move {
		if n == 0 {
			return fail
		}
		return ack
	})
	h, s, ms := pipeSender(rc, 4)
	if as := h.SendBatch(context.Background(), s, ms); len(as) != 1 || as[0].Status != 500 {
		t.Fatalf("first try: %+v", as)
	}
	waitFor(t, "the first window read", func() bool { return len(rc.seen()) == 4 })
	rc.mu.Lock()
	rc.script = func(n int) move {
		if n < 7 {
			return fail
		}
		return ack
	}
	rc.mu.Unlock()
	s.Attempts = 1
	for try := 2; try <= 4; try++ {
		if as := h.SendBatch(context.Background(), s, ms); len(as) != 1 || as[0].Status != 500 {
			t.Fatalf("try %d: %+v", try, as)
		}
		s.Attempts++
	}
	if got := rc.seen(); !slices.Equal(ids(got, 4), []string{ms[0].ID, ms[0].ID, ms[0].ID}) {
		t.Fatalf("the retries: the receiver saw %v, want message 1 alone each time", ids(got, 4))
	}
	if as := h.SendBatch(context.Background(), s, ms); !slices.Equal(statuses(as), []int{204, 204, 204, 204}) {
		t.Fatalf("once it goes: %+v", as)
	}
}

// The connection reset after the second answer: the first two are
// acknowledged, and the rest go again at once, one at a time, each
// acknowledged once it is answered.
func TestPipelinedResetAfterSecondAnswer(t *testing.T) {
	rc := newScripted(t, func(n int) move {
		if n == 1 {
			return ackReset
		}
		return ack
	})
	h, s, ms := pipeSender(rc, 5)
	as := h.SendBatch(context.Background(), s, ms)
	if !slices.Equal(statuses(as), []int{204, 204, 204, 204, 204}) {
		t.Fatalf("attempts %+v: want all five acknowledged", as)
	}
	for i, a := range as {
		if a.EventID != int64(i+1) {
			t.Errorf("attempt %d is of event %d", i, a.EventID)
		}
	}
	got := rc.seen()
	if !slices.Equal(ids(got, 0), append(msgIDs(1, 2), msgIDs(3, 5)...)) {
		t.Errorf("the receiver saw %v", ids(got, 0))
	}
	for _, g := range got[2:] {
		if g.pipelined || g.conn == 1 {
			t.Errorf("after the reset: %+v, want one at a time on a new connection", g)
		}
	}
}

// Receivers that do not take pipelined requests: one that answers the
// first request of a connection and closes it, and one that drops what
// came behind the request it read. Everything arrives, in order; the
// sender goes one at a time with them.
func TestPipelineNotSupported(t *testing.T) {
	t.Run("closes after one", func(t *testing.T) {
		rc := newScripted(t, func(int) move { return ackClose })
		h, s, ms := pipeSender(rc, 4)
		as := h.SendBatch(context.Background(), s, ms)
		if !slices.Equal(statuses(as), []int{204, 204, 204, 204}) {
			t.Fatalf("attempts %+v", as)
		}
		got := rc.seen()
		if !slices.Equal(ids(got, 0), msgIDs(1, 4)) || len(got) != 4 || got[3].conn != 4 {
			t.Errorf("the receiver saw %+v: want 1 to 4, one a connection", got)
		}
	})
	t.Run("drops the rest", func(t *testing.T) {
		rc := newScripted(t, func(int) move { return ackDropRest })
		h, s, ms := pipeSender(rc, 4)
		as := h.SendBatch(context.Background(), s, ms)
		if len(as) != 2 || !as[0].OK() || as[1].OK() || as[1].EventID != 2 || as[1].Error == "" {
			t.Fatalf("attempts %+v: want message 1 acknowledged, no answer to 2 (a failed try)", as)
		}
		before := len(rc.seen())
		as = h.SendBatch(context.Background(), s, ms[1:])
		if !slices.Equal(statuses(as), []int{204, 204, 204}) {
			t.Fatalf("the retry: %+v", as)
		}
		if got := rc.seen(); !slices.Equal(ids(got, before), msgIDs(2, 4)) {
			t.Errorf("the retry: the receiver saw %v", ids(got, before))
		}
	})
}
