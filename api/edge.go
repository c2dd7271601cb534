package api

import (
	"net/http"

	"github.com/civiq/civiq"
)

// edgeRoutes: edge nodes (civiq/edge.go). On the city, admins manage each
// hall's edge tokens; an edge node, with its hall's token, says hello and
// sends the hall's events up.
func (s *Server) edgeRoutes() {
	s.handle("POST /api/v1/halls/{hall}/edge-tokens", need(civiq.PermAdmin), s.createEdgeToken)
	s.handle("GET /api/v1/halls/{hall}/edge-tokens", need(civiq.PermAdmin), s.listEdgeTokens)
	s.handle("DELETE /api/v1/halls/{hall}/edge-tokens/{id}", need(civiq.PermAdmin), s.revokeEdgeToken)
	s.handle("POST /api/v1/halls/{hall}/edge-tokens/{id}/rotate", need(civiq.PermAdmin), s.rotateEdgeToken)
	s.handle("POST /api/v1/halls/{hall}/edge/hello", need(civiq.PermEdgeLink), s.edgeHello)
	s.handle("POST /api/v1/halls/{hall}/edge/events", need(civiq.PermEdgeLink), s.edgeEvents)
}

func (s *Server) createEdgeToken(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		Description string `json:"description"`
	}
	if err := decode(c.body, &req); err != nil {
		return err
	}
	token, t, err := s.Engine.CreateEdgeToken(r.Context(), c.p, r.PathValue("hall"), req.Description)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "edge_token": t})
	return nil
}

func (s *Server) listEdgeTokens(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := s.Engine.EdgeTokens(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"edge_tokens": ts})
	return nil
}

func (s *Server) revokeEdgeToken(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "edge token")
	if err != nil {
		return err
	}
	if err := s.Engine.RevokeEdgeToken(r.Context(), r.PathValue("hall"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateEdgeToken(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "edge token")
	if err != nil {
		return err
	}
	token, t, err := s.Engine.RotateEdgeToken(r.Context(), c.p, r.PathValue("hall"), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "edge_token": t})
	return nil
}

func (s *Server) edgeHello(w http.ResponseWriter, r *http.Request, c *call) error {
	var req civiq.EdgeHello
	if err := decode(c.body, &req, "edge_id"); err != nil {
		return err
	}
	welcome, err := s.Engine.EdgeHello(r.Context(), c.p.Edge, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, welcome)
	return nil
}

func (s *Server) edgeEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	var req civiq.EdgeUpload
	if err := decode(c.body, &req, "edge_id", "after", "events"); err != nil {
		return err
	}
	ack, err := s.Engine.ApplyEdgeEvents(r.Context(), c.p.Edge, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ack)
	return nil
}
