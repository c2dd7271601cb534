package api_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"testing"
)

// Made-up methods and paths make no new series: every label of the HTTP
// metrics comes from a fixed set (issue 18: 100,000 made-up methods made
// 100,283 series).
func TestMetricsLabelsBounded(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for i := range 40 {
		for _, path := range []string{"/healthz", fmt.Sprintf("/api/v1/made-up-%d", i), fmt.Sprintf("/no/such/page/%d", i)} {
			req, _ := http.NewRequest(fmt.Sprintf("M%dX", i), ts.URL+path, nil)
			res, err := ts.HTTP.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
	}
	ts.do(t, "GET", "/healthz", "", nil).want(t, 200)
	body := string(ts.do(t, "GET", "/metrics", "", nil).want(t, 200).Body)
	methods, routes := map[string]bool{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`civiq_http_request_duration_seconds_count\{code="[^"]*",method="([^"]*)",route="([^"]*)"\}`).FindAllStringSubmatch(body, -1) {
		methods[m[1]], routes[m[2]] = true, true
	}
	for m := range methods {
		if !slices.Contains([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}, m) {
			t.Errorf("method label %q", m)
		}
	}
	if !methods["other"] || !methods["GET"] {
		t.Errorf("method labels %v; want GET and other", methods)
	}
	if len(routes) > 5 {
		t.Errorf("%d route labels after made-up paths: %v", len(routes), routes)
	}
}
