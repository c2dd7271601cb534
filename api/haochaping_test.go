package api_test

import (
	"fmt"
	"net/netip"
	"testing"
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
