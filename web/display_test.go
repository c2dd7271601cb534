package web_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/civiq/civiq/civiqtest"
)

var displayConfigRE = regexp.MustCompile(`(?s)<script type="application/json" id="d-config">(.*?)</script>`)

// displayConfigOf reads the JSON the page gives its script.
func displayConfigOf(t *testing.T, html string) map[string]any {
	t.Helper()
	m := displayConfigRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no d-config script in the page:\n%s", html)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(m[1]), &cfg); err != nil {
		t.Fatalf("d-config is not JSON: %v\n%s", err, m[1])
	}
	return cfg
}

func TestDisplayPage(t *testing.T) {
	ds := civiqtest.New(t)

	res, body := ds.Page(t, "/halls/demo/display", "")
	if res.StatusCode != 200 {
		t.Fatalf("GET display: %d\n%s", res.StatusCode, body)
	}
	for _, want := range []string{`<html lang="zh-CN">`, "示范政务服务大厅", "叫号显示屏", "/static/display.js", "/static/display.css",
		`id="d-sound"`, "点击此处开启语音叫号", `href="?lang=en"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	cfg := displayConfigOf(t, body)
	if cfg["hall"] != "demo" || cfg["timezone"] != "Asia/Shanghai" || cfg["voice_template"] != "请{number}号到{counter}号窗口办理" {
		t.Errorf("config = %v", cfg)
	}
	if n := len(cfg["counters"].([]any)); n != 6 {
		t.Errorf("%d counters in the config, want 6", n)
	}
	svcs := cfg["services"].([]any)
	if len(svcs) != 4 || svcs[0].(map[string]any)["name_en"] != "General intake" {
		t.Errorf("services = %v", svcs)
	}
	if _, ok := cfg["announcement"]; ok {
		t.Errorf("an announcement before any was made: %v", cfg["announcement"])
	}

	// English.
	res, body = ds.Page(t, "/halls/demo/display?lang=en", "")
	if res.StatusCode != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Demo Service Hall") ||
		!strings.Contains(body, "Click here to turn on voice calls") {
		t.Errorf("English page: %d\n%s", res.StatusCode, body)
	}

	// An unknown hall is a 404 page.
	res, _ = ds.Page(t, "/halls/nosuch/display", "")
	if res.StatusCode != 404 {
		t.Errorf("unknown hall: %d, want 404", res.StatusCode)
	}

	// The static files are served.
	for _, p := range []string{"/static/display.js", "/static/display.css"} {
		if res, _ := ds.Page(t, p, ""); res.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
}

// A display that starts (or reloads) shows the latest announcement, and
// the text cannot break out of its script element.
func TestDisplayStartsWithLatestAnnouncement(t *testing.T) {
	ds := civiqtest.New(t)
	ctx := context.Background()
	if err := ds.Engine.Announce(ctx, "demo", "第一条公告"); err != nil {
		t.Fatal(err)
	}
	evil := `午休时间 12:00-13:00 </script><script>alert(1)</script>`
	if err := ds.Engine.Announce(ctx, "demo", evil); err != nil {
		t.Fatal(err)
	}
	_, body := ds.Page(t, "/halls/demo/display", "")
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatalf("announcement text escaped its script element:\n%s", body)
	}
	cfg := displayConfigOf(t, body)
	ann, _ := cfg["announcement"].(map[string]any)
	if ann == nil || ann["text"] != evil {
		t.Errorf("announcement = %v, want the latest %q", cfg["announcement"], evil)
	}
}

// TestDisplayCounters: ?counters= picks the counters of one screen; a
// malformed list, or one naming no counter of the hall, is 400.
func TestDisplayCounters(t *testing.T) {
	ds := civiqtest.New(t)
	res, body := ds.Page(t, "/halls/demo/display?counters=2-4,6", "")
	if res.StatusCode != 200 {
		t.Fatalf("?counters=2-4,6: %d", res.StatusCode)
	}
	cfg := displayConfigOf(t, body)
	var ids []string
	for _, c := range cfg["counters"].([]any) {
		ids = append(ids, c.(map[string]any)["id"].(string))
	}
	if strings.Join(ids, " ") != "2 3 4 6" || len(cfg["only"].([]any)) != 4 {
		t.Errorf("counters %v, only %v", ids, cfg["only"])
	}
	if _, ok := displayConfigOf(t, mustPage(t, ds, "/halls/demo/display"))["only"]; ok {
		t.Error("a display of every counter has a list of counters")
	}
	for _, q := range []string{"", "4-2", "7-9", "x", "1,,2", "01-3", "1--3"} {
		if res, _ := ds.Page(t, "/halls/demo/display?counters="+q, ""); res.StatusCode != 400 {
			t.Errorf("?counters=%s: %d, want 400", q, res.StatusCode)
		}
	}
}

func mustPage(t *testing.T, ds *civiqtest.Server, path string) string {
	t.Helper()
	res, body := ds.Page(t, path, "")
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	return body
}
