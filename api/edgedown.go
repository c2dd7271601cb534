package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/civiq/civiq"
)

// The down direction of an edge node (civiq/edgedown.go, edgerelay.go):
// with its hall's edge token, the edge pulls the hall's configuration and
// takes, by a long poll, the city's requests that touch the hall's live
// work, and answers them.
func (s *Server) edgeDownRoutes() {
	s.handle("GET /api/v1/halls/{hall}/edge/config", need(civiq.PermEdgeLink), s.edgeConfig)
	s.handle("GET /api/v1/halls/{hall}/edge/requests", need(civiq.PermEdgeLink), s.edgeRequests)
	s.handle("POST /api/v1/halls/{hall}/edge/requests/{id}/answer", need(civiq.PermEdgeLink), s.answerEdgeRequest)
}

// edgeConfig answers {"cursor"} when ?after= is the hall's configuration's
// cursor, else {"cursor","config"}.
func (s *Server) edgeConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.Engine.PullConfig(r.Context(), r.PathValue("hall"), r.URL.Query().Get("after"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, p)
	return nil
}

// edgeRequests answers {"requests":[...]}, waiting up to ?wait= seconds
// (at most civiq.EdgePollWait) for one to come.
func (s *Server) edgeRequests(w http.ResponseWriter, r *http.Request, c *call) error {
	wait := time.Duration(0)
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return civiq.FieldErrorf("wait", "wait is a number of seconds")
		}
		wait = time.Duration(n) * time.Second
	}
	var tokenID int64
	if c.p.Edge != nil {
		tokenID = c.p.Edge.ID
	}
	reqs, err := s.Engine.TakeEdgeRequests(r.Context(), r.PathValue("hall"), tokenID, wait)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"requests": reqs})
	return nil
}

// answerEdgeRequest takes {"ticket"} or {"error":{"code","message"}} and
// answers {"wanted"}: false when nobody waits for it any more.
func (s *Server) answerEdgeRequest(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "request")
	if err != nil {
		return err
	}
	var a civiq.EdgeAnswer
	if err := decode(c.body, &a); err != nil {
		return err
	}
	wanted, err := s.Engine.AnswerEdgeRequest(r.Context(), r.PathValue("hall"), id, &a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"wanted": wanted})
	return nil
}
