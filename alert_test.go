package civiq_test

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// The alert rule alone: raised past the level by either wait, cleared
// only back under AlertClearShare of it, and the counters suggested.
func TestAlertRule(t *testing.T) {
	const level = 20 * time.Minute
	for _, c := range []struct {
		name         string
		longest, eta time.Duration
		raise, clear bool
	}{
		{"nobody waits", 0, 0, false, true},
		{"longest wait past the level", 21 * time.Minute, 2 * time.Minute, true, false},
		{"expected wait past the level", 0, 25 * time.Minute, true, false},
		{"at the level: not past it", level, level, false, false},
		{"between the clear share and the level", 16 * time.Minute, 10 * time.Minute, false, false},
		{"at the clear share", 15 * time.Minute, 15 * time.Minute, false, true},
	} {
		raise, clear := civiq.AlertLoad{LongestWait: c.longest, ExpectedWait: c.eta}.Over(level)
		if raise != c.raise || clear != c.clear {
			t.Errorf("%s: raise %v clear %v, want %v %v", c.name, raise, clear, c.raise, c.clear)
		}
	}
	if raise, clear := (civiq.AlertLoad{LongestWait: time.Hour}).Over(0); raise || !clear {
		t.Errorf("no level: raise %v clear %v", raise, clear)
	}
	for _, c := range []struct {
		name string
		load civiq.AlertLoad
		want int
	}{
		// 12 an hour of 10 minutes each: Erlang C asks 3 for 80% in 15
		// minutes (as the planner's own table test).
		{"Erlang C at the pace", civiq.AlertLoad{ArrivalsPerHour: 12, HandlingSeconds: 600}, 3},
		// 30 waiting of 5 minutes each within 15 minutes: 10.
		{"the backlog", civiq.AlertLoad{Waiting: 30, ArrivalsPerHour: 6, HandlingSeconds: 300}, 10},
		{"one waits, no pace known", civiq.AlertLoad{Waiting: 1, HandlingSeconds: 300}, 1},
		{"nobody", civiq.AlertLoad{HandlingSeconds: 300}, 0},
	} {
		if got := c.load.Suggest(15 * time.Minute); got != c.want {
			t.Errorf("%s: %d counters, want %d", c.name, got, c.want)
		}
	}
}

// A simulated rush: a crowd takes property tickets; the expected wait
// passes the level and the alert is raised, once, however many come and
// are called; the dashboard shows it with more counters to open and flags
// the counters idle while the queue waits; once the queue is worked off
// the alert clears, once. The events are stored, the alert in the staff
// view only.
func TestServiceAlertRush(t *testing.T) {
	e := newEnv(t)
	_, svcs, _ := civiq.DemoHall()
	prop := svcs[1]
	prop.TargetWaitMinutes, prop.AlertWaitMinutes = 10, 15
	if err := e.eng.SaveService(e.ctx, &prop, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	check := func() int {
		t.Helper()
		n, err := e.eng.CheckServiceAlerts(e.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := check(); n != 0 {
		t.Fatalf("a quiet hall raised %d alerts", n)
	}
	e.take()
	for range 30 {
		e.issue("property", "")
	}
	e.take()
	if n := check(); n != 1 {
		t.Fatalf("the rush wrote %d alert events, want 1", n)
	}
	// The demo's counters are loaded open with nobody there: none works,
	// for the estimate as for open_counters (Counter.Works).
	ev := e.expect(civiq.EventServiceAlert)[0]
	a := ev.Alert
	if a == nil || a.ServiceID != "property" || a.State != civiq.AlertRaised || a.AlertSeconds != 900 || a.TargetSeconds != 600 ||
		a.ExpectedWaitSeconds <= 900 || a.Waiting != 30 || a.OpenCounters != 0 || a.OpenMore < 1 || a.SuggestedCounters != a.OpenCounters+a.OpenMore {
		t.Fatalf("raised alert: %+v", a)
	}
	if !strings.Contains(string(ev.JSON(true)), `"alert":{"service_id":"property","state":"raised"`) {
		t.Errorf("staff view: %s", ev.JSON(true))
	}
	if strings.Contains(string(ev.JSON(false)), `"alert":`) {
		t.Errorf("public view carries the alert: %s", ev.JSON(false))
	}

	// More tickets, calls, time: still the one alert.
	e.issue("property", "")
	first := e.call("3")
	e.advance(5 * time.Minute)
	if n := check(); n != 0 {
		t.Fatalf("the alert raised again: %d events", n)
	}
	// Clerks at 4 and 6: an open counter with nobody there is not idle,
	// it is not open to the screens (Counter.Shown).
	e.staffAt("wang", "4")
	e.staffAt("zhao", "6")
	d, err := e.eng.Dashboard(e.ctx, "demo", civiq.DefaultDashboardTarget)
	if err != nil {
		t.Fatal(err)
	}
	e.take()
	if len(d.Alerts) != 1 || d.Alerts[0].ServiceID != "property" || d.Alerts[0].OpenMore < 1 {
		t.Fatalf("dashboard alerts: %+v", d.Alerts)
	}
	var ds civiq.DashService
	for _, s := range d.Services {
		if s.ID == "property" {
			ds = s
		}
	}
	if ds.Alert == nil || ds.AlertSeconds != 900 || ds.TargetSeconds != 600 || ds.ExpectedWaitSeconds <= 900 {
		t.Fatalf("dashboard property: %+v", ds)
	}
	idle := map[string]bool{}
	for _, c := range d.Counters {
		idle[c.ID] = c.Idle
	}
	// 3 serves; 4 and 6 are open, their clerks there, with property
	// waiting; 5 (tax) has nothing waiting; 1 and 2 serve general and
	// social, empty.
	if want := map[string]bool{"1": false, "2": false, "3": false, "4": true, "5": false, "6": true}; !maps.Equal(idle, want) || d.IdleCounters != 2 {
		t.Fatalf("idle counters %v (%d), want %v", idle, d.IdleCounters, want)
	}

	// The counters work the queue off.
	e.act(first.ID, civiq.ActFinish, "")
	for _, c := range []string{"3", "4", "6"} {
		for {
			tk := e.call(c)
			if tk == nil {
				break
			}
			e.act(tk.ID, civiq.ActFinish, "")
		}
	}
	e.take()
	if n := check(); n != 1 {
		t.Fatalf("an empty queue wrote %d alert events, want 1 (cleared)", n)
	}
	ev = e.expect(civiq.EventServiceAlert)[0]
	if ev.Alert.State != civiq.AlertCleared || ev.Alert.ServiceID != "property" || ev.Alert.Waiting != 0 {
		t.Fatalf("cleared alert: %+v", ev.Alert)
	}
	if n := check(); n != 0 {
		t.Fatalf("cleared again: %d", n)
	}
	stored, err := e.store.EventsAfter(e.ctx, "demo", 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, ev := range stored {
		if ev.Type == civiq.EventServiceAlert {
			states = append(states, ev.Alert.State)
		}
	}
	if strings.Join(states, ",") != "raised,cleared" {
		t.Fatalf("stored alert events: %v", states)
	}
}

// taxRush gives the demo's tax service an alert level of 5 minutes and
// 20 citizens waiting for it, and answers the service.
func taxRush(t *testing.T, e *env) civiq.Service {
	t.Helper()
	_, svcs, _ := civiq.DemoHall()
	tax := svcs[2]
	tax.AlertWaitMinutes = 5
	if err := e.eng.SaveService(e.ctx, &tax, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		e.issue("tax", "")
	}
	return tax
}

// A service whose alert level is taken away while raised is cleared.
func TestServiceAlertLevelRemoved(t *testing.T) {
	e := newEnv(t)
	tax := taxRush(t, e)
	if n, err := e.eng.CheckServiceAlerts(e.ctx, "demo"); err != nil || n != 1 {
		t.Fatalf("raised %d, %v", n, err)
	}
	tax.AlertWaitMinutes = 0
	if err := e.eng.SaveService(e.ctx, &tax, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	e.take()
	if n, err := e.eng.CheckServiceAlerts(e.ctx, "demo"); err != nil || n != 1 {
		t.Fatalf("cleared %d, %v", n, err)
	}
	if ev := e.expect(civiq.EventServiceAlert); len(ev) == 1 && ev[0].Alert.State != civiq.AlertCleared {
		t.Fatalf("%+v", ev[0].Alert)
	}
}

// A dashboard read only reads: a hall past a service's level gets its
// alert from the sweep (CheckServiceAlerts), never from a GET, and the
// dashboard shows it once raised.
func TestDashboardReadRaisesNoAlert(t *testing.T) {
	e := newEnv(t)
	taxRush(t, e)
	e.take()
	d, err := e.eng.Dashboard(e.ctx, "demo", civiq.DefaultDashboardTarget)
	if err != nil {
		t.Fatal(err)
	}
	e.expect() // no service.alert written by the read
	if len(d.Alerts) != 0 {
		t.Fatalf("dashboard before the sweep: %+v", d.Alerts)
	}
	if n, err := e.eng.CheckServiceAlerts(e.ctx, "demo"); err != nil || n != 1 {
		t.Fatalf("sweep raised %d, %v", n, err)
	}
	e.expect(civiq.EventServiceAlert)
	if d, err = e.eng.Dashboard(e.ctx, "demo", civiq.DefaultDashboardTarget); err != nil || len(d.Alerts) != 1 || d.Alerts[0].ServiceID != "tax" {
		t.Fatalf("dashboard after the sweep: %+v, %v", d, err)
	}
	e.expect()
}

// TestDeviceRunCounterWorks: a counter a paired counter device calls at,
// with nobody signed in, works between its calls as one with its clerk
// does: the expected wait, the waits' and the dashboard's open_counters
// and the service alerts count it, so a finish there changes none of them.
func TestDeviceRunCounterWorks(t *testing.T) {
	e := newEnv(t)
	d := &civiq.Device{HallID: "demo", Kind: civiq.DeviceCounter, CounterID: "5", Name: "5号窗口呼叫器"}
	if err := e.eng.CreateDevice(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.eng.PairDevice(e.ctx, d.PairingCode); err != nil {
		t.Fatal(err)
	}
	dev := civiq.WithActor(e.ctx, civiq.Principal{Device: d})
	if _, err := e.eng.SetCounterStatus(dev, "demo", "5", civiq.CounterOpen, "", nil); err != nil {
		t.Fatal(err)
	}
	li := e.staffAt("li", "6") // tax is served at 5 and 6
	for range 20 {
		e.issue("tax", "")
	}
	tk, err := e.eng.CallNext(dev, "demo", "5", nil)
	if err != nil || tk == nil {
		t.Fatalf("the device's call: %+v, %v", tk, err)
	}
	if _, err := e.eng.Act(dev, civiq.ActRequest{TicketID: tk.ID, Action: civiq.ActFinish}, nil); err != nil {
		t.Fatal(err)
	}
	taxWait := func() civiq.ServiceWait {
		t.Helper()
		ws, err := e.eng.ServiceWaits(e.ctx, "demo")
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			if w.ID == "tax" {
				return w
			}
		}
		t.Fatal("no tax in the waits")
		return civiq.ServiceWait{}
	}
	between := taxWait() // the device between its calls
	if between.OpenCounters != 2 {
		t.Errorf("open_counters between the device's calls = %d, want 2", between.OpenCounters)
	}
	_, svcs, _ := civiq.DemoHall()
	tax := svcs[2]
	tax.AlertWaitMinutes = between.ETASeconds/60 + 1 // above what two counters take
	if err := e.eng.SaveService(e.ctx, &tax, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.eng.CheckServiceAlerts(e.ctx, "demo"); err != nil || n != 0 {
		t.Errorf("the device between its calls raised %d alerts, %v", n, err)
	}
	dash, err := e.eng.Dashboard(e.ctx, "demo", civiq.DefaultDashboardTarget)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range dash.Services {
		if s.ID == "tax" && s.OpenCounters != 2 {
			t.Errorf("the dashboard's tax open_counters = %d, want 2", s.OpenCounters)
		}
	}
	// A ticket sent from counter 6 to the device's counter, free and with
	// nobody sent there before: its wait is that counter's, about none
	// (not the service's queue).
	at6 := civiq.WithActor(e.ctx, civiq.Principal{User: li})
	sent, err := e.eng.CallNext(at6, "demo", "6", nil)
	if err != nil || sent == nil {
		t.Fatalf("li's call: %+v, %v", sent, err)
	}
	if sent, err = e.eng.Act(at6, civiq.ActRequest{TicketID: sent.ID, Action: civiq.ActTransfer, CounterID: "5"}, nil); err != nil {
		t.Fatal(err)
	}
	if sent.Position == nil || *sent.Position != 0 || sent.ETASeconds == nil || *sent.ETASeconds > 60 {
		t.Errorf("a ticket sent to the device's free counter: position %v, eta %v s; want 0, under a minute", deref(sent.Position), deref(sent.ETASeconds))
	}
	e.staffAt("wang", "5") // a clerk signed in there: the same counter working
	if staffed := taxWait(); staffed.ETASeconds != between.ETASeconds || staffed.OpenCounters != 2 {
		t.Errorf("between the device's calls %+v; with a clerk signed in %+v", between, staffed)
	}
}
