package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/sso/ldaptest"
)

// The sign-in page's form signs a directory's user in through a real LDAP
// server (slapd): the user made with the mapping's role, the session
// cookie; a directory user without a mapped group sees why (403); the
// local admin keeps its own password; the page says the directory's
// accounts sign in there.
func TestLDAPLoginPage(t *testing.T) {
	dirURL := ldaptest.Start(t, ldaptest.Sample)
	s := civiqtest.New(t)
	s.SetLDAPAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}) // civiq serve --ldap-allow: the test's directory
	if err := s.SetSSOFlags(&civiq.SSOSettings{LDAP: &civiq.LDAPSettings{URL: dirURL, BindDN: "uid={username},ou=people," + ldaptest.Suffix,
		GroupBase: "ou=groups," + ldaptest.Suffix, Roles: "demo-staff=staff:demo"}}, nil); err != nil {
		t.Fatal(err)
	}

	if _, body := s.Page(t, "/login?lang=en", ""); !strings.Contains(body, "Directory (LDAP) accounts sign in here too") {
		t.Error("the sign-in page does not say the directory's accounts sign in there")
	}
	res := post(t, s, "/login", url.Values{"username": {"chen.jing"}, "password": {"directory-pass"}, "next": {"/halls/demo/counter/1"}}, "", "Origin", s.URL)
	ck := sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || ck == nil || res.Header.Get("Location") != "/halls/demo/counter/1" {
		t.Fatalf("directory sign-in: %d to %q, cookie %v", res.StatusCode, res.Header.Get("Location"), ck)
	}
	p, _, err := s.Engine.Authenticate(t.Context(), ck.Value)
	if err != nil || p.User.Username != "chen.jing" || p.User.Source() != civiq.SourceLDAP || !p.Can(civiq.PermCounterAction, "demo", "1") {
		t.Errorf("the directory's user: %+v %v", p.User, err)
	}
	res = post(t, s, "/login", url.Values{"username": {"twin"}, "password": {"twin-pass"}}, "", "Origin", s.URL)
	if res.StatusCode != http.StatusForbidden || sessionCookie(res) != nil {
		t.Errorf("a directory user without a role: %d, cookie %v; want 403 and none", res.StatusCode, sessionCookie(res))
	}
	res = post(t, s, "/login", url.Values{"username": {"chen.jing"}, "password": {"wrong-pass"}}, "", "Origin", s.URL)
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong directory password: %d, want 401", res.StatusCode)
	}
	// The API signs the directory's users in too, and the local admin
	// keeps its own password.
	s.Login(t, "chen.jing", "directory-pass")
	s.Login(t, "admin", civiqtest.AdminPassword)

	// The directory's sign-ins are limited per address as local ones
	// are (login.go), on the page and in the API: one wrong so far, 19
	// more names the directory does not know, then 429 with Retry-After.
	for i := range 19 {
		res := post(t, s, "/login", url.Values{"username": {fmt.Sprintf("guess-%d", i)}, "password": {"guess"}}, "", "Origin", s.URL)
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong directory password %d: %d", i+2, res.StatusCode)
		}
	}
	res = post(t, s, "/login", url.Values{"username": {"chen.jing"}, "password": {"directory-pass"}}, "", "Origin", s.URL)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || sessionCookie(res) != nil {
		t.Errorf("after 20 wrong from one address: %d, Retry-After %q; want 429 with it", res.StatusCode, res.Header.Get("Retry-After"))
	}
	body, _ := json.Marshal(map[string]string{"username": "chen.jing", "password": "directory-pass"})
	ares, err := http.Post(s.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct{ Error struct{ Code string } }
	json.NewDecoder(ares.Body).Decode(&answer)
	ares.Body.Close()
	if ares.StatusCode != http.StatusTooManyRequests || ares.Header.Get("Retry-After") == "" || answer.Error.Code != civiq.ERateLimited {
		t.Errorf("the API after 20 wrong: %d %q, Retry-After %q; want 429 rate_limited with it", ares.StatusCode, answer.Error.Code, ares.Header.Get("Retry-After"))
	}
}
