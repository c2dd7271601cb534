package web

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"

	"github.com/civiq/civiq"
)

func (s *Site) registerDashboard(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/dashboard", s.dashboardPage)
}

// hallJS is a hall's names and services as the managers' pages' scripts
// take them.
type hallJS struct {
	Hall     string          `json:"hall"`
	Name     string          `json:"name"`
	NameEn   string          `json:"name_en,omitempty"`
	Timezone string          `json:"timezone"`
	Services []hallServiceJS `json:"services"`
	Counters []hallCounterJS `json:"counters"`
	// Target is the dashboard's "called within" target in minutes.
	Target int `json:"target,omitempty"`
	// Pauses are the pause reasons' records by catalogue key (pauseRecords),
	// for the screens that show a paused counter's reason in their language:
	// the display and the dashboard.
	Pauses map[string]string `json:"pauses,omitempty"`
}

type hallServiceJS struct {
	ID     string `json:"id"`
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
	NameEn string `json:"name_en,omitempty"`
}

type hallCounterJS struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status,omitempty"`
	PauseReason string `json:"pause_reason,omitempty"`
	Staffed     bool   `json:"staffed,omitempty"` // Counter.Staffed
}

// newHallJS is a hall as a page's script takes it: the display and the
// managers' pages start from it.
func newHallJS(h *civiq.Hall, svcs []civiq.Service, counters []civiq.Counter) hallJS {
	cfg := hallJS{Hall: h.ID, Name: h.Name, NameEn: h.NameEn, Timezone: h.Timezone,
		Services: make([]hallServiceJS, 0, len(svcs)), Counters: make([]hallCounterJS, 0, len(counters))}
	for _, sv := range svcs {
		cfg.Services = append(cfg.Services, hallServiceJS{ID: sv.ID, Prefix: sv.Prefix, Name: sv.Name, NameEn: sv.NameEn})
	}
	for _, c := range counters {
		cfg.Counters = append(cfg.Counters, newHallCounterJS(c))
	}
	return cfg
}

// newHallCounterJS is a counter as a page's script takes it.
func newHallCounterJS(c civiq.Counter) hallCounterJS {
	return hallCounterJS{ID: c.ID, Name: c.Name, Status: c.Status, PauseReason: c.PauseReason, Staffed: c.Staffed}
}

// managerView is what the dashboard and planner templates get.
type managerView struct {
	Hall   *civiq.Hall
	Name   string // in the page's language
	Config template.JS
	// Targets are the choices of the dashboard's target, in minutes.
	Targets []int
	Target  int
	// City is whether the user may open the city overview.
	City bool
}

// scriptConfig is v as JSON for a page's script. When that fails it
// answers 500 and ok is false.
func (s *Site) scriptConfig(w http.ResponseWriter, r *http.Request, v any) (js template.JS, ok bool) {
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(w, r, err)
		return "", false
	}
	return template.JS(b), true
}

// managerGate lets through whoever may watch the hall (PermDashboard); it
// sends nobody to sign in, and answers 404 for an unknown hall and 403 for
// a user who may not. It returns the hall with its services and counters;
// ok is false when an answer has been written.
func (s *Site) managerGate(w http.ResponseWriter, r *http.Request) (p civiq.Principal, cfg *hallJS, h *civiq.Hall, ok bool) {
	return s.managerGateFor(w, r, civiq.PermDashboard)
}

// managerGateFor is managerGate for the pages of another managers'
// permission (PermFollowUp: the 好差评 desk).
func (s *Site) managerGateFor(w http.ResponseWriter, r *http.Request, perm civiq.Permission) (p civiq.Principal, cfg *hallJS, h *civiq.Hall, ok bool) {
	if p, ok = s.signedIn(w, r); !ok {
		return p, nil, nil, false
	}
	hallID := r.PathValue("hall")
	l, err := s.Engine.Layout(r.Context(), hallID)
	if err != nil {
		s.fail(w, r, err)
		return p, nil, nil, false
	}
	h = l.Hall
	if !p.Can(perm, h.ID, "") {
		s.render(w, r, http.StatusForbidden, "dashboard_forbidden", "dashboard.forbidden.title", nil)
		return p, nil, nil, false
	}
	js := newHallJS(h, l.Services, l.Counters)
	return p, &js, h, true
}

// managerPage is the opening of a managers' page drawn by its script from
// the hall alone (the planner, the reports): managerGate, then the hall
// as the script's configuration. ok is false when an answer has been
// written.
func (s *Site) managerPage(w http.ResponseWriter, r *http.Request) (v managerView, ok bool) {
	_, cfg, h, ok := s.managerGate(w, r)
	if !ok {
		return v, false
	}
	js, ok := s.scriptConfig(w, r, cfg)
	if !ok {
		return v, false
	}
	return managerView{Hall: h, Name: h.NameIn(Lang(w, r)), Config: js}, true
}

// dashboardTargets are the targets the dashboard offers, in minutes.
var dashboardTargets = []int{5, 10, 15, 20, 30, 45, 60}

// dashboardPage is the live dashboard of a hall for its managers: it
// starts from GET /api/v1/halls/{hall}/dashboard and fetches it again,
// gathered, whenever the hall's event stream says something changed.
func (s *Site) dashboardPage(w http.ResponseWriter, r *http.Request) {
	p, cfg, h, ok := s.managerGate(w, r)
	if !ok {
		return
	}
	cfg.Target, cfg.Pauses = 15, s.pauseRecords()
	if v := r.URL.Query().Get("target"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 240 {
			cfg.Target = n
		}
	}
	js, ok := s.scriptConfig(w, r, cfg)
	if !ok {
		return
	}
	v := managerView{Hall: h, Name: h.NameIn(Lang(w, r)), Config: js, Targets: dashboardTargets, Target: cfg.Target,
		City: p.Can(civiq.PermDashboard, "", "") || len(p.User.HallIDs) > 1}
	if !containsInt(v.Targets, cfg.Target) {
		v.Targets = append([]int{cfg.Target}, v.Targets...)
	}
	s.render(w, r, http.StatusOK, "dashboard", "dashboard.title", v)
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
