package civiq_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

var (
	mgrA = &civiq.User{ID: 1, Username: "mgr-a", Role: civiq.RoleManager, HallIDs: []string{"h1"}}
	mgrB = &civiq.User{ID: 2, Username: "mgr-b", Role: civiq.RoleManager, HallIDs: []string{"h1"}}
)

// goodMove is a move to `to` with everything that move needs, asked by
// mgrB (mgrA asked for any rejection).
func goodMove(to string) civiq.FollowUpMove {
	m := civiq.FollowUpMove{ID: 7, To: to, Note: "核实情况：已电话联系", By: mgrB}
	switch to {
	case civiq.FollowUpRejectionRequested:
		m.Reason = "恶意差评：当日未到大厅"
	case civiq.FollowUpRevisited:
		m.CitizenView = civiq.ViewSatisfied
	}
	return m
}

// TestFollowUpMachine tries every move from every status: the allowed ones
// change the status and record who, when and the note; every other is
// invalid_transition and changes nothing.
func TestFollowUpMachine(t *testing.T) {
	allowed := map[string][]string{ // from -> the statuses it may move to
		civiq.FollowUpOpen:               {civiq.FollowUpVerifying, civiq.FollowUpRejectionRequested},
		civiq.FollowUpVerifying:          {civiq.FollowUpRectifying, civiq.FollowUpRejectionRequested},
		civiq.FollowUpRectifying:         {civiq.FollowUpRectified},
		civiq.FollowUpRectified:          {civiq.FollowUpRevisited},
		civiq.FollowUpRevisited:          {},
		civiq.FollowUpRejectionRequested: {civiq.FollowUpRejected, civiq.FollowUpVerifying},
		civiq.FollowUpRejected:           {},
	}
	if len(allowed) != len(civiq.FollowUpStatuses) {
		t.Fatalf("the table has %d statuses, the machine %d", len(allowed), len(civiq.FollowUpStatuses))
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, from := range civiq.FollowUpStatuses {
		for _, to := range civiq.FollowUpStatuses {
			ok := false
			for _, a := range allowed[from] {
				ok = ok || a == to
			}
			f := &civiq.FollowUp{ID: 7, Status: from, Deadline: "2026-03-20", RequestedBy: "mgr-a", RejectionReason: "x"}
			before := *f
			entry, err := f.Apply(goodMove(to), at)
			if gotErr := civiq.NextFollowUp(from, to); (gotErr == nil) != ok {
				t.Errorf("NextFollowUp(%s, %s) = %v, want allowed %v", from, to, gotErr, ok)
			}
			if !ok {
				if civiq.ErrorCode(err) != civiq.EInvalidTransition {
					t.Errorf("%s -> %s: %v, want invalid_transition", from, to, err)
				}
				if !reflect.DeepEqual(*f, before) {
					t.Errorf("%s -> %s: a refused move changed the case: %+v", from, to, f)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s -> %s: %v", from, to, err)
				continue
			}
			if f.Status != to || f.UpdatedAt != at {
				t.Errorf("%s -> %s: status %s updated %v", from, to, f.Status, f.UpdatedAt)
			}
			if entry.From != from || entry.To != to || entry.Move != to || entry.By != "mgr-b" || entry.At != at || entry.Note != "核实情况：已电话联系" || entry.FollowUpID != 7 {
				t.Errorf("%s -> %s: entry %+v", from, to, entry)
			}
			closed := to == civiq.FollowUpRevisited || to == civiq.FollowUpRejected
			if civiq.FollowUpClosed(f.Status) != closed || (f.ClosedAt != nil) != closed {
				t.Errorf("%s -> %s: closed %v at %v", from, to, civiq.FollowUpClosed(f.Status), f.ClosedAt)
			}
		}
		// Unknown targets are bad input, not a transition.
		f := &civiq.FollowUp{Status: from}
		if _, err := f.Apply(goodMove("closed"), at); civiq.ErrorCode(err) != civiq.EInvalid {
			t.Errorf("%s -> closed: %v, want invalid", from, err)
		}
		if _, err := f.Apply(goodMove(civiq.FollowUpExtend), at); civiq.ErrorCode(err) != civiq.EInvalid {
			t.Errorf("%s -> extend: %v, want invalid", from, err)
		}
	}
}

// TestFollowUpMoveRules: what each move needs besides being allowed.
func TestFollowUpMoveRules(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		from        string
		m           civiq.FollowUpMove
		code, field string
	}{
		{"no note", civiq.FollowUpOpen, civiq.FollowUpMove{To: civiq.FollowUpVerifying, By: mgrA}, civiq.EInvalid, "note"},
		{"blank note", civiq.FollowUpOpen, civiq.FollowUpMove{To: civiq.FollowUpVerifying, Note: "  ", By: mgrA}, civiq.EInvalid, "note"},
		{"long note", civiq.FollowUpOpen, civiq.FollowUpMove{To: civiq.FollowUpVerifying, Note: strings.Repeat("字", 1001), By: mgrA}, civiq.EInvalid, "note"},
		{"nobody", civiq.FollowUpOpen, civiq.FollowUpMove{To: civiq.FollowUpVerifying, Note: "n"}, civiq.EForbidden, ""},
		{"rejection without reason", civiq.FollowUpVerifying, civiq.FollowUpMove{To: civiq.FollowUpRejectionRequested, Note: "n", By: mgrA}, civiq.EInvalid, "reason"},
		{"rejection approved by who asked", civiq.FollowUpRejectionRequested, civiq.FollowUpMove{To: civiq.FollowUpRejected, Note: "n", By: mgrA}, civiq.EForbidden, ""},
		{"revisit without the citizen's view", civiq.FollowUpRectified, civiq.FollowUpMove{To: civiq.FollowUpRevisited, Note: "n", By: mgrA}, civiq.EInvalid, "citizen_view"},
		{"revisit with a wrong view", civiq.FollowUpRectified, civiq.FollowUpMove{To: civiq.FollowUpRevisited, Note: "n", CitizenView: "happy", By: mgrA}, civiq.EInvalid, "citizen_view"},
		{"citizen's view before the revisit", civiq.FollowUpRectifying, civiq.FollowUpMove{To: civiq.FollowUpRectified, Note: "n", CitizenView: civiq.ViewSatisfied, By: mgrA}, civiq.EInvalid, "citizen_view"},
		{"public summary too early", civiq.FollowUpOpen, civiq.FollowUpMove{To: civiq.FollowUpVerifying, Note: "n", PublicSummary: "s", By: mgrA}, civiq.EInvalid, "public_summary"},
	}
	// The public summary is published on the results page: a mobile number
	// or a resident ID number, however written, never goes into it.
	for _, text := range []string{"已联系群众13812345678", "回访 138 1234 5678 满意", "电话+86 138-1234-5678", "手机：１３８１２３４５６７８",
		"身份证11010519491231002X", "证号 11010519491231002x。", "旧证号110105491231002", "2026-12-08 138 1234 5678 回访"} {
		tests = append(tests, struct {
			name        string
			from        string
			m           civiq.FollowUpMove
			code, field string
		}{"public summary " + text, civiq.FollowUpRectifying, civiq.FollowUpMove{To: civiq.FollowUpRectified, Note: "n", PublicSummary: text, By: mgrA}, civiq.EInvalid, "public_summary"})
	}
	for _, tt := range tests {
		f := &civiq.FollowUp{Status: tt.from, RequestedBy: "mgr-a"}
		before := *f
		_, err := f.Apply(tt.m, at)
		if civiq.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
			continue
		}
		if e, ok := err.(*civiq.Error); ok && tt.field != "" && e.Field != tt.field {
			t.Errorf("%s: field %q, want %q", tt.name, e.Field, tt.field)
		}
		if !reflect.DeepEqual(*f, before) {
			t.Errorf("%s: the case changed: %+v", tt.name, f)
		}
	}

	// The rejection path: A asks with a reason, B approves; the reason and
	// who asked stay on the case.
	f := &civiq.FollowUp{Status: civiq.FollowUpOpen}
	e1, err := f.Apply(civiq.FollowUpMove{To: civiq.FollowUpRejectionRequested, Note: "申请认定无效", Reason: "重复评价", By: mgrA}, at)
	if err != nil || f.RequestedBy != "mgr-a" || f.RejectionReason != "重复评价" || e1.Reason != "重复评价" {
		t.Fatalf("request: %+v %+v %v", f, e1, err)
	}
	e2, err := f.Apply(civiq.FollowUpMove{To: civiq.FollowUpRejected, Note: "同意", By: mgrB}, at)
	if err != nil || f.Status != civiq.FollowUpRejected || e2.Reason != "重复评价" || f.RequestedBy != "mgr-a" || f.ClosedAt == nil {
		t.Fatalf("approve: %+v %+v %v", f, e2, err)
	}
	// A refused request goes back to verifying and forgets the request.
	g := &civiq.FollowUp{Status: civiq.FollowUpRejectionRequested, RequestedBy: "mgr-a", RejectionReason: "r"}
	if _, err := g.Apply(civiq.FollowUpMove{To: civiq.FollowUpVerifying, Note: "理由不足", By: mgrB}, at); err != nil || g.RequestedBy != "" || g.RejectionReason != "" {
		t.Fatalf("refuse: %+v %v", g, err)
	}
	// Numbers that are not personal stay: a date, a time, a case number, the
	// hall's landline, a count.
	for _, text := range []string{"2026-12-08 起高峰时段增开窗口", "办件2026120800016120已办结", "咨询电话 0571-87654321", "增设2名引导员，等候缩短至15分钟", "热线12345"} {
		k := &civiq.FollowUp{Status: civiq.FollowUpRectifying}
		if _, err := k.Apply(civiq.FollowUpMove{To: civiq.FollowUpRectified, Note: "n", PublicSummary: text, By: mgrA}, at); err != nil || k.PublicSummary != text {
			t.Errorf("public summary %q: %v", text, err)
		}
	}
	// The revisit keeps the citizen's view and the public summary.
	h := &civiq.FollowUp{Status: civiq.FollowUpRectified}
	if _, err := h.Apply(civiq.FollowUpMove{To: civiq.FollowUpRevisited, Note: "回访", CitizenView: civiq.ViewBasicallySatisfied, PublicSummary: "已增设引导员", By: mgrA}, at); err != nil ||
		h.CitizenView != civiq.ViewBasicallySatisfied || h.PublicSummary != "已增设引导员" {
		t.Fatalf("revisit: %+v %v", h, err)
	}
}

// TestFollowUpExtend: one extension of the same length, counted in
// working days from the deadline, with a reason, before the deadline.
func TestFollowUpExtend(t *testing.T) {
	cal := civiq.BuiltinCalendar()
	at := time.Date(2026, 2, 10, 10, 0, 0, 0, time.UTC)
	today := date(t, "2026-02-10")
	newCase := func() *civiq.FollowUp {
		return &civiq.FollowUp{ID: 3, Status: civiq.FollowUpRectifying, WorkingDays: 5, Deadline: "2026-02-13", OriginalDeadline: "2026-02-13"}
	}
	f := newCase()
	e, err := f.Extend(mgrA, "需要协调不动产中心", at, today, cal)
	// Five working days after Fri 13 Feb 2026: Sat 14 (worked), 24, 25, 26, 27.
	if err != nil || f.Deadline != "2026-02-27" || !f.Extended || f.ExtensionReason != "需要协调不动产中心" || f.OriginalDeadline != "2026-02-13" {
		t.Fatalf("extend: %+v %v", f, err)
	}
	if e.Move != civiq.FollowUpExtend || e.From != f.Status || e.To != f.Status || e.By != "mgr-a" || e.Deadline != "2026-02-27" || e.Reason == "" {
		t.Errorf("entry %+v", e)
	}
	if _, err := f.Extend(mgrB, "again", at, today, cal); civiq.ErrorCode(err) != civiq.EConflict {
		t.Errorf("second extension: %v, want conflict", err)
	}
	for _, tt := range []struct {
		name   string
		change func(*civiq.FollowUp)
		by     *civiq.User
		reason string
		today  string
		code   string
	}{
		{"no reason", nil, mgrA, " ", "2026-02-10", civiq.EInvalid},
		{"nobody", nil, nil, "r", "2026-02-10", civiq.EForbidden},
		{"closed", func(f *civiq.FollowUp) { f.Status = civiq.FollowUpRevisited }, mgrA, "r", "2026-02-10", civiq.EInvalidTransition},
		{"rejected", func(f *civiq.FollowUp) { f.Status = civiq.FollowUpRejected }, mgrA, "r", "2026-02-10", civiq.EInvalidTransition},
		{"deadline passed", nil, mgrA, "r", "2026-02-14", civiq.EConflict},
	} {
		f := newCase()
		if tt.change != nil {
			tt.change(f)
		}
		before := *f
		if _, err := f.Extend(tt.by, tt.reason, at, date(t, tt.today), cal); civiq.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
		if !reflect.DeepEqual(*f, before) {
			t.Errorf("%s: the case changed", tt.name)
		}
	}
	// On the deadline day itself an extension is still in time.
	f = newCase()
	if _, err := f.Extend(mgrA, "r", at, date(t, "2026-02-13"), cal); err != nil {
		t.Errorf("on the deadline: %v", err)
	}
}
