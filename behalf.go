package civiq

import (
	"context"
	"slices"
)

// 帮办代办: a ticket taken, or a case handled, on a citizen's behalf by a
// helper (issue 17). Only the helper's role is kept, never who the helper
// is: no name, phone or ID of the helper reaches the store.

// The helper roles a hall knows.
const (
	BehalfFamily    = "family"    // 家属
	BehalfGrid      = "grid"      // 社区网格员
	BehalfWindow    = "window"    // 窗口帮办
	BehalfVolunteer = "volunteer" // 志愿者
	BehalfAgent     = "agent"     // 受托代理人
)

// BehalfRoles are the helper roles, in the order the pages list them;
// their names, in both languages, are the pages' catalogue entries
// behalf.<role> (web/locale/*/common.json).
var BehalfRoles = []string{BehalfFamily, BehalfGrid, BehalfWindow, BehalfVolunteer, BehalfAgent}

// OnBehalf says a ticket or case is taken or handled for someone else,
// by a helper of Role.
type OnBehalf struct {
	Role string `json:"role"`
}

// ParseBehalf checks an on_behalf value: nil or an empty role is none;
// an unknown role is a 400 naming field.
func ParseBehalf(field string, b *OnBehalf) (*OnBehalf, error) {
	if b == nil || b.Role == "" {
		return nil, nil
	}
	if slices.Contains(BehalfRoles, b.Role) {
		return &OnBehalf{Role: b.Role}, nil
	}
	return nil, FieldErrorf(field, "unknown helper role %q: family, grid, window, volunteer or agent", b.Role)
}

// BehalfOf is the OnBehalf of a stored role, nil for "".
func BehalfOf(role string) *OnBehalf {
	if role == "" {
		return nil
	}
	return &OnBehalf{Role: role}
}

// BehalfRoleOf is the stored role of b, "" for none.
func BehalfRoleOf(b *OnBehalf) string {
	if b == nil {
		return ""
	}
	return b.Role
}

// SetTicketBehalf marks the ticket a clerk has called or serves as taken
// on someone's behalf by a helper of b's role, or unmarks it (b nil or
// its role empty): one write and one ticket.updated event.
func (e *Engine) SetTicketBehalf(ctx context.Context, ticketID string, b *OnBehalf) (*Ticket, error) {
	b, err := ParseBehalf("on_behalf.role", b)
	if err != nil {
		return nil, err
	}
	var out *Ticket
	err = e.update(ctx, func(tx Tx) error {
		t, err := tx.Ticket(ticketID)
		if err != nil {
			return err
		}
		if t.Status != StatusCalled && t.Status != StatusServing {
			return Errorf(EConflict, "ticket %s is %s: only a ticket called or being served is marked", t.Number, t.Status)
		}
		t.OnBehalf = b
		if err := tx.SetTicketBehalf(t.ID, BehalfRoleOf(b)); err != nil {
			return err
		}
		out = t
		return tx.AppendEvent(&Event{HallID: t.HallID, Type: EventUpdated, At: e.now(), Ticket: t})
	})
	return e.present(ctx, out, err)
}
