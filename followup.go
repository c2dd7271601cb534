package civiq

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Follow-up (差评整改): every bad rating opens a case that the hall checks
// (核实), puts right (整改) and answers to the citizen (回访) within a deadline
// of working days. A bad rating shown to be without basis is rejected
// instead: one manager asks, a second one approves, and the case stays for
// audit.

// Follow-up statuses.
const (
	FollowUpOpen               = "open"                // opened by the bad rating
	FollowUpVerifying          = "verifying"           // 核实: the facts are being checked
	FollowUpRectifying         = "rectifying"          // 整改: being put right
	FollowUpRectified          = "rectified"           // put right, the citizen not called back yet
	FollowUpRevisited          = "revisited"           // 回访: the citizen called back; closed
	FollowUpRejectionRequested = "rejection_requested" // asked to be found invalid; waits for a second person
	FollowUpRejected           = "rejected"            // an invalid bad rating; closed, kept for audit
)

// FollowUpStatuses lists every status in the order of a case.
var FollowUpStatuses = []string{FollowUpOpen, FollowUpVerifying, FollowUpRectifying, FollowUpRectified, FollowUpRevisited, FollowUpRejectionRequested, FollowUpRejected}

// FollowUpExtend is the move that grants the one extension; it is not a
// status and goes through Extend, not Move.
const FollowUpExtend = "extend"

// followUpMoves is the state machine: for each status a case can move to,
// the statuses it can come from. Anything not listed is invalid_transition.
var followUpMoves = map[string][]string{
	FollowUpVerifying:          {FollowUpOpen, FollowUpRejectionRequested}, // from a request: the second person refuses
	FollowUpRectifying:         {FollowUpVerifying},
	FollowUpRectified:          {FollowUpRectifying},
	FollowUpRevisited:          {FollowUpRectified},
	FollowUpRejectionRequested: {FollowUpOpen, FollowUpVerifying},
	FollowUpRejected:           {FollowUpRejectionRequested},
}

// FollowUpNextMoves gives, for each status, the statuses a case may move
// to next (the state machine turned round, for pages to offer only those).
func FollowUpNextMoves() map[string][]string {
	out := map[string][]string{}
	for _, to := range FollowUpStatuses {
		for _, from := range followUpMoves[to] {
			out[from] = append(out[from], to)
		}
	}
	return out
}

// ValidFollowUpStatus reports whether s is a follow-up status.
func ValidFollowUpStatus(s string) bool { return contains(FollowUpStatuses, s) }

// FollowUpClosed reports whether a status ends the case.
func FollowUpClosed(status string) bool {
	return status == FollowUpRevisited || status == FollowUpRejected
}

// NextFollowUp checks that a case in status from may move to to.
func NextFollowUp(from, to string) error {
	if !ValidFollowUpStatus(to) {
		return FieldErrorf("to", "to must be one of %s", strings.Join(FollowUpStatuses[1:], ", "))
	}
	if contains(followUpMoves[to], from) {
		return nil
	}
	return Errorf(EInvalidTransition, "a follow-up that is %s cannot move to %s", from, to)
}

// The citizen's view of the fix, asked at the revisit.
const (
	ViewSatisfied          = "satisfied"
	ViewBasicallySatisfied = "basically_satisfied"
	ViewNotSatisfied       = "not_satisfied"
)

// ValidCitizenView reports whether v is a citizen's view of the fix.
func ValidCitizenView(v string) bool {
	return v == ViewSatisfied || v == ViewBasicallySatisfied || v == ViewNotSatisfied
}

// Limits of a follow-up's text.
const (
	maxNote    = 1000
	maxSummary = 500
)

// FollowUp is the case a bad rating opens.
type FollowUp struct {
	ID           int64  `json:"id"`
	HallID       string `json:"hall_id"`
	RatingID     int64  `json:"rating_id"`
	TicketID     string `json:"ticket_id"`
	TicketNumber string `json:"ticket_number"`
	ServiceID    string `json:"service_id"`
	CounterID    string `json:"counter_id"`
	StaffID      int64  `json:"-"`
	Score        int    `json:"score"`
	Status       string `json:"status"`
	// Reasons (codes of the reason list), ReasonText (reasons in the
	// citizen's own words) and Comment are the rating's.
	Reasons    []string `json:"reasons"`
	ReasonText []string `json:"reason_text,omitempty"`
	Comment    string   `json:"comment,omitempty"`
	// CaseNumber is the 办件 case opened on the ticket, if any.
	CaseNumber string `json:"case_number,omitempty"`
	// ContactPhone is the citizen's number, masked in every view: a
	// manager asks for it in clear (RevealFollowUpPhone), and that is
	// audited.
	ContactPhone string    `json:"contact_phone,omitempty"`
	OpenedAt     time.Time `json:"opened_at"`
	// WorkingDays is the length of the deadline, and of its one extension.
	WorkingDays      int    `json:"working_days"`
	Deadline         string `json:"deadline"`          // YYYY-MM-DD, the last day
	OriginalDeadline string `json:"original_deadline"` // before the extension
	Extended         bool   `json:"extended"`
	ExtensionReason  string `json:"extension_reason,omitempty"`
	// RejectionReason says why the rating is held invalid; RequestedBy asked
	// for it.
	RejectionReason string     `json:"rejection_reason,omitempty"`
	RequestedBy     string     `json:"rejection_requested_by,omitempty"`
	CitizenView     string     `json:"citizen_view,omitempty"`
	PublicSummary   string     `json:"public_summary,omitempty"`
	ClosedAt        *time.Time `json:"closed_at"`
	UpdatedAt       time.Time  `json:"updated_at"`

	// Overdue, DueSoon and WorkingDaysLeft are worked out when read.
	Overdue         bool `json:"overdue"`
	DueSoon         bool `json:"due_soon"`
	WorkingDaysLeft int  `json:"working_days_left"`
}

// FollowUpEntry is one move of a case: who, when, from what to what, and
// the note.
type FollowUpEntry struct {
	ID          int64     `json:"id"`
	FollowUpID  int64     `json:"-"`
	Move        string    `json:"move"` // the status moved to, or "extend"
	From        string    `json:"from"`
	To          string    `json:"to"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
	Note        string    `json:"note,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	CitizenView string    `json:"citizen_view,omitempty"`
	Deadline    string    `json:"deadline,omitempty"` // the new deadline, for "extend"
}

// FollowUpTx is what a store keeps of follow-ups (sqlstore/followups.go).
type FollowUpTx interface {
	InsertFollowUp(f *FollowUp) error
	UpdateFollowUp(f *FollowUp) error
	// FollowUp and FollowUps fill the ticket number and the rating's
	// contact phone (in clear) too. FollowUps gives newest first.
	FollowUp(id int64) (*FollowUp, error)
	FollowUps(q FollowUpQuery) ([]FollowUp, error)
	// CountOpenFollowUps counts a hall's cases not closed (neither
	// revisited nor rejected), and those of them whose deadline is before
	// today ("2006-01-02"): overdue.
	CountOpenFollowUps(hallID, today string) (open, overdue int, err error)
	AppendFollowUpEntry(e *FollowUpEntry) error
	FollowUpEntries(followUpID int64) ([]FollowUpEntry, error) // oldest first
}

// FollowUpRef is what events carry of a case, in the staff view only: no
// personal data.
type FollowUpRef struct {
	ID       int64  `json:"id"`
	Status   string `json:"status"`
	Score    int    `json:"score"`
	Deadline string `json:"deadline"`
	// Move is the move that made the change (a status, or "extend");
	// absent on the event of the rating that opened the case.
	Move string `json:"move,omitempty"`
}

// Ref is the case as events carry it.
func (f *FollowUp) Ref() *FollowUpRef {
	return &FollowUpRef{ID: f.ID, Status: f.Status, Score: f.Score, Deadline: f.Deadline}
}

// DueSoonDays is how many working days before its deadline an open case is
// marked due soon.
const DueSoonDays = 3

// mark works out Overdue, DueSoon and WorkingDaysLeft for today (the
// hall's local day).
func (f *FollowUp) mark(today time.Time, cal *Calendar) {
	f.Overdue, f.DueSoon, f.WorkingDaysLeft = false, false, 0
	if FollowUpClosed(f.Status) {
		return
	}
	deadline, err := time.Parse(time.DateOnly, f.Deadline)
	if err != nil {
		return
	}
	if today.After(deadline) {
		f.Overdue = true
		return
	}
	// Today counts when it is a working day: it can still be used.
	f.WorkingDaysLeft = cal.WorkingDaysUntil(today.AddDate(0, 0, -1), deadline)
	f.DueSoon = f.WorkingDaysLeft <= DueSoonDays
}

// ClosedOnTime reports whether a closed case closed by its deadline, in
// the hall's zone.
func (f *FollowUp) ClosedOnTime(loc *time.Location) bool {
	return f.ClosedAt != nil && Date(*f.ClosedAt, loc).Format(time.DateOnly) <= f.Deadline
}

// FollowUpMove is a move of a case asked by a manager or admin.
type FollowUpMove struct {
	ID   int64
	To   string
	Note string
	// Reason is why a bad rating is invalid: needed to ask for rejection.
	Reason string
	// CitizenView is the citizen's view of the fix: needed at the revisit.
	CitizenView string
	// PublicSummary is what is published of the fix, without personal
	// data: optional, when moving to rectified or revisited.
	PublicSummary string
	By            *User
}

func checkText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		return "", FieldErrorf(field, "%s is at most %d characters", field, max)
	}
	return s, nil
}

// personalNumberIn reports whether text holds what reads as a mainland
// mobile number (spaces, dashes and +86 allowed, as contact_phone takes it)
// or a resident ID number (18 characters, or the old 15 digits), in ASCII
// or full-width digits: what a published text must never carry. Other
// numbers (dates, times, case numbers, landlines, counts) pass.
func personalNumberIn(text string) bool {
	// A number is groups of digits with a space or dash between them; any
	// groups in a row that make one such number count (a date before a
	// phone: 2026-12-08 138 1234 5678).
	var groups []string
	var cur []byte
	personal := func(d string) bool {
		if len(d) == 13 && strings.HasPrefix(d, "86") {
			d = d[2:]
		}
		switch len(d) {
		case 11:
			return mobilePattern.MatchString(d)
		case 15, 18:
			return !strings.ContainsAny(d[:len(d)-1], "X")
		}
		return false
	}
	number := func() bool {
		if len(cur) > 0 {
			groups = append(groups, string(cur))
			cur = cur[:0]
		}
		defer func() { groups = groups[:0] }()
		for i := range groups {
			d := ""
			for _, g := range groups[i:] {
				if d += g; len(d) > 18 {
					break
				}
				if personal(d) {
					return true
				}
			}
		}
		return false
	}
	digit := func(r rune) (byte, bool) {
		switch {
		case r >= '0' && r <= '9':
			return byte(r), true
		case r >= '０' && r <= '９':
			return byte(r-'０') + '0', true
		case r == 'X' || r == 'x' || r == 'Ｘ' || r == 'ｘ':
			return 'X', true
		}
		return 0, false
	}
	for _, r := range text {
		if b, ok := digit(r); ok {
			if b == 'X' && len(cur) == 0 {
				if number() {
					return true
				}
				continue
			}
			cur = append(cur, b)
			continue
		}
		if (r == ' ' || r == '-' || r == '\u3000') && len(cur) > 0 {
			groups = append(groups, string(cur)) // a separator inside a number: 138 1234 5678
			cur = cur[:0]
			continue
		}
		if number() {
			return true
		}
	}
	return number()
}

// Apply performs the move on the case at the time given and returns the
// history entry. It is the one place a case changes status.
func (f *FollowUp) Apply(m FollowUpMove, at time.Time) (*FollowUpEntry, error) {
	if m.By == nil {
		return nil, Errorf(EForbidden, "a follow-up is moved by a signed-in manager or admin")
	}
	if err := NextFollowUp(f.Status, m.To); err != nil {
		return nil, err
	}
	note, err := checkText("note", m.Note, maxNote)
	if err != nil {
		return nil, err
	}
	if note == "" {
		return nil, FieldErrorf("note", "every move needs a note")
	}
	reason, err := checkText("reason", m.Reason, maxNote)
	if err != nil {
		return nil, err
	}
	summary, err := checkText("public_summary", m.PublicSummary, maxSummary)
	if err != nil {
		return nil, err
	}
	if summary != "" && m.To != FollowUpRectified && m.To != FollowUpRevisited {
		return nil, FieldErrorf("public_summary", "a public summary is given when moving to rectified or revisited")
	}
	if personalNumberIn(summary) {
		return nil, FieldErrorf("public_summary", "the public summary is published: it may not hold a phone or ID number")
	}
	if m.CitizenView != "" && m.To != FollowUpRevisited {
		return nil, FieldErrorf("citizen_view", "the citizen's view is recorded at the revisit")
	}
	entry := &FollowUpEntry{FollowUpID: f.ID, Move: m.To, From: f.Status, To: m.To, By: m.By.Username, At: at, Note: note}
	switch m.To {
	case FollowUpRejectionRequested:
		if reason == "" {
			return nil, FieldErrorf("reason", "asking to reject a bad rating needs a reason")
		}
		f.RejectionReason, f.RequestedBy = reason, m.By.Username
		entry.Reason = reason
	case FollowUpRejected:
		if m.By.Username == f.RequestedBy {
			return nil, Errorf(EForbidden, "a second person must approve the rejection: %s asked for it", f.RequestedBy)
		}
		entry.Reason = f.RejectionReason
	case FollowUpVerifying:
		if f.Status == FollowUpRejectionRequested {
			entry.Reason = reason // why the rejection was refused, if said
			f.RejectionReason, f.RequestedBy = "", ""
		}
	case FollowUpRevisited:
		if !ValidCitizenView(m.CitizenView) {
			return nil, FieldErrorf("citizen_view", "citizen_view must be satisfied, basically_satisfied or not_satisfied")
		}
		f.CitizenView = m.CitizenView
		entry.CitizenView = m.CitizenView
	}
	if summary != "" {
		f.PublicSummary = summary
	}
	f.Status = m.To
	f.UpdatedAt = at
	if FollowUpClosed(f.Status) {
		f.ClosedAt = &at
	}
	return entry, nil
}

// Extend grants the case's one extension, of the same length as its
// deadline, counted from the deadline by cal. today is the hall's local
// day: a deadline already passed cannot be extended.
func (f *FollowUp) Extend(by *User, reason string, at, today time.Time, cal *Calendar) (*FollowUpEntry, error) {
	if by == nil {
		return nil, Errorf(EForbidden, "a follow-up is extended by a signed-in manager or admin")
	}
	reason, err := checkText("reason", reason, maxNote)
	if err != nil {
		return nil, err
	}
	if reason == "" {
		return nil, FieldErrorf("reason", "an extension needs a reason")
	}
	if FollowUpClosed(f.Status) {
		return nil, Errorf(EInvalidTransition, "a follow-up that is %s cannot be extended", f.Status)
	}
	if f.Extended {
		return nil, Errorf(EConflict, "the follow-up has had its one extension already")
	}
	deadline, err := time.Parse(time.DateOnly, f.Deadline)
	if err != nil {
		return nil, err
	}
	if today.After(deadline) {
		return nil, Errorf(EConflict, "the deadline %s has passed: an extension is asked before it", f.Deadline)
	}
	f.Deadline = cal.DeadlineAfter(deadline, f.WorkingDays).Format(time.DateOnly)
	f.Extended, f.ExtensionReason, f.UpdatedAt = true, reason, at
	return &FollowUpEntry{FollowUpID: f.ID, Move: FollowUpExtend, From: f.Status, To: f.Status, By: by.Username, At: at,
		Reason: reason, Note: reason, Deadline: f.Deadline}, nil
}

// openFollowUp opens the case of a bad rating: its deadline is the hall's
// number of working days after the day of the rating.
func (e *Engine) openFollowUp(tx Tx, r *Rating, s *RatingSettings) (*FollowUp, error) {
	loc, err := e.location(tx, r.HallID)
	if err != nil {
		return nil, err
	}
	cal, err := e.calendar(tx, r.HallID)
	if err != nil {
		return nil, err
	}
	deadline := cal.DeadlineAfter(Date(r.CreatedAt, loc), s.FollowUpWorkingDays).Format(time.DateOnly)
	f := &FollowUp{HallID: r.HallID, RatingID: r.ID, TicketID: r.TicketID, ServiceID: r.ServiceID, CounterID: r.CounterID,
		StaffID: r.StaffID, Score: r.Score, Status: FollowUpOpen, OpenedAt: r.CreatedAt, WorkingDays: s.FollowUpWorkingDays,
		Deadline: deadline, OriginalDeadline: deadline, UpdatedAt: r.CreatedAt}
	if err := tx.InsertFollowUp(f); err != nil {
		return nil, err
	}
	return f, tx.AppendFollowUpEntry(&FollowUpEntry{FollowUpID: f.ID, Move: FollowUpOpen, To: FollowUpOpen, By: "", At: r.CreatedAt,
		Note: "opened by a rating of " + strconv.Itoa(r.Score)})
}

// EventFollowUp is the event of a change to a follow-up case. Its staff
// view carries the case's id, status, score and deadline; its public view
// nothing but the type and time.
const EventFollowUp = "followup.updated"

// FollowUpQuery selects a hall's cases.
type FollowUpQuery struct {
	HallID string
	// TicketID keeps the case of that ticket only (a ticket is rated
	// once: one case at most); empty means every ticket's.
	TicketID string
	// Statuses keeps the cases in these statuses; none means all.
	Statuses []string
	// OpenedFrom and OpenedTo bound the opening time, [from, to); zero
	// means unbounded. ClosedFrom and ClosedTo likewise bound the closing.
	OpenedFrom, OpenedTo time.Time
	ClosedFrom, ClosedTo time.Time
}

// followUpOfTicket reads the hall's case of a ticket, opened about at
// (within 60 days before it: the bound keeps the read short), nil when
// there is none. An edge and its city number their cases each their own
// way; the ticket names the same case on both.
func followUpOfTicket(tx Tx, hallID, ticketID string, at time.Time) (*FollowUp, error) {
	list, err := tx.FollowUps(FollowUpQuery{HallID: hallID, TicketID: ticketID, OpenedFrom: at.AddDate(0, 0, -60)})
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// FollowUpFilter is what the follow-up list may be narrowed by.
type FollowUpFilter struct {
	// Statuses are follow-up statuses, or the groups "active" (not
	// closed), "closed", "overdue" and "due_soon"; any of them matches.
	Statuses []string
	// From and To bound the local day the case opened, inclusive.
	From, To  string
	ServiceID string
	CounterID string
	// Staff is the username of the staff member who served the ticket.
	Staff string
	// Limit is how many cases at most, newest first: 0 means
	// DefaultFollowUpLimit, at most MaxFollowUpLimit.
	Limit int
}

// Bounds of the follow-up list.
const (
	DefaultFollowUpLimit = 200
	MaxFollowUpLimit     = 1000
)

// FollowUpView is a case as the follow-up pages show it, with the rating
// and the staff member's username.
type FollowUpView struct {
	FollowUp
	Staff   string          `json:"staff,omitempty"`
	Rating  *Rating         `json:"rating,omitempty"`
	History []FollowUpEntry `json:"history,omitempty"`
}

// today is the hall's local day, as the calendar counts.
func (e *Engine) today(tx Tx, hallID string) (time.Time, *time.Location, error) {
	loc, err := e.location(tx, hallID)
	if err != nil {
		return time.Time{}, nil, err
	}
	return Date(e.now(), loc), loc, nil
}

func (e *Engine) staffNames(tx Tx) (map[int64]string, error) {
	us, err := tx.Users()
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(us))
	for _, u := range us {
		out[u.ID] = u.Username
	}
	return out, nil
}

// FollowUps lists a hall's cases, newest first, with overdue and due-soon
// marks. Contact phones are masked.
func (e *Engine) FollowUps(ctx context.Context, hallID string, flt FollowUpFilter) ([]FollowUpView, error) {
	q := FollowUpQuery{HallID: hallID}
	var groups []string
	for _, s := range flt.Statuses {
		switch {
		case ValidFollowUpStatus(s):
			q.Statuses = append(q.Statuses, s)
		case s == "active" || s == "closed" || s == "overdue" || s == "due_soon":
			groups = append(groups, s)
		default:
			return nil, FieldErrorf("status", "status must be a follow-up status or active, closed, overdue, due_soon")
		}
	}
	if len(groups) > 0 {
		q.Statuses = nil // filtered below, after marking
	}
	limit := flt.Limit
	if limit == 0 {
		limit = DefaultFollowUpLimit
	}
	if limit < 1 || limit > MaxFollowUpLimit {
		return nil, FieldErrorf("limit", "limit must be 1..%d", MaxFollowUpLimit)
	}
	var out []FollowUpView
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		today, loc, err := e.today(tx, hallID)
		if err != nil {
			return err
		}
		if flt.From != "" {
			d, err := ParseDate("from", flt.From)
			if err != nil {
				return err
			}
			q.OpenedFrom = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
		}
		if flt.To != "" {
			d, err := ParseDate("to", flt.To)
			if err != nil {
				return err
			}
			q.OpenedTo = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
		}
		cal, err := e.calendar(tx, hallID)
		if err != nil {
			return err
		}
		names, err := e.staffNames(tx)
		if err != nil {
			return err
		}
		fs, err := tx.FollowUps(q)
		if err != nil {
			return err
		}
		out = make([]FollowUpView, 0, len(fs))
		for _, f := range fs {
			if len(out) == limit {
				break
			}
			if flt.ServiceID != "" && f.ServiceID != flt.ServiceID || flt.CounterID != "" && f.CounterID != flt.CounterID ||
				flt.Staff != "" && names[f.StaffID] != flt.Staff {
				continue
			}
			f.mark(today, cal)
			if len(flt.Statuses) > 0 && !f.matches(flt.Statuses) {
				continue
			}
			f.localize(loc)
			if err := e.unseal(&f.ContactPhone); err != nil {
				return err
			}
			f.ContactPhone = MaskPhone(f.ContactPhone)
			out = append(out, FollowUpView{FollowUp: f, Staff: names[f.StaffID]})
		}
		return nil
	})
	return out, err
}

// FollowUpCount is how many of a hall's cases are open, and how many of
// them overdue, today (the dashboard's 好差评 panel).
type FollowUpCount struct {
	Open    int `json:"open"`
	Overdue int `json:"overdue"`
}

// FollowUpCounts counts the hall's open and overdue cases in the store, as
// FollowUps with status active and overdue would list them, without
// reading them.
func (e *Engine) FollowUpCounts(ctx context.Context, hallID string) (FollowUpCount, error) {
	var c FollowUpCount
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(hallID); err != nil {
			return err
		}
		today, _, err := e.today(tx, hallID)
		if err != nil {
			return err
		}
		c.Open, c.Overdue, err = tx.CountOpenFollowUps(hallID, today.Format(time.DateOnly))
		return err
	})
	return c, err
}

func (f *FollowUp) matches(statuses []string) bool {
	for _, s := range statuses {
		switch s {
		case "active":
			if !FollowUpClosed(f.Status) {
				return true
			}
		case "closed":
			if FollowUpClosed(f.Status) {
				return true
			}
		case "overdue":
			if f.Overdue {
				return true
			}
		case "due_soon":
			if f.DueSoon {
				return true
			}
		default:
			if f.Status == s {
				return true
			}
		}
	}
	return false
}

func (f *FollowUp) localize(loc *time.Location) {
	f.OpenedAt, f.UpdatedAt = f.OpenedAt.In(loc), f.UpdatedAt.In(loc)
	if f.ClosedAt != nil {
		c := f.ClosedAt.In(loc)
		f.ClosedAt = &c
	}
}

// FollowUpCase returns a case with its rating and its history, the
// contact phone masked. p must hold PermFollowUp in the case's hall.
func (e *Engine) FollowUpCase(ctx context.Context, p Principal, id int64) (*FollowUpView, error) {
	var out *FollowUpView
	err := e.store.View(ctx, func(tx Tx) error {
		v, err := e.followUpView(tx, p, id)
		out = v
		return err
	})
	return out, err
}

func (e *Engine) followUpView(tx Tx, p Principal, id int64) (*FollowUpView, error) {
	f, err := tx.FollowUp(id)
	if err != nil {
		return nil, err
	}
	if !p.Can(PermFollowUp, f.HallID, "") {
		return nil, Errorf(EForbidden, "only the hall's managers and admins see its follow-ups")
	}
	today, loc, err := e.today(tx, f.HallID)
	if err != nil {
		return nil, err
	}
	cal, err := e.calendar(tx, f.HallID)
	if err != nil {
		return nil, err
	}
	f.mark(today, cal)
	f.localize(loc)
	r, err := tx.RatingByTicket(f.TicketID)
	if err != nil {
		return nil, err
	}
	if err := e.unseal(&f.ContactPhone, &r.ContactPhone); err != nil {
		return nil, err
	}
	f.ContactPhone, r.ContactPhone = MaskPhone(f.ContactPhone), MaskPhone(r.ContactPhone)
	r.CreatedAt = r.CreatedAt.In(loc)
	hist, err := tx.FollowUpEntries(f.ID)
	if err != nil {
		return nil, err
	}
	for i := range hist {
		hist[i].At = hist[i].At.In(loc)
	}
	v := &FollowUpView{FollowUp: *f, Rating: r, History: hist}
	if f.StaffID != 0 {
		if u, err := tx.UserByID(f.StaffID); err == nil {
			v.Staff = u.Username
		}
	}
	return v, nil
}

// AuditPhoneRevealed is the audit event of a manager reading a bad
// rating's contact phone in clear, to call the citizen back.
const AuditPhoneRevealed = "followup.phone_revealed"

// RevealFollowUpPhone returns the contact phone of a case in clear, for
// the call back (回访), and records who read it in the audit events. p
// must be a signed-in user holding PermFollowUp in the case's hall; a case
// without a phone is not_found.
func (e *Engine) RevealFollowUpPhone(ctx context.Context, p Principal, id int64) (string, error) {
	var phone string
	err := e.update(ctx, func(tx Tx) error {
		f, err := tx.FollowUp(id)
		if err != nil {
			return err
		}
		if p.User == nil || !p.Can(PermFollowUp, f.HallID, "") {
			return Errorf(EForbidden, "only the hall's managers and admins read a citizen's phone")
		}
		if err := e.unseal(&f.ContactPhone); err != nil {
			return err
		}
		if f.ContactPhone == "" {
			return Errorf(ENotFound, "the citizen left no phone with follow-up %d", id)
		}
		phone = f.ContactPhone
		return tx.AppendAudit(&AuditEvent{Type: AuditPhoneRevealed, At: e.now(),
			Username: "followup " + strconv.FormatInt(id, 10), Actor: p.Key()})
	})
	return phone, err
}

// MoveFollowUp moves a case by the state machine, records who, when and
// the note, and publishes followup.updated. p must hold PermFollowUp in the
// case's hall.
func (e *Engine) MoveFollowUp(ctx context.Context, p Principal, m FollowUpMove) (*FollowUpView, error) {
	m.By = p.User
	return e.changeFollowUp(ctx, p, m.ID, func(tx Tx, f *FollowUp, now time.Time) (*FollowUpEntry, error) {
		return f.Apply(m, now)
	})
}

// ExtendFollowUp grants a case its one extension, with a reason.
func (e *Engine) ExtendFollowUp(ctx context.Context, p Principal, id int64, reason string) (*FollowUpView, error) {
	return e.changeFollowUp(ctx, p, id, func(tx Tx, f *FollowUp, now time.Time) (*FollowUpEntry, error) {
		today, _, err := e.today(tx, f.HallID)
		if err != nil {
			return nil, err
		}
		cal, err := e.calendar(tx, f.HallID)
		if err != nil {
			return nil, err
		}
		return f.Extend(p.User, reason, now, today, cal)
	})
}

func (e *Engine) changeFollowUp(ctx context.Context, p Principal, id int64, change func(Tx, *FollowUp, time.Time) (*FollowUpEntry, error)) (*FollowUpView, error) {
	var out *FollowUpView
	var hall string
	relayed := false
	err := e.update(ctx, func(tx Tx) error {
		f, err := tx.FollowUp(id)
		if err != nil {
			return err
		}
		if !p.Can(PermFollowUp, f.HallID, "") || p.User == nil {
			return Errorf(EForbidden, "only the hall's managers and admins work on its follow-ups")
		}
		now := e.now()
		entry, err := change(tx, f, now)
		if err != nil {
			return err
		}
		if err := tx.UpdateFollowUp(f); err != nil {
			return err
		}
		if err := tx.AppendFollowUpEntry(entry); err != nil {
			return err
		}
		ref := f.Ref()
		ref.Move = entry.Move
		if err := tx.AppendEvent(&Event{HallID: f.HallID, Type: EventFollowUp, At: now, FollowUp: ref}); err != nil {
			return err
		}
		hall = f.HallID
		if relayed, err = e.relayFollowUp(tx, f, entry, now); err != nil { // edgerelay.go: the hall's edge follows
			return err
		}
		out, err = e.followUpView(tx, p, id)
		return err
	})
	if err == nil && relayed {
		e.relay.wake.signal(hall)
	}
	return out, err
}
