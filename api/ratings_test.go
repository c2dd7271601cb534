package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// rating is a rating as the API gives it.
type rating struct {
	ID           int64          `json:"id"`
	TicketID     string         `json:"ticket_id"`
	HallID       string         `json:"hall_id"`
	ServiceID    string         `json:"service_id"`
	CounterID    string         `json:"counter_id"`
	Score        int            `json:"score"`
	Reasons      []string       `json:"reasons"`
	ReasonText   []string       `json:"reason_text"`
	Comment      string         `json:"comment"`
	Channel      string         `json:"channel"`
	ContactPhone string         `json:"contact_phone"`
	SubScores    map[string]int `json:"sub_scores"`
	CreatedAt    time.Time      `json:"created_at"`
}

func ratingOf(t testing.TB, r *resp) rating {
	t.Helper()
	var out struct {
		Rating *rating `json:"rating"`
	}
	r.json(t, &out)
	if out.Rating == nil || out.Rating.ID == 0 {
		t.Fatalf("no rating in %s", r)
	}
	return *out.Rating
}

// followUp is a follow-up case as the API gives it.
type followUp struct {
	ID               int64    `json:"id"`
	HallID           string   `json:"hall_id"`
	TicketID         string   `json:"ticket_id"`
	TicketNumber     string   `json:"ticket_number"`
	ServiceID        string   `json:"service_id"`
	CounterID        string   `json:"counter_id"`
	Score            int      `json:"score"`
	Status           string   `json:"status"`
	ContactPhone     string   `json:"contact_phone"`
	OpenedAt         string   `json:"opened_at"`
	WorkingDays      int      `json:"working_days"`
	Deadline         string   `json:"deadline"`
	OriginalDeadline string   `json:"original_deadline"`
	Extended         bool     `json:"extended"`
	ExtensionReason  string   `json:"extension_reason"`
	RejectionReason  string   `json:"rejection_reason"`
	RequestedBy      string   `json:"rejection_requested_by"`
	CitizenView      string   `json:"citizen_view"`
	PublicSummary    string   `json:"public_summary"`
	ClosedAt         *string  `json:"closed_at"`
	Overdue          bool     `json:"overdue"`
	DueSoon          bool     `json:"due_soon"`
	WorkingDaysLeft  int      `json:"working_days_left"`
	Staff            string   `json:"staff"`
	Reasons          []string `json:"reasons"`
	ReasonText       []string `json:"reason_text"`
	Comment          string   `json:"comment"`
	CaseNumber       string   `json:"case_number"`
	Rating           *rating  `json:"rating"`
	History          []struct {
		Move        string `json:"move"`
		From        string `json:"from"`
		To          string `json:"to"`
		By          string `json:"by"`
		At          string `json:"at"`
		Note        string `json:"note"`
		Reason      string `json:"reason"`
		CitizenView string `json:"citizen_view"`
		Deadline    string `json:"deadline"`
	} `json:"history"`
}

func followUpOf(t testing.TB, r *resp) followUp {
	t.Helper()
	var out struct {
		FollowUp *followUp `json:"followup"`
	}
	r.json(t, &out)
	if out.FollowUp == nil || out.FollowUp.ID == 0 {
		t.Fatalf("no follow-up in %s", r)
	}
	return *out.FollowUp
}

// serve issues a ticket of the service, has token call it at the demo
// counter, start and finish it, and returns it done.
func (ts *testServer) serve(t testing.TB, token, counter, service string) ticket {
	t.Helper()
	tk := ts.issue(t, ts.Admin, service)
	for range 50 {
		c, ok := ts.callNext(t, token, counter)
		if !ok {
			t.Fatalf("counter %s: %s never called", counter, tk.Number)
		}
		if c.ID == tk.ID {
			break
		}
	}
	ts.act(t, token, tk.ID, "start", nil)
	done := ts.act(t, token, tk.ID, "finish", nil)
	if done.Status != "done" || done.CounterID != counter {
		t.Fatalf("served %+v", done)
	}
	return done
}

// relogin signs the admin in again after the clock moved past the
// sessions' lifetime, and returns fresh tokens of the users named.
func (ts *testServer) relogin(t testing.TB, users ...string) []string {
	t.Helper()
	ts.Admin = ts.login(t, "admin", adminPassword)
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = ts.login(t, u, userPassword)
	}
	return out
}

func (ts *testServer) rate(t testing.TB, token, id string, body any) *resp {
	t.Helper()
	return ts.do(t, "POST", "/api/v1/tickets/"+id+"/rating", token, body)
}

// followUps lists the demo hall's follow-ups with the query.
func (ts *testServer) followUps(t testing.TB, token, query string) []followUp {
	t.Helper()
	var out struct {
		FollowUps []followUp `json:"followups"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/followups"+query, token, nil).want(t, 200).json(t, &out)
	return out.FollowUps
}

// today is the demo hall's local day by the test clock.
func (ts *testServer) today() time.Time {
	return civiq.Date(ts.Clock.Now(), shanghaiLoc)
}

var shanghaiLoc = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func TestRatingRules(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)

	waiting := ts.issue(t, ts.Admin, "tax")
	ts.rate(t, "", waiting.ID, map[string]any{"score": 5}).wantErr(t, 409, "conflict", "")

	a := ts.serve(t, ts.Admin, "1", "general")
	// Bad input is refused before anything is looked at.
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"score": 0}, "score"},
		{map[string]any{"score": 6}, "score"},
		{map[string]any{"score": "5"}, "score"},
		{map[string]any{"score": 3, "comment": strings.Repeat("差", 501)}, "comment"},
		{map[string]any{"score": 3, "reasons": "slow"}, "reasons"},
		{map[string]any{"score": 3, "reasons": []string{strings.Repeat("慢", 51)}}, "reasons"},
		{map[string]any{"score": 3, "reasons": []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}}, "reasons"},
		{map[string]any{"score": 1, "comment": "x", "contact_phone": "12345678901"}, "contact_phone"},
		{map[string]any{"score": 1, "comment": "x", "contact_phone": "1381234567"}, "contact_phone"},
		{map[string]any{"score": 1, "comment": "x", "contact_phone": "12812345678"}, "contact_phone"},
		{map[string]any{"score": 1, "comment": "x", "contact_phone": "010-12345678"}, "contact_phone"},
		{map[string]any{"score": 4, "sub_scores": map[string]int{"attitude": 5}}, "sub_scores"}, // phones give no sub-scores
	} {
		ts.rate(t, "", a.ID, c.body).wantErr(t, 400, "invalid", c.field)
	}
	// A bad rating needs a reason or a comment: 400 reason_required.
	for _, body := range []any{
		map[string]any{"score": 1},
		map[string]any{"score": 2, "comment": "   "},
		map[string]any{"score": 1, "reasons": []string{}, "comment": ""},
		map[string]any{"score": 2, "reasons": []string{" ", ""}},
	} {
		ts.rate(t, "", a.ID, body).wantErr(t, 400, "reason_required", "reasons")
	}
	// Nothing of the above left a rating.
	// Reasons: a code, a label in either language or a text an earlier
	// rater sent are the code, in the list's order; other words are the
	// citizen's own text.
	r := ratingOf(t, ts.rate(t, "", a.ID, map[string]any{"score": 1, "reasons": []string{"unfriendly attitude", "等候时间长", "long_wait", " 一次性告知不清 "},
		"comment": " 排了两个小时 ", "contact_phone": "+86 138-1234-5678"}).want(t, 201))
	if r.Score != 1 || r.Channel != "phone" || r.TicketID != a.ID || r.HallID != "demo" || r.ServiceID != "general" || r.CounterID != "1" ||
		!slices.Equal(r.Reasons, []string{"long_wait", "poor_attitude"}) || !slices.Equal(r.ReasonText, []string{"一次性告知不清"}) ||
		r.Comment != "排了两个小时" || r.ContactPhone != "138****5678" {
		t.Errorf("rating %+v", r)
	}
	if r.CreatedAt.IsZero() || r.CreatedAt.Format("-07:00") != "+08:00" {
		t.Errorf("created_at %v, want the hall's zone", r.CreatedAt)
	}
	// One per ticket, whatever the score or who.
	ts.rate(t, "", a.ID, map[string]any{"score": 5}).wantErr(t, 409, "conflict", "")
	ts.rate(t, "", a.ID, map[string]any{"score": 1}).wantErr(t, 409, "conflict", "")
	ts.rate(t, ts.createUser(t, "li", "staff", "demo"), a.ID, map[string]any{"score": 4}).wantErr(t, 409, "conflict", "")

	// A good rating keeps no phone: it is only for the call back of a bad one.
	b := ts.serve(t, ts.Admin, "1", "general")
	r = ratingOf(t, ts.rate(t, "", b.ID, map[string]any{"score": 5, "contact_phone": "13912345678"}).want(t, 201))
	if r.ContactPhone != "" || r.Reasons == nil || len(r.Reasons) != 0 {
		t.Errorf("good rating %+v", r)
	}
	// A 2 with only a comment is fine.
	c := ts.serve(t, ts.Admin, "1", "general")
	ratingOf(t, ts.rate(t, "", c.ID, map[string]any{"score": 2, "comment": "态度一般"}).want(t, 201))
	ts.rate(t, "", "no-such-ticket", map[string]any{"score": 5}).wantErr(t, 404, "not_found", "")
}

// TestRatingServedBy: staff and managers cannot rate the tickets they
// served (called, started or finished); others can, as "web".
func TestRatingServedBy(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	clerk := ts.createUser(t, "clerk", "staff", "demo")
	other := ts.createUser(t, "other", "staff", "demo")
	mgr := ts.createUser(t, "boss", "manager", "demo")

	a := ts.serve(t, clerk, "1", "general")
	ts.rate(t, clerk, a.ID, map[string]any{"score": 5}).wantErr(t, 403, "forbidden", "")
	r := ratingOf(t, ts.rate(t, other, a.ID, map[string]any{"score": 5}).want(t, 201))
	if r.Channel != "web" {
		t.Errorf("channel %q", r.Channel)
	}

	// Called by the clerk, finished by the manager: the manager served it last.
	b := ts.issue(t, ts.Admin, "general")
	ts.callUntil(t, "1", b.ID)
	ts.act(t, clerk, b.ID, "start", nil)
	ts.act(t, mgr, b.ID, "finish", nil)
	ts.rate(t, mgr, b.ID, map[string]any{"score": 5}).wantErr(t, 403, "forbidden", "")
	ratingOf(t, ts.rate(t, "", b.ID, map[string]any{"score": 4}).want(t, 201))

	// Call-next by the clerk finishes the current ticket: still the clerk's.
	c := ts.issue(t, ts.Admin, "general")
	ts.issue(t, ts.Admin, "general")
	for {
		got, ok := ts.callNext(t, clerk, "2")
		if !ok {
			t.Fatal("never called")
		}
		if got.ID == c.ID {
			break
		}
	}
	ts.callNext(t, clerk, "2")
	if ts.getTicket(t, c.ID).Status != "done" {
		t.Fatal("call-next did not finish the ticket")
	}
	ts.rate(t, clerk, c.ID, map[string]any{"score": 3}).wantErr(t, 403, "forbidden", "")
	// The rating is linked to the staff member who served.
	bad := ts.serve(t, clerk, "1", "general")
	ratingOf(t, ts.rate(t, "", bad.ID, map[string]any{"score": 1, "comment": "态度差"}).want(t, 201))
	fs := ts.followUps(t, mgr, "")
	if len(fs) != 1 || fs[0].Staff != "clerk" || fs[0].TicketID != bad.ID {
		t.Errorf("follow-ups %+v", fs)
	}
}

// TestRaterDevice: the rater of a counter rates the ticket that counter
// has just finished, and only within the hall's rater window.
func TestRaterDevice(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	rater1 := ts.pairDevice(t, "demo", "rater", "1")
	kiosk := ts.pairDevice(t, "demo", "kiosk", "")
	counter1 := ts.pairDevice(t, "demo", "counter", "1")

	a := ts.serve(t, ts.Admin, "1", "general")
	b2 := ts.serve(t, ts.Admin, "2", "general")
	ts.rate(t, rater1, b2.ID, map[string]any{"score": 5}).wantErr(t, 403, "forbidden", "")
	ts.rate(t, kiosk, a.ID, map[string]any{"score": 5}).wantErr(t, 403, "forbidden", "")
	ts.rate(t, counter1, a.ID, map[string]any{"score": 5}).wantErr(t, 403, "forbidden", "")
	ts.rate(t, rater1, a.ID, map[string]any{"score": 5, "sub_scores": map[string]int{"efficiency": 6}}).wantErr(t, 400, "invalid", "sub_scores.efficiency")
	r := ratingOf(t, ts.rate(t, rater1, a.ID, map[string]any{"score": 4, "sub_scores": map[string]int{"efficiency": 5, "level": 4, "attitude": 3}}).want(t, 201))
	if r.Channel != "rater" || r.SubScores["efficiency"] != 5 || r.SubScores["level"] != 4 || r.SubScores["attitude"] != 3 {
		t.Errorf("rater rating %+v", r)
	}

	// Only the last ticket the counter finished.
	x := ts.serve(t, ts.Admin, "1", "general")
	y := ts.serve(t, ts.Admin, "1", "general")
	ts.rate(t, rater1, x.ID, map[string]any{"score": 5}).wantErr(t, 409, "conflict", "")
	ratingOf(t, ts.rate(t, rater1, y.ID, map[string]any{"score": 5}).want(t, 201))
	// x can still be rated from the phone.
	ratingOf(t, ts.rate(t, "", x.ID, map[string]any{"score": 3}).want(t, 201))

	// Within the window (5 minutes by default, a hall setting).
	z := ts.serve(t, ts.Admin, "1", "general")
	ts.Clock.Advance(5*time.Minute + time.Second)
	ts.rate(t, rater1, z.ID, map[string]any{"score": 5}).wantErr(t, 409, "conflict", "")
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"rater_window_minutes": 10}).want(t, 200)
	ratingOf(t, ts.rate(t, rater1, z.ID, map[string]any{"score": 5}).want(t, 201))
}

// TestPhoneWindow: the phone page rates until 7 days after done.
func TestPhoneWindow(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a := ts.serve(t, ts.Admin, "1", "general")
	b := ts.serve(t, ts.Admin, "1", "general")
	ts.Clock.Advance(7*24*time.Hour - time.Minute)
	ratingOf(t, ts.rate(t, "", a.ID, map[string]any{"score": 4}).want(t, 201))
	ts.Clock.Advance(2 * time.Minute)
	ts.rate(t, "", b.ID, map[string]any{"score": 4}).wantErr(t, 409, "conflict", "")
	ts.relogin(t)
	ts.rate(t, ts.createUser(t, "li", "staff", "demo"), b.ID, map[string]any{"score": 4}).wantErr(t, 409, "conflict", "")
}

// TestFollowUpFlow: a bad rating opens a case; managers move it through
// the machine with notes, the phone is in clear in the case only, a
// rejection needs a second person, one extension is granted.
func TestFollowUpFlow(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addOtherHall(t)
	mgr := ts.createUser(t, "mgr", "manager", "demo")
	mgr2 := ts.createUser(t, "mgr2", "manager", "demo")
	staff := ts.createUser(t, "clerk", "staff", "demo")
	otherMgr := ts.createUser(t, "mgr-other", "manager", "other")

	before := ts.lastEventID(t)
	a := ts.serve(t, staff, "1", "general")
	ratingOf(t, ts.rate(t, "", a.ID, map[string]any{"score": 1, "reasons": []string{"poor_attitude", "态度差"}, "comment": "不耐烦", "contact_phone": "13812345678"}).want(t, 201))

	fs := ts.followUps(t, mgr, "")
	if len(fs) != 1 {
		t.Fatalf("follow-ups %+v", fs)
	}
	f := fs[0]
	wantDeadline := civiq.BuiltinCalendar().DeadlineAfter(ts.today(), 15).Format(time.DateOnly)
	if f.TicketID != a.ID || f.TicketNumber != a.Number || f.Score != 1 || f.Status != "open" || f.Deadline != wantDeadline || f.OriginalDeadline != wantDeadline ||
		f.WorkingDays != 15 || f.Overdue || f.ContactPhone != "138****5678" || f.Staff != "clerk" || f.ServiceID != "general" || f.CounterID != "1" || f.OpenedAt == "" {
		t.Errorf("listed %+v, deadline want %s", f, wantDeadline)
	}
	if f.Rating != nil || f.History != nil {
		t.Errorf("the list carries the rating or history: %+v", f)
	}
	// Events: one rating event; the staff view carries the case, the public
	// view nothing of it; neither the phone.
	evs, err := ts.Store.EventsAfter(context.Background(), "demo", before, 100)
	if err != nil {
		t.Fatal(err)
	}
	var rated *civiq.Event
	for _, e := range evs {
		if e.Type == civiq.EventRated {
			if rated != nil {
				t.Errorf("two rating events")
			}
			rated = e
		}
	}
	if rated == nil {
		t.Fatal("no ticket.rated event")
	}
	pub, stf := string(rated.JSON(false)), string(rated.JSON(true))
	if strings.Contains(pub, "followup") || !strings.Contains(stf, fmt.Sprintf(`"followup":{"id":%d,"status":"open","score":1,"deadline":"%s"}`, f.ID, wantDeadline)) {
		t.Errorf("public %s\nstaff %s", pub, stf)
	}
	for _, s := range []string{pub, stf} {
		if strings.Contains(s, "5678") || strings.Contains(s, "不耐烦") || strings.Contains(s, "态度差") {
			t.Errorf("personal data in an event: %s", s)
		}
	}

	path := fmt.Sprintf("/api/v1/followups/%d", f.ID)
	// Who may see and move it.
	ts.do(t, "GET", path, "", nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "GET", path, staff, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", path, otherMgr, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", "/api/v1/halls/demo/followups", staff, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", "/api/v1/halls/demo/followups", otherMgr, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "POST", path+"/transition", staff, map[string]any{"to": "verifying", "note": "n"}).wantErr(t, 403, "forbidden", "")
	ts.do(t, "POST", path+"/transition", ts.pairDevice(t, "demo", "rater", "1"), map[string]any{"to": "verifying", "note": "n"}).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", "/api/v1/followups/999999", mgr, nil).wantErr(t, 404, "not_found", "")
	ts.do(t, "GET", "/api/v1/followups/abc", mgr, nil).wantErr(t, 404, "not_found", "")

	// The list carries the rating's reasons and comment; it filters by
	// the clerk who served the ticket.
	if strings.Join(f.Reasons, ",") != "poor_attitude" || strings.Join(f.ReasonText, ",") != "态度差" || f.Comment != "不耐烦" {
		t.Errorf("listed reasons %q, own words %q, comment %q", f.Reasons, f.ReasonText, f.Comment)
	}
	if n := len(ts.followUps(t, mgr, "?staff=clerk")); n != 1 {
		t.Errorf("staff=clerk lists %d", n)
	}
	if n := len(ts.followUps(t, mgr, "?staff=mgr2")); n != 0 {
		t.Errorf("staff=mgr2 lists %d", n)
	}

	// The case view: the phone masked, the rating, the history.
	c := followUpOf(t, ts.do(t, "GET", path, mgr, nil).want(t, 200))
	if c.ContactPhone != "138****5678" || c.Rating == nil || c.Rating.ContactPhone != "138****5678" || c.Rating.Comment != "不耐烦" ||
		len(c.History) != 1 || c.History[0].Move != "open" {
		t.Errorf("case %+v", c)
	}
	// The phone in clear, on request, to the hall's managers only, each
	// reading recorded in the audit events.
	ts.do(t, "POST", path+"/phone", staff, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "POST", path+"/phone", otherMgr, nil).wantErr(t, 403, "forbidden", "")
	var revealed struct {
		ContactPhone string `json:"contact_phone"`
	}
	rv := ts.do(t, "POST", path+"/phone", mgr, nil).want(t, 200)
	rv.json(t, &revealed)
	if revealed.ContactPhone != "13812345678" || rv.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("revealed %+v, Cache-Control %q", revealed, rv.Header.Get("Cache-Control"))
	}
	var audit struct {
		Events []struct {
			Type, Username, Actor string
		} `json:"events"`
	}
	ts.do(t, "GET", "/api/v1/audit", ts.Admin, nil).want(t, 200).json(t, &audit)
	if len(audit.Events) == 0 || audit.Events[0].Type != "followup.phone_revealed" || audit.Events[0].Username != fmt.Sprintf("followup %d", f.ID) ||
		!strings.Contains(audit.Events[0].Actor, "mgr") {
		t.Errorf("audit after the reveal: %+v", audit.Events)
	}

	move := func(token, to string, extra map[string]any) *resp {
		body := map[string]any{"to": to, "note": "备注：" + to}
		for k, v := range extra {
			body[k] = v
		}
		return ts.do(t, "POST", path+"/transition", token, body)
	}
	// Forbidden moves are 409 invalid_transition and change nothing.
	for _, to := range []string{"rectifying", "rectified", "revisited", "rejected", "open"} {
		move(mgr, to, map[string]any{"citizen_view": "satisfied"}).wantErr(t, 409, "invalid_transition", "")
	}
	move(mgr, "closed", nil).wantErr(t, 400, "invalid", "to")
	ts.do(t, "POST", path+"/transition", mgr, map[string]any{"to": "verifying"}).wantErr(t, 400, "invalid", "note")
	ts.do(t, "POST", path+"/transition", mgr, map[string]any{"note": "x"}).wantErr(t, 400, "invalid", "to")

	evBefore := ts.lastEventID(t)
	c = followUpOf(t, move(mgr, "verifying", nil).want(t, 200))
	if c.Status != "verifying" || len(c.History) != 2 || c.History[1].By != "mgr" || c.History[1].From != "open" || c.History[1].Note != "备注：verifying" || c.History[1].At == "" {
		t.Errorf("verifying %+v", c)
	}
	evs, _ = ts.Store.EventsAfter(context.Background(), "demo", evBefore, 10)
	if len(evs) != 1 || evs[0].Type != civiq.EventFollowUp || evs[0].FollowUp == nil || evs[0].FollowUp.Status != "verifying" {
		t.Errorf("events after a move: %+v", evs)
	} else if s := string(evs[0].JSON(false)); strings.Contains(s, "followup\":") {
		t.Errorf("public view of a follow-up event: %s", s)
	}

	// Rejection: asked with a reason, approved by a second person only.
	move(mgr, "rejection_requested", nil).wantErr(t, 400, "invalid", "reason")
	c = followUpOf(t, move(mgr, "rejection_requested", map[string]any{"reason": "评价与事实不符"}).want(t, 200))
	if c.Status != "rejection_requested" || c.RequestedBy != "mgr" || c.RejectionReason != "评价与事实不符" {
		t.Errorf("requested %+v", c)
	}
	move(mgr, "rejected", nil).wantErr(t, 403, "forbidden", "")
	// The second person refuses: back to verifying.
	c = followUpOf(t, move(mgr2, "verifying", nil).want(t, 200))
	if c.Status != "verifying" || c.RequestedBy != "" {
		t.Errorf("refused %+v", c)
	}
	move(mgr, "rectifying", nil).want(t, 200)

	// One extension, with a reason, of the same length.
	ts.do(t, "POST", path+"/extend", mgr, map[string]any{}).wantErr(t, 400, "invalid", "reason")
	ts.do(t, "POST", path+"/extend", staff, map[string]any{"reason": "r"}).wantErr(t, 403, "forbidden", "")
	c = followUpOf(t, ts.do(t, "POST", path+"/extend", mgr, map[string]any{"reason": "需跨部门协调"}).want(t, 200))
	wantExt := civiq.BuiltinCalendar().DeadlineAfter(civiq.Date(mustDate(t, wantDeadline), time.UTC), 15).Format(time.DateOnly)
	if !c.Extended || c.Deadline != wantExt || c.OriginalDeadline != wantDeadline || c.ExtensionReason != "需跨部门协调" {
		t.Errorf("extended %+v, want deadline %s", c, wantExt)
	}
	last := c.History[len(c.History)-1]
	if last.Move != "extend" || last.Deadline != wantExt || last.By != "mgr" {
		t.Errorf("extension entry %+v", last)
	}
	ts.do(t, "POST", path+"/extend", mgr2, map[string]any{"reason": "again"}).wantErr(t, 409, "conflict", "")

	move(mgr, "rectified", map[string]any{"public_summary": "已对窗口人员进行服务规范培训"}).want(t, 200)
	move(mgr, "revisited", nil).wantErr(t, 400, "invalid", "citizen_view")
	c = followUpOf(t, move(mgr2, "revisited", map[string]any{"citizen_view": "basically_satisfied"}).want(t, 200))
	if c.Status != "revisited" || c.CitizenView != "basically_satisfied" || c.ClosedAt == nil || c.Overdue || c.PublicSummary == "" {
		t.Errorf("revisited %+v", c)
	}
	moves := []string{}
	for _, h := range c.History {
		moves = append(moves, h.Move)
		if h.At == "" || h.Move != "open" && (h.By == "" || h.Note == "") {
			t.Errorf("history entry without who, when or note: %+v", h)
		}
	}
	if want := []string{"open", "verifying", "rejection_requested", "verifying", "rectifying", "extend", "rectified", "revisited"}; !slices.Equal(moves, want) {
		t.Errorf("history %v, want %v", moves, want)
	}
	// Closed: nothing moves it any more.
	for _, to := range []string{"verifying", "rectifying", "rectified", "revisited", "rejection_requested", "rejected"} {
		move(mgr, to, map[string]any{"citizen_view": "satisfied", "reason": "x"}).wantErr(t, 409, "invalid_transition", "")
	}
	ts.do(t, "POST", path+"/extend", mgr, map[string]any{"reason": "late"}).wantErr(t, 409, "invalid_transition", "")

	// A second case goes the rejection way to the end, and stays for audit.
	b := ts.serve(t, ts.Admin, "1", "general")
	ratingOf(t, ts.rate(t, "", b.ID, map[string]any{"score": 2, "comment": "无理由"}).want(t, 201))
	fs = ts.followUps(t, mgr, "?status=open")
	if len(fs) != 1 || fs[0].TicketID != b.ID {
		t.Fatalf("open follow-ups %+v", fs)
	}
	p2 := fmt.Sprintf("/api/v1/followups/%d/transition", fs[0].ID)
	ts.do(t, "POST", p2, mgr, map[string]any{"to": "rejection_requested", "note": "核实为误评", "reason": "办事人误操作"}).want(t, 200)
	c = followUpOf(t, ts.do(t, "POST", p2, ts.Admin, map[string]any{"to": "rejected", "note": "同意"}).want(t, 200))
	if c.Status != "rejected" || c.RejectionReason != "办事人误操作" || c.RequestedBy != "mgr" || c.ClosedAt == nil {
		t.Errorf("rejected %+v", c)
	}
	if got := ts.followUps(t, mgr, "?status=closed"); len(got) != 2 {
		t.Errorf("closed: %d", len(got))
	}
	if got := ts.followUps(t, ts.Admin, "?status=rejected,revisited"); len(got) != 2 {
		t.Errorf("rejected,revisited: %d", len(got))
	}
	if got := ts.followUps(t, mgr, "?status=active"); len(got) != 0 {
		t.Errorf("active: %+v", got)
	}
	if got := ts.followUps(t, mgr, "?limit=1"); len(got) != 1 || got[0].TicketID != b.ID {
		t.Errorf("limit=1: %+v", got)
	}
	if got := ts.followUps(t, mgr, "?service=tax"); len(got) != 0 {
		t.Errorf("service=tax: %+v", got)
	}
	if got := ts.followUps(t, mgr, "?counter=1&service=general&from="+ts.today().Format(time.DateOnly)); len(got) != 2 {
		t.Errorf("counter=1: %+v", got)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/followups?limit=0", mgr, nil).wantErr(t, 400, "invalid", "limit")
	ts.do(t, "GET", "/api/v1/halls/demo/followups?limit=1001", mgr, nil).wantErr(t, 400, "invalid", "limit")
	ts.do(t, "GET", "/api/v1/halls/demo/followups?status=done", mgr, nil).wantErr(t, 400, "invalid", "status")
	ts.do(t, "GET", "/api/v1/halls/demo/followups?from=2026-13-01", mgr, nil).wantErr(t, 400, "invalid", "from")
}

func mustDate(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := civiq.ParseDate("date", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFollowUpDeadlines: the hall's deadline setting and calendar, overdue
// and due-soon marks, no extension after the deadline.
func TestFollowUpDeadlines(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	mgr := ts.createUser(t, "mgr", "manager", "demo")
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", mgr, map[string]any{"followup_working_days": 5}).wantErr(t, 403, "forbidden", "")
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"followup_working_days": 61}).wantErr(t, 400, "invalid", "followup_working_days")
	var st struct {
		Settings civiq.RatingSettings `json:"settings"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/rating-settings", mgr, nil).want(t, 200).json(t, &st)
	if st.Settings.FollowUpWorkingDays != 15 || st.Settings.RaterWindowMinutes != 5 || st.Settings.DefaultBasicSatisfied {
		t.Errorf("default settings %+v", st.Settings)
	}
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"followup_working_days": 5}).want(t, 200).json(t, &st)
	if st.Settings.FollowUpWorkingDays != 5 || st.Settings.RaterWindowMinutes != 5 {
		t.Errorf("saved settings %+v", st.Settings)
	}
	// The hall takes tomorrow off: the deadline counts it out.
	tomorrow := ts.today().AddDate(0, 0, 1).Format(time.DateOnly)
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/days/"+tomorrow, ts.Admin, map[string]any{"kind": "off", "name": "地方假日"}).want(t, 200)
	a := ts.serve(t, ts.Admin, "1", "general")
	ratingOf(t, ts.rate(t, "", a.ID, map[string]any{"score": 1, "comment": "慢"}).want(t, 201))
	cal := civiq.HallCalendar(nil, []civiq.CalendarDay{{Date: tomorrow, Kind: civiq.DayOff}})
	want := cal.DeadlineAfter(ts.today(), 5)
	fs := ts.followUps(t, mgr, "?status=active")
	if len(fs) != 1 || fs[0].Deadline != want.Format(time.DateOnly) || fs[0].WorkingDays != 5 || fs[0].Overdue || fs[0].WorkingDaysLeft < 5 || fs[0].DueSoon {
		t.Fatalf("follow-ups %+v, want deadline %s", fs, want.Format(time.DateOnly))
	}
	// Walk to the deadline day: due soon, not overdue; a day later, overdue.
	days := int(want.Sub(ts.today()).Hours() / 24)
	ts.Clock.Advance(time.Duration(days) * 24 * time.Hour)
	mgr = ts.relogin(t, "mgr")[0]
	fs = ts.followUps(t, mgr, "?status=due_soon")
	if len(fs) != 1 || fs[0].Overdue || fs[0].WorkingDaysLeft > 1 {
		t.Errorf("on the deadline: %+v", fs)
	}
	ts.Clock.Advance(24 * time.Hour)
	mgr = ts.relogin(t, "mgr")[0]
	fs = ts.followUps(t, mgr, "?status=overdue")
	if len(fs) != 1 || !fs[0].Overdue || fs[0].DueSoon {
		t.Fatalf("overdue: %+v", fs)
	}
	ts.do(t, "POST", fmt.Sprintf("/api/v1/followups/%d/extend", fs[0].ID), mgr, map[string]any{"reason": "late"}).wantErr(t, 409, "conflict", "")
	// Settings changed later leave open cases as they were.
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"followup_working_days": 15}).want(t, 200)
	if got := ts.followUps(t, mgr, ""); got[0].Deadline != want.Format(time.DateOnly) {
		t.Errorf("deadline moved to %s", got[0].Deadline)
	}
}

func TestDeadlineEndpoint(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	deadline := func(q string) *resp { return ts.do(t, "GET", "/api/v1/calendar/deadline?"+q, "", nil) }
	for _, c := range []struct{ q, want string }{
		{"from=2026-02-13&working_days=1", "2026-02-14"},
		{"from=2026-02-14&working_days=1", "2026-02-24"},
		{"from=2026-02-10&working_days=15", "2026-03-09"},
		{"from=2025-09-30&working_days=3", "2025-10-11"},
		{"from=2025-09-25&working_days=15", "2025-10-22"},
		{"from=2026-09-30&working_days=1", "2026-10-08"},
		{"from=2026-02-13&working_days=1&hall=demo", "2026-02-14"},
		{"from=2025-12-31&working_days=1&hall=", "2026-01-04"},
	} {
		var out struct {
			Deadline    string `json:"deadline"`
			WorkingDays int    `json:"working_days"`
		}
		deadline(c.q).want(t, 200).json(t, &out)
		if out.Deadline != c.want {
			t.Errorf("%s: %s, want %s", c.q, out.Deadline, c.want)
		}
	}
	for _, c := range []struct{ q, field string }{
		{"", "from"},
		{"working_days=3", "from"},
		{"from=2026-02-30&working_days=3", "from"},
		{"from=2026/02/13&working_days=3", "from"},
		{"from=26-02-13&working_days=3", "from"},
		{"from=1999-12-31&working_days=3", "from"},
		{"from=2026-02-13", "working_days"},
		{"from=2026-02-13&working_days=", "working_days"},
		{"from=2026-02-13&working_days=0", "working_days"},
		{"from=2026-02-13&working_days=-1", "working_days"},
		{"from=2026-02-13&working_days=366", "working_days"},
		{"from=2026-02-13&working_days=1.5", "working_days"},
		{"from=2026-02-13&working_days=abc", "working_days"},
		{"from=2026-02-13&working_days=99999999999999999999", "working_days"},
		{"from=2100-12-31&working_days=10", "from"},
	} {
		deadline(c.q).wantErr(t, 400, "invalid", c.field)
	}
	deadline("from=2026-02-13&working_days=1&hall=nope").wantErr(t, 404, "not_found", "")

	// A hall's own day counts for that hall only.
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/days/2026-02-14", ts.Admin, map[string]any{"kind": "off", "name": "不调休"}).want(t, 200)
	var out struct {
		Deadline string `json:"deadline"`
	}
	deadline("from=2026-02-13&working_days=1&hall=demo").want(t, 200).json(t, &out)
	if out.Deadline != "2026-02-24" {
		t.Errorf("with the hall's day: %s", out.Deadline)
	}
	deadline("from=2026-02-13&working_days=1").want(t, 200).json(t, &out)
	if out.Deadline != "2026-02-14" {
		t.Errorf("without a hall: %s", out.Deadline)
	}
}

func TestCalendarAdmin(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	mgr := ts.createUser(t, "mgr", "manager", "demo")
	type year struct {
		Year   int                 `json:"year"`
		Source string              `json:"source"`
		Days   []civiq.CalendarDay `json:"days"`
	}
	get := func(y string) year {
		var out year
		ts.do(t, "GET", "/api/v1/halls/demo/calendar/"+y, "", nil).want(t, 200).json(t, &out)
		return out
	}
	y := get("2026")
	if y.Source != "builtin" || len(y.Days) != 6+3+9+3+5+3+3+7 {
		t.Errorf("2026: %s with %d days", y.Source, len(y.Days))
	}
	if y := get("2027"); y.Source != "none" || len(y.Days) != 0 {
		t.Errorf("2027: %+v", y)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/calendar/27", "", nil).wantErr(t, 400, "invalid", "year")
	ts.do(t, "GET", "/api/v1/halls/demo/calendar/1999", "", nil).wantErr(t, 400, "invalid", "year")
	ts.do(t, "GET", "/api/v1/halls/nope/calendar/2026", "", nil).wantErr(t, 404, "not_found", "")

	// An admin adds 2027 when the notice comes out.
	days2027 := map[string]any{"days": []map[string]string{
		{"date": "2027-01-01", "kind": "off", "name": "元旦"},
		{"date": "2027-02-06", "kind": "work", "name": "春节调休"},
		{"date": "2027-02-08", "kind": "off", "name": "春节"},
	}}
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/2027", "", days2027).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/2027", mgr, days2027).wantErr(t, 403, "forbidden", "")
	for _, bad := range []struct {
		days  []map[string]string
		field string
	}{
		{[]map[string]string{{"date": "2027-02-06", "kind": "holiday"}}, "days[0].kind"},
		{[]map[string]string{{"date": "2027-02-06", "kind": "off"}, {"date": "2027-02-30", "kind": "off"}}, "days[1].date"},
		{[]map[string]string{{"date": "2028-01-01", "kind": "off"}}, "days[0].date"},
		{[]map[string]string{{"date": "2027-01-01", "kind": "off"}, {"date": "2027-01-01", "kind": "work"}}, "days[1].date"},
	} {
		ts.do(t, "PUT", "/api/v1/halls/demo/calendar/2027", ts.Admin, map[string]any{"days": bad.days}).wantErr(t, 400, "invalid", bad.field)
	}
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/2027", ts.Admin, map[string]any{}).wantErr(t, 400, "invalid", "days")
	var put year
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/2027", ts.Admin, days2027).want(t, 200).json(t, &put)
	if put.Source != "hall" || len(put.Days) != 3 || put.Days[1].Date != "2027-02-06" || put.Days[1].Source != "hall" {
		t.Errorf("2027 put: %+v", put)
	}
	var out struct {
		Deadline string `json:"deadline"`
	}
	ts.do(t, "GET", "/api/v1/calendar/deadline?from=2027-02-05&working_days=2&hall=demo", "", nil).want(t, 200).json(t, &out)
	if out.Deadline != "2027-02-09" { // Sat 6 worked, Mon 8 off
		t.Errorf("2027 deadline %s", out.Deadline)
	}
	// Override one built-in day, then take the override back.
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/days/2026-10-07", ts.Admin, map[string]any{"kind": "work", "name": "本地上班"}).want(t, 200)
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/days/2026-10-32", ts.Admin, map[string]any{"kind": "work"}).wantErr(t, 400, "invalid", "date")
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/days/2026-10-07", ts.Admin, map[string]any{"kind": "maybe"}).wantErr(t, 400, "invalid", "kind")
	ts.do(t, "PUT", "/api/v1/halls/demo/calendar/days/2026-10-07", mgr, map[string]any{"kind": "work"}).wantErr(t, 403, "forbidden", "")
	found := false
	for _, d := range get("2026").Days {
		if d.Date == "2026-10-07" {
			found = d.Kind == "work" && d.Source == "hall" && d.Name == "本地上班"
		}
	}
	if !found {
		t.Error("the override is not in the year")
	}
	ts.do(t, "DELETE", "/api/v1/halls/demo/calendar/days/2026-10-07", mgr, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "DELETE", "/api/v1/halls/demo/calendar/days/2026-10-07", ts.Admin, nil).want(t, 204)
	for _, d := range get("2026").Days {
		if d.Date == "2026-10-07" && (d.Kind != "off" || d.Source != "builtin") {
			t.Errorf("after delete %+v", d)
		}
	}
	// Resetting 2027 forgets it again.
	ts.do(t, "DELETE", "/api/v1/halls/demo/calendar/2027", ts.Admin, nil).want(t, 200)
	if y := get("2027"); y.Source != "none" || len(y.Days) != 0 {
		t.Errorf("2027 after reset: %+v", y)
	}
}

// report is the ratings report as the API gives it.
type report struct {
	Total            int            `json:"total"`
	ByScore          map[string]int `json:"by_score"`
	SatisfactionRate float64        `json:"satisfaction_rate"`
	Invalid          int            `json:"invalid"`
	ByChannel        map[string]int `json:"by_channel"`
	SubScores        map[string]struct {
		Count   int     `json:"count"`
		Average float64 `json:"average"`
	} `json:"sub_scores"`
	FollowUps struct {
		Total        int `json:"total"`
		Open         int `json:"open"`
		Overdue      int `json:"overdue"`
		ClosedOnTime int `json:"closed_on_time"`
		ClosedLate   int `json:"closed_late"`
		Rejected     int `json:"rejected"`
	} `json:"followups"`
	ByService []group `json:"by_service"`
	ByCounter []group `json:"by_counter"`
	ByStaff   []group `json:"by_staff"`
	ByDay     []group `json:"by_day"`
}

type group struct {
	ID               string         `json:"id"`
	Total            int            `json:"total"`
	ByScore          map[string]int `json:"by_score"`
	SatisfactionRate float64        `json:"satisfaction_rate"`
}

func groupOf(gs []group, id string) group {
	for _, g := range gs {
		if g.ID == id {
			return g
		}
	}
	return group{}
}

// TestRatingReport builds a known set of ratings and cases and checks
// every figure of the report, the ratings list and CSV, and the public
// month.
func TestRatingReport(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	mgr := ts.createUser(t, "mgr", "manager", "demo")
	mgr2 := ts.createUser(t, "mgr2", "manager", "demo")
	wang := ts.createUser(t, "wang", "staff", "demo")
	zhao := ts.createUser(t, "zhao", "staff", "demo")
	rater1 := ts.pairDevice(t, "demo", "rater", "1")
	day := ts.today().Format(time.DateOnly)

	// Ten ratings: wang at counter 1 (general), zhao at counter 5 (tax).
	type given struct {
		token, counter, service, who string
		score                        int
	}
	set := []given{
		{wang, "1", "general", "rater", 5}, {wang, "1", "general", "phone", 5}, {wang, "1", "general", "phone", 4},
		{wang, "1", "general", "phone", 3}, {wang, "1", "general", "phone", 1}, {wang, "1", "general", "phone", 2},
		{zhao, "5", "tax", "phone", 5}, {zhao, "5", "tax", "phone", 4}, {zhao, "5", "tax", "phone", 2}, {zhao, "5", "tax", "phone", 1},
	}
	var cases []int64
	for _, g := range set {
		tk := ts.serve(t, g.token, g.counter, g.service)
		body := map[string]any{"score": g.score, "comment": "评价"}
		token := ""
		if g.who == "rater" {
			token = rater1
			body["sub_scores"] = map[string]int{"efficiency": 5, "attitude": 4}
		}
		ratingOf(t, ts.rate(t, token, tk.ID, body).want(t, 201))
		if g.score <= 2 {
			fs := ts.followUps(t, mgr, "?status=open")
			cases = append(cases, fs[0].ID)
		}
	}
	if len(cases) != 4 {
		t.Fatalf("%d cases", len(cases))
	}
	move := func(id int64, token, to string, extra map[string]any) {
		body := map[string]any{"to": to, "note": "n"}
		for k, v := range extra {
			body[k] = v
		}
		ts.do(t, "POST", fmt.Sprintf("/api/v1/followups/%d/transition", id), token, body).want(t, 200)
	}
	// cases[0] (wang's 1) closed on time; cases[1] (wang's 2) rejected as
	// invalid; cases[2] (zhao's 2) closed after its deadline; cases[3]
	// (zhao's 1) left open, overdue at the end.
	for _, to := range []string{"verifying", "rectifying", "rectified"} {
		move(cases[0], mgr, to, nil)
		move(cases[2], mgr, to, nil)
	}
	move(cases[0], mgr, "revisited", map[string]any{"citizen_view": "satisfied", "public_summary": "增设叫号提示"})
	move(cases[1], mgr, "rejection_requested", map[string]any{"reason": "重复评价"})
	move(cases[1], mgr2, "rejected", nil)

	q := "?from=" + day + "&to=" + day
	var rep report
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings"+q, mgr, nil).want(t, 200).json(t, &rep)
	// Nine count (the rejected 2 is invalid): 5,5,4,3,1 and 5,4,2,1.
	wantScores := map[string]int{"1": 2, "2": 1, "3": 1, "4": 2, "5": 3}
	if rep.Total != 9 || rep.Invalid != 1 || fmt.Sprint(rep.ByScore) != fmt.Sprint(wantScores) || rep.SatisfactionRate != 0.5556 {
		t.Errorf("totals %d invalid %d by score %v rate %v", rep.Total, rep.Invalid, rep.ByScore, rep.SatisfactionRate)
	}
	if rep.ByChannel["rater"] != 1 || rep.ByChannel["phone"] != 8 {
		t.Errorf("by channel %v", rep.ByChannel)
	}
	if e := rep.SubScores["efficiency"]; e.Count != 1 || e.Average != 5 {
		t.Errorf("efficiency %+v", e)
	}
	if l := rep.SubScores["level"]; l.Count != 0 {
		t.Errorf("level %+v", l)
	}
	if f := rep.FollowUps; f.Total != 4 || f.Open != 2 || f.ClosedOnTime != 1 || f.Rejected != 1 || f.Overdue != 0 || f.ClosedLate != 0 {
		t.Errorf("follow-ups %+v", f)
	}
	if g := groupOf(rep.ByStaff, "wang"); g.Total != 5 || g.ByScore["5"] != 2 || g.SatisfactionRate != 0.6 {
		t.Errorf("wang %+v", g)
	}
	if g := groupOf(rep.ByStaff, "zhao"); g.Total != 4 || g.SatisfactionRate != 0.5 {
		t.Errorf("zhao %+v", g)
	}
	if g := groupOf(rep.ByService, "tax"); g.Total != 4 {
		t.Errorf("tax %+v", g)
	}
	if g := groupOf(rep.ByCounter, "1"); g.Total != 5 {
		t.Errorf("counter 1 %+v", g)
	}
	if len(rep.ByDay) != 1 || rep.ByDay[0].ID != day || rep.ByDay[0].Total != 9 {
		t.Errorf("by day %+v", rep.ByDay)
	}

	// Sixty days later (past 15 working days, whatever the holidays):
	// zhao's open 1 is overdue, and the 2 closed now is late. The period
	// still names the day of the ratings.
	ts.Clock.Advance(60 * 24 * time.Hour)
	fresh := ts.relogin(t, "mgr", "wang")
	mgr, wang = fresh[0], fresh[1]
	move(cases[2], mgr, "revisited", map[string]any{"citizen_view": "not_satisfied"})
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings"+q, mgr, nil).want(t, 200).json(t, &rep)
	if f := rep.FollowUps; f.Total != 4 || f.Open != 0 || f.Overdue != 1 || f.ClosedOnTime != 1 || f.ClosedLate != 1 || f.Rejected != 1 {
		t.Errorf("later follow-ups %+v", f)
	}
	// A period with nothing in it; and a period of several days.
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings", mgr, nil).want(t, 200).json(t, &rep)
	if rep.Total != 0 || rep.SatisfactionRate != 0 || rep.ByScore["5"] != 0 || len(rep.ByScore) != 5 {
		t.Errorf("empty month %+v", rep)
	}
	from := mustDate(t, day).AddDate(0, 0, -2).Format(time.DateOnly)
	to := mustDate(t, day).AddDate(0, 0, 2).Format(time.DateOnly)
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings?from="+from+"&to="+to, mgr, nil).want(t, 200).json(t, &rep)
	if rep.Total != 9 || len(rep.ByDay) != 5 || groupOf(rep.ByDay, day).Total != 9 || groupOf(rep.ByDay, from).Total != 0 {
		t.Errorf("five days: %d, %+v", rep.Total, rep.ByDay)
	}
	for _, bad := range []struct{ q, field string }{
		{"?from=2026-02-30", "from"}, {"?to=x", "to"}, {"?from=2026-03-02&to=2026-03-01", "to"}, {"?from=2025-01-01&to=2026-12-31", "to"},
	} {
		ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings"+bad.q, mgr, nil).wantErr(t, 400, "invalid", bad.field)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings", wang, nil).wantErr(t, 403, "forbidden", "")
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings", "", nil).wantErr(t, 401, "unauthorized", "")

	// The list and its CSV: every rating, phones masked.
	var list struct {
		Ratings []struct {
			rating
			Staff          string `json:"staff"`
			FollowUpID     int64  `json:"followup_id"`
			FollowUpStatus string `json:"followup_status"`
		} `json:"ratings"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/ratings"+q, mgr, nil).want(t, 200).json(t, &list)
	if len(list.Ratings) != 10 || list.Ratings[0].Staff != "wang" || list.Ratings[0].Channel != "rater" || list.Ratings[4].FollowUpStatus != "revisited" {
		t.Errorf("list %+v", list.Ratings)
	}
	csv := ts.do(t, "GET", "/api/v1/halls/demo/ratings"+q+"&format=csv", mgr, nil).want(t, 200)
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(csv.Body), "\ufeff")), "\n")
	if !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") || len(lines) != 11 || !strings.HasPrefix(lines[0], "id,created_at,ticket_id") ||
		!strings.Contains(lines[1], ",wang,rater,5,") {
		t.Errorf("csv %q", lines)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/ratings?format=xml", mgr, nil).wantErr(t, 400, "invalid", "format")

	// The public month: counts and the rectified cases, nothing personal.
	month := day[:7]
	pubResp := ts.do(t, "GET", "/api/v1/halls/demo/ratings/public?month="+month, "", nil).want(t, 200)
	var pub struct {
		Month            string         `json:"month"`
		Total            int            `json:"total"`
		ByScore          map[string]int `json:"by_score"`
		SatisfactionRate float64        `json:"satisfaction_rate"`
		Rectified        []struct {
			ID          int64  `json:"id"`
			ServiceID   string `json:"service_id"`
			Summary     string `json:"summary"`
			CitizenView string `json:"citizen_view"`
			ClosedOn    string `json:"closed_on"`
		} `json:"rectified"`
	}
	pubResp.json(t, &pub)
	if pub.Month != month || pub.Total != 9 || pub.SatisfactionRate != 0.5556 || len(pub.Rectified) < 1 || pub.Rectified[0].Summary != "增设叫号提示" {
		t.Errorf("public %+v", pub)
	}
	for _, leak := range []string{"wang", "zhao", "评价", "ticket", "phone", "staff", "counter"} {
		if strings.Contains(string(pubResp.Body), leak) {
			t.Errorf("public page carries %q: %s", leak, pubResp.Body)
		}
	}
	ts.do(t, "GET", "/api/v1/halls/demo/ratings/public?month=2026-13", "", nil).wantErr(t, 400, "invalid", "month")
	ts.do(t, "GET", "/api/v1/halls/demo/ratings/public?month=2026-03-01", "", nil).wantErr(t, 400, "invalid", "month")
}

// TestDefaultBasicSatisfied: with the hall's rule on, a phone ticket left
// unrated 7 days after done counts as 基本满意; off, nothing happens.
func TestDefaultBasicSatisfied(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	mgr := ts.createUser(t, "mgr", "manager", "demo")
	remote := func() ticket {
		tk := ticketOf(t, ts.do(t, "POST", "/api/v1/halls/demo/tickets", "", map[string]string{"service_id": "tax", "channel": "remote"}).want(t, 201))
		ts.callUntil(t, "5", tk.ID)
		ts.act(t, ts.Admin, tk.ID, "start", nil)
		ts.act(t, ts.Admin, tk.ID, "finish", nil)
		return tk
	}
	day := ts.today()
	before := remote() // done while the rule is off
	ts.Clock.Advance(time.Second)
	var st struct {
		Settings civiq.RatingSettings `json:"settings"`
	}
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"default_basic_satisfied": true}).want(t, 200).json(t, &st)
	if !st.Settings.DefaultBasicSatisfied || st.Settings.DefaultSince == nil {
		t.Fatalf("settings %+v", st.Settings)
	}
	unrated := remote()
	rated := remote()
	ratingOf(t, ts.rate(t, "", rated.ID, map[string]any{"score": 5}).want(t, 201))
	ts.serve(t, ts.Admin, "5", "tax") // a staff ticket: not a phone ticket
	q := "?from=" + day.Format(time.DateOnly) + "&to=" + day.AddDate(0, 0, 8).Format(time.DateOnly)

	ts.Clock.Advance(6 * 24 * time.Hour)
	mgr = ts.relogin(t, "mgr")[0]
	if err := ts.Engine.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rep report
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings"+q, mgr, nil).want(t, 200).json(t, &rep)
	if rep.Total != 1 || rep.ByChannel["default"] != 0 {
		t.Fatalf("after 6 days %+v", rep)
	}
	ts.Clock.Advance(24*time.Hour + time.Minute)
	mgr = ts.relogin(t, "mgr")[0]
	// The report applies the rule before counting; Prune does too.
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings"+q, mgr, nil).want(t, 200).json(t, &rep)
	if rep.Total != 2 || rep.ByChannel["default"] != 1 || rep.ByScore["3"] != 1 {
		t.Fatalf("after 7 days %+v", rep)
	}
	if err := ts.Engine.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings"+q, mgr, nil).want(t, 200).json(t, &rep)
	if rep.Total != 2 {
		t.Errorf("defaulted twice: %+v", rep)
	}
	ts.rate(t, "", unrated.ID, map[string]any{"score": 1, "comment": "x"}).wantErr(t, 409, "conflict", "")
	ts.rate(t, "", before.ID, map[string]any{"score": 1, "comment": "x"}).wantErr(t, 409, "conflict", "") // past 7 days, never defaulted
	var list struct {
		Ratings []rating `json:"ratings"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/ratings"+q, mgr, nil).want(t, 200).json(t, &list)
	for _, r := range list.Ratings {
		if r.Channel == "default" && r.TicketID != unrated.ID {
			t.Errorf("defaulted the wrong ticket: %+v", r)
		}
	}
	// Turned off, the next phone ticket stays unrated.
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"default_basic_satisfied": false}).want(t, 200)
	remote()
	ts.Clock.Advance(8 * 24 * time.Hour)
	mgr = ts.relogin(t, "mgr")[0]
	if err := ts.Engine.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	q = "?from=" + day.Format(time.DateOnly) + "&to=" + ts.today().Format(time.DateOnly)
	ts.do(t, "GET", "/api/v1/halls/demo/reports/ratings"+q, mgr, nil).want(t, 200).json(t, &rep)
	if rep.Total != 2 {
		t.Errorf("with the rule off: %+v", rep)
	}
}

// TestRatingRoutesAuthz: who may use each route of ratings.go.
func TestRatingRoutesAuthz(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addOtherHall(t)
	tokens := map[string]string{
		"anon":     "",
		"admin":    ts.Admin,
		"mgr":      ts.createUser(t, "mgr", "manager", "demo"),
		"staff":    ts.createUser(t, "clerk", "staff", "demo"),
		"mgrOther": ts.createUser(t, "mgr-o", "manager", "other"),
		"kiosk":    ts.pairDevice(t, "demo", "kiosk", ""),
		"rater":    ts.pairDevice(t, "demo", "rater", "1"),
	}
	names := []string{"anon", "admin", "mgr", "staff", "mgrOther", "kiosk", "rater"}
	tk := ts.serve(t, ts.Admin, "1", "general")
	ratingOf(t, ts.rate(t, "", tk.ID, map[string]any{"score": 1, "comment": "x"}).want(t, 201))
	fid := ts.followUps(t, ts.Admin, "")[0].ID
	const A, U, F = 200, 401, 403
	rows := []struct {
		method, path string
		body         any
		want         []int // in the order of names
	}{
		{"GET", "/api/v1/halls/demo/followups", nil, []int{U, A, A, F, F, F, F}},
		{"GET", fmt.Sprintf("/api/v1/followups/%d", fid), nil, []int{U, A, A, F, F, F, F}},
		{"POST", fmt.Sprintf("/api/v1/followups/%d/transition", fid), map[string]any{"to": "open", "note": "n"}, []int{U, 409, 409, F, F, F, F}},
		{"POST", fmt.Sprintf("/api/v1/followups/%d/extend", fid), map[string]any{"reason": ""}, []int{U, 400, 400, F, F, F, F}},
		{"GET", "/api/v1/calendar/deadline?from=2026-02-13&working_days=1", nil, []int{A, A, A, A, A, A, A}},
		{"GET", "/api/v1/halls/demo/calendar/2026", nil, []int{A, A, A, A, A, A, A}},
		{"PUT", "/api/v1/halls/demo/calendar/2030", map[string]any{"days": []any{}}, []int{U, A, F, F, F, F, F}},
		{"DELETE", "/api/v1/halls/demo/calendar/2030", nil, []int{U, A, F, F, F, F, F}},
		{"PUT", "/api/v1/halls/demo/calendar/days/2030-01-02", map[string]any{"kind": "off"}, []int{U, A, F, F, F, F, F}},
		{"DELETE", "/api/v1/halls/demo/calendar/days/2030-01-02", nil, []int{U, 204, F, F, F, F, F}},
		{"GET", "/api/v1/halls/demo/rating-settings", nil, []int{U, A, A, F, F, F, F}},
		{"PUT", "/api/v1/halls/demo/rating-settings", map[string]any{}, []int{U, A, F, F, F, F, F}},
		{"GET", "/api/v1/halls/demo/reports/ratings", nil, []int{U, A, A, F, F, F, F}},
		{"GET", "/api/v1/halls/demo/ratings", nil, []int{U, A, A, F, F, F, F}},
		{"GET", "/api/v1/halls/demo/ratings/public", nil, []int{A, A, A, A, A, A, A}},
	}
	for _, row := range rows {
		for i, name := range names {
			before := ts.lastEventID(t)
			r := ts.do(t, row.method, row.path, tokens[name], row.body)
			if r.Status != row.want[i] {
				t.Errorf("%s %s as %s: want %d, got %s", row.method, row.path, name, row.want[i], r)
			}
			if r.Status >= 400 && ts.lastEventID(t) != before {
				t.Errorf("%s %s as %s: a refused request wrote events", row.method, row.path, name)
			}
		}
	}
}

// TestRatingEventsStream: on a live stream, the staff view of a bad rating
// carries the case; the public view does not.
func TestRatingEventsStream(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	tk := ts.serve(t, ts.Admin, "1", "general")
	after := ts.lastEventID(t)
	ratingOf(t, ts.rate(t, "", tk.ID, map[string]any{"score": 2, "comment": "窗口人员离岗", "contact_phone": "13987654321"}).want(t, 201))
	evs, err := ts.Store.EventsAfter(context.Background(), "demo", after, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v %v", evs, err)
	}
	var staff, public map[string]any
	json.Unmarshal(evs[0].JSON(true), &staff)
	json.Unmarshal(evs[0].JSON(false), &public)
	if staff["followup"] == nil || public["followup"] != nil || public["type"] != "ticket.rated" {
		t.Errorf("staff %v\npublic %v", staff, public)
	}
	for _, b := range [][]byte{evs[0].JSON(true), evs[0].JSON(false)} {
		// Not the phone, whole or masked, nor the comment. (Its last four
		// digits alone may well appear in a timestamp's nanoseconds.)
		if strings.Contains(string(b), "13987654321") || strings.Contains(string(b), "*4321") || strings.Contains(string(b), "phone") || strings.Contains(string(b), "离岗") {
			t.Errorf("personal data in %s", b)
		}
	}
}

// TestRatingsCSVConvention: the ratings CSV follows the one convention
// of civiq's CSV files (csvfile): a BOM, CRLF, and a comment a citizen
// typed as a formula reaches the spreadsheet as text.
func TestRatingsCSVConvention(t *testing.T) {
	ts := newTestServer(t)
	tk := ts.serve(t, ts.Admin, "1", "general")
	ts.rate(t, "", tk.ID, map[string]any{"score": 2, "comment": `=HYPERLINK("http://evil.example","点我")`}).want(t, 201)
	day := ts.today().Format(time.DateOnly)
	r := ts.do(t, "GET", "/api/v1/halls/demo/ratings?from="+day+"&to="+day+"&format=csv", ts.Admin, nil).want(t, 200)
	body := string(r.Body)
	if !strings.HasPrefix(body, "\ufeffid,created_at,ticket_id,") || strings.Count(body, "\r\n") != 2 || strings.Count(body, "\n") != 2 {
		t.Errorf("want a BOM, the header and a row, CRLF: %q", body)
	}
	if !strings.Contains(body, `"'=HYPERLINK(""http://evil.example"",""点我"")"`) {
		t.Errorf("the comment is not guarded: %q", body)
	}
}

// TestRatingReasonList: the reason list anyone reads, the hall's own labels
// (bad ones 400 with the field), a rating given by a hall's label stored
// as its code.
func TestRatingReasonList(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	type reasonList struct {
		Reasons []civiq.RatingReason `json:"reasons"`
	}
	var l reasonList
	ts.do(t, "GET", "/api/v1/halls/demo/rating-reasons", "", nil).want(t, 200).json(t, &l)
	if len(l.Reasons) != len(civiq.ReasonCodes()) || l.Reasons[0].Code != "long_wait" || l.Reasons[0].Name != "等候时间过长" ||
		l.Reasons[0].NameEn != "Waited too long" || l.Reasons[0].Group != "efficiency" || l.Reasons[len(l.Reasons)-1].Code != "other" {
		t.Errorf("reasons %+v", l.Reasons)
	}
	ts.do(t, "GET", "/api/v1/halls/nowhere/rating-reasons", "", nil).wantErr(t, 404, "not_found", "")
	for _, c := range []struct {
		labels any
		field  string
	}{
		{map[string]any{"slow": map[string]string{"name": "慢"}}, "reason_labels.slow"},
		{map[string]any{"long_wait": map[string]string{"name": strings.Repeat("等", 31)}}, "reason_labels.long_wait"},
		{map[string]any{"long_wait": map[string]string{"name_en": "two\nlines"}}, "reason_labels.long_wait"},
		{"long_wait", "reason_labels"},
	} {
		ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"reason_labels": c.labels}).wantErr(t, 400, "invalid", c.field)
	}
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"reason_labels": map[string]any{
		"long_wait": map[string]string{"name": " 排队太久 "}, "other": map[string]string{"name": " ", "name_en": ""}}}).want(t, 200).json(t, &l)
	if l.Reasons[0].Name != "排队太久" || l.Reasons[0].NameEn != "Waited too long" || l.Reasons[len(l.Reasons)-1].Name != "其他" {
		t.Errorf("labelled reasons %+v", l.Reasons)
	}
	var st struct {
		Settings civiq.RatingSettings `json:"settings"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/rating-settings", ts.Admin, nil).want(t, 200).json(t, &st)
	if len(st.Settings.ReasonLabels) != 1 || st.Settings.ReasonLabels["long_wait"].Name != "排队太久" {
		t.Errorf("stored labels %+v", st.Settings.ReasonLabels)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/rating-reasons", "", nil).want(t, 200).json(t, &l)
	if l.Reasons[0].Name != "排队太久" {
		t.Errorf("public list %+v", l.Reasons[0])
	}
	a := ts.serve(t, ts.Admin, "1", "general")
	r := ratingOf(t, ts.rate(t, "", a.ID, map[string]any{"score": 2, "reasons": []string{"排队太久", "other"}}).want(t, 201))
	if !slices.Equal(r.Reasons, []string{"long_wait", "other"}) || len(r.ReasonText) != 0 {
		t.Errorf("rating by the hall's label %+v", r)
	}
}
