package civiq_test

import (
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

func date(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := civiq.ParseDate("date", s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

// TestDeadlineAfter counts working days across the Spring Festival and
// National Day holidays of 2025 and 2026 and their make-up working days,
// with the built-in calendar. The start day never counts.
func TestDeadlineAfter(t *testing.T) {
	cal := civiq.BuiltinCalendar()
	tests := []struct {
		name string
		from string
		n    int
		want string
	}{
		{"zero days", "2025-03-03", 0, "2025-03-03"},
		{"ordinary Monday", "2025-03-03", 1, "2025-03-04"},
		{"Friday to Monday", "2025-03-07", 1, "2025-03-10"},
		{"from a Saturday", "2025-03-08", 1, "2025-03-10"},
		{"a week of an ordinary month", "2025-03-03", 5, "2025-03-10"},

		// 春节 2025: Jan 28 – Feb 4 off; Sun Jan 26 and Sat Feb 8 worked.
		{"春节 2025: Friday before, the Sunday is worked", "2025-01-24", 1, "2025-01-26"},
		{"春节 2025: Saturday before", "2025-01-25", 1, "2025-01-26"},
		{"春节 2025: the eve of the holiday", "2025-01-27", 1, "2025-02-05"},
		{"春节 2025: into the worked Saturday", "2025-01-27", 4, "2025-02-08"},
		{"春节 2025: from inside the holiday", "2025-01-30", 1, "2025-02-05"},
		{"春节 2025: 15 days across it", "2025-01-20", 15, "2025-02-14"},

		// 国庆 2025: Oct 1–8 off; Sun Sep 28 and Sat Oct 11 worked.
		{"国庆 2025: Friday before, the Sunday is worked", "2025-09-26", 1, "2025-09-28"},
		{"国庆 2025: from the worked Sunday", "2025-09-28", 2, "2025-09-30"},
		{"国庆 2025: the eve of the holiday", "2025-09-30", 1, "2025-10-09"},
		{"国庆 2025: into the worked Saturday", "2025-09-30", 3, "2025-10-11"},
		{"国庆 2025: from the holiday", "2025-10-01", 1, "2025-10-09"},
		{"国庆 2025: 15 days across it", "2025-09-25", 15, "2025-10-22"},
		{"国庆 2025: 5 days across it", "2025-09-26", 5, "2025-10-10"},
		{"国庆 2025: 7 days across it", "2025-09-26", 7, "2025-10-13"},

		// New year: 2026 Jan 1–3 off, Sun Jan 4 worked.
		{"new year 2026", "2025-12-31", 1, "2026-01-04"},
		{"new year 2026, two days", "2025-12-31", 2, "2026-01-05"},

		// 春节 2026: Feb 15–23 off; Sat Feb 14 and Sat Feb 28 worked.
		{"春节 2026: Friday before, the Saturday is worked", "2026-02-13", 1, "2026-02-14"},
		{"春节 2026: from the worked Saturday", "2026-02-14", 1, "2026-02-24"},
		{"春节 2026: three days across it", "2026-02-12", 3, "2026-02-24"},
		{"春节 2026: into the second worked Saturday", "2026-02-24", 4, "2026-02-28"},
		{"春节 2026: from inside the holiday", "2026-02-18", 1, "2026-02-24"},
		{"春节 2026: 15 days across it", "2026-02-10", 15, "2026-03-09"},
		{"春节 2026: 5 days across it", "2026-02-11", 5, "2026-02-25"},

		// 中秋 and 国庆 2026: Sep 25–27 and Oct 1–7 off; Sun Sep 20 and Sat Oct 10 worked.
		{"中秋 2026: Friday before, the Sunday is worked", "2026-09-18", 1, "2026-09-20"},
		{"中秋 2026: across the long weekend", "2026-09-24", 1, "2026-09-28"},
		{"国庆 2026: the eve of the holiday", "2026-09-30", 1, "2026-10-08"},
		{"国庆 2026: into the worked Saturday", "2026-09-30", 3, "2026-10-10"},
		{"国庆 2026: 15 days across both", "2026-09-21", 15, "2026-10-19"},
	}
	for _, tt := range tests {
		got := cal.DeadlineAfter(date(t, tt.from), tt.n).Format(time.DateOnly)
		if got != tt.want {
			t.Errorf("%s: DeadlineAfter(%s, %d) = %s, want %s", tt.name, tt.from, tt.n, got, tt.want)
		}
	}
}

// TestBuiltinCalendar checks the shipped table against the State Council's
// notices (DOMAIN.md): every holiday, every make-up day, and nothing else.
func TestBuiltinCalendar(t *testing.T) {
	cal := civiq.BuiltinCalendar()
	off := map[int][]string{
		2025: {"01-01", "01-28..02-04", "04-04..04-06", "05-01..05-05", "05-31..06-02", "10-01..10-08"},
		2026: {"01-01..01-03", "02-15..02-23", "04-04..04-06", "05-01..05-05", "06-19..06-21", "09-25..09-27", "10-01..10-07"},
	}
	work := map[int][]string{
		2025: {"01-26", "02-08", "04-27", "09-28", "10-11"},
		2026: {"01-04", "02-14", "02-28", "05-09", "09-20", "10-10"},
	}
	for _, year := range []int{2025, 2026} {
		if src, ok := cal.Known(year); !ok || src != civiq.SourceBuiltin {
			t.Errorf("year %d: known %v from %q", year, ok, src)
		}
		want := map[string]string{}
		expand := func(kind string, spans []string) {
			for _, s := range spans {
				a, b, ok := strings.Cut(s, "..")
				if !ok {
					b = a
				}
				from, to := date(t, formatYear(year, a)), date(t, formatYear(year, b))
				for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
					want[d.Format(time.DateOnly)] = kind
				}
			}
		}
		expand(civiq.DayOff, off[year])
		expand(civiq.DayWork, work[year])
		got := map[string]string{}
		for _, d := range cal.Year(year) {
			got[d.Date] = d.Kind
			if d.Name == "" || d.Source != civiq.SourceBuiltin {
				t.Errorf("%s: name %q source %q", d.Date, d.Name, d.Source)
			}
		}
		for d, k := range want {
			if got[d] != k {
				t.Errorf("%s: got %q, want %q", d, got[d], k)
			}
		}
		for d, k := range got {
			if want[d] == "" {
				t.Errorf("%s: %q is not in the notice", d, k)
			}
		}
		// Every worked day is a weekend day, and the days off and worked
		// follow: a working day is exactly a weekday not off or a weekend
		// day worked.
		for d := date(t, formatYear(year, "01-01")); d.Year() == year; d = d.AddDate(0, 0, 1) {
			weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
			k := want[d.Format(time.DateOnly)]
			if k == civiq.DayWork && !weekend {
				t.Errorf("%s: a make-up working day on a weekday", d.Format(time.DateOnly))
			}
			wantWorking := k == civiq.DayWork || !weekend && k != civiq.DayOff
			if cal.Working(d) != wantWorking {
				t.Errorf("%s: Working = %v", d.Format(time.DateOnly), !wantWorking)
			}
		}
	}
	if _, ok := cal.Known(2027); ok {
		t.Error("2027 is not shipped yet")
	}
	// An unknown year counts weekends only.
	if got := cal.DeadlineAfter(date(t, "2027-10-01"), 1).Format(time.DateOnly); got != "2027-10-04" {
		t.Errorf("2027: %s", got)
	}
	// The copy is the caller's.
	c1 := civiq.HallCalendar(nil, []civiq.CalendarDay{{Date: "2025-03-03", Kind: civiq.DayOff}})
	if c1.Working(date(t, "2025-03-03")) || !civiq.BuiltinCalendar().Working(date(t, "2025-03-03")) {
		t.Error("a hall's day leaked into the built-in calendar")
	}
}

func formatYear(year int, md string) string {
	return time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") + "-" + md
}

// TestHallCalendar: a hall replaces a year, adds a year, overrides a day.
func TestHallCalendar(t *testing.T) {
	cal := civiq.HallCalendar([]int{2027, 2025}, []civiq.CalendarDay{
		{Date: "2027-02-08", Kind: civiq.DayOff, Name: "春节"},
		{Date: "2027-02-06", Kind: civiq.DayWork, Name: "春节调休"},
		{Date: "2026-02-24", Kind: civiq.DayOff, Name: "地方假日"},
		{Date: "2026-02-14", Kind: civiq.DayOff, Name: "不调休"},
	})
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2027-02-05", 1, "2027-02-06"}, // the hall's make-up Saturday
		{"2027-02-06", 1, "2027-02-09"}, // the hall's holiday Monday
		{"2025-09-30", 1, "2025-10-01"}, // 2025 replaced by the hall with no days: weekends only
		{"2026-02-13", 1, "2026-02-25"}, // 14th not worked, 24th off in this hall
		{"2026-09-30", 1, "2026-10-08"}, // the rest of 2026 is built in
		{"2026-02-24", 4, "2026-02-28"}, // 28th still worked
		{"2027-12-31", 1, "2028-01-03"}, // 2028 unknown
		{"2027-02-08", 0, "2027-02-08"}, // zero days
	}
	for _, tt := range tests {
		if got := cal.DeadlineAfter(date(t, tt.from), tt.n).Format(time.DateOnly); got != tt.want {
			t.Errorf("DeadlineAfter(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
	if src, ok := cal.Known(2027); !ok || src != civiq.SourceHall {
		t.Errorf("2027: %q %v", src, ok)
	}
	if src, _ := cal.Known(2026); src != civiq.SourceBuiltin {
		t.Errorf("2026: %q", src)
	}
	for _, d := range cal.Year(2026) {
		if d.Date == "2026-02-24" && d.Source != civiq.SourceHall {
			t.Errorf("override source %q", d.Source)
		}
	}
	if n := len(cal.Year(2025)); n != 0 {
		t.Errorf("2025 replaced by an empty year has %d days", n)
	}
	// Days between: Feb 13 (Fri) to Feb 28 (Sat, worked) in the built-in
	// calendar: 14, 24, 25, 26, 27, 28.
	if n := civiq.BuiltinCalendar().WorkingDaysUntil(date(t, "2026-02-13"), date(t, "2026-02-28")); n != 6 {
		t.Errorf("WorkingDaysUntil = %d, want 6", n)
	}
}

func TestParseDate(t *testing.T) {
	for s, ok := range map[string]bool{
		"2025-01-01": true, "2026-02-29": false, "2024-02-29": true, "2025-1-01": false, "2025-01-1": false,
		"20250101": false, "2025/01/01": false, "": false, " 2025-01-01": false, "2025-01-01T00:00:00Z": false,
		"1999-12-31": false, "2000-01-01": true, "2100-12-31": true, "2101-01-01": false, "+2025-01-01": false,
		"2025-13-01": false, "2025-00-10": false, "2025-01-32": false, "２０２５-01-01": false,
	} {
		_, err := civiq.ParseDate("from", s)
		if (err == nil) != ok {
			t.Errorf("ParseDate(%q) = %v, want ok %v", s, err, ok)
		}
		if err != nil && (civiq.ErrorCode(err) != civiq.EInvalid || err.(*civiq.Error).Field != "from") {
			t.Errorf("ParseDate(%q): %+v", s, err)
		}
	}
}

func TestParseCalendarText(t *testing.T) {
	days, err := civiq.ParseCalendarText("# c\n\n2025-01-01 off 元旦 假期 # x\n2025-02-01..2025-02-03 work\n")
	if err != nil || len(days) != 4 || days[0].Name != "元旦 假期" || days[3].Date != "2025-02-03" || days[3].Kind != civiq.DayWork {
		t.Fatalf("ParseCalendarText = %+v, %v", days, err)
	}
	for _, bad := range []string{"2025-01-01", "2025-01-01 holiday", "2025-02-30 off", "2025-02-03..2025-02-01 off", "2025-01-01..2025-03-01 off", "x off"} {
		if _, err := civiq.ParseCalendarText(bad); err == nil {
			t.Errorf("ParseCalendarText(%q) accepted", bad)
		}
	}
}

// FuzzParseDate: a date is accepted only in its one written form, and
// counting working days from it always ends, after it, on a working day.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2025-01-01", "2026-02-14", "2100-12-31", "2000-01-01", "2025-1-1", "", "9999-99-99", "2025-02-29", "-001-01-01"} {
		f.Add(s, 15)
	}
	cal := civiq.BuiltinCalendar()
	f.Fuzz(func(t *testing.T, s string, n int) {
		d, err := civiq.ParseDate("from", s)
		if err != nil {
			if civiq.ErrorCode(err) != civiq.EInvalid {
				t.Fatalf("ParseDate(%q): %v", s, err)
			}
			return
		}
		if d.Format(time.DateOnly) != s {
			t.Fatalf("ParseDate(%q) = %s", s, d)
		}
		n = ((n % 400) + 400) % 400
		got := cal.DeadlineAfter(d, n)
		want := min(n, civiq.MaxDeadlineDays)
		if want == 0 {
			if !got.Equal(d) {
				t.Fatalf("DeadlineAfter(%s, 0) = %s", s, got)
			}
			return
		}
		if !got.After(d) || !cal.Working(got) {
			t.Fatalf("DeadlineAfter(%s, %d) = %s", s, n, got)
		}
		if c := cal.WorkingDaysUntil(d, got); c != want {
			t.Fatalf("DeadlineAfter(%s, %d) = %s, %d working days", s, n, got, c)
		}
	})
}
