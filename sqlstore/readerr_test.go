package sqlstore

import (
	"path/filepath"
	"testing"

	"github.com/civiq/civiq"
)

// A View's error costs no allocation to sort (readErr): none when there
// is none, and none for the engine's own error.
func TestReadErrAllocates(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "civiq.db"))
	own := civiq.Errorf(civiq.ENotFound, "no such ticket")
	if n := testing.AllocsPerRun(100, func() { _ = s.readErr(nil) }); n != 0 {
		t.Errorf("readErr(nil): %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = s.readErr(own) }); n != 0 {
		t.Errorf("readErr(an engine's error): %v allocations", n)
	}
	if got := s.readErr(own); got != own {
		t.Errorf("readErr(an engine's error) = %v, want it as it was", got)
	}
}
