package civiq

import (
	"context"
	"log/slog"
	"math"
	"time"
)

// Service-level targets and alerts. A service may set a target wait
// (Service.TargetWaitMinutes: the share of tickets called within it is
// its service level, on the dashboard and in the reports) and an alert
// level (Service.AlertWaitMinutes). When the longest wait of the
// service's waiting tickets, or the expected wait of a ticket taken now,
// passes the alert level, the service's alert is raised: one
// service.alert event with state "raised", and the dashboard shows it
// with the counters the staffing model asks for. It is cleared, with one
// service.alert event with state "cleared", once both are back at or
// under AlertClearShare of the level; in between nothing more is written,
// however many tickets come and go.

// EventServiceAlert is the event of a service's alert raised or cleared;
// its staff view carries the alert (ServiceAlert).
const EventServiceAlert = "service.alert"

// States of a service alert.
const (
	AlertRaised  = "raised"
	AlertCleared = "cleared"
)

// Limits and rules of the service-level settings.
const (
	// MaxServiceWaitMinutes bounds a service's target wait and alert
	// level.
	MaxServiceWaitMinutes = 240
	// AlertClearShare is the share of the alert level both waits must be
	// back under for the alert to clear: an alert does not come and go
	// with every ticket called around the level.
	AlertClearShare = 0.75
	// AlertGoal is the share of citizens the suggested counters call within
	// the target, by Erlang C (the staffing planner's default goal).
	AlertGoal = 0.8
	// AlertCheckEvery is how often the server checks every hall's alerts
	// (the dashboard checks its hall on each read too).
	AlertCheckEvery = 15 * time.Second
)

// ServiceAlert is a service's alert as the dashboard and the
// service.alert event show it.
type ServiceAlert struct {
	ServiceID string `json:"service_id"`
	State     string `json:"state"` // raised, cleared
	// Since is when it was raised.
	Since time.Time `json:"since"`
	// The service's alert level and target, and the waits that passed
	// (or came back under) it, in seconds.
	AlertSeconds        int `json:"alert_seconds"`
	TargetSeconds       int `json:"target_seconds"`
	LongestWaitSeconds  int `json:"longest_wait_seconds"`
	ExpectedWaitSeconds int `json:"expected_wait_seconds"`
	Waiting             int `json:"waiting"`
	// OpenCounters serve the service now; SuggestedCounters is how many
	// the staffing model asks for (Suggest), OpenMore the difference.
	OpenCounters      int `json:"open_counters"`
	SuggestedCounters int `json:"suggested_counters"`
	OpenMore          int `json:"open_more"`
}

// AlertTx is what a store keeps of the alerts raised now
// (sqlstore/alerts.go).
type AlertTx interface {
	// ServiceAlerts gives the raise time of each service of the hall whose
	// alert is raised.
	ServiceAlerts(hallID string) (map[string]time.Time, error)
	PutServiceAlert(hallID, serviceID string, raisedAt time.Time) error
	DeleteServiceAlert(hallID, serviceID string) error
}

// Target is the service's target wait: its own, or def when it sets none.
func (s *Service) Target(def time.Duration) time.Duration {
	if s.TargetWaitMinutes > 0 {
		return time.Duration(s.TargetWaitMinutes) * time.Minute
	}
	return def
}

// AlertLevel is the wait at which the service's alert is raised, 0 when it
// has none.
func (s *Service) AlertLevel() time.Duration { return time.Duration(s.AlertWaitMinutes) * time.Minute }

// keepLevels takes from the stored service old the service-level settings
// keep names.
func (s *Service) keepLevels(old *Service, keep KeepQuotas) {
	if keep.TargetWait {
		s.TargetWaitMinutes = old.TargetWaitMinutes
	}
	if keep.AlertWait {
		s.AlertWaitMinutes = old.AlertWaitMinutes
	}
}

func (s *Service) validateLevels() error {
	if s.TargetWaitMinutes < 0 || s.TargetWaitMinutes > MaxServiceWaitMinutes {
		return FieldErrorf("target_wait_minutes", "target_wait_minutes must be a whole number of minutes from 0 (the dashboard's target) to %d", MaxServiceWaitMinutes)
	}
	if s.AlertWaitMinutes < 0 || s.AlertWaitMinutes > MaxServiceWaitMinutes {
		return FieldErrorf("alert_wait_minutes", "alert_wait_minutes must be a whole number of minutes from 0 (no alert) to %d", MaxServiceWaitMinutes)
	}
	return nil
}

// AlertLoad is what the alert rule reads of one service now.
type AlertLoad struct {
	Waiting      int
	LongestWait  time.Duration // of the earliest issued waiting ticket; 0 when none waits
	ExpectedWait time.Duration // of a normal ticket taken now
	OpenCounters int
	// ArrivalsPerHour and HandlingSeconds are the service's recent pace,
	// for the staffing model.
	ArrivalsPerHour float64
	HandlingSeconds float64
}

// Over reports whether the load passes the alert level (raise), and
// whether it is back under AlertClearShare of it (clear).
func (l AlertLoad) Over(level time.Duration) (raise, clear bool) {
	if level <= 0 {
		return false, true
	}
	worst := max(l.LongestWait, l.ExpectedWait)
	return worst > level, worst <= time.Duration(float64(level)*AlertClearShare)
}

// Suggest is how many counters the service needs now to call a share
// AlertGoal of its citizens within target: the more of what Erlang C asks
// for at its recent pace (CountersFor) and what calls every citizen
// waiting now within the target (their handling time over the target), and
// at least one while anyone waits.
func (l AlertLoad) Suggest(target time.Duration) int {
	if target <= 0 || l.HandlingSeconds <= 0 {
		return l.OpenCounters
	}
	n := CountersFor(l.ArrivalsPerHour, l.HandlingSeconds, target.Seconds(), AlertGoal)
	backlog := int(math.Ceil(float64(l.Waiting) * l.HandlingSeconds / target.Seconds()))
	n = max(n, backlog)
	if l.Waiting > 0 {
		n = max(n, 1)
	}
	return n
}

// alert is the service's alert for load, in state.
func (l AlertLoad) alert(s *Service, state string, since time.Time, target time.Duration) ServiceAlert {
	a := ServiceAlert{ServiceID: s.ID, State: state, Since: since, AlertSeconds: int(s.AlertLevel() / time.Second),
		TargetSeconds: int(target / time.Second), LongestWaitSeconds: waitSeconds(l.LongestWait),
		ExpectedWaitSeconds: waitSeconds(l.ExpectedWait), Waiting: l.Waiting, OpenCounters: l.OpenCounters}
	a.SuggestedCounters = max(l.Suggest(target), l.OpenCounters)
	a.OpenMore = a.SuggestedCounters - l.OpenCounters
	return a
}

// alertLoads reads the load of every service of the hall that has an alert
// level (or, with all, every service), at now.
func (e *Engine) alertLoads(tx Tx, hallID string, svcs []Service, counters []Counter, all bool, now time.Time) (map[string]AlertLoad, error) {
	out := map[string]AlertLoad{}
	var waiting map[string]int
	var oldest map[string]time.Time
	for i := range svcs {
		s := &svcs[i]
		if !all && s.AlertWaitMinutes == 0 {
			continue
		}
		if waiting == nil {
			var err error
			if waiting, err = tx.WaitingCounts(hallID); err != nil {
				return nil, err
			}
			if oldest, err = tx.OldestWaiting(hallID); err != nil {
				return nil, err
			}
		}
		l := AlertLoad{Waiting: waiting[s.ID]}
		if at, ok := oldest[s.ID]; ok {
			l.LongestWait = max(now.Sub(at), 0)
		}
		for _, c := range counters {
			if c.Works() && c.Serves(s.ID) { // as the estimate counts them
				l.OpenCounters++
			}
		}
		probe := &Ticket{HallID: hallID, ServiceID: s.ID, Priority: PriorityNormal, Status: StatusWaiting, IssuedAt: now, QueuedAt: now}
		eta, err := e.predictWait(tx, probe, l.Waiting)
		if err != nil {
			return nil, err
		}
		l.ExpectedWait = time.Duration(eta) * time.Second
		hs, err := e.handling.get(tx, hallID, s.ID, now)
		if err != nil {
			return nil, err
		}
		l.HandlingSeconds, l.ArrivalsPerHour = hs.Mean, hs.Rate*3600
		out[s.ID] = l
	}
	return out, nil
}

// alertChanges compares the alerts raised now with what the loads call
// for: the alerts to raise and to clear.
func alertChanges(svcs []Service, raised map[string]time.Time, loads map[string]AlertLoad, def time.Duration, now time.Time) []ServiceAlert {
	var out []ServiceAlert
	seen := map[string]bool{}
	for i := range svcs {
		s := &svcs[i]
		seen[s.ID] = true
		l, ok := loads[s.ID]
		since, up := raised[s.ID]
		raise, clear := l.Over(s.AlertLevel())
		switch {
		case !ok && up: // the service's alert level was taken away
			out = append(out, ServiceAlert{ServiceID: s.ID, State: AlertCleared, Since: since})
		case !ok:
		case !up && raise:
			out = append(out, l.alert(s, AlertRaised, now, s.Target(def)))
		case up && clear:
			out = append(out, l.alert(s, AlertCleared, since, s.Target(def)))
		}
	}
	for sid, since := range raised {
		if !seen[sid] { // the service is gone
			out = append(out, ServiceAlert{ServiceID: sid, State: AlertCleared, Since: since})
		}
	}
	return out
}

// CheckServiceAlerts raises and clears the service alerts of a hall, or
// of every hall when hallID is "", writing one service.alert event for
// each change, and returns how many it wrote. Halls whose live work
// another node owns (an edge's hall on the city) are left to it. It reads
// first and takes the writer only when something changes.
func (e *Engine) CheckServiceAlerts(ctx context.Context, hallID string) (int, error) {
	var halls []string
	if hallID != "" {
		halls = []string{hallID}
	} else {
		err := e.store.View(ctx, func(tx Tx) error {
			hs, err := tx.Halls()
			for _, h := range hs {
				halls = append(halls, h.ID)
			}
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	n := 0
	for _, h := range halls {
		if err := e.Refuse(ctx, WorkCalls, h); err != nil {
			if c := ErrorCode(err); c != EOwnedByEdge && c != EOwnedByCity {
				return n, err
			}
			continue
		}
		k, err := e.checkHallAlerts(ctx, h)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// checkHallAlerts is CheckServiceAlerts of one hall.
func (e *Engine) checkHallAlerts(ctx context.Context, hallID string) (int, error) {
	changes := func(tx Tx) ([]ServiceAlert, error) {
		_, svcs, counters, err := hallLayout(tx, hallID)
		if err != nil {
			return nil, err
		}
		raised, err := tx.ServiceAlerts(hallID)
		if err != nil {
			return nil, err
		}
		now := e.now()
		loads, err := e.alertLoads(tx, hallID, svcs, counters, false, now)
		if err != nil {
			return nil, err
		}
		return alertChanges(svcs, raised, loads, DefaultDashboardTarget, now), nil
	}
	var due []ServiceAlert
	if err := e.store.View(ctx, func(tx Tx) (err error) { due, err = changes(tx); return }); err != nil || len(due) == 0 {
		return 0, err
	}
	n := 0
	err := e.update(ctx, func(tx Tx) error {
		due, err := changes(tx) // again, under the writer: another node may have written them
		if err != nil {
			return err
		}
		n = len(due)
		for i := range due {
			a := &due[i]
			if a.State == AlertRaised {
				err = tx.PutServiceAlert(hallID, a.ServiceID, a.Since)
			} else {
				err = tx.DeleteServiceAlert(hallID, a.ServiceID)
			}
			if err != nil {
				return err
			}
			if err := tx.AppendEvent(&Event{HallID: hallID, Type: EventServiceAlert, At: e.now(), Alert: a}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// CheckAlertsEvery checks every hall's service alerts every interval until
// stop is closed, for the server: a waiting ticket passes the level with
// no event to tell.
func (e *Engine) CheckAlertsEvery(interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if _, err := e.CheckServiceAlerts(context.Background(), ""); err != nil {
				slog.Warn("checking service alerts", "err", err) // the next tick tries again
			}
		case <-stop:
			return
		}
	}
}
