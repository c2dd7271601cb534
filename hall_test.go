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

func TestNamesByLanguage(t *testing.T) {
	for _, c := range []struct {
		lang, zh, en, name, other string
	}{
		{"en", "税务", "Tax", "Tax", "税务"},
		{"en", "税务", "", "税务", ""},
		{"zh-CN", "税务", "Tax", "税务", "Tax"},
		{"zh-CN", "税务", "", "税务", ""},
		{"", "税务", "Tax", "税务", "Tax"},
		{"fr", "税务", "Tax", "税务", "Tax"},
	} {
		h := &Hall{Name: c.zh, NameEn: c.en}
		s := &Service{Name: c.zh, NameEn: c.en}
		g := &Guide{Name: c.zh, NameEn: c.en}
		p := &CaseProgress{HallName: c.zh, HallNameEn: c.en}
		if got := h.NameIn(c.lang); got != c.name {
			t.Errorf("Hall.NameIn(%q) of %q/%q = %q, want %q", c.lang, c.zh, c.en, got, c.name)
		}
		if got := s.NameIn(c.lang); got != c.name {
			t.Errorf("Service.NameIn(%q) of %q/%q = %q, want %q", c.lang, c.zh, c.en, got, c.name)
		}
		if got := p.HallNameIn(c.lang); got != c.name {
			t.Errorf("CaseProgress.HallNameIn(%q) of %q/%q = %q, want %q", c.lang, c.zh, c.en, got, c.name)
		}
		for what, names := range map[string]func(string) (string, string){"Service": s.Names, "Guide": g.Names} {
			if name, other := names(c.lang); name != c.name || other != c.other {
				t.Errorf("%s.Names(%q) of %q/%q = %q, %q, want %q, %q", what, c.lang, c.zh, c.en, name, other, c.name, c.other)
			}
		}
	}
}
