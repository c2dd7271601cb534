package civiq

import (
	"context"
	"time"
)

// Store keeps a hall's state. Update runs fn in one write transaction:
// every change a user can see and its event rows commit together, and the
// events are published only after the commit. When Update returns nil the
// change is on disk.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	// EventsAfter returns up to limit events of the hall with an id above
	// after, oldest first.
	EventsAfter(ctx context.Context, hallID string, after int64, limit int) ([]*Event, error)
	Close() error
}

// Tx is one transaction's view of the store. Methods that find one thing
// return a not_found *Error when it is absent.
type Tx interface {
	Halls() ([]Hall, error)
	Hall(id string) (*Hall, error)
	PutHall(h *Hall) error

	Services(hallID string) ([]Service, error)
	Service(hallID, id string) (*Service, error)
	PutService(s *Service) error

	Counters(hallID string) ([]Counter, error)
	Counter(hallID, id string) (*Counter, error)
	PutCounter(c *Counter) error

	Ticket(id string) (*Ticket, error)
	InsertTicket(t *Ticket) error
	UpdateTicket(t *Ticket) error
	// NextSeq gives the next ticket number of a service on a local day,
	// starting at 1; it is never given twice.
	NextSeq(hallID, serviceID, day string) (int, error)
	// QueueHeads returns, for each service, the first waiting priority
	// ticket and the first waiting normal ticket in queue order.
	QueueHeads(hallID string, serviceIDs []string) ([]Ticket, error)
	// WaitingPlaces returns the places in time of the normal tickets waiting
	// in a service, in order, at most limit of them.
	WaitingPlaces(hallID, serviceID string, limit int) ([]time.Time, error)
	// CountBehind counts the waiting tickets of t's service and priority
	// class that come after t.
	CountBehind(t *Ticket) (int, error)
	// QueueLength gives how many priority and normal tickets wait in a
	// service.
	QueueLength(hallID, serviceID string) (priority, normal int, err error)
	// WaitingCounts gives the number of waiting tickets per service.
	WaitingCounts(hallID string) (map[string]int, error)
	// RecentCalls returns the last n tickets called in the hall, newest first.
	RecentCalls(hallID string, n int) ([]Ticket, error)
	// MeanHandling is the mean serving time in seconds of the last n tickets
	// done in a service, and how many there were.
	MeanHandling(hallID, serviceID string, n int) (float64, int, error)

	AppendEvent(e *Event) error
	// Prune deletes events and idempotency keys older than the times given.
	Prune(eventsBefore, keysBefore time.Time) error

	Idempotency(scope, key string, since time.Time) (*IdempotencyRecord, error)
	PutIdempotency(r *IdempotencyRecord) error

	UserCount() (int, error)
	User(username string) (*User, error)
	UserByID(id int64) (*User, error)
	Users() ([]User, error)
	InsertUser(u *User) error
	Session(tokenHash string) (*Session, error)
	InsertSession(s *Session) error
	DeleteSession(tokenHash string) error

	Devices(hallID string) ([]Device, error)
	InsertDevice(d *Device) error
	DeviceByPairingCode(code string) (*Device, error)
	DeviceByToken(tokenHash string) (*Device, error)
	UpdateDevice(d *Device) error

	InsertRating(r *Rating) error
	RatingByTicket(ticketID string) (*Rating, error)
}

// IdempotencyRecord remembers the answer to a request sent with an
// Idempotency-Key, so the same key gives the same answer for 24 hours.
type IdempotencyRecord struct {
	Scope       string
	Key         string
	RequestHash string
	TicketID    string // empty when the answer had no ticket (204)
	CreatedAt   time.Time
}

// IdempotencyWindow is how long a key is remembered.
const IdempotencyWindow = 24 * time.Hour

// Rating is a citizen's rating of one served ticket (好差评).
type Rating struct {
	ID        int64     `json:"id"`
	TicketID  string    `json:"ticket_id"`
	HallID    string    `json:"hall_id"`
	ServiceID string    `json:"service_id"`
	CounterID string    `json:"counter_id"`
	Score     int       `json:"score"`
	Comment   string    `json:"comment,omitempty"`
	Channel   string    `json:"channel"`
	CreatedAt time.Time `json:"created_at"`
}
