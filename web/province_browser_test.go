package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/civiq/civiq/browsertest"
)

// TestRateProvincePageBrowser: a hall that rates on the province's own
// page. When counter 1 finishes a ticket, its rater opens the province's
// page (a stand-in here) filled for that ticket instead of the faces; the
// platform's callback, signed with the hall's key, records the rating; the
// page sends the device back to the rater, idle.
func TestRateProvincePageBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := startCtrSite(t)
	province := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="zh-CN"><head><title>省政务服务好差评</title></head><body><main>
<h1>政务服务好差评</h1><p>办件编号 <span id="bj">%s</span>，号码 <span id="no">%s</span>，行政区划 <span id="qh">%s</span></p>
<a id="back" href="%s">返回</a></main></body></html>`,
			html.EscapeString(q.Get("bj")), html.EscapeString(q.Get("no")), html.EscapeString(q.Get("qh")), html.EscapeString(q.Get("back")))
	}))
	t.Cleanup(province.Close)
	env := ctrEnv(t, s)
	env["PROVINCE"] = province.URL
	out := browsertest.Run(t, ctrPrelude+`
const crypto = require('crypto');
const key = 'callback-key-0123456789';
const set = await api('PUT', '/api/v1/halls/demo/rating-settings', { region_code: '440305', province_callback_key: key,
  province_page_url: process.env.PROVINCE + '/pj?bj={case_number}&no={ticket_number}&qh={region_code}&back={return_url}' });
check(set.status === 200, 'settings: ' + set.status);
const dev = await api('POST', '/api/v1/halls/demo/devices', { kind: 'rater', counter_id: '1' });
check(dev.status === 201, 'create rater: ' + dev.status);
const page = await civiq.newPage({ viewport: { width: 1280, height: 800 } });
watch(page);
const visible = (s) => page.waitForSelector('#s-' + s + ':not(.hidden)');
await page.goto(base + '/halls/demo/rate/1');
await visible('pair');
await page.fill('#pair-code', dev.body.device.pairing_code);
await page.click('#pair-form button[type=submit]');
await visible('idle');
await page.waitForTimeout(300);
await shot(page, 'rate-province-idle');
await axe(page, 'rater idle, province page on');

const t = await issue('general');
let r = await api('POST', '/api/v1/halls/demo/counters/1/call-next');
check(r.status === 200 && r.body.ticket.id === t.id, 'call: ' + r.status);
check((await api('POST', '/api/v1/tickets/' + t.id + '/start')).status === 200, 'start');
check((await api('POST', '/api/v1/tickets/' + t.id + '/finish')).status === 200, 'finish');
await page.waitForURL(process.env.PROVINCE + '/pj?**');
check(await page.textContent('#bj') === t.id, 'the page names the ticket: ' + await page.textContent('#bj'));
check(await page.textContent('#no') === t.number && await page.textContent('#qh') === '440305', 'number and region');
check((await page.getAttribute('#back', 'href')) === base + '/halls/demo/rate/1', 'back to the rater: ' + await page.getAttribute('#back', 'href'));
await shot(page, 'rate-province-page');

// The platform reports the rating given on its page.
const body = JSON.stringify({ case_number: t.id, level: 5 });
const sig = crypto.createHmac('sha256', key).update(body).digest('hex');
const cb = await fetch(base + '/api/v1/halls/demo/haochaping/callback', { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Signature': sig } });
check(cb.status === 201, 'callback: ' + cb.status);
check((await cb.json()).rating.channel === 'province', 'channel province');

await page.click('#back');
await visible('idle');
check(!(await page.isVisible('#s-faces')), 'no faces of its own');
check(errors.length === 0, 'page errors: ' + errors.join('; '));
console.log('ok');
`, env)
	if lastLine(out) != "ok" {
		t.Fatalf("script said %q", out)
	}
}
