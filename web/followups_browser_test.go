package web_test

import (
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestFollowUpDeskBrowser drives the 好差评 desk in Chromium: the list with
// its filters and the overdue case in red, the phone masked and read in
// clear on request, a case taken through 核实, 整改, 已整改 with its public
// summary and 回访 with the citizen's view, another extended once and
// found invalid by two managers (the second in English on a phone); the
// dashboard's ratings panel and the public results page in both languages.
// axe finds no serious violation; screenshots go to $CIVIQ_SCREENSHOTS.
func TestFollowUpDeskBrowser(t *testing.T) {
	browsertest.Require(t)
	d := newDeskHall(t)
	browsertest.RunShots(t, deskScript, map[string]string{
		"CIVIQ_URL": d.URL, "CIVIQ_MGR": d.Mgr, "CIVIQ_MGR2": d.Mgr2,
		"CIVIQ_OVERDUE": d.Overdue.Number, "CIVIQ_FRESH": d.Fresh.Number, "CIVIQ_CASE": d.CaseNumber,
	})
}

const deskScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const overdue = process.env.CIVIQ_OVERDUE, fresh = process.env.CIVIQ_FRESH;

async function open(token, width, height, lang) {
  const browser = await civiq.launch();
  const ctx = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  const cookies = [{ name: 'civiq_lang', value: lang, url: base }];
  if (token) cookies.push({ name: 'civiq_session', value: token, url: base });
  await ctx.addCookies(cookies);
  return watch(await ctx.newPage());
}
async function shot(page, name) {
  if (!shots) return;
  await page.evaluate(() => document.fonts && document.fonts.ready);
  await page.screenshot({ path: shots + '/' + name + '.png', fullPage: true });
}
const rows = (page) => page.$$eval('#fu-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
const moves = (page) => page.$$eval('#fu-moves button', (bs) => bs.map((b) => b.dataset.to));
const wider = (page, inside) => page.evaluate((inside) => {
  const w = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')].filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > w + 1 && !(inside && e.closest(inside)); })
    .map((e) => e.tagName + '.' + e.className).slice(0, 5);
}, inside);
async function move(page, to, fill) {
  await page.click('#fu-moves button[data-to="' + to + '"]');
  for (const [sel, v] of Object.entries(fill || {})) await page.fill(sel, v);
}
const statusIs = (page, s) => page.waitForFunction((s) => document.body.dataset.followupStatus === s, s);

// ---- the dashboard's ratings panel ----
let page = await open(process.env.CIVIQ_MGR, 1920, 1080, 'zh-CN');
await page.goto(base + '/halls/demo/dashboard', { waitUntil: 'load' });
await page.waitForFunction(() => document.getElementById('rt-open').textContent === '2');
eq(await page.textContent('#rt-overdue'), '1', 'overdue on the dashboard');
eq(await page.textContent('#rt-rate'), '50%', 'satisfaction today');
eq(await page.$$eval('#db-rates tbody tr', (trs) => trs.filter((tr) => tr.querySelector('.rt-bar')).length), 2, 'a bar for each level given today, none for the others');
const levels = await page.$$eval('#db-rates .rt-level', (ths) => ths.map((th) => [th.textContent, th.getClientRects().length, th.getBoundingClientRect().height]));
assert(levels.length === 5 && levels[4][0] === '非常不满意', 'levels ' + JSON.stringify(levels));
const lh = levels.map((l) => l[2]);
assert(Math.max(...lh) - Math.min(...lh) < 2, '非常不满意 breaks in the panel: ' + JSON.stringify(levels));
await shot(page, 'dashboard-ratings-1920-zh');
await axe(page, 'dashboard with ratings');
clean(page, 'dashboard');
await page.click('#db-rates a[href$="overdue=1"]');
await page.waitForURL(/followups\?overdue=1/);
await page.waitForFunction(() => document.querySelectorAll('#fu-table tbody tr').length === 1);
assert((await rows(page))[0].includes(overdue), 'the overdue link lists the overdue case');

// ---- the desk, in Chinese ----
await page.goto(base + '/halls/demo/followups', { waitUntil: 'load' });
await page.waitForFunction(() => document.querySelectorAll('#fu-table tbody tr').length === 2);
let r = await rows(page);
const ro = r.find((x) => x.includes(overdue)), rf = r.find((x) => x.includes(fresh));
assert(ro && ro.includes('非常不满意') && ro.includes('等候时间过长、服务态度差') && ro.includes('等了两个小时没人理') && ro.includes('clerk') &&
  ro.includes('138****1111') && ro.includes('已逾期') && ro.includes(process.env.CIVIQ_CASE), 'overdue row ' + ro);
assert(rf && rf.includes('不满意') && rf.includes('业务不熟练') && rf.includes('剩'), 'fresh row ' + rf);
assert(!r.join().includes('13800001111'), 'the list masks the phone');
const red = await page.$eval('#fu-table tr.overdue .fu-over', (e) => getComputedStyle(e).color);
eq(red, 'rgb(179, 38, 30)', 'overdue in red');
await shot(page, 'followups-list-1920-zh');
await axe(page, 'desk list');
// the filters
await page.check('#fu-overdue');
await page.waitForFunction(() => document.querySelectorAll('#fu-table tbody tr').length === 1);
await page.uncheck('#fu-overdue');
await page.selectOption('#fu-staff', 'mgr');
await page.waitForFunction(() => document.getElementById('fu-count').textContent.includes('没有'));
await page.selectOption('#fu-staff', 'clerk');
await page.waitForFunction(() => document.querySelectorAll('#fu-table tbody tr').length === 2);
await page.selectOption('#fu-counter', '1');
await page.waitForFunction(() => document.getElementById('fu-count').textContent.includes('没有'));
await page.selectOption('#fu-counter', '6');
await page.waitForFunction(() => document.querySelectorAll('#fu-table tbody tr').length === 2);
assert(new URL(page.url()).searchParams.get('staff') === 'clerk', 'the address keeps the filters');

// the overdue case: no extension once overdue; the phone read on request
await page.click('#fu-table button:has-text("' + overdue + '")');
await statusIs(page, 'open');
eq(await moves(page), ['verifying', 'rejection_requested'], 'moves from open, overdue');
assert((await page.textContent('#fu-phone')) === '138****1111', 'masked in the case');
await page.click('#fu-reveal');
await page.waitForFunction(() => document.getElementById('fu-phone').textContent === '13800001111');
assert((await page.textContent('#fu-reveal-note')).includes('审计'), 'the reading is said to be audited');
await shot(page, 'followups-case-open-1920-zh');
await axe(page, 'an open case');
// 核实: a note is needed
await move(page, 'verifying');
await page.click('#fu-submit');
assert((await page.textContent('#fu-error')).includes('处理说明'), 'note asked: ' + await page.textContent('#fu-error'));
await page.fill('#fu-note', '已电话联系，情况属实');
await page.click('#fu-submit');
await statusIs(page, 'verifying');
eq(await moves(page), ['rectifying', 'rejection_requested'], 'moves from verifying');
await move(page, 'rectifying', { '#fu-note': '窗口增加引导员' });
await page.click('#fu-submit');
await statusIs(page, 'rectifying');
// A phone number in the summary, which is published: refused at the field.
await move(page, 'rectified', { '#fu-note': '已增派人员', '#fu-public': '已回电 138 0000 1111，增开窗口。' });
assert(await page.isVisible('#fu-summary-f') && !(await page.isVisible('#fu-view-f')), 'the summary, not the view, when put right');
await page.click('#fu-submit');
await page.waitForFunction(() => document.getElementById('fu-public').getAttribute('aria-invalid') === 'true');
eq(await page.textContent('#fu-error'), '公示说明将公开，请勿写入手机号码或身份证号码。', 'a phone in the summary');
page.errors = page.errors.filter((e) => !/HTTP 400 .*\/transition$/.test(e)); // the refusal, expected
await page.fill('#fu-public', '高峰时段增开一个综合窗口，并安排引导员。');
await page.click('#fu-submit');
await statusIs(page, 'rectified');
await move(page, 'revisited', { '#fu-note': '回访群众' });
assert(await page.isVisible('#fu-view-f'), 'the citizen view at the call back');
await page.click('#fu-submit');
assert((await page.textContent('#fu-error')).includes('群众'), 'view asked: ' + await page.textContent('#fu-error'));
await page.check('input[name=fu-view][value=satisfied]');
await shot(page, 'followups-revisit-1920-zh');
await axe(page, 'the call back form');
await page.click('#fu-submit');
await statusIs(page, 'revisited');
assert(!(await page.isVisible('#fu-move')) && await page.isVisible('#fu-closed'), 'a closed case offers no move');
const hist = await page.$$eval('#fu-history li', (lis) => lis.map((li) => li.textContent));
assert(hist.length === 5 && hist[1].includes('已电话联系') && hist[1].includes('mgr') && hist[4].includes('满意'), 'history ' + hist);

// the fresh case: one extension, then asked to be found invalid
await page.click('#fu-table button:has-text("' + fresh + '")');
await statusIs(page, 'open');
eq(await moves(page), ['verifying', 'rejection_requested', 'extend'], 'moves from open');
const before = await page.textContent('#fu-deadline');
await move(page, 'extend', { '#fu-note': '需跨部门核实' });
await page.click('#fu-submit');
await page.waitForFunction(() => !document.querySelector('#fu-moves button[data-to="extend"]'));
assert((await page.textContent('#fu-deadline')) !== before && (await page.textContent('#fu-deadline')).includes('已延期'), 'extended: ' + await page.textContent('#fu-deadline'));
await move(page, 'rejection_requested', { '#fu-note': '调取录像' });
await page.click('#fu-submit');
assert((await page.textContent('#fu-error')).includes('理由'), 'reason asked');
await page.fill('#fu-reason', '录像显示群众未到窗口办理，评价对象有误');
await page.click('#fu-submit');
await statusIs(page, 'rejection_requested');
eq(await moves(page), ['verifying'], 'the one who asked cannot approve');
assert(await page.isVisible('#fu-wait'), 'told a second person approves');
await shot(page, 'followups-rejection-asked-1920-zh');
await axe(page, 'rejection asked');
clean(page, 'desk zh');

// ---- a second manager approves, in English, on a phone ----
page = await open(process.env.CIVIQ_MGR2, 390, 844, 'en');
await page.goto(base + '/halls/demo/followups?status=all', { waitUntil: 'load' });
await page.waitForFunction(() => document.querySelectorAll('#fu-table tbody tr').length === 2);
await page.click('#fu-table button:has-text("' + fresh + '")');
await statusIs(page, 'rejection_requested');
eq(await moves(page), ['verifying', 'rejected'], 'moves for a second manager');
assert((await page.textContent('#fu-chip')) === 'Invalid: awaiting approval', 'English status');
await move(page, 'rejected', { '#fu-note': 'Agreed after watching the recording' });
await shot(page, 'followups-approve-390-en');
await axe(page, 'approve, phone en');
let over = await wider(page, '.fu-table');
assert(over.length === 0, 'wider than the phone: ' + over);
await page.click('#fu-submit');
await statusIs(page, 'rejected');
await page.waitForFunction(() => [...document.querySelectorAll('#fu-table tbody tr')].some((tr) => tr.textContent.includes('Invalid rating')));
clean(page, 'desk en');

// ---- the public results, both languages, a phone and a desk ----
for (const [lang, w, h] of [['zh-CN', 390, 844], ['en', 390, 844], ['zh-CN', 1366, 900]]) {
  page = await open('', w, h, lang);
  await page.goto(base + '/halls/demo/results', { waitUntil: 'load' });
  const text = await page.textContent('main');
  assert(text.includes(lang === 'en' ? 'Satisfaction rate' : '满意率'), 'results heading ' + lang);
  assert(text.includes('高峰时段增开一个综合窗口'), 'the public summary is published');
  for (const secret of ['13800001111', '1111', '等了两个小时', 'clerk', overdue, fresh, process.env.CIVIQ_CASE]) assert(!text.includes(secret), 'results show ' + secret);
  const lv = await page.$$eval('.rs-level', (els) => els.map((e) => [e.textContent, e.getBoundingClientRect().height]));
  const hs = lv.map((l) => l[1]);
  assert(Math.max(...hs) - Math.min(...hs) < 2, 'a level breaks: ' + JSON.stringify(lv));
  over = await wider(page);
  assert(over.length === 0, 'results wider than the screen: ' + over);
  await shot(page, 'results-' + w + '-' + lang);
  await axe(page, 'results ' + lang + ' ' + w);
  clean(page, 'results ' + lang);
}
console.log('desk ok');
`

// TestDisplayIdleResultsBrowser: a display with no call yet shows, where
// the calls will be, the QR code of the hall's published 好差评 results,
// inside the screen, in both languages, standing and lying; the first call
// takes its place.
func TestDisplayIdleResultsBrowser(t *testing.T) {
	browsertest.Require(t)
	ds := civiqtest.New(t)
	browsertest.RunShots(t, displayIdleScript, map[string]string{"CIVIQ_URL": ds.URL, "CIVIQ_TOKEN": ds.Admin})
}

const displayIdleScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
for (const [w, h, lang] of [[1920, 1080, 'zh-CN'], [1080, 1920, 'en']]) {
  const b = await civiq.launch();
  const ctx = await b.newContext({ viewport: { width: w, height: h } });
  await ctx.addCookies([{ name: 'civiq_lang', value: lang, url: base }]);
  const page = watch(await ctx.newPage());
  await page.goto(base + '/halls/demo/display', { waitUntil: 'load' });
  await page.waitForSelector('#d-results', { state: 'visible' });
  await page.waitForFunction(() => { const i = document.querySelector('#d-results img'); return i.complete && i.naturalWidth > 0; });
  const box = await page.$eval('#d-results', (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; });
  assert(box[0] >= 0 && box[1] >= 0 && box[2] <= innerWidthOf(w) && box[3] <= h, 'the results code leaves the screen: ' + box);
  eq(await page.getAttribute('#d-results', 'href'), '/halls/demo/results', 'the results link');
  if (shots) await page.screenshot({ path: shots + '/display-idle-results-' + w + '-' + lang + '.png' });
  await axe(page, 'display idle ' + lang);
  clean(page, 'display idle ' + lang);
  await b.close();
}
function innerWidthOf(w) { return w; }
// The first call takes the panel back.
const h = { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN, 'Content-Type': 'application/json' };
const b = await civiq.launch();
const page = watch(await (await b.newContext({ viewport: { width: 1920, height: 1080 } })).newPage());
await page.goto(base + '/halls/demo/display', { waitUntil: 'load' });
await page.waitForSelector('#d-results', { state: 'visible' });
await fetch(base + '/api/v1/halls/demo/tickets', { method: 'POST', headers: h, body: JSON.stringify({ service_id: 'general' }) });
await fetch(base + '/api/v1/halls/demo/counters/1/call-next', { method: 'POST', headers: h });
await page.waitForSelector('#d-results', { state: 'hidden' });
clean(page, 'display after a call');
console.log('display idle ok');
`
