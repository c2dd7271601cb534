package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestAdminBrowser drives /admin in Chromium as a person would: signs in,
// meets the checks next to the fields (the page's own and the server's),
// creates a service, a counter, a staff user and a kiosk whose pairing
// code then pairs, posts an announcement that arrives on the event stream,
// changes the calling policy, and runs axe on every section in both
// languages. A staff member gets a plain 403 and no admin function.
//
// With $CIVIQ_SCREENSHOTS set to a directory it also takes screenshots
// there to look at: 1366x768, each section in Chinese and English, a form
// with a field error, the pairing code, the manager's and the 403 page.
func TestAdminBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t)
	s.User(t, "boss", civiq.RoleManager, "demo")

	shots := browsertest.OptionalShots(t)
	out := browsertest.Run(t, adminScript, map[string]string{
		"BASE":     s.URL,
		"ADMIN_PW": civiqtest.AdminPassword,
		"SHOTS":    shots,
	})
	t.Logf("browser:\n%s", out)
	if !strings.Contains(out, "ALL DONE") {
		t.Fatalf("the script did not finish")
	}
	if shots != "" {
		for _, name := range []string{"admin-halls-zh.png", "admin-devices-en.png", "admin-field-error-zh.png"} {
			if fi, err := os.Stat(filepath.Join(shots, name)); err != nil || fi.Size() == 0 {
				t.Errorf("no screenshot %s: %v", name, err)
			}
		}
	}
}

const adminScript = `
const base = process.env.BASE, shots = process.env.SHOTS;
const sections = ['halls', 'services', 'counters', 'users', 'devices', 'announcements', 'policy'];
const step = (m) => console.log('- ' + m + ' (' + ((Date.now() - t0) / 1000).toFixed(1) + ' s)');

const browser = await civiq.launch();
const newPage = async () => (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
const page = await newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('dialog', (d) => d.accept());
const changes = []; // the API changes the page sends, with their answers
page.on('response', (r) => {
  const q = r.request();
  if (q.method() !== 'GET' && new URL(r.url()).pathname.startsWith('/api/')) changes.push(q.method() + ' ' + new URL(r.url()).pathname + ' ' + r.status());
});

// axeAll runs axe once over every section of the page at once.
async function axeAll(p, label) {
  await p.evaluate(() => { for (const s of document.querySelectorAll('[data-section]')) s.hidden = false; });
  await axe(p, label);
  await p.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
}
async function go(p, sec) {
  await p.evaluate((s) => { location.hash = s; }, sec);
  await p.waitForSelector('#sec-' + sec + ':not([hidden])');
}
async function saveHall() {
  const [r] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).pathname === '/api/v1/halls/demo'),
    page.click('#f-hall [type=submit]')]);
  assert(r.status() === 200, 'hall saved: ' + r.status());
  // The page puts the hall as saved back into the form as soon as its
  // button is free again; the next step types only after that.
  await page.waitForFunction(() => !document.querySelector('#f-hall [type=submit]').disabled);
}
async function shot(p, name) { if (shots) await p.screenshot({ path: shots + '/' + name + '.png' }); }
// errorAt returns the message shown next to the input, once there is one.
async function errorAt(p, inputSel) {
  const loc = p.locator('.field:has(' + inputSel + ') > .field-error');
  await loc.waitFor({ timeout: 10000 });
  return (await loc.textContent()).trim();
}
async function api(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}
async function signIn(p, user, pw, lang) {
  await p.goto(base + '/admin' + (lang ? '?lang=' + lang : ''));
  const u = new URL(p.url());
  assert(u.pathname === '/login' && u.searchParams.get('next').startsWith('/admin'), 'not signed in goes to the sign-in page: ' + p.url());
  await p.fill('#username', user);
  await p.fill('#password', pw);
  const [resp] = await Promise.all([p.waitForNavigation(), p.click('form button[type=submit]')]);
  return resp;
}

// ---- sign in as the admin ----
step('sign in');
await signIn(page, 'admin', process.env.ADMIN_PW);
assert(new URL(page.url()).pathname === '/admin', 'after sign-in: ' + page.url());
await page.waitForSelector('#adm[data-ready="1"]');
assert((await page.getAttribute('html', 'lang')) === 'zh-CN', 'Chinese by default');

// ---- every section, in Chinese ----
for (const sec of sections) {
  await go(page, sec);
  await shot(page, 'admin-' + sec + '-zh');
}
await axeAll(page, 'every section (zh)');

// ---- a service: the page's check, then the server's, then success ----
step('service with a bad prefix');
await go(page, 'services');
await page.fill('#svc-id', 'passport');
await page.fill('#svc-prefix', 'a1');
await page.fill('#svc-name', '出入境');
await page.fill('#svc-name_en', 'Exit and entry');
let before = changes.length;
await page.click('#f-service [type=submit]');
let msg = await errorAt(page, '#svc-prefix');
assert(msg.includes('大写字母'), 'the prefix error says what is wrong: ' + msg);
assert((await page.getAttribute('#svc-prefix', 'aria-invalid')) === 'true', 'the prefix is marked invalid');
assert(changes.length === before, 'nothing was sent for a bad prefix');
assert(await page.evaluate(() => document.activeElement.id === 'svc-prefix'), 'focus goes to the field at fault');
await shot(page, 'admin-field-error-zh');

step('service with a prefix already used: the server says so, by field');
await page.fill('#svc-prefix', 'A');
await page.click('#f-service [type=submit]');
msg = await errorAt(page, '#svc-prefix');
assert(msg.includes('已被'), 'the server error lands next to the prefix: ' + msg);
assert(changes.some((c) => c === 'PUT /api/v1/halls/demo/services/passport 409'), 'the server answered 409: ' + changes.join(', '));
await axe(page, 'service form with an error');

await page.fill('#svc-prefix', 'E');
await page.click('#f-service [type=submit]');
await page.waitForSelector('#svc-list td:has-text("passport")');
assert((await page.locator('#f-service .field-error').count()) === 0, 'errors go once it is right');
step('edit a service');
await page.click('#svc-list button[aria-label$="出入境"]:has-text("编辑")');
assert(await page.evaluate(() => document.getElementById('svc-id').readOnly), 'the id of a service cannot change');
await page.fill('#svc-name', '出入境管理');
await page.click('#f-service [type=submit]');
await page.waitForSelector('#svc-list td:has-text("出入境管理")');

// ---- a hall setting only the server can judge ----
step('hall with an unknown time zone');
await go(page, 'halls');
await page.fill('#hall-timezone', 'Mars/Olympus');
await page.click('#f-hall [type=submit]');
msg = await errorAt(page, '#hall-timezone');
assert(msg.includes('时区'), 'the timezone error: ' + msg);
await page.fill('#hall-timezone', 'Asia/Shanghai');
await page.fill('#hall-opens_at', '8:30');
await page.click('#f-hall [type=submit]');
msg = await errorAt(page, '#hall-opens_at');
assert(msg.includes('08:30'), 'opening hours are checked: ' + msg);
await page.fill('#hall-opens_at', '08:30');
await page.fill('#hall-closes_at', '17:30');
await saveHall();
let hall = (await api('GET', '/api/v1/halls/demo')).body.hall;
assert(hall.opens_at === '08:30' && hall.closes_at === '17:30' && hall.timezone === 'Asia/Shanghai', 'hours saved: ' + JSON.stringify(hall));
// Open all day again, so the demo hall keeps giving tickets.
await page.fill('#hall-opens_at', '');
await page.fill('#hall-closes_at', '');
await saveHall();
assert(!(await api('GET', '/api/v1/halls/demo')).body.hall.opens_at, 'hours cleared');
step('remote ticket limits, one typed while the page reloads the list of halls after a save');
// The list's reload is held back, so that what is typed after the save
// would be overwritten if the form were refilled only after it.
const isList = (u) => new URL(u).pathname === '/api/v1/halls';
let release;
const held = new Promise((r) => { release = r; });
await page.route(isList, async (route) => { await held; await route.continue(); });
await page.fill('#hall-max_remote_waiting', '20');
const listed = page.waitForResponse((r) => isList(r.url()) && r.request().method() === 'GET');
await saveHall();
await page.fill('#hall-remote_per_phone', '2');
release();
await listed;
await page.unroute(isList);
assert((await page.inputValue('#hall-remote_per_phone')) === '2', 'typed after a save, kept: ' + (await page.inputValue('#hall-remote_per_phone')));
await saveHall();
hall = (await api('GET', '/api/v1/halls/demo')).body.hall;
assert(hall.max_remote_waiting === 20 && hall.remote_per_phone === 2, 'remote limits saved: ' + JSON.stringify(hall));
await shot(page, 'admin-hall-remote');
await page.fill('#hall-max_remote_waiting', '100');
await page.fill('#hall-remote_per_phone', '1');
await saveHall();

// ---- a counter with an ordered list of services ----
step('counter');
await go(page, 'counters');
await page.fill('#ctr-id', '7');
await page.fill('#ctr-name', '7号窗口');
await page.click('#f-counter [type=submit]');
msg = await errorAt(page, '#ctr-services');
assert(msg.includes('业务'), 'a counter needs a service: ' + msg);
await page.check('#ctr-svc-general');
await page.check('#ctr-svc-passport');
for (let i = 0; i < 4; i++) await page.click('li[data-id="passport"] [data-move="up"]');
await page.click('#f-counter [type=submit]');
await page.waitForSelector('#ctr-list td:has-text("7号窗口")');
const ctrs = (await api('GET', '/api/v1/halls/demo/counters')).body.counters;
const c7 = ctrs.find((c) => c.id === '7');
assert(c7 && c7.service_ids.join() === 'passport,general', 'counter 7 serves passport then general: ' + JSON.stringify(c7));

step('a service still in use is not deleted, and the page says why');
await go(page, 'services');
await page.click('#svc-list button[aria-label$="综合受理"]:has-text("删除")');
await page.waitForSelector('#sec-services .sec-alert.on');
msg = await page.textContent('#sec-services .sec-alert');
assert(msg.includes('无法删除') && msg.includes('1号窗口') && msg.includes('6号窗口'), 'delete conflict names the counters: ' + msg);
// What only the server knows: someone waits for a service no counter serves.
const adminToken = (await api('POST', '/api/v1/auth/login', { username: 'admin', password: process.env.ADMIN_PW })).body.token;
assert((await api('PUT', '/api/v1/halls/demo/services/visa', { prefix: 'F', name: '签证' }, adminToken)).status === 200, 'visa added');
assert((await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'visa', channel: 'remote' })).status === 201, 'a remote ticket');
await page.reload();
await page.waitForSelector('#adm[data-ready="1"]');
await page.click('#svc-list button[aria-label$="签证"]:has-text("删除")');
await page.waitForSelector('#sec-services .sec-alert.on');
msg = await page.textContent('#sec-services .sec-alert');
assert(msg.includes('排队'), 'the server refuses, and the page says why: ' + msg);
assert(changes.some((c) => c === 'DELETE /api/v1/halls/demo/services/visa 409'), 'the server answered 409');
await shot(page, 'admin-delete-refused-zh');
await axe(page, 'delete refused');

// ---- a staff user ----
step('staff user');
await go(page, 'users');
await page.fill('#user-username', 'clerk1');
await page.fill('#user-password', 'short');
await page.click('#f-user [type=submit]');
msg = await errorAt(page, '#user-password');
assert(msg.includes('10'), 'the password rule: ' + msg);
await page.fill('#user-password', 'clerk1-password');
await page.selectOption('#user-role', 'staff');
await page.click('#f-user [type=submit]');
await page.waitForSelector('#user-list td:has-text("clerk1")');
await page.fill('#user-username', 'clerk1');
await page.fill('#user-password', 'clerk1-password');
await page.click('#f-user [type=submit]');
msg = await errorAt(page, '#user-username');
assert(msg.includes('已存在'), 'a taken username, from the server: ' + msg);
await page.click('#f-user [data-cancel]');

// ---- a user locked by wrong passwords, and the lock lifted ----
step('unlock');
for (let i = 0; i < 5; i++) await api('POST', '/api/v1/auth/login', { username: 'clerk1', password: 'wrong-password' });
assert((await api('POST', '/api/v1/auth/login', { username: 'clerk1', password: 'clerk1-password' })).status === 429, 'clerk1 is locked');
await page.reload();
await page.waitForSelector('#adm[data-ready="1"]');
await go(page, 'users');
msg = await page.textContent('[data-locked="clerk1"]');
assert(msg.includes('锁定至'), 'the lock shows: ' + msg);
await shot(page, 'admin-user-locked-zh');
await axe(page, 'a locked user');
await page.click('#user-list button[aria-label="解除锁定 clerk1"]');
await page.waitForSelector('[data-locked="clerk1"]', { state: 'detached' });
assert(changes.includes('DELETE /api/v1/users/clerk1/lock 200'), 'the page lifted the lock');
assert((await api('POST', '/api/v1/auth/login', { username: 'clerk1', password: 'clerk1-password' })).status === 200, 'clerk1 signs in again');

// ---- a kiosk, its pairing code, and pairing it ----
step('devices');
await go(page, 'devices');
await page.selectOption('#dev-kind', 'rater');
await page.click('#f-device [type=submit]');
msg = await errorAt(page, '#dev-counter_id');
assert(msg.length > 0, 'a rater needs its counter');
await page.selectOption('#dev-kind', 'kiosk');
assert(await page.isHidden('#dev-counter-field'), 'a kiosk has no counter');
await page.fill('#dev-name', '入口取号机');
await page.click('#f-device [type=submit]');
await page.waitForSelector('#pair-panel:not([hidden])');
const code = (await page.textContent('#pair-code')).trim();
assert(/^[A-Z2-7]{8}$/.test(code), 'the pairing code is shown big: ' + code);
const size = await page.$eval('#pair-code', (e) => parseFloat(getComputedStyle(e).fontSize));
assert(size >= 40, 'the code is large enough to read and type: ' + size + 'px');
assert((await page.getAttribute('#pair-url', 'href')) === '/halls/demo/kiosk', 'it says where the kiosk goes');
await shot(page, 'admin-pairing-code-zh');
await axe(page, 'pairing code');
const paired = await api('POST', '/api/v1/devices/pair', { code: code });
assert(paired.status === 200 && paired.body.token, 'the code pairs: ' + JSON.stringify(paired));
const tk = await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'passport' }, paired.body.token);
assert(tk.status === 201 && tk.body.ticket.number === 'E001', 'the paired kiosk takes tickets: ' + JSON.stringify(tk));
assert((await api('POST', '/api/v1/devices/pair', { code: code })).status === 401, 'a code works once');
await page.reload();
await page.waitForSelector('#adm[data-ready="1"]');
await page.waitForSelector('#dev-list td:has-text("入口取号机")');
assert((await page.textContent('#dev-list tbody')).includes('已配对'), 'the list shows it paired');
await page.selectOption('#dev-filter', 'unpaired');
assert((await page.locator('#dev-list td:has-text("入口取号机")').count()) === 0, 'the unpaired filter hides it');
await page.selectOption('#dev-filter', '');

// ---- an announcement arrives on the hall's event stream ----
step('announcement');
const watcher = await page.context().newPage();
await watcher.goto(base + '/healthz');
await watcher.evaluate(() => new Promise((resolve) => {
  window.got = [];
  const es = new EventSource('/api/v1/halls/demo/events');
  es.addEventListener('announcement', (e) => window.got.push(JSON.parse(e.data).text));
  es.onopen = resolve;
}));
await page.bringToFront(); // a tab in the background gets few animation frames, and slow clicks
await go(page, 'announcements');
await page.click('#f-announce [type=submit]');
msg = await errorAt(page, '#ann-text');
assert(msg.includes('必填'), 'an empty announcement: ' + msg);
const text = '请携带身份证原件办理业务';
await page.fill('#ann-text', text);
await page.click('#f-announce [type=submit]');
await watcher.waitForFunction((t) => window.got.includes(t), text, { timeout: 10000 });
await page.waitForSelector('#ann-list li:has-text("' + text + '")');
await watcher.close();
await shot(page, 'admin-announcements-posted-zh');

// ---- the calling policy ----
step('calling policy');
await go(page, 'policy');
await page.check('input[name="policy"][value="service-order"]');
await page.fill('#pol-max_calls', '11');
await page.click('#f-policy [type=submit]');
msg = await errorAt(page, '#pol-max_calls');
assert(msg.includes('10'), 'max calls range: ' + msg);
await page.fill('#pol-max_calls', '4');
await page.fill('#pol-late_return_behind', '2');
const [pr] = await Promise.all([
  page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).pathname === '/api/v1/halls/demo/policy'),
  page.click('#f-policy [type=submit]')]);
assert(pr.status() === 200, 'policy saved: ' + pr.status());
hall = (await api('GET', '/api/v1/halls/demo')).body.hall;
assert(hall.policy === 'service-order' && hall.max_calls === 4 && hall.late_return_behind === 2, 'policy saved: ' + JSON.stringify(hall));
assert(hall.name === '示范政务服务大厅' && hall.allow_remote === true, 'nothing else changed');

// ---- a new hall ----
step('new hall');
await go(page, 'halls');
await page.click('#hall-new');
assert(!(await page.evaluate(() => document.getElementById('hall-id').readOnly)), 'a new hall gets an id');
await page.fill('#hall-id', 'demo');
await page.fill('#hall-name', '北区大厅');
await page.click('#f-hall [type=submit]');
msg = await errorAt(page, '#hall-id');
assert(msg.includes('已被使用'), 'a taken hall id: ' + msg);
await page.fill('#hall-id', 'north');
await page.fill('#hall-name_en', 'North Hall');
await page.click('#f-hall [type=submit]');
await page.waitForSelector('#hall-list tr.current td:has-text("north")');
assert((await page.inputValue('#adm-hall')) === 'north', 'the picker moves to the new hall');
assert(new URL(page.url()).searchParams.get('hall') === 'north', 'the address keeps the hall');
await go(page, 'services');
assert((await page.textContent('#svc-list tbody')).includes('暂无'), 'a new hall has no services yet');
await page.selectOption('#adm-hall', 'demo');
await page.waitForSelector('#svc-list td:has-text("passport")');

// ---- English ----
step('English');
await page.goto(base + '/admin?lang=en');
await page.waitForSelector('#adm[data-ready="1"]');
assert((await page.getAttribute('html', 'lang')) === 'en', 'English with ?lang=en');
for (const sec of sections) {
  await go(page, sec);
  await shot(page, 'admin-' + sec + '-en');
}
await axeAll(page, 'every section (en)');
await go(page, 'services');
await page.fill('#svc-id', 'visa');
await page.fill('#svc-prefix', 'v');
await page.fill('#svc-name', '签证');
await page.click('#f-service [type=submit]');
msg = await errorAt(page, '#svc-prefix');
assert(msg.includes('capital letters'), 'English error: ' + msg);
await shot(page, 'admin-field-error-en');
assert(pageErrors.length === 0, 'page errors: ' + pageErrors.join('; '));

// ---- a hall manager: announcements and calling policy only ----
step('manager');
const mgr = await newPage();
await signIn(mgr, 'boss', 'boss-password');
await mgr.waitForSelector('#adm[data-ready="1"]');
const tabs = await mgr.$$eval('[data-tab]', (as) => as.map((a) => a.dataset.tab));
assert(tabs.join() === 'announcements,policy', 'a manager sees announcements and policy: ' + tabs);
assert((await mgr.locator('#sec-users, #sec-devices, #f-service').count()) === 0, 'no admin forms for a manager');
assert((await mgr.inputValue('#pol-max_calls')) === '4', 'the manager sees the hall policy');
await shot(mgr, 'admin-manager-zh');
await axe(mgr, 'manager');

// ---- staff: a plain 403, and the API refuses too ----
step('staff');
const staff = await newPage();
const resp = await signIn(staff, 'clerk1', 'clerk1-password');
assert(resp.status() === 403, 'staff get 403: ' + resp.status());
assert((await staff.locator('#adm').count()) === 0, 'no admin page for staff');
assert((await staff.textContent('h1')).includes('无权'), 'the 403 page says why');
await shot(staff, 'admin-forbidden-zh');
await axe(staff, 'forbidden');
const refused = await staff.evaluate(async () => {
  const out = [];
  for (const [m, p, b] of [['PUT', '/api/v1/halls/demo/policy', { policy: 'fifo', max_calls: 3, late_return_behind: 3 }],
    ['POST', '/api/v1/users', { username: 'x', password: 'xxxxxxxxxxxx', role: 'admin' }],
    ['POST', '/api/v1/halls/demo/devices', { kind: 'kiosk' }],
    ['PUT', '/api/v1/halls/demo/services/x', { prefix: 'X', name: 'x' }],
    ['POST', '/api/v1/halls/demo/announcements', { text: 'x' }],
    ['GET', '/api/v1/halls/demo/setup', undefined]]) {
    out.push((await window.CIVIQ.api(m, p, b)).status);
  }
  return out;
});
assert(refused.every((s) => s === 403), 'staff get 403 from admin routes: ' + refused);
console.log('ALL DONE');
`
