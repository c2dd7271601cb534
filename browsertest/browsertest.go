// Package browsertest lets Go tests drive a real headless Chromium.
//
// The browser is Debian's chromium (never a browser that Playwright would
// download); it is driven by playwright-core, installed with `npm ci` in the
// repository's e2e/ directory. A test calls Require first: it skips the test
// with a message naming what is missing and how to install it, or fails it
// when CIVIQ_REQUIRE_BROWSER=1 (as CI sets it).
//
// Run executes a Node script with a small prelude: the script body runs inside
// an async function, so it may use await at its top level, and it has an
// object `civiq` with
//
//	civiq.chromium        // require('playwright-core').chromium
//	civiq.executablePath  // CIVIQ_CHROMIUM, default /usr/bin/chromium
//	civiq.args            // the Chromium flags (see Flags)
//	await civiq.launch(opts)   // a launched Browser, closed when the script ends
//	                           // (without opts: the package's Shared one)
//	await civiq.newPage(opts)  // a Page in a new context (opts: context options)
//	civiq.axePath         // axe-core's script (also in $CIVIQ_AXE)
//
// and the helpers the tests' scripts share (a script may declare its own
// under the same names instead):
//
//	assert(ok, msg)       // throws msg unless ok
//	eq(a, b, msg)         // asserts that a and b are the same JSON
//	mark(what)            // prints what, after the seconds since the start
//	sleep(ms)             // a promise resolved after ms milliseconds
//	await axe(page, when, rules) // runs axe-core's WCAG 2.1 A and AA rules
//	                      // (and the rules named) on the page; throws on any
//	                      // violation
//	await textBelow(page, px) // the visible texts smaller than px CSS pixels
//	watch(page, skip)     // collects the page's script errors, console errors
//	                      // and 4xx/5xx answers (but the favicon's and URLs
//	                      // the RegExp skip matches) in page.errors
//	clean(page, when)     // asserts that page.errors is empty
//	await api(method, path, body, as) // a request to the server at
//	                      // CIVIQ_URL with the bearer token as (by default
//	                      // CIVIQ_TOKEN) and body as JSON; answers the
//	                      // answer's JSON (null if empty), throws on a 4xx/5xx
//
// Anything the script prints to stdout is returned by Run; a thrown error or
// a non-zero exit fails the test with the script's stderr.
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Flags are the Chromium command-line flags every launch uses.
var Flags = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--no-first-run",
}

// DefaultChromium is the browser used when CIVIQ_CHROMIUM is unset.
const DefaultChromium = "/usr/bin/chromium"

// RunTimeout bounds one Run: the Node process is sent SIGTERM (Playwright then
// closes its browsers) when it is exceeded, and killed 10 s later.
var RunTimeout = 4 * time.Minute

// axeScript is axe-core's script, relative to the e2e directory.
var axeScript = filepath.Join("node_modules", "axe-core", "axe.min.js")

const installHint = "install with `apt-get install -y chromium` (Debian) and `npm ci` in e2e/; " +
	"set CIVIQ_CHROMIUM to use another Chromium binary"

// Require returns the Chromium binary and the e2e directory (which holds
// node_modules/playwright-core). When either, or node itself, is missing it
// skips the test, or fails it if CIVIQ_REQUIRE_BROWSER=1.
func Require(t testing.TB) (chromium string, e2eDir string) {
	t.Helper()
	chromium, e2eDir, missing := find()
	if len(missing) > 0 {
		msg := "browser test needs " + strings.Join(missing, "; ") + " — " + installHint
		if os.Getenv("CIVIQ_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + " (CIVIQ_REQUIRE_BROWSER=1, so this is an error, not a skip)")
		}
		t.Skip(msg)
	}
	return chromium, e2eDir
}

func find() (chromium, e2eDir string, missing []string) {
	chromium, err := findChromium()
	if err != nil {
		missing = append(missing, err.Error())
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node (Node.js 20) in PATH")
	}
	root, err := moduleRoot()
	if err != nil {
		missing = append(missing, err.Error())
		return chromium, "", missing
	}
	e2eDir = filepath.Join(root, "e2e")
	pw := filepath.Join(e2eDir, "node_modules", "playwright-core", "package.json")
	if _, err := os.Stat(pw); err != nil {
		missing = append(missing, "playwright-core in "+filepath.Join(e2eDir, "node_modules")+" (run `npm ci` in e2e/)")
	}
	return chromium, e2eDir, missing
}

func findChromium() (string, error) {
	if p := os.Getenv("CIVIQ_CHROMIUM"); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		if lp, err := exec.LookPath(p); err == nil {
			return lp, nil
		}
		return "", fmt.Errorf("chromium at CIVIQ_CHROMIUM=%s, which is not an executable file", p)
	}
	if isExecutable(DefaultChromium) {
		return DefaultChromium, nil
	}
	if lp, err := exec.LookPath("chromium"); err == nil {
		return lp, nil
	}
	return "", errors.New("chromium (not at " + DefaultChromium + " nor in PATH)")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// moduleRoot walks up from the working directory (a package directory under
// go test) to the directory holding go.mod and e2e/package.json.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if fileExists(filepath.Join(d, "go.mod")) && fileExists(filepath.Join(d, "e2e", "package.json")) {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("e2e/package.json beside go.mod in %s or a parent", dir)
		}
		d = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// prelude returns the JavaScript put before every script that Run executes;
// the script goes between prelude and epilogue, inside an async function.
func prelude(chromium string) string {
	return civiqObject(chromium) + helpers + `(async () => {
// ---- script ----
`
}

// helpers are the functions every script may use (see the package doc).
const helpers = `const t0 = Date.now();
const assert = (ok, msg) => { if (!ok) throw new Error(msg); };
const eq = (a, b, msg) => assert(JSON.stringify(a) === JSON.stringify(b), msg + ': got ' + JSON.stringify(a) + ', want ' + JSON.stringify(b));
const mark = (what) => console.log(((Date.now() - t0) / 1000).toFixed(1) + 's ' + what);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function watch(page, skip) {
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.errors.push('console: ' + m.text()); });
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico') && !(skip && skip.test(r.url()))) page.errors.push('HTTP ' + r.status() + ' ' + r.url()); });
  return page;
}
const clean = (page, when) => assert(page.errors.length === 0, when + ': ' + page.errors.join('; '));
async function api(method, path, body, as) {
  const res = await fetch(process.env.CIVIQ_URL + path, { method, headers: { Authorization: 'Bearer ' + (as || process.env.CIVIQ_TOKEN), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 400) throw new Error(method + ' ' + path + ': ' + res.status + ' ' + text);
  return text ? JSON.parse(text) : null;
}
// textBelow lists the page's visible texts drawn smaller than px CSS
// pixels: "size px: tag.class: text".
async function textBelow(page, px) {
  return page.evaluate((px) => {
    const out = [];
    const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      const e = n.parentElement, text = n.textContent.trim();
      if (!text || !e || e.closest('script, style, title') || !e.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
      const r = e.getBoundingClientRect();
      if (r.width <= 1 || r.height <= 1) continue; // read by screen readers only
      const size = parseFloat(getComputedStyle(e).fontSize);
      if (size < px - 0.01) out.push(size.toFixed(1) + 'px: ' + e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/\s+/g, '.') : '') + ': ' + text.slice(0, 30));
    }
    return out;
  }, px);
}
// axe checks the WCAG 2.1 A and AA rules (every finding, whatever its
// impact); rules names more to check besides (color-contrast-enhanced: 7:1).
async function axe(page, when, rules) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ path: civiq.axePath });
  const run = (runOnly) => page.evaluate((o) => window.axe.run(document, o), { resultTypes: ['violations'], runOnly });
  const r = await run({ type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] });
  const bad = r.violations.concat(rules && rules.length ? (await run({ type: 'rule', values: rules })).violations : []);
  const found = bad.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => String(n.target) + (n.any[0] && n.any[0].message ? ' — ' + n.any[0].message : '')) }));
  assert(bad.length === 0, 'axe (' + when + '): ' + JSON.stringify(found, null, 1));
}
`

// civiqObject is the JavaScript of the object civiq.
func civiqObject(chromium string) string {
	args := make([]string, len(Flags))
	for i, f := range Flags {
		args[i] = strconv.Quote(f)
	}
	return `'use strict';
const civiq = (() => {
  const { chromium } = require('playwright-core');
  const c = {
    chromium,
    executablePath: process.env.CIVIQ_CHROMIUM || ` + strconv.Quote(chromium) + `,
    axePath: process.env.CIVIQ_AXE,
    args: [` + strings.Join(args, ", ") + `],
    browsers: [],
    async launch(opts = {}) {
      // The package's one Chromium (Shared), for a launch without options:
      // closing it closes this script's contexts, not the browser.
      const b = process.env.CIVIQ_BROWSER_WS && Object.keys(opts).length === 0
        ? await chromium.connect(process.env.CIVIQ_BROWSER_WS, { timeout: 60000 })
        : await chromium.launch({
          executablePath: c.executablePath,
          headless: true,
          args: c.args,
          timeout: 60000,
          ...opts,
        });
      c.browsers.push(b);
      return b;
    },
    async newPage(contextOptions = {}) {
      const b = await c.launch();
      const ctx = await b.newContext(contextOptions);
      return ctx.newPage();
    },
    async closeAll() {
      for (const b of c.browsers.splice(0)) {
        await b.close().catch(() => {});
      }
    },
  };
  return c;
})();
`
}

const epilogue = `
// ---- end of script ----
})().then(
  async () => { await civiq.closeAll(); },
  async (err) => {
    console.error((err && err.stack) || String(err));
    await civiq.closeAll();
    process.exit(1);
  },
);
`

// Run executes script with node (see the package doc for what the script
// can use), with env added to the environment, and returns its stdout. It
// calls Require first, so it skips the test when the browser is missing.
func Run(t testing.TB, script string, env map[string]string) string {
	t.Helper()
	chromium, e2eDir := Require(t)

	dir := t.TempDir()
	file := filepath.Join(dir, "script.cjs")
	if err := os.WriteFile(file, []byte(prelude(chromium)+script+epilogue), 0o600); err != nil {
		t.Fatalf("browsertest: write script: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", file)
	cmd.Dir = dir
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	// If the test process dies (a go test timeout), node gets SIGTERM and
	// Playwright closes the browsers it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.WaitDelay = 10 * time.Second

	environ := os.Environ()
	environ = append(environ,
		"NODE_PATH="+filepath.Join(e2eDir, "node_modules"),
		"CIVIQ_CHROMIUM="+chromium,
		"CIVIQ_AXE="+filepath.Join(e2eDir, axeScript),
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1",
	)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		environ = append(environ, k+"="+env[k])
	}
	cmd.Env = environ

	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("browsertest: node script timed out after %v\nstdout:\n%s\nstderr:\n%s", RunTimeout, stdout.String(), stderr.String())
		}
		t.Fatalf("browsertest: node script failed (%v) after %v\nstdout:\n%s\nstderr:\n%s", err, time.Since(start).Round(time.Millisecond), stdout.String(), stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Logf("browsertest: node stderr:\n%s", s)
	}
	return stdout.String()
}

// RunShots is Run with $CIVIQ_SHOTS set to Shots(t) in the script's
// environment; it logs what the script printed and where the screenshots
// are, and returns the script's stdout.
func RunShots(t testing.TB, script string, env map[string]string) string {
	t.Helper()
	shots := Shots(t)
	all := map[string]string{"CIVIQ_SHOTS": shots}
	maps.Copy(all, env)
	out := Run(t, script, all)
	t.Logf("browser:\n%s", strings.TrimSpace(out))
	t.Logf("screenshots in %s", shots)
	return out
}

// Shots returns where a test writes its screenshots: the directory named by
// $CIVIQ_SCREENSHOTS (relative to the test's package directory, e.g.
// ../docs/screenshots), made absolute and created, or a new temporary
// directory without it.
func Shots(t testing.TB) string {
	t.Helper()
	if d := OptionalShots(t); d != "" {
		return d
	}
	return t.TempDir()
}

// OptionalShots is Shots, but "" without $CIVIQ_SCREENSHOTS: the script
// then takes no screenshot, which is quicker.
func OptionalShots(t testing.TB) string {
	t.Helper()
	d := os.Getenv("CIVIQ_SCREENSHOTS")
	if d == "" {
		return ""
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		t.Fatalf("browsertest: screenshots: %v", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatalf("browsertest: screenshots: %v", err)
	}
	return abs
}

// Screenshot opens url in a width×height viewport, waits for the page's load
// event and its fonts, and writes a PNG of the viewport to outPNG.
func Screenshot(t testing.TB, url, outPNG string, width, height int) {
	t.Helper()
	if width <= 0 || height <= 0 {
		t.Fatalf("browsertest: Screenshot: bad size %dx%d", width, height)
	}
	abs, err := filepath.Abs(outPNG)
	if err != nil {
		t.Fatalf("browsertest: Screenshot: %v", err)
	}
	Run(t, `
const page = await civiq.newPage({
  viewport: { width: Number(process.env.CIVIQ_SHOT_W), height: Number(process.env.CIVIQ_SHOT_H) },
});
page.on('pageerror', (e) => console.error('page error: ' + e.message));
const resp = await page.goto(process.env.CIVIQ_SHOT_URL, { waitUntil: 'load', timeout: 30000 });
if (resp && !resp.ok()) {
  throw new Error('GET ' + process.env.CIVIQ_SHOT_URL + ': HTTP ' + resp.status());
}
await page.evaluate(() => document.fonts && document.fonts.ready.then(() => true));
await page.screenshot({ path: process.env.CIVIQ_SHOT_OUT });
`, map[string]string{
		"CIVIQ_SHOT_URL": url,
		"CIVIQ_SHOT_OUT": abs,
		"CIVIQ_SHOT_W":   strconv.Itoa(width),
		"CIVIQ_SHOT_H":   strconv.Itoa(height),
	})
	fi, err := os.Stat(abs)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("browsertest: Screenshot of %s: no PNG written at %s (%v)", url, abs, err)
	}
}

// sharedEnv names the environment variable that gives the scripts the
// address of the package's one Chromium (Shared).
const sharedEnv = "CIVIQ_BROWSER_WS"

// Shared starts one Chromium for a package's tests, from its TestMain:
// every script's civiq.launch() without options (and civiq.newPage)
// then connects to it instead of starting a browser of its own, each
// script in contexts of its own (cookies, storage, permissions), and
// closing it closes only those. A launch with options (Chromium flags of
// its own) still starts its own browser. When the browser or node is
// missing it does nothing and the tests skip or fail as Require says; the
// returned stop closes the browser.
func Shared() (stop func()) {
	chromium, e2eDir, missing := find()
	if len(missing) > 0 || os.Getenv(sharedEnv) != "" {
		return func() {}
	}
	dir, err := os.MkdirTemp("", "browsertest-shared-")
	if err != nil {
		return func() {}
	}
	file := filepath.Join(dir, "server.cjs")
	script := civiqObject(chromium) + `(async () => {
  const server = await civiq.chromium.launchServer({ executablePath: civiq.executablePath, headless: true, args: civiq.args, timeout: 60000 });
  console.log(server.wsEndpoint());
  process.stdin.on('end', async () => { await server.close(); process.exit(0); });
  process.stdin.resume();
})().catch((err) => { console.error((err && err.stack) || String(err)); process.exit(1); });
`
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		os.RemoveAll(dir)
		return func() {}
	}
	cmd := exec.Command("node", file)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(e2eDir, "node_modules"), "CIVIQ_CHROMIUM="+chromium,
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // the test process died
	cmd.Stderr = os.Stderr
	stdin, err1 := cmd.StdinPipe()
	stdout, err2 := cmd.StdoutPipe()
	if err1 != nil || err2 != nil || cmd.Start() != nil {
		os.RemoveAll(dir)
		return func() {}
	}
	stop = func() {
		stdin.Close() // the server closes the browser and exits
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		os.Unsetenv(sharedEnv)
		os.RemoveAll(dir)
	}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		s, _ := r.ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, r)
	}()
	select {
	case ws := <-line:
		if strings.HasPrefix(ws, "ws://") {
			os.Setenv(sharedEnv, ws)
			return stop
		}
	case <-time.After(90 * time.Second):
	}
	fmt.Fprintln(os.Stderr, "browsertest: the shared Chromium did not start; each script starts its own")
	stop()
	return func() {}
}
