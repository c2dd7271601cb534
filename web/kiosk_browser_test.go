package web_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/civiq/civiq/browsertest"
)

// kioskShots is where the kiosk test puts its screenshots: $CIVIQ_SCREENSHOTS,
// or none without it.
func kioskShots(t *testing.T) string {
	d := os.Getenv("CIVIQ_SCREENSHOTS")
	if d == "" {
		return ""
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(d)
	return abs
}

// TestKioskBrowser takes tickets at the kiosk in Chromium, paired and
// signed in, through a lost answer and a double tap, and follows one on the
// citizen's page until it is called, done and rated.
func TestKioskBrowser(t *testing.T) {
	_, e2e := browsertest.Require(t)
	s := newKioskSite(t)
	if st := s.call(t, "POST", "/api/v1/users", s.Admin, map[string]any{"username": "clerk", "password": "clerk-password-1", "role": "staff", "hall_ids": []string{"demo"}}, nil, nil); st != 201 {
		t.Fatalf("create staff: %d", st)
	}
	out := browsertest.Run(t, kioskScript, map[string]string{
		"BASE":        s.URL,
		"ADMIN_TOKEN": s.Admin,
		"SHOTS":       kioskShots(t),
		"AXE":         filepath.Join(e2e, "node_modules", "axe-core", "axe.min.js"),
	})
	t.Log(out)
}

const kioskScript = `
const base = process.env.BASE;
const shots = process.env.SHOTS;
async function api(method, path, body, token) {
  const headers = { Authorization: 'Bearer ' + (token || process.env.ADMIN_TOKEN) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let j = null;
  try { j = await r.json(); } catch (e) {}
  return { status: r.status, body: j };
}
function check(cond, msg) { if (!cond) throw new Error('check failed: ' + msg); }
async function waiting(service) { return (await api('GET', '/api/v1/halls/demo/status')).body.waiting[service]; }
async function axe(page, name) {
  await page.addScriptTag({ path: process.env.AXE });
  const r = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) throw new Error(name + ': axe: ' + JSON.stringify(bad.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target) })), null, 1));
}
async function shot(page, name) {
  if (!shots) return;
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: shots + '/' + name + '.png' });
}
const errors = [];
function watch(page, name) {
  page.on('pageerror', (e) => errors.push(name + ': ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon|Failed to load resource/.test(m.text())) errors.push(name + ': ' + m.text()); });
}
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
const visible = (page, id) => page.waitForSelector('#' + id + ':not(.hidden)', { timeout: 5000 });

const browser = await civiq.launch();

// ---- a kiosk paired with a code an admin made ----
const dev = await api('POST', '/api/v1/halls/demo/devices', { kind: 'kiosk', name: 'kiosk 1' });
check(dev.status === 201, 'create kiosk device: ' + dev.status);
const kctx = await browser.newContext({ viewport: { width: 1080, height: 1920 }, hasTouch: true });
await kctx.clock.install();
const kiosk = await kctx.newPage();
watch(kiosk, 'kiosk');
await kiosk.addInitScript(() => { window.__printed = 0; window.print = () => { window.__printed++; }; });
await kiosk.goto(base + '/halls/demo/kiosk');
await visible(kiosk, 's-pair');
await axe(kiosk, 'kiosk pairing');
await kiosk.fill('#pair-code', 'XXXXXXXX');
await kiosk.click('#pair-form button[type=submit]');
await kiosk.waitForFunction(() => document.getElementById('pair-error').textContent !== '');
await kiosk.fill('#pair-code', dev.body.device.pairing_code);
await kiosk.click('#pair-form button[type=submit]');
await visible(kiosk, 's-home');
check(await kiosk.evaluate(() => !!localStorage.getItem('civiq.device.demo')), 'the device token is kept');
await kiosk.waitForFunction(() => /0/.test(document.querySelector('.svc[data-service=general] .svc-count').textContent));
check(/约 \d+ 分钟/.test(await text(kiosk, '.svc[data-service=general] .svc-eta')), 'expected wait on the button');
check(await kiosk.evaluate(() => document.documentElement.scrollHeight <= innerHeight), 'portrait start screen fits');
await shot(kiosk, 'kiosk-portrait');
await axe(kiosk, 'kiosk start');

// The first POST reaches the server, but its answer is lost; the retry is
// held back a moment so the message shows. A double tap on top.
let posts = 0;
const keys = [];
await kiosk.route('**/api/v1/halls/demo/tickets', async (route) => {
  posts++;
  keys.push(route.request().headers()['idempotency-key']);
  if (posts === 1) { await route.fetch(); await route.abort('connectionreset'); return; }
  if (posts === 2) await new Promise((r) => setTimeout(r, 1500));
  await route.continue();
});
await kiosk.dblclick('.svc[data-service=general]');
await kiosk.waitForFunction(() => document.getElementById('busy-text').textContent.includes('网络'));
await visible(kiosk, 's-ticket');
check(await text(kiosk, '#tp-number') === 'A001', 'ticket number ' + await text(kiosk, '#tp-number'));
check(await text(kiosk, '#tp-taken') === '您已领取A001号，前方等待0人', 'ticket text: ' + await text(kiosk, '#tp-taken'));
check(await text(kiosk, '#tp-service') === '综合受理', 'ticket service');
await kiosk.waitForFunction(() => { const q = document.getElementById('tp-qr'); return q.complete && q.naturalWidth > 0; });
await kiosk.waitForFunction(() => window.__printed === 1);
check(posts === 2 && keys[0] && keys[0] === keys[1], 'one key for both tries: ' + JSON.stringify(keys));
check(await waiting('general') === 1, 'exactly one ticket for one press, got ' + await waiting('general'));
const firstId = await kiosk.evaluate(() => document.body.dataset.ticket);
const first = (await api('GET', '/api/v1/tickets/' + firstId)).body.ticket;
check(first.number === 'A001' && first.channel === 'kiosk', 'the ticket: ' + JSON.stringify(first));
await kiosk.unroute('**/api/v1/halls/demo/tickets');
await shot(kiosk, 'kiosk-ticket');
await axe(kiosk, 'kiosk ticket');

// Printing shows the ticket alone, on a page as long as the ticket.
check(await kiosk.evaluate(() => [...document.querySelectorAll('style')].some((st) => {
  const m = /size: 80mm (\d+)mm/.exec(st.textContent);
  return m && +m[1] > 60 && +m[1] < 200;
})), 'the printed page is 80 mm wide and as long as the ticket');
check(await kiosk.evaluate(() => !document.getElementById('ticket').classList.contains('printed')), 'the screen shows the ticket again after printing');
await kiosk.emulateMedia({ media: 'print' });
check(await kiosk.evaluate(() => getComputedStyle(document.querySelector('.kiosk-bar')).display === 'none'
  && getComputedStyle(document.querySelector('.ticket-actions')).display === 'none'
  && getComputedStyle(document.getElementById('ticket')).display !== 'none'), 'print shows only the ticket');
await kiosk.emulateMedia({ media: 'screen' });

// Back to the start by itself after 10 s.
await kiosk.clock.runFor(10500);
await visible(kiosk, 's-home');

// Lying down, and the green channel.
await kiosk.setViewportSize({ width: 1920, height: 1080 });
check(await kiosk.evaluate(() => document.documentElement.scrollHeight <= innerHeight), 'landscape start screen fits');
await shot(kiosk, 'kiosk-landscape');
await kiosk.click('#green-open');
await visible(kiosk, 's-green');
await shot(kiosk, 'kiosk-green');
await axe(kiosk, 'kiosk green channel');
await kiosk.click('.group[data-group=elderly]');
await visible(kiosk, 'green-banner');
check((await text(kiosk, '#green-text')).includes('老年人'), 'green channel banner');
await kiosk.click('.svc[data-service=tax]');
await visible(kiosk, 's-ticket');
check((await text(kiosk, '#tp-priority')).includes('老年人'), 'green channel on the ticket');
const green = (await api('GET', '/api/v1/tickets/' + await kiosk.evaluate(() => document.body.dataset.ticket))).body.ticket;
check(green.number === 'C001' && green.priority_group === 'elderly', 'green ticket: ' + JSON.stringify(green));
await shot(kiosk, 'kiosk-ticket-landscape');
await kiosk.click('#done');
await visible(kiosk, 's-home');
check(await kiosk.evaluate(() => document.getElementById('green-banner').classList.contains('hidden')), 'green channel is forgotten');

// ---- a kiosk run by a signed-in clerk ----
const sctx = await browser.newContext({ viewport: { width: 1080, height: 1920 } });
const staff = await sctx.newPage();
watch(staff, 'staff kiosk');
await staff.addInitScript(() => { window.print = () => {}; });
await staff.goto(base + '/login?next=/halls/demo/kiosk');
await staff.fill('input[name=username]', 'clerk');
await staff.fill('input[name=password]', 'clerk-password-1');
await Promise.all([staff.waitForURL('**/halls/demo/kiosk'), staff.click('button[type=submit]')]);
await visible(staff, 's-home');
await staff.click('.svc[data-service=property]');
await visible(staff, 's-ticket');
const byStaff = (await api('GET', '/api/v1/tickets/' + await staff.evaluate(() => document.body.dataset.ticket))).body.ticket;
check(byStaff.number === 'B001' && byStaff.channel === 'kiosk', 'staff kiosk ticket: ' + JSON.stringify(byStaff));
// The first kiosk saw that ticket through the event stream.
await kiosk.waitForFunction(() => /1/.test(document.querySelector('.svc[data-service=property] .svc-count').textContent));

// ---- the citizen's page, live ----
async function phone(lang) {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const p = await ctx.newPage();
  watch(p, 'ticket page ' + lang);
  await p.addInitScript(() => {
    window.__vibrated = 0; window.__beeps = 0;
    navigator.vibrate = () => { window.__vibrated++; return true; };
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...a) { window.__beeps++; return start.apply(this, a); };
  });
  await p.goto(base + '/t/' + firstId + (lang === 'en' ? '?lang=en' : ''));
  await p.waitForFunction(() => document.getElementById('live').textContent !== '' && !document.getElementById('live').classList.contains('off'));
  return p;
}
const zh = await phone('zh');
const en = await phone('en');
check(await text(zh, '#status') === '等待中' && await text(zh, '#ahead') === '下一位就是您', 'waiting: ' + await text(zh, '#status') + ' / ' + await text(zh, '#ahead'));
check(await text(en, '#status') === 'Waiting', 'English status');
await zh.click('#alerts');
await shot(zh, 'ticket-zh');
await shot(en, 'ticket-en');
await axe(zh, 'ticket page');

const called = await api('POST', '/api/v1/halls/demo/counters/1/call-next');
check(called.status === 200 && called.body.ticket.id === firstId, 'call-next: ' + called.status);
const t0 = Date.now();
await zh.waitForFunction(() => document.getElementById('status').textContent === '正在叫您', null, { timeout: 3000 });
const took = Date.now() - t0;
check((await text(zh, '#call')).includes('1号窗口'), 'the counter to go to: ' + await text(zh, '#call'));
check(await zh.evaluate(() => window.__vibrated > 0 && window.__beeps > 0), 'sound and vibration when called');
await en.waitForFunction(() => document.getElementById('call').textContent.includes('Counter 1'), null, { timeout: 3000 });
await shot(zh, 'ticket-called-zh');
await shot(en, 'ticket-called-en');

// Done: the rating, with a reason for a bad one.
for (const a of ['start', 'finish']) check((await api('POST', '/api/v1/tickets/' + firstId + '/' + a)).status === 200, a);
await visible(zh, 'rate');
await axe(zh, 'rating form');
await zh.click('.score.s2');
await visible(zh, 'reasons');
await zh.click('#rate button[type=submit]');
check(await text(zh, '#reason-error') !== '', 'a bad rating asks for a reason');
await zh.click('.chip:first-of-type');
await zh.fill('#comment', '窗口少');
await shot(zh, 'ticket-rating');
await zh.click('#rate button[type=submit]');
await visible(zh, 'thanks');
const again = await api('POST', '/api/v1/tickets/' + firstId + '/rating', { score: 5 });
check(again.status === 409, 'rated once: ' + again.status);
// The other phone learns of the rating through the stream.
await visible(en, 'thanks');

check(errors.length === 0, 'page errors: ' + errors.join('; '));
console.log('call reached the phone in ' + took + ' ms');
`
