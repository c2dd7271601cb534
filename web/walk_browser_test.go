package web_test

import (
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// walkPrelude is what the scripts of the hall-day walk share besides
// browsertest's api (the admin's token without as): a text and a shot.
const walkPrelude = `
const base = process.env.CIVIQ_URL, token = process.env.CIVIQ_TOKEN, shots = process.env.CIVIQ_SHOTS;
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
async function shot(page, name) { if (shots) await page.screenshot({ path: shots + '/' + name + '.png' }); }
`

// TestNoCounterWaitsBrowser: before anyone works a service's counter, the
// kiosk's button says 暂无窗口办理 (No counter open now); the ticket it
// prints then says so too, not the expected wait the estimate gives as if
// a counter were worked, and the hall's screen says it beside the
// service's count. Once a clerk signs in at a counter of the service, both
// give the expected wait again, the screen without another ticket taken.
func TestNoCounterWaitsBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := civiqtest.New(t)
	browsertest.RunShots(t, walkPrelude+`
const clerk = process.env.CIVIQ_CLERK;
const dev = (await api('POST', '/api/v1/halls/demo/devices', { kind: 'kiosk' })).device;
const kiosk = watch(await civiq.newPage({ viewport: { width: 1080, height: 1920 } }));
await kiosk.goto(base + '/halls/demo/kiosk');
await kiosk.waitForSelector('#s-pair:not(.hidden)');
await kiosk.fill('#pair-code', dev.pairing_code);
await kiosk.click('#pair-form button[type=submit]');
await kiosk.waitForSelector('#s-home:not(.hidden)');
await kiosk.waitForFunction(() => document.querySelector('.svc[data-service=tax] .svc-eta').textContent === '暂无窗口办理');
const display = watch(await civiq.newPage({ viewport: { width: 1920, height: 1080 } }));
await display.goto(base + '/halls/demo/display');
const taxEta = () => display.evaluate(() => {
  const row = [...document.querySelectorAll('.w-row')].find((r) => r.querySelector('.w-name').textContent === '税务');
  return row ? row.querySelector('.w-eta').textContent : null;
});

// Nobody at counter 5, the only one of tax: no wait promised.
await kiosk.click('.svc[data-service=tax]');
await kiosk.waitForSelector('#s-ticket:not(.hidden)');
eq(await text(kiosk, '#tp-number'), 'C001', 'the ticket');
eq(await text(kiosk, '#tp-eta'), '暂无窗口办理', 'the ticket of a service no counter works for');
await shot(kiosk, 'walk-kiosk-no-counter');
await display.waitForFunction(() => [...document.querySelectorAll('.w-row')].some((r) => r.querySelector('.w-name').textContent === '税务' && r.querySelector('.w-eta').textContent === '暂无窗口办理'), null, { timeout: 5000 })
  .catch(async () => { throw new Error('the screen beside tax: ' + await taxEta()); });
await shot(display, 'walk-display-no-counter');

// A clerk signs in at counter 5: the screen gives a wait, and so does the
// next ticket.
await api('POST', '/api/v1/halls/demo/counters/5/status', { status: 'open' }, clerk);
await display.waitForFunction(() => [...document.querySelectorAll('.w-row')].some((r) => r.querySelector('.w-name').textContent === '税务' && /^约 \d+ 分钟$/.test(r.querySelector('.w-eta').textContent)), null, { timeout: 5000 })
  .catch(async () => { throw new Error('the screen beside tax after a sign-in: ' + await taxEta()); });
await kiosk.click('#done');
await kiosk.waitForSelector('#s-home:not(.hidden)');
await kiosk.waitForFunction(() => /约/.test(document.querySelector('.svc[data-service=tax] .svc-eta').textContent));
await kiosk.click('.svc[data-service=tax]');
await kiosk.waitForFunction(() => document.getElementById('tp-number').textContent === 'C002');
assert(/^预计等待 约 \d+ 分钟$/.test(await text(kiosk, '#tp-eta')), 'the ticket once a clerk works tax: ' + await text(kiosk, '#tp-eta'));
clean(kiosk, 'kiosk');
clean(display, 'display');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_TOKEN": s.Admin, "CIVIQ_CLERK": s.User(t, "clerk5", civiq.RoleStaff, "demo")})
}

// TestDashboardCountersEnglishBrowser: the dashboard in English on a
// laptop's 1440 px. Each counter's tile holds its name and its state on
// one line ("Counter 2" and "Not open" each broke in two), and the open
// counters' figure names the others as the tiles do, not open, not
// "closed" (they are open with nobody there); idle counters are listed
// "Counter 1, Counter 3", not with the Chinese 、.
func TestDashboardCountersEnglishBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := newMgrSite(t)
	runMgrScript(t, s, `
const page = await signedIn('mgr', '/halls/demo/dashboard?lang=en', { width: 1440, height: 900 });
await page.waitForFunction(() => window.civiqDashboard && window.civiqDashboard.data() && document.querySelectorAll('#ctr-tiles .ctr-h').length === 6, null, { timeout: 10000 });
if (shots) await page.screenshot({ path: shots + '/walk-dashboard-counters-en.png' });
const heads = await page.$$eval('#ctr-tiles .ctr-h', (hs) => hs.map((h) => {
  const line = parseFloat(getComputedStyle(h.querySelector('.ctr-name')).lineHeight) || 24;
  const name = h.querySelector('.ctr-name').getBoundingClientRect(), pill = h.querySelector('.pill').getBoundingClientRect();
  return { text: h.textContent, name: name.height <= line * 1.2, pill: pill.height <= line * 1.2 };
}));
for (const h of heads) assert(h.name && h.pill, 'the name or the state of a tile on two lines: ' + JSON.stringify(heads));
eq(await page.$eval('#ctr-tiles [data-counter="2"] .pill', (e) => e.textContent), 'Not open', 'an open counter with nobody there');
eq(await page.$eval('#ks-counters', (e) => e.textContent), '0 busy · 0 paused · 6 not open', 'the open counters figure');

// Two counters idle while their services have people waiting: the alert
// names them as English does, not joined with 、.
const stf = (await (await fetch(base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ username: 'stf', password }) })).json()).token;
await api('POST', '/api/v1/halls/demo/counters/1/status', { status: 'open' });
await fetch(base + '/api/v1/halls/demo/counters/3/status', { method: 'POST', headers: { Authorization: 'Bearer ' + stf, 'Content-Type': 'application/json' },
  body: JSON.stringify({ status: 'open' }) });
await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'general' });
await page.waitForSelector('.al-idle', { timeout: 10000 });
assert((await page.$eval('.al-idle', (e) => e.textContent)).endsWith(': Counter 1, Counter 3'), 'the idle counters: ' + await page.$eval('.al-idle', (e) => e.textContent));
clean(page, 'dashboard');
`, nil)
}

// TestWindowFlashEndsBrowser: the screen above a counter, and its tile on
// the hall display, flash for a call; marked a no-show a second later, they
// stop flashing with the number
// gone (it flashed yellow on "等待叫号" for seconds), and while it flashes
// the hall's name under the counter's is dark on the yellow, not the pale
// grey of the dark screen.
func TestWindowFlashEndsBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := civiqtest.New(t)
	browsertest.RunShots(t, walkPrelude+`
const page = watch(await civiq.newPage({ viewport: { width: 1280, height: 400 } }));
await page.emulateMedia({ reducedMotion: 'reduce' }); // the flash held, not animated: its colours are read at once
await page.goto(base + '/halls/demo/window/1');
await page.waitForFunction(() => window.civiqWindow && window.civiqWindow.synced() >= 1);
// The hall display's tile of the counter flashes for the call too.
const display = watch(await civiq.newPage({ viewport: { width: 1920, height: 1080 } }));
await display.emulateMedia({ reducedMotion: 'reduce' });
await display.goto(base + '/halls/demo/display');
await display.waitForFunction(() => window.civiqDisplay && window.civiqDisplay.synced() >= 1);
const tileFlash = () => display.evaluate(() => { const li = document.querySelector('#d-tiles li[data-counter="1"]'); return !!li && li.classList.contains('flash'); });
await api('POST', '/api/v1/halls/demo/counters/1/status', { status: 'open' });
const t = (await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'general' })).ticket;
await api('POST', '/api/v1/halls/demo/counters/1/call-next');
await page.waitForFunction(() => document.body.classList.contains('flash'));
await display.waitForFunction(() => { const li = document.querySelector('#d-tiles li[data-counter="1"]'); return !!li && li.classList.contains('flash'); });
const ink = await page.evaluate(() => [getComputedStyle(document.querySelector('.w-hall')).color, getComputedStyle(document.querySelector('.w-counter')).color]);
eq(ink[0], ink[1], 'the hall name\'s colour on the flash, beside the counter\'s');
await shot(page, 'walk-window-flash');
await api('POST', '/api/v1/tickets/' + t.id + '/no-show');
await page.waitForFunction(() => document.getElementById('w-num').textContent === '—');
assert(!(await page.evaluate(() => document.body.classList.contains('flash'))), 'still flashing with no number');
await display.waitForFunction(() => document.querySelector('#d-tiles li[data-counter="1"] .tile-num').textContent === '—');
assert(!(await tileFlash()), 'the display\'s tile still flashing with no number');
clean(page, 'window');
clean(display, 'display');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_TOKEN": s.Admin})
}

// TestHallNameLinesBrowser: on a phone, the hall's name in the bar of the
// ticket page and of the booking page, too long for one line beside the
// buttons, breaks into lines of even length: 示范政务服务大 then 厅 alone
// was what a citizen saw.
func TestHallNameLinesBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := civiqtest.New(t)
	browsertest.RunShots(t, walkPrelude+`
// lines counts the characters of each line an element's text takes.
const lines = (page, sel) => page.$eval(sel, (e) => {
  const n = e.firstChild, at = new Map();
  for (let i = 0; i < n.length; i++) {
    const r = document.createRange();
    r.setStart(n, i); r.setEnd(n, i + 1);
    const top = Math.round(r.getBoundingClientRect().top);
    at.set(top, (at.get(top) || 0) + 1);
  }
  return [...at.keys()].sort((a, b) => a - b).map((k) => at.get(k));
});
const t = (await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'general', channel: 'remote' })).ticket;
for (const [path, sel] of [['/t/' + t.id, '.citizen-hall'], ['/halls/demo/book', '.book-hall']]) {
  const page = watch(await civiq.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }));
  await page.goto(base + path);
  const ls = await lines(page, sel);
  assert(ls.length === 2 && Math.abs(ls[0] - ls[1]) <= 1, path + ': the hall name\'s lines: ' + JSON.stringify(ls));
  await shot(page, 'walk-hall-name' + path.replace(/\//g, '-'));
  clean(page, path);
}
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_TOKEN": s.Admin})
}

// TestFollowUpRowOpensBrowser: on the 好差评 desk, a click anywhere on a bad
// rating's row opens its case, as the desk's 请从左侧选择一条差评 (choose
// one on the left) invites; only the ticket number's button did. In
// English on a 1366 px laptop the list shows its deadlines.
func TestFollowUpRowOpensBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := civiqtest.New(t)
	s.User(t, "mgr", civiq.RoleManager, "demo")
	browsertest.RunShots(t, walkPrelude+`
await api('POST', '/api/v1/halls/demo/counters/1/status', { status: 'open' });
const t = (await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'general' })).ticket;
await api('POST', '/api/v1/halls/demo/counters/1/call-next');
await api('POST', '/api/v1/tickets/' + t.id + '/finish');
await api('POST', '/api/v1/tickets/' + t.id + '/rating', { score: 1, reasons: ['poor_attitude', 'long_wait'], comment: '态度不好', contact_phone: '13812345678' });
const page = watch(await civiq.newPage({ viewport: { width: 1440, height: 900 } }));
await page.goto(base + '/login?next=' + encodeURIComponent('/halls/demo/followups'));
await page.fill('input[name=username]', 'mgr');
await page.fill('input[name=password]', process.env.CIVIQ_PASSWORD);
await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.press('input[name=password]', 'Enter')]);
await page.waitForSelector('#fu-table tbody tr');
await page.click('#fu-table tbody tr .fu-why');
await page.waitForSelector('#fu-body:not(.hidden)', { timeout: 5000 });
eq(await text(page, '#fu-ticket'), t.number, 'the case opened');
clean(page, 'desk');

// In English on a laptop of 1366 px the list beside the case keeps its
// deadline column in sight: it was 200 px to the right, scrolled out of
// the list's box, and its reasons were joined with 、.
await page.setViewportSize({ width: 1366, height: 768 });
await page.goto(base + '/halls/demo/followups?lang=en');
await page.waitForSelector('#fu-table tbody tr');
// Its reasons are joined in English, not with 、.
eq(await text(page, '#fu-table tbody tr .fu-why span'), 'Waited too long, Unfriendly attitude', 'the reasons in English');
const box = await page.$eval('.fu-table', (e) => ({ scroll: e.scrollWidth, width: e.clientWidth }));
assert(box.scroll <= box.width, 'the list is wider than its box, the deadline out of sight: ' + JSON.stringify(box));
await shot(page, 'walk-followups-1366-en');
clean(page, 'desk in English');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_TOKEN": s.Admin, "CIVIQ_PASSWORD": civiqtest.UserPassword("mgr")})
}

// TestPauseReasonEnglishBrowser: a counter paused for lunch keeps its reason
// in Chinese (午休：…, for the records); the English window screen and hall
// display showed it so ("Paused · 午休：Back at 13:00"), the dashboard's
// tile too. They show it in English as the counter's page does, with an
// English colon.
func TestPauseReasonEnglishBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := civiqtest.New(t)
	browsertest.RunShots(t, walkPrelude+`
const win = watch(await civiq.newPage({ viewport: { width: 1366, height: 768 } }));
await win.goto(base + '/halls/demo/window/1?lang=en');
await win.waitForFunction(() => window.civiqWindow && window.civiqWindow.synced() >= 1);
const display = watch(await civiq.newPage({ viewport: { width: 1920, height: 1080 } }));
await display.goto(base + '/halls/demo/display?lang=en');
await display.waitForFunction(() => window.civiqDisplay && window.civiqDisplay.synced() >= 1);
await api('POST', '/api/v1/halls/demo/counters/1/status', { status: 'open' });
await api('POST', '/api/v1/halls/demo/counters/1/status', { status: 'paused', reason: '午休：Back at 13:00' });
const want = 'Paused · Lunch break: Back at 13:00';
await win.waitForFunction(() => document.getElementById('w-state').textContent.startsWith('Paused'));
eq(await text(win, '#w-state'), want, 'the window screen');
await display.waitForFunction(() => document.querySelector('[data-counter="1"] .tile-state').textContent.startsWith('Paused'));
eq(await text(display, '[data-counter="1"] .tile-state'), want, 'the display');
await shot(win, 'walk-window-paused-en');
// And the dashboard's tile, for a manager reading it in English.
const dash = watch(await civiq.newPage({ viewport: { width: 1440, height: 900 }, storageState: { cookies: [{ name: 'civiq_session', value: token, url: base }], origins: [] } }));
await dash.goto(base + '/halls/demo/dashboard?lang=en');
await dash.waitForSelector('[data-counter="1"] .ctr-idle');
eq(await text(dash, '[data-counter="1"] .ctr-idle'), 'Lunch break: Back at 13:00', 'the dashboard');
clean(dash, 'dashboard');
// In Chinese, as kept.
await win.goto(base + '/halls/demo/window/1?lang=zh-CN');
await win.waitForFunction(() => window.civiqWindow && window.civiqWindow.synced() >= 1);
eq(await text(win, '#w-state'), '暂停服务 · 午休：Back at 13:00', 'the window screen in Chinese');
clean(win, 'window');
clean(display, 'display');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_TOKEN": s.Admin})
}
