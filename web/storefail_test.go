package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// With the store away every page answers 503 with Retry-After and the
// unavailable page, in the page's language (QR codes and receipts, which
// are no pages, the API's error body): never a 500, never a sign-in page.
func TestStoreFailureIs503OnEveryPage(t *testing.T) {
	s := civiqtest.New(t)
	if _, err := s.Engine.LoadDemoGuides(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out struct{ Ticket struct{ ID string } }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "general", "channel": "kiosk"}, &out); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	id := out.Ticket.ID
	if err := s.Store.Close(); err != nil {
		t.Fatal(err)
	}
	pages := []string{
		"/", "/halls/demo/kiosk", "/t/" + id, "/halls/demo/display", "/halls/demo/counter/1", "/halls/demo/rate/1",
		"/admin", "/halls/demo/book", "/halls/demo/bookings", "/halls/demo/guides", "/halls/demo/guides/demo-s-card",
		"/halls/demo/cases/new?ticket=" + id, "/halls/demo/dashboard", "/halls/demo/planner", "/city",
	}
	// The case desk needs only the hall and its services, which the
	// engine's caches hold: it opens, and its script meets the 503s.
	cached := []string{"/halls/demo/cases"}
	get := func(method, path string, body io.Reader) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, body)
		req.AddCookie(&http.Cookie{Name: civiq.SessionCookie, Value: s.Admin})
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	check := func(res *http.Response, contentType, want string) {
		t.Helper()
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		path := res.Request.URL.RequestURI()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %d, Retry-After %q; want 503 with Retry-After", path, res.StatusCode, res.Header.Get("Retry-After"))
			return
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), contentType) || !strings.Contains(string(b), want) {
			t.Errorf("%s: %s lacks %q:\n%s", path, res.Header.Get("Content-Type"), want, b)
		}
	}
	for _, p := range pages {
		check(get("GET", p, nil), "text/html", "系统暂时不可用")
	}
	for _, p := range cached {
		res := get("GET", p, nil)
		res.Body.Close()
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: %d; want 200 from the caches or 503", p, res.StatusCode)
		}
	}
	check(get("GET", "/halls/demo/kiosk?lang=en", nil), "text/html", "The system is unavailable for a moment")
	form := url.Values{"number": {"202601010001"}, "last4": {"1234"}}.Encode()
	check(get("POST", "/c", strings.NewReader(form)), "text/html", "系统暂时不可用")
	for _, p := range []string{"/t/" + id + "/qr.svg", "/api/v1/tickets/" + id + "/escpos"} {
		check(get("GET", p, nil), "application/json", `"code":"unavailable"`)
	}
}
