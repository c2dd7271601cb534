package web_test

import (
	"testing"

	"github.com/civiq/civiq/browsertest"
)

// TestRateSmallEnglishBrowser: the rating device in English on a 1024x600
// panel. The reasons of a bad rating, the comment, the phone and the send
// button all fit the screen, or the reasons scroll inside it with a
// visible cue; nothing leaves the screen sideways; the rating goes.
func TestRateSmallEnglishBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := startCtrSite(t)
	browsertest.Run(t, ctrPrelude+`
const dev = await api('POST', '/api/v1/halls/demo/devices', { kind: 'rater', counter_id: '1' });
check(dev.status === 201, 'create rater: ' + dev.status);
const page = await civiq.newPage({ viewport: { width: 1024, height: 600 } });
watch(page);
const visible = (s) => page.waitForSelector('#s-' + s + ':not(.hidden)');
await page.goto(base + '/halls/demo/rate/1?lang=en');
await visible('pair');
await page.fill('#pair-code', dev.body.device.pairing_code);
await page.click('#pair-form button[type=submit]');
await visible('idle');
const t = await issue('general');
check((await api('POST', '/api/v1/halls/demo/counters/1/call-next')).status === 200, 'call');
check((await api('POST', '/api/v1/tickets/' + t.id + '/finish')).status === 200, 'finish');
await visible('faces');
await shot(page, 'rate-faces-1024x600-en');
const faceBottom = await page.$eval('.face-1', (b) => b.getBoundingClientRect().bottom);
check(faceBottom <= 600, 'the faces leave the screen: bottom at ' + faceBottom);
await page.click('.face-1');
await visible('reason');
await shot(page, 'rate-reason-1024x600-en');
await axe(page, 'rater reasons, English, 1024x600');
// Nothing sideways, the page itself does not scroll, and what must be
// pressed is on the screen.
const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, sh: document.documentElement.scrollHeight }));
check(m.sw <= 1024, 'the page is wider than the screen: ' + m.sw);
check(m.sh <= 600, 'the page is taller than the screen: ' + m.sh);
for (const sel of ['#reason-send', '#reason-back', '#reason-text', '#reason-phone']) {
  const r = await page.$eval(sel, (e) => { const b = e.getBoundingClientRect(); return { top: b.top, bottom: b.bottom, left: b.left, right: b.right }; });
  check(r.top >= 0 && r.bottom <= 600 && r.left >= 0 && r.right <= 1024, sel + ' is off the screen: ' + JSON.stringify(r));
}
// Every reason is on the screen, or inside a list that scrolls and says so.
const chips = await page.$eval('#chips', (f) => ({ over: f.scrollHeight > f.clientHeight + 1, style: getComputedStyle(f).overflowY,
  cue: !!document.querySelector('.chips-more:not(.hidden)'), bottom: f.getBoundingClientRect().bottom }));
const last = await page.$eval('.chips .chip:last-of-type', (c) => c.getBoundingClientRect().bottom);
if (chips.over) check(chips.style === 'auto' && chips.cue, 'the reasons overflow without scrolling or a cue: ' + JSON.stringify(chips));
else check(last <= 600, 'the last reason is off the screen at ' + last);
// Each label in one box: no chip's text spills out of it.
const spill = await page.$$eval('.chip', (cs) => cs.filter((c) => c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1).map((c) => c.textContent.trim()));
check(spill.length === 0, 'reasons spill out of their box: ' + spill);
// A smaller panel still: the reasons scroll, the line under them says
// more are below until the last is in sight; the buttons stay.
await page.setViewportSize({ width: 1024, height: 480 });
await page.waitForSelector('#chips-more:not(.hidden)');
check(await page.$eval('#chips', (f) => f.scrollHeight > f.clientHeight && getComputedStyle(f).overflowY === 'auto'), 'the reasons do not scroll at 480 high');
const send = await page.$eval('#reason-send', (e) => e.getBoundingClientRect().bottom);
check(send <= 480, 'the send button left the screen at 480 high: ' + send);
await shot(page, 'rate-reason-1024x480-en');
const spill480 = await page.$$eval('.chip', (cs) => cs.filter((c) => c.scrollHeight > c.clientHeight + 1).map((c) => c.textContent.trim()));
check(spill480.length === 0, 'reasons spill out of their box at 480 high: ' + spill480);
await page.$eval('#chips', (f) => { f.scrollTop = f.scrollHeight; });
await page.waitForSelector('#chips-more.hidden', { state: 'attached' });
await page.setViewportSize({ width: 1024, height: 600 });
await page.check('.chips input >> nth=0');
await page.click('#reason-send');
await visible('thanks');
await shot(page, 'rate-thanks-1024x600-en');
check(errors.length === 0, 'page errors: ' + errors.join('; '));
`, ctrEnv(t, s))
}
