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
	// SettingsChanged tells the other nodes, once committed, that a hall's
	// settings, services or rating settings changed, so that they read
	// them again (PostgreSQL: a notification); on one node it does nothing.
	SettingsChanged(hallID string) error

	Services(hallID string) ([]Service, error)
	Service(hallID, id string) (*Service, error)
	PutService(s *Service) error

	Counters(hallID string) ([]Counter, error)
	Counter(hallID, id string) (*Counter, error)
	PutCounter(c *Counter) error
	// ReleaseCounter clears a counter's current ticket if it is ticketID.
	ReleaseCounter(hallID, counterID, ticketID string) error

	Ticket(id string) (*Ticket, error)
	InsertTicket(t *Ticket) error
	UpdateTicket(t *Ticket) error
	// NextSeq gives the next ticket number of a service on a local day,
	// starting at 1; it is never given twice.
	NextSeq(hallID, serviceID, day string) (int, error)
	// QueueHeads returns, for each service, the first waiting priority
	// ticket, the first waiting normal walk-in ticket and the first waiting
	// appointment ticket (booking.go) in queue order.
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
	// PlaceAtEnd sets the Position of t, a ticket just put at the end of
	// its queue: how many wait before it in its class and above. A store
	// that holds statements back until the commit (PostgreSQL) sets it by
	// the time the write's Update returns.
	PlaceAtEnd(t *Ticket) error
	// HallLastEventID is the id of the hall's newest event, 0 if none.
	HallLastEventID(hallID string) (int64, error)
	// WaitingCounts gives the number of waiting tickets per service.
	WaitingCounts(hallID string) (map[string]int, error)
	// RecentCalls returns the last n tickets called in the hall, newest first.
	RecentCalls(hallID string, n int) ([]Ticket, error)
	// MeanHandling is the mean serving time in seconds of the last n tickets
	// done in a service, and how many there were.
	MeanHandling(hallID, serviceID string, n int) (float64, int, error)

	// Expected waits (predict.go; sqlstore/predict.go).
	// RecentHandling returns the last n tickets done in a service after a
	// call, newest first by done time: when each was issued, called and
	// done, and whether it was green-channel.
	RecentHandling(hallID, serviceID string, n int) ([]HandlingSample, error)

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

	// Ratings and follow-ups (rating.go, followup.go, calendar.go,
	// report.go; sqlstore/ratings.go).
	InsertRating(r *Rating) error
	RatingByTicket(ticketID string) (*Rating, error)
	// Ratings returns a hall's ratings given in [from, to), oldest first.
	Ratings(hallID string, from, to time.Time) ([]Rating, error)
	// SetServedBy records the user serving a ticket; ServedBy returns it,
	// or 0 when no user is recorded.
	SetServedBy(ticketID string, userID int64) error
	ServedBy(ticketID string) (int64, error)
	// TicketToRate reads a ticket with what rating it needs to know, in
	// one go: who served it (0 when nobody is recorded) and whether it
	// has been rated.
	TicketToRate(ticketID string) (t *Ticket, servedBy int64, rated bool, err error)
	// LastDone returns the ticket a counter finished last (not_found if
	// none).
	LastDone(hallID, counterID string) (*Ticket, error)
	// UnratedDone returns up to limit tickets of a channel done in
	// [doneFrom, doneTo) and never rated, oldest first.
	UnratedDone(hallID, channel string, doneFrom, doneTo time.Time, limit int) ([]Ticket, error)
	RatingSettings(hallID string) (*RatingSettings, error) // the defaults when never set
	PutRatingSettings(hallID string, s *RatingSettings) error
	InsertFollowUp(f *FollowUp) error
	UpdateFollowUp(f *FollowUp) error
	// FollowUp and FollowUps fill the ticket number and the rating's
	// contact phone (in clear) too. FollowUps gives newest first.
	FollowUp(id int64) (*FollowUp, error)
	FollowUps(q FollowUpQuery) ([]FollowUp, error)
	AppendFollowUpEntry(e *FollowUpEntry) error
	FollowUpEntries(followUpID int64) ([]FollowUpEntry, error) // oldest first
	// CalendarYears lists the years a hall has replaced in full;
	// CalendarDays all the hall's own days.
	CalendarYears(hallID string) ([]int, error)
	CalendarDays(hallID string) ([]CalendarDay, error)
	// PutCalendarYear replaces the hall's days of a year and marks the year
	// as the hall's; DeleteCalendarYear drops both.
	PutCalendarYear(hallID string, year int, days []CalendarDay) error
	DeleteCalendarYear(hallID string, year int) error
	PutCalendarDay(hallID string, d CalendarDay) error
	DeleteCalendarDay(hallID, date string) error

	// Display (web/display.go): the hall's big screen.
	// LatestAnnouncement returns the hall's newest announcement event still
	// kept, or a not_found error when there is none.
	LatestAnnouncement(hallID string) (*Event, error)

	// Counter page (stats.go): a counter's day.
	// CounterStats counts the tickets done and passed over at a counter
	// in [from, to).
	CounterStats(hallID, counterID string, from, to time.Time) (CounterStats, error)

	// Administration (admin_users.go): changing and removing what admins
	// created. DeleteUser also ends the user's sessions.
	UpdateUser(u *User) error
	DeleteUser(id int64) error
	DeleteSessions(userID int64) error
	Device(hallID string, id int64) (*Device, error)
	DeleteDevice(id int64) error
	DeleteService(hallID, id string) error
	DeleteCounter(hallID, id string) error
	// Announcements returns the hall's last n announcement events, newest
	// first.
	Announcements(hallID string, n int) ([]*Event, error)

	// Appointments (booking.go, slots.go, strikes.go; sqlstore/bookings.go).
	// BookingSettings gives the hall's booking rules, the defaults when
	// never set.
	BookingSettings(hallID string) (*BookingSettings, error)
	PutBookingSettings(hallID string, s *BookingSettings) error
	InsertBooking(b *Booking) error
	UpdateBooking(b *Booking) error
	// BookingByCode finds a booking by its code (not_found if none).
	BookingByCode(code string) (*Booking, error)
	// Bookings returns a hall's bookings with slots starting in [from,
	// to), in slot order, with the status of their tickets.
	Bookings(hallID string, from, to time.Time) ([]Booking, error)
	// SlotsTaken counts the places taken at now in a service's slots
	// starting in [from, to), by the start's Unix nanoseconds: every
	// booking but the cancelled ones already released.
	SlotsTaken(hallID, serviceID string, from, to, now time.Time) (map[int64]int, error)
	// PersonBookings returns the bookings of a person (by PersonKey) in a
	// hall with slots starting in [from, to), cancelled ones too.
	PersonBookings(hallID, personKey string, from, to time.Time) ([]Booking, error)
	// OverdueBookings returns up to limit bookings of a hall still booked
	// whose slots started before before, oldest first.
	OverdueBookings(hallID string, before time.Time, limit int) ([]Booking, error)
	InsertStrike(s *Strike) error
	UpdateStrike(s *Strike) error
	// Strike finds a strike of a hall; PersonStrikes gives a person's
	// strikes created since since, oldest first; HallStrikes a hall's,
	// newest first. All three fill the booking's code, service, slot and
	// masked person.
	Strike(hallID string, id int64) (*Strike, error)
	PersonStrikes(hallID, personKey string, since time.Time) ([]Strike, error)
	HallStrikes(hallID string, since time.Time) ([]Strike, error)
	// AppointmentRun counts the appointment tickets a counter called last
	// in a row, looking back at most max calls.
	AppointmentRun(hallID, counterID string, max int) (int, error)
	// WaitingAppointments counts the appointment tickets waiting in each
	// service of a hall.
	WaitingAppointments(hallID string) (map[string]int, error)
	// WaitingAppointmentsAfter counts the appointment tickets waiting in a
	// service with a place in time after after.
	WaitingAppointmentsAfter(hallID, serviceID string, after time.Time) (int, error)
	// AppointmentsBefore counts the appointment tickets waiting in t's
	// service that come before t, an appointment ticket.
	AppointmentsBefore(t *Ticket) (int, error)

	// Service guides and cases (guide.go, case.go; sqlstore/guides.go).
	// Guides lists a hall's guides: those matching q.Text best first (any
	// part of the name or a keyword; less weight for codes, authority and
	// material names), else in the hall's order; q.Limit < 0 means all.
	Guides(q GuideQuery) ([]Guide, error)
	Guide(id string) (*Guide, error)
	PutGuide(g *Guide) error // creates or replaces, by id
	DeleteGuide(id string) error
	// InsertCase sets c.ID; the applicant is stored as given (the engine
	// seals it).
	InsertCase(c *Case) error
	UpdateCase(c *Case) error
	Case(number string) (*Case, error)
	// Cases lists a hall's cases by q, newest first, without history.
	Cases(q CaseQuery) ([]Case, error)
	// CountCasesOn counts the cases a hall opened on a local day.
	CountCasesOn(hallID, day string) (int, error)
	AppendCaseEntry(e *CaseEntry) error            // sets e.ID
	CaseEntries(caseID int64) ([]CaseEntry, error) // oldest first

	// Dashboard, staffing planner and city overview (dashboard.go;
	// sqlstore/dashboard.go).
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
