package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A backup taken while the server serves holds what was acknowledged
// before it; restore puts it in place and the server starts on it.
func TestBackupAndRestore(t *testing.T) {
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	dir := t.TempDir()
	db := filepath.Join(dir, "civiq.db")
	m, stop := startMain(t, db)
	hc := newHTTPClient()
	admin := mustLogin(t, hc, m.URL(), "admin", testAdminPassword)
	var first ticketAnswer
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"}, http.StatusCreated, &first)

	backupFile := filepath.Join(dir, "backup.db")
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"backup", "--db", db, "--to", backupFile}, &out, &errb); code != 0 {
		t.Fatalf("backup exit %d: %s", code, errb.String())
	}
	// The backup holds personal data: its owner's only, as the database.
	for _, f := range []string{db, backupFile} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", filepath.Base(f), fi.Mode(), err)
		}
	}
	// The same target twice is refused rather than overwritten.
	if code := Run(context.Background(), []string{"backup", "--db", db, "--to", backupFile}, &out, &errb); code != 1 {
		t.Fatalf("second backup to the same file: exit %d, want 1", code)
	}
	var second ticketAnswer
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"}, http.StatusCreated, &second)
	stop()

	// Restore refuses to replace a database without --force.
	if code := Run(context.Background(), []string{"restore", "--from", backupFile, "--db", db}, &out, &errb); code != 1 {
		t.Fatalf("restore without --force over an existing db: exit %d, want 1", code)
	}
	if code := Run(context.Background(), []string{"restore", "--from", backupFile, "--db", db, "--force"}, &out, &errb); code != 0 {
		t.Fatalf("restore exit %d: %s", code, errb.String())
	}
	// A file that is not a civiq database is refused.
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte("not a database"), 0o600)
	if code := Run(context.Background(), []string{"restore", "--from", junk, "--db", filepath.Join(dir, "x.db")}, &out, &errb); code != 1 {
		t.Fatalf("restore from junk: exit %d, want 1", code)
	}

	m2, _ := startMain(t, db)
	admin = mustLogin(t, hc, m2.URL(), "admin", testAdminPassword)
	var got ticketAnswer
	mustDo(t, hc, http.MethodGet, m2.URL()+"/api/v1/tickets/"+first.Ticket.ID, "", nil, http.StatusOK, &got)
	if got.Ticket.Number != first.Ticket.Number {
		t.Fatalf("restored ticket %s, want %s", got.Ticket.Number, first.Ticket.Number)
	}
	mustDo(t, hc, http.MethodGet, m2.URL()+"/api/v1/tickets/"+second.Ticket.ID, "", nil, http.StatusNotFound, nil)
	// Numbering goes on from the backup: the ticket issued after it is gone,
	// so its number is given again, and never a number the backup holds.
	var next ticketAnswer
	mustDo(t, hc, http.MethodPost, m2.URL()+"/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"}, http.StatusCreated, &next)
	if next.Ticket.Number != second.Ticket.Number {
		t.Fatalf("after restore the next number is %s, want %s", next.Ticket.Number, second.Ticket.Number)
	}
}

// A database restored without its key files: restore names the files to
// put back, and a server started on it anyway answers a clear 503 for the
// personal data its new key cannot open (it was a 500).
func TestRestoreWithoutKeyFiles(t *testing.T) {
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	for _, v := range []string{"CIVIQ_SECRET_KEY", "CIVIQ_RECEIPT_KEYS", "CIVIQ_VAPID_KEY"} {
		t.Setenv(v, "")
	}
	db := filepath.Join(t.TempDir(), "civiq.db")
	m, stop := startMain(t, db)
	hc := newHTTPClient()
	admin := mustLogin(t, hc, m.URL(), "admin", testAdminPassword)
	var tk ticketAnswer
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"}, http.StatusCreated, &tk)
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/halls/demo/counters/1/call-next", admin, nil, http.StatusOK, nil)
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/tickets/"+tk.Ticket.ID+"/finish", admin, nil, http.StatusOK, nil)
	mustDo(t, hc, http.MethodPost, m.URL()+"/api/v1/tickets/"+tk.Ticket.ID+"/rating", "",
		map[string]any{"score": 1, "reasons": []string{"attitude"}, "contact_phone": "13912345678"}, http.StatusCreated, nil)
	backupFile := filepath.Join(t.TempDir(), "backup.db")
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"backup", "--db", db, "--to", backupFile}, &out, &errb); code != 0 {
		t.Fatalf("backup exit %d: %s", code, errb.String())
	}
	stop()

	// The database alone, in a new place.
	db2 := filepath.Join(t.TempDir(), "civiq.db")
	errb.Reset()
	if code := Run(context.Background(), []string{"restore", "--from", backupFile, "--db", db2}, &out, &errb); code != 0 {
		t.Fatalf("restore exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "put back the key files") || !strings.Contains(errb.String(), db2+".key, "+db2+".receipt-keys, "+db2+".vapid-key") {
		t.Errorf("restore without the key files says %q", errb.String())
	}
	if got := (Config{DB: db2}).missingKeyFiles(); len(got) != 3 {
		t.Errorf("missing key files %q", got)
	}
	m2, _ := startMain(t, db2)
	admin = mustLogin(t, hc, m2.URL(), "admin", testAdminPassword)
	b := mustDo(t, hc, http.MethodGet, m2.URL()+"/api/v1/halls/demo/followups", admin, nil, http.StatusServiceUnavailable, nil)
	if !strings.Contains(string(b), "CIVIQ_SECRET_KEY or the key file beside the database") {
		t.Errorf("the follow-ups with another key: %s", b)
	}
	// With its key files beside it (as the first server left them), a
	// database is not missing any.
	if got := (Config{DB: db}).missingKeyFiles(); len(got) != 0 {
		t.Errorf("the first database misses %q", got)
	}
}
