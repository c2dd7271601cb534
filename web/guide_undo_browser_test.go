package web_test

import (
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
)

// guideAdminPrelude opens the guide scripts: the site, the shots folder
// and the API as admin.
const guideAdminPrelude = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const admin = async (method, path, body) => {
  const r = await fetch(base + path, { method, headers: { Authorization: 'Bearer ' + process.env.CIVIQ_ADMIN, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json().catch(() => null) };
};
`

// TestGuideUndoServedBrowser: undoing a ticket taken from a guide once a
// counter serves it says so, on a phone and on the kiosk's ticket, and
// keeps the ticket; it said "cancelled" for a ticket being served.
func TestGuideUndoServedBrowser(t *testing.T) {
	browsertest.Require(t)
	gs := newGuideServer(t)
	kiosk := pairDevice(t, gs.Engine, civiq.DeviceKiosk, "")
	browsertest.RunShots(t, guideAdminPrelude+`
// serve calls the ticket at counter 3 (property) and starts serving it.
async function serve(id) {
  eq((await admin('POST', '/api/v1/halls/demo/counters/3/call', { ticket_id: id, reason: '测试' })).status, 200, 'called');
  eq((await admin('POST', '/api/v1/tickets/' + id + '/start')).status, 200, 'serving');
}
async function open(width, height, init) {
  const browser = await civiq.launch();
  const ctx = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  if (init) await init(ctx);
  return watch(await ctx.newPage());
}

// A phone.
let page = await open(375, 812);
await page.goto(base + '/halls/demo/guides/demo-p-transfer?lang=zh-CN', { waitUntil: 'load' });
await page.click('#take');
await page.click('#take-yes');
await page.waitForSelector('#take-done:not(.hidden)');
const id = (await page.getAttribute('#take-follow', 'href')).split('/').pop();
const taken = await admin('GET', '/api/v1/tickets/' + id);
eq(taken.body.ticket.guide_id, 'demo-p-transfer', 'the ticket keeps the guide it was taken from');
await serve(id);
await page.click('#take-undo');
await page.waitForFunction(() => document.getElementById('take-msg').textContent !== '');
const said = await page.textContent('#take-msg');
assert(said.includes('已在窗口办理') && !said.includes('已撤销'), 'undo of a ticket being served says: ' + said);
assert(await page.isVisible('#take-done'), 'the ticket is still shown');
eq((await admin('GET', '/api/v1/tickets/' + id)).body.ticket.status, 'serving', 'still served');
await page.screenshot({ path: shots + '/guide-undo-served-375-zh.png' });
await axe(page, 'undo of a served ticket');
page.errors = page.errors.filter((e) => !/^HTTP 409 .*\/cancel$/.test(e)); // that refusal was the point
clean(page, 'phone');

// The kiosk's ticket, in English.
page = await open(1080, 1920, (ctx) => ctx.addInitScript((tok) => localStorage.setItem('civiq.device.demo', tok), process.env.CIVIQ_KIOSK));
await page.goto(base + '/halls/demo/guides/demo-p-transfer?print=0&lang=en', { waitUntil: 'load' });
await page.click('#take');
await page.click('#take-yes');
await page.waitForSelector('#g-ticket:not(.hidden)');
const kid = await page.evaluate(() => document.body.dataset.ticket);
await serve(kid);
await page.click('#gt-undo');
await page.waitForFunction(() => document.getElementById('gt-msg').textContent !== '');
assert((await page.textContent('#gt-msg')).includes('already being served'), 'the kiosk says: ' + await page.textContent('#gt-msg'));
assert(await page.isVisible('#g-ticket'), 'the kiosk keeps the ticket shown');
await page.screenshot({ path: shots + '/guide-undo-served-1080-en.png' });
page.errors = page.errors.filter((e) => !/^HTTP 409 .*\/cancel$/.test(e));
clean(page, 'kiosk');
`, map[string]string{"CIVIQ_URL": gs.URL, "CIVIQ_ADMIN": gs.Admin, "CIVIQ_KIOSK": kiosk})
}

// TestGuideTicketServedBrowser: the kiosk's ticket taken from a guide
// follows the ticket while it is shown: once a counter calls it and serves
// it, it names the counter instead of "0 ahead of you", which it kept saying.
func TestGuideTicketServedBrowser(t *testing.T) {
	browsertest.Require(t)
	gs := newGuideServer(t)
	kiosk := pairDevice(t, gs.Engine, civiq.DeviceKiosk, "")
	browsertest.RunShots(t, guideAdminPrelude+`
for (const [lang, called, serving] of [['zh-CN', '请到', '正在'], ['en', 'Please go to', 'Being served at']]) {
  const browser = await civiq.launch();
  const ctx = await browser.newContext({ viewport: { width: 1080, height: 1920 }, deviceScaleFactor: 1 });
  await ctx.addInitScript((tok) => localStorage.setItem('civiq.device.demo', tok), process.env.CIVIQ_KIOSK);
  const page = watch(await ctx.newPage());
  await page.goto(base + '/halls/demo/guides/demo-p-transfer?print=0&lang=' + lang, { waitUntil: 'load' });
  await page.click('#take');
  await page.click('#take-yes');
  await page.waitForSelector('#g-ticket:not(.hidden)');
  const id = await page.evaluate(() => document.body.dataset.ticket);
  eq((await admin('POST', '/api/v1/halls/demo/counters/3/call', { ticket_id: id, reason: '测试' })).status, 200, 'called');
  await page.waitForFunction((s) => document.getElementById('gt-ahead').textContent.includes(s), called, { timeout: 10000 });
  eq((await admin('POST', '/api/v1/tickets/' + id + '/start')).status, 200, 'serving');
  await page.waitForFunction((s) => document.getElementById('gt-ahead').textContent.includes(s), serving, { timeout: 10000 });
  const said = await page.textContent('#gt-ahead');
  assert(said.includes('3') && !/ahead|前方/.test(said), 'the ticket names the counter: ' + said);
  await page.screenshot({ path: shots + '/guide-ticket-serving-1080-' + lang + '.png' });
  await axe(page, 'guide ticket served ' + lang);
  clean(page, 'kiosk ' + lang);
  await browser.close();
}
`, map[string]string{"CIVIQ_URL": gs.URL, "CIVIQ_ADMIN": gs.Admin, "CIVIQ_KIOSK": kiosk})
}
