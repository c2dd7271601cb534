package web_test

import (
	"bytes"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestTicketSMSBrowser: on the phone's ticket page of a hall that sends
// SMS, the holder gives a mobile number (a bad one is told so at the
// field), sees it masked, is sent "taken", and stops the texts. In
// English too; axe on both states.
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
	browsertest.RunShots(t, ticketSMSScript, map[string]string{"CIVIQ_URL": ds.URL})
	if n := len(ds.NotifyLog.Sent()); n < 2 {
		t.Errorf("the log channel sent %d messages, want the two tickets' taken", n)
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
  clean(page, lang);
  await ctx.close();
}
console.log('ok');
`
