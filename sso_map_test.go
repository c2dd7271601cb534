package civiq

import (
	"slices"
	"strings"
	"testing"
)

func TestParseRoleMap(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{in: "", want: ""},
		{in: " ; \n", want: ""},
		{in: "civiq-admins=admin", want: "civiq-admins=admin"},
		{in: "demo-staff=staff:demo", want: "demo-staff=staff:demo"},
		{in: " a = manager : demo , branch ,demo;\r\nb=admin", want: "a=manager:demo,branch; b=admin"},
		{in: "*=staff:demo", want: "*=staff:demo"},
		{in: "cn=staff,ou=groups=staff:demo", want: "cn=staff,ou=groups=staff:demo"}, // the first = splits
		{in: "省政务服务中心=manager:demo", want: "省政务服务中心=manager:demo"},
		{in: "x", err: "want value=role"},
		{in: "=admin", err: "want value=role"},
		{in: "x=root", err: "role must be"},
		{in: "x=admin:demo", err: "admin has every hall"},
		{in: "x=staff", err: "needs at least one hall"},
		{in: "x=staff:,", err: "needs at least one hall"},
		{in: "x=staff:bad hall", err: "not a hall id"},
		{in: "x=admin;x=staff:demo", err: "mapped twice"},
		{in: "a\x00b=admin", err: "control character"},
		{in: strings.Repeat("v", 257) + "=admin", err: "longer than 256"},
	} {
		m, err := ParseRoleMap(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseRoleMap(%q) = %v, %v; want an error with %q", c.in, m, err, c.err)
			}
			continue
		}
		if err != nil || m.String() != c.want {
			t.Errorf("ParseRoleMap(%q) = %q, %v; want %q", c.in, m.String(), err, c.want)
		}
	}
	var many strings.Builder
	for i := range maxRoleRules + 1 {
		many.WriteString("v" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + itoa(i) + "=admin;")
	}
	if _, err := ParseRoleMap(many.String()); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("%d rules: %v, want refused", maxRoleRules+1, err)
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

func TestRoleMapDecide(t *testing.T) {
	m, err := ParseRoleMap("admins=admin; demo-mgr=manager:demo; b-mgr=manager:branch,demo; demo-staff=staff:demo; c-staff=staff:city")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		groups []string
		role   string
		halls  []string
		ok     bool
	}{
		{groups: nil},
		{groups: []string{"nobody", "Admins"}}, // values match exactly
		{groups: []string{"demo-staff"}, role: RoleStaff, halls: []string{"demo"}, ok: true},
		{groups: []string{"demo-staff", "c-staff"}, role: RoleStaff, halls: []string{"city", "demo"}, ok: true},
		{groups: []string{"demo-staff", "demo-mgr"}, role: RoleManager, halls: []string{"demo"}, ok: true},
		{groups: []string{"b-mgr", "demo-mgr", "c-staff"}, role: RoleManager, halls: []string{"branch", "demo"}, ok: true},
		{groups: []string{"demo-mgr", "admins"}, role: RoleAdmin, ok: true},
	} {
		role, halls, ok := m.Decide(c.groups)
		if role != c.role || !slices.Equal(halls, c.halls) || ok != c.ok {
			t.Errorf("Decide(%q) = %q %q %v; want %q %q %v", c.groups, role, halls, ok, c.role, c.halls, c.ok)
		}
	}
	star, _ := ParseRoleMap("*=staff:demo; leads=manager:demo")
	if role, halls, ok := star.Decide(nil); !ok || role != RoleStaff || !slices.Equal(halls, []string{"demo"}) {
		t.Errorf("* with no groups: %q %q %v", role, halls, ok)
	}
	if role, _, _ := star.Decide([]string{"leads"}); role != RoleManager {
		t.Errorf("* and leads: %q, want manager", role)
	}
	if _, _, ok := RoleMap(nil).Decide([]string{"admins"}); ok {
		t.Error("an empty mapping lets someone in")
	}
}

// FuzzParseRoleMap: the parser never panics, and what it accepts it
// writes back in a form it reads to the same mapping, every rule valid.
func FuzzParseRoleMap(f *testing.F) {
	for _, s := range []string{"", "a=admin", "a=staff:demo,branch; b=manager:x\n*=staff:y", "x=staff:", "a=b=c", ";;=;", "cn=x,dc=y=manager:demo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseRoleMap(s)
		if err != nil {
			return
		}
		again, err := ParseRoleMap(m.String())
		if err != nil || again.String() != m.String() {
			t.Fatalf("%q: written %q, read back %q, %v", s, m.String(), again.String(), err)
		}
		for _, r := range m {
			if !ValidRole(r.Role) || r.Value == "" || (r.Role == RoleAdmin) != (len(r.Halls) == 0) {
				t.Fatalf("%q: bad rule %+v", s, r)
			}
		}
	})
}
