package civiq_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/civiq/civiq"
)

// auditTypes are the types of the last n audit events, oldest first.
func auditTypes(t *testing.T, e *env, n int) []string {
	t.Helper()
	evs, err := e.eng.AuditEvents(e.ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Type)
	}
	return out
}

// Someone the platform signs in gets a user, their role and halls from the
// mapping, kept in step at each sign-in, and the session a password opens;
// an identity without a role, with a name civiq cannot hold, mapped to a
// hall civiq lacks, or named as a local user is refused with an audit
// event, and the local admin is never taken over.
func TestSignInExternal(t *testing.T) {
	e := newEnv(t)
	bootstrapAdmin(t, e)
	m, err := civiq.ParseRoleMap("demo-staff=staff:demo; demo-leads=manager:demo; ops=admin; far=staff:nowhere")
	if err != nil {
		t.Fatal(err)
	}
	ctx := from(e.ctx, "192.0.2.7")
	id := civiq.Identity{Source: civiq.SourceOIDC, Username: "zhang.min", Groups: []string{"demo-staff", "other"}}
	token, sess, u, err := e.eng.SignInExternal(ctx, id, m)
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != civiq.RoleStaff || !slices.Equal(u.HallIDs, []string{"demo"}) || u.Source() != civiq.SourceOIDC {
		t.Errorf("first sign-in: %+v, source %s", u, u.Source())
	}
	p, s2, err := e.eng.Authenticate(e.ctx, token)
	if err != nil || p.User == nil || p.User.Username != "zhang.min" || s2.CSRF != sess.CSRF {
		t.Fatalf("the session: %+v %v", p, err)
	}
	if !p.Can(civiq.PermCounterAction, "demo", "1") || p.Can(civiq.PermDashboard, "demo", "") {
		t.Error("a staff member's permissions are not a staff member's")
	}
	// The platform's user has no password here.
	if _, _, _, err := e.eng.Login(e.ctx, "zhang.min", ""); civiq.ErrorCode(err) != civiq.EUnauthorized {
		t.Errorf("a platform user with an empty password: %v", err)
	}

	// Making the user is a configuration change the hall's edge hears of.
	if n := countEvents(e, civiq.EventConfigChanged); n != 1 {
		t.Errorf("%d config.changed events after the first sign-in, want 1 (in demo)", n)
	}
	// Promoted on the platform: a manager at the next sign-in, at once.
	id.Groups = []string{"demo-leads", "demo-staff"}
	token2, _, u, err := e.eng.SignInExternal(ctx, id, m)
	if err != nil || u.Role != civiq.RoleManager {
		t.Fatalf("second sign-in: %+v %v", u, err)
	}
	if p, _, _ := e.eng.Authenticate(e.ctx, token); p.User == nil || p.User.Role != civiq.RoleManager {
		t.Errorf("the first session's user after the promotion: %+v", p.User)
	}
	if p, _, _ := e.eng.Authenticate(e.ctx, token2); !p.Can(civiq.PermDashboard, "demo", "") {
		t.Error("the manager cannot see the dashboard")
	}

	// Refusals, each audited; nothing else changes.
	before, _ := e.eng.Users(e.ctx)
	for _, c := range []struct {
		id    civiq.Identity
		code  string
		audit string
	}{
		{civiq.Identity{Source: civiq.SourceOIDC, Username: "wang.fang", Groups: []string{"visitors"}}, civiq.EForbidden, civiq.AuditSSONoRole},
		{civiq.Identity{Source: civiq.SourceOIDC, Username: "王芳", Groups: []string{"demo-staff"}}, civiq.EForbidden, civiq.AuditSSOBadUsername},
		{civiq.Identity{Source: civiq.SourceOIDC, Username: "admin", Groups: []string{"ops"}}, civiq.EForbidden, civiq.AuditSSONameTaken},
		{civiq.Identity{Source: civiq.SourceLDAP, Username: "zhang.min", Groups: []string{"demo-staff"}}, civiq.EForbidden, civiq.AuditSSONameTaken},
		{civiq.Identity{Source: civiq.SourceOIDC, Username: "li.lei", Groups: []string{"far"}}, civiq.EForbidden, civiq.AuditSSOUnknownHall},
	} {
		if _, _, _, err := e.eng.SignInExternal(ctx, c.id, m); civiq.ErrorCode(err) != c.code {
			t.Errorf("%+v: %v, want %s", c.id, err, c.code)
		}
		if got := auditTypes(t, e, 1); !slices.Equal(got, []string{c.audit}) {
			t.Errorf("%+v: audit %q, want %s", c.id, got, c.audit)
		}
	}
	if after, _ := e.eng.Users(e.ctx); len(after) != len(before) {
		t.Errorf("refusals changed the users: %d, then %d", len(before), len(after))
	}
	evs, _ := e.eng.AuditEvents(e.ctx, 100)
	logins := 0
	for _, a := range evs {
		if a.Type == civiq.AuditSSOLogin {
			logins++
			if a.Username != "zhang.min" || a.Actor != civiq.SourceOIDC || a.Address != "192.0.2.7" {
				t.Errorf("login audit: %+v", a)
			}
		}
	}
	if logins != 2 {
		t.Errorf("%d sign-in audit events, want 2", logins)
	}
	// An admin gives a platform's user no password here (it would make a
	// local account of it); the user's source shows in its JSON.
	admin := civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}
	pw := "a-local-password"
	if _, err := e.eng.UpdateUser(e.ctx, admin, "zhang.min", civiq.UserUpdate{Password: &pw}); civiq.ErrorCode(err) != civiq.EConflict {
		t.Errorf("a password for the platform's user: %v, want conflict", err)
	}
	if b, _ := json.Marshal(u); !strings.Contains(string(b), `"source":"oidc"`) || strings.Contains(string(b), "external") {
		t.Errorf("the user's JSON: %s", b)
	}
	// The break-glass admin still signs in with its password.
	if _, _, u, err := e.eng.Login(e.ctx, "admin", "correct horse battery"); err != nil || u.Source() != civiq.SourceLocal {
		t.Errorf("the local admin: %v", err)
	}
}

// fakeDirectory is a directory of one person, for the engine's rules (the
// real directory is tested in package sso against an LDAP server).
type fakeDirectory struct {
	calls int
}

func (d *fakeDirectory) Authenticate(ctx context.Context, username, password string) (*civiq.Identity, error) {
	d.calls++
	if username == "chen.jing" && password == "directory-pass" {
		return &civiq.Identity{Username: "chen.jing", Groups: []string{"demo-staff"}}, nil
	}
	if username == "nogroup" && password == "directory-pass" {
		return &civiq.Identity{Username: "nogroup"}, nil
	}
	return nil, civiq.Errorf(civiq.EUnauthorized, "invalid credentials")
}

// With a directory, a name no local user has signs in through it (the
// user made with the mapping's role), wrong passwords count and lock as
// local ones do, an empty password never reaches it, and local users,
// the admin first, keep their own passwords.
func TestLoginDirectory(t *testing.T) {
	e := newEnv(t)
	e.step = 0
	bootstrapAdmin(t, e)
	dir := &fakeDirectory{}
	e.eng.MakeDirectory = func(*civiq.LDAPSettings) (civiq.Directory, error) { return dir, nil }
	flags := &civiq.SSOSettings{LDAP: &civiq.LDAPSettings{URL: "ldap://dir.test", BindDN: "uid={username}", Roles: "demo-staff=staff:demo"}}
	if err := flags.Check(); err != nil {
		t.Fatal(err)
	}
	e.eng.SetSSOFlags(flags)
	ctx := from(e.ctx, "192.0.2.8")

	_, _, u, err := e.eng.Login(ctx, "chen.jing", "directory-pass")
	if err != nil || u.Source() != civiq.SourceLDAP || u.Role != civiq.RoleStaff {
		t.Fatalf("directory sign-in: %+v %v", u, err)
	}
	calls := dir.calls
	if _, _, _, err := e.eng.Login(ctx, "admin", "correct horse battery"); err != nil || dir.calls != calls {
		t.Errorf("the local admin: %v, directory asked %d times", err, dir.calls-calls)
	}
	if _, _, _, err := e.eng.Login(ctx, "chen.jing", ""); civiq.ErrorCode(err) != civiq.EUnauthorized || dir.calls != calls {
		t.Errorf("empty password: %v, directory asked %d times", err, dir.calls-calls)
	}
	if code, _, _ := loginErr(e, ctx, "nogroup", "directory-pass"); code != civiq.EForbidden {
		t.Errorf("a directory user without a role: %s, want forbidden", code)
	}
	if got := auditTypes(t, e, 1); !slices.Equal(got, []string{civiq.AuditSSONoRole}) {
		t.Errorf("audit %q", got)
	}
	for i := range 4 { // the empty password was the first wrong one
		if code, _, _ := loginErr(e, ctx, "chen.jing", "wrong-password"); code != civiq.EUnauthorized {
			t.Fatalf("wrong password %d: %s", i+1, code)
		}
	}
	calls = dir.calls
	if code, _, _ := loginErr(e, ctx, "chen.jing", "directory-pass"); code != civiq.ERateLimited || dir.calls != calls {
		t.Errorf("after five wrong passwords: %s, directory asked %d times; want rate_limited without asking", code, dir.calls-calls)
	}
	if err := e.eng.ChangePassword(ctx, civiq.Principal{User: u}, &civiq.Session{}, "directory-pass", "another-pass-1"); civiq.ErrorCode(err) != civiq.EConflict {
		t.Errorf("a directory user changing their password here: %v, want conflict", err)
	}
}

// countEvents counts the events of type typ published so far.
func countEvents(e *env, typ string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// Clip fits text from outside into a message or an audit record: control
// characters dropped (a username typed in keeps no line break into the
// audit), cut at n runes, not bytes.
func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"zhang.min", 60, "zhang.min"},
		{"zhang\r\nmin\x00\x7f", 60, "zhangmin"},
		{"省统一身份认证平台", 4, "省统一身…"},
		{"abcdef", 6, "abcdef"},
		{"a\tbcdefg", 3, "abc…"},
	} {
		if got := civiq.Clip(c.in, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
