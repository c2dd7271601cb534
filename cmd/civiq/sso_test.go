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
	if o, err := c.SSO.oidc(); err != nil || o == nil || o.Roles().String() != "staff=staff:demo" {
		t.Errorf("oidc: %v %v", o, err)
	}
	c, err = ParseServeFlags([]string{"--ldap-url", "ldap://dir.example", "--ldap-starttls", "--ldap-base", "dc=x", "--ldap-filter", "(uid={username})",
		"--ldap-roles", "demo-staff=staff:demo"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := c.SSO.ldap(); err != nil || l == nil || l.Roles().String() != "demo-staff=staff:demo" {
		t.Errorf("ldap: %v %v", l, err)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--oidc-client-id", "civiq"}, "need --oidc-issuer"},
		{append(append([]string{}, base...), "--oidc-roles", "staff=root"), "--oidc-roles"},
		{append(append([]string{}, base...), "--oidc-roles", ""), "role mapping is empty"},
		{append(append([]string{}, base...), "--oidc-redirect-url", "https://civiq.example/"), "redirect URL"},
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
