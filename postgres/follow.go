package postgres

import (
	"context"
	"log/slog"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sqlstore"
	"github.com/jackc/pgx/v5"
)

// followBatch is how many events one read takes.
const followBatch = 1000

// Follow hands every event committed by any node to publish, in id order,
// starting after the event id after. It listens on the NOTIFY channel and
// reads the events table when woken, and at least every second besides, so
// a notification lost while reconnecting delays events but never drops
// them. It also hands settings, when not nil, the hall of each notice that
// a hall's settings changed (Tx.SettingsChanged); a notice lost that way
// is made up for by the engine's caches expiring within a second. It
// returns when ctx ends.
func Follow(ctx context.Context, url string, store *sqlstore.Store, after int64, publish func([]*civiq.Event), settings func(hallID string)) {
	last := after
	catchUp := func() bool {
		for {
			evs, err := store.AllEventsAfter(ctx, last, followBatch)
			if err != nil {
				return false
			}
			if len(evs) > 0 {
				publish(evs)
				last = evs[len(evs)-1].ID
			}
			if len(evs) < followBatch {
				return true
			}
		}
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+channel)
		}
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+settingsChannel)
		}
		if err != nil {
			if conn != nil {
				conn.Close(context.Background())
			}
			slog.Debug("postgres follow: connect", "err", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		catchUp()
		for ctx.Err() == nil {
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			if err == nil && n.Channel == settingsChannel {
				if settings != nil {
					settings(n.Payload)
				}
				continue
			}
			if ctx.Err() != nil {
				break
			}
			if err != nil && wctx.Err() == nil {
				break // the connection failed: connect again
			}
			if err != nil && conn.IsClosed() {
				break
			}
			catchUp()
		}
		conn.Close(context.Background())
	}
}
