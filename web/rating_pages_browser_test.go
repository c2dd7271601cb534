package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
)

// TestRatingPagesBrowser rates from the phone page and the rating device
// in Chromium: both offer the hall's one reason list by code and an
// optional phone for the call back, "非常不满意" stays on one line from a
// 320 px phone to the rater's screens, and the phone page says whose
// counter the rating goes to, never 匿名. axe finds no serious violation.
func TestRatingPagesBrowser(t *testing.T) {
	browsertest.Require(t)
	d := newDeskHall(t)
	d.Clock.Set(time.Now()) // the rater asks only about a finish of the last minutes, by the browser's clock
	out := browsertest.RunShots(t, ratingPagesScript, map[string]string{"CIVIQ_URL": d.URL, "CIVIQ_ADMIN": d.Admin})
	var phoneID, raterID string
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "phone "); ok {
			phoneID = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "rater "); ok {
			raterID = strings.TrimSpace(v)
		}
	}
	fs, err := d.Engine.FollowUps(context.Background(), "demo", civiq.FollowUpFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.TicketID] = strings.Join(f.Reasons, ",") + "|" + f.ContactPhone + "|" + f.Comment
	}
	if got[phoneID] != "long_wait,unskilled|139****5678|材料清单看不懂" {
		t.Errorf("the phone's bad rating: %q", got[phoneID])
	}
	if got[raterID] != "poor_attitude|137****4321|" {
		t.Errorf("the rater's bad rating: %q", got[raterID])
	}
}

const ratingPagesScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS, admin = process.env.CIVIQ_ADMIN;
async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + admin };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let j = null;
  try { j = await r.json(); } catch (e) {}
  return { status: r.status, body: j };
}
// served takes a ticket and serves it at counter 1 to the end.
async function served() {
  const t = (await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'general', channel: 'kiosk' })).body.ticket;
  for (let i = 0; i < 20; i++) {
    const c = await api('POST', '/api/v1/halls/demo/counters/1/call-next');
    assert(c.status === 200, 'call-next ' + c.status);
    await api('POST', '/api/v1/tickets/' + c.body.ticket.id + '/finish');
    if (c.body.ticket.id === t.id) return t;
  }
  throw new Error('never called');
}
async function shot(page, name) {
  if (!shots) return;
  await page.evaluate(() => document.fonts && document.fonts.ready);
  await page.screenshot({ path: shots + '/' + name + '.png', fullPage: true });
}
// oneLine: every element of sel is one line high (a Chinese name) or
// breaks only between words (an English one), and stays inside its box.
const oneLine = (page, sel) => page.$$eval(sel, (els) => els.map((e) => {
  const lh = parseFloat(getComputedStyle(e).lineHeight) || parseFloat(getComputedStyle(e).fontSize) * 1.3;
  const box = e.parentElement.getBoundingClientRect(), r = e.getBoundingClientRect();
  return { text: e.textContent, lines: Math.round(r.height / lh), out: r.left < box.left - 1 || r.right > box.right + 1 };
}).filter((x) => (x.lines > 1 && /[^\x00-\x7f]/.test(x.text)) || x.lines > x.text.split(' ').length || x.out));

// ---- the phone page, a 320 to 390 px phone, both languages ----
const t1 = await served();
for (const [w, lang] of [[320, 'zh-CN'], [360, 'zh-CN'], [390, 'en'], [390, 'zh-CN']]) {
  const b = await civiq.launch();
  const ctx = await b.newContext({ viewport: { width: w, height: 800 }, isMobile: true, hasTouch: true });
  await ctx.addCookies([{ name: 'civiq_lang', value: lang, url: base }]);
  const page = watch(await ctx.newPage());
  await page.goto(base + '/t/' + t1.id, { waitUntil: 'load' });
  await page.waitForSelector('#rate:not(.hidden)');
  const lead = await page.textContent('#rate-lead');
  assert(!lead.includes('匿名') && !/anonym/i.test(lead) && lead.includes(lang === 'en' ? 'Counter 1' : '1号窗口'), 'the lead: ' + lead);
  const broken = await oneLine(page, '.score-label');
  assert(broken.length === 0, w + ' ' + lang + ': a level breaks or leaves its box: ' + JSON.stringify(broken));
  await page.click('.score.s1');
  await page.waitForSelector('#reasons:not(.hidden)');
  const codes = await page.$$eval('#reasons input[name=reason]', (is) => is.map((i) => i.value));
  assert(codes.length >= 10 && codes.includes('long_wait') && codes.includes('other'), 'the reason codes: ' + codes);
  assert(await page.getAttribute('#phone', 'type') === 'tel', 'a phone field');
  assert((await page.getAttribute('.tresults a', 'href')) === '/halls/demo/results', 'the results are linked');
  await shot(page, 'ticket-rate-' + w + '-' + lang);
  await axe(page, 'phone rating ' + w + ' ' + lang);
  clean(page, 'phone ' + w + ' ' + lang);
  if (w === 390 && lang === 'zh-CN') {
    await page.check('#reasons input[value=long_wait]');
    await page.check('#reasons input[value=unskilled]');
    await page.fill('#comment', '材料清单看不懂');
    await page.fill('#phone', '12345');
    await page.click('#rate button[type=submit]');
    assert((await page.textContent('#reason-error')).includes('手机'), 'a bad phone is refused: ' + await page.textContent('#reason-error'));
    assert(await page.getAttribute('#phone', 'aria-invalid') === 'true', 'the phone is marked');
    await page.fill('#phone', '139 1234 5678');
    await page.click('#rate button[type=submit]');
    await page.waitForSelector('#thanks:not(.hidden)');
    clean(page, 'phone rated');
  }
  await b.close();
}
console.log('phone ' + t1.id);

// ---- the rating device (an admin trying it), 1280x800 and 1024x600 ----
let raterID = '';
for (const [w, h, lang] of [[1024, 600, 'en'], [1280, 800, 'zh-CN']]) {
  const b = await civiq.launch();
  const ctx = await b.newContext({ viewport: { width: w, height: h }, hasTouch: true });
  await ctx.addCookies([{ name: 'civiq_session', value: admin, url: base }, { name: 'civiq_lang', value: lang, url: base }]);
  const page = watch(await ctx.newPage());
  await page.goto(base + '/halls/demo/rate/1', { waitUntil: 'load' });
  await page.waitForSelector('#s-idle:not(.hidden)');
  await sleep(300);
  const t = await served();
  await page.waitForSelector('#s-faces:not(.hidden)');
  const broken = await oneLine(page, '.face-label');
  assert(broken.length === 0, w + ' ' + lang + ': a face label breaks: ' + JSON.stringify(broken));
  await shot(page, 'rate-faces-' + w + '-' + lang);
  await page.click('.face-1');
  await page.waitForSelector('#s-reason:not(.hidden)');
  const codes = await page.$$eval('#reason-form input[name=reason]', (is) => is.map((i) => i.value));
  assert(codes.includes('poor_attitude') && codes.includes('other'), 'rater codes ' + codes);
  const over = await page.evaluate(() => document.documentElement.scrollWidth > innerWidth + 1);
  assert(!over, 'the reasons are wider than the rater');
  await shot(page, 'rate-reasons-' + w + '-' + lang);
  await axe(page, 'rater reasons ' + lang);
  if (lang === 'zh-CN') {
    await page.check('#reason-form input[value=poor_attitude]');
    await page.fill('#reason-phone', '0101234');
    await page.click('#reason-send');
    assert((await page.textContent('#reason-err')).includes('手机'), 'a bad phone on the rater: ' + await page.textContent('#reason-err'));
    await page.fill('#reason-phone', '13712344321');
    await page.click('#reason-send');
    await page.waitForSelector('#s-thanks:not(.hidden)');
    raterID = t.id;
  }
  clean(page, 'rater ' + lang);
  await b.close();
}
console.log('rater ' + raterID);
`
