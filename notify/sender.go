package notify

import (
	"context"
	"fmt"
	"strings"
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

// Claim is how many messages one claim takes, and Parallel how many the
// sender has at the providers at once (in order for each ticket).
const (
	Claim    = 256
	Parallel = 16
)

// After a batch that wrote, the sender lets the delivery read the next
// events no sooner than Gather after that batch began, and then in a pause
// of the hall's writes: once no events were committed for Quiet (Committed
// tells it of each commit), or at the latest Gather later still. The events
// of that while are planned together, in one write made between the hall's
// issues and calls, rather than each in writes of their own queued behind
// (and before) them for the one writer of the database. A message waits
// for it up to twice Gather; the first after a quiet while is planned at
// once. After a batch of Busy events or more (a burst: more are waiting)
// no pause is waited for, so a burst is planned at the pace of Gather.
const (
	Gather = 150 * time.Millisecond
	Quiet  = 20 * time.Millisecond
	Busy   = 64
)

// Sender sends the messages of the notifications subscribers
// (civiq.SubscriberNotify), one hall each: for the events the delivery
// hands it, in one batch, it has the engine decide what is due
// (civiq.Engine.PlanNotices) and claim the queued messages, sends them
// with the hall's channels, Parallel at once and each ticket's in order,
// and records the answers in one write. A message the provider throttled
// stays queued and the batch's last event's delivery fails, so the
// durable delivery tries again on its schedule.
type Sender struct {
	Engine *civiq.Engine
	// Gather and Quiet: Gather and Quiet unless a test sets them; Gather
	// 0 plans at once.
	Gather, Quiet time.Duration

	mu       sync.Mutex
	channels map[string]cached // by hall and medium
	commit   chan struct{}     // closed by the next Committed; nil when nobody waits
}

var _ civiq.BatchSender = (*Sender)(nil)

type cached struct {
	at time.Time // the settings' UpdatedAt
	ch civiq.Channel
}

// NewSender returns the sender of engine's notifications, making channels
// with the engine's Channels.
func NewSender(engine *civiq.Engine) *Sender {
	return &Sender{Engine: engine, Gather: Gather, Quiet: Quiet, channels: map[string]cached{}}
}

// Committed tells the sender that events were committed (app wires it
// beside the delivery's wake-up). It never blocks.
func (s *Sender) Committed() {
	s.mu.Lock()
	if s.commit != nil {
		close(s.commit)
		s.commit = nil
	}
	s.mu.Unlock()
}

// nextCommit is closed by the next Committed.
func (s *Sender) nextCommit() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.commit == nil {
		s.commit = make(chan struct{})
	}
	return s.commit
}

// gather waits after a batch that wrote, begun at start: until Gather
// after start, then, unless busy, until no events were committed for
// Quiet, Gather at most; or until the end of ctx.
func (s *Sender) gather(ctx context.Context, start time.Time, busy bool) {
	if s.Gather <= 0 {
		return
	}
	if wait := time.Until(start.Add(s.Gather)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if busy {
		return
	}
	limit := time.NewTimer(s.Gather)
	defer limit.Stop()
	quiet := time.NewTimer(s.Quiet)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-limit.C:
			return
		case <-quiet.C:
			return
		case <-s.nextCommit():
			quiet.Reset(s.Quiet)
		}
	}
}

// Send does the messages due after event m.
func (s *Sender) Send(ctx context.Context, sub *civiq.Subscriber, m *civiq.Message) civiq.DeliveryAttempt {
	return s.SendBatch(ctx, sub, []*civiq.Message{m})[0]
}

// SendBatch does the messages due after the events ms, together. Every
// event is acknowledged once its messages are planned and those due sent;
// when some must be tried again (throttled, the hall's rate) the last
// event's try fails, and the delivery plans it again (nothing twice: each
// kind once per ticket) and claims what waits. A failure to plan fails the
// first.
func (s *Sender) SendBatch(ctx context.Context, sub *civiq.Subscriber, ms []*civiq.Message) []civiq.DeliveryAttempt {
	t0 := time.Now()
	fail, wrote := s.deliver(ctx, sub, ms)
	if wrote {
		s.gather(ctx, t0, len(ms) >= Busy) // the next events, read together
	}
	n := len(ms)
	if fail != "" && strings.HasPrefix(fail, "plan: ") {
		n = 1
	}
	at, took := s.Engine.Now(), time.Since(t0)
	out := make([]civiq.DeliveryAttempt, n)
	for i := range out {
		out[i] = civiq.DeliveryAttempt{SubscriberID: sub.ID, EventID: ms[i].EventID, MessageID: ms[i].ID, At: at, Status: 200,
			Latency: took, LatencyMS: float64(took.Microseconds()) / 1000}
	}
	if fail != "" {
		out[n-1].Status, out[n-1].Error = 0, fail
	}
	return out
}

// deliver plans, sends and records; it says what went wrong, "" when
// nothing did, and whether it wrote.
func (s *Sender) deliver(ctx context.Context, sub *civiq.Subscriber, ms []*civiq.Message) (fail string, wrote bool) {
	if len(sub.Halls) != 1 {
		return "plan: a notifications subscriber serves one hall", false
	}
	hall := sub.Halls[0]
	// The events as the delivery read them (a test message carries none).
	evs := make([]*civiq.Event, 0, len(ms))
	for _, m := range ms {
		if m.Event != nil {
			evs = append(evs, m.Event)
		}
	}
	b, err := s.Engine.PlanEvents(ctx, hall, evs, Claim)
	if err != nil {
		return "plan: " + err.Error(), true
	}
	if !b.Wrote {
		return "", false
	}
	jobs, throttled := b.Jobs, b.Throttled
	for {
		retry, err := s.sendAll(ctx, hall, jobs, b.Finished)
		if err != nil {
			return "record: " + err.Error(), true
		}
		if throttled && retry == "" {
			retry = "the hall's messages per minute are spent"
		}
		if retry != "" {
			return "to try again: " + retry, true
		}
		if len(jobs) < Claim {
			return "", true
		}
		if jobs, throttled, err = s.Engine.ClaimNotices(ctx, hall, Claim); err != nil {
			return "claim: " + err.Error(), true
		}
	}
}

// RecordEvery is how long the answers of a claim wait at most to be
// recorded while the rest are sent: a node killed meanwhile sends again
// only what it had not recorded (with the same ids).
const RecordEvery = 100 * time.Millisecond

// sendAll sends the jobs, Parallel at once, each ticket's in their order,
// and records their answers as they come, RecordEvery at most after each
// (the opt-ins of the finished tickets go with the last). It says which
// answer asks to try again later, if one does.
func (s *Sender) sendAll(ctx context.Context, hall string, jobs []*civiq.NoticeJob, finished []string) (retry string, err error) {
	var lines [][]*civiq.NoticeJob // the jobs of one ticket, in order
	line := map[string]int{}
	for _, j := range jobs {
		k, ok := line[j.Notice.TicketID]
		if !ok {
			k = len(lines)
			line[j.Notice.TicketID] = k
			lines = append(lines, nil)
		}
		lines[k] = append(lines[k], j)
	}
	next := make(chan []*civiq.NoticeJob)
	done := make(chan civiq.NoticeOutcome)
	var wg sync.WaitGroup
	for range min(Parallel, len(lines)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range next {
				for _, j := range l {
					done <- civiq.NoticeOutcome{ID: j.Notice.ID, Result: s.send(ctx, hall, j)}
				}
			}
		}()
	}
	go func() {
		for _, l := range lines {
			next <- l
		}
		close(next)
		wg.Wait()
		close(done)
	}()
	var outs []civiq.NoticeOutcome
	kinds := make(map[string]string, len(jobs))
	for _, j := range jobs {
		kinds[j.Notice.ID] = j.Notice.Kind
	}
	tick := time.NewTicker(RecordEvery)
	defer tick.Stop()
	for more := true; more; {
		select {
		case o, ok := <-done:
			if more = ok; !ok {
				break
			}
			if r := o.Result; r.Retry && retry == "" {
				retry = kinds[o.ID] + ": " + r.Code + " " + r.Error
			}
			outs = append(outs, o)
		case <-tick.C:
			if len(outs) > 0 && err == nil {
				err = s.Engine.RecordNotices(context.WithoutCancel(ctx), hall, outs, nil)
				outs = outs[:0]
			}
		}
	}
	if err == nil {
		err = s.Engine.RecordNotices(context.WithoutCancel(ctx), hall, outs, finished)
	}
	return retry, err
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
		return civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "params", Error: civiq.ErrorMessage(err)}
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
