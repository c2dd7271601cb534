package civiq_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

var updateGolden = flag.Bool("update", false, "write the golden files of the 好差评 records")

// haochapingDay is a served, rated and followed-up ticket at a known time:
// a bad rating (2) by phone with reasons given as a code, an earlier
// rater's text and the citizen's words, on a ticket with a case of the
// guide demo-s-card served by li.wei at counter 1; its case verified,
// rectified and revisited the next day.
func haochapingDay(t *testing.T) (*env, *civiq.Ticket, *civiq.Case) {
	e := demoEnv(t)
	// A still clock, moved by hand: the records' times do not depend on
	// how often the engine reads it.
	e.mu.Lock()
	e.step = 0
	e.mu.Unlock()
	e.set(time.Date(2027, 3, 15, 9, 30, 0, 0, shanghai)) // a Monday
	st, err := e.eng.HallRatingSettings(e.ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	st.RegionCode = "440305"
	st.ReasonLabels = map[string]civiq.ReasonLabel{"long_wait": {Name: "排队太久"}}
	if err := e.eng.SaveRatingSettings(e.ctx, "demo", st); err != nil {
		t.Fatal(err)
	}
	clerk := &civiq.User{Username: "li.wei", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
	if err := e.eng.CreateUser(e.ctx, clerk, "li.wei-password"); err != nil {
		t.Fatal(err)
	}
	ctx := civiq.WithActor(e.ctx, civiq.Principal{User: clerk})
	tk := e.served("social", "1")
	c, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-s-card", Applicant: applicant(),
		Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m3", Status: civiq.MaterialReceived}}})
	if err != nil {
		t.Fatal(err)
	}
	e.set(time.Date(2027, 3, 15, 9, 40, 0, 0, shanghai))
	for _, act := range []string{civiq.ActStart, civiq.ActFinish} {
		if _, err := e.eng.Act(ctx, civiq.ActRequest{TicketID: tk.ID, Action: act}, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.set(time.Date(2027, 3, 15, 10, 5, 0, 0, shanghai))
	if _, err := e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: tk.ID, Score: 2, Reasons: []string{"态度不好", "long_wait", "只开了一个窗口"},
		Comment: "等了一个多小时", ContactPhone: testPhone}); err != nil {
		t.Fatal(err)
	}
	fs, err := e.eng.FollowUps(e.ctx, "demo", civiq.FollowUpFilter{})
	if err != nil || len(fs) != 1 {
		t.Fatalf("follow-ups %v, %v", fs, err)
	}
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	for _, m := range []civiq.FollowUpMove{
		{To: civiq.FollowUpVerifying, Note: "调取录像"},
		{To: civiq.FollowUpRectifying, Note: "高峰期只开一个窗口"},
		{To: civiq.FollowUpRectified, Note: "已增开窗口", PublicSummary: "高峰时段增开社保窗口"},
		{To: civiq.FollowUpRevisited, Note: "电话回访", CitizenView: civiq.ViewSatisfied},
	} {
		e.advance(time.Hour)
		if m.To == civiq.FollowUpRevisited {
			e.advance(24 * time.Hour)
		}
		m.ID, m.By = fs[0].ID, admin.User
		if _, err := e.eng.MoveFollowUp(e.ctx, admin, m); err != nil {
			t.Fatalf("move to %s: %v", m.To, err)
		}
	}
	return e, tk, c
}

// messagesOf gives the messages of the events a reporter wants, bodies as
// the reporter's sender would post them.
func (e *env) reporterBodies(r *civiq.HaochapingReporter, evs []*civiq.Event) map[string][]byte {
	e.tb.Helper()
	out := map[string][]byte{}
	for _, ev := range evs {
		if !r.Subscriber.Wants(ev) {
			continue
		}
		o, err := e.eng.HaochapingMessage(e.ctx, r.Subscriber, ev.Message(r.ID))
		if err != nil {
			e.tb.Fatalf("message of event %d: %v", ev.ID, err)
		}
		out[o.RecordID] = o.Body
	}
	return out
}

// compareGolden compares a record with its golden file field by field,
// the ticket's id written as {ticket} and the case's number (its end is
// random) as {case}.
func compareGolden(t *testing.T, name string, body []byte, tk *civiq.Ticket, c *civiq.Case) {
	t.Helper()
	body = []byte(strings.NewReplacer(tk.ID, "{ticket}", c.Number, "{case}").Replace(string(body)))
	path := filepath.Join("testdata", "haochaping", name)
	if *updateGolden {
		var v any
		json.Unmarshal(body, &v)
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got, exp map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &exp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range exp {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := exp[k]
		switch {
		case !gok:
			t.Errorf("%s: field %s missing, want %v", name, k, w)
		case !wok:
			t.Errorf("%s: field %s = %v, not in the golden file", name, k, g)
		case !reflect.DeepEqual(g, w):
			t.Errorf("%s: field %s = %#v, want %#v", name, k, g, w)
		}
	}
}

// TestHaochapingRecordGolden: the records of a rating and of its
// follow-up's outcomes, built as the reporter sends them, field by field
// against golden files: the default field set (no personal data even over
// https, as the mapping does not ask for it), and a province's mapping
// (renamed fields, code tables, Unix times, a constant, an envelope, the
// contact phone it asks for over https).
func TestHaochapingRecordGolden(t *testing.T) {
	e, tk, c := haochapingDay(t)
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	plain, err := e.eng.CreateHaochapingReporter(e.ctx, admin, civiq.HaochapingReporterInput{URL: "https://province.example/hcp",
		Auth: civiq.AuthHMAC, Key: "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	mapped, err := e.eng.CreateHaochapingReporter(e.ctx, admin, civiq.HaochapingReporterInput{URL: "https://province.example/hcp",
		Auth: civiq.AuthBearer, Key: "token-0123456789", Mapping: &civiq.HaochapingMapping{
			Fields: map[string]string{"case_number": "projectNo", "item_code": "taskCode", "level": "satisfaction", "rated_at": "assessTime",
				"reasons": "reasonCodes", "channel": "pf", "region_code": "areaCode", "contact_phone": "mobile", "revisit_view": "revisitResult",
				"overdue": "isOverdue", "outcome": "handleResult", "record_id": "assessNumber", "staff_name": ""},
			OnlyMapped: true,
			Codes: map[string]map[string]string{"channel": {"phone": "3", "rater": "1"}, "level": {"2": "4"},
				"reasons": {"long_wait": "201", "poor_attitude": "301"}, "overdue": {"false": "0", "true": "1"},
				"revisit_view": {"satisfied": "1"}, "outcome": {"rectified": "1", "revisited": "2"}},
			TimeFormat: civiq.TimeUnixMS, ListJoin: ",", Constants: map[string]string{"appId": "civiq"}, Envelope: "data"}})
	if err != nil {
		t.Fatal(err)
	}
	evs := e.take()
	bodies := e.reporterBodies(plain, evs)
	if len(bodies) != 3 {
		t.Fatalf("records %q, want the rating, rectified and revisited", slices.Collect(mapsKeys(bodies)))
	}
	f := "followup:1:"
	compareGolden(t, "rating.json", bodies["rating:"+tk.ID], tk, c)
	compareGolden(t, "rectified.json", bodies[f+"rectified"], tk, c)
	compareGolden(t, "revisited.json", bodies[f+"revisited"], tk, c)
	for id, b := range bodies {
		if strings.Contains(string(b), testPhone) || strings.Contains(string(b), "张三") {
			t.Errorf("%s carries personal data the mapping did not ask for: %s", id, b)
		}
	}
	m := e.reporterBodies(mapped, evs)
	compareGolden(t, "mapped_revisited.json", m[f+"revisited"], tk, c)
	if !strings.Contains(string(m["rating:"+tk.ID]), testPhone) {
		t.Errorf("the mapping asks for the phone over https: %s", m["rating:"+tk.ID])
	}

	// The day's export reads the same records, without personal data.
	day, loc, err := e.eng.HaochapingDay(e.ctx, "demo", "2027-03-15")
	if err != nil || len(day) != 2 || loc.String() != "Asia/Shanghai" {
		t.Fatalf("day: %d records, %v, %v", len(day), loc, err)
	}
	next, _, err := e.eng.HaochapingDay(e.ctx, "demo", "2027-03-16")
	if err != nil || len(next) != 1 || next[0]["outcome"] != civiq.FollowUpRevisited {
		t.Fatalf("next day: %v, %v", next, err)
	}
	row := day[0].Strings(loc)
	if len(row) != len(civiq.HaochapingHeaders()) || row[2] != day[0]["case_number"] || !strings.HasPrefix(row[14], "2027-03-15 10:") {
		t.Errorf("export row %q", row)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestHaochapingRejectedRecord: a bad rating rejected as invalid (asked
// for by one manager, approved by another) is reported with its reason,
// and without a rectification it never had: absent fields are left out.
func TestHaochapingRejectedRecord(t *testing.T) {
	e := demoEnv(t)
	tk := e.served("social", "1")
	for _, act := range []string{civiq.ActStart, civiq.ActFinish} {
		if _, err := e.eng.Act(e.ctx, civiq.ActRequest{TicketID: tk.ID, Action: act}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: tk.ID, Score: 1, Reasons: []string{"long_wait"}}); err != nil {
		t.Fatal(err)
	}
	fs, err := e.eng.FollowUps(e.ctx, "demo", civiq.FollowUpFilter{})
	if err != nil || len(fs) != 1 {
		t.Fatalf("follow-ups %v, %v", fs, err)
	}
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	other := civiq.Principal{User: &civiq.User{ID: 2, Username: "zhao.min", Role: civiq.RoleAdmin}}
	r, err := e.eng.CreateHaochapingReporter(e.ctx, admin, civiq.HaochapingReporterInput{URL: "https://province.example/hcp",
		Auth: civiq.AuthHMAC, Key: "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		p civiq.Principal
		civiq.FollowUpMove
	}{
		{admin, civiq.FollowUpMove{To: civiq.FollowUpRejectionRequested, Note: "评价人误操作", Reason: "评价人当场说明是误点"}},
		{other, civiq.FollowUpMove{To: civiq.FollowUpRejected, Note: "同意"}},
	} {
		m.ID, m.By = fs[0].ID, m.p.User
		if _, err := e.eng.MoveFollowUp(e.ctx, m.p, m.FollowUpMove); err != nil {
			t.Fatalf("move to %s: %v", m.To, err)
		}
	}
	var rec map[string]any
	body := e.reporterBodies(r, e.take())[fmt.Sprintf("followup:%d:rejected", fs[0].ID)]
	if err := json.Unmarshal(body, &rec); err != nil {
		t.Fatalf("the rejected record %q: %v", body, err)
	}
	if _, ok := rec["rectification"]; ok || rec["rejection_reason"] != "评价人当场说明是误点" || rec["outcome"] != civiq.FollowUpRejected {
		t.Errorf("the rejected record: %v", rec)
	}
}

// TestHaochapingCodedFieldsAreText: a field with a code table goes as
// text whatever its value, the values not in the table as civiq's own in
// text ("3"), so one field has one JSON type: with {"level":{"1":"5"}} a
// level 1 went as "5" and a level 3 as the number 3, which a platform's
// schema refuses. A field without a table keeps its type.
func TestHaochapingCodedFieldsAreText(t *testing.T) {
	m := &civiq.HaochapingMapping{Codes: map[string]map[string]string{"level": {"1": "5"}, "overdue": {"true": "1"}}}
	for _, c := range []struct {
		rec  civiq.HaochapingRecord
		want map[string]any
	}{
		{civiq.HaochapingRecord{"level": 1, "overdue": true, "window": "1"}, map[string]any{"level": "5", "overdue": "1", "window": "1"}},
		{civiq.HaochapingRecord{"level": 3, "overdue": false, "window": "1"}, map[string]any{"level": "3", "overdue": "false", "window": "1"}},
	} {
		got := m.Apply(c.rec, time.UTC, false)
		if !maps.Equal(got, c.want) {
			t.Errorf("%v: %#v, want %#v", c.rec, got, c.want)
		}
	}
	plain := (&civiq.HaochapingMapping{}).Apply(civiq.HaochapingRecord{"level": 3, "overdue": false}, time.UTC, false)
	if plain["level"] != 3 || plain["overdue"] != false {
		t.Errorf("without a table: %#v", plain)
	}
}
