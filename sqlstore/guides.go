package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/civiq/civiq"
)

// Service guides (civiq's guide.go; migration 0004).

var _ civiq.GuideTx = (*tx)(nil)

// maxSearchTerms bounds the words of a search: each adds a condition.
const maxSearchTerms = 5

func decodeGuide(data string) (civiq.Guide, error) {
	var g civiq.Guide
	if err := json.Unmarshal([]byte(data), &g); err != nil {
		return g, fmt.Errorf("decode guide: %w", err)
	}
	return g, nil
}

func (t *tx) guideList(q string, args ...any) ([]civiq.Guide, error) {
	return scanAll(func(sc scanner) (civiq.Guide, error) {
		var data string
		if err := sc.Scan(&data); err != nil {
			return civiq.Guide{}, err
		}
		return decodeGuide(data)
	})(t.rows(q, args...))
}

// searchTerms splits a search into at most maxSearchTerms words.
func searchTerms(text string) []string {
	terms := strings.Fields(text)
	if len(terms) > maxSearchTerms {
		terms = terms[:maxSearchTerms]
	}
	return terms
}

// likePattern matches s anywhere, with LIKE's wildcards in s taken
// literally (ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// Guides lists guides. A search whose every word has three characters or
// more goes through the trigram index, ranked: the name equal to the first
// word, then names holding it (the earlier the better), then bm25 with
// the name weighing most, then keywords. Shorter words cannot use trigrams:
// they are matched with LIKE over names and keywords, ranked the same way
// and then by shorter names.
func (t *tx) Guides(q civiq.GuideQuery) ([]civiq.Guide, error) {
	query, args, seqs := guideSearch(q, false, t.d.IsPostgres())
	if seqs {
		return t.rankedGuides(query, args...)
	}
	return t.guideList(query, args...)
}

func (t *tx) GuideIDs(q civiq.GuideQuery) ([]string, error) {
	query, args, _ := guideSearch(q, true, t.d.IsPostgres())
	return scanAll(scanString)(t.rows(query, args...))
}

// guideSearch is the statement of a search (Guides), selecting each
// guide's id when ids, else its data, or, for a ranked search on SQLite,
// its seq (seqs): the sort then carries a number, not each guide's JSON.
func guideSearch(q civiq.GuideQuery, ids, postgres bool) (query string, args []any, seqs bool) {
	data, seq := "g.data", "g.seq"
	if ids {
		data, seq = "g.id", "g.id"
	}
	limit := q.Limit
	if limit == 0 {
		limit = 50
	}
	if limit < 0 {
		limit = math.MaxInt32 // every guide; PostgreSQL takes no negative LIMIT
	}
	svc, svcArgs := "", []any{}
	if q.ServiceID != "" {
		svc, svcArgs = " AND g.service_id = ?", []any{q.ServiceID}
	}
	terms := searchTerms(q.Text)
	if len(terms) == 0 {
		args = append(append([]any{q.HallID}, svcArgs...), limit, q.Offset)
		return `SELECT ` + data + ` FROM guides g WHERE g.hall_id = ?` + svc + ` ORDER BY g.position, g.name LIMIT ? OFFSET ?`, args, false
	}
	first := terms[0]
	short := false
	for _, w := range terms {
		if utf8.RuneCountInString(w) < 3 {
			short = true
		}
	}
	if postgres {
		query, args = guidesPostgres(data, q.HallID, svc, svcArgs, terms, limit, q.Offset)
		return query, args, false
	}
	rank := ` ORDER BY g.name = ? DESC, instr(g.name, ?) = 0, instr(g.name, ?)`
	rankArgs := []any{first, first, first}
	if !short {
		quoted := make([]string, len(terms))
		for i, w := range terms {
			quoted[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		}
		args = append([]any{strings.Join(quoted, " "), q.HallID}, svcArgs...)
		args = append(append(args, rankArgs...), limit, q.Offset)
		return `SELECT ` + seq + ` FROM guides_fts JOIN guides g ON g.seq = guides_fts.rowid
			WHERE guides_fts MATCH ? AND g.hall_id = ?` + svc + rank + `, bm25(guides_fts, 10.0, 5.0, 3.0), g.position, g.name LIMIT ? OFFSET ?`, args, !ids
	}
	var where strings.Builder
	args = append([]any{q.HallID}, svcArgs...)
	for _, w := range terms {
		where.WriteString(` AND (g.name LIKE ? ESCAPE '\' OR g.keywords LIKE ? ESCAPE '\')`)
		p := likePattern(w)
		args = append(args, p, p)
	}
	args = append(append(args, rankArgs...), limit, q.Offset)
	return `SELECT ` + seq + ` FROM guides g WHERE g.hall_id = ?` + svc + where.String() + rank + `, length(g.name), g.position, g.name LIMIT ? OFFSET ?`, args, !ids
}

// rankedGuides runs a search that selects the guides' seq, best first,
// then reads the guides found in that order: the sort of every match
// carries a number, not each guide's JSON (SQLite).
func (t *tx) rankedGuides(q string, args ...any) ([]civiq.Guide, error) {
	rows, err := t.rows(q, args...)
	if err != nil {
		return nil, err
	}
	var seqs []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		seqs = append(seqs, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return []civiq.Guide{}, nil
	}
	list, _ := json.Marshal(seqs)
	return t.guideList(`SELECT g.data FROM json_each(?) j JOIN guides g ON g.seq = j.value ORDER BY j.key`, string(list))
}

// guidesPostgres searches without FTS5: every word must be in the name, the
// keywords or the rest (codes, authority, materials), ranked like the
// SQLite index weighs them: a match early in the name first, then early in
// the keywords, then the rest, shorter names first.
func guidesPostgres(col, hallID, svc string, svcArgs []any, terms []string, limit, offset int) (string, []any) {
	var where strings.Builder
	args := append([]any{hallID}, svcArgs...)
	for _, w := range terms {
		where.WriteString(` AND (g.name LIKE ? ESCAPE '\' OR g.keywords LIKE ? ESCAPE '\' OR g.extra LIKE ? ESCAPE '\')`)
		p := likePattern(w)
		args = append(args, p, p, p)
	}
	first := terms[0]
	rank := ` ORDER BY g.name = ? DESC, strpos(g.name, ?) = 0, strpos(g.name, ?), strpos(g.keywords, ?) = 0, strpos(g.keywords, ?), length(g.name), g.position, g.name`
	args = append(args, first, first, first, first, first, limit, offset)
	return `SELECT ` + col + ` FROM guides g WHERE g.hall_id = ?` + svc + where.String() + rank + ` LIMIT ? OFFSET ?`, args
}

func (t *tx) Guide(id string) (*civiq.Guide, error) {
	var data string
	err := t.row(`SELECT data FROM guides WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("guide", id)
	}
	if err != nil {
		return nil, err
	}
	g, err := decodeGuide(data)
	return &g, err
}

func (t *tx) PutGuide(g *civiq.Guide) error {
	data, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO guides (id, hall_id, service_id, position, name, keywords, extra, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET hall_id = excluded.hall_id, service_id = excluded.service_id, position = excluded.position,
		name = excluded.name, keywords = excluded.keywords, extra = excluded.extra, data = excluded.data, updated_at = excluded.updated_at`,
		g.ID, g.HallID, g.ServiceID, g.Position, g.Name, strings.Join(g.Keywords, " "), g.SearchText(), string(data), nanos(g.UpdatedAt))
}

func (t *tx) DeleteGuide(id string) error {
	return t.exec(`DELETE FROM guides WHERE id = ?`, id)
}
