package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq/outbound"
)

// hookRequestText is a webhook request as civiq sends one, signed with
// secrets (or with sig as it is, when not empty).
func hookRequestText(secrets []string, id, body, sig string) string {
	if sig == "" {
		sig = outbound.Sign(secrets, id, 1700000000, []byte(body))
	}
	return fmt.Sprintf("POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"webhook-id: %s\r\nwebhook-timestamp: 1700000000\r\nwebhook-signature: %s\r\n\r\n%s", len(body), id, sig, body)
}

// The bench's receiver answers pipelined requests in order as they come
// whole, refuses at once what has no length or a length not of digits,
// and checks every request it answered when the bench reads what came:
// each read whole and strictly, each signature (either of a rotation's
// two); a bad one is counted, the tickets issued noted. net/http's
// client is served too.
func TestHookReceiver(t *testing.T) {
	rc, err := startHookReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.close()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	old := "whsec_" + base64.StdEncoding.EncodeToString([]byte("an older key, still signing"))
	if err := rc.setSecret(secret); err != nil {
		t.Fatal(err)
	}
	issued := `{"type":"ticket.issued","timestamp":"2026-12-07T02:00:00Z","data":{"type":"ticket.issued","ticket":{"id":"tk1","number":"A001"}}}`
	called := `{"type":"ticket.called","timestamp":"2026-12-07T02:00:01Z","data":{"type":"ticket.called","ticket":{"id":"tk0","number":"A000"}}}`
	addr := strings.TrimSuffix(strings.TrimPrefix(rc.url, "http://"), "/hook")
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return c, bufio.NewReader(c)
	}
	answers := func(r *bufio.Reader, want ...int) {
		t.Helper()
		for i, w := range want {
			res, err := http.ReadResponse(r, nil)
			if err != nil || res.StatusCode != w {
				t.Fatalf("answer %d: %v %v, want %d", i, res, err, w)
			}
		}
	}
	checked := func(wantBad int64) {
		t.Helper()
		rc.arrived("")
		if n := rc.bad.Swap(0); n != wantBad {
			t.Fatalf("%d bad requests counted, want %d", n, wantBad)
		}
	}

	c, r := dial()
	defer c.Close()
	window := hookRequestText([]string{secret}, "msg_1_1", issued, "") +
		hookRequestText([]string{old, secret}, "msg_1_2", called, "") +
		hookRequestText(nil, "msg_1_3", called, "v1,bm90IGl0") +
		strings.ReplaceAll(hookRequestText([]string{secret}, "msg_1_4", called, ""), "\r\n", "\n")
	// Cut in two reads, the second request across them.
	cut := len(hookRequestText([]string{secret}, "msg_1_1", issued, "")) + 40
	io.WriteString(c, window[:cut])
	answers(r, 204)
	io.WriteString(c, window[cut:])
	answers(r, 204, 204, 204)
	if n := rc.count(); n != 1 {
		t.Fatalf("%d ticket.issued counted, want 1", n)
	}
	checked(1)
	if _, ok := rc.arrived("tk1"); !ok {
		t.Fatal("ticket tk1's arrival not noted")
	}
	if _, ok := rc.arrived("tk0"); ok {
		t.Fatal("a ticket.called noted as issued")
	}

	res, err := http.Post(rc.url, "application/json", strings.NewReader("{}"))
	if err == nil {
		res.Body.Close()
	}
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("net/http's client, unsigned: %v %v", res, err)
	}
	checked(1)
	req, _ := http.NewRequest("POST", rc.url, strings.NewReader(issued))
	req.Header.Set("webhook-id", "msg_1_5")
	req.Header.Set("webhook-timestamp", "1700000000")
	req.Header.Set("webhook-signature", outbound.Sign([]string{secret}, "msg_1_5", 1700000000, []byte(issued)))
	if res, err = http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("net/http's client, signed: %v %v", res, err)
	}
	checked(0)

	// Refused at once, the connection closed: no length, a length not
	// of digits, a head without end.
	for _, tc := range []struct {
		req  string
		want int
	}{
		{"POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 411},
		{"POST /hook HTTP/1.1\r\nHost: x\r\n\r\n", 411},
		{"POST /hook HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}", 400},
		{"POST /hook HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{}", 400},
		{"POST /hook HTTP/1.1\r\nX: " + strings.Repeat("a", hookHeadMax) + "\r\n\r\n", 400},
	} {
		c, r := dial()
		io.WriteString(c, tc.req)
		answers(r, tc.want)
		if _, err := r.ReadByte(); err != io.EOF {
			t.Fatalf("%.60q: the connection stays open (%v)", tc.req, err)
		}
		c.Close()
	}
	checked(0)
	// Framed, answered, and found malformed when checked.
	for _, req := range []string{
		"GET /hook HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
		"POST /hook HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
		"POST /hook HTTP/1.1\r\nwebhook id: x\r\nContent-Length: 2\r\n\r\n{}",
		"POST /%zz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"POST /hook HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",              // no Host
		"POST /hook HTTP/1.1\r\nHost: a b\r\nContent-Length: 2\r\n\r\n{}", // a space in it
	} {
		c, r := dial()
		io.WriteString(c, req)
		answers(r, 204)
		c.Close()
		checked(1)
	}
}

// What the receiver's parser takes, net/http's takes too, with the same
// body and webhook headers: it reads HTTP/1.1 whole, not just the bytes
// the bench needs. And the receiver's framing ends such a request where
// the parser does.
func FuzzHookRequest(f *testing.F) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	f.Add([]byte(hookRequestText([]string{secret}, "msg_1_1", `{"type":"ticket.issued"}`, "")))
	f.Add([]byte("POST /a?b=%zz HTTP/1.0\nContent-Length: 3\nContent-Length: 3\n\nabcPOST / HTTP/1.1\r\n\r\n"))
	f.Add([]byte("POST /hook HTTP/1.1\r\nwebhook-signature: v1,a v1,b\r\nContent-Length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var q hookRequest
		r := bufio.NewReaderSize(bytes.NewReader(data), 4096)
		if readHookRequest(r, &q) != nil {
			return
		}
		if len(data) <= 4096 { // the reader took it all at once: what it left is Buffered
			end, _, err := frameHookRequest(data)
			if read := len(data) - r.Buffered(); err != nil || end != read {
				t.Fatalf("framed to %d (%v), read to %d", end, err, read)
			}
		}
		req, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(data), 4096))
		if err != nil {
			t.Fatalf("taken here, refused by net/http: %v", err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil || !bytes.Equal(body, q.body) {
			t.Fatalf("body %q (%v), net/http's %q", q.body, err, body)
		}
		for k, v := range map[string][]byte{"webhook-id": q.id, "webhook-timestamp": q.ts, "webhook-signature": q.sigs} {
			if got := req.Header.Get(k); got != string(v) {
				t.Fatalf("%s %q, net/http's %q", k, v, got)
			}
		}
	})
}

// hookWindowText is a pipelined window of n requests of civiq's size.
func hookWindowText(secret string, n int) []byte {
	body := `{"type":"ticket.issued","timestamp":"2026-12-07T02:00:00.123456789Z","data":{"type":"ticket.issued","at":"2026-12-07T02:00:00.123456789Z",` +
		`"ticket":{"id":"0QX7RKZ1MS3T6Y8A2B4C5D6E","number":"A123","service_id":"general","status":"waiting","call_count":0,"channel":"kiosk",` +
		`"priority":"normal","issued_at":"2026-12-07T02:00:00.123456789Z"}}}`
	var window bytes.Buffer
	for i := range n {
		window.WriteString(hookRequestText([]string{secret}, fmt.Sprintf("msg_1_%d", 100000+i), body, ""))
	}
	return window.Bytes()
}

// BenchmarkHookRequest reads and verifies a pipelined window of 22
// requests of civiq's size from memory, as a receiver's check does after
// the phase: its CPU a message, without the system calls.
func BenchmarkHookRequest(b *testing.B) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	window := hookWindowText(secret, 22)
	rc := &hookReceiver{}
	rc.setSecret(secret)
	ver := newHookVerifier(*rc.key.Load())
	var q hookRequest
	src := bytes.NewReader(window)
	r := bufio.NewReaderSize(src, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(window)
		r.Reset(src)
		for range 22 {
			if err := readHookRequest(r, &q); err != nil || !ver.verify(&q) {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/22, "ns/message")
}

// BenchmarkHookFrame frames the same window, as a receiver does while
// the load runs, before it answers: its CPU a message then, without the
// system calls.
func BenchmarkHookFrame(b *testing.B) {
	window := hookWindowText("whsec_"+base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")), 22)
	b.ReportAllocs()
	for b.Loop() {
		at := 0
		for range 22 {
			end, body, err := frameHookRequest(window[at:])
			if err != nil || !bytes.HasPrefix(window[at+body:], issuedPrefix) {
				b.Fatal(err)
			}
			at += end
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/22, "ns/message")
}

// A Host is uri-host [":" port] (RFC 9110, 7.2): what the receiver takes
// net/http's server takes too (httpguts.ValidHostHeader's bytes), never
// the other way round.
func TestHostValue(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"", true}, // an empty reg-name
		{"127.0.0.1", true},
		{"127.0.0.1:8080", true},
		{"hooks.example.gov.cn", true},
		{"hooks.example.gov.cn:443", true},
		{"host:", true}, // the port may be empty
		{"[::1]", true},
		{"[::1]:9", true},
		{"[fe80::1%25eth0]:9", false}, // a zone's % is not an IPv6 literal's (RFC 6874 is not HTTP's)
		{"[v1.x]", true},              // IPvFuture
		{"a%2Db", true},
		{"a%2", false},
		{"a%zz", false},
		{"a b", false},
		{"a/b", false},
		{"a@b", false},
		{"host:80x", false},
		{"host:80:81", false},
		{"[::1", false},
		{"[]", false},
		{"[::1]x", false},
		{"[::1]]", false},
		{"ho\x00st", false},
		{"主机", false},
	} {
		if got := hostValue([]byte(c.in)); got != c.ok {
			t.Errorf("hostValue(%q) = %v, want %v", c.in, got, c.ok)
		}
	}
}

// cutTicketID finds what bytes.Index of the key finds: the first ticket
// whose id comes first, wherever braces and quotes are around it.
func TestCutTicketID(t *testing.T) {
	byIndex := func(b []byte) (string, bool) {
		i := bytes.Index(b, ticketIDKey)
		if i < 0 {
			return "", false
		}
		rest := b[i+len(ticketIDKey):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 {
			return "", false
		}
		return string(rest[:j]), true
	}
	cases := []string{
		hookBenchBody,
		`{"ticket":{"id":"abc","number":"A1"},"position":3}`,
		`{"ticket":{"id":"abc"`,
		`{"ticket":{"id":"`,
		`{"ticket":{"id"`,
		`"ticket":{"id":"x"}`,
		`{"id":"x"}`,
		`{"a":{"b":{}},"ticket":{"id":"second"},"ticket":{"id":"third"}}`,
		`{"text":"\"ticket\":{","ticket":{"id":"y"}}`,
		`{{{{"ticket":{{"ticket":{"id":"z"}`,
		``, `{`, `}`, `"ticket":`,
	}
	for _, c := range cases {
		id, ok := cutTicketID([]byte(c))
		wid, wok := byIndex([]byte(c))
		if id != wid || ok != wok {
			t.Errorf("cutTicketID(%q) = %q, %v; want %q, %v", c, id, ok, wid, wok)
		}
	}
	// Every cut of a body, and bodies with braces strewn in.
	for n := range len(hookBenchBody) + 1 {
		b := []byte(hookBenchBody[:n])
		id, ok := cutTicketID(b)
		wid, wok := byIndex(b)
		if id != wid || ok != wok {
			t.Errorf("cutTicketID(%q) = %q, %v; want %q, %v", b, id, ok, wid, wok)
		}
		b = []byte(hookBenchBody[:n] + "{" + hookBenchBody[n:])
		id, ok = cutTicketID(b)
		wid, wok = byIndex(b)
		if id != wid || ok != wok {
			t.Errorf("cutTicketID(%q) = %q, %v; want %q, %v", b, id, ok, wid, wok)
		}
	}
}

// hookBenchBody is a ticket.issued message's body of civiq's size.
const hookBenchBody = `{"type":"ticket.issued","timestamp":"2026-12-07T02:00:00.123456789Z","data":{"type":"ticket.issued","at":"2026-12-07T02:00:00.123456789Z",` +
	`"ticket":{"id":"0QX7RKZ1MS3T6Y8A2B4C5D6E","number":"A123","service_id":"general","status":"waiting","call_count":0,"channel":"kiosk",` +
	`"priority":"normal","issued_at":"2026-12-07T02:00:00.123456789Z"}}}`

// BenchmarkCutTicketID: the receivers' bookkeeping of a ticket.issued
// message (when its ticket came), the bench's own work beside theirs.
func BenchmarkCutTicketID(b *testing.B) {
	body := []byte(hookBenchBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := cutTicketID(body); !ok {
			b.Fatal("no id")
		}
	}
}
