package browsertest

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const page = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>civiq browsertest</title>
<style>html,body{margin:0;background:#c00000;color:#fff;font:48px sans-serif}</style></head>
<body><p id="t">A001 请到 3 号窗口</p></body></html>`

func tinyServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestScreenshot(t *testing.T) {
	Require(t)
	srv := tinyServer(t)
	out := filepath.Join(t.TempDir(), "shot.png")
	Screenshot(t, srv.URL+"/", out, 400, 300)

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		t.Fatal("empty PNG")
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 400 || b.Dy() != 300 {
		t.Fatalf("PNG is %dx%d, want 400x300", b.Dx(), b.Dy())
	}
	// The page background is #c00000: a corner pixel shows the page rendered.
	r, g, b, _ := img.At(399, 299).RGBA()
	if r>>8 < 0xb0 || g>>8 > 0x20 || b>>8 > 0x20 {
		t.Fatalf("corner pixel = (%d,%d,%d), want the page's red background", r>>8, g>>8, b>>8)
	}
}

func TestRunReturnsStdout(t *testing.T) {
	Require(t)
	srv := tinyServer(t)
	out := Run(t, `
const page = await civiq.newPage();
await page.goto(process.env.URL);
console.log(JSON.stringify({ title: await page.title(), text: await page.textContent('#t') }));
`, map[string]string{"URL": srv.URL + "/"})
	want := `{"title":"civiq browsertest","text":"A001 请到 3 号窗口"}`
	if strings.TrimSpace(out) != want {
		t.Fatalf("stdout = %q, want %q", out, want)
	}
}

func TestFindReportsMissingChromium(t *testing.T) {
	t.Setenv("CIVIQ_CHROMIUM", filepath.Join(t.TempDir(), "no-such-chromium"))
	_, _, missing := find()
	joined := strings.Join(missing, "; ")
	if !strings.Contains(joined, "CIVIQ_CHROMIUM=") || !strings.Contains(joined, "no-such-chromium") {
		t.Fatalf("missing = %q, want it to name the CIVIQ_CHROMIUM path", joined)
	}
}

func TestPreludeHasFlags(t *testing.T) {
	p := prelude("/usr/bin/chromium")
	for _, f := range []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run"} {
		if !strings.Contains(p, `"`+f+`"`) {
			t.Errorf("prelude lacks flag %s", f)
		}
	}
}

// The shared helpers are there, axe-core runs on a page, watch sees a
// failed answer, and a script may declare a helper's name for itself.
func TestHelpers(t *testing.T) {
	Require(t)
	srv := tinyServer(t)
	out := Run(t, `
const page = await civiq.newPage();
await page.goto(process.env.URL);
eq(await page.textContent('#t'), 'A001 请到 3 号窗口', 'text');
await axe(page, 'tiny page');
watch(page);
clean(page, 'before');
await page.goto(process.env.URL + 'missing');
let dirty = false;
try { clean(page, 'after a 404'); } catch (e) { dirty = e.message.includes('HTTP 404'); }
assert(dirty, 'watch sees the 404');
let threw = false;
try { eq(1, 2, 'one is two'); } catch (e) { threw = e.message === 'one is two: got 1, want 2'; }
assert(threw, 'eq throws');
await sleep(1);
mark('done');
`, map[string]string{"URL": srv.URL + "/"})
	if !strings.HasSuffix(strings.TrimSpace(out), "s done") {
		t.Fatalf("stdout = %q", out)
	}
	out = Run(t, `
const assert = (ok) => console.log('own assert ' + ok);
assert(true);
`, nil)
	if strings.TrimSpace(out) != "own assert true" {
		t.Fatalf("stdout = %q", out)
	}
}

// With Shared, scripts open their pages in the one browser (they could
// not start one: CIVIQ_CHROMIUM names nothing), a page's cookies stay in
// its script, and a launch with options starts a browser of its own.
func TestShared(t *testing.T) {
	Require(t)
	stop := Shared()
	defer stop()
	if os.Getenv(sharedEnv) == "" {
		t.Fatal("no shared browser")
	}
	srv := tinyServer(t)
	script := `
const page = await civiq.newPage();
await page.goto(process.env.URL);
const before = await page.evaluate(() => document.cookie);
await page.evaluate(() => { document.cookie = 'seen=1'; });
console.log(JSON.stringify({ before }));
`
	for range 2 { // the second script sees no cookie of the first
		out := Run(t, script, map[string]string{"URL": srv.URL, "CIVIQ_CHROMIUM": "/nonexistent/chromium"})
		if !strings.Contains(out, `{"before":""}`) {
			t.Fatalf("script printed %s", out)
		}
	}
	out := Run(t, `
const own = await civiq.launch({ args: civiq.args.concat(['--lang=en']) });
console.log(own.version().length > 0 && civiq.browsers.length === 1);
`, nil)
	if strings.TrimSpace(out) != "true" {
		t.Fatalf("a launch with options: %s", out)
	}
}
