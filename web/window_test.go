package web_test

import (
	"strings"
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

func TestWindowPage(t *testing.T) {
	ds := civiqtest.New(t)
	res, body := ds.Page(t, "/halls/demo/window/3", "")
	if res.StatusCode != 200 {
		t.Fatalf("GET window: %d", res.StatusCode)
	}
	for _, want := range []string{`<html lang="zh-CN">`, "3号窗口", "示范政务服务大厅", "/static/window.js", `"counter":{"id":"3"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if _, body := ds.Page(t, "/halls/demo/window/3?lang=en", ""); !strings.Contains(body, "Counter 3") || !strings.Contains(body, "Demo Service Hall") {
		t.Error("the English page lacks Counter 3 or the hall's English name")
	}
	if res, _ := ds.Page(t, "/halls/demo/window/99", ""); res.StatusCode != 404 {
		t.Errorf("an unknown counter: %d, want 404", res.StatusCode)
	}
	if res, _ := ds.Page(t, "/halls/nope/window/1", ""); res.StatusCode != 404 {
		t.Errorf("an unknown hall: %d, want 404", res.StatusCode)
	}
	if _, body := ds.Page(t, "/", ""); !strings.Contains(body, `href="/halls/demo/window/1"`) {
		t.Error("the home page does not link the window screens")
	}
}

// TestWindowBrowser shows counter 1's window screen on 1366x768 and
// 800x480 panels in both languages: nobody signed in is 未开放, a clerk
// opening it makes it wait for a number, a call appears (and flashes), serving
// and a pause follow the live stream, a call at another counter leaves it
// alone; nothing leaves the screen or is clipped, the number is at least
// 80px and the state 28px. axe on each.
func TestWindowBrowser(t *testing.T) {
	browsertest.Require(t)
	ds := civiqtest.New(t)
	browsertest.RunShots(t, fitScript+windowScript, map[string]string{"CIVIQ_URL": ds.URL, "CIVIQ_TOKEN": ds.Admin})
}

const windowScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const rules = { min: [['.w-num', 80], ['.w-state', 28], ['.w-counter', 28]] };
const browser = await civiq.launch();
const state = (p) => p.evaluate(() => window.civiqWindow.state());
let first = true;
for (const [w, h] of [[1366, 768], [800, 480]]) {
  for (const lang of ['zh-CN', 'en']) {
    const when = 'window ' + w + 'x' + h + ' ' + lang;
    mark(when);
    const ctx = await browser.newContext({ viewport: { width: w, height: h } });
    const page = watch(await ctx.newPage());
    await page.goto(base + '/halls/demo/window/1?lang=' + lang);
    await page.waitForFunction(() => window.civiqWindow && window.civiqWindow.synced() >= 1);
    if (first) {
      eq(await page.$eval('#w-num', (e) => e.textContent), '—', 'nobody called yet');
      // The demo's counter is open, but nobody is signed in: 未开放, not
      // waiting; once a clerk opens it signed in, it waits for a number.
      eq(await page.$eval('#w-state', (e) => e.textContent), '未开放', 'open with nobody signed in');
      await page.screenshot({ path: shots + '/window-nobody.png' });
      await api('POST', '/api/v1/halls/demo/counters/1/status', { status: 'open' });
      await page.waitForFunction(() => document.getElementById('w-state').textContent === '等待叫号');
      assert((await state(page)).staffed, 'staffed once its clerk opened it');
      await fits(page, rules, when + ' idle');
      const t = (await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'general' })).ticket;
      await api('POST', '/api/v1/halls/demo/counters/1/call-next');
      await page.waitForFunction((n) => document.getElementById('w-num').textContent === n, t.number);
      assert(await page.evaluate(() => document.body.classList.contains('flash')), 'a fresh call flashes');
      eq(await page.$eval('#w-state', (e) => e.textContent), '请 ' + t.number + ' 号到本窗口办理', 'calling state');
      await api('POST', '/api/v1/tickets/' + t.id + '/start');
      await page.waitForFunction(() => document.getElementById('w-state').textContent === '正在办理');
      // A call at another counter leaves this one alone.
      await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'tax' });
      await api('POST', '/api/v1/halls/demo/counters/5/call-next');
      await sleep(500);
      eq((await state(page)).number, t.number, 'counter 1 keeps its number');
      await page.evaluate(() => document.body.classList.remove('flash'));
      first = false;
    }
    await page.waitForFunction(() => window.civiqWindow.state().status === 'serving');
    await fits(page, rules, when + ' serving');
    await page.screenshot({ path: shots + '/window-' + w + 'x' + h + '-' + lang + '.png' });
    await axe(page, when);
    clean(page, when);
    await ctx.close();
  }
}
mark('paused');
const ctx = await browser.newContext({ viewport: { width: 800, height: 480 } });
const page = watch(await ctx.newPage());
await page.goto(base + '/halls/demo/window/2');
await page.waitForFunction(() => window.civiqWindow && window.civiqWindow.synced() >= 1);
await api('POST', '/api/v1/halls/demo/counters/2/status', { status: 'open' }); // signed in there: a pause is its clerk's
await api('POST', '/api/v1/halls/demo/counters/2/status', { status: 'paused', reason: '暂离 10 分钟，请到相邻窗口办理' });
await page.waitForFunction(() => document.getElementById('w-state').textContent.startsWith('暂停服务'));
await fits(page, rules, 'paused with a long reason');
await page.screenshot({ path: shots + '/window-paused.png' });
await axe(page, 'paused');
clean(page, 'paused');
console.log('ok');
`
