package sqlstore

import (
	"context"
	"time"

	"github.com/civiq/civiq"
)

// Reads for the prediction of waits and for the simulator.

func (t *tx) RecentHandling(hallID, serviceID string, n int) ([]civiq.HandlingSample, error) {
	// tickets_done (hall_id, service_id, done_at) WHERE status = 'done'
	// serves the order and the limit.
	return scanAll(scanHandling)(t.rows(`SELECT issued_at, called_at, done_at, priority FROM tickets
		WHERE hall_id = ? AND service_id = ? AND status = 'done' AND called_at IS NOT NULL
		ORDER BY done_at DESC LIMIT ?`, hallID, serviceID, n))
}

func scanHandling(sc scanner) (civiq.HandlingSample, error) {
	var issued, called, done int64
	var prio string
	err := sc.Scan(&issued, &called, &done, &prio)
	return civiq.HandlingSample{IssuedAt: time.Unix(0, issued), CalledAt: time.Unix(0, called),
		DoneAt: time.Unix(0, done), Priority: prio == civiq.PriorityPriority}, err
}

// TicketsIssued returns the tickets of a hall issued in [from, to), in
// order of issue: the recorded history that civiq simulate and the
// staffing planner read. It scans the hall's tickets and is meant for
// offline use.
func (s *Store) TicketsIssued(ctx context.Context, hallID string, from, to time.Time) ([]civiq.Ticket, error) {
	return scanAll(scanTicket)(s.read.QueryContext(ctx, s.d.sql(`SELECT `+ticketCols+` FROM tickets
		WHERE hall_id = ? AND issued_at >= ? AND issued_at < ? ORDER BY issued_at, id`), hallID, nanos(from), nanos(to)))
}
