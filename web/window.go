package web

import (
	"html/template"
	"net/http"

	"github.com/civiq/civiq"
)

func (s *Site) registerWindow(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/window/{counter}", s.windowScreen)
}

// windowConfig is what the window screen's script starts from; afterwards
// it follows GET /api/v1/halls/{hall}/status and the hall's event stream,
// as the display does.
type windowConfig struct {
	Hall     string        `json:"hall"`
	Timezone string        `json:"timezone"`
	Counter  hallCounterJS `json:"counter"`
}

type windowView struct {
	Hall     *civiq.Hall
	HallName string
	Counter  civiq.Counter
	Label    string // the counter's name for people, in the page's language
	Config   template.JS
}

// windowScreen serves the small screen above one counter (窗口屏): the
// counter's name, the number it calls or serves and its state. It is
// public, like the display: numbers only.
func (s *Site) windowScreen(w http.ResponseWriter, r *http.Request) {
	hallID, ctrID := r.PathValue("hall"), r.PathValue("counter")
	l, err := s.Engine.Layout(r.Context(), hallID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var ctr *civiq.Counter
	for i := range l.Counters {
		if l.Counters[i].ID == ctrID {
			ctr = &l.Counters[i]
		}
	}
	if ctr == nil {
		s.fail(w, r, civiq.Errorf(civiq.ENotFound, "no counter %q in hall %q", ctrID, hallID))
		return
	}
	c := ctr.Public()
	cfg := windowConfig{Hall: l.Hall.ID, Timezone: l.Hall.Timezone,
		Counter: hallCounterJS{ID: c.ID, Name: c.Name, Status: c.Status, PauseReason: c.PauseReason}}
	js, ok := s.scriptConfig(w, r, cfg)
	if !ok {
		return
	}
	lang := Lang(w, r)
	s.render(w, r, http.StatusOK, "window", "window.title",
		windowView{Hall: l.Hall, HallName: l.Hall.NameIn(lang), Counter: c, Label: s.kioskCounterLabel(lang, c), Config: js})
}
