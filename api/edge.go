package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/civiq/civiq"
	"github.com/prometheus/client_golang/prometheus"
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
	s.handle("GET /api/v1/node", need(civiq.PermAdmin), s.nodeStatus)
}

// nodeStatus answers the node's role and its link (an edge), or its
// halls' edges (a city).
func (s *Server) nodeStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	st, err := s.Engine.NodeStatus(r.Context(), s.Link)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"node": st})
	return nil
}

// writeNodeStatus adds the node's role to /readyz, a line each: on an
// edge its link, the events waiting to go up and the age of the oldest,
// the last change pulled; on a city how many halls' edges are behind or
// silent. A store that does not answer leaves them out.
func (s *Server) writeNodeStatus(w io.Writer, r *http.Request) {
	st, err := s.Engine.NodeStatus(r.Context(), s.Link)
	if err != nil {
		return
	}
	fmt.Fprintf(w, "role: %s\n", st.Role)
	if st.Role == civiq.NodeEdge {
		fmt.Fprintf(w, "hall: %s\n", st.Hall)
		if l := st.Link; l != nil {
			fmt.Fprintf(w, "link: %s\n", map[bool]string{true: "up", false: "down"}[l.Up])
			fmt.Fprintf(w, "city_last_applied: %d\n", l.LastApplied)
			if l.LastPulled != nil {
				fmt.Fprintf(w, "last_pulled: %s\n", l.LastPulled.UTC().Format(time.RFC3339))
			}
		}
		fmt.Fprintf(w, "pending: %d\n", st.Pending)
		fmt.Fprintf(w, "oldest_pending_age_seconds: %.0f\n", st.OldestAgeSec)
		return
	}
	n := map[string]int{}
	for _, e := range st.Edges {
		n[e.Health]++
	}
	fmt.Fprintf(w, "edges: %d\nedges_behind: %d\nedges_silent: %d\n", len(st.Edges), n["behind"], n["silent"])
}

// nodeCollector gives the node's role and link to Prometheus when it is
// scraped.
type nodeCollector struct {
	s                                  *Server
	edge, up, pending, oldest, pulled  *prometheus.Desc
	hallSeen, hallPending, hallApplied *prometheus.Desc
}

func newNodeCollector(s *Server) *nodeCollector {
	return &nodeCollector{s: s,
		edge:        prometheus.NewDesc("civiq_node_edge", "1 on an edge node, 0 on a city.", nil, nil),
		up:          prometheus.NewDesc("civiq_edge_link_up", "1 while the edge's city answers.", nil, nil),
		pending:     prometheus.NewDesc("civiq_edge_pending_events", "Events waiting to go up to the city.", nil, nil),
		oldest:      prometheus.NewDesc("civiq_edge_oldest_pending_seconds", "Age of the oldest event waiting to go up.", nil, nil),
		pulled:      prometheus.NewDesc("civiq_edge_last_pull_timestamp_seconds", "When the edge last applied a change of the city's configuration.", nil, nil),
		hallSeen:    prometheus.NewDesc("civiq_edge_hall_last_seen_timestamp_seconds", "On a city: when each hall's edge was last heard from.", []string{"hall"}, nil),
		hallPending: prometheus.NewDesc("civiq_edge_hall_pending_events", "On a city: the events each hall's edge said it still had to send.", []string{"hall"}, nil),
		hallApplied: prometheus.NewDesc("civiq_edge_hall_applied_timestamp_seconds", "On a city: the time of the last event of each hall's edge applied.", []string{"hall"}, nil),
	}
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.edge, c.up, c.pending, c.oldest, c.pulled, c.hallSeen, c.hallPending, c.hallApplied} {
		ch <- d
	}
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.s.Engine.NodeStatus(context.Background(), c.s.Link)
	if err != nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if st.Role != civiq.NodeEdge {
		gauge(c.edge, 0)
		for _, e := range st.Edges {
			gauge(c.hallSeen, float64(e.SeenAt.Unix()), e.HallID)
			gauge(c.hallPending, float64(e.Pending), e.HallID)
			gauge(c.hallApplied, float64(e.AppliedAt.Unix()), e.HallID)
		}
		return
	}
	gauge(c.edge, 1)
	gauge(c.pending, float64(st.Pending))
	gauge(c.oldest, st.OldestAgeSec)
	if l := st.Link; l != nil {
		gauge(c.up, map[bool]float64{true: 1}[l.Up])
		if l.LastPulled != nil {
			gauge(c.pulled, float64(l.LastPulled.Unix()))
		}
	}
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
