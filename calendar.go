package civiq

import (
	"context"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Working days. Deadlines in civiq count working days: Saturdays, Sundays
// and official holidays are off, except the weekend days the State Council
// declares worked instead (调休). The day a deadline starts from does not
// count. The calendar of mainland China for the years the binary knows is
// built in (calendar/cn.txt); admins add later years and change single days
// per hall.

//go:embed calendar/cn.txt
var builtinCalendarText string

// Kinds of calendar days: the exceptions to the weekend rule.
const (
	DayOff  = "off"  // a weekday that is a holiday
	DayWork = "work" // a weekend day that is worked (调休)
)

// Sources of calendar days.
const (
	SourceBuiltin = "builtin" // shipped in the binary
	SourceHall    = "hall"    // set by an admin for the hall
)

// Years a calendar date may be in: wide enough for any deadline, narrow
// enough that counting days always ends quickly.
const (
	MinCalendarYear = 2000
	MaxCalendarYear = 2100
)

// MaxDeadlineDays is the most working days a deadline may count.
const MaxDeadlineDays = 365

// CalendarDay is one day that breaks the weekend rule: a holiday on a
// weekday or a worked weekend day. Days that follow the rule may be listed
// too (a hall's override of a built-in day back to normal).
type CalendarDay struct {
	Date   string `json:"date"` // YYYY-MM-DD
	Kind   string `json:"kind"` // off or work
	Name   string `json:"name,omitempty"`
	Source string `json:"source,omitempty"` // builtin or hall, when read
}

// CalendarTx is what a store keeps of a hall's own calendar
// (sqlstore/calendar.go).
type CalendarTx interface {
	// CalendarYears lists the years a hall has replaced in full;
	// CalendarDays all the hall's own days.
	CalendarYears(hallID string) ([]int, error)
	CalendarDays(hallID string) ([]CalendarDay, error)
	// PutCalendarYear replaces the hall's days of a year and marks the year
	// as the hall's; DeleteCalendarYear drops both.
	PutCalendarYear(hallID string, year int, days []CalendarDay) error
	DeleteCalendarYear(hallID string, year int) error
	PutCalendarDay(hallID string, d CalendarDay) error
	DeleteCalendarDay(hallID, date string) error
}

// ParseDate reads a day written YYYY-MM-DD, strictly, in the years a
// calendar covers. field names the input in the error.
func ParseDate(field, s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || d.Format(time.DateOnly) != s {
		return time.Time{}, FieldErrorf(field, "%s must be a date written YYYY-MM-DD", field)
	}
	if d.Year() < MinCalendarYear || d.Year() > MaxCalendarYear {
		return time.Time{}, FieldErrorf(field, "%s must be in the years %d to %d", field, MinCalendarYear, MaxCalendarYear)
	}
	return d, nil
}

// Date returns the calendar day of t in loc as a date at midnight UTC, the
// form the calendar counts with.
func Date(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Validate checks a calendar day an admin sends.
func (d *CalendarDay) Validate() error {
	if _, err := ParseDate("date", d.Date); err != nil {
		return err
	}
	if d.Kind != DayOff && d.Kind != DayWork {
		return FieldErrorf("kind", "kind must be %q or %q", DayOff, DayWork)
	}
	d.Name = strings.TrimSpace(d.Name)
	if utf8.RuneCountInString(d.Name) > 50 {
		return FieldErrorf("name", "name is at most 50 characters")
	}
	return nil
}

// Calendar tells working days from days off. The zero value knows only the
// weekend rule; use BuiltinCalendar for mainland China's holidays.
type Calendar struct {
	days  map[string]CalendarDay // date -> its exception
	years map[int]string         // known year -> source
}

// ParseCalendarText reads the built-in calendar's format: one day or range
// of days a line, "YYYY-MM-DD[..YYYY-MM-DD] off|work name"; '#' starts a
// comment.
func ParseCalendarText(text string) ([]CalendarDay, error) {
	var out []CalendarDay
	for i, line := range strings.Split(text, "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want a date and a kind", i+1)
		}
		first, last, isRange := strings.Cut(f[0], "..")
		if !isRange {
			last = first
		}
		from, err := ParseDate("date", first)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad date %q", i+1, first)
		}
		to, err := ParseDate("date", last)
		if err != nil || to.Before(from) || to.Sub(from) > 31*24*time.Hour {
			return nil, fmt.Errorf("line %d: bad range %q", i+1, f[0])
		}
		name := strings.Join(f[2:], " ")
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			cd := CalendarDay{Date: d.Format(time.DateOnly), Kind: f[1], Name: name}
			if err := cd.Validate(); err != nil {
				return nil, fmt.Errorf("line %d: %s", i+1, ErrorMessage(err))
			}
			out = append(out, cd)
		}
	}
	return out, nil
}

var builtin = sync.OnceValue(func() *Calendar {
	days, err := ParseCalendarText(builtinCalendarText)
	if err != nil {
		panic("calendar/cn.txt: " + err.Error()) // a test reads it first
	}
	c := &Calendar{days: map[string]CalendarDay{}, years: map[int]string{}}
	for _, d := range days {
		d.Source = SourceBuiltin
		c.days[d.Date] = d
		c.years[dateYear(d.Date)] = SourceBuiltin
	}
	return c
})

// BuiltinCalendar returns mainland China's calendar as shipped: a copy the
// caller may change.
func BuiltinCalendar() *Calendar { return builtin().clone() }

func (c *Calendar) clone() *Calendar {
	out := &Calendar{days: make(map[string]CalendarDay, len(c.days)), years: make(map[int]string, len(c.years))}
	for k, v := range c.days {
		out.days[k] = v
	}
	for k, v := range c.years {
		out.years[k] = v
	}
	return out
}

func dateYear(date string) int {
	y := 0
	for _, r := range date[:4] {
		y = y*10 + int(r-'0')
	}
	return y
}

// HallCalendar is the built-in calendar with a hall's changes: each year
// in years replaces the built-in one entirely with the hall's days of that
// year, and every other day of the hall's overrides the built-in day.
func HallCalendar(years []int, days []CalendarDay) *Calendar {
	c := BuiltinCalendar()
	for _, y := range years {
		for date := range c.days {
			if dateYear(date) == y {
				delete(c.days, date)
			}
		}
		c.years[y] = SourceHall
	}
	for _, d := range days {
		d.Source = SourceHall
		c.days[d.Date] = d
	}
	return c
}

// Known reports whether the calendar has the holidays of year, and from
// where; an unknown year counts weekends only.
func (c *Calendar) Known(year int) (string, bool) {
	s, ok := c.years[year]
	return s, ok
}

// Year lists the exceptions of a year in date order.
func (c *Calendar) Year(year int) []CalendarDay {
	out := []CalendarDay{}
	for date, d := range c.days {
		if dateYear(date) == year {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date < out[j].Date })
	return out
}

// Working reports whether the day of d (its date, whatever the clock time)
// is a working day.
func (c *Calendar) Working(d time.Time) bool {
	if x, ok := c.days[d.Format(time.DateOnly)]; ok {
		return x.Kind == DayWork
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// DeadlineAfter is the n-th working day after from; from itself does not
// count. Dates are days at midnight UTC (see Date and ParseDate); n is
// 0..MaxDeadlineDays, and 0 gives from.
func (c *Calendar) DeadlineAfter(from time.Time, n int) time.Time {
	n = min(max(n, 0), MaxDeadlineDays)
	d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.Working(d) {
			n--
		}
	}
	return d
}

// WorkingDaysUntil counts the working days after from up to and including
// to; 0 when to is not after from.
func (c *Calendar) WorkingDaysUntil(from, to time.Time) int {
	n := 0
	for d := from.AddDate(0, 0, 1); !d.After(to); d = d.AddDate(0, 0, 1) {
		if c.Working(d) {
			n++
		}
		if n > MaxDeadlineDays*2 {
			break
		}
	}
	return n
}

// calendar is the working-day calendar of a hall: built in, with the
// hall's changes. hallID "" gives the built-in calendar.
func (e *Engine) calendar(tx Tx, hallID string) (*Calendar, error) {
	if hallID == "" {
		return BuiltinCalendar(), nil
	}
	years, err := tx.CalendarYears(hallID)
	if err != nil {
		return nil, err
	}
	days, err := tx.CalendarDays(hallID)
	if err != nil {
		return nil, err
	}
	return HallCalendar(years, days), nil
}

// Deadline answers the deadline endpoint: the n-th working day after from
// by the hall's calendar (the built-in one when hallID is "").
func (e *Engine) Deadline(ctx context.Context, hallID string, from time.Time, n int) (time.Time, error) {
	if n < 1 || n > MaxDeadlineDays {
		return time.Time{}, FieldErrorf("working_days", "working_days must be 1..%d", MaxDeadlineDays)
	}
	var out time.Time
	err := e.store.View(ctx, func(tx Tx) error {
		if hallID != "" {
			if _, err := tx.Hall(hallID); err != nil {
				return err
			}
		}
		cal, err := e.calendar(tx, hallID)
		if err != nil {
			return err
		}
		out = cal.DeadlineAfter(from, n)
		if out.Year() > MaxCalendarYear {
			return FieldErrorf("from", "the deadline falls after %d", MaxCalendarYear)
		}
		return nil
	})
	return out, err
}

// CalendarYear is a hall's calendar for one year, as the API shows it.
type CalendarYear struct {
	HallID string `json:"hall_id"`
	Year   int    `json:"year"`
	// Source is where the year's holidays come from: builtin, hall, or
	// "none" for a year nobody has entered (weekends only).
	Source string        `json:"source"`
	Days   []CalendarDay `json:"days"`
}

func checkYear(year int) error {
	if year < MinCalendarYear || year > MaxCalendarYear {
		return FieldErrorf("year", "year must be %d..%d", MinCalendarYear, MaxCalendarYear)
	}
	return nil
}

// HallCalendarYear returns the days off and the worked weekend days of a
// year in a hall.
func (e *Engine) HallCalendarYear(ctx context.Context, hallID string, year int) (*CalendarYear, error) {
	if err := checkYear(year); err != nil {
		return nil, err
	}
	out := &CalendarYear{HallID: hallID, Year: year}
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		cal, err := e.calendar(tx, hallID)
		if err != nil {
			return err
		}
		out.Source = "none"
		if s, ok := cal.Known(year); ok {
			out.Source = s
		}
		out.Days = cal.Year(year)
		return nil
	})
	return out, err
}

// SetHallCalendarYear replaces a year of a hall's calendar with days: an
// admin adds a year the binary does not know yet, or corrects one. The
// built-in days of that year no longer apply to the hall.
func (e *Engine) SetHallCalendarYear(ctx context.Context, hallID string, year int, days []CalendarDay) error {
	if err := e.Refuse(ctx, WorkCalendar, hallID); err != nil { // edge.go: the city owns it
		return err
	}
	if err := checkYear(year); err != nil {
		return err
	}
	if len(days) > 366 {
		return FieldErrorf("days", "a year has at most 366 days")
	}
	seen := map[string]bool{}
	for i := range days {
		if err := days[i].Validate(); err != nil {
			ve, _ := err.(*Error)
			return &Error{Code: EInvalid, Field: fmt.Sprintf("days[%d].%s", i, ve.Field), Message: ve.Message}
		}
		if dateYear(days[i].Date) != year {
			return FieldErrorf(fmt.Sprintf("days[%d].date", i), "%s is not in %d", days[i].Date, year)
		}
		if seen[days[i].Date] {
			return FieldErrorf(fmt.Sprintf("days[%d].date", i), "%s is listed twice", days[i].Date)
		}
		seen[days[i].Date] = true
		days[i].Source = ""
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		if err := tx.PutCalendarYear(hallID, year, days); err != nil {
			return err
		}
		return e.configChanged(tx, WorkCalendar, hallID)
	})
}

// ResetHallCalendarYear drops a hall's own days of a year: the built-in
// calendar applies again.
func (e *Engine) ResetHallCalendarYear(ctx context.Context, hallID string, year int) error {
	if err := e.Refuse(ctx, WorkCalendar, hallID); err != nil { // edge.go: the city owns it
		return err
	}
	if err := checkYear(year); err != nil {
		return err
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		if err := tx.DeleteCalendarYear(hallID, year); err != nil {
			return err
		}
		return e.configChanged(tx, WorkCalendar, hallID)
	})
}

// SetHallCalendarDay overrides one day of a hall's calendar (a local
// holiday, a day worked after all).
func (e *Engine) SetHallCalendarDay(ctx context.Context, hallID string, d CalendarDay) error {
	if err := e.Refuse(ctx, WorkCalendar, hallID); err != nil { // edge.go: the city owns it
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	d.Source = ""
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		if err := tx.PutCalendarDay(hallID, d); err != nil {
			return err
		}
		return e.configChanged(tx, WorkCalendar, hallID)
	})
}

// DeleteHallCalendarDay removes a hall's override of one day.
func (e *Engine) DeleteHallCalendarDay(ctx context.Context, hallID, date string) error {
	if err := e.Refuse(ctx, WorkCalendar, hallID); err != nil { // edge.go: the city owns it
		return err
	}
	if _, err := ParseDate("date", date); err != nil {
		return err
	}
	return e.update(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		if err := tx.DeleteCalendarDay(hallID, date); err != nil {
			return err
		}
		return e.configChanged(tx, WorkCalendar, hallID)
	})
}
