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
	// Pauses: as the display's (hallJS.Pauses).
	Pauses map[string]string `json:"pauses"`
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
	l, err := s.Engine.Layout(r.Context(), r.PathValue("hall"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctr, err := l.Counter(r.PathValue("counter"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c := ctr.Public()
	cfg := windowConfig{Hall: l.Hall.ID, Timezone: l.Hall.Timezone, Counter: newHallCounterJS(c), Pauses: s.pauseRecords()}
	js, ok := s.scriptConfig(w, r, cfg)
	if !ok {
		return
	}
	lang := Lang(w, r)
	s.render(w, r, http.StatusOK, "window", "window.title",
		windowView{Hall: l.Hall, HallName: l.Hall.NameIn(lang), Counter: c, Label: c.NameIn(lang), Config: js})
}
