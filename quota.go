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
// (greenage.go); other tickets carry no person and count only towards the
// other two. Zero is no limit. Appointment tickets are counted by the booking's own
// slot capacities and never here; walk-ins of every other channel are.
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
// setting), saying when the hall gives tickets of the service again.
func (h *Hall) CheckQuota(svc *Service, c QuotaCounts, now time.Time) error {
	_, _, afternoon := h.HalfDayBounds(now)
	switch {
	case svc.DailyQuota > 0 && c.Day >= svc.DailyQuota:
		return h.quotaError("daily_quota", fmt.Sprintf("%s has given all %d of today's tickets", svc.Name, svc.DailyQuota), h.tomorrow(now))
	case svc.PerPersonDaily > 0 && c.Person >= svc.PerPersonDaily:
		return h.quotaError("per_person_daily", fmt.Sprintf("you have taken %d ticket(s) of %s today, the most one person may", c.Person, svc.Name), h.tomorrow(now))
	case svc.HalfDayQuota > 0 && c.HalfDay >= svc.HalfDayQuota:
		half, when := "morning", "this afternoon from 12:00"
		if afternoon {
			half, when = "afternoon", h.tomorrow(now)
		}
		return h.quotaError("half_day_quota", fmt.Sprintf("%s has given all %d of this %s's tickets", svc.Name, svc.HalfDayQuota, half), when)
	}
	return nil
}

// tomorrow says when the hall's next day's tickets start: its opening
// time, or midnight for a hall without hours.
func (h *Hall) tomorrow(now time.Time) string {
	_, next := h.DayBounds(now)
	at := "00:00"
	if h.OpensAt != "" {
		at = h.OpensAt
	}
	return "tomorrow (" + next.Format(time.DateOnly) + ") from " + at
}

func (h *Hall) quotaError(field, what, when string) error {
	return &Error{Code: EQuotaReached, Field: field, Message: what + "; tickets are given again " + when}
}
