package civiq

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// No-shows (爽约). A booking not checked in by CheckInLateMinutes after its
// slot's start is a no-show, and a strike against the person who booked
// it. StrikesToSuspend strikes within StrikeWindowDays suspend the person's
// booking in the hall for SuspendDays from the last of them. The first
// strike gives an SMS-ready warning text; staff may clear a strike, giving
// a reason, which lifts a suspension it caused.

// Strike is one no-show held against a person.
type Strike struct {
	ID        int64  `json:"id"`
	HallID    string `json:"hall_id"`
	BookingID string `json:"booking_id"`
	// The booking's code, service and slot, and its person masked.
	BookingCode string    `json:"booking_code"`
	ServiceID   string    `json:"service_id"`
	SlotStart   time.Time `json:"slot_start"`
	Name        string    `json:"name"`
	Phone       string    `json:"phone"`
	IDNumber    string    `json:"id_number"`
	PersonKey   string    `json:"-"`
	// CreatedAt is when the no-show became one: the end of check-in.
	CreatedAt time.Time `json:"created_at"`
	// Warning is the SMS-ready text for the person, at the first strike
	// and when a suspension begins; empty otherwise.
	Warning     string     `json:"warning,omitempty"`
	ClearedAt   *time.Time `json:"cleared_at,omitempty"`
	ClearedBy   string     `json:"cleared_by,omitempty"`
	ClearReason string     `json:"clear_reason,omitempty"`
	// SuspendedUntil is the end of the person's suspension in force when
	// listed, if any.
	SuspendedUntil *time.Time `json:"suspended_until,omitempty"`
}

// Active reports whether the strike still counts.
func (s *Strike) Active() bool { return s.ClearedAt == nil }

// In shows the strike's times in loc.
func (s *Strike) In(loc *time.Location) {
	s.SlotStart, s.CreatedAt = s.SlotStart.In(loc), s.CreatedAt.In(loc)
	for _, p := range []**time.Time{&s.ClearedAt, &s.SuspendedUntil} {
		if *p != nil {
			v := (*p).In(loc)
			*p = &v
		}
	}
}

// SuspendedUntil is the end of the latest suspension that a person's
// strikes cause: for every strike that makes StrikesToSuspend active
// strikes within StrikeWindowDays (itself and those before it), a
// suspension of SuspendDays from it. It is the zero time when there is
// none; the person is suspended while it is after now.
func SuspendedUntil(strikes []Strike, s *BookingSettings) time.Time {
	var active []time.Time
	for i := range strikes {
		if strikes[i].Active() {
			active = append(active, strikes[i].CreatedAt)
		}
	}
	sort.Slice(active, func(i, j int) bool { return active[i].Before(active[j]) })
	window := days(s.StrikeWindowDays)
	var until time.Time
	for i, at := range active {
		n := 0
		for j := 0; j <= i; j++ {
			if at.Sub(active[j]) < window {
				n++
			}
		}
		if n >= s.StrikesToSuspend {
			if u := at.Add(days(s.SuspendDays)); u.After(until) {
				until = u
			}
		}
	}
	return until
}

// StrikeWarning is the SMS-ready text sent at a person's first strike.
func StrikeWarning(hallName, serviceName string, slot time.Time, s *BookingSettings) string {
	return fmt.Sprintf("【%s】您预约的%s「%s」未在开始后%d分钟内签到，已记爽约1次。%d天内爽约%d次将暂停预约%d天。如不能前往，请至少提前%d分钟取消预约。",
		hallName, slot.Format("1月2日15:04"), serviceName, s.CheckInLateMinutes, s.StrikeWindowDays, s.StrikesToSuspend, s.SuspendDays, s.CancelMinutes)
}

// SuspensionNotice is the SMS-ready text sent when a suspension begins.
func SuspensionNotice(hallName string, strikes int, until time.Time, s *BookingSettings) string {
	return fmt.Sprintf("【%s】您在%d天内已爽约%d次，%s前暂停在本大厅预约。如有异议，请联系大厅工作人员。",
		hallName, s.StrikeWindowDays, strikes, until.Format("2006年1月2日"))
}

// sweepBatch bounds the no-shows one sweep records.
const sweepBatch = 500

// sweepHall records the no-shows of a hall up to now: each booking still
// booked CheckInLateMinutes after its start becomes no_show with a strike,
// each with its event.
func (e *Engine) sweepHall(tx Tx, hall *Hall, s *BookingSettings, now time.Time) (int, error) {
	late := minutes(s.CheckInLateMinutes)
	over, err := tx.OverdueBookings(hall.ID, now.Add(-late), sweepBatch)
	if err != nil || len(over) == 0 {
		return 0, err
	}
	loc := hall.Location()
	svcNames := map[string]string{}
	for i := range over {
		b := &over[i]
		at := b.SlotStart.Add(late)
		b.Status, b.NoShowAt = BookingNoShow, &at
		if err := tx.UpdateBooking(b); err != nil {
			return 0, err
		}
		prior, err := tx.PersonStrikes(hall.ID, b.PersonKey, at.Add(-days(s.StrikeWindowDays+s.SuspendDays)))
		if err != nil {
			return 0, err
		}
		st := &Strike{HallID: hall.ID, BookingID: b.ID, PersonKey: b.PersonKey, CreatedAt: at}
		active := 0
		for j := range prior {
			if prior[j].Active() && at.Sub(prior[j].CreatedAt) < days(s.StrikeWindowDays) {
				active++
			}
		}
		before := SuspendedUntil(prior, s)
		after := SuspendedUntil(append(prior, *st), s)
		switch {
		case after.After(at) && !before.After(at):
			st.Warning = SuspensionNotice(hall.Name, active+1, after.In(loc), s)
		case active == 0:
			name, ok := svcNames[b.ServiceID]
			if !ok {
				name = b.ServiceID
				if svc, err := tx.Service(hall.ID, b.ServiceID); err == nil {
					name = svc.Name
				}
				svcNames[b.ServiceID] = name
			}
			st.Warning = StrikeWarning(hall.Name, name, b.SlotStart.In(loc), s)
		}
		if err := tx.InsertStrike(st); err != nil {
			return 0, err
		}
		if err := tx.AppendEvent(&Event{HallID: hall.ID, Type: EventBookingNoShow, At: at, Booking: b.Ref()}); err != nil {
			return 0, err
		}
	}
	return len(over), nil
}

// SweepNoShows records the no-shows of a hall, or of every hall when
// hallID is "", and returns how many it recorded. Booking, the staff's list
// and the server's minute tick run it, so no-shows count on time.
func (e *Engine) SweepNoShows(ctx context.Context, hallID string) (int, error) {
	halls := func(tx Tx) ([]Hall, error) {
		if hallID == "" {
			return tx.Halls()
		}
		h, err := tx.Hall(hallID)
		if err != nil {
			return nil, err
		}
		return []Hall{*h}, nil
	}
	// Most of the time there is nothing to record: a read finds out
	// without taking the writer.
	due := false
	err := e.store.View(ctx, func(tx Tx) error {
		hs, err := halls(tx)
		if err != nil {
			return err
		}
		now := e.now()
		for i := range hs {
			s, err := tx.BookingSettings(hs[i].ID)
			if err != nil {
				return err
			}
			over, err := tx.OverdueBookings(hs[i].ID, now.Add(-minutes(s.CheckInLateMinutes)), 1)
			if err != nil {
				return err
			}
			if len(over) > 0 {
				due = true
				return nil
			}
		}
		return nil
	})
	if err != nil || !due {
		return 0, err
	}
	n := 0
	err = e.update(ctx, func(tx Tx) error {
		hs, err := halls(tx)
		if err != nil {
			return err
		}
		now := e.now()
		for i := range hs {
			s, err := tx.BookingSettings(hs[i].ID)
			if err != nil {
				return err
			}
			k, err := e.sweepHall(tx, &hs[i], s, now)
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}

// SweepEvery records no-shows, and queues the bookings' reminders that
// came due (notify_subjects.go), every interval until stop is closed, for
// the server.
func (e *Engine) SweepEvery(interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if _, err := e.SweepNoShows(context.Background(), ""); err != nil {
				// The next tick tries again; nothing personal is in err.
				slog.Warn("recording no-shows", "err", err)
			}
			if _, err := e.QueueDueReminders(context.Background()); err != nil {
				slog.Warn("queueing reminders", "err", err)
			}
		case <-stop:
			return
		}
	}
}

// Strikes lists a hall's strikes of the last StrikeWindowDays+SuspendDays,
// newest first, with each person's suspension in force; all includes the
// cleared ones.
func (e *Engine) Strikes(ctx context.Context, hallID string, all bool) ([]Strike, error) {
	if _, err := e.SweepNoShows(ctx, hallID); err != nil {
		return nil, err
	}
	out := []Strike{}
	err := e.store.View(ctx, func(tx Tx) error {
		hall, err := tx.Hall(hallID)
		if err != nil {
			return err
		}
		s, err := tx.BookingSettings(hallID)
		if err != nil {
			return err
		}
		now := e.now()
		list, err := tx.HallStrikes(hallID, now.Add(-days(s.StrikeWindowDays+s.SuspendDays)))
		if err != nil {
			return err
		}
		byPerson := map[string][]Strike{}
		for _, st := range list {
			byPerson[st.PersonKey] = append(byPerson[st.PersonKey], st)
		}
		loc := hall.Location()
		for _, st := range list {
			if !all && !st.Active() {
				continue
			}
			if until := SuspendedUntil(byPerson[st.PersonKey], s); until.After(now) {
				st.SuspendedUntil = &until
			}
			st.In(loc)
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// ClearStrike takes a strike back, for a reason staff give (by is who).
func (e *Engine) ClearStrike(ctx context.Context, hallID string, id int64, reason, by string) (*Strike, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, FieldErrorf("reason", "a reason is required to clear a strike")
	}
	if utf8.RuneCountInString(reason) > 200 {
		return nil, FieldErrorf("reason", "reason is at most 200 characters")
	}
	var st *Strike
	err := e.update(ctx, func(tx Tx) error {
		hall, err := tx.Hall(hallID)
		if err != nil {
			return err
		}
		if st, err = tx.Strike(hallID, id); err != nil {
			return err
		}
		if !st.Active() {
			return Errorf(EConflict, "this strike was already cleared")
		}
		now := e.now()
		st.ClearedAt, st.ClearedBy, st.ClearReason = &now, by, reason
		if err := tx.UpdateStrike(st); err != nil {
			return err
		}
		st.In(hall.Location())
		return tx.AppendEvent(&Event{HallID: hallID, Type: EventStrikeCleared, At: now,
			Booking: &BookingRef{ID: st.BookingID, ServiceID: st.ServiceID, SlotStart: st.SlotStart.UTC(), Status: BookingNoShow}})
	})
	return st, err
}
