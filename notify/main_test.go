package notify_test

import (
	"testing"

	"github.com/civiq/civiq/storetest"
)

// TestMain runs the notifications tests on SQLite, then on PostgreSQL.
func TestMain(m *testing.M) { storetest.Main(m) }
