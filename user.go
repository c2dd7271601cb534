package civiq

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
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

// MarshalJSON writes u with its source (sso.go): local, oidc or ldap.
func (u User) MarshalJSON() ([]byte, error) {
	type plain User
	return json.Marshal(struct {
		plain
		Source string `json:"source"`
	}{plain(u), u.Source()})
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
	// DeleteSessions ends a user's sessions but the one whose token hash
	// is except ("" for none).
	DeleteSessions(userID int64, except string) error
}

// SessionCookie names the cookie that carries a session for pages.
const SessionCookie = "civiq_session"

// SessionTTL is how long a sign-in lasts. Its cookie says so as Max-Age,
// counted from when the browser receives it, so a device whose clock is
// wrong keeps it as long as the server does.
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
	err := e.store.View(ctx, func(tx Tx) (err error) { out, err = tx.Users(); return })
	return out, err
}

// errBadLogin is returned by Login for unknown users and wrong passwords alike.
var errBadLogin = Errorf(EUnauthorized, "wrong username or password")

// Login checks a password and opens a session: a local user's, or, with a
// Directory, the directory's (SignInExternal). It returns the session
// token, which is stored only as a hash. Attempts are limited per client
// address (WithClientAddr) and per username (login.go): too many answer
// rate_limited, with the wait.
func (e *Engine) Login(ctx context.Context, username, password string) (string, *Session, *User, error) {
	u, id, roles, err := e.checkLogin(ctx, username, password)
	if err != nil {
		return "", nil, nil, err
	}
	if id != nil { // the directory's (sso.go)
		id.Source = SourceLDAP
		return e.SignInExternal(ctx, *id, roles)
	}
	token := NewToken()
	s := &Session{TokenHash: HashToken(token), UserID: u.ID, CSRF: NewToken(), ExpiresAt: e.now().Add(SessionTTL)}
	if err := e.update(ctx, func(tx Tx) error { return tx.InsertSession(s) }); err != nil {
		return "", nil, nil, err
	}
	return token, s, u, nil
}

// Authenticate finds who holds a bearer token: a user's session or a paired
// device. An unknown or expired token is unauthorized.
func (e *Engine) Authenticate(ctx context.Context, token string) (Principal, *Session, error) {
	var p Principal
	var sess *Session
	h := HashToken(token)
	if c, ok := e.auth.get(h, e.now()); ok {
		return c.p, c.sess, nil
	}
	err := e.store.View(ctx, func(tx Tx) error {
		if strings.HasPrefix(token, EdgeTokenPrefix) { // edge.go
			t, err := e.authenticateEdge(tx, h)
			p.Edge = t
			return err
		}
		s, err := tx.Session(h)
		if err == nil {
			if e.now().After(s.ExpiresAt) {
				return Errorf(EUnauthorized, "the session has expired: sign in again")
			}
			u, err := tx.UserByID(s.UserID)
			if err != nil {
				return err
			}
			p.User, sess = u, s
			return nil
		}
		if ErrorCode(err) != ENotFound {
			return err
		}
		d, err := tx.DeviceByToken(h)
		if err != nil {
			return err
		}
		p.Device = d
		return nil
	})
	if ErrorCode(err) == ENotFound {
		return p, nil, Errorf(EUnauthorized, "unknown token")
	}
	if err == nil {
		e.auth.put(h, p, sess, e.now())
	}
	return p, sess, err
}

// Logout ends a session.
func (e *Engine) Logout(ctx context.Context, token string) error {
	e.auth.drop(HashToken(token))
	return e.update(ctx, func(tx Tx) error { return tx.DeleteSession(HashToken(token)) })
}

// Bootstrap creates the user admin when there is no user at all, with
// password, or with a random password that it returns so it can be shown
// once. It returns "" when users already exist or password was given.
func (e *Engine) Bootstrap(ctx context.Context, password string) (string, error) {
	generated := ""
	if password == "" {
		generated = NewToken()[:20]
		password = generated
	}
	hash := HashPassword(password)
	created := false
	err := e.update(ctx, func(tx Tx) error {
		n, err := tx.UserCount()
		if err != nil || n > 0 {
			return err
		}
		created = true
		return tx.InsertUser(&User{Username: "admin", Role: RoleAdmin, PasswordHash: hash, CreatedAt: e.now()})
	})
	if err != nil || !created {
		return "", err
	}
	return generated, nil
}

// CreateUser adds a user; only admins do this.
func (e *Engine) CreateUser(ctx context.Context, u *User, password string) error {
	if err := e.Refuse(ctx, WorkUsers, ""); err != nil { // edge.go: the city owns it
		return err
	}
	if !validUsername(u.Username) {
		return FieldErrorf("username", "username must be 1-40 letters, digits, '.', '-' or '_'")
	}
	if !ValidRole(u.Role) {
		return FieldErrorf("role", "role must be admin, manager or staff")
	}
	if err := ValidatePassword(password); err != nil {
		return err
	}
	if u.Role != RoleAdmin && len(u.HallIDs) == 0 {
		return FieldErrorf("hall_ids", "a %s needs at least one hall", u.Role)
	}
	u.PasswordHash = HashPassword(password)
	u.CreatedAt = e.now()
	return e.update(ctx, func(tx Tx) error {
		for _, h := range u.HallIDs {
			if _, err := tx.Hall(h); err != nil {
				if ErrorCode(err) == ENotFound {
					return FieldErrorf("hall_ids", "unknown hall %s", h)
				}
				return err
			}
		}
		if _, err := tx.User(u.Username); err == nil {
			return &Error{Code: EConflict, Field: "username", Message: "user " + u.Username + " already exists"}
		} else if ErrorCode(err) != ENotFound {
			return err
		}
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		return e.userChanged(tx, u)
	})
}

func validUsername(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// UserUpdate is what an admin may change about a user. A nil field stays
// as it is; Password, when set, is a new password.
type UserUpdate struct {
	Role     *string
	HallIDs  *[]string
	Password *string
}

// UpdateUser changes a user's role, halls or password. The last admin
// stays an admin. A new password signs the user out everywhere, even an
// admin resetting their own (ChangePassword keeps the session it is
// changed from), and is an audit event.
func (e *Engine) UpdateUser(ctx context.Context, actor Principal, username string, upd UserUpdate) (*User, error) {
	if err := e.Refuse(ctx, WorkUsers, ""); err != nil { // edge.go: the city owns it
		return nil, err
	}
	var hash string
	if upd.Password != nil {
		if err := ValidatePassword(*upd.Password); err != nil {
			return nil, err
		}
		hash = HashPassword(*upd.Password)
	}
	if upd.Role != nil && !ValidRole(*upd.Role) {
		return nil, FieldErrorf("role", "role must be admin, manager or staff")
	}
	var out *User
	err := e.update(ctx, func(tx Tx) error {
		u, err := tx.User(username)
		if err != nil {
			return err
		}
		before := *u
		wasAdmin := u.Role == RoleAdmin
		if upd.Role != nil {
			u.Role = *upd.Role
		}
		if upd.HallIDs != nil {
			u.HallIDs = append([]string{}, (*upd.HallIDs)...)
		}
		if u.Role == RoleAdmin {
			u.HallIDs = nil // an admin has every hall
		} else {
			if len(u.HallIDs) == 0 {
				return FieldErrorf("hall_ids", "a %s needs at least one hall", u.Role)
			}
			if err := checkHalls(tx, u.HallIDs); err != nil {
				return err
			}
		}
		if wasAdmin && u.Role != RoleAdmin {
			if err := keepAnAdmin(tx, u.ID); err != nil {
				return &Error{Code: EConflict, Field: "role", Message: err.Error()}
			}
		}
		if hash != "" {
			if src := u.Source(); src != SourceLocal {
				return &Error{Code: EConflict, Field: "password", Message: u.Username + " signs in through the " + sourceName(src) + ": its password is there"}
			}
			u.PasswordHash = hash
		}
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		if err := e.userChanged(tx, &before, u); err != nil {
			return err
		}
		if hash != "" {
			if err := tx.DeleteSessions(u.ID, ""); err != nil {
				return err
			}
			if err := tx.AppendAudit(&AuditEvent{Type: AuditPasswordReset, At: e.now(), Username: u.Username, Actor: actor.Key()}); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.auth.dropUser(out.ID)
	return out, nil
}

// DeleteUser removes a user and signs them out. Nobody deletes themselves,
// and the last admin stays.
func (e *Engine) DeleteUser(ctx context.Context, actor Principal, username string) error {
	if err := e.Refuse(ctx, WorkUsers, ""); err != nil { // edge.go: the city owns it
		return err
	}
	var id int64
	err := e.update(ctx, func(tx Tx) error {
		u, err := tx.User(username)
		if err != nil {
			return err
		}
		if actor.User != nil && actor.User.ID == u.ID {
			return Errorf(EConflict, "you cannot delete yourself")
		}
		if u.Role == RoleAdmin {
			if err := keepAnAdmin(tx, u.ID); err != nil {
				return Errorf(EConflict, "%s", err.Error())
			}
		}
		id = u.ID
		if err := tx.DeleteUser(u.ID); err != nil {
			return err
		}
		return e.userChanged(tx, u)
	})
	if err != nil {
		return err
	}
	e.auth.dropUser(id)
	return nil
}

// keepAnAdmin fails when the user with id is the only admin.
func keepAnAdmin(tx Tx, id int64) error {
	us, err := tx.Users()
	if err != nil {
		return err
	}
	for _, o := range us {
		if o.Role == RoleAdmin && o.ID != id {
			return nil
		}
	}
	return fmt.Errorf("this is the last admin: make another user an admin first")
}

func checkHalls(tx Tx, halls []string) error {
	seen := map[string]bool{}
	for _, h := range halls {
		if seen[h] {
			return FieldErrorf("hall_ids", "hall %s is listed twice", h)
		}
		seen[h] = true
		if _, err := tx.Hall(h); err != nil {
			if IsNotFound(err) {
				return FieldErrorf("hall_ids", "unknown hall %s", h)
			}
			return err
		}
	}
	return nil
}

// authTTL is how long a token, once checked, is trusted without asking the
// store again. Signing out drops it at once on this node; other nodes trust
// it at most this much longer.
const authTTL = 10 * time.Second

// authCache remembers recently checked tokens by their hash, so that a busy
// kiosk or counter does not cost a read per request.
type authCache struct {
	mu sync.Mutex
	m  map[string]authEntry
}

type authEntry struct {
	p     Principal
	sess  *Session
	until time.Time
}

func (c *authCache) get(hash string, now time.Time) (authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || now.After(e.until) || (e.sess != nil && now.After(e.sess.ExpiresAt)) {
		return authEntry{}, false
	}
	return e, true
}

func (c *authCache) put(hash string, p Principal, sess *Session, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]authEntry{} // crude bound: start again
	}
	c.m[hash] = authEntry{p: p, sess: sess, until: now.Add(authTTL)}
}

func (c *authCache) drop(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, hash)
}

// dropUser forgets every cached session of a user, so a change of role or
// a deletion counts from the next request on.
func (c *authCache) dropUser(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.p.User != nil && e.p.User.ID == id {
			delete(c.m, h)
		}
	}
}
