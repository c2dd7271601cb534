package civiq

import (
	"sync"
	"time"
)

// authTTL is how long a token, once checked, is trusted without asking the
// store again. Signing out drops it at once on this node; other nodes trust
// it at most this much longer.
const authTTL = 10 * time.Second

// authCache remembers recently checked tokens by their hash, so that a busy
// kiosk or counter does not cost a read per request.
type authCache struct {
	mu sync.Mutex
	m  map[string]authEntry
}

type authEntry struct {
	p     Principal
	sess  *Session
	until time.Time
}

func (c *authCache) get(hash string, now time.Time) (authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || now.After(e.until) || (e.sess != nil && now.After(e.sess.ExpiresAt)) {
		return authEntry{}, false
	}
	return e, true
}

func (c *authCache) put(hash string, p Principal, sess *Session, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]authEntry{} // crude bound: start again
	}
	c.m[hash] = authEntry{p: p, sess: sess, until: now.Add(authTTL)}
}

func (c *authCache) drop(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, hash)
}
