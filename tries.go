package civiq

import (
	"container/list"
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

// The counts are bounded however many made-up keys arrive. A key still
// short of the lock is forgotten first, the one tried longest ago first;
// a locked key is kept until its wait ends. Only when maxLockedKeys keys
// are locked at once (5 million wrong tries within the window) is the
// oldest lock forgotten.
const (
	maxCountedKeys = 100_000
	maxLockedKeys  = 1_000_000
)

// wrongTries counts the wrong tries per key within wrongTriesWindow.
type wrongTries struct {
	mu   sync.Mutex
	keys map[string]*tryCount
	// counting holds the keys short of the lock, locked the locked ones,
	// each oldest first.
	counting, locked list.List
}

// tryCount is one key's wrong tries within the window (at most
// maxWrongTries, oldest first) and its place in one of the two lists.
type tryCount struct {
	key    string
	times  []time.Time
	el     *list.Element
	locked bool
}

// blocked reports whether key has had maxWrongTries wrong tries lately.
// It reads the clock only for a key with wrong tries.
func (w *wrongTries) blocked(key string, clock func() time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.keys[key]
	if c == nil {
		return false
	}
	now := clock()
	w.prune(c, now)
	return len(c.times) >= maxWrongTries
}

// failed counts a wrong try at key.
func (w *wrongTries) failed(key string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.keys == nil {
		w.keys = map[string]*tryCount{}
	}
	c := w.keys[key]
	if c == nil {
		c = &tryCount{key: key}
		w.keys[key] = c
		c.el = w.counting.PushBack(c)
	}
	c.times = append(c.times, now)
	if n := len(c.times); n > maxWrongTries {
		c.times = append(c.times[:0], c.times[n-maxWrongTries:]...)
	}
	w.prune(c, now)
	if !c.locked {
		w.counting.MoveToBack(c.el)
	}
	w.evict(now)
}

// prune drops c's tries older than the window and moves c between the
// lists when its lock begins or ends; a key with no tries left is
// forgotten.
func (w *wrongTries) prune(c *tryCount, now time.Time) {
	kept := c.times[:0]
	for _, t := range c.times {
		if now.Sub(t) < wrongTriesWindow {
			kept = append(kept, t)
		}
	}
	c.times = kept
	switch {
	case len(kept) == 0:
		w.forget(c)
	case len(kept) >= maxWrongTries && !c.locked:
		w.counting.Remove(c.el)
		c.el, c.locked = w.locked.PushBack(c), true
	case len(kept) < maxWrongTries && c.locked:
		w.locked.Remove(c.el)
		c.el, c.locked = w.counting.PushBack(c), false
	}
}

// list is the list c is in.
func (w *wrongTries) list(c *tryCount) *list.List {
	if c.locked {
		return &w.locked
	}
	return &w.counting
}

func (w *wrongTries) forget(c *tryCount) {
	w.list(c).Remove(c.el)
	delete(w.keys, c.key)
}

// evict keeps both lists within their bounds: the keys whose tries have
// all passed go first, then the oldest keys still counting, and a lock
// only when maxLockedKeys are locked.
func (w *wrongTries) evict(now time.Time) {
	for _, l := range []*list.List{&w.counting, &w.locked} {
		for e := l.Front(); e != nil; e = l.Front() {
			c := e.Value.(*tryCount)
			if now.Sub(c.times[len(c.times)-1]) < wrongTriesWindow {
				break
			}
			w.forget(c)
		}
	}
	for w.counting.Len() > maxCountedKeys {
		w.forget(w.counting.Front().Value.(*tryCount))
	}
	for w.locked.Len() > maxLockedKeys {
		w.forget(w.locked.Front().Value.(*tryCount))
	}
}
