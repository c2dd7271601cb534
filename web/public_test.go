package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

// TestPublicViewsHoldNoTicketKey runs a busy day in the demo hall (kiosk,
// phone, staff and appointment tickets, green-channel groups, calls,
// recalls, transfers, no-shows, returns, cancels, ratings by the holder and
// by the rater, a pause, announcements) and then reads every public
// surface: the public event stream live and replayed from the start (also
// as an admin asks it with ?view=public), the hall's status, counters,
// services and waits, the display, kiosk, rating, booking and guide pages,
// and the phone page of one ticket. None may carry
// a ticket's id (the holder's key), a ticket's priority group or the
// booked person's name, phone or ID number; the phone page carries only its
// own ticket's id.
func TestPublicViewsHoldNoTicketKey(t *testing.T) {
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{0x51}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	monday := time.Date(2031, 3, 3, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	s := civiqtest.New(t, func(s *civiqtest.Server) {
		s.Engine.Sealer = sealer
		s.Clock.Set(monday)
		s.API.Heartbeat = 100 * time.Millisecond // a ping ends each replay read below
	})
	live := openPublicStream(t, s)

	// A booking for Tuesday 10:00, by a citizen who gives their name, phone
	// and ID number.
	person := map[string]string{"service_id": "property", "slot_start": "2031-03-04T10:00:00+08:00",
		"name": "欧阳晓明", "phone": "13912345678", "id_number": kioskPerson(7)}
	var booked struct{ Booking struct{ Code string } }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/bookings", "", person, &booked); st != 201 {
		t.Fatalf("book: %d", st)
	}
	s.Clock.Set(monday.Add(25*time.Hour + 45*time.Minute)) // Tuesday 09:45
	admin := s.Login(t, "admin", civiqtest.AdminPassword)  // sessions last 12 hours
	s.Admin = admin
	staff := s.User(t, "clerk", "staff", "demo")
	kiosk := pairDevice(t, s.Engine, "kiosk", "")
	rater := pairDevice(t, s.Engine, "rater", "1")

	var ids []string
	issue := func(token string, body map[string]string) ctrTicket {
		t.Helper()
		var out struct{ Ticket ctrTicket }
		if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", token, body, &out); st != 201 {
			t.Fatalf("issue %v: %d", body, st)
		}
		ids = append(ids, out.Ticket.ID)
		return out.Ticket
	}
	act := func(id, action string, body any) {
		t.Helper()
		if st := s.Call(t, "POST", "/api/v1/tickets/"+id+"/"+action, staff, body, nil); st != 200 {
			t.Fatalf("%s %s: %d", action, id, st)
		}
	}
	call := func(counter string) ctrTicket {
		t.Helper()
		var out struct{ Ticket ctrTicket }
		if st := s.Call(t, "POST", "/api/v1/halls/demo/counters/"+counter+"/call-next", staff, nil, &out); st != 200 {
			t.Fatalf("call-next at %s: %d", counter, st)
		}
		return out.Ticket
	}

	ill := issue(kiosk, map[string]string{"service_id": "general", "priority_group": "seriously_ill"})
	elderly := issue(staff, map[string]string{"service_id": "social", "priority_group": "elderly"})
	for range 3 {
		issue(kiosk, map[string]string{"service_id": "general"})
	}
	phone := issue("", map[string]string{"service_id": "general", "channel": "remote"})
	leaving := issue("", map[string]string{"service_id": "tax", "channel": "remote"})
	tax := issue(kiosk, map[string]string{"service_id": "tax"})
	issue(kiosk, map[string]string{"service_id": "property"})
	var checkedIn struct{ Ticket ctrTicket }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/checkins", kiosk, map[string]string{"code": booked.Booking.Code, "id_last4": civiq.Last4(person["id_number"])}, &checkedIn); st != 201 {
		t.Fatalf("check-in: %d", st)
	}
	ids = append(ids, checkedIn.Ticket.ID)

	// Counter 1: the green channel first, recalled, served, rated at the
	// counter's rater.
	if got := call("1"); got.ID != ill.ID {
		t.Fatalf("counter 1 called %s, not the green-channel ticket %s", got.Number, ill.Number)
	}
	act(ill.ID, "recall", nil)
	act(ill.ID, "start", nil)
	act(ill.ID, "finish", nil)
	var last struct{ Ticket struct{ ID, Number string } }
	if st := s.Call(t, "GET", "/api/v1/halls/demo/counters/1/last-done", rater, nil, &last); st != 200 || last.Ticket.ID != ill.ID {
		t.Fatalf("the rater's last-done: %d %+v", st, last.Ticket)
	}
	if st := s.Call(t, "POST", "/api/v1/tickets/"+ill.ID+"/rating", rater, map[string]any{"score": 5}, nil); st != 201 {
		t.Fatalf("rater's rating: %d", st)
	}
	// Counter 2: the elderly green channel of social insurance, then a
	// walk-in served and rated badly from the phone, with a phone number.
	call("2")
	act(elderly.ID, "finish", nil)
	walkIn := call("2")
	act(walkIn.ID, "finish", nil)
	bad := map[string]any{"score": 1, "reasons": []string{"等候时间长"}, "comment": "太慢", "contact_phone": "13800001111"}
	if st := s.Call(t, "POST", "/api/v1/tickets/"+walkIn.ID+"/rating", "", bad, nil); st != 201 {
		t.Fatalf("phone rating: %d", st)
	}
	// Counter 5: a no-show that comes back late, then a transfer.
	if got := call("5"); got.ID != leaving.ID {
		t.Fatalf("counter 5 called %s, want %s", got.Number, leaving.Number)
	}
	act(leaving.ID, "no-show", nil)
	act(leaving.ID, "return", nil)
	call("5")
	act(tax.ID, "transfer", map[string]string{"service_id": "general"})
	// Counter 3: the appointment (or the walk-in) stays called there.
	call("3")
	// The phone's holder gives up; counter 4 pauses; announcements.
	if st := s.Call(t, "POST", "/api/v1/tickets/"+leaving.ID+"/cancel", "", nil, nil); st != 200 {
		t.Fatalf("cancel by the holder: %d", st)
	}
	if st := s.Call(t, "POST", "/api/v1/halls/demo/counters/4/status", staff, map[string]string{"status": "paused", "reason": "暂离"}, nil); st != 200 {
		t.Fatalf("pause: %d", st)
	}
	for _, text := range []string{"请保持安静", "午休时间 12:00-13:00"} {
		if st := s.Call(t, "POST", "/api/v1/halls/demo/announcements", admin, map[string]string{"text": text}, nil); st != 201 {
			t.Fatalf("announce: %d", st)
		}
	}
	call("6") // a ticket stays called at counter 6 too

	// The staff view of the day holds every ticket's id: the ids to look
	// for, and the last event to wait for.
	staffDay := replay(t, s, admin, "")
	lastID := regexp.MustCompile(`(?m)^id: (\d+)$`).FindAllStringSubmatch(staffDay, -1)
	if len(lastID) < 30 {
		t.Fatalf("the staff stream replayed %d events", len(lastID))
	}
	for _, m := range regexp.MustCompile(`"id":"([a-z2-7]{24})"`).FindAllStringSubmatch(staffDay, -1) {
		ids = append(ids, m[1])
	}
	if !strings.Contains(staffDay, ill.ID) {
		t.Fatal("the staff stream lacks the tickets' ids")
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	// forbidden is what no public surface may hold: every ticket's id, every
	// ticket's priority group, and the booked person.
	// The phone page shows its own ticket whole (`"priority":"normal"`):
	// there only other tickets' groups are looked for.
	groupValues := []string{"seriously_ill", "elderly"}
	groups := append([]string{`"priority_group"`, `"priority":`}, groupValues...)
	people := []string{person["name"], person["phone"], person["id_number"], "13800001111"}
	check := func(name, body string, own string, groups []string) {
		t.Helper()
		if body == "" {
			t.Errorf("%s: empty", name)
		}
		for _, id := range ids {
			if id != own && strings.Contains(body, id) {
				t.Errorf("%s carries the ticket id %s", name, id)
			}
		}
		for _, g := range groups {
			if strings.Contains(body, g) {
				t.Errorf("%s carries a priority group: %s", name, g)
			}
		}
		for _, p := range people {
			if strings.Contains(body, p) {
				t.Errorf("%s carries personal data: %s", name, p)
			}
		}
	}

	check("the public stream replayed", replay(t, s, "", ""), "", groups)
	// A public screen where an admin is signed in asks for the public view.
	check("the public view asked by an admin", replay(t, s, admin, "?view=public"), "", groups)
	check("the public stream live", live.until(t, "id: "+lastID[len(lastID)-1][1]+"\n"), "", groups)
	for _, path := range []string{"/api/v1/halls/demo/status", "/api/v1/halls/demo/counters", "/api/v1/halls/demo/services",
		"/api/v1/halls/demo/waits", "/api/v1/halls", "/api/v1/halls/demo/ratings/public?month=2031-03"} {
		res, body := s.Page(t, path, "")
		if res.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, res.StatusCode)
		}
		check(path, body, "", groups)
	}
	if _, body := s.Page(t, "/api/v1/halls/demo/status", ""); !strings.Contains(body, `"current_number"`) || !strings.Contains(body, ill.Number) {
		t.Errorf("the status lacks the numbers: %s", body)
	}
	// Pages: the hall's settings list the groups a kiosk offers (not whose
	// ticket has which), so the kiosk page is read for ids and people only.
	for _, page := range []struct {
		path   string
		groups []string
	}{
		{"/halls/demo/display", groups}, {"/halls/demo/display?lang=en", groups}, {"/halls/demo/rate/1", groups},
		{"/halls/demo/kiosk", nil}, {"/halls/demo/book", groups}, {"/halls/demo/guides", groups}, {"/", groups},
		// Not signed in: the pairing screen of a counter with a ticket called.
		// Its strings name the groups (labels, the out-of-turn hint), so
		// there the fields that would tie a group to a ticket are looked for.
		{"/halls/demo/counter/6?device", groups[:2]},
	} {
		res, body := s.Page(t, page.path, "")
		if res.StatusCode != 200 {
			t.Errorf("GET %s: %d", page.path, res.StatusCode)
		}
		check(page.path, body, "", page.groups)
	}
	// The phone page of a waiting ticket: its own id, no one else's.
	res, body := s.Page(t, "/t/"+phone.ID, "")
	if res.StatusCode != 200 || !strings.Contains(body, phone.Number) {
		t.Errorf("the phone page: %d", res.StatusCode)
	}
	check("the phone page of "+phone.Number, body, phone.ID, groupValues)
}

// publicStream is an anonymous reader of the demo hall's event stream,
// from the moment it opens.
type publicStream struct {
	mu   sync.Mutex
	buf  strings.Builder
	more chan struct{}
}

func openPublicStream(t *testing.T, s *civiqtest.Server) *publicStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/v1/halls/demo/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		cancel()
		t.Fatalf("open the public stream: %v %v", res, err)
	}
	p := &publicStream{more: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			p.mu.Lock()
			p.buf.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { cancel(); res.Body.Close(); <-done })
	return p
}

// until returns what the stream has carried once it holds want.
func (p *publicStream) until(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		got := p.buf.String()
		p.mu.Unlock()
		if strings.Contains(got, want) {
			return got
		}
		select {
		case <-p.more:
		case <-deadline:
			t.Fatalf("the public stream never carried %q", want)
		}
	}
}

// replay reads the demo hall's event stream from its first event (as the
// staff view with a token, else the public one; query, "?view=public" or
// "", is the stream's) up to the first heartbeat after the replay.
func replay(t *testing.T, s *civiqtest.Server, token, query string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/v1/halls/demo/events"+query, nil)
	req.Header.Set("Last-Event-ID", "0")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("replay: %v %v", res, err)
	}
	defer res.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if sc.Text() == ": ping" {
			return b.String()
		}
		fmt.Fprintln(&b, sc.Text())
	}
	t.Fatalf("the replay ended without a heartbeat: %v", sc.Err())
	return ""
}
