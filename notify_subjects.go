package civiq

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Messages beyond tickets (issue 15): a booking's (booked, the reminders the
// day before and an hour before, cancelled, a no-show's strike), a case's
// (accepted with its promised date, correction needed with the list,
// finished, refused) and a bad rating's (received, put right, revisited).
// Bookings and cases carry the citizen's mobile number already, and a bad
// rating the number given for the call back: those are told by SMS, the
// hall's SMS channel, with no opt-in of their own (the booking form's
// consent says so). A message's subject is then not a ticket: its row keeps
// the subject's key ("booking:<id>", "case:<number>", "followup:<id>") where
// a ticket's message keeps the ticket's id, so "at most once per subject and
// kind" is the same unique key. The number is read from the subject when
// the message is sent, and never stored with the message.
//
// Reminders are due at a time, not after an event: a booking's event
// schedules them (status scheduled, with their due time), and the minute
// tick (QueueDueReminders) queues each once its time comes, in one
// transaction with a booking.reminder event, so the hall's durable delivery
// sends it like any other message. Writes take turns across nodes (one
// writer on SQLite, the advisory lock on PostgreSQL), and a reminder leaves
// scheduled once: exactly one node queues it, and a restart loses none.

// Subjects of messages.
const (
	SubjectTicket   = "ticket"
	SubjectBooking  = "booking"
	SubjectCase     = "case"
	SubjectFollowUp = "followup"
)

// NoticeSubject is what a kind of message is about: a ticket, a booking, a
// case or a bad rating's follow-up.
func NoticeSubject(kind string) string {
	switch {
	case strings.HasPrefix(kind, "booking_"):
		return SubjectBooking
	case strings.HasPrefix(kind, "case_"):
		return SubjectCase
	case strings.HasPrefix(kind, "rating_"):
		return SubjectFollowUp
	}
	return SubjectTicket
}

// SubjectKey is the key a message of a subject other than a ticket keeps in
// place of a ticket's id.
func SubjectKey(subject, id string) string { return subject + ":" + id }

// ParseSubjectKey reads a SubjectKey back: ok is false for anything else
// (a ticket's id has no colon).
func ParseSubjectKey(key string) (subject, id string, ok bool) {
	subject, id, found := strings.Cut(key, ":")
	if !found || id == "" || !utf8.ValidString(id) {
		return "", "", false
	}
	switch subject {
	case SubjectBooking, SubjectCase:
		return subject, id, true
	case SubjectFollowUp:
		if n, err := strconv.ParseInt(id, 10, 64); err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
			return "", "", false
		}
		return subject, id, true
	}
	return "", "", false
}

// EventBookingReminder is the event of a booking's reminder coming due:
// the minute tick writes it with the reminder queued. Its staff view
// carries the booking (no personal data).
const EventBookingReminder = "booking.reminder"

// NoticeScheduled is the status of a reminder waiting for its time
// (Notice.DueAt).
const NoticeScheduled = "scheduled"

// DefaultReminderAt is the hour of the day-before reminder when the hall
// sets none (NotifySettings.ReminderAt).
const DefaultReminderAt = "18:00"

// ReminderLead is how long before the slot the second reminder is due.
const ReminderLead = time.Hour

// clockOf reads "15:04" as minutes of the day.
func clockOf(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// ReminderDue is when a booking's reminder of a kind is due: the day
// before the slot's local day at the hall's hour at ("18:00"), or
// ReminderLead before the slot. ok is false when it is not to be sent: the
// booking was made at or after that time (its booked message says it all),
// or the time is not before the reminder goes stale (a day-before hour
// later than the hour before).
func ReminderDue(kind string, slot, booked time.Time, loc *time.Location, at string) (due time.Time, ok bool) {
	switch kind {
	case NoticeReminderDay:
		m, good := clockOf(cmpOr(at, DefaultReminderAt))
		if !good {
			return time.Time{}, false
		}
		ls := slot.In(loc)
		due = time.Date(ls.Year(), ls.Month(), ls.Day()-1, m/60, m%60, 0, 0, loc)
	case NoticeReminderHour:
		due = slot.Add(-ReminderLead)
	default:
		return time.Time{}, false
	}
	if !booked.Before(due) || !due.Before(ReminderStale(kind, slot)) {
		return time.Time{}, false
	}
	return due, true
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ReminderReplan is when a reminder already planned is due as things are
// now: by its booking's slot as it is and the hall's hour as it is
// (ReminderDue), so a reminder follows a change of either and is never
// sent at the time it had before; now, when that time passed while it
// waited for its old one (the hour moved earlier); drop when, as things
// are, it is not to be sent at all (booked after its time, or stale).
func ReminderReplan(kind string, slot, booked, now time.Time, loc *time.Location, at string) (due time.Time, drop bool) {
	due, ok := ReminderDue(kind, slot, booked, loc, at)
	if !ok {
		return time.Time{}, true
	}
	if due.Before(now) {
		due = now
	}
	return due, false
}

// maxReplan bounds the reminders one change of the hall's hour moves:
// the scheduled ones of its bookings' days ahead.
const maxReplan = 100000

// replanReminders moves the hall's scheduled day-before reminders to its
// new hour at (SetNotifySettings, in its transaction): each row is
// updated, never a second made, so each goes once. One read of the
// bookings ahead finds their slots; a reminder whose booking is gone is
// left for the minute tick, which drops it.
func (e *Engine) replanReminders(tx Tx, hall *Hall, at string, now time.Time) error {
	ns, err := tx.NoticesIn(hall.ID, NoticeScheduled, maxReplan)
	if err != nil || len(ns) == 0 {
		return err
	}
	bs, err := tx.Bookings(hall.ID, now, now.AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	byID := make(map[string]*Booking, len(bs))
	for i := range bs {
		byID[bs[i].ID] = &bs[i]
	}
	for _, n := range ns {
		_, id, ok := ParseSubjectKey(n.TicketID)
		b := byID[id]
		if !ok || n.Kind != NoticeReminderDay || b == nil {
			continue
		}
		due, drop := ReminderReplan(n.Kind, b.SlotStart, b.CreatedAt, now, hall.Location(), at)
		if drop {
			n.Status, n.Code, n.DueAt = NoticeDropped, "stale", nil
		} else {
			n.DueAt = &due
		}
		n.UpdatedAt = now
		if err := tx.UpdateNotice(n); err != nil {
			return err
		}
	}
	return nil
}

// ReminderStale is when a reminder can no longer help: the day-before one
// once the hour-before one is due, the hour-before one half its lead before
// the slot.
func ReminderStale(kind string, slot time.Time) time.Time {
	if kind == NoticeReminderDay {
		return slot.Add(-ReminderLead)
	}
	return slot.Add(-ReminderLead / 2)
}

// QuietEnd is the end of the quiet hours from–to that t falls in: the next
// time of day to after t, in loc.
func QuietEnd(t time.Time, loc *time.Location, to string) time.Time {
	m, _ := clockOf(to)
	lt := t.In(loc)
	end := time.Date(lt.Year(), lt.Month(), lt.Day(), m/60, m%60, 0, 0, loc)
	if !end.After(lt) {
		end = time.Date(lt.Year(), lt.Month(), lt.Day()+1, m/60, m%60, 0, 0, loc)
	}
	return end
}

// ReminderSendAt decides a reminder found due at now: it goes now; or,
// when now is in the hall's quiet hours, at their end (wait true); or, when
// that end (or now) is not before the reminder goes stale, never (drop
// true): a reminder held past its use is not sent late.
func ReminderSendAt(kind string, slot, now time.Time, loc *time.Location, quietFrom, quietTo string) (at time.Time, wait, drop bool) {
	stale := ReminderStale(kind, slot)
	at = now
	if QuietAt(now, loc, quietFrom, quietTo) {
		at, wait = QuietEnd(now, loc, quietTo), true
	}
	if !at.Before(stale) {
		return time.Time{}, false, true
	}
	return at, wait, false
}

// noticeParamNames are the parameters of each kind, in the order a
// provider that numbers them (Tencent's {1}, {2}) takes them.
var noticeParamNames = map[string][]string{
	NoticeTaken: {"number", "link"}, NoticeAhead: {"number", "ahead"}, NoticeNext: {"number"},
	NoticeCalled: {"number", "counter"}, NoticeNoShow: {"number"}, NoticeTransferred: {"number", "service"},
	NoticeBooked: {"code", "service", "time"}, NoticeReminderDay: {"code", "service", "time"},
	NoticeReminderHour: {"code", "service", "time"}, NoticeBookingCanceled: {"service", "time"},
	NoticeStrike:       {"service", "time", "strikes", "limit"},
	NoticeCaseAccepted: {"number", "date"}, NoticeCaseCorrection: {"number", "missing"},
	NoticeCaseFinished: {"number"}, NoticeCaseRefused: {"number"},
	NoticeRatingReceived: {"service", "deadline"}, NoticeRatingRectified: {"service"}, NoticeRatingRevisit: {"service"},
}

// NoticeParamNames lists the parameters of a kind of message in order:
// what the hall's template for it takes (the admin page shows them).
func NoticeParamNames(kind string) []string { return noticeParamNames[kind] }

// fixedParamLen is the length of the parameters that are never cut (a
// service's name and a correction's list are: fitParam, FitList): a
// booking code, a slot's time, a date, a case number.
var fixedParamLen = map[string]int{"code": CodeLength, "time": len("01-02 15:04"), "date": len(time.DateOnly),
	"deadline": len(time.DateOnly)}

// caseNumberLen is the length of a case's number (newCaseNumber), and
// ticketIDLen of a ticket's id (NewTicketID: 15 bytes in base32).
const (
	caseNumberLen = 16
	ticketIDLen   = 24
)

// linkedParams gives a message's parameters, text and link. A taken
// message under the hall's link_base links the ticket's phone page
// (link_base, /t/ and its id): its text and link have the whole address,
// its parameter link the id alone, for an SMS template that writes the
// address itself (the providers take a link only as a template's text).
func linkedParams(kind, lang, linkBase, ticketID string, params []NoticeParam) ([]NoticeParam, string, string) {
	if kind != NoticeTaken || linkBase == "" {
		return params, NoticeText(kind, lang, params), ""
	}
	link := linkBase + "/t/" + ticketID
	text := NoticeText(kind, lang, append(slices.Clip(params), NoticeParam{"link", link}))
	return append(slices.Clip(params), NoticeParam{"link", ticketID}), text, link
}

// checkParamRule refuses a template registered for a kind whose
// parameters the channel's length rule cannot take whole: a case number
// of 16 characters by Tencent's default rule of 12, say, or the taken
// message's link, the ticket's id of 24, by the same. The hall sets the rule its
// account was granted (extra.max_param_len) instead.
func checkParamRule(field string, p *ProviderSettings, r ParamRules, linkBase string) error {
	if r.MaxParamLen <= 0 {
		return nil
	}
	for _, k := range NoticeKinds {
		if p.Templates[k] == "" {
			continue
		}
		for _, name := range NoticeParamNames(k) {
			n := fixedParamLen[name]
			if name == "number" && NoticeSubject(k) == SubjectCase {
				n = caseNumberLen
			}
			if name == "link" && linkBase != "" && !r.LinkApart {
				if n = ticketIDLen; n > r.MaxParamLen {
					return FieldErrorf("link_base", "the template of %s takes the ticket's id for its link, %d characters; provider %s takes %d: set extra.max_param_len if the account allows longer, or leave link_base or the template out",
						k, n, p.Provider, r.MaxParamLen)
				}
			}
			if n > r.MaxParamLen {
				return FieldErrorf(field+".templates", "the template of %s takes %s of %d characters; provider %s takes %d: set extra.max_param_len if the account allows longer, or leave the template out",
					k, name, n, p.Provider, r.MaxParamLen)
			}
		}
	}
	return nil
}

// subjectWords are the words of the messages beyond tickets, for channels
// without templates (the log, and a template's model).
var subjectWords = map[string][2]string{
	NoticeBooked:          {"您已预约 {time} 的{service}，预约码 {code}，请按时到大厅签到。", "Booked: {service} at {time}, code {code}. Check in at the hall on time."},
	NoticeReminderDay:     {"提醒：您预约了明天 {time} 的{service}，预约码 {code}。", "Reminder: {service} tomorrow at {time}, code {code}."},
	NoticeReminderHour:    {"提醒：您预约的{service}将于 {time} 开始，预约码 {code}，请按时签到。", "Reminder: {service} at {time}, code {code}. Please check in on time."},
	NoticeBookingCanceled: {"您预约的 {time} {service}已取消。", "Your booking of {service} at {time} is cancelled."},
	NoticeStrike:          {"您预约的 {time} {service}未签到，已记爽约 {strikes} 次，满 {limit} 次将暂停预约。", "You missed {service} at {time}: no-show {strikes} of {limit} before booking is suspended."},
	NoticeCaseAccepted:    {"您的办件 {number} 已受理，承诺 {date} 前办结。", "Case {number} is accepted, to be finished by {date}."},
	NoticeCaseCorrection:  {"您的办件 {number} 需补正材料：{missing}。", "Case {number} needs: {missing}."},
	NoticeCaseFinished:    {"您的办件 {number} 已办结。", "Case {number} is finished."},
	NoticeCaseRefused:     {"您的办件 {number} 未予办理，详情请凭办件号查询。", "Case {number} was refused: see its page for why."},
	NoticeRatingReceived:  {"您对{service}的评价已收到，我们将在 {deadline} 前核实整改并回访。", "Your rating of {service} was received: we will follow it up by {deadline}."},
	NoticeRatingRectified: {"您反映的{service}问题已整改，我们将电话回访。", "What you reported about {service} was put right; we will call you."},
	NoticeRatingRevisit:   {"感谢您接受{service}评价的回访。", "Thank you for taking our call about your rating of {service}."},
}

// fitParam cuts a free text (a service's name) to the provider's length
// rule, ending it with "…"; max 0 keeps it whole.
func fitParam(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// fitParamEnd cuts a counter's name to the provider's length rule
// keeping its end, where halls write the counter's number (综合受理区5号窗口
// → …区5号窗口); max 0 keeps it whole.
func fitParamEnd(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return "…" + string(r[len(r)-(max-1):])
}

// FitList writes a list (the materials of a correction) in at most max
// characters: the names that fit, joined by "、", then "等N项" for all N
// when some were left out; max 0 writes them all.
func FitList(items []string, max int) string {
	all := strings.Join(items, "、")
	if max <= 0 || utf8.RuneCountInString(all) <= max {
		return all
	}
	tail := fmt.Sprintf("等%d项", len(items))
	out := ""
	for _, it := range items {
		next := it
		if out != "" {
			next = out + "、" + it
		}
		if utf8.RuneCountInString(next)+utf8.RuneCountInString(tail) > max {
			break
		}
		out = next
	}
	if out == "" {
		return fitParam(items[0], max-utf8.RuneCountInString(tail)) + tail
	}
	return out + tail
}

// slotParam is a slot's time as messages give it: "12-07 09:30", short
// enough for every provider, in the hall's zone.
func slotParam(t time.Time, loc *time.Location) string { return t.In(loc).Format("01-02 15:04") }

// subjectPlan is one message an event makes due for a subject.
type subjectPlan struct {
	key, number, phone, kind string
	params                   []NoticeParam
	due                      time.Time // a scheduled reminder's time
}

// planSubjects records the messages an event of a booking, a case or a bad
// rating makes due, by the hall's SMS channel; reading only, it answers
// whether the event may make any.
func (e *Engine) planSubjects(tx Tx, st *NotifySettings, hall *Hall, ev *Event, write bool, ord *int, now time.Time) (bool, error) {
	if st.SMS == nil {
		return false, nil
	}
	if e.Node.Edge() {
		// A hall with an edge: its city tells bookings', cases' and
		// ratings' holders, from the events the edge sends up and its
		// own (edge.go); the edge never does, so nobody is told twice.
		return false, nil
	}
	switch {
	case ev.Booking != nil && (ev.Type == EventBookingCreated || ev.Type == EventBookingCancelled || ev.Type == EventBookingNoShow):
	case ev.Case != nil && ev.Type == EventCase:
	case ev.FollowUp != nil && (ev.Type == EventRated || ev.Type == EventFollowUp):
	default:
		return false, nil
	}
	if !write {
		return true, nil
	}
	maxLen := 0
	if e.Channels != nil {
		if ch, err := e.Channels(MediumSMS, st.SMS); err == nil {
			maxLen = ch.Rules().MaxParamLen
		}
	}
	plans, err := e.subjectPlans(tx, st, hall, ev, maxLen, now)
	if err != nil {
		return false, err
	}
	for _, p := range plans {
		if len(st.SMS.Templates) > 0 && st.SMS.Templates[p.kind] == "" {
			continue // the hall registered no template for it
		}
		status := NoticeQueued
		if !p.due.IsZero() {
			status = NoticeScheduled
		}
		n := &Notice{ID: noticeID(), HallID: hall.ID, Day: hall.Day(now), TicketID: p.key, Number: p.number, Medium: MediumSMS,
			Kind: p.kind, Provider: st.SMS.Provider, To: MaskPhone(p.phone), AddressKey: e.notifyKey(MediumSMS, p.phone),
			Params: p.params, Status: status, EventID: ev.ID, Ord: *ord, CreatedAt: now, UpdatedAt: now}
		if status == NoticeScheduled {
			due := p.due
			n.DueAt = &due
		}
		*ord++
		if _, err := tx.InsertNotice(n); err != nil { // false: it has one of the kind already
			return false, err
		}
	}
	return true, nil
}

// subjectPlans works out the messages of an event: its subject, the
// number to send to (none: nothing is due) and the parameters.
func (e *Engine) subjectPlans(tx Tx, st *NotifySettings, hall *Hall, ev *Event, maxLen int, now time.Time) ([]subjectPlan, error) {
	loc := hall.Location()
	serviceName := func(id string) (string, error) {
		svc, err := e.settings.service(tx, hall.ID, id, now)
		if IsNotFound(err) {
			return id, nil
		}
		if err != nil {
			return "", err
		}
		return fitParam(svc.Name, maxLen), nil
	}
	switch ev.Type {
	case EventBookingCreated, EventBookingCancelled, EventBookingNoShow:
		b, err := bookingOfRef(tx, hall.ID, ev.Booking)
		if err != nil || b == nil || b.PhoneSealed == "" {
			return nil, err
		}
		phone := b.PhoneSealed
		if err := e.unseal(&phone); err != nil {
			return nil, err
		}
		svc, err := serviceName(b.ServiceID)
		if err != nil {
			return nil, err
		}
		key, at := SubjectKey(SubjectBooking, b.ID), slotParam(b.SlotStart, loc)
		one := func(kind string, ps ...NoticeParam) subjectPlan {
			return subjectPlan{key: key, number: b.Code, phone: phone, kind: kind, params: ps}
		}
		withCode := []NoticeParam{{"code", b.Code}, {"service", svc}, {"time", at}}
		switch ev.Type {
		case EventBookingCreated:
			out := []subjectPlan{one(NoticeBooked, withCode...)}
			for _, k := range []string{NoticeReminderDay, NoticeReminderHour} {
				if due, ok := ReminderDue(k, b.SlotStart, b.CreatedAt, loc, st.ReminderAt); ok {
					p := one(k, withCode...)
					p.due = due
					out = append(out, p)
				}
			}
			return out, nil
		case EventBookingCancelled:
			return []subjectPlan{one(NoticeBookingCanceled, NoticeParam{"service", svc}, NoticeParam{"time", at})}, nil
		default:
			s, err := tx.BookingSettings(hall.ID)
			if err != nil {
				return nil, err
			}
			strikes, err := tx.PersonStrikes(hall.ID, b.PersonKey, ev.At.Add(-days(s.StrikeWindowDays)))
			if err != nil {
				return nil, err
			}
			active := 0
			for i := range strikes {
				if strikes[i].Active() && !strikes[i].CreatedAt.After(ev.At) {
					active++
				}
			}
			return []subjectPlan{one(NoticeStrike, NoticeParam{"service", svc}, NoticeParam{"time", at},
				NoticeParam{"strikes", strconv.Itoa(max(active, 1))}, NoticeParam{"limit", strconv.Itoa(s.StrikesToSuspend)})}, nil
		}
	case EventCase:
		c, err := e.readCase(tx, ev.Case.Number)
		if IsNotFound(err) {
			return nil, nil
		}
		if err != nil || c.Applicant.Phone == "" {
			return nil, err
		}
		p := subjectPlan{key: SubjectKey(SubjectCase, c.Number), number: c.Number, phone: c.Applicant.Phone,
			params: []NoticeParam{{"number", c.Number}}}
		// The event says what the case became then; the case may have
		// moved on since.
		switch ev.Case.Status {
		case CaseAccepted:
			p.kind = NoticeCaseAccepted
			p.params = append(p.params, NoticeParam{"date", c.PromisedDate})
		case CaseCorrection:
			p.kind = NoticeCaseCorrection
			p.params = append(p.params, NoticeParam{"missing", FitList(c.Missing, maxLen)})
		case CaseFinished:
			p.kind = NoticeCaseFinished
		case CaseRefused, CaseNotAccepted:
			p.kind = NoticeCaseRefused
		default:
			return nil, nil
		}
		return []subjectPlan{p}, nil
	default: // a bad rating, and its follow-up's moves
		kind := ""
		switch {
		case ev.Type == EventRated:
			kind = NoticeRatingReceived
		case ev.FollowUp.Move == FollowUpRectified:
			kind = NoticeRatingRectified
		case ev.FollowUp.Move == FollowUpRevisited:
			kind = NoticeRatingRevisit
		default:
			return nil, nil
		}
		f, err := tx.FollowUp(ev.FollowUp.ID)
		if IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		phone := f.ContactPhone
		if err := e.unseal(&phone); err != nil || phone == "" {
			return nil, err
		}
		svc, err := serviceName(f.ServiceID)
		if err != nil {
			return nil, err
		}
		p := subjectPlan{key: SubjectKey(SubjectFollowUp, strconv.FormatInt(f.ID, 10)), number: f.TicketNumber, phone: phone, kind: kind,
			params: []NoticeParam{{"service", svc}}}
		if kind == NoticeRatingReceived {
			p.params = append(p.params, NoticeParam{"deadline", f.Deadline})
		}
		return []subjectPlan{p}, nil
	}
}

// bookingOfRef reads the booking an event names, nil when it is gone.
func bookingOfRef(tx Tx, hallID string, ref *BookingRef) (*Booking, error) {
	list, err := tx.Bookings(hallID, ref.SlotStart, ref.SlotStart.Add(time.Second))
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == ref.ID {
			return &list[i], nil
		}
	}
	return nil, nil
}

// subjectAddress reads, as a message of a booking, a case or a follow-up
// is sent, the number it goes to, or why it is dropped instead: "stale"
// (the booking is no longer booked, for its booked message and reminders;
// a correction once the case has moved on; a reminder past its use), or
// "opted_out" (the subject or its number is gone).
func (e *Engine) subjectAddress(tx Tx, n *Notice, now time.Time) (addr, drop string, err error) {
	subject, id, ok := ParseSubjectKey(n.TicketID)
	if !ok || subject != NoticeSubject(n.Kind) {
		return "", "opted_out", nil
	}
	switch subject {
	case SubjectBooking:
		b, err := tx.BookingByCode(n.Number)
		if IsNotFound(err) || (err == nil && b.ID != id) {
			return "", "opted_out", nil
		}
		if err != nil {
			return "", "", err
		}
		switch n.Kind {
		case NoticeBooked:
			if b.Status != BookingBooked {
				return "", "stale", nil
			}
		case NoticeReminderDay, NoticeReminderHour:
			if b.Status != BookingBooked || !now.Before(ReminderStale(n.Kind, b.SlotStart)) {
				return "", "stale", nil
			}
		}
		addr = b.PhoneSealed
	case SubjectCase:
		c, err := tx.Case(id)
		if IsNotFound(err) {
			return "", "opted_out", nil
		}
		if err != nil {
			return "", "", err
		}
		if n.Kind == NoticeCaseCorrection && c.Status != CaseCorrection {
			return "", "stale", nil
		}
		addr = c.Applicant.Phone
	case SubjectFollowUp:
		fid, _ := strconv.ParseInt(id, 10, 64)
		f, err := tx.FollowUp(fid)
		if IsNotFound(err) {
			return "", "opted_out", nil
		}
		if err != nil {
			return "", "", err
		}
		addr = f.ContactPhone
	}
	if err := e.unseal(&addr); err != nil {
		return "", "", err
	}
	if addr == "" {
		return "", "opted_out", nil
	}
	return addr, "", nil
}

// QueueDueReminders queues the reminders whose time has come, each in the
// transaction of its booking.reminder event, so the hall's delivery sends
// it; a reminder due in the hall's quiet hours waits for their end, or is
// dropped when that is too late to help, as is one whose booking is no
// longer booked. It returns how many it queued. The server runs it every
// minute (SweepEvery); a read finds out first whether anything is due.
func (e *Engine) QueueDueReminders(ctx context.Context) (int, error) {
	now := e.now()
	var due bool
	err := e.store.View(ctx, func(tx Tx) error {
		ns, err := tx.DueNotices(now, 1)
		due = len(ns) > 0
		return err
	})
	if err != nil || !due {
		return 0, err
	}
	total := 0
	for {
		n, more, err := e.queueDueReminders(ctx, now)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// reminderBatch bounds the reminders one transaction queues: the writer
// (on PostgreSQL every node's) waits for it, so a hall's 18:00 goes in
// short writes with issues and calls between them.
const reminderBatch = 25

// queueDueReminders queues a batch of the due reminders; more reports a
// full batch (there may be others).
func (e *Engine) queueDueReminders(ctx context.Context, now time.Time) (queued int, more bool, err error) {
	err = e.update(ctx, func(tx Tx) error {
		queued = 0
		ns, err := tx.DueNotices(now, reminderBatch)
		if err != nil {
			return err
		}
		more = len(ns) == reminderBatch
		settings := map[string]*NotifySettings{}
		for _, n := range ns {
			st := settings[n.HallID]
			if st == nil {
				if st, err = tx.NotifySettings(n.HallID); IsNotFound(err) {
					st, err = &NotifySettings{}, nil
				}
				if err != nil {
					return err
				}
				settings[n.HallID] = st
			}
			hall, err := e.settings.hall(tx, n.HallID, now)
			if err != nil {
				return err
			}
			n.UpdatedAt = now
			b, err := tx.BookingByCode(n.Number)
			if err != nil && !IsNotFound(err) {
				return err
			}
			if b == nil || b.Status != BookingBooked || st.SMS == nil {
				n.Status, n.Code = NoticeDropped, "stale"
				if st.SMS == nil {
					n.Code = "opted_out"
				}
				if err := tx.UpdateNotice(n); err != nil {
					return err
				}
				continue
			}
			// As things are now: the booking's slot or the hall's hour may
			// have changed since it was planned.
			due, stale := ReminderReplan(n.Kind, b.SlotStart, b.CreatedAt, now, hall.Location(), st.ReminderAt)
			at, wait, drop := ReminderSendAt(n.Kind, b.SlotStart, now, hall.Location(), st.QuietFrom, st.QuietTo)
			switch {
			case stale:
				n.Status, n.Code = NoticeDropped, "stale"
			case due.After(now):
				n.DueAt = &due // its time moved on: not yet
			case drop:
				n.Status, n.Code = NoticeDropped, "stale"
				if QuietAt(now, hall.Location(), st.QuietFrom, st.QuietTo) {
					n.Code = "quiet"
				}
			case wait:
				n.DueAt = &at
			default:
				n.Status, n.Day = NoticeQueued, hall.Day(now)
				if err := tx.AppendEvent(&Event{HallID: n.HallID, Type: EventBookingReminder, At: now, Booking: b.Ref()}); err != nil {
					return err
				}
				queued++
			}
			if err := tx.UpdateNotice(n); err != nil {
				return err
			}
		}
		return nil
	})
	return queued, more, err
}
