package main

import (
	"bytes"
	"context"
	"fmt"
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
	store, err := sqlstore.Open(filepath.Join(t.TempDir(), "civiq.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eng := civiq.NewEngine(store)
	ctx := context.Background()
	if _, err := eng.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	old := eng.Now().Add(-civiq.NoticeAge - time.Hour)
	const n = 3 * civiq.NoticePruneBatch
	if err := store.Update(ctx, func(tx civiq.Tx) error {
		for i := range n {
			id := fmt.Sprintf("T-%04d", i)
			m := &civiq.Notice{ID: "n-" + id, HallID: "demo", Day: "2026-01-02", TicketID: id, Number: "A001", Medium: civiq.MediumSMS,
				Kind: civiq.NoticeTaken, To: "138****0001", Status: civiq.NoticeSent, CreatedAt: old, UpdatedAt: old}
			if ok, err := tx.InsertNotice(m); err != nil || !ok {
				return fmt.Errorf("insert %s: %v, %w", id, ok, err)
			}
		}
		return nil
	}); err != nil {
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
	left := 0
	if err := store.View(ctx, func(tx civiq.Tx) error {
		cs, err := tx.NoticeCounts("demo", "2026-01-02", "2026-01-02")
		for _, c := range cs {
			left += c.Count
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if left == 0 {
		t.Errorf("the prune deleted all %d messages after the stop", n)
	}
	if logs.Len() != 0 {
		t.Errorf("the stopped prune logged: %s", logs.String())
	}
}
