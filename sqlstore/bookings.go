package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/civiq/civiq"
)

// Appointments: booking settings, bookings and strikes (civiq's booking.go,
// slots.go, strikes.go).

var _ civiq.BookingTx = (*tx)(nil)

func (t *tx) BookingSettings(hallID string) (*civiq.BookingSettings, error) {
	s := civiq.DefaultBookingSettings()
	var data string
	err := t.row(`SELECT data FROM booking_settings WHERE hall_id = ?`, hallID).Scan(&data)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err == nil {
		// Decoded over the defaults: a field a hall never set keeps its
		// default, one set to 0 stays 0.
		if err := json.Unmarshal([]byte(data), &s); err != nil {
			return nil, fmt.Errorf("decode booking settings: %w", err)
		}
	}
	if s.Services == nil {
		s.Services = map[string]civiq.ServiceBooking{}
	}
	return &s, nil
}

func (t *tx) PutBookingSettings(hallID string, s *civiq.BookingSettings) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO booking_settings (hall_id, data) VALUES (?, ?) ON CONFLICT (hall_id) DO UPDATE SET data = excluded.data`, hallID, string(data))
}

const bookingCols = `b.id, b.code, b.hall_id, b.service_id, b.slot_start, b.slot_end, b.status, b.person_key, b.phone_key,
	b.name_sealed, b.name_masked, b.phone_sealed, b.phone_masked, b.id_sealed, b.id_masked, b.created_at,
	b.cancelled_at, b.released_at, b.checked_in_at, b.no_show_at, b.ticket_id, b.ticket_number, COALESCE(tk.status, '')`

const bookingFrom = ` FROM bookings b LEFT JOIN tickets tk ON tk.id = b.ticket_id AND b.ticket_id <> ''`

func scanBooking(sc scanner) (civiq.Booking, error) {
	var b civiq.Booking
	var start, end, created int64
	var cancelled, released, checked, noShow sql.NullInt64
	err := sc.Scan(&b.ID, &b.Code, &b.HallID, &b.ServiceID, &start, &end, &b.Status, &b.PersonKey, &b.PhoneKey,
		&b.NameSealed, &b.Name, &b.PhoneSealed, &b.Phone, &b.IDSealed, &b.IDNumber, &created,
		&cancelled, &released, &checked, &noShow, &b.TicketID, &b.TicketNumber, &b.TicketStatus)
	if err != nil {
		return b, err
	}
	b.SlotStart, b.SlotEnd, b.CreatedAt = time.Unix(0, start), time.Unix(0, end), time.Unix(0, created)
	b.CancelledAt, b.ReleasedAt, b.CheckedInAt, b.NoShowAt = fromNanos(cancelled), fromNanos(released), fromNanos(checked), fromNanos(noShow)
	return b, nil
}

func (t *tx) bookings(q string, args ...any) ([]civiq.Booking, error) {
	return scanAll(scanBooking)(t.rows(`SELECT `+bookingCols+bookingFrom+q, args...))
}

func (t *tx) InsertBooking(b *civiq.Booking) error {
	return t.exec(`INSERT INTO bookings (id, code, hall_id, service_id, slot_start, slot_end, status, person_key, phone_key,
		name_sealed, name_masked, phone_sealed, phone_masked, id_sealed, id_masked, created_at,
		cancelled_at, released_at, checked_in_at, no_show_at, ticket_id, ticket_number)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.Code, b.HallID, b.ServiceID, nanos(b.SlotStart), nanos(b.SlotEnd), b.Status, b.PersonKey, b.PhoneKey,
		b.NameSealed, b.Name, b.PhoneSealed, b.Phone, b.IDSealed, b.IDNumber, nanos(b.CreatedAt),
		nullNanos(b.CancelledAt), nullNanos(b.ReleasedAt), nullNanos(b.CheckedInAt), nullNanos(b.NoShowAt), b.TicketID, b.TicketNumber)
}

func (t *tx) UpdateBooking(b *civiq.Booking) error {
	return t.exec(`UPDATE bookings SET status = ?, cancelled_at = ?, released_at = ?, checked_in_at = ?, no_show_at = ?,
		ticket_id = ?, ticket_number = ? WHERE id = ?`,
		b.Status, nullNanos(b.CancelledAt), nullNanos(b.ReleasedAt), nullNanos(b.CheckedInAt), nullNanos(b.NoShowAt),
		b.TicketID, b.TicketNumber, b.ID)
}

func (t *tx) BookingByCode(code string) (*civiq.Booking, error) {
	b, err := scanBooking(t.row(`SELECT `+bookingCols+bookingFrom+` WHERE b.code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("booking", "")
	}
	if err != nil {
		return nil, err
	}
	return &b, nil
}

func (t *tx) Bookings(hallID string, from, to time.Time) ([]civiq.Booking, error) {
	return t.bookings(` WHERE b.hall_id = ? AND b.slot_start >= ? AND b.slot_start < ? ORDER BY b.slot_start, b.service_id, b.created_at`,
		hallID, nanos(from), nanos(to))
}

func (t *tx) SlotsTaken(hallID, serviceID string, from, to, now time.Time) (map[int64]int, error) {
	return scanCounts[int64](t.rows(`SELECT slot_start, COUNT(*) FROM bookings
		WHERE hall_id = ? AND service_id = ? AND slot_start >= ? AND slot_start < ?
		AND (status <> 'cancelled' OR released_at > ?) GROUP BY slot_start`,
		hallID, serviceID, nanos(from), nanos(to), nanos(now)))
}

func (t *tx) PersonBookings(hallID, personKey string, from, to time.Time) ([]civiq.Booking, error) {
	return t.bookings(` WHERE b.hall_id = ? AND b.person_key = ? AND b.slot_start >= ? AND b.slot_start < ? ORDER BY b.slot_start`,
		hallID, personKey, nanos(from), nanos(to))
}

func (t *tx) OverdueBookings(hallID string, before time.Time, limit int) ([]civiq.Booking, error) {
	return t.bookings(` WHERE b.hall_id = ? AND b.status = 'booked' AND b.slot_start < ? ORDER BY b.slot_start, b.id LIMIT ?`,
		hallID, nanos(before), limit)
}

// Strikes

const strikeCols = `s.id, s.hall_id, s.booking_id, b.code, b.service_id, b.slot_start, b.name_masked, b.phone_masked, b.id_masked,
	s.person_key, s.created_at, s.warning, s.cleared_at, s.cleared_by, s.clear_reason`

const strikeFrom = ` FROM strikes s JOIN bookings b ON b.id = s.booking_id`

func scanStrike(sc scanner) (civiq.Strike, error) {
	var s civiq.Strike
	var slot, created int64
	var cleared sql.NullInt64
	err := sc.Scan(&s.ID, &s.HallID, &s.BookingID, &s.BookingCode, &s.ServiceID, &slot, &s.Name, &s.Phone, &s.IDNumber,
		&s.PersonKey, &created, &s.Warning, &cleared, &s.ClearedBy, &s.ClearReason)
	if err != nil {
		return s, err
	}
	s.SlotStart, s.CreatedAt, s.ClearedAt = time.Unix(0, slot), time.Unix(0, created), fromNanos(cleared)
	return s, nil
}

func (t *tx) strikes(q string, args ...any) ([]civiq.Strike, error) {
	return scanAll(scanStrike)(t.rows(`SELECT `+strikeCols+strikeFrom+q, args...))
}

func (t *tx) InsertStrike(s *civiq.Strike) error {
	return t.row(`INSERT INTO strikes (hall_id, booking_id, person_key, created_at, warning, cleared_at, cleared_by, clear_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.HallID, s.BookingID, s.PersonKey, nanos(s.CreatedAt), s.Warning, nullNanos(s.ClearedAt), s.ClearedBy, s.ClearReason).Scan(&s.ID)
}

func (t *tx) UpdateStrike(s *civiq.Strike) error {
	return t.exec(`UPDATE strikes SET cleared_at = ?, cleared_by = ?, clear_reason = ? WHERE id = ?`,
		nullNanos(s.ClearedAt), s.ClearedBy, s.ClearReason, s.ID)
}

func (t *tx) Strike(hallID string, id int64) (*civiq.Strike, error) {
	s, err := scanStrike(t.row(`SELECT `+strikeCols+strikeFrom+` WHERE s.hall_id = ? AND s.id = ?`, hallID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("strike", fmt.Sprint(id))
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) PersonStrikes(hallID, personKey string, since time.Time) ([]civiq.Strike, error) {
	return t.strikes(` WHERE s.hall_id = ? AND s.person_key = ? AND s.created_at >= ? ORDER BY s.created_at, s.id`,
		hallID, personKey, nanos(since))
}

func (t *tx) HallStrikes(hallID string, since time.Time) ([]civiq.Strike, error) {
	return t.strikes(` WHERE s.hall_id = ? AND s.created_at >= ? ORDER BY s.created_at DESC, s.id DESC`, hallID, nanos(since))
}

func (t *tx) AppointmentRun(hallID, counterID string, max int) (int, error) {
	rows, err := t.rows(`SELECT channel FROM tickets WHERE hall_id = ? AND counter_id = ? AND called_at IS NOT NULL
		ORDER BY called_at DESC LIMIT ?`, hallID, counterID, max)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n, run := 0, true
	for rows.Next() {
		var ch string
		if err := rows.Scan(&ch); err != nil {
			return 0, err
		}
		if run && ch == civiq.ChannelAppointment {
			n++
		} else {
			run = false
		}
	}
	return n, rows.Err()
}

func (t *tx) WaitingAppointments(hallID string) (map[string]int, error) {
	return scanCounts[string](t.rows(`SELECT service_id, COUNT(*) FROM tickets WHERE hall_id = ? AND status = 'waiting' AND channel = 'appointment'
		GROUP BY service_id`, hallID))
}

func (t *tx) WaitingAppointmentsAfter(hallID, serviceID string, after time.Time) (int, error) {
	var n int
	err := t.row(`SELECT COUNT(*) FROM tickets WHERE hall_id = ? AND service_id = ? AND status = 'waiting' AND channel = 'appointment'
		AND priority = 'normal' AND queued_at > ?`, hallID, serviceID, nanos(after)).Scan(&n)
	return n, err
}

func (t *tx) AppointmentsBefore(tk *civiq.Ticket) (int, error) {
	var n int
	err := t.row(`SELECT COUNT(*) FROM tickets WHERE hall_id = ? AND service_id = ? AND status = 'waiting' AND channel = 'appointment'
		AND priority = 'normal' AND (queued_at, issued_at, id) < (?, ?, ?)`,
		tk.HallID, tk.ServiceID, nanos(tk.QueuedAt), nanos(tk.IssuedAt), tk.ID).Scan(&n)
	return n, err
}
