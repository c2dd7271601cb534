package web_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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
	browsertest.Require(t)
	s := newKioskSite(t)
	if st := s.call(t, "POST", "/api/v1/users", s.Admin, map[string]any{"username": "clerk", "password": "clerk-password-1", "role": "staff", "hall_ids": []string{"demo"}}, nil, nil); st != 201 {
		t.Fatalf("create staff: %d", st)
	}
	out := browsertest.Run(t, kioskScript, map[string]string{
		"BASE":        s.URL,
		"ADMIN_TOKEN": s.Admin,
		"SHOTS":       kioskShots(t),
	})
	t.Log(out)
}

// kioskPrelude is what the kiosk's browser scripts share: the API, checks,
// axe, screenshots and page errors.
const kioskPrelude = `
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
const visible = (page, id) => page.waitForSelector('#' + id + ':not(.hidden)', { timeout: 10000 });
`

const kioskScript = kioskPrelude + `
const browser = await civiq.launch();

// ---- a kiosk paired with a code an admin made ----
// Someone signed in at counter 2 (general, social): the demo's counters
// are open with nobody there, and the kiosk says 暂无窗口办理 of a service
// no counter works for (open_counters 0, as the estimate counts them).
check((await api('POST', '/api/v1/halls/demo/counters/2/status', { status: 'open' })).status === 200, 'open counter 2');
const dev = await api('POST', '/api/v1/halls/demo/devices', { kind: 'kiosk', name: 'kiosk 1' });
check(dev.status === 201, 'create kiosk device: ' + dev.status);
const kctx = await browser.newContext({ viewport: { width: 1080, height: 1920 }, hasTouch: true });
await kctx.clock.install();
const kiosk = await kctx.newPage();
watch(kiosk, 'kiosk');
await kiosk.addInitScript(() => { window.__printed = 0; window.print = () => { window.__printed++; }; });
await kiosk.goto(base + '/halls/demo/kiosk?print=1');
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
check(await text(kiosk, '.svc[data-service=tax] .svc-eta') === '暂无窗口办理', 'no counter works for tax: ' + await text(kiosk, '.svc[data-service=tax] .svc-eta'));
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
// 帮办代办: a volunteer takes it for someone, who is of the green channel.
await kiosk.click('#behalf-open');
await visible(kiosk, 's-behalf');
await shot(kiosk, 'kiosk-behalf');
await axe(kiosk, 'kiosk for someone else');
await kiosk.click('.role[data-role=volunteer]');
await visible(kiosk, 'behalf-banner');
check(await text(kiosk, '#behalf-text') === '为他人代办 · 志愿者', 'for someone else banner: ' + await text(kiosk, '#behalf-text'));
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
check(green.number === 'C001' && green.priority_group === 'elderly' && green.on_behalf && green.on_behalf.role === 'volunteer',
  'green ticket for someone: ' + JSON.stringify(green));
check(await text(kiosk, '#tp-behalf') === '代办 · 志愿者', 'for someone on the ticket: ' + await text(kiosk, '#tp-behalf'));
await shot(kiosk, 'kiosk-ticket-landscape');
await kiosk.click('#done');
await visible(kiosk, 's-home');
check(await kiosk.evaluate(() => document.getElementById('green-banner').classList.contains('hidden')
  && document.getElementById('behalf-banner').classList.contains('hidden')), 'green channel and helper are forgotten');

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
await zh.waitForFunction(() => document.getElementById('status').textContent === '正在叫您', null, { timeout: 10000 });
const took = Date.now() - t0;
check((await text(zh, '#call')).includes('1号窗口'), 'the counter to go to: ' + await text(zh, '#call'));
check(await zh.evaluate(() => window.__vibrated > 0 && window.__beeps > 0), 'sound and vibration when called');
await en.waitForFunction(() => document.getElementById('call').textContent.includes('Counter 1'), null, { timeout: 10000 });
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

// TestKioskAppointmentBrowser checks in with bookings at the kiosk in
// Chromium: typed on the keypads, through a lost answer and a double tap
// (one ticket), with a wrong ID ending, too early, already checked in and
// rate limited, by a scanner and a card reader typing, in Chinese and in
// English. The server's clock runs from a Tuesday morning (kioskMorning)
// and the browser's from the same time.
func TestKioskAppointmentBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newApptSite(t)
	var people []map[string]string
	for n := range 6 {
		id := kioskPerson(n)
		people = append(people, map[string]string{"id": id, "last4": id[14:]})
	}
	pj, _ := json.Marshal(people)
	out := browsertest.Run(t, kioskApptScript, map[string]string{
		"BASE":        s.URL,
		"ADMIN_TOKEN": s.Admin,
		"SHOTS":       kioskShots(t),
		"PEOPLE":      string(pj),
		"DAY":         kioskMorning.Format("2006-01-02"),
		"TOMORROW":    kioskMorning.AddDate(0, 0, 1).Format("2006-01-02"),
		"NOW_MS":      strconv.FormatInt(time.Now().Add(time.Until(kioskMorning)).UnixMilli(), 10),
	})
	t.Log(out)
}

const kioskApptScript = kioskPrelude + `
const people = JSON.parse(process.env.PEOPLE); // person 2's ID ends in X
const slot = (hhmm) => process.env.DAY + 'T' + hhmm + ':00+08:00';
async function book(service, hhmm, n) {
  const r = await api('POST', '/api/v1/halls/demo/bookings', { service_id: service, slot_start: slot(hhmm),
    name: '王' + n, phone: '139' + String(n).padStart(8, '0'), id_number: people[n].id });
  check(r.status === 201, 'book ' + service + ' ' + hhmm + ': ' + r.status + ' ' + JSON.stringify(r.body));
  return r.body.booking.code;
}
const spaced = (code) => code.slice(0, 4) + ' ' + code.slice(4);
const general = await book('general', '10:00', 2);
const property = await book('property', '10:00', 1);
const tax = await book('tax', '11:00', 3);
const social = await book('social', '10:00', 4);
const general2 = await book('general', '10:00', 5);
const tomorrow = (await api('POST', '/api/v1/halls/demo/bookings', { service_id: 'general', slot_start: process.env.TOMORROW + 'T10:00:00+08:00',
  name: '王0', phone: '13900000000', id_number: people[0].id })).body.booking.code;

// A paired kiosk.
const dev = await api('POST', '/api/v1/halls/demo/devices', { kind: 'kiosk', name: 'kiosk 1' });
const pair = await fetch(base + '/api/v1/devices/pair', { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ code: dev.body.device.pairing_code }) }).then((r) => r.json());
check(pair.token, 'paired');

const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 1080, height: 1920 }, hasTouch: true });
await ctx.clock.install({ time: +process.env.NOW_MS });
const kiosk = await ctx.newPage();
watch(kiosk, 'kiosk');
await kiosk.addInitScript((token) => {
  localStorage.setItem('civiq.device.demo', token);
  window.__printed = 0; window.print = () => { window.__printed++; };
}, pair.token);
const checkins = [];
kiosk.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/checkins')) checkins.push(JSON.parse(r.postData())); });

await kiosk.goto(base + '/halls/demo/kiosk?print=1');
await visible(kiosk, 's-home');
check(await kiosk.getAttribute('#guides-open', 'href') === '/halls/demo/guides?from=kiosk', 'the guides button');
check(await kiosk.evaluate(() => document.documentElement.scrollHeight <= innerHeight), 'portrait start screen fits');
await shot(kiosk, 'kiosk-appt-home');
await axe(kiosk, 'start screen');

// keys types on the keypad on show: the code's, then the ID's.
async function keys(chars) {
  for (const c of chars) await kiosk.click('#s-checkin .keypad:not(.hidden) .key[data-key="' + c + '"]');
}
// ticketShown waits for the ticket, or says what the kiosk shows instead.
async function ticketShown() {
  try {
    await visible(kiosk, 's-ticket');
  } catch (e) {
    throw new Error('no ticket: screen ' + await kiosk.evaluate(() => document.body.dataset.screen) + ', error "' +
      await text(kiosk, '#ci-error') + '", status "' + await text(kiosk, '#ci-status') + '", failed "' + await text(kiosk, '#error-text') + '"');
  }
}
const errorText = async () => {
  await kiosk.waitForFunction(() => document.getElementById('ci-error').textContent !== '');
  return text(kiosk, '#ci-error');
};

// ---- a wrong ID ending, then the right one: a lost answer and a double tap ----
await kiosk.click('#checkin-open');
await visible(kiosk, 's-checkin');
check(await kiosk.evaluate(() => document.activeElement.id === 'ci-code'), 'the code field first');
await axe(kiosk, 'check-in form');
await keys(property.slice(0, 5));
check(await kiosk.inputValue('#ci-code') === spaced(property).slice(0, 6), 'the code as the booking page shows it: ' + await kiosk.inputValue('#ci-code'));
await shot(kiosk, 'kiosk-checkin-form');
await keys(property.slice(5));
check(await kiosk.isVisible('#keys-id') && !await kiosk.isVisible('#keys-code'), 'the ID keypad comes after the code');
const wrong = people[1].last4 === '1234' ? '4321' : '1234';
await keys(wrong);
await kiosk.click('#ci-submit');
check((await errorText()) === '预约码或身份证号码后4位不正确，请核对后重新输入。', 'wrong ID: ' + await text(kiosk, '#ci-error'));
check(await kiosk.getAttribute('#ci-id', 'aria-invalid') === 'true', 'the ID field is marked');
check(await kiosk.isVisible('#s-checkin'), 'the form stays for a correction');
await shot(kiosk, 'kiosk-checkin-error');
await axe(kiosk, 'check-in error');
for (let i = 0; i < 4; i++) await kiosk.click('#keys-id .key.del');
check(await kiosk.inputValue('#ci-id') === '' && await text(kiosk, '#ci-error') === '', 'deleted, and the error gone');
await keys(people[1].last4);

let posts = 0;
const keysSent = [];
await kiosk.route('**/api/v1/halls/demo/checkins', async (route) => {
  posts++;
  keysSent.push(route.request().headers()['idempotency-key']);
  if (posts === 1) { await route.fetch(); await route.abort('connectionreset'); return; }
  await route.continue();
});
await kiosk.dblclick('#ci-submit');
await ticketShown();
await kiosk.unroute('**/api/v1/halls/demo/checkins');
check(posts === 2 && keysSent[0] && keysSent[0] === keysSent[1], 'one key for both tries: ' + JSON.stringify(keysSent));
check(await text(kiosk, '#tp-number') === 'B001', 'ticket number ' + await text(kiosk, '#tp-number'));
check(await text(kiosk, '#tp-service') === '不动产登记', 'ticket service');
check(await text(kiosk, '#tp-appt') === '预约 10:00–10:30', 'marked as an appointment: ' + await text(kiosk, '#tp-appt'));
check(await text(kiosk, '#tp-until') === '10:00 起叫号，请在大厅等候', 'an early arrival waits: ' + await text(kiosk, '#tp-until'));
check(await text(kiosk, '#tp-taken') === '预约签到成功，您的号码是B001', 'ticket text: ' + await text(kiosk, '#tp-taken'));
await kiosk.waitForFunction(() => { const q = document.getElementById('tp-qr'); return q.complete && q.naturalWidth > 0; });
await kiosk.waitForFunction(() => window.__printed === 1);
const tk = (await api('GET', '/api/v1/tickets/' + await kiosk.evaluate(() => document.body.dataset.ticket))).body.ticket;
check(tk.channel === 'appointment' && tk.number === 'B001', 'the ticket: ' + JSON.stringify(tk));
check(await waiting('property') === 1, 'exactly one ticket for a double tap and a retry, got ' + await waiting('property'));
const bk = await api('GET', '/api/v1/bookings/' + property + '?id_last4=' + people[1].last4);
check(bk.body.booking.status === 'checked_in' && bk.body.booking.ticket_number === 'B001', 'booking: ' + JSON.stringify(bk.body));
await shot(kiosk, 'kiosk-checkin-ticket');
await axe(kiosk, 'appointment ticket');
await kiosk.clock.runFor(10500);
await visible(kiosk, 's-home');
check(await kiosk.evaluate(() => document.getElementById('ci-code').value === '' && document.getElementById('ci-id').value === ''), 'the form is empty again');

// ---- already checked in, too early, rate limited ----
await kiosk.click('#checkin-open');
await keys(property + people[1].last4);
await kiosk.click('#ci-submit');
check((await errorText()) === '这个预约已经签到过了，您的号码是 B001，请留意叫号。', 'checked in twice: ' + await text(kiosk, '#ci-error'));
await kiosk.click('#ci-clear');
check(await kiosk.inputValue('#ci-code') === '' && await kiosk.isVisible('#keys-code'), 'cleared');
await keys(tax + people[3].last4);
await kiosk.click('#ci-submit');
check((await errorText()) === '还没到签到时间。您预约的是今天 11:00，请于 10:30 起签到。', 'too early: ' + await text(kiosk, '#ci-error'));
await shot(kiosk, 'kiosk-checkin-early');
await kiosk.click('#ci-clear');
await keys(tomorrow + people[0].last4);
await kiosk.click('#ci-submit');
check((await errorText()) === '还没到签到时间。您预约的是 3月5日周三 10:00，请于当天 09:30 起签到。', 'another day: ' + await text(kiosk, '#ci-error'));
await kiosk.route('**/api/v1/halls/demo/checkins', (route) => route.fulfill({ status: 429, contentType: 'application/json',
  headers: { 'Retry-After': '600' }, body: JSON.stringify({ error: { code: 'rate_limited', message: 'too many requests' } }) }));
await kiosk.click('#ci-submit');
await kiosk.waitForFunction(() => document.getElementById('ci-error').textContent.includes('输错次数太多'));
await kiosk.unroute('**/api/v1/halls/demo/checkins');
check(await waiting('tax') === 0, 'no ticket too early');

// Nobody there: back to the start after 2 minutes, the form emptied.
await kiosk.clock.runFor(119000);
check(await kiosk.evaluate(() => document.body.dataset.screen) === "checkin", "no timeout shorter than 2 minutes");
await kiosk.clock.runFor(1500);
await visible(kiosk, 's-home');
check(await kiosk.inputValue('#ci-code') === '' && await text(kiosk, '#ci-error') === '', 'the half-filled form is forgotten');

// ---- a scanner types the code, a card reader the whole ID number ----
await kiosk.click('#checkin-open');
await kiosk.keyboard.type(social.slice(0, 4).toLowerCase() + '-' + social.slice(4).toLowerCase());
await kiosk.keyboard.press('Enter');
check(await kiosk.evaluate(() => document.activeElement.id === 'ci-id') && await text(kiosk, '#ci-error') === '', 'Enter after the code goes on to the ID');
check(await kiosk.inputValue('#ci-code') === spaced(social), 'scanned code: ' + await kiosk.inputValue('#ci-code'));
await kiosk.keyboard.type(people[4].id);
check(await kiosk.inputValue('#ci-id') === people[4].last4, 'the screen shows the last 4 only: ' + await kiosk.inputValue('#ci-id'));
await kiosk.keyboard.press('Enter');
await ticketShown();
check(await text(kiosk, '#tp-number') === 'D001', 'card reader ticket ' + await text(kiosk, '#tp-number'));
const last = checkins[checkins.length - 1];
check(last.code === social && last.id_number === people[4].id && !last.id_last4, 'the card reader sends the ID number: ' + JSON.stringify(last));
await kiosk.click('#done');
await visible(kiosk, 's-home');

// ---- English, through the switch on the form; X on the keypad ----
await kiosk.click('#checkin-open');
await keys(general.slice(0, 3));
await Promise.all([kiosk.waitForURL('**/kiosk?print=1&lang=en#checkin'), kiosk.click('.kiosk-lang')]);
await visible(kiosk, 's-checkin');
check(await kiosk.inputValue('#ci-code') === '', 'nothing typed goes through the switch');
check(await text(kiosk, '#ci-h') === 'Check in for your appointment', 'English heading');
await keys(general + '0000');
await kiosk.click('#ci-submit');
check((await errorText()).startsWith('The booking code or the last 4 characters'), 'English error: ' + await text(kiosk, '#ci-error'));
await shot(kiosk, 'kiosk-checkin-error-en');
await kiosk.click('#ci-clear');
await keys(general);
check(people[2].last4.endsWith('X'), 'person 2 ends in X');
await keys(people[2].last4);
check(await kiosk.inputValue('#ci-id') === people[2].last4, 'X on the keypad');
await shot(kiosk, 'kiosk-checkin-form-en');
await axe(kiosk, 'English check-in form');
await kiosk.click('#ci-submit');
await ticketShown();
check(await text(kiosk, '#tp-number') === 'A001' && await text(kiosk, '#tp-appt') === 'Appointment 10:00–10:30', 'English ticket: ' + await text(kiosk, '#tp-appt'));
check(await text(kiosk, '#tp-taken') === 'Checked in: your number is A001', 'English ticket text');
await kiosk.waitForFunction(() => { const q = document.getElementById('tp-qr'); return q.complete && q.naturalWidth > 0; });
await shot(kiosk, 'kiosk-checkin-ticket-en');
// Back in Chinese after 10 s.
await Promise.all([kiosk.waitForURL('**/kiosk?print=1&lang=zh-CN'), kiosk.clock.runFor(10500)]);
await visible(kiosk, 's-home');

// ---- lying down ----
await kiosk.setViewportSize({ width: 1920, height: 1080 });
check(await kiosk.evaluate(() => document.documentElement.scrollHeight <= innerHeight), 'landscape start screen fits');
await shot(kiosk, 'kiosk-appt-landscape');
await kiosk.click('#checkin-open');
await keys(general2);
check(await kiosk.evaluate(() => document.documentElement.scrollHeight <= innerHeight), 'landscape check-in fits');
await shot(kiosk, 'kiosk-checkin-landscape');
await keys(people[5].last4);
await kiosk.click('#ci-submit');
await ticketShown();
check(await text(kiosk, '#tp-number') === 'A002', 'second general appointment');

// The start screen in English.
await kiosk.setViewportSize({ width: 1080, height: 1920 });
await kiosk.goto(base + '/halls/demo/kiosk?lang=en');
await visible(kiosk, 's-home');
check(await text(kiosk, '#checkin-open strong') === 'I have an appointment', 'English check-in button');
check(await kiosk.evaluate(() => document.documentElement.scrollHeight <= innerHeight), 'English start screen fits');
await shot(kiosk, 'kiosk-appt-home-en');

check(errors.length === 0, 'page errors: ' + errors.join('; '));
`

// TestAppointmentPhoneBrowser: the phone page of a ticket checked in from
// a booking says its slot and, while it waits before the slot, that calls
// start then, in Chinese and English, as the kiosk's ticket does (the page
// said only "下一位就是您, 约 5 分钟" to a citizen who came 20 minutes
// early); a walk-in's page says neither; the phone's clock is in Los
// Angeles: the times are the hall's. On the booking page the checked-in
// booking looked up is headed as the citizen's booking, its status below
// (it said "预约成功" above "已签到"); one made just now as booked.
func TestAppointmentPhoneBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newApptSite(t)
	code := s.book(t, "general", "10:00", 2)
	var out struct{ Ticket kioskTicket }
	if st := s.call(t, "POST", "/api/v1/halls/demo/checkins", s.Admin, map[string]string{"code": code, "id_last4": kioskPerson(2)[14:]}, &out, nil); st != 201 {
		t.Fatalf("check in: %d", st)
	}
	walkIn := s.issue(t, s.Admin, "general")
	browsertest.RunShots(t, `
const base = process.env.BASE;
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, timezoneId: 'America/Los_Angeles' });
await ctx.clock.install({ time: +process.env.NOW_MS });
const page = watch(await ctx.newPage());
for (const [lang, mark, until] of [['zh-CN', '预约 10:00–10:30', '10:00 起叫号，请在大厅等候'], ['en', 'Appointment 10:00–10:30', 'Calling starts at 10:00; please wait in the hall']]) {
  await page.goto(base + '/t/' + process.env.APPT + '?lang=' + lang);
  await page.waitForSelector('#appt:not(.hidden)');
  eq(await page.textContent('#appt'), mark, lang + ': the slot');
  eq(await page.textContent('#appt-until'), until, lang + ': calls start at the slot');
  await axe(page, 'appointment ticket ' + lang);
  await page.screenshot({ path: process.env.CIVIQ_SHOTS + '/ticket-appointment-' + lang + '.png' });
  await page.goto(base + '/t/' + process.env.WALKIN + '?lang=' + lang);
  await page.waitForSelector('#number');
  assert(await page.$eval('#appt', (e) => e.classList.contains('hidden')) && await page.$eval('#appt-until', (e) => e.classList.contains('hidden')), lang + ': a walk-in has no slot');
}
// Past the slot's start the line about calls goes.
await page.goto(base + '/t/' + process.env.APPT);
await page.waitForSelector('#appt-until:not(.hidden)');
await ctx.clock.runFor(21 * 60 * 1000);
await page.waitForSelector('#appt-until.hidden', { state: 'attached' });
assert(await page.isVisible('#appt'), 'the slot stays');
clean(page, 'appointment ticket');
await ctx.close();

// The booking page.
for (const [lang, yours, booked, status] of [['zh-CN', '我的预约', '预约成功', '已签到'], ['en', 'Your booking', 'Booked', 'Checked in']]) {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  await ctx.clock.install({ time: +process.env.NOW_MS });
  const page = watch(await ctx.newPage());
  await page.goto(base + '/halls/demo/book?lang=' + lang);
  await page.click('#find summary');
  await page.fill('#q-code', process.env.CODE);
  await page.fill('#q-last4', process.env.LAST4);
  await page.click('#find-form button[type=submit]');
  await page.waitForSelector('#result:not(.hidden)');
  eq(await page.textContent('#result-h'), yours, lang + ': a booking looked up');
  eq(await page.textContent('#r-status'), status, lang + ': its status');
  await page.screenshot({ path: process.env.CIVIQ_SHOTS + '/book-found-' + lang + '.png', fullPage: true });
  // One made now.
  await page.click('#r-new');
  await page.click('.bservice:has(input[value="tax"])');
  await page.waitForSelector('#slots input[name="slot"]:not(:disabled)');
  await page.check('#slots input[name="slot"]:not(:disabled)', { force: true });
  await page.fill('#f-name', '王三');
  await page.fill('#f-phone', '13900000003');
  await page.fill('#f-id', lang === 'en' ? process.env.ID4 : process.env.ID3);
  await page.check('#f-consent');
  await page.click('#submit');
  await page.waitForSelector('#result:not(.hidden)');
  eq(await page.textContent('#result-h'), booked, lang + ': a booking made now');
  clean(page, 'book find ' + lang);
  await ctx.close();
}
console.log('ok');
`, map[string]string{"BASE": s.URL, "APPT": out.Ticket.ID, "WALKIN": walkIn.ID, "CODE": code, "LAST4": kioskPerson(2)[14:],
		"ID3": kioskPerson(3), "ID4": kioskPerson(4), "NOW_MS": strconv.FormatInt(time.Now().Add(time.Until(kioskMorning)).UnixMilli(), 10)})
}
