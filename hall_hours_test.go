package civiq

import (
	"testing"
	"time"
)

func TestHallOpenAt(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := func(hhmm string) time.Time {
		tt, _ := time.ParseInLocation("2006-01-02 15:04", "2026-11-27 "+hhmm, sh)
		return tt
	}
	day := &Hall{Timezone: "Asia/Shanghai", OpensAt: "09:00", ClosesAt: "17:00"}
	night := &Hall{Timezone: "Asia/Shanghai", OpensAt: "22:00", ClosesAt: "06:00"}
	always := &Hall{Timezone: "Asia/Shanghai"}
	for _, c := range []struct {
		h    *Hall
		at   string
		open bool
	}{
		{day, "08:59", false}, {day, "09:00", true}, {day, "16:59", true}, {day, "17:00", false},
		{night, "21:59", false}, {night, "23:00", true}, {night, "05:59", true}, {night, "06:00", false},
		{always, "03:00", true},
	} {
		if got := c.h.OpenAt(at(c.at)); got != c.open {
			t.Errorf("%s-%s at %s: open=%v, want %v", c.h.OpensAt, c.h.ClosesAt, c.at, got, c.open)
		}
	}
}
