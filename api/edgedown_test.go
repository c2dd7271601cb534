package api_test

import (
	"testing"
)

// TestEdgeDownRoutes: a hall's edge token reads that hall's configuration
// and takes that hall's requests, and no other hall's; a pull with the
// cursor it holds answers the cursor alone; while no edge polls, a
// phone's remote ticket for the hall is remote_paused at once.
func TestEdgeDownRoutes(t *testing.T) {
	ts := newTestServer(t)
	ts.addOtherHall(t)
	var made struct {
		Token string `json:"token"`
	}
	ts.do(t, "POST", "/api/v1/halls/demo/edge-tokens", ts.Admin, nil).want(t, 201).json(t, &made)
	tok := made.Token

	var pull struct {
		Cursor string `json:"cursor"`
		Config *struct {
			Hall     struct{ ID string }   `json:"hall"`
			Services []struct{ ID string } `json:"services"`
			Users    []struct {
				Username     string `json:"username"`
				PasswordHash string `json:"password_hash"`
			} `json:"users"`
		} `json:"config"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/edge/config", tok, nil).want(t, 200).json(t, &pull)
	if pull.Cursor == "" || pull.Config == nil || pull.Config.Hall.ID != "demo" || len(pull.Config.Services) != 4 ||
		len(pull.Config.Users) == 0 || pull.Config.Users[0].PasswordHash == "" {
		t.Fatalf("pull %+v", pull)
	}
	cursor := pull.Cursor
	pull.Config = nil
	ts.do(t, "GET", "/api/v1/halls/demo/edge/config?after="+cursor, tok, nil).want(t, 200).json(t, &pull)
	if pull.Cursor != cursor || pull.Config != nil {
		t.Errorf("a pull with the edge's cursor: %+v", pull)
	}
	ts.do(t, "GET", "/api/v1/halls/other/edge/config", tok, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", "/api/v1/halls/other/edge/requests", tok, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", "/api/v1/halls/demo/edge/requests?wait=x", tok, nil).wantErr(t, 400, "invalid", "wait")
	ts.do(t, "POST", "/api/v1/halls/demo/edge/requests/99/answer", tok, map[string]any{}).wantErr(t, 404, "not_found", "")

	ts.do(t, "POST", "/api/v1/halls/demo/tickets", "", map[string]string{"service_id": "general", "channel": "remote"}).
		wantErr(t, 409, "remote_paused", "")
	var reqs struct {
		Requests []any `json:"requests"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/edge/requests?wait=0", tok, nil).want(t, 200).json(t, &reqs)
	if reqs.Requests == nil || len(reqs.Requests) != 0 {
		t.Errorf("requests %+v", reqs)
	}
}
