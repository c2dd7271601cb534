package web_test

import (
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestCityPhoneBrowser: the city overview on a phone (375 px), in Chinese
// and English. The page does not scroll sideways (its table scrolls in its
// card), the figures' lines are not cut, and the top bar breaks the user's
// name, not 退出/Sign out or the language link. It ran 801 px wide, the
// four figures' lines cut to "1 o…", and "中文" stood in two lines.
func TestCityPhoneBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t)
	s.Call(t, "PUT", "/api/v1/halls/east", s.Admin, map[string]any{"name": "东湖高新技术产业开发区行政审批局政务服务大厅（东湖新城社区分中心）", "timezone": "Asia/Shanghai"}, nil)
	s.Call(t, "PUT", "/api/v1/halls/north", s.Admin, map[string]any{"name": "北城区政务服务中心", "name_en": "North District Service Centre", "timezone": "Asia/Shanghai"}, nil)
	browsertest.RunShots(t, `
const base = process.env.CIVIQ_URL;
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
assert(login.ok(), 'sign in');
const page = watch(await ctx.newPage());
for (const lang of ['zh-CN', 'en']) {
  await page.goto(base + '/city?lang=' + lang);
  await page.waitForFunction(() => document.querySelectorAll('#cy-rows tr').length === 3 && document.querySelector('#ck-halls').textContent === '3');
  const m = await page.evaluate(() => {
    const d = document.documentElement;
    const line = (e) => parseFloat(getComputedStyle(e).lineHeight) || 24;
    return {
      page: [d.scrollWidth, d.clientWidth],
      cut: [...document.querySelectorAll('.kpi-s')].filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent),
      broken: [...document.querySelectorAll('.bar .lang, .bar .link')].filter((e) => e.getBoundingClientRect().height > line(e) * 1.5).map((e) => e.textContent),
    };
  });
  assert(m.page[0] <= m.page[1], lang + ': the page scrolls sideways: ' + m.page);
  eq(m.cut, [], lang + ': figures cut');
  eq(m.broken, [], lang + ': top bar links in two lines');
  await axe(page, 'city phone ' + lang);
  await page.screenshot({ path: process.env.CIVIQ_SHOTS + '/city-phone-' + lang + '.png', fullPage: true });
}
clean(page, 'city phone');
console.log('ok');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword})
}
