package web

import (
	"html/template"
	"log/slog"
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
	var (
		h        *civiq.Hall
		svcs     []civiq.Service
		counters []civiq.Counter
		ann      *civiq.Event
	)
	err := s.Engine.Store.View(r.Context(), func(tx civiq.Tx) error {
		var err error
		if h, err = tx.Hall(hallID); err != nil {
			return err
		}
		if svcs, err = tx.Services(hallID); err != nil {
			return err
		}
		if counters, err = tx.Counters(hallID); err != nil {
			return err
		}
		if ann, err = tx.LatestAnnouncement(hallID); err != nil && !civiq.IsNotFound(err) {
			return err
		}
		return nil
	})
	if civiq.IsNotFound(err) && h == nil {
		s.notFound(w, r)
		return
	}
	if err != nil {
		slog.Error("display", "hall", hallID, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	h.Defaults() // an old hall row may have no voice template yet
	cfg := displayConfig{hallJS: newHallJS(h, svcs, counters), VoiceTemplate: h.VoiceTemplate}
	if ann != nil && ann.Text != "" {
		cfg.Announcement = &displayAnnouncement{Text: ann.Text, At: ann.At.UTC().Format(time.RFC3339Nano)}
	}
	js, ok := s.scriptConfig(w, cfg)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "display", "display.title", displayView{Hall: h, Config: js}, displayKeys...)
}

// displayKeys are the catalogue entries display.js uses.
var displayKeys = []string{
	"display.counter", "display.idle", "display.paused", "display.closed", "display.people", "display.eta",
	"display.norecent", "display.calling",
}
