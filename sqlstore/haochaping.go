package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/civiq/civiq"
)

// The 好差评 reporters' own state (civiq's haochaping.go; migration 0012):
// each reporter's config beside its subscriber row, and the records its
// platform acknowledged.

var _ civiq.HaochapingTx = (*tx)(nil)

func (t *tx) PutHaochapingConfig(subID int64, c *civiq.HaochapingConfig) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO haochaping_reporters (subscriber_id, config) VALUES (?, ?)
		ON CONFLICT (subscriber_id) DO UPDATE SET config = excluded.config`, subID, string(data))
}

func (t *tx) HaochapingConfig(subID int64) (*civiq.HaochapingConfig, error) {
	var data string
	err := t.row(`SELECT config FROM haochaping_reporters WHERE subscriber_id = ?`, subID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("好差评 reporter", strconv.FormatInt(subID, 10))
	}
	if err != nil {
		return nil, err
	}
	c := &civiq.HaochapingConfig{}
	if err := json.Unmarshal([]byte(data), c); err != nil {
		return nil, fmt.Errorf("decode 好差评 reporter: %w", err)
	}
	return c, nil
}

func (t *tx) DeleteHaochaping(subID int64) error {
	if err := t.exec(`DELETE FROM haochaping_acks WHERE subscriber_id = ?`, subID); err != nil {
		return err
	}
	return t.exec(`DELETE FROM haochaping_reporters WHERE subscriber_id = ?`, subID)
}

func (t *tx) AckHaochaping(a *civiq.HaochapingAck) error {
	return t.exec(`INSERT INTO haochaping_acks (subscriber_id, record_id, hall_id, day, event_id, acked_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (subscriber_id, record_id) DO NOTHING`, a.SubscriberID, a.RecordID, a.HallID, a.Day, a.EventID, nanos(a.At))
}

func (t *tx) HaochapingAcks(subID int64, hallID, day string) (map[string]time.Time, error) {
	return t.timesByKey(`SELECT record_id, acked_at FROM haochaping_acks WHERE subscriber_id = ? AND hall_id = ? AND day = ?`, subID, hallID, day)
}

func (t *tx) FollowUpOutcomes(hallID string, from, to time.Time) ([]civiq.FollowUpEntry, error) {
	return scanAll(func(sc scanner) (e civiq.FollowUpEntry, err error) {
		var at int64
		err = sc.Scan(&e.ID, &e.FollowUpID, &e.Move, &e.From, &e.To, &e.By, &at, &e.Note, &e.Reason, &e.CitizenView, &e.Deadline)
		e.At = time.Unix(0, at)
		return e, err
	})(t.rows(`SELECT h.id, h.followup_id, h.move, h.from_status, h.to_status, h.by_user, h.at, h.note, h.reason, h.citizen_view, h.deadline
		FROM followup_history h JOIN followups f ON f.id = h.followup_id
		WHERE f.hall_id = ? AND h.move IN ('rectified', 'revisited', 'rejected') AND h.at >= ? AND h.at < ? ORDER BY h.at, h.id`,
		hallID, nanos(from), nanos(to)))
}
