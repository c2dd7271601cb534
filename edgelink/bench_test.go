package edgelink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/app"
	"github.com/civiq/civiq/pgtest"
	"github.com/civiq/civiq/postgres"
	"github.com/civiq/civiq/sqlstore"
)

var admin = civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}

// edgeNode is an edge node of the demo hall on a SQLite file, wired as
// civiq serve wires it, not yet linked.
func edgeNode(b *testing.B) *app.App {
	b.Helper()
	store, err := sqlstore.Open(filepath.Join(b.TempDir(), "edge.db"), sqlstore.Options{Synchronous: "FULL"})
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(store, "bench", false)
	if err != nil {
		b.Fatal(err)
	}
	a.Start()
	b.Cleanup(func() { a.Close(); store.Close() })
	if _, err := a.Engine.LoadDemo(context.Background()); err != nil {
		b.Fatal(err)
	}
	return a
}

// backlog writes n events of the demo hall at the edge, as an outage's
// worth of work leaves them: tickets issued, called and done, three
// events each, in transactions of a few thousand.
func backlog(b *testing.B, a *app.App, n int) int64 {
	b.Helper()
	ctx := context.Background()
	services := []struct{ id, prefix string }{{"general", "A"}, {"property", "B"}, {"tax", "C"}, {"social", "D"}}
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	at := time.Now().Add(-time.Hour)
	var last int64
	for i := 0; i < n/3; {
		err := a.Store.Update(ctx, func(tx civiq.Tx) error {
			for j := 0; j < 2000 && i < n/3; j, i = j+1, i+1 {
				s := services[i%4]
				at = at.Add(time.Millisecond)
				t := &civiq.Ticket{ID: civiq.NewTicketID(), HallID: "demo", ServiceID: s.id, Number: fmt.Sprintf("%s%05d", s.prefix, i/4+1),
					Day: day, Channel: civiq.ChannelKiosk, Priority: civiq.PriorityNormal, Status: civiq.StatusWaiting, IssuedAt: at, QueuedAt: at}
				if err := tx.InsertTicket(t); err != nil {
					return err
				}
				ev := &civiq.Event{HallID: "demo", Type: civiq.EventIssued, At: at, Ticket: t}
				if err := tx.AppendEvent(ev); err != nil {
					return err
				}
				for _, st := range []string{civiq.StatusCalled, civiq.StatusDone} {
					c := *t
					c.Status, c.CounterID, c.CallCount = st, "6", 1
					called := at.Add(time.Second)
					c.CalledAt = &called
					typ := civiq.EventCalled
					if st == civiq.StatusDone {
						c.DoneAt, typ = &called, civiq.EventDone
					}
					if err := tx.UpdateTicket(&c); err != nil {
						return err
					}
					ev = &civiq.Event{HallID: "demo", Type: typ, At: at, Ticket: &c}
					if err := tx.AppendEvent(ev); err != nil {
						return err
					}
				}
				last = ev.ID
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return last
}

// BenchmarkEdgeBacklog: an edge holding a backlog of 100,000 events (set
// CIVIQ_EDGE_BACKLOG for another size) is linked to a city on PostgreSQL,
// both wired as civiq serve wires them, over loopback HTTP; it reports
// how long the city took to hold them all, then the time from a call at
// the edge to the city's copy of it (p50 and max of 20 calls). Run it
// once: -benchtime 1x.
func BenchmarkEdgeBacklog(b *testing.B) {
	ctx := context.Background()
	n := 100_000
	if v := os.Getenv("CIVIQ_EDGE_BACKLOG"); v != "" {
		fmt.Sscan(v, &n)
	}
	cityStore, err := postgres.Open(ctx, pgtest.Start(b))
	if err != nil {
		b.Fatal(err)
	}
	city, err := app.New(cityStore, "bench", true)
	if err != nil {
		b.Fatal(err)
	}
	city.Start()
	b.Cleanup(func() { city.Close(); cityStore.Close() })
	if _, err := city.Engine.LoadDemo(ctx); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(city.API)
	b.Cleanup(srv.Close)
	token, _, err := city.Engine.CreateEdgeToken(ctx, admin, "demo", "bench")
	if err != nil {
		b.Fatal(err)
	}

	edge := edgeNode(b)
	last := backlog(b, edge, n)
	cityHolds := func() int64 {
		st, err := city.Engine.NodeStatus(ctx, nil)
		if err != nil || len(st.Edges) == 0 {
			return 0
		}
		return st.Edges[0].LastApplied
	}

	b.ResetTimer()
	start := time.Now()
	if err := edge.SetEdge(ctx, civiq.EdgeConfig{Hall: "demo", CityURL: srv.URL, Token: token}); err != nil {
		b.Fatal(err)
	}
	for cityHolds() < last {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("after 5 minutes the city holds %d of %d", cityHolds(), last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	b.ReportMetric(took.Seconds(), "s/backlog")
	b.ReportMetric(float64(n)/took.Seconds(), "events/s")

	// Steady state: a call at the edge, until the city's copy shows it.
	var lags []time.Duration
	for range 20 {
		t, err := edge.Engine.IssueTicket(ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "tax", Channel: civiq.ChannelKiosk}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := edge.Engine.CallNext(ctx, "demo", "5", nil); err != nil {
			b.Fatal(err)
		}
		called := time.Now()
		for {
			if c, err := city.Engine.Ticket(ctx, t.ID); err == nil && c.Status == civiq.StatusCalled {
				break
			}
			if time.Since(called) > 10*time.Second {
				b.Fatalf("the city never showed the call of %s", t.Number)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lags = append(lags, time.Since(called))
		if _, err := edge.Engine.Act(ctx, civiq.ActRequest{TicketID: t.ID, Action: civiq.ActFinish}, nil); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Milliseconds()), "ms-call-to-city-p50")
	b.ReportMetric(float64(lags[len(lags)-1].Milliseconds()), "ms-call-to-city-max")
}

// BenchmarkEdgeIssue issues tickets as BenchmarkIssueTicket does (16
// goroutines per CPU, SQLite with synchronous=FULL), on a node alone and on
// an edge whose link sends every event up to a stand-in city that
// acknowledges at once: run with -cpu 1 for a small hall machine.
func BenchmarkEdgeIssue(b *testing.B) {
	for _, linked := range []bool{false, true} {
		name := "alone"
		if linked {
			name = "edge"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			a := edgeNode(b)
			if linked {
				srv := httptest.NewServer(&standIn{})
				b.Cleanup(srv.Close)
				if err := a.SetEdge(ctx, civiq.EdgeConfig{Hall: "demo", CityURL: srv.URL, Token: "edge_bench"}); err != nil {
					b.Fatal(err)
				}
			}
			services := []string{"general", "property", "tax", "social"}
			var n atomic.Uint64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					req := civiq.IssueRequest{HallID: "demo", ServiceID: services[i%4], Channel: civiq.ChannelKiosk}
					if _, err := a.Engine.IssueTicket(ctx, req, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// standIn is a city that acknowledges every upload at once, answers a
// hello with the last event it acknowledged, and holds the edge's poll of
// its requests open as the city does (with none to give): a poll answered
// at once would have the edge poll without pause, which is no city's
// load.
type standIn struct{ last atomic.Int64 }

func (c *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		if strings.HasSuffix(r.URL.Path, "/edge/requests") {
			select {
			case <-r.Context().Done():
			case <-time.After(civiq.EdgePollWait):
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"requests":[]}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"cursor":"stand-in"}`)) // the configuration: unchanged
		return
	}
	var up civiq.EdgeUpload
	json.NewDecoder(r.Body).Decode(&up)
	if len(up.Events) > 0 {
		c.last.Store(max(c.last.Load(), up.Events[len(up.Events)-1].ID))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(civiq.EdgeAck{LastApplied: c.last.Load()})
}
