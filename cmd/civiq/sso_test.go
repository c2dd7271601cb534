package main

import (
	"io"
	"strings"
	"testing"
)

// civiq serve reads single sign-on's flags, and refuses a half or a wrong
// set-up at start rather than at the first sign-in.
func TestServeSSOFlags(t *testing.T) {
	base := []string{"--oidc-issuer", "https://id.example.gov.cn", "--oidc-client-id", "civiq",
		"--oidc-redirect-url", "https://civiq.example/login/oidc/callback", "--oidc-roles", "staff=staff:demo"}
	c, err := ParseServeFlags(base, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := c.SSO.settings(); err != nil || s.OIDC == nil || s.OIDC.RoleMap().String() != "staff=staff:demo" || s.LDAP != nil {
		t.Errorf("oidc: %+v %v", s, err)
	}
	// An intranet's platform, allowed.
	if c, err := ParseServeFlags(append(append([]string{}, base...), "--oidc-issuer", "https://10.20.0.5/realms/p", "--oidc-allow", "10.20.0.0/16"), io.Discard); err != nil {
		t.Errorf("an issuer on a private address, allowed: %v", err)
	} else if s, err := c.SSO.settings(); err != nil || s.OIDC.Issuer != "https://10.20.0.5/realms/p" {
		t.Errorf("an issuer on a private address, allowed: %+v %v", s, err)
	}
	c, err = ParseServeFlags([]string{"--ldap-url", "ldap://dir.example", "--ldap-starttls", "--ldap-base", "dc=x", "--ldap-filter", "(uid={username})",
		"--ldap-roles", "demo-staff=staff:demo"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := c.SSO.settings(); err != nil || s.LDAP == nil || s.LDAP.RoleMap().String() != "demo-staff=staff:demo" || s.OIDC != nil {
		t.Errorf("ldap: %+v %v", s, err)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--oidc-client-id", "civiq"}, "need --oidc-issuer"},
		{append(append([]string{}, base...), "--oidc-roles", "staff=root"), "--oidc-roles"},
		{append(append([]string{}, base...), "--oidc-roles", ""), "role mapping is empty"},
		{append(append([]string{}, base...), "--oidc-redirect-url", "https://civiq.example/"), "--oidc-redirect-url"},
		{append(append([]string{}, base...), "--oidc-issuer", "http://id.example.gov.cn"), "--oidc-issuer"},
		{append(append([]string{}, base...), "--oidc-issuer", "https://10.20.0.5/realms/p"), "need civiq serve --oidc-allow"},
		{append(append([]string{}, base...), "--oidc-allow", "10.20.0.5"), "flag -oidc-allow: \"10.20.0.5\" is not a CIDR"},
		{[]string{"--ldap-roles", "a=admin"}, "need --ldap-url"},
		{[]string{"--ldap-url", "ldap://dir.example", "--ldap-roles", "a=admin"}, "bind DN template"},
		{[]string{"--ldap-url", "ldap://dir.example", "--ldap-bind-dn", "uid={username},dc=x", "--ldap-roles", "a=root"}, "--ldap-roles"},
		{[]string{"--ldap-url", "ldap://dir.example", "--ldap-bind-dn", "uid={username},dc=x", "--ldap-roles", "a=admin", "--ldap-ca-file", "/nonexistent"}, "--ldap-ca-file"},
	} {
		if _, err := ParseServeFlags(c.args, io.Discard); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v, want an error with %q", c.args, err, c.err)
		}
	}
}
