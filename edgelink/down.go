package edgelink

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/civiq/civiq"
)

// PullEvery is how often the edge asks the city for its hall's
// configuration: a change on the city is in force at the edge within
// this, and the time of one request, while the link is up.
const PullEvery = 2 * time.Second

// Down is the edge's down direction: it pulls the city's configuration of
// the hall (civiq's edgedown.go) and takes the city's requests that touch
// the hall's live work by a long poll (edgerelay.go), doing each with the
// edge's engine.
type Down struct {
	Engine *civiq.Engine
	Client *Client
}

// Sync pulls the hall's configuration once and applies it when it
// changed; it reports whether it did.
func (d *Down) Sync(ctx context.Context) (bool, error) {
	hall := d.Client.Hall
	cursor := ""
	st, err := d.Engine.EdgePull(ctx, hall)
	switch {
	case err == nil:
		cursor = st.Cursor
	case !civiq.IsNotFound(err):
		return false, err
	}
	var p civiq.ConfigPull
	if err := d.Client.Do(ctx, http.MethodGet, d.Client.HallPath("/edge/config?after="+url.QueryEscape(cursor)), nil, &p); err != nil {
		return false, err
	}
	applied, err := d.Engine.ApplyConfig(ctx, hall, &p)
	if err != nil {
		return false, err
	}
	if applied {
		d.Client.Pulled(time.Now())
	}
	return applied, nil
}

// Start loads what the edge pulled before (the city's keys, the time of
// the last change) and runs both loops until ctx ends.
func (d *Down) Start(ctx context.Context) error {
	if err := d.Engine.LoadCityKeys(ctx, d.Client.Hall); err != nil {
		return err
	}
	if st, err := d.Engine.EdgePull(ctx, d.Client.Hall); err == nil {
		d.Client.Pulled(st.PulledAt)
	}
	go d.pullLoop(ctx)
	go d.requestLoop(ctx)
	return nil
}

func (d *Down) pullLoop(ctx context.Context) {
	t := time.NewTicker(PullEvery)
	defer t.Stop()
	for {
		if _, err := d.Sync(ctx); err != nil && ctx.Err() == nil && civiq.ErrorCode(err) != civiq.EUnavailable {
			slog.Warn("edge: pull the city's configuration", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// requestLoop holds a long poll open to the city and does each request
// that comes; after a failed poll it waits a second, and after an empty
// one the city answered at once (a city that does not hold polls) the rest
// of a second, so that the edge never polls without pause.
func (d *Down) requestLoop(ctx context.Context) {
	wait := int(civiq.EdgePollWait / time.Second)
	path := d.Client.HallPath("/edge/requests?wait=" + strconv.Itoa(wait))
	for ctx.Err() == nil {
		var out struct {
			Requests []*civiq.EdgeRequest `json:"requests"`
		}
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, civiq.EdgePollWait+10*time.Second)
		err := d.Client.Do(pctx, http.MethodGet, path, nil, &out)
		cancel()
		if err == nil && len(out.Requests) == 0 && time.Since(start) < time.Second {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second - time.Since(start)):
			}
			continue
		}
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, r := range out.Requests {
			d.do(ctx, r)
		}
	}
}

// do does one request and answers it; a ticket nobody waits for any more
// is cancelled.
func (d *Down) do(ctx context.Context, r *civiq.EdgeRequest) {
	if r.HallID != d.Client.Hall {
		return
	}
	a := d.Engine.DoEdgeRequest(ctx, r)
	var ans struct {
		Wanted bool `json:"wanted"`
	}
	path := d.Client.HallPath("/edge/requests/" + strconv.FormatInt(r.ID, 10) + "/answer")
	if err := d.Client.Do(ctx, http.MethodPost, path, a, &ans); err != nil {
		return // taken again later: the edge gives the same answer
	}
	if !ans.Wanted && a.Ticket != nil {
		if err := d.Engine.UnwantedTicket(ctx, a.Ticket); err != nil {
			slog.Warn("edge: cancel a remote ticket no one waits for", "err", err)
		}
	}
}
