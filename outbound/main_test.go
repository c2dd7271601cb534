package outbound_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/civiq/civiq/storetest"
)

// TestMain runs the delivery tests on SQLite, then on PostgreSQL: the
// leases and cursors are the same SQL on both. The workers' notes (which
// node delivers) stay out of the output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	storetest.Main(m)
}
