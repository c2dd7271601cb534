package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civiq/civiq"
)

// Cases (civiq's case.go; migration 0004).

var _ civiq.CaseTx = (*tx)(nil)

// caseData is what a case row keeps as JSON.
type caseData struct {
	GuideName    string               `json:"guide_name"`
	GuideNameEn  string               `json:"guide_name_en,omitempty"`
	ServiceID    string               `json:"service_id"`
	TicketNumber string               `json:"ticket_number"`
	CounterID    string               `json:"counter_id,omitempty"`
	Applicant    civiq.Applicant      `json:"applicant"`
	Materials    []civiq.CaseMaterial `json:"materials"`
	Missing      []string             `json:"missing"`
	Reason       string               `json:"reason,omitempty"`
	PromisedDays int                  `json:"promised_days"`
	OpenedBy     string               `json:"opened_by,omitempty"`
	OnBehalf     *civiq.OnBehalf      `json:"on_behalf,omitempty"`
}

const caseCols = `id, number, hall_id, day, guide_id, ticket_id, status, promised_date, opened_at, accepted_at, closed_at, updated_at, data`

func scanCase(sc scanner) (civiq.Case, error) {
	var c civiq.Case
	var opened, updated int64
	var accepted, closed sql.NullInt64
	var data string
	if err := sc.Scan(&c.ID, &c.Number, &c.HallID, &c.Day, &c.GuideID, &c.TicketID, &c.Status, &c.PromisedDate,
		&opened, &accepted, &closed, &updated, &data); err != nil {
		return c, err
	}
	var d caseData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return c, fmt.Errorf("decode case: %w", err)
	}
	c.GuideName, c.GuideNameEn, c.ServiceID, c.TicketNumber, c.CounterID = d.GuideName, d.GuideNameEn, d.ServiceID, d.TicketNumber, d.CounterID
	c.Applicant, c.Materials, c.Missing, c.Reason = d.Applicant, d.Materials, d.Missing, d.Reason
	c.PromisedDays, c.OpenedBy, c.OnBehalf = d.PromisedDays, d.OpenedBy, d.OnBehalf
	if c.Materials == nil {
		c.Materials = []civiq.CaseMaterial{}
	}
	if c.Missing == nil {
		c.Missing = []string{}
	}
	c.OpenedAt, c.UpdatedAt = time.Unix(0, opened), time.Unix(0, updated)
	c.AcceptedAt, c.ClosedAt = fromNanos(accepted), fromNanos(closed)
	return c, nil
}

func caseJSON(c *civiq.Case) (string, error) {
	b, err := json.Marshal(caseData{GuideName: c.GuideName, GuideNameEn: c.GuideNameEn, ServiceID: c.ServiceID, TicketNumber: c.TicketNumber, CounterID: c.CounterID,
		Applicant: c.Applicant, Materials: c.Materials, Missing: c.Missing, Reason: c.Reason, PromisedDays: c.PromisedDays, OpenedBy: c.OpenedBy,
		OnBehalf: c.OnBehalf})
	return string(b), err
}

func (t *tx) InsertCase(c *civiq.Case) error {
	data, err := caseJSON(c)
	if err != nil {
		return err
	}
	return t.row(`INSERT INTO cases (number, hall_id, day, guide_id, ticket_id, status, promised_date, opened_at, accepted_at, closed_at, updated_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Number, c.HallID, c.Day, c.GuideID, c.TicketID, c.Status, c.PromisedDate, nanos(c.OpenedAt), nullNanos(c.AcceptedAt),
		nullNanos(c.ClosedAt), nanos(c.UpdatedAt), data).Scan(&c.ID)
}

func (t *tx) UpdateCase(c *civiq.Case) error {
	data, err := caseJSON(c)
	if err != nil {
		return err
	}
	return t.exec(`UPDATE cases SET status = ?, promised_date = ?, accepted_at = ?, closed_at = ?, updated_at = ?, data = ? WHERE id = ?`,
		c.Status, c.PromisedDate, nullNanos(c.AcceptedAt), nullNanos(c.ClosedAt), nanos(c.UpdatedAt), data, c.ID)
}

func (t *tx) Case(number string) (*civiq.Case, error) {
	c, err := scanCase(t.row(`SELECT `+caseCols+` FROM cases WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("case", number)
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (t *tx) Cases(q civiq.CaseQuery) ([]civiq.Case, error) {
	var where strings.Builder
	args := []any{q.HallID}
	if q.TicketID != "" {
		where.WriteString(` AND ticket_id = ?`)
		args = append(args, q.TicketID)
	}
	if q.Status != "" {
		where.WriteString(` AND status = ?`)
		args = append(args, q.Status)
	}
	if q.DueBefore != "" {
		where.WriteString(` AND closed_at IS NULL AND promised_date <> '' AND promised_date < ?`)
		args = append(args, q.DueBefore)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	return scanAll(scanCase)(t.rows(`SELECT `+caseCols+` FROM cases WHERE hall_id = ?`+where.String()+` ORDER BY opened_at DESC, id DESC LIMIT ?`, append(args, limit)...))
}

func (t *tx) CountCasesOn(hallID, day string) (int, error) {
	var n int
	err := t.row(`SELECT COUNT(*) FROM cases WHERE hall_id = ? AND day = ?`, hallID, day).Scan(&n)
	return n, err
}

func (t *tx) AppendCaseEntry(e *civiq.CaseEntry) error {
	return t.row(`INSERT INTO case_history (case_id, at, from_status, to_status, by_user, note, reason, on_behalf) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.CaseID, nanos(e.At), e.From, e.To, e.By, e.Note, e.Reason, civiq.BehalfRoleOf(e.OnBehalf)).Scan(&e.ID)
}

func (t *tx) CaseEntries(caseID int64) ([]civiq.CaseEntry, error) {
	return scanAll(func(sc scanner) (e civiq.CaseEntry, err error) {
		var at int64
		var behalf string
		err = sc.Scan(&e.ID, &e.CaseID, &at, &e.From, &e.To, &e.By, &e.Note, &e.Reason, &behalf)
		e.At, e.OnBehalf = time.Unix(0, at), civiq.BehalfOf(behalf)
		return e, err
	})(t.rows(`SELECT id, case_id, at, from_status, to_status, by_user, note, reason, on_behalf FROM case_history WHERE case_id = ? ORDER BY id`, caseID))
}

// CasesOfDays reads the cases a hall opened on the local days
// fromDay..toDay as the reports count them: on behalf when the case or
// any of its moves was.
func (t *tx) CasesOfDays(hallID, fromDay, toDay string) ([]civiq.ReportCase, error) {
	return scanAll(func(sc scanner) (r civiq.ReportCase, err error) {
		var opened int64
		var data string
		var moved bool
		if err = sc.Scan(&r.Day, &opened, &data, &moved); err != nil {
			return r, err
		}
		var d caseData
		if err = json.Unmarshal([]byte(data), &d); err != nil {
			return r, err
		}
		r.OpenedAt, r.ServiceID, r.CounterID, r.OpenedBy = time.Unix(0, opened), d.ServiceID, d.CounterID, d.OpenedBy
		r.OnBehalf = moved || d.OnBehalf != nil
		return r, nil
	})(t.rows(`SELECT c.day, c.opened_at, c.data,
		EXISTS (SELECT 1 FROM case_history h WHERE h.case_id = c.id AND h.on_behalf <> '')
		FROM cases c WHERE c.hall_id = ? AND c.day >= ? AND c.day <= ? ORDER BY c.opened_at, c.id`, hallID, fromDay, toDay))
}
