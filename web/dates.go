package web

import (
	"time"
)

// Dates on the pages: one format per language, the same as civiq.js's
// CIVIQ.time (kinds "date" and "datetime") and CIVIQ.date write in the
// browser. Chinese: 2026-03-04 and 2026-03-04 10:00; English: 4 Mar 2026
// and 4 Mar 2026, 10:00. A day of the coming days goes without its year,
// with its weekday in one short form (CIVIQ.time's kind "day"): 3月4日周三
// and Wed 4 Mar. Times are given in the hall's zone.

// zhWeekdays are the weekdays' short forms in Chinese, Sunday first as
// time.Weekday counts; English has time's own (Mon).
var zhWeekdays = [7]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// weekdayIn writes the weekday of t in lang: 周三, Wed.
func weekdayIn(lang string, t time.Time) string {
	if lang == "en" {
		return t.Format("Mon")
	}
	return zhWeekdays[t.Weekday()]
}

// monthDayIn writes the day of t without its year in lang: 3月4日, 4 Mar.
func monthDayIn(lang string, t time.Time) string {
	if lang == "en" {
		return t.Format("2 Jan")
	}
	return t.Format("1月2日")
}

// dateIn writes the date of t in lang.
func dateIn(lang string, t time.Time) string {
	if lang == "en" {
		return t.Format("2 Jan 2006")
	}
	return t.Format(time.DateOnly)
}

// dateTimeIn writes the date and time of t, to the minute, in lang.
func dateTimeIn(lang string, t time.Time) string {
	if lang == "en" {
		return t.Format("2 Jan 2006, 15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// dayIn writes a day given as "2006-01-02" (a promised date, a receipt's
// day) in lang; anything else is shown as it is.
func dayIn(lang, day string) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return dateIn(lang, d)
}
