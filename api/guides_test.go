package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// withGuides is a test server with the demo catalogue loaded.
func withGuides(t *testing.T) *testServer {
	t.Helper()
	ts := newTestServer(t)
	if ok, err := ts.Engine.LoadDemoGuides(context.Background()); err != nil || !ok {
		t.Fatalf("LoadDemoGuides = %v, %v", ok, err)
	}
	return ts
}

type guideSummary struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	ServiceID    string   `json:"service_id"`
	PromisedDays *int     `json:"promised_days"`
	Keywords     []string `json:"keywords"`
	Materials    int      `json:"materials"`
}

func (ts *testServer) guides(t *testing.T, query string) ([]guideSummary, bool) {
	t.Helper()
	var out struct {
		Guides []guideSummary `json:"guides"`
		More   *bool          `json:"more"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/guides"+query, "", nil).want(t, 200).json(t, &out)
	if out.Guides == nil || out.More == nil {
		t.Fatalf("GET guides%s: no guides or more", query)
	}
	return out.Guides, *out.More
}

func TestGuidesSearchAndRead(t *testing.T) {
	ts := withGuides(t)
	gs, more := ts.guides(t, "?q="+url.QueryEscape("社保卡"))
	if len(gs) < 3 || more || !strings.HasPrefix(gs[0].ID, "demo-s-card") || gs[0].ServiceID != "social" || gs[0].PromisedDays == nil || gs[0].Materials == 0 {
		t.Fatalf("社保卡 = %+v", gs)
	}
	gs, _ = ts.guides(t, "?q="+url.QueryEscape("不动产"))
	if len(gs) < 10 || gs[0].ServiceID != "property" {
		t.Errorf("不动产 = %+v", gs)
	}
	gs, _ = ts.guides(t, "?q="+url.QueryEscape("户口"))
	if len(gs) == 0 || gs[0].ID != "demo-h-move" {
		t.Errorf("户口 = %+v", gs)
	}
	gs, _ = ts.guides(t, "?service=tax")
	for _, g := range gs {
		if g.ServiceID != "tax" {
			t.Errorf("service=tax lists %s", g.ID)
		}
	}
	gs, more = ts.guides(t, "?limit=5")
	if len(gs) != 5 || !more {
		t.Errorf("limit 5 = %d, more %v", len(gs), more)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/guides?limit=x", "", nil).wantErr(t, 400, "invalid", "limit")
	ts.do(t, "GET", "/api/v1/halls/demo/guides?limit=1000", "", nil).wantErr(t, 400, "invalid", "limit")
	ts.do(t, "GET", "/api/v1/halls/nowhere/guides", "", nil).wantErr(t, 404, "not_found", "")

	var one struct {
		Guide struct {
			ID        string `json:"id"`
			HallID    string `json:"hall_id"`
			Name      string `json:"name"`
			Materials []struct {
				ID, Name, Necessity, Form string
				Copies                    int
			} `json:"materials"`
			Fees []struct{ Name, Standard string } `json:"fees"`
		} `json:"guide"`
	}
	ts.do(t, "GET", "/api/v1/guides/demo-p-transfer", "", nil).want(t, 200).json(t, &one)
	if one.Guide.HallID != "demo" || len(one.Guide.Materials) < 5 || one.Guide.Materials[0].ID != "m1" || one.Guide.Materials[0].Necessity == "" || len(one.Guide.Fees) == 0 {
		t.Errorf("guide = %+v", one.Guide)
	}
	ts.do(t, "GET", "/api/v1/guides/nope", "", nil).wantErr(t, 404, "not_found", "")
}

// rawDo sends a body with a content type and returns the answer.
func (ts *testServer) rawDo(t *testing.T, method, path, token, contentType string, body []byte) *resp {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := ts.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		t.Errorf("%s %s: a 5xx is a bug: %d %s", method, path, res.StatusCode, b)
	}
	return &resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// TestGuidesImportExport: export as CSV with a BOM and as JSON, import
// both back, and a bad file is refused whole with every fault listed.
func TestGuidesImportExport(t *testing.T) {
	ts := withGuides(t)
	manager := ts.createUser(t, "manager1", "manager", "demo")
	staff := ts.createUser(t, "staff1", "staff", "demo")

	r := ts.do(t, "GET", "/api/v1/halls/demo/guides/export?format=csv", staff, nil).want(t, 200)
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="guides-demo.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !bytes.HasPrefix(r.Body, []byte("\xEF\xBB\xBF")) {
		t.Fatalf("the CSV has no BOM: %q", r.Body[:20])
	}
	csvFile := r.Body
	var exp struct {
		HallID string            `json:"hall_id"`
		Guides []json.RawMessage `json:"guides"`
	}
	r = ts.do(t, "GET", "/api/v1/halls/demo/guides/export", staff, nil).want(t, 200)
	r.json(t, &exp)
	if exp.HallID != "demo" || len(exp.Guides) < 30 {
		t.Fatalf("JSON export: hall %q, %d guides", exp.HallID, len(exp.Guides))
	}
	jsonFile := r.Body
	ts.do(t, "GET", "/api/v1/halls/demo/guides/export", "", nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "GET", "/api/v1/halls/demo/guides/export?format=xml", staff, nil).wantErr(t, 400, "invalid", "format")

	// Import needs a manager.
	ts.rawDo(t, "POST", "/api/v1/halls/demo/guides/import", staff, "text/csv", csvFile).wantErr(t, 403, "forbidden", "")
	var res struct{ Imported, Created, Updated, Deleted int }
	ts.rawDo(t, "POST", "/api/v1/halls/demo/guides/import?mode=replace", manager, "text/csv", csvFile).want(t, 200).json(t, &res)
	if res.Imported != len(exp.Guides) || res.Updated != len(exp.Guides) || res.Created+res.Deleted != 0 {
		t.Errorf("CSV re-import = %+v", res)
	}
	ts.rawDo(t, "POST", "/api/v1/halls/demo/guides/import", manager, "application/json", jsonFile).want(t, 200).json(t, &res)
	if res.Updated != len(exp.Guides) {
		t.Errorf("JSON re-import = %+v", res)
	}
	// Sniffed without a Content-Type.
	ts.rawDo(t, "POST", "/api/v1/halls/demo/guides/import", manager, "", []byte("name,service_id\n新事项,general\n")).want(t, 200).json(t, &res)
	if res.Created != 1 {
		t.Errorf("sniffed CSV = %+v", res)
	}
	after := ts.do(t, "GET", "/api/v1/halls/demo/guides/export", staff, nil).want(t, 200).Body

	bad := "name,service_id,promised_days,material_name,material_form\n" +
		"甲,general,1,表,原件\n" +
		",general,1,表,原件\n" +
		"丙,nowhere,x,表,传真\n"
	r = ts.rawDo(t, "POST", "/api/v1/halls/demo/guides/import?mode=replace", manager, "text/csv; charset=utf-8", []byte(bad))
	r.wantErr(t, 400, "invalid", "name")
	var body struct {
		Errors []struct {
			Line    int    `json:"line"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	r.json(t, &body)
	var got []string
	for _, e := range body.Errors {
		got = append(got, strings.Join([]string{string(rune('0' + e.Line)), e.Field}, " "))
		if e.Message == "" {
			t.Errorf("error without a message: %+v", e)
		}
	}
	want := []string{"3 name", "4 promised_days", "4 material_form", "4 service_id"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("errors %q; want %q (%s)", got, want, r)
	}
	if now := ts.do(t, "GET", "/api/v1/halls/demo/guides/export", staff, nil).want(t, 200).Body; !bytes.Equal(stripExportTime(now), stripExportTime(after)) {
		t.Error("a refused import changed the catalogue")
	}
	ts.rawDo(t, "POST", "/api/v1/halls/demo/guides/import", manager, "application/json", []byte(`[{"name":"甲","service_id":"general","x":1}]`)).wantErr(t, 400, "invalid", "x")
	ts.rawDo(t, "POST", "/api/v1/halls/demo/guides/import?mode=all", manager, "text/csv", csvFile).wantErr(t, 400, "invalid", "mode")
	ts.rawDo(t, "POST", "/api/v1/halls/demo/guides/import", manager, "text/csv", bytes.Repeat([]byte("x"), 2<<20)).wantErr(t, 413, "too_large", "")
}

var exportedAt = regexp.MustCompile(`"exported_at":"[^"]*"`)

func stripExportTime(b []byte) []byte { return exportedAt.ReplaceAll(b, nil) }

func TestGuidePutDelete(t *testing.T) {
	ts := withGuides(t)
	manager := ts.createUser(t, "manager1", "manager", "demo")
	staff := ts.createUser(t, "staff1", "staff", "demo")
	g := map[string]any{"service_id": "general", "name": "临时事项", "promised_days": 3, "legal_days": 5, "keywords": []string{"临时证明"},
		"materials": []map[string]any{{"name": "申请表"}}}
	ts.do(t, "PUT", "/api/v1/halls/demo/guides/tmp-1", staff, g).wantErr(t, 403, "forbidden", "")
	ts.do(t, "PUT", "/api/v1/halls/demo/guides/tmp-1", manager, g).want(t, 200)
	gs, _ := ts.guides(t, "?q="+url.QueryEscape("临时证明"))
	if len(gs) != 1 || gs[0].ID != "tmp-1" {
		t.Errorf("search after PUT = %+v", gs)
	}
	g["promised_days"] = 9
	ts.do(t, "PUT", "/api/v1/halls/demo/guides/tmp-1", manager, g).wantErr(t, 400, "invalid", "promised_days")
	ts.do(t, "PUT", "/api/v1/halls/demo/guides/tmp-1", manager, map[string]any{"name": "x"}).wantErr(t, 400, "invalid", "service_id")
	ts.do(t, "PUT", "/api/v1/halls/demo/guides/Bad", manager, map[string]any{"name": "x", "service_id": "general"}).wantErr(t, 400, "invalid", "id")
	ts.do(t, "DELETE", "/api/v1/halls/demo/guides/tmp-1", manager, nil).want(t, 204)
	ts.do(t, "GET", "/api/v1/guides/tmp-1", "", nil).wantErr(t, 404, "not_found", "")
	ts.do(t, "DELETE", "/api/v1/halls/demo/guides/tmp-1", manager, nil).wantErr(t, 404, "not_found", "")
}

type apiCase struct {
	Number    string `json:"number"`
	Status    string `json:"status"`
	Promised  string `json:"promised_date"`
	Missing   []string
	Reason    string `json:"reason"`
	Applicant struct {
		Name     string `json:"name"`
		Phone    string `json:"phone"`
		IDNumber string `json:"id_number"`
	} `json:"applicant"`
	Overdue bool `json:"overdue"`
	History []struct {
		To   string `json:"to"`
		Note string `json:"note"`
	} `json:"history"`
}

func caseOf(t *testing.T, r *resp) apiCase {
	t.Helper()
	var out struct {
		Case        *apiCase `json:"case"`
		ProgressURL string   `json:"progress_url"`
	}
	r.json(t, &out)
	if out.Case == nil || out.Case.Number == "" {
		t.Fatalf("no case in %s", r)
	}
	if out.ProgressURL != "/c/"+out.Case.Number {
		t.Errorf("progress_url %q", out.ProgressURL)
	}
	return *out.Case
}

const (
	apiID    = "110105199003071239"
	apiPhone = "13812345678"
)

// TestCasesAPI: staff open a case on the ticket they serve, move it on,
// and the citizen follows it by its number and 4 characters.
func TestCasesAPI(t *testing.T) {
	ts := withGuides(t)
	staff := ts.createUser(t, "staff1", "staff", "demo")
	ts.addOtherHall(t)
	otherStaff := ts.createUser(t, "staff2", "staff", "other")
	tk := ts.issue(t, "", "social", "channel", "remote")
	ts.callUntil(t, "1", tk.ID)

	body := map[string]any{"guide_id": "demo-s-card", "applicant": map[string]string{"name": "张三", "phone": apiPhone, "id_number": apiID},
		"materials": []map[string]string{{"id": "m1"}, {"id": "m3"}}}
	path := "/api/v1/tickets/" + tk.ID + "/cases"
	ts.do(t, "POST", path, "", body).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "POST", path, otherStaff, body).wantErr(t, 403, "forbidden", "")
	c := caseOf(t, ts.do(t, "POST", path, staff, body).want(t, 201))
	if c.Status != "accepted" || !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(c.Promised) || c.Applicant.Name != "张*" ||
		c.Applicant.Phone != "138****5678" || strings.Contains(c.Applicant.IDNumber, "19900307") {
		t.Errorf("opened = %+v", c)
	}
	// 补正: the form is missing.
	body["materials"] = []map[string]string{{"id": "m1"}}
	c2 := caseOf(t, ts.do(t, "POST", path, staff, body).want(t, 201))
	if c2.Status != "correction" || len(c2.Missing) != 1 || c2.Promised != "" {
		t.Errorf("correction = %+v", c2)
	}
	ts.do(t, "POST", path, staff, map[string]any{"guide_id": "demo-s-card"}).wantErr(t, 400, "invalid", "applicant")
	ts.do(t, "POST", path, staff, map[string]any{"guide_id": "demo-s-card", "applicant": map[string]string{"name": "张三", "id_number": "110105199003071230"}}).
		wantErr(t, 400, "invalid", "applicant.id_number")
	ts.do(t, "POST", path, staff, map[string]any{"guide_id": "nope", "applicant": map[string]string{"name": "张三", "phone": apiPhone}}).
		wantErr(t, 404, "not_found", "guide_id")
	waiting := ts.issue(t, "", "social", "channel", "remote")
	ts.do(t, "POST", "/api/v1/tickets/"+waiting.ID+"/cases", staff, body).wantErr(t, 409, "invalid_transition", "")

	// The citizen's view.
	cp := "/api/v1/cases/" + c.Number
	var prog struct {
		Case struct {
			Number        string `json:"number"`
			Status        string `json:"status"`
			ApplicantName string `json:"applicant_name"`
			GuideName     string `json:"guide_name"`
			PromisedDate  string `json:"promised_date"`
			Steps         []struct {
				Status string `json:"status"`
			} `json:"steps"`
		} `json:"case"`
	}
	r := ts.do(t, "GET", cp+"?id_last4=1239", "", nil).want(t, 200)
	r.json(t, &prog)
	if prog.Case.Status != "accepted" || prog.Case.ApplicantName != "张*" || prog.Case.GuideName != "社会保障卡申领" || len(prog.Case.Steps) != 1 {
		t.Errorf("progress = %+v", prog.Case)
	}
	if strings.Contains(string(r.Body), "张三") || strings.Contains(string(r.Body), apiPhone) || strings.Contains(string(r.Body), apiID) {
		t.Errorf("the citizen's view holds personal data in clear: %s", r)
	}
	ts.do(t, "GET", cp+"?last4=5678", "", nil).want(t, 200)
	ts.do(t, "GET", cp+"?id_last4=0000", "", nil).wantErr(t, 404, "not_found", "")
	ts.do(t, "GET", cp, "", nil).wantErr(t, 400, "invalid", "id_last4")
	ts.do(t, "GET", "/api/v1/cases/12345678?id_last4=1239", "", nil).wantErr(t, 404, "not_found", "")

	// Staff move it on and read the whole case.
	tp := cp + "/transition"
	ts.do(t, "POST", tp, "", map[string]string{"to": "reviewing"}).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "POST", tp, otherStaff, map[string]string{"to": "reviewing"}).wantErr(t, 403, "forbidden", "")
	ts.do(t, "POST", tp, staff, map[string]string{"to": "done"}).wantErr(t, 400, "invalid", "to")
	ts.do(t, "POST", tp, staff, map[string]string{"to": "refused"}).wantErr(t, 400, "invalid", "reason")
	ts.do(t, "POST", tp, staff, map[string]string{"to": "not_accepted", "reason": "x"}).wantErr(t, 409, "invalid_transition", "")
	c = caseOf(t, ts.do(t, "POST", tp, staff, map[string]string{"to": "reviewing", "note": "转审核"}).want(t, 200))
	if c.Status != "reviewing" || c.Applicant.Name != "张*" {
		t.Errorf("moved = %+v", c)
	}
	full := caseOf(t, ts.do(t, "GET", cp, staff, nil).want(t, 200))
	if full.Applicant.IDNumber != apiID || len(full.History) != 2 || full.History[1].Note != "转审核" {
		t.Errorf("staff view = %+v", full)
	}
	ts.do(t, "GET", cp, otherStaff, nil).wantErr(t, 403, "forbidden", "")
	c2 = caseOf(t, ts.do(t, "POST", "/api/v1/cases/"+c2.Number+"/transition", staff, map[string]any{"to": "accepted",
		"materials": []map[string]string{{"id": "m3"}}}).want(t, 200))
	if c2.Status != "accepted" || c2.Promised == "" {
		t.Errorf("accepted after 补正 = %+v", c2)
	}

	// Lists mask the applicant.
	var list struct {
		Cases []apiCase `json:"cases"`
	}
	r = ts.do(t, "GET", "/api/v1/halls/demo/cases", staff, nil).want(t, 200)
	r.json(t, &list)
	if len(list.Cases) != 2 {
		t.Errorf("hall cases = %d", len(list.Cases))
	}
	for _, s := range []string{"张三", apiPhone, apiID} {
		if strings.Contains(string(r.Body), s) {
			t.Errorf("the list holds %s in clear", s)
		}
	}
	ts.do(t, "GET", "/api/v1/tickets/"+tk.ID+"/cases", staff, nil).want(t, 200).json(t, &list)
	if len(list.Cases) != 2 {
		t.Errorf("ticket cases = %d", len(list.Cases))
	}
	ts.do(t, "GET", "/api/v1/halls/demo/cases?status=reviewing", staff, nil).want(t, 200).json(t, &list)
	if len(list.Cases) != 1 || list.Cases[0].Number != c.Number {
		t.Errorf("reviewing cases = %+v", list.Cases)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/cases?overdue=1", staff, nil).want(t, 200).json(t, &list)
	if len(list.Cases) != 0 {
		t.Errorf("overdue cases = %+v", list.Cases)
	}
	ts.do(t, "GET", "/api/v1/halls/demo/cases?status=x", staff, nil).wantErr(t, 400, "invalid", "status")
	ts.do(t, "GET", "/api/v1/halls/demo/cases", "", nil).wantErr(t, 401, "unauthorized", "")
	ts.do(t, "GET", "/api/v1/halls/demo/cases", otherStaff, nil).wantErr(t, 403, "forbidden", "")

	// No event carries the applicant.
	evs, err := ts.Store.EventsAfter(context.Background(), "demo", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		for _, s := range []string{"张三", apiPhone, apiID} {
			if strings.Contains(string(ev.JSON(true)), s) {
				t.Errorf("event %s holds %s", ev.Type, s)
			}
		}
	}
}
