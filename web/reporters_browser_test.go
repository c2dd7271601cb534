package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// rate serves a ticket at counter 1 and rates it: an event a 好差评
// reporter reports.
func rate(t *testing.T, s *civiqtest.Server, score int) {
	t.Helper()
	var tk struct{ Ticket struct{ ID string } }
	if code := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "general", "channel": "kiosk"}, &tk); code != 201 {
		t.Fatalf("issue: %d", code)
	}
	var called struct{ Ticket struct{ ID string } }
	for called.Ticket.ID != tk.Ticket.ID {
		if code := s.Call(t, "POST", "/api/v1/halls/demo/counters/1/call-next", s.Admin, nil, &called); code != 200 {
			t.Fatalf("call-next: %d", code)
		}
	}
	for _, a := range []string{"start", "finish"} {
		if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.Ticket.ID+"/"+a, s.Admin, nil, nil); code != 200 {
			t.Fatalf("%s: %d", a, code)
		}
	}
	if code := s.Call(t, "POST", "/api/v1/tickets/"+tk.Ticket.ID+"/rating", "", map[string]any{"score": score}, nil); code != 201 {
		t.Fatalf("rate: %d", code)
	}
}

// TestAdminReportersBrowser: the admin page's 好差评 section shows each
// reporter's delivery state (cursor, pending records, the oldest's age,
// failed tries, last error, status) and its moves: the delivery log, a
// replay whose bad event id is shown at the field, an audited skip of the
// record it is held on, and resuming a paused reporter. axe finds nothing
// serious in either language.
func TestAdminReportersBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t, func(s *civiqtest.Server) {
		s.App.SetWebhookAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	})
	var mu sync.Mutex
	held := "" // the platform refuses the first record it is sent, every time
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if id := r.Header.Get("X-Civiq-Message-Id"); held == "" || held == id {
			held = id
			w.WriteHeader(500)
		}
	}))
	defer rc.Close()
	for _, in := range []map[string]any{
		{"url": rc.URL + "/province", "auth": "bearer", "key": "token-abcdefghijklmnop", "description": "省平台"},
		{"url": rc.URL + "/spare", "auth": "bearer", "key": "token-abcdefghijklmnop", "status": "disabled"},
	} {
		if code := s.Call(t, "POST", "/api/v1/haochaping/reporters", s.Admin, in, nil); code != 201 {
			t.Fatalf("create reporter: %d", code)
		}
	}
	rate(t, s, 5)
	rate(t, s, 4)
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var v struct {
			Reporter struct{ Delivery struct{ Attempts int } }
		}
		s.Call(t, "GET", "/api/v1/haochaping/reporters/1", s.Admin, nil, &v)
		if v.Reporter.Delivery.Attempts > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("no failed try")
		}
	}
	shots := browsertest.OptionalShots(t)
	res := browsertest.Run(t, reportersScript, map[string]string{"BASE": s.URL, "ADMIN_PW": civiqtest.AdminPassword, "SHOTS": shots})
	t.Logf("browser:\n%s", res)
	if !strings.Contains(res, "ALL DONE") {
		t.Fatalf("the script did not finish")
	}
	var audit struct {
		Events []struct{ Type, Username string }
	}
	s.Call(t, "GET", "/api/v1/audit", s.Admin, nil, &audit)
	if len(audit.Events) == 0 || audit.Events[0].Type != "delivery.skipped" || !strings.HasPrefix(audit.Events[0].Username, "好差评 reporter 1 event ") {
		t.Errorf("the skip is not audited: %+v", audit.Events)
	}
}

const reportersScript = `
const base = process.env.BASE, shots = process.env.SHOTS;
const browser = await civiq.launch();
const row = (id) => 'tr[data-sub="' + id + '"]';
const cell = async (page, id, n) => (await page.textContent('[data-delivery="reporter"] ' + row(id) + ' td:nth-child(' + n + ')')).trim();
for (const lang of ['zh-CN', 'en']) {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  page.on('dialog', (d) => d.accept());
  await page.goto(base + '/admin?lang=' + lang);
  await page.fill('#username', 'admin');
  await page.fill('#password', process.env.ADMIN_PW);
  await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  await page.waitForSelector('#adm[data-ready="1"]');
  await page.evaluate(() => { location.hash = 'haochaping'; });
  await page.waitForSelector('#sec-haochaping:not([hidden]) ' + row(1));
  if (lang === 'zh-CN') {
    const r = await page.textContent(row(1));
    assert(r.includes('/province') && r.includes('省平台') && r.includes('500') && r.includes('重试中'), 'the row: ' + r);
    eq(await cell(page, 1, 4), '2', 'two records pending');
    assert(Number(await cell(page, 1, 6)) >= 1, 'failed tries');
    assert(await page.$(row(1) + ' [data-move="skip"]'), 'a retrying reporter can be skipped');
    assert(await page.$(row(1) + ' [data-move="resume"]'), 'a retrying reporter can be resumed');
    assert((await page.textContent(row(2))).includes('已停用'), 'the paused one');
    // The log, and a replay from an event that is not there yet.
    await page.click(row(1) + ' [data-move="log"]');
    await page.waitForSelector('[data-detail="reporter"]:not([hidden]) tbody tr[data-event]');
    assert((await page.textContent('[data-detail="reporter"] tbody')).includes('500'), 'the log shows the 500');
    await page.click('#f-replay-reporter button[type=submit]');
    await page.waitForSelector('#f-replay-reporter .field-error');
    await page.fill('#replay-reporter-from', '999999');
    await page.click('#f-replay-reporter button[type=submit]');
    await page.waitForFunction(() => (document.querySelector('#f-replay-reporter .field-error') || {}).textContent?.includes('最新事件'));
    if (shots) await page.screenshot({ path: shots + '/admin-reporters-log-zh-CN.png', fullPage: true });
    // Skip the held record: the other goes, nothing is pending.
    const cursor = Number(await cell(page, 1, 3));
    await page.click(row(1) + ' [data-move="skip"]');
    await page.waitForFunction(() => document.querySelector('#adm-toast').textContent.includes('已跳过事件'));
    await page.waitForFunction(async (c) => {
      const td = document.querySelector('[data-delivery="reporter"] tr[data-sub="1"] td:nth-child(3)');
      return td && Number(td.textContent) > c;
    }, cursor);
    // Resume the paused one.
    await page.click(row(2) + ' [data-move="resume"]');
    await page.waitForSelector(row(2) + '[data-status="active"]');
  }
  // An event id of 0 is said to be one from 1, not "a whole number from
  // 1 to 9007199254740991" (the input's max, JavaScript's largest safe
  // integer).
  await page.click(row(1) + ' [data-move="log"]');
  await page.waitForSelector('[data-detail="reporter"]:not([hidden])');
  await page.fill('#replay-reporter-from', '0');
  await page.click('#f-replay-reporter button[type=submit]');
  await page.waitForSelector('#f-replay-reporter .field-error');
  eq(await page.textContent('#f-replay-reporter .field-error'), lang === 'en' ? 'Enter an event id from 1, not after the newest event.' : '请填写不晚于最新事件的事件编号（从 1 起）。', lang + ': event id 0');
  await axe(page, 'reporters ' + lang);
  if (shots) await page.screenshot({ path: shots + '/admin-reporters-' + lang + '.png', fullPage: true });
}
await browser.close();
console.log('ALL DONE');
`
