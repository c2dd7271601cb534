package web

import (
	"slices"
	"strconv"
	"strings"

	"github.com/civiq/civiq"
)

// counterSet is the counters one screen of a hall shows, as the display's
// ?counters= names them: a comma-separated list of counter ids and ranges
// of numeric ids, "1-12" or "1-6,9,12-14" or "vip,1-4". Several screens of
// one hall each show their share. An item that looks like a range (digits,
// a dash, digits) is a range; other items of digits and dashes are
// mistakes; anything else must be a valid counter id.
type counterSet struct {
	ids    map[string]bool
	ranges [][2]int
}

// Bounds of ?counters=: a screen of a real hall lists a few ranges.
const (
	maxCounterSetLen   = 200
	maxCounterSetItems = 32
	maxCounterNumber   = 99999
)

// parseCounterSet reads ?counters=. It is strict: an empty item, a range
// whose start is after its end, a number with a leading zero or a sign, a
// number over 99999 or an id that no counter may have is an error naming
// the field "counters".
func parseCounterSet(s string) (*counterSet, error) {
	bad := func(format string, args ...any) (*counterSet, error) {
		return nil, civiq.FieldErrorf("counters", format, args...)
	}
	if s == "" {
		return bad("counters is empty: give counter ids or ranges such as 1-12")
	}
	if len(s) > maxCounterSetLen {
		return bad("counters is at most %d characters", maxCounterSetLen)
	}
	items := strings.Split(s, ",")
	if len(items) > maxCounterSetItems {
		return bad("counters lists at most %d items", maxCounterSetItems)
	}
	set := &counterSet{ids: map[string]bool{}}
	for _, it := range items {
		if it == "" {
			return bad("counters has an empty item")
		}
		if a, b, ok := strings.Cut(it, "-"); ok && isDigits(a) && isDigits(b) {
			lo, err1 := counterNumber(a)
			hi, err2 := counterNumber(b)
			if err1 != nil || err2 != nil {
				return bad("%q: counter numbers are 0 to %d without leading zeros", it, maxCounterNumber)
			}
			if lo > hi {
				return bad("%q: a range goes from the lower number to the higher", it)
			}
			set.ranges = append(set.ranges, [2]int{lo, hi})
			continue
		}
		if strings.Trim(it, "0123456789-") == "" && strings.Contains(it, "-") {
			return bad("%q: a range is two numbers joined by one dash, such as 1-12", it)
		}
		if !civiq.ValidID(it) {
			return bad("%q is neither a counter id nor a range such as 1-12", it)
		}
		set.ids[it] = true
	}
	return set, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// counterNumber reads a range's end: decimal, no leading zero, at most
// maxCounterNumber.
func counterNumber(s string) (int, error) {
	if len(s) > 1 && s[0] == '0' || len(s) > 5 {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// Has reports whether the set holds the counter id: listed, or a number
// (in the same canonical form) inside one of the ranges.
func (cs *counterSet) Has(id string) bool {
	if cs.ids[id] {
		return true
	}
	if !isDigits(id) {
		return false
	}
	n, err := counterNumber(id)
	if err != nil {
		return false
	}
	for _, r := range cs.ranges {
		if r[0] <= n && n <= r[1] {
			return true
		}
	}
	return false
}

// String is the set in the form parseCounterSet reads: ids sorted, then
// the ranges in the order given.
func (cs *counterSet) String() string {
	var parts []string
	for id := range cs.ids {
		parts = append(parts, id)
	}
	slices.Sort(parts)
	for _, r := range cs.ranges {
		parts = append(parts, strconv.Itoa(r[0])+"-"+strconv.Itoa(r[1]))
	}
	return strings.Join(parts, ",")
}

// Filter keeps the counters of the set, in their order.
func (cs *counterSet) Filter(counters []civiq.Counter) []civiq.Counter {
	var out []civiq.Counter
	for _, c := range counters {
		if cs.Has(c.ID) {
			out = append(out, c)
		}
	}
	return out
}
