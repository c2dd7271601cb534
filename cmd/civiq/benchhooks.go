package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// hooksReport is what the hooks phase found: the issue rate in phases
// without and with webhooks registered, in turn, and how the hooks kept up.
type hooksReport struct {
	Hooks int `json:"hooks"`
	// Rounds is how many phases with hooks there were; the phases go
	// without, with, without, ..., without: one more without.
	Rounds int `json:"rounds"`
	// WithoutRates and WithRates are the issue rates of the phases, in
	// turn; Without and With their medians.
	WithoutRates []float64 `json:"issue_per_second_without_phases"`
	WithRates    []float64 `json:"issue_per_second_with_phases"`
	Without      float64   `json:"issue_per_second_without"`
	With         float64   `json:"issue_per_second_with"`
	// Ratio is With over Without, the ratio of the medians: the issue's
	// target is at least 0.9. Neighbours are each phase with hooks over the
	// mean of the phases without just before and after it; First is the
	// first with over the first without (what the bench gave alone before
	// it alternated). All are reported, none replaces the others.
	Ratio      float64   `json:"ratio"`
	Neighbours []float64 `json:"ratios_to_neighbours"`
	First      float64   `json:"ratio_first"`
	// MessagesPerWrite is how many requests the receivers answered in
	// one write on average: about the messages of a pipelined window.
	MessagesPerWrite float64 `json:"messages_per_answer_write"`
	// DrainSeconds is how long after its load the last hook had every
	// ticket of a phase, at most over the phases.
	DrainSeconds float64 `json:"drain_seconds"`
	// CPU each issued ticket cost, in milliseconds of CPU time, over all
	// the phases without and all those with the hooks (each of those
	// counted until every hook had every ticket of it): the server's, and
	// the bench's own (its clients and, with hooks, the receivers). 0
	// where /proc cannot be read. Each phase's, in µs, is in its result.
	ServerCPUWithout float64 `json:"server_cpu_ms_per_ticket_without"`
	ServerCPUWith    float64 `json:"server_cpu_ms_per_ticket_with"`
	BenchCPUWithout  float64 `json:"bench_cpu_ms_per_ticket_without"`
	BenchCPUWith     float64 `json:"bench_cpu_ms_per_ticket_with"`
}

// cpuSeconds is the CPU time (user and system) process pid has used so
// far, from /proc; 0 when it cannot be read.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command's name, which ends with the last ')':
	// utime and stime are the 12th and 13th of them, in clock ticks (100
	// a second on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

// cpuMeter reads the CPU time of the server's first node and of the bench.
type cpuMeter struct{ server, bench float64 }

func (s *benchServer) cpu() cpuMeter {
	return cpuMeter{server: cpuSeconds(s.nodes[0].cmd.Process.Pid), bench: cpuSeconds(os.Getpid())}
}

// perTicket is the CPU used since m, in milliseconds per ticket.
func (m cpuMeter) perTicket(now cpuMeter, tickets int) (server, bench float64) {
	if tickets == 0 || m.server == 0 {
		return 0, 0
	}
	return (now.server - m.server) * 1000 / float64(tickets), (now.bench - m.bench) * 1000 / float64(tickets)
}

// cpuSum adds up the CPU of several phases (cpuMeter's readings at
// their start and end), and their tickets.
type cpuSum struct {
	used    cpuMeter
	tickets int
	unread  bool // a reading was 0: /proc could not be read
}

func (s *cpuSum) add(from, to cpuMeter, tickets int) {
	s.unread = s.unread || from.server == 0 || to.server == 0
	s.used.server += to.server - from.server
	s.used.bench += to.bench - from.bench
	s.tickets += tickets
}

// perTicket is the CPU of the phases added, in milliseconds per ticket.
func (s *cpuSum) perTicket() (server, bench float64) {
	if s.unread || s.tickets == 0 {
		return 0, 0
	}
	return s.used.server * 1000 / float64(s.tickets), s.used.bench * 1000 / float64(s.tickets)
}

// hookReceiver is a webhook endpoint on loopback that answers as soon as
// a request has come whole and checks each request after the phase.
// The receivers stand in for systems on other machines, but here they
// share the server's two CPUs: whatever they spend during a phase the
// bench would measure as the hooks' cost to the issue rate. So while
// the load runs a receiver does what the exchange itself needs and no
// more: HTTP/1.1 by hand on kept-alive connections, each request framed
// by its head's end and its Content-Length (frameHookRequest; one with
// no length is refused 411, one whose length is not digits or too large
// 400, the connection closed), the answers to the requests that came
// together (pipelined) sent in one write of 204s, and the bytes kept as
// they came. check, run when the bench reads what came (arrived, after
// the phase and its CPU are measured), reads every kept request whole
// as a strict receiver does (readHookRequest: at least as strict as
// net/http's server) and checks its signature as Standard Webhooks asks
// (HMAC-SHA256 of "id.timestamp.body" under the secret); any request
// that is malformed or not signed is counted (bad) and fails the bench.
// It notes when each ticket.issued message came, by ticket id.
type hookReceiver struct {
	ln  net.Listener
	url string
	key atomic.Pointer[[]byte] // the hook's secret, decoded, once registered
	// bad: requests malformed or whose signature did not match, of those
	// checked; issued: the ticket.issued messages that came, by their
	// body's start, repeats included.
	bad, issued atomic.Int64
	// messages and writes: requests answered, and the writes that
	// answered them (a pipelined window's answers go in one).
	messages, writes atomic.Int64
	mu               sync.Mutex
	kept             []hookWindow // what came, not checked yet
	// log: the ticket.issued messages as they were checked, in turn; at:
	// the first arrival of each ticket, of log[:merged] (arrived).
	log    []hookArrival
	merged int
	at     map[string]time.Time
	conns  []net.Conn
}

// hookWindow is requests that came in one read: their bytes and when.
type hookWindow struct {
	b  []byte
	n  int // requests
	at time.Time
}

type hookArrival struct {
	ticket string
	at     time.Time
}

var (
	issuedPrefix = []byte(`{"type":"ticket.issued"`)
	ticketIDKey  = []byte(`"ticket":{"id":"`)
	answer204    = []byte("HTTP/1.1 204 No Content\r\n\r\n")
	answer400    = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	answer411    = []byte("HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
)

// cutTicketID is the id of the first ticket in a JSON text whose ticket
// is written first with its id first, as civiq writes an issue's answer
// and a ticket event's data: cut out rather than decoded, the bench
// sharing the machine with the server. The key is found by its brace:
// a JSON text has few, where bytes.Index of the key stopped at each of
// its many quotes (about 0.3 µs a message, the bench's bookkeeping
// counted as the receivers' work; TestCutTicketID, BenchmarkCutTicketID).
func cutTicketID(b []byte) (string, bool) {
	const before = len(`"ticket":`)
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '{')
		if j < 0 {
			return "", false
		}
		k := i + j - before // where the key would start
		if k >= 0 && bytes.HasPrefix(b[k:], ticketIDKey) {
			rest := b[k+len(ticketIDKey):]
			e := bytes.IndexByte(rest, '"')
			if e < 0 {
				return "", false
			}
			return string(rest[:e]), true
		}
		i += j + 1
	}
}

func startHookReceiver() (*hookReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &hookReceiver{ln: ln, url: "http://" + ln.Addr().String() + "/hook", at: map[string]time.Time{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rc.mu.Lock()
			rc.conns = append(rc.conns, c)
			rc.mu.Unlock()
			go rc.serve(c)
		}
	}()
	return rc, nil
}

// setSecret gives the receiver the hook's secret ("whsec_" and base64).
func (rc *hookReceiver) setSecret(secret string) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	rc.key.Store(&key)
	return nil
}

func (rc *hookReceiver) close() {
	rc.ln.Close()
	rc.mu.Lock()
	for _, c := range rc.conns {
		c.Close()
	}
	rc.mu.Unlock()
}

// hookRequest is a webhook request as readHookRequest read it: what a
// receiver needs of it, valid until the next read into it.
type hookRequest struct {
	id, ts, sigs []byte // the webhook-id, -timestamp and -signature headers
	body         []byte
}

var (
	errHookRequest = errors.New("bench: a malformed webhook request")
	errHookLength  = errors.New("bench: a webhook request without a Content-Length")
)

// hookBodyMax bounds a request's body (civiq's are a few hundred bytes).
const hookBodyMax = 1 << 20

// readHookRequest reads the next request of a connection whole: its
// request line ("POST <target> HTTP/1.1", the target an origin-form path
// and query), every header line to the blank one (each a token, a colon
// and a value without control bytes; Content-Length and the three
// webhook headers kept; a Host, a host and port as RFC 9110 has them
// (hostValue), required of HTTP/1.1), then its body of Content-Length
// bytes. Lines may end in CRLF or LF. It is at least as strict as
// net/http's server, so what it takes net/http takes too, with the
// same headers and body (FuzzHookRequest). A request that is not one is errHookRequest, one
// whose body has no length (or a chunked one: civiq sends lengths)
// errHookLength; an io error is the reader's.
func readHookRequest(r *bufio.Reader, q *hookRequest) error {
	q.id, q.ts, q.sigs = q.id[:0], q.ts[:0], q.sigs[:0]
	line, err := readHookLine(r)
	if err != nil {
		return err
	}
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	target, proto, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || string(method) != "POST" || !originForm(target) || (string(proto) != "HTTP/1.1" && string(proto) != "HTTP/1.0") {
		return errHookRequest
	}
	var lengthBuf [8]byte
	var length []byte // the Content-Length's value, as it came
	var seen [4]bool  // host, webhook-id, -timestamp, -signature
	once := func(i int) bool {
		ok := !seen[i]
		seen[i] = true
		return ok
	}
	for {
		line, err := readHookLine(r)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok || !headerToken(k) {
			return errHookRequest // no folded lines, no space before the colon
		}
		v = bytes.Trim(v, " \t")
		for _, c := range v {
			if c < ' ' && c != '\t' || c == 0x7f {
				return errHookRequest
			}
		}
		if !hookHeaderLens[min(len(k), len(hookHeaderLens)-1)] {
			continue // none of those below: skipped without comparing
		}
		switch {
		case bytes.EqualFold(k, []byte("content-length")):
			if len(v) == 0 || len(v) > 7 || length != nil && !bytes.Equal(v, length) {
				return errHookRequest // 7 digits: past hookBodyMax
			}
			for _, c := range v {
				if c < '0' || c > '9' {
					return errHookRequest
				}
			}
			length = append(lengthBuf[:0], v...) // v is in the reader's buffer
		case bytes.EqualFold(k, []byte("transfer-encoding")):
			return errHookLength
		case bytes.EqualFold(k, []byte("host")):
			if !once(0) || !hostValue(v) {
				return errHookRequest
			}
		case bytes.EqualFold(k, []byte("webhook-id")):
			if !once(1) {
				return errHookRequest
			}
			q.id = append(q.id, v...)
		case bytes.EqualFold(k, []byte("webhook-timestamp")):
			if !once(2) {
				return errHookRequest
			}
			q.ts = append(q.ts, v...)
		case bytes.EqualFold(k, []byte("webhook-signature")):
			if !once(3) {
				return errHookRequest
			}
			q.sigs = append(q.sigs, v...)
		}
	}
	if !seen[0] && string(proto) == "HTTP/1.1" {
		return errHookRequest // net/http's server wants a Host of HTTP/1.1
	}
	if length == nil {
		return errHookLength
	}
	n, _ := strconv.Atoi(string(length))
	if n > hookBodyMax {
		return errHookRequest
	}
	q.body = slices.Grow(q.body[:0], n)[:n]
	_, err = io.ReadFull(r, q.body)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// originForm reports whether a request's target is a path (and query) of
// visible ASCII, every escape in the path two hex digits.
func originForm(t []byte) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	path := true
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c <= ' ' || c >= 0x7f:
			return false
		case c == '?':
			path = false
		case c == '%' && path:
			if i+2 >= len(t) || !isHex(t[i+1]) || !isHex(t[i+2]) {
				return false
			}
		}
	}
	return true
}

// hostValue reports whether a Host header's value is uri-host [":" port]
// (RFC 9110, section 7.2; RFC 3986, section 3.2.2): an IP literal in
// brackets, or a name or IPv4 address of unreserved characters,
// sub-delims and %-escapes (a reg-name, maybe empty), then the port's
// digits after a colon. Every value it takes is of the bytes net/http's
// server takes in a Host, so the receiver refuses no request net/http
// would serve that civiq sends (a name or an address and a port).
func hostValue(v []byte) bool {
	host, port := v, []byte(nil)
	if len(v) > 0 && v[0] == '[' {
		end := bytes.IndexByte(v, ']')
		if end < 2 {
			return false
		}
		for _, c := range v[1:end] { // IPv6address / IPvFuture: hex digits, '.', ':', 'v' and the like
			if !uriUnreserved(c) && !uriSubDelim(c) && c != ':' {
				return false
			}
		}
		host, port = nil, v[end+1:]
		if len(port) > 0 && port[0] != ':' {
			return false
		}
	} else if i := bytes.IndexByte(v, ':'); i >= 0 {
		host, port = v[:i], v[i:]
	}
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case c == '%':
			if i+2 >= len(host) || !isHex(host[i+1]) || !isHex(host[i+2]) {
				return false
			}
			i += 2
		case !uriUnreserved(c) && !uriSubDelim(c):
			return false
		}
	}
	if len(port) > 0 {
		for _, c := range port[1:] {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// uriUnreserved and uriSubDelim are RFC 3986's unreserved characters and
// sub-delims (section 2).
func uriUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func uriSubDelim(c byte) bool { return strings.IndexByte("!$&'()*+,;=", c) >= 0 }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hookHeaderLens marks the lengths of the header names readHookRequest
// looks at (content-length, transfer-encoding, host and the three
// webhook headers): a line of another length is none of them.
var hookHeaderLens = func() (l [18]bool) {
	for _, k := range []string{"content-length", "transfer-encoding", "host", "webhook-id", "webhook-timestamp", "webhook-signature"} {
		l[len(k)] = true
	}
	return l
}()

// tokenBytes marks the bytes a token may have (RFC 9110's tchar).
var tokenBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// headerToken reports whether a header's name is a token (RFC 9110).
func headerToken(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if !tokenBytes[c] {
			return false
		}
	}
	return true
}

// readHookLine is the reader's next line without its end, valid until the
// next read; a line longer than the reader's buffer is errHookRequest.
func readHookLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errHookRequest
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, nil
}

// hookVerifier checks Standard Webhooks signatures under one key, its
// HMAC made once and reset for each message, allocating nothing (the
// signed head and the sum in buffers of its own: a hash.Hash's Write and
// Sum take their slices to the heap).
type hookVerifier struct {
	mac             hash.Hash
	head, sum, want []byte
}

func newHookVerifier(key []byte) *hookVerifier {
	return &hookVerifier{mac: hmac.New(sha256.New, key), want: make([]byte, base64.StdEncoding.EncodedLen(sha256.Size))}
}

// verify reports whether one of the request's signatures ("v1,<base64>",
// space-separated) is the HMAC of "id.timestamp.body".
func (v *hookVerifier) verify(q *hookRequest) bool {
	v.mac.Reset()
	v.head = append(append(append(append(v.head[:0], q.id...), '.'), q.ts...), '.')
	v.mac.Write(v.head)
	v.mac.Write(q.body)
	v.sum = v.mac.Sum(v.sum[:0])
	base64.StdEncoding.Encode(v.want, v.sum)
	for sig := range bytes.FieldsSeq(q.sigs) {
		if s, ok := bytes.CutPrefix(sig, []byte("v1,")); ok && hmac.Equal(s, v.want) {
			return true
		}
	}
	return false
}

// hookHeadMax bounds a request's head (its request line and headers).
const hookHeadMax = 64 << 10

// hookChunk is what a connection reads into: its requests stay where
// they came until check has read them, a request cut by a chunk's end
// moved whole to the next.
const hookChunk = 2 << 20

var errHookShort = errors.New("bench: a webhook request not whole yet")

// frameHookRequest finds where the request at the start of b ends, and
// its body's start, by its head's blank line (lines ending in CRLF or
// LF) and its Content-Length, without reading the rest of it: what the
// receiver must know to answer it. errHookShort when it has not come
// whole yet; errHookLength when its head has no Content-Length; else
// errHookRequest when its length is not digits, or is past hookBodyMax,
// or its head past hookHeadMax. Where readHookRequest takes a request,
// its end here is the same (FuzzHookRequest).
func frameHookRequest(b []byte) (end, body int, err error) {
	length := -1
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			if len(b) > hookHeadMax {
				return 0, 0, errHookRequest
			}
			return 0, 0, errHookShort
		}
		line := b[i : i+j]
		i += j + 1
		if i > hookHeadMax {
			return 0, 0, errHookRequest
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			switch {
			case length < 0:
				return 0, 0, errHookLength
			case len(b)-i < length:
				return 0, 0, errHookShort
			}
			return i + length, i, nil
		}
		k, v, _ := bytes.Cut(line, []byte{':'})
		if length >= 0 || !bytes.EqualFold(k, []byte("content-length")) {
			continue // the first Content-Length frames it; check reads the rest
		}
		v = bytes.Trim(v, " \t")
		if len(v) == 0 || len(v) > 7 {
			return 0, 0, errHookRequest
		}
		length = 0
		for _, c := range v {
			if c < '0' || c > '9' {
				return 0, 0, errHookRequest
			}
			length = length*10 + int(c-'0')
		}
		if length > hookBodyMax {
			return 0, 0, errHookRequest
		}
	}
}

// answers204 are the 204s of a window, written at once.
var answers204 = bytes.Repeat(answer204, 64)

// serve answers the requests of one connection as they come whole, and
// keeps them for check.
func (rc *hookReceiver) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 0, hookChunk)
	framed := 0 // buf[:framed] is kept; buf[framed:] is a request coming
	for {
		if cap(buf)-len(buf) < 64<<10 { // a window of civiq's is at most about 64 KiB
			next := make([]byte, 0, hookChunk)
			buf, framed = append(next, buf[framed:]...), 0
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		if n == 0 && err != nil {
			return
		}
		buf = buf[:len(buf)+n]
		at := time.Now()
		from, count := framed, 0
		for {
			end, body, err := frameHookRequest(buf[framed:])
			if err == errHookShort {
				break
			}
			if err != nil {
				rc.keep(buf[from:framed], count, at)
				c.Write(answers204[:count*len(answer204)])
				if err == errHookLength {
					c.Write(answer411)
				} else {
					c.Write(answer400)
				}
				return
			}
			if bytes.HasPrefix(buf[framed+body:framed+end], issuedPrefix) {
				rc.issued.Add(1)
			}
			framed += end
			count++
		}
		if count == 0 {
			continue
		}
		rc.keep(buf[from:framed], count, at)
		rc.messages.Add(int64(count))
		rc.writes.Add(1)
		for count > 0 {
			k := min(count, len(answers204)/len(answer204))
			if _, err := c.Write(answers204[:k*len(answer204)]); err != nil {
				return
			}
			count -= k
		}
	}
}

// keep notes n requests that came whole at at, for check.
func (rc *hookReceiver) keep(b []byte, n int, at time.Time) {
	if n == 0 {
		return
	}
	rc.mu.Lock()
	rc.kept = append(rc.kept, hookWindow{b, n, at})
	rc.mu.Unlock()
}

// check reads each request kept since the last check whole and checks
// its signature, counting those malformed or not signed (bad), and notes
// the ticket.issued messages with when they came.
func (rc *hookReceiver) check() {
	rc.mu.Lock()
	kept := rc.kept
	rc.kept = nil
	rc.mu.Unlock()
	if len(kept) == 0 {
		return
	}
	var ver *hookVerifier
	if key := rc.key.Load(); key != nil {
		ver = newHookVerifier(*key)
	}
	var q hookRequest
	src := bytes.NewReader(nil)
	r := bufio.NewReaderSize(src, hookHeadMax)
	var log []hookArrival
	for _, w := range kept {
		src.Reset(w.b)
		r.Reset(src)
		for i := range w.n {
			if readHookRequest(r, &q) != nil {
				rc.bad.Add(int64(w.n - i)) // the rest of the window cannot be read
				break
			}
			if ver == nil || !ver.verify(&q) {
				rc.bad.Add(1)
				continue
			}
			if bytes.HasPrefix(q.body, issuedPrefix) {
				if id, ok := cutTicketID(q.body); ok {
					log = append(log, hookArrival{id, w.at})
				}
			}
		}
	}
	rc.mu.Lock()
	rc.log = append(rc.log, log...)
	rc.mu.Unlock()
}

// count is how many ticket.issued messages came, repeats included.
func (rc *hookReceiver) count() int { return int(rc.issued.Load()) }

// arrived is when the ticket's message first came, if it did; it checks
// what came since the last check first.
func (rc *hookReceiver) arrived(id string) (time.Time, bool) {
	rc.check()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, a := range rc.log[rc.merged:] {
		if _, seen := rc.at[a.ticket]; !seen {
			rc.at[a.ticket] = a.at
		}
	}
	rc.merged = len(rc.log)
	at, ok := rc.at[id]
	return at, ok
}

// hooksWarmUp is the untimed issue load before the first phase: a new
// server's first second (a new database, a cold heap and caches) is
// slower than the next, which counted against the phase without hooks
// when it ran first, cold.
const hooksWarmUp = time.Second

// median is the middle of xs (the mean of the two middle ones when even);
// 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchHooks measures the issue rate in phases without and with n
// webhooks registered (each wanting every event, each its own receiver),
// in turn, after an untimed warm-up: without, then c.HookRounds times
// with (the hooks registered anew) and without (once they are deleted).
// The machine's speed swings from second to second, and a server's
// speed drifts over a run (a warmer heap, a fuller database): the ratio
// of the medians of the phases, each phase with hooks between two
// without, is steadier than one phase of each. It also times each issue
// request's start to each receiver's answer. Every phase's clients do
// the same work (each ticket's id and start noted), so only the hooks
// differ.
func benchHooks(ctx context.Context, c benchConfig, srv *benchServer, log io.Writer) (*hooksReport, []benchResult, error) {
	rounds := max(c.HookRounds, 1)
	rep := &hooksReport{Hooks: c.Hooks, Rounds: rounds}
	var mu sync.Mutex
	var issued []hookArrival // the phase's tickets and when each request started
	op := srv.issueOp(func(id string, t0 time.Time) {
		mu.Lock()
		issued = append(issued, hookArrival{id, t0})
		mu.Unlock()
	})
	phase := func(name string) benchResult {
		mu.Lock()
		issued = issued[:0]
		mu.Unlock()
		return srv.load(ctx, name, c.Clients, c.Duration, op)
	}
	fmt.Fprintf(log, "bench: ticket issue, %s of warm-up, untimed\n", min(hooksWarmUp, c.Duration))
	srv.load(ctx, "warm-up", c.Clients, min(hooksWarmUp, c.Duration), op)

	var results []benchResult
	var cpuWithout, cpuWith cpuSum
	without := func(i int) {
		fmt.Fprintf(log, "bench: ticket issue without webhooks (%d of %d), %d clients, %s\n", i+1, rounds+1, c.Clients, c.Duration)
		cpu0 := srv.cpu()
		r := phase(fmt.Sprintf("issue, no webhooks (%d)", i+1))
		cpu1 := srv.cpu()
		r.ServerCPUMicros, r.LoadCPUMicros = cpu0.perTicket(cpu1, r.Count)
		r.ServerCPUMicros, r.LoadCPUMicros = r.ServerCPUMicros*1000, r.LoadCPUMicros*1000
		cpuWithout.add(cpu0, cpu1, r.Count)
		rep.WithoutRates = append(rep.WithoutRates, r.PerSecond)
		results = append(results, r)
	}
	without(0)

	var lat []time.Duration
	var msgs, writes int64
	missing := 0
	for round := range rounds {
		receivers, ids, err := registerHooks(srv, c.Hooks)
		unregister := func() { unregisterHooks(srv, receivers, ids); receivers, ids = nil, nil }
		if err != nil {
			unregister()
			return nil, nil, err
		}
		fmt.Fprintf(log, "bench: ticket issue with %d webhooks on loopback (%d of %d), %d clients, %s\n", c.Hooks, round+1, rounds, c.Clients, c.Duration)
		stopProfile := func() {}
		if path := os.Getenv("CIVIQ_BENCH_CPUPROFILE"); path != "" && round == 0 {
			// The bench's own CPU (its clients and the receivers) in the
			// first phase with hooks, to its last delivery, for engineers
			// measuring the receivers.
			if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
				stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
			}
		}
		cpu0 := srv.cpu()
		with := phase(fmt.Sprintf("issue, %d webhooks (%d)", c.Hooks, round+1))
		loadEnd := time.Now()
		mu.Lock()
		sent := slices.Clone(issued)
		mu.Unlock()
		// Wait (a minute at most) until every receiver had as many tickets
		// as were issued, by its count alone: the CPU is read then, before
		// the receivers check what came and the bench looks each ticket up
		// (hookReceiver.check, arrived).
		deadline := loadEnd.Add(time.Minute)
		for _, rc := range receivers {
			for rc.count() < len(sent) && time.Now().Before(deadline) && ctx.Err() == nil {
				time.Sleep(5 * time.Millisecond)
			}
			if d := time.Since(loadEnd).Seconds(); d > rep.DrainSeconds {
				rep.DrainSeconds = d
			}
		}
		cpu1 := srv.cpu()
		stopProfile()
		with.ServerCPUMicros, with.LoadCPUMicros = cpu0.perTicket(cpu1, with.Count)
		with.ServerCPUMicros, with.LoadCPUMicros = with.ServerCPUMicros*1000, with.LoadCPUMicros*1000
		cpuWith.add(cpu0, cpu1, with.Count)
		rep.WithRates = append(rep.WithRates, with.PerSecond)
		results = append(results, with)
		// Then every ticket at every hook, once at least, and when.
		for _, rc := range receivers {
			for _, s := range sent {
				at, ok := rc.arrived(s.ticket)
				for !ok && time.Now().Before(deadline) && ctx.Err() == nil {
					time.Sleep(10 * time.Millisecond)
					at, ok = rc.arrived(s.ticket)
				}
				if !ok {
					missing++
					continue
				}
				lat = append(lat, at.Sub(s.at))
				if d := at.Sub(loadEnd).Seconds(); d > rep.DrainSeconds {
					rep.DrainSeconds = d
				}
			}
		}
		for _, rc := range receivers {
			if n := rc.bad.Load(); n > 0 {
				unregister()
				return nil, nil, fmt.Errorf("a receiver had %d requests malformed or whose signature did not match", n)
			}
			msgs += rc.messages.Load()
			writes += rc.writes.Load()
		}
		// Without again, the hooks deleted.
		unregister()
		without(round + 1)
	}
	if writes > 0 {
		rep.MessagesPerWrite = float64(msgs) / float64(writes)
	}
	delivered := summarize(fmt.Sprintf("webhook: issue to receiver's 2xx (%d)", c.Hooks), c.Hooks, lat, missing, c.Duration)
	delivered.PerSecond = 0 // a latency, not a rate
	results = append(results, delivered)

	rep.Without, rep.With = median(rep.WithoutRates), median(rep.WithRates)
	if rep.Without > 0 {
		rep.Ratio = rep.With / rep.Without
	}
	for i, w := range rep.WithRates {
		if n := rep.WithoutRates[i] + rep.WithoutRates[i+1]; n > 0 {
			rep.Neighbours = append(rep.Neighbours, w/(n/2))
		}
	}
	if rep.WithoutRates[0] > 0 {
		rep.First = rep.WithRates[0] / rep.WithoutRates[0]
	}
	rep.ServerCPUWithout, rep.BenchCPUWithout = cpuWithout.perTicket()
	rep.ServerCPUWith, rep.BenchCPUWith = cpuWith.perTicket()
	return rep, results, nil
}

// registerHooks registers n webhooks for every event, each to a receiver
// of its own; it gives what it made even when it fails, to unregister.
func registerHooks(srv *benchServer, n int) ([]*hookReceiver, []int64, error) {
	var receivers []*hookReceiver
	var ids []int64
	conn := srv.conn(0)
	defer conn.close()
	for range n {
		rc, err := startHookReceiver()
		if err != nil {
			return receivers, ids, err
		}
		receivers = append(receivers, rc)
		b, err := srv.post(conn, "/api/v1/webhooks", fmt.Sprintf(`{"url":%q,"events":["*"]}`, rc.url), http.StatusCreated)
		if err != nil {
			return receivers, ids, fmt.Errorf("register a webhook (is --webhook-allow missing?): %w %s", err, b)
		}
		var h struct {
			Webhook struct {
				ID     int64
				Secret string
			}
		}
		json.Unmarshal(b, &h)
		ids = append(ids, h.Webhook.ID)
		if err := rc.setSecret(h.Webhook.Secret); err != nil {
			return receivers, ids, fmt.Errorf("the webhook's secret: %w", err)
		}
	}
	return receivers, ids, nil
}

// unregisterHooks deletes the webhooks and stops their receivers.
func unregisterHooks(srv *benchServer, receivers []*hookReceiver, ids []int64) {
	conn := srv.conn(0)
	defer conn.close()
	for _, id := range ids {
		conn.do(http.MethodDelete, "/api/v1/webhooks/"+strconv.FormatInt(id, 10), srv.token, "")
	}
	for _, rc := range receivers {
		rc.close()
	}
}
