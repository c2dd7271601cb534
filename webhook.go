package civiq

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhooks (issue 13, Standard Webhooks 1.0): subscribers of the events
// table (delivery.go) that receive each event as a signed POST. Managers
// register hooks for their own halls, admins for any; the secret is shown
// once, at creation and at rotation.

// EventTypes are the event types a webhook may ask for ("*": all): every
// change a user of the hall sees, in the staff view (Event.Staff: no
// personal data). The bookkeeping of the notifications, the settings'
// own events and the edge's pulls are not offered.
var EventTypes = []string{EventIssued, EventCalled, EventRecalled, EventServing, EventDone, EventNoShow,
	EventTransferred, EventReturned, EventCancelled, EventRated, EventUpdated, EventCounter, EventAnnouncement,
	EventServiceAlert, EventFollowUp, EventCase, EventBookingCreated, EventBookingCancelled, EventBookingNoShow,
	EventStrikeCleared, EventConfigChanged}

// SecretRotationOverlap is how long the previous secret still signs after
// a rotation, so receivers can change theirs.
const SecretRotationOverlap = 24 * time.Hour

// Audit event types of webhooks: an admin skipped a message a failing
// webhook could not deliver (Username names the webhook).
const AuditDeliverySkipped = "delivery.skipped"

// WebhookInput is what creates or changes a webhook. On a change, a
// field left out (URL "", Events, Halls or Description nil) keeps what
// the webhook had: a resume is {"status":"active"} alone, and never
// widens the hook to every hall ([] does that, said so).
type WebhookInput struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Halls       []string `json:"halls"`
	Description *string  `json:"description"`
	// Status, on a change only: "active" starts a disabled or failing
	// hook again, "disabled" pauses it; empty leaves it.
	Status string `json:"status"`
}

// WebhookView is a webhook as its API shows it: Secret only at creation
// and rotation.
type WebhookView struct {
	*Subscriber
	Secret   string         `json:"secret,omitempty"`
	Delivery *DeliveryState `json:"delivery,omitempty"`
}

// NewWebhookSecret makes a secret: "whsec_" and 32 random bytes in base64.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// WebhookAddrAllowed reports whether a webhook may be sent to ip: any
// public address, and loopback, link-local, private, unspecified or
// multicast ones only when allow holds them (civiq serve --webhook-allow;
// halls run on government intranets).
func WebhookAddrAllowed(ip netip.Addr, allow []netip.Prefix) bool {
	ip = ip.Unmap()
	for _, p := range allow {
		if p.Contains(ip) {
			return true
		}
	}
	return ip.IsValid() && !(ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsPrivate() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast())
}

// The server's flags that let outbound requests reach loopback,
// link-local and private addresses (civiq serve), a list for each kind of
// place, so that allowing one lets no other reach it: webhooks (and the
// 好差评 platform); the notifications' providers (SMS, WeChat: a private
// cloud's endpoint); the browsers' push services (an anonymous citizen's
// subscription names one: public, but for tests); the identity platform
// (OpenID Connect); the directory (LDAP).
const (
	FlagWebhookAllow = "--webhook-allow"
	FlagNotifyAllow  = "--notify-allow"
	FlagPushAllow    = "--push-allow"
	FlagOIDCAllow    = "--oidc-allow"
	FlagLDAPAllow    = "--ldap-allow"
)

// urlAllowed checks the host of raw, the URL given by field, as the
// guarded dialer (package outbound) will check the address it dials: an
// address WebhookAddrAllowed refuses with allow, or localhost, is
// invalid, naming flag, the server's flag that sets allow. A name that
// resolves to such an address is refused when it is dialled. Webhooks,
// the identity platform, the directory and the notifications' providers
// check their URL with it.
func urlAllowed(field, raw string, allow []netip.Prefix, flag string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return FieldErrorf(field, "%s is not a URL", field)
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil && !WebhookAddrAllowed(ip, allow) {
		return FieldErrorf(field, "%s's address %s is not allowed: loopback, link-local and private addresses need civiq serve %s", field, ip, flag)
	}
	if strings.EqualFold(host, "localhost") && !WebhookAddrAllowed(netip.MustParseAddr("127.0.0.1"), allow) {
		return FieldErrorf(field, "%s's host localhost is not allowed without civiq serve %s", field, flag)
	}
	return nil
}

// checkWebhook checks the input of a webhook and fills the halls the
// principal may see when none are named.
func (e *Engine) checkWebhook(tx Tx, p Principal, in *WebhookInput) error {
	u, err := url.Parse(in.URL)
	switch {
	case in.URL == "":
		return FieldErrorf("url", "url is required")
	case err != nil || u.Host == "" || u.Opaque != "":
		return FieldErrorf("url", "url is not an absolute URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return FieldErrorf("url", "url must be http or https")
	case u.User != nil:
		return FieldErrorf("url", "url may not hold a user or password")
	case len(in.URL) > 2000:
		return FieldErrorf("url", "url is at most 2000 characters")
	}
	if err := urlAllowed("url", in.URL, e.WebhookAllow, FlagWebhookAllow); err != nil {
		return err
	}
	if len(in.Events) == 0 {
		return FieldErrorf("events", "events is required: event types, or [\"*\"]")
	}
	for _, t := range in.Events {
		if t != "*" && !slices.Contains(EventTypes, t) {
			return FieldErrorf("events", "unknown event type %q", t)
		}
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 500 {
		return FieldErrorf("description", "description is at most 500 characters")
	}
	if in.Status != "" && in.Status != SubscriberActive && in.Status != SubscriberDisabled {
		return FieldErrorf("status", "status is active or disabled")
	}
	for _, h := range in.Halls {
		if _, err := tx.Hall(h); err != nil {
			return FieldErrorf("halls", "unknown hall %q", h)
		}
		if !p.Can(PermManageHall, h, "") {
			return Errorf(EForbidden, "you may not manage hall %s", h)
		}
	}
	if len(in.Halls) == 0 && p.Role() != RoleAdmin {
		if p.User == nil || len(p.User.HallIDs) == 0 {
			return Errorf(EForbidden, "only admins and hall managers register webhooks")
		}
		in.Halls = slices.Clone(p.User.HallIDs)
	}
	if p.Role() != RoleAdmin && p.Role() != RoleManager {
		return Errorf(EForbidden, "only admins and hall managers register webhooks")
	}
	slices.Sort(in.Halls)
	in.Halls = slices.Compact(in.Halls)
	if in.Halls == nil {
		in.Halls = []string{} // every hall: [] in the answer, as when read back, not null
	}
	if in.Description == nil {
		in.Description = new(string)
	}
	slices.Sort(in.Events)
	in.Events = slices.Compact(in.Events)
	return nil
}

// mayManage reports whether p may see and change the webhook: admins any,
// managers those of their halls only.
func mayManage(p Principal, s *Subscriber) bool {
	if p.Role() == RoleAdmin {
		return true
	}
	if p.Role() != RoleManager || len(s.Halls) == 0 {
		return false
	}
	for _, h := range s.Halls {
		if !p.Can(PermManageHall, h, "") {
			return false
		}
	}
	return true
}

// webhook finds a webhook p may manage; any other is not found (a
// subscriberLookup).
func webhook(tx Tx, p Principal, id int64) (*Subscriber, error) {
	s, err := tx.Subscriber(id)
	if err != nil || s.Kind != SubscriberWebhook || !mayManage(p, s) {
		return nil, Errorf(ENotFound, "unknown webhook %d", id)
	}
	return s, nil
}

// CreateWebhook registers a webhook. It starts at the newest event: it
// gets what happens from now on (replay reaches back).
func (e *Engine) CreateWebhook(ctx context.Context, p Principal, in WebhookInput) (*WebhookView, error) {
	now := e.now()
	s := &Subscriber{Kind: SubscriberWebhook, Status: SubscriberActive, Secret: NewWebhookSecret(),
		CreatedBy: p.Key(), CreatedAt: now, UpdatedAt: now}
	err := e.update(ctx, func(tx Tx) error {
		if err := e.checkWebhook(tx, p, &in); err != nil {
			return err
		}
		if in.Status == SubscriberDisabled {
			s.Status = SubscriberDisabled
		}
		s.URL, s.Events, s.Halls, s.Description = in.URL, in.Events, in.Halls, *in.Description // checkWebhook set it
		var err error
		if s.Cursor, err = tx.LastEventID(); err != nil {
			return err
		}
		return tx.InsertSubscriber(s)
	})
	if err != nil {
		return nil, err
	}
	return &WebhookView{Subscriber: s, Secret: s.Secret}, nil
}

// Webhooks lists the webhooks p may manage, with their delivery state;
// only admins and managers manage any, so anyone else is refused.
func (e *Engine) Webhooks(ctx context.Context, p Principal) ([]WebhookView, error) {
	if p.Role() != RoleAdmin && p.Role() != RoleManager {
		return nil, Errorf(EForbidden, "only admins and hall managers manage webhooks")
	}
	out := []WebhookView{}
	err := e.store.View(ctx, func(tx Tx) error {
		subs, err := tx.Subscribers()
		if err != nil {
			return err
		}
		for _, s := range subs {
			if s.Kind != SubscriberWebhook || !mayManage(p, s) {
				continue
			}
			st, err := e.deliveryState(tx, s)
			if err != nil {
				return err
			}
			out = append(out, WebhookView{Subscriber: s, Delivery: st})
		}
		return nil
	})
	return out, err
}

// Webhook gives one webhook with its delivery state.
func (e *Engine) Webhook(ctx context.Context, p Principal, id int64) (*WebhookView, error) {
	var out *WebhookView
	err := e.store.View(ctx, func(tx Tx) error {
		s, err := webhook(tx, p, id)
		if err != nil {
			return err
		}
		st, err := e.deliveryState(tx, s)
		out = &WebhookView{Subscriber: s, Delivery: st}
		return err
	})
	return out, err
}

func (e *Engine) subscribersChanged() {
	if e.SubscribersChanged != nil {
		e.SubscribersChanged()
	}
}

// UpdateWebhook changes a webhook's URL, events, halls, description and
// status (setStatus); what in leaves out stays, and so do its cursor and
// secret.
func (e *Engine) UpdateWebhook(ctx context.Context, p Principal, id int64, in WebhookInput) (*WebhookView, error) {
	s, err := e.changeSubscriber(ctx, p, id, webhook, func(tx Tx, s *Subscriber) error {
		in.keep(s)
		if err := e.checkWebhook(tx, p, &in); err != nil {
			return err
		}
		s.URL, s.Events, s.Halls, s.Description = in.URL, in.Events, in.Halls, *in.Description
		return s.setStatus(tx, in.Status)
	})
	if err != nil {
		return nil, err
	}
	return &WebhookView{Subscriber: s}, nil
}

// keep fills what a change leaves out with what s has.
func (in *WebhookInput) keep(s *Subscriber) {
	if in.URL == "" {
		in.URL = s.URL
	}
	if in.Events == nil {
		in.Events = s.Events
	}
	if in.Halls == nil {
		in.Halls = slices.Clone(s.Halls) // none: every hall, as checkWebhook takes it
	}
	if in.Description == nil {
		in.Description = &s.Description
	}
}

// DeleteWebhook removes a webhook and its delivery log.
func (e *Engine) DeleteWebhook(ctx context.Context, p Principal, id int64) error {
	err := e.update(ctx, func(tx Tx) error {
		if _, err := webhook(tx, p, id); err != nil {
			return err
		}
		return tx.DeleteSubscriber(id)
	})
	return err
}

// RotateWebhookSecret gives the webhook a new secret, shown this once; the
// old one signs too for SecretRotationOverlap.
func (e *Engine) RotateWebhookSecret(ctx context.Context, p Principal, id int64) (*WebhookView, error) {
	s, err := e.changeSubscriber(ctx, p, id, webhook, func(tx Tx, s *Subscriber) error {
		s.PrevSecret, s.PrevUntil = s.Secret, e.now().Add(SecretRotationOverlap)
		s.Secret = NewWebhookSecret()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &WebhookView{Subscriber: s, Secret: s.Secret}, nil
}

// WebhookDeliveries gives the webhook's last attempts, newest first.
func (e *Engine) WebhookDeliveries(ctx context.Context, p Principal, id int64, limit int) ([]DeliveryAttempt, error) {
	return e.deliveries(ctx, p, id, limit, webhook)
}

// ReplayWebhook sends again every event from fromEventID on (those still
// kept, EventRetention), with the same message ids as the first time.
func (e *Engine) ReplayWebhook(ctx context.Context, p Principal, id, fromEventID int64) (*WebhookView, error) {
	s, err := e.replay(ctx, p, id, fromEventID, webhook)
	if err != nil {
		return nil, err
	}
	return &WebhookView{Subscriber: s}, nil
}

// SkipWebhookMessage drops the message a webhook is stuck on: an admin's
// explicit decision, audited. It answers the id of the event skipped.
func (e *Engine) SkipWebhookMessage(ctx context.Context, p Principal, id int64) (int64, error) {
	return e.skip(ctx, p, id, webhook)
}

// TestWebhook sends the webhook a test message now (type webhook.test),
// logs the attempt and answers it. The cursor does not move.
func (e *Engine) TestWebhook(ctx context.Context, p Principal, id int64) (*DeliveryAttempt, error) {
	if e.Outbound == nil {
		return nil, Errorf(EUnavailable, "outbound delivery is not running on this node")
	}
	var s *Subscriber
	if err := e.store.View(ctx, func(tx Tx) (err error) { s, err = webhook(tx, p, id); return }); err != nil {
		return nil, err
	}
	now := e.now()
	m := &Message{ID: "msg_" + strconv.FormatInt(id, 10) + "_test_" + strconv.FormatInt(now.UnixNano(), 36), Type: EventTest, At: now,
		Body: messageBody(EventTest, now, []byte(`{"webhook_id":`+strconv.FormatInt(id, 10)+`}`))}
	a := e.Outbound.Send(ctx, s, m)
	err := e.update(ctx, func(tx Tx) error { return tx.AppendDeliveries(id, []DeliveryAttempt{a}) })
	return &a, err
}
