package civiq

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"
)

// fullTicket is a ticket with every field set, personal-ish ones included,
// to see what the event views leave out.
func fullTicket() *Ticket {
	called, serving := at(10), at(12)
	pos, eta := 3, 900
	return &Ticket{
		ID: "k7q2xw3v5n4m6p2r8t9y4z5a", HallID: "h1", ServiceID: "estate", Number: "B017", Day: "2026-11-27",
		Channel: ChannelRemote, Priority: PriorityPriority, PriorityGroup: "elderly",
		Status: StatusServing, IssuedAt: at(1).Add(250 * time.Millisecond), QueuedAt: at(1),
		CalledAt: &called, ServingAt: &serving, CounterID: "c3", CallCount: 2,
		Position: &pos, ETASeconds: &eta,
	}
}

// decode unmarshals an event's JSON into a map, failing the test on error.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("the event's JSON %s does not decode: %v", b, err)
	}
	return m
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

var (
	publicTicketKeys = []string{"number", "service_id", "counter_id", "status", "call_count"}
	staffTicketKeys  = append(slices.Clone(publicTicketKeys), "id", "channel", "priority", "issued_at")
)

func TestEventJSONTicket(t *testing.T) {
	tk := fullTicket()
	e := &Event{ID: 7, HallID: "h1", Type: EventServing, At: at(12).Add(5 * time.Nanosecond), Ticket: tk}

	tests := []struct {
		name     string
		staff    bool
		wantKeys []string
	}{
		{"public", false, publicTicketKeys},
		{"staff", true, staffTicketKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decode(t, e.JSON(tt.staff))
			if got, want := keys(m), sorted("type", "at", "ticket"); !slices.Equal(got, want) {
				t.Errorf("event keys = %v, want %v", got, want)
			}
			if m["type"] != EventServing {
				t.Errorf("type = %v", m["type"])
			}
			if m["at"] != "2026-11-27T09:12:00.000000005Z" {
				t.Errorf("at = %v, want RFC 3339 with nanoseconds", m["at"])
			}
			ticket, ok := m["ticket"].(map[string]any)
			if !ok {
				t.Fatalf("ticket = %#v, want an object", m["ticket"])
			}
			if got, want := keys(ticket), sorted(tt.wantKeys...); !slices.Equal(got, want) {
				t.Errorf("ticket keys = %v, want exactly %v", got, want)
			}
			want := map[string]any{
				"number": "B017", "service_id": "estate", "counter_id": "c3",
				"status": StatusServing, "call_count": 2.0,
			}
			if tt.staff {
				want["id"] = tk.ID
				want["channel"] = ChannelRemote
				want["priority"] = PriorityPriority
				want["issued_at"] = "2026-11-27T09:01:00.25Z"
			}
			for k, v := range want {
				if ticket[k] != v {
					t.Errorf("ticket[%q] = %#v, want %#v", k, ticket[k], v)
				}
			}
		})
	}
}

func TestEventJSONPublicLeavesOut(t *testing.T) {
	e := &Event{Type: EventCalled, At: at(10), Ticket: fullTicket()}
	m := decode(t, e.JSON(false))
	ticket := m["ticket"].(map[string]any)
	for _, k := range []string{"id", "channel", "priority", "priority_group", "issued_at", "hall_id", "called_at",
		"serving_at", "position", "eta_seconds", "queued_at", "day"} {
		if _, ok := ticket[k]; ok {
			t.Errorf("the public view carries %q", k)
		}
	}
	staff := decode(t, e.JSON(true))["ticket"].(map[string]any)
	for _, k := range []string{"priority_group", "hall_id", "called_at", "position", "eta_seconds"} {
		if _, ok := staff[k]; ok {
			t.Errorf("the staff view carries %q", k)
		}
	}
}

func TestEventJSONWithoutCounter(t *testing.T) {
	tk := fullTicket()
	tk.Status, tk.CounterID, tk.CallCount, tk.CalledAt, tk.ServingAt = StatusWaiting, "", 0, nil, nil
	e := &Event{Type: EventIssued, At: at(1), Ticket: tk}
	for _, staff := range []bool{false, true} {
		ticket := decode(t, e.JSON(staff))["ticket"].(map[string]any)
		want := slices.DeleteFunc(slices.Clone(publicTicketKeys), func(k string) bool { return k == "counter_id" })
		if staff {
			want = append(want, "id", "channel", "priority", "issued_at")
		}
		// counter_id may be left out when empty, or be "".
		if v, ok := ticket["counter_id"]; ok {
			if v != "" {
				t.Errorf("staff=%v: counter_id = %#v, want empty", staff, v)
			}
			delete(ticket, "counter_id")
		}
		if got := keys(ticket); !slices.Equal(got, sorted(want...)) {
			t.Errorf("staff=%v: ticket keys = %v, want %v", staff, got, sorted(want...))
		}
		if ticket["call_count"] != 0.0 {
			t.Errorf("staff=%v: call_count = %#v, want 0 (not left out)", staff, ticket["call_count"])
		}
	}
}

func TestEventJSONCounterAndAnnouncement(t *testing.T) {
	c := &Counter{HallID: "h1", ID: "c3", Name: "3号窗口", ServiceIDs: []string{"a"}, Status: CounterPaused, PauseReason: "暂离"}
	tests := []struct {
		name     string
		e        *Event
		wantKeys []string
	}{
		{"counter", &Event{Type: EventCounter, At: at(1), Counter: c}, []string{"type", "at", "counter"}},
		{"announcement", &Event{Type: EventAnnouncement, At: at(1), Text: "午休时间 12:00-13:00"}, []string{"type", "at", "text"}},
	}
	for _, tt := range tests {
		for _, staff := range []bool{false, true} {
			b := tt.e.JSON(staff)
			m := decode(t, b)
			if got := keys(m); !slices.Equal(got, sorted(tt.wantKeys...)) {
				t.Errorf("%s staff=%v: keys = %v, want %v", tt.name, staff, got, sorted(tt.wantKeys...))
			}
		}
		if !bytes.Equal(tt.e.JSON(false), tt.e.JSON(true)) {
			t.Errorf("%s: the public and staff views differ without a ticket", tt.name)
		}
	}
	counter := decode(t, tests[0].e.JSON(false))["counter"].(map[string]any)
	if counter["id"] != "c3" || counter["status"] != CounterPaused || counter["pause_reason"] != "暂离" {
		t.Errorf("counter = %v", counter)
	}
	if _, ok := counter["hall_id"]; ok {
		t.Error("the counter carries hall_id")
	}

	// A counter's ticket is named to staff only.
	c.CurrentTicketID = "k7q2xw3v5n4m6p2r8t9y4z5a"
	e := &Event{Type: EventCounter, At: at(2), Counter: c}
	if bytes.Contains(e.JSON(false), []byte(c.CurrentTicketID)) {
		t.Errorf("the public view names the counter's ticket: %s", e.JSON(false))
	}
	if staff := decode(t, e.JSON(true))["counter"].(map[string]any); staff["current_ticket_id"] != c.CurrentTicketID {
		t.Errorf("the staff view lacks the counter's ticket: %v", staff)
	}
	if c.CurrentTicketID == "" {
		t.Error("the public view changed the event's counter")
	}
}

// TestEventJSONOnce checks that the views are encoded once, however many
// streams (goroutines) ask, and do not change after.
func TestEventJSONOnce(t *testing.T) {
	tk := fullTicket()
	e := &Event{Type: EventCalled, At: at(10), Ticket: tk}
	var wg sync.WaitGroup
	results := make([][2][]byte, 16)
	for i := range results {
		wg.Go(func() { results[i] = [2][]byte{e.JSON(false), e.JSON(true)} })
	}
	wg.Wait()
	for i, r := range results {
		if !bytes.Equal(r[0], results[0][0]) || !bytes.Equal(r[1], results[0][1]) {
			t.Fatalf("stream %d saw other bytes", i)
		}
	}
	if bytes.Equal(results[0][0], results[0][1]) {
		t.Error("the public and staff views are equal")
	}
	tk.Number = "Z999"
	if bytes.Contains(e.JSON(false), []byte("Z999")) {
		t.Error("the view was encoded again after the first call")
	}
}

// eventsOf makes events with these ids and nothing else.
func eventsOf(ids ...int64) (evs []*Event) {
	for _, id := range ids {
		evs = append(evs, &Event{ID: id})
	}
	return evs
}

// The delivery's kept reads answer from the event after the id asked,
// inside a read's range only; a read's last event is the end of what it
// can tell (what came after it is read afresh). A read that reached the
// newest event says so, with its time, when what it gives goes to its end,
// and gives nothing, kept, after its last event.
func TestEventReads(t *testing.T) {
	var c eventReads
	at := time.Unix(100, 0)
	c.keep(10, eventsOf(11, 12, 14, 15), at, true)
	c.keep(30, eventsOf(31, 32), at, false) // a whole page: more may follow
	c.keep(20, nil, at, true)               // an empty read is not kept
	for _, tc := range []struct {
		after  int64
		limit  int
		want   []int64 // nil: not kept
		newest bool
	}{
		{10, 10, []int64{11, 12, 14, 15}, true},
		{12, 10, []int64{14, 15}, true},
		{13, 10, []int64{14, 15}, true},
		{11, 2, []int64{12, 14}, false},
		{15, 10, []int64{}, true},
		{16, 10, nil, false},
		{9, 10, nil, false},
		{20, 10, nil, false},
		{30, 10, []int64{31, 32}, false},
		{32, 10, nil, false}, // a whole page's end: what follows is not known
	} {
		evs, newestAt, ok := c.since(tc.after, tc.limit)
		var got []int64
		if ok {
			got = []int64{}
		}
		for _, ev := range evs {
			got = append(got, ev.ID)
		}
		if tc.newest != newestAt.Equal(at) {
			t.Errorf("after %d limit %d: newest at %v", tc.after, tc.limit, newestAt)
		}
		if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("after %d: %v %v, want %v", tc.after, got, ok, tc.want)
		}
	}
}

// A commit's events handed over to the kept reads (Engine.Committed) are
// a read of their own range when their ids follow one another, joined to
// the read that ends just before them; ids that skip one are not kept
// (what lies in the gap may come from another writer).
func TestEventReadsFeed(t *testing.T) {
	var c eventReads
	ids := func(evs []*Event) []int64 {
		out := []int64{}
		for _, ev := range evs {
			out = append(out, ev.ID)
		}
		return out
	}
	t1, t2, t3 := time.Unix(100, 0), time.Unix(200, 0), time.Unix(300, 0)
	c.keep(10, eventsOf(11, 12), t1, true) // a read of the store that reached the newest
	c.feed(eventsOf(13, 14), t2)           // joins it
	c.feed(eventsOf(16, 18), t3)           // skips 17: not kept
	c.feed(eventsOf(20), t3)               // a range of its own: (19, 20]
	for _, tc := range []struct {
		after  int64
		want   []int64 // nil: not kept
		newest time.Time
	}{
		{10, []int64{11, 12, 13, 14}, t2},
		{12, []int64{13, 14}, t2},
		{14, []int64{}, t2},
		{15, nil, time.Time{}},
		{16, nil, time.Time{}},
		{18, nil, time.Time{}},
		{19, []int64{20}, t3},
		{20, []int64{}, t3},
	} {
		evs, newestAt, ok := c.since(tc.after, 100)
		got := ids(evs)
		if !ok {
			got = nil
		}
		if !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) || !newestAt.Equal(tc.newest) {
			t.Errorf("after %d: %v newest %v, want %v newest %v", tc.after, got, newestAt, tc.want, tc.newest)
		}
	}
	// While no commit came after the one a read was last joined by, and
	// that is fresh, the read is the newest as of now; a commit that is not
	// kept (its ids skip one) ends that.
	var n eventReads
	fedAt := time.Now()
	n.feed(eventsOf(1, 2), fedAt)
	if _, newestAt, ok := n.since(2, 10); !ok || !newestAt.After(fedAt) {
		t.Errorf("after the newest commit: newest at %v, kept %v; want after %v", newestAt, ok, fedAt)
	}
	n.feed(eventsOf(4, 6), time.Now())
	if _, newestAt, ok := n.since(2, 10); !ok || !newestAt.Equal(fedAt) {
		t.Errorf("after a commit not kept: newest at %v, kept %v; want %v", newestAt, ok, fedAt)
	}

	// A full read is not grown: the next events begin another.
	var f eventReads
	f.feed(eventsOf(1), t1)
	for id := int64(2); id <= feedRead+1; id++ {
		f.feed(eventsOf(id), t2)
	}
	if evs, _, _ := f.since(0, 2*feedRead); len(evs) != feedRead {
		t.Errorf("the first read holds %d events, want %d", len(evs), feedRead)
	}
	if evs, _, ok := f.since(feedRead, 10); !ok || !slices.Equal(ids(evs), []int64{feedRead + 1}) {
		t.Errorf("after the full read: %v %v", ids(evs), ok)
	}
}

// eventKinds are an event of every type with what such events carry, and
// the payloads any event may carry besides, for the JSON views' tests.
func eventKinds() []*Event {
	tk := fullTicket()
	bare := &Ticket{ID: "t", Number: "A1", ServiceID: "s", Status: StatusWaiting, IssuedAt: at(0).In(time.FixedZone("CST", 8*3600))}
	behalf := *tk
	behalf.OnBehalf, behalf.CounterID = &OnBehalf{Role: "guardian"}, ""
	open := &Counter{HallID: "h1", ID: "c1", Name: "窗口 <1> & \"一\"", ServiceIDs: []string{"estate", "tax"}, Status: CounterOpen,
		CurrentTicketID: tk.ID, ClerkID: 4, Clerk: "li.ming", Staffed: true}
	paused := &Counter{ID: "c2", Name: "2", ServiceIDs: []string{}, Status: CounterPaused, PauseReason: "暂离\u2028"}
	none := &Counter{ID: "c3", Status: CounterClosed}
	fu := &FollowUpRef{ID: 9, Status: "open", Score: 1, Deadline: "2026-11-28", Move: "extend"}
	bk := &BookingRef{ID: "b1", ServiceID: "estate", SlotStart: at(30), Status: "checked_in"}
	cs := &CaseRef{Number: "2026-0001", Status: "accepted", GuideName: "不动产登记", GuideNameEn: "Property <registration>"}
	al := &ServiceAlert{ServiceID: "tax", State: "raised", Since: at(5), AlertSeconds: 1200, Waiting: 14}
	var evs []*Event
	for i, typ := range []string{EventIssued, EventCalled, EventRecalled, EventServing, EventDone, EventNoShow, EventTransferred,
		EventReturned, EventCancelled, EventRated, EventUpdated, EventCounter, EventAnnouncement} {
		e := func() *Event {
			return &Event{ID: int64(i + 1), HallID: "h1", Type: typ, At: at(i).Add(time.Duration(i) * 1001 * time.Microsecond)}
		}
		var kinds []*Event
		switch typ {
		case EventCounter:
			for _, c := range []*Counter{open, paused, none} {
				k := e()
				k.Counter = c
				kinds = append(kinds, k)
			}
		case EventAnnouncement:
			k := e()
			k.Text = "请 A001 到 <3> 号窗口 & \"谢谢\"\n\xff"
			kinds = append(kinds, k)
		default:
			for _, t := range []*Ticket{tk, bare, &behalf} {
				k := e()
				k.Ticket = t
				kinds = append(kinds, k)
			}
			k := e()
			k.Ticket, k.Counter, k.Reason, k.FollowUp, k.Booking, k.Case, k.Alert = tk, open, "out of order: <urgent>", fu, bk, cs, al
			kinds = append(kinds, k)
		}
		evs = append(evs, kinds...)
	}
	return evs
}

// The event's JSON views are byte for byte what encoding/json writes for
// Public and Staff, for every kind of event and payload.
func TestEventJSONEveryKind(t *testing.T) {
	for _, e := range eventKinds() {
		for _, staff := range []bool{false, true} {
			v := e.Public()
			if staff {
				v = e.Staff()
			}
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.JSON(staff); !bytes.Equal(got, want) {
				t.Errorf("%s (staff %v)\n got %s\nwant %s", e.Type, staff, got, want)
			}
			if got := e.appendJSON([]byte("x"), staff); !bytes.Equal(got, append([]byte("x"), want...)) {
				t.Errorf("%s (staff %v): appended to a prefix: %s", e.Type, staff, got)
			}
		}
	}
}

// An event's message body is its staff view in the envelope, whichever
// was made first: the body (the view then written inside it) or the view
// (a staff screen's); the view is the same bytes either way, nil where
// encoding/json fails (a year RFC 3339 cannot write).
func TestMessageBodyEveryKind(t *testing.T) {
	kinds := func() []*Event {
		late := &Event{ID: 9, HallID: "h", Type: EventIssued, At: at(0),
			Ticket: &Ticket{ID: "t", Number: "A1", IssuedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}
		return append(eventKinds(), late)
	}
	viewFirst, bodyFirst := kinds(), kinds()
	for i, e := range viewFirst {
		view := e.JSON(true)
		body := e.messageBody()
		want := messageBody(e.Type, e.At, view)
		if !bytes.Equal(body, want) {
			t.Errorf("%s, the view first: body\n got %s\nwant %s", e.Type, body, want)
		}
		b := bodyFirst[i]
		if got := b.messageBody(); !bytes.Equal(got, want) {
			t.Errorf("%s, the body first: body\n got %s\nwant %s", e.Type, got, want)
		}
		if got := b.JSON(true); !bytes.Equal(got, view) || (got == nil) != (view == nil) || cap(got) != len(got) {
			t.Errorf("%s, the body first: view\n got %s (cap %d)\nwant %s", e.Type, got, cap(got), view)
		}
		if got := b.JSON(false); !bytes.Equal(got, e.JSON(false)) {
			t.Errorf("%s, the body first: public view %s", e.Type, got)
		}
	}
	if late := bodyFirst[len(bodyFirst)-1]; late.JSON(true) != nil {
		t.Errorf("a year past 9999: view %s, want nil", late.JSON(true))
	}
}

// FuzzEventJSON holds the event's JSON views to encoding/json's bytes for
// any strings (escapes, HTML, invalid UTF-8), times in any zone (a year
// RFC 3339 cannot write: both give nil), payloads set or left out.
func FuzzEventJSON(f *testing.F) {
	f.Add("ticket.called", "A001", "<b>&\"\\\n\u2028é\xff", int64(1733472000), int64(123456789), 8*3600, 3, uint16(0x1ff))
	f.Add("", "", "", int64(0), int64(0), 0, 0, uint16(0))
	f.Add("ticket.issued", "n", "x", int64(253402300800), int64(0), 0, -1, uint16(0xffff)) // the year 10000
	f.Fuzz(func(t *testing.T, typ, number, text string, sec, nsec int64, offset, n int, set uint16) {
		when := time.Unix(sec, nsec).In(time.FixedZone("z", offset))
		on := func(bit int) bool { return set&(1<<bit) != 0 }
		e := &Event{ID: 1, HallID: "h", Type: typ, At: when}
		if on(0) {
			e.Ticket = &Ticket{ID: text, Number: number, ServiceID: text, Status: text, Channel: number, Priority: text, IssuedAt: when, CallCount: n}
			if on(1) {
				e.Ticket.CounterID = number
			}
			if on(2) {
				e.Ticket.OnBehalf = &OnBehalf{Role: text}
			}
		}
		if on(3) {
			e.Counter = &Counter{ID: number, Name: text, Status: typ, Staffed: on(4)}
			if on(5) {
				e.Counter.ServiceIDs = []string{text, number}
			} else if on(6) {
				e.Counter.ServiceIDs = []string{}
			}
			if on(7) {
				e.Counter.PauseReason, e.Counter.CurrentTicketID, e.Counter.Clerk = text, number, text
			}
		}
		if on(8) {
			e.Text = text
		}
		if on(9) {
			e.Reason = text
		}
		if on(10) {
			e.FollowUp = &FollowUpRef{ID: int64(n), Status: text, Deadline: number}
		}
		if on(11) {
			e.Booking = &BookingRef{ID: number, SlotStart: when, Status: text}
		}
		if on(12) {
			e.Case = &CaseRef{Number: number, GuideName: text}
		}
		if on(13) {
			e.Alert = &ServiceAlert{ServiceID: text, Since: when, Waiting: n}
		}
		for _, staff := range []bool{false, true} {
			v := e.Public()
			if staff {
				v = e.Staff()
			}
			want, _ := json.Marshal(v) // nil where it errs, as JSON gives
			if got := e.appendJSON(nil, staff); !bytes.Equal(got, want) {
				t.Fatalf("staff %v\n got %s\nwant %s", staff, got, want)
			}
		}
	})
}

// BenchmarkEventJSON encodes a called ticket's event, both views, as
// JSON does once an event for each: by hand, and by encoding/json's
// reflection.
func BenchmarkEventJSON(b *testing.B) {
	tk := fullTicket()
	e := &Event{ID: 7, HallID: "h1", Type: EventCalled, At: at(12), Ticket: tk}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.publicOnce, e.staffOnce = sync.Once{}, sync.Once{}
			e.JSON(true)
			e.JSON(false)
		}
	})
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(e.Public())
			json.Marshal(e.Staff())
		}
	})
}

// BenchmarkMessageBody: an issued ticket's webhook body, its staff view
// made first (by a staff screen's stream; every event before the view
// was written inside the body) or the body first (the view inside it).
func BenchmarkMessageBody(b *testing.B) {
	tk := fullTicket()
	tk.CounterID = ""
	e := &Event{ID: 7, HallID: "h1", Type: EventIssued, At: at(12), Ticket: tk}
	for _, viewFirst := range []bool{true, false} {
		name := "body first"
		if viewFirst {
			name = "view first"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.staffOnce, e.bodyOnce, e.staff, e.body = sync.Once{}, sync.Once{}, nil, nil
				if viewFirst {
					e.JSON(true)
				}
				e.messageBody()
			}
		})
	}
}
