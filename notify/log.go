// Package notify sends a hall's notifications (issue 15, civiq's
// notify.go): the sender of the notifications subscribers, run by the
// durable delivery (package outbound), and the channels it sends with: the
// log, Alibaba Cloud SMS and Tencent Cloud SMS here, Web Push and WeChat
// beside them.
package notify

import (
	"context"
	"log/slog"
	"sync"

	"github.com/civiq/civiq"
)

// Log is the log-only channel of the demo and the tests: it sends nothing,
// writes one line per message (the address masked) and keeps what it was
// given, so a test can read it back.
type Log struct {
	mu   sync.Mutex
	sent []civiq.ChannelMessage
	// Answer, when set, answers in place of "delivered": a test's
	// throttling or refusal.
	Answer func(m *civiq.ChannelMessage) civiq.ChannelResult
}

// Provider is "log".
func (l *Log) Provider() string { return "log" }

// Medium is SMS: the log stands in for a text message.
func (l *Log) Medium() string { return civiq.MediumSMS }

// Rules take any parameter and any number.
func (l *Log) Rules() civiq.ParamRules { return civiq.ParamRules{International: true} }

// Send logs the message and reports it delivered.
func (l *Log) Send(_ context.Context, m *civiq.ChannelMessage) civiq.ChannelResult {
	r := civiq.ChannelResult{ProviderID: "log-" + m.ID, Status: civiq.NoticeDelivered, Code: "OK"}
	if l.Answer != nil {
		r = l.Answer(m)
	}
	if r.Status != civiq.NoticeFailed {
		l.mu.Lock()
		l.sent = append(l.sent, *m)
		l.mu.Unlock()
	}
	var ps []civiq.NoticeParam // the link masked: it holds the ticket's id
	for _, p := range m.Params {
		switch p.Name {
		case "link":
			if p.Value != "" {
				ps = append(ps, civiq.NoticeParam{Name: p.Name, Value: "/t/********"})
			}
		case "code": // a booking's: with the ID's last 4 it opens the booking
			ps = append(ps, civiq.NoticeParam{Name: p.Name, Value: "********"})
		default:
			ps = append(ps, p)
		}
	}
	slog.Info("notify: log channel", "hall", m.HallID, "kind", m.Kind, "to", civiq.MaskAddress(civiq.MediumSMS, m.To),
		"text", civiq.NoticeText(m.Kind, m.Lang, ps), "status", r.Status, "code", r.Code)
	return r
}

// Sent gives what the channel sent so far, in order.
func (l *Log) Sent() []civiq.ChannelMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]civiq.ChannelMessage(nil), l.sent...)
}
