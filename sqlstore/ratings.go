package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/civiq/civiq"
)

// Ratings and their settings (civiq's rating.go; migration 0002).

var _ civiq.RatingTx = (*tx)(nil)

const ratingCols = `id, ticket_id, hall_id, service_id, counter_id, staff_id, score, reasons, comment, channel, contact_phone,
	efficiency, level, attitude, created_at`

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
	var stored []string
	if err := json.Unmarshal([]byte(reasons), &stored); err != nil {
		return nil, fmt.Errorf("decode rating reasons: %w", err)
	}
	r.Reasons, r.ReasonText = civiq.SplitReasons(stored)
	if eff.Valid || lvl.Valid || att.Valid {
		r.SubScores = &civiq.SubScores{Efficiency: int(eff.Int64), Level: int(lvl.Int64), Attitude: int(att.Int64)}
	}
	r.CreatedAt = time.Unix(0, created)
	return r, nil
}

func (t *tx) InsertRating(r *civiq.Rating) error {
	rs, err := json.Marshal(r.JoinReasons())
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

// UnratedRemoteDone reads the remote tickets by tickets_done_remote,
// which holds them alone.
func (t *tx) UnratedRemoteDone(hallID string, doneFrom, doneTo time.Time, limit int) ([]civiq.Ticket, error) {
	return scanAll(scanTicket)(t.rows(`SELECT `+ticketCols+` FROM tickets tk WHERE hall_id = ? AND channel = 'remote' AND `+
		unratedDone+` ORDER BY done_at, id LIMIT ?`, hallID, nanos(doneFrom), nanos(doneTo), limit))
}

// unratedDone is the condition of a ticket done in a range and never
// rated, the range's two bounds its arguments.
const unratedDone = `status = 'done' AND done_at >= ? AND done_at < ?
	AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.ticket_id = tk.id)`

// CountUnratedDone counts in one query, by service from tickets_done
// (doneServices), all the channels at once.
func (t *tx) CountUnratedDone(hallID string, channels []string, doneFrom, doneTo time.Time) (int, error) {
	if len(channels) == 0 {
		return 0, nil
	}
	services, err := t.doneServices(hallID)
	if err != nil || len(services) == 0 {
		return 0, err
	}
	args := append(append(append([]any{hallID}, anys(services)...), anys(channels)...), nanos(doneFrom), nanos(doneTo))
	var n int
	err = t.row(`SELECT COUNT(*) FROM tickets tk WHERE hall_id = ? AND service_id IN (`+marks(len(services))+
		`) AND channel IN (`+marks(len(channels))+`) AND `+unratedDone, args...).Scan(&n)
	return n, err
}

// doneServices are the services the hall has done tickets of, found by
// skipping through tickets_done (one seek each), so that a read of done
// tickets can name them one by one and both stores seek each one's range
// of that index (PostgreSQL joined with the skipping query scanned the
// hall's tickets_counter_done instead).
func (t *tx) doneServices(hallID string) ([]string, error) {
	return scanAll(scanString)(t.rows(`WITH RECURSIVE done_services (sid) AS (
			SELECT MIN(service_id) FROM tickets WHERE hall_id = ? AND status = 'done'
			UNION ALL
			SELECT (SELECT MIN(service_id) FROM tickets WHERE hall_id = ? AND status = 'done' AND service_id > sid)
			FROM done_services WHERE sid IS NOT NULL)
		SELECT sid FROM done_services WHERE sid IS NOT NULL`, hallID, hallID))
}

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
