package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq/pgtest"
)

// startNode runs one civiq node on the shared PostgreSQL database.
func startNode(t *testing.T, url string) *Main {
	t.Helper()
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	t.Setenv("CIVIQ_SECRET_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	t.Setenv("CIVIQ_RECEIPT_KEYS", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	m := &Main{Config: Config{Addr: "127.0.0.1:0", Postgres: url, Demo: true, Synchronous: "FULL"}}
	if err := m.Open(context.Background()); err != nil {
		m.Close()
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Two nodes on one PostgreSQL: a call made on node A reaches a stream on
// node B, numbering is shared, a hall's settings changed on A hold on B, and
// the demo hall and the first admin are created once. This checks that the
// effects happen (waiting a generous 10 s, so a loaded machine does not fail
// it); how fast a call crosses nodes is measured by civiq bench's fan-out
// phase (`civiq bench --postgres … --nodes 3`, BENCHMARKS.md "City scale on
// PostgreSQL"), never timed here.
func TestPostgresTwoNodes(t *testing.T) {
	url := pgtest.Database(t)
	a := startNode(t, url)
	b := startNode(t, url)
	hc := newHTTPClient()
	adminA := mustLogin(t, hc, a.URL(), "admin", testAdminPassword)
	adminB := mustLogin(t, hc, b.URL(), "admin", testAdminPassword)

	req, _ := http.NewRequest(http.MethodGet, b.URL()+"/api/v1/halls/demo/events", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitFor := func(prefix string, within time.Duration) string {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended waiting for %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-deadline:
				t.Fatalf("no %q within %v", prefix, within)
			}
		}
	}
	waitFor(": connected", 5*time.Second)

	var t1, t2 ticketAnswer
	mustDo(t, hc, http.MethodPost, a.URL()+"/api/v1/halls/demo/tickets", adminA, map[string]string{"service_id": "general"}, http.StatusCreated, &t1)
	mustDo(t, hc, http.MethodPost, b.URL()+"/api/v1/halls/demo/tickets", adminB, map[string]string{"service_id": "general"}, http.StatusCreated, &t2)
	if t1.Ticket.Number == t2.Ticket.Number {
		t.Fatalf("two nodes gave the same number %s", t1.Ticket.Number)
	}
	var called ticketAnswer
	mustDo(t, hc, http.MethodPost, a.URL()+"/api/v1/halls/demo/counters/1/call-next", adminA, nil, http.StatusOK, &called)
	waitFor("event: ticket.called", 10*time.Second)
	var halls struct{ Halls []struct{ ID string } }
	mustDo(t, hc, http.MethodGet, b.URL()+"/api/v1/halls", "", nil, http.StatusOK, &halls)
	if len(halls.Halls) != 1 {
		t.Fatalf("halls = %v, want the demo hall once", halls.Halls)
	}

	// A hall's settings changed on node A are in force on node B at once:
	// B's cached settings are cleared by A's notice.
	elderly := map[string]string{"service_id": "general", "priority_group": "elderly"}
	mustDo(t, hc, http.MethodPost, b.URL()+"/api/v1/halls/demo/tickets", adminB, elderly, http.StatusCreated, nil)
	var hall map[string]any
	mustDo(t, hc, http.MethodGet, a.URL()+"/api/v1/halls/demo", adminA, nil, http.StatusOK, &hall)
	h := hall["hall"].(map[string]any)
	h["priority_groups"] = []string{"military"}
	mustDo(t, hc, http.MethodPut, a.URL()+"/api/v1/halls/demo", adminA, h, http.StatusOK, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _, err := request(context.Background(), hc, http.MethodPost, b.URL()+"/api/v1/halls/demo/tickets", adminB, elderly)
		if err != nil {
			t.Fatal(err)
		}
		if status == http.StatusBadRequest {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node B still gives green-channel tickets 10 s after node A removed the group (status %d)", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// PostgreSQL stopped and started again: while it is away the node answers
// 503 with a clear error (never 500) and /readyz is false; afterwards it
// serves again without a restart.
// TestPostgresRestartedFirstWrite: PostgreSQL restarted between two writes
// (a failover, an upgrade): the first write after it is answered 201. The
// writer's connection kept from the write before was dead, and the first
// write after each restart was answered 503.
func TestPostgresRestartedFirstWrite(t *testing.T) {
	pg := pgtest.StartServer(t)
	n := startNode(t, pg.URL)
	hc := newHTTPClient()
	admin := mustLogin(t, hc, n.URL(), "admin", testAdminPassword)
	for i := range 3 {
		code, body, err := request(context.Background(), hc, http.MethodPost, n.URL()+"/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"})
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusCreated {
			t.Fatalf("issue %d (after %d restarts): %d %s", i, i, code, body)
		}
		pg.Stop()
		pg.Restart()
	}
}

func TestPostgresAwayAndBack(t *testing.T) {
	pg := pgtest.StartServer(t)
	n := startNode(t, pg.URL)
	hc := newHTTPClient()
	admin := mustLogin(t, hc, n.URL(), "admin", testAdminPassword)
	issue := func() (int, []byte) {
		code, body, err := request(context.Background(), hc, http.MethodPost, n.URL()+"/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"})
		if err != nil {
			t.Fatal(err)
		}
		return code, body
	}
	if code, body := issue(); code != http.StatusCreated {
		t.Fatalf("issue before: %d %s", code, body)
	}
	pg.Stop()
	for _, probe := range []struct{ method, path, token string }{
		{http.MethodGet, "/readyz", ""},
		{http.MethodPost, "/api/v1/halls/demo/tickets", admin},
		{http.MethodGet, "/api/v1/halls/demo/status", ""},
		{http.MethodPost, "/api/v1/halls/demo/counters/1/call-next", admin},
	} {
		var body any
		if probe.method == http.MethodPost && strings.HasSuffix(probe.path, "tickets") {
			body = map[string]string{"service_id": "general"}
		}
		code, got, err := request(context.Background(), hc, probe.method, n.URL()+probe.path, probe.token, body)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusServiceUnavailable {
			t.Errorf("%s %s while PostgreSQL is away: %d %s, want 503", probe.method, probe.path, code, got)
		}
	}
	pg.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _, _ := request(context.Background(), hc, http.MethodGet, n.URL()+"/readyz", "", nil)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after PostgreSQL came back", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		code, body := issue()
		if code == http.StatusCreated {
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("issue after PostgreSQL came back: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
