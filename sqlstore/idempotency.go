package sqlstore

import (
	"database/sql"
	"errors"
	"time"

	"github.com/civiq/civiq"
)

// Idempotency keys (civiq's engine.go).

var _ civiq.IdempotencyTx = (*tx)(nil)

func (t *tx) Idempotency(scope, key string, since time.Time) (*civiq.IdempotencyRecord, error) {
	r := &civiq.IdempotencyRecord{Scope: scope, Key: key}
	var created int64
	err := t.row(`SELECT request_hash, ticket_id, created_at FROM idempotency WHERE scope = ? AND key = ? AND created_at >= ?`,
		scope, key, nanos(since)).Scan(&r.RequestHash, &r.TicketID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.CreatedAt = time.Unix(0, created)
	return r, nil
}

func (t *tx) PutIdempotency(r *civiq.IdempotencyRecord) error {
	return t.exec(`INSERT INTO idempotency (scope, key, request_hash, ticket_id, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, ticket_id = excluded.ticket_id, created_at = excluded.created_at`,
		r.Scope, r.Key, r.RequestHash, r.TicketID, nanos(r.CreatedAt))
}
