package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
)

// TestGuidesBrowser drives the query mode in Chromium on a phone (375x812)
// and on a kiosk standing 1080x1920, in Chinese and English: searching as
// one types (trigram and short words), the checklist, taking a ticket
// (remote on the phone, kiosk on a paired kiosk), then the staff's case
// intake and the citizen's progress page. axe finds no serious violation.
// Screenshots go to $CIVIQ_SCREENSHOTS (or a temporary directory).
func TestGuidesBrowser(t *testing.T) {
	browsertest.Require(t)
	gs := newGuideServer(t)
	kiosk := pairDevice(t, gs.Engine, civiq.DeviceKiosk, "")
	_, staff := gs.user(t, "clerk", civiq.RoleStaff, "demo")
	tk := gs.servedTicket(t, "social")
	// 帮办代办: a community grid worker is at the counter for the citizen.
	if _, err := gs.Engine.SetTicketBehalf(context.Background(), tk.ID, &civiq.OnBehalf{Role: civiq.BehalfGrid}); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("CIVIQ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	shots, _ = filepath.Abs(shots)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	out := browsertest.Run(t, guidesScript, map[string]string{
		"CIVIQ_URL": gs.URL, "CIVIQ_SHOTS": shots, "CIVIQ_KIOSK": kiosk, "CIVIQ_STAFF": staff, "CIVIQ_TICKET": tk.ID,
	})
	t.Logf("browser:\n%s", strings.TrimSpace(out))
	t.Logf("screenshots in %s", shots)
}

const guidesScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const assert = (ok, msg) => { if (!ok) throw new Error(msg); };
const t0 = Date.now();
const mark = (what) => console.log(((Date.now() - t0) / 1000).toFixed(1) + 's ' + what);

async function open(width, height, init) {
  const browser = await civiq.launch();
  const ctx = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  if (init) await init(ctx);
  return watch(await ctx.newPage());
}
async function shot(page, name) {
  await page.evaluate(() => document.fonts && document.fonts.ready);
  await page.screenshot({ path: shots + '/' + name + '.png' });
  await page.screenshot({ path: shots + '/' + name + '-full.png', fullPage: true });
}
// nothing sticks out sideways: the page fits its width
async function fits(page, when) {
  const over = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    return Array.from(document.querySelectorAll('body *')).filter((e) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.right > w + 1 && !e.closest('.gq-tabs, .gd-table, .ci-table');
    }).map((e) => e.tagName + '.' + e.className).slice(0, 5);
  });
  assert(over.length === 0, when + ': wider than the screen: ' + over.join(', '));
}
const firstName = (page) => page.$eval('#gq-list .gq-name', (e) => e.firstChild.textContent);

// ---- a phone, in Chinese ----
mark('phone, zh');
let page = await open(375, 812);
await page.goto(base + '/halls/demo/guides', { waitUntil: 'load' });
await fits(page, 'list 375');
await shot(page, 'guides-375-zh');
await axe(page, 'list');
await page.fill('#q', '社保卡');
await page.waitForFunction(() => new URLSearchParams(location.search).get('q') === '社保卡');
assert((await firstName(page)).startsWith('社会保障卡'), '社保卡 first finds ' + await firstName(page));
await page.fill('#q', '房产证');
await page.waitForFunction(() => new URLSearchParams(location.search).get('q') === '房产证');
assert(/不动产|国有建设用地/.test(await firstName(page)), '房产证 first finds ' + await firstName(page));
await page.fill('#q', '户口');
await page.waitForFunction(() => new URLSearchParams(location.search).get('q') === '户口');
assert((await firstName(page)).startsWith('户口迁移'), '户口 first finds ' + await firstName(page));
await page.fill('#q', '没有这种事项');
await page.waitForSelector('#gq-list .gq-empty');
await page.fill('#q', '不动产');
await page.waitForFunction(() => document.querySelectorAll('#gq-list .gq-item').length >= 10);
await shot(page, 'guides-search-375-zh');
// the service tabs keep the words
const tab = await page.$eval('.gq-tabs a[data-service="property"]', (a) => a.getAttribute('href'));
assert(tab.includes('q=') && tab.includes('service=property'), 'tab ' + tab);
await page.click('.gq-item >> nth=0');
await page.waitForSelector('#take');
await fits(page, 'guide 375');
await shot(page, 'guide-375-zh');
await axe(page, 'guide');
// the checklist counts the required documents
const req = await page.$$eval('.checklist input[data-required="true"]', (bs) => bs.length);
for (let i = 0; i < req; i++) await page.check('.checklist input[data-required="true"] >> nth=' + i);
assert(await page.$eval('#have', (e) => e.classList.contains('all')), 'all required ticked: ' + await page.textContent('#have'));
await page.reload();
assert(await page.$eval('#have', (e) => e.classList.contains('all')), 'the phone remembers the ticks');
// take a ticket: asked first, taken, undone, taken again, then the ticket's page
const guideURL = page.url();
await page.click('#take');
await page.waitForSelector('#take-confirm:not(.hidden)');
assert((await page.textContent('#take-q')).includes('B · 不动产登记'), 'the question names the service: ' + await page.textContent('#take-q'));
await axe(page, 'take: the question');
await shot(page, 'guide-take-confirm-375-zh');
await page.click('#take-no');
assert(await page.isHidden('#take-confirm'), 'back: no question, no ticket');
await page.click('#take');
await page.click('#take-yes');
await page.waitForSelector('#take-done:not(.hidden)');
const firstTaken = (await page.textContent('#take-done-msg')).trim();
assert(/^已取号 B\d{3}/.test(firstTaken), 'taken: ' + firstTaken);
await axe(page, 'take: taken, with undo');
await shot(page, 'guide-take-undo-375-zh');
await page.click('#take-undo');
await page.waitForFunction(() => /已撤销/.test(document.getElementById('take-msg').textContent));
assert(await page.isHidden('#take-done'), 'undone');
await page.click('#take');
await page.click('#take-yes');
await page.waitForSelector('#take-done:not(.hidden)');
await Promise.all([page.waitForURL(/\/t\/[a-z0-9]+$/), page.click('#take-follow')]);
await page.waitForSelector('#number');
assert(/^B\d{3}$/.test((await page.textContent('#number')).trim()), 'a property ticket: ' + await page.textContent('#number'));
// the same phone again: it holds a waiting ticket of the service already
await page.goto(guideURL, { waitUntil: 'load' });
await page.click('#take');
await page.click('#take-yes');
await page.waitForFunction(() => document.getElementById('take-msg').textContent.includes('已有该事项的等候号'));
await shot(page, 'guide-held-375-zh');
page.errors = page.errors.filter((e) => !/^HTTP 409 .*\/tickets$/.test(e)); // that refusal was the point
clean(page, 'phone zh');

// ---- a phone, in English ----
mark('phone, en');
page = await open(375, 812);
await page.goto(base + '/halls/demo/guides?lang=en', { waitUntil: 'load' });
assert((await page.getAttribute('html', 'lang')) === 'en', 'lang en');
await fits(page, 'list 375 en');
await shot(page, 'guides-375-en');
await page.fill('#q', '社保卡');
await page.waitForFunction(() => (document.querySelector('#gq-list .gq-name') || {}).textContent?.includes('social security'));
await page.goto(base + '/halls/demo/guides/demo-s-card', { waitUntil: 'load' });
await fits(page, 'guide 375 en');
await shot(page, 'guide-375-en');
await axe(page, 'guide en');
clean(page, 'phone en');

// ---- a kiosk standing, paired ----
mark('kiosk');
const asKiosk = async (ctx) => ctx.addInitScript((tok) => localStorage.setItem('civiq.device.demo', tok), process.env.CIVIQ_KIOSK);
page = await open(1080, 1920, asKiosk);
await page.goto(base + '/halls/demo/guides', { waitUntil: 'load' });
assert(await page.$eval('body', (b) => b.classList.contains('on-kiosk')), 'the kiosk is known');
await fits(page, 'list 1080');
await shot(page, 'guides-1080-zh');
await page.goto(base + '/halls/demo/guides/demo-p-transfer?print=0', { waitUntil: 'load' });
await fits(page, 'guide 1080');
await shot(page, 'guide-1080-zh');
await page.click('#take');
await page.click('#take-yes');
await page.waitForSelector('#g-ticket:not(.hidden)');
const num = (await page.textContent('#gt-number')).trim();
assert(/^B\d{3}$/.test(num), 'kiosk ticket ' + num);
await page.waitForFunction(() => document.getElementById('gt-back-in').textContent !== '');
await shot(page, 'guide-ticket-1080-zh');
clean(page, 'kiosk zh');
page = await open(1080, 1920, asKiosk);
await page.goto(base + '/halls/demo/guides?lang=en', { waitUntil: 'load' });
await shot(page, 'guides-1080-en');
await page.goto(base + '/halls/demo/guides/demo-p-transfer?print=0', { waitUntil: 'load' });
await shot(page, 'guide-1080-en');
clean(page, 'kiosk en');

// ---- case intake at the counter, then the citizen's progress ----
mark('intake');
const asStaff = async (ctx) => ctx.addCookies([{ name: 'civiq_session', value: process.env.CIVIQ_STAFF, url: base }]);
page = await open(1280, 900, asStaff);
await page.goto(base + '/halls/demo/cases/new?ticket=' + process.env.CIVIQ_TICKET, { waitUntil: 'load' });
await axe(page, 'intake');
await page.fill('#ci-q', '社保卡');
await page.waitForSelector('#ci-guides input[value="demo-s-card"]');
await page.check('#ci-guides input[value="demo-s-card"]');
await page.waitForSelector('#ci-mats:not(.hidden) tbody tr');
assert((await page.textContent('#ci-verdict')).includes('补正'), 'nothing received yet: ' + await page.textContent('#ci-verdict'));
await page.click('#ci-all');
assert((await page.textContent('#ci-verdict')).includes('受理'), 'all received: ' + await page.textContent('#ci-verdict'));
await page.fill('#ci-name', '张三');
await page.fill('#ci-id', '110105199003071230'); // a wrong check character
await page.click('#ci-submit');
await page.waitForFunction(() => document.getElementById('ci-error').textContent.includes('证件号码'));
assert(await page.evaluate(() => document.activeElement.id === 'ci-id'), 'the ID field gets the focus');
assert(await page.getAttribute('#ci-id', 'aria-invalid') === 'true', 'the ID field is marked invalid');
page.errors = page.errors.filter((e) => !e.startsWith('HTTP 400')); // that refusal was the point
await page.fill('#ci-phone', '1'); // another field: the ID's error stays
assert((await page.textContent('#ci-error')).includes('证件号码'), 'another field leaves the ID\'s error');
await shot(page, 'intake-error-1280-zh');
await page.fill('#ci-id', '110105199003071239');
assert(await page.textContent('#ci-error') === '' && !(await page.getAttribute('#ci-id', 'aria-invalid')),
  'the ID changed: its error is gone: ' + await page.textContent('#ci-error'));
await page.fill('#ci-phone', '13812345678');
// 帮办代办: the choice starts with the ticket's helper, and the clerk
// changes it (a family member came instead).
assert(await page.inputValue('#ci-behalf') === 'grid', 'the ticket\'s helper first: ' + await page.inputValue('#ci-behalf'));
assert((await page.textContent('#ci-behalf-hint')).includes('社区网格员'), 'the hint names it');
assert((await page.$$eval('#ci-behalf option', (os) => os.map((o) => o.textContent))).join() === '申请人本人,家属,社区网格员,窗口帮办,志愿者,受托代理人', 'the roles');
await page.selectOption('#ci-behalf', 'family');
await shot(page, 'intake-1280-zh');
await page.click('#ci-submit');
await page.waitForSelector('#ci-result:not(.hidden)');
const caseNo = (await page.textContent('#cr-number')).trim();
assert(/^\d{16}$/.test(caseNo), 'case number ' + caseNo);
assert((await page.textContent('#cr-doc')).includes('受理回执'), 'the receipt');
assert((await page.textContent('#cr-applicant')).trim() === '张*', 'masked on the receipt');
await page.waitForFunction(() => document.getElementById('cr-qr').complete && document.getElementById('cr-vqr').complete);
assert(!(await page.$eval('#cr-signed', (e) => e.classList.contains('hidden'))), 'the signed receipt QR code and code are printed');
assert(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/.test((await page.textContent('#cr-code')).trim()), 'the short code ' + await page.textContent('#cr-code'));
assert((await page.getAttribute('#cr-verify', 'href')).includes('/verify'), 'the receipt links its verification');
assert((await page.getAttribute('#cr-receipt', 'href')).startsWith('/receipts/'), 'the signed receipt is linked');
await shot(page, 'intake-receipt-1280-zh');
await page.emulateMedia({ media: 'print' });
await page.screenshot({ path: shots + '/intake-receipt-print.png', fullPage: true });
await page.emulateMedia({ media: 'screen' });
assert((await page.textContent('#ci-cases')).includes(caseNo), 'listed on the ticket');
const opened = await page.evaluate(async (n) => (await (await fetch('/api/v1/cases/' + n)).json()).case, caseNo);
assert(opened.on_behalf && opened.on_behalf.role === 'family' && opened.history[0].on_behalf.role === 'family', 'sent as on_behalf: ' + JSON.stringify(opened.on_behalf));
await page.click('#cr-again');
assert(await page.inputValue('#ci-behalf') === 'grid', 'the next case starts with the ticket\'s helper again');
clean(page, 'intake');
page = await open(1280, 900, asStaff);
await page.goto(base + '/halls/demo/cases/new?lang=en&ticket=' + process.env.CIVIQ_TICKET, { waitUntil: 'load' });
assert((await page.textContent('label[for=ci-behalf]')).includes("On the applicant's behalf"), 'English label');
assert(await page.inputValue('#ci-behalf') === 'grid' && (await page.textContent('#ci-behalf option:checked')).trim() === 'Community grid worker', 'English role');
assert((await page.textContent('#ci-behalf-hint')).includes('Community grid worker'), 'English hint');
await shot(page, 'intake-1280-en');
await axe(page, 'intake en');
clean(page, 'intake en');

mark('progress');
page = await open(375, 812);
await page.goto(base + '/c/' + caseNo, { waitUntil: 'load' });
await axe(page, 'lookup');
await page.fill('#last4', '1239');
await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
assert((await page.textContent('.gc-status')).includes('已受理'), 'accepted: ' + await page.textContent('.gc-status'));
assert(!(await page.content()).includes('张三'), 'no name in clear');
await fits(page, 'progress 375');
await shot(page, 'progress-375-zh');
await axe(page, 'progress');
clean(page, 'progress');
mark('done');
`

// TestGuideBookBrowser: a guide done by appointment leads to the booking
// page with its service chosen and its days shown, in the page's
// language; a guide not booked has no such link; the list's search
// example fits a phone's box. The guide said "预约办理: 支持" and led nowhere to book.
func TestGuideBookBrowser(t *testing.T) {
	browsertest.Require(t)
	gs := newGuideServer(t)
	browsertest.RunShots(t, `
const base = process.env.CIVIQ_URL;
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
const page = watch(await ctx.newPage());
for (const [lang, word] of [['zh-CN', '预约办理'], ['en', 'Book an appointment']]) {
  // The search's example fits the phone's box (it was cut to "如 社保-").
  await page.goto(base + '/halls/demo/guides?lang=' + lang);
  const fit = await page.$eval('#q', (q) => {
    const cs = getComputedStyle(q), c = document.createElement('canvas').getContext('2d');
    c.font = cs.fontWeight + ' ' + cs.fontSize + ' ' + cs.fontFamily;
    return { text: c.measureText(q.placeholder).width, box: q.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) };
  });
  // Chromium keeps room at the end for the search field's clear button.
  assert(fit.text <= fit.box - 16, lang + ': the search example is cut: ' + JSON.stringify(fit));
  await page.goto(base + '/halls/demo/guides/demo-p-mortgage?lang=' + lang);
  eq(await page.$('#book'), null, lang + ': a guide not by appointment has no booking link');
  await page.goto(base + '/halls/demo/guides/demo-p-transfer?lang=' + lang);
  eq((await page.textContent('#book')).trim(), word, lang + ': the link');
  await axe(page, 'guide ' + lang);
  await page.screenshot({ path: process.env.CIVIQ_SHOTS + '/guide-book-' + lang + '.png' });
  await Promise.all([page.waitForURL(/\/halls\/demo\/book\?service=property/), page.click('#book')]);
  await page.waitForFunction(() => !document.querySelector('#step-time').disabled && document.querySelectorAll('#slots .bslot').length > 0 || document.querySelector('#slots-status').textContent !== window.CIVIQ.t['book.pick_service']);
  eq(await page.$eval('input[name="service"]:checked', (i) => i.value), 'property', lang + ': the guide\'s service is chosen');
  assert(await page.$eval('input[name="date"]:checked', (i) => !!i.value), lang + ': a day is chosen');
  await page.screenshot({ path: process.env.CIVIQ_SHOTS + '/guide-book-page-' + lang + '.png' });
}
clean(page, 'guide book');
console.log('ok');
`, map[string]string{"CIVIQ_URL": gs.URL})
}
