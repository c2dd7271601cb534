package web

import (
	"time"
)

// Dates on the pages: one format per language, the same as civiq.js's
// CIVIQ.time (kinds "date" and "datetime") and CIVIQ.date write in the
// browser. Chinese: 2026-03-04 and 2026-03-04 10:00; English: 4 Mar 2026
// and 4 Mar 2026, 10:00. Times are given in the hall's zone.

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
