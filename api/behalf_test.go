package api_test

import "testing"

// 帮办代办 at issue: the role comes back; an unknown one is a 400 naming
// the field.
func TestIssueOnBehalfAPI(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	post := func(body any) *resp { return ts.do(t, "POST", "/api/v1/halls/demo/tickets", ts.Admin, body) }
	post(map[string]any{"service_id": "general", "on_behalf": map[string]string{"role": "cousin"}}).wantErr(t, 400, "invalid", "on_behalf.role")
	post(map[string]any{"service_id": "general", "on_behalf": "family"}).want(t, 400)
	post(map[string]any{"service_id": "general", "on_behalf": map[string]string{"role": "volunteer"}}).want(t, 201).behalfRole(t, "volunteer")
}

// A clerk marks the ticket served; a waiting one is 409; a bad role 400.
func TestSetBehalfAPI(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	tk := ts.issue(t, ts.Admin, "general")
	path := "/api/v1/tickets/" + tk.ID + "/on-behalf"
	ts.do(t, "POST", path, ts.Admin, map[string]any{"on_behalf": map[string]string{"role": "family"}}).want(t, 409)
	ts.callUntil(t, "1", tk.ID)
	ts.do(t, "POST", path, ts.Admin, map[string]any{"on_behalf": map[string]string{"role": "uncle"}}).wantErr(t, 400, "invalid", "on_behalf.role")
	ts.do(t, "POST", path, ts.Admin, map[string]any{"on_behalf": map[string]string{"role": "family"}}).want(t, 200).behalfRole(t, "family")
	ts.do(t, "POST", path, "", map[string]any{"on_behalf": map[string]string{"role": "family"}}).want(t, 401)
	ts.do(t, "POST", path, ts.Admin, map[string]any{"on_behalf": nil}).want(t, 200).behalfRole(t, "")
	if ts.getTicket(t, tk.ID).ID == "" {
		t.Fatal("unmarked: the ticket is gone")
	}
}

// A case opened by a helper keeps the role; an unknown one is a 400.
func TestOpenCaseOnBehalfAPI(t *testing.T) {
	t.Parallel()
	ts := withGuides(t)
	tk := ts.issue(t, ts.Admin, "social")
	ts.callUntil(t, "1", tk.ID)
	path := "/api/v1/tickets/" + tk.ID + "/cases"
	body := func(role string) map[string]any {
		return map[string]any{"guide_id": "demo-s-card", "applicant": map[string]string{"name": "张三", "phone": apiPhone, "id_number": apiID},
			"materials": []map[string]string{{"id": "m1"}, {"id": "m3"}}, "on_behalf": map[string]string{"role": role}}
	}
	ts.do(t, "POST", path, ts.Admin, body("aunt")).wantErr(t, 400, "invalid", "on_behalf.role")
	var out struct {
		Case struct {
			OnBehalf *struct {
				Role string `json:"role"`
			} `json:"on_behalf"`
		} `json:"case"`
	}
	ts.do(t, "POST", path, ts.Admin, body("agent")).want(t, 201).json(t, &out)
	if out.Case.OnBehalf == nil || out.Case.OnBehalf.Role != "agent" {
		t.Fatalf("case on_behalf: %+v", out.Case.OnBehalf)
	}
}

// behalfRole checks that the answer's ticket is marked on behalf of role,
// or not marked at all for "".
func (r *resp) behalfRole(t *testing.T, role string) {
	t.Helper()
	var out struct {
		Ticket struct {
			OnBehalf *struct {
				Role string `json:"role"`
			} `json:"on_behalf"`
		} `json:"ticket"`
	}
	r.json(t, &out)
	if got := out.Ticket.OnBehalf; (got == nil) != (role == "") || got != nil && got.Role != role {
		t.Fatalf("on_behalf: %+v, want %s", out.Ticket.OnBehalf, role)
	}
}
