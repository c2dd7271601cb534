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

	dialer *net.Dialer
	pool   conns
	keys   sync.Map // a secret → its HMAC key, decoded once
}

// NewHTTPSender returns a sender to public addresses and those in Allow.
func NewHTTPSender() *HTTPSender {
	h := &HTTPSender{Now: time.Now, UserAgent: "civiq-webhooks", Timeout: Timeout}
	h.dialer = guardedDialer(func() []netip.Prefix { return h.Allow }, Timeout)
	return h
}

// guardedDialer dials only public addresses and those allow gives.
func guardedDialer(allow func() []netip.Prefix, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !civiq.WebhookAddrAllowed(ap.Addr(), allow()) {
			return fmt.Errorf("address %s is not allowed (civiq serve --webhook-allow)", ap.Addr())
		}
		return nil
	}}
}

// GuardedClient is an HTTP client for addresses that come from outside
// (a browser's push endpoint, a provider's base URL): it dials only public
// addresses and those allow gives (civiq.WebhookAddrAllowed, checked on
// the address dialled, so a name that resolves to a private address is
// refused too), through no proxy, following no redirect. timeout bounds
// the dial and the TLS handshake; the caller bounds the request.
func GuardedClient(allow func() []netip.Prefix, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // a proxy would bypass the address check
		DialContext:         guardedDialer(allow, timeout).DialContext,
		TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Sign is the webhook-signature header of a message: "v1," and the base64
// HMAC-SHA256 of "id.timestamp.body" under each secret's base64-decoded
// key, space-separated.
func Sign(secrets []string, id string, ts int64, body []byte) string {
	return string(appendSignature(nil, nil, secrets, id, ts, body))
}

// appendSignature appends Sign's header value to b; keys, when not nil,
// keeps the secrets' decoded keys.
func appendSignature(b []byte, keys *sync.Map, secrets []string, id string, ts int64, body []byte) []byte {
	var sum [sha256.Size]byte
	var tsb [20]byte
	for i, s := range secrets {
		key := secretKey(keys, s)
		if key == nil {
			continue
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write(strconv.AppendInt(tsb[:0], ts, 10))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, "v1,"...)
		b = base64.StdEncoding.AppendEncode(b, mac.Sum(sum[:0]))
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
	ts := time.Now().Unix() // the receiver compares it with its own clock
	return h.post(ctx, s, m, m.Body, func(b []byte) []byte {
		b = append(b, "webhook-id: "...)
		b = append(b, m.ID...)
		b = append(b, "\r\nwebhook-timestamp: "...)
		b = strconv.AppendInt(b, ts, 10)
		b = append(b, "\r\nwebhook-signature: "...)
		b = appendSignature(b, &h.keys, s.Secrets(h.Now()), m.ID, ts, m.Body)
		return append(b, "\r\n"...)
	})
}

// Post posts body for m to s.URL, a JSON body with the headers given, and
// tells how it went: the one way every kind of subscriber sent over HTTP
// goes out (addresses checked, no redirects, a bounded answer).
func (h *HTTPSender) Post(ctx context.Context, s *civiq.Subscriber, m *civiq.Message, body []byte, header http.Header) civiq.DeliveryAttempt {
	return h.post(ctx, s, m, body, headerLines(header))
}

func (h *HTTPSender) post(ctx context.Context, s *civiq.Subscriber, m *civiq.Message, body []byte, extra func([]byte) []byte) (a civiq.DeliveryAttempt) {
	start, t0 := h.Now(), time.Now()
	a = civiq.DeliveryAttempt{SubscriberID: s.ID, EventID: m.EventID, MessageID: m.ID, At: start}
	defer func() { a.LatencyMS = float64(a.Latency.Microseconds()) / 1000 }()
	t, err := h.pool.target(s.URL)
	if err != nil {
		a.Error = short(err.Error())
		return a
	}
	ans, err := h.exchange(ctx, t, h.request(t, len(body), extra), body, t0.Add(h.Timeout))
	a.Latency = time.Since(t0)
	if err != nil {
		a.Error = short(describe(err))
		return a
	}
	a.Status = ans.status
	if !a.OK() {
		a.Error = ans.text
		if len(ans.head) > 0 {
			a.Error = short(ans.text + ": " + string(ans.head))
		}
	}
	return a
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
