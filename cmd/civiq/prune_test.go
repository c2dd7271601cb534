package main

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sqlstore"
)

// TestPruneStops: the hourly prune stops when the server does, between
// the batches of the notifications' old messages, and says nothing of it
// (its context is cancelled by the stop, not context.Background).
func TestPruneStops(t *testing.T) {
	db := filepath.Join(t.TempDir(), "civiq.db")
	store, err := sqlstore.Open(db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eng := civiq.NewEngine(store)
	ctx := context.Background()
	if _, err := eng.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	// The old messages, written as the store keeps them (a command's
	// tests open no transaction of the domain's).
	conn, err := sql.Open("sqlite", sqlstore.DSN(db, sqlstore.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	old := eng.Now().Add(-civiq.NoticeAge - time.Hour).UnixNano()
	const n = 3 * civiq.PruneBatch
	if _, err := conn.Exec(`WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
		INSERT INTO notify_messages (id, hall_id, day, ticket_id, number, medium, kind, to_masked, address_key, params, status,
			event_id, ord, created_at, updated_at)
		SELECT 'n-' || i, 'demo', '2026-01-02', 'T-' || i, 'A001', ?, ?, '138****0001', 'k', '[]', ?, 0, 0, ?, ? FROM seq`,
		n, civiq.MediumSMS, civiq.NoticeTaken, civiq.NoticeSent, old, old); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))

	stop := make(chan struct{})
	close(stop) // the server stops as the prune starts
	done := make(chan struct{})
	go func() { (&Main{Engine: eng}).prune(stop); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the prune did not return after the stop")
	}
	var left int
	if err := conn.QueryRow(`SELECT COUNT(*) FROM notify_messages WHERE hall_id = 'demo'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left == 0 {
		t.Errorf("the prune deleted all %d messages after the stop", n)
	}
	if logs.Len() != 0 {
		t.Errorf("the stopped prune logged: %s", logs.String())
	}
}
