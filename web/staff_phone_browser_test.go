package web_test

import (
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestStaffPagesPhoneBrowser: the reports, the day's bookings and the
// staffing planner on a phone (375 px), in Chinese and English, do not
// scroll sideways and cut no figure: their tables scroll in their cards,
// the figures go two by two. The reports ran 427 px wide, their figures
// cut; the bookings' strikes table ran out of its card to 919 px; the
// planner ran 459 px wide, its figures cut to "9…".
func TestStaffPagesPhoneBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t)
	browsertest.RunShots(t, `
const base = process.env.CIVIQ_URL;
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
assert(login.ok(), 'sign in');
// The planner asks for the hall's history first: a hall without any
// answers 409 and the page plans the example day instead.
const page = watch(await ctx.newPage(), /\/plan\?.*days=/);
for (const [path, ready] of [['/halls/demo/reports', '#rp-staff-csv[href*="format"]'], ['/halls/demo/bookings', '#strikes tbody tr'],
  ['/halls/demo/planner', '#pl-table tbody tr']]) {
  for (const lang of ['zh-CN', 'en']) {
    await page.goto(base + path + '?lang=' + lang);
    await page.waitForSelector(ready, { state: 'attached' });
    await page.waitForTimeout(300);
    const w = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert(w[0] <= w[1], path + ' ' + lang + ': the page scrolls sideways: ' + w);
    const cut = await page.$$eval('.kpi-v', (ps) => ps.filter((p) => p.scrollWidth > p.clientWidth + 1).map((p) => p.textContent));
    eq(cut, [], path + ' ' + lang + ': figures cut');
    await axe(page, path + ' ' + lang);
    await page.screenshot({ path: process.env.CIVIQ_SHOTS + '/phone' + path.replace(/\//g, '-') + '-' + lang + '.png', fullPage: true });
  }
}
clean(page, 'staff pages on a phone');
console.log('ok');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword})
}
