package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/civiq/civiq"
)

// streamBuffer is how many events a stream may fall behind before it is cut.
const streamBuffer = 256

// replayBatch is how many stored events one replay query reads.
const replayBatch = 500

// events streams a hall's events as Server-Sent Events. A client that sends
// Last-Event-ID (or ?last_event_id=) first gets every stored event after it.
// Staff of the hall get the staff view, anyone else the public one; with
// ?view=public everyone gets the public view: a public screen (the
// display, a kiosk) opened where staff are signed in carries no ticket id.
func (s *Server) events(w http.ResponseWriter, r *http.Request, c *call) error {
	defer s.stream()() // WaitStreams waits for it
	hallID := r.PathValue("hall")
	if _, err := s.Engine.Hall(r.Context(), hallID); err != nil {
		return err
	}
	query := r.URL.Query()
	var last int64 = -1
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = query.Get("last_event_id")
	}
	if lastID != "" {
		n, err := strconv.ParseInt(lastID, 10, 64)
		if err != nil || n < 0 {
			return civiq.FieldErrorf("Last-Event-ID", "Last-Event-ID must be a non-negative event id")
		}
		last = n
	}
	public := false
	for _, v := range query["view"] {
		if v != "public" {
			return civiq.FieldErrorf("view", "view must be public (or left out)")
		}
		public = true
	}
	staff := !public && c.p.Can(civiq.PermStaffView, hallID, "")

	// Subscribe before reading the stored events, so that nothing committed
	// in between is missed; duplicates are skipped by id.
	sub := s.Hub.Subscribe(hallID, streamBuffer)
	defer s.Hub.Unsubscribe(sub)

	sw, err := startSSE(w, r, s.closed, s.StreamWriteTimeout)
	if err != nil {
		return nil // the client is gone already
	}
	defer sw.close()
	send := func(e *civiq.Event) {
		sw.frame(e.Frame(staff, sseFrame))
		last = e.ID
	}

	if last >= 0 {
		for {
			// The stream's context: once the server closes (or the
			// client leaves), no more reads of the store.
			evs, err := s.Engine.EventsAfter(sw.ctx, hallID, last, replayBatch)
			if err != nil {
				return nil // the stream has begun (or ended): the client reconnects
			}
			for _, e := range evs {
				send(e)
			}
			if err := sw.flush(); err != nil {
				return nil
			}
			if len(evs) < replayBatch {
				break
			}
		}
	}

	tick := time.NewTicker(s.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-sub.C:
			if !ok {
				return nil // fell behind: cut, comes back with Last-Event-ID
			}
			if e.ID <= last {
				continue
			}
			send(e)
			// Send what else is already here in the same write.
			for more := true; more; {
				select {
				case e, ok := <-sub.C:
					if !ok {
						sw.flush()
						return nil
					}
					if e.ID > last {
						send(e)
					}
				default:
					more = false
				}
			}
			if err := sw.flush(); err != nil {
				return nil
			}
		case <-tick.C:
			if err := sw.ping(); err != nil {
				return nil
			}
		case <-sw.gone:
			return nil
		}
	}
}
