package civiq

import (
	"fmt"
	"regexp"
	"testing"
)

// allPerms lists every Permission; TestAllPermsIsComplete keeps it so.
var allPerms = []Permission{PermIssueTicket, PermCounterAction, PermRate, PermStaffView, PermManageHall, PermFollowUp, PermAdmin}

func TestAllPermsIsComplete(t *testing.T) {
	for i, p := range allPerms {
		if int(p) != i {
			t.Fatalf("allPerms[%d] = %d: the list is out of step with the constants", i, p)
		}
	}
	if PermAdmin != Permission(len(allPerms)-1) {
		t.Fatalf("PermAdmin = %d: a permission was added; add it to allPerms and the matrix", PermAdmin)
	}
}

// permName names a permission in failure messages.
func permName(p Permission) string {
	names := []string{"IssueTicket", "CounterAction", "Rate", "StaffView", "ManageHall", "FollowUp", "Admin"}
	if int(p) >= 0 && int(p) < len(names) {
		return names[p]
	}
	return fmt.Sprintf("Permission(%d)", int(p))
}

// TestCan is the matrix of who may do what. Every principal belongs to hall
// "h1" (a counter device and a rater to counter "c1" there); requests are
// made in the own hall h1 or the other hall h2, at the own counter c1 or the
// other counter c2.
//
// Each cell has four letters, Y allowed and . denied, for
//
//	own hall & own counter, own hall & other counter,
//	other hall & own counter, other hall & other counter.
func TestCan(t *testing.T) {
	principals := map[string]Principal{
		"admin":     {User: &User{Username: "root", Role: RoleAdmin}},
		"manager":   {User: &User{Username: "mgr", Role: RoleManager, HallIDs: []string{"h1"}}},
		"staff":     {User: &User{Username: "clerk", Role: RoleStaff, HallIDs: []string{"h1"}}},
		"kiosk":     {Device: &Device{ID: 1, Kind: DeviceKiosk, HallID: "h1"}},
		"counter":   {Device: &Device{ID: 2, Kind: DeviceCounter, HallID: "h1", CounterID: "c1"}},
		"rater":     {Device: &Device{ID: 3, Kind: DeviceRater, HallID: "h1", CounterID: "c1"}},
		"display":   {Device: &Device{ID: 4, Kind: DeviceDisplay, HallID: "h1"}},
		"anonymous": {},
	}
	matrix := map[string]map[Permission]string{
		"admin": {
			PermIssueTicket:   "YYYY",
			PermCounterAction: "YYYY",
			PermRate:          "YYYY",
			PermStaffView:     "YYYY",
			PermManageHall:    "YYYY",
			PermFollowUp:      "YYYY",
			PermAdmin:         "YYYY",
		},
		"manager": {
			PermIssueTicket:   "YY..",
			PermCounterAction: "YY..",
			PermRate:          "YY..", // the rater page's trial mode
			PermStaffView:     "YY..",
			PermManageHall:    "YY..",
			PermFollowUp:      "YY..",
			PermAdmin:         "....",
		},
		"staff": {
			PermIssueTicket:   "YY..",
			PermCounterAction: "YY..",
			PermRate:          "....",
			PermStaffView:     "YY..",
			PermManageHall:    "....",
			PermFollowUp:      "....",
			PermAdmin:         "....",
		},
		"kiosk": {
			PermIssueTicket:   "YY..",
			PermCounterAction: "....",
			PermRate:          "....",
			PermStaffView:     "....",
			PermManageHall:    "....",
			PermFollowUp:      "....",
			PermAdmin:         "....",
		},
		"counter": {
			PermIssueTicket:   "....",
			PermCounterAction: "Y...",
			PermRate:          "....",
			PermStaffView:     "....",
			PermManageHall:    "....",
			PermFollowUp:      "....",
			PermAdmin:         "....",
		},
		"rater": {
			PermIssueTicket:   "....",
			PermCounterAction: "....",
			PermRate:          "Y...",
			PermStaffView:     "....",
			PermManageHall:    "....",
			PermFollowUp:      "....",
			PermAdmin:         "....",
		},
		"display": {
			PermIssueTicket:   "....",
			PermCounterAction: "....",
			PermRate:          "....",
			PermStaffView:     "....",
			PermManageHall:    "....",
			PermFollowUp:      "....",
			PermAdmin:         "....",
		},
		"anonymous": {
			PermIssueTicket:   "....",
			PermCounterAction: "....",
			PermRate:          "....",
			PermStaffView:     "....",
			PermManageHall:    "....",
			PermFollowUp:      "....",
			PermAdmin:         "....",
		},
	}
	places := []struct{ hall, counter string }{
		{"h1", "c1"}, // own hall, own counter
		{"h1", "c2"}, // own hall, other counter
		{"h2", "c1"}, // other hall, own counter
		{"h2", "c2"}, // other hall, other counter
	}
	cell := regexp.MustCompile(`^[Y.]{4}$`)
	if len(matrix) != len(principals) {
		t.Fatalf("the matrix has %d principals, want %d", len(matrix), len(principals))
	}
	for name, p := range principals {
		row, ok := matrix[name]
		if !ok {
			t.Errorf("no row for %s", name)
			continue
		}
		for _, perm := range allPerms {
			want, ok := row[perm]
			if !ok || !cell.MatchString(want) {
				t.Errorf("%s/%s: the matrix cell %q is missing or malformed", name, permName(perm), want)
				continue
			}
			for i, pl := range places {
				if got := p.Can(perm, pl.hall, pl.counter); got != (want[i] == 'Y') {
					t.Errorf("%s.Can(%s, %s, %s) = %v, want %v", name, permName(perm), pl.hall, pl.counter, got, want[i] == 'Y')
				}
			}
		}
	}
}

// TestCanEdges covers what the matrix does not: several halls, users
// without halls or with an unknown role, empty ids and unknown permissions.
func TestCanEdges(t *testing.T) {
	manyHalls := Principal{User: &User{Role: RoleManager, HallIDs: []string{"h1", "h3"}}}
	noHalls := Principal{User: &User{Role: RoleStaff}}
	noRole := Principal{User: &User{Role: "", HallIDs: []string{"h1"}}}
	oddRole := Principal{User: &User{Role: "auditor", HallIDs: []string{"h1"}}}
	admin := Principal{User: &User{Role: RoleAdmin}}
	staff := Principal{User: &User{Role: RoleStaff, HallIDs: []string{"h1"}}}
	counterDev := Principal{Device: &Device{Kind: DeviceCounter, HallID: "h1", CounterID: "c1"}}
	raterDev := Principal{Device: &Device{Kind: DeviceRater, HallID: "h1", CounterID: "c1"}}
	oddDev := Principal{Device: &Device{Kind: "toaster", HallID: "h1", CounterID: "c1"}}
	tests := []struct {
		name    string
		p       Principal
		perm    Permission
		hall    string
		counter string
		want    bool
	}{
		{"manager of several halls, second hall", manyHalls, PermManageHall, "h3", "", true},
		{"manager of several halls, hall not theirs", manyHalls, PermStaffView, "h2", "", false},
		{"staff without halls", noHalls, PermStaffView, "h1", "", false},
		{"staff without halls, empty hall", noHalls, PermIssueTicket, "", "", false},
		{"user without a role", noRole, PermIssueTicket, "h1", "", false},
		{"user with an unknown role", oddRole, PermStaffView, "h1", "", false},
		{"staff, empty hall", staff, PermStaffView, "", "", false},
		{"staff at no counter in own hall", staff, PermCounterAction, "h1", "", true},
		{"admin, unknown permission", admin, Permission(99), "h1", "", true},
		{"staff, unknown permission", staff, Permission(99), "h1", "c1", false},
		{"staff, negative permission", staff, Permission(-1), "h1", "c1", false},
		{"staff, follow-ups of own hall", staff, PermFollowUp, "h1", "", false},
		{"manager of several halls, follow-ups of second hall", manyHalls, PermFollowUp, "h3", "", true},
		{"manager, follow-ups of no hall", Principal{User: &User{Role: RoleManager, HallIDs: []string{"h1"}}}, PermFollowUp, "", "", false},
		{"rater device, follow-ups", raterDev, PermFollowUp, "h1", "c1", false},
		{"counter device, no counter named", counterDev, PermCounterAction, "h1", "", false},
		{"rater device, no counter named", raterDev, PermRate, "h1", "", false},
		{"rater device, other hall", raterDev, PermRate, "h2", "c1", false},
		{"unknown device kind", oddDev, PermIssueTicket, "h1", "c1", false},
		{"unknown device kind, counter action", oddDev, PermCounterAction, "h1", "c1", false},
		{"unknown device kind, rate", oddDev, PermRate, "h1", "c1", false},
		{"anonymous, empty hall", Principal{}, PermIssueTicket, "", "", false},
	}
	for _, tt := range tests {
		if got := tt.p.Can(tt.perm, tt.hall, tt.counter); got != tt.want {
			t.Errorf("%s: Can(%s, %q, %q) = %v, want %v", tt.name, permName(tt.perm), tt.hall, tt.counter, got, tt.want)
		}
	}
}

func TestPrincipalIdentity(t *testing.T) {
	tests := []struct {
		name      string
		p         Principal
		anonymous bool
		key, role string
	}{
		{"nobody", Principal{}, true, "anon", ""},
		{"user", Principal{User: &User{Username: "li.wei", Role: RoleStaff}}, false, "user:li.wei", RoleStaff},
		{"device", Principal{Device: &Device{ID: 42, Kind: DeviceKiosk}}, false, "device:42", ""},
	}
	for _, tt := range tests {
		if got := tt.p.Anonymous(); got != tt.anonymous {
			t.Errorf("%s: Anonymous() = %v", tt.name, got)
		}
		if got := tt.p.Key(); got != tt.key {
			t.Errorf("%s: Key() = %q, want %q", tt.name, got, tt.key)
		}
		if got := tt.p.Role(); got != tt.role {
			t.Errorf("%s: Role() = %q, want %q", tt.name, got, tt.role)
		}
	}
}

func TestHashToken(t *testing.T) {
	h := HashToken("secret")
	if len(h) != 64 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
		t.Fatalf("HashToken = %q, want 64 hex digits", h)
	}
	if h != HashToken("secret") {
		t.Error("HashToken is not deterministic")
	}
	if h == HashToken("secret2") || h == HashToken("") {
		t.Error("HashToken collides")
	}
	// sha256("secret")
	if want := "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"; h != want {
		t.Errorf("HashToken(secret) = %s, want %s", h, want)
	}
}

func TestValidRoleAndDeviceKind(t *testing.T) {
	for r, want := range map[string]bool{RoleAdmin: true, RoleManager: true, RoleStaff: true, "": false, "Admin": false, "root": false} {
		if got := ValidRole(r); got != want {
			t.Errorf("ValidRole(%q) = %v", r, got)
		}
	}
	for k, want := range map[string]bool{DeviceKiosk: true, DeviceDisplay: true, DeviceRater: true, DeviceCounter: true, "": false, "tv": false} {
		if got := ValidDeviceKind(k); got != want {
			t.Errorf("ValidDeviceKind(%q) = %v", k, got)
		}
	}
	for k, want := range map[string]bool{DeviceKiosk: false, DeviceDisplay: false, DeviceRater: true, DeviceCounter: true} {
		if got := NeedsCounter(k); got != want {
			t.Errorf("NeedsCounter(%q) = %v", k, got)
		}
	}
}
