package web

import (
	"strings"
	"testing"

	"github.com/civiq/civiq"
)

func TestParseCounterSet(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		has     []string
		hasnt   []string
		canonic string
	}{
		{"1-12", true, []string{"1", "7", "12"}, []string{"0", "13", "01", "1-12", "a"}, "1-12"},
		{"1-6,9,12-14", true, []string{"1", "6", "9", "13"}, []string{"7", "8", "15"}, "9,1-6,12-14"},
		{"vip,1-4", true, []string{"vip", "3"}, []string{"5", "vip2"}, "vip,1-4"},
		{"7", true, []string{"7"}, []string{"70", "17"}, "7"},
		{"5-5", true, []string{"5"}, []string{"4", "6"}, "5-5"},
		{"0-99999", true, []string{"0", "99999"}, []string{"100000"}, "0-99999"},
		{"a-b", true, []string{"a-b"}, []string{"a"}, "a-b"}, // an id with a dash, not a range
		{"", false, nil, nil, ""},
		{",", false, nil, nil, ""},
		{"1-12,", false, nil, nil, ""},
		{"12-1", false, nil, nil, ""},
		{"01-12", false, nil, nil, ""},
		{"1-012", false, nil, nil, ""},
		{"1-100000", false, nil, nil, ""},
		{"+1-3", false, nil, nil, ""},
		{"1 -3", false, nil, nil, ""},
		{"1--3", false, nil, nil, ""},
		{"-3", false, nil, nil, ""},
		{"1-", false, nil, nil, ""},
		{"VIP", false, nil, nil, ""},
		{"窗口1", false, nil, nil, ""},
		{strings.Repeat("1,", 40) + "1", false, nil, nil, ""},
		{strings.Repeat("a", 201), false, nil, nil, ""},
	}
	for _, tt := range tests {
		set, err := parseCounterSet(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseCounterSet(%q): err %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if civiq.ErrorCode(err) != civiq.EInvalid || err.(*civiq.Error).Field != "counters" {
				t.Errorf("parseCounterSet(%q): %v, want an invalid error naming counters", tt.in, err)
			}
			continue
		}
		for _, id := range tt.has {
			if !set.Has(id) {
				t.Errorf("%q does not have %q", tt.in, id)
			}
		}
		for _, id := range tt.hasnt {
			if set.Has(id) {
				t.Errorf("%q has %q", tt.in, id)
			}
		}
		if got := set.String(); got != tt.canonic {
			t.Errorf("%q: String() = %q, want %q", tt.in, got, tt.canonic)
		}
	}
}

// FuzzParseCounterSet: the parser never panics, what it takes it gives
// back in a form it takes again meaning the same, and it never takes an
// item that is neither a counter id nor a range.
func FuzzParseCounterSet(f *testing.F) {
	for _, s := range []string{"1-12", "1-6,9,12-14", "vip,1-4", "", ",", "12-1", "01-3", "a-b", "1-99999", "0-0,x_y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := parseCounterSet(s)
		if err != nil {
			if set != nil {
				t.Fatalf("%q: a set and an error", s)
			}
			return
		}
		again, err := parseCounterSet(set.String())
		if err != nil {
			t.Fatalf("%q: its String %q does not parse: %v", s, set.String(), err)
		}
		if again.String() != set.String() {
			t.Fatalf("%q: %q then %q", s, set.String(), again.String())
		}
		for _, it := range strings.Split(s, ",") {
			if !civiq.ValidID(it) && !set.Has(strings.SplitN(it, "-", 2)[0]) {
				t.Fatalf("%q: took the item %q", s, it)
			}
		}
		for _, id := range []string{"0", "1", "12", "99999", "vip"} {
			if set.Has(id) != again.Has(id) {
				t.Fatalf("%q and %q differ on %q", s, set.String(), id)
			}
		}
	})
}
