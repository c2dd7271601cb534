package origin

import (
	"net/http/httptest"
	"testing"
)

func TestCross(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    bool
	}{
		{"no headers", nil, false},
		{"same origin", map[string]string{"Origin": "http://civiq.example:8080"}, false},
		{"same origin, other case", map[string]string{"Origin": "http://CIVIQ.example:8080"}, false},
		{"same origin behind TLS", map[string]string{"Origin": "https://civiq.example:8080"}, false},
		{"other host", map[string]string{"Origin": "https://evil.example"}, true},
		{"other port", map[string]string{"Origin": "http://civiq.example:9090"}, true},
		{"opaque origin", map[string]string{"Origin": "null"}, true},
		{"referer of another site", map[string]string{"Referer": "https://evil.example/page"}, true},
		{"referer of this site", map[string]string{"Referer": "http://civiq.example:8080/login?next=/admin"}, false},
		{"fetch metadata cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://civiq.example:8080"}, true},
		{"fetch metadata same-site", map[string]string{"Sec-Fetch-Site": "same-site"}, true},
		{"fetch metadata same-origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://civiq.example:8080"}, false},
		{"typed by hand", map[string]string{"Sec-Fetch-Site": "none"}, false},
	} {
		r := httptest.NewRequest("POST", "http://civiq.example:8080/login", nil)
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		if got := Cross(r); got != tc.want {
			t.Errorf("%s: Cross = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestHTTPS(t *testing.T) {
	for proto, want := range map[string]bool{"": false, "http": false, "https": true, "HTTPS": true, "https, http": true, "http, https": false, "httpsx": false} {
		r := httptest.NewRequest("GET", "http://civiq.example/", nil)
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		if got := HTTPS(r); got != want {
			t.Errorf("X-Forwarded-Proto %q: HTTPS = %v, want %v", proto, got, want)
		}
	}
	if r := httptest.NewRequest("GET", "https://civiq.example/", nil); !HTTPS(r) {
		t.Error("a TLS request is not https")
	}
}
