package web_test

import (
	"strings"
	"testing"

	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/web"
)

// No page may be framed (issue 18: clickjacking), except the display and
// the guides by the origins named in CIVIQ_FRAME_ANCESTORS.
func TestFrameAncestors(t *testing.T) {
	for _, allowed := range [][]string{nil, {"https://portal.example.gov.cn", "https://*.example.org"}} {
		s := civiqtest.New(t, func(s *civiqtest.Server) { s.Site.FrameAncestors = allowed })
		for _, path := range []string{"/", "/login", "/admin", "/halls/demo/kiosk", "/halls/demo/counter/1", "/halls/demo/display", "/halls/demo/guides", "/no/such/page"} {
			res, _ := s.Page(t, path, s.Admin)
			csp, xfo := res.Header.Get("Content-Security-Policy"), res.Header.Get("X-Frame-Options")
			embed := len(allowed) > 0 && (path == "/halls/demo/display" || path == "/halls/demo/guides")
			switch {
			case embed && (!strings.Contains(csp, "frame-ancestors "+strings.Join(allowed, " ")) || xfo != ""):
				t.Errorf("%s with %v: CSP %q, X-Frame-Options %q; want the allowed origins", path, allowed, csp, xfo)
			case !embed && (!strings.Contains(csp, "frame-ancestors 'none'") || xfo != "DENY"):
				t.Errorf("%s with %v: CSP %q, X-Frame-Options %q; want no framing", path, allowed, csp, xfo)
			}
		}
	}
}

func TestParseFrameAncestors(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"https://portal.example.gov.cn": "https://portal.example.gov.cn",
		"https://a.example, http://b.example:8080/": "https://a.example http://b.example:8080",
		"https://*.example.org":                     "https://*.example.org",
	} {
		got, err := web.ParseFrameAncestors(in)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("ParseFrameAncestors(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"portal.example", "*", "'self'", "https://a.example/path", "https://a.example;script-src", "javascript:x", "https://a.example?x", "https://user@a.example", "ftp://a.example"} {
		if got, err := web.ParseFrameAncestors(bad); err == nil {
			t.Errorf("ParseFrameAncestors(%q) = %q; want an error", bad, got)
		}
	}
}
