package civiq

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Roles of users.
const (
	RoleAdmin   = "admin"   // every hall, every page
	RoleManager = "manager" // manages their halls
	RoleStaff   = "staff"   // calls and serves at the counters of their halls
)

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return r == RoleAdmin || r == RoleManager || r == RoleStaff }

// User is a person who signs in. Admins create users; a user changes only
// their own password.
type User struct {
	ID           int64     `json:"-"`
	Username     string    `json:"username"`
	Role         string    `json:"role"`
	HallIDs      []string  `json:"hall_ids,omitempty"` // halls of a manager or staff member
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	// LockedUntil: too many wrong passwords lock the user until then
	// (login.go), unless an admin lifts the lock first.
	LockedUntil *time.Time `json:"locked_until,omitempty"`
}

// Session is a signed-in user's bearer token (API) or cookie (pages). Only
// the token's hash is stored.
type Session struct {
	TokenHash string
	UserID    int64
	CSRF      string
	ExpiresAt time.Time
}

// UserTx is what a store keeps of users and their sessions
// (sqlstore/users.go).
type UserTx interface {
	UserCount() (int, error)
	User(username string) (*User, error)
	UserByID(id int64) (*User, error)
	Users() ([]User, error)
	InsertUser(u *User) error
	UpdateUser(u *User) error
	// DeleteUser also ends the user's sessions.
	DeleteUser(id int64) error
	Session(tokenHash string) (*Session, error)
	InsertSession(s *Session) error
	DeleteSession(tokenHash string) error
	DeleteSessions(userID int64) error
}

// SessionCookie names the cookie that carries a session for pages.
const SessionCookie = "civiq_session"

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 12 * time.Hour

// argon2id parameters (RFC 9106, second recommended option, lighter memory).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a password with argon2id and a random salt, in the
// PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// CheckPassword reports whether password matches the argon2id hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t == 0 || t > 10 || p == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// ValidatePassword checks a new password.
func ValidatePassword(pw string) error {
	if len(pw) < 10 {
		return FieldErrorf("password", "password must be at least 10 characters")
	}
	if len(pw) > 200 {
		return FieldErrorf("password", "password is at most 200 characters")
	}
	return nil
}

// Users returns every user, for admins.
func (e *Engine) Users(ctx context.Context) ([]User, error) {
	var out []User
	err := e.Store.View(ctx, func(tx Tx) (err error) { out, err = tx.Users(); return })
	return out, err
}
