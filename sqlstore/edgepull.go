package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/civiq/civiq"
)

// What an edge node keeps of its pulls of the city's configuration
// (migration 0009).

var _ civiq.EdgePullTx = (*tx)(nil)

func (t *tx) EdgePullState(hallID string) (*civiq.EdgePullState, error) {
	s := &civiq.EdgePullState{HallID: hallID}
	var keys string
	var at int64
	err := t.row(`SELECT config_cursor, city_keys, pulled_at FROM edge_pulls WHERE hall_id = ?`, hallID).Scan(&s.Cursor, &keys, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("edge pull", hallID)
	}
	if err != nil {
		return nil, err
	}
	s.PulledAt = time.Unix(0, at)
	return s, json.Unmarshal([]byte(keys), &s.Keys)
}

func (t *tx) PutEdgePullState(s *civiq.EdgePullState) error {
	keys, err := json.Marshal(s.Keys)
	if err != nil {
		return err
	}
	if s.Keys == nil {
		keys = []byte("[]")
	}
	return t.exec(`INSERT INTO edge_pulls (hall_id, config_cursor, city_keys, pulled_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (hall_id) DO UPDATE SET config_cursor = excluded.config_cursor, city_keys = excluded.city_keys, pulled_at = excluded.pulled_at`,
		s.HallID, s.Cursor, string(keys), nanos(s.PulledAt))
}
