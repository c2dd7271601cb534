package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/civiq/civiq"
)

// Halls and their services (civiq's hall.go).

var _ civiq.HallTx = (*tx)(nil)

func (t *tx) Halls() ([]civiq.Hall, error) {
	rows, err := t.rows(`SELECT data FROM halls ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []civiq.Hall
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		h, err := decodeHall(data)
		if err != nil {
			return nil, err
		}
		out = append(out, *h)
	}
	return out, rows.Err()
}

func (t *tx) Hall(id string) (*civiq.Hall, error) {
	var data string
	err := t.row(`SELECT data FROM halls WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("hall", id)
	}
	if err != nil {
		return nil, err
	}
	return decodeHall(data)
}

// decodeHall reads a hall's settings row. A row written before a setting
// existed (the voice template) gets the setting's default.
func decodeHall(data string) (*civiq.Hall, error) {
	var h civiq.Hall
	if err := json.Unmarshal([]byte(data), &h); err != nil {
		return nil, fmt.Errorf("decode hall: %w", err)
	}
	h.Defaults()
	return &h, nil
}

func (t *tx) PutHall(h *civiq.Hall) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO halls (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data`, h.ID, string(data))
}

func (t *tx) SettingsChanged(hallID string) error {
	if t.d.SettingsNotify == "" {
		return nil
	}
	return t.exec(t.d.SettingsNotify, hallID)
}

const serviceCols = `hall_id, id, prefix, name, name_en, position, daily_quota, half_day_quota, per_person_daily,
	target_wait_minutes, alert_wait_minutes`

func scanService(sc scanner) (civiq.Service, error) {
	var s civiq.Service
	err := sc.Scan(&s.HallID, &s.ID, &s.Prefix, &s.Name, &s.NameEn, &s.Position, &s.DailyQuota, &s.HalfDayQuota, &s.PerPersonDaily,
		&s.TargetWaitMinutes, &s.AlertWaitMinutes)
	return s, err
}

func (t *tx) Services(hallID string) ([]civiq.Service, error) {
	return scanAll(scanService)(t.rows(`SELECT `+serviceCols+` FROM services WHERE hall_id = ? ORDER BY position, id`, hallID))
}

func (t *tx) Service(hallID, id string) (*civiq.Service, error) {
	s, err := scanService(t.row(`SELECT `+serviceCols+` FROM services WHERE hall_id = ? AND id = ?`, hallID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("service", id)
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *tx) PutService(s *civiq.Service) error {
	return t.exec(`INSERT INTO services (`+serviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hall_id, id) DO UPDATE SET prefix = excluded.prefix, name = excluded.name, name_en = excluded.name_en, position = excluded.position,
		daily_quota = excluded.daily_quota, half_day_quota = excluded.half_day_quota, per_person_daily = excluded.per_person_daily,
		target_wait_minutes = excluded.target_wait_minutes, alert_wait_minutes = excluded.alert_wait_minutes`,
		s.HallID, s.ID, s.Prefix, s.Name, s.NameEn, s.Position, s.DailyQuota, s.HalfDayQuota, s.PerPersonDaily,
		s.TargetWaitMinutes, s.AlertWaitMinutes)
}

func (t *tx) DeleteService(hallID, id string) error {
	return t.exec(`DELETE FROM services WHERE hall_id = ? AND id = ?`, hallID, id)
}
