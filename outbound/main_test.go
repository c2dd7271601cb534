package outbound_test

import (
	"testing"

	"github.com/civiq/civiq/storetest"
)

// TestMain runs the delivery tests on SQLite, then on PostgreSQL: the
// leases and cursors are the same SQL on both.
func TestMain(m *testing.M) { storetest.Main(m) }
