package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sqlstore"
)

func runSim(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), append([]string{"simulate"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSimulateOneLineJSON(t *testing.T) {
	args := []string{"--arrivals-per-hour", "30", "--handling-minutes", "5", "--counters", "3", "--customers", "20000", "--seed", "7", "--json"}
	code, out, errs := runSim(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	keys := []string{}
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"customers", "mean_wait_seconds", "p90_wait_seconds", "utilisation"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if m["customers"].(float64) != 20000 || m["mean_wait_seconds"].(float64) <= 0 || m["p90_wait_seconds"].(float64) < m["mean_wait_seconds"].(float64) {
		t.Errorf("answer %v", m)
	}
	if u := m["utilisation"].(float64); u < 0.8 || u > 0.87 {
		t.Errorf("utilisation %v, want about 30*5/60/3 = 0.833", u)
	}
	// Same seed, same output; another seed, another.
	if _, again, _ := runSim(t, args...); again != out {
		t.Errorf("same seed, different output:\n%s%s", out, again)
	}
	args[9] = "8"
	if _, other, _ := runSim(t, args...); other == out {
		t.Error("another seed, same output")
	}
	// Lognormal handling with a small CV waits less than exponential.
	_, lo, _ := runSim(t, append(args, "--handling-cv", "0.3")...)
	var l map[string]any
	json.Unmarshal([]byte(lo), &l)
	if l["mean_wait_seconds"].(float64) >= m["mean_wait_seconds"].(float64) {
		t.Errorf("cv 0.3 waits %v, exponential %v", l["mean_wait_seconds"], m["mean_wait_seconds"])
	}
	code, out, _ = runSim(t, "--arrivals-per-hour", "30", "--handling-minutes", "5", "--counters", "3", "--customers", "5000", "--compare", "counters=3,4")
	if code != 0 || !strings.Contains(out, "Erlang C") || strings.Count(out, "\n") < 4 {
		t.Errorf("compare: exit %d\n%s", code, out)
	}
}

func TestSimulateBadFlags(t *testing.T) {
	one := []string{"--arrivals-per-hour", "30", "--handling-minutes", "5", "--counters", "3"}
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--arrivals-per-hour", "-3", "--handling-minutes", "5", "--counters", "3"},
		{"--arrivals-per-hour", "30", "--counters", "3"},
		{"--arrivals-per-hour", "30", "--handling-minutes", "5", "--counters", "0"},
		{"--arrivals-per-hour", "abc", "--handling-minutes", "5", "--counters", "3"},
		append(slices.Clone(one), "--customers", "0"),
		append(slices.Clone(one), "--handling-cv", "-1"),
		append(slices.Clone(one), "--handling-dist", "weibull", "--handling-cv", "0.5"),
		append(slices.Clone(one), "--compare", "policy=fifo,service-order"),
		append(slices.Clone(one), "--compare", "counters=3"),
		append(slices.Clone(one), "--plan"),
		{"--profile", filepath.Join(t.TempDir(), "missing.json")},
		{"--db", "x.db"},
		{"--days", "0"},
		{"--policy", "random"},
		{"--no-show", "1.5"},
		{"--compare", "counters=6,9"},
		{"--compare", "staff=1,2"},
		{"--plan", "--goal", "1.2"},
		{"--plan", "--evaluate-eta"},
		{"extra"},
	} {
		code, out, errs := runSim(t, args...)
		if code != 2 || !strings.Contains(errs, "simulate") && !strings.Contains(errs, "flag") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, errs, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"services":[{"id":"a","handling_minutes":5,"arrivals_per_hour":{"9:00":1}}],"counters":[{"id":"1","services":["b"]}]}`), 0o600)
	if code, _, errs := runSim(t, "--profile", bad); code != 2 || !strings.Contains(errs, "unknown service") {
		t.Errorf("a bad profile: exit %d, %s", code, errs)
	}
}

const testProfile = `{
  "policy": "fifo", "no_show": 0.05, "late_return": 0.5, "priority_share": 0.03,
  "services": [
    {"id": "a", "handling_minutes": 5, "handling_cv": 0.6, "arrivals_per_hour": {"09:00": 30, "10:00": 20, "11:00": 0}},
    {"id": "b", "handling_minutes": 12, "arrivals_per_hour": {"09:00": 6, "10:00": 4, "11:00": 0}}
  ],
  "counters": [
    {"id": "1", "services": ["a", "b"]},
    {"id": "2", "services": ["b", "a"]},
    {"id": "3", "services": ["a"], "hours": ["09:00-10:00", "10:15-11:00"]}
  ]
}`

func TestSimulateProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day.json")
	if err := os.WriteFile(path, []byte(testProfile), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runSim(t, "--profile", path, "--days", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Days      int `json:"days"`
		Customers int `json:"customers"`
		Services  []struct {
			ID string `json:"id"`
		} `json:"services"`
		Counters []struct {
			ID          string  `json:"id"`
			Utilisation float64 `json:"utilisation"`
		} `json:"counters"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Days != 3 || r.Customers < 100 || len(r.Services) != 2 || len(r.Counters) != 3 || r.Counters[0].Utilisation <= 0 {
		t.Errorf("result %+v", r)
	}
	if _, again, _ := runSim(t, "--profile", path, "--days", "3", "--json"); again != out {
		t.Error("same seed, different output")
	}
	code, out, errs = runSim(t, "--profile", path, "--days", "2", "--compare", "policy=fifo,service-order")
	if code != 0 || !strings.Contains(out, "policy=fifo") || !strings.Contains(out, "policy=service-order") || !strings.Contains(out, "utilisation") {
		t.Errorf("compare policies: exit %d %s\n%s", code, errs, out)
	}
	code, out, _ = runSim(t, "--profile", path, "--days", "2", "--compare", "counters=3,2", "--json")
	var cmp struct {
		Runs []struct {
			Label    string  `json:"label"`
			MeanWait float64 `json:"mean_wait_seconds"`
		} `json:"runs"`
	}
	json.Unmarshal([]byte(out), &cmp)
	if code != 0 || len(cmp.Runs) != 2 || cmp.Runs[1].Label != "counters=2" || cmp.Runs[1].MeanWait <= cmp.Runs[0].MeanWait {
		t.Errorf("compare staffings: exit %d %+v", code, cmp)
	}
	// The demo hall's day is the default profile.
	code, out, _ = runSim(t, "--days", "1")
	if code != 0 || !strings.Contains(out, "general") || !strings.Contains(out, "within target") {
		t.Errorf("demo: exit %d\n%s", code, out)
	}
	code, out, _ = runSim(t, "--print-profile")
	if code != 0 || !strings.Contains(out, `"arrivals_per_hour"`) {
		t.Errorf("print-profile: exit %d\n%s", code, out)
	}
}

func TestSimulatePlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day.json")
	os.WriteFile(path, []byte(testProfile), 0o600)
	code, out, errs := runSim(t, "--plan", "--profile", path, "--csv", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// The managers' page's CSV (sim.Staffing.WriteCSV): BOM, CRLF.
	if want := "\ufeff开始,结束,a 每小时到达,a 窗口数,b 每小时到达,b 窗口数,合计窗口数\r\n09:00,10:00,30,3,6,2,5\r\n10:00,11:00,20,3,4,2,5\r\n"; out != want {
		t.Errorf("CSV:\n%q\nwant\n%q", out, want)
	}
	code, out, _ = runSim(t, "--plan", "--profile", path, "--csv", "-", "--lang", "en", "--days", "5")
	if code != 0 || !strings.HasPrefix(out, "\ufeffFrom,To,a arrivals per hour,a counters,") {
		t.Errorf("English CSV: exit %d\n%s", code, out)
	}
	csvPath := filepath.Join(t.TempDir(), "plan.csv")
	code, out, _ = runSim(t, "--plan", "--profile", path, "--target", "10m", "--goal", "0.9", "--csv", csvPath)
	if b, err := os.ReadFile(csvPath); code != 0 || err != nil || !strings.Contains(string(b), "09:00,10:00,") ||
		!strings.Contains(out, "call 90% within 10.0 min") || !strings.Contains(out, "09:00-10:00") {
		t.Errorf("plan: exit %d %v\n%s", code, err, out)
	}
	// The plan's limits hold on the command line too.
	code, _, errs = runSim(t, "--plan", "--profile", path, "--days", "201")
	if code != 2 || !strings.Contains(errs, "--days: sim_days must be 1..200") {
		t.Errorf("--days 201: exit %d, %s", code, errs)
	}
}

// The profile from a hall's recorded history: tickets served in a real
// database over the last days.
func TestSimulateFromHistory(t *testing.T) {
	db := filepath.Join(t.TempDir(), "civiq.db")
	store, err := sqlstore.Open(db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := civiq.NewEngine(store)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	day := time.Now().In(loc).AddDate(0, 0, -2)
	now := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, loc)
	eng.Now = func() time.Time { return now }
	if _, err := eng.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 24 {
		tk, err := eng.IssueTicket(ctx, civiq.IssueRequest{HallID: "demo", ServiceID: "general", Channel: civiq.ChannelKiosk}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eng.CallNext(ctx, "demo", "1", nil); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Duration(4+i%3) * time.Minute)
		if _, err := eng.Act(ctx, civiq.ActRequest{TicketID: tk.ID, Action: civiq.ActStart}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Act(ctx, civiq.ActRequest{TicketID: tk.ID, Action: civiq.ActFinish}, nil); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	code, out, errs := runSim(t, "--db", db, "--hall", "demo", "--print-profile")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var p struct {
		Services []struct {
			ID              string             `json:"id"`
			HandlingMinutes float64            `json:"handling_minutes"`
			Arrivals        map[string]float64 `json:"arrivals_per_hour"`
		} `json:"services"`
		Counters []struct{ ID string } `json:"counters"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(p.Services) != 4 || p.Services[0].ID != "general" || p.Services[0].HandlingMinutes != 5 || p.Services[0].Arrivals["09:00"] != 12 || p.Services[0].Arrivals["10:00"] != 12 || len(p.Counters) != 6 {
		t.Errorf("profile from history:\n%s", out)
	}
	if code, out, errs := runSim(t, "--db", db, "--hall", "demo", "--days", "1"); code != 0 || !strings.Contains(out, "general") {
		t.Errorf("simulate from history: exit %d %s\n%s", code, errs, out)
	}
	if code, _, errs := runSim(t, "--db", db, "--hall", "nowhere"); code != 2 || !strings.Contains(errs, "nowhere") {
		t.Errorf("unknown hall: exit %d %s", code, errs)
	}
}

func TestSimulateEvaluateETA(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day.json")
	os.WriteFile(path, []byte(testProfile), 0o600)
	code, out, errs := runSim(t, "--evaluate-eta", "--profile", path, "--days", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Tickets  int     `json:"tickets"`
		MeanWait float64 `json:"mean_wait_seconds"`
		MAE      float64 `json:"mae_seconds"`
		Naive    float64 `json:"naive_mae_seconds"`
		Machine  string  `json:"machine"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Tickets < 50 || r.MeanWait <= 0 || r.MAE <= 0 || r.Naive <= 0 || r.Machine == "" {
		t.Errorf("report %s", out)
	}
}
