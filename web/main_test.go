package web_test

import (
	"os"
	"testing"

	"github.com/civiq/civiq/browsertest"
)

// TestMain starts the package's one Chromium (browsertest.Shared): the
// browser tests' scripts open their pages in it rather than each starting
// a browser.
func TestMain(m *testing.M) {
	stop := browsertest.Shared()
	code := m.Run()
	stop()
	os.Exit(code)
}
