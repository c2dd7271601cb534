package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/csvfile"
)

// The planning use case of the managers' pages: the staffing plan of a
// hall's history, of the example day or of a profile sent, with where the
// profile came from. The API decodes the request, calls PlanHall and
// writes the answer as JSON or, with WriteCSV, as a spreadsheet; civiq
// simulate --plan calls PlanStaffing on a profile and writes the same CSV.

// Sources of a plan's profile.
const (
	SourceHistory = "history" // the hall's recorded tickets
	SourceExample = "example" // the built-in example day (DemoProfile)
	SourceProfile = "profile" // a profile sent with the request
)

// PlanRequest asks for the staffing plan of a hall. Zero values take the
// defaults.
type PlanRequest struct {
	HallID string
	Source string // history (default), example or profile
	// Profile is the JSON profile, for SourceProfile.
	Profile []byte
	// HistoryDays is how many past days SourceHistory reads (default 28,
	// at most civiq.MaxPlanDays).
	HistoryDays int
	// TargetMinutes (1..240; default the profile's, else 15), Goal
	// (0.5..0.99, default 0.8), Seed (nil: 1) and SimDays (1..
	// MaxPlanSimDays, default 30) tune the plan. A value the caller could
	// not read is NaN or -1: it is refused as out of range.
	TargetMinutes float64
	Goal          float64
	Seed          *uint64
	SimDays       int
}

// Plan is the staffing plan of a hall, with where its profile came from.
type Plan struct {
	Source string `json:"source"` // history, example or profile
	// HistoryFrom and HistoryTo are the local days read, for a plan from
	// history.
	HistoryFrom string `json:"history_from,omitempty"`
	HistoryTo   string `json:"history_to,omitempty"`
	// HistoryDays counts the days in that period that had tickets: the
	// arrivals are their mean.
	HistoryDays int `json:"history_days,omitempty"`
	*Staffing
}

// PlanHall plans the staffing of a hall as the request asks, under ctx
// (the request's: it stops when the client leaves). Bad requests and
// profiles beyond the limits of PlanStaffing are invalid *civiq.Error
// naming the field.
func PlanHall(ctx context.Context, eng *civiq.Engine, req PlanRequest) (*Plan, error) {
	if req.HistoryDays == 0 {
		req.HistoryDays = 28
	}
	if req.HistoryDays < 1 || req.HistoryDays > civiq.MaxPlanDays {
		return nil, civiq.FieldErrorf("days", "days must be 1..%d", civiq.MaxPlanDays)
	}
	if req.TargetMinutes != 0 && !(req.TargetMinutes >= 1 && req.TargetMinutes <= 240) {
		return nil, civiq.FieldErrorf("target_minutes", "target_minutes must be 1..240")
	}
	if req.Goal != 0 && !(req.Goal >= 0.5 && req.Goal <= 0.99) {
		return nil, civiq.FieldErrorf("goal", "goal must be a share from 0.5 to 0.99")
	}
	if req.SimDays != 0 && !(req.SimDays >= 1 && req.SimDays <= MaxPlanSimDays) {
		return nil, civiq.FieldErrorf("sim_days", "sim_days must be 1..%d", MaxPlanSimDays)
	}
	plan := &Plan{Source: req.Source}
	var (
		p    *Profile
		svcs []civiq.Service
		err  error
	)
	switch req.Source {
	case SourceProfile:
		if len(bytes.TrimSpace(req.Profile)) == 0 {
			return nil, civiq.FieldErrorf("profile", "send the profile as the request body")
		}
		if p, err = ReadProfile(bytes.NewReader(req.Profile)); err != nil {
			return nil, civiq.FieldErrorf("profile", "%s", strings.TrimPrefix(err.Error(), "profile: "))
		}
	case SourceExample:
		p = DemoProfile()
	case "", SourceHistory:
		plan.Source = SourceHistory
		hist, err := eng.History(ctx, req.HallID, req.HistoryDays)
		if err != nil {
			return nil, err
		}
		svcs, plan.HistoryFrom, plan.HistoryTo = hist.Services, hist.From, hist.To
		if len(hist.Tickets) == 0 {
			return nil, &civiq.Error{Code: civiq.EConflict, Field: "days",
				Message: fmt.Sprintf("the hall has no ticket from %s to %s: plan from a profile instead", hist.From, hist.To)}
		}
		seen := map[string]bool{}
		for _, t := range hist.Tickets {
			seen[t.Day] = true
		}
		plan.HistoryDays = len(seen)
		if p, err = ProfileFromHistory(hist.Hall, hist.Services, hist.Counters, hist.Tickets, HistoryOptions{}); err != nil {
			return nil, civiq.Errorf(civiq.EConflict, "the hall's history makes no profile: %s", err)
		}
	default:
		return nil, civiq.FieldErrorf("source", "source must be history or example (or POST a profile)")
	}
	if svcs == nil {
		if svcs, err = eng.Services(ctx, req.HallID); err != nil {
			return nil, err
		}
	}
	o := StaffingOptions{Target: req.TargetMinutes * 60, Goal: req.Goal, Seed: 1, SimDays: req.SimDays}
	if req.Seed != nil {
		o.Seed = *req.Seed
	}
	if o.Target == 0 {
		o.Target = p.TargetMinutes * 60
	}
	if plan.Staffing, err = PlanStaffing(ctx, p, o); err != nil {
		return nil, err
	}
	// The hall's names of its services, for people.
	for i := range plan.Services {
		ps := &plan.Services[i]
		for _, sv := range svcs {
			if sv.ID == ps.ID {
				ps.Name, ps.NameEn = sv.Name, sv.NameEn
			}
		}
	}
	return plan, nil
}

// planWords are the CSV's headings in one language.
type planWords struct{ from, to, arrivals, counters, total string }

var planCSVWords = map[string]planWords{
	"zh": {"开始", "结束", " 每小时到达", " 窗口数", "合计窗口数"},
	"en": {"From", "To", " arrivals per hour", " counters", "Total counters"},
}

// WriteCSV writes the plan as a table for spreadsheets (csvfile), headed
// in the language ("zh", the default, or "en"): a row per slot, for each
// service its arrivals per hour and its counters, then the total counters.
func (st *Staffing) WriteCSV(w io.Writer, lang string) error {
	words, ok := planCSVWords[lang]
	if !ok {
		lang, words = "zh", planCSVWords["zh"]
	}
	cw := csvfile.NewWriter(w)
	head := []string{words.from, words.to}
	for _, s := range st.Services {
		name := (&civiq.Service{Name: s.Name, NameEn: s.NameEn}).NameIn(lang)
		if name == "" {
			name = s.ID
		}
		head = append(head, name+words.arrivals, name+words.counters)
	}
	head = append(head, words.total)
	cw.Write(head)
	for ri, sl := range st.Slots {
		row := []string{sl.From, sl.To}
		for _, s := range st.Services {
			c := s.Cells[ri]
			row = append(row, strconv.FormatFloat(c.ArrivalsPerHour, 'f', -1, 64), strconv.Itoa(c.Counters))
		}
		row = append(row, strconv.Itoa(sl.Counters))
		cw.Write(row)
	}
	return cw.Flush()
}

// WriteTable writes the plan as a table for people: the counters per slot
// and service, then each service's figures and the simulation's check.
func (st *Staffing) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "Counters needed to call %.0f%% within %s (Erlang C per slot, checked by simulating %d days)\n",
		st.Goal*100, minutes(st.TargetSeconds), st.Check.Days)
	fmt.Fprint(tw, "slot\t")
	for _, s := range st.Services {
		fmt.Fprintf(tw, "%s\t", s.ID)
	}
	fmt.Fprint(tw, "total\t\n")
	for ri, sl := range st.Slots {
		fmt.Fprintf(tw, "%s-%s\t", sl.From, sl.To)
		for _, s := range st.Services {
			fmt.Fprintf(tw, "%d\t", s.Cells[ri].Counters)
		}
		fmt.Fprintf(tw, "%d\t\n", sl.Counters)
	}
	fmt.Fprint(tw, "\nservice\thandling min\tpeak counters\tcounter hours\tcitizens simulated\twithin target\tmean wait\tp90 wait\tmeets goal\t\n")
	for _, s := range st.Services {
		fmt.Fprintf(tw, "%s\t%.1f\t%d\t%.1f\t%d\t%.1f%%\t%s\t%s\t%v\t\n", s.ID, s.HandlingMinutes, s.PeakCounters, s.CounterHours,
			s.Simulated.Customers, s.Simulated.WithinTarget*100, minutes(s.Simulated.MeanWaitSeconds), minutes(s.Simulated.P90WaitSeconds), s.Simulated.MeetsGoal)
	}
	fmt.Fprintf(tw, "\nsimulation: %d round(s), %d counter(s) added to Erlang C, %.1f%% within target overall, meets the goal: %v\n",
		st.Check.Rounds, st.Check.Added, st.Check.WithinTarget*100, st.Check.MeetsGoal)
	return tw.Flush()
}

// minutes writes seconds as minutes for people.
func minutes(sec float64) string {
	if math.IsInf(sec, 0) || math.IsNaN(sec) {
		return "∞"
	}
	return fmt.Sprintf("%.1f min", sec/60)
}
