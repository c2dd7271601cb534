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
}

// CounterToday returns the counter's work today, in the hall's local day,
// and its current ticket.
func (e *Engine) CounterToday(ctx context.Context, hallID, counterID string) (*CounterDay, error) {
	out := &CounterDay{}
	err := e.store.View(ctx, func(tx Tx) error {
		h, err := tx.Hall(hallID)
		if err != nil {
			return err
		}
		c, err := tx.Counter(hallID, counterID)
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
