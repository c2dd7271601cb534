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
