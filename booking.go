package civiq

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Appointments (预约): a citizen books a slot of a service in their real
// name with a mobile number and an ID number, arrives, checks in at the
// kiosk with the booking code and the last 4 characters of the ID number,
// and gets an appointment ticket that is called at the slot's time ahead of
// walk-ins (policy.go). Scalpers are held off by the limits per person, the
// rate limits per phone and address (api/bookings.go), check-in in the
// booked person's name only, and cancelled places coming back at random
// times. No-shows are strikes (strikes.go).

// Booking statuses.
const (
	BookingBooked    = "booked"
	BookingCheckedIn = "checked_in"
	BookingCancelled = "cancelled"
	BookingNoShow    = "no_show"
)

// Events of bookings: none carries personal data; the booking's id,
// service, slot and status go in the staff view only.
const (
	EventBookingCreated   = "booking.created"
	EventBookingCancelled = "booking.cancelled"
	EventBookingNoShow    = "booking.no_show"
	EventStrikeCleared    = "booking.strike_cleared"
	EventBookingSettings  = "booking.settings"
)

// Booking is one citizen's appointment. The name, phone and ID number are
// kept sealed (encrypted) with keyed hashes to find a person's bookings;
// every view shows them masked only.
type Booking struct {
	ID        string    `json:"id"`
	Code      string    `json:"code"`
	HallID    string    `json:"hall_id"`
	ServiceID string    `json:"service_id"`
	SlotStart time.Time `json:"slot_start"`
	SlotEnd   time.Time `json:"slot_end"`
	Status    string    `json:"status"`
	// Name, Phone and IDNumber are masked: 张*, 138****5678,
	// 110***********1234.
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	IDNumber string `json:"id_number"`
	// PersonKey is the keyed hash of the ID number, PhoneKey of the phone.
	PersonKey string `json:"-"`
	PhoneKey  string `json:"-"`
	// The sealed name, phone and ID number.
	NameSealed  string `json:"-"`
	PhoneSealed string `json:"-"`
	IDSealed    string `json:"-"`

	CreatedAt   time.Time  `json:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	// ReleasedAt is when a cancelled place is free again.
	ReleasedAt   *time.Time `json:"-"`
	CheckedInAt  *time.Time `json:"checked_in_at,omitempty"`
	NoShowAt     *time.Time `json:"no_show_at,omitempty"`
	TicketID     string     `json:"ticket_id,omitempty"`
	TicketNumber string     `json:"ticket_number,omitempty"`
	// TicketStatus is the status of the ticket of a checked-in booking,
	// filled in the staff's list.
	TicketStatus string `json:"ticket_status,omitempty"`
	// Pass is the booking's signed pass (bookingpass.go), given to its
	// holder while it is booked; never stored.
	Pass string `json:"pass,omitempty"`
}

// BookingTx is what a store keeps of appointments: bookings, their
// settings, strikes (strikes.go) and the appointment tickets in the queues
// (sqlstore/bookings.go).
type BookingTx interface {
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
}

// Ref is what events tell of a booking.
func (b *Booking) Ref() *BookingRef {
	return &BookingRef{ID: b.ID, ServiceID: b.ServiceID, SlotStart: b.SlotStart.UTC(), Status: b.Status}
}

// In shows the booking's times in loc, the hall's time zone.
func (b *Booking) In(loc *time.Location) {
	b.SlotStart, b.SlotEnd, b.CreatedAt = b.SlotStart.In(loc), b.SlotEnd.In(loc), b.CreatedAt.In(loc)
	for _, p := range []**time.Time{&b.CancelledAt, &b.CheckedInAt, &b.NoShowAt} {
		if *p != nil {
			v := (*p).In(loc)
			*p = &v
		}
	}
}

// BookingRef is a booking in events: no personal data.
type BookingRef struct {
	ID        string    `json:"id"`
	ServiceID string    `json:"service_id"`
	SlotStart time.Time `json:"slot_start"`
	Status    string    `json:"status"`
}

// codeAlphabet has no 0/O, 1/I/L: booking codes are read aloud and typed.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// CodeLength is the length of a booking code.
const CodeLength = 8

// NewBookingCode returns a random booking code of CodeLength characters
// (about 40 bits).
func NewBookingCode() string { return randomCode(CodeLength) }

// randomCode returns n random characters of codeAlphabet (about 5 bits
// each): booking and receipt codes.
func randomCode(n int) string {
	b := make([]byte, n)
	size := big.NewInt(int64(len(codeAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, size)
		if err != nil {
			panic(err)
		}
		b[i] = codeAlphabet[k.Int64()]
	}
	return string(b)
}

// NormalizeCode reads a booking code as typed: case, spaces and dashes do
// not matter. It returns "" for anything that is not a code.
func NormalizeCode(s string) string { return normalizeCode(s, CodeLength) }

// normalizeCode reads a code of n characters of codeAlphabet as typed, or
// gives "".
func normalizeCode(s string, n int) string {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s)))
	if len(s) != n {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(codeAlphabet, rune(s[i])) {
			return ""
		}
	}
	return s
}

// needSealer reports a server set up without a secret key.
func (e *Engine) needSealer() error {
	if e.Sealer == nil {
		return Errorf(EUnavailable, "bookings are not available: the server has no secret key")
	}
	return nil
}

// BookRequest asks for an appointment.
type BookRequest struct {
	HallID    string
	ServiceID string
	SlotStart string // RFC 3339
	Name      string
	Phone     string
	IDNumber  string
}

// CheckName checks a person's name as booked: 1 to 30 characters, no
// control characters; it returns it trimmed.
func CheckName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", FieldErrorf("name", "name is required")
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 30 || strings.ContainsFunc(name, unicode.IsControl) {
		return "", FieldErrorf("name", "name must be 1-30 characters")
	}
	return name, nil
}

// ParseSlotStart reads the start of a slot as a client sends it.
func ParseSlotStart(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, FieldErrorf("slot_start", "slot_start must be a time in RFC 3339, as the slots list gives it")
	}
	return t, nil
}

// BookingPhone checks a mainland mobile number for a booking.
func BookingPhone(s string) (string, error) {
	p, err := NormalizePhone(s)
	if err != nil {
		return "", FieldErrorf("phone", "phone must be a mainland mobile number, 11 digits starting 13-19")
	}
	return p, nil
}

// weekOf is the Monday 00:00 (local) of the week of t.
func weekOf(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	wd := (int(t.Weekday()) + 6) % 7 // Monday 0
	return time.Date(t.Year(), t.Month(), t.Day()-wd, 0, 0, 0, 0, loc)
}

// CheckLimits says whether a person holding held (their bookings in the
// week of the new slot, none cancelled) may book serviceID at start:
// at most MaxPerServiceDay active bookings of a service a day, at most
// MaxPerWeek bookings a week.
func (s *BookingSettings) CheckLimits(held []Booking, serviceID string, start time.Time, loc *time.Location) error {
	day := Date(start, loc)
	sameDay, week := 0, 0
	wk := weekOf(start, loc)
	for _, b := range held {
		if b.Status == BookingCancelled {
			continue
		}
		if !b.SlotStart.Before(wk) && b.SlotStart.Before(wk.AddDate(0, 0, 7)) {
			week++
		}
		if b.ServiceID == serviceID && (b.Status == BookingBooked || b.Status == BookingCheckedIn) && Date(b.SlotStart, loc).Equal(day) {
			sameDay++
		}
	}
	if sameDay >= s.MaxPerServiceDay {
		return Errorf(ELimitReached, "you already hold a booking for this service on this day")
	}
	if week >= s.MaxPerWeek {
		return Errorf(ELimitReached, "you already hold %d bookings this week, the most allowed", week)
	}
	return nil
}

// Book makes an appointment: the checks of input, then in one transaction
// the slot, the person's suspension and limits and the slot's capacity, the
// booking and its event.
func (e *Engine) Book(ctx context.Context, req BookRequest) (*Booking, error) {
	if err := e.Refuse(ctx, WorkBookings, req.HallID); err != nil { // edge.go: the city owns it
		return nil, err
	}
	if err := e.needSealer(); err != nil {
		return nil, err
	}
	if req.ServiceID == "" {
		return nil, FieldErrorf("service_id", "service_id is required")
	}
	start, err := ParseSlotStart(req.SlotStart)
	if err != nil {
		return nil, err
	}
	name, err := CheckName(req.Name)
	if err != nil {
		return nil, err
	}
	phone, err := BookingPhone(req.Phone)
	if err != nil {
		return nil, err
	}
	id, err := ParseIDNumber(req.IDNumber)
	if err != nil {
		return nil, err
	}
	b := &Booking{
		ID: NewTicketID(), HallID: req.HallID, ServiceID: req.ServiceID, Status: BookingBooked,
		Name: MaskName(name), Phone: MaskPhone(phone), IDNumber: MaskIDNumber(id),
		PersonKey: e.Sealer.Hash("id", id), PhoneKey: e.Sealer.Hash("phone", phone),
		NameSealed: e.Sealer.Seal(name), PhoneSealed: e.Sealer.Seal(phone), IDSealed: e.Sealer.Seal(id),
	}
	var loc *time.Location
	err = e.update(ctx, func(tx Tx) error {
		hall, _, s, err := bookingService(tx, req.HallID, req.ServiceID)
		if err != nil {
			return err
		}
		loc = hall.Location()
		now := e.now()
		if _, err := e.sweepHall(tx, hall, s, now); err != nil {
			return err
		}
		day, err := e.daySlots(tx, hall, req.ServiceID, s, Date(start, loc), now)
		if err != nil {
			return err
		}
		var slot *Slot
		for i := range day.Slots {
			if day.Slots[i].Start.Equal(start) {
				slot = &day.Slots[i]
			}
		}
		if slot == nil {
			return FieldErrorf("slot_start", "%s is not the start of a slot of this service", req.SlotStart)
		}
		if err := s.BookableAt(slot.Start, now, loc); err != nil {
			return err
		}
		strikes, err := tx.PersonStrikes(hall.ID, b.PersonKey, now.Add(-days(s.StrikeWindowDays+s.SuspendDays)))
		if err != nil {
			return err
		}
		if until := SuspendedUntil(strikes, s); until.After(now) {
			return Errorf(ESuspended, "booking is suspended until %s after repeated no-shows", until.In(loc).Format(time.DateOnly))
		}
		wk := weekOf(start, loc)
		held, err := tx.PersonBookings(hall.ID, b.PersonKey, wk, wk.AddDate(0, 0, 7))
		if err != nil {
			return err
		}
		if err := s.CheckLimits(held, req.ServiceID, start, loc); err != nil {
			return err
		}
		if slot.Available <= 0 {
			return Errorf(ESlotFull, "this slot is full: please choose another")
		}
		b.SlotStart, b.SlotEnd, b.CreatedAt = slot.Start, slot.End, now
		for range 5 {
			b.Code = NewBookingCode()
			if _, err := tx.BookingByCode(b.Code); ErrorCode(err) == ENotFound {
				break
			} else if err != nil {
				return err
			}
		}
		if err := tx.InsertBooking(b); err != nil {
			return err
		}
		return tx.AppendEvent(&Event{HallID: hall.ID, Type: EventBookingCreated, At: now, Booking: b.Ref()})
	})
	if err != nil {
		return nil, err
	}
	b.In(loc)
	b.Pass = e.bookingPass(b, id)
	return b, nil
}

// errNoBooking is the answer to a code and ID that do not match: the same
// whether the code is unknown or the ID wrong, so codes cannot be probed.
var errNoBooking = Errorf(ENotFound, "no booking has this code and ID number")

// verifyLast4 compares the last 4 characters of the booked ID number with
// those typed.
func verifyLast4(b *Booking, last4 string) bool {
	got := strings.ToUpper(strings.TrimSpace(last4))
	want := Last4(b.IDNumber)
	return len(got) == 4 && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// findBooking reads the booking of a code, checked by the last 4
// characters of its ID number unless staff skip it.
// Last 4 characters given and wrong set *wrong (see guardCode).
func findBooking(tx Tx, code, last4 string, skipCheck bool, wrong *bool) (*Booking, error) {
	c := NormalizeCode(code)
	if c == "" {
		return nil, errNoBooking
	}
	b, err := tx.BookingByCode(c)
	if ErrorCode(err) == ENotFound {
		return nil, errNoBooking
	}
	if err != nil {
		return nil, err
	}
	if !skipCheck && !verifyLast4(b, last4) {
		if last4 != "" {
			*wrong = true
		}
		return nil, errNoBooking
	}
	return b, nil
}

// codeBlocked refuses a booking code whose last 4 characters were given
// wrong 5 times in the last 15 minutes (tries.go); codeTried counts a
// wrong try, once per request however often the store ran its look-up.
func (e *Engine) codeBlocked(code, last4 string) error {
	if c := NormalizeCode(code); c != "" && last4 != "" && e.codeTries.blocked(c, e.now) {
		return Errorf(ERateLimited, "too many wrong tries for this booking code: wait 15 minutes")
	}
	return nil
}

func (e *Engine) codeTried(code string, wrong bool) {
	if wrong {
		e.codeTries.failed(NormalizeCode(code), e.now())
	}
}

// FindBooking returns a booking to whoever holds its code and the last 4
// characters of its ID number (or to staff of its hall, by), with its hall
// and service.
func (e *Engine) FindBooking(ctx context.Context, code, last4 string, by Principal) (*Booking, *Hall, *Service, error) {
	var b *Booking
	var hall *Hall
	var svc *Service
	if err := e.codeBlocked(code, last4); err != nil {
		return nil, nil, nil, err
	}
	wrong, holder := false, false
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		if b, err = findBooking(tx, code, last4, false, &wrong); err == nil {
			holder = true
		} else {
			if last4 != "" || ErrorCode(err) != ENotFound {
				return err
			}
			// Without the ID's last 4, only staff of the hall see it.
			if b, err = findBooking(tx, code, "", true, &wrong); err != nil {
				return err
			}
			if !by.Can(PermStaffView, b.HallID, "") {
				return errNoBooking
			}
		}
		if hall, err = tx.Hall(b.HallID); err != nil {
			return err
		}
		svc, err = tx.Service(b.HallID, b.ServiceID)
		return err
	})
	e.codeTried(code, wrong)
	if err != nil {
		return nil, nil, nil, err
	}
	b.In(hall.Location())
	if holder {
		b.Pass = e.bookingPass(b, "")
	}
	return b, hall, svc, nil
}

// CancelRequest cancels a booking: the citizen with the code and the
// last 4 characters of the ID number, until CancelMinutes before the slot;
// staff of the hall without either (By).
type CancelRequest struct {
	Code    string
	IDLast4 string
	By      Principal
}

// CancelBooking cancels a booking; its place comes back at a random time
// within the hall's ReleaseMinutes.
func (e *Engine) CancelBooking(ctx context.Context, req CancelRequest) (*Booking, error) {
	var b *Booking
	var loc *time.Location
	if e.Node.Edge() { // edge.go: the city owns bookings made online
		return nil, e.Node.Refuse(WorkBookings, true)
	}
	if err := e.codeBlocked(req.Code, req.IDLast4); err != nil {
		return nil, err
	}
	wrong, relayed := false, false
	err := e.update(ctx, func(tx Tx) error {
		var err error
		staff := false
		if b, err = findBooking(tx, req.Code, req.IDLast4, false, &wrong); err != nil {
			if ErrorCode(err) != ENotFound {
				return err
			}
			if b, err = findBooking(tx, req.Code, "", true, &wrong); err != nil {
				return err
			}
			if !req.By.Can(PermStaffView, b.HallID, "") {
				return errNoBooking
			}
			staff = true
		}
		hall, err := tx.Hall(b.HallID)
		if err != nil {
			return err
		}
		loc = hall.Location()
		s, err := tx.BookingSettings(b.HallID)
		if err != nil {
			return err
		}
		if b.Status != BookingBooked {
			return Errorf(EConflict, "a booking that is %s cannot be cancelled", b.Status)
		}
		now := e.now()
		if !staff && now.After(b.SlotStart.Add(-minutes(s.CancelMinutes))) {
			return Errorf(ETooLate, "bookings are cancelled at least %d minutes before the slot; ask the hall's staff", s.CancelMinutes)
		}
		release := now
		if s.ReleaseMinutes > 0 {
			k, err := rand.Int(rand.Reader, big.NewInt(int64(minutes(s.ReleaseMinutes))))
			if err != nil {
				return err
			}
			release = now.Add(time.Duration(k.Int64()))
		}
		b.Status, b.CancelledAt, b.ReleasedAt = BookingCancelled, &now, &release
		if err := tx.UpdateBooking(b); err != nil {
			return err
		}
		// The hall's edge, which may have pulled it, is told (edgerelay.go).
		if relayed, err = e.edgeHallTx(tx, b.HallID); err != nil {
			return err
		} else if relayed {
			if err := tx.InsertEdgeRequest(&EdgeRequest{HallID: b.HallID, Kind: RequestCancelBooking, Code: b.Code,
				Status: RequestPending, CreatedAt: now}); err != nil {
				return err
			}
		}
		return tx.AppendEvent(&Event{HallID: b.HallID, Type: EventBookingCancelled, At: now, Booking: b.Ref()})
	})
	if err == nil && relayed {
		e.relay.wake.signal(b.HallID)
	}
	e.codeTried(req.Code, wrong)
	if err != nil {
		return nil, err
	}
	b.In(loc)
	return b, nil
}

// CheckInRequest checks a citizen in at the kiosk or at a counter: the
// booking code with the last 4 characters of the ID number, or with the
// whole ID number as a card reader gives it (and the name, when it gives
// that too: both must match the booking). At an edge node, a booking it
// never pulled checks in by its signed pass (bookingpass.go), the code
// being the pass's when not given.
type CheckInRequest struct {
	HallID   string
	Code     string
	IDLast4  string
	IDNumber string
	Name     string
	Pass     string
}

// CheckIn turns a booking into an appointment ticket: from
// CheckInEarlyMinutes before the slot to CheckInLateMinutes after its
// start. The ticket waits in the appointment class from the slot's start
// (its place in time): an early arrival is not called before it.
func (e *Engine) CheckIn(ctx context.Context, req CheckInRequest, idem *Idem) (*Ticket, *Booking, error) {
	if req.IDLast4 == "" && req.IDNumber == "" {
		return nil, nil, FieldErrorf("id_last4", "id_last4 (or id_number) is required")
	}
	var idNumber string
	if req.IDNumber != "" {
		if err := e.needSealer(); err != nil {
			return nil, nil, err
		}
		var err error
		if idNumber, err = ParseIDNumber(req.IDNumber); err != nil {
			return nil, nil, err
		}
	}
	var out *Ticket
	var booking *Booking
	if req.Code == "" && req.Pass != "" {
		if p, _, _, err := ParseBookingPass(req.Pass); err == nil {
			req.Code = p.Code
		}
	}
	if err := e.codeBlocked(req.Code, req.IDLast4); err != nil {
		return nil, nil, err
	}
	wrong := false
	err := e.update(ctx, func(tx Tx) error {
		t, err := e.idempotent(tx, idem, func() (*Ticket, error) {
			b, err := findBooking(tx, req.Code, req.IDLast4, idNumber != "", &wrong)
			if ErrorCode(err) == ENotFound && req.Pass != "" {
				b, err = e.passCheckIn(tx, req, idNumber, &wrong)
			}
			if err != nil {
				return nil, err
			}
			if b.HallID != req.HallID {
				return nil, errNoBooking
			}
			if idNumber != "" && subtle.ConstantTimeCompare([]byte(e.Sealer.Hash("id", idNumber)), []byte(b.PersonKey)) != 1 {
				return nil, errNoBooking
			}
			if name := strings.TrimSpace(req.Name); name != "" && b.NameSealed != "" { // a pass names no one
				if err := e.needSealer(); err != nil {
					return nil, err
				}
				booked, err := e.Sealer.Open(b.NameSealed)
				if err != nil {
					return nil, err
				}
				if booked != name {
					return nil, Errorf(EForbidden, "the name does not match the booking: bookings are not transferable")
				}
			}
			hall, err := tx.Hall(b.HallID)
			if err != nil {
				return nil, err
			}
			s, err := tx.BookingSettings(b.HallID)
			if err != nil {
				return nil, err
			}
			loc := hall.Location()
			now := e.now()
			switch b.Status {
			case BookingCheckedIn:
				return nil, Errorf(EConflict, "this booking has already been checked in: ticket %s", b.TicketNumber)
			case BookingCancelled:
				return nil, Errorf(EConflict, "this booking was cancelled")
			case BookingNoShow:
				return nil, Errorf(ETooLate, "check-in closed %d minutes after the slot's start; please take a ticket", s.CheckInLateMinutes)
			}
			if opens := b.SlotStart.Add(-minutes(s.CheckInEarlyMinutes)); now.Before(opens) {
				return nil, Errorf(ETooEarly, "check-in opens at %s, %d minutes before your slot", opens.In(loc).Format("15:04"), s.CheckInEarlyMinutes)
			}
			if now.After(b.SlotStart.Add(minutes(s.CheckInLateMinutes))) {
				return nil, Errorf(ETooLate, "check-in closed %d minutes after the slot's start; please take a ticket", s.CheckInLateMinutes)
			}
			svc, err := tx.Service(b.HallID, b.ServiceID)
			if err != nil {
				return nil, err
			}
			t, err := numberedTicket(tx, hall, svc, ChannelAppointment, now)
			if err != nil {
				return nil, err
			}
			t.QueuedAt = b.SlotStart // called by its slot's start
			// The booking's ID (or the card reader's, which matched it)
			// gives the green channel by age (greenage.go).
			id := idNumber
			if id == "" && e.Sealer != nil && b.IDSealed != "" {
				if id, err = e.Sealer.Open(b.IDSealed); err != nil {
					return nil, fmt.Errorf("open the booking's ID number: %w", err)
				}
			}
			if g := hall.AutoPriority(id, now); g != "" {
				t.Priority, t.PriorityGroup, t.PriorityBy = PriorityPriority, g, PriorityByAge
			}
			// Its person, so a walk-in ticket of the same ID later that day
			// counts it for per_person_daily (quota.go).
			t.Holder = e.personOfID(id)
			if err := tx.InsertTicket(t); err != nil {
				return nil, err
			}
			b.Status, b.CheckedInAt, b.TicketID, b.TicketNumber = BookingCheckedIn, &now, t.ID, t.Number
			if err := tx.UpdateBooking(b); err != nil {
				return nil, err
			}
			return t, tx.AppendEvent(&Event{HallID: hall.ID, Type: EventIssued, At: now, Ticket: t, Booking: b.Ref()})
		})
		if err != nil {
			return err
		}
		out = t
		if booking, err = tx.BookingByCode(NormalizeCode(req.Code)); err != nil {
			return err
		}
		return e.estimate(tx, out)
	})
	e.codeTried(req.Code, wrong)
	if err != nil {
		return nil, nil, err
	}
	booking.In(out.IssuedAt.Location())
	return out, booking, nil
}

// HallBookings returns a hall's bookings of a day (YYYY-MM-DD, "" for
// today) in slot order, for the staff: masked, with the state of their
// tickets. No-shows are recorded first.
func (e *Engine) HallBookings(ctx context.Context, hallID, date string) ([]Booking, error) {
	if _, err := e.SweepNoShows(ctx, hallID); err != nil {
		return nil, err
	}
	var out []Booking
	err := e.store.View(ctx, func(tx Tx) error {
		hall, err := tx.Hall(hallID)
		if err != nil {
			return err
		}
		loc := hall.Location()
		d := Date(e.now(), loc)
		if date != "" {
			if d, err = ParseDate("date", date); err != nil {
				return err
			}
		}
		from := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
		if out, err = tx.Bookings(hallID, from, from.AddDate(0, 0, 1)); err != nil {
			return err
		}
		for i := range out {
			out[i].In(loc)
		}
		return nil
	})
	if out == nil {
		out = []Booking{}
	}
	return out, err
}

// callState is what CallNext tells PickNextWith about appointments: the
// time, and how many appointment tickets the counter called in a row.
func (e *Engine) callState(tx Tx, hallID, counterID string, heads []Ticket, now time.Time) (CallState, error) {
	cs := CallState{Now: now}
	appointments := false
	for i := range heads {
		appointments = appointments || heads[i].Appointment()
	}
	if !appointments {
		return cs, nil
	}
	s, err := tx.BookingSettings(hallID)
	if err != nil {
		return cs, err
	}
	cs.MaxAppointmentRun = s.MaxAppointmentRun
	if cs.MaxAppointmentRun > 0 {
		cs.AppointmentRun, err = tx.AppointmentRun(hallID, counterID, cs.MaxAppointmentRun)
	}
	return cs, err
}

// appointmentWait is the expected wait of a waiting ticket: an appointment
// ticket of an early arrival is not called before its slot.
func appointmentWait(t *Ticket, eta int, now time.Time) int {
	if t.Appointment() && t.QueuedAt.After(now) {
		return max(eta, int(t.QueuedAt.Sub(now).Seconds()))
	}
	return eta
}

// appointmentsAhead fills predict.go's hook (dueAppointments): for a
// walk-in, the appointment tickets of its service waiting with a later
// place in time, which its queue counts behind it yet counters call before
// it once due; for an appointment ticket none, as those of earlier slots
// are ahead of it in its queue already.
func appointmentsAhead(tx Tx, t *Ticket) int {
	if t.Appointment() || t.Priority == PriorityPriority {
		return 0
	}
	n, err := tx.WaitingAppointmentsAfter(t.HallID, t.ServiceID, t.QueuedAt)
	if err != nil {
		return 0 // an estimate: without the count it leaves them out
	}
	return n
}

// ticketBooking finds the booking an appointment ticket was checked in
// from; nil for any other ticket, or when there is none.
func ticketBooking(tx Tx, t *Ticket) (*Booking, error) {
	if t.Channel != ChannelAppointment {
		return nil, nil
	}
	// Check-in is at most 240 minutes (BookingSettings.Validate) from the
	// slot's start.
	list, err := tx.Bookings(t.HallID, t.IssuedAt.Add(-6*time.Hour), t.IssuedAt.Add(6*time.Hour))
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].TicketID == t.ID {
			return &list[i], nil
		}
	}
	return nil, nil
}
