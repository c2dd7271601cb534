package civiq_test

import (
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

func TestSuspendedUntil(t *testing.T) {
	base := time.Date(2026, 1, 1, 9, 15, 0, 0, shanghai)
	day := func(n int) time.Time { return base.AddDate(0, 0, n) }
	strike := func(n int) civiq.Strike { return civiq.Strike{CreatedAt: day(n)} }
	cleared := func(n int) civiq.Strike {
		s := strike(n)
		at := day(n + 1)
		s.ClearedAt = &at
		return s
	}
	def := civiq.DefaultBookingSettings() // 3 in 180 days: 90 days
	strict := civiq.DefaultBookingSettings()
	strict.StrikesToSuspend, strict.StrikeWindowDays, strict.SuspendDays = 2, 365, 30
	tests := []struct {
		name    string
		s       civiq.BookingSettings
		strikes []civiq.Strike
		want    time.Time // zero: never suspended
	}{
		{"none", def, nil, time.Time{}},
		{"two strikes", def, []civiq.Strike{strike(0), strike(10)}, time.Time{}},
		{"three in 180 days", def, []civiq.Strike{strike(0), strike(10), strike(179)}, day(179 + 90)},
		{"in any order", def, []civiq.Strike{strike(179), strike(0), strike(10)}, day(179 + 90)},
		{"three over more than 180 days", def, []civiq.Strike{strike(0), strike(10), strike(180)}, time.Time{}},
		{"a cleared one does not count", def, []civiq.Strike{strike(0), cleared(10), strike(20)}, time.Time{}},
		{"four: from the last", def, []civiq.Strike{strike(0), strike(1), strike(2), strike(50)}, day(50 + 90)},
		{"the later suspension wins", def, []civiq.Strike{strike(0), strike(1), strike(2), strike(170), strike(171)}, day(171 + 90)},
		{"2 in a year, 30 days", strict, []civiq.Strike{strike(0), strike(300)}, day(300 + 30)},
	}
	for _, tt := range tests {
		got := civiq.SuspendedUntil(tt.strikes, &tt.s)
		if !got.Equal(tt.want) {
			t.Errorf("%s: SuspendedUntil = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestStrikeTexts(t *testing.T) {
	s := civiq.DefaultBookingSettings()
	w := civiq.StrikeWarning("示范政务服务大厅", "不动产登记", time.Date(2026, 3, 2, 9, 30, 0, 0, shanghai), &s)
	for _, want := range []string{"【示范政务服务大厅】", "3月2日09:30", "不动产登记", "爽约1次", "180天内爽约3次", "暂停预约90天", "120分钟"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
	n := civiq.SuspensionNotice("示范政务服务大厅", 3, time.Date(2026, 6, 1, 9, 45, 0, 0, shanghai), &s)
	if !strings.Contains(n, "2026年6月1日前暂停") || !strings.Contains(n, "爽约3次") {
		t.Errorf("notice %q", n)
	}
	// An SMS is at most a few parts long: 70 characters a part.
	if len([]rune(w)) > 140 {
		t.Errorf("the warning takes %d characters, more than two SMS parts", len([]rune(w)))
	}
}
