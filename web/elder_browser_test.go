package web_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestElderBrowser drives 长辈模式 (elder mode) in Chromium where it
// applies: the kiosk standing and lying, the ticket's phone page (its
// rating too, 360 px wide), booking, the published 好差评 results,
// the guides and a case's progress. It measures in the page that every
// visible text is at least 30 px at the kiosk and 24 px (18 pt) on a
// phone, runs axe's WCAG 2.1 AA rules with color-contrast-enhanced (7:1),
// checks that the choice stays on the device, that the kiosk waits 2
// minutes before it goes back by itself and reads the screen and the ticket
// aloud (speechSynthesis, stood in for to hear what it is told).
func TestElderBrowser(t *testing.T) {
	// A secret key: the hall sends SMS (the phone's ticket page offers them).
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{7}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	gs := newGuideServer(t, func(s *civiqtest.Server) { s.Engine.Sealer = sealer })
	ctx := context.Background()
	kiosk := pairDevice(t, gs.Engine, civiq.DeviceKiosk, "")
	// Tax gives one ticket a day: the second is refused, and said so.
	svcs, err := gs.Engine.Services(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		if s.ID == "tax" {
			s.DailyQuota = 1
			if err := gs.Engine.SaveService(ctx, &s, civiq.KeepQuotas{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	browsertest.RunShots(t, elderScript, map[string]string{"CIVIQ_URL": gs.URL, "CIVIQ_KIOSK": kiosk, "CIVIQ_TOKEN": gs.Admin})
}

const elderScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const browser = await civiq.launch();
const enhanced = ['color-contrast-enhanced'];

// open gives a page of a new context (a device): speech stood in for,
// elder mode already chosen on it when elder, a paired kiosk when kiosk.
async function open(w, h, path, o) {
  const ctx = await browser.newContext({ viewport: { width: w, height: h }, hasTouch: !!o.kiosk });
  if (o.clock) await ctx.clock.install();
  await ctx.addInitScript(([elder, token]) => {
    if (elder) localStorage.setItem('civiq.elder', '1');
    if (token) localStorage.setItem('civiq.device.demo', token);
    window.said = [];
    Object.defineProperty(window, 'speechSynthesis', { value: { speak: (u) => window.said.push(u.text), cancel() {}, getVoices: () => [] } });
  }, [!!o.elder, o.kiosk ? process.env.CIVIQ_KIOSK : '']);
  const page = watch(await ctx.newPage());
  await page.goto(base + path);
  await page.evaluate(() => document.fonts.ready);
  return page;
}
// large checks the page's texts (min px) and its contrast (7:1).
async function large(page, px, when) {
  await page.evaluate(() => document.fonts.ready);
  eq(await textBelow(page, px), [], when + ': texts under ' + px + ' px');
  // The larger text still fits the screen's width (the case lookup's form
  // ran 64 px past a phone's).
  const w = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert(w[0] <= w[1], when + ': the page scrolls sideways: ' + w);
  await axe(page, when, enhanced);
  if (shots) await page.screenshot({ path: shots + '/elder-' + when.replace(/\W+/g, '-') + '.png' });
}
const elder = (page) => page.evaluate(() => document.documentElement.classList.contains('elder'));
const said = (page) => page.evaluate(() => window.said.join(' | '));
const screen = (page) => page.evaluate(() => document.body.dataset.screen);

// ---- the kiosk, standing: the switch is in its bar ----
let k = await open(1080, 1920, '/halls/demo/kiosk', { kiosk: true, clock: true });
await k.waitForSelector('#s-home:not(.hidden)');
assert(!(await elder(k)) && await k.isVisible('.kiosk-bar .elder-switch') && !(await k.isVisible('#kiosk-read')), 'the switch shows, the mode is off');
await axe(k, 'kiosk, mode off');
await k.click('.elder-switch');
assert(await elder(k), 'the switch turns the mode on');
eq(await k.getAttribute('.elder-switch', 'aria-pressed'), 'true', 'the switch says it is on');
eq(await k.evaluate(() => localStorage.getItem('civiq.elder')), '1', 'the choice is kept on the device');
assert((await said(k)).includes('请选择办理业务'), 'turning it on reads the screen: ' + await said(k));
await large(k, 30, 'kiosk home zh');
await k.reload();
await k.waitForSelector('#s-home:not(.hidden)');
assert(await elder(k), 'the mode stays after a reload');
assert(await k.isVisible('#kiosk-read'), 'the read-aloud button shows in the mode');

// A half-finished choice waits 2 minutes, not less (the clock runs on
// meanwhile: a few seconds' margin).
await k.click('#green-open');
await k.clock.runFor(115000);
eq(await screen(k), 'green', 'still there after 1:55');
assert((await said(k)).includes('绿色通道'), 'the green channel screen is read: ' + await said(k));
await large(k, 30, 'kiosk green zh');
await k.clock.runFor(6000);
eq(await screen(k), 'home', 'back at the start after 2 minutes');
await k.click('#checkin-open');
await large(k, 30, 'kiosk check-in zh');
await k.click('#ci-back');
// 帮办代办: a family member takes the ticket (the roles as large, read).
await k.click('#behalf-open');
eq(await screen(k), 'behalf', 'for someone else: the roles');
assert((await said(k)).includes('社区网格员'), 'the roles are read: ' + await said(k));
await large(k, 30, 'kiosk behalf zh');
await k.click('.role[data-role=family]');
eq(await k.textContent('#behalf-text'), '为他人代办 · 家属', 'the helper, on the start screen');

// A card reader types a resident ID of someone born 1 January 1950 on
// the start screen: shown masked, sent with the ticket, the green channel
// given by age and said so. Then the ticket is read aloud, and stays on
// screen 2 minutes.
const first17 = '11010519500101123', w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const cardID = first17 + '10X98765432'[[...first17].reduce((s, c, i) => s + Number(c) * w[i], 0) % 11];
await k.keyboard.type(cardID);
await k.keyboard.press('Enter');
await k.waitForSelector('#card-banner:not(.hidden)');
eq(await k.textContent('#card-text'), '已读取身份证 110***********' + cardID.slice(-4), 'the card, masked');
assert(!(await k.content()).includes(cardID), 'the whole number is nowhere on the page');
const sent = k.waitForRequest((r) => r.url().endsWith('/tickets') && r.method() === 'POST');
await k.click('.svc[data-service=general]');
const body = JSON.parse((await sent).postData());
eq(body.id_number, cardID, 'the ID goes with the ticket');
eq(body.on_behalf, { role: 'family' }, 'and the helper');
await k.waitForSelector('#s-ticket:not(.hidden)');
await k.waitForFunction(() => /120|119/.test(document.getElementById('back-in').textContent));
eq(await k.textContent('#tp-priority'), '绿色通道 · 老年人（按身份证年龄自动）', 'the green channel, given by age');
assert(/您的号码是A零零\S。综合受理。绿色通道 · 老年人（按身份证年龄自动）。代办 · 家属。前方等待 0 人/.test(await said(k)), 'the ticket is read: ' + await said(k));
await large(k, 30, 'kiosk ticket zh');
await k.evaluate(() => { window.said = []; });
await k.click('#kiosk-read');
assert((await said(k)).startsWith('您的号码是A'), 'the button reads the ticket again: ' + await said(k));
await k.clock.runFor(60000);
eq(await screen(k), 'ticket', 'the ticket stays a minute on');

// ---- lying down, in English ----
k = await open(1920, 1080, '/halls/demo/kiosk?lang=en', { kiosk: true, elder: true });
await k.waitForSelector('#s-home:not(.hidden)');
await large(k, 30, 'kiosk home en');
await k.click('#behalf-open');
await large(k, 30, 'kiosk behalf en');
await k.click('#behalf-back');
await k.click('#kiosk-read');
assert((await said(k)).includes('Choose your service'), 'read in English: ' + await said(k));
// A service's quota reached: said so, with when tickets come again.
await k.click('.svc[data-service=tax]');
await k.waitForSelector('#s-ticket:not(.hidden)');
await k.click('#done');
await k.waitForSelector('#s-home:not(.hidden)');
await k.click('.svc[data-service=tax]');
await k.waitForSelector('#s-error:not(.hidden)');
const refused = await k.textContent('#error-text');
// (Done went back to the start in Chinese, for the next citizen.)
assert(/^“税务”今天的号已经发完了。\d+月\d+日周. \d\d:\d\d 起再发号。$/.test(refused), 'the quota: ' + refused);
assert((await said(k)).includes(refused), 'and read aloud');
await large(k, 30, 'kiosk quota zh');
k.errors = k.errors.filter((e) => !/HTTP 409 .*\/tickets$/.test(e)); // the refusal, expected
clean(k, 'kiosk');

// ---- phones ----
// The hall sends SMS: the phone's ticket page offers the texts.
const put = await fetch(base + '/api/v1/halls/demo/notifications', { method: 'PUT',
  headers: { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN, 'Content-Type': 'application/json' },
  body: JSON.stringify({ sms: { provider: 'log' } }) });
eq(put.status, 200, 'SMS set up');
const tk = await (await fetch(base + '/api/v1/halls/demo/tickets', { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ service_id: 'general', channel: 'remote' }) })).json();
// A phone ticket served and done at counter 3 (called by its id, so that
// the one above keeps waiting), to be rated.
const staffAPI = (path, body) => fetch(base + path, { method: 'POST',
  headers: { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN, 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}) });
const served = await (await fetch(base + '/api/v1/halls/demo/tickets', { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ service_id: 'property', channel: 'remote' }) })).json();
eq((await staffAPI('/api/v1/halls/demo/counters/3/call', { ticket_id: served.ticket.id, reason: 'test' })).status, 200, 'call the ticket to rate');
eq((await staffAPI('/api/v1/tickets/' + served.ticket.id + '/finish')).status, 200, 'finish it');
for (const lang of ['zh-CN', 'en']) {
  let p = await open(375, 812, '/t/' + tk.ticket.id + '?lang=' + lang, { elder: true });
  assert(await elder(p) && await p.isVisible('.citizen-bar .elder-switch'), 'the ticket page is in the mode');
  // One task per screen: the ticket alone (number, how many ahead, the
  // expected wait, large), the other actions one step away.
  await p.waitForSelector('#ahead:not(.hidden)');
  const shown = (sels) => Promise.all(sels.map((s) => p.isVisible(s)));
  eq(await shown(['#number', '#ahead', '#eta', '#more-open', '#alerts', '#leave-open', '#sms', '#sms-open', '.tresults']),
    [true, true, true, true, false, false, false, false, false], 'the ticket view: the ticket and More');
  const px = (sel) => p.$eval(sel, (e) => parseFloat(getComputedStyle(e).fontSize));
  assert(await px('#number') >= 96 && await px('#ahead') >= 40 && await px('#eta') >= 36, 'large: number ' + await px('#number') +
    ', ahead ' + await px('#ahead') + ', wait ' + await px('#eta'));
  await large(p, 24, 'ticket ' + lang);
  await p.click('#more-open');
  eq(await shown(['#card', '#more-h', '#view-back', '#alerts', '#leave-open', '#sms-open', '#sms', '.tresults']),
    [false, true, true, true, true, true, false, true], 'the more view: the other actions');
  eq(await p.evaluate(() => document.activeElement.id), 'more-h', 'the focus goes to its heading');
  await large(p, 24, 'ticket more ' + lang);
  await p.click('#sms-open');
  eq(await shown(['#sms', '#sms-phone', '#alerts', '#leave-open', '#card']), [true, true, false, false, false], 'the texts alone');
  await large(p, 24, 'ticket sms ' + lang);
  await p.click('#view-back');
  await p.click('#leave-open');
  eq(await shown(['#leave-confirm', '#leave-yes', '#alerts', '#sms-open', '#view-back']), [true, true, false, false, false], 'leaving, asked alone');
  await large(p, 24, 'ticket leave ' + lang);
  await p.click('#leave-no');
  await p.click('#view-back');
  eq(await shown(['#card', '#more-open', '#alerts']), [true, true, false], 'back at the ticket');
  // Rating it on a phone 360 px wide: each level a row, its face whole
  // beside its name (a long English name squeezed the face to a dot), the
  // reasons of a bad rating as large.
  p = await open(360, 740, '/t/' + served.ticket.id + '?lang=' + lang, { elder: true });
  await p.waitForSelector('#rate:not(.hidden)');
  const faces = await p.$$eval('.score', (ls) => ls.map((l) => {
    const f = l.querySelector('.face').getBoundingClientRect(), n = l.querySelector('.score-label'), b = l.getBoundingClientRect();
    return { name: n.textContent, w: Math.round(f.width), h: Math.round(f.height), inside: n.getBoundingClientRect().right <= b.right && n.scrollWidth <= n.clientWidth + 1 };
  }));
  assert(faces.every((f) => f.w >= 48 && f.w === faces[0].w && f.h === f.w && f.inside), 'the faces and names of the levels, ' + lang + ': ' + JSON.stringify(faces));
  await p.click('.score.s1');
  await p.waitForSelector('#reasons:not(.hidden)');
  await large(p, 24, 'ticket rate ' + lang);
  p = await open(375, 812, '/halls/demo/book?lang=' + lang, { elder: true });
  await large(p, 24, 'book ' + lang);
  p = await open(375, 812, '/halls/demo/guides?lang=' + lang, { elder: true });
  await large(p, 24, 'guides ' + lang);
  await p.click('.gq-item');
  await p.waitForSelector('#take');
  await large(p, 24, 'guide ' + lang);
  p = await open(375, 812, '/c?lang=' + lang, { elder: true });
  await large(p, 24, 'progress ' + lang);
  // The published results, linked from the ticket page's More.
  p = await open(360, 740, '/halls/demo/results?lang=' + lang, { elder: true });
  assert(await elder(p) && await p.isVisible('.rs-head .elder-switch'), 'the results page is in the mode, its switch in its bar');
  await large(p, 24, 'results ' + lang);
  clean(p, 'phone ' + lang);
}

// Off again: the page is as before and the device forgets the choice.
const p = await open(375, 812, '/t/' + tk.ticket.id, { elder: true });
await p.click('.elder-switch');
assert(!(await elder(p)), 'the switch turns the mode off');
// Without the mode the page is as it was: everything on one page.
eq(await Promise.all(['#card', '#alerts', '#leave-open', '#sms', '#more-open', '#view-back'].map((s) => p.isVisible(s))),
  [true, true, true, true, false, false], 'mode off: one page, no More');
eq(await p.evaluate(() => localStorage.getItem('civiq.elder')), null, 'the device forgets it');
eq(await p.getAttribute('.elder-switch', 'aria-pressed'), 'false', 'the switch says it is off');
await axe(p, 'ticket, mode off');
`
