package api_test

import (
	"strings"
	"testing"
	"time"
)

// Too many wrong passwords answer 429 with Retry-After; an admin sees the
// lock, lifts it (DELETE /api/v1/users/{username}/lock), and reads both in
// the audit (GET /api/v1/audit); nobody else may.
func TestLoginLockoutAPI(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	mgr := ts.createUser(t, "mgr", "manager", "demo")
	ts.createUser(t, "clerk", "staff", "demo")
	wrong := map[string]string{"username": "clerk", "password": "not-the-password"}
	for range 5 {
		ts.do(t, "POST", "/api/v1/auth/login", "", wrong).wantErr(t, 401, "unauthorized", "")
	}
	r := ts.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "clerk", "password": userPassword})
	r.wantErr(t, 429, "rate_limited", "")
	if ra := r.Header.Get("Retry-After"); ra != "900" {
		t.Errorf("Retry-After %q; want 900 (15 minutes)", ra)
	}

	var users struct {
		Users []struct {
			Username    string     `json:"username"`
			LockedUntil *time.Time `json:"locked_until"`
		} `json:"users"`
	}
	ts.do(t, "GET", "/api/v1/users", ts.Admin, nil).want(t, 200).json(t, &users)
	for _, u := range users.Users {
		if (u.LockedUntil != nil) != (u.Username == "clerk") {
			t.Errorf("%s locked_until %v", u.Username, u.LockedUntil)
		}
	}

	ts.do(t, "DELETE", "/api/v1/users/clerk/lock", mgr, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", "/api/v1/audit", mgr, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "DELETE", "/api/v1/users/clerk/lock", "", nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "DELETE", "/api/v1/users/nobody/lock", ts.Admin, nil).wantErr(t, 404, "not_found", "")
	ts.do(t, "DELETE", "/api/v1/users/clerk/lock", ts.Admin, nil).want(t, 200)
	ts.login(t, "clerk", userPassword)

	var audit struct {
		Events []struct {
			Type     string `json:"type"`
			Username string `json:"username"`
			Actor    string `json:"actor"`
			Address  string `json:"address"`
		} `json:"events"`
	}
	ts.do(t, "GET", "/api/v1/audit", ts.Admin, nil).want(t, 200).json(t, &audit)
	if len(audit.Events) != 2 || audit.Events[0].Type != "login.unlocked" || audit.Events[0].Actor != "user:admin" ||
		audit.Events[1].Type != "login.locked" || audit.Events[1].Username != "clerk" || audit.Events[1].Address != "127.0.0.1" {
		t.Errorf("audit %+v", audit.Events)
	}
}

// A user changes their own password (PUT /api/v1/auth/password): their
// other sessions end, the one they changed it from stays (issue 18: other
// sessions stayed signed in). An admin's reset ends every session of the
// user, the admin's own too.
func TestChangeOwnPassword(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	here := ts.createUser(t, "clerk", "staff", "demo")
	there := ts.login(t, "clerk", userPassword)
	kiosk := ts.pairDevice(t, "demo", "kiosk", "")
	const next = "a-brand-new-password"
	path := "/api/v1/auth/password"

	ts.do(t, "PUT", path, "", map[string]string{"current": userPassword, "new": next}).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "PUT", path, kiosk, map[string]string{"current": userPassword, "new": next}).wantErr(t, 403, "forbidden", "")
	ts.do(t, "PUT", path, here, map[string]string{"current": "not-the-password", "new": next}).wantErr(t, 400, "invalid", "current")
	ts.do(t, "PUT", path, here, map[string]string{"current": userPassword, "new": "short"}).wantErr(t, 400, "invalid", "new")
	ts.do(t, "PUT", path, here, map[string]string{"current": userPassword, "new": userPassword}).wantErr(t, 400, "invalid", "new")
	ts.do(t, "PUT", path, here, map[string]string{"current": userPassword}).wantErr(t, 400, "invalid", "new")
	ts.do(t, "GET", "/api/v1/auth/me", there, nil).want(t, 200) // nothing changed yet

	ts.do(t, "PUT", path, here, map[string]string{"current": userPassword, "new": next}).want(t, 204)
	ts.do(t, "GET", "/api/v1/auth/me", here, nil).want(t, 200)
	ts.do(t, "GET", "/api/v1/auth/me", there, nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "clerk", "password": userPassword}).wantErr(t, 401, "unauthorized", "")
	again := ts.login(t, "clerk", next)

	// An admin's reset ends them all.
	ts.do(t, "PUT", "/api/v1/users/clerk", ts.Admin, map[string]string{"password": userPassword}).want(t, 200)
	for _, tok := range []string{here, again} {
		ts.do(t, "GET", "/api/v1/auth/me", tok, nil).wantErr(t, 401, "unauthorized", "")
	}
	ts.do(t, "PUT", "/api/v1/users/admin", ts.Admin, map[string]string{"password": "admin-reset-password"}).want(t, 200)
	ts.do(t, "GET", "/api/v1/auth/me", ts.Admin, nil).wantErr(t, 401, "unauthorized", "")

	admin := ts.login(t, "admin", "admin-reset-password")
	var audit struct {
		Events []struct{ Type, Username, Actor string } `json:"events"`
	}
	ts.do(t, "GET", "/api/v1/audit", admin, nil).want(t, 200).json(t, &audit)
	var got []string
	for _, e := range audit.Events {
		got = append(got, e.Type+" "+e.Username+" "+e.Actor)
	}
	want := []string{"password.reset admin user:admin", "password.reset clerk user:admin", "password.changed clerk user:clerk"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit %q; want %q", got, want)
	}
}
