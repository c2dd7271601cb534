package civiq

import (
	"context"
	"time"
)

// CounterDay is what a counter has done on one local day of its hall, and
// the ticket it has now: what staff at the counter see beside the buttons.
// It is for staff only: the current ticket comes whole.
type CounterDay struct {
	// Day is the hall's local day, "2006-01-02".
	Day string `json:"day"`
	// Served counts the tickets finished at the counter that day.
	Served int `json:"served"`
	// AverageHandlingSeconds is the mean time from the (last) call to done
	// of those tickets: staff who call the next citizen without pressing
	// start still get a true figure. 0 when none was served.
	AverageHandlingSeconds float64 `json:"average_handling_seconds"`
	// NoShows counts the tickets the counter passed over (过号) that day.
	NoShows int `json:"no_shows"`
	// Counter is the counter with its status and pause reason.
	Counter *Counter `json:"counter"`
	// CurrentTicket is the ticket called or served there now, or nil.
	CurrentTicket *Ticket `json:"current_ticket"`
	// Context is what the clerk should know of the current ticket beyond
	// it; nil without a current ticket.
	Context *ServingContext `json:"current_context,omitempty"`
}

// ServingContext is what the clerk at the counter sees of the ticket being
// served: who booked it (masked), the document of its green-channel group,
// its cases, the guide it was taken from, the note of its transfer. Staff
// only.
type ServingContext struct {
	// BookingName is the masked name of the appointment the ticket was
	// checked in from (张*), "" for other tickets.
	BookingName string `json:"booking_name,omitempty"`
	// CheckDocument is the document to check for the ticket's green-channel
	// group; nil for a normal ticket or a group of the hall's own.
	CheckDocument *GroupDocument `json:"check_document,omitempty"`
	// Cases are the cases opened on the ticket, newest first.
	Cases []CaseRef `json:"cases"`
	// Guide is the guide the ticket was taken from at the kiosk or on a
	// phone, nil for others.
	Guide *GuideRef `json:"guide,omitempty"`
	// TransferNote is the note of the transfer that sent the ticket here.
	TransferNote string `json:"transfer_note,omitempty"`
}

// GuideRef names a guide: its id and names.
type GuideRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEn string `json:"name_en,omitempty"`
}

// CaseRef names a case: its number, status and guide.
type CaseRef struct {
	Number      string `json:"number"`
	Status      string `json:"status"`
	GuideName   string `json:"guide_name"`
	GuideNameEn string `json:"guide_name_en,omitempty"`
}

// servingContext reads the context of t, the counter's current ticket.
func servingContext(tx Tx, t *Ticket) (*ServingContext, error) {
	sc := &ServingContext{Cases: []CaseRef{}}
	if d, ok := DocumentFor(t.PriorityGroup); ok && t.Priority == PriorityPriority {
		sc.CheckDocument = &d
	}
	b, err := ticketBooking(tx, t)
	if err != nil {
		return nil, err
	}
	if b != nil {
		sc.BookingName = MaskName(b.Name) // kept masked; masking again keeps it
	}
	cs, err := tx.Cases(CaseQuery{HallID: t.HallID, TicketID: t.ID, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		sc.Cases = append(sc.Cases, c.Ref())
	}
	if t.GuideID != "" {
		switch g, err := tx.Guide(t.GuideID); {
		case err == nil:
			sc.Guide = &GuideRef{ID: g.ID, Name: g.Name, NameEn: g.NameEn}
		case !IsNotFound(err): // a guide deleted since is left out
			return nil, err
		}
	}
	sc.TransferNote = t.TransferNote
	return sc, nil
}

// CounterToday returns the counter's work today, in the hall's local day,
// and its current ticket.
func (e *Engine) CounterToday(ctx context.Context, hallID, counterID string) (*CounterDay, error) {
	out := &CounterDay{}
	err := e.store.View(ctx, func(tx Tx) error {
		h, c, err := hallCounter(tx, hallID, counterID)
		if err != nil {
			return err
		}
		now := e.now()
		from, to := h.DayBounds(now)
		out.Day = h.Day(now)
		st, err := tx.CounterStats(hallID, counterID, from, to)
		if err != nil {
			return err
		}
		out.Served, out.AverageHandlingSeconds, out.NoShows = st.Served, st.MeanHandling, st.NoShows
		if c.CurrentTicketID != "" {
			t, err := tx.Ticket(c.CurrentTicketID)
			switch {
			case err == nil && t.CounterID == c.ID && (t.Status == StatusCalled || t.Status == StatusServing):
				if err := e.estimate(tx, t); err != nil {
					return err
				}
				out.CurrentTicket = t
				if out.Context, err = servingContext(tx, t); err != nil {
					return err
				}
			case err != nil && !IsNotFound(err):
				return err
			}
		}
		out.Counter = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CounterStats is what a store counts of one counter's tickets in a span
// of time.
type CounterStats struct {
	// Served counts tickets done at the counter in the span.
	Served int
	// MeanHandling is their mean time from call to done, in seconds.
	MeanHandling float64
	// NoShows counts the tickets passed over at the counter in the span.
	NoShows int
}

// StatsTx is what a store counts for the counter page (stats.go), the
// dashboard, the staffing planner and the city overview (dashboard.go)
// (sqlstore/stats.go).
type StatsTx interface {
	// CounterStats counts the tickets done and passed over at a counter
	// in [from, to).
	CounterStats(hallID, counterID string, from, to time.Time) (CounterStats, error)
	// TicketsOfDays returns a hall's tickets numbered on the local days
	// fromDay..toDay ("YYYY-MM-DD", inclusive), in order of issue.
	TicketsOfDays(hallID, fromDay, toDay string) ([]Ticket, error)
	// FirstCalls gives the time of the first ticket.called event of each
	// ticket called at or after since, from the events still kept.
	FirstCalls(hallID string, since time.Time) (map[string]time.Time, error)
	// OldestWaiting gives, for each service with a ticket waiting, the
	// issue time of the earliest issued of them.
	OldestWaiting(hallID string) (map[string]time.Time, error)
}
