package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestAdminWebhooksBrowser: the admin page shows each webhook's delivery
// state: a hook whose receiver fails, with its pending events, how long the
// oldest has waited, failed tries, the last error and when the next try is
// due; axe finds nothing serious.
func TestAdminWebhooksBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t, func(s *civiqtest.Server) {
		s.App.SetWebhookAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
		s.App.Outbound.Poll = 100 * time.Millisecond
	})
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer rc.Close()
	var out struct{ Webhook struct{ ID int64 } }
	if code := s.Call(t, "POST", "/api/v1/webhooks", s.Admin, map[string]any{"url": rc.URL + "/crm", "events": []string{"*"}, "description": "CRM"}, &out); code != 201 {
		t.Fatalf("create: %d", code)
	}
	s.Engine.Announce(context.Background(), "demo", "一")
	s.Engine.Announce(context.Background(), "demo", "二")
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var v struct {
			Webhook struct{ Delivery struct{ Attempts int } }
		}
		s.Call(t, "GET", "/api/v1/webhooks/1", s.Admin, nil, &v)
		if v.Webhook.Delivery.Attempts > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("no failed try")
		}
	}
	shots := browsertest.OptionalShots(t)
	res := browsertest.Run(t, webhooksScript, map[string]string{"BASE": s.URL, "ADMIN_PW": civiqtest.AdminPassword, "SHOTS": shots})
	t.Logf("browser:\n%s", res)
	if !strings.Contains(res, "ALL DONE") {
		t.Fatalf("the script did not finish")
	}
}

const webhooksScript = `
const base = process.env.BASE, shots = process.env.SHOTS;
const browser = await civiq.launch();
for (const lang of ['zh-CN', 'en']) {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  await page.goto(base + '/admin?lang=' + lang);
  await page.fill('#username', 'admin');
  await page.fill('#password', process.env.ADMIN_PW);
  await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  await page.waitForSelector('#adm[data-ready="1"]');
  await page.evaluate(() => { location.hash = 'webhooks'; });
  await page.waitForSelector('#sec-webhooks:not([hidden]) [data-delivery="webhook"] tr[data-sub="1"]');
  const row = await page.textContent('[data-delivery="webhook"] tr[data-sub="1"]');
  assert(row.includes('/crm') && row.includes('CRM') && row.includes('500'), 'the row: ' + row);
  assert(await page.textContent('[data-delivery="webhook"] tr[data-sub="1"] td:nth-child(4)') === '2', 'two pending');
  // Waiting under a minute says so (it said "0 min"), and the row says when
  // the next try is due.
  const waited = await page.textContent('[data-delivery="webhook"] tr[data-sub="1"] td.age');
  assert(waited === (lang === 'en' ? '< 1 min' : '不到 1 分钟'), 'oldest waiting: ' + waited);
  const next = await page.textContent('[data-delivery="webhook"] tr[data-sub="1"] [data-next]');
  assert(next.startsWith(lang === 'en' ? 'next try ' : '下次重试 '), 'next try: ' + next);
  await axe(page, 'webhooks ' + lang);
  if (shots) await page.screenshot({ path: shots + '/admin-webhooks-' + lang + '.png' });
}
await browser.close();
console.log('ALL DONE');
`
