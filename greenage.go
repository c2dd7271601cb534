package civiq

import "time"

// The green channel by age (适老化): a citizen who identifies with a
// resident ID — read by the kiosk's card reader, or the booking's at a
// check-in — and who is at least the hall's ElderAge on the hall's day
// gets the hall's ElderGroup without asking. The ticket records that the
// hall gave it (PriorityBy "age"), on the ticket and in its event; the ID
// itself is never kept, only a keyed hash of it as the ticket's person for
// the per-person quota (quota.go).

// ElderGroup is the green-channel group of older people.
const ElderGroup = "elderly"

// DefaultElderAge is the age from which a hall gives ElderGroup by itself
// unless it says otherwise; MinElderAge and MaxElderAge bound the setting.
const (
	DefaultElderAge = 60
	MinElderAge     = 50
	MaxElderAge     = 100
)

// PriorityByAge is Ticket.PriorityBy of a group the hall gave by age.
const PriorityByAge = "age"

// IDBirthDate is the birth date an ID number holds (ParseIDNumber has
// checked it is a real day).
func IDBirthDate(id string) (year int, month time.Month, day int) {
	b, err := time.Parse("20060102", id[6:14])
	if err != nil || len(id) != 18 {
		return 0, 0, 0
	}
	return b.Year(), b.Month(), b.Day()
}

// AgeOn is how old, in whole years, the holder of a checked ID number is
// on the calendar day of t in loc: one year more from the birthday's day
// on (someone born on 29 February, from 1 March in other years).
func AgeOn(id string, t time.Time, loc *time.Location) int {
	y, m, d := IDBirthDate(id)
	if y == 0 {
		return 0
	}
	l := t.In(loc)
	age := l.Year() - y
	if l.Month() < m || (l.Month() == m && l.Day() < d) {
		age--
	}
	return max(age, 0)
}

// AutoPriority is the green-channel group the hall gives without asking to
// the holder of the checked ID number id at t: ElderGroup when the hall's
// green channel has it and the holder is at least ElderAge on the hall's
// day; "" otherwise.
func (h *Hall) AutoPriority(id string, t time.Time) string {
	if id == "" || !h.HasPriorityGroup(ElderGroup) || AgeOn(id, t, h.Location()) < h.ElderAge {
		return ""
	}
	return ElderGroup
}

// personOfID is the ticket holder (Ticket.Holder) of an ID number: a keyed
// hash, "" without a Sealer (no person is counted then).
func (e *Engine) personOfID(id string) string {
	if id == "" || e.Sealer == nil {
		return ""
	}
	return "id " + e.Sealer.Hash("id", id)
}
