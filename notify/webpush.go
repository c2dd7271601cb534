package notify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"path"
	"strconv"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/webpush"
)

// WebPush sends a hall's messages as browser notifications (package
// webpush): the opt-in's address is the browser's push subscription (its
// JSON), the message is encrypted for that browser alone and signed with
// the installation's VAPID key, and the phone page's service worker shows
// it, with the page closed too. A subscription the push service no longer
// knows (404, 410) fails for good, and the ticket's opt-in goes with it.
type WebPush struct {
	Client *webpush.Client
}

// NewWebPush is the maker of Web Push channels: every hall sends with the
// installation's client (one key pair); the hall's settings only turn it
// on.
func NewWebPush(c *webpush.Client) func(*civiq.ProviderSettings) (civiq.Channel, error) {
	return func(*civiq.ProviderSettings) (civiq.Channel, error) { return &WebPush{Client: c}, nil }
}

// Provider is "webpush".
func (w *WebPush) Provider() string { return "webpush" }

// Medium is civiq.MediumWebPush.
func (w *WebPush) Medium() string { return civiq.MediumWebPush }

// Rules: no templates; the words are civiq's.
func (w *WebPush) Rules() civiq.ParamRules { return civiq.ParamRules{International: true} }

// PushPayload is what the service worker receives (web/static/sw.js): the
// notification's title and body, the page to open when it is tapped, and a
// tag that makes a later message of the same ticket replace an earlier one
// on the screen.
type PushPayload struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url,omitempty"`
	Tag   string `json:"tag"`
	Kind  string `json:"kind"`
	Lang  string `json:"lang"`
}

// pushTiming is how long a push service keeps a message of a kind for a
// phone out of reach, and how urgent it is: a call is of use for minutes
// and wakes the phone; a reminder keeps a day.
func pushTiming(kind string) (time.Duration, webpush.Urgency) {
	switch kind {
	case civiq.NoticeCalled, civiq.NoticeNext:
		return 10 * time.Minute, webpush.High
	case civiq.NoticeAhead, civiq.NoticeNoShow, civiq.NoticeTransferred:
		return 20 * time.Minute, webpush.Normal
	case civiq.NoticeTaken:
		return time.Hour, webpush.Normal
	}
	return 24 * time.Hour, webpush.Normal
}

// Send encrypts and posts one message.
func (w *WebPush) Send(ctx context.Context, m *civiq.ChannelMessage) civiq.ChannelResult {
	sub, err := webpush.ParseSubscription([]byte(m.To))
	if err != nil {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "subscription", Error: err.Error(), Gone: true}
	}
	number := ""
	for _, p := range m.Params {
		if p.Name == "number" {
			number = p.Value
		}
	}
	// One tag, and one push topic, per ticket: a "called" that arrives
	// replaces the "3 ahead" still on the screen, or still held by the
	// push service for a phone out of reach.
	sum := sha256.Sum256([]byte(m.HallID + "\x00" + number))
	topic := base64.RawURLEncoding.EncodeToString(sum[:16])
	payload, err := json.Marshal(PushPayload{Title: number, Body: m.Text, URL: m.Link, Tag: topic, Kind: m.Kind, Lang: m.Lang})
	if err != nil {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "payload", Error: err.Error()}
	}
	ttl, urgency := pushTiming(m.Kind)
	r, err := w.Client.Send(ctx, sub, webpush.Message{Payload: payload, TTL: ttl, Urgency: urgency, Topic: topic})
	if err != nil {
		// No answer (or a payload over the limit, which no retry mends).
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "network", Error: err.Error(), Retry: err != webpush.ErrTooLong}
	}
	res := civiq.ChannelResult{ProviderID: messageID(r.Location), Code: strconv.Itoa(r.Status), Status: civiq.NoticeSent}
	switch {
	case r.OK():
	case r.Gone():
		res.Status, res.Error, res.Gone = civiq.NoticeFailed, "the browser's subscription is gone", true
	default:
		// 429 and 5xx: later; anything else (400, 403 a key mismatch,
		// 413) is final.
		res.Status, res.Error = civiq.NoticeFailed, r.Error
		res.Retry = r.Status == 429 || r.Status >= 500
	}
	return res
}

// messageID is the push service's id of a message: the last segment of
// its Location, at most 64 bytes.
func messageID(location string) string {
	if location == "" {
		return ""
	}
	id := path.Base(location)
	if len(id) > 64 {
		id = id[len(id)-64:]
	}
	return id
}
