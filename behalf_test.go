package civiq_test

import (
	"errors"
	"testing"

	"github.com/civiq/civiq"
)

func TestParseBehalf(t *testing.T) {
	for _, c := range []struct {
		in   *civiq.OnBehalf
		want string // "" none; "!" refused
	}{
		{nil, ""},
		{&civiq.OnBehalf{}, ""},
		{&civiq.OnBehalf{Role: "family"}, "family"},
		{&civiq.OnBehalf{Role: "grid"}, "grid"},
		{&civiq.OnBehalf{Role: "window"}, "window"},
		{&civiq.OnBehalf{Role: "volunteer"}, "volunteer"},
		{&civiq.OnBehalf{Role: "agent"}, "agent"},
		{&civiq.OnBehalf{Role: "Family"}, "!"},
		{&civiq.OnBehalf{Role: "家属"}, "!"},
		{&civiq.OnBehalf{Role: " family"}, "!"},
		{&civiq.OnBehalf{Role: "neighbour"}, "!"},
	} {
		got, err := civiq.ParseBehalf("on_behalf.role", c.in)
		if c.want == "!" {
			var ce *civiq.Error
			if !errors.As(err, &ce) || ce.Code != civiq.EInvalid || ce.Field != "on_behalf.role" {
				t.Errorf("%+v: want a 400 naming on_behalf.role, got %v", c.in, err)
			}
			continue
		}
		if err != nil || civiq.BehalfRoleOf(got) != c.want {
			t.Errorf("%+v: got %+v, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// A helper's ticket keeps the role, in the answer, the event and the
// store; a phone's may not have one; a refusal writes nothing.
func TestIssueOnBehalf(t *testing.T) {
	e := newEnv(t)
	tk, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk,
		OnBehalf: &civiq.OnBehalf{Role: civiq.BehalfGrid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if civiq.BehalfRoleOf(tk.OnBehalf) != civiq.BehalfGrid {
		t.Fatalf("answer: %+v", tk.OnBehalf)
	}
	evs := e.take()
	if len(evs) != 1 || civiq.BehalfRoleOf(evs[0].Ticket.OnBehalf) != civiq.BehalfGrid {
		t.Fatalf("the event does not record it: %+v", evs)
	}
	if got, _ := e.eng.Ticket(e.ctx, tk.ID); civiq.BehalfRoleOf(got.OnBehalf) != civiq.BehalfGrid {
		t.Fatalf("as stored: %+v", got.OnBehalf)
	}
	plain, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelStaff}, nil)
	if err != nil || plain.OnBehalf != nil {
		t.Fatalf("a citizen's own ticket: %v %+v", err, plain)
	}
	e.take()
	var ce *civiq.Error
	_, err = e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk,
		OnBehalf: &civiq.OnBehalf{Role: "neighbour"}}, nil)
	if !errors.As(err, &ce) || ce.Field != "on_behalf.role" {
		t.Fatalf("an unknown role: %v", err)
	}
	_, err = e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelRemote,
		OnBehalf: &civiq.OnBehalf{Role: civiq.BehalfFamily}}, nil)
	if !errors.As(err, &ce) || ce.Field != "on_behalf" {
		t.Fatalf("a helper from a phone: %v", err)
	}
	if evs := e.take(); len(evs) != 0 {
		t.Fatalf("refusals wrote %d events", len(evs))
	}
}

// A clerk marks the ticket called: one write, one ticket.updated event;
// a waiting ticket is refused and writes nothing.
func TestSetTicketBehalf(t *testing.T) {
	e := newEnv(t)
	tk, err := e.eng.IssueTicket(e.ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelStaff}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.take()
	if _, err := e.eng.SetTicketBehalf(e.ctx, tk.ID, &civiq.OnBehalf{Role: civiq.BehalfWindow}); civiq.ErrorCode(err) != civiq.EConflict {
		t.Fatalf("a waiting ticket: %v", err)
	}
	if evs := e.take(); len(evs) != 0 {
		t.Fatalf("a refusal wrote %d events", len(evs))
	}
	if _, err := e.eng.CallTicket(e.ctx, "demo", "1", tk.ID, "test", nil); err != nil {
		t.Fatal(err)
	}
	e.take()
	got, err := e.eng.SetTicketBehalf(e.ctx, tk.ID, &civiq.OnBehalf{Role: civiq.BehalfWindow})
	if err != nil || civiq.BehalfRoleOf(got.OnBehalf) != civiq.BehalfWindow {
		t.Fatalf("marked: %v %+v", err, got)
	}
	evs := e.take()
	if len(evs) != 1 || evs[0].Type != civiq.EventUpdated || civiq.BehalfRoleOf(evs[0].Ticket.OnBehalf) != civiq.BehalfWindow {
		t.Fatalf("events: %+v", evs)
	}
	if st, _ := e.eng.Ticket(e.ctx, tk.ID); civiq.BehalfRoleOf(st.OnBehalf) != civiq.BehalfWindow {
		t.Fatalf("as stored: %+v", st.OnBehalf)
	}
}
