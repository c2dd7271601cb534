package web

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
)

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "/",
		"/":                         "/",
		"/admin":                    "/admin",
		"/halls/demo/counter/1?x=1": "/halls/demo/counter/1?x=1",
		"/admin#users":              "/admin#users",
		"//evil.example":            "/",
		`/\evil.example`:            "/", // issue 18: browsers read it as //evil.example
		`\/evil.example`:            "/",
		`/admin\..\x`:               "/",
		"/\t/evil.example":          "/", // browsers drop tabs and newlines
		"/\n/evil.example":          "/",
		"https://evil.example/":     "/",
		"javascript:alert(1)":       "/",
		"admin":                     "/",
		" /admin":                   "/",
		"/%2F%2Fevil.example":       "/%2F%2Fevil.example", // a path on this site
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzSafeNext: whatever comes in, a browser following the answer stays on
// this site, even reading backslashes as slashes and dropping tabs and
// newlines as browsers do.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/admin?lang=en", "//evil.example", `/\evil.example`, "/\t/x", "https://x", "/a/b#c", "/%5Cevil", "///x", "/.//x"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://civiq.example/login")
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext(in)
		if out != "/" && out != in {
			t.Fatalf("safeNext(%q) = %q: either the path as given or /", in, out)
		}
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.Contains(out, `\`) || strings.IndexFunc(out, unicode.IsControl) >= 0 {
			t.Fatalf("safeNext(%q) = %q", in, out)
		}
		browser := strings.ReplaceAll(out, `\`, "/")
		ref, err := url.Parse(browser)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q, which does not parse: %v", in, out, err)
		}
		if u := base.ResolveReference(ref); u.Scheme != "https" || u.Host != "civiq.example" {
			t.Fatalf("safeNext(%q) = %q leads to %s", in, out, u)
		}
	})
}
