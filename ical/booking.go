package ical

import (
	"fmt"
	"time"

	"github.com/civiq/civiq"
)

// words are the texts of an appointment's calendar entry in one language.
type words struct {
	// summary takes the service's name and the hall's.
	summary string
	// description takes the booking code, the check-in window's first and
	// last minute (HH:MM) and the minutes before the slot a cancellation
	// must come.
	description string
}

// bookingWords holds every word of the entry, Chinese first.
var bookingWords = map[string]words{
	"zh": {
		summary:     "预约办理：%s（%s）",
		description: "预约码 %s。\n请于 %s 至 %s 携带身份证到取号机签到（输入预约码和身份证号后4位）。\n如不能前往，请至少提前%d分钟取消；未按时签到将记为爽约。",
	},
	"en": {
		summary:     "Appointment: %s, %s",
		description: "Booking code %s.\nCheck in at the kiosk between %s and %s with the booking code and the last 4 characters of your ID number, and bring your ID card.\nCannot come? Cancel at least %d minutes before; missed appointments are counted.",
	},
}

// Booking is the calendar entry of a booking in the language ("zh", the
// default, or "en"): no personal data but the code, which the holder of
// the file has. It reminds an hour before.
func Booking(b *civiq.Booking, hall *civiq.Hall, svc *civiq.Service, set *civiq.BookingSettings, lang string, now time.Time) Event {
	w, ok := bookingWords[lang]
	if !ok {
		lang, w = "zh", bookingWords["zh"]
	}
	loc := hall.Location()
	from := b.SlotStart.Add(-time.Duration(set.CheckInEarlyMinutes) * time.Minute).In(loc).Format("15:04")
	to := b.SlotStart.Add(time.Duration(set.CheckInLateMinutes) * time.Minute).In(loc).Format("15:04")
	hallName, svcName := hall.NameIn(lang), svc.NameIn(lang)
	return Event{
		UID: b.ID + "@civiq", Stamp: now, Start: b.SlotStart.In(loc), End: b.SlotEnd.In(loc), Alarm: time.Hour,
		Summary:     fmt.Sprintf(w.summary, svcName, hallName),
		Description: fmt.Sprintf(w.description, b.Code, from, to, set.CancelMinutes),
		Location:    hallName,
	}
}
