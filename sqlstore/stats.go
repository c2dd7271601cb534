package sqlstore

import (
	"database/sql"
	"encoding/json"
	"time"

	"github.com/civiq/civiq"
)

// What the counter page, the live dashboard, the staffing planner and the
// city overview count (civiq's stats.go and dashboard.go).

var _ civiq.StatsTx = (*tx)(nil)

// CounterStats counts a counter's done and no-show tickets in [from, to).
// Handling time runs from the ticket's last call to done.
func (t *tx) CounterStats(hallID, counterID string, from, to time.Time) (civiq.CounterStats, error) {
	var st civiq.CounterStats
	var mean sql.NullFloat64
	err := t.row(`SELECT COUNT(*), AVG((done_at - COALESCE(called_at, serving_at, done_at)) / 1e9) FROM tickets
		WHERE hall_id = ? AND status = 'done' AND counter_id = ? AND done_at >= ? AND done_at < ?`,
		hallID, counterID, nanos(from), nanos(to)).Scan(&st.Served, &mean)
	if err != nil {
		return st, err
	}
	st.MeanHandling = mean.Float64
	err = t.row(`SELECT COUNT(*) FROM tickets
		WHERE hall_id = ? AND status = 'no_show' AND counter_id = ? AND no_show_at >= ? AND no_show_at < ?`,
		hallID, counterID, nanos(from), nanos(to)).Scan(&st.NoShows)
	return st, err
}

// TicketsOfDays reads by the tickets_number index (hall_id, day, number).
func (t *tx) TicketsOfDays(hallID, fromDay, toDay string) ([]civiq.Ticket, error) {
	return scanAll(scanTicket)(t.rows(`SELECT `+ticketCols+` FROM tickets WHERE hall_id = ? AND day >= ? AND day <= ? ORDER BY issued_at, id`,
		hallID, fromDay, toDay))
}

// firstCallSlack is how far an event's time may run behind a later event's:
// the nodes writing them have clocks of their own.
const firstCallSlack = 5 * time.Minute

// FirstCalls walks the hall's events back from the newest (events_hall
// index) and stops at the first one well before since, so it reads about
// one day of events however long they are kept.
func (t *tx) FirstCalls(hallID string, since time.Time) (map[string]time.Time, error) {
	rows, err := t.rows(`SELECT type, at, data FROM events WHERE hall_id = ? ORDER BY id DESC`, hallID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	stop := nanos(since.Add(-firstCallSlack))
	for rows.Next() {
		var typ, data string
		var at int64
		if err := rows.Scan(&typ, &at, &data); err != nil {
			return nil, err
		}
		if at < stop {
			break
		}
		if typ != civiq.EventCalled || at < nanos(since) {
			continue
		}
		var d struct {
			Ticket struct {
				ID string `json:"id"`
			} `json:"ticket"`
		}
		if json.Unmarshal([]byte(data), &d) != nil || d.Ticket.ID == "" {
			continue
		}
		when := time.Unix(0, at)
		if prev, ok := out[d.Ticket.ID]; !ok || when.Before(prev) {
			out[d.Ticket.ID] = when
		}
	}
	return out, rows.Err()
}

// OldestWaiting reads the waiting tickets by the tickets_queue index.
func (t *tx) OldestWaiting(hallID string) (map[string]time.Time, error) {
	return t.timesByKey(`SELECT service_id, MIN(issued_at) FROM tickets WHERE hall_id = ? AND status = 'waiting' GROUP BY service_id`, hallID)
}

// The staff and service reports (civiq's hallreport.go, migration 0020).

var _ civiq.ReportTx = (*tx)(nil)

func (t *tx) ServedByOfDays(hallID, fromDay, toDay string) (map[string]int64, error) {
	rows, err := t.rows(`SELECT id, served_by FROM tickets WHERE hall_id = ? AND day >= ? AND day <= ? AND served_by IS NOT NULL AND served_by <> 0`,
		hallID, fromDay, toDay)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var uid int64
		if err := rows.Scan(&id, &uid); err != nil {
			return nil, err
		}
		out[id] = uid
	}
	return out, rows.Err()
}

func (t *tx) AddTransfer(r *civiq.TransferRecord) error {
	return t.exec(`INSERT INTO ticket_transfers (hall_id, ticket_id, day, counter_id, user_id, called_at, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.HallID, r.TicketID, r.Day, r.CounterID, r.UserID, nullNanos(r.CalledAt), nanos(r.At))
}

func (t *tx) TransfersOfDays(hallID, fromDay, toDay string) ([]civiq.TransferRecord, error) {
	return scanAll(func(sc scanner) (civiq.TransferRecord, error) {
		r := civiq.TransferRecord{HallID: hallID}
		var at int64
		var called sql.NullInt64
		err := sc.Scan(&r.TicketID, &r.Day, &r.CounterID, &r.UserID, &called, &at)
		r.At, r.CalledAt = time.Unix(0, at), fromNanos(called)
		return r, err
	})(t.rows(`SELECT ticket_id, day, counter_id, user_id, called_at, at FROM ticket_transfers WHERE hall_id = ? AND day >= ? AND day <= ? ORDER BY at, id`,
		hallID, fromDay, toDay))
}
