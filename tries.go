package civiq

import (
	"sync"
	"time"
)

// Short secrets (the last 4 characters of an ID number or phone) guard a
// case's progress and a booking. They would be guessed in 10,000 tries, so
// each case number or booking code gets a few wrong tries, then waits.
// The counts are kept per node.
const (
	maxWrongTries    = 5
	wrongTriesWindow = 15 * time.Minute
)

// wrongTries counts the wrong tries per key within wrongTriesWindow.
type wrongTries struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

// blocked reports whether key has had maxWrongTries wrong tries lately.
// It reads the clock only for a key with wrong tries.
func (w *wrongTries) blocked(key string, clock func() time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	ts := w.fails[key]
	if len(ts) == 0 {
		return false
	}
	now := clock()
	kept := ts[:0]
	for _, t := range ts {
		if now.Sub(t) < wrongTriesWindow {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(w.fails, key)
	} else {
		w.fails[key] = kept
	}
	return len(kept) >= maxWrongTries
}

// failed counts a wrong try at key.
func (w *wrongTries) failed(key string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fails == nil || len(w.fails) > 100000 { // a flood of made-up keys: start again
		w.fails = map[string][]time.Time{}
	}
	w.fails[key] = append(w.fails[key], now)
}
