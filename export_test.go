package civiq

import (
	"context"
	"time"
)

// CachedQueue returns the engine's queue picture of a hall, for tests:
// its counters' current tickets and its waiting counts. ok is false when
// no picture is kept.
func (e *Engine) CachedQueue(hallID string) (current map[string]string, waiting, appts map[string]int, ok bool) {
	e.queues.mu.Lock()
	defer e.queues.mu.Unlock()
	p := e.queues.halls[hallID]
	if p == nil {
		return nil, nil, nil, false
	}
	current = map[string]string{}
	for _, c := range p.counters {
		current[c.ID] = c.CurrentTicketID
	}
	return current, p.waiting, p.appts, true
}

// ArgonInUse is how many password checks hold an argon2 slot now.
func (e *Engine) ArgonInUse() int { return len(e.logins.slots) }

// LoginLimits are the sign-in limits, for tests.
const (
	LoginUserFailures = loginUserFailures
	LoginAddrFailures = loginAddrFailures
	LoginLockout      = loginLockout
	ArgonSlots        = argonSlots
)

// SignReceipt signs r with the current key, for tests.
func (k *ReceiptKeys) SignReceipt(r Receipt) (string, error) { return k.sign(&r) }

// EdgeCheckedIn records an edge's check-in event at the city, for tests
// (the up direction calls it for each event it applies).
func (e *Engine) EdgeCheckedIn(ctx context.Context, ev *Event) error {
	return e.update(ctx, func(tx Tx) error { return edgeCheckedIn(tx, ev) })
}

// NoticeID makes a new message's id, for tests.
var NoticeID = noticeID

// SetPrunePause sets the pause between a prune's writes, for tests; the
// function returned sets it back.
func SetPrunePause(d time.Duration) (restore func()) {
	old := prunePause
	prunePause = d
	return func() { prunePause = old }
}

// CachedSettings says which of a hall's settings the engine keeps now:
// the hall with its services, its rating settings, its notifications
// settings.
func (e *Engine) CachedSettings(hallID string) (hall, rating, notify bool) {
	e.settings.mu.Lock()
	defer e.settings.mu.Unlock()
	_, hall = e.settings.halls[hallID]
	_, rating = e.settings.ratings[hallID]
	_, notify = e.settings.notifies[hallID]
	return
}
