package civiq_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

func TestParsePhone(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"13812345678", "13812345678"},
		{" 138-1234-5678 ", "13812345678"},
		{"+86 138 1234 5678", "13812345678"},
		{"+447911123456", "+447911123456"},
		{"+1 415 555 2671", "+14155552671"},
		{"12812345678", ""},  // 12x is no mobile prefix
		{"1381234567", ""},   // ten digits
		{"23812345678", ""},  // not a 1
		{"+0123456789", ""},  // no country 0
		{"+1234567", ""},     // too short
		{"1381234567a", ""},  // a letter
		{"138+12345678", ""}, // a plus inside
		{"", ""},
		{"+8613812345678", "13812345678"},
	} {
		got, err := civiq.ParsePhone(c.in)
		if c.want == "" {
			if err == nil || civiq.ErrorCode(err) != civiq.EInvalid {
				t.Errorf("ParsePhone(%q) = %q, %v; want invalid", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"13812345678", "+86 138", "+447911123456", "", "++", "0086"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := civiq.ParsePhone(s)
		if err != nil {
			return
		}
		again, err := civiq.ParsePhone(p)
		if err != nil || again != p {
			t.Fatalf("ParsePhone(%q) = %q, which reads back as %q, %v", s, p, again, err)
		}
		if m := civiq.MaskAddress(civiq.MediumSMS, p); m == p {
			t.Fatalf("mask of %q shows it whole", p)
		}
	})
}

func TestMaskAddress(t *testing.T) {
	for _, c := range []struct{ medium, in, want string }{
		{civiq.MediumSMS, "13812345678", "138****5678"},
		{civiq.MediumSMS, "+447911123456", "+44****3456"},
		{civiq.MediumWebPush, `{"endpoint":"https://push.example/x"}`, "webpush"},
	} {
		if got := civiq.MaskAddress(c.medium, c.in); got != c.want {
			t.Errorf("MaskAddress(%s, %q) = %q, want %q", c.medium, c.in, got, c.want)
		}
	}
}

func TestTicketNotices(t *testing.T) {
	pos := func(n int) *int { return &n }
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	waiting := &civiq.Ticket{Number: "A001", Status: civiq.StatusWaiting}
	called := &civiq.Ticket{Number: "A001", Status: civiq.StatusCalled, CalledAt: &at}
	noShow := &civiq.Ticket{Number: "A001", Status: civiq.StatusNoShow, CalledAt: &at}
	back := &civiq.Ticket{Number: "A001", Status: civiq.StatusWaiting, CalledAt: &at} // returned, or transferred after its call
	for _, c := range []struct {
		name     string
		event    string
		t        *civiq.Ticket
		position *int
		ahead    int
		sent     []string
		due      []string
	}{
		{"taken, far back", civiq.EventIssued, waiting, pos(9), 3, nil, []string{"taken"}},
		{"taken, already near", civiq.EventIssued, waiting, pos(2), 3, nil, []string{"taken", "ahead"}},
		{"taken twice", civiq.EventIssued, waiting, pos(9), 3, []string{"taken"}, nil},
		{"another's call, 4 before", "", waiting, pos(4), 3, []string{"taken"}, nil},
		{"another's call, 3 before", "", waiting, pos(3), 3, []string{"taken"}, []string{"ahead"}},
		{"ahead once only", "", waiting, pos(2), 3, []string{"taken", "ahead"}, nil},
		{"next", "", waiting, pos(0), 3, []string{"taken", "ahead"}, []string{"next"}},
		{"straight to next: no ahead", "", waiting, pos(0), 3, []string{"taken"}, []string{"next"}},
		{"no ahead after next", "", waiting, pos(1), 3, []string{"taken", "next"}, nil},
		{"default N", "", waiting, pos(3), 0, nil, []string{"ahead"}},
		{"hall's N", "", waiting, pos(5), 5, nil, []string{"ahead"}},
		{"called", civiq.EventCalled, called, nil, 3, []string{"taken", "ahead", "next"}, []string{"called"}},
		{"called before ahead: nothing to drop", civiq.EventCalled, called, nil, 3, []string{"taken"}, []string{"called"}},
		{"recalled: nothing", civiq.EventRecalled, called, nil, 3, []string{"called", "ahead", "next"}, nil},
		{"no-show", civiq.EventNoShow, noShow, nil, 3, []string{"called", "ahead", "next"}, []string{"no_show"}},
		{"done: nothing", civiq.EventDone, &civiq.Ticket{Status: civiq.StatusDone, CalledAt: &at}, nil, 3, []string{"called"}, nil},
		{"waiting again after its call: no ahead, no next", "", back, pos(0), 3, []string{"taken", "called"}, nil},
		{"transferred", civiq.EventTransferred, back, pos(7), 3, []string{"taken"}, []string{"transferred"}},
	} {
		sent := map[string]bool{}
		for _, k := range c.sent {
			sent[k] = true
		}
		if due := civiq.TicketNotices(c.event, c.t, c.position, c.ahead, sent); !slices.Equal(due, c.due) {
			t.Errorf("%s: due %v, want %v", c.name, due, c.due)
		}
	}
}

func TestQuietAt(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	at := func(h, m int) time.Time { return time.Date(2026, 12, 6, h, m, 0, 0, loc) }
	for _, c := range []struct {
		t        time.Time
		from, to string
		want     bool
	}{
		{at(22, 0), "21:00", "08:00", true},
		{at(7, 59), "21:00", "08:00", true},
		{at(8, 0), "21:00", "08:00", false},
		{at(12, 0), "21:00", "08:00", false},
		{at(12, 30), "12:00", "13:00", true},
		{at(13, 0), "12:00", "13:00", false},
		{at(3, 0), "", "", false},
	} {
		if got := civiq.QuietAt(c.t.UTC(), loc, c.from, c.to); got != c.want {
			t.Errorf("QuietAt(%v, %s–%s) = %v", c.t, c.from, c.to, got)
		}
	}
}

func TestParamRules(t *testing.T) {
	r := civiq.ParamRules{MaxParamLen: 6}
	if err := r.CheckParams([]civiq.NoticeParam{{"number", "A001"}, {"counter", "六号窗口"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckParams([]civiq.NoticeParam{{"counter", "第十二号综合窗口"}}); civiq.ErrorCode(err) != civiq.EInvalid {
		t.Fatalf("8 characters against 6: %v", err)
	}
}

// TestPruneKeepsQueuedOptIns: the prune forgets the opt-ins of tickets done
// or cancelled, but not while a message of the ticket is still to go (a
// "called" planned with its finish, sending or queued again after a
// throttle): the message needs the address. After 48 hours every opt-in
// goes.
func TestPruneKeepsQueuedOptIns(t *testing.T) {
	e := newEnv(t)
	e.eng.Sealer = testSealer(t)
	admin := civiq.Principal{User: &civiq.User{ID: 1, Username: "admin", Role: civiq.RoleAdmin}}
	if _, err := e.eng.SetNotifySettings(e.ctx, admin, "demo", civiq.NotifySettings{SMS: &civiq.ProviderSettings{Provider: "log"}}); err != nil {
		t.Fatal(err)
	}
	optIn := func(phone string) *civiq.Ticket {
		tk := e.issue("general", "")
		if err := e.eng.OptIn(e.ctx, tk.ID, civiq.OptInRequest{Medium: civiq.MediumSMS, Address: phone, Lang: "zh"}); err != nil {
			t.Fatal(err)
		}
		return tk
	}
	pending, sent, waiting := optIn("13800000001"), optIn("13800000002"), optIn("13800000003")
	for _, tk := range []*civiq.Ticket{pending, sent} {
		if c := e.call("1"); c == nil || c.ID != tk.ID {
			t.Fatalf("called %+v, want %s", c, tk.Number)
		}
		e.act(tk.ID, civiq.ActStart, "")
		e.act(tk.ID, civiq.ActFinish, "")
	}
	var ids []int64
	for _, ev := range e.take() {
		ids = append(ids, ev.ID)
	}
	b, err := e.eng.PlanNotices(e.ctx, "demo", ids, 100)
	if err != nil {
		t.Fatal(err)
	}
	// The provider took the messages of one finished ticket; those of the
	// other are still sending.
	var outs []civiq.NoticeOutcome
	for _, j := range b.Jobs {
		if j.Notice.TicketID == sent.ID {
			outs = append(outs, civiq.NoticeOutcome{ID: j.Notice.ID, Result: civiq.ChannelResult{Status: civiq.NoticeSent}})
		}
	}
	if len(outs) != 2 { // taken, called
		t.Fatalf("%d messages of the ticket sent; want 2", len(outs))
	}
	if err := e.eng.RecordNotices(e.ctx, "demo", outs, nil); err != nil {
		t.Fatal(err)
	}
	// Named as finished, a ticket still waiting, or one with a message
	// still sending, keeps its opt-ins.
	if err := e.eng.RecordNotices(e.ctx, "demo", nil, []string{pending.ID, waiting.ID}); err != nil {
		t.Fatal(err)
	}
	kept := func(tickets ...*civiq.Ticket) []string {
		var out []string
		err := e.store.View(e.ctx, func(tx civiq.Tx) error {
			for _, tk := range tickets {
				os, err := tx.OptIns(tk.ID)
				if err != nil {
					return err
				}
				if len(os) > 0 {
					out = append(out, tk.Number)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		after time.Duration
		want  []string
	}{
		// Not at once: the messages of a ticket's last events may not be
		// planned yet (a node's Prune at its start found them so).
		{0, []string{pending.Number, sent.Number, waiting.Number}},
		{civiq.OptInAfterEnd + time.Minute, []string{pending.Number, waiting.Number}},
		{civiq.OptInAge, nil},
	} {
		e.advance(c.after)
		if err := e.eng.Prune(e.ctx); err != nil {
			t.Fatal(err)
		}
		if got := kept(pending, sent, waiting); !slices.Equal(got, c.want) {
			t.Errorf("%v on: opt-ins kept of %v; want %v", c.after, got, c.want)
		}
	}

	// A finished ticket whose last messages went loses its opt-ins with
	// their answers, not at a prune.
	done := optIn("13800000004")
	for _, tk := range []*civiq.Ticket{waiting, done} { // waiting's opt-ins went at the prune
		if c := e.call("1"); c == nil || c.ID != tk.ID {
			t.Fatalf("called %+v, want %s", c, tk.Number)
		}
		e.act(tk.ID, civiq.ActStart, "")
		e.act(tk.ID, civiq.ActFinish, "")
	}
	ids = ids[:0]
	for _, ev := range e.take() {
		ids = append(ids, ev.ID)
	}
	if b, err = e.eng.PlanNotices(e.ctx, "demo", ids, 100); err != nil || len(b.Jobs) != 2 || !slices.Equal(b.Finished, []string{done.ID}) {
		t.Fatalf("planned %d jobs, finished %v: %v", len(b.Jobs), b.Finished, err)
	}
	outs = outs[:0]
	for _, j := range b.Jobs {
		outs = append(outs, civiq.NoticeOutcome{ID: j.Notice.ID, Result: civiq.ChannelResult{Status: civiq.NoticeSent}})
	}
	if err := e.eng.RecordNotices(e.ctx, "demo", outs, b.Finished); err != nil {
		t.Fatal(err)
	}
	if got := kept(done); len(got) != 0 {
		t.Errorf("the finished ticket keeps its opt-ins")
	}
}

// TestNoticeIDOrder: a message's id is "ntf_" and sixteen lower-case
// letters and digits, each its own, and those made later sort after
// those made before (the time first).
func TestNoticeIDOrder(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := range 4 {
		if i > 0 {
			time.Sleep(2 * time.Millisecond)
		}
		for range 50 {
			id := civiq.NoticeID()
			if len(id) != 20 || !strings.HasPrefix(id, "ntf_") || strings.Trim(id[4:], "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
				t.Fatalf("id %q", id)
			}
			if seen[id] {
				t.Fatalf("id %q twice", id)
			}
			seen[id] = true
			if id[:12] < prev {
				t.Fatalf("id %q made after one of time %q sorts before it", id, prev)
			}
			prev = id[:12]
		}
	}
}

// TestPruneNotices: the hourly prune forgets a hall's messages NoticeAge
// after their last change once they are final (sent, delivered, failed,
// dropped), never one still to send (scheduled, queued, sending) nor one
// of a booking still booked, a case or a follow-up not closed (their
// "once per kind" looks at it); a case closed not accepted is closed as
// one finished or refused is; younger ones stay.
func TestPruneNotices(t *testing.T) {
	e := newBookingEnv(t)
	booked := e.mustBook("property", slot(3, 10, 0), 1)
	open := e.acceptedCase()
	ctx, _ := staffCtx(e.ctx)
	notAccepted, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: open.TicketID, GuideID: open.GuideID, Applicant: applicant(),
		Decision: "refuse", Reason: "已持有本市社会保障卡"})
	if err != nil || notAccepted.Status != civiq.CaseNotAccepted {
		t.Fatalf("case not accepted: %+v, %v", notAccepted, err)
	}
	r := e.badRating()
	var followUp int64
	if err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		fs, err := tx.FollowUps(civiq.FollowUpQuery{HallID: "demo", TicketID: r.TicketID})
		if err == nil && len(fs) == 1 {
			followUp = fs[0].ID
		}
		return err
	}); err != nil || followUp == 0 {
		t.Fatalf("follow-up of the bad rating: %d, %v", followUp, err)
	}
	now := e.clock()
	old := now.Add(-civiq.NoticeAge - time.Minute)
	type msg struct{ hall, subject, status string }
	gone := []msg{
		{"demo", "T-sent", civiq.NoticeSent},
		{"demo", "T-delivered", civiq.NoticeDelivered},
		{"demo", "T-failed", civiq.NoticeFailed},
		{"demo", "T-dropped", civiq.NoticeDropped},
		{"demo", civiq.SubjectKey(civiq.SubjectBooking, "no-such-booking"), civiq.NoticeSent},
		{"demo", civiq.SubjectKey(civiq.SubjectCase, "no-such-case"), civiq.NoticeSent},
		{"demo", civiq.SubjectKey(civiq.SubjectCase, notAccepted.Number), civiq.NoticeSent},
		{"demo", civiq.SubjectKey(civiq.SubjectFollowUp, "999999"), civiq.NoticeSent},
	}
	kept := []msg{
		{"demo", "T-scheduled", civiq.NoticeScheduled},
		{"demo", "T-queued", civiq.NoticeQueued},
		{"demo", "T-sending", civiq.NoticeSending},
		{"demo", civiq.SubjectKey(civiq.SubjectBooking, booked.ID), civiq.NoticeSent},
		{"demo", civiq.SubjectKey(civiq.SubjectCase, open.Number), civiq.NoticeSent},
		{"demo", civiq.SubjectKey(civiq.SubjectFollowUp, fmt.Sprint(followUp)), civiq.NoticeSent},
	}
	insert := func(ms []msg, at time.Time) {
		t.Helper()
		if err := e.store.Update(e.ctx, func(tx civiq.Tx) error {
			for _, m := range ms {
				n := &civiq.Notice{ID: "n-" + m.subject, HallID: m.hall, Day: "2026-03-02", TicketID: m.subject, Number: "A001",
					Medium: civiq.MediumSMS, Kind: civiq.NoticeTaken, To: "138****0001", Status: m.status, CreatedAt: at, UpdatedAt: at}
				if ok, err := tx.InsertNotice(n); err != nil || !ok {
					return fmt.Errorf("insert %s: %v, %w", m.subject, ok, err)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	insert(append(gone, kept...), old)
	young := msg{"demo", "T-young", civiq.NoticeSent}
	insert([]msg{young}, now.Add(-civiq.NoticeAge+time.Minute))
	kept = append(kept, young)

	if err := e.eng.Prune(e.ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		for _, m := range append(append([]msg{}, gone...), kept...) {
			if _, err := tx.Notice("n-" + m.subject); err == nil {
				got = append(got, m.subject)
			} else if civiq.ErrorCode(err) != civiq.ENotFound {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	var want []string
	for _, m := range kept {
		want = append(want, m.subject)
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("kept %v; want %v", got, want)
	}
}

// TestNoticeTextTaken: the taken message in words leads to the ticket's
// page where the hall links it, and promises no page where it does not
// (it read "Follow your place:" and ended, "可凭此短信查看排队进度。" with
// nothing to follow).
func TestNoticeTextTaken(t *testing.T) {
	number := civiq.NoticeParam{Name: "number", Value: "C007"}
	link := civiq.NoticeParam{Name: "link", Value: "https://hall.example.gov.cn/t/abc"}
	for _, c := range []struct {
		lang   string
		params []civiq.NoticeParam
		want   string
	}{
		{"zh", []civiq.NoticeParam{number, link}, "您已取号 C007，可凭此短信查看排队进度。https://hall.example.gov.cn/t/abc"},
		{"en", []civiq.NoticeParam{number, link}, "Your ticket is C007. Follow your place: https://hall.example.gov.cn/t/abc"},
		{"zh", []civiq.NoticeParam{number}, "您已取号 C007，快到您时会再提醒您。"},
		{"en", []civiq.NoticeParam{number}, "Your ticket is C007. We will tell you when your turn nears."},
		{"en", []civiq.NoticeParam{number, {Name: "link"}}, "Your ticket is C007. We will tell you when your turn nears."},
	} {
		if got := civiq.NoticeText(civiq.NoticeTaken, c.lang, c.params); got != c.want {
			t.Errorf("%s %v: %q, want %q", c.lang, c.params, got, c.want)
		}
	}
	// The other kinds are as they were.
	if got := civiq.NoticeText(civiq.NoticeNext, "en", []civiq.NoticeParam{number}); got != "C007 is next. Please wait in the hall." {
		t.Errorf("next: %q", got)
	}
}
