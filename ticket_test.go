package civiq

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the reference instant of the tests of the package.
var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// at returns t0 plus the given number of minutes.
func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// invalid marks a forbidden transition in the state machine table.
const invalid = "—"

func TestStatusesAndActionsAreComplete(t *testing.T) {
	wantStatuses := []string{"waiting", "called", "serving", "done", "no_show", "cancelled"}
	if !slices.Equal(Statuses, wantStatuses) {
		t.Errorf("Statuses = %v, want %v", Statuses, wantStatuses)
	}
	wantActions := []string{"call", "recall", "start", "finish", "no_show", "transfer", "return", "cancel"}
	if !slices.Equal(Actions, wantActions) {
		t.Errorf("Actions = %v, want %v", Actions, wantActions)
	}
}

// TestNext checks the state machine for every status and every action.
func TestNext(t *testing.T) {
	// Short names keep the table readable; ____ is invalid_transition.
	const (
		wait = StatusWaiting
		call = StatusCalled
		serv = StatusServing
		done = StatusDone
		nosh = StatusNoShow
		canc = StatusCancelled
		____ = invalid
	)
	// Columns are the actions, in this order.
	columns := []string{ActCall, ActRecall, ActStart, ActFinish, ActNoShow, ActTransfer, ActReturn, ActCancel}
	table := map[string][]string{
		//                call  recl  strt  fini  nosh  xfer  retn  canc
		StatusWaiting:   {call, ____, ____, ____, ____, wait, ____, canc},
		StatusCalled:    {____, call, serv, done, nosh, wait, ____, canc},
		StatusServing:   {____, ____, ____, done, ____, wait, ____, ____},
		StatusDone:      {____, ____, ____, ____, ____, ____, ____, ____},
		StatusNoShow:    {____, ____, ____, ____, ____, ____, wait, ____},
		StatusCancelled: {____, ____, ____, ____, ____, ____, ____, ____},
	}
	if !slices.Equal(columns, Actions) {
		t.Fatalf("the table's columns %v do not cover Actions %v", columns, Actions)
	}
	if len(table) != len(Statuses) {
		t.Fatalf("the table has %d rows, there are %d statuses", len(table), len(Statuses))
	}
	for _, from := range Statuses {
		row, ok := table[from]
		if !ok {
			t.Errorf("status %s has no row in the table", from)
			continue
		}
		for i, action := range Actions {
			want := row[i]
			t.Run(from+"/"+action, func(t *testing.T) {
				got, err := Next(from, action)
				if want == invalid {
					if ErrorCode(err) != EInvalidTransition {
						t.Fatalf("Next(%s, %s) = %q, %v; want invalid_transition", from, action, got, err)
					}
					if got != "" {
						t.Errorf("Next(%s, %s) returned status %q with its error", from, action, got)
					}
					if msg := ErrorMessage(err); !strings.Contains(msg, from) {
						t.Errorf("message %q does not name the status %s", msg, from)
					}
					return
				}
				if err != nil || got != want {
					t.Fatalf("Next(%s, %s) = %q, %v; want %q", from, action, got, err, want)
				}
			})
		}
	}
}

func TestNextUnknown(t *testing.T) {
	for _, c := range []struct{ status, action string }{
		{"", ActCall},
		{"lost", ActCall},
		{StatusWaiting, ""},
		{StatusWaiting, "teleport"},
		{StatusCalled, "Recall"},
	} {
		if got, err := Next(c.status, c.action); ErrorCode(err) != EInvalidTransition {
			t.Errorf("Next(%q, %q) = %q, %v; want invalid_transition", c.status, c.action, got, err)
		}
	}
}

// ticketIn returns a ticket of service "a", issued at t0, in status.
func ticketIn(status string) *Ticket {
	return &Ticket{ID: "t1", HallID: "h1", ServiceID: "a", Number: "A001", Channel: ChannelKiosk,
		Priority: PriorityNormal, Status: status, IssuedAt: t0, QueuedAt: t0}
}

// mustApply applies the move and fails the test on an error.
func mustApply(t *testing.T, tk *Ticket, m Move) string {
	t.Helper()
	action, err := tk.Apply(m)
	if err != nil {
		t.Fatalf("Apply(%s) on a %s ticket: %v", m.Action, tk.Status, err)
	}
	return action
}

func sameTime(p *time.Time, want time.Time) bool { return p != nil && p.Equal(want) }

func TestApplyCall(t *testing.T) {
	tk := ticketIn(StatusWaiting)
	if got := mustApply(t, tk, Move{Action: ActCall, At: at(5), CounterID: "c1"}); got != ActCall {
		t.Errorf("Apply returned action %q, want call", got)
	}
	if tk.Status != StatusCalled || tk.CounterID != "c1" || tk.CallCount != 1 || !sameTime(tk.CalledAt, at(5)) {
		t.Errorf("after call: status=%s counter=%q calls=%d called_at=%v", tk.Status, tk.CounterID, tk.CallCount, tk.CalledAt)
	}
	if !tk.IssuedAt.Equal(t0) || !tk.QueuedAt.Equal(t0) {
		t.Errorf("call moved issued_at/queued_at: %v/%v", tk.IssuedAt, tk.QueuedAt)
	}
}

func TestApplyRecall(t *testing.T) {
	tests := []struct {
		name       string
		maxCalls   int
		callCount  int    // before the recall
		wantAction string // what Apply reports
		wantStatus string
		wantCalls  int
	}{
		{"first recall", 3, 1, ActRecall, StatusCalled, 2},
		{"last allowed recall", 3, 2, ActRecall, StatusCalled, 3},
		{"recall at the limit turns into no-show", 3, 3, ActNoShow, StatusNoShow, 3},
		{"recall past the limit turns into no-show", 2, 3, ActNoShow, StatusNoShow, 3},
		{"one call allowed", 1, 1, ActNoShow, StatusNoShow, 1},
		{"no limit when MaxCalls is 0", 0, 50, ActRecall, StatusCalled, 51},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := ticketIn(StatusCalled)
			first := at(1)
			tk.CounterID, tk.CallCount, tk.CalledAt = "c1", tt.callCount, &first
			action := mustApply(t, tk, Move{Action: ActRecall, At: at(2), MaxCalls: tt.maxCalls})
			if action != tt.wantAction || tk.Status != tt.wantStatus || tk.CallCount != tt.wantCalls {
				t.Fatalf("got action=%s status=%s calls=%d, want %s %s %d",
					action, tk.Status, tk.CallCount, tt.wantAction, tt.wantStatus, tt.wantCalls)
			}
			if tt.wantStatus == StatusNoShow {
				if !sameTime(tk.NoShowAt, at(2)) {
					t.Errorf("no_show_at = %v, want %v", tk.NoShowAt, at(2))
				}
				if !sameTime(tk.CalledAt, first) {
					t.Errorf("a recall that turns into no-show moved called_at to %v", tk.CalledAt)
				}
			} else {
				if !sameTime(tk.CalledAt, at(2)) {
					t.Errorf("called_at = %v, want %v", tk.CalledAt, at(2))
				}
				if tk.NoShowAt != nil {
					t.Errorf("no_show_at set on a plain recall: %v", tk.NoShowAt)
				}
			}
			if tk.CounterID != "c1" {
				t.Errorf("recall changed the counter to %q", tk.CounterID)
			}
		})
	}
}

// TestApplyRecallSequence walks a ticket through call and recalls until the
// hall's MaxCalls turns it into a no-show.
func TestApplyRecallSequence(t *testing.T) {
	const maxCalls = 3
	tk := ticketIn(StatusWaiting)
	mustApply(t, tk, Move{Action: ActCall, At: at(1), CounterID: "c1"})
	for i := 2; i <= maxCalls; i++ {
		if got := mustApply(t, tk, Move{Action: ActRecall, At: at(i), MaxCalls: maxCalls}); got != ActRecall {
			t.Fatalf("recall %d returned %q", i, got)
		}
		if tk.CallCount != i || tk.Status != StatusCalled {
			t.Fatalf("after recall %d: calls=%d status=%s", i, tk.CallCount, tk.Status)
		}
	}
	if got := mustApply(t, tk, Move{Action: ActRecall, At: at(9), MaxCalls: maxCalls}); got != ActNoShow {
		t.Fatalf("recall beyond MaxCalls returned %q, want no_show", got)
	}
	if tk.Status != StatusNoShow || !sameTime(tk.NoShowAt, at(9)) {
		t.Fatalf("status=%s no_show_at=%v", tk.Status, tk.NoShowAt)
	}
	if _, err := tk.Apply(Move{Action: ActRecall, At: at(10), MaxCalls: maxCalls}); ErrorCode(err) != EInvalidTransition {
		t.Errorf("recall of a no-show: %v, want invalid_transition", err)
	}
}

func TestApplyTransfer(t *testing.T) {
	for _, from := range []string{StatusWaiting, StatusCalled, StatusServing} {
		t.Run(from, func(t *testing.T) {
			tk := ticketIn(from)
			queued := at(-30) // e.g. a returned late arrival
			tk.QueuedAt = queued
			if from != StatusWaiting {
				c, s := at(1), at(2)
				tk.CounterID, tk.CallCount, tk.CalledAt = "c1", 2, &c
				if from == StatusServing {
					tk.ServingAt = &s
				}
			}
			if got := mustApply(t, tk, Move{Action: ActTransfer, At: at(3), ServiceID: "b"}); got != ActTransfer {
				t.Errorf("Apply returned %q, want transfer", got)
			}
			if tk.Status != StatusWaiting || tk.ServiceID != "b" {
				t.Errorf("status=%s service=%s, want waiting in b", tk.Status, tk.ServiceID)
			}
			if !tk.QueuedAt.Equal(queued) || !tk.IssuedAt.Equal(t0) {
				t.Errorf("transfer moved queued_at/issued_at to %v/%v", tk.QueuedAt, tk.IssuedAt)
			}
			if tk.CounterID != "" || tk.CallCount != 0 || tk.CalledAt != nil || tk.ServingAt != nil {
				t.Errorf("transfer left counter=%q calls=%d called_at=%v serving_at=%v",
					tk.CounterID, tk.CallCount, tk.CalledAt, tk.ServingAt)
			}
			if tk.ID != "t1" || tk.Number != "A001" {
				t.Errorf("transfer changed the ticket's identity: %s %s", tk.ID, tk.Number)
			}
		})
	}
}

func TestApplyReturn(t *testing.T) {
	tk := ticketIn(StatusWaiting)
	mustApply(t, tk, Move{Action: ActCall, At: at(1), CounterID: "c1"})
	mustApply(t, tk, Move{Action: ActNoShow, At: at(2)})
	place := at(-5).Add(time.Nanosecond)
	if got := mustApply(t, tk, Move{Action: ActReturn, At: at(20), QueuedAt: place}); got != ActReturn {
		t.Errorf("Apply returned %q, want return", got)
	}
	if tk.Status != StatusWaiting || !tk.QueuedAt.Equal(place) {
		t.Errorf("status=%s queued_at=%v, want waiting at %v", tk.Status, tk.QueuedAt, place)
	}
	if !tk.IssuedAt.Equal(t0) {
		t.Errorf("return moved issued_at to %v", tk.IssuedAt)
	}
	if tk.CounterID != "" || tk.CallCount != 0 || tk.CalledAt != nil || tk.NoShowAt != nil {
		t.Errorf("return left counter=%q calls=%d called_at=%v no_show_at=%v",
			tk.CounterID, tk.CallCount, tk.CalledAt, tk.NoShowAt)
	}
}

// TestApplyRecordsTime checks that each transition with a time of its own
// records it from the move.
func TestApplyRecordsTime(t *testing.T) {
	tests := []struct {
		from, action, to string
		field            func(*Ticket) *time.Time
	}{
		{StatusWaiting, ActCall, StatusCalled, func(t *Ticket) *time.Time { return t.CalledAt }},
		{StatusCalled, ActRecall, StatusCalled, func(t *Ticket) *time.Time { return t.CalledAt }},
		{StatusCalled, ActStart, StatusServing, func(t *Ticket) *time.Time { return t.ServingAt }},
		{StatusServing, ActFinish, StatusDone, func(t *Ticket) *time.Time { return t.DoneAt }},
		{StatusCalled, ActNoShow, StatusNoShow, func(t *Ticket) *time.Time { return t.NoShowAt }},
		{StatusWaiting, ActCancel, StatusCancelled, func(t *Ticket) *time.Time { return t.CancelledAt }},
		{StatusCalled, ActCancel, StatusCancelled, func(t *Ticket) *time.Time { return t.CancelledAt }},
	}
	for _, tt := range tests {
		t.Run(tt.from+"/"+tt.action, func(t *testing.T) {
			tk := ticketIn(tt.from)
			if tt.from != StatusWaiting {
				c := at(1)
				tk.CounterID, tk.CallCount, tk.CalledAt = "c1", 1, &c
			}
			when := at(7).Add(123 * time.Millisecond)
			mustApply(t, tk, Move{Action: tt.action, At: when, CounterID: "c1", MaxCalls: 3})
			if tk.Status != tt.to {
				t.Errorf("status = %s, want %s", tk.Status, tt.to)
			}
			if got := tt.field(tk); !sameTime(got, when) {
				t.Errorf("recorded time = %v, want %v", got, when)
			}
		})
	}
}

// TestApplyTimesAreIndependent makes sure each recorded time is its own
// value, not a pointer shared with the move or another field.
func TestApplyTimesAreIndependent(t *testing.T) {
	tk := ticketIn(StatusWaiting)
	mustApply(t, tk, Move{Action: ActCall, At: at(1), CounterID: "c1"})
	mustApply(t, tk, Move{Action: ActStart, At: at(2)})
	mustApply(t, tk, Move{Action: ActFinish, At: at(3)})
	if !sameTime(tk.CalledAt, at(1)) || !sameTime(tk.ServingAt, at(2)) || !sameTime(tk.DoneAt, at(3)) {
		t.Errorf("called=%v serving=%v done=%v", tk.CalledAt, tk.ServingAt, tk.DoneAt)
	}
}

func TestApplyInvalidLeavesTicketAlone(t *testing.T) {
	for _, from := range Statuses {
		for _, action := range Actions {
			if _, err := Next(from, action); err == nil {
				continue
			}
			tk := ticketIn(from)
			before := *tk
			got, err := tk.Apply(Move{Action: action, At: at(5), CounterID: "c9", ServiceID: "b", QueuedAt: at(-9)})
			if ErrorCode(err) != EInvalidTransition || got != "" {
				t.Errorf("Apply(%s) on %s = %q, %v; want invalid_transition", action, from, got, err)
			}
			if tk.Status != before.Status || tk.ServiceID != before.ServiceID || tk.CounterID != before.CounterID ||
				!tk.QueuedAt.Equal(before.QueuedAt) || tk.CalledAt != nil || tk.CallCount != 0 {
				t.Errorf("a refused %s changed a %s ticket: %+v", action, from, *tk)
			}
		}
	}
}

func TestWaiting(t *testing.T) {
	for _, s := range Statuses {
		if got := ticketIn(s).Waiting(); got != (s == StatusWaiting) {
			t.Errorf("Waiting() of a %s ticket = %v", s, got)
		}
	}
}

var tokenPattern = regexp.MustCompile(`^[a-z2-7]+$`)

func TestNewTicketID(t *testing.T) {
	const n = 5000
	seen := make(map[string]bool, n)
	random := make(map[string]bool, n)
	for range n {
		id := NewTicketID()
		// Base32 carries 5 bits a character: 24 characters are 120 bits.
		if len(id) != 24 || !tokenPattern.MatchString(id) {
			t.Fatalf("NewTicketID() = %q, want 24 characters of [a-z2-7]", id)
		}
		if bits := 5 * len(id); bits < 96 {
			t.Fatalf("NewTicketID() carries %d bits, want at least 96", bits)
		}
		raw, err := b32.DecodeString(strings.ToUpper(id))
		if err != nil || len(raw) != 15 {
			t.Fatalf("NewTicketID() = %q decodes to %d bytes, %v", id, len(raw), err)
		}
		// 96 random bits after the 24 of the time: 12 random bytes.
		random[string(raw[3:])] = true
		if seen[id] {
			t.Fatalf("NewTicketID() repeated %q", id)
		}
		seen[id] = true
	}
	if len(random) != n {
		t.Fatalf("%d tickets' random parts: %d distinct", n, len(random))
	}
}

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := NewToken()
		if len(tok) != 32 || !tokenPattern.MatchString(tok) { // 160 bits
			t.Fatalf("NewToken() = %q", tok)
		}
		if seen[tok] {
			t.Fatalf("NewToken() repeated %q", tok)
		}
		seen[tok] = true
	}
}

func TestNewPairingCode(t *testing.T) {
	for range 100 {
		if c := NewPairingCode(); len(c) != 8 || !tokenPattern.MatchString(c) {
			t.Fatalf("NewPairingCode() = %q", c)
		}
	}
}

func TestPublicTicket(t *testing.T) {
	c := at(1)
	tk := &Ticket{ID: "t1", HallID: "h1", ServiceID: "a", Number: "A001", Channel: ChannelRemote, Priority: PriorityPriority,
		PriorityGroup: "elderly", Status: StatusCalled, IssuedAt: t0, QueuedAt: t0, CalledAt: &c, CounterID: "c1", CallCount: 2}
	want := PublicTicket{Number: "A001", ServiceID: "a", CounterID: "c1", Status: StatusCalled, CallCount: 2}
	if got := tk.Public(); got != want {
		t.Errorf("Public() = %+v, want %+v", got, want)
	}
}

func TestValidChannel(t *testing.T) {
	for c, want := range map[string]bool{
		ChannelKiosk: true, ChannelRemote: true, ChannelAppointment: true, ChannelStaff: true,
		"": false, "Kiosk": false, "phone": false,
	} {
		if got := ValidChannel(c); got != want {
			t.Errorf("ValidChannel(%q) = %v, want %v", c, got, want)
		}
	}
}

// The rule of a call out of order: why, where, and never a second counter
// on one ticket.
func TestCheckChosenCall(t *testing.T) {
	counter := func(status string) *Counter {
		return &Counter{HallID: "h", ID: "2", ServiceIDs: []string{"general", "social"}, Status: status}
	}
	ticket := func(status, service, at string) *Ticket {
		return &Ticket{ID: "tk", HallID: "h", Number: "A007", ServiceID: service, Status: status, CounterID: at}
	}
	for _, tc := range []struct {
		name    string
		c       *Counter
		t       *Ticket
		reason  string
		code    string // "" when allowed
		field   string
		message string
	}{
		{"waiting, with a reason", counter(CounterOpen), ticket(StatusWaiting, "general", ""), "老人，行动不便", "", "", ""},
		{"another service of the counter", counter(CounterOpen), ticket(StatusWaiting, "social", ""), "urgent", "", "", ""},
		{"no reason", counter(CounterOpen), ticket(StatusWaiting, "general", ""), "", EInvalid, "reason", ""},
		{"blank reason", counter(CounterOpen), ticket(StatusWaiting, "general", ""), " \t ", EInvalid, "reason", ""},
		{"reason too long", counter(CounterOpen), ticket(StatusWaiting, "general", ""), strings.Repeat("长", MaxCallReason+1), EInvalid, "reason", ""},
		{"reason at the limit", counter(CounterOpen), ticket(StatusWaiting, "general", ""), strings.Repeat("长", MaxCallReason), "", "", ""},
		{"counter paused", counter(CounterPaused), ticket(StatusWaiting, "general", ""), "urgent", EConflict, "", "paused"},
		{"counter closed", counter(CounterClosed), ticket(StatusWaiting, "general", ""), "urgent", EConflict, "", "closed"},
		{"called at another counter", counter(CounterOpen), ticket(StatusCalled, "general", "5"), "urgent", EConflict, "", "counter 5"},
		{"served at another counter", counter(CounterOpen), ticket(StatusServing, "general", "5"), "urgent", EConflict, "", "counter 5"},
		{"already at this counter", counter(CounterOpen), ticket(StatusCalled, "general", "2"), "urgent", EConflict, "", "this counter"},
		{"done", counter(CounterOpen), ticket(StatusDone, "general", ""), "urgent", EInvalidTransition, "", ""},
		{"no-show", counter(CounterOpen), ticket(StatusNoShow, "general", ""), "urgent", EInvalidTransition, "", ""},
		{"cancelled", counter(CounterOpen), ticket(StatusCancelled, "general", ""), "urgent", EInvalidTransition, "", ""},
		{"a service the counter does not serve", counter(CounterOpen), ticket(StatusWaiting, "tax", ""), "urgent", EConflict, "ticket_id", "transfer"},
		{"another hall's ticket", counter(CounterOpen), &Ticket{ID: "x", HallID: "other", ServiceID: "general", Status: StatusWaiting}, "urgent", ENotFound, "ticket_id", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckChosenCall(tc.c, tc.t, tc.reason)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.message) {
				t.Fatalf("got %v, want %s naming %q and saying %q", err, tc.code, tc.field, tc.message)
			}
		})
	}
}

// TestTicketIDLen: an SMS provider's length rule counts a ticket's id (the
// taken message's link) as ticketIDLen.
func TestTicketIDLen(t *testing.T) {
	for range 100 {
		if n := len(NewTicketID()); n != ticketIDLen {
			t.Fatalf("a ticket's id is %d characters, the rule counts %d", n, ticketIDLen)
		}
	}
}
