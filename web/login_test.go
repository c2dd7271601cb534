package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// post sends a form as a browser would, with extra headers and the session
// cookie ("" for none), without following redirects.
func post(t *testing.T, s *civiqtest.Server, path string, form url.Values, session string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: civiq.SessionCookie, Value: session})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == civiq.SessionCookie {
			return c
		}
	}
	return nil
}

// Another site can neither sign a browser in (login CSRF) nor out; a
// sign-out from this site ends the session on the server, not only the
// cookie (issue 18).
func TestLoginLogoutCrossSite(t *testing.T) {
	s := civiqtest.New(t)
	creds := url.Values{"username": {"admin"}, "password": {civiqtest.AdminPassword}, "next": {"/admin"}}

	for _, h := range [][]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}, {"Referer", "https://evil.example/x"}} {
		res := post(t, s, "/login", creds, "", h...)
		if res.StatusCode != http.StatusForbidden || sessionCookie(res) != nil {
			t.Errorf("cross-site sign-in (%s): %d, cookie %v; want 403 and none", h[0], res.StatusCode, sessionCookie(res))
		}
	}
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/auth/login", strings.NewReader(`{"username":"admin","password":"`+civiqtest.AdminPassword+`"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", "https://evil.example")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusForbidden || sessionCookie(res) != nil {
		t.Errorf("cross-site API sign-in: %v %v; want 403 without a cookie", res.Status, err)
	} else {
		res.Body.Close()
	}

	res := post(t, s, "/login", creds, "", "Origin", s.URL)
	ck := sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || ck == nil || res.Header.Get("Location") != "/admin" {
		t.Fatalf("same-site sign-in: %d to %q, cookie %v", res.StatusCode, res.Header.Get("Location"), ck)
	}
	_, sess, err := s.Engine.Authenticate(t.Context(), ck.Value)
	if err != nil {
		t.Fatal(err)
	}

	// Another site's sign-out: refused, the cookie kept.
	res = post(t, s, "/logout", url.Values{"csrf": {sess.CSRF}}, ck.Value, "Origin", "https://evil.example")
	if res.StatusCode != http.StatusForbidden || sessionCookie(res) != nil {
		t.Errorf("cross-site sign-out: %d, cookie %v; want 403 and the cookie untouched", res.StatusCode, sessionCookie(res))
	}
	// Without the session's token: refused too.
	if res = post(t, s, "/logout", nil, ck.Value); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without the token: %d; want 403", res.StatusCode)
	}
	if _, _, err := s.Engine.Authenticate(t.Context(), ck.Value); err != nil {
		t.Fatalf("the session ended on a refused sign-out: %v", err)
	}
	// From this site: the session ends on the server.
	res = post(t, s, "/logout", url.Values{"csrf": {sess.CSRF}}, ck.Value, "Origin", s.URL)
	if c := sessionCookie(res); res.StatusCode != http.StatusSeeOther || c == nil || c.MaxAge >= 0 {
		t.Errorf("sign-out: %d, cookie %v; want 303 clearing it", res.StatusCode, c)
	}
	if _, _, err := s.Engine.Authenticate(t.Context(), ck.Value); civiq.ErrorCode(err) != civiq.EUnauthorized {
		t.Errorf("after sign-out the session still works: %v", err)
	}
}

// The sign-in page keeps next on this site (issue 18: next=/\evil.example).
func TestLoginNextStaysOnSite(t *testing.T) {
	s := civiqtest.New(t)
	res := post(t, s, "/login", url.Values{"username": {"admin"}, "password": {civiqtest.AdminPassword}, "next": {`/\evil.example`}}, "")
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Errorf("next=/\\evil.example: %d to %q; want 303 to /", res.StatusCode, loc)
	}
	_, body := s.Page(t, "/login?next="+url.QueryEscape(`/\evil.example`), "")
	if strings.Contains(body, "evil.example") {
		t.Error("the sign-in page carries next=/\\evil.example on")
	}
}

// Too many wrong passwords on the sign-in page answer 429 with Retry-After.
func TestLoginPageLimited(t *testing.T) {
	s := civiqtest.New(t)
	wrong := url.Values{"username": {"admin"}, "password": {"wrong-password"}}
	for range 5 {
		if res := post(t, s, "/login", wrong, ""); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", res.StatusCode)
		}
	}
	res := post(t, s, "/login", url.Values{"username": {"admin"}, "password": {civiqtest.AdminPassword}}, "")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "900" {
		t.Errorf("after 5 wrong passwords: %d, Retry-After %q; want 429, 900", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// Behind a reverse proxy that ends TLS (X-Forwarded-Proto: https) the
// session cookie is Secure, from the sign-in page and the API alike, so
// that a browser never sends it over plain http; it was Secure only when
// civiq itself held the TLS connection.
func TestSessionCookieSecureBehindProxy(t *testing.T) {
	s := civiqtest.New(t)
	creds := url.Values{"username": {"admin"}, "password": {civiqtest.AdminPassword}}
	for _, c := range []struct {
		proto  string
		secure bool
	}{{"", false}, {"http", false}, {"https", true}, {"HTTPS, http", true}} {
		headers := []string{}
		if c.proto != "" {
			headers = []string{"X-Forwarded-Proto", c.proto}
		}
		if ck := sessionCookie(post(t, s, "/login", creds, "", headers...)); ck == nil || ck.Secure != c.secure || !ck.HttpOnly {
			t.Errorf("/login, X-Forwarded-Proto %q: cookie %+v, want Secure %v", c.proto, ck, c.secure)
		}
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/auth/login", strings.NewReader(`{"username":"admin","password":"`+civiqtest.AdminPassword+`"}`))
		if c.proto != "" {
			req.Header.Set("X-Forwarded-Proto", c.proto)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if ck := sessionCookie(res); ck == nil || ck.Secure != c.secure || !ck.HttpOnly {
			t.Errorf("API sign-in, X-Forwarded-Proto %q: cookie %+v, want Secure %v", c.proto, ck, c.secure)
		}
	}
}
