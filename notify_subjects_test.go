package civiq_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/civiq/civiq"
)

// shanghaiAt reads "2006-01-02 15:04" in Asia/Shanghai.
func shanghaiAt(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReminderDue: the day-before reminder at the hall's hour of the day
// before the slot's local day, the hour-before one an hour before; neither
// when booked at or after it, nor when it would be stale already.
func TestReminderDue(t *testing.T) {
	sh := shanghai
	at := func(s string) time.Time { return shanghaiAt(t, s) }
	for _, c := range []struct {
		name, kind, slot, booked, hour string
		want                           string // "" when not due
	}{
		{"day before at six", civiq.NoticeReminderDay, "2026-12-08 09:30", "2026-12-01 10:00", "", "2026-12-07 18:00"},
		{"day before at the hall's hour", civiq.NoticeReminderDay, "2026-12-08 09:30", "2026-12-01 10:00", "19:30", "2026-12-07 19:30"},
		{"slot after midnight: the evening before", civiq.NoticeReminderDay, "2026-12-08 00:30", "2026-12-01 10:00", "", "2026-12-07 18:00"},
		{"slot after midnight, hour too late for it", civiq.NoticeReminderDay, "2026-12-08 00:30", "2026-12-01 10:00", "23:45", ""},
		{"across a month's end", civiq.NoticeReminderDay, "2027-01-01 08:00", "2026-12-20 08:00", "", "2026-12-31 18:00"},
		{"booked after the day-before hour", civiq.NoticeReminderDay, "2026-12-08 09:30", "2026-12-07 18:00", "", ""},
		{"booked the same day", civiq.NoticeReminderDay, "2026-12-08 15:00", "2026-12-08 08:00", "", ""},
		{"hour before", civiq.NoticeReminderHour, "2026-12-08 09:30", "2026-12-01 10:00", "", "2026-12-08 08:30"},
		{"hour before crosses midnight", civiq.NoticeReminderHour, "2026-12-08 00:30", "2026-12-01 10:00", "", "2026-12-07 23:30"},
		{"booked within the hour", civiq.NoticeReminderHour, "2026-12-08 09:30", "2026-12-08 08:45", "", ""},
		{"booked a minute before it", civiq.NoticeReminderHour, "2026-12-08 09:30", "2026-12-08 08:29", "", "2026-12-08 08:30"},
		{"not a reminder", civiq.NoticeBooked, "2026-12-08 09:30", "2026-12-01 10:00", "", ""},
		{"bad hour", civiq.NoticeReminderDay, "2026-12-08 09:30", "2026-12-01 10:00", "25:00", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			due, ok := civiq.ReminderDue(c.kind, at(c.slot), at(c.booked), sh, c.hour)
			switch {
			case c.want == "" && ok:
				t.Errorf("due at %v, want none", due.In(sh))
			case c.want != "" && (!ok || !due.Equal(at(c.want))):
				t.Errorf("due at %v (%v), want %s", due.In(sh), ok, c.want)
			}
		})
	}
}

// TestReminderSendAt: a reminder due in quiet hours goes at their end when
// that still helps, and is dropped when it does not; quiet hours across
// midnight and within a day alike, in Asia/Shanghai.
func TestReminderSendAt(t *testing.T) {
	sh := shanghai
	at := func(s string) time.Time { return shanghaiAt(t, s) }
	for _, c := range []struct {
		name, kind, slot, now, from, to string
		want                            string // when it goes; "drop"
		wait                            bool
	}{
		{"no quiet hours", civiq.NoticeReminderDay, "2026-12-08 09:30", "2026-12-07 18:00", "", "", "2026-12-07 18:00", false},
		{"before quiet hours", civiq.NoticeReminderDay, "2026-12-08 09:30", "2026-12-07 18:00", "21:00", "08:00", "2026-12-07 18:00", false},
		{"late evening waits for the morning", civiq.NoticeReminderDay, "2026-12-08 10:30", "2026-12-07 22:00", "21:00", "08:00", "2026-12-08 08:00", true},
		{"after midnight waits for the morning", civiq.NoticeReminderDay, "2026-12-08 10:30", "2026-12-08 01:00", "21:00", "08:00", "2026-12-08 08:00", true},
		{"morning too late for the day's one", civiq.NoticeReminderDay, "2026-12-08 08:30", "2026-12-07 22:00", "21:00", "08:00", "drop", false},
		{"just in time: stale at 9:00, goes 8:00", civiq.NoticeReminderDay, "2026-12-08 10:00", "2026-12-07 23:59", "21:00", "08:00", "2026-12-08 08:00", true},
		{"end of quiet hours is the stale time", civiq.NoticeReminderDay, "2026-12-08 09:00", "2026-12-07 23:00", "21:00", "08:00", "drop", false},
		{"hour before in quiet hours, slot at 8:40", civiq.NoticeReminderHour, "2026-12-08 08:40", "2026-12-08 07:40", "21:00", "08:00", "2026-12-08 08:00", true},
		{"hour before in quiet hours, slot at 8:20", civiq.NoticeReminderHour, "2026-12-08 08:20", "2026-12-08 07:20", "21:00", "08:00", "drop", false},
		{"hour before at quiet's end", civiq.NoticeReminderHour, "2026-12-08 09:00", "2026-12-08 08:00", "21:00", "08:00", "2026-12-08 08:00", false},
		{"quiet within the day (lunch)", civiq.NoticeReminderHour, "2026-12-08 14:00", "2026-12-08 12:10", "12:00", "13:00", "2026-12-08 13:00", true},
		{"a tick late: past its use", civiq.NoticeReminderHour, "2026-12-08 09:00", "2026-12-08 08:31", "", "", "drop", false},
		{"the day's one once the hour's is due", civiq.NoticeReminderDay, "2026-12-08 09:00", "2026-12-08 08:00", "", "", "drop", false},
		{"midnight slot: late evening hour before in quiet", civiq.NoticeReminderHour, "2026-12-08 00:30", "2026-12-07 23:30", "21:00", "08:00", "drop", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, wait, drop := civiq.ReminderSendAt(c.kind, at(c.slot), at(c.now), sh, c.from, c.to)
			if c.want == "drop" {
				if !drop {
					t.Errorf("goes at %v (wait %v), want dropped", got.In(sh), wait)
				}
				return
			}
			if drop || !got.Equal(at(c.want)) || wait != c.wait {
				t.Errorf("goes at %v wait %v drop %v, want %s wait %v", got.In(sh), wait, drop, c.want, c.wait)
			}
		})
	}
}

// TestFitList: a correction's list fits the provider's rule, saying how
// many there were.
func TestFitList(t *testing.T) {
	items := []string{"居民身份证", "户口簿", "结婚证原件及复印件", "照片"}
	for _, c := range []struct {
		max  int
		want string
	}{
		{0, "居民身份证、户口簿、结婚证原件及复印件、照片"},
		{35, "居民身份证、户口簿、结婚证原件及复印件、照片"},
		{12, "居民身份证、户口簿等4项"},
		{10, "居民身份证等4项"},
		{6, "居民…等4项"},
	} {
		got := civiq.FitList(items, c.max)
		if got != c.want || (c.max > 0 && utf8.RuneCountInString(got) > c.max) {
			t.Errorf("max %d: %q, want %q", c.max, got, c.want)
		}
	}
}

// FuzzParseSubjectKey: a key read back is the key written; nothing
// panics.
func FuzzParseSubjectKey(f *testing.F) {
	for _, s := range []string{"booking:tk_abc", "case:20261206-0001", "followup:12", "followup:012", "followup:-1", "tk_abc", ":", "x:y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		subject, id, ok := civiq.ParseSubjectKey(key)
		if !ok {
			return
		}
		if civiq.SubjectKey(subject, id) != key || id == "" || strings.HasPrefix(id, "0") && subject == civiq.SubjectFollowUp {
			t.Fatalf("%q read as %q %q", key, subject, id)
		}
	})
}

// TestReminderReplan: a reminder already planned is due by its booking's
// slot and the hall's hour as they are now: it moves with either, goes now
// when its new time passed while it waited, and is dropped when it is no
// longer to be sent at all.
func TestReminderReplan(t *testing.T) {
	sh := shanghai
	at := func(s string) time.Time { return shanghaiAt(t, s) }
	day, hour := civiq.NoticeReminderDay, civiq.NoticeReminderHour
	for _, c := range []struct {
		name, kind, slot, booked, now, hour string
		want                                string // "" when dropped
	}{
		{"as planned", day, "2026-12-08 09:30", "2026-12-01 10:00", "2026-12-02 10:00", "18:00", "2026-12-07 18:00"},
		{"the hour later", day, "2026-12-08 09:30", "2026-12-01 10:00", "2026-12-02 10:00", "20:00", "2026-12-07 20:00"},
		{"the hour earlier, ahead", day, "2026-12-08 09:30", "2026-12-01 10:00", "2026-12-07 10:00", "12:00", "2026-12-07 12:00"},
		{"the hour earlier, passed: now", day, "2026-12-08 09:30", "2026-12-01 10:00", "2026-12-07 17:00", "12:00", "2026-12-07 17:00"},
		{"the hour before the booking", day, "2026-12-08 09:30", "2026-12-07 17:30", "2026-12-07 17:45", "17:00", ""},
		{"the hour too late for the slot", day, "2026-12-08 00:30", "2026-12-01 10:00", "2026-12-02 10:00", "23:45", ""},
		{"the slot a day later", day, "2026-12-09 09:30", "2026-12-01 10:00", "2026-12-07 18:00", "18:00", "2026-12-08 18:00"},
		{"the slot earlier, its hour passed: now", day, "2026-12-08 09:30", "2026-12-01 10:00", "2026-12-07 19:00", "18:00", "2026-12-07 19:00"},
		{"the slot earlier, past its use: now (ReminderSendAt drops it)", day, "2026-12-07 20:00", "2026-12-01 10:00", "2026-12-07 19:30", "18:00", "2026-12-07 19:30"},
		{"hour before, slot later", hour, "2026-12-08 11:00", "2026-12-01 10:00", "2026-12-08 08:30", "", "2026-12-08 10:00"},
		{"hour before, slot earlier", hour, "2026-12-08 09:00", "2026-12-01 10:00", "2026-12-08 08:10", "", "2026-12-08 08:10"},
		{"hour before, booked within it", hour, "2026-12-08 09:30", "2026-12-08 08:45", "2026-12-08 08:50", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			due, drop := civiq.ReminderReplan(c.kind, at(c.slot), at(c.booked), at(c.now), sh, c.hour)
			switch {
			case c.want == "" && !drop:
				t.Errorf("due at %v, want dropped", due.In(sh))
			case c.want != "" && (drop || !due.Equal(at(c.want))):
				t.Errorf("due at %v (dropped %v), want %s", due.In(sh), drop, c.want)
			}
		})
	}
}

// TestReminderFollowsTheHour: reminders planned at booking move when the
// hall changes reminder_at: each goes at its new time, never at its old
// one, and once; one already queued stays as it is.
func TestReminderFollowsTheHour(t *testing.T) {
	e := newBookingEnv(t) // Monday 2 March 2026, 08:00
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	setHour := func(h string) {
		t.Helper()
		if _, err := e.eng.SetNotifySettings(e.ctx, admin, "demo", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"},
			ReminderAt: h}); err != nil {
			t.Fatal(err)
		}
	}
	setHour("18:00")
	wed := e.mustBook("property", slot(4, 10, 0), 1)
	thu := e.mustBook("property", slot(5, 10, 0), 2)
	var ids []int64
	for _, ev := range e.take() {
		ids = append(ids, ev.ID)
	}
	if _, err := e.eng.PlanNotices(e.ctx, "demo", ids, 100); err != nil {
		t.Fatal(err)
	}
	on := func(day, hh, mm int) time.Time { return time.Date(2026, 3, day, hh, mm, 0, 0, shanghai) }
	due := func(b *civiq.Booking) string {
		t.Helper()
		var ns []*civiq.Notice
		for _, d := range []string{"2026-03-02", "2026-03-03", "2026-03-04"} { // a reminder queued is of its day
			day, err := e.eng.NotifyMessages(e.ctx, admin, "demo", d)
			if err != nil {
				t.Fatal(err)
			}
			ns = append(ns, day...)
		}
		for _, n := range ns {
			if n.Number == b.Code && n.Kind == civiq.NoticeReminderDay && n.DueAt != nil {
				return n.Status + " " + n.DueAt.In(shanghai).Format("01-02 15:04")
			}
		}
		return "none"
	}
	e.set(on(2, 9, 0))
	setHour("12:00")
	if got := due(wed) + ", " + due(thu); got != "scheduled 03-03 12:00, scheduled 03-04 12:00" {
		t.Fatalf("after 12:00: %s", got)
	}
	for _, c := range []struct {
		at   time.Time
		hour string // set after the tick
		want int    // reminders queued by the tick
	}{
		{on(3, 11, 59), "", 0},
		{on(3, 12, 0), "20:00", 1}, // Wednesday's, the day before; Thursday's moves to 20:00
		{on(3, 18, 0), "", 0},      // the old hour
		{on(3, 20, 0), "", 0},      // Wednesday's went already
		{on(4, 9, 0), "", 1},       // Wednesday's hour before
		{on(4, 12, 0), "", 0},      // Thursday's hour before it moved
		{on(4, 20, 0), "", 1},      // Thursday's day before
		{on(4, 20, 1), "", 0},
	} {
		e.set(c.at)
		n, err := e.eng.QueueDueReminders(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("at %s: %d queued, want %d", c.at.Format("01-02 15:04"), n, c.want)
		}
		if c.hour != "" {
			setHour(c.hour)
		}
	}
	if got := due(wed) + ", " + due(thu); got != "queued 03-03 12:00, queued 03-04 20:00" {
		t.Errorf("at the end: %s", got)
	}
}
