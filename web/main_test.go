package web_test

import (
	"testing"

	"github.com/civiq/civiq/storetest"
)

// TestMain runs the pages' tests on SQLite, then again on PostgreSQL (the
// tests that start their node with civiqtest; see storetest).
func TestMain(m *testing.M) { storetest.Main(m) }
