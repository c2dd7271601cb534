package civiq_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/civiq/civiq"
)

// goodSSO is a whole set-up both parts of which check.
func goodSSO() civiq.SSOSettings {
	return civiq.SSOSettings{
		OIDC: &civiq.OIDCSettings{Name: "省统一身份认证平台", Issuer: "https://id.example.gov.cn/realms/province", ClientID: "civiq",
			ClientSecret: "platform-secret", RedirectURL: "https://civiq.example.gov.cn/login/oidc/callback", Scopes: []string{"profile"},
			Roles: "civiq-admins=admin; demo-staff=staff:demo"},
		LDAP: &civiq.LDAPSettings{URL: "ldap://dir.example.gov.cn", StartTLS: true, Base: "ou=people,dc=example", Filter: "(uid={username})",
			SearchDN: "cn=civiq,dc=example", SearchPassword: "search-pass", Roles: "demo-staff=staff:demo"},
	}
}

// Each wrong setting is invalid naming its field; the defaults fill in.
func TestSSOSettingsCheck(t *testing.T) {
	s := goodSSO()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if s.OIDC.UsernameClaim != "preferred_username" || s.OIDC.GroupsClaim != "groups" || s.LDAP.UsernameAttr != "uid" ||
		s.OIDC.RoleMap().String() != "civiq-admins=admin; demo-staff=staff:demo" {
		t.Errorf("defaults: %+v %+v", s.OIDC, s.LDAP)
	}
	for _, c := range []struct {
		field  string
		change func(s *civiq.SSOSettings)
	}{
		{"", func(s *civiq.SSOSettings) { s.OIDC.Issuer = "http://localhost:8081/realms/x" }},
		{"", func(s *civiq.SSOSettings) { s.OIDC.Issuer = "http://127.0.0.1:8081" }},
		{"", func(s *civiq.SSOSettings) { s.OIDC.Issuer = "http://[::1]:8081" }},
		{"", func(s *civiq.SSOSettings) { s.OIDC, s.LDAP.StartTLS, s.LDAP.URL = nil, false, "ldaps://dir:636" }},
		{"", func(s *civiq.SSOSettings) { s.LDAP.Filter, s.LDAP.Base, s.LDAP.BindDN = "", "", "uid={username},dc=x" }},
		{"oidc.issuer", func(s *civiq.SSOSettings) { s.OIDC.Issuer = "http://id.example.gov.cn" }},
		{"oidc.issuer", func(s *civiq.SSOSettings) { s.OIDC.Issuer = "id.example.gov.cn" }},
		{"oidc.issuer", func(s *civiq.SSOSettings) { s.OIDC.Issuer = "https://user:pw@id.example.gov.cn" }},
		{"oidc.issuer", func(s *civiq.SSOSettings) { s.OIDC.Issuer = "http://localhost.evil.example" }},
		{"oidc.client_id", func(s *civiq.SSOSettings) { s.OIDC.ClientID = "" }},
		{"oidc.redirect_url", func(s *civiq.SSOSettings) { s.OIDC.RedirectURL = "https://civiq.example.gov.cn/" }},
		{"oidc.scopes", func(s *civiq.SSOSettings) { s.OIDC.Scopes = []string{"a b"} }},
		{"oidc.roles", func(s *civiq.SSOSettings) { s.OIDC.Roles = "x=root" }},
		{"oidc.roles", func(s *civiq.SSOSettings) { s.OIDC.Roles = "" }},
		{"oidc.name", func(s *civiq.SSOSettings) { s.OIDC.Name = "a\nb" }},
		{"ldap.url", func(s *civiq.SSOSettings) { s.LDAP.URL = "http://dir.example" }},
		{"ldap.url", func(s *civiq.SSOSettings) { s.LDAP.URL = "ldap://" }},
		{"ldap.starttls", func(s *civiq.SSOSettings) { s.LDAP.URL = "ldaps://dir.example" }},
		{"ldap.filter", func(s *civiq.SSOSettings) { s.LDAP.BindDN = "uid={username},dc=x" }},
		{"ldap.filter", func(s *civiq.SSOSettings) { s.LDAP.Filter = "(uid=fixed)" }},
		{"ldap.bind_dn", func(s *civiq.SSOSettings) { s.LDAP.Filter, s.LDAP.BindDN = "", "uid=fixed" }},
		{"ldap.bind_dn", func(s *civiq.SSOSettings) { s.LDAP.Filter, s.LDAP.Base = "", "" }},
		{"ldap.group_base", func(s *civiq.SSOSettings) { s.LDAP.GroupFilter = "(member={dn})" }},
		{"ldap.roles", func(s *civiq.SSOSettings) { s.LDAP.Roles = "g=staff" }},
	} {
		s := goodSSO()
		c.change(&s)
		if err := s.Check(); civiq.ErrorField(err) != c.field || (c.field != "" && civiq.ErrorCode(err) != civiq.EInvalid) {
			t.Errorf("want field %q: %v", c.field, err)
		}
	}
}

// An admin sets single sign-on: in force at once, over the flags; the
// secrets never shown back, sealed in the store, kept when not sent for
// the same issuer or directory; one transaction with an audit event and
// a config.changed in each hall. Bad input and others than admins change
// nothing.
func TestSetSSOSettings(t *testing.T) {
	e := newEnv(t)
	admin := bootstrapAdmin(t, e)
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{4}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	e.eng.Sealer = sealer
	flags := &civiq.SSOSettings{LDAP: &civiq.LDAPSettings{URL: "ldap://flags.example", BindDN: "uid={username}", Roles: "a=admin"}}
	if err := flags.Check(); err != nil {
		t.Fatal(err)
	}
	e.eng.SetSSOFlags(flags)
	view := func() *civiq.SSOSettings {
		t.Helper()
		v, err := e.eng.SSOSettingsView(e.ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := view(); v.Source != civiq.SSOFlags || v.OIDC != nil || v.LDAP.URL != "ldap://flags.example" {
		t.Errorf("the flags in force: %+v", v)
	}
	manager := civiq.Principal{User: &civiq.User{Username: "m", Role: civiq.RoleManager, HallIDs: []string{"demo"}}}
	if _, err := e.eng.SetSSOSettings(e.ctx, manager, goodSSO()); civiq.ErrorCode(err) != civiq.EForbidden {
		t.Errorf("a manager: %v", err)
	}
	bad := goodSSO()
	bad.OIDC.Roles = "x=root"
	if _, err := e.eng.SetSSOSettings(e.ctx, admin, bad); civiq.ErrorField(err) != "oidc.roles" {
		t.Errorf("a bad role map: %v", err)
	}
	// An issuer on an intranet's address needs civiq serve --oidc-allow.
	intranet := goodSSO()
	intranet.OIDC.Issuer = "https://10.20.0.5/realms/province"
	if _, err := e.eng.SetSSOSettings(e.ctx, admin, intranet); civiq.ErrorField(err) != "oidc.issuer" ||
		!strings.Contains(civiq.ErrorMessage(err), "--oidc-allow") {
		t.Errorf("an issuer on a private address, not allowed: %v", err)
	}
	// A directory on one needs civiq serve --ldap-allow (--oidc-allow is
	// the identity platform's alone), and localhost is loopback.
	directory := goodSSO()
	directory.LDAP.URL = "ldap://10.20.0.7:389"
	for _, u := range []string{directory.LDAP.URL, "ldaps://localhost:636", "ldap://[::1]"} {
		directory.LDAP.URL, directory.LDAP.StartTLS = u, false
		if _, err := e.eng.SetSSOSettings(e.ctx, admin, directory); civiq.ErrorField(err) != "ldap.url" ||
			!strings.Contains(civiq.ErrorMessage(err), "--ldap-allow") {
			t.Errorf("a directory at %s, not allowed: %v", u, err)
		}
	}
	directory.LDAP.URL = "ldap://10.20.0.7:389"
	audits, events := len(auditTypes(t, e, 100)), countEvents(e, civiq.EventConfigChanged)
	if v := view(); v.Source != civiq.SSOFlags {
		t.Errorf("refused settings changed what is in force: %+v", v)
	}

	v, err := e.eng.SetSSOSettings(e.ctx, admin, goodSSO())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(v)
	if v.Source != civiq.SSOStore || !v.OIDC.ClientSecretSet || !v.LDAP.SearchPasswordSet || v.UpdatedBy != "admin" ||
		strings.Contains(string(raw), "platform-secret") || strings.Contains(string(raw), "search-pass") {
		t.Errorf("the answer: %s", raw)
	}
	if got := view(); got.Source != civiq.SSOStore || got.LDAP.URL != "ldap://dir.example.gov.cn" || got.OIDC.ClientSecret != "" {
		t.Errorf("in force after the change: %+v", got)
	}
	in, err := e.eng.SSOInForce(e.ctx)
	if err != nil || in.OIDC.ClientSecret != "platform-secret" || in.LDAP.SearchPassword != "search-pass" {
		t.Errorf("the secrets in force: %+v %v", in, err)
	}
	if err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		s, err := tx.SSOSettings()
		stored, _ := json.Marshal(s)
		if err == nil && (s.OIDC.ClientSecret == "" || s.LDAP.SearchPassword == "" ||
			strings.Contains(string(stored), "platform-secret") || strings.Contains(string(stored), "search-pass")) {
			t.Errorf("secrets stored in clear: %+v %+v", s.OIDC, s.LDAP)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := auditTypes(t, e, 100); len(got) != audits+1 || got[len(got)-1] != civiq.AuditSSOSettings {
		t.Errorf("audit: %q", got)
	}
	if n := countEvents(e, civiq.EventConfigChanged); n != events+1 { // one hall, demo
		t.Errorf("%d config.changed, want %d", n, events+1)
	}

	// Sent again without the secrets: kept; another issuer: not kept;
	// told to clear: gone.
	again := goodSSO()
	again.OIDC.ClientSecret, again.LDAP.SearchPassword = "", ""
	if v, err := e.eng.SetSSOSettings(e.ctx, admin, again); err != nil || !v.OIDC.ClientSecretSet || !v.LDAP.SearchPasswordSet {
		t.Errorf("without the secrets: %+v %v", v, err)
	}
	again.OIDC.Issuer = "https://other.example.gov.cn"
	again.LDAP.ClearSearchPassword = true
	if v, err := e.eng.SetSSOSettings(e.ctx, admin, again); err != nil || v.OIDC.ClientSecretSet || v.LDAP.SearchPasswordSet {
		t.Errorf("another issuer, the password cleared: %+v %+v %v", v.OIDC, v.LDAP, err)
	}
	e.eng.OIDCAllow = []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}
	if v, err := e.eng.SetSSOSettings(e.ctx, admin, intranet); err != nil || v.OIDC.Issuer != intranet.OIDC.Issuer {
		t.Errorf("an issuer on a private address, allowed: %+v %v", v, err)
	}
	if _, err := e.eng.SetSSOSettings(e.ctx, admin, directory); civiq.ErrorField(err) != "ldap.url" {
		t.Errorf("a directory on a private address, --oidc-allow holding it: %v", err)
	}
	e.eng.LDAPAllow = []netip.Prefix{netip.MustParsePrefix("10.20.0.7/32")}
	if v, err := e.eng.SetSSOSettings(e.ctx, admin, directory); err != nil || v.LDAP.URL != directory.LDAP.URL {
		t.Errorf("a directory on a private address, allowed: %+v %v", v, err)
	}
	// Both off: nobody signs in through them, the flags do not come back.
	if v, err := e.eng.SetSSOSettings(e.ctx, admin, civiq.SSOSettings{}); err != nil || v.OIDC != nil || v.LDAP != nil || v.Source != civiq.SSOStore {
		t.Errorf("both off: %+v %v", v, err)
	}
	if in, _ := e.eng.SSOInForce(e.ctx); in.LDAP != nil {
		t.Errorf("the flags' directory came back: %+v", in.LDAP)
	}
}

// The settings' JSON, as PUT /api/v1/sso takes it: Check never panics,
// and settings it passes pass again unchanged, their mappings read back.
func FuzzSSOSettings(f *testing.F) {
	good, _ := json.Marshal(goodSSO())
	f.Add(good)
	f.Add([]byte(`{"oidc":{"issuer":"http://localhost","client_id":"x","redirect_url":"http://l/login/oidc/callback","roles":"*=admin"}}`))
	f.Add([]byte(`{"ldap":{"url":"ldaps://d","bind_dn":"uid={username}","roles":"cn=a,ou=g=staff:demo","group_filter":"(x)"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var s civiq.SSOSettings
		if json.Unmarshal(body, &s) != nil || s.Check() != nil {
			return
		}
		once, _ := json.Marshal(s)
		if err := s.Check(); err != nil {
			t.Fatalf("checked twice: %v", err)
		}
		if twice, _ := json.Marshal(s); !bytes.Equal(once, twice) {
			t.Fatalf("checked twice changed it: %s then %s", once, twice)
		}
		if s.OIDC != nil && s.OIDC.RoleMap().String() != s.OIDC.Roles {
			t.Fatalf("oidc roles %q read as %q", s.OIDC.Roles, s.OIDC.RoleMap())
		}
		if s.LDAP != nil && s.LDAP.RoleMap().String() != s.LDAP.Roles {
			t.Fatalf("ldap roles %q read as %q", s.LDAP.Roles, s.LDAP.RoleMap())
		}
	})
}
