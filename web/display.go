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
	VoiceTemplate string               `json:"voice_template"`
	Announcement  *displayAnnouncement `json:"announcement,omitempty"`
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
	cfg := displayConfig{hallJS: newHallJS(h, l.Services, l.Counters), VoiceTemplate: h.VoiceTemplate}
	if len(anns) > 0 && anns[0].Text != "" {
		cfg.Announcement = &displayAnnouncement{Text: anns[0].Text, At: anns[0].At.UTC().Format(time.RFC3339Nano)}
	}
	js, ok := s.scriptConfig(w, r, cfg)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "display", "display.title", displayView{Hall: h, Config: js})
}
