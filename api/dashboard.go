package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civiq/civiq"
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

// plan answers the staffing plan (api/plan.go) of the hall's history
// (GET, ?source=history, the default, over ?days=), of the built-in
// example day (GET ?source=example) or of a profile sent as the body
// (POST). ?target_minutes= (default the profile's, else 15), ?goal=
// (0.5..0.99, default 0.8), ?seed= and ?sim_days= tune it; ?format=csv
// gives the table as a CSV file.
func (s *Server) plan(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return civiq.FieldErrorf("format", "format must be json or csv")
	}
	hallID := r.PathValue("hall")
	var (
		p        *sim.Profile
		source   string
		from, to string
		days     int
		svcs     []civiq.Service
	)
	// readServices reads the hall's services, for the CSV's headings.
	readServices := func() (err error) {
		svcs, err = s.Engine.Services(r.Context(), hallID)
		return err
	}
	if r.Method == http.MethodPost {
		if len(bytes.TrimSpace(c.body)) == 0 {
			return civiq.FieldErrorf("profile", "send the profile as the request body")
		}
		var err error
		if p, err = sim.ReadProfile(bytes.NewReader(c.body)); err != nil {
			return civiq.FieldErrorf("profile", "%s", strings.TrimPrefix(err.Error(), "profile: "))
		}
		source = "profile"
		if err := readServices(); err != nil {
			return err
		}
	} else {
		switch source = q.Get("source"); source {
		case "", "history":
			source = "history"
			n, err := intParam(q, "days", 28, 1, civiq.MaxPlanDays)
			if err != nil {
				return err
			}
			hist, err := s.Engine.History(r.Context(), hallID, n)
			if err != nil {
				return err
			}
			svcs, from, to = hist.Services, hist.From, hist.To
			seen := map[string]bool{}
			for _, t := range hist.Tickets {
				seen[t.Day] = true
			}
			days = len(seen)
			if len(hist.Tickets) == 0 {
				return &civiq.Error{Code: civiq.EConflict, Field: "days",
					Message: fmt.Sprintf("the hall has no ticket from %s to %s: plan from a profile instead", from, to)}
			}
			if p, err = sim.ProfileFromHistory(hist.Hall, hist.Services, hist.Counters, hist.Tickets, sim.HistoryOptions{}); err != nil {
				return civiq.Errorf(civiq.EConflict, "the hall's history makes no profile: %s", err)
			}
		case "example":
			p = sim.DemoProfile()
			if err := readServices(); err != nil {
				return err
			}
		default:
			return civiq.FieldErrorf("source", "source must be history or example (or POST a profile)")
		}
	}
	o := planOptions{Target: p.TargetMinutes * 60, Goal: defaultPlanGoal, Seed: 1, SimDays: defaultPlanSimDays}
	if o.Target <= 0 {
		o.Target = sim.DefaultTarget
	}
	if v := q.Get("target_minutes"); v != "" {
		m, err := strconv.ParseFloat(v, 64)
		if err != nil || !(m >= 1 && m <= 240) {
			return civiq.FieldErrorf("target_minutes", "target_minutes must be 1..240")
		}
		o.Target = m * 60
	}
	if v := q.Get("goal"); v != "" {
		g, err := strconv.ParseFloat(v, 64)
		if err != nil || !(g >= 0.5 && g <= 0.99) {
			return civiq.FieldErrorf("goal", "goal must be a share from 0.5 to 0.99")
		}
		o.Goal = g
	}
	if v := q.Get("seed"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return civiq.FieldErrorf("seed", "seed must be a whole number")
		}
		o.Seed = n
	}
	var err error
	if o.SimDays, err = intParam(q, "sim_days", defaultPlanSimDays, 1, maxPlanSimDays); err != nil {
		return err
	}
	plan, err := makePlan(p, o)
	if err != nil {
		return civiq.FieldErrorf("profile", "%s", err)
	}
	plan.Source, plan.HistoryFrom, plan.HistoryTo, plan.HistoryDays = source, from, to, days
	w.Header().Set("Cache-Control", "no-store")
	if format != "csv" {
		writeJSON(w, http.StatusOK, plan)
		return nil
	}
	en := q.Get("lang") == "en"
	names := map[string]string{}
	for _, sv := range svcs {
		names[sv.ID] = sv.Name
		if en && sv.NameEn != "" {
			names[sv.ID] = sv.NameEn
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="staffing-%s-%g-%gmin.csv"`, hallID, math100(o.Goal), o.Target/60))
	w.WriteHeader(http.StatusOK)
	return writePlanCSV(w, plan, names, en)
}

func math100(g float64) float64 { return float64(int(g*100 + 0.5)) }

// intParam reads a whole number from the query, def when absent.
func intParam(q map[string][]string, name string, def, lo, hi int) (int, error) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, civiq.FieldErrorf(name, "%s must be %d..%d", name, lo, hi)
	}
	return n, nil
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

	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // streams outlive the server's write timeout
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	bw.WriteString("retry: 2000\n: connected\n\n")
	if flush() != nil {
		return nil
	}
	tick := time.NewTicker(s.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-wake:
			// Gather what else changes in a moment, then tell it at once.
			select {
			case <-time.After(cityCoalesce):
			case <-r.Context().Done():
				return nil
			case <-s.quit:
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
			bw.WriteString("event: halls\ndata: ")
			bw.Write(data)
			bw.WriteString("\n\n")
			if flush() != nil {
				return nil
			}
		case <-tick.C:
			bw.WriteString(": ping\n\n")
			if flush() != nil {
				return nil
			}
		case <-r.Context().Done():
			return nil
		case <-s.quit:
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
