package sqlstore

import (
	"time"

	"github.com/civiq/civiq"
)

// Security events (civiq's login.go).

var _ civiq.AuditTx = (*tx)(nil)

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
