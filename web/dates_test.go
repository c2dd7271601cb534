package web

import (
	"testing"
	"time"
)

// One date format per language, the same strings civiq.js writes
// (TestEnglishCaseBrowser checks the browser's side).
func TestDateFormats(t *testing.T) {
	at := time.Date(2031, 3, 4, 10, 5, 0, 0, time.FixedZone("CST", 8*3600))
	for _, c := range []struct {
		lang, date, datetime string
	}{
		{"zh-CN", "2031-03-04", "2031-03-04 10:05"},
		{"en", "4 Mar 2031", "4 Mar 2031, 10:05"},
	} {
		if got := dateIn(c.lang, at); got != c.date {
			t.Errorf("dateIn(%s) = %q; want %q", c.lang, got, c.date)
		}
		if got := dayIn(c.lang, "2031-03-04"); got != c.date {
			t.Errorf("dayIn(%s) = %q; want %q", c.lang, got, c.date)
		}
		if got := dateTimeIn(c.lang, at); got != c.datetime {
			t.Errorf("dateTimeIn(%s) = %q; want %q", c.lang, got, c.datetime)
		}
	}
	// The weekday in its one short form, with the day without its year
	// (the booking page; CIVIQ.time's "day" is the two together).
	for _, c := range []struct {
		lang string
		day  time.Time
		want string
	}{
		{"zh-CN", at, "周二 3月4日"},
		{"en", at, "Tue 4 Mar"},
		{"zh-CN", at.AddDate(0, 0, 5), "周日 3月9日"},
		{"en", at.AddDate(0, 0, 6), "Mon 10 Mar"},
		{"zh-CN", at.AddDate(0, 0, 6), "周一 3月10日"},
	} {
		if got := weekdayIn(c.lang, c.day) + " " + monthDayIn(c.lang, c.day); got != c.want {
			t.Errorf("weekdayIn and monthDayIn(%s, %s) = %q; want %q", c.lang, c.day.Format(time.DateOnly), got, c.want)
		}
	}
	if got := dayIn("en", "next week"); got != "next week" {
		t.Errorf("dayIn of a non-date = %q", got)
	}
}
