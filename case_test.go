package civiq_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sqlstore"
)

// A valid ID number (GB 11643 check character 9) and a phone.
const (
	testID    = "110105199003071239"
	testPhone = "13812345678"
)

func applicant() civiq.Applicant {
	return civiq.Applicant{Name: "张三", Phone: testPhone, IDNumber: testID}
}

// served issues a ticket of the service and calls it at the counter.
func (e *env) served(service, counter string) *civiq.Ticket {
	e.tb.Helper()
	t := e.issue(service, "")
	for range 50 {
		c := e.call(counter)
		if c == nil {
			e.tb.Fatalf("counter %s never called %s", counter, t.Number)
		}
		if c.ID == t.ID {
			return c
		}
	}
	e.tb.Fatalf("counter %s never called %s", counter, t.Number)
	return nil
}

// staffCtx is a request of a staff member of the demo hall.
func staffCtx(ctx context.Context) (context.Context, civiq.Principal) {
	p := civiq.Principal{User: &civiq.User{ID: 7, Username: "li.wei", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}}
	return civiq.WithActor(ctx, p), p
}

func TestCaseStateMachine(t *testing.T) {
	all := append([]string{}, civiq.CaseStatuses...)
	allowed := map[[2]string]bool{
		{civiq.CaseCorrection, civiq.CaseAccepted}: true, {civiq.CaseCorrection, civiq.CaseNotAccepted}: true,
		{civiq.CaseAccepted, civiq.CaseReviewing}: true, {civiq.CaseAccepted, civiq.CaseFinished}: true, {civiq.CaseAccepted, civiq.CaseRefused}: true,
		{civiq.CaseReviewing, civiq.CaseFinished}: true, {civiq.CaseReviewing, civiq.CaseRefused}: true,
	}
	for _, from := range all {
		for _, to := range all {
			err := civiq.NextCase(from, to)
			switch {
			case to == civiq.CaseCorrection:
				wantErr(t, err, civiq.EInvalid, "to") // nobody moves a case back to 补正
			case allowed[[2]string{from, to}]:
				if err != nil {
					t.Errorf("%s -> %s: %v; want allowed", from, to, err)
				}
			default:
				wantErr(t, err, civiq.EInvalidTransition, "")
			}
		}
		if !civiq.CaseClosed(from) {
			continue
		}
		for _, to := range all {
			if civiq.NextCase(from, to) == nil {
				t.Errorf("closed %s moves to %s", from, to)
			}
		}
	}
	wantErr(t, civiq.NextCase(civiq.CaseAccepted, "done"), civiq.EInvalid, "to")
}

func TestApplicantValidate(t *testing.T) {
	tests := []struct {
		name  string
		a     civiq.Applicant
		field string
	}{
		{"good", applicant(), ""},
		{"phone only", civiq.Applicant{Name: "李四", Phone: "+86 139-0000-1111"}, ""},
		{"ID only, lower-case x", civiq.Applicant{Name: "王五", IDNumber: "11010519491231002x"}, ""},
		{"no name", civiq.Applicant{Phone: testPhone}, "applicant.name"},
		{"long name", civiq.Applicant{Name: strings.Repeat("名", 51), Phone: testPhone}, "applicant.name"},
		{"neither phone nor ID", civiq.Applicant{Name: "赵六"}, "applicant.id_number"},
		{"bad phone", civiq.Applicant{Name: "赵六", Phone: "12345"}, "applicant.phone"},
		{"bad check character", civiq.Applicant{Name: "赵六", IDNumber: "110105199003071230"}, "applicant.id_number"},
		{"credit code", civiq.Applicant{Name: "示范有限公司", IDType: civiq.IDCreditCode, IDNumber: "91330100MA2AAAAA1X"}, ""},
		{"bad credit code", civiq.Applicant{Name: "示范有限公司", IDType: civiq.IDCreditCode, IDNumber: "91330100"}, "applicant.id_number"},
		{"passport", civiq.Applicant{Name: "Smith", IDType: civiq.IDPassport, IDNumber: "e1234567"}, ""},
		{"unknown type", civiq.Applicant{Name: "Smith", IDType: "badge", IDNumber: "E1234567"}, "applicant.id_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			err := a.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			wantErr(t, err, civiq.EInvalid, tt.field)
		})
	}
	a := civiq.Applicant{Name: " 钱七 ", Phone: "+86 139-0000-1111", IDNumber: " 11010519491231002x "}
	if err := a.Validate(); err != nil || a.Name != "钱七" || a.Phone != "13900001111" || a.IDType != civiq.IDCard || a.IDNumber != "11010519491231002X" {
		t.Errorf("normalized = %+v, %v", a, err)
	}
	m := applicant().Masked()
	if m.Name != "张*" || m.Phone != "138****5678" || !strings.HasSuffix(m.IDNumber, "1239") || strings.Contains(m.IDNumber, "19900307") {
		t.Errorf("masked = %+v", m)
	}
}

// TestOpenCase opens cases on served tickets: complete materials are
// accepted with a promised date; a missing required one gives 补正 with
// the list; a refusal needs a reason.
func TestOpenCase(t *testing.T) {
	e := demoEnv(t)
	ctx, staff := staffCtx(e.ctx)
	tk := e.served("social", "1")
	g, err := e.eng.Guide(e.ctx, "demo-s-card") // 10 working days; m1 ID, m2 photo (optional), m3 form, m4 guardian (conditional)
	if err != nil {
		t.Fatal(err)
	}
	all := []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m3", Status: civiq.MaterialReceived}}
	c, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(), Materials: all})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d{16}$`).MatchString(c.Number) || !strings.HasPrefix(c.Number, strings.ReplaceAll(tk.Day, "-", "")+"0001") {
		t.Errorf("case number %q", c.Number)
	}
	opened := c.OpenedAt
	cal := civiq.BuiltinCalendar()
	wantDate := cal.DeadlineAfter(civiq.Date(opened, shanghai), 10).Format(time.DateOnly)
	if c.Status != civiq.CaseAccepted || c.PromisedDate != wantDate || c.PromisedDays != 10 || len(c.Missing) != 0 || c.AcceptedAt == nil ||
		c.OpenedBy != "user:li.wei" || c.TicketNumber != tk.Number || c.CounterID != "1" || c.GuideName != g.Name {
		t.Errorf("accepted case = %+v; want promised %s", c, wantDate)
	}
	wantMats := []string{"m1 received", "m2 not_applicable", "m3 received", "m4 not_applicable"}
	var gotMats []string
	for _, m := range c.Materials {
		gotMats = append(gotMats, m.ID+" "+m.Status)
	}
	if !slices.Equal(gotMats, wantMats) {
		t.Errorf("materials %q; want %q", gotMats, wantMats)
	}
	if len(c.History) != 1 || c.History[0].To != civiq.CaseAccepted || c.History[0].By != "user:li.wei" {
		t.Errorf("history %+v", c.History)
	}

	// The form is missing, and the guardian's ID said to be missing: 补正.
	c2, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(),
		Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m4", Status: civiq.MaterialMissing}}})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Status != civiq.CaseCorrection || c2.PromisedDate != "" || !slices.Equal(c2.Missing, []string{"社会保障卡申领登记表", "监护人身份证明"}) {
		t.Errorf("correction case = %+v", c2)
	}
	if c2.Number == c.Number || !strings.Contains(c2.Number[8:12], "0002") {
		t.Errorf("second case number %q after %q", c2.Number, c.Number)
	}
	// The citizen comes back with them: accepted, promised from then.
	e.advance(48 * time.Hour)
	_, err = e.eng.MoveCase(ctx, c2.Number, civiq.CaseMove{To: civiq.CaseAccepted, By: staff,
		Materials: []civiq.CaseMaterialInput{{ID: "m3"}}})
	wantErr(t, err, civiq.EConflict, "materials") // the guardian's ID is still missing
	// Brought by a family member (帮办代办 on the move); a helper has no
	// part in a move the applicant takes no part in.
	_, err = e.eng.MoveCase(ctx, c2.Number, civiq.CaseMove{To: civiq.CaseNotAccepted, Reason: "x", By: staff, OnBehalf: &civiq.OnBehalf{Role: civiq.BehalfFamily}})
	wantErr(t, err, civiq.EInvalid, "on_behalf")
	c2, err = e.eng.MoveCase(ctx, c2.Number, civiq.CaseMove{To: civiq.CaseAccepted, By: staff,
		Materials: []civiq.CaseMaterialInput{{ID: "m3"}, {ID: "m4"}}, OnBehalf: &civiq.OnBehalf{Role: civiq.BehalfFamily}})
	if err != nil {
		t.Fatal(err)
	}
	if h := c2.History; len(h) != 2 || h[0].OnBehalf != nil || civiq.BehalfRoleOf(h[1].OnBehalf) != civiq.BehalfFamily {
		t.Errorf("the 补正 move does not keep its helper: %+v", h)
	}
	want2 := cal.DeadlineAfter(civiq.Date(*c2.AcceptedAt, shanghai), 10).Format(time.DateOnly)
	if c2.Status != civiq.CaseAccepted || c2.PromisedDate != want2 || len(c2.Missing) != 0 || c2.Materials[0].Status != civiq.MaterialReceived {
		t.Errorf("accepted after 补正 = %+v; want promised %s", c2, want2)
	}
	if len(c2.History) != 2 || c2.History[1].From != civiq.CaseCorrection {
		t.Errorf("history %+v", c2.History)
	}

	// Refused at the counter: closed, with the reason.
	_, err = e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(), Decision: "refuse"})
	wantErr(t, err, civiq.EInvalid, "reason")
	c3, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(), Decision: "refuse", Reason: "已持有本市社会保障卡"})
	if err != nil || c3.Status != civiq.CaseNotAccepted || c3.Reason != "已持有本市社会保障卡" || c3.ClosedAt == nil {
		t.Errorf("refused case = %+v, %v", c3, err)
	}

	bad := []struct {
		name  string
		req   civiq.OpenCaseRequest
		code  string
		field string
	}{
		{"no guide", civiq.OpenCaseRequest{TicketID: tk.ID, Applicant: applicant()}, civiq.EInvalid, "guide_id"},
		{"unknown guide", civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "nope", Applicant: applicant()}, civiq.ENotFound, "guide_id"},
		{"unknown ticket", civiq.OpenCaseRequest{TicketID: "nope", GuideID: g.ID, Applicant: applicant()}, civiq.ENotFound, ""},
		{"bad applicant", civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID}, civiq.EInvalid, "applicant.name"},
		{"unknown material", civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(),
			Materials: []civiq.CaseMaterialInput{{ID: "m9"}}}, civiq.EInvalid, "materials[0].id"},
		{"material twice", civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(),
			Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m1"}}}, civiq.EInvalid, "materials[1].id"},
		{"required not applicable", civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(),
			Materials: []civiq.CaseMaterialInput{{ID: "m1", Status: civiq.MaterialNotApplicable}}}, civiq.EInvalid, "materials[0].status"},
		{"bad status", civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(),
			Materials: []civiq.CaseMaterialInput{{ID: "m1", Status: "maybe"}}}, civiq.EInvalid, "materials[0].status"},
		{"bad decision", civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(), Decision: "later"}, civiq.EInvalid, "decision"},
		{"long note", civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(), Note: strings.Repeat("字", 501)}, civiq.EInvalid, "note"},
	}
	for _, b := range bad {
		_, err := e.eng.OpenCase(ctx, b.req)
		t.Run(b.name, func(t *testing.T) { wantErr(t, err, b.code, b.field) })
	}
	// A waiting ticket is not being served.
	waiting := e.issue("social", "")
	_, err = e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: waiting.ID, GuideID: g.ID, Applicant: applicant()})
	wantErr(t, err, civiq.EInvalidTransition, "")
	// A finished ticket still takes a case.
	e.act(tk.ID, civiq.ActStart, "")
	e.act(tk.ID, civiq.ActFinish, "")
	if _, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(), Materials: all}); err != nil {
		t.Errorf("case on a done ticket: %v", err)
	}
	// The cases of the ticket, newest first, masked.
	cs, err := e.eng.Cases(e.ctx, civiq.CaseQuery{HallID: "demo", TicketID: tk.ID}, false)
	if err != nil || len(cs) != 4 {
		t.Fatalf("cases of the ticket = %d, %v", len(cs), err)
	}
	for _, x := range cs {
		if x.Applicant.Name != "张*" || x.Applicant.Phone != "138****5678" || strings.Contains(x.Applicant.IDNumber, "19900307") {
			t.Errorf("a listed applicant is not masked: %+v", x.Applicant)
		}
	}
	if cs[len(cs)-1].Number != c.Number {
		t.Errorf("oldest listed %s; want %s", cs[len(cs)-1].Number, c.Number)
	}
	// The events of the hall carry no case and no personal data.
	for _, ev := range e.take() {
		for _, s := range []string{"张三", testPhone, testID} {
			if strings.Contains(string(ev.JSON(true)), s) {
				t.Errorf("event %s carries %s", ev.Type, s)
			}
		}
	}
}

// TestCaseDeadlinesAcrossHolidays accepts cases just before the Spring
// Festival and National Day of 2026: the promised dates skip the days off
// and count the weekend days worked.
func TestCaseDeadlinesAcrossHolidays(t *testing.T) {
	e := demoEnv(t)
	ctx, _ := staffCtx(e.ctx)
	tests := []struct {
		at      string // the hall's local time of acceptance
		guide   string
		promise string
	}{
		// 5 working days: Sat 14 Feb is worked, 15-23 off, then 24-27.
		{"2026-02-13T15:00:00+08:00", "demo-p-first", "2026-02-27"},
		// 1 working day after Friday 13 Feb: Saturday the 14th, worked.
		{"2026-02-13T09:00:00+08:00", "demo-p-mortgage", "2026-02-14"},
		// 10 working days from 30 Sep: 1-7 Oct off, Sat 10 Oct worked.
		{"2026-09-30T10:00:00+08:00", "demo-s-card", "2026-10-20"},
		// 即办: the same day.
		{"2026-09-30T10:00:00+08:00", "demo-p-query", "2026-09-30"},
		// Late in the evening UTC is the next day in Shanghai.
		{"2026-02-12T17:00:00Z", "demo-p-mortgage", "2026-02-14"},
	}
	for _, tt := range tests {
		t.Run(tt.at+" "+tt.guide, func(t *testing.T) {
			at, _ := time.Parse(time.RFC3339, tt.at)
			e.set(at)
			tk := e.served("property", "3")
			g, err := e.eng.Guide(e.ctx, tt.guide)
			if err != nil {
				t.Fatal(err)
			}
			var in []civiq.CaseMaterialInput
			for _, m := range g.Materials {
				if m.Necessity == civiq.NeedRequired {
					in = append(in, civiq.CaseMaterialInput{ID: m.ID})
				}
			}
			c, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: tt.guide, Applicant: applicant(), Materials: in})
			if err != nil {
				t.Fatal(err)
			}
			if c.PromisedDate != tt.promise {
				t.Errorf("promised %s; want %s", c.PromisedDate, tt.promise)
			}
		})
	}
	// A hall's own day off moves the promise on, to Saturday 28 Feb,
	// a worked day.
	if err := e.eng.SetHallCalendarDay(e.ctx, "demo", civiq.CalendarDay{Date: "2026-02-24", Kind: civiq.DayOff, Name: "本地假日"}); err != nil {
		t.Fatal(err)
	}
	e.set(time.Date(2026, 2, 13, 15, 0, 0, 0, shanghai))
	tk := e.served("property", "3")
	g, _ := e.eng.Guide(e.ctx, "demo-p-first")
	var in []civiq.CaseMaterialInput
	for _, m := range g.Materials {
		if m.Necessity == civiq.NeedRequired {
			in = append(in, civiq.CaseMaterialInput{ID: m.ID})
		}
	}
	c, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: g.ID, Applicant: applicant(), Materials: in})
	if err != nil || c.PromisedDate != "2026-02-28" {
		t.Errorf("with a local day off: %+v, %v; want 2026-02-28", c, err)
	}
}

// TestCaseProgress follows a case as staff move it and as the citizen
// sees it; overdue cases are marked and listed.
func TestCaseProgress(t *testing.T) {
	e := demoEnv(t)
	ctx, staff := staffCtx(e.ctx)
	e.set(time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)) // a Monday
	tk := e.served("property", "3")
	c, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-p-mortgage", Applicant: applicant(),
		Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m2"}, {ID: "m3"}, {ID: "m4"}, {ID: "m5"}, {ID: "m6"}}})
	if err != nil || c.Status != civiq.CaseAccepted || c.PromisedDate != "2026-03-03" {
		t.Fatalf("open = %+v, %v", c, err)
	}
	p, err := e.eng.CaseProgressFor(e.ctx, c.Number, "1239")
	if err != nil {
		t.Fatal(err)
	}
	if p.ApplicantName != "张*" || p.Status != civiq.CaseAccepted || p.PromisedDate != "2026-03-03" || p.HallName != "示范政务服务大厅" ||
		len(p.Steps) != 1 || p.Overdue || p.OpenedAt.Location().String() != "Asia/Shanghai" {
		t.Errorf("progress = %+v", p)
	}
	if p2, err := e.eng.CaseProgressFor(e.ctx, c.Number, "5678"); err != nil || p2.Number != c.Number {
		t.Errorf("by the phone's last 4: %v", err)
	}

	// Staff move it on; the wrong moves are refused.
	other := civiq.Principal{User: &civiq.User{Username: "other", Role: civiq.RoleStaff, HallIDs: []string{"other"}}}
	_, err = e.eng.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseReviewing, By: other})
	wantErr(t, err, civiq.EForbidden, "")
	_, err = e.eng.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseRefused, By: staff})
	wantErr(t, err, civiq.EInvalid, "reason")
	_, err = e.eng.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseNotAccepted, Reason: "x", By: staff})
	wantErr(t, err, civiq.EInvalidTransition, "")
	_, err = e.eng.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseReviewing, By: staff, Materials: []civiq.CaseMaterialInput{{ID: "m1"}}})
	wantErr(t, err, civiq.EInvalid, "materials")
	_, err = e.eng.MoveCase(ctx, "2026030200019999", civiq.CaseMove{To: civiq.CaseReviewing, By: staff})
	wantErr(t, err, civiq.ENotFound, "")
	c, err = e.eng.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseReviewing, Note: "材料已流转审核岗", By: staff})
	if err != nil || c.Status != civiq.CaseReviewing || len(c.History) != 2 {
		t.Fatalf("to reviewing = %+v, %v", c, err)
	}

	// Two days on, the promise has passed: overdue, listed for managers.
	e.set(time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai))
	od, err := e.eng.Cases(e.ctx, civiq.CaseQuery{HallID: "demo"}, true)
	if err != nil || len(od) != 1 || od[0].Number != c.Number || !od[0].Overdue {
		t.Fatalf("overdue = %+v, %v", od, err)
	}
	if p, _ := e.eng.CaseProgressFor(e.ctx, c.Number, "1239"); p == nil || !p.Overdue {
		t.Errorf("the citizen's view is not overdue: %+v", p)
	}
	c, err = e.eng.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseFinished, By: staff})
	if err != nil || c.Status != civiq.CaseFinished || c.ClosedAt == nil || c.Overdue {
		t.Fatalf("finish = %+v, %v", c, err)
	}
	if od, _ := e.eng.Cases(e.ctx, civiq.CaseQuery{HallID: "demo"}, true); len(od) != 0 {
		t.Errorf("a finished case is still overdue: %+v", od)
	}
	_, err = e.eng.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseReviewing, By: staff})
	wantErr(t, err, civiq.EInvalidTransition, "")
	p, err = e.eng.CaseProgressFor(e.ctx, c.Number, "1239")
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, s := range p.Steps {
		steps = append(steps, s.Status)
	}
	if !slices.Equal(steps, []string{civiq.CaseAccepted, civiq.CaseReviewing, civiq.CaseFinished}) || p.ClosedAt == nil {
		t.Errorf("steps %q", steps)
	}
	// The staff view has the whole applicant and the notes; others may not
	// read it.
	full, err := e.eng.Case(e.ctx, c.Number, staff)
	if err != nil || full.Applicant.IDNumber != testID || full.History[1].Note != "材料已流转审核岗" {
		t.Errorf("staff view = %+v, %v", full, err)
	}
	_, err = e.eng.Case(e.ctx, c.Number, other)
	wantErr(t, err, civiq.EForbidden, "")
}

// TestCaseProgressGuessing: a wrong number and wrong digits look the
// same, and five wrong tries block the number for a while.
func TestCaseProgressGuessing(t *testing.T) {
	e := demoEnv(t)
	ctx, _ := staffCtx(e.ctx)
	tk := e.served("general", "1")
	c, err := e.eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-h-permit", Applicant: civiq.Applicant{Name: "李四", IDNumber: testID},
		Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m3"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.CaseProgressFor(e.ctx, "2000010100010000", "1239")
	wantErr(t, err, civiq.ENotFound, "")
	_, errWrong := e.eng.CaseProgressFor(e.ctx, c.Number, "1234")
	wantErr(t, errWrong, civiq.ENotFound, "")
	if civiq.ErrorMessage(err) != civiq.ErrorMessage(errWrong) {
		t.Errorf("an unknown number says %q, wrong digits %q: they must not differ", civiq.ErrorMessage(err), civiq.ErrorMessage(errWrong))
	}
	_, err = e.eng.CaseProgressFor(e.ctx, c.Number, "12")
	wantErr(t, err, civiq.EInvalid, "id_last4")
	_, err = e.eng.CaseProgressFor(e.ctx, "abc", "1239")
	wantErr(t, err, civiq.EInvalid, "number")
	if _, err := e.eng.CaseProgressFor(e.ctx, c.Number, "1239"); err != nil {
		t.Fatalf("right digits: %v", err)
	}
	for range 4 {
		e.eng.CaseProgressFor(e.ctx, c.Number, "9999")
	}
	_, err = e.eng.CaseProgressFor(e.ctx, c.Number, "1239")
	wantErr(t, err, civiq.ERateLimited, "")
	e.advance(16 * time.Minute)
	if _, err := e.eng.CaseProgressFor(e.ctx, c.Number, "1239"); err != nil {
		t.Errorf("after the wait: %v", err)
	}
}

// TestCaseSealed: with a secret key, the applicant is encrypted in the
// database file, and read back whole.
func TestCaseSealed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "civiq.db")
	store, err := sqlstore.Open(path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eng := civiq.NewEngine(store)
	eng.Sealer, err = civiq.NewSealer([]byte(strings.Repeat("k", civiq.SecretKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, staff := staffCtx(context.Background())
	if _, err := eng.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.LoadDemoGuides(ctx); err != nil {
		t.Fatal(err)
	}
	tk, err := eng.IssueTicket(ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CallNext(ctx, "demo", "1", nil); err != nil {
		t.Fatal(err)
	}
	c, err := eng.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-h-permit", Applicant: applicant(),
		Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m3"}}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var data string
	if err := db.QueryRow(`SELECT data FROM cases WHERE number = ?`, c.Number).Scan(&data); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"张三", testPhone, testID} {
		if strings.Contains(data, s) {
			t.Errorf("the database holds %s in clear: %s", s, data)
		}
	}
	full, err := eng.Case(ctx, c.Number, staff)
	if err != nil || full.Applicant != (civiq.Applicant{Name: "张三", Phone: testPhone, IDType: civiq.IDCard, IDNumber: testID}) {
		t.Errorf("read back = %+v, %v", full, err)
	}
	if p, err := eng.CaseProgressFor(ctx, c.Number, "5678"); err != nil || p.ApplicantName != "张*" {
		t.Errorf("progress = %+v, %v", p, err)
	}
}

// TestCaseProgressMissingIn: the missing materials in a page's language,
// English on English pages; Chinese on Chinese pages, and where the two
// lists do not match.
func TestCaseProgressMissingIn(t *testing.T) {
	p := &civiq.CaseProgress{Missing: []string{"申请表", "户口簿"}, MissingEn: []string{"Application form", "户口簿"}}
	for _, c := range []struct {
		lang string
		p    *civiq.CaseProgress
		want []string
	}{
		{"zh-CN", p, []string{"申请表", "户口簿"}},
		{"en", p, []string{"Application form", "户口簿"}},
		{"en", &civiq.CaseProgress{Missing: []string{"申请表"}}, []string{"申请表"}},
	} {
		if got := c.p.MissingIn(c.lang); !slices.Equal(got, c.want) {
			t.Errorf("%s %+v: %q, want %q", c.lang, c.p, got, c.want)
		}
	}
}
