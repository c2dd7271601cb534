package civiq_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// The quota rule alone: which count refuses, by which setting, and when
// the message says tickets come again, by the hall's own clock.
func TestCheckQuota(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	sh := &civiq.Hall{ID: "h", Timezone: "Asia/Shanghai", OpensAt: "08:30", ClosesAt: "17:30"}
	nyHall := &civiq.Hall{ID: "n", Timezone: "America/New_York"}
	svc := &civiq.Service{ID: "s", Name: "综合受理", DailyQuota: 10, HalfDayQuota: 6, PerPersonDaily: 2}
	for _, c := range []struct {
		name   string
		hall   *civiq.Hall
		at     time.Time
		counts civiq.QuotaCounts
		field  string // "" allowed
		when   string // in the message
	}{
		{"under every quota", sh, time.Date(2031, 3, 4, 9, 0, 0, 0, shanghai), civiq.QuotaCounts{Day: 5, HalfDay: 5, Person: 1}, "", ""},
		{"morning full", sh, time.Date(2031, 3, 4, 11, 59, 59, 0, shanghai), civiq.QuotaCounts{Day: 6, HalfDay: 6}, "half_day_quota", "this afternoon from 12:00"},
		{"afternoon full", sh, time.Date(2031, 3, 4, 12, 0, 0, 0, shanghai), civiq.QuotaCounts{Day: 9, HalfDay: 6}, "half_day_quota", "tomorrow (2031-03-05) from 08:30"},
		{"day full", sh, time.Date(2031, 3, 4, 15, 0, 0, 0, shanghai), civiq.QuotaCounts{Day: 10, HalfDay: 4}, "daily_quota", "tomorrow (2031-03-05) from 08:30"},
		{"day full just before midnight", sh, time.Date(2031, 3, 4, 23, 59, 59, 0, shanghai), civiq.QuotaCounts{Day: 10, HalfDay: 4}, "daily_quota", "tomorrow (2031-03-05)"},
		{"person full", sh, time.Date(2031, 3, 4, 9, 0, 0, 0, shanghai), civiq.QuotaCounts{Day: 3, HalfDay: 3, Person: 2}, "per_person_daily", "tomorrow (2031-03-05)"},
		{"the day is the hall's: 23:30 UTC is Shanghai's next morning", sh, time.Date(2031, 3, 4, 23, 30, 0, 0, time.UTC), civiq.QuotaCounts{Day: 10}, "daily_quota", "tomorrow (2031-03-06) from 08:30"},
		{"New York's afternoon at 17:00 UTC", nyHall, time.Date(2031, 7, 4, 17, 0, 0, 0, time.UTC), civiq.QuotaCounts{Day: 6, HalfDay: 6}, "half_day_quota", "tomorrow (2031-07-05) from 00:00"},
		{"New York's morning at 15:59 UTC", nyHall, time.Date(2031, 7, 4, 15, 59, 0, 0, time.UTC), civiq.QuotaCounts{Day: 6, HalfDay: 6}, "half_day_quota", "this afternoon"},
		{"no quotas", sh, time.Date(2031, 3, 4, 9, 0, 0, 0, shanghai), civiq.QuotaCounts{Day: 1000, HalfDay: 1000, Person: 1000}, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := svc
			if c.name == "no quotas" {
				s = &civiq.Service{ID: "s", Name: "x"}
			}
			err := c.hall.CheckQuota(s, c.counts, c.at, nil)
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *civiq.Error
			if !errors.As(err, &e) || e.Code != civiq.EQuotaReached || e.Field != c.field {
				t.Fatalf("got %v, want %s on %s", err, civiq.EQuotaReached, c.field)
			}
			if !strings.Contains(e.Message, c.when) {
				t.Fatalf("message %q does not say %q", e.Message, c.when)
			}
		})
	}
	// With the hall's calendar, tickets come again on its next working day:
	// a Friday's full day opens again on Monday; a morning's at noon.
	cal := civiq.BuiltinCalendar()
	for _, c := range []struct {
		at     time.Time
		svc    *civiq.Service
		counts civiq.QuotaCounts
		again  time.Time
		when   string
	}{
		{time.Date(2031, 3, 7, 15, 0, 0, 0, shanghai), svc, civiq.QuotaCounts{Day: 10}, time.Date(2031, 3, 10, 8, 30, 0, 0, shanghai), "on 2031-03-10 from 08:30"},
		{time.Date(2031, 3, 5, 15, 0, 0, 0, shanghai), svc, civiq.QuotaCounts{Day: 10}, time.Date(2031, 3, 6, 8, 30, 0, 0, shanghai), "tomorrow (2031-03-06) from 08:30"},
		{time.Date(2031, 3, 7, 9, 0, 0, 0, shanghai), svc, civiq.QuotaCounts{Day: 6, HalfDay: 6}, time.Date(2031, 3, 7, 12, 0, 0, 0, shanghai), "this afternoon from 12:00"},
		{time.Date(2031, 3, 7, 9, 0, 0, 0, shanghai), svc, civiq.QuotaCounts{Day: 3, HalfDay: 3, Person: 2}, time.Date(2031, 3, 10, 8, 30, 0, 0, shanghai), "on 2031-03-10 from 08:30"},
	} {
		err := sh.CheckQuota(c.svc, c.counts, c.at, cal)
		var e *civiq.Error
		if !errors.As(err, &e) || !e.Again.Equal(c.again) || !strings.Contains(e.Message, c.when) {
			t.Errorf("at %v: %v (again %v), want again %v and %q", c.at, err, e.Again, c.again, c.when)
		}
	}
	// Half-days by the hall's clock, also on a day clocks change.
	for _, c := range []struct {
		hall      *civiq.Hall
		at        time.Time
		from, to  time.Time
		afternoon bool
	}{
		{sh, time.Date(2031, 3, 4, 0, 0, 0, 0, shanghai), time.Date(2031, 3, 4, 0, 0, 0, 0, shanghai), time.Date(2031, 3, 4, 12, 0, 0, 0, shanghai), false},
		{sh, time.Date(2031, 3, 4, 12, 0, 0, 0, shanghai), time.Date(2031, 3, 4, 12, 0, 0, 0, shanghai), time.Date(2031, 3, 5, 0, 0, 0, 0, shanghai), true},
		{nyHall, time.Date(2031, 3, 9, 11, 0, 0, 0, ny), time.Date(2031, 3, 9, 0, 0, 0, 0, ny), time.Date(2031, 3, 9, 12, 0, 0, 0, ny), false},
	} {
		from, to, pm := c.hall.HalfDayBounds(c.at)
		if !from.Equal(c.from) || !to.Equal(c.to) || pm != c.afternoon {
			t.Errorf("HalfDayBounds(%v) = %v, %v, %v; want %v, %v, %v", c.at, from, to, pm, c.from, c.to, c.afternoon)
		}
	}
}

// Quotas as the engine issues: counted in the issuing write, refused with
// nothing written, the half-day and the day starting again at the hall's
// noon and midnight, one phone's remote tickets of the day counted.
func TestQuotaIssue(t *testing.T) {
	e := newEnv(t)
	e.step = 0
	_, svcs, _ := civiq.DemoHall()
	svc := &svcs[0]
	if svc.ID != "general" {
		t.Fatalf("the demo's first service is %s", svc.ID)
	}
	svc.DailyQuota, svc.HalfDayQuota, svc.PerPersonDaily = 3, 2, 1
	if err := e.eng.SaveService(e.ctx, svc, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	staff := func() error {
		_, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelStaff}, nil)
		return err
	}
	refused := func(what, field string, err error) {
		t.Helper()
		var qe *civiq.Error
		if !errors.As(err, &qe) || qe.Code != civiq.EQuotaReached || qe.Field != field {
			t.Fatalf("%s: %v, want %s on %s", what, err, civiq.EQuotaReached, field)
		}
		if evs := e.take(); len(evs) != 0 {
			t.Fatalf("%s: a refusal wrote %d event(s)", what, len(evs))
		}
	}
	e.set(e.day(0).Add(11*time.Hour + 59*time.Minute))
	for i := 0; i < 2; i++ {
		if err := staff(); err != nil {
			t.Fatalf("morning ticket %d: %v", i+1, err)
		}
	}
	e.take()
	refused("third of the morning", "half_day_quota", staff())
	e.set(e.day(0).Add(12 * time.Hour))
	if err := staff(); err != nil {
		t.Fatalf("first of the afternoon: %v", err)
	}
	e.take()
	refused("fourth of the day", "daily_quota", staff())
	// Another service has no quota.
	if _, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "tax", Channel: civiq.ChannelStaff}, nil); err != nil {
		t.Fatalf("a service without quotas: %v", err)
	}
	// The hall's next day, just after its midnight (16:00 UTC).
	e.set(e.day(1).Add(time.Second))
	remote := func(holder string) (*civiq.Ticket, error) {
		return e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelRemote, Holder: holder}, nil)
	}
	first, err := remote("phone-a")
	if err != nil {
		t.Fatalf("the next day's first: %v", err)
	}
	if first.Number != "A001" {
		t.Fatalf("the next day's first is %s", first.Number)
	}
	e.act(first.ID, civiq.ActCancel, "")
	e.take()
	// Cancelled, it no longer waits, but it was the phone's one of the day.
	_, err = remote("phone-a")
	refused("the phone's second of the day", "per_person_daily", err)
	if _, err := remote("phone-b"); err != nil {
		t.Fatalf("another phone: %v", err)
	}
	// Yesterday's three still wait, and phone-b's: nothing refused was kept.
	if n := e.status().Waiting["general"]; n != 4 {
		t.Fatalf("waiting in general: %d, want 4", n)
	}
}
