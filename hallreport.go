package civiq

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The staff and hall reports of a period: per clerk and per counter, what
// they served and how (StaffReport); per service, and per service and hour
// of the day, what came and how long it waited (ServiceReport). A period is
// any range of the hall's local days (ReportPeriod), given whole or broken
// down by day, week (Monday to Sunday) or month.
//
// The figures:
//   - handling time: from a ticket's last call to done (as the counter page
//     and the dashboard count it); mean and p90 (ReportP90);
//   - idle time of a counter: between the end of one ticket there (done,
//     no-show, transferred on) and the next call there, the part of it
//     during which the ticket called next was already waiting; the first
//     call of a day has none. A pause while people wait counts;
//   - no-shows: tickets passed over at the counter, or by the clerk who
//     called them;
//   - transfers: tickets sent on from the counter, or by the clerk;
//   - ratings: those given for tickets served at the counter or by the
//     clerk, less the bad ones rejected after review; the satisfaction rate
//     is the share of 4 and 5;
//   - a wait runs from issue to the first call (as on the dashboard); a
//     ticket is within target when called within its service's target wait
//     (Service.Target, 15 minutes without one); the share within target is
//     within / (called + missed), where missed are the tickets never called
//     that waited past the target;
//   - abandoned: tickets never called that no longer wait (cancelled, or
//     left waiting when their day ended).

// Breakdowns of a report.
const (
	ByRange = "range" // the whole period in one
	ByDay   = "day"
	ByWeek  = "week"
	ByMonth = "month"
	ByHour  = "hour" // services only: by hour of the day over the period
)

// Kinds of a staff report's rows.
const (
	RowClerk   = "clerk"
	RowCounter = "counter"
)

// StaffRow is one clerk's or counter's work in one period.
type StaffRow struct {
	// Period is the period's first day (YYYY-MM-DD), the month (YYYY-MM),
	// or "from..to" for the whole range.
	Period string `json:"period"`
	Kind   string `json:"kind"` // clerk, counter
	// ID is the counter's id or the clerk's username; Name the counter's
	// name (the username again for a clerk).
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	Served              int      `json:"served"`
	MeanHandlingSeconds int      `json:"mean_handling_seconds"`
	P90HandlingSeconds  int      `json:"p90_handling_seconds"`
	IdleSeconds         int      `json:"idle_seconds"`
	NoShows             int      `json:"no_shows"`
	Transfers           int      `json:"transfers"`
	Ratings             int      `json:"ratings"`
	Satisfied           int      `json:"satisfied"`
	SatisfactionRate    *float64 `json:"satisfaction_rate"`
	// OnBehalf counts the tickets served that a helper took for someone
	// (帮办代办, behalf.go).
	OnBehalf int `json:"on_behalf"`
	// Cases counts the cases opened there (办件), CasesOnBehalf those of
	// them a helper handled for the applicant: opened, or moved at least
	// once, on the applicant's behalf (ReportCase).
	Cases         int `json:"cases"`
	CasesOnBehalf int `json:"cases_on_behalf"`

	handling []float64
	idle     float64
}

// StaffReport is the staff report of a hall's period.
type StaffReport struct {
	HallID string     `json:"hall_id"`
	From   string     `json:"from"`
	To     string     `json:"to"`
	By     string     `json:"by"`
	Rows   []StaffRow `json:"rows"` // by period, then counters before clerks, by id
}

// ServiceRow is one service's arrivals and waits in one period (or one
// hour of the day over the period).
type ServiceRow struct {
	Period string `json:"period"`
	// Hour is the hour of the day (0..23) of a report by hour, else null.
	Hour              *int     `json:"hour"`
	ServiceID         string   `json:"service_id"`
	Name              string   `json:"name"`
	NameEn            string   `json:"name_en,omitempty"`
	TargetSeconds     int      `json:"target_seconds"`
	Arrivals          int      `json:"arrivals"`
	Called            int      `json:"called"`
	Served            int      `json:"served"`
	NoShows           int      `json:"no_shows"`
	MeanWaitSeconds   int      `json:"mean_wait_seconds"`
	P90WaitSeconds    int      `json:"p90_wait_seconds"`
	WithinTarget      int      `json:"within_target"`
	Missed            int      `json:"missed"`
	WithinTargetShare *float64 `json:"within_target_share"`
	Abandoned         int      `json:"abandoned"`
	AbandonedShare    *float64 `json:"abandoned_share"`
	// OnBehalf counts the arrivals a helper took for someone (帮办代办).
	OnBehalf int `json:"on_behalf"`
	// Cases counts the cases of the service opened in the period (or the
	// hour), CasesOnBehalf those a helper handled (as StaffRow's).
	Cases               int `json:"cases"`
	CasesOnBehalf       int `json:"cases_on_behalf"`
	waits               []float64
	serviceIndex, order int
}

// ServiceReport is the service report of a hall's period.
type ServiceReport struct {
	HallID string       `json:"hall_id"`
	From   string       `json:"from"`
	To     string       `json:"to"`
	By     string       `json:"by"`
	Rows   []ServiceRow `json:"rows"` // by period (or hour), then in the hall's order of services
	// Total is every service together over the whole period.
	Total ServiceRow `json:"total"`
}

// ReportP90 is the 90th percentile of xs by the nearest rank: the smallest
// value at least 90% of them do not exceed; 0 for none. xs is sorted.
func ReportP90(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	k := int(math.Ceil(0.9*float64(len(xs)))) - 1
	return xs[max(k, 0)]
}

// IdleGap is a counter's idle time before a call at callAt: the time since
// the counter was last free (freeAt; zero when nothing ended there before)
// during which the called ticket waited (since waitingSince).
func IdleGap(freeAt, waitingSince, callAt time.Time) time.Duration {
	if freeAt.IsZero() {
		return 0
	}
	from := freeAt
	if waitingSince.After(from) {
		from = waitingSince
	}
	return max(callAt.Sub(from), 0)
}

// TransferRecord is a ticket sent on from a counter (its clerk, 0 when
// none signed in), kept for the reports.
type TransferRecord struct {
	HallID    string
	TicketID  string
	Day       string // the ticket's local day
	CounterID string // "" when it was sent on while waiting
	UserID    int64
	// CalledAt is when the counter called it, nil when it was not called.
	CalledAt *time.Time
	At       time.Time
}

// ReportCase is a case as the reports count it: by the local day it was
// opened, at its counter, by whom (a Principal's Key), for its service.
type ReportCase struct {
	Day       string
	OpenedAt  time.Time
	ServiceID string
	CounterID string
	OpenedBy  string
	// OnBehalf: the case was opened, or moved at least once, by a helper
	// for the applicant (帮办代办: Case.OnBehalf, CaseEntry.OnBehalf).
	OnBehalf bool
}

// ReportTx is what a store reads for the staff and service reports
// (sqlstore/stats.go, sqlstore/cases.go).
type ReportTx interface {
	// CasesOfDays reads the cases a hall opened on the local days
	// fromDay..toDay.
	CasesOfDays(hallID, fromDay, toDay string) ([]ReportCase, error)
	// ServedByOfDays gives the user who served (or called) each ticket of
	// the local days fromDay..toDay that has one.
	ServedByOfDays(hallID, fromDay, toDay string) (map[string]int64, error)
	// AddTransfer keeps a transfer; TransfersOfDays reads those of
	// tickets of the local days fromDay..toDay.
	AddTransfer(r *TransferRecord) error
	TransfersOfDays(hallID, fromDay, toDay string) ([]TransferRecord, error)
}

// recordTransfer keeps the transfer of t, done at the counter it was at
// (prevCounter, which called it at calledAt) by the signed-in user of ctx,
// for the reports.
func recordTransfer(ctx context.Context, tx Tx, t *Ticket, prevCounter string, calledAt *time.Time, at time.Time) error {
	var user int64
	if p, _ := ctx.Value(actorKey{}).(Principal); p.User != nil {
		user = p.User.ID
	}
	return tx.AddTransfer(transferOf(t, prevCounter, calledAt, user, at))
}

// transferOf is the record of t's transfer by user (0: nobody known) at
// the counter that had called it at calledAt ("" and nil: it was
// waiting); an edge's are made at the city (applyEdgeRecords).
func transferOf(t *Ticket, prevCounter string, calledAt *time.Time, user int64, at time.Time) *TransferRecord {
	return &TransferRecord{HallID: t.HallID, TicketID: t.ID, Day: t.Day, CounterID: prevCounter, CalledAt: calledAt, UserID: user, At: at}
}

// ParseReportBy reads a report's breakdown ("" is the whole range);
// hours says whether by hour is allowed.
func ParseReportBy(by string, hours bool) (string, error) {
	switch by {
	case "":
		return ByRange, nil
	case ByRange, ByDay, ByWeek, ByMonth:
		return by, nil
	case ByHour:
		if hours {
			return by, nil
		}
	}
	if hours {
		return "", FieldErrorf("by", "by must be range, day, week, month or hour")
	}
	return "", FieldErrorf("by", "by must be range, day, week or month")
}

// periodOf is the label of the period of by that holds the local day d.
func periodOf(by string, d time.Time, from, to time.Time) string {
	switch by {
	case ByDay:
		return d.Format(time.DateOnly)
	case ByWeek:
		back := (int(d.Weekday()) + 6) % 7 // days since Monday
		m := d.AddDate(0, 0, -back)
		if m.Before(from) {
			m = from
		}
		return m.Format(time.DateOnly)
	case ByMonth:
		return d.Format("2006-01")
	}
	return from.Format(time.DateOnly) + ".." + to.Format(time.DateOnly)
}

// reportData is what both reports read of a hall's period.
type reportData struct {
	hall     *Hall
	svcs     []Service
	counters []Counter
	loc      *time.Location
	now      time.Time
	from, to time.Time // the first and the last local day
	by       string
	tickets  []Ticket
	first    map[string]time.Time // first calls still known
}

func (e *Engine) reportData(tx Tx, hallID, from, to, by string) (*reportData, error) {
	r := &reportData{by: by}
	var err error
	if r.hall, r.svcs, r.counters, err = hallLayout(tx, hallID); err != nil {
		return nil, err
	}
	r.loc, r.now = r.hall.Location(), e.now()
	if r.from, r.to, err = ReportPeriod(from, to, Date(r.now, r.loc)); err != nil {
		return nil, err
	}
	if r.tickets, err = tx.TicketsOfDays(hallID, r.from.Format(time.DateOnly), r.to.Format(time.DateOnly)); err != nil {
		return nil, err
	}
	if len(r.tickets) > 0 {
		if r.first, err = tx.FirstCalls(hallID, localDay(r.from, r.loc)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// period is the label of the ticket's period.
func (r *reportData) period(t *Ticket) string { return r.periodOfDay(t.Day, t.IssuedAt) }

// periodOfDay is the label of the period of the local day (YYYY-MM-DD;
// at's day when it does not read).
func (r *reportData) periodOfDay(day string, at time.Time) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		d = Date(at, r.loc)
	}
	return periodOf(r.by, d, r.from, r.to)
}

// cases reads the cases of the report's period.
func (r *reportData) cases(tx Tx) ([]ReportCase, error) {
	return tx.CasesOfDays(r.hall.ID, r.from.Format(time.DateOnly), r.to.Format(time.DateOnly))
}

// firstCall is when the ticket was first called, if it was.
func (r *reportData) firstCall(t *Ticket) (time.Time, bool) {
	if fc, ok := r.first[t.ID]; ok {
		return fc, true
	}
	if t.CalledAt != nil && t.Status != StatusWaiting {
		return *t.CalledAt, true // the call's event is no longer kept
	}
	return time.Time{}, false
}

// StaffReport reports the work of a hall's clerks and counters over the
// local days from..to (YYYY-MM-DD, inclusive; empty: this month), by
// (ParseReportBy).
func (e *Engine) StaffReport(ctx context.Context, hallID, from, to, by string) (*StaffReport, error) {
	by, err := ParseReportBy(by, false)
	if err != nil {
		return nil, err
	}
	var out *StaffReport
	err = e.store.View(ctx, func(tx Tx) error {
		r, err := e.reportData(tx, hallID, from, to, by)
		if err != nil {
			return err
		}
		fromDay, toDay := r.from.Format(time.DateOnly), r.to.Format(time.DateOnly)
		servedBy, err := tx.ServedByOfDays(hallID, fromDay, toDay)
		if err != nil {
			return err
		}
		transfers, err := tx.TransfersOfDays(hallID, fromDay, toDay)
		if err != nil {
			return err
		}
		names, err := e.staffNames(tx)
		if err != nil {
			return err
		}
		start, end := localDay(r.from, r.loc), localDay(r.to.AddDate(0, 0, 1), r.loc)
		ratings, err := validRatings(tx, hallID, start, end)
		if err != nil {
			return err
		}
		counterNames := map[string]string{}
		for _, c := range r.counters {
			counterNames[c.ID] = c.Name
		}
		rows := map[[3]string]*StaffRow{}
		row := func(period, kind, id string) *StaffRow {
			k := [3]string{period, kind, id}
			if rows[k] == nil {
				name := id
				if kind == RowCounter && counterNames[id] != "" {
					name = counterNames[id]
				}
				rows[k] = &StaffRow{Period: period, Kind: kind, ID: id, Name: name}
			}
			return rows[k]
		}
		clerk := func(uid int64) string {
			if uid == 0 {
				return ""
			}
			if n := names[uid]; n != "" {
				return n
			}
			return "#" + strconv.FormatInt(uid, 10)
		}
		// each calls f with the rows of the ticket's counter and clerk.
		each := func(period, counter string, uid int64, f func(*StaffRow)) {
			if counter != "" {
				f(row(period, RowCounter, counter))
			}
			if c := clerk(uid); c != "" {
				f(row(period, RowClerk, c))
			}
		}
		byID := make(map[string]*Ticket, len(r.tickets))
		// A counter's day: when its tickets were called and when they
		// ended there, for its idle time.
		type stint struct {
			call, end, waiting time.Time
			t                  *Ticket
			counter            string
			user               int64
		}
		days := map[[2]string][]stint{}
		for i := range r.tickets {
			t := &r.tickets[i]
			byID[t.ID] = t
			if t.CounterID == "" || t.CalledAt == nil {
				continue
			}
			p := r.period(t)
			uid := servedBy[t.ID]
			s := stint{call: *t.CalledAt, waiting: t.QueuedAt, t: t, counter: t.CounterID, user: uid}
			switch t.Status {
			case StatusDone:
				each(p, t.CounterID, uid, func(x *StaffRow) { x.Served++ })
				if t.OnBehalf != nil {
					each(p, t.CounterID, uid, func(x *StaffRow) { x.OnBehalf++ })
				}
				if t.DoneAt != nil {
					h := max(t.DoneAt.Sub(*t.CalledAt), 0).Seconds()
					each(p, t.CounterID, uid, func(x *StaffRow) { x.handling = append(x.handling, h) })
					s.end = *t.DoneAt
				}
			case StatusNoShow:
				each(p, t.CounterID, uid, func(x *StaffRow) { x.NoShows++ })
				if t.NoShowAt != nil {
					s.end = *t.NoShowAt
				}
			}
			days[[2]string{t.Day, t.CounterID}] = append(days[[2]string{t.Day, t.CounterID}], s)
		}
		for _, tr := range transfers {
			t := byID[tr.TicketID]
			if t == nil {
				continue
			}
			each(r.period(t), tr.CounterID, tr.UserID, func(x *StaffRow) { x.Transfers++ })
			if tr.CounterID != "" && tr.CalledAt != nil {
				// The counter had the ticket from its call until it sent
				// it on.
				k := [2]string{tr.Day, tr.CounterID}
				days[k] = append(days[k], stint{call: *tr.CalledAt, end: tr.At, waiting: t.QueuedAt, t: t, counter: tr.CounterID, user: tr.UserID})
			}
		}
		for _, list := range days {
			sort.Slice(list, func(i, j int) bool { return list[i].call.Before(list[j].call) })
			var free time.Time
			for _, s := range list {
				if gap := IdleGap(free, s.waiting, s.call); gap > 0 {
					each(r.period(s.t), s.counter, s.user, func(x *StaffRow) { x.idle += gap.Seconds() })
				}
				if s.end.IsZero() { // called or served now: busy from here on
					free = time.Time{}
					continue
				}
				if s.end.After(free) || free.IsZero() {
					free = s.end
				}
			}
		}
		cases, err := r.cases(tx)
		if err != nil {
			return err
		}
		for _, c := range cases {
			clerkName, byUser := strings.CutPrefix(c.OpenedBy, "user:")
			if !byUser {
				clerkName = "" // a counter device's: the counter's row only
			}
			f := func(x *StaffRow) {
				x.Cases++
				if c.OnBehalf {
					x.CasesOnBehalf++
				}
			}
			p := r.periodOfDay(c.Day, c.OpenedAt)
			if c.CounterID != "" {
				f(row(p, RowCounter, c.CounterID))
			}
			if clerkName != "" {
				f(row(p, RowClerk, clerkName))
			}
		}
		for _, rt := range ratings {
			t := byID[rt.TicketID]
			if t == nil {
				continue // a ticket of a day before the period, rated in it
			}
			good := rt.Score >= 4
			each(r.period(t), rt.CounterID, rt.StaffID, func(x *StaffRow) {
				x.Ratings++
				if good {
					x.Satisfied++
				}
			})
		}
		out = &StaffReport{HallID: hallID, From: r.from.Format(time.DateOnly), To: r.to.Format(time.DateOnly), By: by,
			Rows: finishedRows(rows, func(a, b *StaffRow) int {
				// by period, the counters before the staff, by id
				counterFirst := func(x *StaffRow) int {
					if x.Kind == RowCounter {
						return 0
					}
					return 1
				}
				return cmp.Or(cmp.Compare(a.Period, b.Period), cmp.Compare(counterFirst(a), counterFirst(b)), cmp.Compare(a.ID, b.ID))
			})}
		return nil
	})
	return out, err
}

// finishedRows are a report's rows, each finished (its means, p90s and
// shares worked out), in the order of compare.
func finishedRows[K comparable, R any, P interface {
	*R
	finish()
}](rows map[K]P, compare func(a, b P) int) []R {
	ps := slices.SortedFunc(maps.Values(rows), compare)
	out := make([]R, len(ps))
	for i, p := range ps {
		p.finish()
		out[i] = *p
	}
	return out
}

// meanP90 is the mean and the p90 (ReportP90) of xs in whole seconds, 0
// and 0 for none.
func meanP90(xs []float64) (mean, p90 int) {
	if len(xs) == 0 {
		return 0, 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return int(math.Round(sum / float64(len(xs)))), int(math.Round(ReportP90(xs)))
}

func (x *StaffRow) finish() {
	x.MeanHandlingSeconds, x.P90HandlingSeconds = meanP90(x.handling)
	x.IdleSeconds = int(math.Round(x.idle))
	x.SatisfactionRate = rate(x.Satisfied, x.Ratings)
}

// validRatings are the ratings given in [from, to) less the bad ones
// rejected after review (申诉复核), as every report counts them.
func validRatings(tx Tx, hallID string, from, to time.Time) ([]Rating, error) {
	ratings, err := tx.Ratings(hallID, from, to)
	if err != nil || len(ratings) == 0 {
		return ratings, err
	}
	rejected, err := tx.FollowUps(FollowUpQuery{HallID: hallID, Statuses: []string{FollowUpRejected}, OpenedFrom: from, OpenedTo: to})
	if err != nil {
		return nil, err
	}
	if len(rejected) == 0 {
		return ratings, nil
	}
	invalid := map[int64]bool{}
	for _, f := range rejected {
		invalid[f.RatingID] = true
	}
	return slices.DeleteFunc(ratings, func(r Rating) bool { return invalid[r.ID] }), nil
}

// ServiceReport reports the arrivals and waits of a hall's services over
// the local days from..to (inclusive; empty: this month), by
// (ParseReportBy, hours allowed).
func (e *Engine) ServiceReport(ctx context.Context, hallID, from, to, by string) (*ServiceReport, error) {
	by, err := ParseReportBy(by, true)
	if err != nil {
		return nil, err
	}
	var out *ServiceReport
	err = e.store.View(ctx, func(tx Tx) error {
		r, err := e.reportData(tx, hallID, from, to, by)
		if err != nil {
			return err
		}
		svcIndex := map[string]int{}
		for i, s := range r.svcs {
			svcIndex[s.ID] = i
		}
		rows := map[[2]string]*ServiceRow{}
		var order []string // periods (or hours) as first seen
		rowOf := func(period string, hour *int, sid string) *ServiceRow {
			k := [2]string{period, sid}
			x := rows[k]
			if x == nil {
				x = &ServiceRow{Period: period, Hour: hour, ServiceID: sid, Name: sid, TargetSeconds: int(DefaultDashboardTarget / time.Second), serviceIndex: len(r.svcs)}
				if i, ok := svcIndex[sid]; ok {
					s := &r.svcs[i]
					x.Name, x.NameEn, x.TargetSeconds, x.serviceIndex = s.Name, s.NameEn, int(s.Target(DefaultDashboardTarget)/time.Second), i
				}
				rows[k] = x
				if !slices.Contains(order, period) {
					order = append(order, period)
				}
			}
			return x
		}
		total := &ServiceRow{Period: r.from.Format(time.DateOnly) + ".." + r.to.Format(time.DateOnly), ServiceID: "", Name: "合计"}
		today := r.hall.Day(r.now)
		for i := range r.tickets {
			t := &r.tickets[i]
			var x *ServiceRow
			if by == ByHour {
				h := t.IssuedAt.In(r.loc).Hour()
				x = rowOf(strconv.Itoa(h), &h, t.ServiceID)
			} else {
				x = rowOf(r.period(t), nil, t.ServiceID)
			}
			target := time.Duration(x.TargetSeconds) * time.Second
			for _, y := range []*ServiceRow{x, total} {
				y.Arrivals++
				if t.OnBehalf != nil {
					y.OnBehalf++
				}
				switch t.Status {
				case StatusDone:
					y.Served++
				case StatusNoShow:
					y.NoShows++
				}
			}
			if fc, ok := r.firstCall(t); ok {
				w := max(fc.Sub(t.IssuedAt), 0)
				for _, y := range []*ServiceRow{x, total} {
					y.Called++
					y.waits = append(y.waits, w.Seconds())
					if w <= target {
						y.WithinTarget++
					}
				}
				continue
			}
			// Never called: still waiting today, or abandoned.
			waitedTo := r.now
			if t.CancelledAt != nil {
				waitedTo = *t.CancelledAt
			}
			abandoned := t.Status == StatusCancelled || (t.Status == StatusWaiting && t.Day < today)
			if t.Status == StatusWaiting && abandoned {
				if d, err := time.Parse(time.DateOnly, t.Day); err == nil {
					waitedTo = localDay(d.AddDate(0, 0, 1), r.loc)
				}
			}
			for _, y := range []*ServiceRow{x, total} {
				if abandoned {
					y.Abandoned++
				}
				if waitedTo.Sub(t.IssuedAt) > target {
					y.Missed++
				}
			}
		}
		cases, err := r.cases(tx)
		if err != nil {
			return err
		}
		for _, c := range cases {
			var x *ServiceRow
			if by == ByHour {
				h := c.OpenedAt.In(r.loc).Hour()
				x = rowOf(strconv.Itoa(h), &h, c.ServiceID)
			} else {
				x = rowOf(r.periodOfDay(c.Day, c.OpenedAt), nil, c.ServiceID)
			}
			for _, y := range []*ServiceRow{x, total} {
				y.Cases++
				if c.OnBehalf {
					y.CasesOnBehalf++
				}
			}
		}
		out = &ServiceReport{HallID: hallID, From: r.from.Format(time.DateOnly), To: r.to.Format(time.DateOnly), By: by,
			Rows: finishedRows(rows, func(a, b *ServiceRow) int {
				// by hour or period, in the hall's order of services
				if a.Period != b.Period && a.Hour != nil && b.Hour != nil {
					return cmp.Compare(*a.Hour, *b.Hour)
				}
				return cmp.Or(cmp.Compare(a.Period, b.Period), cmp.Compare(a.serviceIndex, b.serviceIndex), cmp.Compare(a.ServiceID, b.ServiceID))
			})}
		total.finish()
		total.TargetSeconds = 0
		out.Total = *total
		return nil
	})
	return out, err
}

func (x *ServiceRow) finish() {
	x.MeanWaitSeconds, x.P90WaitSeconds = meanP90(x.waits)
	x.WithinTargetShare = rate(x.WithinTarget, x.Called+x.Missed)
	x.AbandonedShare = rate(x.Abandoned, x.Arrivals)
}

// The reports as files (CSV by csvfile, workbooks by xlsxfile): a header
// row of Chinese names, then one row per row of the report, every figure
// written as in the JSON (seconds whole, shares as percentages to two
// places, empty where the JSON has null).

// StaffReportHeaders are the column names of the staff report's files.
func StaffReportHeaders() []string {
	return []string{"期间", "类别", "编号", "名称", "办结数", "平均办理时长（秒）", "P90办理时长（秒）", "空闲时长（秒）",
		"过号数", "转办数", "评价数", "满意数", "满意率", "帮办代办数", "办件数", "办件帮办代办数"}
}

// Strings is the row as its file's cells.
func (x *StaffRow) Strings() []string {
	kind := "窗口"
	if x.Kind == RowClerk {
		kind = "人员"
	}
	n := strconv.Itoa
	return []string{x.Period, kind, x.ID, x.Name, n(x.Served), n(x.MeanHandlingSeconds), n(x.P90HandlingSeconds), n(x.IdleSeconds),
		n(x.NoShows), n(x.Transfers), n(x.Ratings), n(x.Satisfied), percent(x.SatisfactionRate), n(x.OnBehalf), n(x.Cases), n(x.CasesOnBehalf)}
}

// ServiceReportHeaders are the column names of the service report's files.
func ServiceReportHeaders() []string {
	return []string{"期间", "时段", "事项编号", "事项", "目标等候（秒）", "取号数", "叫号数", "办结数", "过号数",
		"平均等候（秒）", "P90等候（秒）", "目标内叫号数", "超时未叫数", "目标内叫号率", "未叫号放弃数", "放弃率", "帮办代办数", "办件数", "办件帮办代办数"}
}

// Strings is the row as its file's cells.
func (x *ServiceRow) Strings() []string {
	n := strconv.Itoa
	hour := ""
	if x.Hour != nil {
		hour = fmt.Sprintf("%02d:00-%02d:00", *x.Hour, *x.Hour+1)
	}
	return []string{x.Period, hour, x.ServiceID, x.Name, n(x.TargetSeconds), n(x.Arrivals), n(x.Called), n(x.Served), n(x.NoShows),
		n(x.MeanWaitSeconds), n(x.P90WaitSeconds), n(x.WithinTarget), n(x.Missed), percent(x.WithinTargetShare), n(x.Abandoned),
		percent(x.AbandonedShare), n(x.OnBehalf), n(x.Cases), n(x.CasesOnBehalf)}
}

// percent writes a share as a percentage to two places, "" for none.
func percent(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x*100, 'f', 2, 64) + "%"
}
