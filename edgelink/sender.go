package edgelink

import (
	"context"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/civiq/civiq"
)

// Sender sends the hall's events up to the city: the civiq.Sender of
// subscribers of kind civiq.SubscriberEdge. A batch of the delivery
// worker is one upload; when the city holds less than the batch follows
// (restored from an older backup), the sender first sends again what it
// lacks, from the edge's own events.
type Sender struct {
	Engine *civiq.Engine
	client atomic.Pointer[Client]
}

// SetClient gives the sender its link: an edge node's, once it knows it.
// Until then every try fails (and is tried again).
func (s *Sender) SetClient(c *Client) { s.client.Store(c) }

var _ civiq.BatchSender = (*Sender)(nil)

// Send sends one message.
func (s *Sender) Send(ctx context.Context, sub *civiq.Subscriber, m *civiq.Message) civiq.DeliveryAttempt {
	return s.SendBatch(ctx, sub, []*civiq.Message{m})[0]
}

// SendBatch uploads the events of ms, the hall's next events, in one
// request (civiq.EdgeUploadMax at most; the worker reads fewer).
func (s *Sender) SendBatch(ctx context.Context, sub *civiq.Subscriber, ms []*civiq.Message) []civiq.DeliveryAttempt {
	start := time.Now()
	fail := func(err error) []civiq.DeliveryAttempt {
		a := civiq.DeliveryAttempt{SubscriberID: sub.ID, EventID: ms[0].EventID, MessageID: ms[0].ID, At: s.Engine.Now(),
			Latency: time.Since(start), Error: err.Error()}
		if ce, ok := err.(*civiq.Error); ok && ce.Code != civiq.EUnavailable {
			a.Status = 409 // the city refused: an answer, not 2xx
		}
		return []civiq.DeliveryAttempt{a}
	}
	c := s.client.Load()
	if c == nil {
		return fail(civiq.Errorf(civiq.EUnavailable, "this node is no edge node: it has no city to send to"))
	}
	hall := c.Hall
	last := ms[len(ms)-1]
	// The upload follows the hall's event before the first: the city
	// compares it with what it holds.
	after, err := s.Engine.EdgeEventBefore(ctx, hall, ms[0].EventID)
	if err != nil {
		return fail(err)
	}
	recs, err := s.Engine.EdgeRecords(ctx, hall, after, len(ms))
	if err != nil {
		return fail(err)
	}
	// Keep only the batch's events, in case others were read between.
	recs = keep(recs, ms)
	// What waits behind the batch, by the ids (one hall, ids in a row):
	// counting them would read the whole backlog for every batch.
	newest, err := s.Engine.EdgeEventBefore(ctx, hall, math.MaxInt64)
	if err != nil {
		return fail(err)
	}
	up := &civiq.EdgeUpload{EdgeID: c.EdgeID, After: after, Events: recs}
	if newest > last.EventID {
		up.Pending = int(newest - last.EventID)
		up.OldestAt = &last.At
	}
	ack, err := c.Upload(ctx, up)
	if err != nil {
		return fail(err)
	}
	if ack.LastApplied < after { // the city lacks what it had: send it again first
		slog.Warn("edge link: the city holds less than was sent; sending again", "city_last_applied", ack.LastApplied, "after", after)
		if err := s.refill(ctx, c, ack.LastApplied, after); err != nil {
			return fail(err)
		}
		if ack, err = c.Upload(ctx, up); err != nil {
			return fail(err)
		}
	}
	if ack.LastApplied < last.EventID {
		return fail(civiq.Errorf(civiq.EConflict, "the city holds events up to %d of %d sent", ack.LastApplied, last.EventID))
	}
	out := make([]civiq.DeliveryAttempt, len(ms))
	lat := time.Since(start)
	for i, m := range ms {
		out[i] = civiq.DeliveryAttempt{SubscriberID: sub.ID, EventID: m.EventID, MessageID: m.ID, At: s.Engine.Now(),
			Status: 200, Latency: lat}
	}
	return out
}

// refill sends again the edge's events after from up to through.
func (s *Sender) refill(ctx context.Context, c *Client, from, through int64) error {
	for from < through {
		recs, err := s.Engine.EdgeRecords(ctx, c.Hall, from, int(min(through-from, 500)))
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil // pruned, or never ours: nothing more to send
		}
		if recs[len(recs)-1].ID > through {
			i := 0
			for i < len(recs) && recs[i].ID <= through {
				i++
			}
			recs = recs[:i]
		}
		ack, err := c.Upload(ctx, &civiq.EdgeUpload{EdgeID: c.EdgeID, After: from, Events: recs})
		if err != nil {
			return err
		}
		if ack.LastApplied <= from {
			return civiq.Errorf(civiq.EConflict, "the city applied none of the events after %d", from)
		}
		from = ack.LastApplied
	}
	return nil
}

// keep keeps the records of the messages' events.
func keep(recs []civiq.EdgeRecord, ms []*civiq.Message) []civiq.EdgeRecord {
	if len(recs) == len(ms) {
		return recs
	}
	want := make(map[int64]bool, len(ms))
	for _, m := range ms {
		want[m.EventID] = true
	}
	out := recs[:0]
	for _, r := range recs {
		if want[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

// Hello tells the city, now and every interval until ctx ends, that the
// edge is there and how far behind; the first answer also makes the
// hall's ticket numbers go on from the city's (a new edge repeats none).
func Hello(ctx context.Context, e *civiq.Engine, c *Client, interval time.Duration) {
	adopted := false
	for {
		h := &civiq.EdgeHello{EdgeID: c.EdgeID}
		if b, err := e.EdgeBacklog(ctx); err == nil && b != nil {
			h.Pending, h.OldestAt = b.Pending, b.OldestAt
		}
		w, err := c.Hello(ctx, h)
		if err == nil {
			// A city restored from an older backup holds less than was
			// sent: send it again.
			if moved, err := e.RewindEdgeLink(ctx, w.LastApplied); err != nil {
				slog.Warn("edge link: rewind", "err", err)
			} else if moved {
				slog.Warn("edge link: the city holds less than was sent; sending again", "city_last_applied", w.LastApplied)
			}
		}
		if err == nil && !adopted {
			if err := e.AdoptSequences(ctx, c.Hall, w.Sequences); err != nil {
				slog.Warn("edge link: adopt the city's numbers", "err", err)
			} else {
				adopted = true
			}
		} else if err != nil && ctx.Err() == nil {
			slog.Debug("edge link: hello", "err", err)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
