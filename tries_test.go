package civiq

import (
	"fmt"
	"testing"
	"time"
)

// A flood of made-up numbers does not lift a lock, and the counts stay
// bounded (issue 18: 100,001 made-up numbers cleared every lock).
func TestWrongTriesFloodKeepsLocks(t *testing.T) {
	var w wrongTries
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	for i := 0; i < maxWrongTries; i++ {
		w.failed("20260302000001", now)
	}
	w.failed("20260302000002", now) // one wrong try, not locked
	if !w.blocked("20260302000001", clock) {
		t.Fatal("not locked after 5 wrong tries")
	}
	for i := 0; i < maxCountedKeys+1; i++ {
		now = now.Add(time.Millisecond)
		w.failed(fmt.Sprintf("9%013d", i), now)
	}
	if !w.blocked("20260302000001", clock) {
		t.Fatal("the lock was forgotten in a flood of made-up numbers")
	}
	if n := w.counting.Len(); n > maxCountedKeys {
		t.Fatalf("%d keys counted, bound %d", n, maxCountedKeys)
	}
	if len(w.keys) != w.counting.Len()+w.locked.Len() {
		t.Fatalf("map %d, lists %d+%d", len(w.keys), w.counting.Len(), w.locked.Len())
	}
	if _, ok := w.keys["20260302000002"]; ok {
		t.Fatal("the oldest key short of the lock was kept over newer ones")
	}
}

func TestWrongTriesWindow(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		tries []time.Duration // minutes after start
		at    time.Duration
		want  bool
	}{
		{"none", nil, 0, false},
		{"four", []time.Duration{0, 1, 2, 3}, 4 * time.Minute, false},
		{"five", []time.Duration{0, 1, 2, 3, 4}, 5 * time.Minute, true},
		{"five, first one past", []time.Duration{0, 1, 2, 3, 4}, 15*time.Minute + 30*time.Second, false},
		{"six, first one past", []time.Duration{0, 1, 2, 3, 4, 5}, 15*time.Minute + 30*time.Second, true},
		{"all past", []time.Duration{0, 1, 2, 3, 4}, time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w wrongTries
			for _, d := range tc.tries {
				w.failed("k", start.Add(d*time.Minute))
			}
			at := start.Add(tc.at)
			if got := w.blocked("k", func() time.Time { return at }); got != tc.want {
				t.Fatalf("blocked = %v, want %v", got, tc.want)
			}
			if !tc.want && w.locked.Len() > 0 {
				t.Fatal("a key no longer locked stays in the locked list")
			}
		})
	}
}

// Keys whose tries have all passed are forgotten as new ones arrive.
func TestWrongTriesForgetPassed(t *testing.T) {
	var w wrongTries
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := 0; i < maxWrongTries; i++ {
		w.failed("locked", now)
	}
	w.failed("one", now)
	w.failed("new", now.Add(wrongTriesWindow+time.Second))
	if len(w.keys) != 1 || w.counting.Len() != 1 || w.locked.Len() != 0 {
		t.Fatalf("kept %d keys (%d counting, %d locked), want only the new one", len(w.keys), w.counting.Len(), w.locked.Len())
	}
}
