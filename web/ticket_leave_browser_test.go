package web_test

import (
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestTicketLeaveBrowser: on the phone's ticket page the holder leaves
// the queue, asked once more first; "keep my place" changes nothing, "yes"
// cancels the ticket and the button goes. In English too; axe on the
// question.
func TestTicketLeaveBrowser(t *testing.T) {
	browsertest.Require(t)
	ds := civiqtest.New(t)
	browsertest.RunShots(t, ticketLeaveScript, map[string]string{"CIVIQ_URL": ds.URL})
}

const ticketLeaveScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
async function take() {
  const r = await fetch(base + '/api/v1/halls/demo/tickets', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ service_id: 'general', channel: 'remote' }) });
  return (await r.json()).ticket;
}
const status = async (id) => (await (await fetch(base + '/api/v1/tickets/' + id)).json()).ticket.status;
const browser = await civiq.launch();
for (const lang of ['zh-CN', 'en']) {
  const t = await take();
  const ctx = await browser.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const page = watch(await ctx.newPage());
  await page.goto(base + '/t/' + t.id + '?lang=' + lang);
  await page.waitForSelector('#leave:not(.hidden)');
  await page.click('#leave-open');
  await page.waitForSelector('#leave-confirm:not(.hidden)');
  const q = await page.textContent('#leave-q');
  assert(q.includes(t.number), lang + ': the question names the ticket: ' + q);
  await axe(page, lang + ': the question');
  await page.screenshot({ path: shots + '/ticket-leave-' + lang + '.png', fullPage: true });
  await page.click('#leave-no');
  assert(await page.isHidden('#leave-confirm'), lang + ': keep my place closes the question');
  eq(await status(t.id), 'waiting', lang + ': still waiting');
  await page.click('#leave-open');
  await page.click('#leave-yes');
  await page.waitForFunction(() => document.getElementById('card').className.includes('status-cancelled'));
  assert(await page.isHidden('#leave'), lang + ': no leaving a cancelled ticket');
  eq(await status(t.id), 'cancelled', lang + ': cancelled');
  await axe(page, lang + ': cancelled');
  clean(page, lang);
  await ctx.close();
}
console.log('ok');
`
