package web

import (
	"html/template"
	"net/http"
	"time"

	"github.com/civiq/civiq"
)

func (s *Site) registerDisplay(mux *http.ServeMux) {
	mux.HandleFunc("GET /halls/{hall}/display", s.display)
}

// displayConfig is what the display's script starts from; afterwards it
// follows GET /api/v1/halls/{hall}/status and the hall's event stream.
type displayConfig struct {
	hallJS
	VoiceTemplate string `json:"voice_template"`
	// Only lists the counters this screen shows (?counters=); empty is
	// every counter of the hall.
	Only         []string             `json:"only,omitempty"`
	Announcement *displayAnnouncement `json:"announcement,omitempty"`
}

type displayAnnouncement struct {
	Text string `json:"text"`
	At   string `json:"at"`
}

// displayView is the template's data.
type displayView struct {
	Hall   *civiq.Hall
	Config template.JS
}

// display serves the hall's big screen. It is public: it shows ticket
// numbers only, never a name or a phone.
func (s *Site) display(w http.ResponseWriter, r *http.Request) {
	hallID := r.PathValue("hall")
	l, err := s.Engine.Layout(r.Context(), hallID)
	var anns []civiq.Announcement
	if err == nil {
		anns, err = s.Engine.Announcements(r.Context(), hallID, 1)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := l.Hall
	counters := l.Counters
	var only []string
	if q := r.URL.Query(); q.Has("counters") {
		set, err := parseCounterSet(q.Get("counters"))
		if err == nil {
			counters = set.Filter(counters)
			if len(counters) == 0 {
				err = civiq.FieldErrorf("counters", "no counter of the hall is in %q", q.Get("counters"))
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		only = make([]string, 0, len(counters))
		for _, c := range counters {
			only = append(only, c.ID)
		}
	}
	cfg := displayConfig{hallJS: newHallJS(h, l.Services, counters), VoiceTemplate: h.VoiceTemplate, Only: only}
	cfg.Pauses = s.pauseRecords()
	if len(anns) > 0 && anns[0].Text != "" {
		cfg.Announcement = &displayAnnouncement{Text: anns[0].Text, At: anns[0].At.UTC().Format(time.RFC3339Nano)}
	}
	js, ok := s.scriptConfig(w, r, cfg)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "display", "display.title", displayView{Hall: h, Config: js})
}
