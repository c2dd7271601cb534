package notify

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/civiq/civiq"
)

// Maker makes a provider's channel from a hall's settings for it.
type Maker func(p *civiq.ProviderSettings) (civiq.Channel, error)

// Makers are the providers a node sends with, by name ("aliyun",
// "tencent", "log", and "webpush", "wechat" beside them).
type Makers map[string]Maker

// Channel makes the channel of a hall's settings for a medium: the
// engine's civiq.ChannelMaker.
func (ms Makers) Channel(medium string, p *civiq.ProviderSettings) (civiq.Channel, error) {
	mk := ms[p.Provider]
	if mk == nil {
		return nil, fmt.Errorf("unknown provider %q", p.Provider)
	}
	ch, err := mk(p)
	if err != nil {
		return nil, err
	}
	if ch.Medium() != medium {
		return nil, fmt.Errorf("provider %s sends %s, not %s", p.Provider, ch.Medium(), medium)
	}
	return ch, nil
}

// Claim is how many messages one claim takes.
const Claim = 64

// Sender sends the messages of the notifications subscribers
// (civiq.SubscriberNotify), one hall each: for each event it has the
// engine decide what is due (civiq.Engine.PlanNotices), claims the queued
// messages, sends each with the hall's channel and records the answers. A
// message the provider throttled stays queued and the event's delivery
// fails, so the durable delivery tries again on its schedule.
type Sender struct {
	Engine *civiq.Engine

	mu       sync.Mutex
	channels map[string]cached // by hall and medium
}

type cached struct {
	at time.Time // the settings' UpdatedAt
	ch civiq.Channel
}

// NewSender returns the sender of engine's notifications, making channels
// with the engine's Channels.
func NewSender(engine *civiq.Engine) *Sender {
	return &Sender{Engine: engine, channels: map[string]cached{}}
}

// Send does the messages due after event m.
func (s *Sender) Send(ctx context.Context, sub *civiq.Subscriber, m *civiq.Message) civiq.DeliveryAttempt {
	t0 := time.Now()
	a := civiq.DeliveryAttempt{SubscriberID: sub.ID, EventID: m.EventID, MessageID: m.ID, At: s.Engine.Now()}
	defer func() {
		a.Latency = time.Since(t0)
		a.LatencyMS = float64(a.Latency.Microseconds()) / 1000
	}()
	if len(sub.Halls) != 1 {
		a.Error = "a notifications subscriber serves one hall"
		return a
	}
	hall := sub.Halls[0]
	jobs, throttled, err := s.Engine.PlanNotices(ctx, hall, m.EventID, Claim)
	retry := ""
	for {
		if err != nil {
			a.Error = "plan: " + err.Error()
			return a
		}
		outs := make([]civiq.NoticeOutcome, 0, len(jobs))
		for _, j := range jobs {
			r := s.send(ctx, hall, j)
			outs = append(outs, civiq.NoticeOutcome{ID: j.Notice.ID, Result: r})
			if r.Retry && retry == "" {
				retry = j.Notice.Kind + ": " + r.Code + " " + r.Error
			}
		}
		if err := s.Engine.RecordNotices(context.WithoutCancel(ctx), hall, outs); err != nil {
			a.Error = "record: " + err.Error()
			return a
		}
		if throttled && retry == "" {
			retry = "the hall's messages per minute are spent"
		}
		if len(jobs) < Claim || retry != "" {
			break
		}
		jobs, throttled, err = s.Engine.ClaimNotices(ctx, hall, Claim)
	}
	if retry != "" {
		a.Error = "to try again: " + retry
		return a
	}
	a.Status = 200
	return a
}

// send sends one job with the hall's channel for its medium.
func (s *Sender) send(ctx context.Context, hall string, j *civiq.NoticeJob) civiq.ChannelResult {
	ch, err := s.channel(hall, j)
	if err != nil {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "settings", Error: err.Error()}
	}
	if ch.Rules().Templates && j.Message.Template == "" {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "no_template", Error: "no template for " + j.Notice.Kind}
	}
	if err := ch.Rules().CheckParams(j.Message.Params); err != nil {
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "params", Error: err.Error()}
	}
	return ch.Send(ctx, &j.Message)
}

func (s *Sender) channel(hall string, j *civiq.NoticeJob) (civiq.Channel, error) {
	key := hall + "/" + j.Notice.Medium
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[key]; ok && c.at.Equal(j.SettingsAt) {
		return c.ch, nil
	}
	if s.Engine.Channels == nil {
		return nil, fmt.Errorf("this server sends no notifications")
	}
	ch, err := s.Engine.Channels(j.Notice.Medium, j.Settings)
	if err != nil {
		return nil, err
	}
	s.channels[key] = cached{j.SettingsAt, ch}
	return ch, nil
}
