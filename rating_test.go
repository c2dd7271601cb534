package civiq_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// storedPhone is a rating's contact phone as the store holds it.
func (e *env) storedPhone(ticketID string) string {
	e.tb.Helper()
	var phone string
	err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		r, err := tx.RatingByTicket(ticketID)
		if err == nil {
			phone = r.ContactPhone
		}
		return err
	})
	if err != nil {
		e.tb.Fatalf("read the rating of %s: %v", ticketID, err)
	}
	return phone
}

// badRating serves a ticket at counter 1 and rates it 1 with testPhone.
func (e *env) badRating() *civiq.Rating {
	e.tb.Helper()
	tk := e.served("general", "1")
	e.act(tk.ID, civiq.ActStart, "")
	e.act(tk.ID, civiq.ActFinish, "")
	r, err := e.eng.Rate(e.ctx, civiq.RateRequest{TicketID: tk.ID, Score: 1, Comment: "不耐烦", ContactPhone: testPhone})
	if err != nil {
		e.tb.Fatalf("rate: %v", err)
	}
	return r
}

// TestRatingPhoneSealed: with a secret key a bad rating's contact phone is
// sealed at rest like a case's applicant; phones kept in clear before are
// sealed by SealRatingPhones; the follow-up shows it in clear, the lists
// masked.
func TestRatingPhoneSealed(t *testing.T) {
	e := newEnv(t)
	old := e.badRating() // given while the server had no key: in clear
	if got := e.storedPhone(old.TicketID); got != testPhone {
		t.Fatalf("without a key the phone is kept as %q", got)
	}
	e.eng.Sealer = testSealer(t)
	r := e.badRating()
	if r.ContactPhone != testPhone {
		t.Errorf("Rate answered the phone %q, want it as given", r.ContactPhone)
	}
	if got := e.storedPhone(r.TicketID); got == "" || strings.Contains(got, testPhone) || strings.Contains(got, "5678") {
		t.Errorf("the store keeps the new rating's phone as %q: not sealed", got)
	}
	if n, err := e.eng.SealRatingPhones(e.ctx); err != nil || n != 1 {
		t.Errorf("SealRatingPhones = %d, %v; want the 1 in clear", n, err)
	}
	if got := e.storedPhone(old.TicketID); strings.Contains(got, testPhone) {
		t.Errorf("after SealRatingPhones the old phone is kept as %q", got)
	}
	if n, err := e.eng.SealRatingPhones(e.ctx); err != nil || n != 0 {
		t.Errorf("SealRatingPhones again = %d, %v; want 0", n, err)
	}

	manager := civiq.Principal{User: &civiq.User{ID: 1, Username: "boss", Role: civiq.RoleManager, HallIDs: []string{"demo"}}}
	list, err := e.eng.FollowUps(e.ctx, "demo", civiq.FollowUpFilter{})
	if err != nil || len(list) != 2 {
		t.Fatalf("follow-ups = %d, %v", len(list), err)
	}
	for _, f := range list {
		if f.ContactPhone != "138****5678" {
			t.Errorf("the follow-up list shows the phone as %q", f.ContactPhone)
		}
		v, err := e.eng.FollowUpCase(e.ctx, manager, f.ID)
		if err != nil || v.ContactPhone != "138****5678" || v.Rating.ContactPhone != "138****5678" {
			t.Errorf("follow-up case %d = %+v, %v; want the phone masked", f.ID, v, err)
		}
		if p, err := e.eng.RevealFollowUpPhone(e.ctx, manager, f.ID); err != nil || p != testPhone {
			t.Errorf("RevealFollowUpPhone(%d) = %q, %v; want the phone in clear", f.ID, p, err)
		}
	}
	rows, err := e.eng.HallRatings(e.ctx, "demo", "", "")
	if err != nil || len(rows) != 2 {
		t.Fatalf("ratings = %d, %v", len(rows), err)
	}
	for _, row := range rows {
		if row.ContactPhone != "138****5678" {
			t.Errorf("the ratings list shows the phone as %q", row.ContactPhone)
		}
	}

	e.eng.Sealer = nil
	if _, err := e.eng.FollowUpCase(e.ctx, manager, list[0].ID); civiq.ErrorCode(err) != civiq.EUnavailable {
		t.Errorf("without the key a sealed phone reads as %v; want unavailable", err)
	}
}

// TestSplitReasons: a rating's stored reasons read back as codes and the
// citizen's own words; texts an earlier rater sent are read as their code.
func TestSplitReasons(t *testing.T) {
	for _, c := range []struct {
		stored, codes, texts []string
	}{
		{nil, []string{}, []string{}},
		{[]string{"long_wait", "窗口人员接电话"}, []string{"long_wait"}, []string{"窗口人员接电话"}},
		{[]string{"态度不好", "等候时间长", "一次告知不清", "业务不熟练", "其他"}, []string{"long_wait", "not_told_once", "unskilled", "poor_attitude", "other"}, []string{}},
		{[]string{"Other", "slow"}, []string{"other"}, []string{"slow"}},
	} {
		codes, texts := civiq.SplitReasons(c.stored)
		if !slices.Equal(codes, c.codes) || !slices.Equal(texts, c.texts) {
			t.Errorf("SplitReasons(%q) = %q, %q; want %q, %q", c.stored, codes, texts, c.codes, c.texts)
		}
	}
	for _, code := range civiq.ReasonCodes() {
		if !civiq.ValidReasonCode(code) {
			t.Errorf("%s is not valid", code)
		}
	}
	var s civiq.RatingSettings
	for i, r := range s.Reasons() {
		if r.Code != civiq.ReasonCodes()[i] || r.Name == "" || r.NameEn == "" || r.Group == "" {
			t.Errorf("reason %d: %+v", i, r)
		}
	}
}

// The dashboard's count of open and overdue cases is the store's, and
// agrees with the list's.
func TestFollowUpCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if c, err := e.eng.FollowUpCounts(e.ctx, "demo"); err != nil || c != (civiq.FollowUpCount{}) {
		t.Fatalf("no case: %+v, %v", c, err)
	}
	e.badRating()
	e.advance(40 * 24 * time.Hour) // past its deadline
	e.badRating()
	c, err := e.eng.FollowUpCounts(e.ctx, "demo")
	if err != nil || c != (civiq.FollowUpCount{Open: 2, Overdue: 1}) {
		t.Errorf("counts = %+v, %v; want 2 open, 1 overdue", c, err)
	}
	active, err := e.eng.FollowUps(e.ctx, "demo", civiq.FollowUpFilter{Statuses: []string{"active"}})
	if err != nil {
		t.Fatal(err)
	}
	over, err := e.eng.FollowUps(e.ctx, "demo", civiq.FollowUpFilter{Statuses: []string{"overdue"}})
	if err != nil || len(active) != c.Open || len(over) != c.Overdue {
		t.Errorf("the list has %d active, %d overdue (%v); the counts %+v", len(active), len(over), err, c)
	}
	if _, err := e.eng.FollowUpCounts(e.ctx, "nope"); civiq.ErrorCode(err) != civiq.ENotFound {
		t.Errorf("unknown hall: %v", err)
	}
}

// servedBy is who the store records as serving a ticket (0 for nobody).
func (e *env) servedBy(ticketID string) int64 {
	e.tb.Helper()
	var id int64
	err := e.store.View(e.ctx, func(tx civiq.Tx) error {
		var err error
		id, err = tx.ServedBy(ticketID)
		return err
	})
	if err != nil {
		e.tb.Fatalf("who served %s: %v", ticketID, err)
	}
	return id
}

// TestServedByWithTheMove: the user who calls, recalls, starts or
// finishes a ticket is recorded as serving it, with the ticket's own
// change; a move without a signed-in user, or one that is not serving
// (a transfer), keeps who was recorded.
func TestServedByWithTheMove(t *testing.T) {
	e := newEnv(t)
	li := e.staffAt("li.wei", "1")
	wang := &civiq.User{Username: "wang.fang", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}
	if err := e.eng.CreateUser(e.ctx, wang, "password-wang.fang"); err != nil {
		t.Fatal(err)
	}
	tk := e.issue("general", "")
	if got := e.servedBy(tk.ID); got != 0 {
		t.Fatalf("a waiting ticket is served by %d", got)
	}
	asLi := civiq.WithActor(e.ctx, civiq.Principal{User: li})
	asWang := civiq.WithActor(e.ctx, civiq.Principal{User: wang})
	asDevice := civiq.WithActor(e.ctx, civiq.Principal{Device: &civiq.Device{ID: 9, Kind: civiq.DeviceCounter, HallID: "demo", CounterID: "1"}})
	c, err := e.eng.CallNext(asLi, "demo", "1", nil)
	if err != nil || c == nil || c.ID != tk.ID {
		t.Fatalf("call: %v, %v", c, err)
	}
	if got := e.servedBy(tk.ID); got != li.ID {
		t.Fatalf("called by li.wei (%d): served by %d", li.ID, got)
	}
	steps := []struct {
		ctx    context.Context
		action string
		want   int64
	}{
		{asDevice, civiq.ActRecall, li.ID},
		{asWang, civiq.ActStart, wang.ID},
		{asLi, civiq.ActTransfer, wang.ID},
	}
	for _, s := range steps {
		req := civiq.ActRequest{TicketID: tk.ID, Action: s.action}
		if s.action == civiq.ActTransfer {
			req.ServiceID = "tax"
		}
		got, err := e.eng.Act(s.ctx, req, nil)
		if err != nil {
			t.Fatalf("%s: %v", s.action, err)
		}
		if by := e.servedBy(tk.ID); by != s.want {
			t.Errorf("after %s: served by %d, want %d", s.action, by, s.want)
		}
		if stored := e.ticket(tk.ID); stored.Status != got.Status || stored.CallCount != got.CallCount {
			t.Errorf("after %s: stored %s/%d, answered %s/%d", s.action, stored.Status, stored.CallCount, got.Status, got.CallCount)
		}
	}
}
