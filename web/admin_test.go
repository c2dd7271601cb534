package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/civiqtest"
)

type apiErr struct {
	Error struct{ Code, Message, Field string }
}

// wantErr checks a 4xx answer's status and the field it names.
func wantErr(t testing.TB, s *civiqtest.Server, method, path, token string, body any, status int, field string) {
	t.Helper()
	var e apiErr
	if st := s.Call(t, method, path, token, body, &e); st != status || e.Error.Field != field {
		t.Errorf("%s %s %v: got %d field %q (%s), want %d field %q", method, path, body, st, e.Error.Field, e.Error.Message, status, field)
	}
}

func TestAdminPageAccess(t *testing.T) {
	s := civiqtest.New(t)
	admin := s.Admin
	staff := s.User(t, "clerk", civiq.RoleStaff, "demo")
	manager := s.User(t, "boss", civiq.RoleManager, "demo")

	res, _ := s.Page(t, "/admin?lang=en", "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+url.QueryEscape("/admin?lang=en") {
		t.Errorf("anonymous: %d to %q, want 303 to the sign-in page", res.StatusCode, res.Header.Get("Location"))
	}

	res, body := s.Page(t, "/admin", staff)
	if st := res.StatusCode; st != http.StatusForbidden || !strings.Contains(body, "无权使用后台管理") || strings.Contains(body, "admin.js") {
		t.Errorf("staff: %d, want a plain 403 page without the admin script:\n%s", st, body)
	}

	res, body = s.Page(t, "/admin", manager)
	if st := res.StatusCode; st != 200 || !strings.Contains(body, `id="sec-announcements"`) || !strings.Contains(body, `id="sec-policy"`) {
		t.Errorf("manager: %d, want announcements and policy", st)
	}
	for _, hidden := range []string{"sec-halls", "sec-services", "sec-counters", "sec-users", "sec-devices"} {
		if strings.Contains(body, `id="`+hidden+`"`) {
			t.Errorf("manager sees %s", hidden)
		}
	}

	res, body = s.Page(t, "/admin", admin)
	for _, sec := range []string{"sec-halls", "sec-services", "sec-counters", "sec-users", "sec-devices", "sec-announcements", "sec-policy"} {
		if !strings.Contains(body, `id="`+sec+`"`) {
			t.Errorf("admin: no %s", sec)
		}
	}
	if st := res.StatusCode; st != 200 || !strings.Contains(body, `<html lang="zh-CN">`) || !strings.Contains(body, "叫号策略") {
		t.Errorf("admin: %d, want the Chinese page", st)
	}
	res, body = s.Page(t, "/admin?lang=en", admin)
	if st := res.StatusCode; st != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Calling policy") {
		t.Errorf("admin in English: %d", st)
	}
}

func TestAdminHallPolicyAndAnnouncements(t *testing.T) {
	s := civiqtest.New(t)
	admin := s.Admin
	staff := s.User(t, "clerk", civiq.RoleStaff, "demo")
	manager := s.User(t, "boss", civiq.RoleManager, "demo")
	other := map[string]any{"name": "第二大厅", "timezone": "Asia/Shanghai"}
	if st := s.Call(t, "PUT", "/api/v1/halls/second", admin, other, nil); st != 200 {
		t.Fatalf("create hall: %d", st)
	}

	var setup civiq.HallSetup
	if st := s.Call(t, "GET", "/api/v1/halls/demo/setup", admin, nil, &setup); st != 200 {
		t.Fatalf("setup: %d", st)
	}
	if len(setup.Services) != 4 || setup.Services[3].ID != "social" || setup.Services[3].Position != 3 || len(setup.Counters) != 6 || setup.Devices == nil {
		t.Errorf("setup: %+v", setup)
	}
	wantErr(t, s, "GET", "/api/v1/halls/demo/setup", manager, nil, 403, "")
	wantErr(t, s, "GET", "/api/v1/halls/nowhere/setup", admin, nil, 404, "")

	pol := map[string]any{"policy": "service-order", "max_calls": 4, "late_return_behind": 0}
	var out struct{ Hall civiq.Hall }
	if st := s.Call(t, "PUT", "/api/v1/halls/demo/policy", manager, pol, &out); st != 200 || out.Hall.Policy != "service-order" || out.Hall.MaxCalls != 4 || out.Hall.LateReturnBehind != 0 {
		t.Errorf("manager sets the policy: %d %+v", st, out.Hall)
	}
	if out.Hall.Name != "示范政务服务大厅" || !out.Hall.AllowRemote {
		t.Errorf("the policy changed other settings: %+v", out.Hall)
	}
	wantErr(t, s, "PUT", "/api/v1/halls/demo/policy", staff, pol, 403, "")
	wantErr(t, s, "PUT", "/api/v1/halls/second/policy", manager, pol, 403, "")
	wantErr(t, s, "PUT", "/api/v1/halls/demo/policy", admin, map[string]any{"policy": "random", "max_calls": 3, "late_return_behind": 3}, 400, "policy")
	wantErr(t, s, "PUT", "/api/v1/halls/demo/policy", admin, map[string]any{"policy": "fifo", "max_calls": 11, "late_return_behind": 3}, 400, "max_calls")
	wantErr(t, s, "PUT", "/api/v1/halls/demo/policy", admin, map[string]any{"policy": "fifo", "max_calls": 3}, 400, "late_return_behind")
	wantErr(t, s, "PUT", "/api/v1/halls/demo/policy", admin, map[string]any{"policy": "fifo", "max_calls": "3", "late_return_behind": 3}, 400, "max_calls")
	wantErr(t, s, "PUT", "/api/v1/halls/demo/policy", "", pol, 401, "")

	for _, text := range []string{"第一条", "第二条"} {
		if st := s.Call(t, "POST", "/api/v1/halls/demo/announcements", manager, map[string]string{"text": text}, nil); st != 201 {
			t.Fatalf("announce: %d", st)
		}
	}
	var anns struct{ Announcements []civiq.Announcement }
	if st := s.Call(t, "GET", "/api/v1/halls/demo/announcements", manager, nil, &anns); st != 200 || len(anns.Announcements) != 2 || anns.Announcements[0].Text != "第二条" {
		t.Errorf("announcements: %d %+v", st, anns)
	}
	wantErr(t, s, "GET", "/api/v1/halls/demo/announcements", staff, nil, 403, "")
	wantErr(t, s, "POST", "/api/v1/halls/demo/announcements", manager, map[string]string{"text": " "}, 400, "text")
}

func TestAdminDeleteServiceAndCounter(t *testing.T) {
	s := civiqtest.New(t)
	admin := s.Admin

	wantErr(t, s, "DELETE", "/api/v1/halls/demo/services/tax", admin, nil, 409, "") // counters 5 and 6 serve it
	wantErr(t, s, "DELETE", "/api/v1/halls/demo/services/nothing", admin, nil, 404, "")
	// A service someone waits for stays.
	if st := s.Call(t, "PUT", "/api/v1/halls/demo/services/passport", admin, map[string]any{"prefix": "E", "name": "出入境"}, nil); st != 200 {
		t.Fatalf("add service: %d", st)
	}
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "passport"}, nil); st != 201 {
		t.Fatalf("ticket: %d", st)
	}
	wantErr(t, s, "DELETE", "/api/v1/halls/demo/services/passport", admin, nil, 409, "")
	// Duplicate prefixes name the field, and so does a conflicting username.
	wantErr(t, s, "PUT", "/api/v1/halls/demo/services/visa", admin, map[string]any{"prefix": "E", "name": "签证"}, 409, "prefix")
	wantErr(t, s, "PUT", "/api/v1/halls/demo/services/visa", admin, map[string]any{"prefix": "e1", "name": "签证"}, 400, "prefix")
	if st := s.Call(t, "PUT", "/api/v1/halls/demo/services/visa", admin, map[string]any{"prefix": "F", "name": "签证"}, nil); st != 200 {
		t.Fatalf("add service: %d", st)
	}
	if st := s.Call(t, "DELETE", "/api/v1/halls/demo/services/visa", admin, nil, nil); st != 204 {
		t.Errorf("delete an unused service: %d", st)
	}

	// Take tax off counters 5 and 6, then delete counter 5, then tax.
	if st := s.Call(t, "PUT", "/api/v1/halls/demo/counters/6", admin, map[string]any{"name": "6号窗口", "service_ids": []string{"general"}}, nil); st != 200 {
		t.Fatal(st)
	}
	var dev struct{ Device civiq.Device }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/devices", admin, map[string]string{"kind": "rater", "counter_id": "5"}, &dev); st != 201 {
		t.Fatal(st)
	}
	wantErr(t, s, "DELETE", "/api/v1/halls/demo/counters/5", admin, nil, 409, "") // a rater is bound to it
	if st := s.Call(t, "DELETE", "/api/v1/halls/demo/devices/"+jsonID(dev.Device.ID), admin, nil, nil); st != 204 {
		t.Fatalf("delete device: %d", st)
	}
	if st := s.Call(t, "DELETE", "/api/v1/halls/demo/counters/5", admin, nil, nil); st != 204 {
		t.Errorf("delete counter: %d", st)
	}
	wantErr(t, s, "DELETE", "/api/v1/halls/demo/counters/5", admin, nil, 404, "")
	if st := s.Call(t, "DELETE", "/api/v1/halls/demo/services/tax", admin, nil, nil); st != 204 {
		t.Errorf("delete tax: %d", st)
	}
	var svcs struct{ Services []civiq.Service }
	s.Call(t, "GET", "/api/v1/halls/demo/services", "", nil, &svcs)
	for _, sv := range svcs.Services {
		if sv.ID == "tax" || sv.ID == "visa" {
			t.Errorf("service %s is still listed", sv.ID)
		}
	}
	// A counter with a ticket called stays.
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", admin, map[string]string{"service_id": "general"}, nil); st != 201 {
		t.Fatalf("ticket: %d", st)
	}
	var call struct{ Ticket civiq.Ticket }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", admin, nil, &call); st != 200 {
		t.Fatalf("call: %d", st)
	}
	wantErr(t, s, "DELETE", "/api/v1/halls/demo/counters/1", admin, nil, 409, "")
	staff := s.User(t, "clerk", civiq.RoleStaff, "demo")
	wantErr(t, s, "DELETE", "/api/v1/halls/demo/counters/2", staff, nil, 403, "")
	wantErr(t, s, "DELETE", "/api/v1/halls/demo/services/general", staff, nil, 403, "")
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

func TestAdminUsers(t *testing.T) {
	s := civiqtest.New(t)
	admin := s.Admin
	clerk := s.User(t, "clerk", civiq.RoleStaff, "demo")

	wantErr(t, s, "POST", "/api/v1/users", admin, map[string]any{"username": "clerk", "password": "0123456789", "role": "staff", "hall_ids": []string{"demo"}}, 409, "username")
	wantErr(t, s, "POST", "/api/v1/users", admin, map[string]any{"username": "x y", "password": "0123456789", "role": "staff", "hall_ids": []string{"demo"}}, 400, "username")
	wantErr(t, s, "POST", "/api/v1/users", admin, map[string]any{"username": "xy", "password": "short", "role": "staff", "hall_ids": []string{"demo"}}, 400, "password")
	wantErr(t, s, "POST", "/api/v1/users", admin, map[string]any{"username": "xy", "password": "0123456789", "role": "staff"}, 400, "hall_ids")

	// Promote the clerk to manager: it counts from the next request.
	if st := s.Call(t, "GET", "/api/v1/halls/demo/announcements", clerk, nil, nil); st != 403 {
		t.Fatalf("staff reads announcements: %d", st)
	}
	var out struct{ User civiq.User }
	if st := s.Call(t, "PUT", "/api/v1/users/clerk", admin, map[string]any{"role": "manager"}, &out); st != 200 || out.User.Role != "manager" || len(out.User.HallIDs) != 1 {
		t.Fatalf("promote: %d %+v", st, out.User)
	}
	if st := s.Call(t, "GET", "/api/v1/halls/demo/announcements", clerk, nil, nil); st != 200 {
		t.Errorf("the new manager reads announcements: %d", st)
	}
	wantErr(t, s, "PUT", "/api/v1/users/clerk", admin, map[string]any{"hall_ids": []string{}}, 400, "hall_ids")
	wantErr(t, s, "PUT", "/api/v1/users/clerk", admin, map[string]any{"hall_ids": []string{"nowhere"}}, 400, "hall_ids")
	wantErr(t, s, "PUT", "/api/v1/users/clerk", admin, map[string]any{"role": "king"}, 400, "role")
	wantErr(t, s, "PUT", "/api/v1/users/clerk", admin, map[string]any{"password": "short"}, 400, "password")
	wantErr(t, s, "PUT", "/api/v1/users/nobody", admin, map[string]any{"role": "staff"}, 404, "")
	wantErr(t, s, "PUT", "/api/v1/users/clerk", clerk, map[string]any{"role": "admin"}, 403, "")
	// The last admin stays an admin and stays.
	wantErr(t, s, "PUT", "/api/v1/users/admin", admin, map[string]any{"role": "staff", "hall_ids": []string{"demo"}}, 409, "role")
	wantErr(t, s, "DELETE", "/api/v1/users/admin", admin, nil, 409, "")

	// A new password set by an admin signs the user out.
	if st := s.Call(t, "PUT", "/api/v1/users/clerk", admin, map[string]any{"password": "a-new-password"}, nil); st != 200 {
		t.Fatalf("reset password: %d", st)
	}
	if st := s.Call(t, "GET", "/api/v1/auth/me", clerk, nil, nil); st != 401 {
		t.Errorf("old session after a password reset: %d, want 401", st)
	}
	clerk = s.Login(t, "clerk", "a-new-password")

	// A second admin may delete the first; nobody deletes themselves; a
	// deleted user's session ends at once.
	second := s.User(t, "second", civiq.RoleAdmin)
	wantErr(t, s, "DELETE", "/api/v1/users/second", second, nil, 409, "")
	if st := s.Call(t, "DELETE", "/api/v1/users/clerk", second, nil, nil); st != 204 {
		t.Fatalf("delete clerk: %d", st)
	}
	if st := s.Call(t, "GET", "/api/v1/auth/me", clerk, nil, nil); st != 401 {
		t.Errorf("deleted user's session: %d, want 401", st)
	}
	if st := s.Call(t, "DELETE", "/api/v1/users/admin", second, nil, nil); st != 204 {
		t.Errorf("delete the first admin: %d", st)
	}
	var list struct{ Users []civiq.User }
	s.Call(t, "GET", "/api/v1/users", second, nil, &list)
	if len(list.Users) != 1 || list.Users[0].Username != "second" {
		t.Errorf("users: %+v", list.Users)
	}
}

func TestAdminDevices(t *testing.T) {
	s := civiqtest.New(t)
	admin := s.Admin
	var dev struct{ Device civiq.Device }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/devices", admin, map[string]string{"kind": "kiosk", "name": "入口"}, &dev); st != 201 {
		t.Fatal(st)
	}
	wantErr(t, s, "POST", "/api/v1/halls/demo/devices", admin, map[string]string{"kind": "rater"}, 400, "counter_id")
	wantErr(t, s, "POST", "/api/v1/halls/demo/devices", admin, map[string]string{"kind": "rater", "counter_id": "99"}, 400, "counter_id")
	wantErr(t, s, "POST", "/api/v1/halls/demo/devices", admin, map[string]string{"kind": "toaster"}, 400, "kind")

	// The code works as shown, in capitals.
	var paired struct{ Token string }
	if st := s.Call(t, "POST", "/api/v1/devices/pair", "", map[string]string{"code": strings.ToUpper(dev.Device.PairingCode)}, &paired); st != 200 || paired.Token == "" {
		t.Fatalf("pair: %d", st)
	}
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", paired.Token, map[string]string{"service_id": "general"}, nil); st != 201 {
		t.Fatalf("kiosk ticket: %d", st)
	}
	// A new code ends the old pairing at once.
	id := jsonID(dev.Device.ID)
	var fresh struct{ Device civiq.Device }
	if st := s.Call(t, "POST", "/api/v1/halls/demo/devices/"+id+"/pairing-code", admin, nil, &fresh); st != 200 || fresh.Device.PairingCode == "" || fresh.Device.PairingCode == dev.Device.PairingCode || fresh.Device.PairedAt != nil {
		t.Fatalf("new code: %d %+v", st, fresh.Device)
	}
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", paired.Token, map[string]string{"service_id": "general"}, nil); st != 401 {
		t.Errorf("old token after a new code: %d, want 401", st)
	}
	if st := s.Call(t, "POST", "/api/v1/devices/pair", "", map[string]string{"code": fresh.Device.PairingCode}, &paired); st != 200 {
		t.Fatalf("pair again: %d", st)
	}
	// Deleting it ends its token at once.
	if st := s.Call(t, "DELETE", "/api/v1/halls/other/devices/"+id, admin, nil, nil); st != 404 {
		t.Errorf("delete through another hall: %d, want 404", st)
	}
	if st := s.Call(t, "DELETE", "/api/v1/halls/demo/devices/x", admin, nil, nil); st != 404 {
		t.Errorf("delete device x: %d, want 404", st)
	}
	if st := s.Call(t, "DELETE", "/api/v1/halls/demo/devices/"+id, admin, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", paired.Token, map[string]string{"service_id": "general"}, nil); st != 401 {
		t.Errorf("deleted device's token: %d, want 401", st)
	}
	var list struct{ Devices []civiq.Device }
	s.Call(t, "GET", "/api/v1/halls/demo/devices", admin, nil, &list)
	if len(list.Devices) != 0 {
		t.Errorf("devices: %+v", list.Devices)
	}
}
