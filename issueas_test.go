package civiq_test

import (
	"testing"

	"github.com/civiq/civiq"
)

// Who may take which ticket: the channel follows who asks, and a hall that
// gives no remote tickets gives them only to its kiosks and staff.
func TestIssueTicketAs(t *testing.T) {
	e := newEnv(t)
	var (
		nobody  = civiq.Principal{}
		kiosk   = civiq.Principal{Device: &civiq.Device{Kind: civiq.DeviceKiosk, HallID: "demo"}}
		display = civiq.Principal{Device: &civiq.Device{Kind: civiq.DeviceDisplay, HallID: "demo"}}
		staff   = civiq.Principal{User: &civiq.User{Username: "s", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}}
		other   = civiq.Principal{User: &civiq.User{Username: "o", Role: civiq.RoleStaff, HallIDs: []string{"other"}}}
	)
	for _, remote := range []bool{true, false} {
		e.saveHall(func(h *civiq.Hall) { h.AllowRemote = remote })
		// remoteCode is what a remote ticket of someone who may not issue
		// in the hall gets.
		remoteCode, deviceRemote := "", civiq.EInvalid // only a kiosk is a device that issues
		if !remote {
			remoteCode, deviceRemote = civiq.EForbidden, civiq.EForbidden
		}
		for _, c := range []struct {
			name    string
			by      civiq.Principal
			channel string
			code    string // "" for a ticket
			want    string // its channel
		}{
			{"anyone, no channel", nobody, "", remoteCode, civiq.ChannelRemote},
			{"anyone, remote", nobody, civiq.ChannelRemote, remoteCode, civiq.ChannelRemote},
			{"anyone, kiosk", nobody, civiq.ChannelKiosk, civiq.EUnauthorized, ""},
			{"anyone, made up", nobody, "fax", civiq.EInvalid, ""},
			{"kiosk, no channel", kiosk, "", "", civiq.ChannelKiosk},
			{"kiosk, remote", kiosk, civiq.ChannelRemote, civiq.EInvalid, ""},
			{"display, kiosk", display, civiq.ChannelKiosk, civiq.EForbidden, ""},
			{"display, remote", display, civiq.ChannelRemote, deviceRemote, ""},
			{"staff, no channel", staff, "", "", civiq.ChannelStaff},
			{"staff, kiosk", staff, civiq.ChannelKiosk, "", civiq.ChannelKiosk},
			{"staff, remote", staff, civiq.ChannelRemote, "", civiq.ChannelRemote},
			{"staff, appointment", staff, civiq.ChannelAppointment, civiq.EInvalid, ""},
			{"staff of another hall, staff", other, "", civiq.EForbidden, ""},
			{"staff of another hall, remote", other, civiq.ChannelRemote, remoteCode, civiq.ChannelRemote},
		} {
			req := civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: c.channel}
			tk, err := e.eng.IssueTicketAs(e.ctx, c.by, req, nil)
			if got := civiq.ErrorCode(err); err != nil && got != c.code || err == nil && c.code != "" {
				t.Errorf("remote %v, %s: %v, want %q", remote, c.name, err, c.code)
				continue
			}
			if err == nil && tk.Channel != c.want {
				t.Errorf("remote %v, %s: channel %s, want %s", remote, c.name, tk.Channel, c.want)
			}
		}
	}
	if _, err := e.eng.IssueTicketAs(e.ctx, civiq.Principal{}, civiq.IssueRequest{HallID: "nowhere", ServiceID: "general"}, nil); !civiq.IsNotFound(err) {
		t.Errorf("remote ticket of an unknown hall: %v", err)
	}
}
