package civiq_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/storetest"
)

// emptyEdge is an edge node's engine on an empty database.
func emptyEdge(t *testing.T) *civiq.Engine {
	t.Helper()
	store := storetest.Open(t)
	t.Cleanup(func() { store.Close() })
	return civiq.NewEngine(store)
}

// pull is one pull of the edge from the city, as the link makes it.
func pull(t *testing.T, city, edge *civiq.Engine, hall string) bool {
	t.Helper()
	ctx := context.Background()
	cursor := ""
	if s, err := edge.EdgePull(ctx, hall); err == nil {
		cursor = s.Cursor
	} else if !civiq.IsNotFound(err) {
		t.Fatal(err)
	}
	p, err := city.PullConfig(ctx, hall, cursor)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := edge.ApplyConfig(ctx, hall, p)
	if err != nil {
		t.Fatalf("ApplyConfig: %v", err)
	}
	return applied
}

// TestConfigPull: an edge on an empty database pulls its hall's whole
// configuration in one pull (users sign in with their city passwords,
// devices keep their tokens, bookings check in, passes verify); a pull
// with nothing changed applies nothing; a change on the city reaches the
// edge at the next pull while the edge keeps its own live state.
func TestConfigPull(t *testing.T) {
	t.Parallel()
	city := newBookingEnv(t)
	city.eng.Receipts = receiptKeys(t, 5)
	ctx := city.ctx
	if err := city.eng.CreateUser(ctx, &civiq.User{Username: "wang.fang", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}, "counter-pass-1"); err != nil {
		t.Fatal(err)
	}
	kiosk := &civiq.Device{Kind: "kiosk", HallID: "demo", Name: "Kiosk 1"}
	if err := city.eng.CreateDevice(ctx, kiosk); err != nil {
		t.Fatal(err)
	}
	b := city.mustBook("property", slot(3, 10, 0), 1)
	if err := city.eng.SetHallCalendarDay(ctx, "demo", civiq.CalendarDay{Date: "2026-03-04", Kind: "off", Name: "hall day"}); err != nil {
		t.Fatal(err)
	}

	edge := emptyEdge(t)
	edge.Now = city.eng.Now
	if !pull(t, city.eng, edge, "demo") {
		t.Fatal("the first pull applied nothing")
	}
	if pull(t, city.eng, edge, "demo") {
		t.Error("a pull with nothing changed applied something")
	}
	h, err := edge.Hall(ctx, "demo")
	if err != nil || h.Name != "示范政务服务大厅" {
		t.Fatalf("edge hall %+v, %v", h, err)
	}
	svcs, _ := edge.Services(ctx, "demo")
	counters, _ := edge.Counters(ctx, "demo")
	if len(svcs) != 4 || svcs[0].ID != "general" || len(counters) != 6 {
		t.Errorf("edge has %d services, %d counters", len(svcs), len(counters))
	}
	if _, _, _, err := edge.Login(ctx, "wang.fang", "counter-pass-1"); err != nil {
		t.Errorf("the city's staff cannot sign in at the edge: %v", err)
	}
	devs, _ := edge.Devices(ctx, "demo")
	if len(devs) != 1 || devs[0].PairingCode != kiosk.PairingCode {
		t.Errorf("edge devices %+v", devs)
	}
	if edge.CityKeys == nil {
		t.Error("the edge holds no city keys")
	}
	if y, err := edge.HallCalendarYear(ctx, "demo", 2026); err != nil || !slices.ContainsFunc(y.Days, func(d civiq.CalendarDay) bool { return d.Date == "2026-03-04" && d.Kind == "off" }) {
		t.Errorf("edge calendar %+v, %v", y, err)
	}
	// The pulled booking checks in at the edge by its own copy.
	edge.Sealer = testSealer(t)
	city.set(time.Date(2026, 3, 3, 9, 40, 0, 0, shanghai))
	tk, got, err := edge.CheckIn(ctx, civiq.CheckInRequest{HallID: "demo", Code: b.Code, IDLast4: civiq.Last4(idOf(1))}, nil)
	if err != nil || got.ID != b.ID || tk.Channel != civiq.ChannelAppointment {
		t.Fatalf("check-in at the edge: %+v, %+v, %v", tk, got, err)
	}

	// Live state at the edge; a change on the city.
	if _, err := edge.SetCounterStatus(ctx, "demo", "3", civiq.CounterOpen, "", nil); err != nil {
		t.Fatal(err)
	}
	svc := svcs[1]
	svc.HallID, svc.Name = "demo", "不动产登记（新）"
	if err := city.eng.SaveService(ctx, &svc, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	b2 := city.mustBook("tax", slot(3, 11, 0), 2)
	_, staff := staffCtx(ctx)
	if _, err := city.eng.CancelBooking(ctx, civiq.CancelRequest{Code: b2.Code, By: staff}); err != nil {
		t.Fatal(err)
	}
	if !pull(t, city.eng, edge, "demo") {
		t.Fatal("a change on the city was not applied")
	}
	svcs, _ = edge.Services(ctx, "demo")
	if svcs[1].Name != "不动产登记（新）" {
		t.Errorf("edge service %+v", svcs[1])
	}
	counters, _ = edge.Counters(ctx, "demo")
	for _, c := range counters {
		if c.ID == "3" && c.Status != civiq.CounterOpen {
			t.Errorf("the pull changed the edge's counter 3: %+v", c)
		}
	}
	list, _ := edge.HallBookings(ctx, "demo", "2026-03-03")
	states := map[string]string{}
	for _, bk := range list {
		states[bk.Code] = bk.Status
	}
	if states[b.Code] != civiq.BookingCheckedIn || states[b2.Code] != civiq.BookingCancelled {
		t.Errorf("edge bookings %v", states)
	}
}

// BenchmarkPullConfig is the city's cost of one edge pull with nothing
// changed (what each edge asks every edgelink.PullEvery): the demo hall's
// configuration read, and its cursor hashed, to answer the cursor alone.
func BenchmarkPullConfig(b *testing.B) {
	city := newEnv(b)
	city.eng.Sealer = testSealer(b)
	city.eng.Receipts = receiptKeys(b, 5)
	p, err := city.eng.PullConfig(city.ctx, "demo", "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if q, err := city.eng.PullConfig(city.ctx, "demo", p.Cursor); err != nil || q.Config != nil {
			b.Fatalf("pull: %v, config %v", err, q.Config != nil)
		}
	}
}

// TestConfigChangeEvents: every change to what the city owns of a hall is
// one transaction with an event row per hall it concerns (a user's, in
// each of their halls; an admin's, in every hall), and the edge's next
// pull brings it: a user made on the city signs in at the edge, and with
// a new password only with it.
func TestConfigChangeEvents(t *testing.T) {
	t.Parallel()
	city := newEnv(t)
	edge := emptyEdge(t)
	edge.Now = city.eng.Now
	ctx := city.ctx
	if err := city.eng.SaveHall(ctx, &civiq.Hall{ID: "other", Name: "其他", Timezone: "Asia/Shanghai", Policy: civiq.PolicyFIFO, MaxCalls: 3}); err != nil {
		t.Fatal(err)
	}
	pull(t, city.eng, edge, "demo")
	city.take()
	changed := func(what string, want ...string) {
		t.Helper()
		var got []string
		for _, ev := range city.take() {
			if ev.Type == civiq.EventConfigChanged {
				got = append(got, ev.HallID+" "+ev.Text)
			} else {
				t.Errorf("%s: event %s", what, ev.Type)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: config events %q; want %q", what, got, want)
		}
	}
	if err := city.eng.CreateUser(ctx, &civiq.User{Username: "wang.fang", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}, "counter-pass-1"); err != nil {
		t.Fatal(err)
	}
	changed("a staff member made", "demo users")
	if !pull(t, city.eng, edge, "demo") {
		t.Fatal("the pull after a new user applied nothing")
	}
	if _, _, _, err := edge.Login(ctx, "wang.fang", "counter-pass-1"); err != nil {
		t.Errorf("the new user at the edge: %v", err)
	}
	pw := "counter-pass-2"
	admin := civiq.Principal{User: &civiq.User{ID: 9999, Username: "root", Role: civiq.RoleAdmin}}
	if _, err := city.eng.UpdateUser(ctx, admin, "wang.fang", civiq.UserUpdate{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	changed("a password reset", "demo users")
	pull(t, city.eng, edge, "demo")
	if _, _, _, err := edge.Login(ctx, "wang.fang", "counter-pass-1"); civiq.ErrorCode(err) != civiq.EUnauthorized {
		t.Errorf("the old password at the edge: %v", err)
	}
	if _, _, _, err := edge.Login(ctx, "wang.fang", pw); err != nil {
		t.Errorf("the new password at the edge: %v", err)
	}
	if err := city.eng.CreateUser(ctx, &civiq.User{Username: "zhao.min", Role: civiq.RoleAdmin}, "admin-pass-1"); err != nil {
		t.Fatal(err)
	}
	changed("an admin made", "demo users", "other users")
	if err := city.eng.DeleteUser(ctx, admin, "wang.fang"); err != nil {
		t.Fatal(err)
	}
	changed("a user deleted", "demo users")
	kiosk := &civiq.Device{Kind: "kiosk", HallID: "demo", Name: "Kiosk 2"}
	if err := city.eng.CreateDevice(ctx, kiosk); err != nil {
		t.Fatal(err)
	}
	changed("a device", "demo devices")
	if err := city.eng.SetHallCalendarDay(ctx, "demo", civiq.CalendarDay{Date: "2031-03-04", Kind: "off", Name: "hall day"}); err != nil {
		t.Fatal(err)
	}
	changed("a calendar day", "demo calendar")
	if _, err := city.eng.SetCallingPolicy(ctx, "demo", civiq.CallingPolicy{Policy: civiq.PolicyFIFO, MaxCalls: 3, LateReturnBehind: civiq.DefaultLateReturnBehind}); err != nil {
		t.Fatal(err)
	}
	changed("the calling policy", "demo hall_settings")
	if !pull(t, city.eng, edge, "demo") {
		t.Error("the pull after the changes applied nothing")
	}
}

// TestEdgeKeepsItsPairings: a device paired at the edge (the hall's
// kiosks and counters talk to it on the hall's LAN) keeps its token when a
// later change on the city is pulled, and its used pairing code does not
// come back; a device the city removed goes, and one the city paired
// itself takes the city's token.
func TestEdgeKeepsItsPairings(t *testing.T) {
	t.Parallel()
	city := newEnv(t)
	ctx := city.ctx
	kiosk := &civiq.Device{Kind: "kiosk", HallID: "demo", Name: "Kiosk 1"}
	gone := &civiq.Device{Kind: "display", HallID: "demo", Name: "Screen 1"}
	for _, d := range []*civiq.Device{kiosk, gone} {
		if err := city.eng.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	edge := emptyEdge(t)
	edge.Now = city.eng.Now
	pull(t, city.eng, edge, "demo")
	if _, _, err := edge.PairDevice(ctx, kiosk.PairingCode); err != nil {
		t.Fatalf("pairing at the edge: %v", err)
	}
	if _, _, err := edge.PairDevice(ctx, gone.PairingCode); err != nil {
		t.Fatalf("pairing at the edge: %v", err)
	}
	// Changes on the city: a service renamed, the screen removed.
	svcs, _ := city.eng.Services(ctx, "demo")
	svc := svcs[0]
	svc.Name = "综合受理（新）"
	if err := city.eng.SaveService(ctx, &svc, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	if err := city.eng.DeleteDevice(ctx, "demo", gone.ID); err != nil {
		t.Fatal(err)
	}
	if !pull(t, city.eng, edge, "demo") {
		t.Fatal("the change was not applied")
	}
	devs, _ := edge.Devices(ctx, "demo")
	if len(devs) != 1 || devs[0].Name != "Kiosk 1" || devs[0].TokenHash == "" || devs[0].PairingCode != "" {
		t.Fatalf("edge devices after the pull %+v", devs)
	}
	if _, _, err := edge.PairDevice(ctx, kiosk.PairingCode); err == nil {
		t.Error("the used pairing code paired again at the edge")
	}
}

// readCounter is a store that counts its read transactions.
type readCounter struct {
	civiq.Store
	views int
}

func (s *readCounter) View(ctx context.Context, fn func(civiq.Tx) error) error {
	s.views++
	return s.Store.View(ctx, fn)
}

// An edge pulls every two seconds: the city answers the cursor the edge
// holds without reading the hall's configuration while only live work
// (tickets, calls) happened since, and reads it again after a change of
// the configuration, a counter's event, or ConfigRecheck.
func TestConfigPullUnchangedReadsNothing(t *testing.T) {
	e := newEnv(t)
	reads := &readCounter{Store: e.store}
	city := civiq.NewEngine(reads)
	city.Now = e.eng.Now
	pullAt := func(after string, wantRead, wantConfig bool) string {
		t.Helper()
		before := reads.views
		p, err := city.PullConfig(e.ctx, "demo", after)
		if err != nil {
			t.Fatal(err)
		}
		if read := reads.views > before; read != wantRead {
			t.Errorf("pull after %q: read the configuration %v, want %v", after, read, wantRead)
		}
		if (p.Config != nil) != wantConfig {
			t.Errorf("pull after %q: a configuration %v, want %v", after, p.Config != nil, wantConfig)
		}
		return p.Cursor
	}
	c := pullAt("", true, true)
	if got := pullAt(c, false, false); got != c {
		t.Fatalf("unchanged: cursor %q, want %q", got, c)
	}
	// Live work: tickets, calls, a finish.
	e.issue("general", "")
	e.issue("tax", "")
	tk := e.call("1")
	e.act(tk.ID, civiq.ActFinish, "")
	pullAt(c, false, false)
	pullAt("another", true, true) // not the cursor the city answered
	// A counter's event: read again, the same configuration.
	if _, err := e.eng.SetCounterStatus(e.ctx, "demo", "2", civiq.CounterPaused, "会议", nil); err != nil {
		t.Fatal(err)
	}
	if got := pullAt(c, true, false); got != c {
		t.Fatalf("a counter's status changed the cursor")
	}
	pullAt(c, false, false)
	// A change of the configuration.
	_, svcs, _ := civiq.DemoHall()
	svcs[0].Name = "综合窗口（新）"
	if err := e.eng.SaveService(e.ctx, &svcs[0], civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	c2 := pullAt(c, true, true)
	if c2 == c {
		t.Fatal("a renamed service kept the cursor")
	}
	pullAt(c2, false, false)
	// ConfigRecheck later it reads again.
	e.advance(civiq.ConfigRecheck)
	pullAt(c2, true, false)
	pullAt(c2, false, false)
}
