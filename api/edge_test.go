package api_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/civiq/civiq"
)

// TestEdgeTokenOverRoutes is the edge token's column of the authorization
// matrix, asked of every route the server registered: the token of hall
// demo may say hello, send the hall's events and read the hall's
// configuration and requests, of demo only; anywhere else it may do no
// more than nobody may.
func TestEdgeTokenOverRoutes(t *testing.T) {
	t.Parallel()
	ts := newBookingServer(t)
	keys, err := civiq.NewReceiptKeys(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ts.Engine.Receipts = keys
	ts.addOtherHall(t)
	var made struct{ Token string }
	ts.do(t, "POST", "/api/v1/halls/demo/edge-tokens", ts.Admin, map[string]string{}).want(t, 201).json(t, &made)
	token := made.Token
	param := regexp.MustCompile(`\{([a-z_]+)\.*\}`)
	fill := func(pattern, hall string) string {
		return param.ReplaceAllStringFunc(pattern, func(p string) string {
			switch strings.Trim(p, "{}.") {
			case "hall":
				return hall
			case "counter":
				return "1"
			case "service":
				return "general"
			}
			return "1"
		})
	}
	ok := func(status int) bool { return status >= 200 && status < 300 }
	for _, route := range registeredRoutes(t, ts) {
		method, pattern, found := strings.Cut(route, " ")
		if !found || !strings.HasPrefix(pattern, "/api/") || strings.HasSuffix(pattern, "/events") && method == "GET" {
			continue // the pages, a catch-all, the live streams (nobody's or staff's, checked by the matrix)
		}
		if pattern == "/api/v1/auth/me" || pattern == "/api/v1/auth/logout" {
			continue // who the token is, and a sign-out that ends nothing
		}
		link := strings.Contains(pattern, "/halls/{hall}/edge/")
		for _, hall := range []string{"demo", "other"} {
			path := fill(pattern, hall)
			var body any
			if method != "GET" && method != "DELETE" {
				body = map[string]any{}
			}
			anon, _ := cellStatus(t, ts, method, path, "", body)
			got, r := cellStatus(t, ts, method, path, token, body)
			switch {
			case link && hall == "demo" && (got == 401 || got == 403):
				t.Errorf("%s %s: the hall's own edge token refused: %s", method, path, r)
			case link && hall != "demo" && got != 403:
				t.Errorf("%s %s: another hall's edge token: %s, want 403", method, path, r)
			case !link && ok(got) && !ok(anon):
				t.Errorf("%s %s: the edge token may do what nobody may: %s (nobody: %d)", method, path, r, anon)
			}
		}
	}
}

// An edge started with the token of another hall (a --hall mistyped, a
// token taken from the wrong row) is told whose token it holds and what
// to do, not only that it may not: the operator reads it at the edge's
// first start (civiq serve: edge: the first pull of hall ...).
func TestEdgeTokenOfAnotherHallSaysWhose(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addOtherHall(t)
	var made struct{ Token string }
	ts.do(t, "POST", "/api/v1/halls/demo/edge-tokens", ts.Admin, map[string]string{}).want(t, 201).json(t, &made)
	r := ts.do(t, "GET", "/api/v1/halls/other/edge/config", made.Token, nil)
	r.wantErr(t, 403, "forbidden", "")
	if msg := r.apiErr(t).Error.Message; !strings.Contains(msg, "hall demo") || !strings.Contains(msg, "--hall") {
		t.Errorf("another hall's edge token: %q; want it to name the token's hall, demo, and --hall", msg)
	}
	// A staff member's refusal stays as it was: nothing of the edge.
	if msg := ts.do(t, "GET", "/api/v1/halls/other/edge/config", ts.Admin, nil).apiErr(t).Error.Message; strings.Contains(msg, "edge token") {
		t.Errorf("an admin's refusal: %q", msg)
	}
}
