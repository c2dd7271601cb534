package api_test

import (
	"bytes"
	"encoding/csv"
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
		{with("mapping", map[string]any{"fields": map[string]string{"score": "x"}}), "mapping.fields.score"},
		{with("mapping", map[string]any{"fields": map[string]string{"level": "window"}}), "mapping.fields.level"},
		{with("mapping", map[string]any{"codes": map[string]any{"nope": map[string]string{}}}), "mapping.codes.nope"},
		{with("mapping", map[string]any{"time_format": "unix_ns"}), "mapping.time_format"},
		{with("mapping", map[string]any{"constants": map[string]string{"level": "x"}}), "mapping.constants.level"},
		{with("mapping", "all"), "mapping"},
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
