package web_test

import (
	"maps"
	"testing"
	"time"

	"github.com/civiq/civiq/browsertest"
)

// mgrPrelude is shared by the managers' pages' scripts: API calls as
// admin, signing in through the form and a page that records its errors.
const mgrPrelude = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS, password = process.env.CIVIQ_PASSWORD;
let adminToken = '';
async function api(method, path, body) {
  if (!adminToken) {
    const r = await fetch(base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    adminToken = (await r.json()).token;
  }
  const res = await fetch(base + path, { method, headers: { Authorization: 'Bearer ' + adminToken, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 400) throw new Error(method + ' ' + path + ': ' + res.status + ' ' + text);
  return text ? JSON.parse(text) : null;
}
async function signedIn(user, path, viewport) {
  const page = watch(await civiq.newPage({ viewport, acceptDownloads: true }), /\/plan/);
  await page.goto(base + '/login?next=' + encodeURIComponent(path));
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.press('input[name=password]', 'Enter')]);
  return page;
}
`

// TestDashboardBrowser drives the dashboard in Chromium on the demo hall's
// busy morning: the figures on the page are the API's; a burst of tickets
// shows within a second or two and costs one or two fetches, not one per
// event; with nothing happening nothing is fetched; a paused counter shows
// as paused; the target can be changed; axe finds no serious violation in
// Chinese or English. It writes dashboard-zh.png and dashboard-en.png
// (1920x1080).
func TestDashboardBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newMgrSite(t)
	s.demoMorning(t)
	// The server's sweep raises and clears the alerts (a read never does),
	// here more often than AlertCheckEvery.
	stop := make(chan struct{})
	defer close(stop)
	go s.Engine.CheckAlertsEvery(200*time.Millisecond, stop)
	runMgrScript(t, s, dashboardScript, nil)
}

// runMgrScript runs a managers' pages' script, after mgrPrelude, on the
// site with env added (browsertest.RunShots).
func runMgrScript(t *testing.T, s *mgrSite, script string, env map[string]string) {
	t.Helper()
	all := map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PASSWORD": mgrPassword}
	maps.Copy(all, env)
	browsertest.RunShots(t, mgrPrelude+script, all)
}

const dashboardScript = `
const view = { width: 1920, height: 1080 };
const page = await signedIn('mgr', '/halls/demo/dashboard', view);
const ready = () => page.waitForFunction(() => window.civiqDashboard && window.civiqDashboard.data() && document.querySelector('#db-live').textContent.length > 0, null, { timeout: 10000 });
await ready();
const text = (sel) => page.$eval(sel, (e) => e.textContent.trim());

// The page shows what the API says.
const d = await page.evaluate(() => window.civiqDashboard.data());
const fresh = await api('GET', '/api/v1/halls/demo/dashboard');
eq(await text('#kv-waiting'), String(fresh.waiting), 'waiting');
eq(await text('#kv-served'), String(fresh.today.served), 'served');
eq(await text('#kv-within'), Math.round(fresh.today.within_target_share * 1000) / 10 + '%', 'within target');
eq(await text('#kv-counters'), fresh.counter_states.open + ' / 6', 'open counters');
eq(await page.$$eval('#svc-rows tr', (rs) => rs.map((r) => r.dataset.service)), ['general', 'property', 'tax', 'social'], 'service rows');
eq(await page.$$eval('#svc-rows tr', (rs) => rs.map((r) => r.querySelector('.bar-num').textContent)), fresh.services.map((s) => String(s.waiting)), 'waiting by service');
eq(await page.$$eval('#ctr-tiles li', (ls) => ls.map((l) => l.className.split(' ')[1])),
  ['state-paused', 'state-open', 'state-open', 'state-open', 'state-open', 'state-closed'], 'counter states');
assert(await page.$eval('[data-counter="1"] .ctr-idle', (e) => e.textContent) === '临时离开', 'the pause reason shows');
eq(await page.$$eval('#ctr-tiles .ctr-clerk', (ps) => ps.map((p) => p.textContent)), ['人员：stf', '无人登录', '无人登录', '无人登录', '无人登录', '无人登录'], 'who is signed in where');
const bars = await page.$$eval('#ch-arr rect.s-issued', (rs) => rs.length);
assert(bars >= 3, 'arrival bars: ' + bars);
eq(await page.$$eval('#ch-wait line.target', (ls) => ls.length), 1, 'the target line');
const hours = await page.$$eval('#ch-arr table tr', (rs) => rs.slice(1).map((r) => Number(r.children[1].textContent)));
eq(hours, fresh.hours.map((h) => h.arrivals), 'arrivals by hour (the chart\'s table)');
assert(hours.reduce((a, b) => a + b, 0) === fresh.today.issued, 'arrivals add up to the tickets issued');
await axe(page, 'dashboard zh');
await page.screenshot({ path: shots + '/dashboard-zh.png' });
console.log('figures match; screenshot taken');
// On a laptop's 1280 px the queues' table fits its card, in both languages.
await page.setViewportSize({ width: 1280, height: 900 });
for (const lang of ['zh-CN', 'en']) {
  await page.goto(base + '/halls/demo/dashboard?lang=' + lang);
  await ready();
  const fit = await page.$eval('.db-svc', (c) => [c.scrollWidth, c.clientWidth, c.querySelector('.db-table').getBoundingClientRect().right, c.getBoundingClientRect().right]);
  await page.screenshot({ path: shots + '/dashboard-1280-' + lang + '.png' });
  assert(fit[0] <= fit[1] && fit[2] <= fit[3], 'the queues\' table overflows its card at 1280 px (' + lang + '): ' + fit);
}
await page.goto(base + '/halls/demo/dashboard?lang=zh-CN');
await page.setViewportSize(view);
await ready();

// A burst of five tickets: shown soon, gathered into one or two fetches.
const before = Number(await text('#kv-waiting'));
const f0 = await page.evaluate(() => window.civiqDashboard.fetches());
const t0 = Date.now();
for (let i = 0; i < 5; i++) await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'tax' });
await page.waitForFunction((n) => document.querySelector('#kv-waiting').textContent === String(n), before + 5, { timeout: 10000 });
console.log('five tickets shown after ' + (Date.now() - t0) + ' ms');
await sleep(800);
const f1 = await page.evaluate(() => window.civiqDashboard.fetches());
assert(f1 - f0 >= 1 && f1 - f0 <= 2, 'fetches for a burst of five events: ' + (f1 - f0));

// A service alert: tax's level set at one minute is passed by the burst;
// the sweep raises it and the banner names it with the counters to open, and the idle counters
// are flagged as the API says. Taking the level away clears it.
const tax = { prefix: 'C', name: '税务', name_en: 'Tax', position: 2 };
await api('PUT', '/api/v1/halls/demo/services/tax', Object.assign({ alert_wait_minutes: 1 }, tax));
await page.evaluate(() => window.civiqDashboard.fetches()); // the next event or fetch brings it
await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'tax' });
await page.waitForSelector('#db-alerts:not([hidden]) .al-item[data-service="tax"]', { timeout: 10000 });
const raised = await page.evaluate(() => window.civiqDashboard.data());
const ta = raised.alerts.find((a) => a.service_id === 'tax');
assert(ta && ta.suggested_counters >= ta.open_counters, 'the tax alert: ' + JSON.stringify(raised.alerts));
assert((await text('.al-item[data-service="tax"]')).includes('税务'), 'the banner names the service');
eq(await page.$$eval('.ctr-tile.idle', (ls) => ls.length), raised.idle_counters, 'idle counters flagged');
await page.screenshot({ path: shots + '/dashboard-alert-zh.png' });
await api('PUT', '/api/v1/halls/demo/services/tax', Object.assign({ alert_wait_minutes: 0 }, tax));
await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'tax' });
await page.waitForFunction(() => !document.querySelector('.al-item[data-service="tax"]'), null, { timeout: 10000 });

// A counter paused elsewhere shows as paused.
await api('POST', '/api/v1/halls/demo/counters/3/status', { status: 'paused', reason: '会议' });
await page.waitForFunction(() => document.querySelector('[data-counter="3"]').classList.contains('state-paused'), null, { timeout: 10000 });

// Counter 5, open with nobody signed in (the demo's loading), done with
// its ticket: 未开放, as the hall's screens show it, not 空闲.
const c5 = await api('GET', '/api/v1/halls/demo/counters/5/today');
await api('POST', '/api/v1/tickets/' + c5.current_ticket.id + '/finish');
await page.waitForFunction(() => document.querySelector('[data-counter="5"]').classList.contains('state-closed'), null, { timeout: 10000 });
eq(await text('[data-counter="5"] .pill'), '未开放', 'an open counter with nobody there');
eq(await text('[data-counter="5"] .ctr-idle'), '已开启，无人登录', 'why it is not open');

// Another target, from the picker: the address keeps it.
await page.selectOption('#db-target', '30');
await page.waitForFunction(() => window.civiqDashboard.data().target_seconds === 1800, null, { timeout: 10000 });
eq(await text('#kh-within'), '30 分钟内叫号率', 'the within-target heading');
assert(page.url().includes('target=30'), 'the address keeps the target: ' + page.url());

// Nothing happens, nothing is fetched (with a target of four hours no
// waiting ticket passes it meanwhile).
await page.goto(base + '/halls/demo/dashboard?target=240');
await ready();
await sleep(500);
const q0 = await page.evaluate(() => window.civiqDashboard.fetches());
await sleep(3000);
eq(await page.evaluate(() => window.civiqDashboard.fetches()), q0, 'fetches while nothing happens');
clean(page, 'dashboard zh');

// English.
await page.goto(base + '/halls/demo/dashboard?lang=en');
await ready();
eq(await page.$eval('html', (e) => e.lang), 'en', 'html lang');
eq(await text('#kh-within'), 'Called within 15 min', 'the English heading');
assert((await page.$eval('#svc-rows tr th', (e) => e.textContent)).includes('General intake'), 'English service names');
await axe(page, 'dashboard en');
await page.screenshot({ path: shots + '/dashboard-en.png' });
clean(page, 'dashboard en');
console.log('english ok');
`
