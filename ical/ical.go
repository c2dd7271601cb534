// Package ical writes iCalendar files (RFC 5545): the calendar entry of
// an appointment, in Chinese or English, with its words in one place
// (words.go).
package ical

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one calendar entry.
type Event struct {
	UID         string
	Stamp       time.Time
	Start, End  time.Time
	Summary     string
	Location    string
	Description string
	// Alarm, when set, reminds this long before the start.
	Alarm time.Duration
}

// Write writes an iCalendar file (RFC 5545) with one event in the time zone
// of its start, with that zone's VTIMEZONE: CRLF line ends, lines folded at
// 75 octets, text escaped.
func Write(ev Event) []byte {
	loc := ev.Start.Location()
	tzid := loc.String()
	var b strings.Builder
	line := func(s string) {
		// Fold at 75 octets without splitting a UTF-8 character.
		for len(s) > 75 {
			cut := 75
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			b.WriteString(s[:cut] + "\r\n")
			s = " " + s[cut:]
		}
		b.WriteString(s + "\r\n")
	}
	local := func(t time.Time) string { return t.In(loc).Format("20060102T150405") }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//civiq//appointments//ZH")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	if tzid != "UTC" {
		// The offset in force at the slot, as the zone's standard time: the
		// zones of mainland China keep one offset all year.
		name, offset := ev.Start.Zone()
		off := utcOffset(offset)
		line("BEGIN:VTIMEZONE")
		line("TZID:" + tzid)
		line("BEGIN:STANDARD")
		line("DTSTART:19700101T000000")
		line("TZOFFSETFROM:" + off)
		line("TZOFFSETTO:" + off)
		line("TZNAME:" + text(name))
		line("END:STANDARD")
		line("END:VTIMEZONE")
	}
	line("BEGIN:VEVENT")
	line("UID:" + text(ev.UID))
	line("DTSTAMP:" + ev.Stamp.UTC().Format("20060102T150405Z"))
	if tzid == "UTC" {
		line("DTSTART:" + ev.Start.UTC().Format("20060102T150405Z"))
		line("DTEND:" + ev.End.UTC().Format("20060102T150405Z"))
	} else {
		line("DTSTART;TZID=" + tzid + ":" + local(ev.Start))
		line("DTEND;TZID=" + tzid + ":" + local(ev.End))
	}
	line("SUMMARY:" + text(ev.Summary))
	if ev.Location != "" {
		line("LOCATION:" + text(ev.Location))
	}
	if ev.Description != "" {
		line("DESCRIPTION:" + text(ev.Description))
	}
	line("STATUS:CONFIRMED")
	line("TRANSP:OPAQUE")
	if ev.Alarm > 0 {
		line("BEGIN:VALARM")
		line("ACTION:DISPLAY")
		line("DESCRIPTION:" + text(ev.Summary))
		line(fmt.Sprintf("TRIGGER:-PT%dM", int(ev.Alarm.Minutes())))
		line("END:VALARM")
	}
	line("END:VEVENT")
	line("END:VCALENDAR")
	return []byte(b.String())
}

// text escapes TEXT values (RFC 5545 3.3.11).
func text(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// utcOffset writes a UTC offset in seconds as +hhmm.
func utcOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec%3600/60)
}
