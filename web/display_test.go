package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/api"
	"github.com/civiq/civiq/inmem"
	"github.com/civiq/civiq/sqlite"
	"github.com/civiq/civiq/web"
)

// displayServer is the real program's wiring (as cmd/civiq's Main does
// it) on a SQLite file in a temporary directory, with the demo hall. It
// can cut every open event stream, as a network failure would.
type displayServer struct {
	URL    string
	Engine *civiq.Engine
	Token  string // the admin's bearer token

	api     *api.Server
	mu      sync.Mutex
	streams map[*http.Request]context.CancelFunc
}

const displayAdminPassword = "display-test-password"

func newDisplayServer(t *testing.T) *displayServer {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "civiq.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hub := inmem.NewHub()
	metrics := api.NewMetrics()
	store.Publish = func(evs []*civiq.Event) {
		metrics.Observe(evs)
		hub.Publish(evs)
	}
	eng := civiq.NewEngine(store)
	if _, err := eng.Bootstrap(ctx, displayAdminPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	ds := &displayServer{Engine: eng, streams: map[*http.Request]context.CancelFunc{}}
	ds.api = api.NewServer(eng, hub, metrics)
	site := &web.Site{Engine: eng, Version: "test"}
	site.Register(ds.api.Mux())
	srv := httptest.NewServer(http.HandlerFunc(ds.serve))
	ds.URL = srv.URL
	t.Cleanup(func() {
		ds.api.Close()
		ds.cutStreams()
		srv.Close()
		store.Close()
	})
	token, _, _, err := eng.Login(ctx, "admin", displayAdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	ds.Token = token
	return ds
}

// serve hands requests to the API server; POST /test/cut-streams ends
// every event stream open now (the browser then reconnects with
// Last-Event-ID).
func (ds *displayServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/test/cut-streams" {
		n := ds.cutStreams()
		json.NewEncoder(w).Encode(map[string]int{"cut": n})
		return
	}
	if strings.HasSuffix(r.URL.Path, "/events") {
		ctx, cancel := context.WithCancel(r.Context())
		ds.mu.Lock()
		ds.streams[r] = cancel
		ds.mu.Unlock()
		defer func() {
			ds.mu.Lock()
			delete(ds.streams, r)
			ds.mu.Unlock()
			cancel()
		}()
		r = r.WithContext(ctx)
	}
	ds.api.ServeHTTP(w, r)
}

func (ds *displayServer) cutStreams() int {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for _, cancel := range ds.streams {
		cancel()
	}
	return len(ds.streams)
}

func displayGet(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

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
	ds := newDisplayServer(t)

	res, body := displayGet(t, ds.URL+"/halls/demo/display")
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
	res, body = displayGet(t, ds.URL+"/halls/demo/display?lang=en")
	if res.StatusCode != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Demo Service Hall") ||
		!strings.Contains(body, "Click here to turn on voice calls") {
		t.Errorf("English page: %d\n%s", res.StatusCode, body)
	}

	// An unknown hall is a 404 page.
	res, _ = displayGet(t, ds.URL+"/halls/nosuch/display")
	if res.StatusCode != 404 {
		t.Errorf("unknown hall: %d, want 404", res.StatusCode)
	}

	// The static files are served.
	for _, p := range []string{"/static/display.js", "/static/display.css"} {
		if res, _ := displayGet(t, ds.URL+p); res.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
}

// A display that starts (or reloads) shows the latest announcement, and
// the text cannot break out of its script element.
func TestDisplayStartsWithLatestAnnouncement(t *testing.T) {
	ds := newDisplayServer(t)
	ctx := context.Background()
	if err := ds.Engine.Announce(ctx, "demo", "第一条公告"); err != nil {
		t.Fatal(err)
	}
	evil := `午休时间 12:00-13:00 </script><script>alert(1)</script>`
	if err := ds.Engine.Announce(ctx, "demo", evil); err != nil {
		t.Fatal(err)
	}
	_, body := displayGet(t, ds.URL+"/halls/demo/display")
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatalf("announcement text escaped its script element:\n%s", body)
	}
	cfg := displayConfigOf(t, body)
	ann, _ := cfg["announcement"].(map[string]any)
	if ann == nil || ann["text"] != evil {
		t.Errorf("announcement = %v, want the latest %q", cfg["announcement"], evil)
	}
}
