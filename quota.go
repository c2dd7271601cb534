package civiq

import (
	"fmt"
	"time"
)

// Quotas (号源): a service may give at most DailyQuota tickets in the
// hall's local day, HalfDayQuota in each half of it (the morning before
// 12:00 and the afternoon from 12:00, the hall's time), and
// PerPersonDaily to one person in the day (Ticket.Holder): the phone that
// takes remote tickets, the resident ID a kiosk or staff ticket carries
// (greenage.go) or the booking an appointment ticket was checked in from;
// other tickets carry no person and count only towards the other two.
// Zero is no limit. Appointment tickets are limited by the booking's own
// slot capacities, never here, and count towards neither the day nor the
// half-day; they do count as their person's, so whoever came by
// appointment and takes a walk-in ticket of the service the same day has
// used one of their per_person_daily.
// A ticket moved to another service by a transfer counts in the service
// it waits in now.

// MaxQuota is the largest quota a service may set.
const MaxQuota = 100000

// QuotaCounts is what a service gave today before the ticket being
// issued: in the hall's day, in the half of it that holds now, and to the
// ticket's person (0 without one).
type QuotaCounts struct {
	Day, HalfDay, Person int
}

// HasQuota reports whether the service limits its tickets at all, so
// that a service without quotas counts nothing.
func (s *Service) HasQuota() bool {
	return s.DailyQuota > 0 || s.HalfDayQuota > 0 || s.PerPersonDaily > 0
}

// keepQuotas takes from the stored service old the quotas keep names.
func (s *Service) keepQuotas(old *Service, keep KeepQuotas) {
	if keep.Daily {
		s.DailyQuota = old.DailyQuota
	}
	if keep.HalfDay {
		s.HalfDayQuota = old.HalfDayQuota
	}
	if keep.PerPerson {
		s.PerPersonDaily = old.PerPersonDaily
	}
}

func (s *Service) validateQuotas() error {
	for _, q := range []struct {
		field string
		n     int
	}{{"daily_quota", s.DailyQuota}, {"half_day_quota", s.HalfDayQuota}, {"per_person_daily", s.PerPersonDaily}} {
		if q.n < 0 || q.n > MaxQuota {
			return FieldErrorf(q.field, "%s must be a whole number from 0 (no limit) to %d", q.field, MaxQuota)
		}
	}
	return nil
}

// HalfDayBounds returns the half of the hall's local day that holds t:
// the morning runs from midnight to noon, the afternoon from noon to the
// next midnight, both by the hall's clock.
func (h *Hall) HalfDayBounds(t time.Time) (from, to time.Time, afternoon bool) {
	dayFrom, dayTo := h.DayBounds(t)
	noon := time.Date(dayFrom.Year(), dayFrom.Month(), dayFrom.Day(), 12, 0, 0, 0, dayFrom.Location())
	if t.Before(noon) {
		return dayFrom, noon, false
	}
	return noon, dayTo, true
}

// CheckQuota refuses a ticket of the service at now when the counts
// already reach one of its quotas (quota_reached, Field naming the
// setting), saying when the hall gives tickets of the service again
// (Error.Again): this afternoon at 12:00 for a morning's quota, else the
// opening of the hall's next working day by its calendar cal (nil: the
// next day, whatever it is).
func (h *Hall) CheckQuota(svc *Service, c QuotaCounts, now time.Time, cal *Calendar) error {
	_, noon, afternoon := h.HalfDayBounds(now)
	switch {
	case svc.DailyQuota > 0 && c.Day >= svc.DailyQuota:
		return h.quotaError("daily_quota", fmt.Sprintf("%s has given all %d of today's tickets", svc.Name, svc.DailyQuota), now, h.nextOpening(now, cal))
	case svc.PerPersonDaily > 0 && c.Person >= svc.PerPersonDaily:
		return h.quotaError("per_person_daily", fmt.Sprintf("you have taken %d ticket(s) of %s today, the most one person may", c.Person, svc.Name), now, h.nextOpening(now, cal))
	case svc.HalfDayQuota > 0 && c.HalfDay >= svc.HalfDayQuota:
		if afternoon {
			return h.quotaError("half_day_quota", fmt.Sprintf("%s has given all %d of this afternoon's tickets", svc.Name, svc.HalfDayQuota), now, h.nextOpening(now, cal))
		}
		return h.quotaError("half_day_quota", fmt.Sprintf("%s has given all %d of this morning's tickets", svc.Name, svc.HalfDayQuota), now, noon)
	}
	return nil
}

// nextOpening is when the hall's next working day after now's (by cal;
// every day without one) opens: its opening time, or midnight for a hall
// without hours.
func (h *Hall) nextOpening(now time.Time, cal *Calendar) time.Time {
	_, next := h.DayBounds(now)
	for i := 0; cal != nil && i < 60 && !cal.Working(time.Date(next.Year(), next.Month(), next.Day(), 0, 0, 0, 0, time.UTC)); i++ {
		next = time.Date(next.Year(), next.Month(), next.Day()+1, 0, 0, 0, 0, next.Location())
	}
	if at, err := time.Parse("15:04", h.OpensAt); err == nil {
		next = time.Date(next.Year(), next.Month(), next.Day(), at.Hour(), at.Minute(), 0, 0, next.Location())
	}
	return next
}

// quotaError is the refusal of a quota named field, with when tickets are
// given again: this afternoon from 12:00, tomorrow (2031-03-05) from
// 08:30, or on a later working day (2031-03-09) from 08:30.
func (h *Hall) quotaError(field, what string, now, again time.Time) error {
	today, tomorrow := h.DayBounds(now)
	when := "on " + again.Format(time.DateOnly) + " from " + again.Format("15:04")
	switch {
	case again.Before(tomorrow) && !again.Before(today):
		when = "this afternoon from " + again.Format("15:04")
	case h.Day(again) == h.Day(tomorrow):
		when = "tomorrow (" + again.Format(time.DateOnly) + ") from " + again.Format("15:04")
	}
	return &Error{Code: EQuotaReached, Field: field, Message: what + "; tickets are given again " + when, Again: again}
}
