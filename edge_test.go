package civiq_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

func TestOwnershipRule(t *testing.T) {
	city, edge := civiq.Node{Role: civiq.NodeCity}, civiq.Node{Role: civiq.NodeEdge, Hall: "demo"}
	live := []civiq.Work{civiq.WorkTickets, civiq.WorkCalls, civiq.WorkCounterState, civiq.WorkRatings,
		civiq.WorkFollowUpsOpen, civiq.WorkCheckIns, civiq.WorkCasesOpened, civiq.WorkAnnouncements}
	config := []civiq.Work{civiq.WorkHallSettings, civiq.WorkServices, civiq.WorkCounters, civiq.WorkUsers,
		civiq.WorkDevices, civiq.WorkGuides, civiq.WorkCalendar, civiq.WorkBookings, civiq.WorkFollowUpWork}
	type row struct {
		node    civiq.Node
		works   []civiq.Work
		hasEdge bool
		want    string // error code, "" when allowed
	}
	for _, r := range []row{
		{city, live, false, ""},                  // a hall without an edge: the city does everything
		{city, config, false, ""},                //
		{city, live, true, civiq.EOwnedByEdge},   // the edge owns its hall's live work
		{city, config, true, ""},                 // the city its configuration
		{edge, live, true, ""},                   //
		{edge, config, true, civiq.EOwnedByCity}, // the edge pulls it, never writes it
	} {
		for _, w := range r.works {
			err := r.node.Refuse(w, r.hasEdge)
			if got := civiq.ErrorCode(err); got != r.want {
				t.Errorf("%s node, %s, hall has edge %v: %q; want %q", r.node.Role, w, r.hasEdge, got, r.want)
			}
			wantOwner := civiq.NodeCity
			if len(r.works) == len(live) && r.works[0] == live[0] {
				wantOwner = civiq.NodeEdge
			}
			if got := civiq.Owner(w); got != wantOwner {
				t.Errorf("Owner(%s) = %s; want %s", w, got, wantOwner)
			}
		}
	}
}

func TestEdgeConfigValidate(t *testing.T) {
	ok := civiq.EdgeConfig{Hall: "demo", CityURL: "https://city.example", Token: "edge_abc"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", ok, err)
	}
	for _, c := range []civiq.EdgeConfig{
		{CityURL: ok.CityURL, Token: ok.Token},
		{Hall: "demo", CityURL: "city.example", Token: ok.Token},
		{Hall: "demo", CityURL: "ftp://city.example", Token: ok.Token},
		{Hall: "demo", CityURL: "https://city.example/api", Token: ok.Token},
		{Hall: "demo", CityURL: ok.CityURL, Token: "abc"},
	} {
		if err := c.Validate(); civiq.ErrorCode(err) != civiq.EInvalid {
			t.Errorf("Validate(%+v) = %v; want invalid", c, err)
		}
	}
}

func TestEdgeTokens(t *testing.T) {
	e := newEnv(t)
	admin := civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}
	token, tok, err := e.eng.CreateEdgeToken(e.ctx, admin, "demo", "hall PC")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.eng.CreateEdgeToken(e.ctx, admin, "nowhere", ""); civiq.ErrorCode(err) != civiq.ENotFound {
		t.Errorf("a token of an unknown hall: %v", err)
	}
	p, _, err := e.eng.Authenticate(e.ctx, token)
	if err != nil || p.Edge == nil || p.Edge.ID != tok.ID {
		t.Fatalf("Authenticate(edge token) = %+v, %v", p, err)
	}
	for perm := civiq.PermIssueTicket; perm <= civiq.PermEdgeLink; perm++ {
		if got, want := p.Can(perm, "demo", "1"), perm == civiq.PermEdgeLink; got != want {
			t.Errorf("edge token Can(%d, demo) = %v; want %v", perm, got, want)
		}
		if p.Can(perm, "other", "1") {
			t.Errorf("edge token of demo Can(%d, other)", perm)
		}
		if perm == civiq.PermEdgeLink && admin.Can(perm, "demo", "") {
			t.Errorf("an admin has the edge link's permission")
		}
	}
	list, err := e.eng.EdgeTokens(e.ctx, "demo")
	if err != nil || len(list) != 1 || list[0].Hash == "" || list[0].Description != "hall PC" {
		t.Fatalf("EdgeTokens = %+v, %v", list, err)
	}

	// Rotation: the new one works, the old one for a grace period.
	newToken, _, err := e.eng.RotateEdgeToken(e.ctx, admin, "demo", tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{token, newToken} {
		if _, _, err := e.eng.Authenticate(e.ctx, tk); err != nil {
			t.Errorf("after rotation: %v", err)
		}
	}
	e.advance(civiq.EdgeRotateGrace + 11e9) // past the grace and the sign-in cache
	if _, _, err := e.eng.Authenticate(e.ctx, token); civiq.ErrorCode(err) != civiq.EUnauthorized {
		t.Errorf("the rotated token after its grace: %v", err)
	}
	list, _ = e.eng.EdgeTokens(e.ctx, "demo")
	if err := e.eng.RevokeEdgeToken(e.ctx, "demo", list[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.eng.Authenticate(e.ctx, newToken); civiq.ErrorCode(err) != civiq.EUnauthorized {
		t.Errorf("a revoked token: %v", err)
	}
	if err := e.eng.RevokeEdgeToken(e.ctx, "demo", 999); civiq.ErrorCode(err) != civiq.ENotFound {
		t.Errorf("revoke an unknown token: %v", err)
	}
}

// edgePair is an edge node of the demo hall and its city, each on its own
// store, the city with a token for the hall.
func edgePair(t *testing.T) (edge, city *env, tok *civiq.EdgeToken) {
	edge, city = newEnv(t), newEnv(t)
	edge.eng.Node = civiq.Node{Role: civiq.NodeEdge, Hall: "demo"}
	token, tok, err := city.eng.CreateEdgeToken(city.ctx, civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}, "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := city.eng.Authenticate(city.ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	return edge, city, p.Edge
}

func upload(t *testing.T, edge, city *env, tok *civiq.EdgeToken, edgeID string, after int64) *civiq.EdgeAck {
	t.Helper()
	recs, err := edge.eng.EdgeRecords(edge.ctx, "demo", after, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := city.eng.ApplyEdgeEvents(city.ctx, tok, &civiq.EdgeUpload{EdgeID: edgeID, After: after, Events: recs})
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

func TestEdgeEventsAppliedOnce(t *testing.T) {
	edge, city, tok := edgePair(t)
	// Live work at the edge.
	a := edge.issue("general", "")
	edge.issue("general", "")
	c := edge.call("1")
	edge.act(c.ID, civiq.ActStart, "")
	edge.act(c.ID, civiq.ActFinish, "")
	if _, err := edge.eng.Rate(edge.ctx, civiq.RateRequest{TicketID: a.ID, Score: 1, Reasons: []string{"attitude"}, Comment: "slow"}); err != nil {
		t.Fatal(err)
	}
	if err := edge.eng.Announce(edge.ctx, "demo", "请保持安静"); err != nil {
		t.Fatal(err)
	}
	edgeEvents := edge.take()
	city.take()

	// The city refuses the hall's live work; its configuration is its own.
	if _, err := city.eng.IssueTicket(city.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk}, nil); civiq.ErrorCode(err) != civiq.EOwnedByEdge {
		t.Errorf("city issues in a hall with an edge: %v", err)
	}
	if err := city.eng.Announce(city.ctx, "demo", "x"); civiq.ErrorCode(err) != civiq.EOwnedByEdge {
		t.Errorf("city announces in a hall with an edge: %v", err)
	}
	if err := edge.eng.Refuse(edge.ctx, civiq.WorkServices, "demo"); civiq.ErrorCode(err) != civiq.EOwnedByCity {
		t.Errorf("edge changes services: %v", err)
	}

	ack := upload(t, edge, city, tok, "edge-1", 0)
	last := edgeEvents[len(edgeEvents)-1].ID
	if ack.LastApplied != last {
		t.Fatalf("LastApplied = %d; want %d", ack.LastApplied, last)
	}
	applied := city.take()
	if len(applied) != len(edgeEvents) {
		t.Fatalf("the city wrote %d events for the edge's %d", len(applied), len(edgeEvents))
	}
	for i, ev := range applied {
		if ev.Type != edgeEvents[i].Type || !ev.At.Equal(edgeEvents[i].At) {
			t.Errorf("event %d: city %s at %v, edge %s at %v", i, ev.Type, ev.At, edgeEvents[i].Type, edgeEvents[i].At)
		}
	}
	// Sent again (the edge died before it moved its cursor): nothing twice.
	if again := upload(t, edge, city, tok, "edge-1", 0); again.LastApplied != last {
		t.Errorf("again: LastApplied = %d", again.LastApplied)
	}
	if evs := city.take(); len(evs) != 0 {
		t.Errorf("sent again, the city wrote %d events", len(evs))
	}
	for _, id := range []string{a.ID, c.ID} {
		if got, want := city.ticket(id), edge.ticket(id); got.Status != want.Status || got.Number != want.Number || got.CallCount != want.CallCount {
			t.Errorf("ticket %s: city %+v; edge %+v", id, got, want)
		}
	}
	if st := city.status(); st.Waiting["general"] != 1 {
		t.Errorf("city status: waiting %v; want general 1", st.Waiting)
	}
	fs, err := city.eng.FollowUps(city.ctx, "demo", civiq.FollowUpFilter{})
	if err != nil || len(fs) != 1 {
		t.Errorf("the city's follow-ups = %d, %v; want the bad rating's", len(fs), err)
	}

	// A city restored from an older backup holds less than the edge
	// sent: it applies nothing and says what it holds.
	edge.issue("tax", "")
	if ack := upload(t, edge, city, tok, "edge-1", last+5); ack.LastApplied != last {
		t.Errorf("after a gap: LastApplied = %d; want %d", ack.LastApplied, last)
	}
	if evs := city.take(); len(evs) != 0 {
		t.Errorf("after a gap the city wrote %d events", len(evs))
	}

	// Every event must be of the token's hall.
	recs, _ := edge.eng.EdgeRecords(edge.ctx, "demo", last, 10)
	recs[0].HallID = "other"
	if _, err := city.eng.ApplyEdgeEvents(city.ctx, tok, &civiq.EdgeUpload{EdgeID: "edge-1", After: last, Events: recs}); civiq.ErrorCode(err) != civiq.EForbidden {
		t.Errorf("an event of another hall: %v", err)
	}
	recs[0].HallID, recs[0].Ticket.HallID = "demo", "other"
	if _, err := city.eng.ApplyEdgeEvents(city.ctx, tok, &civiq.EdgeUpload{EdgeID: "edge-1", After: last, Events: recs}); civiq.ErrorCode(err) != civiq.EForbidden {
		t.Errorf("a ticket of another hall: %v", err)
	}
	if evs := city.take(); len(evs) != 0 {
		t.Errorf("refused uploads wrote %d events", len(evs))
	}
}

func TestNewEdgeGoesOnNumbering(t *testing.T) {
	edge, city, tok := edgePair(t)
	for range 3 {
		edge.issue("general", "")
	}
	upload(t, edge, city, tok, "edge-1", 0)
	w, err := city.eng.EdgeHello(city.ctx, tok, &civiq.EdgeHello{EdgeID: "edge-2"})
	if err != nil {
		t.Fatal(err)
	}
	if w.LastApplied != 0 {
		t.Errorf("a new edge: LastApplied = %d; want 0", w.LastApplied)
	}
	// The disk replaced: a new edge starts from the city's numbers.
	fresh := newEnv(t)
	fresh.eng.Node = civiq.Node{Role: civiq.NodeEdge, Hall: "demo"}
	fresh.set(edge.clock())
	if err := fresh.eng.AdoptSequences(fresh.ctx, "demo", w.Sequences); err != nil {
		t.Fatal(err)
	}
	if n := fresh.issue("general", "").Number; n != "A004" {
		t.Errorf("the new edge's next number = %s; want A004 (sequences %v)", n, w.Sequences)
	}
}

func TestCityMarksEdgeBehindOrSilent(t *testing.T) {
	edge, city, tok := edgePair(t)
	admin := civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}
	health := func() string {
		t.Helper()
		ov, err := city.eng.City(city.ctx, admin, []string{"demo"})
		if err != nil {
			t.Fatal(err)
		}
		if ov.Halls[0].Edge == nil {
			return "none"
		}
		st, err := city.eng.NodeStatus(city.ctx, nil)
		if err != nil || st.Role != civiq.NodeCity || len(st.Edges) != 1 || st.Edges[0].Health != ov.Halls[0].Edge.Health {
			t.Errorf("NodeStatus = %+v, %v; the overview says %s", st, err, ov.Halls[0].Edge.Health)
		}
		return ov.Halls[0].Edge.Health
	}
	if h := health(); h != "none" {
		t.Errorf("before any hello: %s", h)
	}
	edge.issue("general", "")
	upload(t, edge, city, tok, "edge-1", 0)
	if h := health(); h != "ok" {
		t.Errorf("after an upload: %s", h)
	}
	// The edge says it still has events from two minutes ago to send.
	old := city.clock().Add(-2 * time.Minute)
	if _, err := city.eng.EdgeHello(city.ctx, tok, &civiq.EdgeHello{EdgeID: "edge-1", Pending: 40, OldestAt: &old}); err != nil {
		t.Fatal(err)
	}
	if h := health(); h != "behind" {
		t.Errorf("with old events waiting: %s", h)
	}
	city.advance(civiq.EdgeSilentAfter + time.Second)
	if h := health(); h != "silent" {
		t.Errorf("not heard from: %s", h)
	}
}

// caseAccepted opens a 办件 case at counter 1 in 补正 (a material
// missing) for the applicant, then accepts it with the material given.
func (e *env) caseAccepted() (*civiq.Ticket, *civiq.Case) {
	e.tb.Helper()
	ctx, staff := staffCtx(e.ctx)
	tk := e.served("social", "1")
	c, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-s-card", Applicant: applicant(),
		Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m3", Status: civiq.MaterialMissing}}})
	if err != nil {
		e.tb.Fatal(err)
	}
	if c, err = e.eng.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseAccepted, By: staff,
		Materials: []civiq.CaseMaterialInput{{ID: "m3"}}}); err != nil {
		e.tb.Fatal(err)
	}
	return tk, c
}

// TestEdgeCasesGoUp: a 办件 case opened and moved at the edge's counter
// goes up with its event, history and receipts; the city holds it once,
// its applicant sealed with the city's own key, and refuses to open or
// move cases of the hall itself.
func TestEdgeCasesGoUp(t *testing.T) {
	edge, city, tok := edgePair(t)
	for _, e := range []*env{edge, city} {
		if _, err := e.eng.LoadDemoGuides(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	edge.eng.Receipts = receiptKeys(t, 3)
	edge.eng.Sealer = testSealer(t)
	city.eng.Sealer, _ = civiq.NewSealer(bytes.Repeat([]byte{9}, civiq.SecretKeySize))
	tk, c := edge.caseAccepted()
	var caseEvents int
	for _, ev := range edge.take() {
		if ev.Type == civiq.EventCase {
			caseEvents++
			if ev.Case == nil || ev.Case.Number != c.Number || strings.Contains(string(ev.JSON(true)), "张") {
				t.Errorf("case event %+v: %s", ev.Case, ev.JSON(true))
			}
			if strings.Contains(string(ev.JSON(false)), c.Number) {
				t.Errorf("the public view names the case: %s", ev.JSON(false))
			}
		}
	}
	if caseEvents != 2 {
		t.Fatalf("%d case events at the edge; want 2 (opened, accepted)", caseEvents)
	}
	city.take()
	upload(t, edge, city, tok, "edge-1", 0)
	upload(t, edge, city, tok, "edge-1", 0) // again: nothing twice
	n := 0
	for _, ev := range city.take() {
		if ev.Type == civiq.EventCase {
			n++
		}
	}
	if n != 2 {
		t.Errorf("the city wrote %d case events; want 2", n)
	}
	cctx, cstaff := staffCtx(city.ctx)
	got, err := city.eng.Case(cctx, c.Number, cstaff)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != civiq.CaseAccepted || got.PromisedDate != c.PromisedDate || got.Applicant != c.Applicant ||
		got.TicketNumber != tk.Number || len(got.History) != 2 || got.ReceiptCode == "" || got.ReceiptCode != c.ReceiptCode {
		t.Errorf("the city's case = %+v\nthe edge's %+v", got, c)
	}
	if p, err := city.eng.CaseProgressFor(city.ctx, c.Number, testPhone[7:]); err != nil || p.Status != civiq.CaseAccepted {
		t.Errorf("the citizen's view on the city: %+v, %v", p, err)
	}
	list, err := city.eng.Cases(city.ctx, civiq.CaseQuery{HallID: "demo"}, false)
	if err != nil || len(list) != 1 {
		t.Errorf("the city's cases of the hall: %d, %v", len(list), err)
	}
	// The city's own writes of the hall's cases are refused.
	if _, err := city.eng.MoveCase(cctx, c.Number, civiq.CaseMove{To: civiq.CaseReviewing, By: cstaff}); civiq.ErrorCode(err) != civiq.EOwnedByEdge {
		t.Errorf("the city moves the edge's case: %v", err)
	}
	if _, err := city.eng.OpenCase(cctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-s-card", Applicant: applicant()}); civiq.ErrorCode(err) != civiq.EOwnedByEdge {
		t.Errorf("the city opens a case in the edge's hall: %v", err)
	}
}

// TestEdgeNotifiesOnce: in a hall with an edge, the city tells a case's
// applicant and a bad rating's citizen, from the events the edge sends up
// and its own staff's moves; the edge, with SMS set up too, tells none of
// them. The city's follow-up moves come back up from the edge (the relay)
// naming the edge's case: the city reads them as its own case of the same
// ticket, so the revisit's citizen is told once, and another citizen,
// whose case on the city has the edge case's number, never.
func TestEdgeNotifiesOnce(t *testing.T) {
	edge, city, tok := edgePair(t)
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	edge.eng.Receipts = receiptKeys(t, 3)
	edge.eng.Sealer = testSealer(t)
	city.eng.Sealer, _ = civiq.NewSealer(bytes.Repeat([]byte{9}, civiq.SecretKeySize))
	// A case of another citizen on the city (as if from before the hall
	// had its edge): the city's case 1, where the edge's first case is 1
	// too.
	cityCtx := city.ctx
	city.ctx = civiq.WithOwner(cityCtx, civiq.NodeEdge)
	other := city.served("tax", "5")
	city.act(other.ID, civiq.ActStart, "")
	city.act(other.ID, civiq.ActFinish, "")
	if _, err := city.eng.Rate(city.ctx, civiq.RateRequest{TicketID: other.ID, Score: 1, Comment: "慢", ContactPhone: "13900000001"}); err != nil {
		t.Fatal(err)
	}
	city.ctx = cityCtx
	for _, e := range []*env{edge, city} {
		if _, err := e.eng.LoadDemoGuides(e.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.eng.SetNotifySettings(e.ctx, admin, "demo", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"}}); err != nil {
			t.Fatal(err)
		}
		e.take()
	}

	// At the edge: a case opened in 补正 then accepted, and a bad rating.
	edge.caseAccepted()
	rated := edge.badRating()
	ack := upload(t, edge, city, tok, "edge-1", 0)

	// City staff put it right; each move goes down to the edge and its
	// event comes up again.
	fus, err := city.eng.FollowUps(city.ctx, "demo", civiq.FollowUpFilter{})
	if err != nil || len(fus) != 2 {
		t.Fatalf("the city's cases: %+v, %v", fus, err)
	}
	id := fus[0].ID
	if fus[0].TicketID != rated.TicketID {
		id = fus[1].ID
	}
	for _, to := range []string{civiq.FollowUpVerifying, civiq.FollowUpRectifying, civiq.FollowUpRectified} {
		if _, err := city.eng.MoveFollowUp(city.ctx, admin, civiq.FollowUpMove{ID: id, To: to, Note: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	reqs, err := city.eng.TakeEdgeRequests(city.ctx, "demo", 0, 0)
	if err != nil || len(reqs) != 3 {
		t.Fatalf("relayed %d, %v", len(reqs), err)
	}
	for _, r := range reqs {
		if a := edge.eng.DoEdgeRequest(edge.ctx, r); a.Error != nil {
			t.Fatalf("the edge: %+v", a.Error)
		}
	}
	upload(t, edge, city, tok, "edge-1", ack.LastApplied)

	if got := planAll(t, edge, admin); len(got) != 0 {
		t.Errorf("the edge told %v; want nobody: the city tells", got)
	}
	to := civiq.MaskPhone(testPhone)
	want := []string{"case_correction " + to, "case_accepted " + to, "rating_received " + to, "rating_rectified " + to}
	if got := planAll(t, city, admin); !slices.Equal(got, want) {
		t.Errorf("the city told\n%v\nwant\n%v", got, want)
	}
}

// planAll has a node plan the hall's events not yet taken, as its
// notifications' delivery does, and lists the hall's messages of the day
// as "kind to".
func planAll(t *testing.T, e *env, admin civiq.Principal) []string {
	t.Helper()
	var ids []int64
	for _, ev := range e.take() {
		ids = append(ids, ev.ID)
	}
	if _, err := e.eng.PlanNotices(e.ctx, "demo", ids, 100); err != nil {
		t.Fatal(err)
	}
	ns, err := e.eng.NotifyMessages(e.ctx, admin, "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		out = append(out, n.Kind+" "+n.To)
	}
	return out
}

// TestEdgeTicketToldOnce: a ticket of a hall with an edge, opted in with
// the same phone on the city's phone page and then at the edge's kiosk,
// gets each message once, from the edge (which holds the kiosk's opt-in
// and sees the ticket's moves first); the city, once the edge's opt-in
// came up, tells it nothing and takes no opt-in of it again.
func TestEdgeTicketToldOnce(t *testing.T) {
	edge, city, tok := edgePair(t)
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	edge.eng.Sealer = testSealer(t)
	city.eng.Sealer, _ = civiq.NewSealer(bytes.Repeat([]byte{9}, civiq.SecretKeySize))
	for _, e := range []*env{edge, city} {
		if _, err := e.eng.SetNotifySettings(e.ctx, admin, "demo", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"}}); err != nil {
			t.Fatal(err)
		}
		e.take()
	}
	tk := edge.issue("tax", "")
	ack := upload(t, edge, city, tok, "edge-1", 0)
	sms := civiq.OptInRequest{Medium: civiq.MediumSMS, Address: "13800000001"}
	if err := city.eng.OptIn(city.ctx, tk.ID, sms); err != nil {
		t.Fatal(err)
	}
	if err := edge.eng.OptIn(edge.ctx, tk.ID, sms); err != nil {
		t.Fatal(err)
	}
	ack = upload(t, edge, city, tok, "edge-1", ack.LastApplied)
	if err := city.eng.OptIn(city.ctx, tk.ID, sms); civiq.ErrorCode(err) != civiq.EConflict {
		t.Errorf("the city took the opt-in again: %v", err)
	}
	edge.advance(10 * time.Minute) // the call after the city's opt-in, by either clock
	if c := edge.call("5"); c.ID != tk.ID {
		t.Fatalf("called %s", c.Number)
	}
	upload(t, edge, city, tok, "edge-1", ack.LastApplied)
	to := civiq.MaskPhone("13800000001")
	if got, want := planAll(t, edge, admin), []string{"taken " + to, "called " + to}; !slices.Equal(got, want) {
		t.Errorf("the edge told %v, want %v", got, want)
	}
	if got := planAll(t, city, admin); len(got) != 0 {
		t.Errorf("the city told %v too", got)
	}
	n, err := city.eng.TicketNotifyOf(city.ctx, tk)
	if err != nil || len(n.OptIns) != 0 {
		t.Errorf("the city's phone page shows the opt-ins %v (%v)", n, err)
	}
}

// TestEdgeOptOutLiftsMark: once the ticket's last opt-in at the edge is
// gone (the citizen stopped the texts there), the edge tells it nothing
// more and the city takes an opt-in of it again on its phone page; while
// the edge still holds one (WeChat kept), the city still takes none.
func TestEdgeOptOutLiftsMark(t *testing.T) {
	edge, city, tok := edgePair(t)
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	edge.eng.Sealer = testSealer(t)
	city.eng.Sealer, _ = civiq.NewSealer(bytes.Repeat([]byte{9}, civiq.SecretKeySize))
	both := civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"}, WeChat: &civiq.ProviderSettings{Provider: "log"}}
	for _, e := range []*env{edge, city} {
		if _, err := e.eng.SetNotifySettings(e.ctx, admin, "demo", both); err != nil {
			t.Fatal(err)
		}
		e.take()
	}
	tk := edge.issue("tax", "")
	sms := civiq.OptInRequest{Medium: civiq.MediumSMS, Address: "13800000001"}
	for _, o := range []civiq.OptInRequest{sms, {Medium: civiq.MediumWeChat, Address: "openid-1"}} {
		if err := edge.eng.OptIn(edge.ctx, tk.ID, o); err != nil {
			t.Fatal(err)
		}
	}
	ack := upload(t, edge, city, tok, "edge-1", 0)
	for i, medium := range []string{civiq.MediumSMS, civiq.MediumWeChat} {
		if err := edge.eng.OptOut(edge.ctx, tk.ID, medium); err != nil {
			t.Fatal(err)
		}
		ack = upload(t, edge, city, tok, "edge-1", ack.LastApplied)
		err := city.eng.OptIn(city.ctx, tk.ID, sms)
		if last := i == 1; last && err != nil {
			t.Errorf("the edge's last opt-in gone: the city refuses one: %v", err)
		} else if !last && civiq.ErrorCode(err) != civiq.EConflict {
			t.Errorf("the edge still tells by WeChat: the city took an SMS opt-in: %v", err)
		}
	}
}

// TestEdgeTransferGoesUp: a transfer made at the edge goes up whole — the
// clerk or counter it sends the ticket to and the note for the next clerk
// (in the ticket and the event's staff view) — and so do who is signed in
// at a counter and who served a rated ticket; the city finds each clerk by
// name, its ids being its own.
func TestEdgeTransferGoesUp(t *testing.T) {
	edge, city, tok := edgePair(t)
	for _, name := range []string{"zhao", "li"} { // the city's li has another id
		if err := city.eng.CreateUser(city.ctx, &civiq.User{Username: name, Role: civiq.RoleStaff, HallIDs: []string{"demo"}}, "password-"+name); err != nil {
			t.Fatal(err)
		}
	}
	li := &civiq.User{Username: "li", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
	if err := edge.eng.CreateUser(civiq.WithOwner(edge.ctx, civiq.NodeCity), li, "password-li"); err != nil { // as a pull does
		t.Fatal(err)
	}
	edge.openAs(li, "4")
	// li serves a ticket, rated badly: the city's desk names li.
	x := edge.issue("property", "")
	liCtx := civiq.WithActor(edge.ctx, civiq.Principal{User: li})
	if got, err := edge.eng.CallNext(liCtx, "demo", "4", nil); err != nil || got.ID != x.ID {
		t.Fatalf("li's call: %+v, %v", got, err)
	}
	if _, err := edge.eng.Act(liCtx, civiq.ActRequest{TicketID: x.ID, Action: civiq.ActFinish}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := edge.eng.Rate(edge.ctx, civiq.RateRequest{TicketID: x.ID, Score: 1, Reasons: []string{"attitude"}}); err != nil {
		t.Fatal(err)
	}
	a := edge.issue("general", "")
	b := edge.issue("general", "")
	edge.call("1")
	edge.call("2")
	for _, tr := range []civiq.ActRequest{
		{TicketID: a.ID, Action: civiq.ActTransfer, Clerk: "li", Note: "缺少身份证复印件"},
		{TicketID: b.ID, Action: civiq.ActTransfer, CounterID: "5", Note: "请核对税号"},
	} {
		if _, err := edge.eng.Act(edge.ctx, tr, nil); err != nil {
			t.Fatal(err)
		}
	}
	edge.take()
	city.take()
	upload(t, edge, city, tok, "edge-1", 0)
	notes := map[string]string{}
	for _, ev := range city.take() {
		if ev.Type == civiq.EventTransferred {
			notes[ev.Ticket.Number] = ev.Staff().Reason
		}
	}
	if notes[a.Number] != "缺少身份证复印件" || notes[b.Number] != "请核对税号" {
		t.Errorf("the city's transfer events' notes: %q", notes)
	}
	// On the city, li is signed in at counter 4 (staffed), whose waiting
	// list starts with the ticket sent to li; counter 5's with b.
	if got := city.clerkOf("4"); got != "li" {
		t.Errorf("the city's clerk at 4 = %q; want li", got)
	}
	for counter, want := range map[string]*civiq.Ticket{"4": a, "5": b} {
		q, err := city.eng.CounterQueue(city.ctx, "demo", counter)
		if err != nil || len(q.Tickets) == 0 || q.Tickets[0].ID != want.ID || !q.Tickets[0].ForHere || q.Tickets[0].TransferNote != notes[want.Number] {
			t.Errorf("the city's counter %s waiting list = %+v, %v; want %s first, for here, with its note", counter, q, err, want.Number)
		}
	}
	if fs, err := city.eng.FollowUps(city.ctx, "demo", civiq.FollowUpFilter{Staff: "li"}); err != nil || len(fs) != 1 {
		t.Errorf("the city's follow-ups of li = %d, %v; want the bad rating's", len(fs), err)
	}
	if st := city.status(); !slices.ContainsFunc(st.Counters, func(c civiq.CounterState) bool { return c.ID == "4" && c.Staffed }) {
		t.Errorf("the city's status: counter 4 not staffed: %+v", st.Counters)
	}
}

// Who served a ticket at the edge goes up by username: the city's staff
// report counts the tickets for its own user of that name; a name the
// city lacks leaves the ticket served by nobody it knows, and the upload
// goes through.
func TestEdgeServedByGoesUp(t *testing.T) {
	edge, city, tok := edgePair(t)
	for _, name := range []string{"zhao", "li"} { // the city's li has another id than the edge's
		if err := city.eng.CreateUser(city.ctx, &civiq.User{Username: name, Role: civiq.RoleStaff, HallIDs: []string{"demo"}}, "password-"+name); err != nil {
			t.Fatal(err)
		}
	}
	clerks := map[string]*civiq.User{}
	for _, name := range []string{"wu", "tang", "li"} { // wu: gone from the city
		u := &civiq.User{Username: name, Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
		if err := edge.eng.CreateUser(civiq.WithOwner(edge.ctx, civiq.NodeCity), u, "password-"+name); err != nil { // as a pull does
			t.Fatal(err)
		}
		clerks[name] = u
	}
	serve := func(clerk, counter, service string) *civiq.Ticket {
		t.Helper()
		x := edge.issue(service, "")
		ctx := civiq.WithActor(edge.ctx, civiq.Principal{User: clerks[clerk]})
		if got, err := edge.eng.CallNext(ctx, "demo", counter, nil); err != nil || got.ID != x.ID {
			t.Fatalf("%s's call at %s: %+v, %v", clerk, counter, got, err)
		}
		if _, err := edge.eng.Act(ctx, civiq.ActRequest{TicketID: x.ID, Action: civiq.ActFinish}, nil); err != nil {
			t.Fatal(err)
		}
		return x
	}
	edge.openAs(clerks["li"], "4")
	edge.openAs(clerks["wu"], "5")
	serve("li", "4", "property")
	serve("li", "4", "property")
	w := serve("wu", "5", "tax")
	// li calls one more and sends it on to tax: the city's report counts
	// that transfer for li at counter 4, as one made at the city.
	x := edge.issue("property", "")
	lictx := civiq.WithActor(edge.ctx, civiq.Principal{User: clerks["li"]})
	if got, err := edge.eng.CallNext(lictx, "demo", "4", nil); err != nil || got.ID != x.ID {
		t.Fatalf("li's call: %+v, %v", got, err)
	}
	if _, err := edge.eng.Act(lictx, civiq.ActRequest{TicketID: x.ID, Action: civiq.ActTransfer, ServiceID: "tax"}, nil); err != nil {
		t.Fatal(err)
	}
	upload(t, edge, city, tok, "edge-1", 0)

	if got := city.ticket(w.ID); got.Status != civiq.StatusDone {
		t.Errorf("the city's copy of wu's ticket: %s; want done", got.Status)
	}
	sr, err := city.eng.StaffReport(city.ctx, "demo", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	served, transfers := map[string]int{}, map[string]int{}
	for _, r := range sr.Rows {
		switch r.Kind {
		case civiq.RowClerk:
			served[r.ID] += r.Served
			transfers[r.ID] += r.Transfers
		case civiq.RowCounter:
			transfers["counter "+r.ID] += r.Transfers
		}
	}
	if len(served) != 1 || served["li"] != 2 {
		t.Errorf("the city's staff report by clerk: %v; want li 2 and nobody else", served)
	}
	if transfers["li"] != 1 || transfers["counter 4"] != 1 {
		t.Errorf("the city's staff report's transfers: %v; want li 1 at counter 4", transfers)
	}
}

// The edge's calls go up with the tickets alone (a call writes no
// counter.updated): the city's counters follow them all the same, so its
// display, dashboard and city overview show the number at the counter
// and count the counter working, as the edge does, and show it free
// again once the ticket is done, transferred or gone.
func TestEdgeCallsShowAtCityCounters(t *testing.T) {
	edge, city, tok := edgePair(t)
	a := edge.issue("general", "")
	b := edge.issue("general", "")
	c := edge.issue("tax", "")
	edge.call("1")
	edge.call("5")
	ack := upload(t, edge, city, tok, "edge-1", 0)
	for counter, want := range map[string]string{"1": a.Number, "5": c.Number, "2": ""} {
		if got := city.currentNumber(counter); got != want {
			t.Errorf("after the calls, the city's counter %s shows %q; want %q (the edge's %q)", counter, got, want, edge.currentNumber(counter))
		}
	}
	busy := func(e *env) int {
		n := 0
		for _, c := range e.status().Counters {
			if c.CurrentNumber != "" {
				n++
			}
		}
		return n
	}
	if got, want := busy(city), busy(edge); got != want || got != 2 {
		t.Errorf("the city counts %d counters busy, the edge %d; want 2", got, want)
	}
	edge.act(a.ID, civiq.ActRecall, "")
	edge.call("1") // a done, b called
	edge.act(c.ID, civiq.ActTransfer, "general")
	ack = upload(t, edge, city, tok, "edge-1", ack.LastApplied)
	for counter, want := range map[string]string{"1": b.Number, "5": ""} {
		if got := city.currentNumber(counter); got != want {
			t.Errorf("after the next call and the transfer, the city's counter %s shows %q; want %q", counter, got, want)
		}
	}
	edge.act(b.ID, civiq.ActFinish, "")
	upload(t, edge, city, tok, "edge-1", ack.LastApplied)
	if got := city.currentNumber("1"); got != "" {
		t.Errorf("after the finish, the city's counter 1 shows %q; want none", got)
	}
}
