package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/sso"
	"github.com/civiq/civiq/sso/oidctest"
)

// withOIDC starts an identity platform for s (oidctest) on loopback,
// which s may reach (civiq serve --oidc-allow 127.0.0.0/8), and sets s's
// sign-in through it up as an admin does on the admin page (PUT
// /api/v1/sso), in force at once; the client secret sealed with a key of
// the test's.
func withOIDC(t *testing.T, s *civiqtest.Server, roles string) *oidctest.Provider {
	t.Helper()
	p := oidctest.New(t, "civiq", "client-secret-for-tests")
	s.App.SetOIDCAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	if s.Engine.Sealer == nil {
		sealer, err := civiq.NewSealer(bytes.Repeat([]byte{9}, civiq.SecretKeySize))
		if err != nil {
			t.Fatal(err)
		}
		s.Engine.Sealer = sealer
	}
	set := map[string]any{"oidc": map[string]any{"name": "省统一身份认证平台", "issuer": p.URL, "client_id": p.ClientID,
		"client_secret": p.ClientSecret, "redirect_url": s.URL + sso.CallbackPath, "roles": roles}}
	var out json.RawMessage
	if code := s.Call(t, "PUT", "/api/v1/sso", s.Admin, set, &out); code != http.StatusOK {
		t.Fatalf("PUT /api/v1/sso: %d %s", code, out)
	}
	return p
}

// TestOIDCBrowser signs in through the identity platform in Chromium, end
// to end: the sign-in page's button, the platform's own page, back to the
// page asked for with the session of a manager the claim made; someone
// the mapping gives no role sees why on the sign-in page (403), audited;
// the local admin signs in with a password all along (break-glass), and
// sees the platform's user marked on /admin, and changes the platform's
// settings there (field errors, in force at once). axe in both languages;
// it writes login-sso-zh.png, login-sso-refused-en.png,
// admin-users-sso.png, admin-sso-zh.png and admin-sso-en.png.
func TestOIDCBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t)
	p := withOIDC(t, s, "demo-leads=manager:demo; demo-staff=staff:demo")
	p.Users["zhang.min"] = oidctest.User{Password: "platform-pass", Groups: []string{"demo-staff", "demo-leads"}}
	p.Users["visitor"] = oidctest.User{Password: "platform-pass", Groups: []string{"citizens"}}
	browsertest.RunShots(t, oidcScript, map[string]string{"CIVIQ_URL": s.URL, "IDP_URL": p.URL, "ADMIN_PASSWORD": civiqtest.AdminPassword})

	u, err := s.Engine.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(u, func(u civiq.User) bool { return u.Username == "zhang.min" })
	if i < 0 || u[i].Role != civiq.RoleManager || u[i].Source() != civiq.SourceOIDC || !slices.Equal(u[i].HallIDs, []string{"demo"}) {
		t.Errorf("the platform's user: %+v", u)
	}
	evs, err := s.Engine.AuditEvents(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range evs {
		got = append(got, a.Type+" "+a.Username)
	}
	for _, want := range []string{civiq.AuditSSOLogin + " zhang.min", civiq.AuditSSONoRole + " visitor"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit %q, want %q among them", got, want)
		}
	}
	if p.Tokens != 2 {
		t.Errorf("%d codes exchanged, want 2", p.Tokens)
	}
	s.Login(t, "admin", civiqtest.AdminPassword) // break-glass: the local admin still signs in
}

const oidcScript = `
const base = process.env.CIVIQ_URL, idp = process.env.IDP_URL, shots = process.env.CIVIQ_SHOTS;
const view = { width: 1366, height: 768 };
const page = watch(await civiq.newPage({ viewport: view }));
await page.goto(base + '/login?next=' + encodeURIComponent('/halls/demo/dashboard'));
eq((await page.textContent('#oidc')).trim(), '统一身份认证登录 · 省统一身份认证平台', 'the button');
await axe(page, 'login with sso zh');
await page.screenshot({ path: shots + '/login-sso-zh.png' });
await Promise.all([page.waitForURL((u) => u.href.startsWith(idp + '/authorize')), page.click('#oidc')]);
const q = new URL(page.url()).searchParams;
eq(q.get('code_challenge_method'), 'S256', 'PKCE');
assert(q.get('state') && q.get('nonce'), 'state and nonce: ' + page.url());
await page.fill('#u', 'zhang.min');
await page.fill('#p', 'platform-pass');
await Promise.all([page.waitForURL((u) => u.href.startsWith(base + '/halls/demo/dashboard')), page.click('button[type=submit]')]);
eq(await page.textContent('header a.who'), 'zhang.min · 大厅负责人', 'signed in as a manager');
const cookies = await page.context().cookies(base);
assert(cookies.some((c) => c.name === 'civiq_session' && c.httpOnly), 'the session cookie: ' + JSON.stringify(cookies));
assert(!cookies.some((c) => c.name === 'civiq_oidc'), 'the flow cookie is gone');
clean(page, 'manager signed in');

// Someone the platform knows and civiq's mapping does not.
const other = watch(await civiq.newPage({ viewport: view }), /\/login\/oidc\/callback/);
await other.goto(base + '/login?lang=en');
eq((await other.textContent('#oidc')).trim(), 'Sign in with the identity platform · 省统一身份认证平台', 'English button');
await Promise.all([other.waitForURL((u) => u.href.startsWith(idp)), other.click('#oidc')]);
await other.fill('#u', 'visitor');
await other.fill('#p', 'platform-pass');
const [res] = await Promise.all([other.waitForResponse((r) => r.url().includes('/login/oidc/callback')), other.click('button[type=submit]')]);
eq(res.status(), 403, 'refused');
const alert = await other.textContent('[role=alert]');
assert(alert.includes('Single sign-on did not sign you in.') && alert.includes('no civiq role'), 'the reason: ' + alert);
assert(!(await other.context().cookies(base)).some((c) => c.name === 'civiq_session'), 'no session');
await axe(other, 'refused en');
await other.screenshot({ path: shots + '/login-sso-refused-en.png' });
clean(other, 'refused');

// Break-glass: the local admin signs in with its password beside the
// platform's button, and sees the platform's user marked on /admin.
const admin = watch(await civiq.newPage({ viewport: view }), /\/api\/v1\/sso$/); // the refused settings below
await admin.goto(base + '/login?next=' + encodeURIComponent('/admin#users'));
await admin.fill('input[name=username]', 'admin');
await admin.fill('input[name=password]', process.env.ADMIN_PASSWORD);
await Promise.all([admin.waitForURL((u) => u.pathname === '/admin'), admin.press('input[name=password]', 'Enter')]);
await admin.waitForSelector('[data-source=oidc]');
eq(await admin.textContent('[data-source=oidc]'), '统一身份认证', 'the user made by the platform is marked');
await admin.screenshot({ path: shots + '/admin-users-sso.png' });

// Single sign-on's settings on /admin: those in force, the secret only
// as kept; a wrong issuer and a wrong role map shown at their fields,
// nothing saved; a new button name in force at once, no restart.
await admin.goto(base + '/admin#sso');
await admin.waitForFunction(() => document.getElementById('sso-oidc-issuer').value !== '');
eq(await admin.inputValue('#sso-oidc-issuer'), idp, 'the issuer in force');
eq(await admin.inputValue('#sso-oidc-client_secret'), '', 'the secret is never shown');
assert((await admin.textContent('#sso-oidc-secret-state')).includes('已设置'), 'the secret as kept');
assert(await admin.isHidden('[data-fields=ldap]'), 'no directory');
const save = '#f-sso [type=submit]';
await admin.fill('#sso-oidc-issuer', 'http://id.example.gov.cn');
await admin.click(save);
await admin.waitForSelector('#sso-oidc-issuer[aria-invalid=true]');
assert((await admin.textContent('#sso-oidc-issuer ~ .field-error')).includes('https://'), 'the issuer\'s error at its field');
await axe(admin, 'admin sso, a field error, zh');
await admin.screenshot({ path: shots + '/admin-sso-zh.png', fullPage: true });
await admin.fill('#sso-oidc-issuer', idp);
await admin.fill('#sso-oidc-roles', 'demo-leads=root');
await admin.click(save);
await admin.waitForSelector('#sso-oidc-roles[aria-invalid=true]');
assert(!(await admin.getAttribute('#sso-oidc-issuer', 'aria-invalid')), 'the issuer is right now');
await admin.fill('#sso-oidc-roles', 'demo-leads=manager:demo\ndemo-staff=staff:demo');
await admin.fill('#sso-oidc-name', '政务服务统一身份认证');
await admin.click(save);
await admin.waitForSelector('#adm-toast.on');
assert((await admin.textContent('#sso-source')).includes('admin'), 'saved by admin');
const fresh = watch(await civiq.newPage({ viewport: view }));
await fresh.goto(base + '/login');
eq((await fresh.textContent('#oidc')).trim(), '统一身份认证登录 · 政务服务统一身份认证', 'the new name at once');
clean(fresh, 'the sign-in page after the change');
await admin.goto(base + '/admin?lang=en#sso');
await admin.waitForFunction(() => document.getElementById('sso-oidc-issuer').value !== '');
await admin.fill('#sso-oidc-redirect_url', base + '/login');
await admin.click(save);
await admin.waitForSelector('#sso-oidc-redirect_url[aria-invalid=true]');
await admin.check('#sso-ldap-on'); // the directory's fields, not saved
assert(await admin.isVisible('#sso-ldap-url') && await admin.isVisible('#sso-ldap-search_password'), 'the directory\'s fields');
await axe(admin, 'admin sso, a field error, en');
await admin.screenshot({ path: shots + '/admin-sso-en.png', fullPage: true });
clean(admin, 'admin');
console.log('ok');
`

// The callback without the sign-in's cookie, or another's state, signs
// nobody in; without a platform set up the routes are not there.
func TestOIDCCallbackRefusals(t *testing.T) {
	s := civiqtest.New(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{sso.StartPath, sso.CallbackPath + "?code=x&state=y"} {
		res, err := c.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s without a platform: %d, want 404", path, res.StatusCode)
		}
	}
	// An issuer on loopback while the server may not reach it: 400 at
	// the field, naming the flag that allows it.
	var refused struct {
		Error struct{ Code, Message, Field string }
	}
	loopbackIssuer := map[string]any{"oidc": map[string]any{"issuer": "http://127.0.0.1:9", "client_id": "civiq",
		"redirect_url": s.URL + sso.CallbackPath, "roles": "a=admin"}}
	if code := s.Call(t, "PUT", "/api/v1/sso", s.Admin, loopbackIssuer, &refused); code != http.StatusBadRequest ||
		refused.Error.Field != "oidc.issuer" || !strings.Contains(refused.Error.Message, "--oidc-allow") {
		t.Errorf("PUT /api/v1/sso, an issuer on loopback not allowed: %d %+v", code, refused)
	}
	p := withOIDC(t, s, "a=admin")
	// Admins read the set-up in force; the secret only as set.
	var set struct {
		OIDC   map[string]any `json:"oidc"`
		LDAP   map[string]any `json:"ldap"`
		Source string         `json:"source"`
	}
	if code := s.Call(t, "GET", "/api/v1/sso", s.Admin, nil, &set); code != http.StatusOK || set.LDAP != nil || set.Source != "store" ||
		set.OIDC["issuer"] != p.URL || set.OIDC["client_secret_set"] != true || set.OIDC["roles"] != "a=admin" {
		t.Errorf("GET /api/v1/sso: %d %+v", code, set)
	}
	var raw json.RawMessage
	if s.Call(t, "GET", "/api/v1/sso", s.Admin, nil, &raw); strings.Contains(string(raw), p.ClientSecret) {
		t.Errorf("GET /api/v1/sso shows the client secret: %s", raw)
	}
	res, flow := startFlow(t, c, s.URL+sso.StartPath+"?next=//evil.example")
	if res.StatusCode != http.StatusSeeOther || flow == nil || !flow.HttpOnly || flow.Path != sso.CallbackPath {
		t.Fatalf("start: %d, cookie %+v", res.StatusCode, flow)
	}
	if f, err := sso.DecodeFlow(flow.Value); err != nil || f.Next != "/" {
		t.Errorf("the flow's next page: %+v %v; want / for another site's", f, err)
	}
	callback := func(query string, ck *http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+sso.CallbackPath+"?"+query, nil)
		if ck != nil {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for name, ck := range map[string]*http.Cookie{"no cookie": nil, "another's state": flow} {
		if res := callback("code=x&state=not-the-state", ck); res.StatusCode/100 != 4 || sessionCookie(res) != nil {
			t.Errorf("%s: %d, session %v; want a 4xx and none", name, res.StatusCode, sessionCookie(res))
		}
	}
	// The platform's refusal (the person said no) and a replayed code:
	// shown, and audited as the two above, with the address and no code.
	p.Users["li.na"] = oidctest.User{Password: "platform-pass", Groups: []string{"a"}}
	for _, who := range []string{"deny", "li.na"} {
		ck, query := platformAnswer(t, c, s.URL, who)
		if res := callback(query, ck); (who == "deny") != (res.StatusCode == http.StatusForbidden) {
			t.Errorf("%s's answer: %d", who, res.StatusCode)
		}
		if who == "li.na" { // the answer again, cookie and all: the code is used
			if res := callback(query, ck); res.StatusCode != http.StatusForbidden || sessionCookie(res) != nil {
				t.Errorf("a replayed code: %d, session %v; want 403 and none", res.StatusCode, sessionCookie(res))
			}
		}
	}
	evs, err := s.Engine.AuditEvents(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range evs {
		if a.Type != civiq.AuditSSOSettings && (a.Actor != civiq.SourceOIDC || a.Address != "127.0.0.1") {
			t.Errorf("audit %+v: want actor oidc from 127.0.0.1", a)
		}
		got = append(got, a.Type+" "+a.Username)
	}
	want := []string{civiq.AuditSSOBadCode + " ", civiq.AuditSSOLogin + " li.na", civiq.AuditSSOPlatformRefused + " ", civiq.AuditSSOBadState + " ", civiq.AuditSSOBadState + " ",
		civiq.AuditSSOSettings + " admin"}
	if !slices.Equal(got, want) {
		t.Errorf("audit, newest first: %q, want %q", got, want)
	}
	// Refused answers count against the address as wrong passwords do:
	// four so far; at the limit the callback is 429 with Retry-After,
	// and nothing is audited any more.
	const addrFailures = 20 // login.go's loginAddrFailures
	for i := 4; i < addrFailures; i++ {
		if res := callback("error=access_denied&state=x", nil); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("refused answer %d: %d", i+1, res.StatusCode)
		}
	}
	res = callback("error=access_denied&state=x", nil)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("after %d refused answers: %d, Retry-After %q; want 429 with it", addrFailures, res.StatusCode, res.Header.Get("Retry-After"))
	}
	if evs, _ := s.Engine.AuditEvents(t.Context(), 100); len(evs) != addrFailures+2 {
		t.Errorf("%d audit events, want %d", len(evs), addrFailures+2)
	}
}

// startFlow asks this site to start a sign-in at the platform: the
// answer, and the sign-in's cookie (nil without one).
func startFlow(t *testing.T, c *http.Client, start string) (*http.Response, *http.Cookie) {
	t.Helper()
	res, err := c.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == "civiq_oidc" {
			return res, ck
		}
	}
	return res, nil
}

// platformAnswer signs who in at p's page as a browser would, from this
// site's start: the sign-in's cookie and the platform's answer for the
// callback.
func platformAnswer(t *testing.T, c *http.Client, site, who string) (*http.Cookie, string) {
	t.Helper()
	res, flow := startFlow(t, c, site+sso.StartPath)
	to, err := url.Parse(res.Header.Get("Location"))
	if err != nil || flow == nil {
		t.Fatalf("start: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	form := to.Query()
	form.Set("username", who)
	form.Set("password", "platform-pass")
	to.RawQuery = ""
	res, err = c.PostForm(to.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || err != nil || back.Path != sso.CallbackPath {
		t.Fatalf("the platform answered %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return flow, back.RawQuery
}
