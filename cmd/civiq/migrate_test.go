package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civiq/civiq/pgtest"
)

// A hall that ran on SQLite moves to PostgreSQL: its tickets, numbers,
// users and events come along, and numbering goes on where it was.
func TestMigrateToPostgres(t *testing.T) {
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	db := filepath.Join(t.TempDir(), "civiq.db")
	m, stop := startMain(t, db)
	hc := newHTTPClient()
	admin := mustLogin(t, hc, m.URL(), "admin", testAdminPassword)
	var first, second ticketAnswer
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"}, http.StatusCreated, &first)
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"}, http.StatusCreated, &second)
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/halls/demo/counters/1/call-next", admin, nil, http.StatusOK, nil)
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/tickets/"+first.Ticket.ID+"/finish", admin, nil, http.StatusOK, nil)
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/tickets/"+first.Ticket.ID+"/rating", "", map[string]any{"score": 5}, http.StatusCreated, nil)
	stop()

	url := pgtest.Database(t)
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"migrate-to-postgres", "--db", db, "--postgres", url}, &out, &errb); code != 0 {
		t.Fatalf("migrate exit %d: %s", code, errb.String())
	}
	// It says how to give the nodes the keys left beside the SQLite file.
	if want := `CIVIQ_SECRET_KEY="$(cat ` + db + `.key)" CIVIQ_RECEIPT_KEYS="$(cat ` + db + `.receipt-keys)" CIVIQ_VAPID_KEY="$(cat ` + db + `.vapid-key)"`; !strings.Contains(out.String(), want) {
		t.Errorf("migrate says %q, not %s", out.String(), want)
	}
	// Twice is refused: the target is no longer empty.
	if code := Run(context.Background(), []string{"migrate-to-postgres", "--db", db, "--postgres", url}, &out, &errb); code != 1 {
		t.Fatalf("second migrate: exit %d, want 1", code)
	}

	n := startNode(t, url)
	admin = mustLogin(t, hc, n.URL(), "admin", testAdminPassword)
	var got ticketAnswer
	mustDo(t, hc, http.MethodGet, n.URL()+"/api/v1/tickets/"+first.Ticket.ID, "", nil, http.StatusOK, &got)
	if got.Ticket.Number != first.Ticket.Number || got.Ticket.Status != "done" {
		t.Fatalf("moved ticket = %+v, want %s done", got.Ticket, first.Ticket.Number)
	}
	mustDo(t, hc, http.MethodPost, n.URL()+"/api/v1/tickets/"+first.Ticket.ID+"/rating", "", map[string]any{"score": 4}, http.StatusConflict, nil)
	var third ticketAnswer
	mustDo(t, hc, http.MethodPost, n.URL()+"/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"}, http.StatusCreated, &third)
	if third.Ticket.Number != "A003" {
		t.Fatalf("next number after the move = %s, want A003", third.Ticket.Number)
	}
	var st struct{ Waiting map[string]int }
	mustDo(t, hc, http.MethodGet, n.URL()+"/api/v1/halls/demo/status", "", nil, http.StatusOK, &st)
	if st.Waiting["general"] != 2 {
		t.Fatalf("waiting general = %d, want 2 (the second ticket and the new one)", st.Waiting["general"])
	}
}

// TestMigrateRefusesLiveDB: a copy taken while civiq serve still runs on
// the SQLite file would leave behind whatever the hall does after it, lost
// at the cut-over; migrate-to-postgres stops at the server's lock, as
// restore does, copying nothing, and copies once the server is stopped.
func TestMigrateRefusesLiveDB(t *testing.T) {
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	db := filepath.Join(t.TempDir(), "civiq.db")
	_, stop := startMain(t, db)
	url := pgtest.Database(t)
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"migrate-to-postgres", "--db", db, "--postgres", url}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "in use") {
		t.Fatalf("migrate of a database a server runs on: exit %d, %q; want 1 and that it is in use", code, errb.String())
	}
	stop()
	errb.Reset()
	if code := Run(context.Background(), []string{"migrate-to-postgres", "--db", db, "--postgres", url}, &out, &errb); code != 0 {
		t.Fatalf("migrate once the server stopped: exit %d, %s (the refused one copied something?)", code, errb.String())
	}
}
