package civiq

import (
	"context"
	"math"
	"sort"
	"strconv"
	"time"
)

// Reports of the ratings of a hall: the counts by score, the satisfaction
// rate (the share of 4 and 5), the follow-ups and their deadlines, broken
// down by service, counter, staff member and day. A bad rating whose
// follow-up was rejected (found invalid after review, 申诉复核) is left out
// of every count and reported as "invalid".

// RatingStats are the counts of a set of ratings.
type RatingStats struct {
	Total   int            `json:"total"`
	ByScore map[string]int `json:"by_score"` // "1".."5"
	// SatisfactionRate is the share of ratings of 4 and 5, 0..1 (0 when
	// there are none), rounded to 4 places.
	SatisfactionRate float64 `json:"satisfaction_rate"`
}

func newStats() RatingStats {
	return RatingStats{ByScore: map[string]int{"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}
}

func (s *RatingStats) add(score int) {
	s.Total++
	s.ByScore[strconv.Itoa(score)]++
}

func (s *RatingStats) finish() {
	if s.Total == 0 {
		s.SatisfactionRate = 0
		return
	}
	good := s.ByScore["4"] + s.ByScore["5"]
	s.SatisfactionRate = math.Round(float64(good)/float64(s.Total)*10000) / 10000
}

// ReportGroup is the counts of one service, counter, staff member or day.
type ReportGroup struct {
	ID string `json:"id"`
	RatingStats
}

// FollowUpCounts count the cases of the ratings in a period, as of now.
// Every case is in exactly one of open, overdue, closed_on_time,
// closed_late and rejected.
type FollowUpCounts struct {
	Total        int `json:"total"`
	Open         int `json:"open"`           // not closed, deadline not passed
	Overdue      int `json:"overdue"`        // not closed, deadline passed
	ClosedOnTime int `json:"closed_on_time"` // revisited by the deadline
	ClosedLate   int `json:"closed_late"`    // revisited after the deadline
	Rejected     int `json:"rejected"`       // found invalid
}

// SubScoreAverage is the mean of one on-site indicator over the ratings
// that gave it.
type SubScoreAverage struct {
	Count   int     `json:"count"`
	Average float64 `json:"average"`
}

// RatingReport is the ratings report of a hall for a period.
type RatingReport struct {
	HallID string `json:"hall_id"`
	From   string `json:"from"`
	To     string `json:"to"`
	RatingStats
	// Invalid counts the bad ratings rejected after review, left out above.
	Invalid   int                        `json:"invalid"`
	ByChannel map[string]int             `json:"by_channel"`
	SubScores map[string]SubScoreAverage `json:"sub_scores"`
	FollowUps FollowUpCounts             `json:"followups"`
	ByService []ReportGroup              `json:"by_service"`
	ByCounter []ReportGroup              `json:"by_counter"`
	ByStaff   []ReportGroup              `json:"by_staff"`
	ByDay     []ReportGroup              `json:"by_day"`
}

// MaxReportDays is the longest period a report covers.
const MaxReportDays = 366

// ReportPeriod reads a report's period, local days from and to inclusive;
// an empty from is the first day of today's month and an empty to is
// today.
func ReportPeriod(from, to string, today time.Time) (time.Time, time.Time, error) {
	f := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	t := today
	var err error
	if from != "" {
		if f, err = ParseDate("from", from); err != nil {
			return f, t, err
		}
	}
	if to != "" {
		if t, err = ParseDate("to", to); err != nil {
			return f, t, err
		}
	}
	if t.Before(f) {
		return f, t, FieldErrorf("to", "to is before from")
	}
	if t.Sub(f) >= MaxReportDays*24*time.Hour {
		return f, t, FieldErrorf("to", "a report covers at most %d days", MaxReportDays)
	}
	return f, t, nil
}

// localDay is the local midnight starting the day d (a calendar date).
func localDay(d time.Time, loc *time.Location) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

// ratingPeriod is what the ratings report and the ratings list read of a
// period of a hall.
type ratingPeriod struct {
	today    time.Time // the hall's local day
	loc      *time.Location
	from, to time.Time // the first and the last day, as ReportPeriod gives them
	ratings  []Rating  // given in the period
	cases    []FollowUp
	names    map[int64]string // staff usernames by id
}

// ratingPeriod reads the ratings given from the local day from to the local
// day to (inclusive; empty for this month), the follow-up cases opened in
// that time and the staff's names.
func (e *Engine) ratingPeriod(tx Tx, hallID, from, to string) (*ratingPeriod, error) {
	if _, err := tx.Hall(hallID); err != nil {
		return nil, err
	}
	p := &ratingPeriod{}
	var err error
	if p.today, p.loc, err = e.today(tx, hallID); err != nil {
		return nil, err
	}
	if p.from, p.to, err = ReportPeriod(from, to, p.today); err != nil {
		return nil, err
	}
	start, end := localDay(p.from, p.loc), localDay(p.to.AddDate(0, 0, 1), p.loc)
	if p.ratings, err = tx.Ratings(hallID, start, end); err != nil {
		return nil, err
	}
	if p.cases, err = tx.FollowUps(FollowUpQuery{HallID: hallID, OpenedFrom: start, OpenedTo: end}); err != nil {
		return nil, err
	}
	if p.names, err = e.staffNames(tx); err != nil {
		return nil, err
	}
	return p, nil
}

// RatingReport counts a hall's ratings given from the local day from to the
// local day to (YYYY-MM-DD, inclusive; empty for this month). It first
// applies the hall's default rating rule, if on.
func (e *Engine) RatingReport(ctx context.Context, hallID, from, to string) (*RatingReport, error) {
	if _, err := e.ApplyDefaultRatings(ctx, hallID); err != nil && ErrorCode(err) != ENotFound {
		return nil, err
	}
	var out *RatingReport
	err := e.store.View(ctx, func(tx Tx) error {
		p, err := e.ratingPeriod(tx, hallID, from, to)
		if err != nil {
			return err
		}
		today, loc, f, t, ratings, cases, names := p.today, p.loc, p.from, p.to, p.ratings, p.cases, p.names
		cal, err := e.calendar(tx, hallID)
		if err != nil {
			return err
		}
		rep := &RatingReport{HallID: hallID, From: f.Format(time.DateOnly), To: t.Format(time.DateOnly), RatingStats: newStats(),
			ByChannel: map[string]int{}, SubScores: map[string]SubScoreAverage{}}
		byRating := map[int64]*FollowUp{}
		for i := range cases {
			c := &cases[i]
			byRating[c.RatingID] = c
			c.mark(today, cal)
			rep.FollowUps.Total++
			switch {
			case c.Status == FollowUpRejected:
				rep.FollowUps.Rejected++
			case c.Status == FollowUpRevisited && c.ClosedOnTime(loc):
				rep.FollowUps.ClosedOnTime++
			case c.Status == FollowUpRevisited:
				rep.FollowUps.ClosedLate++
			case c.Overdue:
				rep.FollowUps.Overdue++
			default:
				rep.FollowUps.Open++
			}
		}
		groups := map[string]map[string]*ReportGroup{"service": {}, "counter": {}, "staff": {}, "day": {}}
		group := func(kind, id string) *ReportGroup {
			g, ok := groups[kind][id]
			if !ok {
				g = &ReportGroup{ID: id, RatingStats: newStats()}
				groups[kind][id] = g
			}
			return g
		}
		for d := f; !d.After(t); d = d.AddDate(0, 0, 1) {
			group("day", d.Format(time.DateOnly)) // every day, for charts
		}
		sums := map[string][2]int{}
		for _, r := range ratings {
			if c := byRating[r.ID]; c != nil && c.Status == FollowUpRejected {
				rep.Invalid++
				continue
			}
			rep.add(r.Score)
			rep.ByChannel[r.Channel]++
			group("service", r.ServiceID).add(r.Score)
			group("counter", r.CounterID).add(r.Score)
			if r.StaffID != 0 {
				name := names[r.StaffID]
				if name == "" {
					name = "#" + strconv.FormatInt(r.StaffID, 10)
				}
				group("staff", name).add(r.Score)
			}
			group("day", Date(r.CreatedAt, loc).Format(time.DateOnly)).add(r.Score)
			if s := r.SubScores; s != nil {
				for k, v := range map[string]int{"efficiency": s.Efficiency, "level": s.Level, "attitude": s.Attitude} {
					if v > 0 {
						x := sums[k]
						sums[k] = [2]int{x[0] + 1, x[1] + v}
					}
				}
			}
		}
		rep.finish()
		for _, k := range []string{"efficiency", "level", "attitude"} {
			a := SubScoreAverage{Count: sums[k][0]}
			if a.Count > 0 {
				a.Average = math.Round(float64(sums[k][1])/float64(a.Count)*100) / 100
			}
			rep.SubScores[k] = a
		}
		list := func(kind string) []ReportGroup {
			out := make([]ReportGroup, 0, len(groups[kind]))
			for _, g := range groups[kind] {
				g.finish()
				out = append(out, *g)
			}
			sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
			return out
		}
		rep.ByService, rep.ByCounter, rep.ByStaff, rep.ByDay = list("service"), list("counter"), list("staff"), list("day")
		out = rep
		return nil
	})
	return out, err
}

// PublicCase is a rectified case as published: no personal data, no
// ticket, no staff member, only what the hall chose to say of the fix.
type PublicCase struct {
	ID          int64  `json:"id"`
	ServiceID   string `json:"service_id"`
	Score       int    `json:"score"`
	OpenedOn    string `json:"opened_on"`
	ClosedOn    string `json:"closed_on"`
	CitizenView string `json:"citizen_view"`
	Summary     string `json:"summary,omitempty"`
}

// PublicRatings is what a hall publishes of a month: the rating counts and
// satisfaction rate, and the cases rectified and closed in the month.
type PublicRatings struct {
	HallID string `json:"hall_id"`
	Month  string `json:"month"`
	RatingStats
	Rectified []PublicCase `json:"rectified"`
}

// PublicMonthRatings returns the published results of a month "YYYY-MM"
// (empty for this month).
func (e *Engine) PublicMonthRatings(ctx context.Context, hallID, month string) (*PublicRatings, error) {
	var out *PublicRatings
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		today, loc, err := e.today(tx, hallID)
		if err != nil {
			return err
		}
		first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
		if month != "" {
			if first, err = ParseDate("month", month+"-01"); err != nil || len(month) != 7 {
				return FieldErrorf("month", "month must be written YYYY-MM")
			}
		}
		start, end := localDay(first, loc), localDay(first.AddDate(0, 1, 0), loc)
		ratings, err := tx.Ratings(hallID, start, end)
		if err != nil {
			return err
		}
		opened, err := tx.FollowUps(FollowUpQuery{HallID: hallID, OpenedFrom: start, OpenedTo: end, Statuses: []string{FollowUpRejected}})
		if err != nil {
			return err
		}
		invalid := map[int64]bool{}
		for _, c := range opened {
			invalid[c.RatingID] = true
		}
		pub := &PublicRatings{HallID: hallID, Month: first.Format("2006-01"), RatingStats: newStats(), Rectified: []PublicCase{}}
		for _, r := range ratings {
			if !invalid[r.ID] {
				pub.add(r.Score)
			}
		}
		pub.finish()
		closed, err := tx.FollowUps(FollowUpQuery{HallID: hallID, ClosedFrom: start, ClosedTo: end, Statuses: []string{FollowUpRevisited}})
		if err != nil {
			return err
		}
		for _, c := range closed {
			pub.Rectified = append(pub.Rectified, PublicCase{ID: c.ID, ServiceID: c.ServiceID, Score: c.Score,
				OpenedOn: Date(c.OpenedAt, loc).Format(time.DateOnly), ClosedOn: Date(*c.ClosedAt, loc).Format(time.DateOnly),
				CitizenView: c.CitizenView, Summary: c.PublicSummary})
		}
		sort.Slice(pub.Rectified, func(i, j int) bool { return pub.Rectified[i].ID < pub.Rectified[j].ID })
		out = pub
		return nil
	})
	return out, err
}

// HallRatings lists a hall's ratings given from the local day from to the
// local day to (inclusive; empty for this month), oldest first, with
// contact phones masked and the staff member's username: the rows of the
// report, for export.
func (e *Engine) HallRatings(ctx context.Context, hallID, from, to string) ([]RatingRow, error) {
	var out []RatingRow
	err := e.store.View(ctx, func(tx Tx) error {
		p, err := e.ratingPeriod(tx, hallID, from, to)
		if err != nil {
			return err
		}
		byRating := map[int64]FollowUp{}
		for _, c := range p.cases {
			byRating[c.RatingID] = c
		}
		out = make([]RatingRow, 0, len(p.ratings))
		for _, r := range p.ratings {
			if err := e.unseal(&r.ContactPhone); err != nil {
				return err
			}
			r = r.Masked()
			r.CreatedAt = r.CreatedAt.In(p.loc)
			row := RatingRow{Rating: r, Staff: p.names[r.StaffID]}
			if c, ok := byRating[r.ID]; ok {
				row.FollowUpID, row.FollowUpStatus = c.ID, c.Status
			}
			out = append(out, row)
		}
		return nil
	})
	return out, err
}

// RatingRow is a rating as the ratings list shows it.
type RatingRow struct {
	Rating
	Staff          string `json:"staff,omitempty"`
	FollowUpID     int64  `json:"followup_id,omitempty"`
	FollowUpStatus string `json:"followup_status,omitempty"`
}
