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

// Follow-ups of bad ratings (civiq's followup.go; migration 0002).

var _ civiq.FollowUpTx = (*tx)(nil)

const followUpCols = `f.id, f.hall_id, f.rating_id, f.ticket_id, tk.number, f.service_id, f.counter_id, f.staff_id, f.score, f.status,
	r.reasons, r.comment, COALESCE((SELECT c.number FROM cases c WHERE c.ticket_id = f.ticket_id ORDER BY c.id LIMIT 1), ''),
	r.contact_phone, f.opened_at, f.working_days, f.deadline, f.original_deadline, f.extended, f.extension_reason, f.rejection_reason,
	f.rejection_requested_by, f.citizen_view, f.public_summary, f.closed_at, f.updated_at`

const followUpFrom = ` FROM followups f JOIN ratings r ON r.id = f.rating_id JOIN tickets tk ON tk.id = f.ticket_id`

func scanFollowUp(sc scanner) (*civiq.FollowUp, error) {
	f := &civiq.FollowUp{}
	var staff, closed sql.NullInt64
	var opened, updated int64
	var reasons string
	if err := sc.Scan(&f.ID, &f.HallID, &f.RatingID, &f.TicketID, &f.TicketNumber, &f.ServiceID, &f.CounterID, &staff, &f.Score, &f.Status,
		&reasons, &f.Comment, &f.CaseNumber, &f.ContactPhone, &opened, &f.WorkingDays, &f.Deadline, &f.OriginalDeadline, &f.Extended, &f.ExtensionReason, &f.RejectionReason,
		&f.RequestedBy, &f.CitizenView, &f.PublicSummary, &closed, &updated); err != nil {
		return nil, err
	}
	var stored []string
	if err := json.Unmarshal([]byte(reasons), &stored); err != nil {
		return nil, fmt.Errorf("decode rating reasons: %w", err)
	}
	f.Reasons, f.ReasonText = civiq.SplitReasons(stored)
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
	if q.TicketID != "" {
		where = append(where, `f.ticket_id = ?`)
		args = append(args, q.TicketID)
	}
	if len(q.Statuses) > 0 {
		where = append(where, `f.status IN (`+marks(len(q.Statuses))+`)`)
		args = append(args, anys(q.Statuses)...)
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

func (t *tx) CountOpenFollowUps(hallID, today string) (open, overdue int, err error) {
	// followups_open holds the open cases of a hall with their deadlines.
	err = t.row(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN deadline < ? THEN 1 ELSE 0 END), 0) FROM followups
		WHERE hall_id = ? AND status NOT IN ('revisited', 'rejected')`, today, hallID).Scan(&open, &overdue)
	return open, overdue, err
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
