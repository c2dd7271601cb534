package sqlstore

import (
	"database/sql"
	"errors"
	"time"

	"github.com/civiq/civiq"
)

// The signed receipts of cases (migration 0006).

var _ civiq.ReceiptTx = (*tx)(nil)

func (t *tx) InsertReceipt(r *civiq.StoredReceipt) error {
	return t.exec(`INSERT INTO receipts (code, case_id, kind, payload, issued_at) VALUES (?, ?, ?, ?, ?)`,
		r.Code, r.CaseID, r.Kind, r.Payload, nanos(r.IssuedAt))
}

func (t *tx) StoredReceipt(code string) (*civiq.StoredReceipt, error) {
	r := &civiq.StoredReceipt{}
	var at int64
	err := t.row(`SELECT code, case_id, kind, payload, issued_at FROM receipts WHERE code = ?`, code).Scan(&r.Code, &r.CaseID, &r.Kind, &r.Payload, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("receipt", code)
	}
	r.IssuedAt = time.Unix(0, at)
	return r, err
}

func (t *tx) LastReceiptCode(caseID int64) (string, error) {
	var code string
	err := t.row(`SELECT code FROM receipts WHERE case_id = ? ORDER BY issued_at DESC, code LIMIT 1`, caseID).Scan(&code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return code, err
}

func (t *tx) Receipts(caseID int64) ([]civiq.StoredReceipt, error) {
	return scanAll(func(sc scanner) (r civiq.StoredReceipt, err error) {
		var at int64
		err = sc.Scan(&r.Code, &r.CaseID, &r.Kind, &r.Payload, &at)
		r.IssuedAt = time.Unix(0, at)
		return r, err
	})(t.rows(`SELECT code, case_id, kind, payload, issued_at FROM receipts WHERE case_id = ? ORDER BY issued_at, code`, caseID))
}
