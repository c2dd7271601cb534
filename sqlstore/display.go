package sqlstore

import (
	"database/sql"
	"errors"

	"github.com/civiq/civiq"
)

// LatestAnnouncement returns the hall's newest announcement still kept (the
// display shows it when it starts). It walks the events_hall index backwards.
func (t *tx) LatestAnnouncement(hallID string) (*civiq.Event, error) {
	e, err := scanEvent(t.row(`SELECT id, hall_id, type, at, data FROM events
		WHERE hall_id = ? AND type = ? ORDER BY id DESC LIMIT 1`, hallID, civiq.EventAnnouncement))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("announcement of hall", hallID)
	}
	return e, err
}
