package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// ctrPrelude is shared by the counter and rater scripts: the API as admin,
// checks and screenshots.
const ctrPrelude = `
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
async function issue(service) {
  const r = await api('POST', '/api/v1/halls/demo/tickets', { service_id: service, channel: 'staff' });
  check(r.status === 201, 'issue ' + service + ': ' + r.status);
  return r.body.ticket;
}
async function ticket(id) { return (await api('GET', '/api/v1/tickets/' + id)).body.ticket; }
async function shot(page, name) {
  if (!shots) return;
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: shots + '/' + name + '.png' });
}
const errors = [];
function watch(page) {
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon|Failed to load resource/.test(m.text())) errors.push(m.text()); });
}
`

// ctrEnv is the environment of the counter and rater scripts; they take
// screenshots only with $CIVIQ_SCREENSHOTS, which keeps the tests quick.
func ctrEnv(t *testing.T, s *civiqtest.Server) map[string]string {
	return map[string]string{
		"BASE":        s.URL,
		"ADMIN_TOKEN": s.Admin,
		"ADMIN_PW":    civiqtest.AdminPassword,
		"SHOTS":       browsertest.OptionalShots(t),
	}
}

func TestCounterBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := startCtrSite(t)
	out := browsertest.Run(t, ctrPrelude+`
const page = await civiq.newPage({ viewport: { width: 1366, height: 768 } });
watch(page);
const waitingOf = (svc) => page.locator('[data-service=' + svc + '] [data-count]');

// Not signed in: the sign-in page, and back to the counter.
await page.goto(base + '/halls/demo/counter/1');
check(page.url().includes('/login?next='), 'not sent to sign in: ' + page.url());
await page.fill('#username', 'admin');
await page.fill('#password', process.env.ADMIN_PW);
await Promise.all([page.waitForURL('**/halls/demo/counter/1'), page.click('button[type=submit]')]);
await page.waitForSelector('#b-call:not([disabled])');
// The demo loads its counters open for nobody (未开放 on the hall's
// screens): the clerk signs in here without closing the counter.
const staffed = async () => (await api('GET', '/api/v1/halls/demo/counters')).body.counters.find((c) => c.id === '1').staffed;
check(!(await staffed()), 'counter 1 staffed before anyone signed in');
await shot(page, 'counter-sign-in-zh');
await page.click('#b-sign-in');
await page.waitForFunction(() => document.getElementById('clerk').textContent.includes('admin'));
await page.waitForSelector('#b-sign-in', { state: 'hidden' });
check(await staffed(), 'counter 1 not staffed after 在此登录');
check(await page.isVisible('#cur-none'), 'idle counter shows a ticket');
for (const id of ['#b-recall', '#b-start', '#b-finish', '#b-no-show', '#b-transfer']) check(await page.isDisabled(id), id + ' enabled without a ticket');
await page.waitForFunction(() => document.querySelector('[data-service=general] [data-count]').textContent.trim() === '0 人');
await shot(page, 'counter-idle-zh');
await axe(page, 'counter idle');
await page.goto(base + '/halls/demo/counter/1?lang=en');
await page.waitForSelector('#b-call:not([disabled])');
check((await page.textContent('#b-call')).includes('Call next'), 'no English');
await page.waitForFunction(() => document.querySelector('[data-service=general] [data-count]').textContent.trim() === '0');
await shot(page, 'counter-idle-en');
await page.goto(base + '/halls/demo/counter/1?lang=zh-CN');
await page.waitForSelector('#b-call:not([disabled])');

// Tickets come: the waiting counts follow the stream.
const a1 = await issue('general'), a2 = await issue('general'), a3 = await issue('general'), d1 = await issue('social');
await issue('tax'); // not this counter's
await page.waitForFunction(() => document.querySelector('[data-service=general] [data-count]').textContent.trim() === '3 人');
await page.waitForFunction(() => document.querySelector('[data-service=social] [data-count]').textContent.trim() === '1 人'); // its own event

// A double click calls once.
await page.dblclick('#b-call');
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, a1.number);
await page.waitForTimeout(300);
check((await ticket(a2.id)).status === 'waiting', 'a double click called twice');
await page.waitForFunction(() => document.querySelector('[data-service=general] [data-count]').textContent.trim() === '2 人');
check((await page.textContent('#cur-calls')).includes('第 1 次呼叫'), 'call count');
await page.waitForSelector('#ctr[aria-busy=false]');
check(await page.isEnabled('#b-recall') && await page.isEnabled('#b-start') && await page.isEnabled('#b-no-show') && await page.isEnabled('#b-transfer'), 'called: recall/start/no-show/transfer');
check(await page.isEnabled('#b-finish'), 'called: finish disabled (a called ticket may be finished straight away)');

// Recall (R), start (S), finish (F) by keyboard.
await page.keyboard.press('r');
await page.waitForFunction(() => document.getElementById('cur-calls').textContent.includes('第 2 次呼叫'));
check((await ticket(a1.id)).call_count === 2, 'recall');
await page.keyboard.press('s');
await page.waitForFunction(() => document.getElementById('cur-status').textContent === '办理中');
await page.waitForSelector('#ctr[aria-busy=false]');
check(await page.isEnabled('#b-finish') && await page.isEnabled('#b-transfer') && await page.isDisabled('#b-recall') && await page.isDisabled('#b-start'), 'serving: buttons');
await page.waitForFunction(() => /^0:0[1-9]$/.test(document.getElementById('cur-timer').textContent), null, { timeout: 10000 }); // the timer runs
// 帮办代办: the clerk marks the ticket as handled for someone, by the
// helper's role, then back to in person, then a family member.
check(await page.isEnabled('#cur-behalf') && await page.inputValue('#cur-behalf') === '', 'the 帮办代办 choice: in person, enabled');
for (const [role, said] of [['grid', '已记为帮办代办：社区网格员'], ['', '已记为本人办理'], ['family', '已记为帮办代办：家属']]) {
  await page.selectOption('#cur-behalf', role);
  await page.waitForFunction((w) => document.getElementById('msg').textContent.includes(w), said);
  const ob = (await ticket(a1.id)).on_behalf;
  check(role ? ob && ob.role === role : !ob, 'on_behalf after choosing ' + JSON.stringify(role) + ': ' + JSON.stringify(ob));
  await page.waitForSelector('#ctr[aria-busy=false]');
}
await shot(page, 'counter-current-zh');
await axe(page, 'counter with a ticket');
await page.keyboard.press('f');
await page.waitForSelector('#cur-none:not(.hidden)');
check((await ticket(a1.id)).status === 'done', 'finish');
await page.waitForFunction(() => document.getElementById('t-served').textContent === '1');

// Two quick presses of N call once.
await page.keyboard.press('n');
await page.keyboard.press('n');
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, a2.number);
await page.waitForTimeout(300);
check((await ticket(a3.id)).status === 'waiting', 'two presses called twice');

// Transfer (T): the service picker, by number key.
await page.keyboard.press('t');
await page.waitForSelector('#d-transfer[open]');
check(await page.isDisabled('#d-transfer button[data-service=general]'), 'transfer to its own service');
await axe(page, 'transfer dialog');
await page.keyboard.press('3');
await page.waitForSelector('#cur-none:not(.hidden)');
let t2 = await ticket(a2.id);
check(t2.status === 'waiting' && t2.service_id === 'tax', 'transfer: ' + JSON.stringify(t2));
check((await page.textContent('#msg')).includes('税务'), 'transfer message');

// No-show (X).
await page.keyboard.press('n');
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, a3.number);
await page.keyboard.press('x');
await page.waitForSelector('#cur-none:not(.hidden)');
check((await ticket(a3.id)).status === 'no_show', 'no-show');
await page.waitForFunction(() => document.getElementById('t-noshow').textContent === '1');

// Pause (P) with a reason: "other" needs words.
await page.keyboard.press('p');
await page.waitForSelector('#d-pause[open]');
await axe(page, 'pause dialog');
await page.check('input[value="counter.pause.r5_other"]');
await page.click('#pause-form button[type=submit]');
check((await page.textContent('#pause-err')).includes('请填写说明'), 'other without words');
check(await page.isVisible('#d-pause[open]'), 'dialog closed on a bad reason');
await page.fill('#pause-text', '取材料');
await page.click('#pause-form button[type=submit]');
await page.waitForFunction(() => document.getElementById('state').textContent === '暂离中');
check((await page.textContent('#state-reason')).includes('其他：取材料'), 'pause reason shown');
check(await page.isDisabled('#b-call'), 'call while paused');
let ctr = (await api('GET', '/api/v1/halls/demo/counters')).body.counters.find((c) => c.id === '1');
check(ctr.status === 'paused' && ctr.pause_reason === '其他：取材料', 'paused: ' + JSON.stringify(ctr));
await page.waitForTimeout(900);
await page.keyboard.press('p');
await page.waitForFunction(() => document.getElementById('state').textContent === '开放中');
await page.waitForSelector('#b-call:not([disabled])'); // once the answer is in

// Call D001, then reload: the counter's current ticket comes back.
await page.keyboard.press('n');
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, d1.number);
await page.reload();
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, d1.number);
check(await page.isEnabled('#b-recall'), 'after reload: recall');
await page.goto(base + '/halls/demo/counter/1?lang=en');
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, d1.number);
await page.waitForFunction(() => document.querySelector('[data-service=general] [data-count]').textContent.trim() !== '–');
check((await page.textContent('#cur-status')).includes('Called'), 'English status');
check(await page.$eval('#cur-behalf option[value=volunteer]', (o) => o.textContent) === 'Volunteer', 'the helpers in English');
await shot(page, 'counter-current-en');
await axe(page, 'counter in English');
await page.goto(base + '/halls/demo/counter/1?lang=zh-CN');
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, d1.number);

// A move the state machine forbids is said plainly: without the stream,
// the page does not know that D001 was passed over elsewhere.
await page.route('**/events**', (r) => r.abort());
await page.reload();
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, d1.number);
check((await api('POST', '/api/v1/tickets/' + d1.id + '/no-show')).status === 200, 'no-show via the API');
await page.keyboard.press('s');
await page.waitForFunction(() => document.getElementById('msg').textContent.includes('不允许'));
check((await page.textContent('#msg')).includes('cannot start a ticket that is no_show'), 'the API message: ' + await page.textContent('#msg'));
await page.waitForSelector('#cur-none:not(.hidden)'); // and it reads the counter again
await page.unroute('**/events**');

// A counter device pairs on the page and works with its own token.
const dev = await api('POST', '/api/v1/halls/demo/devices', { kind: 'counter', counter_id: '2' });
check(dev.status === 201, 'create counter device: ' + dev.status);
const kiosk = await api('POST', '/api/v1/halls/demo/devices', { kind: 'kiosk' });
const box = await civiq.newPage({ viewport: { width: 1366, height: 768 } });
watch(box);
await box.goto(base + '/halls/demo/counter/2?device');
await box.waitForSelector('#pair:not(.hidden)');
await axe(box, 'counter pairing');
await box.fill('#pair-code', kiosk.body.device.pairing_code);
await box.click('#pair-form button[type=submit]');
await box.waitForFunction(() => document.getElementById('pair-err').textContent.includes('其他设备'));
await box.fill('#pair-code', dev.body.device.pairing_code);
await box.click('#pair-form button[type=submit]');
await box.waitForSelector('#b-call:not([disabled])');
const a4 = await issue('general');
await box.waitForFunction(() => document.querySelector('[data-service=general] [data-count]').textContent.trim() === '1 人');
await box.keyboard.press('n');
await box.waitForFunction((n) => document.getElementById('cur-number').textContent === n, a4.number);
check((await ticket(a4.id)).counter_id === '2', 'called by the device at counter 2');
// Paired, it opens without signing in, without ?device.
await box.goto(base + '/halls/demo/counter/2');
check(!box.url().includes('/login'), 'paired device sent to sign in');
await box.waitForFunction((n) => document.getElementById('cur-number').textContent === n, a4.number);

check(errors.length === 0, 'page errors: ' + errors.join('; '));
console.log(JSON.stringify({ a1: a1.id, a2: a2.id }));
`, ctrEnv(t, s))

	var ids struct{ A1, A2 string }
	if err := json.Unmarshal([]byte(lastLine(out)), &ids); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	// The double click and the double press left one call each.
	evs, err := s.Store.EventsAfter(context.Background(), "demo", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, e := range evs {
		if e.Type == civiq.EventCalled && e.Ticket != nil {
			calls[e.Ticket.ID]++
		}
	}
	if calls[ids.A1] != 1 || calls[ids.A2] != 1 {
		t.Errorf("calls: a1 %d, a2 %d; want 1 each", calls[ids.A1], calls[ids.A2])
	}
}

// The clerk's context: the waiting list of the counter's services with
// channel, green-channel group and wait; a chosen number called out of
// turn with a reason, which the call's event keeps.
func TestCounterCallOutOfTurnBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := startCtrSite(t)
	if _, err := s.Engine.LoadDemoGuides(context.Background()); err != nil { // a case on the current ticket
		t.Fatal(err)
	}
	out := browsertest.Run(t, ctrPrelude+`
const page = await civiq.newPage({ viewport: { width: 1366, height: 768 } });
watch(page);
async function until(what, fn, arg) {
  try { await page.waitForFunction(fn, arg, { timeout: 15000 }); } catch (e) {
    throw new Error('waiting for ' + what + ': message "' + await page.textContent('#msg') + '", current "' + await page.textContent('#cur-number') + '", ' + (await page.$$('#queue li')).length + ' waiting');
  }
}
const k1 = (await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'general', channel: 'kiosk' })).body.ticket;
const k2 = (await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'general', channel: 'kiosk' })).body.ticket;
const g1 = (await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'social', channel: 'kiosk', priority_group: 'elderly' })).body.ticket;
await issue('tax'); // not this counter's
await page.goto(base + '/halls/demo/counter/1');
await page.fill('#username', 'admin');
await page.fill('#password', process.env.ADMIN_PW);
await Promise.all([page.waitForURL('**/halls/demo/counter/1'), page.click('button[type=submit]')]);
await page.goto(base + '/halls/demo/counter/1?lang=zh-CN');
await page.waitForFunction(() => document.querySelectorAll('#queue li').length === 3);
const rows = await page.$$eval('#queue li', (ls) => ls.map((l) => l.textContent));
check(rows[0].includes(g1.number) && rows[0].includes('绿色通道：老年人'), 'green channel first: ' + rows[0]);
check(rows[1].includes(k1.number) && rows[1].includes('取号机取号') && rows[1].includes('已等 0 分'), 'row 2: ' + rows[1]);
await shot(page, 'counter-queue-zh');
await axe(page, 'counter waiting list');

// Call the last one out of turn: a reason is required.
await page.click('#queue li:nth-child(3) button');
await page.waitForSelector('#d-callone[open]');
check((await page.textContent('#d-callone-h')).includes(k2.number), 'dialog title');
await page.click('#callone-form button[type=submit]');
check((await page.textContent('#callone-err')).includes('原因'), 'no reason: no error shown');
check((await ticket(k2.id)).status === 'waiting', 'called without a reason');
await page.fill('#callone-reason', '预约时间已到');
await shot(page, 'counter-callone-zh');
await axe(page, 'call out of turn dialog');
await page.click('#callone-form button[type=submit]');
await until('the chosen number is current', (n) => document.getElementById('cur-number').textContent === n, k2.number);
check((await page.textContent('#cur-channel')) === '取号机取号', 'current ticket channel');
await until('two left waiting', () => document.querySelectorAll('#queue li').length === 2);
const t2 = await ticket(k2.id);
check(t2.status === 'called' && t2.counter_id === '1', 'called: ' + JSON.stringify(t2));
// Counter 2 cannot take it too.
const again = await api('POST', '/api/v1/halls/demo/counters/2/call', { ticket_id: k2.id, reason: 'x' });
check(again.status === 409, 'a second counter called it: ' + again.status);

// A no-show is listed, and put back in line when the citizen comes back.
await page.waitForSelector('#ctr[aria-busy=false]');
await page.keyboard.press('x');
await until('the no-show listed', () => document.querySelectorAll('#noshows li').length === 1);
await shot(page, 'counter-noshow-zh');
await axe(page, 'counter with a no-show');
await page.click('#noshows li button');
await until('back in line', () => document.querySelectorAll('#queue li').length === 3 && document.getElementById('noshows').classList.contains('hidden'));
check((await page.textContent('#msg')).includes('已恢复排队'), 'returned message');
check((await ticket(k2.id)).status === 'waiting', 'not back in line');

// The green-channel ticket as the current one shows its group; in English.
await page.click('#queue li:nth-child(1) button');
await page.fill('#callone-reason', 'elderly, cannot stand long');
await page.click('#callone-form button[type=submit]');
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, g1.number);
// Its context: the document to check for its group, and a case opened on
// it, linked to the case desk; a kiosk ticket names nobody.
await until('the document to check', () => document.getElementById('cur-doc').textContent === '请核验：身份证（看年龄）');
check(await page.isHidden('#cur-booked') && await page.isHidden('#cur-cases'), 'a kiosk ticket shows a booking or a case');
const opened = await api('POST', '/api/v1/tickets/' + g1.id + '/cases', { guide_id: 'demo-s-card',
  applicant: { name: '张三', phone: '13812345678', id_number: '110105199003071239' }, materials: [] });
check(opened.status === 201 || opened.status === 200, 'case not opened: ' + JSON.stringify(opened));
const caseNo = opened.body.case.number;
await page.goto(base + '/halls/demo/counter/1?lang=zh-CN');
await until('the case listed', (n) => document.querySelector('#cur-cases a') && document.querySelector('#cur-cases a').textContent.includes(n), caseNo);
check((await page.getAttribute('#cur-cases a', 'href')) === '/halls/demo/cases?number=' + encodeURIComponent(caseNo), 'case desk link');
check(!(await page.textContent('#ctr')).includes('张三'), 'the applicant unmasked on the counter');
await shot(page, 'counter-context-zh');
await axe(page, 'counter with the ticket context');
await page.goto(base + '/halls/demo/counter/1?lang=en');
await page.waitForFunction(() => document.getElementById('cur-group').textContent.includes('Green channel: Elderly'));
await until('the document in English', () => document.getElementById('cur-doc').textContent === 'Check: ID card, showing age');
await until('the case in English', () => document.querySelector('#cur-cases a') && document.querySelector('#cur-cases a').textContent.startsWith('Case '));
await page.waitForFunction(() => document.querySelectorAll('#queue li').length === 2);
check((await page.textContent('#queue li')).includes('Kiosk ticket'), 'English queue');
await shot(page, 'counter-queue-en');
await axe(page, 'counter waiting list, English');
check(errors.length === 0, 'page errors: ' + errors.join('; '));
console.log(JSON.stringify({ k2: k2.id }));
`, ctrEnv(t, s))
	var ids struct{ K2 string }
	if err := json.Unmarshal([]byte(lastLine(out)), &ids); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	evs, err := s.Store.EventsAfter(context.Background(), "demo", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == civiq.EventCalled && e.Ticket != nil && e.Ticket.ID == ids.K2 && e.Reason != "预约时间已到" {
			t.Errorf("the call's event keeps the reason %q", e.Reason)
		}
	}
}

// A press the network failed is not said to be undone: it is kept and
// sent again with its key once the page is back, and its message clears.
func TestCounterNetworkBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := startCtrSite(t)
	browsertest.Run(t, ctrPrelude+`
const page = await civiq.newPage({ viewport: { width: 1366, height: 768 } });
watch(page);
await page.goto(base + '/halls/demo/counter/1');
await page.fill('#username', 'admin');
await page.fill('#password', process.env.ADMIN_PW);
await Promise.all([page.waitForURL('**/halls/demo/counter/1'), page.click('button[type=submit]')]);
await page.waitForSelector('#b-call:not([disabled])');
const a = await issue('general');
await page.waitForFunction(() => document.querySelectorAll('#queue li').length === 1);
await page.context().setOffline(true);
await page.click('#b-call');
await page.waitForFunction(() => document.getElementById('msg').textContent.includes('尚不确定'), null, { timeout: 60000 });
await shot(page, 'counter-network-zh');
await axe(page, 'counter, network down');
await page.keyboard.press('n'); // refused while the first press is pending
check((await page.textContent('#msg')).includes('尚不确定'), 'a second press while pending');
await page.context().setOffline(false);
await page.waitForFunction((n) => document.getElementById('cur-number').textContent === n, a.number, { timeout: 60000 });
await page.waitForFunction(() => document.getElementById('msg').textContent.includes('已呼叫'));
check(!(await page.textContent('#msg')).includes('网络'), 'the network message stays');
check((await ticket(a.id)).status === 'called', 'not called');
check(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch|EventSource/.test(e)).length === 0, 'page errors: ' + errors.join('; '));
`, ctrEnv(t, s))
	evs, err := s.Store.EventsAfter(context.Background(), "demo", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, e := range evs {
		if e.Type == civiq.EventCalled {
			calls++
		}
	}
	if calls != 1 {
		t.Errorf("%d calls, want 1", calls)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestRateBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := startCtrSite(t)
	out := browsertest.Run(t, ctrPrelude+`
const dev = await api('POST', '/api/v1/halls/demo/devices', { kind: 'rater', counter_id: '1' });
check(dev.status === 201, 'create rater: ' + dev.status);
const page = await civiq.newPage({ viewport: { width: 1280, height: 800 } });
watch(page);
await page.clock.install();
async function serve(counter) {
  const t = await issue('general');
  let r = await api('POST', '/api/v1/halls/demo/counters/' + counter + '/call-next');
  check(r.status === 200 && r.body.ticket.id === t.id, 'call at ' + counter + ': ' + r.status);
  check((await api('POST', '/api/v1/tickets/' + t.id + '/start')).status === 200, 'start');
  check((await api('POST', '/api/v1/tickets/' + t.id + '/finish')).status === 200, 'finish');
  return t;
}
const visible = (s) => page.waitForSelector('#s-' + s + ':not(.hidden)');

// Pairing: a wrong code is refused, the rater's own code pairs.
await page.goto(base + '/halls/demo/rate/1');
await visible('pair');
await axe(page, 'rater pairing');
await page.fill('#pair-code', 'nonsense');
await page.click('#pair-form button[type=submit]');
await page.waitForFunction(() => document.getElementById('pair-err').textContent.includes('无效'));
await page.fill('#pair-code', dev.body.device.pairing_code);
await page.click('#pair-form button[type=submit]');
await visible('idle');
await page.waitForTimeout(300);
await shot(page, 'rate-idle');
await axe(page, 'rater idle');

// Another counter's finish is not for this rater.
await serve('2');
await page.waitForTimeout(800);
check(await page.isVisible('#s-idle'), 'rater reacted to counter 2');

// Counter 1 finishes: the faces.
const t1 = await serve('1');
await visible('faces');
check((await page.textContent('#ticket-line')).includes(t1.number), 'ticket line');
check(await page.locator('.face').count() === 5, 'five faces');
await shot(page, 'rate-faces');
await axe(page, 'rater faces');

// 不满意 asks why; nothing chosen is refused.
await page.click('.face-2');
await visible('reason');
check((await page.textContent('#reason-chosen')).includes('不满意'), 'chosen level');
await shot(page, 'rate-reason');
await axe(page, 'rater reasons');
await page.click('#reason-send');
check((await page.textContent('#reason-err')).includes('至少选择一项'), 'empty reason accepted');
await page.check('input[value="poor_attitude"]');
await page.check('input[value="long_wait"]');
await page.fill('#reason-text', '窗口人员接电话时间较长');
await page.click('#reason-send');
await visible('thanks');
await shot(page, 'rate-thanks');
await axe(page, 'rater thanks');
const again = await api('POST', '/api/v1/tickets/' + t1.id + '/rating', { score: 5 });
check(again.status === 409, 'second rating: ' + again.status);
await page.clock.fastForward(7000);
await visible('idle');

// A good rating goes straight to thanks.
const t2 = await serve('1');
await visible('faces');
await page.click('.face-5');
await visible('thanks');
await page.clock.fastForward(7000);
await visible('idle');

// Nobody answers: back to idle after 60 s, and nothing is rated.
const t3 = await serve('1');
await visible('faces');
await page.clock.fastForward(30000);
check(await page.isVisible('#s-faces'), 'faces gone before 60 s');
await page.clock.fastForward(31000);
await visible('idle');

// In English too.
await page.goto(base + '/halls/demo/rate/1?lang=en');
await visible('idle');
const t4 = await serve('1');
await visible('faces');
check((await page.textContent('.face-5')).includes('Very satisfied'), 'English faces');
await shot(page, 'rate-faces-en');

check(errors.length === 0, 'page errors: ' + errors.join('; '));
console.log(JSON.stringify({ t1: t1.id, t2: t2.id, t3: t3.id }));
`, ctrEnv(t, s))

	var ids struct{ T1, T2, T3 string }
	if err := json.Unmarshal([]byte(lastLine(out)), &ids); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	rows, err := s.Engine.HallRatings(context.Background(), "demo", "", "") // this month's
	if err != nil {
		t.Fatal(err)
	}
	byTicket := map[string]civiq.Rating{}
	for _, row := range rows {
		byTicket[row.TicketID] = row.Rating
	}
	if r, ok := byTicket[ids.T1]; !ok || r.Score != 2 || strings.Join(r.Reasons, ",") != "long_wait,poor_attitude" || r.Comment != "窗口人员接电话时间较长" || r.Channel != "rater" || r.CounterID != "1" {
		t.Errorf("bad rating: %+v", r)
	}
	if r, ok := byTicket[ids.T2]; !ok || r.Score != 5 || r.Comment != "" {
		t.Errorf("good rating: %+v", r)
	}
	if r, ok := byTicket[ids.T3]; ok {
		t.Errorf("unanswered ticket rated: %+v", r)
	}
}
