package civiq_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// bornOn is a valid ID number of someone born on the day (YYYYMMDD).
func bornOn(day string) string {
	first := "110105" + day + "123"
	return first + string(civiq.IDCheckChar(first))
}

// Age by the ID's birth date, on the hall's day, across birthdays, leap
// days and time zones.
func TestAgeOn(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		birth string
		at    time.Time
		loc   *time.Location
		want  int
	}{
		{"the day before the 60th birthday", "19710305", time.Date(2031, 3, 4, 23, 59, 0, 0, shanghai), shanghai, 59},
		{"the 60th birthday, at midnight", "19710305", time.Date(2031, 3, 5, 0, 0, 0, 0, shanghai), shanghai, 60},
		{"after the birthday", "19710305", time.Date(2031, 12, 31, 12, 0, 0, 0, shanghai), shanghai, 60},
		{"a month before", "19710305", time.Date(2031, 2, 5, 12, 0, 0, 0, shanghai), shanghai, 59},
		{"the birthday in Shanghai is still the day before in UTC", "19710305", time.Date(2031, 3, 4, 16, 0, 0, 0, time.UTC), shanghai, 60},
		{"the same instant in New York is the 4th", "19710305", time.Date(2031, 3, 4, 16, 0, 0, 0, time.UTC), ny, 59},
		{"born 29 February: 28 February of a common year", "19720229", time.Date(2031, 2, 28, 12, 0, 0, 0, shanghai), shanghai, 58},
		{"born 29 February: 1 March of a common year", "19720229", time.Date(2031, 3, 1, 0, 0, 0, 0, shanghai), shanghai, 59},
		{"born 29 February: the leap day itself", "19720229", time.Date(2032, 2, 29, 0, 0, 0, 0, shanghai), shanghai, 60},
		{"born 28 February, seen 1 March", "19710228", time.Date(2031, 3, 1, 0, 0, 0, 0, shanghai), shanghai, 60},
		{"born 31 December, seen 1 January", "19701231", time.Date(2031, 1, 1, 0, 0, 0, 0, shanghai), shanghai, 60},
		{"a baby", "20310301", time.Date(2031, 3, 4, 0, 0, 0, 0, shanghai), shanghai, 0},
		{"born after the day (a wrong clock)", "20320101", time.Date(2031, 3, 4, 0, 0, 0, 0, shanghai), shanghai, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := civiq.ParseIDNumber(bornOn(c.birth))
			if err != nil {
				t.Fatal(err)
			}
			if got := civiq.AgeOn(id, c.at, c.loc); got != c.want {
				t.Fatalf("AgeOn(%s, %v) = %d, want %d", c.birth, c.at, got, c.want)
			}
		})
	}
	// The rule: ElderAge and the hall's elderly group.
	h := &civiq.Hall{ID: "h", Name: "h", Timezone: "Asia/Shanghai"}
	h.Defaults()
	at := time.Date(2031, 3, 5, 9, 0, 0, 0, shanghai)
	for _, c := range []struct {
		name   string
		age    int
		groups []string
		birth  string
		want   string
	}{
		{"60 today, default age", 0, nil, "19710305", civiq.ElderGroup},
		{"60 tomorrow", 0, nil, "19710306", ""},
		{"65 wanted, 64", 65, nil, "19660306", ""},
		{"65 wanted, 65", 65, nil, "19660305", civiq.ElderGroup},
		{"no elderly group in the hall", 0, []string{"disabled"}, "19400101", ""},
		{"no ID", 0, nil, "", ""},
	} {
		hc := *h
		if c.age != 0 {
			hc.ElderAge = c.age
		}
		if c.groups != nil {
			hc.PriorityGroups = c.groups
		}
		id := ""
		if c.birth != "" {
			id = bornOn(c.birth)
		}
		if got := hc.AutoPriority(id, at); got != c.want {
			t.Errorf("%s: AutoPriority = %q, want %q", c.name, got, c.want)
		}
	}
}

// The engine gives the elderly group by itself to a kiosk ticket whose ID
// says 60 or more, records it on the ticket and in its event, keeps a
// group the citizen chose, refuses an ID from a phone and a wrong ID, and
// counts the per-person quota by the ID.
func TestGreenChannelByAge(t *testing.T) {
	e := newEnv(t)
	e.eng.Sealer = testSealer(t)
	now := e.clock()
	old := bornOn(now.In(shanghai).AddDate(-60, 0, 0).Format("20060102"))
	young := bornOn(now.In(shanghai).AddDate(-60, 0, 1).Format("20060102"))
	kiosk := func(id, group string) (*civiq.Ticket, error) {
		return e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk, IDNumber: id, PriorityGroup: group}, nil)
	}
	tk, err := kiosk(old, "")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Priority != civiq.PriorityPriority || tk.PriorityGroup != civiq.ElderGroup || tk.PriorityBy != civiq.PriorityByAge {
		t.Fatalf("60 today: %s %s by %q", tk.Priority, tk.PriorityGroup, tk.PriorityBy)
	}
	evs := e.take()
	if len(evs) != 1 || evs[0].Ticket.PriorityBy != civiq.PriorityByAge || evs[0].Ticket.PriorityGroup != civiq.ElderGroup {
		t.Fatalf("the event does not record it: %+v", evs)
	}
	if got, _ := e.eng.Ticket(e.ctx, tk.ID); got.PriorityBy != civiq.PriorityByAge || got.Holder != "" && got.Holder[:3] != "id " {
		t.Fatalf("as stored: by %q, holder %q", got.PriorityBy, got.Holder)
	}
	if tk, err = kiosk(young, ""); err != nil || tk.Priority != civiq.PriorityNormal || tk.PriorityBy != "" {
		t.Fatalf("a day short of 60: %v %+v", err, tk)
	}
	if tk, err = kiosk(young, "disabled"); err != nil || tk.PriorityGroup != "disabled" || tk.PriorityBy != "" {
		t.Fatalf("a chosen group: %v %+v", err, tk)
	}
	if tk, err = kiosk(old, "disabled"); err != nil || tk.PriorityGroup != "disabled" || tk.PriorityBy != "" {
		t.Fatalf("a chosen group stays chosen: %v %+v", err, tk)
	}
	e.take()
	var ce *civiq.Error
	_, err = e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelRemote, IDNumber: old}, nil)
	if !errors.As(err, &ce) || ce.Code != civiq.EInvalid || ce.Field != "id_number" {
		t.Fatalf("an ID from a phone: %v", err)
	}
	wrong := old[:17] + "1"
	if old[17] == '1' {
		wrong = old[:17] + "2"
	}
	if _, err = kiosk(wrong, ""); civiq.ErrorCode(err) != civiq.EInvalidIDNumber {
		t.Fatalf("a wrong check character: %v", err)
	}
	if evs := e.take(); len(evs) != 0 {
		t.Fatalf("refusals wrote %d events", len(evs))
	}

	// The hall's own age, and a hall without the elderly group.
	hall, err := e.eng.Hall(e.ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	hall.ElderAge = 65
	if err := e.eng.SaveHall(e.ctx, hall); err != nil {
		t.Fatal(err)
	}
	if tk, err = kiosk(old, ""); err != nil || tk.PriorityBy != "" {
		t.Fatalf("60 in a hall of 65: %v %+v", err, tk)
	}
	hall.ElderAge = 49
	var fe *civiq.Error
	if err := e.eng.SaveHall(e.ctx, hall); !errors.As(err, &fe) || fe.Field != "elder_age" {
		t.Fatalf("elder_age 49: %v", err)
	}

	// The per-person quota counts the ID's tickets at the kiosk.
	_, svcs, _ := civiq.DemoHall()
	svc := &svcs[1]
	svc.PerPersonDaily = 1
	if err := e.eng.SaveService(e.ctx, svc, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	take := func(id string) error {
		_, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: svc.ID, Channel: civiq.ChannelKiosk, IDNumber: id}, nil)
		return err
	}
	if err := take(young); err != nil {
		t.Fatal(err)
	}
	if err := take(young); civiq.ErrorCode(err) != civiq.EQuotaReached {
		t.Fatalf("the same ID twice in a day: %v", err)
	}
	if err := take(old); err != nil {
		t.Fatalf("another ID: %v", err)
	}
	if err := take(""); err != nil {
		t.Fatalf("no ID: %v", err)
	}
}

// A check-in gives the green channel by the booking's ID (a person born
// 1950, 76 in 2026), with the code and the last 4 characters only; a
// younger person's check-in stays normal.
func TestCheckInGreenByAge(t *testing.T) {
	e := newBookingEnv(t)
	oldID := bornOn("19500307")
	b, err := e.eng.Book(e.ctx, civiq.BookRequest{HallID: "demo", ServiceID: "property", SlotStart: slot(3, 10, 0),
		Name: "李老", Phone: "13800000077", IDNumber: oldID})
	if err != nil {
		t.Fatal(err)
	}
	young := e.mustBook("property", slot(3, 10, 0), 2)
	e.set(time.Date(2026, 3, 3, 9, 40, 0, 0, shanghai))
	e.take()
	tk, err := e.checkIn(b.Code, civiq.Last4(oldID))
	if err != nil {
		t.Fatal(err)
	}
	if tk.Channel != civiq.ChannelAppointment || tk.PriorityGroup != civiq.ElderGroup || tk.PriorityBy != civiq.PriorityByAge {
		t.Fatalf("76 at check-in: %s %s %s by %q", tk.Channel, tk.Priority, tk.PriorityGroup, tk.PriorityBy)
	}
	if evs := e.take(); len(evs) != 1 || evs[0].Ticket.PriorityBy != civiq.PriorityByAge {
		t.Fatalf("the event does not record it")
	}
	if tk, err = e.checkIn(young.Code, civiq.Last4(idOf(2))); err != nil || tk.Priority != civiq.PriorityNormal || tk.PriorityBy != "" {
		t.Fatalf("36 at check-in: %v %+v", err, tk)
	}

	// The booking's ID is its ticket's person: with per_person_daily 1,
	// the same ID's walk-in ticket of the service that day is refused,
	// another ID's is not, and the appointment itself was not limited.
	_, svcs, _ := civiq.DemoHall()
	svc := svcs[slices.IndexFunc(svcs, func(s civiq.Service) bool { return s.ID == "property" })]
	svc.PerPersonDaily = 1
	if err := e.eng.SaveService(e.ctx, &svc, civiq.KeepQuotas{}); err != nil {
		t.Fatal(err)
	}
	walkIn := func(id string) error {
		_, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "property", Channel: civiq.ChannelKiosk, IDNumber: id}, nil)
		return err
	}
	if err := walkIn(oldID); civiq.ErrorCode(err) != civiq.EQuotaReached {
		t.Fatalf("a walk-in of the ID that came by appointment: %v", err)
	}
	if err := walkIn(idOf(3)); err != nil {
		t.Fatalf("another ID: %v", err)
	}
}
