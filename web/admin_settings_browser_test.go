package web_test

import (
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestAdminSettingsBrowser: the booking settings (with each service's
// default handling time), the hall's calendar days and the 好差评 settings
// are set on /admin, with the page's checks and the server's next to the
// field; what is saved is what the API then answers, and settings not on
// the form are kept. axe on each section, in both languages.
func TestAdminSettingsBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t)
	browsertest.RunShots(t, adminSettingsScript, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword, "CIVIQ_TOKEN": s.Admin})
}

const adminSettingsScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const api = async (path) => (await (await fetch(base + path, { headers: { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN } })).json());
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
assert(login.ok(), 'sign in');
const page = watch(await ctx.newPage(), /\/(booking-settings|rating-settings|calendar\/days\/2201-01-01)$/);
const errorOf = (name) => page.$eval('[name="' + name + '"]', (e) => { const p = (e.closest('.field') || e.parentElement).querySelector('.field-error'); return p ? p.textContent : ''; });
const saved = (path) => page.waitForResponse((r) => r.request().method() !== 'GET' && new URL(r.url()).pathname === path);

mark('booking');
await page.goto(base + '/admin?hall=demo#booking');
await page.waitForSelector('#f-booking tr[data-service="tax"]');
eq(await page.$$eval('#f-booking tr[data-service]', (es) => es.length), 4, 'a row per service');
await axe(page, 'booking zh');
await page.fill('[name="services.tax.handling_seconds"]', '20');
await page.fill('[name="max_per_week"]', '0');
await page.click('#f-booking [type=submit]');
assert((await errorOf('services.tax.handling_seconds')).includes('30'), 'the page checks the handling time: ' + await errorOf('services.tax.handling_seconds'));
assert((await errorOf('max_per_week')) !== '', 'the page checks the range');
await page.screenshot({ path: shots + '/admin-booking-errors.png', fullPage: true });
await page.fill('[name="services.tax.handling_seconds"]', '1200');
await page.fill('[name="max_per_week"]', '4');
await page.check('[name="services.social.closed"]');
let r = saved('/api/v1/halls/demo/booking-settings');
await page.click('#f-booking [type=submit]');
eq((await r).status(), 200, 'booking saved');
let bk = (await api('/api/v1/halls/demo/booking-settings')).settings;
eq([bk.services.tax.handling_seconds, bk.max_per_week, bk.services.social.closed, bk.phone_limit_per_hour], [1200, 4, true, 10], 'saved booking settings, the others kept');
// The server's own check, next to its field: a slot longer than the
// page's range is refused by the server too.
await page.$eval('[name="slot_minutes"]', (e) => { e.max = '9999'; });
await page.fill('[name="slot_minutes"]', '500');
r = saved('/api/v1/halls/demo/booking-settings');
await page.click('#f-booking [type=submit]');
eq((await r).status(), 400, 'the server refuses a 500-minute slot');
assert((await errorOf('slot_minutes')) !== '', 'the server names the field');
await page.fill('[name="slot_minutes"]', '30');

mark('ratings');
await page.click('a[data-tab="ratings"]');
await page.waitForSelector('#f-ratings [name="followup_working_days"]');
await axe(page, 'ratings zh');
await page.fill('[name="followup_working_days"]', '0');
await page.click('#f-ratings [type=submit]');
assert((await errorOf('followup_working_days')) !== '', 'the page checks the deadline');
await page.fill('[name="followup_working_days"]', '7');
await page.check('[name="default_basic_satisfied"]');
r = saved('/api/v1/halls/demo/rating-settings');
await page.click('#f-ratings [type=submit]');
eq((await r).status(), 200, 'ratings saved');
const rs = (await api('/api/v1/halls/demo/rating-settings')).settings;
eq([rs.followup_working_days, rs.rater_window_minutes, rs.default_basic_satisfied], [7, 5, true], 'saved rating settings');
await page.screenshot({ path: shots + '/admin-ratings.png', fullPage: true });

mark('calendar');
await page.click('a[data-tab="calendar"]');
await page.waitForSelector('#cal-days tbody tr');
await axe(page, 'calendar zh');
const year = await page.$eval('#cal-year', (e) => e.value);
await page.fill('#cal-date', year + '-12-31');
await page.selectOption('#cal-kind', 'off');
await page.fill('#cal-name', '闭馆盘点');
r = saved('/api/v1/halls/demo/calendar/days/' + year + '-12-31');
await page.click('#f-calday [type=submit]');
eq((await r).status(), 200, 'day saved');
await page.waitForFunction((d) => [...document.querySelectorAll('#cal-days td')].some((td) => td.textContent === d), year + '-12-31');
const row = await page.$$eval('#cal-days tr', (trs, d) => trs.filter((tr) => tr.textContent.includes(d)).map((tr) => tr.textContent), year + '-12-31');
assert(row.length === 1 && row[0].includes('闭馆盘点') && row[0].includes('本大厅'), 'the hall\'s day is listed: ' + row);
await page.screenshot({ path: shots + '/admin-calendar.png', fullPage: true });
// A date the calendar does not cover: the server names the field.
await page.fill('#cal-date', '2201-01-01');
r = saved('/api/v1/halls/demo/calendar/days/2201-01-01');
await page.click('#f-calday [type=submit]');
eq((await r).status(), 400, 'a date past the calendar');
assert((await errorOf('date')) !== '', 'the server\'s error is next to the date: ' + await page.$eval('#f-calday', (f) => f.textContent));
r = saved('/api/v1/halls/demo/calendar/days/' + year + '-12-31');
await page.click('#cal-days tr:has-text("闭馆盘点") button');
eq((await r).status(), 204, 'day removed');
await page.waitForFunction(() => !document.querySelector('#cal-days').textContent.includes('闭馆盘点'));

mark('English');
await page.goto(base + '/admin?hall=demo&lang=en#booking');
await page.waitForSelector('#f-booking tr[data-service="tax"]');
eq(await page.$eval('[name="services.tax.handling_seconds"]', (e) => e.value), '1200', 'the saved handling time');
await axe(page, 'booking en');
await page.screenshot({ path: shots + '/admin-booking-en.png', fullPage: true });
for (const tab of ['calendar', 'ratings']) {
  await page.click('a[data-tab="' + tab + '"]');
  await axe(page, tab + ' en');
}
clean(page, 'admin settings');
console.log('ok');
`

// TestAdminCalendarYears: the calendar's years are this one and the next
// in the hall's own zone. On 1 January 2027 at 05:00 UTC it is still 2026
// in Los Angeles: a hall there offers 2026 and 2027 (it offered Shanghai's
// 2027 and 2028). A year whose holidays are neither built in nor entered
// by the hall is said to be so above its (empty) list of days, in the
// page's language; a built-in year says nothing (the admin read
// "法定节假日和调休已内置" above an empty 2027 and bookings opened on its
// New Year's Day).
func TestAdminCalendarYears(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t)
	s.Call(t, "PUT", "/api/v1/halls/la", s.Admin, map[string]any{"name": "洛杉矶大厅", "name_en": "LA hall", "timezone": "America/Los_Angeles"}, nil)
	browsertest.RunShots(t, `
const base = process.env.CIVIQ_URL;
const browser = await civiq.launch();
const la = await browser.newContext({ viewport: { width: 1366, height: 900 } });
await la.clock.install({ time: Date.parse('2027-01-01T05:00:00Z') });
const login = await la.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
assert(login.ok(), 'sign in');
const lap = await la.newPage();
await lap.goto(base + '/admin?hall=la#calendar');
await lap.waitForFunction(() => document.querySelectorAll('#cal-year option').length === 2);
eq(await lap.$$eval('#cal-year option', (os) => os.map((o) => o.value)), ['2026', '2027'], 'the years in Los Angeles');
await la.close();
for (const [lang, when, years] of [['zh-CN', '2026-06-01T04:00:00Z', []], ['en', '2099-06-01T04:00:00Z', ['2099', '2100']]]) {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  await ctx.clock.install({ time: Date.parse(when) });
  const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
  assert(login.ok(), 'sign in');
  // The browser's clock is not the server's: the notifications' day
  // report of another day is refused, which this test is not about.
  const page = watch(await ctx.newPage(), /\/notifications\//);
  await page.goto(base + '/admin?hall=demo&lang=' + lang + '#calendar');
  await page.waitForSelector('#cal-days tbody tr');
  if (!years.length) {
    eq(await page.$eval('#cal-year', (e) => e.value), '2026', 'this year');
    assert(await page.$eval('#cal-unknown', (e) => e.hidden), 'a built-in year has no note: ' + await page.textContent('#cal-unknown'));
  }
  for (const y of years) {
    await page.selectOption('#cal-year', y);
    await page.waitForFunction((y) => !document.querySelector('#cal-unknown').hidden && document.querySelector('#cal-unknown').textContent.startsWith(y), y);
    const note = await page.textContent('#cal-unknown');
    assert(note.includes('State Council') && note.includes('bookings'), 'the note says what to do and what it means: ' + note);
    await axe(page, 'calendar ' + y);
  }
  await page.screenshot({ path: process.env.CIVIQ_SHOTS + '/admin-calendar-' + lang + '.png' });
  clean(page, 'calendar ' + lang);
  await ctx.close();
}
console.log('ok');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword})
}

// TestAdminRatingsProvinceBrowser: the 好差评 settings on /admin carry the
// hall's 行政区划代码, which every record to the provincial platform
// carries, and the province's rating page with its callback key (write-only:
// the form says whether it is set, and a save without it keeps it), each
// error next to its field, in both languages, on a phone too. The form had
// neither: an operator following docs/api.md section 17 on the admin page
// could not set them, and the records went with an empty region_code.
func TestAdminRatingsProvinceBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t)
	browsertest.RunShots(t, `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const api = async (path) => (await (await fetch(base + path, { headers: { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN } })).json());
const browser = await civiq.launch();
for (const [lang, width] of [['zh-CN', 1366], ['en', 360]]) {
  mark(lang);
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
  assert(login.ok(), 'sign in');
  const page = watch(await ctx.newPage(), /\/rating-settings$/);
  const errorOf = (name) => page.$eval('[name="' + name + '"]', (e) => { const p = (e.closest('.field') || e.parentElement).querySelector('.field-error'); return p ? p.textContent : ''; });
  const saved = () => page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).pathname === '/api/v1/halls/demo/rating-settings');
  await page.goto(base + '/admin?hall=demo&lang=' + lang + '#ratings');
  await page.waitForSelector('#f-ratings [name="region_code"]');
  const text = await page.$eval('#f-ratings', (f) => f.innerText);
  for (const key of ['admin.rs.', 'admin.err.']) assert(!text.includes(key), lang + ': a catalogue key on the page: ' + text);
  if (lang === 'en') assert(!/[\u4e00-\u9fff]{2}/.test(text.replace(/好差评|行政区划代码/g, '')), 'Chinese on the English form: ' + text);
  await axe(page, 'ratings province ' + lang);
  // The page checks the code; the server names the key it lacks.
  await page.fill('[name="region_code"]', '12345');
  await page.click('#f-ratings [type=submit]');
  assert((await errorOf('region_code')) !== '', lang + ': the page checks the region code');
  await page.fill('[name="region_code"]', '440305');
  await page.fill('[name="province_page_url"]', 'https://hcp.example.gov.cn/pj?bj={case_number}&back={return_url}');
  let r = saved();
  await page.click('#f-ratings [type=submit]');
  eq((await r).status(), 400, lang + ': a page without its key');
  assert((await errorOf('province_callback_key')) !== '', lang + ': the key is named: ' + await page.$eval('#f-ratings', (f) => f.innerText));
  if (lang === 'zh-CN') assert(/[\u4e00-\u9fff]/.test(await errorOf('province_callback_key')), 'the error in Chinese: ' + await errorOf('province_callback_key'));
  await page.fill('[name="province_callback_key"]', 'callback-key-0123456789');
  r = saved();
  await page.click('#f-ratings [type=submit]');
  eq((await r).status(), 200, lang + ': saved');
  let rs = (await api('/api/v1/halls/demo/rating-settings')).settings;
  eq([rs.region_code, rs.province_page_url, rs.province_callback_key_set, rs.followup_working_days], ['440305', 'https://hcp.example.gov.cn/pj?bj={case_number}&back={return_url}', true, 15], lang + ': the settings');
  // Saved again as shown: the key is kept, the form says it is set.
  await page.reload();
  await page.waitForSelector('#f-ratings [name="region_code"]');
  eq(await page.$eval('[name="region_code"]', (e) => e.value), '440305', lang + ': the code shown');
  eq(await page.$eval('[name="province_callback_key"]', (e) => e.value), '', lang + ': the key never shown');
  const hint = await page.$eval('#f-ratings [name="province_callback_key"]', (e) => document.getElementById(e.getAttribute('aria-describedby')).textContent);
  assert(hint.includes(lang === 'en' ? 'Set' : '已设置'), lang + ': the key is said to be set: ' + hint);
  r = saved();
  await page.click('#f-ratings [type=submit]');
  eq((await r).status(), 200, lang + ': saved without the key');
  rs = (await api('/api/v1/halls/demo/rating-settings')).settings;
  assert(rs.province_callback_key_set, lang + ': the key kept');
  const wide = await page.evaluate(() => document.querySelector('#f-ratings').scrollWidth <= document.querySelector('#f-ratings').clientWidth);
  assert(wide, lang + ': the form fits its card');
  await page.screenshot({ path: shots + '/admin-ratings-province-' + lang + '.png', fullPage: true });
  // Turned off: no page, no key.
  await page.fill('[name="province_page_url"]', '');
  r = saved();
  await page.click('#f-ratings [type=submit]');
  eq((await r).status(), 200, lang + ': page off');
  rs = (await api('/api/v1/halls/demo/rating-settings')).settings;
  eq([rs.province_page_url || '', !!rs.province_callback_key_set, rs.region_code], ['', false, '440305'], lang + ': off, the code kept');
  clean(page, 'ratings ' + lang);
  await ctx.close();
}
console.log('ok');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword, "CIVIQ_TOKEN": s.Admin})
}
