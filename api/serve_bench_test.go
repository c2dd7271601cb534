package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq/storetest"
)

// BenchmarkServeIssue is a kiosk's issue request through the whole API
// server (request id, authentication, decoding, the engine on a real
// SQLite store, the expected wait, the answer, metrics), without the
// network: the server's CPU per ticket beside the writer's.
func BenchmarkServeIssue(b *testing.B) {
	ts := newTestServer(b)
	services := []string{"general", "property", "tax", "social"}
	bodies := make([]string, len(services))
	for i, s := range services {
		bodies[i] = `{"service_id":"` + s + `","channel":"kiosk"}`
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer storetest.CPUPerOp(b, time.Microsecond)()
	for i := range b.N {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/halls/demo/tickets", strings.NewReader(bodies[i%len(bodies)]))
		r.Header.Set("Authorization", "Bearer "+ts.Admin)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		ts.API.ServeHTTP(w, r)
		if w.Code != http.StatusCreated {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
