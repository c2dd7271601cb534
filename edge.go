package civiq

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Edge nodes (issue 16). A hall may run an edge node on its own LAN
// (civiq serve --edge --hall ID --city URL --edge-token TOKEN): it is the
// authority for the hall's live work and keeps the city in step. The city
// (one or more nodes, as before) owns configuration and city-wide work.
// Up: every event of the hall goes to the city through the durable
// delivery (delivery.go) as a subscriber of kind SubscriberEdge, and the
// city applies each exactly once, by hall, edge and the edge's event id
// (ApplyEdgeEvents). Down (the city's configuration pulled by the edge,
// signed booking codes, remote tickets relayed) is built on the same link.

// Node roles.
const (
	NodeCity = "city" // a city installation, or a lone node: the default
	NodeEdge = "edge" // an edge node of one hall
)

// Node is a node's role, and for an edge its hall.
type Node struct {
	Role string `json:"role"`
	Hall string `json:"hall,omitempty"`
}

// Edge reports whether the node is an edge node.
func (n Node) Edge() bool { return n.Role == NodeEdge }

// EdgeConfig is what civiq serve --edge is told: the hall, the city's
// address and the hall's edge token.
type EdgeConfig struct {
	Hall    string
	CityURL string
	Token   string
}

// Validate checks an edge's configuration: a hall, an http(s) city
// address without a path beyond /, an edge token.
func (c EdgeConfig) Validate() error {
	if c.Hall == "" {
		return FieldErrorf("hall", "an edge node needs --hall")
	}
	u, err := url.Parse(c.CityURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return FieldErrorf("city", "--city must be the city's http(s) address, e.g. https://city.example")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return FieldErrorf("city", "--city is the city's address only, without a path")
	}
	if !strings.HasPrefix(c.Token, EdgeTokenPrefix) {
		return FieldErrorf("edge-token", "--edge-token must be a token made on the city (POST /api/v1/halls/{hall}/edge-tokens)")
	}
	return nil
}

// LinkState is what an edge knows of its link to the city: shown by
// /readyz, the admin page and the metrics.
type LinkState struct {
	Up bool `json:"up"`
	// LastOK is the last answer of the city; LastError what went wrong
	// since, if anything.
	LastOK    *time.Time `json:"last_ok_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	// LastPulled is the last change of the city's configuration applied
	// (the down direction sets it).
	LastPulled *time.Time `json:"last_pulled_at,omitempty"`
	// LastApplied is the last event of this edge the city said it holds.
	LastApplied int64 `json:"city_last_applied"`
}

// Link is an edge's link as the pages and the API see it.
type Link interface{ State() LinkState }

// SubscriberEdge is the kind of the edge link's subscriber: on an edge
// node, its hall's events go up to the city.
const SubscriberEdge = "edge"

// EdgePace is the edge link's pace: uploads of up to EdgeUploadMax events,
// so a backlog goes up in a quarter of the round trips and commits; a
// woken worker lingers 100 ms, so a busy hall's events go up a few times a
// second rather than once per commit (a call still reaches the city well
// within the 2 s asked); the cursor is recorded once a second. On a small
// hall machine every read, upload and record competes with the hall's own
// writes; a crash sends at most a second's events again, which the city
// skips.
var EdgePace = DeliveryPace{Batch: EdgeUploadMax, Linger: 100 * time.Millisecond, RecordEvery: time.Second}

// EdgeRetry is how long the edge link waits before trying again: the city
// is expected back, and a minute after it is, it holds everything.
const EdgeRetry = 3 * time.Second

// Work is what a write changes, for the ownership rule.
type Work string

// The hall's live work (the edge owns it where the hall has one) and the
// configuration and city-wide work (the city owns it).
const (
	WorkTickets       Work = "tickets"        // issue, cancel
	WorkCalls         Work = "calls"          // call, recall, start, finish, no-show, transfer, return
	WorkCounterState  Work = "counter_state"  // open, pause, close a counter
	WorkRatings       Work = "ratings"        // 好差评 given at the hall
	WorkFollowUpsOpen Work = "followups_open" // follow-ups a bad rating opens
	WorkCheckIns      Work = "check_ins"      // appointment check-ins at the hall
	WorkCasesOpened   Work = "cases_opened"   // 办件 cases opened at its counters
	WorkAnnouncements Work = "announcements"  // lines on the hall's screens

	WorkHallSettings Work = "hall_settings" // hall, calling policy, rating settings
	WorkServices     Work = "services"
	WorkCounters     Work = "counters" // which counters, their services
	WorkUsers        Work = "users"    // users and roles
	WorkDevices      Work = "devices"
	WorkGuides       Work = "guides"
	WorkCalendar     Work = "calendar"
	WorkBookings     Work = "bookings"      // made online
	WorkFollowUpWork Work = "followup_work" // follow-up moves by city staff
)

// ownedByEdge lists the live work of a hall: the edge owns it.
var ownedByEdge = []Work{WorkTickets, WorkCalls, WorkCounterState, WorkRatings, WorkFollowUpsOpen,
	WorkCheckIns, WorkCasesOpened, WorkAnnouncements}

// Owner is who owns a kind of work in a hall that has an edge: NodeEdge
// for its live work, NodeCity for the rest. A hall without an edge is the
// city's alone.
func Owner(w Work) string {
	if slices.Contains(ownedByEdge, w) {
		return NodeEdge
	}
	return NodeCity
}

// Refuse is the ownership rule: whether node n may write w in a hall
// (hallHasEdge: the city has an edge token for it). On a city, the live
// work of a hall with an edge is refused (its edge does it); on an edge,
// configuration is refused (the city does it, and the edge pulls it).
func (n Node) Refuse(w Work, hallHasEdge bool) error {
	owner := Owner(w)
	switch {
	case n.Edge() && owner == NodeCity:
		return Errorf(EOwnedByCity, "the city owns %s: change it on the city's installation", w)
	case !n.Edge() && hallHasEdge && owner == NodeEdge:
		return Errorf(EOwnedByEdge, "this hall's edge node owns %s: do it at the hall's edge node", w)
	}
	return nil
}

// eventWork is the work an event shows, for the city's refusal of the live
// work of a hall with an edge; "" for an event no one owns.
func eventWork(typ string) Work {
	switch {
	case typ == EventIssued || typ == EventCancelled:
		return WorkTickets
	case typ == EventRated:
		return WorkRatings
	case typ == EventCounter:
		return WorkCounterState
	case typ == EventAnnouncement:
		return WorkAnnouncements
	case typ == EventCase:
		return WorkCasesOpened
	case typ == EventServiceAlert: // alert.go: where the calls are
		return WorkCalls
	case strings.HasPrefix(typ, "ticket."):
		return WorkCalls
	}
	return ""
}

// EdgeTokenPrefix starts every edge token, so a request's token is looked
// for among edge tokens alone.
const EdgeTokenPrefix = "edge_"

// EdgeRotateGrace is how long a rotated edge token still works: time to
// give the edge its new one.
const EdgeRotateGrace = time.Hour

// EdgeToken is an edge node's credential on the city: it may write that
// hall's events and read that hall's configuration, nothing else. Only a
// hash is kept; the token is shown once.
type EdgeToken struct {
	ID          int64      `json:"id"`
	HallID      string     `json:"hall_id"`
	Description string     `json:"description"`
	Hash        string     `json:"-"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"` // revoked, or rotated: works until then
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
}

// Valid reports whether the token works at now.
func (t *EdgeToken) Valid(now time.Time) bool { return t.ExpiresAt == nil || now.Before(*t.ExpiresAt) }

// EdgeLink is what the city knows of one edge node of a hall: the last
// event of it applied, and what the edge said of itself when last heard.
type EdgeLink struct {
	HallID string `json:"hall_id"`
	// EdgeID names the edge's database: a new edge for the same hall (its
	// disk replaced) has a new one, and its event ids start again.
	EdgeID      string    `json:"edge_id"`
	LastApplied int64     `json:"last_applied"`
	AppliedAt   time.Time `json:"applied_at"` // of the last event applied
	SeenAt      time.Time `json:"seen_at"`    // last heard from
	// What the edge said it had still to send, and the time of the oldest.
	Pending  int        `json:"pending"`
	OldestAt *time.Time `json:"oldest_pending_at,omitempty"`
}

// Edge behind or silent, as the city overview marks it.
const (
	EdgeSilentAfter = 2 * time.Minute // not heard from
	EdgeBehindAfter = time.Minute     // its oldest waiting event
)

// Health is how the city sees the edge at now: "ok", "behind" or
// "silent".
func (l *EdgeLink) Health(now time.Time) string {
	switch {
	case now.Sub(l.SeenAt) > EdgeSilentAfter:
		return "silent"
	case l.OldestAt != nil && now.Sub(*l.OldestAt) > EdgeBehindAfter:
		return "behind"
	}
	return "ok"
}

// EdgeTx is what a store keeps of edge tokens and links
// (sqlstore/edge.go).
type EdgeTx interface {
	InsertEdgeToken(t *EdgeToken) error
	EdgeTokens(hallID string) ([]*EdgeToken, error)
	EdgeTokenByHash(hash string) (*EdgeToken, error)
	// SetEdgeTokenExpiry ends a token at the time given.
	SetEdgeTokenExpiry(hallID string, id int64, at time.Time) error
	TouchEdgeToken(id int64, at time.Time) error
	// EdgeHalls lists the halls with a token that works at now.
	EdgeHalls(now time.Time) ([]string, error)

	EdgeLink(hallID, edgeID string) (*EdgeLink, error)
	PutEdgeLink(l *EdgeLink) error
	EdgeLinks() ([]*EdgeLink, error)

	// UpsertTicket writes a ticket the edge sent: new, or changed; never
	// one of another hall.
	UpsertTicket(t *Ticket) error
	// SetCounterState writes a counter's status, pause reason, clerk and
	// current ticket, and nothing of its configuration.
	SetCounterState(c *Counter) error
	// PutEdgeRating writes a rating the edge sent, unless its ticket has
	// one; it reports whether it wrote it (and set its id).
	PutEdgeRating(r *Rating) (bool, error)
	// Sequences gives the last number of each service of the hall on the
	// days given, by day and service; RaiseSequence makes a service's
	// last number of a day at least n.
	Sequences(hallID string, days []string) (map[string]map[string]int, error)
	RaiseSequence(hallID, serviceID, day string, n int) error

	// HallEventBefore is the id of the hall's last event before id, 0 if
	// none.
	HallEventBefore(hallID string, id int64) (int64, error)

	// EdgeSelf is this edge node's own id, made on its first start.
	EdgeSelf(newID string) (string, error)
}

// edgeHallCache keeps the city's list of halls with an edge for a short
// while: every write of live work on the city looks at it.
type edgeHallCache struct {
	mu    sync.Mutex
	halls []string
	until time.Time
}

const edgeHallTTL = 2 * time.Second

// hallHasEdge reports whether the hall has an edge node (a working edge
// token), as the city knew it a moment ago.
func (e *Engine) hallHasEdge(ctx context.Context, hallID string) (bool, error) {
	c := &e.edgeHalls
	now := e.now()
	c.mu.Lock()
	if now.Before(c.until) {
		ok := slices.Contains(c.halls, hallID)
		c.mu.Unlock()
		return ok, nil
	}
	c.mu.Unlock()
	var halls []string
	err := e.store.View(ctx, func(tx Tx) (err error) { halls, err = tx.EdgeHalls(now); return })
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	c.halls, c.until = halls, now.Add(edgeHallTTL)
	c.mu.Unlock()
	return slices.Contains(halls, hallID), nil
}

func (e *Engine) forgetEdgeHalls() {
	e.edgeHalls.mu.Lock()
	e.edgeHalls.until = time.Time{}
	e.edgeHalls.mu.Unlock()
}

// Refuse applies the ownership rule on this node to a write of w in the
// hall: an owned_by_edge or owned_by_city error, or nil.
func (e *Engine) Refuse(ctx context.Context, w Work, hallID string) error {
	if ownerOf(ctx) == Owner(w) { // done for its owner (WithOwner)
		return nil
	}
	if e.Node.Edge() {
		return e.Node.Refuse(w, true)
	}
	if Owner(w) == NodeCity {
		return nil
	}
	has, err := e.hallHasEdge(ctx, hallID)
	if err != nil {
		return err
	}
	return e.Node.Refuse(w, has)
}

// CreateEdgeToken makes a new edge token for a hall: the token is in the
// answer only.
func (e *Engine) CreateEdgeToken(ctx context.Context, by Principal, hallID, description string) (string, *EdgeToken, error) {
	if e.Node.Edge() {
		return "", nil, e.Node.Refuse(WorkDevices, true)
	}
	if len([]rune(description)) > 200 {
		return "", nil, FieldErrorf("description", "description is at most 200 characters")
	}
	token := EdgeTokenPrefix + NewToken()
	t := &EdgeToken{HallID: hallID, Description: description, Hash: HashToken(token), CreatedBy: by.Key(), CreatedAt: e.now()}
	err := e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		return tx.InsertEdgeToken(t)
	})
	if err != nil {
		return "", nil, err
	}
	e.forgetEdgeHalls()
	return token, t, nil
}

// EdgeTokens lists a hall's edge tokens, without their secrets.
func (e *Engine) EdgeTokens(ctx context.Context, hallID string) ([]*EdgeToken, error) {
	var out []*EdgeToken
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		var err error
		out, err = tx.EdgeTokens(hallID)
		return err
	})
	return out, err
}

// RevokeEdgeToken ends a hall's edge token at once.
func (e *Engine) RevokeEdgeToken(ctx context.Context, hallID string, id int64) error {
	return e.endEdgeToken(ctx, hallID, id, e.now())
}

// RotateEdgeToken makes a new token for the hall in place of token id,
// which still works for EdgeRotateGrace.
func (e *Engine) RotateEdgeToken(ctx context.Context, by Principal, hallID string, id int64) (string, *EdgeToken, error) {
	old, err := e.edgeToken(ctx, hallID, id)
	if err != nil {
		return "", nil, err
	}
	token, t, err := e.CreateEdgeToken(ctx, by, hallID, old.Description)
	if err != nil {
		return "", nil, err
	}
	end := e.now().Add(EdgeRotateGrace)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(end) {
		end = *old.ExpiresAt
	}
	return token, t, e.endEdgeToken(ctx, hallID, id, end)
}

func (e *Engine) edgeToken(ctx context.Context, hallID string, id int64) (*EdgeToken, error) {
	ts, err := e.EdgeTokens(ctx, hallID)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, Errorf(ENotFound, "unknown edge token %d", id)
}

func (e *Engine) endEdgeToken(ctx context.Context, hallID string, id int64, at time.Time) error {
	t, err := e.edgeToken(ctx, hallID, id)
	if err != nil {
		return err
	}
	if t.ExpiresAt != nil && !t.ExpiresAt.After(at) {
		return nil // ended already
	}
	if err := e.update(ctx, func(tx Tx) error { return tx.SetEdgeTokenExpiry(hallID, id, at) }); err != nil {
		return err
	}
	e.auth.drop(t.Hash)
	e.forgetEdgeHalls()
	return nil
}

// authenticateEdge finds the edge token of a request.
func (e *Engine) authenticateEdge(tx Tx, hash string) (*EdgeToken, error) {
	t, err := tx.EdgeTokenByHash(hash)
	if err != nil {
		return nil, err
	}
	if !t.Valid(e.now()) {
		return nil, Errorf(EUnauthorized, "this edge token was revoked")
	}
	return t, nil
}

// NodeStatus is what a node tells of its role: /readyz, the admin page,
// the metrics and the city overview show it.
type NodeStatus struct {
	Role string `json:"role"`
	Hall string `json:"hall,omitempty"` // an edge's
	// On an edge: its link, and the events waiting to go up.
	Link         *LinkState `json:"link,omitempty"`
	Pending      int        `json:"pending"`
	OldestAt     *time.Time `json:"oldest_pending_at,omitempty"`
	OldestAgeSec float64    `json:"oldest_pending_age_seconds"`
	// On a city: each hall's newest edge, as last heard.
	Edges []EdgeStatus `json:"edges,omitempty"`
}

// EdgeStatus is a hall's edge as the city sees it.
type EdgeStatus struct {
	EdgeLink
	Health string `json:"health"` // ok, behind, silent
}

// NodeStatus tells this node's role and, on an edge, the state of its
// link (link may be nil); on a city, the state of each hall's edge.
func (e *Engine) NodeStatus(ctx context.Context, link Link) (*NodeStatus, error) {
	now := e.now()
	st := &NodeStatus{Role: NodeCity}
	if e.Node.Edge() {
		st.Role, st.Hall = NodeEdge, e.Node.Hall
		if link != nil {
			ls := link.State()
			st.Link = &ls
		}
		b, err := e.EdgeBacklog(ctx)
		if err != nil {
			return nil, err
		}
		if b != nil {
			st.Pending, st.OldestAt, st.OldestAgeSec = b.Pending, b.OldestAt, b.OldestAgeSec
		}
		return st, nil
	}
	err := e.store.View(ctx, func(tx Tx) error {
		edges, err := edgesByHall(tx, now)
		for _, s := range edges {
			st.Edges = append(st.Edges, *s)
		}
		slices.SortFunc(st.Edges, func(a, b EdgeStatus) int { return strings.Compare(a.HallID, b.HallID) })
		return err
	})
	return st, err
}

// edgesByHall is each hall's newest edge as the city last heard it.
func edgesByHall(tx Tx, now time.Time) (map[string]*EdgeStatus, error) {
	links, err := tx.EdgeLinks()
	if err != nil {
		return nil, err
	}
	out := map[string]*EdgeStatus{}
	for _, l := range links { // each hall's newest first
		if out[l.HallID] == nil {
			out[l.HallID] = &EdgeStatus{EdgeLink: *l, Health: l.Health(now)}
		}
	}
	return out, nil
}
