package webpush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Urgency tells the push service how soon the browser wants a message
// (RFC 8030 §5.3): a phone saving its battery may hold back the low ones.
type Urgency string

// Urgencies.
const (
	VeryLow Urgency = "very-low"
	Low     Urgency = "low"
	Normal  Urgency = "normal"
	High    Urgency = "high"
)

// Message is one push message.
type Message struct {
	Payload []byte // at most MaxPayload bytes, encrypted before it leaves
	// TTL is how long the push service keeps the message for a browser
	// that is not reachable; 0 means deliver now or never. Whole seconds.
	TTL     time.Duration
	Urgency Urgency // "" for the push service's default (normal)
	// Topic, when set, replaces a message of the same topic the push
	// service still holds for the browser (RFC 8030 §5.4): at most 32
	// characters of the base64url alphabet.
	Topic string
}

// Result is what the push service answered.
type Result struct {
	Status int
	// Location is the pushed message's URL at the push service (201).
	Location string
	// RetryAfter is the wait a push service asked for (429, 503), 0 when
	// it named none.
	RetryAfter time.Duration
	// Error is the start of a refusal's status and body.
	Error string
}

// OK reports whether the push service took the message (201 Created, or
// another 2xx).
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Gone reports whether the subscription no longer exists (404, 410): it
// expired or the browser unsubscribed, and nothing sent to it will ever
// arrive: forget it.
func (r Result) Gone() bool { return r.Status == http.StatusNotFound || r.Status == http.StatusGone }

// Client sends push messages.
type Client struct {
	VAPID *VAPID
	// HTTP does the requests: it should refuse addresses no subscription
	// may name (the loopback, private networks), as the endpoint comes
	// from a browser. Its timeout bounds a send.
	HTTP      *http.Client
	UserAgent string
	Now       func() time.Time // the clock of the VAPID tokens; time.Now when nil
}

// maxAnswer is how much of a refusal's body is kept in Result.Error.
const maxAnswer = 200

// Send encrypts m for the subscription and posts it to its endpoint. The
// error is a failure to ask (a bad subscription, the network); an answer
// of the push service, refusals included, is in the Result.
func (c *Client) Send(ctx context.Context, sub *Subscription, m Message) (Result, error) {
	if err := sub.Check(); err != nil {
		return Result{}, err
	}
	if m.TTL < 0 || m.Topic != "" && !validTopic(m.Topic) {
		return Result{}, errors.New("webpush: bad TTL or topic")
	}
	switch m.Urgency {
	case "", VeryLow, Low, Normal, High:
	default:
		return Result{}, fmt.Errorf("webpush: unknown urgency %q", m.Urgency)
	}
	pub, _ := sub.Public()
	auth, _ := sub.AuthSecret()
	body, err := Encrypt(m.Payload, pub, auth)
	if err != nil {
		return Result{}, err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	vapid, err := c.VAPID.Authorization(sub.Endpoint, now())
	if err != nil {
		return Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("TTL", strconv.FormatInt(int64(m.TTL/time.Second), 10))
	if m.Urgency != "" {
		req.Header.Set("Urgency", string(m.Urgency))
	}
	if m.Topic != "" {
		req.Header.Set("Topic", m.Topic)
	}
	req.Header.Set("Authorization", vapid)
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // without the endpoint, which identifies a browser
		}
		return Result{}, err
	}
	defer res.Body.Close()
	head := make([]byte, maxAnswer)
	n, _ := io.ReadFull(res.Body, head)
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	r := Result{Status: res.StatusCode, Location: res.Header.Get("Location")}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
		r.RetryAfter = time.Duration(min(s, 86400)) * time.Second
	}
	if !r.OK() {
		r.Error = answer(res.Status, head[:n])
	}
	return r, nil
}

// validTopic: RFC 8030 §5.4, at most 32 characters of base64url.
func validTopic(t string) bool {
	if len(t) > 32 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// answer is a refusal's status and the start of its body, on one line in
// valid UTF-8.
func answer(status string, body []byte) string {
	s := status
	if len(body) > 0 {
		s += ": " + strings.ToValidUTF8(string(body), "")
	}
	if len(s) > maxAnswer {
		s = s[:maxAnswer]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return strings.Join(strings.Fields(s), " ")
}
