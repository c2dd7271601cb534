package web_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestTicketSMSBrowser: on the phone's ticket page of a hall that sends
// SMS, the holder gives a mobile number (a bad one is told so at the
// field), sees it masked, is sent "taken", and stops the texts: the page
// says so with the number masked, the opt-in is gone from the store (the
// page opened again offers the texts anew), and the call that follows
// sends nothing, while a ticket opted in after is told; once the day's
// texts are spent the page says what still works. In English too; axe on
// each state.
func TestTicketSMSBrowser(t *testing.T) {
	browsertest.Require(t)
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{9}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	ds := civiqtest.New(t, func(s *civiqtest.Server) { s.Engine.Sealer = sealer })
	if code := ds.Call(t, "PUT", "/api/v1/halls/demo/notifications", ds.Admin, map[string]any{"sms": map[string]string{"provider": "log"}}, nil); code != 200 {
		t.Fatalf("PUT notifications: %d", code)
	}
	out := browsertest.RunShots(t, ticketSMSScript, map[string]string{"CIVIQ_URL": ds.URL, "CIVIQ_TOKEN": ds.Admin})
	// The opt-ins stopped on the page are gone from the store.
	for _, line := range strings.Split(out, "\n") {
		id, ok := strings.CutPrefix(line, "stopped ")
		if !ok {
			continue
		}
		n, err := ds.Engine.TicketNotifyOf(context.Background(), &civiq.Ticket{ID: id, HallID: "demo"})
		if err != nil || len(n.OptIns) != 0 {
			t.Errorf("ticket %s after the stop: opt-ins %v, %v", id, n.OptIns, err)
		}
	}
	called := 0
	for _, m := range ds.NotifyLog.Sent() {
		if m.Kind == civiq.NoticeCalled {
			called++
		}
	}
	if n := len(ds.NotifyLog.Sent()); n < 3 || called != 0 {
		t.Errorf("the log channel sent %d messages, %d of them called; want the three tickets' taken and no call", n, called)
	}
}

const ticketSMSScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
async function take() {
  const r = await fetch(base + '/api/v1/halls/demo/tickets', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ service_id: 'general', channel: 'remote' }) });
  return (await r.json()).ticket;
}
const browser = await civiq.launch();
const numbers = [];
for (const lang of ['zh-CN', 'en']) {
  const t = await take();
  const ctx = await browser.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const page = watch(await ctx.newPage());
  await page.goto(base + '/t/' + t.id + '?lang=' + lang);
  await page.waitForSelector('#sms:not(.hidden)');
  await page.fill('#sms-phone', '12345');
  await page.click('#sms button[type=submit]');
  await page.waitForFunction(() => document.getElementById('sms-error').textContent !== '');
  eq(await page.getAttribute('#sms-phone', 'aria-invalid'), 'true', lang + ': the bad number is marked');
  await axe(page, lang + ': a bad number');
  await page.fill('#sms-phone', '138 0013 8000');
  await page.click('#sms button[type=submit]');
  await page.waitForSelector('#sms-done:not(.hidden)');
  const to = await page.textContent('#sms-to');
  assert(to.includes('138****8000'), lang + ': the number shown masked: ' + to);
  await axe(page, lang + ': opted in');
  await page.screenshot({ path: shots + '/ticket-sms-' + lang + '.png', fullPage: true });
  await page.reload();
  await page.waitForSelector('#sms-done:not(.hidden)');
  await page.click('#sms-off');
  await page.waitForSelector('#sms-in:not(.hidden)');
  const stopped = await page.textContent('#sms-stopped');
  assert(stopped.includes('138****8000'), lang + ': the stop is said, with the number masked: ' + stopped);
  await axe(page, lang + ': stopped');
  await page.screenshot({ path: shots + '/ticket-sms-stopped-' + lang + '.png', fullPage: true });
  // Stopped on the server: the page opened again offers the texts anew.
  await page.reload();
  await page.waitForSelector('#sms-in:not(.hidden)');
  assert(await page.isHidden('#sms-done'), lang + ': no number after the stop');
  numbers.push(t.number);
  console.log('stopped ' + t.id);
  clean(page, lang);
  await ctx.close();
}
// No further messages: both tickets are called; a third, opted in after,
// is told (the hall's messages go in order), the stopped ones are not.
const staff = { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN, 'Content-Type': 'application/json' };
for (const n of numbers) {
  const r = await fetch(base + '/api/v1/halls/demo/counters/1/call-next', { method: 'POST', headers: staff });
  eq((await r.json()).ticket.number, n, 'called in turn');
}
const marker = await take();
eq((await fetch(base + '/api/v1/tickets/' + marker.id + '/notify', { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ phone: '13900007777' }) })).status, 201, 'a third opts in');
let list = [];
for (let i = 0; i < 200 && !list.some((m) => m.number === marker.number); i++) {
  await new Promise((ok) => setTimeout(ok, 50));
  list = (await (await fetch(base + '/api/v1/halls/demo/notifications/messages', { headers: staff })).json()).messages;
}
assert(list.some((m) => m.number === marker.number && m.kind === 'taken'), 'the third is told: ' + JSON.stringify(list));
for (const n of numbers) {
  // Told while opted in (taken, and next or ahead as the queue moved);
  // nothing after the stop: no call, nothing left to send.
  const own = list.filter((m) => m.number === n);
  assert(own.some((m) => m.kind === 'taken') && !own.some((m) => m.kind === 'called' || m.status === 'queued' || m.status === 'sending'),
    n + ': nothing after the stop: ' + JSON.stringify(own.map((m) => [m.kind, m.status, m.code])));
}
// The day's texts spent (a budget of 1, three sent): the opt-in is 409,
// and the page says what still works, not "try again later": the call
// alerts, since this hall sends no browser notifications.
eq((await fetch(base + '/api/v1/halls/demo/notifications', { method: 'PUT', headers: staff,
  body: JSON.stringify({ sms: { provider: 'log' }, daily_budget: 1 }) })).status, 200, 'a budget of 1');
for (const [lang, words] of [['zh-CN', '叫号提醒'], ['en', 'call alerts']]) {
  const late = await take();
  const ctx = await browser.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const page = watch(await ctx.newPage(), /\/notify$/);
  await page.goto(base + '/t/' + late.id + '?lang=' + lang);
  await page.waitForSelector('#sms:not(.hidden)');
  await page.fill('#sms-phone', '13800138001');
  await page.click('#sms button[type=submit]');
  await page.waitForFunction(() => document.getElementById('sms-error').textContent !== '');
  const said = await page.textContent('#sms-error');
  assert(said.includes(words) && !said.includes(lang === 'en' ? 'browser' : '浏览器'), lang + ': the day\'s texts spent: ' + said);
  await page.screenshot({ path: shots + '/ticket-sms-spent-' + lang + '.png', fullPage: true });
  clean(page, lang + ': spent');
  await ctx.close();
}
console.log('ok');
`
