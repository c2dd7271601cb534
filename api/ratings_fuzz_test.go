package api

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// FuzzDeadlineQuery: the deadline endpoint's parameters are accepted only
// as a date in its one written form and a whole number of days 1..365; the
// endpoint never answers 5xx, and a 200 is the calendar's deadline.
func FuzzDeadlineQuery(f *testing.F) {
	s, _ := fuzzServer(f)
	for _, c := range [][3]string{
		{"2026-02-13", "1", ""}, {"2026-02-13", "15", "demo"}, {"2025-09-30", "365", "demo"}, {"2100-12-31", "1", ""},
		{"2026-02-30", "1", ""}, {"2026-2-13", "1", ""}, {"", "", ""}, {"2026-02-13", "0", ""}, {"2026-02-13", "-1", ""},
		{"2026-02-13", "1e3", ""}, {"2026-02-13", "+5", ""}, {"2026-02-13", " 5", ""}, {"2026-02-13", "5", "nope"},
		{"2026-02-13", "5", "../demo"}, {"2026-02-13\x00", "5", ""}, {"9999-12-31", "99999999999999999999", ""},
	} {
		f.Add(c[0], c[1], c[2])
	}
	cal := civiq.BuiltinCalendar()
	f.Fuzz(func(t *testing.T, from, days, hall string) {
		q := url.Values{"from": {from}, "working_days": {days}}
		if hall != "" {
			q.Set("hall", hall)
		}
		d, n, h, qerr := deadlineQuery(q)
		r := httptest.NewRequest("GET", "/api/v1/calendar/deadline?"+q.Encode(), nil)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("from %q days %q hall %q: %d %s", from, days, hall, w.Code, w.Body)
		}
		if qerr != nil {
			if civiq.ErrorCode(qerr) != civiq.EInvalid || w.Code != 400 {
				t.Fatalf("from %q days %q: %v, answered %d", from, days, qerr, w.Code)
			}
			return
		}
		if d.Format(time.DateOnly) != from || n < 1 || n > civiq.MaxDeadlineDays || h != hall {
			t.Fatalf("deadlineQuery(%q, %q, %q) = %v %d %q", from, days, hall, d, n, h)
		}
		switch w.Code {
		case 200:
			var out struct {
				Deadline string `json:"deadline"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if want := cal.DeadlineAfter(d, n).Format(time.DateOnly); out.Deadline != want {
				t.Fatalf("deadline %s, want %s", out.Deadline, want)
			}
		case 400, 404: // a deadline after 2100, an unknown hall
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

func FuzzDecodeTransition(f *testing.F) {
	fuzzDecode[transitionRequest](f, []string{`{"to":"verifying","note":"核实"}`, `{"to":"revisited","note":"n","citizen_view":"satisfied"}`,
		`{"note":"x"}`, `{"to":1}`, `{"to":"rejected","reason":["x"]}`}, "to")
}

func FuzzDecodeRatingFull(f *testing.F) {
	fuzzDecode[ratingRequest](f, []string{`{"score":1,"reasons":["等候时间长"],"comment":"慢","contact_phone":"13812345678"}`,
		`{"score":5,"sub_scores":{"efficiency":5,"level":4,"attitude":3}}`, `{"score":5,"sub_scores":[1,2]}`, `{"score":2,"reasons":"x"}`,
		`{"score":5,"sub_scores":{"attitude":"5"}}`}, "score")
}

func FuzzDecodeCalendarYear(f *testing.F) {
	fuzzDecode[calendarYearRequest](f, []string{`{"days":[{"date":"2027-01-01","kind":"off","name":"元旦"}]}`, `{"days":[]}`, `{"days":{}}`,
		`{"days":[{"date":20270101}]}`}, "days")
}
