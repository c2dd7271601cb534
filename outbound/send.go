// Package outbound delivers the events to the systems around a hall (issue
// 13): a worker per subscriber of the events table (civiq's delivery.go)
// and the webhook sender, following Standard Webhooks 1.0. The rules (what
// is due, when to retry, when a subscriber is failing) are the domain's;
// this package sends and keeps time.
package outbound

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/civiq/civiq"
)

// Limits of one try.
const (
	Timeout     = 10 * time.Second // per attempt, all of it
	MaxResponse = 64 << 10         // read of the receiver's answer at most
	maxErrorLen = 200              // of it in the log, at most
)

// HTTPSender posts messages to webhooks: signed, without following
// redirects, only to addresses Allow lets through (civiq.WebhookAddrAllowed,
// checked on the address dialled, so a name that resolves to a private
// address is refused too), with its own lean HTTP/1.1 client (conn.go).
type HTTPSender struct {
	// Allow lists the loopback, link-local and private addresses that may
	// be reached (civiq serve --webhook-allow). Set it before the first
	// Send.
	Allow []netip.Prefix
	// Now is the clock of the log and of the secrets' rotation;
	// webhook-timestamp is always the real time.
	Now       func() time.Time
	UserAgent string
	// Timeout bounds one try, all of it: Timeout unless a test sets it.
	Timeout time.Duration
	// TLS, when set, is the TLS configuration of https receivers (the
	// system's roots otherwise); tests set it.
	TLS *tls.Config
	// Pipeline is how many of a webhook's messages may be on one
	// connection at once, waiting for their answers (SendBatch): 1 sends
	// one at a time. DefaultPipeline unless set (civiq serve
	// --webhook-pipeline).
	Pipeline int

	dialer *net.Dialer
	pool   conns
	keys   sync.Map // a secret → its HMAC key, decoded once
}

// NewHTTPSender returns a sender to public addresses and those in Allow.
func NewHTTPSender() *HTTPSender {
	h := &HTTPSender{Now: time.Now, UserAgent: "civiq-webhooks", Timeout: Timeout, Pipeline: DefaultPipeline}
	h.dialer = GuardedDialer(func() []netip.Prefix { return h.Allow }, civiq.FlagWebhookAllow, Timeout)
	return h
}

// RefusedError is the guarded dialer's refusal of a loopback, link-local
// or private address that the allow list of Flag (civiq serve's:
// civiq.FlagWebhookAllow…) does not hold.
type RefusedError struct {
	Addr netip.Addr
	Flag string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("address %s is not allowed (civiq serve %s)", e.Addr, e.Flag)
}

// GuardedDialer dials only public addresses and those allow gives; flag
// names the server's flag that sets allow, for the refusal (a
// *RefusedError). GuardedClient's, the senders' and the directory's
// (package sso) dialer.
func GuardedDialer(allow func() []netip.Prefix, flag string, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !civiq.WebhookAddrAllowed(ap.Addr(), allow()) {
			return &RefusedError{Addr: ap.Addr(), Flag: flag}
		}
		return nil
	}}
}

// GuardedClient is an HTTP client for addresses that come from outside
// (a browser's push endpoint, a provider's base URL, the identity
// platform): it dials only public addresses and those allow gives
// (civiq.WebhookAddrAllowed, checked on the address dialled, so a name
// that resolves to a private address is refused too: a *RefusedError
// naming flag, the server's flag that sets allow), through no proxy,
// following no redirect. timeout bounds the dial, the TLS handshake and
// the whole request.
func GuardedClient(allow func() []netip.Prefix, flag string, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // a proxy would bypass the address check
		DialContext:         GuardedDialer(allow, flag, timeout).DialContext,
		TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Sign is the webhook-signature header of a message: "v1," and the base64
// HMAC-SHA256 of "id.timestamp.body" under each secret's base64-decoded
// key, space-separated.
func Sign(secrets []string, id string, ts int64, body []byte) string {
	return string(appendSignature(nil, nil, nil, secrets, id, ts, body))
}

// macs keeps the HMACs of a batch's secrets, keyed once: each message's
// signature then costs its own bytes only (about 1.7 µs for 700 bytes
// here, against 2.9 keyed anew), and a buffer for what is signed before
// the body and for the sum, so that a signature allocates nothing (a
// hash.Hash's Write and Sum take their slices to the heap).
type macs struct {
	m   map[string]hash.Hash
	buf []byte
}

// appendSignature appends Sign's header value to b; keys, when not nil,
// keeps the secrets' decoded keys, and ms, when not nil, their HMACs.
func appendSignature(b []byte, keys *sync.Map, ms *macs, secrets []string, id string, ts int64, body []byte) []byte {
	keep := ms != nil
	if !keep {
		ms = &macs{}
	}
	for i, s := range secrets {
		mac := ms.m[s]
		if mac != nil {
			mac.Reset()
		} else {
			key := secretKey(keys, s)
			if key == nil {
				continue
			}
			mac = hmac.New(sha256.New, key)
			if keep {
				if ms.m == nil {
					ms.m = map[string]hash.Hash{}
				}
				ms.m[s] = mac
			}
		}
		ms.buf = append(ms.buf[:0], id...)
		ms.buf = append(ms.buf, '.')
		ms.buf = strconv.AppendInt(ms.buf, ts, 10)
		ms.buf = append(ms.buf, '.')
		mac.Write(ms.buf)
		mac.Write(body)
		ms.buf = mac.Sum(ms.buf[:0])
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, "v1,"...)
		b = base64.StdEncoding.AppendEncode(b, ms.buf)
	}
	return b
}

func secretKey(keys *sync.Map, secret string) []byte {
	if keys != nil {
		if k, ok := keys.Load(secret); ok {
			return k.([]byte)
		}
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil
	}
	if keys != nil {
		keys.Store(secret, key)
	}
	return key
}

// Send posts m to s.URL, signed as Standard Webhooks asks, and tells how
// it went.
func (h *HTTPSender) Send(ctx context.Context, s *civiq.Subscriber, m *civiq.Message) civiq.DeliveryAttempt {
	t, err := h.pool.target(s.URL)
	if err != nil {
		return h.failed(s, m, h.Now(), 0, err)
	}
	// webhook-timestamp: the receiver compares it with its own clock.
	buf := h.appendWebhook(make([]byte, 0, len(m.Body)+512), t, m, time.Now().Unix(), s.Secrets(h.Now()), nil)
	return h.post(ctx, s, m, t, buf)
}

// appendWebhook appends m's whole request to b: the head, the Standard
// Webhooks headers signed with secrets (their HMACs kept in ms, when not
// nil), the body.
func (h *HTTPSender) appendWebhook(b []byte, t *target, m *civiq.Message, ts int64, secrets []string, ms *macs) []byte {
	b = h.appendHead(b, t, len(m.Body))
	b = append(b, "webhook-id: "...)
	b = append(b, m.ID...)
	b = append(b, "\r\nwebhook-timestamp: "...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, "\r\nwebhook-signature: "...)
	b = appendSignature(b, &h.keys, ms, secrets, m.ID, ts, m.Body)
	b = append(b, "\r\n\r\n"...)
	return append(b, m.Body...)
}

// Post posts body for m to s.URL, a JSON body with the headers given, and
// tells how it went: the one way every kind of subscriber sent over HTTP
// goes out (addresses checked, no redirects, a bounded answer).
func (h *HTTPSender) Post(ctx context.Context, s *civiq.Subscriber, m *civiq.Message, body []byte, header http.Header) civiq.DeliveryAttempt {
	t, err := h.pool.target(s.URL)
	if err != nil {
		return h.failed(s, m, h.Now(), 0, err)
	}
	buf := headerLines(h.appendHead(make([]byte, 0, len(body)+512), t, len(body)), header)
	buf = append(append(buf, "\r\n"...), body...)
	return h.post(ctx, s, m, t, buf)
}

// post sends the one request of buf for m and tells how it went.
func (h *HTTPSender) post(ctx context.Context, s *civiq.Subscriber, m *civiq.Message, t *target, buf []byte) civiq.DeliveryAttempt {
	at, t0 := h.Now(), time.Now()
	var a civiq.DeliveryAttempt
	if _, err := h.exchange(ctx, t, buf, 1, func(ans answer) bool {
		a = h.answered(s, m, at, ans)
		return true
	}); err != nil {
		return h.failed(s, m, at, time.Since(t0), err)
	}
	return a
}

// answered is the try of m that ans answered.
func (h *HTTPSender) answered(s *civiq.Subscriber, m *civiq.Message, at time.Time, ans answer) civiq.DeliveryAttempt {
	a := civiq.DeliveryAttempt{SubscriberID: s.ID, EventID: m.EventID, MessageID: m.ID, At: at,
		Status: ans.status, Latency: ans.took, LatencyMS: float64(ans.took.Microseconds()) / 1000}
	if !a.OK() {
		a.Error = ans.text
		if len(ans.head) > 0 {
			a.Error = short(ans.text + ": " + string(ans.head))
		}
	}
	return a
}

// failed is the try of m that no answer came to, err telling why.
func (h *HTTPSender) failed(s *civiq.Subscriber, m *civiq.Message, at time.Time, took time.Duration, err error) civiq.DeliveryAttempt {
	return civiq.DeliveryAttempt{SubscriberID: s.ID, EventID: m.EventID, MessageID: m.ID, At: at,
		Latency: took, LatencyMS: float64(took.Microseconds()) / 1000, Error: short(describe(err))}
}

// Pipelining (conn.go): how many requests may wait for their answers on
// one connection by default, how many bytes of requests one write holds
// at most (so that a receiver's answers cannot fill the buffers while the
// sender still writes), and how long a target whose window failed is sent
// one request at a time.
const (
	DefaultPipeline = 64
	pipelineBytes   = 64 << 10
	soloFor         = 10 * time.Minute
)

// SendBatch sends ms, the webhook's next messages in event order,
// pipelined: up to Pipeline requests in one write on one connection,
// their answers read in order. It tells how each went as if sent one by
// one: every one acknowledged but perhaps the last. A message behind one
// that failed may have reached the receiver already: it is not counted as
// delivered, and goes again after the failed one with the same id. The
// failed one, when tried again, goes alone, so the receiver is sent
// nothing more behind it until it is acknowledged. When a
// window fails otherwise than by an answer that is not 2xx (the
// connection closed or reset behind an answer, an answer that cannot be
// read, a timeout), or by any answer at all but the window's first, the
// target is sent one request at a time for soloFor: it may not take
// pipelined requests. Messages left unanswered by a closed connection go
// again at once, one at a time.
func (h *HTTPSender) SendBatch(ctx context.Context, s *civiq.Subscriber, ms []*civiq.Message) []civiq.DeliveryAttempt {
	out := make([]civiq.DeliveryAttempt, 0, len(ms))
	t, err := h.pool.target(s.URL)
	if err != nil {
		return append(out, h.failed(s, ms[0], h.Now(), 0, err))
	}
	var secrets []string
	var buf []byte
	var keyed *macs
	defer func() { putWindowBuf(buf) }()
	for len(ms) > 0 && ctx.Err() == nil {
		// A message tried again (s.Attempts) goes alone: nothing behind
		// it reaches the receiver again before it is acknowledged.
		retry := len(out) == 0 && s.Attempts > 0
		if retry || h.Pipeline <= 1 || len(ms) == 1 || t.solo.Load() > time.Now().UnixNano() {
			a := h.Send(ctx, s, ms[0])
			out = append(out, a)
			if !a.OK() {
				return out
			}
			ms = ms[1:]
			continue
		}
		if secrets == nil {
			secrets, keyed, buf = s.Secrets(h.Now()), &macs{}, getWindowBuf()
		}
		ts := time.Now().Unix()
		buf = buf[:0]
		n := 0
		for n < len(ms) && n < h.Pipeline && (n == 0 || len(buf)+len(ms[n].Body)+512 <= pipelineBytes) {
			buf = h.appendWebhook(buf, t, ms[n], ts, secrets, keyed)
			n++
		}
		at, t0 := h.Now(), time.Now()
		i := 0
		got, err := h.exchange(ctx, t, buf, n, func(ans answer) bool {
			a := h.answered(s, ms[i], at, ans)
			out = append(out, a)
			i++
			return a.OK()
		})
		if got > 0 && !out[len(out)-1].OK() {
			// Those behind the failed message count as not delivered.
			if got > 1 {
				h.goSolo(t)
			}
			return out
		}
		ms = ms[got:]
		if err == nil || ctx.Err() != nil {
			continue
		}
		if errors.As(err, new(dialError)) {
			return append(out, h.failed(s, ms[0], at, time.Since(t0), err))
		}
		h.goSolo(t)
		if isTimeout(err) {
			return append(out, h.failed(s, ms[0], at, time.Since(t0), err))
		}
		// The connection ended, or an answer could not be read, with
		// requests of the window unanswered: they go again at once, one
		// at a time.
	}
	return out
}

var _ civiq.BatchSender = (*HTTPSender)(nil)

// windowBufs hold the requests of a pipelined window while they are
// written (exchange is done with them when it returns): a window is up to
// pipelineBytes, and grown afresh for each batch it cost a few copies of
// itself a batch.
var windowBufs = sync.Pool{New: func() any { b := make([]byte, 0, pipelineBytes+4<<10); return &b }}

func getWindowBuf() []byte { return (*windowBufs.Get().(*[]byte))[:0] }

// putWindowBuf gives buf back, unless it is none or grew past twice a
// window (a message bigger than a window goes alone).
func putWindowBuf(buf []byte) {
	if buf != nil && cap(buf) <= 2*pipelineBytes {
		buf = buf[:0]
		windowBufs.Put(&buf)
	}
}

// goSolo has t sent one request at a time for soloFor.
func (h *HTTPSender) goSolo(t *target) {
	t.solo.Store(time.Now().Add(soloFor).UnixNano())
}

// describe names a failure without the URL Go's errors repeat.
func describe(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		err = ue.Unwrap()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout: " + err.Error()
	}
	return err.Error()
}

// short keeps the start of a text, in valid UTF-8 and on one line.
func short(s string) string {
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strings.Join(strings.Fields(s), " ")
}

// Kinds sends each message with the sender of its subscriber's kind: the
// webhook's HTTPSender, and the senders of the other kinds of subscriber
// (the 好差评 reporter, the notifications, the edge link) beside it.
type Kinds map[string]civiq.Sender

// Send sends m with the sender of s.Kind; a kind with no sender fails the
// try (and is retried on schedule), so nothing is lost while a node that
// lacks it holds the lease.
func (k Kinds) Send(ctx context.Context, s *civiq.Subscriber, m *civiq.Message) civiq.DeliveryAttempt {
	if sender := k[s.Kind]; sender != nil {
		return sender.Send(ctx, s, m)
	}
	return civiq.DeliveryAttempt{SubscriberID: s.ID, EventID: m.EventID, MessageID: m.ID, At: time.Now(),
		Error: "no sender for subscribers of kind " + strconv.Quote(s.Kind)}
}

// SendBatch sends ms with the sender of s.Kind: at once when it is a
// civiq.BatchSender, else one by one until one fails.
func (k Kinds) SendBatch(ctx context.Context, s *civiq.Subscriber, ms []*civiq.Message) []civiq.DeliveryAttempt {
	if bs, ok := k[s.Kind].(civiq.BatchSender); ok {
		return bs.SendBatch(ctx, s, ms)
	}
	out := make([]civiq.DeliveryAttempt, 0, len(ms))
	for _, m := range ms {
		a := k.Send(ctx, s, m)
		out = append(out, a)
		if !a.OK() || ctx.Err() != nil {
			break
		}
	}
	return out
}

// Short is short for the other senders' logs (package notify's channels):
// the start of a provider's answer, valid UTF-8 on one line.
func Short(s string) string { return short(s) }
