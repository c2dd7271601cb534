package sqlstore

import (
	"database/sql"
	"time"

	"github.com/civiq/civiq"
)

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
