package civiq_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// from returns ctx sent from the address a.
func from(ctx context.Context, a string) context.Context {
	return civiq.WithClientAddr(ctx, netip.MustParseAddr(a))
}

// loginErr signs in and returns the error's code, message and wait.
func loginErr(e *env, ctx context.Context, user, pw string) (code, msg string, wait time.Duration) {
	_, _, _, err := e.eng.Login(ctx, user, pw)
	var ce *civiq.Error
	if errors.As(err, &ce) {
		return ce.Code, ce.Message, ce.RetryAfter
	}
	return civiq.ErrorCode(err), "", 0
}

// Five wrong passwords lock a username for a while, a name nobody has just
// the same (the answers tell no one whether a user exists); an admin lifts
// a user's lock; both the lock and the lift are audit events.
func TestLoginLockout(t *testing.T) {
	e := newEnv(t)
	e.step = 0
	admin := bootstrapAdmin(t, e)
	staff := &civiq.User{Username: "li.wei", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
	if err := e.eng.CreateUser(e.ctx, staff, "staff-password-1"); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		code, msg string
		wait      time.Duration
	}
	var seen [2][]answer
	for i, name := range []string{"li.wei", "no.such.user"} {
		// Each from its own address, so only the name's count matters.
		ctx := from(e.ctx, fmt.Sprintf("192.0.2.%d", i+1))
		for range civiq.LoginUserFailures {
			code, msg, wait := loginErr(e, ctx, name, "wrong-password")
			seen[i] = append(seen[i], answer{code, msg, wait})
		}
		// Locked now: even the right password is refused, with the wait.
		code, msg, wait := loginErr(e, ctx, name, "staff-password-1")
		seen[i] = append(seen[i], answer{code, msg, wait})
		if code != civiq.ERateLimited || wait != civiq.LoginLockout {
			t.Errorf("%s after %d wrong passwords: %s %q wait %v; want rate_limited for %v", name, civiq.LoginUserFailures, code, msg, wait, civiq.LoginLockout)
		}
		// Another address changes nothing.
		if code, _, _ := loginErr(e, from(e.ctx, "198.51.100.7"), name, "staff-password-1"); code != civiq.ERateLimited {
			t.Errorf("%s from another address: %s; want rate_limited", name, code)
		}
	}
	if fmt.Sprint(seen[0]) != fmt.Sprint(seen[1]) {
		t.Errorf("a user's answers differ from a made-up name's:\n%v\n%v", seen[0], seen[1])
	}
	for _, a := range seen[0][:civiq.LoginUserFailures] {
		if a.code != civiq.EUnauthorized {
			t.Errorf("wrong passwords before the lock: %v; want unauthorized", seen[0])
			break
		}
	}
	// Others sign in meanwhile.
	if _, _, _, err := e.eng.Login(from(e.ctx, "192.0.2.1"), "admin", "correct horse battery"); err != nil {
		t.Errorf("admin during li.wei's lock: %v", err)
	}
	var users []civiq.User
	if err := e.store.View(e.ctx, func(tx civiq.Tx) (err error) { users, err = tx.Users(); return }); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if locked := u.LockedUntil != nil && u.LockedUntil.After(e.now); locked != (u.Username == "li.wei") {
			t.Errorf("%s locked until %v", u.Username, u.LockedUntil)
		}
	}

	// The admin lifts the lock.
	if _, err := e.eng.UnlockUser(e.ctx, admin, "li.wei"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.eng.Login(from(e.ctx, "192.0.2.1"), "li.wei", "staff-password-1"); err != nil {
		t.Errorf("after the lift: %v", err)
	}
	_, err := e.eng.UnlockUser(e.ctx, admin, "no.such.user")
	wantErr(t, err, civiq.ENotFound, "")

	evs, err := e.eng.AuditEvents(e.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range evs {
		got = append(got, a.Type+" "+a.Username+" "+a.Actor+" "+a.Address)
	}
	want := []string{"login.unlocked li.wei user:admin ", "login.locked no.such.user  192.0.2.2", "login.locked li.wei  192.0.2.1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit events:\n got %q\nwant %q", got, want)
	}

	// A lock ends by itself.
	e.advance(civiq.LoginLockout)
	if _, _, _, err := e.eng.Login(from(e.ctx, "192.0.2.9"), "no.such.user", "x"); civiq.ErrorCode(err) != civiq.EUnauthorized {
		t.Errorf("made-up name after the lock: %v; want unauthorized", err)
	}
}

// Too many wrong passwords from one address, whatever the names, make it
// wait; other addresses sign in.
func TestLoginAddressLimit(t *testing.T) {
	e := newEnv(t)
	e.step = 0
	bootstrapAdmin(t, e)
	bad := from(e.ctx, "2001:db8:1:2::1")
	for i := range civiq.LoginAddrFailures {
		if code, _, _ := loginErr(e, bad, fmt.Sprintf("name-%d", i), "guess"); code != civiq.EUnauthorized {
			t.Fatalf("attempt %d: %s", i, code)
		}
	}
	// Its whole /64 waits, even with the right password.
	code, _, wait := loginErr(e, from(e.ctx, "2001:db8:1:2::99"), "admin", "correct horse battery")
	if code != civiq.ERateLimited || wait <= 0 || wait > 15*time.Minute {
		t.Errorf("after %d wrong from one /64: %s wait %v; want rate_limited", civiq.LoginAddrFailures, code, wait)
	}
	if _, _, _, err := e.eng.Login(from(e.ctx, "2001:db8:1:3::1"), "admin", "correct horse battery"); err != nil {
		t.Errorf("another /64: %v", err)
	}
	e.advance(15 * time.Minute)
	if _, _, _, err := e.eng.Login(bad, "admin", "correct horse battery"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// A flood of parallel wrong sign-ins holds at most ArgonSlots password
// checks at once (each holds argon2id's 19 MiB; issue 18: 500 of them took
// 11.5 GiB): one address gets no more than two at once and the rest of its
// flood is refused at once, so a user signing in from elsewhere meanwhile
// gets in.
func TestLoginFloodBounded(t *testing.T) {
	e := newEnv(t)
	e.step = 0
	bootstrapAdmin(t, e)
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n := int64(e.eng.ArgonInUse()); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			default:
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	// 100 from one address, and 10 from addresses of their own.
	const flood, others = 100, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := range flood + others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := "203.0.113.1"
			if i >= flood {
				addr = fmt.Sprintf("10.0.0.%d", i-flood)
			}
			code, _, _ := loginErr(e, from(e.ctx, addr), fmt.Sprintf("guess-%d", i), "wrong-password")
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	_, _, _, err := e.eng.Login(from(e.ctx, "198.51.100.1"), "admin", "correct horse battery")
	wg.Wait()
	close(stop)
	<-sampled
	if err != nil {
		t.Errorf("admin during the flood: %v", err)
	}
	if p := peak.Load(); p > civiq.ArgonSlots {
		t.Errorf("%d password checks at once; at most %d", p, civiq.ArgonSlots)
	}
	if codes[civiq.ERateLimited] < flood-civiq.LoginAddrFailures || codes[civiq.EUnauthorized]+codes[civiq.ERateLimited] != flood+others {
		t.Errorf("answers %v: want the flood of one address refused but for at most %d", codes, civiq.LoginAddrFailures)
	}
}

// bootstrapAdmin makes the admin (password "correct horse battery") and
// returns it as a principal.
func bootstrapAdmin(t *testing.T, e *env) civiq.Principal {
	t.Helper()
	if _, err := e.eng.Bootstrap(e.ctx, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	_, _, u, err := e.eng.Login(from(e.ctx, "127.0.0.1"), "admin", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	return civiq.Principal{User: u}
}
