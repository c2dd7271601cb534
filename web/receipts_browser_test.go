package web_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
)

// TestReceiptBrowser drives the signed receipts in Chromium: the printable
// 受理回执 with its QR code, short code and verification link; the
// verification page it links, genuine; the same payload with one character
// changed, not; the 办结 notice in English on a phone, checked by its typed
// code. axe finds no serious violation; screenshots go to
// $CIVIQ_SCREENSHOTS.
func TestReceiptBrowser(t *testing.T) {
	browsertest.Require(t)
	gs := newGuideServer(t)
	n := gs
	ctx := context.Background()
	var codes []string
	for _, finish := range []bool{false, true} {
		tk := gs.servedTicket(t, "social")
		c, err := n.Engine.OpenCase(ctx, civiq.OpenCaseRequest{TicketID: tk.ID, GuideID: "demo-s-card",
			Applicant: civiq.Applicant{Name: "张三", Phone: "13812345678"}, Materials: []civiq.CaseMaterialInput{{ID: "m1"}, {ID: "m3"}}})
		if err != nil || c.ReceiptCode == "" {
			t.Fatalf("open case: %+v, %v", c, err)
		}
		if finish {
			admin := civiq.Principal{User: &civiq.User{Role: civiq.RoleAdmin}}
			if c, err = n.Engine.MoveCase(ctx, c.Number, civiq.CaseMove{To: civiq.CaseFinished, By: admin}); err != nil {
				t.Fatal(err)
			}
		}
		codes = append(codes, c.ReceiptCode)
	}
	u, _ := url.Parse(n.URL)
	browsertest.RunShots(t, receiptScript, map[string]string{"CIVIQ_URL": n.URL, "CIVIQ_HOST": u.Host,
		"CIVIQ_ACCEPTED": codes[0], "CIVIQ_FINISHED": codes[1]})
}

const receiptScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
async function open(width, height, lang) {
  const browser = await civiq.launch();
  const ctx = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  await ctx.addCookies([{ name: 'civiq_lang', value: lang, url: base }]);
  return watch(await ctx.newPage());
}
async function shot(page, name) {
  await page.evaluate(() => document.fonts && document.fonts.ready);
  await page.screenshot({ path: shots + '/' + name + '.png', fullPage: true });
}

// ---- the 受理回执, in Chinese, on a desk screen ----
let page = await open(1000, 900, 'zh-CN');
await page.goto(base + '/receipts/' + process.env.CIVIQ_ACCEPTED, { waitUntil: 'load' });
assert((await page.textContent('h1')).includes('受理回执'), 'the receipt is titled ' + await page.textContent('h1'));
const body = await page.textContent('main');
assert(body.includes('张*') && !body.includes('张三') && !body.includes('13812345678'), 'the receipt masks the applicant');
const code = process.env.CIVIQ_ACCEPTED;
assert(body.includes(code.slice(0, 4) + '-' + code.slice(4, 8) + '-' + code.slice(8)), 'the short code is printed');
const href = await page.getAttribute('a#rc-verify', 'href');
assert(new URL(href, base).pathname.includes('/verify') && href.includes('payload='), 'the receipt links its verification: ' + href);
await page.waitForFunction(() => { const i = document.querySelector('.rc-verify img'); return i.complete && i.naturalWidth > 0; });
await shot(page, 'receipt-accepted-1000-zh');
await axe(page, 'the receipt');
await page.click('a#rc-verify');
await page.waitForURL(/\/receipts\/verify/);
assert((await page.textContent('#rc-verdict')).includes('真实有效'), 'genuine: ' + await page.textContent('#rc-verdict'));
await shot(page, 'receipt-verify-valid-1000-zh');
await axe(page, 'the verification, genuine');
// one character of the payload changed
const u = new URL(page.url());
const p = u.searchParams.get('payload');
const i = Math.floor(p.length / 3);
u.searchParams.set('payload', p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A') + p.slice(i + 1));
await page.goto(u.toString(), { waitUntil: 'load' });
assert((await page.textContent('#rc-verdict')).includes('未通过'), 'changed: ' + await page.textContent('#rc-verdict'));
assert(!(await page.textContent('main')).includes(code), 'a changed receipt states nothing');
await shot(page, 'receipt-verify-changed-1000-zh');
await axe(page, 'the verification, changed');

// ---- the 办结 notice, in English, on a phone; checked by its typed code ----
page = await open(390, 844, 'en');
await page.goto(base + '/receipts/' + process.env.CIVIQ_FINISHED, { waitUntil: 'load' });
assert((await page.textContent('h1')).includes('Notice of completion'), 'the notice is titled ' + await page.textContent('h1'));
await shot(page, 'receipt-finished-390-en');
await axe(page, 'the notice, phone');
await page.goto(base + '/receipts/verify', { waitUntil: 'load' });
await page.fill('#code', process.env.CIVIQ_FINISHED.toLowerCase());
await page.click('.rc-form button');
await page.waitForSelector('#rc-verdict');
assert((await page.textContent('#rc-verdict')).includes('Genuine'), 'by code: ' + await page.textContent('#rc-verdict'));
await shot(page, 'receipt-verify-code-390-en');
await axe(page, 'the verification by code, phone');
await page.goto(base + '/receipts/verify?code=ABCDEFGHJKMN', { waitUntil: 'load' });
assert((await page.textContent('#rc-error')).includes('No receipt'), 'unknown code');
await axe(page, 'an unknown code');
console.log('receipt pages ok');
`
