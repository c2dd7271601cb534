package api

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/civiq/civiq"
)

// NoStoreIssue is the ticket issue route with nothing behind it: it reads
// and decodes the request as POST /api/v1/halls/{hall}/tickets does and
// answers 201 with a ticket of the same shape, numbered in memory. It
// stores nothing and does not ask who sent it. civiq bench serves it as
// the no-storage HTTP ceiling the durable route is compared with.
func NoStoreIssue() http.Handler {
	mux := http.NewServeMux()
	var n atomic.Int64
	mux.HandleFunc("POST /api/v1/halls/{hall}/tickets", func(w http.ResponseWriter, r *http.Request) {
		var req issueRequest
		body, err := readBody(w, r)
		if err == nil {
			req, err = decodeIssue(body)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		if req.Channel == "" {
			req.Channel = civiq.ChannelKiosk
		}
		now := time.Now()
		place, eta := int(n.Add(1)), 60
		t := &civiq.Ticket{ID: civiq.NewTicketID(), HallID: r.PathValue("hall"), ServiceID: req.ServiceID,
			Number: civiq.FormatNumber("A", place), Day: now.Format(time.DateOnly), Channel: req.Channel,
			Priority: civiq.PriorityNormal, Status: civiq.StatusWaiting, IssuedAt: now, QueuedAt: now,
			Position: &place, ETASeconds: &eta}
		writeJSON(w, http.StatusCreated, ticketAnswer{t})
	})
	return mux
}
