package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
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

// TestAdminWebhookTestBrowser: a webhook's detail on the admin page sends
// it a test message and says how the receiver answered, in the page's
// language; the try joins the log, marked as the test (it was "—"). The
// page offered no test: only the API's POST /webhooks/{id}/test did.
func TestAdminWebhookTestBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t, func(s *civiqtest.Server) {
		s.App.SetWebhookAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	})
	var fail, slow atomic.Bool
	var tests atomic.Int32
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Type string }
		json.NewDecoder(r.Body).Decode(&m)
		if m.Type == "webhook.test" {
			tests.Add(1)
			if slow.Load() {
				time.Sleep(2 * time.Second)
			}
		}
		if fail.Load() {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(204)
	}))
	defer rc.Close()
	if code := s.Call(t, "POST", "/api/v1/webhooks", s.Admin, map[string]any{"url": rc.URL + "/crm", "events": []string{"*"}}, nil); code != 201 {
		t.Fatalf("create: %d", code)
	}
	mux := http.NewServeMux() // the script turns the receiver's failure on
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { fail.Store(true) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { slow.Store(true) })
	ctl := httptest.NewServer(mux)
	defer ctl.Close()
	browsertest.RunShots(t, `
const base = process.env.BASE;
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.ADMIN_PW } });
assert(login.ok(), 'sign in');
const page = watch(await ctx.newPage());
for (const lang of ['zh-CN', 'en']) {
  await page.goto(base + '/admin?lang=' + lang + '#webhooks');
  await page.click('[data-delivery="webhook"] tr[data-sub="1"] [data-move="log"]');
  await page.waitForSelector('[data-detail="webhook"]:not([hidden])');
  await page.click('[data-detail="webhook"] [data-test]');
  await page.waitForFunction(() => document.querySelector('[data-test-result]').textContent !== '');
  const said = await page.textContent('[data-test-result]');
  assert(said.includes('204') && said.includes(lang === 'en' ? 'answered' : '已应答'), 'the answer: ' + said);
  await page.waitForSelector('[data-detail="webhook"] tbody tr[data-event="0"]');
  const cell = await page.textContent('[data-detail="webhook"] tbody tr[data-event="0"] td:nth-child(2)');
  eq(cell, lang === 'en' ? 'test' : '测试', 'the test try in the log');
  await axe(page, 'webhook test ' + lang);
  await page.screenshot({ path: process.env.CIVIQ_SHOTS + '/admin-webhook-test-' + lang + '.png', fullPage: true });
}
// A receiver slow to answer (up to 10 s): the page says the message is
// on its way and takes no second click meanwhile (it said nothing for the
// 10 s of a timeout, its button live).
await fetch(process.env.CTL + '/slow');
await page.click('[data-detail="webhook"] [data-test]');
await page.waitForTimeout(300);
assert(await page.$eval('[data-detail="webhook"] [data-test]', (b) => b.disabled), 'the button waits for the answer');
eq(await page.textContent('[data-test-result]'), 'Sending…', 'the page says it is sending');
await page.waitForFunction(() => document.querySelector('[data-test-result]').textContent.includes('204'));
assert(!await page.$eval('[data-detail="webhook"] [data-test]', (b) => b.disabled), 'the button back');
await fetch(process.env.CTL + '/fail');
await page.click('[data-detail="webhook"] [data-test]');
await page.waitForFunction(() => document.querySelector('[data-test-result]').textContent.includes('503'));
assert((await page.textContent('[data-test-result]')).includes('did not take it'), 'a failed test says so');
clean(page, 'webhook test');
console.log('ok');
`, map[string]string{"BASE": s.URL, "ADMIN_PW": civiqtest.AdminPassword, "CTL": ctl.URL})
	if n := tests.Load(); n != 4 {
		t.Errorf("the receiver got %d test messages, want 4", n)
	}
}
