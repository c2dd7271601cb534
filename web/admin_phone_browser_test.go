package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestAdminPhoneBrowser: the admin page on a phone (360 px), in Chinese
// and English, does not scroll sideways in any section: a list too wide
// for the screen (a webhook's or a reporter's row, the devices, the users)
// scrolls in its own box. The page ran 771 px wide on Webhooks, 777 on
// 好差评 reporting, 640 on Devices: one wide table widened the page's one
// column and every section with it.
func TestAdminPhoneBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t, func(s *civiqtest.Server) {
		s.App.SetWebhookAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	})
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer rc.Close()
	if code := s.Call(t, "POST", "/api/v1/webhooks", s.Admin, map[string]any{"url": rc.URL + "/city-data-platform/events/inbound", "events": []string{"*"}, "description": "市数据平台"}, nil); code != 201 {
		t.Fatalf("webhook: %d", code)
	}
	if code := s.Call(t, "POST", "/api/v1/haochaping/reporters", s.Admin, map[string]any{"url": rc.URL + "/province/haochaping/records", "auth": "hmac", "key": "0123456789abcdef0123", "description": "省好差评平台"}, nil); code != 201 {
		t.Fatalf("reporter: %d", code)
	}
	browsertest.RunShots(t, `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
assert(login.ok(), 'sign in');
const page = watch(await ctx.newPage());
for (const lang of ['zh-CN', 'en']) {
  await page.goto(base + '/admin?hall=demo&lang=' + lang);
  await page.waitForSelector('#adm[data-ready="1"]');
  const tabs = await page.$$eval('a[data-tab]', (as) => as.map((a) => a.dataset.tab));
  assert(tabs.includes('webhooks') && tabs.includes('haochaping'), 'tabs: ' + tabs);
  for (const tab of tabs) {
    await page.click('a[data-tab="' + tab + '"]');
    await page.waitForSelector('#sec-' + tab + ':not([hidden])');
    if (tab === 'webhooks') await page.waitForSelector('[data-delivery="webhook"] tr[data-sub]');
    if (tab === 'haochaping') await page.waitForSelector('[data-delivery="reporter"] tr[data-sub]');
    await page.waitForTimeout(200);
    const w = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert(w[0] <= w[1], lang + ' ' + tab + ': the page scrolls sideways: ' + w);
  }
  await page.click('a[data-tab="webhooks"]');
  // The wide list scrolls in its box, the address to be read whole there.
  const box = await page.$eval('[data-delivery="webhook"]', (e) => [e.scrollWidth, e.clientWidth, getComputedStyle(e).overflowX]);
  assert(box[2] === 'auto', lang + ': the list scrolls in its box: ' + box);
  await axe(page, 'admin webhooks on a phone ' + lang);
  await page.screenshot({ path: shots + '/admin-phone-webhooks-' + lang + '.png', fullPage: true });
  await page.click('a[data-tab="haochaping"]');
  await page.waitForSelector('[data-delivery="reporter"] tr[data-sub]');
  await axe(page, 'admin reporters on a phone ' + lang);
  await page.screenshot({ path: shots + '/admin-phone-haochaping-' + lang + '.png', fullPage: true });
}
clean(page, 'admin on a phone');
console.log('ok');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword})
}
