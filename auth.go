package civiq

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Principal is whoever makes a request: nobody, a signed-in user or a
// paired device.
type Principal struct {
	User   *User
	Device *Device
	// Edge is an edge node's token (edge.go), on the city.
	Edge *EdgeToken
}

// Anonymous reports whether nobody is signed in.
func (p Principal) Anonymous() bool { return p.User == nil && p.Device == nil && p.Edge == nil }

// Key identifies the principal, for scoping idempotency keys and logs.
func (p Principal) Key() string {
	switch {
	case p.User != nil:
		return "user:" + p.User.Username
	case p.Device != nil:
		return "device:" + strconv.FormatInt(p.Device.ID, 10)
	case p.Edge != nil:
		return "edge:" + strconv.FormatInt(p.Edge.ID, 10)
	}
	return "anon"
}

// Role is the user's role, or "" for devices and nobody.
func (p Principal) Role() string {
	if p.User != nil {
		return p.User.Role
	}
	return ""
}

// Permissions checked by Can.
type Permission int

const (
	PermIssueTicket   Permission = iota // take a ticket at any channel
	PermCounterAction                   // call, recall, start, finish, no-show, transfer, counter status
	// PermRate: the counter's rater device: its last finished ticket, the
	// province's rating page. A hall's managers have it too, for the rater
	// page they open signed in to try it (its trial mode).
	PermRate
	PermStaffView  // the staff view of a hall's events and lists
	PermManageHall // announcements, hall settings, reports
	PermFollowUp   // 好差评 follow-ups and rating reports (manager, admin)
	PermAdmin      // users, devices, halls
	// PermDashboard: the live dashboard, the staffing planner and the city
	// overview of a hall (dashboard.go): its manager, admins.
	PermDashboard
	// PermEdgeLink: an edge node's link to the city (edge.go): writing the
	// hall's events, reading the hall's configuration. Only the hall's
	// edge token has it.
	PermEdgeLink
)

// Can reports whether p may do perm in hall (and at counter, where the
// permission concerns one). It is the one place roles are decided.
func (p Principal) Can(perm Permission, hallID, counterID string) bool {
	if u := p.User; u != nil {
		if u.Role == RoleAdmin {
			return perm != PermEdgeLink
		}
		if !inHall(u.HallIDs, hallID) {
			return false
		}
		switch perm {
		case PermIssueTicket, PermCounterAction, PermStaffView:
			return u.Role == RoleStaff || u.Role == RoleManager
		case PermManageHall, PermFollowUp, PermDashboard, PermRate:
			return u.Role == RoleManager
		}
		return false
	}
	if t := p.Edge; t != nil {
		return perm == PermEdgeLink && t.HallID == hallID
	}
	if d := p.Device; d != nil {
		if d.HallID != hallID {
			return false
		}
		switch perm {
		case PermIssueTicket:
			return d.Kind == DeviceKiosk
		case PermCounterAction:
			return d.Kind == DeviceCounter && d.CounterID == counterID
		case PermRate:
			return d.Kind == DeviceRater && d.CounterID == counterID
		}
	}
	return false
}

func inHall(halls []string, hall string) bool {
	for _, h := range halls {
		if h == hall {
			return true
		}
	}
	return false
}

// HashToken is how session and device tokens are stored: only a hash, so a
// copy of the database gives no one a way in.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
