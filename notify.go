package civiq

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Notifications (issue 15): a citizen who opted in is told by SMS, WeChat
// or a browser push when their turn nears, when they are called, and about
// their bookings, cases and ratings. Each message is due at most once per
// ticket and kind, a message that can no longer help (the "3 ahead" of a
// ticket already called) is dropped rather than sent late, and each is
// recorded with the provider's answer.
//
// The messages are sent through the durable delivery (delivery.go): each
// hall that has notifications set up has a subscriber of kind
// SubscriberNotify, and its sender (package notify) decides from each event
// which messages are due and sends them with the hall's channels. A Channel
// is one provider's adapter: Alibaba Cloud SMS and Tencent Cloud SMS in
// package notify, Web Push and WeChat beside them, and a log-only channel
// for the demo and the tests.

// SubscriberNotify is the kind of a hall's notifications subscriber.
const SubscriberNotify = "notify"

// Kinds of message. The names are the keys of a hall's templates.
const (
	// Tickets.
	NoticeTaken       = "taken"       // the ticket was taken: its number and its page
	NoticeAhead       = "ahead"       // N tickets are called before it (N: NotifySettings.Ahead)
	NoticeNext        = "next"        // it is next (nobody before it)
	NoticeCalled      = "called"      // called to a counter
	NoticeNoShow      = "no_show"     // missed its call: how to come back
	NoticeTransferred = "transferred" // sent on to another service

	// Appointments.
	NoticeBooked          = "booking_booked"
	NoticeReminderDay     = "booking_reminder_day"  // the day before, at the hall's hour
	NoticeReminderHour    = "booking_reminder_hour" // an hour before the slot
	NoticeBookingCanceled = "booking_cancelled"
	NoticeStrike          = "booking_strike" // a no-show counted: suspension warning

	// Cases.
	NoticeCaseAccepted   = "case_accepted"   // with the promised date
	NoticeCaseCorrection = "case_correction" // with what to bring
	NoticeCaseFinished   = "case_finished"
	NoticeCaseRefused    = "case_refused"

	// 好差评.
	NoticeRatingReceived  = "rating_received"  // the bad rating was received
	NoticeRatingRectified = "rating_rectified" // it was put right
	NoticeRatingRevisit   = "rating_revisit"   // the revisit call is due
)

// NoticeKinds lists every kind, in the order the admin page shows them.
var NoticeKinds = []string{NoticeTaken, NoticeAhead, NoticeNext, NoticeCalled, NoticeNoShow, NoticeTransferred,
	NoticeBooked, NoticeReminderDay, NoticeReminderHour, NoticeBookingCanceled, NoticeStrike,
	NoticeCaseAccepted, NoticeCaseCorrection, NoticeCaseFinished, NoticeCaseRefused,
	NoticeRatingReceived, NoticeRatingRectified, NoticeRatingRevisit}

// ValidNoticeKind reports whether k is a kind of message.
func ValidNoticeKind(k string) bool { return slices.Contains(NoticeKinds, k) }

// Reminder reports whether a kind is a reminder, which quiet hours hold
// back; what follows a citizen's own move or a call is never held.
func Reminder(kind string) bool { return kind == NoticeReminderDay || kind == NoticeReminderHour }

// Media a message goes by: the kind of address an opt-in holds.
const (
	MediumSMS     = "sms"     // a mobile number
	MediumWebPush = "webpush" // a push subscription (JSON, RFC 8030)
	MediumWeChat  = "wechat"  // an openid of the hall's official account
)

// Media lists every medium.
var Media = []string{MediumSMS, MediumWebPush, MediumWeChat}

// Statuses of a message.
const (
	NoticeQueued    = "queued"    // due, not yet tried
	NoticeSending   = "sending"   // handed to the provider; its answer not yet recorded
	NoticeSent      = "sent"      // the provider took it
	NoticeDelivered = "delivered" // the provider reported it delivered
	NoticeFailed    = "failed"    // refused (Code says why), or over a limit
	NoticeDropped   = "dropped"   // no longer of use: not sent
)

// DefaultAhead is how many tickets before one its "ahead" message waits
// for, unless the hall sets another number.
const DefaultAhead = 3

// NoticeParam is one named parameter of a message's template. Providers
// that number their parameters (Tencent) take them in order.
type NoticeParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ChannelMessage is what a channel is given to send: one message to one
// address.
type ChannelMessage struct {
	// ID stays the same on every try of the message: the provider's
	// idempotency key where it has one, else its out id (Alibaba Cloud
	// OutId, Tencent SessionContext), so a repeat can be told.
	ID     string
	HallID string
	Kind   string
	// To is the address, opened: a mobile number (11 digits, or +country
	// and digits), a push subscription's JSON, an openid.
	To string
	// Template is the provider's template for the kind, as the hall
	// registered it (empty for channels without templates).
	Template string
	// Params fill the template, in order.
	Params []NoticeParam
	// Text is the message in words, in Lang: for channels without
	// templates (push, the log).
	Text string
	Lang string
	// Link is the ticket's phone page, when the message has one.
	Link string
}

// ChannelResult is how a channel's try went.
type ChannelResult struct {
	// ProviderID is the provider's id of the message (BizId, SerialNo).
	ProviderID string
	// Status is NoticeSent, NoticeDelivered (the provider says so at
	// once) or NoticeFailed.
	Status string
	// Code is the provider's code: "OK", "isv.BUSINESS_LIMIT_CONTROL",
	// "LimitExceeded.PhoneNumberDailyLimit", an HTTP status…
	Code string
	// Error is a short text for a failure: never the provider's whole
	// answer, never a secret.
	Error string
	// Retry marks a failure worth trying again later (throttled, no
	// answer, the provider's 5xx); a failure without it is final.
	Retry bool
}

// ParamRules are what a channel takes: checked before a message is sent,
// and when a hall's templates are set.
type ParamRules struct {
	// MaxParamLen is the most characters of one parameter's value (0:
	// no limit).
	MaxParamLen int
	// Templates: the channel sends only a template the hall registered
	// for the kind.
	Templates bool
	// International: the channel sends to +country numbers outside the
	// mainland too.
	International bool
}

// Channel is one provider's adapter (issue 15): Alibaba Cloud SMS, Tencent
// Cloud SMS, Web Push, WeChat, the log. Send never panics and never
// returns a Go error: everything it knows goes in the result.
type Channel interface {
	// Provider names the adapter: "aliyun", "tencent", "webpush", "wechat",
	// "log".
	Provider() string
	// Medium is the kind of address it sends to (MediumSMS, …).
	Medium() string
	Rules() ParamRules
	Send(ctx context.Context, m *ChannelMessage) ChannelResult
}

// CheckParams checks a message's parameters against a channel's rules.
func (r ParamRules) CheckParams(ps []NoticeParam) error {
	for _, p := range ps {
		if r.MaxParamLen > 0 && utf8.RuneCountInString(p.Value) > r.MaxParamLen {
			return Errorf(EInvalid, "parameter %s is %d characters, more than the %d the provider takes",
				p.Name, utf8.RuneCountInString(p.Value), r.MaxParamLen)
		}
	}
	return nil
}

// ProviderSettings set up one channel of a hall: the provider, where it
// is (Endpoint: for private clouds and tests), the credentials, and the
// templates the hall registered per kind. Secret is write-only: it is never
// shown again, and a change that leaves it empty keeps the stored one.
type ProviderSettings struct {
	Provider string `json:"provider"`
	Endpoint string `json:"endpoint,omitempty"`
	// KeyID is the access key id (Alibaba Cloud AccessKeyId, Tencent
	// SecretId), a WeChat app id, a VAPID public key.
	KeyID string `json:"access_key_id,omitempty"`
	// Secret is its secret (AccessKeySecret, SecretKey, the app secret,
	// the VAPID private key).
	Secret string `json:"access_key_secret,omitempty"`
	// HasSecret, in a view: a secret is stored.
	HasSecret bool `json:"has_secret"`
	// SignName is the registered SMS signature (签名).
	SignName string `json:"sign_name,omitempty"`
	// AppID is Tencent's SmsSdkAppId.
	AppID string `json:"app_id,omitempty"`
	// Region is the provider's region (Tencent: ap-guangzhou).
	Region string `json:"region,omitempty"`
	// Templates: the provider's template code per kind (NoticeKinds).
	Templates map[string]string `json:"templates,omitempty"`
	// Extra holds what one provider needs besides (the VAPID subject, …).
	Extra map[string]string `json:"extra,omitempty"`
}

// NotifySettings are a hall's notifications (PUT
// /api/v1/halls/{hall}/notifications).
type NotifySettings struct {
	HallID string `json:"hall_id"`
	// Ahead: the "ahead" message goes when this many tickets are left
	// before one (DefaultAhead).
	Ahead   int               `json:"ahead"`
	SMS     *ProviderSettings `json:"sms,omitempty"`
	WeChat  *ProviderSettings `json:"wechat,omitempty"`
	WebPush *ProviderSettings `json:"webpush,omitempty"`
	// DailyBudget is the most SMS the hall sends in a local day (0: no
	// limit); CostFen what one costs, in fen, for the estimate.
	DailyBudget int `json:"daily_budget"`
	CostFen     int `json:"cost_fen"`
	// PerPhoneHour is the most messages one number gets in an hour, and
	// PerHallMinute the most the hall sends in a minute (carriers
	// throttle). 0 takes the default.
	PerPhoneHour  int `json:"per_phone_hour"`
	PerHallMinute int `json:"per_hall_minute"`
	// QuietFrom and QuietTo ("21:00", "08:00") hold reminders back.
	QuietFrom string    `json:"quiet_from,omitempty"`
	QuietTo   string    `json:"quiet_to,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Default limits.
const (
	DefaultPerPhoneHour  = 10
	DefaultPerHallMinute = 600
)

// Provider returns the settings of the hall's channel for a medium, nil
// when it has none.
func (s *NotifySettings) Provider(medium string) *ProviderSettings {
	switch medium {
	case MediumSMS:
		return s.SMS
	case MediumWeChat:
		return s.WeChat
	case MediumWebPush:
		return s.WebPush
	}
	return nil
}

// ParsePhone reads a mobile number as a citizen types it: a mainland
// mobile (11 digits starting 13–19, with or without +86 and spaces or
// dashes) gives its 11 digits; another country's number in +country form
// (E.164: 8 to 15 digits) gives "+" and its digits.
func ParsePhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return "", FieldErrorf("phone", "a mobile number is digits, with +country for a number outside the mainland")
		}
	}
	p := b.String()
	if rest, ok := strings.CutPrefix(p, "+86"); ok {
		p = rest
	} else if rest, ok := strings.CutPrefix(p, "0086"); ok && len(rest) == 11 {
		p = rest
	}
	if !strings.HasPrefix(p, "+") {
		if len(p) != 11 || p[0] != '1' || p[1] < '3' {
			return "", FieldErrorf("phone", "not a mainland mobile number (11 digits starting 13 to 19); write +country before a number outside the mainland")
		}
		return p, nil
	}
	if n := len(p) - 1; n < 8 || n > 15 || p[1] == '0' {
		return "", FieldErrorf("phone", "a number in +country form has 8 to 15 digits")
	}
	return p, nil
}

// Mainland reports whether a number ParsePhone gave is a mainland mobile.
func Mainland(phone string) bool { return !strings.HasPrefix(phone, "+") }

// MaskAddress shows an opt-in's address as lists may: a phone as
// 138****5678 (+44****1234 abroad), anything else by its medium alone.
func MaskAddress(medium, addr string) string {
	if medium != MediumSMS {
		return medium
	}
	if Mainland(addr) {
		return MaskPhone(addr)
	}
	if len(addr) < 8 {
		return "****"
	}
	return addr[:3] + "****" + addr[len(addr)-4:]
}

// NoticeParams are the parameters of a ticket's message of a kind: only
// what the template needs, never personal data. ahead is the number of
// tickets before it; counter the counter's name as the display says it;
// service the service's name.
func NoticeParams(kind string, t *Ticket, ahead int, counter, service string) []NoticeParam {
	ps := []NoticeParam{{"number", t.Number}}
	switch kind {
	case NoticeAhead:
		ps = append(ps, NoticeParam{"ahead", fmt.Sprint(ahead)})
	case NoticeCalled:
		ps = append(ps, NoticeParam{"counter", counter})
	case NoticeTransferred:
		ps = append(ps, NoticeParam{"service", service})
	}
	return ps
}

// TicketNotices are the ticket's messages that an event makes due, given what
// the ticket has already been sent (eventType is the event's type when it
// is about t, "" when another ticket moved): the rule of "each at most once per
// ticket and kind", of "ahead" and "next", and of dropping what no longer
// helps. position is the ticket's place (nil when not waiting); sent holds
// the kinds it already has a message of (any status).
//
// It returns the kinds due now and the kinds to drop: an "ahead" or "next"
// not yet sent once the ticket is no longer waiting, or an "ahead" once it
// is next.
func TicketNotices(eventType string, t *Ticket, position *int, ahead int, sent map[string]bool) (due, drop []string) {
	if ahead <= 0 {
		ahead = DefaultAhead
	}
	add := func(k string) {
		if !sent[k] && !slices.Contains(due, k) {
			due = append(due, k)
		}
	}
	switch eventType {
	case EventIssued:
		add(NoticeTaken)
	case EventCalled:
		add(NoticeCalled)
	case EventNoShow:
		add(NoticeNoShow)
	case EventTransferred:
		add(NoticeTransferred)
	}
	if t.Status == StatusWaiting && position != nil {
		switch p := *position; {
		case p == 0:
			add(NoticeNext)
			if !sent[NoticeAhead] {
				drop = append(drop, NoticeAhead) // too late to be of use
			}
		case p <= ahead:
			add(NoticeAhead)
		}
	} else if t.Status != StatusWaiting {
		for _, k := range []string{NoticeAhead, NoticeNext} {
			if !sent[k] {
				drop = append(drop, k)
			}
		}
	}
	return due, drop
}

// QuietAt reports whether t, in the hall's zone loc, falls in the quiet
// hours from–to ("21:00"–"08:00" spans midnight); empty bounds are never
// quiet.
func QuietAt(t time.Time, loc *time.Location, from, to string) bool {
	if from == "" || to == "" {
		return false
	}
	f, err1 := time.Parse("15:04", from)
	u, err2 := time.Parse("15:04", to)
	if err1 != nil || err2 != nil || from == to {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	fm, um := f.Hour()*60+f.Minute(), u.Hour()*60+u.Minute()
	if fm < um {
		return m >= fm && m < um
	}
	return m >= fm || m < um
}
