package civiq_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// The retry schedule lasts at least 24 hours whatever the jitter, and each
// wait stays within ±10% of its step.
func TestRetrySchedule(t *testing.T) {
	for _, jitter := range []float64{0, 0.5, 0.999999} {
		var total time.Duration
		for i := 1; i <= len(civiq.RetrySchedule); i++ {
			d := civiq.RetryDelay(i, jitter)
			step := civiq.RetrySchedule[i-1]
			if d < step*9/10 || d > step*11/10 {
				t.Errorf("attempt %d, jitter %v: %v, outside ±10%% of %v", i, jitter, d, step)
			}
			total += d
		}
		if total < 24*time.Hour {
			t.Errorf("jitter %v: the schedule lasts %v, less than 24 h", jitter, total)
		}
	}
	if got, last := civiq.RetryDelay(100, 0.5), civiq.RetrySchedule[len(civiq.RetrySchedule)-1]; got != last {
		t.Errorf("after the schedule: %v, want the last step %v", got, last)
	}
}

func TestWebhookAddrAllowed(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1::1", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"10.1.2.3", false},
		{"10.20.3.4", true}, // allowed
		{"::ffff:10.20.3.4", true},
		{"::ffff:127.0.0.1", false},
		{"192.168.1.1", false},
		{"172.16.0.1", false},
		{"fd00::1", false},
		{"0.0.0.0", false},
		{"224.0.0.1", false},
	} {
		if got := civiq.WebhookAddrAllowed(netip.MustParseAddr(tc.ip), allow); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestSubscriberWants(t *testing.T) {
	s := &civiq.Subscriber{Events: []string{civiq.EventCalled}, Halls: []string{"a"}}
	for _, tc := range []struct {
		hall, typ string
		want      bool
	}{
		{"a", civiq.EventCalled, true},
		{"b", civiq.EventCalled, false},
		{"a", civiq.EventIssued, false},
	} {
		if got := s.Wants(&civiq.Event{HallID: tc.hall, Type: tc.typ}); got != tc.want {
			t.Errorf("%s %s: %v", tc.hall, tc.typ, got)
		}
	}
	all := &civiq.Subscriber{Events: []string{"*"}}
	if !all.Wants(&civiq.Event{HallID: "z", Type: civiq.EventRated}) {
		t.Error("* in every hall wants every event")
	}
	if all.Wants(&civiq.Event{Type: civiq.EventSubscriberChanged, Text: "1"}) {
		t.Error("a subscriber's change (no hall's) is the delivery's own")
	}
}
