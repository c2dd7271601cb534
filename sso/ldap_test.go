package sso_test

import (
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sso"
	"github.com/civiq/civiq/sso/ldaptest"
)

// Binds against a real LDAP server (slapd): by a DN template and by a
// search, with the groups from the entry and from a group search; a wrong
// password, an empty one, an unknown name, a name two entries share and
// a filter injected through the name sign nobody in; the directory away
// is unavailable, not a wrong password.
func TestLDAPBind(t *testing.T) {
	url := ldaptest.Start(t, ldaptest.Sample)
	const roles = "demo-staff=staff:demo"
	people := "ou=people," + ldaptest.Suffix
	byDN := func(c *sso.LDAPConfig) { c.BindDN = "uid={username}," + people }
	bySearch := func(c *sso.LDAPConfig) {
		c.Base, c.Filter, c.SearchDN, c.SearchPassword = ldaptest.Suffix, "(|(uid={username})(mail={username}))", ldaptest.RootDN, ldaptest.RootPassword
	}
	for name, how := range map[string]func(*sso.LDAPConfig){"bind DN": byDN, "search": bySearch} {
		t.Run(name, func(t *testing.T) {
			cfg := sso.LDAPConfig{LDAPSettings: civiq.LDAPSettings{URL: url, Roles: roles, GroupAttr: "businessCategory", GroupBase: "ou=groups," + ldaptest.Suffix},
				Allow: loopback}
			how(&cfg)
			l, err := sso.NewLDAP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			id, err := l.Authenticate(t.Context(), "chen.jing", "directory-pass")
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"cn=hall-leads,ou=roles,dc=example,dc=gov,dc=cn", "hall-leads", "demo-staff"}
			if id.Source != civiq.SourceLDAP || id.Username != "chen.jing" || !slices.Equal(id.Groups, want) {
				t.Errorf("identity %+v, want groups %q", id, want)
			}
			for _, c := range [][2]string{
				{"chen.jing", "wrong-pass"}, {"chen.jing", ""}, {"nobody", "directory-pass"},
				{"*", "directory-pass"}, {"chen.jing)(uid=*", "directory-pass"}, {"chen.jing,ou=people", "directory-pass"},
			} {
				if id, err := l.Authenticate(t.Context(), c[0], c[1]); civiq.ErrorCode(err) != civiq.EUnauthorized {
					t.Errorf("%q/%q: %+v %v, want unauthorized", c[0], c[1], id, err)
				}
			}
		})
	}
	l, _ := sso.NewLDAP(func() sso.LDAPConfig {
		c := sso.LDAPConfig{LDAPSettings: civiq.LDAPSettings{URL: url, Roles: roles}, Allow: loopback}
		bySearch(&c)
		return c
	}())
	if _, err := l.Authenticate(t.Context(), "twin@example.gov.cn", "twin-pass"); civiq.ErrorCode(err) != civiq.EUnauthorized {
		t.Errorf("a name two entries share: %v, want unauthorized", err)
	}
	away, _ := sso.NewLDAP(sso.LDAPConfig{LDAPSettings: civiq.LDAPSettings{URL: "ldap://127.0.0.1:1", BindDN: "uid={username}," + people, Roles: roles},
		Allow: loopback})
	if _, err := away.Authenticate(t.Context(), "chen.jing", "directory-pass"); civiq.ErrorCode(err) != civiq.EUnavailable {
		t.Errorf("the directory away: %v, want unavailable", err)
	}
}

// The directory is dialled as webhooks and the identity platform are
// (outbound.GuardedDialer): a loopback, link-local or private address
// only when Allow (civiq serve --ldap-allow) holds it, in the URL (NewLDAP
// refuses it) and in what a name resolves to (refused at the dial, no
// byte sent: the directory unavailable, the refusal naming the flag).
func TestLDAPGuardedDialer(t *testing.T) {
	base := civiq.LDAPSettings{URL: "ldap://127.0.0.1:1", BindDN: "uid={username}", Roles: "a=admin"}
	if _, err := sso.NewLDAP(sso.LDAPConfig{LDAPSettings: base}); civiq.ErrorField(err) != "ldap.url" ||
		!strings.Contains(civiq.ErrorMessage(err), "--ldap-allow") {
		t.Errorf("a loopback URL without --ldap-allow: %v", err)
	}
	l, err := sso.NewLDAP(sso.LDAPConfig{LDAPSettings: base, Allow: loopback})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(t.Context(), "chen.jing", "pass"); civiq.ErrorCode(err) != civiq.EUnavailable ||
		strings.Contains(err.Error(), "not allowed") {
		t.Errorf("allowed, nobody listening: %v; want unavailable, dialled", err)
	}
	// A name: the machine's own, which resolves to a loopback or private
	// address on a developer's machine and in a container (localhost
	// itself is refused in the URL).
	host, _ := os.Hostname()
	addrs, err := net.LookupHost(host)
	if err != nil || len(addrs) == 0 || slices.ContainsFunc(addrs, func(a string) bool {
		ip, err := netip.ParseAddr(a)
		return err != nil || civiq.WebhookAddrAllowed(ip, nil)
	}) {
		t.Skipf("the machine's name %q resolves to %v, %v: not only to loopback or private addresses", host, addrs, err)
	}
	base.URL = "ldap://" + host + ":1"
	if l, err = sso.NewLDAP(sso.LDAPConfig{LDAPSettings: base}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(t.Context(), "chen.jing", "pass"); civiq.ErrorCode(err) != civiq.EUnavailable ||
		!strings.Contains(civiq.ErrorMessage(err), "is not allowed: loopback, link-local and private addresses need civiq serve --ldap-allow") {
		t.Errorf("%s, a name of %v, without --ldap-allow: %v", host, addrs, err)
	}
}

// NewLDAP checks its settings (civiq's TestSSOSettingsCheck has the
// rules).
func TestNewLDAPChecks(t *testing.T) {
	c := sso.LDAPConfig{LDAPSettings: civiq.LDAPSettings{URL: "ldap://x", BindDN: "uid={username}", Roles: "a=admin"}}
	if _, err := sso.NewLDAP(c); err != nil {
		t.Error(err)
	}
	c.StartTLS, c.URL = true, "ldaps://x"
	if _, err := sso.NewLDAP(c); civiq.ErrorField(err) != "ldap.starttls" {
		t.Errorf("StartTLS over ldaps: %v", err)
	}
}

// StartTLS and ldaps against slapd: the password goes only over TLS, to a
// directory whose certificate the configured roots trust; one they do not
// is unavailable, not a wrong password.
func TestLDAPTLS(t *testing.T) {
	ldapURL, ldapsURL, roots := ldaptest.StartTLS(t, ldaptest.Sample)
	dn := "uid={username},ou=people," + ldaptest.Suffix
	trust := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	for _, c := range []sso.LDAPConfig{
		{LDAPSettings: civiq.LDAPSettings{URL: ldapURL, StartTLS: true}, TLS: trust, Allow: loopback},
		{LDAPSettings: civiq.LDAPSettings{URL: ldapsURL}, TLS: trust, Allow: loopback},
	} {
		c.BindDN, c.Roles, c.GroupBase = dn, "demo-staff=staff:demo", "ou=groups,"+ldaptest.Suffix
		l, err := sso.NewLDAP(c)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := l.Authenticate(t.Context(), "chen.jing", "directory-pass"); err != nil || !slices.Contains(id.Groups, "demo-staff") {
			t.Errorf("%s (StartTLS %v): %+v %v", c.URL, c.StartTLS, id, err)
		}
		c.TLS = nil // the system's roots: they do not know the test's certificate
		l, _ = sso.NewLDAP(c)
		if _, err := l.Authenticate(t.Context(), "chen.jing", "directory-pass"); civiq.ErrorCode(err) != civiq.EUnavailable {
			t.Errorf("%s with an untrusted certificate: %v, want unavailable", c.URL, err)
		}
	}
}
