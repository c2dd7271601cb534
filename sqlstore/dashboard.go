package sqlstore

import (
	"encoding/json"
	"time"

	"github.com/civiq/civiq"
)

// Reads of the live dashboard, the staffing planner and the city overview
// (dashboard.go).

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
	rows, err := t.rows(`SELECT service_id, MIN(issued_at) FROM tickets WHERE hall_id = ? AND status = 'waiting' GROUP BY service_id`, hallID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var sid string
		var at int64
		if err := rows.Scan(&sid, &at); err != nil {
			return nil, err
		}
		out[sid] = time.Unix(0, at)
	}
	return out, rows.Err()
}
