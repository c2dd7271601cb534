package civiq

import (
	"context"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The up direction of an edge node (issue 16): the edge sends its hall's
// events to the city, the city applies each exactly once.
//
// Each upload says which of the edge's events it follows (After: the
// edge's cursor); the city answers the id of the last event of that edge
// it holds (EdgeAck.LastApplied). A city that holds less than After (it
// was restored from an older backup) applies nothing and the edge sends
// again from what the city holds; events the city holds already are
// skipped. So the city holds every event of the edge once, in order.

// EdgeTicket is a ticket as the edge sends it: whole, with its local day
// and place in time, which a public or staff view leaves out, and where a
// transfer sent it: the clerk it waits for (a username: the edge's users
// are the city's by name, not by id) and the note for the next clerk, as
// they are at the edge when it is sent; and the clerk who serves (or
// called) it, by username too (ServedBy), whom the staff report counts.
type EdgeTicket struct {
	Ticket
	Day          string    `json:"day"`
	QueuedAt     time.Time `json:"queued_at"`
	ForClerk     string    `json:"for_clerk,omitempty"`
	TransferNote string    `json:"transfer_note,omitempty"`
	ServedBy     string    `json:"served_by,omitempty"`
}

// EdgeCounter is a counter's state as the edge sends it, with the
// username of who is signed in there.
type EdgeCounter struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	PauseReason     string `json:"pause_reason,omitempty"`
	CurrentTicketID string `json:"current_ticket_id,omitempty"`
	Clerk           string `json:"clerk,omitempty"`
}

// EdgeRating is a rating as the edge sends it: the contact phone opened
// for the trip (the link is TLS), sealed again by the city; the clerk who
// served the ticket by username (Staff), which the city takes to its own
// user. StaffID is the edge's id of them: the city reads it only from an
// edge that sends no Staff (an older one).
type EdgeRating struct {
	Rating
	StaffID int64  `json:"staff_id,omitempty"`
	Staff   string `json:"staff,omitempty"`
}

// EdgeCase is a 办件 case as the edge sends it: whole, with its day, its
// history and its receipts; the applicant opened for the trip (the link
// is TLS), sealed again by the city.
type EdgeCase struct {
	Case
	Day      string        `json:"day"`
	Receipts []EdgeReceipt `json:"receipts"`
}

// EdgeReceipt is a receipt of a case as the edge signed it.
type EdgeReceipt struct {
	Code     string    `json:"code"`
	Kind     string    `json:"kind"`
	Payload  string    `json:"payload"`
	IssuedAt time.Time `json:"issued_at"`
}

// EdgeRecord is one event of the edge with the state it leaves: the city
// writes both.
type EdgeRecord struct {
	ID     int64     `json:"id"` // the edge's event id
	HallID string    `json:"hall_id"`
	Type   string    `json:"type"`
	At     time.Time `json:"at"`
	Text   string    `json:"text,omitempty"`
	// Reason is a call out of order's reason or a transfer's note (the
	// event's staff view).
	Reason   string       `json:"reason,omitempty"`
	Ticket   *EdgeTicket  `json:"ticket,omitempty"`
	Counter  *EdgeCounter `json:"counter,omitempty"`
	Rating   *EdgeRating  `json:"rating,omitempty"`
	FollowUp *FollowUpRef `json:"followup,omitempty"`
	// FollowUpTicket is the ticket of the case FollowUp names: the edge
	// and the city number their cases each their own way, and the city
	// finds its own case by the ticket (applyEdgeRecords).
	FollowUpTicket string      `json:"followup_ticket,omitempty"`
	Booking        *BookingRef `json:"booking,omitempty"`
	Case           *CaseRef    `json:"case,omitempty"`
	// CaseData is the case an event of it names, as it is now.
	CaseData *EdgeCase `json:"case_data,omitempty"`
	// Alert is a service alert the edge raised or cleared (alert.go).
	Alert *ServiceAlert `json:"alert,omitempty"`
	// OptedOut, on a notify.opt_out, says the ticket has no opt-in left
	// at the edge, as it was when the record was read: the edge tells it
	// nothing more, and the city lifts its mark (optedOutAtEdge).
	OptedOut bool `json:"opted_out,omitempty"`
}

// EdgeUpload is what the edge posts to the city.
type EdgeUpload struct {
	EdgeID string       `json:"edge_id"`
	After  int64        `json:"after"`
	Events []EdgeRecord `json:"events"`
	// What the edge still has to send after these, and the time of the
	// oldest of it.
	Pending  int        `json:"pending"`
	OldestAt *time.Time `json:"oldest_pending_at,omitempty"`
}

// EdgeAck is the city's answer to an upload and to a hello.
type EdgeAck struct {
	LastApplied int64 `json:"last_applied"`
}

// EdgeHello is what the edge says when it comes (and every while): who it
// is and how far behind.
type EdgeHello struct {
	EdgeID   string     `json:"edge_id"`
	Pending  int        `json:"pending"`
	OldestAt *time.Time `json:"oldest_pending_at,omitempty"`
}

// EdgeWelcome is the city's answer to a hello: the last event of that
// edge it holds, and the hall's last ticket numbers of today and
// yesterday by day and service, from which a new edge of the hall goes on
// numbering.
type EdgeWelcome struct {
	LastApplied int64                     `json:"last_applied"`
	Sequences   map[string]map[string]int `json:"sequences"`
	Now         time.Time                 `json:"now"`
}

// EdgeUploadMax bounds the events of one upload.
const EdgeUploadMax = 1000

type ownerKey struct{}

// WithOwner marks the writes made with ctx as done for their owner: the
// city applying an edge's events (NodeEdge), an edge applying the city's
// configuration (NodeCity). The ownership rule lets them through.
func WithOwner(ctx context.Context, owner string) context.Context {
	return context.WithValue(ctx, ownerKey{}, owner)
}

func ownerOf(ctx context.Context) string {
	s, _ := ctx.Value(ownerKey{}).(string)
	return s
}

// refuseEvent is the city's refusal of an event of live work in a hall
// with an edge, in the transaction that writes it (Engine.update).
func (e *Engine) refuseEvent(tx Tx, ev *Event) error {
	w := eventWork(ev.Type)
	if w == "" || e.Node.Edge() {
		return nil
	}
	has, err := e.edgeHallTx(tx, ev.HallID)
	if err != nil {
		return err
	}
	return e.Node.Refuse(w, has)
}

// edgeHallTx is hallHasEdge inside a transaction.
func (e *Engine) edgeHallTx(tx Tx, hallID string) (bool, error) {
	c := &e.edgeHalls
	now := e.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.After(c.until) {
		halls, err := tx.EdgeHalls(now)
		if err != nil {
			return false, err
		}
		c.halls, c.until = halls, now.Add(edgeHallTTL)
	}
	for _, h := range c.halls {
		if h == hallID {
			return true, nil
		}
	}
	return false, nil
}

// EdgeEventBefore is, on the edge, the id of the hall's last event
// before id: what an upload starting at id follows.
func (e *Engine) EdgeEventBefore(ctx context.Context, hallID string, id int64) (int64, error) {
	var n int64
	err := e.store.View(ctx, func(tx Tx) (err error) { n, err = tx.HallEventBefore(hallID, id); return })
	return n, err
}

// EdgeRecords reads, on the edge, up to limit events of the hall after
// after with the state each leaves.
func (e *Engine) EdgeRecords(ctx context.Context, hallID string, after int64, limit int) ([]EdgeRecord, error) {
	evs, err := e.store.EventsAfter(ctx, hallID, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]EdgeRecord, 0, len(evs))
	err = e.store.View(ctx, func(tx Tx) error {
		// The city knows the edge's users by username (its ids differ).
		names := map[int64]string{}
		username := func(id int64) (string, error) {
			if id == 0 {
				return "", nil
			}
			if n, ok := names[id]; ok {
				return n, nil
			}
			u, err := tx.UserByID(id)
			if err != nil && !IsNotFound(err) {
				return "", err
			}
			if u != nil {
				names[id] = u.Username
			}
			return names[id], nil
		}
		for _, ev := range evs {
			r := EdgeRecord{ID: ev.ID, HallID: ev.HallID, Type: ev.Type, At: ev.At, Text: ev.Text, Reason: ev.Reason, FollowUp: ev.FollowUp,
				Booking: ev.Booking, Case: ev.Case, Alert: ev.Alert}
			if ev.FollowUp != nil {
				f, err := tx.FollowUp(ev.FollowUp.ID)
				if err != nil && !IsNotFound(err) {
					return err
				}
				if f != nil {
					r.FollowUpTicket = f.TicketID
				}
			}
			if ev.Case != nil {
				ec, err := e.edgeCase(tx, ev.Case.Number)
				if err != nil {
					return err
				}
				r.CaseData = ec
			}
			if ev.Type == EventNotifyOptOut && ev.Ticket != nil {
				os, err := tx.OptIns(ev.Ticket.ID)
				if err != nil {
					return err
				}
				r.OptedOut = len(os) == 0
			}
			if ev.Counter != nil {
				r.Counter = &EdgeCounter{ID: ev.Counter.ID, Status: ev.Counter.Status, PauseReason: ev.Counter.PauseReason,
					CurrentTicketID: ev.Counter.CurrentTicketID, Clerk: ev.Counter.Clerk}
			}
			if ev.Ticket != nil {
				cur, servedBy, _, err := tx.TicketToRate(ev.Ticket.ID) // the ticket and who serves it, in one read
				if err != nil {
					return err
				}
				t := *ev.Ticket
				t.Position, t.ETASeconds = nil, nil
				r.Ticket = &EdgeTicket{Ticket: t, Day: cur.Day, QueuedAt: cur.QueuedAt, TransferNote: cur.TransferNote}
				r.Ticket.Holder = cur.Holder
				if r.Ticket.ForClerk, err = username(cur.ForClerk); err != nil {
					return err
				}
				if r.Ticket.ServedBy, err = username(servedBy); err != nil {
					return err
				}
				if ev.Type == EventRated {
					rt, err := tx.RatingByTicket(t.ID)
					if err != nil {
						return err
					}
					if err := e.unseal(&rt.ContactPhone); err != nil {
						return err
					}
					r.Rating = &EdgeRating{Rating: *rt, StaffID: rt.StaffID}
					if r.Rating.Staff, err = username(rt.StaffID); err != nil {
						return err
					}
				}
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// edgeCase reads, on the edge, a case as it goes up.
func (e *Engine) edgeCase(tx Tx, number string) (*EdgeCase, error) {
	c, err := e.readCase(tx, number)
	if err != nil {
		return nil, err
	}
	if c.History, err = tx.CaseEntries(c.ID); err != nil {
		return nil, err
	}
	rs, err := tx.Receipts(c.ID)
	if err != nil {
		return nil, err
	}
	ec := &EdgeCase{Case: *c, Day: c.Day, Receipts: []EdgeReceipt{}}
	for _, r := range rs {
		ec.Receipts = append(ec.Receipts, EdgeReceipt{Code: r.Code, Kind: r.Kind, Payload: r.Payload, IssuedAt: r.IssuedAt})
	}
	return ec, nil
}

// applyEdgeCase writes, on the city, a case the edge sent: new or
// changed, with the history entries and receipts the city lacks.
func (e *Engine) applyEdgeCase(tx Tx, ec *EdgeCase) error {
	c := ec.Case
	c.Day, c.ID, c.Overdue, c.ReceiptCode = ec.Day, 0, false, ""
	cur, err := tx.Case(c.Number)
	switch {
	case err == nil:
		if cur.HallID != c.HallID {
			return Errorf(EForbidden, "case %s is of another hall", c.Number)
		}
		c.ID = cur.ID
	case !IsNotFound(err):
		return err
	}
	if err := e.writeCase(tx, &c); err != nil {
		return err
	}
	have, err := tx.CaseEntries(c.ID)
	if err != nil {
		return err
	}
	for _, h := range ec.History[min(len(have), len(ec.History)):] {
		h.ID, h.CaseID = 0, c.ID
		h.OnBehalf, _ = ParseBehalf("on_behalf.role", h.OnBehalf) // a role the city does not know is left out
		if err := tx.AppendCaseEntry(&h); err != nil {
			return err
		}
	}
	for _, r := range ec.Receipts {
		if _, err := tx.StoredReceipt(r.Code); err == nil {
			continue
		} else if !IsNotFound(err) {
			return err
		}
		if err := tx.InsertReceipt(&StoredReceipt{Code: r.Code, CaseID: c.ID, Kind: r.Kind, Payload: r.Payload, IssuedAt: r.IssuedAt}); err != nil {
			return err
		}
	}
	return nil
}

// validate checks an upload against the token's hall: every event, its
// ticket, counter and rating of that hall, ids growing.
func (u *EdgeUpload) validate(hallID string) error {
	if u.EdgeID == "" || len(u.EdgeID) > 64 || !utf8.ValidString(u.EdgeID) {
		return FieldErrorf("edge_id", "edge_id is 1 to 64 characters")
	}
	if len(u.Events) > EdgeUploadMax {
		return Errorf(ETooLarge, "at most %d events in one upload", EdgeUploadMax)
	}
	prev := u.After
	for i := range u.Events {
		r := &u.Events[i]
		field := "events[" + strconv.Itoa(i) + "]"
		if r.ID <= prev {
			return FieldErrorf(field+".id", "event ids must grow, after %d", prev)
		}
		prev = r.ID
		if r.HallID != hallID {
			return Errorf(EForbidden, "event %d is of hall %q: this token writes hall %q only", r.ID, r.HallID, hallID)
		}
		if r.Type == "" || len(r.Type) > 64 {
			return FieldErrorf(field+".type", "type is required")
		}
		if t := r.Ticket; t != nil {
			if t.HallID != hallID {
				return Errorf(EForbidden, "event %d carries a ticket of hall %q", r.ID, t.HallID)
			}
			if t.ID == "" || t.ServiceID == "" || t.Number == "" || t.Day == "" {
				return FieldErrorf(field+".ticket", "a ticket needs id, service_id, number and day")
			}
		}
		if c := r.Counter; c != nil && c.ID == "" {
			return FieldErrorf(field+".counter.id", "a counter needs its id")
		}
		if c := r.CaseData; c != nil {
			if c.HallID != hallID {
				return Errorf(EForbidden, "event %d carries a case of hall %q", r.ID, c.HallID)
			}
			if c.Number == "" || c.Day == "" || c.TicketID == "" {
				return FieldErrorf(field+".case_data", "a case needs number, day and ticket_id")
			}
		}
		if rt := r.Rating; rt != nil {
			if rt.HallID != hallID || r.Ticket == nil || rt.TicketID != r.Ticket.ID {
				return Errorf(EForbidden, "event %d carries a rating of another hall or ticket", r.ID)
			}
			if rt.Score < 1 || rt.Score > 5 {
				return FieldErrorf(field+".rating.score", "score is 1 to 5")
			}
		}
	}
	return nil
}

// ApplyEdgeEvents applies, on the city, an upload of the edge holding tok:
// each event it does not hold yet, with the state it leaves (tickets,
// counters, ratings, and the follow-up a bad rating opens on the city's
// desk), and an event row of the city's own, so that the city's streams,
// dashboards and reports include the hall. All of it is one transaction.
func (e *Engine) ApplyEdgeEvents(ctx context.Context, tok *EdgeToken, up *EdgeUpload) (*EdgeAck, error) {
	if err := up.validate(tok.HallID); err != nil {
		return nil, err
	}
	ack := &EdgeAck{}
	now := e.now()
	ctx = WithOwner(ctx, NodeEdge)
	err := e.update(ctx, func(tx Tx) error {
		l, err := tx.EdgeLink(tok.HallID, up.EdgeID)
		if IsNotFound(err) {
			l, err = &EdgeLink{HallID: tok.HallID, EdgeID: up.EdgeID}, nil
		}
		if err != nil {
			return err
		}
		l.SeenAt, l.Pending, l.OldestAt = now, up.Pending, up.OldestAt
		if up.After > l.LastApplied { // the city lacks some: the edge sends them again
			ack.LastApplied = l.LastApplied
			return tx.PutEdgeLink(l)
		}
		var fresh []*EdgeRecord
		for i := range up.Events {
			if r := &up.Events[i]; r.ID > l.LastApplied { // else held already
				fresh = append(fresh, r)
			}
		}
		if len(fresh) > 0 {
			if err := e.applyEdgeRecords(tx, tok.HallID, fresh); err != nil {
				return err
			}
			last := fresh[len(fresh)-1]
			l.LastApplied, l.AppliedAt = last.ID, last.At
		}
		ack.LastApplied = l.LastApplied
		return tx.PutEdgeLink(l)
	})
	if err != nil {
		return nil, err
	}
	return ack, nil
}

// applyEdgeRecords writes what the records leave: each ticket's and
// counter's last state once (a ticket issued, called and done in one
// upload is written once), the hall's last numbers, the ratings, and an
// event row for each record, in order. Only the counters are read, once,
// and a transferred ticket's earlier state when this upload lacks it: on
// PostgreSQL the rest goes in one round trip.
func (e *Engine) applyEdgeRecords(tx Tx, hallID string, recs []*EdgeRecord) error {
	tickets := map[string]*Ticket{}
	servedBy := map[string]int64{} // the city's user who serves each ticket, by the edge's username
	var order []string
	type seqKey struct{ service, day string }
	seqs := map[seqKey]int{}
	var cs []Counter                 // the hall's, in order, once a record needs them
	var counters map[string]*Counter // cs by id
	var changed []string
	change := func(id string) {
		if !slices.Contains(changed, id) {
			changed = append(changed, id)
		}
	}
	// The edge names users by username; the city's ids differ.
	users := map[string]int64{}
	userID := func(name string) (int64, error) {
		if name == "" {
			return 0, nil
		}
		if id, ok := users[name]; ok {
			return id, nil
		}
		u, err := tx.User(name)
		if IsNotFound(err) {
			users[name] = 0 // gone from the city: sent to nobody in particular
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		users[name] = u.ID
		return u.ID, nil
	}
	edgeTicket := func(et *EdgeTicket) (Ticket, error) {
		t := et.Ticket
		t.Day, t.QueuedAt, t.Position, t.ETASeconds, t.TransferNote = et.Day, et.QueuedAt, nil, nil, et.TransferNote
		var err error
		t.ForClerk, err = userID(et.ForClerk)
		return t, err
	}
	// A transfer at the edge is kept for the city's reports as one at the
	// city is (recordTransfer): the counter that called the ticket, when
	// and who serves it there, read from the ticket as it was before
	// (earlier in this upload, or the city's copy of an earlier one).
	var transfers []*TransferRecord
	for _, r := range recs {
		if et := r.Ticket; et != nil {
			t, err := edgeTicket(et)
			if err != nil {
				return err
			}
			by, err := userID(et.ServedBy)
			if err != nil {
				return err
			}
			if r.Type == EventTransferred {
				prev := tickets[t.ID]
				if prev == nil {
					if prev, err = tx.Ticket(t.ID); IsNotFound(err) {
						prev = nil
					} else if err != nil {
						return err
					}
				}
				tr := transferOf(&t, "", nil, 0, r.At)
				if prev != nil && prev.CounterID != "" {
					tr = transferOf(&t, prev.CounterID, prev.CalledAt, by, r.At)
				}
				transfers = append(transfers, tr)
			}
			if tickets[t.ID] == nil {
				order = append(order, t.ID)
			}
			tickets[t.ID] = &t
			servedBy[t.ID] = by
			if n, ok := ticketSeq(t.Number); ok && r.Type == EventIssued {
				k := seqKey{t.ServiceID, t.Day}
				seqs[k] = max(seqs[k], n)
			}
		}
		if (r.Counter != nil || r.Ticket != nil) && counters == nil {
			var err error
			if cs, err = tx.Counters(hallID); err != nil {
				return err
			}
			counters = map[string]*Counter{}
			for i := range cs {
				counters[cs[i].ID] = &cs[i]
			}
		}
	}
	for _, id := range order {
		if err := tx.UpsertTicket(tickets[id]); err != nil {
			return err
		}
		if uid := servedBy[id]; uid != 0 { // a name the city lacks: served by nobody it knows
			if err := tx.SetServedBy(id, uid); err != nil {
				return err
			}
		}
	}
	for k, n := range seqs {
		if err := tx.RaiseSequence(hallID, k.service, k.day, n); err != nil {
			return err
		}
	}
	for _, tr := range transfers {
		if err := tx.AddTransfer(tr); err != nil {
			return err
		}
	}
	for _, r := range recs {
		ev := &Event{HallID: r.HallID, Type: r.Type, At: r.At, Text: r.Text, Reason: r.Reason, Booking: r.Booking, Case: r.Case, Alert: r.Alert}
		if r.FollowUp != nil && r.FollowUpTicket != "" {
			// The edge's case, by the city's own number: a follow-up's
			// messages (notify_subjects.go) and the desk's page read the
			// case the event names. None found: the event names none.
			f, err := followUpOfTicket(tx, hallID, r.FollowUpTicket, r.At)
			if err != nil {
				return err
			}
			if f != nil {
				ref := *r.FollowUp
				ref.ID = f.ID
				ev.FollowUp = &ref
			}
		}
		if r.CaseData != nil {
			if err := e.applyEdgeCase(tx, r.CaseData); err != nil {
				return err
			}
		}
		if et := r.Ticket; et != nil {
			t, err := edgeTicket(et)
			if err != nil {
				return err
			}
			ev.Ticket = &t
			// A call writes no counter event: as at the city (call,
			// finishCurrent), the counter a called or served ticket is at
			// holds it, and one it left holds none.
			at := ""
			if t.Status == StatusCalled || t.Status == StatusServing {
				at = t.CounterID
			}
			for i := range cs {
				if cur := &cs[i]; cur.CurrentTicketID == t.ID && cur.ID != at {
					cur.CurrentTicketID = ""
					change(cur.ID)
				} else if cur.ID == at && cur.CurrentTicketID != t.ID {
					cur.CurrentTicketID = t.ID
					change(cur.ID)
				}
			}
		}
		if c := r.Counter; c != nil {
			if cur := counters[c.ID]; cur != nil { // a counter the city does not know is left out
				change(c.ID)
				id, err := userID(c.Clerk)
				if err != nil {
					return err
				}
				cur.Status, cur.PauseReason, cur.CurrentTicketID, cur.ClerkID, cur.Clerk = c.Status, c.PauseReason, c.CurrentTicketID, id, c.Clerk
				if id == 0 {
					cur.Clerk = ""
				}
				cur.SetStaffed()
				snap := *cur
				ev.Counter = &snap
			}
		}
		if er := r.Rating; er != nil {
			if er.Staff != "" {
				id, err := userID(er.Staff)
				if err != nil {
					return err
				}
				er.StaffID = id
			}
			if err := e.applyEdgeRating(tx, er, ev); err != nil {
				return err
			}
		}
		if err := edgeCheckedIn(tx, ev); err != nil { // bookingpass.go: the city's booking checked in
			return err
		}
		if ev.Type == EventNotifyOptIn && ev.Ticket != nil {
			if err := optedInAtEdge(tx, ev.Ticket, ev.At); err != nil { // notify.go: told from the edge alone
				return err
			}
		}
		if ev.Type == EventNotifyOptOut && ev.Ticket != nil && r.OptedOut {
			if err := optedOutAtEdge(tx, ev.Ticket); err != nil { // notify.go: the edge tells it no more
				return err
			}
		}
		if err := tx.AppendEvent(ev); err != nil {
			return err
		}
	}
	for _, id := range changed {
		if err := tx.SetCounterState(counters[id]); err != nil {
			return err
		}
	}
	return nil
}

// applyEdgeRating writes a rating the edge sent, and opens the follow-up
// of a bad one on the city's desk too.
func (e *Engine) applyEdgeRating(tx Tx, er *EdgeRating, ev *Event) error {
	rt := er.Rating
	rt.StaffID = er.StaffID
	stored := rt
	stored.ContactPhone = e.seal(rt.ContactPhone)
	fresh, err := tx.PutEdgeRating(&stored)
	if err != nil || !fresh || !BadScore(rt.Score) {
		return err
	}
	s, err := e.settings.rating(tx, rt.HallID, e.now())
	if err != nil {
		return err
	}
	rt.ID = stored.ID
	f, err := e.openFollowUp(tx, &rt, s)
	if err != nil {
		return err
	}
	ev.FollowUp = f.Ref()
	return nil
}

// ticketSeq is the sequence number of a ticket number: its digits after
// the prefix.
func ticketSeq(number string) (int, bool) {
	i := len(number)
	for i > 0 && number[i-1] >= '0' && number[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(number[i:])
	return n, err == nil && n > 0
}

// EdgeHello records, on the city, that the edge holding tok is there and
// how far behind it is, and tells it what the city holds of it.
func (e *Engine) EdgeHello(ctx context.Context, tok *EdgeToken, h *EdgeHello) (*EdgeWelcome, error) {
	if h.EdgeID == "" || len(h.EdgeID) > 64 || !utf8.ValidString(h.EdgeID) {
		return nil, FieldErrorf("edge_id", "edge_id is 1 to 64 characters")
	}
	w := &EdgeWelcome{Now: e.now()}
	err := e.update(ctx, func(tx Tx) error {
		hall, err := tx.Hall(tok.HallID)
		if err != nil {
			return err
		}
		l, err := tx.EdgeLink(tok.HallID, h.EdgeID)
		if IsNotFound(err) {
			l, err = &EdgeLink{HallID: tok.HallID, EdgeID: h.EdgeID}, nil
		}
		if err != nil {
			return err
		}
		l.SeenAt, l.Pending, l.OldestAt = w.Now, h.Pending, h.OldestAt
		w.LastApplied = l.LastApplied
		if err := tx.PutEdgeLink(l); err != nil {
			return err
		}
		if err := tx.TouchEdgeToken(tok.ID, w.Now); err != nil {
			return err
		}
		w.Sequences, err = tx.Sequences(tok.HallID, []string{hall.Day(w.Now.AddDate(0, 0, -1)), hall.Day(w.Now)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// AdoptSequences makes, on the edge, the hall's ticket numbers go on from
// those the city holds: a new edge (its disk replaced) repeats no number
// of the day.
func (e *Engine) AdoptSequences(ctx context.Context, hallID string, seqs map[string]map[string]int) error {
	return e.update(WithOwner(ctx, NodeCity), func(tx Tx) error {
		for day, svcs := range seqs {
			for svc, n := range svcs {
				if err := tx.RaiseSequence(hallID, svc, day, n); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// EdgeSelf is this edge node's id: made on its first start, kept in its
// database, new with a new database.
func (e *Engine) EdgeSelf(ctx context.Context) (string, error) {
	var id string
	err := e.update(ctx, func(tx Tx) (err error) { id, err = tx.EdgeSelf("edge-" + randomToken(10)); return })
	return id, err
}

// EnsureEdgeLink makes, on the edge, the subscriber that sends the hall's
// events to the city, or points the one there is at cityURL.
func (e *Engine) EnsureEdgeLink(ctx context.Context, hallID, cityURL string) (*Subscriber, error) {
	var out *Subscriber
	err := e.update(ctx, func(tx Tx) error {
		subs, err := tx.Subscribers()
		if err != nil {
			return err
		}
		for _, s := range subs {
			if s.Kind == SubscriberEdge {
				if s.URL != cityURL || len(s.Halls) != 1 || s.Halls[0] != hallID {
					s.URL, s.Halls, s.UpdatedAt = cityURL, []string{hallID}, e.now()
					if err := tx.UpdateSubscriber(s); err != nil {
						return err
					}
				}
				out = s
				return nil
			}
		}
		now := e.now()
		out = &Subscriber{Kind: SubscriberEdge, URL: cityURL, Events: []string{"*"}, Halls: []string{hallID},
			Description: "edge link to the city", Status: SubscriberActive, CreatedBy: "edge", CreatedAt: now, UpdatedAt: now,
			Secret: randomToken(20)}
		return tx.InsertSubscriber(out)
	})
	return out, err
}

// EdgeBacklog is, on the edge, the state of the edge link's delivery: the
// events waiting to go up and the time of the oldest. Nil when the node
// has no edge link.
func (e *Engine) EdgeBacklog(ctx context.Context) (*DeliveryState, error) {
	var out *DeliveryState
	err := e.store.View(ctx, func(tx Tx) error {
		subs, err := tx.Subscribers()
		if err != nil {
			return err
		}
		for _, s := range subs {
			if s.Kind == SubscriberEdge {
				out, err = e.deliveryState(tx, s)
				return err
			}
		}
		return nil
	})
	return out, err
}

// RewindEdgeLink moves, on the edge, the edge link's cursor back to
// lastApplied when the city holds less than the edge sent (it was
// restored from an older backup): the events after it go up again, and
// the city skips those it holds. It reports whether it moved the cursor.
func (e *Engine) RewindEdgeLink(ctx context.Context, lastApplied int64) (bool, error) {
	moved := false
	err := e.update(ctx, func(tx Tx) error {
		subs, err := tx.Subscribers()
		if err != nil {
			return err
		}
		for _, s := range subs {
			if s.Kind == SubscriberEdge && s.Cursor > lastApplied {
				s.Cursor, moved = lastApplied, true
				s.resume()
				return tx.SetDeliveryState(s)
			}
		}
		return nil
	})
	if moved && e.SubscribersChanged != nil {
		e.SubscribersChanged()
	}
	return moved, err
}
