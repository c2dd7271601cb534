package edgelink

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/pgtest"
)

// TestLinkChangesLogged: the log says once when the city answers, once
// when it stops answering and once when it answers again; a refusal of
// the city (an answer) keeps the link up, and a request its caller gave
// up says nothing. The operator saw the link's state only in /readyz.
func TestLinkChangesLogged(t *testing.T) {
	var down atomic.Bool
	city := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case down.Load():
			w.WriteHeader(http.StatusBadGateway) // a proxy before a city that is gone
		case r.URL.Path == "/refused":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"forbidden","message":"not this edge's hall"}}`))
		default:
			w.Write([]byte(`{}`))
		}
	}))
	defer city.Close()
	out := &pgtest.Output{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(out, nil)))
	defer slog.SetDefault(old)

	c := New(civiq.EdgeConfig{CityURL: city.URL, Hall: "demo", Token: "t"})
	ctx := context.Background()
	do := func(path string) { c.Do(ctx, http.MethodGet, path, nil, nil) }
	do("/a")
	do("/b")
	do("/refused")
	down.Store(true)
	do("/c")
	do("/d")
	down.Store(false)
	do("/e")
	do("/f")
	gone, cancel := context.WithCancel(ctx)
	cancel()
	c.Do(gone, http.MethodGet, "/g", nil, nil) // given up: no line, and no "answers" after it
	do("/h")

	want := []string{"the city answers", "the city does not answer", "the city answers"}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != len(want) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(got[i], "edge link: "+w) || !strings.Contains(got[i], "city="+city.URL) {
			t.Errorf("line %d: %s; want %q with the city", i, got[i], w)
		}
	}
	if !strings.Contains(got[1], "level=WARN") || !strings.Contains(got[1], "502") {
		t.Errorf("the link down is a warning with its error: %s", got[1])
	}
	if s := c.State(); !s.Up {
		t.Errorf("state %+v; want up", s)
	}
}
