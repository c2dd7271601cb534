package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/civiq/civiq"
)

func (s *Site) registerCounter(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/counter/{counter}", s.counterPage)
	mux.HandleFunc("GET /halls/{hall}/rate/{counter}", s.ratePage)
}

// deviceCookie marks a browser paired as a counter device for one counter
// page, so that it is not sent to sign in; the token itself stays in the
// page's localStorage and is never sent as a cookie.
const deviceCookie = "civiq_device"

// counterView is what the counter and rater pages get, also as JSON for
// their scripts.
type counterView struct {
	Hall     civiq.Hall      `json:"-"`
	Counter  civiq.Counter   `json:"-"`
	Services []civiq.Service `json:"-"`
	// Serves are the counter's services in calling order.
	Serves []civiq.Service `json:"-"`
	// Mode is how the page acts: "staff" (signed in), "device" (a paired
	// device's token, or the pairing screen) or "trial" (an admin trying
	// the rater).
	Mode string `json:"-"`
	// Forbidden is set when the signed-in user may not work here.
	Forbidden bool `json:"-"`
	// Reasons are the choices offered with a pause: the catalogue key and
	// the Chinese text kept in records.
	Reasons []reason `json:"-"`
	// RateReasons are the reasons of a bad rating the rater offers.
	RateReasons []reasonChoice `json:"-"`
	// Pick lists the hall's services to transfer to, numbered for keys.
	Pick []pick `json:"-"`
	// Faces are the five levels of 好差评, best first.
	Faces []face `json:"-"`
	// Label names the counter for a citizen (the rater): on an English
	// page "Counter 1" for the demo's 1号窗口 (civiq.Counter.NameIn).
	Label string `json:"-"`
	JS    pageJS `json:"-"`
}

// face is one level of the rating, drawn as an inline SVG face.
type face struct {
	Score                       int
	Key, Fill, Mouth            string
	HappyEyes, OpenMouth, Brows bool
}

// faces are the levels of 好差评 from 非常满意 (5) to 非常不满意 (1).
var faces = []face{
	{Score: 5, Key: "rate.s5", Fill: "#1b7f3b", Mouth: "M27 58 Q50 86 73 58 Z", HappyEyes: true, OpenMouth: true},
	{Score: 4, Key: "rate.s4", Fill: "#4a8f24", Mouth: "M30 60 Q50 78 70 60"},
	{Score: 3, Key: "rate.s3", Fill: "#a86f00", Mouth: "M32 65 Q50 71 68 65"},
	{Score: 2, Key: "rate.s2", Fill: "#c4501c", Mouth: "M32 71 Q50 59 68 71"},
	{Score: 1, Key: "rate.s1", Fill: "#b3261e", Mouth: "M29 75 Q50 54 71 75", Brows: true},
}

type pick struct {
	N                int
	ID, Prefix, Name string
}

type reason struct {
	Key, Record string
}

// pageJS is the page's data for its script.
type pageJS struct {
	Hall     string            `json:"hall"`
	Counter  string            `json:"counter"`
	Name     string            `json:"name"`
	Timezone string            `json:"timezone"`
	Mode     string            `json:"mode"`
	Status   string            `json:"status"`
	Reason   string            `json:"pause_reason"`
	Serves   []string          `json:"serves"`
	Services []serviceJS       `json:"services"`
	Login    string            `json:"login"`
	Records  map[string]string `json:"records"` // catalogue key -> Chinese text for records
	// ProvincePage: the rater opens the province's rating page instead
	// of the faces (civiq's province.go).
	ProvincePage bool `json:"province_page,omitempty"`
}

type serviceJS struct {
	ID     string `json:"id"`
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
}

// loadCounter reads the hall, its services and the counter named in the
// path; ok is false when an answer has been written already.

func (s *Site) loadCounter(w http.ResponseWriter, r *http.Request) (v *counterView, ok bool) {
	v = &counterView{}
	l, err := s.Engine.Layout(r.Context(), r.PathValue("hall"))
	var c *civiq.Counter
	if err == nil {
		c, err = l.Counter(r.PathValue("counter"))
	}
	if err == nil {
		v.Hall, v.Counter, v.Services = *l.Hall, *c, l.Services
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	lang := Lang(w, r)
	byID := map[string]civiq.Service{}
	for _, sv := range v.Services {
		sv.Name = sv.NameIn(lang)
		byID[sv.ID] = sv
		v.JS.Services = append(v.JS.Services, serviceJS{sv.ID, sv.Prefix, sv.Name})
		v.Pick = append(v.Pick, pick{len(v.Pick) + 1, sv.ID, sv.Prefix, sv.Name})
	}
	for _, id := range v.Counter.ServiceIDs {
		if sv, ok := byID[id]; ok {
			v.Serves = append(v.Serves, sv)
		}
	}
	v.JS.Hall, v.JS.Counter, v.JS.Name, v.JS.Timezone = v.Hall.ID, v.Counter.ID, v.Counter.Name, v.Hall.Timezone
	v.JS.Status, v.JS.Reason, v.JS.Serves = v.Counter.Status, v.Counter.PauseReason, v.Counter.ServiceIDs
	v.JS.Login = "/login?next=" + url.QueryEscape(r.URL.Path)
	return v, true
}

// pausePrefix names the catalogue keys of the reasons a counter pauses for.
const pausePrefix = "counter.pause.r"

// reasons lists the pause reasons in order (their keys are numbered:
// counter.pause.r1_lunch, …), with the Chinese text that goes into records
// whatever the page's language.
func (s *Site) reasons(v *counterView) {
	v.JS.Records = s.pauseRecords()
	for _, k := range slices.Sorted(maps.Keys(v.JS.Records)) {
		v.Reasons = append(v.Reasons, reason{k, v.JS.Records[k]})
	}
}

// pauseRecords maps each pause reason's catalogue key to the Chinese text
// a counter's pause_reason keeps: the screens show it in their language
// (CIVIQ.pauseReason).
func (s *Site) pauseRecords() map[string]string {
	recs := map[string]string{}
	for k := range s.catalogs[Languages[0]] {
		if strings.HasPrefix(k, pausePrefix) {
			recs[k] = s.T(Languages[0], k)
		}
	}
	return recs
}

// counterPage is where staff call and serve: signed in staff of the hall,
// or a paired counter device. Anyone else is sent to sign in, unless the
// browser asks for the pairing screen (?device) or was paired here.
func (s *Site) counterPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.loadCounter(w, r)
	if !ok {
		return
	}
	p, _ := s.Principal(r)
	status := http.StatusOK
	switch {
	case p.User != nil:
		v.Mode = "staff"
		if !p.Can(civiq.PermCounterAction, v.Hall.ID, v.Counter.ID) {
			v.Forbidden, status = true, http.StatusForbidden
		}
	default:
		_, err := r.Cookie(deviceCookie)
		if !r.URL.Query().Has("device") && err != nil {
			http.Redirect(w, r, v.JS.Login, http.StatusSeeOther)
			return
		}
		v.Mode = "device"
	}
	v.JS.Mode = v.Mode
	s.reasons(v)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "counter", "counter.title", v)
}

// ratePage is the rating device at a counter: a paired rater, or an admin
// or hall manager trying it out.
func (s *Site) ratePage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.loadCounter(w, r)
	if !ok {
		return
	}
	v.Mode, v.Faces = "device", faces
	v.Label = v.Counter.NameIn(Lang(w, r))
	v.JS.Name = v.Label
	if p, _ := s.Principal(r); p.Can(civiq.PermManageHall, v.Hall.ID, v.Counter.ID) {
		v.Mode = "trial"
	}
	v.JS.Mode = v.Mode
	rs, err := s.reasonChoices(r.Context(), v.Hall.ID, Lang(w, r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.RateReasons = rs
	st, err := s.Engine.HallRatingSettings(r.Context(), v.Hall.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.JS.ProvincePage = st.ProvincePageURL != ""
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "rate", "rate.title", v)
}
