package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/civiq/civiq"
)

// Single sign-on's settings (civiq's ssosettings.go): one row, their
// secrets sealed by the engine.

var _ civiq.SSOTx = (*tx)(nil)

func (t *tx) SSOSettings() (*civiq.SSOSettings, error) {
	var body string
	err := t.row(`SELECT body FROM sso_settings WHERE id = 1`).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("single sign-on settings", "")
	}
	if err != nil {
		return nil, err
	}
	s := &civiq.SSOSettings{}
	return s, json.Unmarshal([]byte(body), s)
}

func (t *tx) PutSSOSettings(s *civiq.SSOSettings) error {
	body, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var at int64
	if s.UpdatedAt != nil {
		at = nanos(*s.UpdatedAt)
	}
	return t.exec(`INSERT INTO sso_settings (id, body, updated_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`, string(body), at)
}
