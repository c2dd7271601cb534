package api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/csvfile"
	"github.com/civiq/civiq/xlsxfile"
)

// TestHaochapingReporterInput: a reporter's bad input is 400 naming the
// field, and changes nothing; the key is never shown; personal data only
// over https.
func TestHaochapingReporterInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.Engine.WebhookAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	good := func() map[string]any {
		return map[string]any{"url": "https://hcp.example.gov.cn/api/rate", "auth": "hmac", "key": "0123456789abcdef"}
	}
	with := func(k string, v any) map[string]any { b := good(); b[k] = v; return b }
	without := func(k string) map[string]any { b := good(); delete(b, k); return b }
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{without("url"), "url"},
		{with("url", "ftp://hcp.example.gov.cn/x"), "url"},
		{with("url", "http://10.1.2.3/x"), "url"},
		{without("auth"), "auth"},
		{with("auth", "basic"), "auth"},
		{without("key"), "key"},
		{with("key", "short"), "key"},
		{with("halls", []string{"nowhere"}), "halls"},
		{with("signature_header", "X Sign"), "signature_header"},
		{with("signature_header", "content-type"), "signature_header"}, // the request's own: it would go twice
		{with("signature_header", "Content-Length"), "signature_header"},
		{with("signature_header", "X-Civiq-Message-Id"), "signature_header"},
		{with("mapping", map[string]any{"fields": map[string]string{"score": "x"}}), "mapping.fields.score"},
		{with("mapping", map[string]any{"fields": map[string]string{"level": "window"}}), "mapping.fields.level"},
		{with("mapping", map[string]any{"codes": map[string]any{"nope": map[string]string{}}}), "mapping.codes.nope"},
		{with("mapping", map[string]any{"time_format": "unix_ns"}), "mapping.time_format"},
		{with("mapping", map[string]any{"constants": map[string]string{"level": "x"}}), "mapping.constants.level"},
		{with("mapping", "all"), "mapping"},
		// A key of the mapping mistyped was dropped without a word: the
		// province got the default record. And only_mapped with no field
		// named sent every record empty.
		{with("mapping", map[string]any{"only_maped": true, "fields": map[string]string{"level": "satisfaction"}}), "mapping.only_maped"},
		{with("mapping", map[string]any{"timeformat": "unix_ms"}), "mapping.timeformat"},
		{with("mapping", map[string]any{"only_mapped": true}), "mapping.only_mapped"},
		{with("mapping", map[string]any{"only_mapped": true, "fields": map[string]string{"level": ""}}), "mapping.only_mapped"},
		{with("mapping", map[string]any{"list_join": 5}), "mapping.list_join"},
		{with("url", "http://hcp.example.gov.cn/x"), ""}, // fine without personal data: checked below
	} {
		if c.field == "" {
			continue
		}
		ts.do(t, "POST", "/api/v1/haochaping/reporters", ts.Admin, c.body).wantErr(t, 400, "invalid", c.field)
	}
	personal := map[string]any{"fields": map[string]string{"contact_phone": "mobile"}}
	ts.do(t, "POST", "/api/v1/haochaping/reporters", ts.Admin, map[string]any{"url": "http://hcp.example.gov.cn/x", "auth": "bearer",
		"key": "0123456789abcdef", "mapping": personal}).wantErr(t, 400, "invalid", "mapping.fields.contact_phone")
	var list struct {
		Reporters []map[string]any `json:"reporters"`
	}
	ts.do(t, "GET", "/api/v1/haochaping/reporters", ts.Admin, nil).want(t, 200).json(t, &list)
	if len(list.Reporters) != 0 {
		t.Fatalf("bad input left reporters: %v", list.Reporters)
	}
	var r struct {
		Reporter map[string]any `json:"reporter"`
	}
	ts.do(t, "POST", "/api/v1/haochaping/reporters", ts.Admin, with("mapping", personal)).want(t, 201).json(t, &r)
	if r.Reporter["key"] != nil || r.Reporter["secret"] != nil || r.Reporter["kind"] != "haochaping" || r.Reporter["auth"] != "hmac" ||
		r.Reporter["signature_header"] != "X-Signature" {
		t.Errorf("reporter %v", r.Reporter)
	}
	id := fmt.Sprint(r.Reporter["id"])
	// A change keeps the key; moving to http with personal data asked is refused.
	ts.do(t, "PUT", "/api/v1/haochaping/reporters/"+id, ts.Admin, map[string]any{"url": "http://hcp.example.gov.cn/x"}).
		wantErr(t, 400, "invalid", "mapping.fields.contact_phone")
	ts.do(t, "PUT", "/api/v1/haochaping/reporters/"+id, ts.Admin, map[string]any{"url": "http://hcp.example.gov.cn/x",
		"mapping": map[string]any{}}).want(t, 200)
	// hmac to bearer wants a new key: the shared key kept would go out as
	// the token, in every request's header.
	ts.do(t, "PUT", "/api/v1/haochaping/reporters/"+id, ts.Admin, map[string]any{"auth": "bearer"}).wantErr(t, 400, "invalid", "key")
	ts.do(t, "PUT", "/api/v1/haochaping/reporters/"+id, ts.Admin, map[string]any{"auth": "bearer", "key": "a-new-token-0123456789"}).want(t, 200)
	ts.do(t, "PUT", "/api/v1/haochaping/reporters/"+id, ts.Admin, map[string]any{"auth": "bearer", "description": "省平台"}).want(t, 200)
	ts.do(t, "POST", "/api/v1/haochaping/reporters/"+id+"/replay", ts.Admin, map[string]any{"from_event_id": 0}).wantErr(t, 400, "invalid", "from_event_id")
	ts.do(t, "GET", "/api/v1/haochaping/reporters/999", ts.Admin, nil).wantErr(t, 404, "not_found", "")
	ts.do(t, "DELETE", "/api/v1/haochaping/reporters/"+id, ts.Admin, nil).want(t, 204)
	ts.do(t, "GET", "/api/v1/haochaping/reporters/"+id, ts.Admin, nil).wantErr(t, 404, "not_found", "")
	// The hall's 行政区划代码.
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"region_code": "4403"}).wantErr(t, 400, "invalid", "region_code")
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"region_code": "440305"}).want(t, 200)
}

// TestHaochapingDayExport: the day's reconciliation and export. Bad input
// is 400 naming the field; without a reporter the day's counts stand
// alone; the records come as JSON, CSV (BOM, Chinese headers) and a
// workbook, the same rows, no personal data.
func TestHaochapingDayExport(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	day := ts.today().Format(time.DateOnly)
	for _, c := range []struct{ path, field string }{
		{"/api/v1/halls/demo/reports/haochaping-sync", "date"},
		{"/api/v1/halls/demo/reports/haochaping-sync?date=2026-13-01", "date"},
		{"/api/v1/halls/demo/reports/haochaping-records?date=yesterday", "date"},
		{"/api/v1/halls/demo/reports/haochaping-records?date=" + day + "&format=pdf", "format"},
	} {
		ts.do(t, "GET", c.path, ts.Admin, nil).wantErr(t, 400, "invalid", c.field)
	}
	ts.do(t, "GET", "/api/v1/halls/nowhere/reports/haochaping-sync?date="+day, ts.Admin, nil).wantErr(t, 404, "not_found", "")
	a := ts.serve(t, ts.Admin, "1", "general")
	ts.rate(t, "", a.ID, map[string]any{"score": 1, "reasons": []string{"long_wait", "=1+1"}, "contact_phone": "13812345678"}).want(t, 201)
	b := ts.serve(t, ts.Admin, "1", "general")
	ts.rate(t, "", b.ID, map[string]any{"score": 5}).want(t, 201)
	var fs struct{ Followups []struct{ ID int64 } }
	ts.do(t, "GET", "/api/v1/halls/demo/followups", ts.Admin, nil).want(t, 200).json(t, &fs)
	for _, m := range []map[string]string{{"to": "rejection_requested", "reason": "恶意差评"}} {
		m["note"] = "核实"
		ts.do(t, "POST", fmt.Sprintf("/api/v1/followups/%d/transition", fs.Followups[0].ID), ts.Admin, m).want(t, 200)
	}
	second := ts.createUser(t, "mgr2", "manager", "demo")
	ts.do(t, "POST", fmt.Sprintf("/api/v1/followups/%d/transition", fs.Followups[0].ID), second,
		map[string]string{"to": "rejected", "note": "同意"}).want(t, 200)

	var sync civiq.HaochapingSync
	ts.do(t, "GET", "/api/v1/halls/demo/reports/haochaping-sync?date="+day, ts.Admin, nil).want(t, 200).json(t, &sync)
	if sync.Ratings != 2 || sync.FollowUps != 1 || len(sync.Reporters) != 0 || sync.Date != day {
		t.Errorf("sync %+v", sync)
	}
	var js struct {
		Records []map[string]any `json:"records"`
	}
	ts.do(t, "GET", "/api/v1/halls/demo/reports/haochaping-records?date="+day, ts.Admin, nil).want(t, 200).json(t, &js)
	if len(js.Records) != 3 || js.Records[2]["outcome"] != "rejected" || js.Records[2]["rejection_reason"] != "恶意差评" {
		t.Fatalf("records %v", js.Records)
	}
	res := ts.do(t, "GET", "/api/v1/halls/demo/reports/haochaping-records?date="+day+"&format=csv", ts.Admin, nil).want(t, 200)
	if !bytes.HasPrefix(res.Body, csvfile.BOM) || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv %s", res)
	}
	rows, err := csv.NewReader(bytes.NewReader(csvfile.TrimBOM(res.Body))).ReadAll()
	if err != nil || len(rows) != 4 || !slices.Equal(rows[0], civiq.HaochapingHeaders()) || rows[0][2] != "办件编号" {
		t.Fatalf("csv rows %q, %v", rows, err)
	}
	if strings.Contains(string(res.Body), "13812345678") || !strings.Contains(string(res.Body), "'=1+1") {
		t.Errorf("csv: no phone, the citizen's formula guarded: %s", res.Body)
	}
	res = ts.do(t, "GET", "/api/v1/halls/demo/reports/haochaping-records?date="+day+"&format=xlsx", ts.Admin, nil).want(t, 200)
	if res.Header.Get("Content-Type") != xlsxfile.ContentType {
		t.Fatalf("xlsx %s", res.Header)
	}
	f, err := excelize.OpenReader(bytes.NewReader(res.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xrows, err := f.GetRows("好差评")
	if err != nil || len(xrows) != 4 {
		t.Fatalf("xlsx rows %q, %v", xrows, err)
	}
	for i := range rows {
		got := xrows[i]
		for len(got) < len(rows[i]) {
			got = append(got, "")
		}
		if !slices.Equal(got, rows[i]) {
			t.Errorf("xlsx row %d = %q, csv %q", i, got, rows[i])
		}
	}
}

// TestProvincePage: a hall whose raters open the province's page. The
// template and key are checked (400 naming the field) and the key never
// shown; the page's URL is filled for the ticket just finished; the
// platform's callback is refused without the right HMAC or token, names
// its bad fields, rates once with channel "province"; the reconciliation
// says how many tickets were rated from the callback and how many not at
// all.
func TestProvincePage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const key = "callback-key-0123456789"
	page := "https://hcp.example.gov.cn/pj?bj={case_number}&qh={region_code}&ck={window}&no={ticket_number}&back={return_url}"
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"province_page_url": "https://hcp.example.gov.cn/pj?x={score}", "province_callback_key": key}, "province_page_url"},
		{map[string]any{"province_page_url": "javascript:alert(1)", "province_callback_key": key}, "province_page_url"},
		{map[string]any{"province_page_url": page}, "province_callback_key"},
		{map[string]any{"province_page_url": page, "province_callback_key": "short"}, "province_callback_key"},
	} {
		ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, c.body).wantErr(t, 400, "invalid", c.field)
	}
	a := ts.serve(t, ts.Admin, "1", "general")
	ts.do(t, "GET", "/api/v1/tickets/"+a.ID+"/province-page", ts.Admin, nil).wantErr(t, 404, "not_found", "")
	var st struct {
		Settings map[string]any `json:"settings"`
	}
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"province_page_url": page, "province_callback_key": key,
		"region_code": "440305"}).want(t, 200).json(t, &st)
	if st.Settings["province_callback_key"] != nil || st.Settings["province_callback_key_set"] != true {
		t.Errorf("settings show the key: %v", st.Settings)
	}
	// A change that does not give the key keeps it.
	ts.do(t, "PUT", "/api/v1/halls/demo/rating-settings", ts.Admin, map[string]any{"province_page_url": page, "region_code": "440305"}).want(t, 200)

	var pg struct{ URL string }
	ts.do(t, "GET", "/api/v1/tickets/"+a.ID+"/province-page", ts.Admin, nil).want(t, 200).json(t, &pg)
	want := "https://hcp.example.gov.cn/pj?bj=" + a.ID + "&qh=440305&ck=1&no=" + a.Number + "&back={return_url}"
	if pg.URL != want {
		t.Errorf("page %s, want %s", pg.URL, want)
	}

	call := func(body string, hdr ...header) *resp {
		return ts.do(t, "POST", "/api/v1/halls/demo/haochaping/callback", "", body, hdr...)
	}
	sign := func(body string) header {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(body))
		return header{"X-Signature", hex.EncodeToString(m.Sum(nil))}
	}
	good := `{"case_number":"` + a.ID + `","level":2,"reasons":["long_wait"],"comment":"排队太久"}`
	call(good).wantErr(t, 401, "unauthorized", "")
	call(good, header{"X-Signature", "00ff"}).wantErr(t, 401, "unauthorized", "")
	call(good, header{"X-Callback-Token", "wrong-token-0123456789"}).wantErr(t, 401, "unauthorized", "")
	for _, c := range []struct{ body, field string }{
		{`{"level":2}`, "case_number"},
		{`{"case_number":"nobody","level":2}`, "case_number"},
		{`{"case_number":"` + a.ID + `","level":9}`, "level"},
		{`{"case_number":"` + a.ID + `","level":1}`, "reasons"},
		// A value of the wrong JSON type is named too (it was "not the
		// JSON of a rating", naming nothing).
		{`{"case_number":"` + a.ID + `","level":"2"}`, "level"},
		{`{"case_number":"` + a.ID + `","level":2,"reasons":"long_wait"}`, "reasons"},
		{`{"case_number":7,"level":2}`, "case_number"},
	} {
		res := call(c.body, sign(c.body))
		if res.Status != 400 || res.apiErr(t).Error.Field != c.field {
			t.Errorf("%s: %s, want 400 naming %s", c.body, res, c.field)
		}
	}
	var r struct{ Rating rating }
	call(good, sign(good)).want(t, 201).json(t, &r)
	if r.Rating.Channel != "province" || r.Rating.Score != 2 || r.Rating.Reasons[0] != "long_wait" {
		t.Errorf("rating %+v", r.Rating)
	}
	call(good, header{"X-Callback-Token", key}).wantErr(t, 409, "conflict", "")
	// A second ticket the citizen did not rate on the province's page.
	ts.serve(t, ts.Admin, "1", "general")
	var sync civiq.HaochapingSync
	ts.do(t, "GET", "/api/v1/halls/demo/reports/haochaping-sync?date="+ts.today().Format(time.DateOnly), ts.Admin, nil).want(t, 200).json(t, &sync)
	if sync.ProvincePage == nil || sync.ProvincePage.RatedByCallback != 1 || sync.ProvincePage.NotRated != 1 || sync.Ratings != 1 {
		t.Errorf("sync %+v %+v", sync, sync.ProvincePage)
	}
}
