// Package origin tells requests a browser sent from another site apart, for
// the changes that carry no token of their own: signing in and out (issue
// 18: a cross-site POST signed a browser in as someone else, and a
// cross-site sign-out cleared the cookie but left the session alive).
package origin

import (
	"net/http"
	"net/url"
	"strings"
)

// Cross reports whether a browser sent r from a page of another origin:
// Sec-Fetch-Site says so, or Origin (else Referer) names another host than
// the request's. A request with none of them (curl, a kiosk's own client)
// is not cross-site; browsers send Origin with every cross-site POST.
func Cross(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	from := r.Header.Get("Origin")
	if from == "" {
		from = r.Header.Get("Referer")
	}
	if from == "" {
		return false
	}
	u, err := url.Parse(from)
	return err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host)
}

// HTTPS reports whether the browser reached the site over https: by TLS to
// this server, or to a reverse proxy in front of it that says so in
// X-Forwarded-Proto (its first value, for a chain of proxies). Cookies are
// then marked Secure, so that the browser never sends them over plain
// http. Believing the header costs nothing: a client that sends it over
// plain http only gets cookies its own browser keeps from the server.
func HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}
