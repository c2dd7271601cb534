package notify_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/notify"
)

// person is the n-th test person's ID number.
func person(n int) string {
	first := fmt.Sprintf("11010119900307%03d", n)
	return first + string(civiq.IDCheckChar(first))
}

// sent is what the log channel sent, as "kind param=value…" lines.
func sent(s *civiqtest.Server) []string {
	var out []string
	for _, m := range s.NotifyLog.Sent() {
		line := m.Kind + " " + m.To
		for _, p := range m.Params {
			line += " " + p.Name + "=" + p.Value
		}
		out = append(out, line)
	}
	return out
}

// awaitSent waits until the log channel sent n messages (a bound for a
// loaded machine, not a speed limit), then a little longer for any extra.
func awaitSent(t *testing.T, s *civiqtest.Server, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(sent(s)) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	s.Outbound.Notify()
	time.Sleep(100 * time.Millisecond)
	return sent(s)
}

// TestSubjectsDay: a hall day of a booking, a cancelled booking, a case
// and a bad rating, where the provider (the log channel) receives exactly
// the expected messages in order: booked, cancelled, the reminder the day
// before (held by the quiet hours: the hall's hour is in them) and the one
// an hour before, the no-show's strike; the case's correction, acceptance
// and finish; the bad rating received, put right and revisited. Nothing
// twice, though the minute tick runs again.
func TestSubjectsDay(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	monday := time.Date(2031, 3, 3, 8, 0, 0, 0, sh)
	s := node(t, map[string]any{"ahead": 3, "sms": map[string]any{"provider": "log"},
		"quiet_from": "21:00", "quiet_to": "08:00", "reminder_at": "21:30", "cost_fen": 5},
		func(s *civiqtest.Server) { s.Clock.Set(monday) })
	book := func(n int, slot string) string {
		t.Helper()
		body := map[string]string{"service_id": "property", "slot_start": slot, "name": fmt.Sprintf("王%d", n),
			"phone": fmt.Sprintf("139%08d", n), "id_number": person(n)}
		var out struct{ Booking civiq.Booking }
		if code := s.Call(t, "POST", "/api/v1/halls/demo/bookings", "", body, &out); code != 201 {
			t.Fatalf("book: %d", code)
		}
		return out.Booking.Code
	}
	tick := func(at time.Time) {
		t.Helper()
		s.Clock.Set(at)
		if _, err := s.Engine.SweepNoShows(t.Context(), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Engine.QueueDueReminders(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	check := func(step string, more ...string) {
		t.Helper()
		want = append(want, more...)
		if got := awaitSent(t, s, len(want)); !slices.Equal(got, want) {
			t.Fatalf("%s:\n%s\nwant\n%s", step, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	code := book(1, "2031-03-04T10:00:00+08:00")
	check("booked", "booking_booked 13900000001 code="+code+" service=不动产登记 time=03-04 10:00")
	// Its reminders wait, scheduled: not yet spent.
	var rep struct{ Report civiq.NotifyReport }
	if st := s.Call(t, "GET", "/api/v1/halls/demo/notifications/report", s.Admin, nil, &rep); st != 200 || rep.Report.CostFen != 5 {
		t.Errorf("report: %d %+v, want one SMS's cost", st, rep.Report)
	}
	scheduled := 0
	for _, c := range rep.Report.Counts {
		if c.Status == civiq.NoticeScheduled {
			scheduled += c.Count
		}
	}
	if scheduled != 2 {
		t.Errorf("%d reminders scheduled, want 2: %+v", scheduled, rep.Report.Counts)
	}
	other := book(2, "2031-03-04T10:00:00+08:00")
	check("booked again", "booking_booked 13900000002 code="+other+" service=不动产登记 time=03-04 10:00")
	if st := s.Call(t, "DELETE", "/api/v1/bookings/"+other+"?id_last4="+person(2)[14:], "", nil, nil); st != 200 {
		t.Fatalf("cancel: %d", st)
	}
	check("cancelled", "booking_cancelled 13900000002 service=不动产登记 time=03-04 10:00")

	// Monday 21:30 is in the quiet hours: the reminder waits for 08:00.
	tick(monday.Add(13*time.Hour + 30*time.Minute))
	tick(monday.Add(23 * time.Hour))
	check("quiet hours")
	tick(monday.Add(24 * time.Hour)) // Tuesday 08:00
	check("the day before's, at the quiet hours' end", "booking_reminder_day 13900000001 code="+code+" service=不动产登记 time=03-04 10:00")
	tick(monday.Add(25 * time.Hour)) // 09:00, an hour before
	tick(monday.Add(25*time.Hour + time.Minute))
	check("an hour before", "booking_reminder_hour 13900000001 code="+code+" service=不动产登记 time=03-04 10:00")
	tick(monday.Add(27 * time.Hour)) // 11:00: check-in closed, a no-show
	check("no-show", "booking_strike 13900000001 service=不动产登记 time=03-04 10:00 strikes=1 limit=3")

	// A case, opened in 补正, then accepted and finished.
	s.Admin = s.Login(t, "admin", civiqtest.AdminPassword) // sessions last 12 hours
	if _, err := s.Engine.LoadDemoGuides(t.Context()); err != nil {
		t.Fatal(err)
	}
	var tk struct{ Ticket civiq.Ticket }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "social"}, &tk); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	callNext(t, s, "1")
	var opened struct{ Case civiq.Case }
	if st := s.Call(t, "POST", "/api/v1/tickets/"+tk.Ticket.ID+"/cases", s.Admin, map[string]any{"guide_id": "demo-s-card",
		"applicant": map[string]string{"name": "张三", "phone": "13700000009", "id_number": person(9)},
		"materials": []map[string]string{{"id": "m1"}, {"id": "m3", "status": "missing"}}}, &opened); st != 201 {
		t.Fatalf("open case: %d", st)
	}
	number := opened.Case.Number
	check("correction", "case_correction 13700000009 number="+number+" missing=社会保障卡申领登记表")
	move := func(to string, body map[string]any) civiq.Case {
		t.Helper()
		body["to"], body["note"] = to, "ok"
		var out struct{ Case civiq.Case }
		if st := s.Call(t, "POST", "/api/v1/cases/"+number+"/transition", s.Admin, body, &out); st != 200 {
			t.Fatalf("case to %s: %d", to, st)
		}
		return out.Case
	}
	c := move("accepted", map[string]any{"materials": []map[string]string{{"id": "m3"}}})
	check("accepted", "case_accepted 13700000009 number="+number+" date="+c.PromisedDate)
	move("reviewing", map[string]any{})
	move("finished", map[string]any{})
	check("finished", "case_finished 13700000009 number="+number)

	// The ticket rated badly, with a number for the call back.
	if st := s.Call(t, "POST", "/api/v1/tickets/"+tk.Ticket.ID+"/finish", s.Admin, nil, nil); st != 200 {
		t.Fatalf("finish: %d", st)
	}
	var rated struct{ Rating civiq.Rating }
	if st := s.Call(t, "POST", "/api/v1/tickets/"+tk.Ticket.ID+"/rating", "", map[string]any{"score": 1, "reasons": []string{"long_wait"},
		"contact_phone": "13600000008"}, &rated); st != 201 {
		t.Fatalf("rate: %d", st)
	}
	var fus struct{ FollowUps []civiq.FollowUpView }
	if st := s.Call(t, "GET", "/api/v1/halls/demo/followups", s.Admin, nil, &fus); st != 200 || len(fus.FollowUps) != 1 {
		t.Fatalf("follow-ups: %d %d", st, len(fus.FollowUps))
	}
	fu := fus.FollowUps[0]
	check("rating received", "rating_received 13600000008 service=社保医保 deadline="+fu.Deadline)
	for _, to := range []string{"verifying", "rectifying", "rectified"} {
		if st := s.Call(t, "POST", fmt.Sprintf("/api/v1/followups/%d/transition", fu.ID), s.Admin, map[string]any{"to": to, "note": "done"}, nil); st != 200 {
			t.Fatalf("follow-up to %s: %d", to, st)
		}
	}
	check("rectified", "rating_rectified 13600000008 service=社保医保")
	if st := s.Call(t, "POST", fmt.Sprintf("/api/v1/followups/%d/transition", fu.ID), s.Admin,
		map[string]any{"to": "revisited", "note": "called", "citizen_view": "satisfied"}, nil); st != 200 {
		t.Fatalf("revisit: %d", st)
	}
	check("revisited", "rating_revisit 13600000008 service=社保医保")

	// Each kind's parameters are the ones the admin page lists, in order.
	for _, m := range s.NotifyLog.Sent() {
		var names []string
		for _, p := range m.Params {
			names = append(names, p.Name)
		}
		if want := civiq.NoticeParamNames(m.Kind); !slices.Equal(names, want) {
			t.Errorf("%s: parameters %v, want %v", m.Kind, names, want)
		}
	}

	// Once each: the ticks again change nothing.
	tick(monday.Add(28 * time.Hour))
	check("again")

	// The list: masked, no personal data, the booking's by its code.
	var list struct{ Messages []civiq.Notice }
	if st := s.Call(t, "GET", "/api/v1/halls/demo/notifications/messages?date=2031-03-04", s.Admin, nil, &list); st != 200 {
		t.Fatalf("messages: %d", st)
	}
	raw, _ := json.Marshal(list)
	for _, leak := range []string{"13900000001", "13700000009", "13600000008", "王1", "张三", person(1)} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("the list shows %s", leak)
		}
	}
	var kinds []string
	for _, m := range list.Messages {
		kinds = append(kinds, m.Number+" "+m.Kind+" "+m.Status+" "+m.To)
	}
	if !slices.Contains(kinds, code+" booking_reminder_hour delivered 139****0001") {
		t.Errorf("the day's list: %v", kinds)
	}
}

// TestParamRuleChecked: a template whose parameters the provider's length
// rule cannot take whole is refused when it is set (a case number of 16
// characters by Tencent's 12), and taken with the account's own rule.
func TestParamRuleChecked(t *testing.T) {
	s := node(t, nil)
	sms := map[string]any{"provider": "tencent", "access_key_id": "AKID", "access_key_secret": "secret", "sign_name": "大厅",
		"app_id": "1400000000", "templates": map[string]string{"called": "1001", "booking_booked": "1002", "case_accepted": "1003"}}
	var bad struct {
		Error struct{ Field, Message string }
	}
	if code := s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"sms": sms}, &bad); code != 400 ||
		bad.Error.Field != "sms.templates" || !strings.Contains(bad.Error.Message, "case_accepted") {
		t.Fatalf("a case's template by Tencent's rule: %d %+v", code, bad)
	}
	sms["extra"] = map[string]string{"max_param_len": "20"}
	if code := s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"sms": sms}, nil); code != 200 {
		t.Fatalf("with the account's rule of 20: %d", code)
	}
}

// TestLinkRuleChecked: the providers take a link only as the template's
// own text (Alibaba Cloud: https://…/t/${link} with the address written
// in), so the taken message's parameter link is the ticket's id alone, 24
// characters: Alibaba Cloud's rule of 35 takes it, Tencent's 12 does not
// and is refused when link_base is set, rather than every taken message
// failing (params); the test message carries an id as the template does;
// WeChat, whose link is the message's URL, sends under any link_base; and
// the message's text and link (push, WeChat) are the whole address.
func TestLinkRuleChecked(t *testing.T) {
	f := newFakeAliyun(t, "sec")
	s := node(t, nil, allowLoopback)
	sms := map[string]any{"provider": "aliyun", "endpoint": f.URL, "access_key_id": "AKIDtest", "access_key_secret": "sec",
		"sign_name": "大厅", "templates": map[string]string{"taken": "SMS_1"}}
	put := map[string]any{"sms": sms, "link_base": "https://zwfw.example.gov.cn"}
	if code := s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, put, nil); code != 200 {
		t.Fatalf("a link's id by Aliyun's 35: %d", code)
	}
	var res struct{ Result civiq.ChannelResult }
	if code := s.Call(t, "POST", "/api/v1/halls/demo/notifications/test", s.Admin, map[string]string{"phone": "13800000009"}, &res); code != 200 || res.Result.Status != civiq.NoticeSent {
		t.Fatalf("test send: %d %+v", code, res.Result)
	}
	got := f.took()
	var tp map[string]string
	if len(got) == 1 {
		json.Unmarshal([]byte(got[0]["TemplateParam"].(string)), &tp)
	}
	if len(tp["link"]) != 24 || strings.Contains(tp["link"], "/") {
		t.Errorf("the test message's parameters: %v", got)
	}
	tk := issue(t, s, "tax")
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/notify", "", map[string]string{"phone": "13800000010"}, nil); code != 201 {
		t.Fatalf("opt in: %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); len(f.took()) < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if got = f.took(); len(got) != 2 || !strings.Contains(got[1]["TemplateParam"].(string), `"link":"`+tk.ID+`"`) {
		t.Errorf("the taken message's parameters: %v", got)
	}

	var bad struct {
		Error struct{ Field, Message string }
	}
	tc := map[string]any{"provider": "tencent", "access_key_id": "AKID", "access_key_secret": "secret", "sign_name": "大厅",
		"app_id": "1400000000", "templates": map[string]string{"taken": "1001"}}
	put = map[string]any{"sms": tc, "link_base": "https://zwfw.example.gov.cn"}
	if code := s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, put, &bad); code != 400 ||
		bad.Error.Field != "link_base" || !strings.Contains(bad.Error.Message, "taken") {
		t.Fatalf("a link's id by Tencent's 12: %d %+v", code, bad)
	}
	tc["extra"] = map[string]string{"max_param_len": "24"}
	if code := s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, put, nil); code != 200 {
		t.Fatalf("with the account's rule of 24: %d", code)
	}

	wc := &notify.WeChat{}
	long := []civiq.NoticeParam{{Name: "number", Value: "A001"}, {Name: "link", Value: "https://zwfw.example.gov.cn/t/abcdefghijklmnopqrstuvwx"}}
	if err := wc.Rules().CheckParams(long); err != nil {
		t.Errorf("WeChat's link is the message's URL, not a value: %v", err)
	}

	// The text and the link of the message are the whole address.
	l := node(t, map[string]any{"sms": map[string]any{"provider": "log"}, "link_base": "https://hall.example.cn"})
	tk = issue(t, l, "tax")
	if code := l.Call(t, "POST", "/api/v1/tickets/"+tk.ID+"/notify", "", map[string]string{"phone": "13800000011"}, nil); code != 201 {
		t.Fatalf("opt in: %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); len(l.NotifyLog.Sent()) < 1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	sent := l.NotifyLog.Sent()
	if len(sent) == 0 || sent[0].Kind != civiq.NoticeTaken {
		t.Fatalf("sent: %v", sent)
	}
	m, want := sent[0], "https://hall.example.cn/t/"+tk.ID
	if m.Link != want || !strings.Contains(m.Text, want) || m.Params[len(m.Params)-1] != (civiq.NoticeParam{Name: "link", Value: tk.ID}) {
		t.Errorf("taken: link %q, text %q, params %v", m.Link, m.Text, m.Params)
	}
}

// TestNeverSetShowsNoTime: a hall never set answers its defaults, without
// a time of change of the year 1.
func TestNeverSetShowsNoTime(t *testing.T) {
	s := civiqtest.New(t)
	var got struct{ Notifications map[string]any }
	if code := s.Call(t, "GET", "/api/v1/halls/demo/notifications", s.Admin, nil, &got); code != 200 {
		t.Fatalf("get: %d", code)
	}
	if _, ok := got.Notifications["updated_at"]; ok || got.Notifications["ahead"] != 3.0 {
		t.Errorf("a hall never set: %v", got.Notifications)
	}
}
