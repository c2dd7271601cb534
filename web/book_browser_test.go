package web_test

import (
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestBookBrowser books on a phone (375x812) in Chinese and in English:
// a wrong ID number is refused at its field, a booking shows its code and
// QR code, the calendar file parses with ical.js in the hall's time zone,
// a booking is cancelled from the page; then staff check a citizen in from
// the bookings page. axe finds no serious violation. Screenshots go to
// $CIVIQ_SCREENSHOTS (relative to web/) or a temporary directory.
func TestBookBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newBookServer(t)
	browsertest.RunShots(t, bookScript, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_TOKEN": s.Admin})
}

const bookScript = `
const ICAL = require('ical.js');
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;

// idOf is the n-th person's ID number, with its GB 11643 check character.
function idOf(n) {
  const first = '11010119900307' + String(n).padStart(3, '0');
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first[i]) * w[i];
  return first + '10X98765432'[sum % 11];
}

async function open(path, viewport) {
  const page = await civiq.newPage({ viewport: viewport || { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: !viewport, hasTouch: !viewport });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.errors.push('console: ' + m.text()); });
  // The refusals the test provokes are 4xx on purpose; anything 5xx is a bug.
  page.on('response', (r) => { if (r.status() >= 500) page.errors.push('HTTP ' + r.status() + ' ' + r.url()); });
  page.on('dialog', (d) => d.accept());
  await page.goto(base + path, { waitUntil: 'load' });
  await page.evaluate(() => document.fonts && document.fonts.ready.then(() => true));
  return page;
}
// noOverflow: nothing is wider than the phone.
async function noOverflow(page, when) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(w <= 375, when + ': the page is ' + w + ' px wide on a 375 px phone');
}
async function book(page, service, date, time, person, name) {
  await page.click('.bservice:has(input[value="' + service + '"])');
  await page.click('.bday:has(input[value="' + date + '"])');
  await page.waitForSelector('.bslot input[value^="' + date + 'T' + time + ':00"]', { state: 'attached' });
  await page.click('.bslot:has(input[value^="' + date + 'T' + time + ':00"])');
  await page.fill('#f-name', name);
  await page.fill('#f-phone', '138 0000 ' + String(person).padStart(4, '0'));
  await page.fill('#f-id', idOf(person).toLowerCase());
  await page.check('#f-consent');
  await page.click('#submit');
}

for (const lang of ['zh-CN', 'en']) {
  mark(lang + ': the booking page');
  const page = await open('/halls/demo/book' + (lang === 'en' ? '?lang=en' : ''));
  assert(await page.getAttribute('html', 'lang') === lang, 'html lang');
  await noOverflow(page, lang + ' at first');
  await page.screenshot({ path: shots + '/book-' + lang + '.png' });
  await axe(page, lang + ' at first');
  assert(await page.isDisabled('#step-person input[name="name"]'), 'the form waits for a slot');

  // Saturday is closed; Tuesday has slots.
  assert(await page.isDisabled('.bday input[value="2031-03-08"]'), 'Saturday is closed');
  const person = lang === 'en' ? 2 : 1;
  // A wrong check digit is refused at the ID field, by the server.
  await page.click('.bservice:has(input[value="property"])');
  await page.click('.bday:has(input[value="2031-03-04"])');
  await page.waitForSelector('.bslot input[value^="2031-03-04T"]', { state: 'attached' });
  await noOverflow(page, lang + ' with slots');
  await page.screenshot({ path: shots + '/book-' + lang + '-slots.png', fullPage: true });
  const n = await page.$$eval('.bslot', (els) => els.length);
  assert(n === 16, n + ' slots on Tuesday, want 16');
  await page.click('.bslot:has(input[value^="2031-03-04T10:00:00"])');
  await page.fill('#f-name', lang === 'en' ? 'Li Si' : '张三');
  await page.fill('#f-phone', '13800000001');
  await page.fill('#f-id', idOf(person).slice(0, 17) + (idOf(person)[17] === '0' ? '1' : '0'));
  await page.check('#f-consent');
  await page.click('#submit');
  await page.waitForFunction(() => document.querySelector('#e-id_number').textContent !== '');
  assert(await page.getAttribute('#f-id', 'aria-invalid') === 'true', 'the ID field is marked invalid');
  await page.screenshot({ path: shots + '/book-' + lang + '-error.png', fullPage: true });
  await axe(page, lang + ' with an error');

  // Booked.
  await page.fill('#f-id', idOf(person).toLowerCase());
  await page.click('#submit');
  await page.waitForSelector('#result:not(.hidden)');
  const code = (await page.textContent('#r-code')).replace(/\s/g, '');
  assert(/^[A-Z2-9]{8}$/.test(code), 'booking code ' + code);
  // The QR image loads after the result shows: wait for it (a busy
  // machine took longer than the check of it once).
  await page.waitForFunction(() => { const q = document.querySelector('#r-qr'); return q.complete && q.naturalWidth > 0; }, null, { timeout: 15000 })
    .catch(() => assert(false, 'the QR code shows'));
  const person_ = await page.textContent('#r-person');
  assert(person_.includes('*') && person_.includes('138****0001'), 'the person is masked: ' + person_);
  await noOverflow(page, lang + ' booked');
  await page.screenshot({ path: shots + '/book-' + lang + '-done.png', fullPage: true });
  await axe(page, lang + ' booked');
  mark(lang + ': booked ' + code);

  // The calendar file: ical.js reads the event at 10:00 in Shanghai.
  const href = await page.getAttribute('#r-ics', 'href');
  const ics = await page.evaluate(async (h) => { const r = await fetch(h); return { type: r.headers.get('content-type'), text: await r.text() }; }, href);
  assert(ics.type.startsWith('text/calendar'), 'ics content type ' + ics.type);
  const cal = new ICAL.Component(ICAL.parse(ics.text));
  const tz = cal.getFirstSubcomponent('vtimezone');
  assert(tz && tz.getFirstPropertyValue('tzid') === 'Asia/Shanghai', 'VTIMEZONE Asia/Shanghai');
  ICAL.TimezoneService.register(tz);
  const ev = new ICAL.Event(cal.getFirstSubcomponent('vevent'));
  assert(ev.startDate.zone && ev.startDate.zone.tzid === 'Asia/Shanghai', 'DTSTART zone ' + (ev.startDate.zone && ev.startDate.zone.tzid));
  assert(ev.startDate.toJSDate().toISOString() === '2031-03-04T02:00:00.000Z', 'start ' + ev.startDate.toJSDate().toISOString());
  assert(ev.endDate.toJSDate().toISOString() === '2031-03-04T02:30:00.000Z', 'end ' + ev.endDate.toJSDate().toISOString());
  assert(ev.summary.includes(lang === 'en' ? 'Real estate registration' : '不动产登记'), 'summary ' + ev.summary);
  assert(ev.description.includes(code), 'the description has the code');
  assert(!ics.text.includes(idOf(person)) && !ics.text.includes('13800000001'), 'the ics holds no ID number or phone');

  if (lang === 'en') {
    // Cancel from the page.
    await page.click('#r-cancel');
    await page.waitForFunction(() => document.querySelector('#result').classList.contains('cancelled'));
    assert((await page.textContent('#r-status')) === 'Cancelled', 'status after cancelling');
    await page.screenshot({ path: shots + '/book-en-cancelled.png', fullPage: true });
    mark('en: cancelled');
  } else {
    // The same person cannot take a second slot of the service that day.
    await page.click('#r-new');
    await book(page, 'property', '2031-03-04', '11:00', person, '张三');
    await page.waitForFunction(() => document.querySelector('#form-error').textContent !== '');
    const msg = await page.textContent('#form-error');
    assert(msg.includes('上限'), 'limit message: ' + msg);
    // Find the booking again by its code.
    await page.click('#find summary');
    await page.fill('#q-code', code.toLowerCase());
    await page.fill('#q-last4', idOf(person).slice(-4));
    await page.click('#find-form button');
    await page.waitForSelector('#result:not(.hidden)');
    assert((await page.textContent('#r-code')).replace(/\s/g, '') === code, 'found again');
  }
  assert(page.errors.length === 0, lang + ': ' + page.errors.join('\n'));
  await page.context().close();
}

// Staff: the day's bookings, a check-in at 09:40 on Tuesday.
mark('staff');
await fetch(base + '/test/clock', { method: 'POST', body: JSON.stringify({ to: '2031-03-04T09:40:00+08:00' }) });
const login = await (await fetch(base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ username: 'admin', password: '` + civiqtest.AdminPassword + `' }) })).json();
const staff = await civiq.newPage({ viewport: { width: 1280, height: 800 } });
staff.errors = [];
staff.on('pageerror', (e) => staff.errors.push('pageerror: ' + e.message));
await staff.context().addCookies([{ name: 'civiq_session', value: login.token, url: base }]);
await staff.goto(base + '/halls/demo/bookings?date=2031-03-04', { waitUntil: 'load' });
await staff.waitForSelector('#bookings tbody tr[data-code]');
const rows = await staff.$$eval('#bookings tbody tr[data-code]', (trs) => trs.map((tr) => tr.textContent));
assert(rows.length === 2, 'two bookings listed: ' + rows.length);
assert(rows.every((r) => r.includes('****') && !r.includes('13800000001')), 'the list is masked');
const booked = await staff.$eval('#bookings tbody tr.st-booked', (tr) => tr.dataset.code);
await staff.fill('#c-code', booked);
await staff.fill('#c-last4', idOf(1).slice(-4));
await staff.click('#checkin-form button');
await staff.waitForSelector('#checkin-result.ok');
const res = await staff.textContent('#checkin-result');
assert(/B\d{3}/.test(res), 'checked in with a ticket: ' + res);
await staff.waitForSelector('#bookings tbody tr.st-checked_in');
await staff.screenshot({ path: shots + '/bookings-staff.png', fullPage: true });
await axe(staff, 'staff page');
assert(staff.errors.length === 0, 'staff: ' + staff.errors.join('\n'));
mark('done');
`
