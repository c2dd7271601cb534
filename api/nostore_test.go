package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The no-storage ceiling decodes as the issue route does and answers a
// ticket of its shape.
func TestNoStoreIssue(t *testing.T) {
	h := NoStoreIssue()
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"service_id":"general","channel":"kiosk"}`, http.StatusCreated},
		{`{"service_id":"tax"}`, http.StatusCreated},
		{`{"channel":"kiosk"}`, http.StatusBadRequest},
		{`{"service_id":1}`, http.StatusBadRequest},
		{`[]`, http.StatusBadRequest},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/halls/demo/tickets", strings.NewReader(tc.body)))
		if w.Code != tc.want {
			t.Fatalf("%s: status %d, want %d: %s", tc.body, w.Code, tc.want, w.Body)
		}
		if tc.want != http.StatusCreated {
			continue
		}
		var out struct {
			Ticket struct {
				ID, Number, Channel, Status string
				ServiceID                   string `json:"service_id"`
				Position                    *int
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		tk := out.Ticket
		if tk.ID == "" || tk.Number == "" || tk.Status != "waiting" || tk.Channel != "kiosk" || tk.Position == nil || tk.ServiceID == "" || !strings.Contains(tc.body, tk.ServiceID) {
			t.Fatalf("%s: answered %s", tc.body, w.Body)
		}
	}
}
