package civiq

import (
	"cmp"
	"context"
	"encoding/base32"
	"fmt"
	"maps"
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
	// Link is the ticket's phone page, when the message has one: it holds
	// the ticket's id, so a channel never logs it. The parameter "link" is
	// that id alone, for an SMS template that writes the hall's address
	// itself (https://…/t/${link}): the providers take a link only as the
	// template's fixed text, with a variable at most at its end.
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
	// Gone marks an address that no longer exists (a browser's push
	// subscription expired or withdrawn: 404, 410): the ticket's opt-in of
	// the medium is removed, as if its holder had opted out.
	Gone bool
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
	// LinkApart: the ticket's link goes as the message's own URL (WeChat),
	// not as a template's parameter, so the length rule leaves it alone.
	LinkApart bool
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
		if p.Name == "link" && r.LinkApart {
			continue
		}
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
	QuietFrom string `json:"quiet_from,omitempty"`
	QuietTo   string `json:"quiet_to,omitempty"`
	// ReminderAt is the hour of a booking's reminder the day before
	// ("18:00"; DefaultReminderAt when empty).
	ReminderAt string `json:"reminder_at,omitempty"`
	// LinkBase is where the hall's pages are reached from outside
	// ("https://hall.example.gov.cn"): the "taken" message links the
	// ticket's phone page under it. Empty: no link.
	LinkBase  string    `json:"link_base,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"` // none for a hall never set
	// CallbackToken, shown to admins only and never stored, is the token
	// of the hall's URLs for the SMS providers' delivery reports and
	// replies (notifyreport.go).
	CallbackToken string `json:"callback_token,omitempty"`
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
// mobile (NormalizePhone: 11 digits starting 13–19, with or without +86,
// spaces or dashes) gives its 11 digits; another country's number in
// +country form (E.164: 8 to 15 digits) gives "+" and its digits.
func ParsePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") || strings.HasPrefix(s, "+86") {
		p, err := NormalizePhone(s)
		if err != nil {
			return "", FieldErrorf("phone", "not a mainland mobile number (11 digits starting 13 to 19); write +country before a number outside the mainland")
		}
		return p, nil
	}
	digits := strings.NewReplacer(" ", "", "-", "").Replace(s[1:])
	if n := len(digits); n < 8 || n > 15 || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return "", FieldErrorf("phone", "a number in +country form has 8 to 15 digits")
	}
	return "+" + digits, nil
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
// ticket and kind" and of "ahead" and "next". position is the ticket's
// place (nil when not waiting); sent holds the kinds it already has a
// message of (any status).
//
// "ahead" and "next" are due only while the ticket waits and was never
// called, "ahead" only before "next": one the ticket went past before it
// was planned (it was called, or came straight to next) is no message at
// all, and leaves no row; one planned and then too late when its turn to
// go comes is dropped by the claim (noticeAddress), not sent late.
func TicketNotices(eventType string, t *Ticket, position *int, ahead int, sent map[string]bool) (due []string) {
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
	if t.Status == StatusWaiting && position != nil && t.CalledAt == nil {
		switch p := *position; {
		case p == 0:
			add(NoticeNext)
		case p <= ahead && !sent[NoticeNext]:
			add(NoticeAhead)
		}
	}
	return due
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

// Events of notifications: a ticket's holder opted in or out (the staff
// view carries the ticket; no address is in any event), a hall's
// notifications were set.
const (
	EventNotifyOptIn    = "notify.opt_in"
	EventNotifyOptOut   = "notify.opt_out"
	EventNotifySettings = "notify.settings"
)

// notifyEvents are the events a notifications subscriber reads: those
// that make a message due or move a ticket's place.
var notifyEvents = []string{EventIssued, EventCalled, EventNoShow, EventTransferred, EventReturned,
	EventCancelled, EventDone, EventNotifyOptIn,
	EventBookingCreated, EventBookingCancelled, EventBookingNoShow, EventBookingReminder, EventCase, EventRated, EventFollowUp}

// OptIn is a ticket holder's wish to be told by a medium. Address is
// sealed in the store, opened in the engine, and deleted with the ticket's
// other personal data (once it is done or cancelled, or its day is past).
type OptIn struct {
	TicketID   string
	HallID     string
	Medium     string
	Address    string
	AddressKey string // keyed hash of the address: the limits per number
	Lang       string
	CreatedAt  time.Time
	// Of the ticket, in the lists of a hall's waiting opt-ins: its
	// service, class and whether it is an appointment, in queue order.
	ServiceID   string
	Priority    string
	Appointment bool
}

// Notice is one message of a ticket: due, sent, failed or dropped, with
// the provider's answer. The address is kept masked only.
type Notice struct {
	ID         string        `json:"id"`
	HallID     string        `json:"hall_id"`
	Day        string        `json:"day"`
	TicketID   string        `json:"-"`
	Number     string        `json:"number"`
	Medium     string        `json:"medium"`
	Kind       string        `json:"kind"`
	Provider   string        `json:"provider"`
	To         string        `json:"to"`
	AddressKey string        `json:"-"`
	Params     []NoticeParam `json:"params"`
	Status     string        `json:"status"`
	ProviderID string        `json:"provider_id,omitempty"`
	Code       string        `json:"code,omitempty"`
	Error      string        `json:"error,omitempty"`
	Tries      int           `json:"tries"`
	EventID    int64         `json:"event_id"`
	Ord        int           `json:"-"` // its order among the messages of its event
	// DueAt is when a scheduled reminder is due.
	DueAt *time.Time `json:"due_at,omitempty"`
	// ReportedAt is when the provider's delivery report came
	// (notifyreport.go).
	ReportedAt *time.Time `json:"reported_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// NoticeCount is a line of the report: messages of a day, medium,
// provider and kind by status.
type NoticeCount struct {
	Day      string `json:"day"`
	Medium   string `json:"medium"`
	Provider string `json:"provider"`
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Count    int    `json:"count"`
}

// NotifyTx is what a store keeps of notifications (sqlstore/notify.go).
type NotifyTx interface {
	// NotifySettings is the hall's settings as stored (secrets sealed), a
	// not_found error when it has none.
	NotifySettings(hallID string) (*NotifySettings, error)
	PutNotifySettings(s *NotifySettings) error
	// PutOptIn adds or replaces the ticket's opt-in of its medium.
	PutOptIn(o *OptIn) error
	// DeleteOptIn reports whether there was one.
	DeleteOptIn(ticketID, medium string) (bool, error)
	// ForgetOptIns deletes the opt-ins of those of the tickets done or
	// cancelled that have no message queued or sending.
	ForgetOptIns(ticketIDs []string) error
	// PruneOptIns deletes the opt-ins made before the time, and those of
	// tickets done or cancelled before finishedBefore that have no message
	// queued or sending.
	PruneOptIns(before, finishedBefore time.Time) error
	OptIns(ticketID string) ([]OptIn, error)
	// WaitingOptIns lists the opt-ins of the hall's waiting tickets that
	// have no "next" message of their medium yet, in queue order within
	// each service and class (appointments last): the first perQueue of
	// each service, class and medium, and every appointment.
	WaitingOptIns(hallID string, perQueue int) ([]OptIn, error)
	// CountOptIns counts the opt-ins to an address made since the time.
	CountOptIns(addressKey string, since time.Time) (int, error)
	// InsertNotice adds a message; false when the ticket already has one
	// of its medium and kind.
	InsertNotice(n *Notice) (bool, error)
	UpdateNotice(n *Notice) error
	// SettleNotice records a message's answer (its Status, ProviderID,
	// Code, Error and UpdatedAt, by ID) while it is sending; false when
	// it is not (anymore).
	SettleNotice(n *Notice) (bool, error)
	// NoticeKinds gives the kinds the ticket has a message of by the
	// medium, whatever their status.
	NoticeKinds(ticketID, medium string) (map[string]bool, error)
	// NoticesIn lists the hall's messages of a status, oldest first, at
	// most limit.
	NoticesIn(hallID, status string, limit int) ([]*Notice, error)
	// Notices lists the hall's messages of a local day, oldest first.
	Notices(hallID, day string) ([]*Notice, error)
	// CountSent counts the hall's messages by a medium handed to a
	// provider (sending, sent, delivered) since the time, and those to an
	// address (when addressKey is not empty).
	CountSent(hallID, medium, addressKey string, since time.Time) (int, error)
	// CountSentDay counts them on a local day.
	CountSentDay(hallID, medium, day string) (int, error)
	// NoticeCounts is the report of the days from to to.
	NoticeCounts(hallID, from, to string) ([]NoticeCount, error)
	// DueNotices lists the scheduled messages of every hall due at now,
	// soonest first, at most limit.
	DueNotices(now time.Time, limit int) ([]*Notice, error)
	// PruneNotices deletes at most limit of the hall's messages last
	// changed before the time whose status is one of keep.Final, but none
	// of a booking whose status is one of keep.BookingOpen, nor of a case
	// or a follow-up whose status is not one of keep.CaseClosed or
	// keep.FollowUpClosed (their next moves look for the kinds already
	// sent); it gives how many it deleted. The rules are the domain's
	// (NoticeKeep), the store only applies them.
	PruneNotices(hallID string, before time.Time, limit int, keep NoticeKeep) (int, error)
}

// ChannelMaker makes the channel of a hall's provider settings for a
// medium (package notify's Makers); an error names what is wrong with the
// settings.
type ChannelMaker func(medium string, p *ProviderSettings) (Channel, error)

// noticeID is a new message's id, stable once given: the time it was made,
// to the millisecond, in eight characters that sort as the times do
// (base32hex), then eight random ones. The hall's new messages so go to
// the end of the index of the messages' ids, a page or two for a batch,
// where random ids each went to a page of their own among every message
// kept (they are never deleted): a page more written at each commit and
// checkpoint for each message. 40 bits of milliseconds wrap every 35
// years; only the order of those written together matters.
func noticeID() string {
	ms := uint64(time.Now().UnixMilli())
	var b [5]byte
	for i := range b {
		b[i] = byte(ms >> (32 - 8*i))
	}
	return "ntf_" + strings.ToLower(b32hex.EncodeToString(b[:])) + randomToken(5)
}

var b32hex = base32.HexEncoding.WithPadding(base32.NoPadding)

// noticeWords are the messages in words, for channels without templates.
var noticeWords = map[string][2]string{
	NoticeTaken:       {"您已取号 {number}，可凭此短信查看排队进度。{link}", "Your ticket is {number}. Follow your place: {link}"},
	NoticeAhead:       {"{number} 前面还有 {ahead} 位，请回到大厅等候。", "{number}: {ahead} ahead of you. Please come back to the hall."},
	NoticeNext:        {"下一位就是 {number}，请到大厅等候叫号。", "{number} is next. Please wait in the hall."},
	NoticeCalled:      {"请 {number} 到 {counter} 办理。", "{number}, please go to {counter}."},
	NoticeNoShow:      {"{number} 叫号未到，请到取号机或服务台重新排队。", "{number} was called and missed. Ask at the desk to queue again."},
	NoticeTransferred: {"{number} 已转至 {service}，请继续等候。", "{number} now waits for {service}."},
}

// takenWithoutLink is the taken message of a hall without link_base: it
// promises no page to follow (its words with a link read "Follow your
// place:" and ended there).
var takenWithoutLink = [2]string{"您已取号 {number}，快到您时会再提醒您。", "Your ticket is {number}. We will tell you when your turn nears."}

// NoticeText is a message in words, in lang ("en", else Chinese).
func NoticeText(kind, lang string, params []NoticeParam) string {
	w, ok := noticeWords[kind]
	if !ok {
		if w, ok = subjectWords[kind]; !ok {
			return kind
		}
	}
	if kind == NoticeTaken && !slices.ContainsFunc(params, func(p NoticeParam) bool { return p.Name == "link" && p.Value != "" }) {
		w = takenWithoutLink
	}
	s := w[0]
	if lang == "en" {
		s = w[1]
	}
	for _, p := range params {
		s = strings.ReplaceAll(s, "{"+p.Name+"}", p.Value)
	}
	return strings.TrimSpace(strings.ReplaceAll(s, "{link}", ""))
}

// notifyKey is the keyed hash of an address.
func (e *Engine) notifyKey(medium, addr string) string { return e.Sealer.Hash("notify-"+medium, addr) }

// checkNotifySettings checks a hall's settings as sent, keeping the stored
// secrets where none is sent.
func (e *Engine) checkNotifySettings(in *NotifySettings, old *NotifySettings) error {
	if in.Ahead == 0 {
		in.Ahead = DefaultAhead
	}
	if in.Ahead < 1 || in.Ahead > 50 {
		return FieldErrorf("ahead", "ahead is between 1 and 50")
	}
	if in.DailyBudget < 0 || in.CostFen < 0 || in.PerPhoneHour < 0 || in.PerHallMinute < 0 {
		return FieldErrorf("daily_budget", "limits and costs are not negative")
	}
	for _, q := range []struct{ field, v string }{{"quiet_from", in.QuietFrom}, {"quiet_to", in.QuietTo}} {
		if _, err := time.Parse("15:04", q.v); q.v != "" && err != nil {
			return FieldErrorf(q.field, "%s is a time of day like 21:00", q.field)
		}
	}
	if _, err := time.Parse("15:04", in.ReminderAt); in.ReminderAt != "" && err != nil {
		return FieldErrorf("reminder_at", "reminder_at is a time of day like 18:00")
	}
	if (in.QuietFrom == "") != (in.QuietTo == "") {
		return FieldErrorf("quiet_to", "quiet hours need both quiet_from and quiet_to")
	}
	if in.LinkBase != "" && !strings.HasPrefix(in.LinkBase, "https://") && !strings.HasPrefix(in.LinkBase, "http://") {
		return FieldErrorf("link_base", "link_base is an http or https address")
	}
	in.LinkBase = strings.TrimRight(in.LinkBase, "/")
	for _, m := range Media {
		p := in.Provider(m)
		if p == nil {
			continue
		}
		field := m
		if p.Provider == "" {
			return FieldErrorf(field+".provider", "%s.provider is required", field)
		}
		if err := e.providerAllowed(m, p); err != nil { // allowed.go
			return err
		}
		if p.Secret == "" && old != nil {
			if op := old.Provider(m); op != nil && op.Provider == p.Provider {
				p.Secret = op.Secret
			}
		}
		for k, code := range p.Templates {
			if !ValidNoticeKind(k) {
				return FieldErrorf(field+".templates", "unknown kind of message %q", k)
			}
			if code == "" || len(code) > 64 {
				return FieldErrorf(field+".templates", "the template of %s is 1 to 64 characters", k)
			}
		}
		if e.Channels == nil {
			continue
		}
		ch, err := e.Channels(m, p)
		if err != nil {
			return FieldErrorf(field, "%s: %v", field, err)
		}
		if ch.Medium() != m {
			return FieldErrorf(field+".provider", "provider %s does not send %s", p.Provider, m)
		}
		if err := checkParamRule(field, p, ch.Rules(), in.LinkBase); err != nil {
			return err
		}
	}
	return nil
}

// SetNotifySettings sets a hall's notifications (admins): it makes the
// hall's notifications subscriber when there is none, reading from now
// on. Secrets are sealed in the store and never shown again.
func (e *Engine) SetNotifySettings(ctx context.Context, p Principal, hallID string, in NotifySettings) (*NotifySettings, error) {
	if !p.Can(PermAdmin, hallID, "") {
		return nil, Errorf(EForbidden, "only admins set notifications")
	}
	if err := e.needSealer(); err != nil {
		return nil, err
	}
	now := e.now()
	err := e.update(ctx, func(tx Tx) error {
		hall, err := tx.Hall(hallID)
		if err != nil {
			return err
		}
		e.settings.forget([]string{hallID}) // the stored ones, not a second old
		old, err := e.openNotifySettings(tx, hallID)
		if err != nil && ErrorCode(err) != ENotFound {
			return err
		}
		if err := e.checkNotifySettings(&in, old); err != nil {
			return err
		}
		in.HallID, in.UpdatedAt, in.CallbackToken = hallID, now, ""
		stored := in
		for _, m := range Media {
			if pp := stored.Provider(m); pp != nil {
				c := *pp
				c.Secret, c.HasSecret = e.Sealer.Seal(c.Secret), false
				stored.setProvider(m, &c)
			}
		}
		if err := tx.PutNotifySettings(&stored); err != nil {
			return err
		}
		if err := e.ensureNotifySubscriber(tx, p, hallID, now); err != nil {
			return err
		}
		if old != nil && cmpOr(old.ReminderAt, DefaultReminderAt) != cmpOr(in.ReminderAt, DefaultReminderAt) {
			if err := e.replanReminders(tx, hall, in.ReminderAt, now); err != nil { // notify_subjects.go
				return err
			}
		}
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventNotifySettings, At: now})
	})
	if err != nil {
		return nil, err
	}
	e.subscribersChanged()
	v := in.view()
	v.CallbackToken = e.NotifyCallbackToken(hallID)
	return v, nil
}

func (s *NotifySettings) setProvider(medium string, p *ProviderSettings) {
	switch medium {
	case MediumSMS:
		s.SMS = p
	case MediumWeChat:
		s.WeChat = p
	case MediumWebPush:
		s.WebPush = p
	}
}

// view is the settings as they are shown: no secret, HasSecret instead.
func (s *NotifySettings) view() *NotifySettings {
	v := *s
	for _, m := range Media {
		if p := v.Provider(m); p != nil {
			c := *p
			c.HasSecret, c.Secret = c.Secret != "", ""
			v.setProvider(m, &c)
		}
	}
	return &v
}

// ensureNotifySubscriber makes the hall's notifications subscriber, its
// cursor at the newest event, when it has none.
func (e *Engine) ensureNotifySubscriber(tx Tx, p Principal, hallID string, now time.Time) error {
	subs, err := tx.Subscribers()
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.Kind == SubscriberNotify && slices.Equal(s.Halls, []string{hallID}) {
			if slices.Equal(s.Events, notifyEvents) {
				return nil
			}
			// Made before a kind of event was read: the pending count
			// counts them too.
			s.Events, s.UpdatedAt = notifyEvents, now
			return tx.UpdateSubscriber(s)
		}
	}
	last, err := tx.LastEventID()
	if err != nil {
		return err
	}
	by := ""
	if p.User != nil {
		by = p.User.Username
	}
	return tx.InsertSubscriber(&Subscriber{Kind: SubscriberNotify, URL: "notify:" + hallID, Events: notifyEvents,
		Halls: []string{hallID}, Description: "notifications of hall " + hallID, Status: SubscriberActive,
		CreatedBy: by, CreatedAt: now, UpdatedAt: now, Cursor: last})
}

// openNotifySettings reads a hall's settings with their secrets opened.
// They come from the engine's cache (settingsCache.notify), as a copy
// whose providers the caller may change; their templates it must not.
func (e *Engine) openNotifySettings(tx Tx, hallID string) (*NotifySettings, error) {
	stored, err := e.settings.notify(tx, hallID, e.now())
	if err != nil {
		return nil, err
	}
	s := *stored
	for _, m := range Media {
		if p := s.Provider(m); p != nil {
			c := *p
			if err := e.unseal(&c.Secret); err != nil {
				return nil, err
			}
			s.setProvider(m, &c)
		}
	}
	return &s, nil
}

// NotifySettingsOf shows a hall's notifications to its managers: no
// secret. A hall without them shows the defaults.
func (e *Engine) NotifySettingsOf(ctx context.Context, p Principal, hallID string) (*NotifySettings, error) {
	if !p.Can(PermManageHall, hallID, "") {
		return nil, Errorf(EForbidden, "you may not manage hall %s", hallID)
	}
	var out *NotifySettings
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		s, err := tx.NotifySettings(hallID)
		if ErrorCode(err) == ENotFound {
			out = &NotifySettings{HallID: hallID, Ahead: DefaultAhead}
			return nil
		}
		if err != nil {
			return err
		}
		out = s.view()
		return nil
	})
	if err == nil && p.Can(PermAdmin, hallID, "") {
		out.CallbackToken = e.NotifyCallbackToken(hallID)
	}
	return out, err
}

// OptInRequest is a ticket holder's opt-in: a medium and its address (a
// mobile number, a push subscription's JSON, an openid), and the language
// of the messages.
type OptInRequest struct {
	Medium  string
	Address string
	Lang    string
}

// OptInAge is how long an opt-in is kept at most: a ticket lives a day.
// Those of tickets done or cancelled go with their hall's next messages
// once no message of the ticket is left to send, or at a Prune OptInAfterEnd
// after the ticket's end: not sooner, for the messages of its last events
// may not be planned yet (the sender behind, or a node restarting, whose
// Prune runs at its start: a "called" then found no address).
const (
	OptInAge      = 48 * time.Hour
	OptInAfterEnd = time.Hour
)

// NoticeAge is how long a message is kept after its last change (its
// provider's answer, a delivery report): the list of a day's messages and
// the report of what SMS cost look back that far, the whole of last month
// still there in the first days of this one for the provider's bill. A
// message not yet sent (scheduled, queued, sending) is kept until it is,
// and so is every message of a booking still booked, a case or a
// follow-up not closed: their "once per kind" looks at the kinds they
// were sent. A ticket lives a day, long gone by then.
const NoticeAge = 40 * 24 * time.Hour

// NoticeKeep is what the prune of old messages needs from the domain's
// rules, as lists of statuses (NotifyTx.PruneNotices): a message is final
// once its status is one of Final; the messages of a booking whose status
// is one of BookingOpen, and of a case or a follow-up whose status is not
// one of CaseClosed or FollowUpClosed, are kept (the subject's next moves
// look for the kinds already sent). None of the lists is empty.
type NoticeKeep struct {
	Final, BookingOpen, CaseClosed, FollowUpClosed []string
}

// noticeKeep is NoticeKeep of the domain's rules: a message's final
// statuses (never sent again, its outcome known), a booking still booked,
// CaseClosed and FollowUpClosed.
var noticeKeep = NoticeKeep{
	Final:          []string{NoticeSent, NoticeDelivered, NoticeFailed, NoticeDropped},
	BookingOpen:    []string{BookingBooked},
	CaseClosed:     slices.DeleteFunc(slices.Clone(CaseStatuses), func(s string) bool { return !CaseClosed(s) }),
	FollowUpClosed: slices.DeleteFunc(slices.Clone(FollowUpStatuses), func(s string) bool { return !FollowUpClosed(s) }),
}

// PruneNotices deletes the messages of every hall last changed
// NoticeAge ago and no longer needed (NotifyTx.PruneNotices), in writes of
// PruneBatch (pruneInWrites). The hourly Prune runs it, off the hot path.
func (e *Engine) PruneNotices(ctx context.Context) error {
	var halls []Hall
	if err := e.store.View(ctx, func(tx Tx) error {
		var err error
		halls, err = tx.Halls()
		return err
	}); err != nil {
		return err
	}
	before := e.now().Add(-NoticeAge)
	for _, h := range halls {
		if err := e.pruneInWrites(ctx, func(tx Tx) (int, error) {
			return tx.PruneNotices(h.ID, before, PruneBatch, noticeKeep)
		}); err != nil {
			return err
		}
	}
	return nil
}

// NotifyPace is the notifications subscribers' pace (notify.go): the
// delivery's batches and linger, and the cursor recorded once a second
// instead of after nearly every batch of the sender (a batch of the
// sender takes its Gather, longer than the delivery's RecordEvery): one
// write a second rather than one more per batch beside the hall's. A
// crash hands the sender at most a second's events again, which it plans
// again and sends nothing twice (each kind once per ticket).
var NotifyPace = DeliveryPace{Batch: 256, Linger: 5 * time.Millisecond, RecordEvery: time.Second}

// OptedAtEdge is the medium of the mark a city keeps in place of a
// ticket's opt-ins once the ticket was opted in at its hall's edge node
// (the edge's notify.opt_in came up: optedInAtEdge). It is no medium
// messages go by and holds no address.
const OptedAtEdge = "edge"

// optedInAtEdge: a ticket of a hall with an edge was opted in at the
// edge, and the edge tells it from then on (it holds that opt-in and sees
// the ticket's moves first). The city forgets its own opt-ins of the
// ticket (what they still had queued is dropped at the claim) and keeps a
// mark in their place, so that it takes none again: the same phone opted
// in at the kiosk and on the city's phone page is told once, from the
// edge.
func optedInAtEdge(tx Tx, t *Ticket, at time.Time) error {
	os, err := tx.OptIns(t.ID)
	if err != nil {
		return err
	}
	for _, o := range os {
		if _, err := tx.DeleteOptIn(t.ID, o.Medium); err != nil {
			return err
		}
	}
	return tx.PutOptIn(&OptIn{TicketID: t.ID, HallID: t.HallID, Medium: OptedAtEdge, CreatedAt: at})
}

// optedOutAtEdge: the ticket's last opt-in at the edge is gone (an
// opt-out there, its address gone at the provider): the edge tells it
// nothing more, and the city lifts its mark, so that the city's phone
// page takes an opt-in of it again. While the edge still holds one (the
// citizen stopped the texts but kept WeChat) the mark stays: a medium
// told from both nodes would be told twice.
func optedOutAtEdge(tx Tx, t *Ticket) error {
	_, err := tx.DeleteOptIn(t.ID, OptedAtEdge)
	return err
}

// MaxOptInsPerAddressDay is how many tickets one address may opt in for
// in a day: nobody floods another's phone by taking tickets for it.
const MaxOptInsPerAddressDay = 5

// OptIn records that a ticket's holder (whoever holds its id) or staff
// wants to be told by a medium the hall has set up. It is one transaction
// with its event; the messages follow from it.
func (e *Engine) OptIn(ctx context.Context, ticketID string, req OptInRequest) error {
	if !slices.Contains(Media, req.Medium) {
		return FieldErrorf("medium", "medium is sms, webpush or wechat")
	}
	addr := strings.TrimSpace(req.Address)
	switch req.Medium {
	case MediumSMS:
		p, err := ParsePhone(addr)
		if err != nil {
			return err
		}
		addr = p
	default:
		if addr == "" || len(addr) > 4096 || !utf8.ValidString(addr) {
			return FieldErrorf(req.Medium, "%s is required, at most 4096 bytes", req.Medium)
		}
	}
	switch req.Lang {
	case "en":
	case "", "zh", "zh-CN":
		req.Lang = "zh"
	default:
		return FieldErrorf("lang", "lang is zh or en")
	}
	if err := e.needSealer(); err != nil {
		return err
	}
	now := e.now()
	// Hashed and sealed before the write, beside the writer.
	key, sealed := e.notifyKey(req.Medium, addr), e.Sealer.Seal(addr)
	return e.update(ctx, func(tx Tx) error {
		t, err := tx.Ticket(ticketID)
		if err != nil {
			return err
		}
		if t.Status == StatusDone || t.Status == StatusCancelled {
			return Errorf(EConflict, "the ticket is %s: there is nothing left to tell", t.Status)
		}
		if !e.Node.Edge() {
			os, err := tx.OptIns(t.ID)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(os, func(o OptIn) bool { return o.Medium == OptedAtEdge }) {
				return Errorf(EConflict, "the ticket was opted in at the hall's kiosk: its messages come from there")
			}
		}
		st, err := e.settings.notify(tx, t.HallID, now)
		if ErrorCode(err) == ENotFound || (err == nil && st.Provider(req.Medium) == nil) {
			return Errorf(EConflict, "this hall sends no %s messages", req.Medium)
		}
		if err != nil {
			return err
		}
		if req.Medium == MediumSMS && st.DailyBudget > 0 {
			// Past the day's budget no text goes (a ticket's messages
			// are all of its day): say so, rather than promise one.
			hall, err := e.settings.hall(tx, t.HallID, now)
			if err != nil {
				return err
			}
			sent, err := tx.CountSentDay(t.HallID, MediumSMS, hall.Day(now))
			if err != nil {
				return err
			}
			if sent >= st.DailyBudget {
				return Errorf(EConflict, "this hall's SMS budget of today is spent: no text would go")
			}
		}
		if req.Medium == MediumSMS && !Mainland(addr) && e.Channels != nil {
			ch, err := e.Channels(MediumSMS, st.SMS)
			if err == nil && !ch.Rules().International {
				return FieldErrorf("phone", "this hall's SMS provider sends to mainland mobile numbers only")
			}
		}
		n, err := tx.CountOptIns(key, now.Add(-24*time.Hour))
		if err != nil {
			return err
		}
		if n >= MaxOptInsPerAddressDay {
			return &Error{Code: ERateLimited, Message: "this number was given for too many tickets today", RetryAfter: time.Hour}
		}
		if err := tx.PutOptIn(&OptIn{TicketID: t.ID, HallID: t.HallID, Medium: req.Medium, Address: sealed,
			AddressKey: key, Lang: req.Lang, CreatedAt: now}); err != nil {
			return err
		}
		// Giving the address again is asking for messages: it lifts an
		// opt-out of it (notifyreport.go).
		if err := tx.DeleteOptOut(t.HallID, req.Medium, key); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{HallID: t.HallID, Type: EventNotifyOptIn, At: now, Ticket: t})
	})
}

// OptOut forgets a ticket's opt-in of a medium, and drops the messages
// still queued for it; the address is opted out of the hall's messages by
// that medium (its other tickets' too) until it is given again.
func (e *Engine) OptOut(ctx context.Context, ticketID, medium string) error {
	if !slices.Contains(Media, medium) {
		return FieldErrorf("medium", "medium is sms, webpush or wechat")
	}
	now := e.now()
	return e.update(ctx, func(tx Tx) error {
		t, err := tx.Ticket(ticketID)
		if err != nil {
			return err
		}
		os, err := tx.OptIns(t.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(os, func(o OptIn) bool { return o.Medium == medium })
		if i < 0 {
			return Errorf(ENotFound, "the ticket has no %s opt-in", medium)
		}
		// The address wants no more of the hall's messages, by any of its
		// tickets (notifyreport.go); the ticket's own opt-in goes with
		// them.
		addr := os[i].Address
		if err := e.unseal(&addr); err != nil {
			return err
		}
		if _, err := tx.DeleteOptIn(t.ID, medium); err != nil {
			return err
		}
		if err := e.optOutAddress(tx, t.HallID, medium, addr, OptOutPage, now); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{HallID: t.HallID, Type: EventNotifyOptOut, At: now, Ticket: t})
	})
}

// NotifyMessages lists a hall's messages of a local day (YYYY-MM-DD;
// today when empty) for its managers, the addresses masked.
func (e *Engine) NotifyMessages(ctx context.Context, p Principal, hallID, day string) ([]*Notice, error) {
	if !p.Can(PermManageHall, hallID, "") {
		return nil, Errorf(EForbidden, "you may not manage hall %s", hallID)
	}
	if day != "" {
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			return nil, FieldErrorf("date", "date is a day like 2026-12-06")
		}
	}
	var out []*Notice
	err := e.store.View(ctx, func(tx Tx) error {
		h, err := tx.Hall(hallID)
		if err != nil {
			return err
		}
		if day == "" {
			day = h.Day(e.now())
		}
		out, err = tx.Notices(hallID, day)
		return err
	})
	return out, err
}

// NotifyReport is the report of a hall's messages of the days from to to
// (YYYY-MM-DD; the last 7 days when empty), with the SMS spent today and
// the cost estimate.
type NotifyReport struct {
	From   string        `json:"from"`
	To     string        `json:"to"`
	Counts []NoticeCount `json:"counts"`
	// SMSToday counts the SMS handed to the provider today, of
	// DailyBudget (0: no limit).
	SMSToday    int `json:"sms_today"`
	DailyBudget int `json:"daily_budget"`
	// CostFen estimates what the SMS of the days cost.
	CostFen int `json:"cost_fen"`
}

// noticesKeptSince is the hall's first day whose messages are all still
// kept at now: the day after the one NoticeAge ago (a message of a day
// changes on that day or later; the prune forgets it NoticeAge after).
func noticesKeptSince(h *Hall, now time.Time) string {
	d, _ := time.Parse(time.DateOnly, h.Day(now.Add(-NoticeAge)))
	return d.AddDate(0, 0, 1).Format(time.DateOnly)
}

// NotifyReportOf reads the report for a hall's managers: a from before
// the messages still kept (NoticeAge) is refused, never answered short.
func (e *Engine) NotifyReportOf(ctx context.Context, p Principal, hallID, from, to string) (*NotifyReport, error) {
	if !p.Can(PermManageHall, hallID, "") {
		return nil, Errorf(EForbidden, "you may not manage hall %s", hallID)
	}
	for _, d := range []struct{ f, v string }{{"from", from}, {"to", to}} {
		if _, err := time.Parse(time.DateOnly, d.v); d.v != "" && err != nil {
			return nil, FieldErrorf(d.f, "%s is a day like 2026-12-06", d.f)
		}
	}
	r := &NotifyReport{From: from, To: to}
	err := e.store.View(ctx, func(tx Tx) error {
		h, err := tx.Hall(hallID)
		if err != nil {
			return err
		}
		now := e.now()
		today := h.Day(now)
		if r.To == "" {
			r.To = today
		}
		if r.From == "" {
			r.From = h.Day(now.AddDate(0, 0, -6))
		}
		// The prune has begun to forget the messages of the days before
		// keptSince: their counts would be short, silently.
		if keptSince := noticesKeptSince(h, now); r.From < keptSince {
			return FieldErrorf("from", "messages are kept %d days: from must be %s or later", int(NoticeAge/(24*time.Hour)), keptSince)
		}
		if r.Counts, err = tx.NoticeCounts(hallID, r.From, r.To); err != nil {
			return err
		}
		if r.SMSToday, err = tx.CountSentDay(hallID, MediumSMS, today); err != nil {
			return err
		}
		st, err := tx.NotifySettings(hallID)
		if err != nil && ErrorCode(err) != ENotFound {
			return err
		}
		if st != nil {
			r.DailyBudget = st.DailyBudget
			for _, c := range r.Counts {
				if c.Medium == MediumSMS && (c.Status == NoticeSending || c.Status == NoticeSent || c.Status == NoticeDelivered) {
					r.CostFen += c.Count * st.CostFen
				}
			}
		}
		return nil
	})
	return r, err
}

// NoticeJob is a message handed to a channel: its record, the channel's
// settings and what the channel is given.
type NoticeJob struct {
	Notice   *Notice
	Settings *ProviderSettings
	// SettingsAt is when the settings were set: a channel made of them
	// may be kept until they change.
	SettingsAt time.Time
	Message    ChannelMessage
}

// NoticeOutcome is how a job went.
type NoticeOutcome struct {
	ID     string
	Result ChannelResult
}

// PlanNotices decides, for events of a hall (their ids, in order), which
// messages are due (TicketNotices) and records them queued, and forgets
// the opt-ins of tickets done or cancelled that have nothing left to send;
// in the same
// transaction it claims the hall's queued messages to send, as
// ClaimNotices does. Events that make nothing due and find nothing queued
// take no write at all. A burst's events are planned together: one read
// of the hall's waiting opt-ins and one write for all of them, not one
// each.
//
// The plan is worked out in a read (tickets, places, what each was sent,
// the counters' and services' names, the addresses masked), beside the
// hall's writes; the write only adds the messages it found and claims.
// Whatever changed in between is caught where it matters: a message is
// added at most once per ticket and kind (the store's key), and the claim
// drops what can no longer help or lost its opt-in.
func (e *Engine) PlanNotices(ctx context.Context, hallID string, eventIDs []int64, limit int) (*NoticeBatch, error) {
	return e.planBatch(ctx, hallID, func(tx Tx) ([]*Event, error) { return hallEvents(tx, hallID, eventIDs) }, limit)
}

// PlanEvents is PlanNotices for events already read (the delivery's
// messages carry them: Message.Event), in order; those of other halls are
// left out. The events are only read, never changed.
func (e *Engine) PlanEvents(ctx context.Context, hallID string, events []*Event, limit int) (*NoticeBatch, error) {
	return e.planBatch(ctx, hallID, func(Tx) ([]*Event, error) {
		out := make([]*Event, 0, len(events))
		for _, ev := range events {
			if ev.HallID == hallID {
				out = append(out, ev)
			}
		}
		return out, nil
	}, limit)
}

// planBatch plans the events read gives, as PlanNotices says.
func (e *Engine) planBatch(ctx context.Context, hallID string, read func(Tx) ([]*Event, error), limit int) (*NoticeBatch, error) {
	var (
		planned  []*Notice
		finished []string
		waiting  bool // a message queued, or left sending, already
		pre      claimStart
	)
	err := e.store.View(ctx, func(tx Tx) error {
		pt := &plannedTx{Tx: tx}
		p, err := e.planNotices(pt, hallID, read)
		if err != nil || p == nil {
			return err
		}
		planned, finished = pt.notices, p.finished
		if len(planned) == 0 {
			for _, status := range []string{NoticeQueued, NoticeSending} {
				ns, err := tx.NoticesIn(hallID, status, 1)
				if err != nil {
					return err
				}
				if waiting = len(ns) > 0; waiting {
					break
				}
			}
			if !waiting {
				return nil
			}
		}
		pre.st = p.st
		if pre.minute, err = tx.CountSent(hallID, "", "", p.now.Add(-time.Minute)); err != nil {
			return err
		}
		// Each number's messages of its last hour, as the minute's.
		pre.hour = map[string]int{}
		for _, n := range planned {
			if akey := n.Medium + "/" + n.AddressKey; n.AddressKey != "" {
				if _, ok := pre.hour[akey]; !ok {
					if pre.hour[akey], err = tx.CountSent(hallID, n.Medium, n.AddressKey, p.now.Add(-time.Hour)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil || (len(planned) == 0 && !waiting) {
		return &NoticeBatch{}, err
	}
	now := e.now()
	b := &NoticeBatch{Wrote: true, Finished: finished}
	err = e.update(ctx, func(tx Tx) (err error) {
		// The messages planned are added as their claim leaves them; the
		// opt-ins of the finished tickets go when the answers are
		// recorded (RecordNotices), after their last messages.
		// fn may run again (a group commit's batch that another write
		// made fail): the claim changes the messages it is given, so
		// each run claims copies.
		fresh := make([]*Notice, len(planned))
		for i, n := range planned {
			c := *n
			fresh[i] = &c
		}
		b.Jobs, b.Throttled, err = e.claimNotices(tx, hallID, limit, now, fresh, &pre)
		return err
	})
	return b, err
}

// claimStart is what a claim may take from the plan's read rather than
// read again in the write, beside the hall's: the hall's settings (a
// change of them in between is as one a moment later), the messages it
// handed in the last minute and those of each number of the messages
// planned in the last hour (counted from a moment earlier: no fewer; and
// only the hall's sender, this one, hands more).
type claimStart struct {
	st     *NotifySettings
	minute int
	hour   map[string]int // by medium and address key
}

// plannedTx is the read a plan is worked out in: the messages it would
// add are kept, for the write to add.
type plannedTx struct {
	Tx
	notices []*Notice
}

func (t *plannedTx) InsertNotice(n *Notice) (bool, error) {
	t.notices = append(t.notices, n)
	return true, nil
}

// NoticeBatch is what PlanNotices gives to send: the jobs claimed, whether
// the hall's rate held some back (try again later), and the tickets done or
// cancelled in the events planned, whose opt-ins go once their last
// messages are recorded (RecordNotices).
type NoticeBatch struct {
	Jobs      []*NoticeJob
	Throttled bool
	Finished  []string
	// Wrote: the events made work, and the plan took a write.
	Wrote bool
}

// forgetFinished deletes the opt-ins of the tickets (whose end was
// planned) done or cancelled that have no message left to send: the
// ticket's personal data goes with it, once its last messages (a "called"
// planned with its finish) went. Only those whose end was planned: a
// ticket called and finished since has its "called" still to plan.
func forgetFinished(tx Tx, ticketIDs []string) error {
	return tx.ForgetOptIns(ticketIDs)
}

// hallEvents reads the events of ids (ascending) that are of the hall.
func hallEvents(tx Tx, hallID string, ids []int64) ([]*Event, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	want := make(map[int64]bool, len(ids))
	last := ids[0]
	for _, id := range ids {
		want[id], last = true, max(last, id)
	}
	var out []*Event
	for after := slices.Min(ids) - 1; after < last; {
		evs, err := tx.EventsSince(after, int(min(last-after, 1024)))
		if err != nil || len(evs) == 0 {
			return out, err
		}
		for _, ev := range evs {
			if want[ev.ID] && ev.HallID == hallID {
				out = append(out, ev)
			}
			after = ev.ID
		}
	}
	return out, nil
}

// noticePlan is what planning a batch of events keeps: the tickets read,
// their places and the kinds they have been sent, so each is read once.
type noticePlan struct {
	e       *Engine
	tx      Tx
	st      *NotifySettings
	hall    *Hall
	now     time.Time
	ord     int
	tickets map[string]*Ticket
	pos     map[string]*int
	optins  map[string][]OptIn         // by ticket
	sent    map[string]map[string]bool // by ticket and medium
	// finished: the tickets done or cancelled in the batch that have
	// opt-ins.
	finished []string
	lens     map[string]int // the channels' length rules, by medium
}

// maxLen is the length rule of the hall's channel of a medium (0: none),
// read once a plan.
func (p *noticePlan) maxLen(medium string) int {
	if n, ok := p.lens[medium]; ok {
		return n
	}
	n := 0
	if ps := p.st.Provider(medium); ps != nil && p.e.Channels != nil {
		if ch, err := p.e.Channels(medium, ps); err == nil {
			n = ch.Rules().MaxParamLen
		}
	}
	if p.lens == nil {
		p.lens = map[string]int{}
	}
	p.lens[medium] = n
	return n
}

// ticket reads a ticket of the plan, with its place while it waits.
func (p *noticePlan) ticket(id string) (*Ticket, *int, error) {
	if t := p.tickets[id]; t != nil {
		return t, p.pos[id], nil
	}
	t, err := p.tx.Ticket(id)
	if err != nil {
		return nil, nil, err
	}
	var pos *int
	if t.Status == StatusWaiting && t.CalledAt == nil { // "ahead" and "next" only: never after a call
		n, err := position(p.tx, t)
		if err != nil {
			return nil, nil, err
		}
		pos = &n
	}
	p.tickets[id], p.pos[id] = t, pos
	return t, pos, nil
}

// optIns reads a ticket's opt-ins, once for the plan: a batch holds
// several events of each ticket (issued, opted in, called, done).
func (p *noticePlan) optIns(id string) ([]OptIn, error) {
	if os, ok := p.optins[id]; ok {
		return os, nil
	}
	os, err := p.tx.OptIns(id)
	if err != nil {
		return nil, err
	}
	p.optins[id] = os
	return os, nil
}

// opted plans the messages of one opt-in after event ev (typ: the
// event's type when it is about the opt-in's ticket, else "").
func (p *noticePlan) opted(o *OptIn, typ string, ev *Event) error {
	if o.CreatedAt.After(ev.At) {
		return nil // opted in after the event: its own event follows
	}
	ps := p.st.Provider(o.Medium)
	if ps == nil {
		return nil
	}
	t, pos, err := p.ticket(o.TicketID)
	if err != nil {
		return err
	}
	key := t.ID + "/" + o.Medium
	sent := p.sent[key]
	if sent == nil {
		if sent, err = p.tx.NoticeKinds(t.ID, o.Medium); err != nil {
			return err
		}
		p.sent[key] = sent
	}
	if typ == EventNotifyOptIn {
		typ = EventIssued // opting in is told as the ticket taken
	}
	for _, k := range TicketNotices(typ, t, pos, p.st.Ahead, sent) {
		if len(ps.Templates) > 0 && ps.Templates[k] == "" {
			continue // the hall registered no template for it: never sent
		}
		maxLen := 0
		if k == NoticeCalled || k == NoticeTransferred { // a name: cut to the rule
			maxLen = p.maxLen(o.Medium)
		}
		// The counter it was called to: the event's, since the ticket
		// may have moved on since (transferred in the same batch).
		counterID := t.CounterID
		if k == NoticeCalled && typ == EventCalled && ev.Ticket != nil && ev.Ticket.CounterID != "" {
			counterID = ev.Ticket.CounterID
		}
		if err := p.e.insertNotice(p.tx, p.hall, t, o, ps.Provider, k, ev.ID, &p.ord, pos, counterID, maxLen, p.now); err != nil {
			return err
		}
		sent[k] = true
	}
	return nil
}

// planNotices adds the messages the events make due, or drop, with
// tx.InsertNotice (a plannedTx's keeps them); nil when the hall has no
// notifications.
func (e *Engine) planNotices(tx Tx, hallID string, read func(Tx) ([]*Event, error)) (*noticePlan, error) {
	st, err := e.openNotifySettings(tx, hallID) // the claim takes them too
	if ErrorCode(err) == ENotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := e.now()
	p := &noticePlan{e: e, tx: tx, st: st, now: now,
		tickets: map[string]*Ticket{}, pos: map[string]*int{}, optins: map[string][]OptIn{}, sent: map[string]map[string]bool{}}
	evs, err := read(tx)
	if err != nil || len(evs) == 0 {
		return p, err
	}
	if p.hall, err = e.settings.hall(tx, hallID, now); err != nil {
		return nil, err
	}
	var moved *Event // the last event that moved places
	for _, ev := range evs {
		switch ev.Type {
		case EventCalled, EventCancelled, EventTransferred, EventIssued:
			moved = ev
		}
		// Bookings, cases and bad ratings (notify_subjects.go).
		if _, err := e.planSubjects(tx, st, p.hall, ev, true, &p.ord, now); err != nil {
			return nil, err
		}
		if ev.Ticket == nil {
			continue
		}
		os, err := p.optIns(ev.Ticket.ID)
		if err != nil {
			return nil, err
		}
		if len(os) > 0 && (ev.Type == EventDone || ev.Type == EventCancelled) {
			p.finished = append(p.finished, ev.Ticket.ID)
		}
		for i := range os {
			if err := p.opted(&os[i], ev.Type, ev); err != nil {
				return nil, err
			}
		}
	}
	if moved != nil {
		// Places moved: the first few opted-in tickets of each queue (the
		// k-th of a queue has at least k before it), planned once for
		// the batch, as places are now.
		ws, err := tx.WaitingOptIns(hallID, st.Ahead+1)
		if err != nil {
			return nil, err
		}
		for i := range ws {
			if err := p.opted(&ws[i], "", moved); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// insertNotice adds a ticket's message of a kind, queued. A counter's or
// service's name longer than the channel's rule (maxLen, 0: none) is cut
// to it, so the message goes rather than failing (params): a counter's
// keeping its end (…5号窗口), where names have the counter's number.
func (e *Engine) insertNotice(tx Tx, hall *Hall, t *Ticket, o *OptIn, provider, kind string, eventID int64, ord *int, pos *int, counterID string, maxLen int, now time.Time) error {
	ahead := 0
	if pos != nil {
		ahead = *pos
	}
	counter, service := "", ""
	if kind == NoticeCalled && counterID != "" {
		// The counter may be gone since the call (removed once its ticket
		// moved on): its id then, rather than a plan that fails for good.
		switch c, err := tx.Counter(t.HallID, counterID); {
		case ErrorCode(err) == ENotFound:
			counter = fitParamEnd(counterID, maxLen)
		case err != nil:
			return err
		default:
			counter = fitParamEnd(c.NameIn(o.Lang), maxLen)
		}
	}
	if kind == NoticeTransferred {
		svc, err := e.settings.service(tx, t.HallID, t.ServiceID, now)
		if err != nil {
			return err
		}
		service = fitParam(svc.NameIn(o.Lang), maxLen)
	}
	ps := NoticeParams(kind, t, ahead, counter, service)
	n := &Notice{ID: noticeID(), HallID: t.HallID, Day: hall.Day(now), TicketID: t.ID, Number: t.Number, Medium: o.Medium,
		Kind: kind, Provider: provider, To: "", AddressKey: o.AddressKey, Params: ps, Status: NoticeQueued, EventID: eventID,
		Ord: *ord, CreatedAt: now, UpdatedAt: now}
	*ord++
	addr := o.Address
	if err := e.unseal(&addr); err != nil {
		return err
	}
	n.To = MaskAddress(o.Medium, addr)
	_, err := tx.InsertNotice(n)
	return err
}

// MaxNoticeTries is how often a message is handed to a provider at most
// when its sending was interrupted each time.
const MaxNoticeTries = 5

// ClaimNotices takes the hall's queued messages to send, oldest first, at
// most limit, and marks them sending. A message found still sending was
// left by a claim that no longer runs (one node claims for a hall at a
// time, and records before it claims again): it is sent again with the same
// id, so nothing is lost and a repeat carries the first one's id. On its way a message is dropped when it can no
// longer help or its opt-in is gone, failed over the hall's daily budget
// or the number's hourly limit, and left queued over the hall's rate per
// minute (throttled reports it: try again later).
func (e *Engine) ClaimNotices(ctx context.Context, hallID string, limit int) (jobs []*NoticeJob, throttled bool, err error) {
	now := e.now()
	err = e.update(ctx, func(tx Tx) (err error) {
		jobs, throttled, err = e.claimNotices(tx, hallID, limit, now, nil, nil)
		return
	})
	return jobs, throttled, err
}

// claimNotices claims as ClaimNotices says. fresh are messages just
// planned, not yet in the store: each is added with the state its claim
// gives it (sending, dropped, failed; queued when held back, scheduled as
// planned), so that a message due at once is written once rather than
// added queued and then claimed. The ticket, opt-ins, opt-out and count of
// an address are read once for all its messages.
func (e *Engine) claimNotices(tx Tx, hallID string, limit int, now time.Time, fresh []*Notice, pre *claimStart) (jobs []*NoticeJob, throttled bool, err error) {
	stuck, err := tx.NoticesIn(hallID, NoticeSending, limit)
	if err != nil {
		return nil, false, err
	}
	for _, n := range stuck {
		// Left sending by a claim that no longer runs: its node died
		// (kill -9) or lost the hall's delivery, or could not record
		// the answers. Whether the provider took it is unknown: it is
		// sent again with its id (the provider's out id), a repeat the
		// provider and the hall can tell. Not forever: a message whose
		// sending keeps killing the node is given up.
		n.Status, n.Code, n.Error, n.UpdatedAt = NoticeQueued, "interrupted", "", now
		if n.Tries >= MaxNoticeTries {
			n.Status, n.Error = NoticeFailed, "the server stopped while sending it, again and again"
		}
		if err := tx.UpdateNotice(n); err != nil {
			return nil, false, err
		}
	}
	queued, err := tx.NoticesIn(hallID, NoticeQueued, limit)
	if err != nil {
		return nil, false, err
	}
	stored := len(queued) // the first ones are in the store already, the rest fresh
	all := append(queued, fresh...)
	// save writes a message as it now is.
	save := func(i int, n *Notice) (bool, error) {
		if i < stored {
			return true, tx.UpdateNotice(n)
		}
		return tx.InsertNotice(n) // false: the ticket has one of the kind already
	}
	// keep leaves a message as it is: a fresh one is added so (queued, or
	// scheduled as planned).
	keep := func(i int, n *Notice) error {
		if i < stored {
			return nil
		}
		_, err := tx.InsertNotice(n)
		return err
	}
	if len(all) == 0 {
		return nil, false, nil
	}
	if pre == nil {
		pre = &claimStart{}
		if pre.st, err = e.openNotifySettings(tx, hallID); err != nil {
			return nil, false, err
		}
		if pre.minute, err = tx.CountSent(hallID, "", "", now.Add(-time.Minute)); err != nil {
			return nil, false, err
		}
	}
	st, minute := pre.st, pre.minute
	hall, err := e.settings.hall(tx, hallID, now)
	if err != nil {
		return nil, false, err
	}
	perHall := cmp.Or(st.PerHallMinute, DefaultPerHallMinute)
	perPhone := cmp.Or(st.PerPhoneHour, DefaultPerPhoneHour)
	todaySMS := -1
	// A copy of pre's counts: the claim counts what it hands, and may run
	// again from pre (Store.Update's fn).
	c := &claimReads{tickets: map[string]*Ticket{}, optIns: map[string][]OptIn{}, out: map[string]bool{}, hour: maps.Clone(pre.hour)}
	if c.hour == nil {
		c.hour = map[string]int{}
	}
	held := false // the rest wait: the hall's rate is spent, or the claim full
	for i, n := range all {
		if held || n.Status != NoticeQueued {
			if err := keep(i, n); err != nil {
				return nil, false, err
			}
			continue
		}
		end := func(status, code, msg string) error {
			n.Status, n.Code, n.Error, n.UpdatedAt = status, code, msg, now
			_, err := save(i, n)
			return err
		}
		addr, lang, drop, err := e.noticeAddress(tx, n, now, c)
		if err != nil {
			return nil, false, err
		}
		ps := st.Provider(n.Medium)
		if drop == "" && ps == nil {
			drop = "opted_out"
		}
		akey := n.Medium + "/" + n.AddressKey
		if drop == "" && n.AddressKey != "" {
			// The number asked the hall for no more (a reply, the phone
			// page: notifyreport.go).
			out, ok := c.out[akey]
			if !ok {
				if out, err = tx.OptedOut(hallID, n.Medium, n.AddressKey); err != nil {
					return nil, false, err
				}
				c.out[akey] = out
			}
			if out {
				drop = "opted_out"
			}
		}
		if drop != "" {
			if err := end(NoticeDropped, drop, ""); err != nil {
				return nil, false, err
			}
			continue
		}
		if Reminder(n.Kind) && QuietAt(now, hall.Location(), st.QuietFrom, st.QuietTo) {
			if err := keep(i, n); err != nil { // held back until the quiet hours end
				return nil, false, err
			}
			continue
		}
		if minute >= perHall || len(jobs) >= limit {
			throttled = throttled || minute >= perHall
			held = true
			if err := keep(i, n); err != nil {
				return nil, false, err
			}
			continue
		}
		if n.Medium == MediumSMS && st.DailyBudget > 0 {
			if todaySMS < 0 {
				if todaySMS, err = tx.CountSentDay(hallID, MediumSMS, n.Day); err != nil {
					return nil, false, err
				}
			}
			if todaySMS >= st.DailyBudget {
				if err := end(NoticeFailed, "budget", "the hall's daily SMS budget is spent"); err != nil {
					return nil, false, err
				}
				continue
			}
		}
		toNumber, ok := c.hour[akey]
		if !ok {
			if toNumber, err = tx.CountSent(hallID, n.Medium, n.AddressKey, now.Add(-time.Hour)); err != nil {
				return nil, false, err
			}
		}
		c.hour[akey] = toNumber
		if toNumber >= perPhone {
			if err := end(NoticeFailed, "limit_phone", "this number had its messages of the hour"); err != nil {
				return nil, false, err
			}
			continue
		}
		n.Status, n.Tries, n.UpdatedAt = NoticeSending, n.Tries+1, now
		if added, err := save(i, n); err != nil || !added {
			if err != nil {
				return nil, false, err
			}
			continue
		}
		minute++
		c.hour[akey]++
		if n.Medium == MediumSMS && st.DailyBudget > 0 {
			todaySMS++
		}
		// The link to the ticket's page holds its id, the holder's key:
		// in the message only, never in the list.
		params, text, link := linkedParams(n.Kind, lang, st.LinkBase, n.TicketID, n.Params)
		jobs = append(jobs, &NoticeJob{Notice: n, Settings: ps, SettingsAt: st.UpdatedAt, Message: ChannelMessage{ID: n.ID, HallID: hallID,
			Kind: n.Kind, To: addr, Template: ps.Templates[n.Kind], Params: params, Lang: lang,
			Text: text, Link: link}})
	}
	return jobs, throttled, nil
}

// claimReads are what a claim read of tickets and addresses, each once.
type claimReads struct {
	tickets map[string]*Ticket
	optIns  map[string][]OptIn
	out     map[string]bool // opted out, by medium and address key
	hour    map[string]int  // handed in the last hour, by medium and address key
}

// noticeAddress reads the address a queued message goes to, opened, and
// its language; or why it is dropped instead: "stale" (an "ahead" or
// "next" of a ticket no longer waiting; subjectAddress for the others),
// "opted_out" (the opt-in, or the subject's number, is gone).
func (e *Engine) noticeAddress(tx Tx, n *Notice, now time.Time, c *claimReads) (addr, lang, drop string, err error) {
	if NoticeSubject(n.Kind) != SubjectTicket {
		addr, drop, err = e.subjectAddress(tx, n, now)
		return addr, "zh", drop, err
	}
	if n.Kind == NoticeAhead || n.Kind == NoticeNext { // the only kinds the ticket's state may make stale
		t := c.tickets[n.TicketID]
		if t == nil {
			if t, err = tx.Ticket(n.TicketID); err != nil {
				return "", "", "", err
			}
			c.tickets[n.TicketID] = t
		}
		if t.Status != StatusWaiting {
			return "", "", "stale", nil
		}
	}
	os, ok := c.optIns[n.TicketID]
	if !ok {
		if os, err = tx.OptIns(n.TicketID); err != nil {
			return "", "", "", err
		}
		c.optIns[n.TicketID] = os
	}
	i := slices.IndexFunc(os, func(o OptIn) bool { return o.Medium == n.Medium })
	if i < 0 {
		return "", "", "opted_out", nil
	}
	addr = os[i].Address
	if err := e.unseal(&addr); err != nil {
		return "", "", "", err
	}
	return addr, os[i].Lang, "", nil
}

// RecordNotices writes how the claimed messages went: sent, delivered or
// failed with the provider's code; one to try again is queued again. The
// opt-ins of the finished tickets (NoticeBatch.Finished) with nothing left
// to send are deleted.
func (e *Engine) RecordNotices(ctx context.Context, hallID string, outs []NoticeOutcome, finished []string) error {
	if len(outs) == 0 && len(finished) == 0 {
		return nil
	}
	now := e.now()
	return e.update(ctx, func(tx Tx) error {
		for _, o := range outs {
			r := o.Result
			status := r.Status
			if status != NoticeSent && status != NoticeDelivered {
				status = NoticeFailed
				if r.Retry {
					status = NoticeQueued
				}
			}
			ok, err := tx.SettleNotice(&Notice{ID: o.ID, Status: status, ProviderID: r.ProviderID, Code: r.Code, Error: r.Error, UpdatedAt: now})
			if err != nil {
				return err
			}
			if ok && r.Gone {
				n, err := tx.Notice(o.ID)
				if err != nil {
					return err
				}
				if err := e.forgetGoneAddress(tx, n, now); err != nil {
					return err
				}
			}
		}
		return forgetFinished(tx, finished)
	})
}

// forgetGoneAddress removes the opt-in a message was sent to when the
// provider said its address is gone for good, with the opt-out's event.
func (e *Engine) forgetGoneAddress(tx Tx, n *Notice, now time.Time) error {
	had, err := tx.DeleteOptIn(n.TicketID, n.Medium)
	if err != nil || !had {
		return err
	}
	t, err := tx.Ticket(n.TicketID)
	if ErrorCode(err) == ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return tx.AppendEvent(&Event{HallID: t.HallID, Type: EventNotifyOptOut, At: now, Ticket: t})
}

// TicketChannel is the channel of a medium of a ticket's hall, made from
// the hall's settings (the phone page's WeChat login asks the WeChat
// channel): not_found for an unknown ticket, a conflict when the hall does
// not send by that medium.
func (e *Engine) TicketChannel(ctx context.Context, ticketID, medium string) (Channel, error) {
	var ps *ProviderSettings
	err := e.store.View(ctx, func(tx Tx) error {
		t, err := tx.Ticket(ticketID)
		if err != nil {
			return err
		}
		s, err := e.openNotifySettings(tx, t.HallID)
		if ErrorCode(err) == ENotFound {
			return Errorf(EConflict, "this hall sends no %s messages", medium)
		}
		if err != nil {
			return err
		}
		if ps = s.Provider(medium); ps == nil {
			return Errorf(EConflict, "this hall sends no %s messages", medium)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if e.Channels == nil {
		return nil, Errorf(EUnavailable, "this server sends no notifications")
	}
	return e.Channels(medium, ps)
}

// TestNotify sends one message of a kind to a number by the hall's SMS
// channel as set (admins): the answer is the provider's. It is recorded
// nowhere: not a message of the list, nor of the report or the budget.
func (e *Engine) TestNotify(ctx context.Context, p Principal, hallID, phone string) (*ChannelResult, error) {
	if !p.Can(PermAdmin, hallID, "") {
		return nil, Errorf(EForbidden, "only admins send test messages")
	}
	to, err := ParsePhone(phone)
	if err != nil {
		return nil, err
	}
	var st *NotifySettings
	err = e.store.View(ctx, func(tx Tx) (err error) {
		st, err = e.openNotifySettings(tx, hallID)
		return
	})
	if ErrorCode(err) == ENotFound || (err == nil && st.SMS == nil) {
		return nil, Errorf(EConflict, "this hall has no SMS provider set")
	}
	if err != nil {
		return nil, err
	}
	if e.Channels == nil {
		return nil, Errorf(EUnavailable, "this server sends no notifications")
	}
	ch, err := e.Channels(MediumSMS, st.SMS)
	if err != nil {
		return nil, FieldErrorf("sms", "%v", err)
	}
	// As a ticket's taken message, its link's id a ticket's length.
	ps, text, link := linkedParams(NoticeTaken, "zh", st.LinkBase, NewTicketID(), []NoticeParam{{"number", "A001"}})
	tmpl := st.SMS.Templates[NoticeTaken]
	if ch.Rules().Templates && tmpl == "" {
		return nil, FieldErrorf("sms.templates.taken", "the test sends the template of taken: register it first")
	}
	r := ch.Send(ctx, &ChannelMessage{ID: noticeID(), HallID: hallID, Kind: NoticeTaken, To: to, Template: tmpl,
		Params: ps, Text: text, Link: link, Lang: "zh"})
	return &r, nil
}

// HallMedia lists the media a hall sends messages by (none when it has
// no notifications set up): the kiosk offers the SMS opt-in by it.
func (e *Engine) HallMedia(ctx context.Context, hallID string) (media []string, err error) {
	err = e.store.View(ctx, func(tx Tx) (err error) {
		media, err = hallMedia(tx, hallID)
		return
	})
	return media, err
}

func hallMedia(tx Tx, hallID string) ([]string, error) {
	out := []string{}
	st, err := tx.NotifySettings(hallID)
	if ErrorCode(err) == ENotFound {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, m := range Media {
		if st.Provider(m) != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// TicketNotify is what a ticket's page shows of notifications: the media
// the hall sends by, and the ticket's opt-ins by medium, masked.
type TicketNotify struct {
	Media  []string          `json:"media"`
	OptIns map[string]string `json:"opt_ins"`
}

// TicketNotifyOf reads it for whoever holds the ticket's id, of the
// ticket its page has read already.
func (e *Engine) TicketNotifyOf(ctx context.Context, t *Ticket) (*TicketNotify, error) {
	out := &TicketNotify{Media: []string{}, OptIns: map[string]string{}}
	err := e.store.View(ctx, func(tx Tx) (err error) {
		if out.Media, err = hallMedia(tx, t.HallID); err != nil || len(out.Media) == 0 {
			return err
		}
		os, err := tx.OptIns(t.ID)
		if err != nil {
			return err
		}
		for _, o := range os {
			if o.Medium == OptedAtEdge {
				continue
			}
			addr := o.Address
			if err := e.unseal(&addr); err != nil {
				return err
			}
			out.OptIns[o.Medium] = MaskAddress(o.Medium, addr)
		}
		return nil
	})
	return out, err
}
