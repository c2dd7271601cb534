package web_test

import (
	"testing"

	"github.com/civiq/civiq/browsertest"
)

// TestPagesAxeBrowser runs axe's WCAG 2.1 A and AA rules, in Chinese and
// English, on the pages no other browser test opens in both languages:
// the home page, sign-in, a page that does not exist, a ticket that does
// not exist, the receipts' check, the staff's bookings, and the citizens'
// pages in 长辈模式. The other pages' tests run axe on each of their
// states.
func TestPagesAxeBrowser(t *testing.T) {
	s := newKioskSite(t)
	browsertest.RunShots(t, axePagesScript, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_ADMIN": s.Admin})
}

const axePagesScript = `
const base = process.env.CIVIQ_URL;
const browser = await civiq.launch();
for (const lang of ['zh-CN', 'en']) {
  for (const [path, token] of [['/', ''], ['/login', ''], ['/no-such-page', ''], ['/t/nosuchticketnosuchticketnosuch', ''],
    ['/receipts/verify', ''], ['/halls/demo/bookings', process.env.CIVIQ_ADMIN], ['/', process.env.CIVIQ_ADMIN]]) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const cookies = [{ name: 'civiq_lang', value: lang, url: base }];
    if (token) cookies.push({ name: 'civiq_session', value: token, url: base });
    await ctx.addCookies(cookies);
    const page = await ctx.newPage();
    await page.goto(base + path);
    eq(await page.evaluate(() => document.documentElement.lang), lang, path + ' in ' + lang);
    await axe(page, path + (token ? ' signed in' : '') + ' ' + lang);
    await ctx.close();
  }
}
`
