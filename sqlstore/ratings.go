package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/civiq/civiq"
)

// Ratings, follow-ups and working-day calendars (migration 0002).

const ratingCols = `id, ticket_id, hall_id, service_id, counter_id, staff_id, score, reasons, comment, channel, contact_phone,
	efficiency, level, attitude, created_at`

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullScore(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func scanRating(sc scanner) (*civiq.Rating, error) {
	r := &civiq.Rating{}
	var staff, eff, lvl, att sql.NullInt64
	var reasons string
	var created int64
	if err := sc.Scan(&r.ID, &r.TicketID, &r.HallID, &r.ServiceID, &r.CounterID, &staff, &r.Score, &reasons, &r.Comment, &r.Channel,
		&r.ContactPhone, &eff, &lvl, &att, &created); err != nil {
		return nil, err
	}
	r.StaffID = staff.Int64
	if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
		return nil, fmt.Errorf("decode rating reasons: %w", err)
	}
	if r.Reasons == nil {
		r.Reasons = []string{}
	}
	if eff.Valid || lvl.Valid || att.Valid {
		r.SubScores = &civiq.SubScores{Efficiency: int(eff.Int64), Level: int(lvl.Int64), Attitude: int(att.Int64)}
	}
	r.CreatedAt = time.Unix(0, created)
	return r, nil
}

func (t *tx) InsertRating(r *civiq.Rating) error {
	reasons := r.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	rs, err := json.Marshal(reasons)
	if err != nil {
		return err
	}
	var s civiq.SubScores
	if r.SubScores != nil {
		s = *r.SubScores
	}
	r.ID, err = t.scalar(`INSERT INTO ratings (ticket_id, hall_id, service_id, counter_id, staff_id, score, reasons, comment, channel, contact_phone,
		efficiency, level, attitude, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.TicketID, r.HallID, r.ServiceID, r.CounterID, nullInt(r.StaffID), r.Score, string(rs), r.Comment, r.Channel, r.ContactPhone,
		nullScore(s.Efficiency), nullScore(s.Level), nullScore(s.Attitude), nanos(r.CreatedAt))
	return err
}

func (t *tx) RatingByTicket(ticketID string) (*civiq.Rating, error) {
	r, err := scanRating(t.row(`SELECT `+ratingCols+` FROM ratings WHERE ticket_id = ?`, ticketID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("rating", ticketID)
	}
	return r, err
}

func (t *tx) Ratings(hallID string, from, to time.Time) ([]civiq.Rating, error) {
	return scanAll(deref(scanRating))(t.rows(`SELECT `+ratingCols+` FROM ratings WHERE hall_id = ? AND created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		hallID, nanos(from), nanos(to)))
}

func (t *tx) RatingPhonesInClear(sealedPrefix string, limit int) (map[int64]string, error) {
	rows, err := t.rows(`SELECT id, contact_phone FROM ratings WHERE contact_phone <> '' AND contact_phone NOT LIKE ? ORDER BY id LIMIT ?`,
		sealedPrefix+"%", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var phone string
		if err := rows.Scan(&id, &phone); err != nil {
			return nil, err
		}
		out[id] = phone
	}
	return out, rows.Err()
}

func (t *tx) SetRatingPhone(ratingID int64, phone string) error {
	return t.exec(`UPDATE ratings SET contact_phone = ? WHERE id = ?`, phone, ratingID)
}

func (t *tx) SetServedBy(ticketID string, userID int64) error {
	return t.exec(`UPDATE tickets SET served_by = ? WHERE id = ?`, userID, ticketID)
}

func (t *tx) TicketToRate(ticketID string) (*civiq.Ticket, int64, bool, error) {
	var servedBy sql.NullInt64
	var rated bool
	tk, err := scanTicket(withMore{t.row(`SELECT `+ticketCols+`, served_by, EXISTS (SELECT 1 FROM ratings r WHERE r.ticket_id = tickets.id)
		FROM tickets WHERE id = ?`, ticketID), []any{&servedBy, &rated}})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, false, notFound("ticket", ticketID)
	}
	if err != nil {
		return nil, 0, false, err
	}
	return &tk, servedBy.Int64, rated, nil
}

// withMore scans the columns a scan function knows, then more.
type withMore struct {
	sc   scanner
	more []any
}

func (w withMore) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.more...)...) }

func (t *tx) ServedBy(ticketID string) (int64, error) {
	var id sql.NullInt64
	err := t.row(`SELECT served_by FROM tickets WHERE id = ?`, ticketID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("ticket", ticketID)
	}
	return id.Int64, err
}

func (t *tx) LastDone(hallID, counterID string) (*civiq.Ticket, error) {
	tk, err := scanTicket(t.row(`SELECT `+ticketCols+` FROM tickets WHERE hall_id = ? AND counter_id = ? AND status = 'done'
		ORDER BY done_at DESC, id DESC LIMIT 1`, hallID, counterID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("ticket done at counter", counterID)
	}
	if err != nil {
		return nil, err
	}
	return &tk, nil
}

func (t *tx) UnratedDone(hallID, channel string, doneFrom, doneTo time.Time, limit int) ([]civiq.Ticket, error) {
	return scanAll(scanTicket)(t.rows(`SELECT `+ticketCols+` FROM tickets tk WHERE hall_id = ? AND channel = ? AND status = 'done'
		AND done_at >= ? AND done_at < ? AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.ticket_id = tk.id)
		ORDER BY done_at, id LIMIT ?`, hallID, channel, nanos(doneFrom), nanos(doneTo), limit))
}

// Rating settings

func (t *tx) RatingSettings(hallID string) (*civiq.RatingSettings, error) {
	s := &civiq.RatingSettings{}
	var data string
	err := t.row(`SELECT data FROM rating_settings WHERE hall_id = ?`, hallID).Scan(&data)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err == nil {
		if err := json.Unmarshal([]byte(data), s); err != nil {
			return nil, fmt.Errorf("decode rating settings: %w", err)
		}
	}
	s.Defaults()
	return s, nil
}

func (t *tx) PutRatingSettings(hallID string, s *civiq.RatingSettings) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO rating_settings (hall_id, data) VALUES (?, ?) ON CONFLICT (hall_id) DO UPDATE SET data = excluded.data`, hallID, string(data))
}

// Follow-ups

const followUpCols = `f.id, f.hall_id, f.rating_id, f.ticket_id, tk.number, f.service_id, f.counter_id, f.staff_id, f.score, f.status,
	r.contact_phone, f.opened_at, f.working_days, f.deadline, f.original_deadline, f.extended, f.extension_reason, f.rejection_reason,
	f.rejection_requested_by, f.citizen_view, f.public_summary, f.closed_at, f.updated_at`

const followUpFrom = ` FROM followups f JOIN ratings r ON r.id = f.rating_id JOIN tickets tk ON tk.id = f.ticket_id`

func scanFollowUp(sc scanner) (*civiq.FollowUp, error) {
	f := &civiq.FollowUp{}
	var staff, closed sql.NullInt64
	var opened, updated int64
	if err := sc.Scan(&f.ID, &f.HallID, &f.RatingID, &f.TicketID, &f.TicketNumber, &f.ServiceID, &f.CounterID, &staff, &f.Score, &f.Status,
		&f.ContactPhone, &opened, &f.WorkingDays, &f.Deadline, &f.OriginalDeadline, &f.Extended, &f.ExtensionReason, &f.RejectionReason,
		&f.RequestedBy, &f.CitizenView, &f.PublicSummary, &closed, &updated); err != nil {
		return nil, err
	}
	f.StaffID = staff.Int64
	f.OpenedAt, f.UpdatedAt, f.ClosedAt = time.Unix(0, opened), time.Unix(0, updated), fromNanos(closed)
	return f, nil
}

func (t *tx) InsertFollowUp(f *civiq.FollowUp) error {
	return t.row(`INSERT INTO followups (hall_id, rating_id, ticket_id, service_id, counter_id, staff_id, score, status, opened_at,
		working_days, deadline, original_deadline, extended, extension_reason, rejection_reason, rejection_requested_by, citizen_view,
		public_summary, closed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		f.HallID, f.RatingID, f.TicketID, f.ServiceID, f.CounterID, nullInt(f.StaffID), f.Score, f.Status, nanos(f.OpenedAt),
		f.WorkingDays, f.Deadline, f.OriginalDeadline, f.Extended, f.ExtensionReason, f.RejectionReason, f.RequestedBy, f.CitizenView,
		f.PublicSummary, nullNanos(f.ClosedAt), nanos(f.UpdatedAt)).Scan(&f.ID)
}

func (t *tx) UpdateFollowUp(f *civiq.FollowUp) error {
	return t.exec(`UPDATE followups SET status = ?, deadline = ?, extended = ?, extension_reason = ?, rejection_reason = ?,
		rejection_requested_by = ?, citizen_view = ?, public_summary = ?, closed_at = ?, updated_at = ? WHERE id = ?`,
		f.Status, f.Deadline, f.Extended, f.ExtensionReason, f.RejectionReason, f.RequestedBy, f.CitizenView, f.PublicSummary,
		nullNanos(f.ClosedAt), nanos(f.UpdatedAt), f.ID)
}

func (t *tx) FollowUp(id int64) (*civiq.FollowUp, error) {
	f, err := scanFollowUp(t.row(`SELECT `+followUpCols+followUpFrom+` WHERE f.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("follow-up", strconv.FormatInt(id, 10))
	}
	return f, err
}

func (t *tx) FollowUps(q civiq.FollowUpQuery) ([]civiq.FollowUp, error) {
	where := []string{`f.hall_id = ?`}
	args := []any{q.HallID}
	if len(q.Statuses) > 0 {
		where = append(where, `f.status IN (?`+strings.Repeat(`, ?`, len(q.Statuses)-1)+`)`)
		for _, s := range q.Statuses {
			args = append(args, s)
		}
	}
	for _, b := range []struct {
		cond string
		at   time.Time
	}{{`f.opened_at >= ?`, q.OpenedFrom}, {`f.opened_at < ?`, q.OpenedTo}, {`f.closed_at >= ?`, q.ClosedFrom}, {`f.closed_at < ?`, q.ClosedTo}} {
		if !b.at.IsZero() {
			where = append(where, b.cond)
			args = append(args, nanos(b.at))
		}
	}
	return scanAll(deref(scanFollowUp))(t.rows(`SELECT `+followUpCols+followUpFrom+` WHERE `+strings.Join(where, ` AND `)+` ORDER BY f.opened_at DESC, f.id DESC`, args...))
}

func (t *tx) AppendFollowUpEntry(e *civiq.FollowUpEntry) error {
	return t.row(`INSERT INTO followup_history (followup_id, move, from_status, to_status, by_user, at, note, reason, citizen_view, deadline)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.FollowUpID, e.Move, e.From, e.To, e.By, nanos(e.At), e.Note, e.Reason,
		e.CitizenView, e.Deadline).Scan(&e.ID)
}

func (t *tx) FollowUpEntries(followUpID int64) ([]civiq.FollowUpEntry, error) {
	return scanAll(func(sc scanner) (e civiq.FollowUpEntry, err error) {
		var at int64
		err = sc.Scan(&e.ID, &e.FollowUpID, &e.Move, &e.From, &e.To, &e.By, &at, &e.Note, &e.Reason, &e.CitizenView, &e.Deadline)
		e.At = time.Unix(0, at)
		return e, err
	})(t.rows(`SELECT id, followup_id, move, from_status, to_status, by_user, at, note, reason, citizen_view, deadline
		FROM followup_history WHERE followup_id = ? ORDER BY id`, followUpID))
}

// Calendars

func (t *tx) CalendarYears(hallID string) ([]int, error) {
	rows, err := t.rows(`SELECT year FROM calendar_years WHERE hall_id = ? ORDER BY year`, hallID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var y int
		if err := rows.Scan(&y); err != nil {
			return nil, err
		}
		out = append(out, y)
	}
	return out, rows.Err()
}

func (t *tx) CalendarDays(hallID string) ([]civiq.CalendarDay, error) {
	rows, err := t.rows(`SELECT day, kind, name FROM calendar_days WHERE hall_id = ? ORDER BY day`, hallID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []civiq.CalendarDay
	for rows.Next() {
		var d civiq.CalendarDay
		if err := rows.Scan(&d.Date, &d.Kind, &d.Name); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// yearRange is the days of a year as stored, [first, next).
func yearRange(year int) (string, string) {
	return fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-01-01", year+1)
}

func (t *tx) PutCalendarYear(hallID string, year int, days []civiq.CalendarDay) error {
	first, next := yearRange(year)
	if err := t.exec(`DELETE FROM calendar_days WHERE hall_id = ? AND day >= ? AND day < ?`, hallID, first, next); err != nil {
		return err
	}
	if err := t.exec(`INSERT INTO calendar_years (hall_id, year) VALUES (?, ?) ON CONFLICT DO NOTHING`, hallID, year); err != nil {
		return err
	}
	for _, d := range days {
		if err := t.PutCalendarDay(hallID, d); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) DeleteCalendarYear(hallID string, year int) error {
	first, next := yearRange(year)
	if err := t.exec(`DELETE FROM calendar_days WHERE hall_id = ? AND day >= ? AND day < ?`, hallID, first, next); err != nil {
		return err
	}
	return t.exec(`DELETE FROM calendar_years WHERE hall_id = ? AND year = ?`, hallID, year)
}

func (t *tx) PutCalendarDay(hallID string, d civiq.CalendarDay) error {
	return t.exec(`INSERT INTO calendar_days (hall_id, day, kind, name) VALUES (?, ?, ?, ?)
		ON CONFLICT (hall_id, day) DO UPDATE SET kind = excluded.kind, name = excluded.name`, hallID, d.Date, d.Kind, d.Name)
}

func (t *tx) DeleteCalendarDay(hallID, date string) error {
	return t.exec(`DELETE FROM calendar_days WHERE hall_id = ? AND day = ?`, hallID, date)
}

func cloneFollowUp(f *civiq.FollowUpRef) *civiq.FollowUpRef {
	if f == nil {
		return nil
	}
	c := *f
	return &c
}
