package web_test

import (
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestDisplayBrowser drives the display in Chromium: two quick calls are
// shown and spoken in order, twice in Mandarin then once in English, never
// over each other; an announcement scrolls (and stands still for reduced
// motion); a call made while the display is cut off arrives after it
// reconnects; a flood of events leaves the DOM as big as it was; axe finds
// no serious violation. It writes display-zh.png and display-en.png
// (1920x1080) to $CIVIQ_SCREENSHOTS, a directory relative to web/ (e.g.
// ../docs/screenshots), or to a temporary directory.
func TestDisplayBrowser(t *testing.T) {
	browsertest.Require(t)
	ds := civiqtest.New(t)
	browsertest.RunShots(t, displayScript, map[string]string{"CIVIQ_URL": ds.URL, "CIVIQ_TOKEN": ds.Admin,
		"CIVIQ_CLERK": ds.User(t, "clerk5", civiq.RoleStaff, "demo")})
}

const displayScript = `
const base = process.env.CIVIQ_URL, token = process.env.CIVIQ_TOKEN, shots = process.env.CIVIQ_SHOTS;

const issue = async (svc) => (await api('POST', '/api/v1/halls/demo/tickets', { service_id: svc })).ticket;
const callNext = async (ctr) => { const r = await api('POST', '/api/v1/halls/demo/counters/' + ctr + '/call-next'); return r && r.ticket; };
const announce = (text) => api('POST', '/api/v1/halls/demo/announcements', { text });

// speechSynthesis is replaced before the page's scripts run: speak records
// the text and ends the utterance a little later; overlapping speech is
// noted. (The empty utterance that unlocks sound on the click is ignored.)
const stub = () => {
  window.__spoken = []; window.__overlap = 0; let busy = false;
  const synth = {
    speaking: false, pending: false, paused: false,
    getVoices() { return []; }, cancel() {}, pause() {}, resume() {},
    addEventListener() {}, removeEventListener() {},
    speak(u) {
      if (u.text === '') { setTimeout(() => u.onend && u.onend(new Event('end')), 0); return; }
      if (busy) window.__overlap++;
      busy = true;
      window.__spoken.push(u.text);
      setTimeout(() => { busy = false; u.onend && u.onend(new Event('end')); }, 40);
    },
  };
  Object.defineProperty(window, 'speechSynthesis', { value: synth, configurable: true });
};

async function open(lang) {
  const page = watch(await civiq.newPage({ viewport: { width: 1920, height: 1080 } }));
  // Failed loads are told by URL (the layout has no favicon; offline
  // reconnection attempts fail on purpose).
  page.on('requestfailed', (r) => { if (r.failure().errorText !== 'net::ERR_INTERNET_DISCONNECTED') page.errors.push('failed: ' + r.url() + ' ' + r.failure().errorText); });
  await page.addInitScript(stub);
  await page.goto(base + '/halls/demo/display' + (lang ? '?lang=' + lang : ''), { waitUntil: 'load' });
  await page.waitForFunction(() => window.civiqDisplay && window.civiqDisplay.synced() >= 1, null, { timeout: 10000 });
  return page;
}
const tileNum = (page, ctr) => page.$eval('[data-counter="' + ctr + '"] .tile-num', (e) => e.textContent);
const tileState = (page, ctr) => page.$eval('[data-counter="' + ctr + '"] .tile-state', (e) => e.textContent);

// ---- the pure parts ----
const page = await open('');
// The demo's counters are open, but nobody is signed in there: 未开放.
eq(await tileState(page, '2'), '未开放', 'an open counter with nobody signed in');
eq(await page.evaluate(() => window.civiqDisplay.speechTexts('A012', '3')),
  { zh: '请A零一二号到3号窗口办理', en: 'Number A 0 1 2, please go to counter 3' }, 'speechTexts default template');
eq(await page.evaluate(() => window.civiqDisplay.speechTexts('B105', '12', '请{number}号到{counter}号窗口')),
  { zh: '请B一零五号到12号窗口', en: 'Number B 1 0 5, please go to counter 12' }, 'speechTexts hall template');
eq(await page.evaluate(() => {
  const vs = [{ name: 'net', lang: 'zh-CN', localService: false }, { name: 'tw', lang: 'zh-TW', localService: true },
    { name: 'cn', lang: 'zh_CN', localService: true }, { name: 'gb', lang: 'en-GB', localService: true }, { name: 'us', lang: 'en-US', localService: true }];
  const p = window.civiqDisplay.pickVoice;
  return [p(vs, 'zh').name, p(vs, 'en').name, p(vs.slice(0, 2), 'zh'), p([], 'en')];
}), ['cn', 'us', null, null], 'pickVoice');

mark('the sound overlay, then two quick calls');
// ---- the sound overlay, then two quick calls ----
assert(await page.isVisible('#d-sound'), 'the sound overlay is shown at first');
await axe(page, 'with the sound overlay');
await page.click('#d-sound');
assert(!(await page.isVisible('#d-sound')), 'the sound overlay goes away when clicked');

await issue('general'); await issue('tax');
const t1 = await callNext('1');
const t2 = await callNext('5');
eq([t1.number, t2.number], ['A001', 'C001'], 'ticket numbers');
await page.waitForFunction(() => document.querySelector('[data-counter="5"] .tile-num').textContent === 'C001', null, { timeout: 10000 });
eq(await tileNum(page, '1'), 'A001', 'counter 1 shows its call');
eq(await page.$$eval('#d-recent .r-num', (es) => es.slice(0, 2).map((e) => e.textContent)), ['C001', 'A001'], 'recent calls, newest first');
assert(await page.$eval('[data-counter="5"]', (e) => e.classList.contains('flash') && e.classList.contains('latest')), 'the newest call flashes');
await page.waitForFunction(() => window.__spoken.length >= 6, null, { timeout: 10000 });
const zh1 = '请A零零一号到1号窗口办理', en1 = 'Number A 0 0 1, please go to counter 1';
const zh2 = '请C零零一号到5号窗口办理', en2 = 'Number C 0 0 1, please go to counter 5';
eq(await page.evaluate(() => window.__spoken), [zh1, zh1, en1, zh2, zh2, en2], 'spoken texts');
eq(await page.evaluate(() => window.__overlap), 0, 'utterances overlapping');
await page.waitForFunction(() => document.querySelector('#d-waiting').textContent.includes('0 人'), null, { timeout: 10000 });

mark('A recall is spoken again.');
// A recall is spoken again.
await api('POST', '/api/v1/tickets/' + t1.id + '/recall');
await page.waitForFunction(() => window.__spoken.length >= 9, null, { timeout: 10000 });
eq(await page.evaluate(() => window.__spoken.slice(6)), [zh1, zh1, en1], 'recall spoken');

mark('announcement');
// ---- announcement ----
const long = '温馨提示：本大厅中午十二点至一点正常办理业务，请各位办事群众保管好随身财物，取号后请留意叫号屏幕和语音提示，过号请到服务台重新取号。';
await announce(long);
await page.waitForFunction((t) => document.querySelector('#d-ann-text').textContent === t, long, { timeout: 10000 });
eq(await page.$eval('#d-ann', (e) => getComputedStyle(e).animationName), 'd-scroll', 'a long announcement scrolls');
await page.emulateMedia({ reducedMotion: 'reduce' });
await page.evaluate(() => window.dispatchEvent(new Event('resize')));
eq(await page.$eval('#d-ann', (e) => getComputedStyle(e).animationName), 'none', 'no scrolling for reduced motion');
await page.emulateMedia({ reducedMotion: 'no-preference' });
await page.evaluate(() => window.dispatchEvent(new Event('resize')));

mark('cut off:');
// ---- cut off: a call made meanwhile arrives after the reconnection ----
// The hall's voice template changes too: the display takes it when it
// reconnects.
const hall = (await api('GET', '/api/v1/halls/demo')).hall;
await api('PUT', '/api/v1/halls/demo', { ...hall, voice_template: '请{number}号到{counter}号窗口' });
await page.context().setOffline(true);
const cut = await (await fetch(base + '/test/cut-streams', { method: 'POST' })).json();
assert(cut.cut >= 1, 'no stream to cut');
await page.waitForSelector('#d-conn:not(.hidden)', { timeout: 10000 });
await issue('property');
const t3 = await callNext('3');
await page.waitForTimeout(300);
eq(await tileNum(page, '3'), '—', 'counter 3 while offline');
await page.context().setOffline(false);
await page.waitForFunction((n) => document.querySelector('[data-counter="3"] .tile-num').textContent === n, t3.number, { timeout: 10000 });
await page.waitForSelector('#d-conn.hidden', { state: 'attached', timeout: 10000 });
await page.waitForFunction(() => window.__spoken.length >= 12, null, { timeout: 10000 });
eq(await page.evaluate(() => window.__spoken.slice(9)),
  ['请B零零一号到3号窗口', '请B零零一号到3号窗口', 'Number B 0 0 1, please go to counter 3'], 'the call made while offline is spoken');
eq(await page.evaluate(() => window.__overlap), 0, 'utterances overlapping');

mark('A call replayed long after');
// A call replayed long after it was made updates the board, silently.
await page.evaluate(() => window.civiqDisplay.apply('ticket.called',
  { type: 'ticket.called', at: new Date(Date.now() - 10 * 60000).toISOString(), ticket: { id: 'x', number: 'B099', service_id: 'property', counter_id: '4', status: 'called', call_count: 1 } }));
await page.waitForTimeout(200);
eq(await tileNum(page, '4'), 'B099', 'an old replayed call is shown');
eq(await page.evaluate(() => window.__spoken.length), 12, 'an old replayed call is not spoken');
await page.evaluate(() => window.civiqDisplay.apply('ticket.done',
  { type: 'ticket.done', at: new Date().toISOString(), ticket: { id: 'x', number: 'B099', service_id: 'property', counter_id: '4', status: 'done', call_count: 1 } }));
eq(await tileNum(page, '4'), '—', 'a done ticket leaves its counter');
eq(await tileState(page, '4'), '未开放', 'nobody signed in at 4 once its ticket is gone');
await api('POST', '/api/v1/halls/demo/counters/4/status', { status: 'open' }); // the admin is signed in there now
await page.waitForFunction(() => document.querySelector('[data-counter="4"] .tile-state').textContent === '空闲', null, { timeout: 10000 });

mark('screenshots:');
// ---- screenshots: more counters called, one paused ----
await issue('social'); await issue('general'); await issue('general');
await callNext('2'); await callNext('4'); await callNext('6');
await api('POST', '/api/v1/halls/demo/counters/5/status', { status: 'open' }, process.env.CIVIQ_CLERK); // its clerk steps away
await api('POST', '/api/v1/halls/demo/counters/5/status', { status: 'paused', reason: '暂离 10 分钟' }, process.env.CIVIQ_CLERK);
await issue('general'); await issue('property'); await issue('tax'); await issue('social'); await issue('social');
await page.waitForFunction(() => document.querySelector('[data-counter="5"] .tile-state').textContent.includes('暂离'), null, { timeout: 10000 });
await page.waitForFunction(() => document.querySelector('#d-waiting').textContent.includes('2 人'), null, { timeout: 10000 });
// A counter nobody has opened says so (未开放), not 空闲.
await api('PUT', '/api/v1/halls/demo/counters/7', { name: '7号窗口', service_ids: ['general'] });
await api('POST', '/api/v1/halls/demo/counters/7/status', { status: 'closed' });
await page.waitForFunction(() => { const e = document.querySelector('[data-counter="7"] .tile-state'); return e && e.textContent === '未开放'; }, null, { timeout: 10000 });
eq(await tileNum(page, '7'), '—', 'a closed counter shows no number');
await page.waitForTimeout(300);
await page.screenshot({ path: shots + '/display-zh.png', animations: 'disabled' });
await axe(page, 'zh, after calls');

mark("const pageEn = await open('en');");
const pageEn = await open('en');
await pageEn.click('#d-sound');
await pageEn.waitForFunction(() => document.querySelector('[data-counter="6"] .tile-num').textContent !== '—', null, { timeout: 10000 });
eq(await pageEn.$eval('html', (e) => e.lang), 'en', 'English page');
assert((await pageEn.$eval('#d-waiting', (e) => e.textContent)).includes('General intake'), 'English service names');
assert((await pageEn.$eval('[data-counter="3"] .tile-name', (e) => e.textContent)) === 'Counter 3', 'English counter names');
eq(await pageEn.$eval('[data-counter="7"] .tile-state', (e) => e.textContent), 'Not open', 'a closed counter in English');
await pageEn.screenshot({ path: shots + '/display-en.png', animations: 'disabled' });
await axe(pageEn, 'en');

mark('memory:');
// ---- memory: a flood of events leaves the page as big as it was ----
const nodes = () => page.evaluate(() => document.getElementsByTagName('*').length);
const before = await nodes();
for (let i = 0; i < 20; i++) {
  await issue(['general', 'property', 'tax', 'social'][i % 4]);
  await callNext(String(1 + (i % 4)));
}
mark('2000 synthetic events');
await page.evaluate(() => {
  const D = window.civiqDisplay, svcs = ['general', 'property', 'tax', 'social'], letters = 'ABCD';
  for (let i = 0; i < 2000; i++) {
    const ctr = String(1 + (i % 6)), s = i % 4, number = letters[s] + String(100 + (i % 900)).padStart(3, '0');
    const at = new Date().toISOString();
    const t = { id: 'syn' + i, number, service_id: svcs[s], counter_id: ctr, status: 'called', call_count: 1 };
    const kind = i % 5;
    if (kind === 0) D.apply('announcement', { type: 'announcement', at, text: '公告 ' + i });
    else if (kind === 1) D.apply('ticket.issued', { type: 'ticket.issued', at, ticket: { ...t, status: 'waiting', counter_id: undefined } });
    else if (kind === 2) D.apply('ticket.done', { type: 'ticket.done', at, ticket: { ...t, status: 'done' } });
    else D.apply('ticket.called', { type: 'ticket.called', at, ticket: t });
  }
});
await page.waitForFunction(() => document.querySelector('#d-ann-text').textContent === '公告 1995', null, { timeout: 10000 });
eq(await page.$eval('#d-ann', (e) => getComputedStyle(e).animationName), 'none', 'a short announcement stands still');
const stats = await page.evaluate(() => window.civiqDisplay.stats());
const bounds = await page.evaluate(() => window.civiqDisplay.bounds);
const after = await nodes();
console.log('DOM elements before/after 2000 events:', before, after, 'stats:', JSON.stringify(stats));
eq(after, before, 'DOM element count after the flood');
assert(stats.recent <= bounds.MAX_RECENT && stats.pending <= bounds.MAX_PENDING + 1 && stats.buffer === 0 && stats.tiles === 7 /* the demo's six and counter 7 */,
  'state out of bounds: ' + JSON.stringify(stats));
// Counters that do not exist are bounded too.
await page.evaluate(() => {
  for (let i = 0; i < 500; i++) window.civiqDisplay.apply('counter.updated', { type: 'counter.updated', at: new Date().toISOString(), counter: { id: 'x' + i, name: 'X' + i, status: 'open', service_ids: [] } });
});
const st2 = await page.evaluate(() => window.civiqDisplay.stats());
assert(st2.tiles === bounds.MAX_COUNTERS, 'tiles ' + st2.tiles + ', bound ' + bounds.MAX_COUNTERS);
eq(await page.evaluate(() => window.__overlap), 0, 'utterances overlapping after the flood');

for (const p of [page, pageEn]) assert(p.errors.length === 0, 'page errors: ' + p.errors.join('\n'));
mark('done');
console.log('ok');
`
