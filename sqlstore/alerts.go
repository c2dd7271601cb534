package sqlstore

import (
	"time"

	"github.com/civiq/civiq"
)

// The service alerts raised now (civiq's alert.go, migration 0017).

var _ civiq.AlertTx = (*tx)(nil)

func (t *tx) ServiceAlerts(hallID string) (map[string]time.Time, error) {
	return t.timesByKey(`SELECT service_id, raised_at FROM service_alerts WHERE hall_id = ?`, hallID)
}

func (t *tx) PutServiceAlert(hallID, serviceID string, raisedAt time.Time) error {
	return t.exec(`INSERT INTO service_alerts (hall_id, service_id, raised_at) VALUES (?, ?, ?)
		ON CONFLICT (hall_id, service_id) DO UPDATE SET raised_at = excluded.raised_at`, hallID, serviceID, nanos(raisedAt))
}

func (t *tx) DeleteServiceAlert(hallID, serviceID string) error {
	return t.exec(`DELETE FROM service_alerts WHERE hall_id = ? AND service_id = ?`, hallID, serviceID)
}
