package civiq

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// City-side requests that touch a hall's live work (issue 16). A hall with
// an edge node numbers its own tickets, and the edge sits behind the
// hall's NAT: the city cannot call it. So the city queues such a request
// (a remote ticket a phone asks the city for, a booking cancelled online)
// and the edge, which holds a long poll open to the city, takes it at
// once, does it with its own engine and answers. A phone asking for a
// remote ticket waits for the answer (EdgeRelayWait); when the hall's
// edge is not polling, the city answers at once that remote tickets are
// paused (remote_paused: take one at the kiosk). Requests are rows, so
// a request that needs no answer (a cancelled booking) waits for the
// edge however long its link is down; a request taken and not answered
// is taken again after EdgeRequestRetake, and the edge does each at most
// once (an idempotency key per request).

// Kinds of city-side requests.
const (
	RequestTicket        = "ticket"         // a remote ticket for a phone
	RequestCancelBooking = "cancel_booking" // a booking cancelled online
	RequestFollowUp      = "followup"       // a follow-up moved by city staff
)

// Statuses of a city-side request.
const (
	RequestPending = "pending"
	RequestTaken   = "taken"
	RequestDone    = "done"
	RequestFailed  = "failed"  // the edge refused it: Answer.Error says why
	RequestExpired = "expired" // nobody waited for the answer any more
)

// Timing of the relay.
const (
	// EdgeRelayWait is how long a phone's remote ticket waits for the
	// hall's edge before the city answers remote_paused.
	EdgeRelayWait = 2 * time.Second
	// EdgeRequestRetake is when a request taken but not answered is
	// taken again.
	EdgeRequestRetake = 10 * time.Second
	// EdgeReachable is how long after its last poll the hall's edge
	// counts as reachable: it polls again at once after each answer.
	EdgeReachable = 3 * time.Second
	// EdgePollWait is the longest a poll of the edge is held open: short
	// of the 10 s a stopping server gives the requests in flight.
	EdgePollWait = 8 * time.Second
)

// EdgeRequest is one city-side request for a hall's edge.
type EdgeRequest struct {
	ID        int64  `json:"id"`
	HallID    string `json:"hall_id"`
	Kind      string `json:"kind"`
	ServiceID string `json:"service_id,omitempty"` // a remote ticket's service
	Holder    string `json:"holder,omitempty"`     // the phone's key (IssueRequest.Holder)
	Code      string `json:"booking_code,omitempty"`
	// Idem is the phone's Idempotency-Key: the same key gives the same
	// ticket at the edge, however often the phone asks.
	Idem *Idem `json:"idem,omitempty"`
	// FollowUp is the city's case after a move of city staff, without
	// the phone, and Entry the move.
	FollowUp  *FollowUp      `json:"followup,omitempty"`
	Entry     *FollowUpEntry `json:"followup_entry,omitempty"`
	Status    string         `json:"status"`
	CreatedAt time.Time      `json:"created_at"`
	TakenAt   time.Time      `json:"-"`
	// Answer is the edge's, once done or failed.
	Answer *EdgeAnswer `json:"-"`
}

// EdgeAnswer is the edge's answer to a request: the ticket it issued, or
// why it refused.
type EdgeAnswer struct {
	Ticket *Ticket      `json:"ticket,omitempty"`
	Error  *ErrorAnswer `json:"error,omitempty"`
}

// ErrorAnswer is an error as the API writes it.
type ErrorAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// EdgeRequestTx is what a store keeps of city-side requests
// (sqlstore/edgerequests.go).
type EdgeRequestTx interface {
	InsertEdgeRequest(r *EdgeRequest) error
	// TakeEdgeRequests marks taken at now, and returns oldest first, up to
	// limit of the hall's requests pending or taken before retake.
	TakeEdgeRequests(hallID string, now, retake time.Time, limit int) ([]*EdgeRequest, error)
	EdgeRequest(id int64) (*EdgeRequest, error)
	// SetEdgeRequest writes a request's status and answer.
	SetEdgeRequest(r *EdgeRequest) error
}

// relay is a city node's part of the relay: the edges polling it, and
// who waits for what. A city of several nodes shares whether a hall's
// edge polls through the database: a poll stamps its edge token's
// last_used_at (at most every edgePollStamp), and a node the edge does not
// poll looks there (edgeReachable).
type relay struct {
	mu      sync.Mutex
	polling map[string]int       // polls held open, by hall
	seen    map[string]time.Time // when a poll of the hall last ended
	stamped map[string]time.Time // when a poll of the hall last stamped its token
	wake    signals[string]      // by hall: a request was queued
	done    signals[int64]       // by request: it was answered
}

// edgePollStamp is how often a poll held open stamps its token: well
// within EdgeReachable, so the other nodes see the edge polling.
const edgePollStamp = time.Second

// stampDue reports whether a poll of the hall should stamp its token now,
// and if so counts it done.
func (r *relay) stampDue(hallID string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stamped == nil {
		r.stamped = map[string]time.Time{}
	}
	if now.Sub(r.stamped[hallID]) < edgePollStamp {
		return false
	}
	r.stamped[hallID] = now
	return true
}

// signals holds a channel per key, closed when the key is signalled; the
// zero value is ready.
type signals[K comparable] struct {
	mu sync.Mutex
	ch map[K]chan struct{}
}

// wait is the channel closed at the key's next signal.
func (s *signals[K]) wait(k K) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = map[K]chan struct{}{}
	}
	ch := s.ch[k]
	if ch == nil {
		ch = make(chan struct{})
		s.ch[k] = ch
	}
	return ch
}

// signal closes the key's channel, if any waits.
func (s *signals[K]) signal(k K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.ch[k]; ch != nil {
		close(ch)
		delete(s.ch, k)
	}
}

// forget drops the key's channel unsignalled.
func (s *signals[K]) forget(k K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ch, k)
}

// reachable reports whether the hall's edge polls this node.
func (r *relay) reachable(hallID string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.polling[hallID] > 0 || now.Sub(r.seen[hallID]) < EdgeReachable
}

func (r *relay) poll(hallID string, d int, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.polling == nil {
		r.polling, r.seen = map[string]int{}, map[string]time.Time{}
	}
	r.polling[hallID] += d
	r.seen[hallID] = now
}

// edgeReachable reports whether the hall's edge polls this city: this
// node, or another (a working token of the hall stamped within
// EdgeReachable).
func (e *Engine) edgeReachable(ctx context.Context, hallID string) (bool, error) {
	now := time.Now() // the link's time, not the hall's clock
	if e.relay.reachable(hallID, now) {
		return true, nil
	}
	var tokens []*EdgeToken
	if err := e.store.View(ctx, func(tx Tx) (err error) { tokens, err = tx.EdgeTokens(hallID); return }); err != nil {
		return false, err
	}
	for _, t := range tokens {
		if !t.Valid(e.now()) || t.LastUsedAt == nil {
			continue
		}
		// Either way: the nodes' clocks may differ a little.
		if d := now.Sub(*t.LastUsedAt); d > -EdgeReachable && d < EdgeReachable {
			return true, nil
		}
	}
	return false, nil
}

// errRemotePaused is the city's answer while a hall's edge is away.
var errRemotePaused = Errorf(ERemotePaused, "remote tickets for this hall are paused while the hall's link is down: please take a ticket at the kiosk")

// QueueEdgeRequest queues a request for the hall's edge, on the city.
func (e *Engine) QueueEdgeRequest(ctx context.Context, r *EdgeRequest) error {
	r.Status, r.CreatedAt = RequestPending, e.now()
	if err := e.update(ctx, func(tx Tx) error { return tx.InsertEdgeRequest(r) }); err != nil {
		return err
	}
	e.relay.wake.signal(r.HallID)
	return nil
}

// RelayRemoteTicket asks the hall's edge for a remote ticket, on the
// city, and waits for it: at once remote_paused when the edge is not
// polling, or when it has not answered within EdgeRelayWait; the edge's
// refusal (remote_full, ticket_held, ...) as its own.
func (e *Engine) RelayRemoteTicket(ctx context.Context, req IssueRequest, idem *Idem) (*Ticket, error) {
	if ok, err := e.edgeReachable(ctx, req.HallID); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, errRemotePaused
	}
	r := &EdgeRequest{HallID: req.HallID, Kind: RequestTicket, ServiceID: req.ServiceID, Holder: req.Holder}
	if idem != nil && idem.Key != "" {
		r.Idem = &Idem{Scope: "city " + idem.Scope, Key: idem.Key, Hash: idem.Hash}
	}
	var svcErr error
	if err := e.store.View(ctx, func(tx Tx) error { _, svcErr = tx.Service(req.HallID, req.ServiceID); return nil }); err != nil {
		return nil, err
	}
	if svcErr != nil {
		return nil, fieldNotFound(svcErr, "service_id")
	}
	if err := e.QueueEdgeRequest(ctx, r); err != nil {
		return nil, err
	}
	done := e.relay.done.wait(r.ID)
	defer e.relay.done.forget(r.ID)
	timeout := time.NewTimer(EdgeRelayWait)
	defer timeout.Stop()
	tick := time.NewTicker(100 * time.Millisecond) // an answer taken by another node
	defer tick.Stop()
	for {
		select {
		case <-done:
		case <-tick.C:
		case <-timeout.C:
			return e.expireEdgeRequest(ctx, r.ID)
		case <-ctx.Done():
			e.expireEdgeRequest(context.WithoutCancel(ctx), r.ID)
			return nil, ctx.Err()
		}
		var got *EdgeRequest
		if err := e.store.View(ctx, func(tx Tx) (err error) { got, err = tx.EdgeRequest(r.ID); return }); err != nil {
			return nil, err
		}
		if got.Status == RequestDone || got.Status == RequestFailed {
			return relayAnswer(got)
		}
	}
}

// fieldNotFound names the field of a not_found error.
func fieldNotFound(err error, field string) error {
	if e, ok := err.(*Error); ok && e.Code == ENotFound && e.Field == "" {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// expireEdgeRequest gives up a request nobody waits for any more, unless
// the edge answered it meanwhile: then its answer is the answer after all.
func (e *Engine) expireEdgeRequest(ctx context.Context, id int64) (*Ticket, error) {
	var answered *EdgeRequest
	err := e.update(ctx, func(tx Tx) error {
		r, err := tx.EdgeRequest(id)
		if err != nil {
			return err
		}
		if r.Status == RequestPending || r.Status == RequestTaken {
			r.Status = RequestExpired
			return tx.SetEdgeRequest(r)
		}
		answered = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	if answered != nil {
		return relayAnswer(answered)
	}
	return nil, errRemotePaused
}

// relayAnswer is what the phone is told of an answered request.
func relayAnswer(r *EdgeRequest) (*Ticket, error) {
	a := r.Answer
	switch {
	case a != nil && a.Ticket != nil:
		return a.Ticket, nil
	case a != nil && a.Error != nil:
		return nil, Errorf(a.Error.Code, "%s", a.Error.Message)
	}
	return nil, errRemotePaused
}

// TakeEdgeRequests is the edge's poll, on the city: the hall's requests
// to do, waiting up to wait for one to come. The poll stamps the edge's
// token tokenID (0: none), so every node of the city knows the edge polls.
func (e *Engine) TakeEdgeRequests(ctx context.Context, hallID string, tokenID int64, wait time.Duration) ([]*EdgeRequest, error) {
	wait = min(max(wait, 0), EdgePollWait)
	e.relay.poll(hallID, 1, time.Now())
	defer func() { e.relay.poll(hallID, -1, time.Now()) }()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(250 * time.Millisecond) // requests queued on another node
	defer tick.Stop()
	for {
		wake := e.relay.wake.wait(hallID)
		var out []*EdgeRequest
		err := e.update(ctx, func(tx Tx) (err error) {
			if tokenID != 0 && e.relay.stampDue(hallID, time.Now()) {
				if err := tx.TouchEdgeToken(tokenID, time.Now()); err != nil {
					return err
				}
			}
			now := e.now()
			out, err = tx.TakeEdgeRequests(hallID, now, now.Add(-EdgeRequestRetake), 100)
			return err
		})
		if err != nil || len(out) > 0 {
			return out, err
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-deadline.C:
			return []*EdgeRequest{}, nil
		case <-ctx.Done():
			return []*EdgeRequest{}, nil
		}
	}
}

// AnswerEdgeRequest records the edge's answer to a request of its hall,
// on the city. It reports whether someone still wanted it: a remote
// ticket answered after its phone gave up is expired, and the edge
// cancels the ticket.
func (e *Engine) AnswerEdgeRequest(ctx context.Context, hallID string, id int64, a *EdgeAnswer) (wanted bool, err error) {
	err = e.update(ctx, func(tx Tx) error {
		r, err := tx.EdgeRequest(id)
		if err != nil || r.HallID != hallID {
			return Errorf(ENotFound, "unknown request %d", id)
		}
		switch r.Status {
		case RequestExpired:
			return nil
		case RequestDone, RequestFailed:
			wanted = true // answered before: the same answer again
			return nil
		}
		wanted = true
		r.Status, r.Answer = RequestDone, a
		if a.Error != nil {
			r.Status = RequestFailed
		}
		return tx.SetEdgeRequest(r)
	})
	if err == nil {
		e.relay.done.signal(id)
	}
	return wanted, err
}

// DoEdgeRequest does a city-side request at the hall's edge node: it
// issues the remote ticket (once per request, however often it is
// taken), or cancels the booking. It answers what the city is told.
func (e *Engine) DoEdgeRequest(ctx context.Context, r *EdgeRequest) *EdgeAnswer {
	switch r.Kind {
	case RequestTicket:
		idem := &Idem{Scope: "edge-request", Key: strconv.FormatInt(r.ID, 10), Hash: r.ServiceID + " " + r.Holder}
		if r.Idem != nil {
			idem = r.Idem
		}
		t, err := e.IssueTicket(ctx, IssueRequest{HallID: r.HallID, ServiceID: r.ServiceID, Channel: ChannelRemote, Holder: r.Holder}, idem)
		if err != nil {
			return &EdgeAnswer{Error: &ErrorAnswer{Code: ErrorCode(err), Message: ErrorMessage(err)}}
		}
		return &EdgeAnswer{Ticket: t}
	case RequestCancelBooking:
		if err := e.cancelBookingAsCity(ctx, r.HallID, r.Code); err != nil {
			return &EdgeAnswer{Error: &ErrorAnswer{Code: ErrorCode(err), Message: ErrorMessage(err)}}
		}
		return &EdgeAnswer{}
	case RequestFollowUp:
		if err := e.followUpAsCity(ctx, r); err != nil {
			return &EdgeAnswer{Error: &ErrorAnswer{Code: ErrorCode(err), Message: ErrorMessage(err)}}
		}
		return &EdgeAnswer{}
	}
	return &EdgeAnswer{Error: &ErrorAnswer{Code: EInvalid, Message: "unknown request kind " + r.Kind}}
}

// cancelBookingAsCity cancels at the edge a booking the city cancelled:
// one still booked here, with its event; a booking checked in here stays
// (the hall served the citizen).
func (e *Engine) cancelBookingAsCity(ctx context.Context, hallID, code string) error {
	return e.update(WithOwner(ctx, NodeCity), func(tx Tx) error {
		b, err := tx.BookingByCode(NormalizeCode(code))
		if IsNotFound(err) {
			return nil // not pulled yet: the pull brings it cancelled
		}
		if err != nil {
			return err
		}
		if b.HallID != hallID || b.Status != BookingBooked {
			return nil
		}
		now := e.now()
		b.Status, b.CancelledAt, b.ReleasedAt = BookingCancelled, &now, &now
		if err := tx.UpdateBooking(b); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventBookingCancelled, At: now, Booking: b.Ref()})
	})
}

// UnwantedTicket cancels, at the edge, a remote ticket the city no longer
// wanted (its phone gave up before the answer came).
func (e *Engine) UnwantedTicket(ctx context.Context, t *Ticket) error {
	_, err := e.Act(ctx, ActRequest{TicketID: t.ID, Action: ActCancel}, nil)
	return err
}

// relayFollowUp queues, on the city, a move of city staff on a follow-up
// of a hall with an edge, so the edge's copy of the case follows it. It
// reports whether it queued one.
func (e *Engine) relayFollowUp(tx Tx, f *FollowUp, entry *FollowUpEntry, now time.Time) (bool, error) {
	if e.Node.Edge() {
		return false, nil
	}
	has, err := e.edgeHallTx(tx, f.HallID)
	if err != nil || !has {
		return false, err
	}
	sent := *f
	sent.ContactPhone = "" // personal data stays on the city
	moved := *entry
	return true, tx.InsertEdgeRequest(&EdgeRequest{HallID: f.HallID, Kind: RequestFollowUp, FollowUp: &sent, Entry: &moved,
		Status: RequestPending, CreatedAt: now})
}

// followUpAsCity applies, at the edge, a move city staff made on the
// city's copy of a case: the edge's case of the same ticket takes the
// city's state and the move, with its followup.updated event. A case the
// edge does not hold is left alone.
func (e *Engine) followUpAsCity(ctx context.Context, r *EdgeRequest) error {
	c := r.FollowUp
	if c == nil || r.Entry == nil || c.HallID != r.HallID {
		return FieldErrorf("followup", "a follow-up request needs the case and the move")
	}
	return e.update(WithOwner(ctx, NodeCity), func(tx Tx) error {
		f, err := followUpOfTicket(tx, r.HallID, c.TicketID, c.OpenedAt)
		if err != nil || f == nil {
			return err
		}
		f.Status, f.WorkingDays, f.Deadline, f.OriginalDeadline = c.Status, c.WorkingDays, c.Deadline, c.OriginalDeadline
		f.Extended, f.ExtensionReason, f.RejectionReason, f.RequestedBy = c.Extended, c.ExtensionReason, c.RejectionReason, c.RequestedBy
		f.CitizenView, f.PublicSummary, f.ClosedAt, f.UpdatedAt = c.CitizenView, c.PublicSummary, c.ClosedAt, c.UpdatedAt
		if err := tx.UpdateFollowUp(f); err != nil {
			return err
		}
		entry := *r.Entry
		entry.ID, entry.FollowUpID = 0, f.ID
		if err := tx.AppendFollowUpEntry(&entry); err != nil {
			return err
		}
		ref := f.Ref()
		ref.Move = entry.Move
		return tx.AppendEvent(&Event{HallID: f.HallID, Type: EventFollowUp, At: e.now(), FollowUp: ref})
	})
}
