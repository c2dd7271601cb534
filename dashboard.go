package civiq

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The live dashboard of a hall for its managers, the city overview of
// every hall, and what the staffing planner reads of a hall's history.
// Figures are of the hall's local day. A wait runs from a ticket's issue to
// its first call: a recall, or a second call after a transfer or a late
// return, does not move it.

// Targets of "called within target" on the dashboard.
const (
	DefaultDashboardTarget = 15 * time.Minute
	MinDashboardTarget     = time.Minute
	MaxDashboardTarget     = 4 * time.Hour
)

// Dashboard is what a hall's manager watches: the queues now, the
// counters, and the day so far.
type Dashboard struct {
	HallID string `json:"hall_id"`
	// Day is the hall's local day, "2006-01-02"; Now is when the figures
	// were taken (pages tick the waits on from it).
	Day           string    `json:"day"`
	Now           time.Time `json:"now"`
	Timezone      string    `json:"timezone"`
	TargetSeconds int       `json:"target_seconds"`
	// Waiting counts every ticket waiting now; LongestWaitSeconds is how
	// long the earliest issued of them has waited (0 when none waits), and
	// LongestWaitSince its issue time.
	Waiting            int            `json:"waiting"`
	LongestWaitSeconds int            `json:"longest_wait_seconds"`
	LongestWaitSince   *time.Time     `json:"longest_wait_since"`
	Services           []DashService  `json:"services"`
	Counters           []DashCounter  `json:"counters"`
	CounterStates      map[string]int `json:"counter_states"` // open, paused, closed; busy: open with a ticket called or served
	// Alerts are the services' alerts raised now (alert.go), in the
	// order of services; IdleCounters counts the open counters with no
	// ticket while a service they serve has tickets waiting.
	Alerts       []ServiceAlert `json:"alerts"`
	IdleCounters int            `json:"idle_counters"`
	Today        DashToday      `json:"today"`
	Hours        []DashHour     `json:"hours"`
	// NextChangeAt is when a figure will change with no event: a waiting
	// ticket passes the target, or the day ends. Pages fetch again then.
	NextChangeAt time.Time `json:"next_change_at"`
}

// DashService is one service on the dashboard.
type DashService struct {
	ID     string `json:"id"`
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
	NameEn string `json:"name_en,omitempty"`
	// Waiting now, of which Priority in the green channel.
	Waiting            int        `json:"waiting"`
	Priority           int        `json:"priority"`
	LongestWaitSeconds int        `json:"longest_wait_seconds"`
	LongestWaitSince   *time.Time `json:"longest_wait_since"`
	// OpenCounters counts the open counters that serve the service.
	OpenCounters int `json:"open_counters"`
	// ExpectedWaitSeconds is the expected wait of a normal ticket taken
	// now. TargetSeconds is the service's target wait (its own, or the
	// dashboard's), AlertSeconds its alert level (0: none), and Alert its
	// alert while raised.
	ExpectedWaitSeconds int           `json:"expected_wait_seconds"`
	TargetSeconds       int           `json:"target_seconds"`
	AlertSeconds        int           `json:"alert_seconds"`
	Alert               *ServiceAlert `json:"alert"`
	// Today: tickets issued, first called, finished; the mean wait of
	// those called, how many were called within the target and how many
	// still wait past it.
	Issued          int `json:"issued"`
	Called          int `json:"called"`
	Served          int `json:"served"`
	MeanWaitSeconds int `json:"mean_wait_seconds"`
	WithinTarget    int `json:"within_target"`
	Missed          int `json:"missed"`
}

// DashCounter is one counter on the dashboard.
type DashCounter struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Status      string   `json:"status"`
	PauseReason string   `json:"pause_reason,omitempty"`
	ServiceIDs  []string `json:"service_ids"`
	// The ticket called or served there now: its number, status and since
	// when (its last call, or the start of serving).
	CurrentNumber string     `json:"current_number,omitempty"`
	CurrentStatus string     `json:"current_status,omitempty"`
	CurrentSince  *time.Time `json:"current_since,omitempty"`
	// Served counts the tickets of today finished there.
	Served int `json:"served"`
	// Idle: open with no ticket called or served while a service it
	// serves has tickets waiting.
	Idle bool `json:"idle"`
	// Clerk is the username of who is signed in there (Counter.Clerk).
	Clerk string `json:"clerk,omitempty"`
	// Staffed and Shown: whether someone is signed in there, and what the
	// hall's screens say of it (Counter.Shown: closed, paused, idle, busy).
	Staffed bool   `json:"staffed"`
	Shown   string `json:"shown"`
}

// DashToday is the hall's day so far.
type DashToday struct {
	Issued    int `json:"issued"`
	Called    int `json:"called"` // called at least once
	Served    int `json:"served"` // done
	NoShows   int `json:"no_shows"`
	Cancelled int `json:"cancelled"`
	// WithinTarget counts the tickets first called within the target of
	// their issue (their service's target wait, or the dashboard's);
	// Missed the tickets still waiting past it. The share is
	// WithinTarget / (Called + Missed), 0..1 to four places, null before
	// anyone is called or overdue.
	WithinTarget      int      `json:"within_target"`
	Missed            int      `json:"missed"`
	WithinTargetShare *float64 `json:"within_target_share"`
	MeanWaitSeconds   int      `json:"mean_wait_seconds"`
	MaxWaitSeconds    int      `json:"max_wait_seconds"`
	// MeanHandlingSeconds is the mean time from the (last) call to done of
	// the tickets served.
	MeanHandlingSeconds int `json:"mean_handling_seconds"`
}

// DashHour is one local hour of the day: the tickets issued in it, how
// many of them were called and their waits.
type DashHour struct {
	Hour            int `json:"hour"` // 0..23
	Arrivals        int `json:"arrivals"`
	Called          int `json:"called"`
	MeanWaitSeconds int `json:"mean_wait_seconds"`
	MaxWaitSeconds  int `json:"max_wait_seconds"`
	WithinTarget    int `json:"within_target"`
}

// ParseDashboardTarget reads a target in minutes ("" for the default).
func ParseDashboardTarget(minutes string) (time.Duration, error) {
	if strings.TrimSpace(minutes) == "" {
		return DefaultDashboardTarget, nil
	}
	m, err := strconv.ParseFloat(strings.TrimSpace(minutes), 64)
	if err != nil || math.IsNaN(m) || math.IsInf(m, 0) {
		return 0, FieldErrorf("target_minutes", "target_minutes must be a number of minutes")
	}
	d := time.Duration(m * float64(time.Minute))
	if d < MinDashboardTarget || d > MaxDashboardTarget {
		return 0, FieldErrorf("target_minutes", "target_minutes must be 1..240")
	}
	return d, nil
}

// Dashboard returns the live figures of a hall, with "called within
// target" counted against each service's target wait, target for a
// service without one. It only reads: the alerts it shows are the ones
// raised (CheckServiceAlerts, which the server runs every AlertCheckEvery),
// never raised or cleared by a read.
func (e *Engine) Dashboard(ctx context.Context, hallID string, target time.Duration) (*Dashboard, error) {
	if target < MinDashboardTarget || target > MaxDashboardTarget {
		return nil, FieldErrorf("target_minutes", "target_minutes must be 1..240")
	}
	var d *Dashboard
	err := e.store.View(ctx, func(tx Tx) error {
		h, svcs, counters, err := hallLayout(tx, hallID)
		if err != nil {
			return err
		}
		now := e.now()
		loc := h.Location()
		from, dayEnd := h.DayBounds(now)
		day := h.Day(now)
		tickets, err := tx.TicketsOfDays(hallID, day, day)
		if err != nil {
			return err
		}
		first, err := tx.FirstCalls(hallID, from)
		if err != nil {
			return err
		}
		waiting, err := tx.WaitingCounts(hallID)
		if err != nil {
			return err
		}
		oldest, err := tx.OldestWaiting(hallID)
		if err != nil {
			return err
		}
		d = &Dashboard{HallID: h.ID, Day: day, Now: now.In(loc), Timezone: h.Timezone, TargetSeconds: int(target / time.Second),
			Services: make([]DashService, 0, len(svcs)), Counters: make([]DashCounter, 0, len(counters)),
			CounterStates: map[string]int{CounterOpen: 0, CounterPaused: 0, CounterClosed: 0, "busy": 0}, Alerts: []ServiceAlert{}}
		d.NextChangeAt = dayEnd
		svcIndex := map[string]int{}
		targets := map[string]time.Duration{}
		for _, s := range svcs {
			targets[s.ID] = s.Target(target)
			ds := DashService{ID: s.ID, Prefix: s.Prefix, Name: s.Name, NameEn: s.NameEn, Waiting: waiting[s.ID],
				TargetSeconds: int(s.Target(target) / time.Second), AlertSeconds: int(s.AlertLevel() / time.Second)}
			if ds.Waiting > 0 {
				if ds.Priority, _, err = tx.QueueLength(hallID, s.ID); err != nil {
					return err
				}
			}
			svcIndex[s.ID] = len(d.Services)
			d.Services = append(d.Services, ds)
		}
		for sid, n := range waiting {
			d.Waiting += n
			if _, ok := svcIndex[sid]; !ok && n > 0 {
				// A service removed while tickets still wait (admins may
				// not, but an old database may hold them): still counted.
				svcIndex[sid] = len(d.Services)
				d.Services = append(d.Services, DashService{ID: sid, Name: sid, Waiting: n})
			}
		}
		for sid, at := range oldest {
			i, ok := svcIndex[sid]
			if !ok {
				continue
			}
			at := at.In(loc)
			s := &d.Services[i]
			s.LongestWaitSince, s.LongestWaitSeconds = &at, waitSeconds(now.Sub(at))
			if d.LongestWaitSince == nil || at.Before(*d.LongestWaitSince) {
				d.LongestWaitSince, d.LongestWaitSeconds = s.LongestWaitSince, s.LongestWaitSeconds
			}
		}
		served := map[string]int{}
		hours := map[int]*DashHour{}
		hour := func(t time.Time) *DashHour {
			hr := t.In(loc).Hour()
			if hours[hr] == nil {
				hours[hr] = &DashHour{Hour: hr}
			}
			return hours[hr]
		}
		waitSum := map[string]float64{}
		hourWaitSum := map[int]float64{}
		var totalWait, handling float64
		var maxWait time.Duration
		for i := range tickets {
			t := &tickets[i]
			si, known := svcIndex[t.ServiceID]
			var s *DashService
			if known {
				s = &d.Services[si]
				s.Issued++
			}
			hr := hour(t.IssuedAt)
			hr.Arrivals++
			d.Today.Issued++
			tgt, ok := targets[t.ServiceID]
			if !ok {
				tgt = target
			}
			fc, called := first[t.ID]
			if !called && t.CalledAt != nil && t.Status != StatusWaiting {
				fc, called = *t.CalledAt, true // the call's event is no longer kept
			}
			switch {
			case called:
				w := max(fc.Sub(t.IssuedAt), 0)
				in := w <= tgt
				d.Today.Called++
				hr.Called++
				totalWait += w.Seconds()
				hourWaitSum[hr.Hour] += w.Seconds()
				maxWait = max(maxWait, w)
				hr.MaxWaitSeconds = max(hr.MaxWaitSeconds, waitSeconds(w))
				if in {
					d.Today.WithinTarget++
					hr.WithinTarget++
				}
				if s != nil {
					s.Called++
					waitSum[t.ServiceID] += w.Seconds()
					if in {
						s.WithinTarget++
					}
				}
			case t.Status == StatusWaiting && now.Sub(t.IssuedAt) > tgt:
				d.Today.Missed++
				if s != nil {
					s.Missed++
				}
			case t.Status == StatusWaiting:
				if at := t.IssuedAt.Add(tgt); at.Before(d.NextChangeAt) {
					d.NextChangeAt = at
				}
			}
			switch t.Status {
			case StatusDone:
				d.Today.Served++
				served[t.CounterID]++
				if s != nil {
					s.Served++
				}
				if t.DoneAt != nil {
					start := t.CalledAt
					if start == nil {
						start = t.ServingAt
					}
					if start != nil {
						handling += max(t.DoneAt.Sub(*start), 0).Seconds()
					}
				}
			case StatusNoShow:
				d.Today.NoShows++
			case StatusCancelled:
				d.Today.Cancelled++
			}
		}
		if n := d.Today.Called; n > 0 {
			d.Today.MeanWaitSeconds = int(math.Round(totalWait / float64(n)))
			d.Today.MaxWaitSeconds = waitSeconds(maxWait)
		}
		if n := d.Today.Called + d.Today.Missed; n > 0 {
			share := math.Round(float64(d.Today.WithinTarget)/float64(n)*10000) / 10000
			d.Today.WithinTargetShare = &share
		}
		if n := d.Today.Served; n > 0 {
			d.Today.MeanHandlingSeconds = int(math.Round(handling / float64(n)))
		}
		for i := range d.Services {
			s := &d.Services[i]
			if s.Called > 0 {
				s.MeanWaitSeconds = int(math.Round(waitSum[s.ID] / float64(s.Called)))
			}
		}
		for hr, sum := range hourWaitSum {
			if h := hours[hr]; h.Called > 0 {
				h.MeanWaitSeconds = int(math.Round(sum / float64(h.Called)))
			}
		}
		for _, c := range counters {
			dc := DashCounter{ID: c.ID, Name: c.Name, Status: c.Status, PauseReason: c.PauseReason, ServiceIDs: c.ServiceIDs, Served: served[c.ID], Clerk: c.Clerk,
				Staffed: c.Staffed}
			if dc.ServiceIDs == nil {
				dc.ServiceIDs = []string{}
			}
			if c.CurrentTicketID != "" {
				t, err := tx.Ticket(c.CurrentTicketID)
				switch {
				case err == nil && t.CounterID == c.ID && (t.Status == StatusCalled || t.Status == StatusServing):
					dc.CurrentNumber, dc.CurrentStatus = t.Number, t.Status
					since := t.CalledAt
					if t.Status == StatusServing && t.ServingAt != nil {
						since = t.ServingAt
					}
					if since != nil {
						v := since.In(loc)
						dc.CurrentSince = &v
					}
					if c.Status == CounterOpen {
						d.CounterStates["busy"]++
					}
				case err != nil && !IsNotFound(err):
					return err
				}
			}
			// A counter nobody works at counts as closed, as the screens
			// show it (Counter.Shown).
			dc.Shown = c.Shown(dc.CurrentNumber != "")
			if dc.Shown == ShownClosed {
				d.CounterStates[CounterClosed]++
			} else {
				d.CounterStates[c.Status]++
			}
			if c.Status == CounterOpen {
				for _, sid := range c.ServiceIDs {
					if i, ok := svcIndex[sid]; ok && c.Works() { // as the estimate counts them
						d.Services[i].OpenCounters++
					}
					dc.Idle = dc.Idle || (dc.Shown == ShownIdle && waiting[sid] > 0)
				}
			}
			if dc.Idle {
				d.IdleCounters++
			}
			d.Counters = append(d.Counters, dc)
		}
		loads, err := e.alertLoads(tx, hallID, svcs, counters, true, now)
		if err != nil {
			return err
		}
		raised, err := tx.ServiceAlerts(hallID)
		if err != nil {
			return err
		}
		for i := range svcs {
			sv := &svcs[i]
			ds := &d.Services[svcIndex[sv.ID]]
			l := loads[sv.ID]
			ds.ExpectedWaitSeconds = waitSeconds(l.ExpectedWait)
			if since, ok := raised[sv.ID]; ok {
				a := l.alert(sv, AlertRaised, since.In(loc), targets[sv.ID])
				ds.Alert = &a
				d.Alerts = append(d.Alerts, a)
			}
		}
		d.Hours = dayHours(h, now, hours)
		d.NextChangeAt = d.NextChangeAt.In(loc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// dayHours lists the hours the dashboard charts: the hall's opening hours
// (08:00 to 18:00 for a hall without), widened to every hour with tickets
// and to the hour now.
func dayHours(h *Hall, now time.Time, have map[int]*DashHour) []DashHour {
	first, last := 8, 17
	if h.OpensAt != "" && h.ClosesAt != "" && h.OpensAt < h.ClosesAt {
		o, _ := time.Parse("15:04", h.OpensAt)
		c, _ := time.Parse("15:04", h.ClosesAt)
		first, last = o.Hour(), c.Hour()
		if c.Minute() == 0 {
			last--
		}
		last = max(last, first)
	}
	cur := now.In(h.Location()).Hour()
	first, last = min(first, cur), max(last, cur)
	for hr := range have {
		first, last = min(first, hr), max(last, hr)
	}
	out := make([]DashHour, 0, last-first+1)
	for hr := first; hr <= last; hr++ {
		if x := have[hr]; x != nil {
			out = append(out, *x)
		} else {
			out = append(out, DashHour{Hour: hr})
		}
	}
	return out
}

func waitSeconds(d time.Duration) int { return int(math.Round(max(d, 0).Seconds())) }

// CityHall is one hall in the city overview.
type CityHall struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	NameEn   string `json:"name_en,omitempty"`
	Timezone string `json:"timezone"`
	Day      string `json:"day"`
	// Waiting now, and the wait so far of the earliest issued ticket still
	// waiting (0 and null when none waits).
	Waiting            int        `json:"waiting"`
	LongestWaitSeconds int        `json:"longest_wait_seconds"`
	LongestWaitSince   *time.Time `json:"longest_wait_since"`
	// Counters counts the hall's counters; CountersOpen those of them
	// that work (Counter.Works: open, and a clerk signed in, a ticket at
	// it or a paired counter device calling there), as the hall's
	// dashboard counts its services' open counters.
	Counters     int `json:"counters"`
	CountersOpen int `json:"counters_open"`
	// Ratings given today (less the bad ones rejected after review), how
	// many of them are 4 or 5, and their share (null with no rating).
	Ratings          int      `json:"ratings"`
	Satisfied        int      `json:"satisfied"`
	SatisfactionRate *float64 `json:"satisfaction_rate"`
	// Edge is the hall's edge node as last heard (edge.go), absent for a
	// hall without one: behind or silent is marked.
	Edge *EdgeStatus `json:"edge,omitempty"`
}

// CityOverview is every hall a principal may watch.
type CityOverview struct {
	Now    time.Time  `json:"now"`
	Halls  []CityHall `json:"halls"`
	Totals CityTotals `json:"totals"`
}

// CityTotals add up the halls listed; the satisfaction rate is of all
// their ratings together, and the longest wait is the longest of any.
type CityTotals struct {
	Halls              int        `json:"halls"`
	Waiting            int        `json:"waiting"`
	LongestWaitSeconds int        `json:"longest_wait_seconds"`
	LongestWaitSince   *time.Time `json:"longest_wait_since"`
	LongestWaitHall    string     `json:"longest_wait_hall,omitempty"`
	Counters           int        `json:"counters"`
	CountersOpen       int        `json:"counters_open"`
	Ratings            int        `json:"ratings"`
	Satisfied          int        `json:"satisfied"`
	SatisfactionRate   *float64   `json:"satisfaction_rate"`
}

// City returns the overview of the halls p may watch (PermDashboard),
// only those listed in only when it is not empty. Anyone who may watch no
// hall at all and is not an admin is refused.
func (e *Engine) City(ctx context.Context, p Principal, only []string) (*CityOverview, error) {
	out := &CityOverview{Halls: []CityHall{}}
	err := e.store.View(ctx, func(tx Tx) error {
		halls, err := tx.Halls()
		if err != nil {
			return err
		}
		now := e.now()
		out.Now = now
		edges, err := edgesByHall(tx, now) // edge.go
		if err != nil {
			return err
		}
		visible := 0
		for i := range halls {
			h := &halls[i]
			if !p.Can(PermDashboard, h.ID, "") {
				continue
			}
			visible++
			if len(only) > 0 && !slices.Contains(only, h.ID) {
				continue
			}
			ch, err := cityHall(tx, h, now)
			if err != nil {
				return err
			}
			ch.Edge = edges[h.ID]
			out.Halls = append(out.Halls, *ch)
		}
		if visible == 0 && !p.Can(PermDashboard, "", "") {
			return Errorf(EForbidden, "you may not watch any hall")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t := &out.Totals
	t.Halls = len(out.Halls)
	for _, h := range out.Halls {
		t.Waiting += h.Waiting
		t.Counters += h.Counters
		t.CountersOpen += h.CountersOpen
		t.Ratings += h.Ratings
		t.Satisfied += h.Satisfied
		if h.LongestWaitSince != nil && (t.LongestWaitSince == nil || h.LongestWaitSince.Before(*t.LongestWaitSince)) {
			t.LongestWaitSince, t.LongestWaitSeconds, t.LongestWaitHall = h.LongestWaitSince, h.LongestWaitSeconds, h.ID
		}
	}
	t.SatisfactionRate = rate(t.Satisfied, t.Ratings)
	return out, nil
}

func rate(good, total int) *float64 {
	if total == 0 {
		return nil
	}
	r := math.Round(float64(good)/float64(total)*10000) / 10000
	return &r
}

func cityHall(tx Tx, h *Hall, now time.Time) (*CityHall, error) {
	loc := h.Location()
	ch := &CityHall{ID: h.ID, Name: h.Name, NameEn: h.NameEn, Timezone: h.Timezone, Day: h.Day(now)}
	waiting, err := tx.WaitingCounts(h.ID)
	if err != nil {
		return nil, err
	}
	for _, n := range waiting {
		ch.Waiting += n
	}
	oldest, err := tx.OldestWaiting(h.ID)
	if err != nil {
		return nil, err
	}
	for _, at := range oldest {
		if ch.LongestWaitSince == nil || at.Before(*ch.LongestWaitSince) {
			v := at.In(loc)
			ch.LongestWaitSince = &v
		}
	}
	if ch.LongestWaitSince != nil {
		ch.LongestWaitSeconds = waitSeconds(now.Sub(*ch.LongestWaitSince))
	}
	cs, err := tx.Counters(h.ID) // their DeviceCalls too (counter.go)
	if err != nil {
		return nil, err
	}
	ch.Counters = len(cs)
	for _, c := range cs {
		if c.Works() { // as the hall's dashboard and its estimates count them
			ch.CountersOpen++
		}
	}
	from, to := h.DayBounds(now)
	ratings, err := validRatings(tx, h.ID, from, to) // hallreport.go
	if err != nil {
		return nil, err
	}
	for _, r := range ratings {
		ch.Ratings++
		if r.Score >= 4 {
			ch.Satisfied++
		}
	}
	ch.SatisfactionRate = rate(ch.Satisfied, ch.Ratings)
	return ch, nil
}

// MaxPlanDays is the longest history the staffing planner reads.
const MaxPlanDays = 92

// PlanHistory is what the staffing planner reads of a hall's recorded
// history.
type PlanHistory struct {
	Hall     *Hall
	Services []Service
	Counters []Counter
	// Tickets are those numbered on the local days From..To (inclusive).
	Tickets  []Ticket
	From, To string
}

// History returns the hall with its services and counters and the tickets
// of the days local days before today (today, half over, is left out).
func (e *Engine) History(ctx context.Context, hallID string, days int) (*PlanHistory, error) {
	if days < 1 || days > MaxPlanDays {
		return nil, FieldErrorf("days", "days must be 1..%d", MaxPlanDays)
	}
	out := &PlanHistory{}
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		if out.Hall, out.Services, out.Counters, err = hallLayout(tx, hallID); err != nil {
			return err
		}
		today := Date(e.now(), out.Hall.Location())
		out.From = today.AddDate(0, 0, -days).Format(time.DateOnly)
		out.To = today.AddDate(0, 0, -1).Format(time.DateOnly)
		out.Tickets, err = tx.TicketsOfDays(hallID, out.From, out.To)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
