package civiq

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Sign-in attempts are limited (issue 18: 500 parallel wrong sign-ins took
// a server to 11.5 GiB). Each password check holds argon2id's memory
// (argonMemory, 19 MiB) for tens of milliseconds, so:
//
//   - at most argonSlots checks run at once; an attempt waits at most
//     loginSlotWait for a slot, then is refused;
//   - a client address has at most loginInFlight attempts at once and
//     loginAddrFailures wrong ones per loginWindow;
//   - a username has at most loginInFlight attempts at once, and
//     loginUserFailures wrong ones within loginWindow lock it for
//     loginLockout. An admin lifts the lock of a user (UnlockUser).
//
// A refused attempt checks no password and answers rate_limited after
// loginRefusalHold, with the wait (Error.RetryAfter). Names nobody has are counted and locked
// like users' names, so the answers do not tell whether a user exists; a
// user's lock is stored (every node keeps it, an admin lifts it), a made-up
// name's lock only in this node's memory. Each lock and each lift is an
// audit event.
const (
	argonSlots        = 4
	loginSlotWait     = 2 * time.Second
	loginRefusalHold  = time.Second
	loginInFlight     = 2
	loginAddrFailures = 20
	loginUserFailures = 5
	loginWindow       = 15 * time.Minute
	loginLockout      = 15 * time.Minute
	// loginKeys bounds the addresses and names remembered.
	loginKeys = 100_000
)

// clientKey is the context key of the client's address.
type clientKey struct{}

// WithClientAddr returns ctx carrying the address a request comes from;
// sign-in attempts are counted per address.
func WithClientAddr(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, clientKey{}, a)
}

// ClientAddr is the address WithClientAddr gave ctx; the zero Addr when
// none.
func ClientAddr(ctx context.Context) netip.Addr {
	a, _ := ctx.Value(clientKey{}).(netip.Addr)
	return a
}

// clientAddrKey names the client of ctx for counting (AddrKey).
func clientAddrKey(ctx context.Context) string { return "addr " + AddrKey(ClientAddr(ctx)) }

// AddrKey names a client address for counting: the address, or its /64
// for IPv6, where one client holds a whole /64.
func AddrKey(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.Unmap().String()
}

// loginGuard counts sign-in attempts per address and per name, and holds
// the password checks' slots.
type loginGuard struct {
	once  sync.Once
	slots chan struct{}

	mu   sync.Mutex
	keys map[string]*loginCount
}

// loginCount is one address's or name's attempts: those under way, and the
// wrong ones since the window began.
type loginCount struct {
	inFlight int
	failures int
	since    time.Time
	locked   time.Time // a made-up name's lock, until then
}

// wrong is the number of wrong attempts in the window running at now.
func (c *loginCount) wrong(now time.Time) int {
	if !now.Before(c.since.Add(loginWindow)) {
		return 0
	}
	return c.failures
}

// idle reports whether c no longer says anything at now.
func (c *loginCount) idle(now time.Time) bool {
	return c.inFlight == 0 && !now.Before(c.since.Add(loginWindow)) && !now.Before(c.locked)
}

func tooMany(wait time.Duration, format string, args ...any) *Error {
	e := Errorf(ERateLimited, format, args...)
	e.RetryAfter = max(wait, time.Second)
	return e
}

// begin lets an attempt from addr for name through, counting it under way,
// or refuses it. A let-through attempt ends with end.
func (g *loginGuard) begin(addr, name string, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, n := g.count(addr, now), g.nameCount(name, now)
	if a.wrong(now) >= loginAddrFailures {
		return tooMany(a.since.Add(loginWindow).Sub(now), "too many wrong sign-ins from this address: try again later")
	}
	if a.inFlight >= loginInFlight || n.inFlight >= loginInFlight {
		return tooMany(time.Second, "a sign-in is already under way: try again in a moment")
	}
	a.inFlight++
	n.inFlight++
	return nil
}

// nameCount is name's count; an attempt without a name (the identity
// platform's answer, BeginExternal) counts on a throwaway one.
func (g *loginGuard) nameCount(name string, now time.Time) *loginCount {
	if name == "" {
		return &loginCount{}
	}
	return g.count(name, now)
}

func lockedOut(wait time.Duration) *Error {
	return tooMany(wait, "too many wrong passwords for this user: try again later, or ask an administrator")
}

// How an attempt let through by begin ended.
type attempt int

const (
	attemptRefused attempt = iota // no password checked
	attemptWrong
	attemptRight
)

// end counts an attempt done, and a wrong one against both keys; a right
// one clears the name's. It reports whether name has just reached its
// lock.
func (g *loginGuard) end(addr, name string, how attempt, now time.Time) (lock bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, n := g.count(addr, now), g.nameCount(name, now)
	a.inFlight, n.inFlight = max(a.inFlight-1, 0), max(n.inFlight-1, 0)
	switch how {
	case attemptRight:
		n.failures = 0
		return false
	case attemptRefused:
		return false
	}
	for _, c := range []*loginCount{a, n} {
		if c.wrong(now) == 0 {
			c.failures, c.since = 0, now
		}
		c.failures++
	}
	if n.failures < loginUserFailures {
		return false
	}
	n.failures = 0
	return true
}

// lockName locks a made-up name, in memory, until then.
func (g *loginGuard) lockName(name string, until, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.count(name, now).locked = until
}

// lockedName reports until when a made-up name is locked (zero if not).
func (g *loginGuard) lockedName(name string, now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.keys[name]; c != nil && c.locked.After(now) {
		return c.locked
	}
	return time.Time{}
}

// forget drops a name's wrong attempts, when an admin lifts its lock.
func (g *loginGuard) forget(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.keys[name]; c != nil {
		c.failures, c.locked = 0, time.Time{}
	}
}

// count is key's count, made when missing. The map stays within
// loginKeys: idle keys go first, then, in a flood, keys with no attempt
// under way (a quarter at once, so a full map is not swept per attempt).
func (g *loginGuard) count(key string, now time.Time) *loginCount {
	if c := g.keys[key]; c != nil {
		return c
	}
	if g.keys == nil {
		g.keys = map[string]*loginCount{}
	}
	if len(g.keys) >= loginKeys {
		for k, c := range g.keys {
			if c.idle(now) {
				delete(g.keys, k)
			}
		}
		for k, c := range g.keys {
			if len(g.keys) < loginKeys*3/4 {
				break
			}
			if c.inFlight == 0 {
				delete(g.keys, k)
			}
		}
	}
	c := &loginCount{}
	g.keys[key] = c
	return c
}

// argon runs fn, an argon2id computation, in one of the argon2 slots,
// waiting for one at most loginSlotWait.
func (g *loginGuard) argon(ctx context.Context, fn func()) error {
	g.once.Do(func() { g.slots = make(chan struct{}, argonSlots) })
	t := time.NewTimer(loginSlotWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
	case <-t.C:
		return tooMany(time.Second, "too many sign-ins at once: try again in a moment")
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}

// check checks a password in one of the argon2 slots.
func (g *loginGuard) check(ctx context.Context, hash, password string) (right bool, err error) {
	err = g.argon(ctx, func() { right = CheckPassword(hash, password) })
	return right, err
}

// nameKey is the counting key of a username.
func nameKey(username string) string { return "user " + strings.ToLower(username) }

// holdRefusal answers a refused attempt only after about loginRefusalHold
// (from half to one and a half of it, at random, so that a flood's
// clients do not come back all at once), so that clients repeating
// refused attempts in a loop cost the server little: 500 of them ask 500
// times a second, not thousands (issue 18: /healthz is to answer within
// 100 ms through a flood).
func holdRefusal(ctx context.Context, err error) error {
	t := time.NewTimer(loginRefusalHold/2 + rand.N(loginRefusalHold))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return err
}

// dummyHash is checked for names nobody has, so they take a check's time.
var dummyHash = HashPassword("civiq-no-such-user")

// checkLogin finds the user whose password this is, within the limits: a
// local user, or, with a Directory, someone the directory knows (a user
// whose source is the directory, or a name no local user has), whose
// Identity it returns instead.
func (e *Engine) checkLogin(ctx context.Context, username, password string) (*User, *Identity, RoleMap, error) {
	addr, name := clientAddrKey(ctx), nameKey(username)
	if err := e.logins.begin(addr, name, e.now()); err != nil {
		return nil, nil, nil, holdRefusal(ctx, err)
	}
	var u *User
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		u, err = tx.User(username)
		return err
	})
	hash, until := dummyHash, time.Time{}
	switch {
	case err == nil:
		hash = u.PasswordHash
		if u.LockedUntil != nil {
			until = *u.LockedUntil
		}
	case ErrorCode(err) == ENotFound:
		u, until = nil, e.logins.lockedName(name, e.now())
	default:
		e.logins.end(addr, name, attemptRefused, e.now())
		return nil, nil, nil, err
	}
	if now := e.now(); until.After(now) {
		e.logins.end(addr, name, attemptRefused, now)
		return nil, nil, nil, holdRefusal(ctx, lockedOut(until.Sub(now)))
	}
	var right bool
	var id *Identity
	var dir Directory
	var roles RoleMap
	if u == nil || u.Source() == SourceLDAP { // a local user's password is never the directory's
		if dir, roles, err = e.directory(ctx); err != nil {
			e.logins.end(addr, name, attemptRefused, e.now())
			return nil, nil, nil, err
		}
	}
	if dir != nil {
		// The directory's bind, in an argon slot too: it bounds the
		// checks under way, whoever does them.
		var derr error
		err = e.logins.argon(ctx, func() {
			if password == "" { // an empty password binds anonymously on many directories
				return
			}
			id, derr = dir.Authenticate(ctx, username, password)
			if ErrorCode(derr) == EUnauthorized {
				id, derr = nil, nil
			}
		})
		if err == nil {
			err = derr
		}
		if err == nil && id != nil && !strings.EqualFold(id.Username, username) {
			err = fmt.Errorf("the directory signed %q in as %q", username, id.Username)
		}
		right, u = id != nil, nil
	} else {
		right, err = e.logins.check(ctx, hash, password)
	}
	if err != nil {
		e.logins.end(addr, name, attemptRefused, e.now())
		return nil, nil, nil, err
	}
	if right && (u != nil || id != nil) {
		e.logins.end(addr, name, attemptRight, e.now())
		return u, id, roles, nil
	}
	if e.logins.end(addr, name, attemptWrong, e.now()) {
		if err := e.lockLogin(ctx, username, addr); err != nil {
			return nil, nil, nil, err
		}
	}
	return nil, nil, nil, errBadLogin
}

// lockLogin locks a username after too many wrong passwords: a user's lock
// is stored, a made-up name's kept in memory; either way an audit event
// is, so both take the same time.
func (e *Engine) lockLogin(ctx context.Context, username, addr string) error {
	now := e.now()
	until := now.Add(loginLockout)
	err := e.update(ctx, func(tx Tx) error {
		u, err := tx.User(username)
		switch {
		case err == nil:
			u.LockedUntil = &until
			if err := tx.UpdateUser(u); err != nil {
				return err
			}
		case ErrorCode(err) != ENotFound:
			return err
		}
		return tx.AppendAudit(&AuditEvent{Type: AuditLoginLocked, At: now, Username: username, Address: strings.TrimPrefix(addr, "addr ")})
	})
	if err != nil {
		return err
	}
	e.logins.lockName(nameKey(username), until, now)
	return nil
}

// Audit event types.
const (
	AuditLoginLocked   = "login.locked"   // too many wrong passwords locked a username
	AuditLoginUnlocked = "login.unlocked" // an admin lifted a user's lock
	// AuditPasswordChanged: users changed their own password
	// (ChangePassword); AuditPasswordReset: an admin set one (UpdateUser).
	AuditPasswordChanged = "password.changed"
	AuditPasswordReset   = "password.reset"
)

// AuditEvent is a security event kept for admins; it concerns no hall.
type AuditEvent struct {
	ID       int64     `json:"id"`
	Type     string    `json:"type"`
	At       time.Time `json:"at"`
	Username string    `json:"username"`
	// Actor is who did it (an admin's principal key), empty for the
	// system; for single sign-on (sso.go) the source that signed the
	// user in, oidc or ldap.
	Actor string `json:"actor,omitempty"`
	// Address is the client's address (or its /64) whose wrong passwords
	// locked the name.
	Address string `json:"address,omitempty"`
}

// AuditTx stores the audit events.
type AuditTx interface {
	// AppendAudit stores a security event; AuditEvents gives the last
	// limit, newest first.
	AppendAudit(a *AuditEvent) error
	AuditEvents(limit int) ([]AuditEvent, error)
}

// UnlockUser lifts a user's sign-in lock, with an audit event naming the
// admin who did.
func (e *Engine) UnlockUser(ctx context.Context, actor Principal, username string) (*User, error) {
	var out *User
	err := e.update(ctx, func(tx Tx) error {
		u, err := tx.User(username)
		if err != nil {
			return err
		}
		u.LockedUntil = nil
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		out = u
		return tx.AppendAudit(&AuditEvent{Type: AuditLoginUnlocked, At: e.now(), Username: u.Username, Actor: actor.Key()})
	})
	if err != nil {
		return nil, err
	}
	e.logins.forget(nameKey(username))
	return out, nil
}

// AuditEvents returns the last limit security events, newest first.
func (e *Engine) AuditEvents(ctx context.Context, limit int) ([]AuditEvent, error) {
	var out []AuditEvent
	err := e.store.View(ctx, func(tx Tx) (err error) { out, err = tx.AuditEvents(limit); return })
	return out, err
}

// ChangePassword changes the signed-in user's own password: the current
// one must be right (a wrong one counts like a wrong sign-in), the new one
// follows the rules of every password. Every other session of the user
// ends; sess, the one it is changed from, stays.
func (e *Engine) ChangePassword(ctx context.Context, p Principal, sess *Session, current, next string) error {
	if p.User == nil || sess == nil {
		return Errorf(EForbidden, "only a signed-in user changes their password")
	}
	if src := p.User.Source(); src != SourceLocal {
		return Errorf(EConflict, "your password is the %s's: change it there", sourceName(src))
	}
	if err := ValidatePassword(next); err != nil {
		return FieldErrorf("new", "%s", ErrorMessage(err))
	}
	if next == current {
		return FieldErrorf("new", "the new password is the current one")
	}
	if _, _, _, err := e.checkLogin(ctx, p.User.Username, current); err != nil {
		if ErrorCode(err) == EUnauthorized {
			return FieldErrorf("current", "the current password is wrong")
		}
		return err
	}
	var hash string
	if err := e.logins.argon(ctx, func() { hash = HashPassword(next) }); err != nil {
		return err
	}
	err := e.update(ctx, func(tx Tx) error {
		u, err := tx.UserByID(p.User.ID)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		if err := e.userChanged(tx, u); err != nil { // the edges sign the user in with the new hash
			return err
		}
		if err := tx.DeleteSessions(u.ID, sess.TokenHash); err != nil {
			return err
		}
		return tx.AppendAudit(&AuditEvent{Type: AuditPasswordChanged, At: e.now(), Username: u.Username, Actor: p.Key()})
	})
	if err != nil {
		return err
	}
	e.auth.dropUser(p.User.ID)
	return nil
}
