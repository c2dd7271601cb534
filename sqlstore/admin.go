package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/civiq/civiq"
)

// Administration: changing and removing users, devices, services and
// counters (civiq/admin_users.go).

func (t *tx) UpdateUser(u *civiq.User) error {
	halls := []byte("[]")
	if len(u.HallIDs) > 0 {
		var err error
		if halls, err = json.Marshal(u.HallIDs); err != nil {
			return err
		}
	}
	return t.exec(`UPDATE users SET role = ?, hall_ids = ?, password_hash = ?, locked_until = ? WHERE id = ?`,
		u.Role, string(halls), u.PasswordHash, nullNanos(u.LockedUntil), u.ID)
}

// Audit events (login.go).

func (t *tx) AppendAudit(a *civiq.AuditEvent) error {
	var err error
	a.ID, err = t.scalar(`INSERT INTO audit_events (type, at, username, actor, address) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		a.Type, nanos(a.At), a.Username, a.Actor, a.Address)
	return err
}

func (t *tx) AuditEvents(limit int) ([]civiq.AuditEvent, error) {
	return scanAll(func(sc scanner) (civiq.AuditEvent, error) {
		var a civiq.AuditEvent
		var at int64
		err := sc.Scan(&a.ID, &a.Type, &at, &a.Username, &a.Actor, &a.Address)
		a.At = time.Unix(0, at)
		return a, err
	})(t.rows(`SELECT id, type, at, username, actor, address FROM audit_events ORDER BY id DESC LIMIT ?`, limit))
}

func (t *tx) DeleteUser(id int64) error {
	if err := t.DeleteSessions(id); err != nil {
		return err
	}
	return t.exec(`DELETE FROM users WHERE id = ?`, id)
}

func (t *tx) DeleteSessions(userID int64) error {
	return t.exec(`DELETE FROM sessions WHERE user_id = ?`, userID)
}

func (t *tx) Device(hallID string, id int64) (*civiq.Device, error) {
	d, err := scanDevice(t.row(`SELECT `+deviceCols+` FROM devices WHERE hall_id = ? AND id = ?`, hallID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("device", fmt.Sprint(id))
	}
	return d, err
}

func (t *tx) DeleteDevice(id int64) error {
	return t.exec(`DELETE FROM devices WHERE id = ?`, id)
}

func (t *tx) DeleteService(hallID, id string) error {
	return t.exec(`DELETE FROM services WHERE hall_id = ? AND id = ?`, hallID, id)
}

func (t *tx) DeleteCounter(hallID, id string) error {
	return t.exec(`DELETE FROM counters WHERE hall_id = ? AND id = ?`, hallID, id)
}

func (t *tx) Announcements(hallID string, n int) ([]*civiq.Event, error) {
	return scanAll(scanEvent)(t.rows(`SELECT id, hall_id, type, at, data FROM events WHERE hall_id = ? AND type = ? ORDER BY id DESC LIMIT ?`,
		hallID, civiq.EventAnnouncement, n))
}
