package civiq_test

import (
	"errors"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

func TestReportP90(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{42}, 42},
		{[]float64{300, 600}, 600},
		// ten values: the ninth by rank
		{[]float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, 9},
		// eleven: rank ceil(9.9) = 10
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 10},
		{[]float64{5, 5, 5, 5}, 5},
		// one long outlier among twenty stays out of the p90
		{[]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1000}, 1},
	} {
		if got := civiq.ReportP90(append([]float64(nil), c.xs...)); got != c.want {
			t.Errorf("ReportP90(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestIdleGap(t *testing.T) {
	at := func(hm string) time.Time {
		v, err := time.Parse("15:04", hm)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name                string
		free, waiting, call string
		want                time.Duration
	}{
		{"the next one waited all along", "09:07", "09:00", "09:10", 3 * time.Minute},
		{"the next one came after the counter was free", "09:07", "09:09", "09:10", time.Minute},
		{"called as soon as it came", "09:07", "09:10", "09:10", 0},
		{"called at once", "09:07", "09:00", "09:07", 0},
		{"the first call of the day", "", "08:00", "09:00", 0},
	} {
		var free time.Time
		if c.free != "" {
			free = at(c.free)
		}
		if got := civiq.IdleGap(free, at(c.waiting), at(c.call)); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// A morning at the tax counter, by one clerk: the staff and the service
// reports count it as worked out by hand.
func TestStaffAndServiceReports(t *testing.T) {
	e := newEnv(t)
	e.step = 0
	clerk := &civiq.User{Username: "li.wei", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
	if err := e.eng.CreateUser(e.ctx, clerk, "li.wei-password"); err != nil {
		t.Fatal(err)
	}
	ctx := civiq.WithActor(e.ctx, civiq.Principal{User: clerk})
	day := e.day(0)
	at := func(h, m int) { e.set(day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)) }
	call := func() *civiq.Ticket {
		t.Helper()
		tk, err := e.eng.CallNext(ctx, "demo", "5", nil)
		if err != nil || tk == nil {
			t.Fatalf("call: %v %v", tk, err)
		}
		return tk
	}
	act := func(tk *civiq.Ticket, action, svc string) {
		t.Helper()
		if _, err := e.eng.Act(ctx, civiq.ActRequest{TicketID: tk.ID, Action: action, ServiceID: svc}, nil); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
	at(9, 0)
	t1 := e.issue("tax", "")
	e.advance(time.Second)
	t2 := e.issue("tax", "")
	e.advance(time.Second)
	t3 := e.issue("tax", "")
	t5 := e.issue("general", "")
	at(9, 2)
	if c := call(); c.ID != t1.ID {
		t.Fatalf("called %s", c.Number)
	}
	at(9, 5)
	e.act(t5.ID, civiq.ActCancel, "")
	at(9, 7)
	act(t1, civiq.ActFinish, "")
	at(9, 10)
	call() // t2, idle 3 minutes (free at 09:07)
	at(9, 20)
	act(t2, civiq.ActNoShow, "")
	at(9, 21)
	call() // t3, idle 1 minute, waited 21 minutes less 2 s
	at(9, 30)
	act(t3, civiq.ActTransfer, "general")
	at(9, 31)
	t4 := e.issue("tax", "")
	call() // t4, no idle: it came after the counter was free
	at(9, 41)
	act(t4, civiq.ActFinish, "")
	at(9, 45)
	if _, err := e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: t1.ID, Score: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: t4.ID, Score: 2, Comment: "太慢"}); err != nil {
		t.Fatal(err)
	}
	d := day.Format(time.DateOnly)

	sr, err := e.eng.StaffReport(e.ctx, "demo", d, d, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Rows) != 2 {
		t.Fatalf("rows: %+v", sr.Rows)
	}
	half := 0.5
	for i, want := range []civiq.StaffRow{
		{Period: d + ".." + d, Kind: civiq.RowCounter, ID: "5", Name: "5号窗口"},
		{Period: d + ".." + d, Kind: civiq.RowClerk, ID: "li.wei", Name: "li.wei"},
	} {
		want.Served, want.MeanHandlingSeconds, want.P90HandlingSeconds, want.IdleSeconds = 2, 450, 600, 240
		want.NoShows, want.Transfers, want.Ratings, want.Satisfied, want.SatisfactionRate = 1, 1, 2, 1, &half
		got := sr.Rows[i]
		if got.Period != want.Period || got.Kind != want.Kind || got.ID != want.ID || got.Name != want.Name || got.Served != want.Served ||
			got.MeanHandlingSeconds != want.MeanHandlingSeconds || got.P90HandlingSeconds != want.P90HandlingSeconds ||
			got.IdleSeconds != want.IdleSeconds || got.NoShows != want.NoShows || got.Transfers != want.Transfers ||
			got.Ratings != want.Ratings || got.Satisfied != want.Satisfied || got.SatisfactionRate == nil || *got.SatisfactionRate != half {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, want)
		}
	}

	vr, err := e.eng.ServiceReport(e.ctx, "demo", d, d, "")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]civiq.ServiceRow{}
	for _, r := range vr.Rows {
		rows[r.ServiceID] = r
	}
	tax, gen := rows["tax"], rows["general"]
	if len(vr.Rows) != 2 || tax.Arrivals != 3 || tax.Called != 3 || tax.Served != 2 || tax.NoShows != 1 || tax.MeanWaitSeconds != 240 ||
		tax.P90WaitSeconds != 599 || tax.WithinTarget != 3 || tax.WithinTargetShare == nil || *tax.WithinTargetShare != 1 || tax.Abandoned != 0 ||
		tax.TargetSeconds != 900 {
		t.Errorf("tax: %+v", tax)
	}
	// t3 counts in general now (transferred), first called after 21
	// minutes; t5 cancelled uncalled after 5 minutes: abandoned, not missed.
	if gen.Arrivals != 2 || gen.Called != 1 || gen.MeanWaitSeconds != 1258 || gen.WithinTarget != 0 || gen.Missed != 0 ||
		gen.WithinTargetShare == nil || *gen.WithinTargetShare != 0 || gen.Abandoned != 1 || gen.AbandonedShare == nil || *gen.AbandonedShare != 0.5 {
		t.Errorf("general: %+v", gen)
	}
	if vr.Total.Arrivals != 5 || vr.Total.Called != 4 || vr.Total.Abandoned != 1 {
		t.Errorf("total: %+v", vr.Total)
	}

	// A target of the service's own moves what is within it.
	_, svcs, _ := civiq.DemoHall()
	gsvc := svcs[0]
	gsvc.TargetWaitMinutes = 30
	if err := e.eng.SaveService(e.ctx, &gsvc, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	hr, err := e.eng.ServiceReport(e.ctx, "demo", d, d, civiq.ByHour)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range hr.Rows {
		if r.Hour == nil || *r.Hour != 9 || r.Period != "9" {
			t.Errorf("by hour: %+v", r)
		}
		if r.ServiceID == "general" && (r.TargetSeconds != 1800 || r.WithinTarget != 1) {
			t.Errorf("general with a 30-minute target: %+v", r)
		}
	}

	// Weeks start on Monday (or the period's first day), months by name.
	wr, err := e.eng.StaffReport(e.ctx, "demo", day.AddDate(0, 0, -10).Format(time.DateOnly), d, civiq.ByWeek)
	if err != nil {
		t.Fatal(err)
	}
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)).Format(time.DateOnly)
	if len(wr.Rows) != 2 || wr.Rows[0].Period != monday {
		t.Errorf("by week: %+v, want the week of %s", wr.Rows, monday)
	}
	mr, err := e.eng.ServiceReport(e.ctx, "demo", d, d, civiq.ByMonth)
	if err != nil || len(mr.Rows) != 2 || mr.Rows[0].Period != day.Format("2006-01") {
		t.Errorf("by month: %+v %v", mr, err)
	}
}

// Bad periods and breakdowns are refused naming the field.
func TestReportValidation(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		from, to, by, field string
	}{
		{"2026-13-01", "", "", "from"},
		{"", "yesterday", "", "to"},
		{"2026-03-10", "2026-03-01", "", "to"},
		{"2025-01-01", "2026-12-31", "", "to"},
		{"", "", "year", "by"},
	} {
		for _, staff := range []bool{true, false} {
			var err error
			if staff {
				_, err = e.eng.StaffReport(e.ctx, "demo", c.from, c.to, c.by)
			} else {
				_, err = e.eng.ServiceReport(e.ctx, "demo", c.from, c.to, c.by)
			}
			var ce *civiq.Error
			if !errors.As(err, &ce) || ce.Code != civiq.EInvalid || ce.Field != c.field {
				t.Errorf("%+v (staff %v): %v, want invalid %s", c, staff, err, c.field)
			}
		}
	}
	if _, err := e.eng.StaffReport(e.ctx, "demo", "", "", civiq.ByHour); civiq.ErrorCode(err) != civiq.EInvalid {
		t.Errorf("staff by hour: %v", err)
	}
	if _, err := e.eng.StaffReport(e.ctx, "nowhere", "", "", ""); civiq.ErrorCode(err) != civiq.ENotFound {
		t.Errorf("unknown hall: %v", err)
	}
}
