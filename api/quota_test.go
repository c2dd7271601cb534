package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/civiq/civiq"
)

// Quotas through the service API: bad settings are 400 naming the field
// and change nothing; past a quota a ticket is 409 quota_reached, says
// when tickets come again, writes nothing and is counted in /metrics.
func TestServiceQuotas(t *testing.T) {
	ts := newTestServer(t)
	const path = "/api/v1/halls/demo/services/general"
	base := map[string]any{"prefix": "A", "name": "综合受理", "name_en": "General intake", "position": 0}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, c := range []struct {
		field string
		value any
	}{
		{"daily_quota", -1}, {"half_day_quota", "ten"}, {"per_person_daily", 1.5}, {"daily_quota", civiq.MaxQuota + 1},
	} {
		ts.do(t, "PUT", path, ts.Admin, with(c.field, c.value)).wantErr(t, http.StatusBadRequest, civiq.EInvalid, c.field)
	}
	general := func() civiq.Service {
		var out struct{ Services []civiq.Service }
		ts.do(t, "GET", "/api/v1/halls/demo/services", "", nil).want(t, http.StatusOK).json(t, &out)
		for _, s := range out.Services {
			if s.ID == "general" {
				return s
			}
		}
		t.Fatal("no general service")
		return civiq.Service{}
	}
	if s := general(); s.HasQuota() {
		t.Fatalf("a refused setting was kept: %+v", s)
	}
	q := with("daily_quota", 2)
	q["per_person_daily"] = 1
	ts.do(t, "PUT", path, ts.Admin, q).want(t, http.StatusOK)
	if s := general(); s.DailyQuota != 2 || s.PerPersonDaily != 1 || s.HalfDayQuota != 0 {
		t.Fatalf("saved quotas: %+v", s)
	}
	// A PUT that leaves a quota out keeps it (a client that only renames
	// the service lifts no limit); a quota sent as 0 is lifted.
	renamed := with("name_en", "General")
	var saved struct{ Service civiq.Service }
	ts.do(t, "PUT", path, ts.Admin, renamed).want(t, http.StatusOK).json(t, &saved)
	if s := general(); s.NameEn != "General" || s.DailyQuota != 2 || s.PerPersonDaily != 1 || s.HalfDayQuota != 0 || saved.Service != s {
		t.Fatalf("quotas after a PUT without them: %+v, answered %+v", s, saved.Service)
	}
	renamed["daily_quota"] = 0
	ts.do(t, "PUT", path, ts.Admin, renamed).want(t, http.StatusOK)
	if s := general(); s.DailyQuota != 0 || s.PerPersonDaily != 1 {
		t.Fatalf("quotas after daily_quota 0: %+v", s)
	}
	ts.do(t, "PUT", path, ts.Admin, q).want(t, http.StatusOK)

	// One phone's remote ticket of the day, cancelled: the phone has had
	// its one.
	p := phone(t)
	res, err := p.Post(ts.URL+"/api/v1/halls/demo/tickets", "application/json", strings.NewReader(`{"service_id":"general","channel":"remote"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Ticket civiq.Ticket }
	json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("the phone's first: %d", res.StatusCode)
	}
	ts.do(t, "POST", "/api/v1/tickets/"+got.Ticket.ID+"/cancel", "", nil).want(t, http.StatusOK)
	if code, ecode, _ := takeRemote(t, p, ts.URL, "general"); code != http.StatusConflict || ecode != civiq.EQuotaReached {
		t.Fatalf("the phone's second of the day: %d %s, want 409 %s", code, ecode, civiq.EQuotaReached)
	}
	// The day's second, then the day is full.
	ts.do(t, "POST", "/api/v1/halls/demo/tickets", ts.Admin, map[string]string{"service_id": "general"}).want(t, http.StatusCreated)
	before := ts.do(t, "GET", "/api/v1/halls/demo/status", "", nil).want(t, http.StatusOK).Body
	r := ts.do(t, "POST", "/api/v1/halls/demo/tickets", ts.Admin, map[string]string{"service_id": "general"})
	r.wantErr(t, http.StatusConflict, civiq.EQuotaReached, "daily_quota")
	if msg := r.apiErr(t).Error.Message; !strings.Contains(msg, "tomorrow") {
		t.Fatalf("the refusal does not say when: %q", msg)
	}
	if after := ts.do(t, "GET", "/api/v1/halls/demo/status", "", nil).want(t, http.StatusOK).Body; string(after) != string(before) {
		t.Fatalf("a refusal changed the hall: %s, then %s", before, after)
	}
	// Another service has no quota.
	ts.do(t, "POST", "/api/v1/halls/demo/tickets", ts.Admin, map[string]string{"service_id": "tax"}).want(t, http.StatusCreated)

	body := string(ts.do(t, "GET", "/metrics", "", nil).want(t, http.StatusOK).Body)
	for _, want := range []string{
		`civiq_quota_refusals_total{hall="demo",quota="daily_quota",service="general"} 1`,
		`civiq_quota_refusals_total{hall="demo",quota="per_person_daily",service="general"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
