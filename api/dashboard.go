package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/csvfile"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/sim"
)

// dashboardRoutes adds the read-only routes of the managers' pages: the
// live dashboard of a hall, the staffing planner and the city overview
// (dashboard.go, api/plan.go).
func (s *Server) dashboardRoutes() {
	s.handle("GET /api/v1/halls/{hall}/dashboard", need(civiq.PermDashboard), s.dashboard)
	s.handle("GET /api/v1/halls/{hall}/plan", need(civiq.PermDashboard), s.plan)
	s.handle("POST /api/v1/halls/{hall}/plan", need(civiq.PermDashboard), s.plan) // the body is a profile; nothing is stored
	s.handle("GET /api/v1/city", signed, s.city)
	s.handle("GET /api/v1/city/events", signed, s.cityEvents)
}

// dashboard answers the hall's live figures (civiq.Dashboard), counting
// "called within target" against ?target_minutes= (default 15).
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, c *call) error {
	target, err := civiq.ParseDashboardTarget(r.URL.Query().Get("target_minutes"))
	if err != nil {
		return err
	}
	d, err := s.Engine.Dashboard(r.Context(), r.PathValue("hall"), target)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, d)
	return nil
}

// plan answers the staffing plan of the hall's history (GET,
// ?source=history, the default, over ?days=), of the built-in example day
// (GET ?source=example) or of a profile sent as the body (POST), planned
// by sim.PlanHall under the request's context. ?target_minutes=, ?goal=,
// ?seed= and ?sim_days= tune it; ?format=csv gives the table as a CSV
// file, headed in ?lang= (zh or en).
func (s *Server) plan(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return civiq.FieldErrorf("format", "format must be json or csv")
	}
	// Values that do not read, and zeros (which PlanHall takes for "not
	// given"), are passed on out of range (NaN, -1) for sim.PlanHall to
	// refuse with its message.
	number := func(name string) float64 {
		if v := q.Get(name); v != "" {
			if x, err := strconv.ParseFloat(v, 64); err == nil && x != 0 {
				return x
			}
			return math.NaN()
		}
		return 0
	}
	whole := func(name string) int {
		if v := q.Get(name); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n != 0 {
				return n
			}
			return -1
		}
		return 0
	}
	req := sim.PlanRequest{HallID: r.PathValue("hall"), Source: q.Get("source"), HistoryDays: whole("days"),
		TargetMinutes: number("target_minutes"), Goal: number("goal"), SimDays: whole("sim_days")}
	if r.Method == http.MethodPost {
		req.Source, req.Profile = sim.SourceProfile, c.body
	} else if req.Source == sim.SourceProfile {
		return civiq.FieldErrorf("source", "source must be history or example (or POST a profile)")
	}
	if v := q.Get("seed"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return civiq.FieldErrorf("seed", "seed must be a whole number")
		}
		req.Seed = &n
	}
	plan, err := sim.PlanHall(r.Context(), s.Engine, req)
	if err != nil && r.Context().Err() != nil {
		// The client left and the planning stopped: nobody reads an answer.
		slog.InfoContext(r.Context(), "staffing plan stopped: the client left", "request_id", requestID(r.Context()), "hall", req.HallID)
		return nil
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if format != "csv" {
		writeJSON(w, http.StatusOK, plan)
		return nil
	}
	w.Header().Set("Content-Type", csvfile.ContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="staffing-%s-%g-%gmin.csv"`, req.HallID, math.Round(plan.Goal*100), plan.TargetSeconds/60))
	w.WriteHeader(http.StatusOK)
	return plan.WriteCSV(w, q.Get("lang"))
}

// city answers the overview of the halls the caller may watch
// (civiq.CityOverview); ?halls=a,b keeps only those.
func (s *Server) city(w http.ResponseWriter, r *http.Request, c *call) error {
	var only []string
	for _, v := range r.URL.Query()["halls"] {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				only = append(only, id)
			}
		}
	}
	if len(only) > 1000 {
		return civiq.FieldErrorf("halls", "at most 1000 halls at once")
	}
	ov, err := s.Engine.City(r.Context(), c.p, only)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, ov)
	return nil
}

// cityCoalesce is how long the city stream gathers the halls that changed
// before it tells them, so a busy city sends a few small messages a second
// rather than one per event.
const cityCoalesce = 300 * time.Millisecond

// cityBuffer is each hall subscription's buffer; the stream drains it at
// once, so it is cut only when this process is overloaded (and then
// subscribes again, telling the hall as changed).
const cityBuffer = 64

// cityEvents is a Server-Sent Events stream that tells which of the halls
// the caller may watch have changed: `event: halls` with data
// {"halls":["a","b"]}, at most about three times a second. It carries no
// ids and nothing to replay: a client fetches GET /api/v1/city when the
// stream opens (or opens again) and then the halls named, so it misses
// nothing. One stream serves a whole city, where one stream per hall would
// run into the browser's limit of six connections per server.
func (s *Server) cityEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	defer s.stream()() // WaitStreams waits for it
	ov, err := s.Engine.City(r.Context(), c.p, nil)
	if err != nil {
		return err
	}
	var (
		mu    sync.Mutex
		dirty = map[string]bool{}
		wake  = make(chan struct{}, 1)
		done  = make(chan struct{})
		wg    sync.WaitGroup
	)
	mark := func(hall string) {
		mu.Lock()
		dirty[hall] = true
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	defer func() {
		close(done)
		wg.Wait()
	}()
	for _, h := range ov.Halls {
		wg.Add(1)
		go s.followHall(h.ID, s.Hub.Subscribe(h.ID, cityBuffer), mark, done, &wg)
	}

	sw, err := startSSE(w, r, s.closed, s.StreamWriteTimeout)
	if err != nil {
		return nil // the client is gone already
	}
	defer sw.close()
	tick := time.NewTicker(s.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-wake:
			// Gather what else changes in a moment, then tell it at once.
			select {
			case <-time.After(cityCoalesce):
			case <-sw.gone:
				return nil
			}
			mu.Lock()
			halls := make([]string, 0, len(dirty))
			for h := range dirty {
				halls = append(halls, h)
			}
			clear(dirty)
			mu.Unlock()
			slices.Sort(halls)
			data, _ := json.Marshal(map[string][]string{"halls": halls})
			sw.event(0, "halls", data)
			if sw.flush() != nil {
				return nil
			}
		case <-tick.C:
			if sw.ping() != nil {
				return nil
			}
		case <-sw.gone:
			return nil
		}
	}
}

// followHall marks the hall as changed on each of its events but
// announcements, until done. A subscription cut for falling behind is
// taken again a moment later, and the hall marked, since events were lost.
func (s *Server) followHall(hall string, sub *inmem.Sub, mark func(string), done <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case e, ok := <-sub.C:
			if !ok {
				mark(hall)
				select {
				case <-done:
					return
				case <-time.After(time.Second):
				}
				sub = s.Hub.Subscribe(hall, cityBuffer)
				continue
			}
			if e.Type != civiq.EventAnnouncement {
				mark(hall)
			}
		case <-done:
			s.Hub.Unsubscribe(sub)
			return
		}
	}
}
