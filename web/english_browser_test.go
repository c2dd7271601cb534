package web_test

import (
	"context"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
)

// TestEnglishCaseBrowser: a case in English, wherever its number leads —
// the citizen's progress page, the signed receipt, the staff's case desk —
// shows the guide's English name and dates in the English format, the same
// that civiq.js writes; nothing Chinese but what the citizen gave.
func TestEnglishCaseBrowser(t *testing.T) {
	browsertest.Require(t)
	gs := newGuideServer(t)
	ctx := context.Background()
	_, staff := gs.user(t, "clerk", civiq.RoleStaff, "demo")
	tk := gs.servedTicket(t, "social")
	c, err := gs.Engine.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-s-card",
		Applicant: civiq.Applicant{Name: "张三", IDType: "id_card", IDNumber: "110105199003071239"},
		Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m3"}}})
	if err != nil || c.ReceiptCode == "" || c.PromisedDate == "" {
		t.Fatalf("open case: %+v, %v", c, err)
	}
	browsertest.RunShots(t, englishCaseScript, map[string]string{
		"CIVIQ_URL": gs.URL, "CIVIQ_STAFF": staff, "CIVIQ_CASE": c.Number, "CIVIQ_RECEIPT": c.ReceiptCode,
	})
}

const englishCaseScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 1 });
await ctx.addCookies([{ name: 'civiq_session', value: process.env.CIVIQ_STAFF, url: base }, { name: 'civiq_lang', value: 'en', url: base }]);
const page = watch(await ctx.newPage());
async function shot(page, name) {
  await page.evaluate(() => document.fonts && document.fonts.ready);
  await page.screenshot({ path: shots + '/' + name + '.png', fullPage: true });
}
const han = /[\u4e00-\u9fff]/;
const enDate = /^\d{1,2} [A-Z][a-z]{2} \d{4}$/, enDateTime = /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$/;
const guide = 'Applying for a social security card';

// civiq.js writes what the server writes (dates_test.go's strings), and
// a weekday in its one short form.
await page.goto(base + '/halls/demo/guides', { waitUntil: 'load' });
const js = await page.evaluate(() => [CIVIQ.time('2031-03-04T02:05:00Z', 'datetime', 'Asia/Shanghai'),
  CIVIQ.time('2031-03-04T02:05:00Z', 'date', 'Asia/Shanghai'), CIVIQ.date('2031-03-04'), CIVIQ.time('2031-03-03T16:00:00Z', 'datetime', 'Asia/Shanghai'),
  CIVIQ.time('2031-03-03T16:00:00Z', 'day', 'Asia/Shanghai'), CIVIQ.time('2031-03-09T02:05:00Z', 'daytime', 'Asia/Shanghai')]);
assert(JSON.stringify(js) === JSON.stringify(['4 Mar 2031, 10:05', '4 Mar 2031', '4 Mar 2031', '4 Mar 2031, 00:00', 'Tue 4 Mar', 'Sun 9 Mar, 10:05']), 'civiq.js in English: ' + js);
await page.goto(base + '/halls/demo/guides?lang=zh-CN', { waitUntil: 'load' });
const zh = await page.evaluate(() => [CIVIQ.time('2031-03-04T02:05:00Z', 'datetime', 'Asia/Shanghai'), CIVIQ.date('2031-03-04'),
  CIVIQ.time('2031-03-03T16:00:00Z', 'day', 'Asia/Shanghai'), CIVIQ.time('2031-03-09T02:05:00Z', 'daytime', 'Asia/Shanghai')]);
assert(JSON.stringify(zh) === JSON.stringify(['2031-03-04 10:05', '2031-03-04', '3月4日周二', '3月9日周日 10:05']), 'civiq.js in Chinese: ' + zh);
await ctx.addCookies([{ name: 'civiq_lang', value: 'en', url: base }]);

// The progress page, by number and the ID number's last 4.
await page.goto(base + '/c?lang=en', { waitUntil: 'load' });
await page.fill('#number', process.env.CIVIQ_CASE);
await page.fill('#last4', '1239');
await Promise.all([page.waitForNavigation(), page.click('form.gc-form button[type=submit]')]);
eq(await page.textContent('.gc-guide'), guide, 'the guide on the progress page');
const facts = await page.$$eval('.gc-facts dd', (ds) => ds.map((d) => d.textContent.trim()));
assert(enDate.test(facts[2]) && enDateTime.test(facts[3]), 'progress dates: ' + facts);
for (const t of await page.$$eval('.gc-steps time', (ts) => ts.map((x) => x.textContent))) assert(enDateTime.test(t), 'a step at ' + t);
assert(!han.test((await page.textContent('.gc-card')).replace('张*', '')), 'Chinese on the progress page: ' + await page.textContent('.gc-card'));
await shot(page, 'case-progress-en');
await axe(page, 'case progress in English');

// The signed receipt.
await page.goto(base + '/receipts/' + process.env.CIVIQ_RECEIPT + '?lang=en', { waitUntil: 'load' });
const rc = await page.$$eval('.rc-facts dd', (ds) => ds.map((d) => d.textContent.trim()));
assert(enDate.test(rc[2]) && enDate.test(rc[3]), 'receipt dates: ' + rc);
assert(!han.test((await page.textContent('.rc-paper')).replace('张*', '')), 'Chinese on the receipt: ' + await page.textContent('.rc-paper'));
await shot(page, 'receipt-en');

// The case desk, found by the case's number.
await page.goto(base + '/halls/demo/cases?lang=en&number=' + process.env.CIVIQ_CASE, { waitUntil: 'load' });
await page.waitForFunction(() => document.getElementById('cd-guide') && document.getElementById('cd-guide').textContent.length > 0);
assert((await page.textContent('#cd-guide')).startsWith(guide), 'the guide on the case desk: ' + await page.textContent('#cd-guide'));
assert(enDate.test((await page.textContent('#cd-promised')).trim()), 'promised on the case desk: ' + await page.textContent('#cd-promised'));
assert(enDateTime.test((await page.textContent('#cd-opened')).trim()), 'opened on the case desk: ' + await page.textContent('#cd-opened'));
const row = await page.$$eval('#cd-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
assert(row.length === 1 && row[0].includes(guide), 'the desk list in English: ' + row);
await shot(page, 'case-desk-en');
await axe(page, 'case desk in English');
`
