package api

import (
	"io"
	"strconv"

	"github.com/civiq/civiq/csvfile"
	"github.com/civiq/civiq/sim"
)

// The staffing planner of the managers' pages: sim.PlanStaffing plans a
// profile of a hall's day (read from a file or built from the hall's
// history); the API says where the profile came from and writes the plan
// as JSON or as a spreadsheet.

// planOptions say what the plan aims at and how it is checked.
type planOptions = sim.StaffingOptions

// Limits of the planner's options.
const (
	defaultPlanGoal    = 0.8
	defaultPlanSimDays = 30
	maxPlanSimDays     = 200
)

// Plan is the staffing plan of a profile, with where the profile came
// from.
type Plan struct {
	Source string `json:"source"` // history, example or profile
	// HistoryFrom and HistoryTo are the local days read, for a plan from
	// history.
	HistoryFrom string `json:"history_from,omitempty"`
	HistoryTo   string `json:"history_to,omitempty"`
	// HistoryDays counts the days in that period that had tickets: the
	// arrivals are their mean.
	HistoryDays int `json:"history_days,omitempty"`
	*sim.Staffing
}

// makePlan plans the staffing of a profile.
func makePlan(p *sim.Profile, o planOptions) (*Plan, error) {
	st, err := sim.PlanStaffing(p, o)
	if err != nil {
		return nil, err
	}
	return &Plan{Staffing: st}, nil
}

// writePlanCSV writes the plan as a table for spreadsheets (csvfile): a row per slot, for each service its arrivals per hour and its
// counters, then the total counters.
func writePlanCSV(w io.Writer, plan *Plan, names map[string]string, en bool) error {
	cw := csvfile.NewWriter(w)
	label := func(zh, english string) string {
		if en {
			return english
		}
		return zh
	}
	head := []string{label("开始", "From"), label("结束", "To")}
	for _, s := range plan.Services {
		name := s.Name
		if n := names[s.ID]; n != "" {
			name = n
		}
		if name == "" {
			name = s.ID
		}
		head = append(head, name+label(" 每小时到达", " arrivals per hour"), name+label(" 窗口数", " counters"))
	}
	head = append(head, label("合计窗口数", "Total counters"))
	cw.Write(head)
	for ri, sl := range plan.Slots {
		row := []string{sl.From, sl.To}
		for _, s := range plan.Services {
			c := s.Cells[ri]
			row = append(row, strconv.FormatFloat(c.ArrivalsPerHour, 'f', -1, 64), strconv.Itoa(c.Counters))
		}
		row = append(row, strconv.Itoa(sl.Counters))
		cw.Write(row)
	}
	return cw.Flush()
}
