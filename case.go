package civiq

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Cases (办件): after a citizen is served, staff open a case on the ticket
// for one guide item. The materials received are checked against the
// guide's list: a missing required one means 补正 with the list of what is
// missing; otherwise the case is accepted (受理) with a promised finish date
// counted in the hall's working days, or refused (不予受理) with a reason.
// An accepted case goes through 审核 to 办结, or ends as 不予办理. The
// citizen follows it by its number and the last 4 characters of the ID
// number or phone given at the counter.

// Case statuses.
const (
	CaseCorrection  = "correction"   // 补正: required materials are missing
	CaseAccepted    = "accepted"     // 受理
	CaseNotAccepted = "not_accepted" // 不予受理; closed
	CaseReviewing   = "reviewing"    // 审核
	CaseFinished    = "finished"     // 办结; closed
	CaseRefused     = "refused"      // 不予办理; closed
)

// CaseStatuses lists every case status in the order of a case.
var CaseStatuses = []string{CaseCorrection, CaseAccepted, CaseNotAccepted, CaseReviewing, CaseFinished, CaseRefused}

// caseMoves is the state machine: for each status a case can move to, the
// statuses it can come from. Anything else is invalid_transition.
var caseMoves = map[string][]string{
	CaseAccepted:    {CaseCorrection},
	CaseNotAccepted: {CaseCorrection},
	CaseReviewing:   {CaseAccepted},
	CaseFinished:    {CaseAccepted, CaseReviewing},
	CaseRefused:     {CaseAccepted, CaseReviewing},
}

// NextCase checks that a case in status from may move to to.
func NextCase(from, to string) error {
	if !contains(CaseStatuses, to) || to == CaseCorrection {
		return FieldErrorf("to", "to must be one of accepted, not_accepted, reviewing, finished, refused")
	}
	if contains(caseMoves[to], from) {
		return nil
	}
	return Errorf(EInvalidTransition, "a case that is %s cannot move to %s", from, to)
}

// CaseClosed reports whether a status ends the case.
func CaseClosed(status string) bool {
	return status == CaseNotAccepted || status == CaseFinished || status == CaseRefused
}

// caseNeedsReason lists the statuses that need a reason.
func caseNeedsReason(status string) bool { return status == CaseNotAccepted || status == CaseRefused }

// Statuses of a material in a case.
const (
	MaterialReceived      = "received"
	MaterialMissing       = "missing"
	MaterialNotApplicable = "not_applicable"
)

// ID document types of an applicant.
const (
	IDCard       = "id_card"     // 居民身份证 (GB 11643, checked by ParseIDNumber)
	IDCreditCode = "credit_code" // 统一社会信用代码, for organisations
	IDPassport   = "passport"
	IDOther      = "other" // 港澳台通行证, 外国人永久居留证...
)

// Applicant is who applies: personal data, masked in every list and never
// put in events or logs.
type Applicant struct {
	Name     string `json:"name"`
	Phone    string `json:"phone,omitempty"`
	IDType   string `json:"id_type,omitempty"`
	IDNumber string `json:"id_number,omitempty"`
}

// Masked returns the applicant as lists show them (idnumber.go,
// rating.go): 张*, 138****5678, the ID number's last 4 characters.
func (a Applicant) Masked() Applicant {
	return Applicant{Name: MaskName(a.Name), Phone: MaskPhone(a.Phone), IDType: a.IDType, IDNumber: MaskIDNumber(a.IDNumber)}
}

var (
	creditCodePattern = regexp.MustCompile(`^[0-9A-HJ-NPQRTUWXY]{18}$`)
	otherIDPattern    = regexp.MustCompile(`^[0-9A-Z-]{5,30}$`)
)

// Validate checks and normalizes an applicant: a name, and a phone or an
// ID number so that the citizen can follow the case.
func (a *Applicant) Validate() error {
	a.Name = strings.TrimSpace(a.Name)
	a.Phone = strings.TrimSpace(a.Phone)
	a.IDNumber = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(a.IDNumber), " ", ""))
	if a.IDType == "" {
		a.IDType = IDCard
	}
	switch n := utf8.RuneCountInString(a.Name); {
	case n == 0:
		return FieldErrorf("applicant.name", "the applicant's name is required")
	case n > 50:
		return FieldErrorf("applicant.name", "the applicant's name is at most 50 characters")
	}
	if a.Phone != "" {
		p, err := NormalizePhone(a.Phone)
		if err != nil {
			return FieldErrorf("applicant.phone", "the phone must be a mainland mobile number, 11 digits starting 13-19")
		}
		a.Phone = p
	}
	if a.IDNumber != "" {
		switch a.IDType {
		case IDCard:
			id, err := ParseIDNumber(a.IDNumber)
			if err != nil {
				return FieldErrorf("applicant.id_number", "%s", ErrorMessage(err))
			}
			a.IDNumber = id
		case IDCreditCode:
			if !creditCodePattern.MatchString(a.IDNumber) {
				return FieldErrorf("applicant.id_number", "a unified social credit code is 18 digits and capital letters")
			}
		case IDPassport, IDOther:
			if !otherIDPattern.MatchString(a.IDNumber) {
				return FieldErrorf("applicant.id_number", "the document number is 5-30 letters and digits")
			}
		default:
			return FieldErrorf("applicant.id_type", "id_type must be id_card, credit_code, passport or other")
		}
	}
	if a.Phone == "" && a.IDNumber == "" {
		return FieldErrorf("applicant.id_number", "give the applicant's ID number or phone: the citizen follows the case with its last 4 characters")
	}
	return nil
}

// sealApplicant is the applicant as the store keeps them: encrypted when
// the engine has a Sealer (idnumber.go), else as given.
func (e *Engine) sealApplicant(a Applicant) Applicant {
	return Applicant{Name: e.seal(a.Name), Phone: e.seal(a.Phone), IDType: a.IDType, IDNumber: e.seal(a.IDNumber)}
}

// openApplicant reads what sealApplicant stored.
func (e *Engine) openApplicant(a *Applicant) error {
	return e.unseal(&a.Name, &a.Phone, &a.IDNumber)
}

// readCase finds a case by its number, its applicant readable.
func (e *Engine) readCase(tx Tx, number string) (*Case, error) {
	c, err := tx.Case(number)
	if err != nil {
		return nil, err
	}
	if c.ReceiptCode, err = tx.LastReceiptCode(c.ID); err != nil {
		return nil, err
	}
	return c, e.openApplicant(&c.Applicant)
}

// writeCase inserts (when c.ID is 0) or updates a case, its applicant
// sealed.
func (e *Engine) writeCase(tx Tx, c *Case) error {
	stored := *c
	stored.Applicant = e.sealApplicant(c.Applicant)
	if c.ID != 0 {
		return tx.UpdateCase(&stored)
	}
	if err := tx.InsertCase(&stored); err != nil {
		return err
	}
	c.ID = stored.ID
	return nil
}

// CaseMaterial is a material of the guide as received in a case.
type CaseMaterial struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	NameEn    string `json:"name_en,omitempty"` // the guide's English name of it
	Necessity string `json:"necessity"`
	Form      string `json:"form"`
	Copies    int    `json:"copies"`
	Status    string `json:"status"` // received, missing, not_applicable
}

// CaseMaterialInput is what staff say of one material of the guide.
type CaseMaterialInput struct {
	ID     string `json:"id"`
	Status string `json:"status"` // received (the default), missing or not_applicable
}

// Case is one application handled in a hall (办件).
type Case struct {
	ID           int64          `json:"-"`
	Number       string         `json:"number"`
	HallID       string         `json:"hall_id"`
	GuideID      string         `json:"guide_id"`
	GuideName    string         `json:"guide_name"`
	GuideNameEn  string         `json:"guide_name_en,omitempty"` // the guide's English name when the case was opened
	ServiceID    string         `json:"service_id"`
	TicketID     string         `json:"ticket_id"`
	TicketNumber string         `json:"ticket_number"`
	CounterID    string         `json:"counter_id,omitempty"`
	Applicant    Applicant      `json:"applicant"`
	Materials    []CaseMaterial `json:"materials"`
	// Missing names the materials still missing: the 补正 list.
	Missing      []string   `json:"missing"`
	Status       string     `json:"status"`
	Reason       string     `json:"reason,omitempty"` // of 不予受理 or 不予办理
	PromisedDays int        `json:"promised_days"`
	PromisedDate string     `json:"promised_date,omitempty"` // YYYY-MM-DD, once accepted
	Day          string     `json:"-"`                       // the hall's day it was opened
	OpenedAt     time.Time  `json:"opened_at"`
	AcceptedAt   *time.Time `json:"accepted_at"`
	ClosedAt     *time.Time `json:"closed_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	OpenedBy     string     `json:"opened_by"`
	// OnBehalf: the case is handled for the applicant by a helper of the
	// role (帮办代办, behalf.go); only the role is kept.
	OnBehalf *OnBehalf `json:"on_behalf,omitempty"`
	// Overdue is worked out when read: accepted, not finished, and past
	// the promised date.
	Overdue bool        `json:"overdue"`
	History []CaseEntry `json:"history,omitempty"`
	// ReceiptCode is the short code of the case's newest signed receipt
	// (receipt.go), "" when it has none; lists leave it out.
	ReceiptCode string `json:"receipt_code,omitempty"`
}

// Masked returns the case as lists show it.
func (c Case) Masked() Case {
	c.Applicant = c.Applicant.Masked()
	return c
}

// CaseEntry is one move of a case.
type CaseEntry struct {
	ID     int64     `json:"-"`
	CaseID int64     `json:"-"`
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	By     string    `json:"by,omitempty"`
	Note   string    `json:"note,omitempty"`
	Reason string    `json:"reason,omitempty"`
	// OnBehalf: the move was made for the applicant by a helper of the
	// role (帮办代办): the case opened by one, the missing materials
	// brought by one, the result collected by one (CaseMove.OnBehalf).
	OnBehalf *OnBehalf `json:"on_behalf,omitempty"`
}

// EventCase is the event of a case opened or moved; it carries the
// case's number, status and guide (CaseRef), never the applicant.
const EventCase = "case.updated"

// Ref names the case (stats.go's CaseRef): no applicant.
func (c *Case) Ref() CaseRef {
	return CaseRef{Number: c.Number, Status: c.Status, GuideName: c.GuideName, GuideNameEn: c.GuideNameEn}
}

// event is the event row of a change to the case.
func (c *Case) event(at time.Time) *Event {
	ref := c.Ref()
	return &Event{HallID: c.HallID, Type: EventCase, At: at, Case: &ref}
}

// CaseTx is what a store keeps of cases (sqlstore/cases.go).
type CaseTx interface {
	// InsertCase sets c.ID; the applicant is stored as given (the engine
	// seals it).
	InsertCase(c *Case) error
	UpdateCase(c *Case) error
	Case(number string) (*Case, error)
	// Cases lists a hall's cases by q, newest first, without history.
	Cases(q CaseQuery) ([]Case, error)
	// CountCasesOn counts the cases a hall opened on a local day.
	CountCasesOn(hallID, day string) (int, error)
	AppendCaseEntry(e *CaseEntry) error            // sets e.ID
	CaseEntries(caseID int64) ([]CaseEntry, error) // oldest first
}

// CaseQuery lists a hall's cases, newest first.
type CaseQuery struct {
	HallID   string
	TicketID string
	Status   string
	// DueBefore, a date, keeps the open cases whose promised date is
	// before it: the overdue ones, given today.
	DueBefore string
	Limit     int
}

// OpenCaseRequest opens a case on a ticket.
type OpenCaseRequest struct {
	TicketID  string
	GuideID   string
	Applicant Applicant
	Materials []CaseMaterialInput
	// Decision is "accept" (the default: 受理, or 补正 when a required
	// material is missing) or "refuse" (不予受理, with Reason).
	Decision string
	Reason   string
	Note     string
	// OnBehalf marks a case handled by a helper (帮办代办).
	OnBehalf *OnBehalf
}

const maxCaseNote = 500

func checkCaseText(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxCaseNote {
		return "", FieldErrorf(field, "%s is at most %d characters", field, maxCaseNote)
	}
	return s, nil
}

// caseMaterials checks staff's word on the materials against the guide:
// every material of the guide, in its order, with its status. A required
// material not said to be received is missing; a conditional or optional
// one is not applicable unless said otherwise.
func caseMaterials(g *Guide, in []CaseMaterialInput) ([]CaseMaterial, error) {
	said := map[string]string{}
	for i, m := range in {
		field := fmt.Sprintf("materials[%d]", i)
		if g.Material(m.ID) == nil {
			return nil, FieldErrorf(field+".id", "the guide has no material %q", m.ID)
		}
		if _, dup := said[m.ID]; dup {
			return nil, FieldErrorf(field+".id", "material %s is listed twice", m.ID)
		}
		st := m.Status
		if st == "" {
			st = MaterialReceived
		}
		if st != MaterialReceived && st != MaterialMissing && st != MaterialNotApplicable {
			return nil, FieldErrorf(field+".status", "status must be received, missing or not_applicable")
		}
		if st == MaterialNotApplicable && g.Material(m.ID).Necessity == NeedRequired {
			return nil, FieldErrorf(field+".status", "%s is required: it is received or missing", g.Material(m.ID).Name)
		}
		said[m.ID] = st
	}
	out := make([]CaseMaterial, 0, len(g.Materials))
	for _, m := range g.Materials {
		st, ok := said[m.ID]
		if !ok {
			st = MaterialNotApplicable
			if m.Necessity == NeedRequired {
				st = MaterialMissing
			}
		}
		out = append(out, CaseMaterial{ID: m.ID, Name: m.Name, NameEn: m.NameEn, Necessity: m.Necessity, Form: m.Form, Copies: m.Copies, Status: st})
	}
	return out, nil
}

// missingOf lists the names of the materials marked missing, each as
// name gives it (CaseMaterial.Name, or materialEn in English).
func missingOf(ms []CaseMaterial, name func(CaseMaterial) string) []string {
	out := []string{}
	for _, m := range ms {
		if m.Status == MaterialMissing {
			out = append(out, name(m))
		}
	}
	return out
}

func materialName(m CaseMaterial) string { return m.Name }

// materialEn is a material's English name where the guide had one, else
// its name.
func materialEn(m CaseMaterial) string { return cmp.Or(m.NameEn, m.Name) }

// actor names who makes the request in ctx for a case's history.
func actor(ctx context.Context) string {
	p, _ := ctx.Value(actorKey{}).(Principal)
	if p.Anonymous() {
		return ""
	}
	return p.Key()
}

// newCaseNumber is the hall's day, the case's running number of the day in
// the hall and 4 random digits: 2026031200071234. The random part keeps
// numbers from being guessed one from another.
func newCaseNumber(day string, seq int) string {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%s%04d%04d", strings.ReplaceAll(day, "-", ""), seq%10000, int(binary.BigEndian.Uint16(b[:]))%10000)
}

// OpenCase opens a case on a ticket being served (called, serving or just
// done) for one guide of the ticket's hall.
func (e *Engine) OpenCase(ctx context.Context, req OpenCaseRequest) (*Case, error) {
	if req.GuideID == "" {
		return nil, FieldErrorf("guide_id", "guide_id is required")
	}
	if err := req.Applicant.Validate(); err != nil {
		return nil, err
	}
	behalf, err := ParseBehalf("on_behalf.role", req.OnBehalf)
	if err != nil {
		return nil, err
	}
	switch req.Decision {
	case "", "accept":
	case "refuse":
		if strings.TrimSpace(req.Reason) == "" {
			return nil, FieldErrorf("reason", "a refusal (不予受理) needs a reason")
		}
	default:
		return nil, FieldErrorf("decision", "decision must be accept or refuse")
	}
	reason, err := checkCaseText("reason", req.Reason)
	if err != nil {
		return nil, err
	}
	note, err := checkCaseText("note", req.Note)
	if err != nil {
		return nil, err
	}
	by := actor(ctx)
	var out *Case
	err = e.update(ctx, func(tx Tx) error {
		t, err := tx.Ticket(req.TicketID)
		if err != nil {
			return err
		}
		if t.Status != StatusCalled && t.Status != StatusServing && t.Status != StatusDone {
			return Errorf(EInvalidTransition, "ticket %s is %s: a case is opened on the ticket being served", t.Number, t.Status)
		}
		g, err := tx.Guide(req.GuideID)
		if err != nil || g.HallID != t.HallID {
			if err == nil || IsNotFound(err) {
				return &Error{Code: ENotFound, Field: "guide_id", Message: "the hall has no guide " + req.GuideID}
			}
			return err
		}
		mats, err := caseMaterials(g, req.Materials)
		if err != nil {
			return err
		}
		hall, err := tx.Hall(t.HallID)
		if err != nil {
			return err
		}
		now := e.now()
		day := hall.Day(now)
		c := &Case{HallID: t.HallID, GuideID: g.ID, GuideName: g.Name, GuideNameEn: g.NameEn, ServiceID: g.ServiceID, TicketID: t.ID, TicketNumber: t.Number,
			CounterID: t.CounterID, Applicant: req.Applicant, Materials: mats, Missing: missingOf(mats, materialName), PromisedDays: g.PromisedDays,
			Day: day, OpenedAt: now, UpdatedAt: now, OpenedBy: by, OnBehalf: behalf}
		switch {
		case req.Decision == "refuse":
			c.Status, c.Reason, c.ClosedAt = CaseNotAccepted, reason, &now
		case len(c.Missing) > 0:
			c.Status = CaseCorrection
		default:
			if err := e.acceptCase(tx, c, now); err != nil {
				return err
			}
		}
		n, err := tx.CountCasesOn(t.HallID, day)
		if err != nil {
			return err
		}
		for try := 0; ; try++ {
			c.Number = newCaseNumber(day, n+1)
			if _, err := tx.Case(c.Number); IsNotFound(err) {
				break
			} else if err != nil {
				return err
			}
			if try == 20 {
				return Errorf(EConflict, "no free case number today: try again")
			}
		}
		if err := e.writeCase(tx, c); err != nil {
			return err
		}
		if c.Status == CaseAccepted {
			if err := e.issueReceipt(tx, c, ReceiptAccepted, now); err != nil { // receipt.go
				return err
			}
		}
		entry := CaseEntry{CaseID: c.ID, At: now, To: c.Status, By: by, Note: note, Reason: c.Reason, OnBehalf: behalf}
		if err := tx.AppendCaseEntry(&entry); err != nil {
			return err
		}
		if err := tx.AppendEvent(c.event(now)); err != nil {
			return err
		}
		c.History = []CaseEntry{entry}
		out = c
		return e.caseOverdue(tx, c, now)
	})
	return out, err
}

// acceptCase makes a case accepted now, promised for its promised days
// later in the hall's working days.
func (e *Engine) acceptCase(tx Tx, c *Case, now time.Time) error {
	cal, err := e.calendar(tx, c.HallID)
	if err != nil {
		return err
	}
	loc, err := e.location(tx, c.HallID)
	if err != nil {
		return err
	}
	due := cal.DeadlineAfter(Date(now, loc), c.PromisedDays)
	c.Status, c.AcceptedAt, c.PromisedDate = CaseAccepted, &now, due.Format(time.DateOnly)
	return nil
}

// caseOverdue works out whether an open, accepted case is past its
// promised date.
func (e *Engine) caseOverdue(tx Tx, c *Case, now time.Time) error {
	c.Overdue = false
	if CaseClosed(c.Status) || c.PromisedDate == "" {
		return nil
	}
	loc, err := e.location(tx, c.HallID)
	if err != nil {
		return err
	}
	c.Overdue = Date(now, loc).Format(time.DateOnly) > c.PromisedDate
	return nil
}

// CaseMove moves a case: to a status, with a note, a reason where one is
// needed, and for a case in 补正 the materials now received.
type CaseMove struct {
	To        string
	Note      string
	Reason    string
	Materials []CaseMaterialInput
	By        Principal
	// OnBehalf records that a helper of the role acted for the applicant
	// in this move (帮办代办): only on the moves the applicant takes part
	// in, out of 补正 with the materials brought (accepted) and 办结
	// (finished, the result collected); kept with the move's entry.
	OnBehalf *OnBehalf
}

// MoveCase moves a case by the state machine; staff of the case's hall (or
// the counter device where it was opened) may.
func (e *Engine) MoveCase(ctx context.Context, number string, m CaseMove) (*Case, error) {
	if err := NextCase(CaseAccepted, m.To); err != nil && ErrorCode(err) == EInvalid {
		return nil, err
	}
	reason, err := checkCaseText("reason", m.Reason)
	if err != nil {
		return nil, err
	}
	note, err := checkCaseText("note", m.Note)
	if err != nil {
		return nil, err
	}
	if caseNeedsReason(m.To) && reason == "" {
		return nil, FieldErrorf("reason", "moving a case to %s needs a reason", m.To)
	}
	behalf, err := ParseBehalf("on_behalf.role", m.OnBehalf)
	if err != nil {
		return nil, err
	}
	if behalf != nil && m.To != CaseAccepted && m.To != CaseFinished {
		return nil, FieldErrorf("on_behalf", "a helper acts for the applicant when materials are brought (accepted) or the result collected (finished), not in a move to %s", m.To)
	}
	by := actor(ctx)
	if by == "" && !m.By.Anonymous() {
		by = m.By.Key()
	}
	var out *Case
	err = e.update(ctx, func(tx Tx) error {
		c, err := e.readCase(tx, number)
		if err != nil {
			return err
		}
		if !m.By.Can(PermCounterAction, c.HallID, c.CounterID) {
			return Errorf(EForbidden, "you may not move cases of this hall")
		}
		if err := NextCase(c.Status, m.To); err != nil {
			return err
		}
		now := e.now()
		from := c.Status
		if len(m.Materials) > 0 {
			if from != CaseCorrection {
				return FieldErrorf("materials", "materials are given for a case in 补正 (correction) only")
			}
			g, err := tx.Guide(c.GuideID)
			if err != nil {
				if IsNotFound(err) {
					return Errorf(EConflict, "the guide of this case was removed: its materials cannot be checked again")
				}
				return err
			}
			// A material not mentioned now keeps what was said of it
			// before: received stays received, missing stays missing.
			in := append([]CaseMaterialInput(nil), m.Materials...)
			given := map[string]bool{}
			for _, x := range in {
				given[x.ID] = true
			}
			for _, old := range c.Materials {
				if !given[old.ID] && g.Material(old.ID) != nil && (old.Status != MaterialNotApplicable || g.Material(old.ID).Necessity != NeedRequired) {
					in = append(in, CaseMaterialInput{ID: old.ID, Status: old.Status})
				}
			}
			if c.Materials, err = caseMaterials(g, in); err != nil {
				return err
			}
			c.Missing = missingOf(c.Materials, materialName)
		}
		switch m.To {
		case CaseAccepted:
			if len(c.Missing) > 0 {
				return &Error{Code: EConflict, Field: "materials", Message: "materials still missing: " + strings.Join(c.Missing, "、")}
			}
			if err := e.acceptCase(tx, c, now); err != nil {
				return err
			}
		case CaseNotAccepted, CaseFinished, CaseRefused:
			c.Status, c.ClosedAt = m.To, &now
		default:
			c.Status = m.To
		}
		if caseNeedsReason(m.To) {
			c.Reason = reason
		}
		c.UpdatedAt = now
		if err := e.writeCase(tx, c); err != nil {
			return err
		}
		if c.Status == CaseAccepted || c.Status == CaseFinished {
			if err := e.issueReceipt(tx, c, c.Status, now); err != nil { // receipt.go: 受理回执, 办结 notice
				return err
			}
		}
		if err := tx.AppendCaseEntry(&CaseEntry{CaseID: c.ID, At: now, From: from, To: c.Status, By: by, Note: note, Reason: reason, OnBehalf: behalf}); err != nil {
			return err
		}
		if err := tx.AppendEvent(c.event(now)); err != nil {
			return err
		}
		if c.History, err = tx.CaseEntries(c.ID); err != nil {
			return err
		}
		out = c
		return e.caseOverdue(tx, c, now)
	})
	return out, err
}

// Case returns a case with its history, for staff of its hall: the
// applicant in clear.
func (e *Engine) Case(ctx context.Context, number string, by Principal) (*Case, error) {
	var out *Case
	err := e.store.View(ctx, func(tx Tx) error {
		c, err := e.readCase(tx, number)
		if err != nil {
			return err
		}
		if !by.Can(PermStaffView, c.HallID, "") && !by.Can(PermCounterAction, c.HallID, c.CounterID) {
			return Errorf(EForbidden, "you may not read cases of this hall")
		}
		if c.History, err = tx.CaseEntries(c.ID); err != nil {
			return err
		}
		out = c
		return e.caseOverdue(tx, c, e.now())
	})
	return out, err
}

// Cases lists a hall's cases, newest first, the applicants masked.
func (e *Engine) Cases(ctx context.Context, q CaseQuery, overdue bool) ([]Case, error) {
	if q.Status != "" && !contains(CaseStatuses, q.Status) {
		return nil, FieldErrorf("status", "status must be one of %s", strings.Join(CaseStatuses, ", "))
	}
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	var out []Case
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Hall(q.HallID); err != nil {
			return err
		}
		now := e.now()
		if overdue {
			loc, err := e.location(tx, q.HallID)
			if err != nil {
				return err
			}
			q.DueBefore = Date(now, loc).Format(time.DateOnly)
		}
		cs, err := tx.Cases(q)
		if err != nil {
			return err
		}
		out = make([]Case, 0, len(cs))
		for i := range cs {
			if err := e.openApplicant(&cs[i].Applicant); err != nil {
				return err
			}
			if err := e.caseOverdue(tx, &cs[i], now); err != nil {
				return err
			}
			out = append(out, cs[i].Masked())
		}
		return nil
	})
	return out, err
}

// CaseProgress is what a citizen sees of a case: no one else's data, and
// their own masked.
type CaseProgress struct {
	Number        string   `json:"number"`
	HallID        string   `json:"hall_id"`
	HallName      string   `json:"hall_name"`
	HallNameEn    string   `json:"hall_name_en,omitempty"`
	GuideID       string   `json:"guide_id"`
	GuideName     string   `json:"guide_name"`
	GuideNameEn   string   `json:"guide_name_en,omitempty"`
	ApplicantName string   `json:"applicant_name"`
	Status        string   `json:"status"`
	Reason        string   `json:"reason,omitempty"`
	Missing       []string `json:"missing"`
	// MissingEn names the same materials in English, each where the guide
	// had an English name, else as in Missing.
	MissingEn    []string   `json:"missing_en"`
	PromisedDays int        `json:"promised_days"`
	PromisedDate string     `json:"promised_date,omitempty"`
	Overdue      bool       `json:"overdue"`
	OpenedAt     time.Time  `json:"opened_at"`
	AcceptedAt   *time.Time `json:"accepted_at"`
	ClosedAt     *time.Time `json:"closed_at"`
	Steps        []CaseStep `json:"steps"`
}

// GuideNameIn is the name of the case's guide in a page's language
// (inLang): the English one, where the guide had one, on English pages.
func (p *CaseProgress) GuideNameIn(lang string) string {
	name, _ := inLang(lang, p.GuideName, p.GuideNameEn)
	return name
}

// MissingIn names the missing materials in a page's language: in English
// on English pages (each where the guide had an English name).
func (p *CaseProgress) MissingIn(lang string) []string {
	if lang == "en" && len(p.MissingEn) == len(p.Missing) {
		return p.MissingEn
	}
	return p.Missing
}

// HallNameIn is the case's hall's name in a page's language (inLang,
// hall.go).
func (p *CaseProgress) HallNameIn(lang string) string {
	name, _ := inLang(lang, p.HallName, p.HallNameEn)
	return name
}

// CaseStep is one move of a case as the citizen sees it.
type CaseStep struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

var caseNumberPattern = regexp.MustCompile(`^[0-9]{8,24}$`)

// CaseProgressFor returns a case to the citizen who gives its number and
// the last 4 characters of the applicant's ID number or phone. A wrong
// number and wrong characters get the same answer; after 5 wrong tries in
// 15 minutes a number is refused for a while (rate_limited).
func (e *Engine) CaseProgressFor(ctx context.Context, number, last4 string) (*CaseProgress, error) {
	number = strings.TrimSpace(number)
	last4 = strings.ToUpper(strings.TrimSpace(last4))
	if !caseNumberPattern.MatchString(number) {
		return nil, FieldErrorf("number", "a case number is 8-24 digits")
	}
	if len(last4) != 4 {
		return nil, FieldErrorf("id_last4", "give the last 4 characters of the ID number or phone")
	}
	now := e.now()
	if e.caseTries.blocked(number, func() time.Time { return now }) { // tries.go
		return nil, Errorf(ERateLimited, "too many wrong tries for this case: wait 15 minutes")
	}
	notFound := Errorf(ENotFound, "no case with this number and these last 4 characters")
	var out *CaseProgress
	err := e.store.View(ctx, func(tx Tx) error {
		c, err := e.readCase(tx, number)
		if err != nil {
			if IsNotFound(err) {
				return notFound
			}
			return err
		}
		if !lastFourMatch(c.Applicant, last4) {
			return notFound
		}
		hall, err := tx.Hall(c.HallID)
		if err != nil {
			return err
		}
		entries, err := tx.CaseEntries(c.ID)
		if err != nil {
			return err
		}
		if err := e.caseOverdue(tx, c, now); err != nil {
			return err
		}
		loc := hall.Location()
		p := &CaseProgress{Number: c.Number, HallID: hall.ID, HallName: hall.Name, HallNameEn: hall.NameEn, GuideID: c.GuideID,
			GuideName: c.GuideName, GuideNameEn: c.GuideNameEn, ApplicantName: MaskName(c.Applicant.Name), Status: c.Status, Reason: c.Reason,
			Missing: nonNil(c.Missing), MissingEn: missingOf(c.Materials, materialEn), PromisedDays: c.PromisedDays, PromisedDate: c.PromisedDate, Overdue: c.Overdue,
			OpenedAt: c.OpenedAt.In(loc), AcceptedAt: inLoc(c.AcceptedAt, loc), ClosedAt: inLoc(c.ClosedAt, loc), Steps: []CaseStep{}}
		for _, en := range entries {
			p.Steps = append(p.Steps, CaseStep{Status: en.To, At: en.At.In(loc), Reason: en.Reason})
		}
		out = p
		return nil
	})
	if err == notFound {
		e.caseTries.failed(number, now)
	}
	return out, err
}

func inLoc(t *time.Time, loc *time.Location) *time.Time {
	if t == nil {
		return nil
	}
	x := t.In(loc)
	return &x
}

func lastFourMatch(a Applicant, last4 string) bool {
	ok := 0
	for _, s := range []string{a.IDNumber, a.Phone} {
		if len(s) >= 4 {
			ok |= subtle.ConstantTimeCompare([]byte(strings.ToUpper(s[len(s)-4:])), []byte(last4))
		}
	}
	return ok == 1
}
