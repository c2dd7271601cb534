package sqlstore

import (
	"slices"
	"testing"
)

// A counter's services are decoded once by their JSON, and each read gets
// a list of its own: changing one changes no later read.
func TestCounterServices(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want []string
	}{
		{`["general","social"]`, []string{"general", "social"}},
		{`[ "tax" ]`, []string{"tax"}},
		{`["\u7a0e\u52a1"]`, []string{"税务"}},
		{`[]`, []string{}},
		{`null`, []string{}},
	} {
		for range 2 { // decoded, then kept
			got, err := counterServices(c.raw)
			if err != nil || got == nil || !slices.Equal(got, c.want) {
				t.Fatalf("%s: %q, %v; want %q", c.raw, got, err, c.want)
			}
			if len(got) > 0 {
				got[0] = "changed"
			}
		}
	}
	if _, err := counterServices(`["a",`); err == nil {
		t.Fatal("a broken list decoded")
	}
}
