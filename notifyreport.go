package civiq

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"
	"unicode"
)

// What the SMS providers tell a hall back (issue 15): each message's
// delivery report (Alibaba Cloud SmsReport, Tencent's status callback) and
// the citizens' replies (SmsUp, Tencent's reply callback), a reply such as
// 退订 or TD asking the hall for no more messages. Both are pushed to a
// callback URL of the hall that holds a token only its admins see
// (NotifyCallbackToken): the providers sign neither. Package notify reads
// each provider's format; the rules are here.

// DeliveryReport is a provider's word on one message: its id at the
// provider (BizId, SerialNo) and, where the provider gives it back, the
// id civiq sent (OutId).
type DeliveryReport struct {
	ProviderID string
	OutID      string
	Delivered  bool
	Code       string // the carrier's status (DELIVERED, DELIVRD, MK:0001…)
	Error      string // its explanation, short
	At         time.Time
}

// SMSReply is a citizen's text to the hall's signature.
type SMSReply struct {
	Phone string // as the provider gives it: 11 digits, or +country and digits
	Text  string
	At    time.Time
}

// NotifyOpsTx is what a store keeps of the reports and opt-outs
// (sqlstore/notify.go).
type NotifyOpsTx interface {
	// Notice reads a message by its id; NoticeByProviderID by the
	// provider's id of it.
	Notice(id string) (*Notice, error)
	NoticeByProviderID(hallID, provider, providerID string) (*Notice, error)
	// PutOptOut keeps that an address (its keyed hash) wants no more
	// messages of the hall by the medium; OptedOut asks; DeleteOptOut
	// lifts it.
	PutOptOut(hallID, medium, addressKey, via string, at time.Time) error
	OptedOut(hallID, medium, addressKey string) (bool, error)
	DeleteOptOut(hallID, medium, addressKey string) error
	// OptInsTo lists the hall's opt-ins to an address.
	OptInsTo(hallID, medium, addressKey string) ([]OptIn, error)
}

// Opt-outs' ways.
const (
	OptOutReply = "reply" // a reply such as 退订 or TD
	OptOutPage  = "page"  // the phone page's "stop the messages"
)

// OptOutReplyText reports whether a reply asks for no more messages: 退订,
// TD, T, N, 取消 or STOP alone (any case, spaces and punctuation around
// it), as the carriers' rules for unsubscribing by reply read them.
func OptOutReplyText(text string) bool {
	t := strings.ToUpper(strings.TrimFunc(text, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }))
	switch t {
	case "退订", "TD", "T", "N", "取消", "STOP", "UNSUBSCRIBE":
		return true
	}
	return false
}

// NotifyCallbackToken is the token in a hall's callback URLs: a keyed hash
// of the hall, so nothing is stored and a new secret key changes it.
func (e *Engine) NotifyCallbackToken(hallID string) string {
	if e.Sealer == nil {
		return ""
	}
	return e.Sealer.Hash("notify-callback", hallID)[:32]
}

// checkCallback answers not_found for a token that is not the hall's (as
// for an unknown hall: the URL tells nothing).
func (e *Engine) checkCallback(hallID, token string) error {
	want := e.NotifyCallbackToken(hallID)
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 {
		return Errorf(ENotFound, "no such callback")
	}
	return nil
}

// RecordReports writes a provider's delivery reports on the hall's
// messages: delivered, or failed with the carrier's code. A report of a
// message civiq does not know (another system's, one pruned) is passed
// over; it answers how many were recorded. One transaction, no event: a
// report changes no ticket.
func (e *Engine) RecordReports(ctx context.Context, hallID, token, provider string, rs []DeliveryReport) (int, error) {
	if err := e.checkCallback(hallID, token); err != nil {
		return 0, err
	}
	n := 0
	err := e.update(ctx, func(tx Tx) error {
		n = 0
		for _, r := range rs {
			var m *Notice
			var err error
			if r.OutID != "" {
				m, err = tx.Notice(r.OutID)
			} else if r.ProviderID != "" {
				m, err = tx.NoticeByProviderID(hallID, provider, r.ProviderID)
			} else {
				continue
			}
			if ErrorCode(err) == ENotFound || (err == nil && (m.HallID != hallID || m.Provider != provider)) {
				continue
			}
			if err != nil {
				return err
			}
			if m.Status == NoticeQueued || m.Status == NoticeDropped {
				continue // not handed to the provider (a repeat of an old id)
			}
			at := r.At
			if at.IsZero() {
				at = e.now()
			}
			m.Status, m.Code, m.Error, m.ReportedAt = NoticeDelivered, r.Code, "", &at
			if !r.Delivered {
				m.Status, m.Error = NoticeFailed, r.Error
			}
			if m.ProviderID == "" {
				m.ProviderID = r.ProviderID
			}
			if err := tx.UpdateNotice(m); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// RecordReplies reads citizens' replies to the hall: one that asks for no
// more messages (OptOutReplyText) opts the number out of the hall's SMS
// (OptOutAddress). It answers how many opted out.
func (e *Engine) RecordReplies(ctx context.Context, hallID, token string, rs []SMSReply) (int, error) {
	if err := e.checkCallback(hallID, token); err != nil {
		return 0, err
	}
	n := 0
	now := e.now()
	err := e.update(ctx, func(tx Tx) error {
		n = 0
		for _, r := range rs {
			if !OptOutReplyText(r.Text) {
				continue
			}
			phone, err := ParsePhone(r.Phone)
			if err != nil {
				continue // not a number civiq sends to
			}
			if err := e.optOutAddress(tx, hallID, MediumSMS, phone, OptOutReply, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// optOutAddress keeps that an address wants no more messages of the hall
// by a medium, and ends the opt-ins it has now (each with its opt-out
// event): the messages still due to it are dropped when claimed. Opting
// in again with it (an explicit wish, at the kiosk or on a phone page)
// lifts it.
func (e *Engine) optOutAddress(tx Tx, hallID, medium, addr, via string, now time.Time) error {
	key := e.notifyKey(medium, addr)
	if err := tx.PutOptOut(hallID, medium, key, via, now); err != nil {
		return err
	}
	os, err := tx.OptInsTo(hallID, medium, key)
	if err != nil {
		return err
	}
	for _, o := range os {
		if _, err := tx.DeleteOptIn(o.TicketID, medium); err != nil {
			return err
		}
		t, err := tx.Ticket(o.TicketID)
		if ErrorCode(err) == ENotFound {
			continue
		}
		if err != nil {
			return err
		}
		if err := tx.AppendEvent(&Event{HallID: t.HallID, Type: EventNotifyOptOut, At: now, Ticket: t}); err != nil {
			return err
		}
	}
	return nil
}
