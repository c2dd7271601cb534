package sso_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sso"
	"github.com/civiq/civiq/sso/oidctest"
)

const callback = "http://civiq.test" + sso.CallbackPath

// loopback is where the tests' providers and directories listen: allowed
// as civiq serve --oidc-allow (--ldap-allow) 127.0.0.0/8,::1/128 would.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func newOIDC(t *testing.T, p *oidctest.Provider, secret string) *sso.OIDC {
	t.Helper()
	o, err := sso.NewOIDC(sso.OIDCConfig{OIDCSettings: civiq.OIDCSettings{Issuer: p.URL, ClientID: p.ClientID, ClientSecret: secret,
		RedirectURL: callback, Scopes: []string{"profile"}, Roles: "demo-staff=staff:demo"}, Allow: loopback})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// signIn begins a sign-in, signs in at the provider as a browser would and
// returns the flow and the provider's answer to the callback.
func signIn(t *testing.T, o *sso.OIDC, username, password string) (sso.Flow, url.Values) {
	t.Helper()
	to, f, err := o.Begin(t.Context(), "/admin")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("state") != f.State || q.Get("nonce") != f.Nonce || q.Get("redirect_uri") != callback {
		t.Fatalf("authorization request %s, flow %+v", to, f)
	}
	q.Set("username", username)
	q.Set("password", password)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(u.Scheme+"://"+u.Host+u.Path, q)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(back.String(), callback) {
		t.Fatalf("the provider answered %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return f, back.Query()
}

// The code flow with PKCE against a real provider: the identity comes
// from a verified ID token, and every check (state, nonce, verifier,
// audience, issuer, signature's key, the client's secret, the platform's
// refusal) refuses what does not belong.
func TestOIDCCodeFlow(t *testing.T) {
	p := oidctest.New(t, "civiq", "client-secret")
	p.Users["zhang.min"] = oidctest.User{Password: "platform-pass", Groups: []string{"demo-staff", "other"}}
	o := newOIDC(t, p, "client-secret")

	f, q := signIn(t, o, "zhang.min", "platform-pass")
	id, err := o.Finish(t.Context(), f, q)
	if err != nil {
		t.Fatal(err)
	}
	if id.Source != civiq.SourceOIDC || id.Username != "zhang.min" || !slices.Equal(id.Groups, []string{"demo-staff", "other"}) {
		t.Errorf("identity %+v", id)
	}
	if _, err := o.Finish(t.Context(), f, q); civiq.ErrorCode(err) != civiq.EForbidden {
		t.Errorf("the same code twice: %v, want forbidden", err)
	}

	for name, c := range map[string]struct {
		tamper func(map[string]any)
		flow   func(*sso.Flow)
		query  func(url.Values)
		user   string
		o      *sso.OIDC
	}{
		"state of another sign-in": {flow: func(f *sso.Flow) { f.State = civiq.NewToken() }},
		"no state":                 {query: func(q url.Values) { q.Del("state") }},
		"verifier of another":      {flow: func(f *sso.Flow) { f.Verifier = strings.Repeat("v", 43) }},
		"nonce of another":         {flow: func(f *sso.Flow) { f.Nonce = civiq.NewToken() }},
		"token for another client": {tamper: func(c map[string]any) { c["aud"] = "someone-else" }},
		"token of another issuer":  {tamper: func(c map[string]any) { c["iss"] = "https://evil.example" }},
		"expired token":            {tamper: func(c map[string]any) { c["exp"] = 1000 }},
		"no username":              {tamper: func(c map[string]any) { delete(c, "preferred_username") }},
		"access denied":            {user: "deny"},
		"wrong client secret":      {o: newOIDC(t, p, "wrong-secret")},
	} {
		t.Run(name, func(t *testing.T) {
			p.Tamper = c.tamper
			defer func() { p.Tamper = nil }()
			oc := o
			if c.o != nil {
				oc = c.o
			}
			user := "zhang.min"
			if c.user != "" {
				user = c.user
			}
			f, q := signIn(t, oc, user, "platform-pass")
			if c.flow != nil {
				c.flow(&f)
			}
			if c.query != nil {
				c.query(q)
			}
			if id, err := oc.Finish(t.Context(), f, q); civiq.ErrorCode(err) != civiq.EForbidden {
				t.Errorf("%+v %v, want forbidden", id, err)
			}
		})
	}
}

// A token signed by a key the platform does not publish is refused.
func TestOIDCForeignKey(t *testing.T) {
	p := oidctest.New(t, "civiq", "s")
	other := oidctest.New(t, "civiq", "s")
	p.Users["a"] = oidctest.User{Password: "pw"}
	o := newOIDC(t, p, "s")
	f, q := signIn(t, o, "a", "pw")
	// The other provider's key signs this one's token.
	p.Tamper = func(c map[string]any) {}
	p.SignWith(other)
	if _, err := o.Finish(t.Context(), f, q); civiq.ErrorCode(err) != civiq.EForbidden {
		t.Errorf("a token signed by another key: %v, want forbidden", err)
	}
}

// NewOIDC checks its settings (civiq's TestSSOSettingsCheck has the
// rules).
func TestNewOIDCChecks(t *testing.T) {
	c := sso.OIDCConfig{OIDCSettings: civiq.OIDCSettings{Issuer: "https://id.example.gov.cn", ClientID: "civiq",
		RedirectURL: "https://civiq.example" + sso.CallbackPath, Roles: "a=admin"}}
	if _, err := sso.NewOIDC(c); err != nil {
		t.Fatal(err)
	}
	c.Issuer = "http://id.example.gov.cn"
	if _, err := sso.NewOIDC(c); civiq.ErrorField(err) != "oidc.issuer" {
		t.Errorf("an http issuer: %v", err)
	}
}

// The platform is reached through the guarded client: a loopback,
// link-local or private address needs civiq serve --oidc-allow. An
// issuer at such an address is refused by its field; an endpoint of the
// platform's at one is refused when dialled: the platform is unavailable
// (503, as the directory at such an address is: the server's set-up, not
// the person's doing), naming the address and the flag.
func TestOIDCRefusedAddress(t *testing.T) {
	p := oidctest.New(t, "civiq", "s")
	c := sso.OIDCConfig{OIDCSettings: civiq.OIDCSettings{Issuer: p.URL, ClientID: p.ClientID,
		RedirectURL: callback, Roles: "a=admin"}}
	if _, err := sso.NewOIDC(c); civiq.ErrorField(err) != "oidc.issuer" || !strings.Contains(civiq.ErrorMessage(err), "--oidc-allow") {
		t.Errorf("an issuer on a loopback address, not allowed: %v", err)
	}
	c.Allow = loopback
	o, err := sso.NewOIDC(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.Begin(t.Context(), "/"); err != nil {
		t.Errorf("an issuer on a loopback address, allowed: %v", err)
	}
	// A platform whose token endpoint is on a private address the list
	// does not hold: the dial is refused before any packet goes.
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":%q,"token_endpoint":"http://10.255.0.1:9/token","jwks_uri":%q}`,
			srv.URL, srv.URL+"/authorize", srv.URL+"/jwks")
	}))
	t.Cleanup(srv.Close)
	c.Issuer = srv.URL
	if o, err = sso.NewOIDC(c); err != nil {
		t.Fatal(err)
	}
	_, f, err := o.Begin(t.Context(), "/")
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Finish(t.Context(), f, url.Values{"code": {"c"}, "state": {f.State}})
	if civiq.ErrorCode(err) != civiq.EUnavailable || !strings.Contains(civiq.ErrorMessage(err), "10.255.0.1 is not allowed") ||
		!strings.Contains(civiq.ErrorMessage(err), "--oidc-allow") {
		t.Errorf("a token endpoint on a private address: %v, want unavailable naming the address and --oidc-allow", err)
	}
}

func TestFlowRoundTrip(t *testing.T) {
	f := sso.Flow{State: civiq.NewToken(), Nonce: civiq.NewToken(), Verifier: strings.Repeat("a-_~", 11), Next: "/halls/demo/counter/1?x=.y"}
	got, err := sso.DecodeFlow(f.Encode())
	if err != nil || got != f {
		t.Errorf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"", "a.b.c.d", f.Encode() + ".x", strings.Replace(f.Encode(), f.State, "short", 1), f.Encode() + "!"} {
		if _, err := sso.DecodeFlow(bad); err == nil {
			t.Errorf("DecodeFlow(%q) accepted", bad)
		}
	}
}

func FuzzDecodeFlow(f *testing.F) {
	f.Add(sso.Flow{State: civiq.NewToken(), Nonce: civiq.NewToken(), Verifier: strings.Repeat("v", 43), Next: "/"}.Encode())
	f.Add("a.b.c.d")
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := sso.DecodeFlow(s)
		if err != nil {
			return
		}
		again, err := sso.DecodeFlow(fl.Encode())
		if err != nil || again != fl {
			t.Fatalf("%q: %+v, again %+v %v", s, fl, again, err)
		}
	})
}
