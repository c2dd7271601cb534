package civiq

import "context"

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

// Tx is one transaction's view of the store: the store interfaces of the
// concepts, each declared in its concept's file. Methods that find one
// thing return a not_found *Error when it is absent.
type Tx interface {
	HallTx
	CounterTx
	TicketTx
	EventTx
	IdempotencyTx
	UserTx
	AuditTx
	DeviceTx
	RatingTx
	FollowUpTx
	CalendarTx
	BookingTx
	GuideTx
	CaseTx
	ReceiptTx
	StatsTx
	DeliveryTx
	EdgePullTx
	EdgeRequestTx
	EdgeTx
	HaochapingTx
	NotifyTx
	NotifyOpsTx
	AlertTx
	ReportTx
	SSOTx
}
