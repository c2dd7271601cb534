package civiq

// Counter statuses.
const (
	CounterOpen   = "open"
	CounterPaused = "paused"
	CounterClosed = "closed"
)

// Counter is one window (窗口) of a hall, serving its services in the order
// listed. Admins set its services; staff at it open, pause and close it.
type Counter struct {
	HallID     string   `json:"-"`
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	ServiceIDs []string `json:"service_ids"`
	Status     string   `json:"status"`
	// PauseReason says why a paused counter is away (暂离), for the screens.
	PauseReason string `json:"pause_reason,omitempty"`
	// CurrentTicketID is the ticket called or served there now, if any.
	CurrentTicketID string `json:"current_ticket_id,omitempty"`
}

// CounterTx is what a store keeps of counters (sqlstore/counters.go).
type CounterTx interface {
	Counters(hallID string) ([]Counter, error)
	Counter(hallID, id string) (*Counter, error)
	PutCounter(c *Counter) error
	// ReleaseCounter clears a counter's current ticket if it is ticketID.
	ReleaseCounter(hallID, counterID, ticketID string) error
	DeleteCounter(hallID, id string) error
}

// Public returns the counter as anyone may see it: without the id of the
// ticket at it (a ticket's id is its holder's key).
func (c Counter) Public() Counter {
	c.CurrentTicketID = ""
	return c
}

// Serves reports whether the counter serves the service.
func (c *Counter) Serves(serviceID string) bool {
	for _, s := range c.ServiceIDs {
		if s == serviceID {
			return true
		}
	}
	return false
}

// SetStatus changes the counter's status; a pause needs a reason.
func (c *Counter) SetStatus(status, reason string) error {
	switch status {
	case CounterOpen, CounterClosed:
		c.Status, c.PauseReason = status, ""
	case CounterPaused:
		if reason == "" {
			return FieldErrorf("reason", "a pause needs a reason")
		}
		if len([]rune(reason)) > 100 {
			return FieldErrorf("reason", "reason is at most 100 characters")
		}
		c.Status, c.PauseReason = status, reason
	default:
		return FieldErrorf("status", "status must be open, paused or closed")
	}
	return nil
}
