package ical_test

import (
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/ical"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func TestICS(t *testing.T) {
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	ics := string(ical.Write(ical.Event{
		UID: "abc@civiq", Stamp: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Start: start, End: start.Add(30 * time.Minute),
		Summary: "预约：不动产登记, 示范政务服务大厅; 请准时", Location: "示范政务服务大厅",
		Description: strings.Repeat("预约码 ABCD2345，请于 09:30-10:15 在取号机签到。\n", 3), Alarm: time.Hour,
	}))
	if !strings.HasSuffix(ics, "END:VCALENDAR\r\n") || strings.Contains(strings.ReplaceAll(ics, "\r\n", ""), "\n") {
		t.Errorf("lines must end in CRLF:\n%q", ics)
	}
	for _, l := range strings.Split(strings.TrimSuffix(ics, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
	}
	unfolded := strings.ReplaceAll(ics, "\r\n ", "")
	for _, want := range []string{
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", "BEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai\r\n", "TZOFFSETTO:+0800",
		"DTSTART;TZID=Asia/Shanghai:20260303T100000\r\n", "DTEND;TZID=Asia/Shanghai:20260303T103000\r\n",
		"DTSTAMP:20260302T000000Z", `SUMMARY:预约：不动产登记\, 示范政务服务大厅\; 请准时`, `签到。\n预约码`, "TRIGGER:-PT60M", "UID:abc@civiq",
	} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("ics lacks %q:\n%s", want, unfolded)
		}
	}
}

// TestBookingWords checks the entry of a booking in both languages: the
// words of its language, the names by language (the Chinese one where
// there is no English), the check-in window, and no personal data.
func TestBookingWords(t *testing.T) {
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	b := &civiq.Booking{ID: "b1", Code: "ABCD2345", SlotStart: start, SlotEnd: start.Add(30 * time.Minute), Name: "张三", Phone: "13800000000"}
	hall := &civiq.Hall{ID: "demo", Name: "示范大厅", NameEn: "Demo Hall", Timezone: "Asia/Shanghai"}
	svc := &civiq.Service{ID: "property", Name: "不动产登记"}
	set := &civiq.BookingSettings{CheckInEarlyMinutes: 30, CheckInLateMinutes: 15, CancelMinutes: 60}
	stamp := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		lang                      string
		summary, location, inDesc string
	}{
		{"", "预约办理：不动产登记（示范大厅）", "示范大厅", "请于 09:30 至 10:15"},
		{"zh", "预约办理：不动产登记（示范大厅）", "示范大厅", "请至少提前60分钟取消"},
		{"fr", "预约办理：不动产登记（示范大厅）", "示范大厅", "预约码 ABCD2345"},
		{"en", "Appointment: 不动产登记, Demo Hall", "Demo Hall", "between 09:30 and 10:15"},
	} {
		ev := ical.Booking(b, hall, svc, set, tt.lang, stamp)
		if ev.Summary != tt.summary || ev.Location != tt.location || !strings.Contains(ev.Description, tt.inDesc) ||
			ev.UID != "b1@civiq" || !ev.Start.Equal(start) || ev.Alarm != time.Hour {
			t.Errorf("lang %q: %+v", tt.lang, ev)
		}
		file := string(ical.Write(ev))
		for _, secret := range []string{"张三", "13800000000"} {
			if strings.Contains(file, secret) {
				t.Errorf("lang %q: the file holds %q", tt.lang, secret)
			}
		}
	}
}
