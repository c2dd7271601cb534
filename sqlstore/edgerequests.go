package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/civiq/civiq"
)

// City-side requests for a hall's edge node (migration 0010).

var _ civiq.EdgeRequestTx = (*tx)(nil)

// edgeRequestBody is what a request asks, kept as JSON.
type edgeRequestBody struct {
	ServiceID string               `json:"service_id,omitempty"`
	Holder    string               `json:"holder,omitempty"`
	Code      string               `json:"booking_code,omitempty"`
	Idem      *civiq.Idem          `json:"idem,omitempty"`
	FollowUp  *civiq.FollowUp      `json:"followup,omitempty"`
	Entry     *civiq.FollowUpEntry `json:"followup_entry,omitempty"`
}

const edgeRequestCols = `id, hall_id, kind, body, status, created_at, taken_at, answer`

func scanEdgeRequest(sc scanner) (*civiq.EdgeRequest, error) {
	r := &civiq.EdgeRequest{}
	var body, answer string
	var created, taken int64
	if err := sc.Scan(&r.ID, &r.HallID, &r.Kind, &body, &r.Status, &created, &taken, &answer); err != nil {
		return nil, err
	}
	var b edgeRequestBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return nil, err
	}
	r.ServiceID, r.Holder, r.Code, r.Idem, r.FollowUp, r.Entry = b.ServiceID, b.Holder, b.Code, b.Idem, b.FollowUp, b.Entry
	r.CreatedAt, r.TakenAt = time.Unix(0, created), time.Unix(0, taken)
	if answer != "" {
		r.Answer = &civiq.EdgeAnswer{}
		if err := json.Unmarshal([]byte(answer), r.Answer); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (t *tx) InsertEdgeRequest(r *civiq.EdgeRequest) error {
	body, err := json.Marshal(edgeRequestBody{ServiceID: r.ServiceID, Holder: r.Holder, Code: r.Code, Idem: r.Idem, FollowUp: r.FollowUp, Entry: r.Entry})
	if err != nil {
		return err
	}
	r.ID, err = t.scalar(`INSERT INTO edge_requests (hall_id, kind, body, status, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		r.HallID, r.Kind, string(body), r.Status, nanos(r.CreatedAt))
	return err
}

func (t *tx) TakeEdgeRequests(hallID string, now, retake time.Time, limit int) ([]*civiq.EdgeRequest, error) {
	out, err := scanAll(scanEdgeRequest)(t.rows(`UPDATE edge_requests SET status = 'taken', taken_at = ? WHERE id IN (SELECT id FROM edge_requests
		WHERE hall_id = ? AND (status = 'pending' OR status = 'taken' AND taken_at < ?) ORDER BY id LIMIT ?) RETURNING `+edgeRequestCols,
		nanos(now), hallID, nanos(retake), limit))
	slices.SortFunc(out, func(a, b *civiq.EdgeRequest) int { return int(a.ID - b.ID) })
	return out, err
}

func (t *tx) EdgeRequest(id int64) (*civiq.EdgeRequest, error) {
	r, err := scanEdgeRequest(t.row(`SELECT `+edgeRequestCols+` FROM edge_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("edge request", "")
	}
	return r, err
}

func (t *tx) SetEdgeRequest(r *civiq.EdgeRequest) error {
	answer := ""
	if r.Answer != nil {
		b, err := json.Marshal(r.Answer)
		if err != nil {
			return err
		}
		answer = string(b)
	}
	return t.exec(`UPDATE edge_requests SET status = ?, answer = ? WHERE id = ?`, r.Status, answer, r.ID)
}
