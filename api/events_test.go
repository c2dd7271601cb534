package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/inmem"
)

// sseEvent is one event as it came over the wire.
type sseEvent struct {
	ID    int64
	Event string
	Data  string
	Lines []string // the field names in the order sent
}

// stream is an open event stream read by a goroutine.
type stream struct {
	res      *http.Response
	events   chan sseEvent
	comments chan string
	cancel   context.CancelFunc
	done     chan struct{}
}

// openStream connects to a demo hall's event stream.
func openStream(t *testing.T, ts *testServer, token string, hdrs ...header) *stream {
	t.Helper()
	return openStreamPath(t, ts, "/api/v1/halls/demo/events", token, hdrs...)
}

func openStreamPath(t *testing.T, ts *testServer, path, token string, hdrs ...header) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range hdrs {
		req.Header.Set(h.name, h.value)
	}
	res, err := ts.HTTP.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatalf("open stream: %v", err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		t.Fatalf("open stream: %d %s", res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("stream Content-Type %q", ct)
	}
	s := &stream{res: res, events: make(chan sseEvent, 1000), comments: make(chan string, 1000), cancel: cancel, done: make(chan struct{})}
	go s.read(t)
	t.Cleanup(s.close)
	return s
}

func (s *stream) read(t *testing.T) {
	defer close(s.done)
	defer close(s.events)
	sc := bufio.NewScanner(s.res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if ev.Event != "" || ev.Data != "" {
				s.events <- ev
			}
			ev = sseEvent{}
			continue
		}
		if c, ok := strings.CutPrefix(line, ":"); ok {
			select {
			case s.comments <- strings.TrimSpace(c):
			default:
			}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				t.Errorf("event id %q: %v", value, err)
			}
			ev.ID = n
		case "event":
			ev.Event = value
		case "data":
			if ev.Data != "" {
				ev.Data += "\n"
			}
			ev.Data += value
		case "retry":
			continue
		default:
			t.Errorf("unknown SSE field in %q", line)
		}
		ev.Lines = append(ev.Lines, field)
	}
}

// close ends the stream and waits for its reader.
func (s *stream) close() {
	s.cancel()
	s.res.Body.Close()
	<-s.done
}

// next returns the next event, failing after a few seconds.
func (s *stream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return sseEvent{}
}

// quiet fails if an event arrives within d.
func (s *stream) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Fatalf("unexpected event %d %s %s", ev.ID, ev.Event, ev.Data)
		}
	case <-time.After(d):
	}
}

// eventData is the data line of an event.
type eventData struct {
	Type    string                     `json:"type"`
	At      string                     `json:"at"`
	Ticket  map[string]json.RawMessage `json:"ticket"`
	Counter map[string]any             `json:"counter"`
	Text    string                     `json:"text"`
}

func parseData(t *testing.T, ev sseEvent) eventData {
	t.Helper()
	var d eventData
	if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
		t.Fatalf("event %d data %q: %v", ev.ID, ev.Data, err)
	}
	if d.Type != ev.Event {
		t.Errorf("event %d: data type %q, event name %q", ev.ID, d.Type, ev.Event)
	}
	if _, err := time.Parse(time.RFC3339Nano, d.At); err != nil {
		t.Errorf("event %d: at %q: %v", ev.ID, d.At, err)
	}
	if !slices.Equal(ev.Lines, []string{"id", "event", "data"}) {
		t.Errorf("event %d: fields %v, want id, event, data", ev.ID, ev.Lines)
	}
	return d
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a string", raw)
	}
	return s
}

// publicTicketFields are the ticket fields of the contract's public events:
// a ticket by its number, never its id (the holder's key).
var publicTicketFields = []string{"call_count", "counter_id", "number", "service_id", "status"}

func checkPublicTicket(t *testing.T, d eventData) {
	t.Helper()
	for k := range d.Ticket {
		if !slices.Contains(publicTicketFields, k) {
			t.Errorf("%s: the public view carries %q", d.Type, k)
		}
	}
	for _, k := range []string{"number", "service_id", "status", "call_count"} {
		if _, ok := d.Ticket[k]; !ok {
			t.Errorf("%s: the public view lacks %q", d.Type, k)
		}
	}
}

// TestEventsStream: every move of a ticket reaches the stream, in order,
// with the contract's names and the public view.
func TestEventsStream(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	pub := openStream(t, ts, "")
	staff := openStream(t, ts, ts.Admin)

	tk := ts.issue(t, ts.Admin, "general", "priority_group", "elderly")
	ev := pub.next(t)
	if ev.Event != "ticket.issued" || ev.ID <= 0 {
		t.Fatalf("first event: %+v", ev)
	}
	d := parseData(t, ev)
	checkPublicTicket(t, d)
	if strings.Contains(ev.Data, tk.ID) || str(t, d.Ticket["number"]) != "A001" || str(t, d.Ticket["status"]) != "waiting" || str(t, d.Ticket["service_id"]) != "general" {
		t.Errorf("issued: %s", ev.Data)
	}
	if string(d.Ticket["call_count"]) != "0" {
		t.Errorf("issued call_count %s", d.Ticket["call_count"])
	}
	for _, w := range []string{"channel", "priority", "elderly", "issued_at", "hall_id"} {
		if strings.Contains(ev.Data, w) {
			t.Errorf("public view carries %q: %s", w, ev.Data)
		}
	}

	sev := staff.next(t)
	if sev.ID != ev.ID || sev.Event != ev.Event {
		t.Fatalf("staff stream: %+v, public %+v", sev, ev)
	}
	sd := parseData(t, sev)
	if str(t, sd.Ticket["channel"]) != "staff" || str(t, sd.Ticket["priority"]) != "priority" || str(t, sd.Ticket["id"]) != tk.ID {
		t.Errorf("staff view: %s", sev.Data)
	}

	// The other moves, each with its name.
	ts.callUntil(t, "1", tk.ID)
	ts.act(t, ts.Admin, tk.ID, "recall", nil)
	ts.act(t, ts.Admin, tk.ID, "start", nil)
	ts.act(t, ts.Admin, tk.ID, "finish", nil)
	b := ts.issue(t, ts.Admin, "property")
	ts.callUntil(t, "3", b.ID)
	ts.act(t, ts.Admin, b.ID, "transfer", map[string]string{"service_id": "tax"})
	ts.callUntil(t, "5", b.ID)
	ts.act(t, ts.Admin, b.ID, "no-show", nil)
	ts.do(t, "POST", "/api/v1/halls/demo/counters/2/status", ts.Admin, map[string]string{"status": "paused", "reason": "暂离"}).want(t, 200)
	ts.do(t, "POST", "/api/v1/halls/demo/announcements", ts.Admin, map[string]string{"text": "请保持安静"}).want(t, 201)

	want := []string{"ticket.called", "ticket.recalled", "ticket.serving", "ticket.done",
		"ticket.issued", "ticket.called", "ticket.transferred", "ticket.called", "ticket.no_show",
		"counter.updated", "announcement"}
	last := ev.ID
	for i, name := range want {
		ev := pub.next(t)
		if ev.Event != name {
			t.Fatalf("event %d: %s, want %s (%s)", i, ev.Event, name, ev.Data)
		}
		if ev.ID <= last {
			t.Errorf("event ids %d then %d", last, ev.ID)
		}
		last = ev.ID
		d := parseData(t, ev)
		switch name {
		case "counter.updated":
			if d.Counter["id"] != "2" || d.Counter["status"] != "paused" {
				t.Errorf("counter event: %s", ev.Data)
			}
		case "announcement":
			if d.Text != "请保持安静" {
				t.Errorf("announcement: %s", ev.Data)
			}
		default:
			checkPublicTicket(t, d)
		}
		if i == 0 && (str(t, d.Ticket["counter_id"]) != "1" || string(d.Ticket["call_count"]) != "1") {
			t.Errorf("called: %s", ev.Data)
		}
		if i == 1 && string(d.Ticket["call_count"]) != "2" {
			t.Errorf("recalled: %s", ev.Data)
		}
	}
	pub.quiet(t, 100*time.Millisecond)
}

// TestEventsReplay: a client that comes back with Last-Event-ID gets every
// later event first, then the live ones, each once, ids growing.
func TestEventsReplay(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s1 := openStream(t, ts, "")
	for range 3 {
		ts.issue(t, ts.Admin, "general")
	}
	var seen []int64
	for range 3 {
		seen = append(seen, s1.next(t).ID)
	}
	s1.close()

	// Missed while away.
	missed := []string{ts.issue(t, ts.Admin, "general").Number, ts.issue(t, ts.Admin, "tax").Number}
	ts.callNext(t, ts.Admin, "1")

	stored, err := ts.Store.EventsAfter(context.Background(), "demo", seen[0], 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 5 { // 2 seen again, 2 issued and 1 called while away
		t.Fatalf("%d events stored after %d", len(stored), seen[0])
	}

	for _, how := range []string{"header", "query"} {
		t.Run(how, func(t *testing.T) {
			var s2 *stream
			if how == "header" {
				s2 = openStream(t, ts, "", header{"Last-Event-ID", strconv.FormatInt(seen[0], 10)})
			} else {
				s2 = openStreamPath(t, ts, "/api/v1/halls/demo/events?last_event_id="+strconv.FormatInt(seen[0], 10), "")
			}
			last := seen[0]
			var got []sseEvent
			for range stored {
				ev := s2.next(t)
				if ev.ID <= last {
					t.Fatalf("event %d after %d", ev.ID, last)
				}
				last = ev.ID
				got = append(got, ev)
			}
			for i, e := range stored {
				if got[i].ID != e.ID || got[i].Event != e.Type {
					t.Errorf("replay %d: %d %s, want %d %s", i, got[i].ID, got[i].Event, e.ID, e.Type)
				}
			}
			if d := parseData(t, got[2]); str(t, d.Ticket["number"]) != missed[0] {
				t.Errorf("replayed the wrong ticket: %s", got[2].Data)
			}
			// Then live events, each once.
			live := ts.issue(t, ts.Admin, "social")
			ev := s2.next(t)
			if ev.ID <= last || ev.Event != "ticket.issued" || str(t, parseData(t, ev).Ticket["number"]) != live.Number {
				t.Errorf("live event after the replay: %+v (last %d)", ev, last)
			}
			s2.quiet(t, 100*time.Millisecond)
			stored = append(stored, &civiq.Event{ID: ev.ID, Type: ev.Event})
		})
	}

	// A client that has seen everything gets only live events.
	s3 := openStream(t, ts, "", header{"Last-Event-ID", strconv.FormatInt(ts.lastEventID(t), 10)})
	s3.quiet(t, 100*time.Millisecond)
	ts.issue(t, ts.Admin, "general")
	if ev := s3.next(t); ev.ID != ts.lastEventID(t) {
		t.Errorf("live event %d, last stored %d", ev.ID, ts.lastEventID(t))
	}
}

// TestEventsHeartbeat: a comment keeps an idle stream open.
func TestEventsHeartbeat(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *api.Server) { s.Heartbeat = 50 * time.Millisecond })
	s := openStream(t, ts, "")
	pings := 0
	deadline := time.After(3 * time.Second)
	for pings < 2 {
		select {
		case c := <-s.comments:
			if c == "ping" {
				pings++
			}
		case <-deadline:
			t.Fatalf("%d heartbeats in 3s", pings)
		}
	}
}

// TestEventsServerClose: closing the API server ends the streams.
func TestEventsServerClose(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := openStream(t, ts, "")
	ts.API.Close()
	select {
	case _, ok := <-s.events:
		if ok {
			t.Fatal("an event instead of the end")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream is still open after Close")
	}
}

// TestEventsPublicView: ?view=public makes the stream the public view
// whoever asks, as a public screen opened where staff are signed in asks
// for it (its EventSource sends the session cookie); without it staff get
// the staff view. Any other view is a 400 naming view, with nothing
// streamed and nothing changed.
func TestEventsPublicView(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	clerk := ts.createUser(t, "clerk-view", "staff", "demo")
	cookie := header{"Cookie", civiq.SessionCookie + "=" + clerk}

	for _, q := range []string{"?view=bogus", "?view=staff", "?view=", "?view=PUBLIC", "?view=public&view=staff", "?last_event_id=0&view=all"} {
		before := ts.snapshot(t)
		r := ts.do(t, "GET", "/api/v1/halls/demo/events"+q, "", nil, cookie)
		r.wantErr(t, 400, "invalid", "view")
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", q, ct)
		}
		if after := ts.snapshot(t); after != before {
			t.Errorf("%s changed the hall", q)
		}
	}
	if n := ts.Hub.Count(); n != 0 {
		t.Errorf("%d subscriptions left by the refused streams", n)
	}

	staffView := openStream(t, ts, "", cookie)
	byCookie := openStreamPath(t, ts, "/api/v1/halls/demo/events?view=public", "", cookie)
	byToken := openStreamPath(t, ts, "/api/v1/halls/demo/events?view=public", ts.Admin)
	anonymous := openStreamPath(t, ts, "/api/v1/halls/demo/events?view=public", "")
	first := ts.issue(t, ts.Admin, "general")
	ts.callUntil(t, "1", first.ID)

	for _, ev := range []sseEvent{staffView.next(t), staffView.next(t)} {
		if d := parseData(t, ev); str(t, d.Ticket["id"]) != first.ID || str(t, d.Ticket["channel"]) != "staff" {
			t.Errorf("staff session without view: %s", ev.Data)
		}
	}
	// publicFrames reads the events named, each in the public view.
	publicFrames := func(what string, s *stream, names ...string) sseEvent {
		t.Helper()
		var ev sseEvent
		for _, want := range names {
			ev = s.next(t)
			if ev.Event != want {
				t.Fatalf("%s: %s, want %s", what, ev.Event, want)
			}
			checkPublicTicket(t, parseData(t, ev))
			if strings.Contains(ev.Data, first.ID) || strings.Contains(ev.Data, `"channel"`) {
				t.Errorf("%s: the public view carries staff fields: %s", what, ev.Data)
			}
		}
		return ev
	}
	publicFrames("staff session, view=public", byCookie, "ticket.issued", "ticket.called")
	publicFrames("admin token, view=public", byToken, "ticket.issued", "ticket.called")
	last := publicFrames("anonymous, view=public", anonymous, "ticket.issued", "ticket.called")

	// A public stream that comes back asks ?view=public&last_event_id=N:
	// the replay is the public view too.
	second := ts.issue(t, ts.Admin, "general")
	ts.callUntil(t, "1", second.ID) // finishes the first
	again := openStreamPath(t, ts, "/api/v1/halls/demo/events?view=public&last_event_id="+strconv.FormatInt(last.ID, 10), "", cookie)
	ev := publicFrames("staff session, replayed with view=public", again, "ticket.issued", "ticket.done", "ticket.called")
	if strings.Contains(ev.Data, second.ID) {
		t.Errorf("the replay carries the second ticket's id: %s", ev.Data)
	}
	again.quiet(t, 50*time.Millisecond)
}

func TestEventsUnknownHall(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.do(t, "GET", "/api/v1/halls/nope/events", "", nil).wantErr(t, 404, "not_found", "")
	ts.do(t, "GET", "/api/v1/halls/demo/events?last_event_id=-1", "", nil).wantErr(t, 400, "invalid", "Last-Event-ID")
}

// TestHubCutsSlowSubscriber: a subscriber that does not read is cut after
// its buffer fills, keeping what it had in order; others get everything and
// Publish never waits.
func TestHubCutsSlowSubscriber(t *testing.T) {
	t.Parallel()
	hub := inmem.NewHub()
	counts := make(chan int, 100)
	hub.OnCount = func(n int) { counts <- n }
	slow := hub.Subscribe("demo", 2)
	fast := hub.Subscribe("demo", 10)
	elsewhere := hub.Subscribe("other", 1)
	if hub.Count() != 3 {
		t.Fatalf("count %d", hub.Count())
	}

	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := int64(1); i <= 5; i++ {
			hub.Publish([]*civiq.Event{{ID: i, HallID: "demo", Type: civiq.EventIssued}})
		}
	}()
	select {
	case <-published:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a slow subscriber")
	}

	var got []int64
	for e := range slow.C { // closed when cut
		got = append(got, e.ID)
	}
	if !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("slow subscriber got %v, want [1 2]", got)
	}
	got = nil
	for range 5 {
		got = append(got, (<-fast.C).ID)
	}
	if !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("fast subscriber got %v", got)
	}
	select {
	case e := <-elsewhere.C:
		t.Errorf("another hall's subscriber got %v", e.ID)
	default:
	}
	if hub.Count() != 2 {
		t.Errorf("count after the cut %d, want 2", hub.Count())
	}

	// Cut in the middle of one batch: nothing after the gap reaches it.
	slow2 := hub.Subscribe("demo", 1)
	batch := []*civiq.Event{{ID: 6, HallID: "demo"}, {ID: 7, HallID: "demo"}, {ID: 8, HallID: "demo"}}
	hub.Publish(batch)
	got = nil
	for e := range slow2.C {
		got = append(got, e.ID)
	}
	if !slices.Equal(got, []int64{6}) {
		t.Errorf("cut within a batch: got %v, want [6]", got)
	}

	// Unsubscribing twice, or after a cut, is harmless.
	hub.Unsubscribe(slow)
	hub.Unsubscribe(fast)
	hub.Unsubscribe(fast)
	hub.Unsubscribe(elsewhere)
	if _, ok := <-fast.C; ok {
		// fast still holds events 6..8: drain them.
		for range fast.C {
		}
	}
	if hub.Count() != 0 {
		t.Errorf("count at the end %d", hub.Count())
	}
	close(counts)
	var last int
	for n := range counts {
		last = n
	}
	if last != 0 {
		t.Errorf("OnCount last told %d, want 0", last)
	}
}
