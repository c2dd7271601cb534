package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civiq/civiq"
)

// Devices (civiq's device.go).

var _ civiq.DeviceTx = (*tx)(nil)

const deviceCols = `id, kind, hall_id, counter_id, name, pairing_code, token_hash, paired_at, created_at`

func scanDevice(sc scanner) (*civiq.Device, error) {
	d := &civiq.Device{}
	var code, token sql.NullString
	var paired sql.NullInt64
	var created int64
	if err := sc.Scan(&d.ID, &d.Kind, &d.HallID, &d.CounterID, &d.Name, &code, &token, &paired, &created); err != nil {
		return nil, err
	}
	d.PairingCode, d.TokenHash, d.PairedAt, d.CreatedAt = code.String, token.String, fromNanos(paired), time.Unix(0, created)
	return d, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *tx) Devices(hallID string) ([]civiq.Device, error) {
	return scanAll(deref(scanDevice))(t.rows(`SELECT `+deviceCols+` FROM devices WHERE hall_id = ? ORDER BY id`, hallID))
}

func (t *tx) Device(hallID string, id int64) (*civiq.Device, error) {
	d, err := scanDevice(t.row(`SELECT `+deviceCols+` FROM devices WHERE hall_id = ? AND id = ?`, hallID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("device", fmt.Sprint(id))
	}
	return d, err
}

func (t *tx) InsertDevice(d *civiq.Device) error {
	return t.row(`INSERT INTO devices (kind, hall_id, counter_id, name, pairing_code, token_hash, paired_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, d.Kind, d.HallID, d.CounterID, d.Name, nullString(d.PairingCode), nullString(d.TokenHash),
		nullNanos(d.PairedAt), nanos(d.CreatedAt)).Scan(&d.ID)
}

func (t *tx) device(where string, arg any) (*civiq.Device, error) {
	d, err := scanDevice(t.row(`SELECT `+deviceCols+` FROM devices WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("device", "")
	}
	return d, err
}

func (t *tx) DeviceByPairingCode(code string) (*civiq.Device, error) {
	return t.device(`pairing_code = ?`, strings.ToLower(code))
}

func (t *tx) DeviceByToken(tokenHash string) (*civiq.Device, error) {
	return t.device(`token_hash = ?`, tokenHash)
}

func (t *tx) UpdateDevice(d *civiq.Device) error {
	return t.exec(`UPDATE devices SET name = ?, counter_id = ?, pairing_code = ?, token_hash = ?, paired_at = ? WHERE id = ?`,
		d.Name, d.CounterID, nullString(d.PairingCode), nullString(d.TokenHash), nullNanos(d.PairedAt), d.ID)
}

func (t *tx) DeleteDevice(id int64) error {
	return t.exec(`DELETE FROM devices WHERE id = ?`, id)
}
