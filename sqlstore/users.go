package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/civiq/civiq"
)

// Users and their sessions (civiq's user.go).

var _ civiq.UserTx = (*tx)(nil)

const userCols = `id, username, role, hall_ids, password_hash, created_at, locked_until`

func scanUser(sc scanner) (*civiq.User, error) {
	u := &civiq.User{}
	var halls string
	var created int64
	var locked sql.NullInt64
	if err := sc.Scan(&u.ID, &u.Username, &u.Role, &halls, &u.PasswordHash, &created, &locked); err != nil {
		return nil, err
	}
	u.LockedUntil = fromNanos(locked)
	if err := json.Unmarshal([]byte(halls), &u.HallIDs); err != nil {
		return nil, fmt.Errorf("decode user halls: %w", err)
	}
	u.CreatedAt = time.Unix(0, created)
	return u, nil
}

func (t *tx) UserCount() (int, error) {
	var n int
	err := t.row(`SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

func (t *tx) User(username string) (*civiq.User, error) {
	u, err := scanUser(t.row(`SELECT `+userCols+` FROM users WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", username)
	}
	return u, err
}

func (t *tx) UserByID(id int64) (*civiq.User, error) {
	u, err := scanUser(t.row(`SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", fmt.Sprint(id))
	}
	return u, err
}

func (t *tx) Users() ([]civiq.User, error) {
	return scanAll(deref(scanUser))(t.rows(`SELECT ` + userCols + ` FROM users ORDER BY username`))
}

func (t *tx) InsertUser(u *civiq.User) error {
	halls, err := json.Marshal(u.HallIDs)
	if err != nil {
		return err
	}
	if u.HallIDs == nil {
		halls = []byte("[]")
	}
	return t.row(`INSERT INTO users (username, role, hall_ids, password_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		u.Username, u.Role, string(halls), u.PasswordHash, nanos(u.CreatedAt)).Scan(&u.ID)
}

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

func (t *tx) DeleteUser(id int64) error {
	if err := t.DeleteSessions(id, ""); err != nil {
		return err
	}
	return t.exec(`DELETE FROM users WHERE id = ?`, id)
}

func (t *tx) Session(tokenHash string) (*civiq.Session, error) {
	s := &civiq.Session{TokenHash: tokenHash}
	var exp int64
	err := t.row(`SELECT user_id, csrf, expires_at FROM sessions WHERE token_hash = ?`, tokenHash).Scan(&s.UserID, &s.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session", "")
	}
	if err != nil {
		return nil, err
	}
	s.ExpiresAt = time.Unix(0, exp)
	return s, nil
}

func (t *tx) InsertSession(s *civiq.Session) error {
	// Expired sessions go when new ones come, so the table stays small.
	if err := t.exec(`DELETE FROM sessions WHERE expires_at < ?`, time.Now().UnixNano()); err != nil {
		return err
	}
	return t.exec(`INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)`, s.TokenHash, s.UserID, s.CSRF, nanos(s.ExpiresAt))
}

func (t *tx) DeleteSession(tokenHash string) error {
	return t.exec(`DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
}

func (t *tx) DeleteSessions(userID int64, except string) error {
	return t.exec(`DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`, userID, except)
}
