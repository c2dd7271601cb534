package web_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// largeHallServices are the sixteen services of the large-hall fixture:
// the long names of a real city centre, the English about twice as long.
var largeHallServices = [][2]string{
	{"综合受理（无差别受理）", "Comprehensive intake (any matter accepted at one window)"},
	{"税务（个人所得税、契税）", "Taxation (individual income tax and deed tax on property)"},
	{"不动产登记（抵押、转移）", "Real estate registration (mortgages and transfers of title)"},
	{"社保医保（参保、转移接续）", "Social and medical insurance (enrolment and transfers)"},
	{"住房公积金（提取、贷款）", "Housing provident fund (withdrawals and loans)"},
	{"户籍办理（迁入、迁出）", "Household registration (moving in and moving out)"},
	{"出入境（护照、港澳通行证）", "Exit and entry (passports, Hong Kong and Macao permits)"},
	{"市场监管（企业开办）", "Market regulation (starting and changing a business)"},
	{"工程建设项目审批", "Approval of construction and engineering projects"},
	{"交通运输（道路运输许可）", "Transport (road transport permits and licences)"},
	{"民政（婚姻登记、救助）", "Civil affairs (marriage registration and assistance)"},
	{"人才服务（落户、职称）", "Talent services (residence permits and professional titles)"},
	{"医疗保障（异地就医备案）", "Medical security (registering treatment in another city)"},
	{"水电气报装（一件事）", "Water, power and gas connections (one application)"},
	{"残疾人证办理", "Disability certificates (issue, renewal and changes)"},
	{"政务服务咨询与投诉", "Government service enquiries, suggestions and complaints"},
}

// newLargeHall starts a node with the hall "big": 16 services with long
// names, 40 counters of which 20 call a ticket, 2 are paused (with a long
// reason) and 6 closed, and a few tickets waiting in every service.
func newLargeHall(t *testing.T) *civiqtest.Server {
	t.Helper()
	s := civiqtest.New(t)
	hall := map[string]any{"name": "江城市政务服务中心（市民之家）", "name_en": "Jiangcheng Municipal Government Service Centre (Citizens' Home), Main Hall",
		"timezone": "Asia/Shanghai", "allow_remote": true}
	if st := s.Call(t, "PUT", "/api/v1/halls/big", s.Admin, hall, nil); st != 200 {
		t.Fatalf("create hall: %d", st)
	}
	for i, n := range largeHallServices {
		body := map[string]any{"prefix": string(rune('A' + i)), "name": n[0], "name_en": n[1], "position": i}
		if st := s.Call(t, "PUT", fmt.Sprintf("/api/v1/halls/big/services/s%02d", i+1), s.Admin, body, nil); st != 200 {
			t.Fatalf("service %d: %d", i+1, st)
		}
	}
	for c := 1; c <= 40; c++ {
		a, b := (c-1)%16+1, c%16+1
		body := map[string]any{"name": strconv.Itoa(c) + "号窗口", "service_ids": []string{fmt.Sprintf("s%02d", a), fmt.Sprintf("s%02d", b)}}
		if st := s.Call(t, "PUT", "/api/v1/halls/big/counters/"+strconv.Itoa(c), s.Admin, body, nil); st != 200 {
			t.Fatalf("counter %d: %d", c, st)
		}
		if st := s.Call(t, "POST", "/api/v1/halls/big/counters/"+strconv.Itoa(c)+"/status", s.Admin, map[string]any{"status": "open"}, nil); st != 200 {
			t.Fatalf("open counter %d: %d", c, st)
		}
	}
	for i := 0; i < 16*3; i++ {
		if st := s.Call(t, "POST", "/api/v1/halls/big/tickets", s.Admin, map[string]any{"service_id": fmt.Sprintf("s%02d", i%16+1), "channel": "remote"}, nil); st != 201 {
			t.Fatalf("ticket %d: %d", i, st)
		}
	}
	for c := 1; c <= 20; c++ {
		if st := s.Call(t, "POST", "/api/v1/halls/big/counters/"+strconv.Itoa(c)+"/call-next", s.Admin, nil, nil); st != 200 {
			t.Fatalf("call at %d: %d", c, st)
		}
	}
	for _, c := range []int{21, 22} {
		body := map[string]any{"status": "paused", "reason": "暂离 10 分钟，请到相邻窗口办理"}
		if st := s.Call(t, "POST", "/api/v1/halls/big/counters/"+strconv.Itoa(c)+"/status", s.Admin, body, nil); st != 200 {
			t.Fatalf("pause %d: %d", c, st)
		}
	}
	for c := 35; c <= 40; c++ {
		if st := s.Call(t, "POST", "/api/v1/halls/big/counters/"+strconv.Itoa(c)+"/status", s.Admin, map[string]any{"status": "closed"}, nil); st != 200 {
			t.Fatalf("close %d: %d", c, st)
		}
	}
	return s
}

// fitScript is the check the large-hall tests run in the page: fit(opts)
// lists every element shown that leaves the viewport, sticks out of its
// parent, clips or spills its own content, overlaps a sibling of
// opts.apart, or whose text is smaller than opts.min gives
// ([[selector, px], ...]), and every touch target of opts.targets smaller
// than opts.target px either way. Elements inside opts.skip are left out.
const fitScript = `
async function fit(page, opts) {
  return page.evaluate((o) => {
    const vw = innerWidth, vh = innerHeight, out = [];
    const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
      (e.dataset && e.dataset.counter ? '[counter ' + e.dataset.counter + ']' : '') + (e.dataset && e.dataset.service ? '[service ' + e.dataset.service + ']' : '');
    const shown = (e) => {
      if (e.closest('.hidden, [hidden]')) return false;
      const cs = getComputedStyle(e);
      if (cs.display === 'none' || cs.visibility === 'hidden' || cs.display === 'contents') return false;
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0;
    };
    const skip = (e) => o.skip && e.closest(o.skip);
    const box = (r) => [Math.round(r.left), Math.round(r.top), Math.round(r.right), Math.round(r.bottom)].join(',');
    for (const e of document.body.querySelectorAll('*')) {
      if (['SCRIPT', 'STYLE', 'TEMPLATE', 'BR', 'svg', 'path', 'rect'].includes(e.tagName) || e.closest('svg') || skip(e) || !shown(e)) continue;
      const r = e.getBoundingClientRect();
      if (r.left < -1 || r.top < -1 || r.right > vw + 1 || r.bottom > vh + 1) out.push(name(e) + ' leaves the viewport ' + box(r) + ' of ' + vw + 'x' + vh);
      const p = e.parentElement;
      if (p && p !== document.body && shown(p) && getComputedStyle(e).position !== 'fixed') {
        const q = p.getBoundingClientRect();
        if (r.left < q.left - 1 || r.top < q.top - 1 || r.right > q.right + 1 || r.bottom > q.bottom + 1) out.push(name(e) + ' ' + box(r) + ' sticks out of ' + name(p) + ' ' + box(q));
      }
      const cs = getComputedStyle(e);
      // Glyphs may reach a little above and below a tight line-height
      // (CJK fonts): up to 0.3em is no fault where overflow is visible.
      const em = Math.max(parseFloat(cs.fontSize), ...[...e.children].map((c) => parseFloat(getComputedStyle(c).fontSize)));
      const slack = cs.overflowY === 'visible' ? Math.max(1, 0.3 * em) : 1;
      if (cs.display !== 'inline' && e.clientWidth > 0 && (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + slack)) {
        out.push(name(e) + ' clips or spills its content: ' + e.scrollWidth + 'x' + e.scrollHeight + ' in ' + e.clientWidth + 'x' + e.clientHeight);
      }
    }
    for (const [sel, px] of o.min || []) {
      for (const e of document.querySelectorAll(sel)) {
        if (!shown(e) || !e.textContent.trim()) continue;
        const f = parseFloat(getComputedStyle(e).fontSize);
        if (f < px - 0.01) out.push(name(e) + ' "' + e.textContent.trim().slice(0, 30) + '" is ' + f.toFixed(1) + 'px, under ' + px + 'px');
      }
    }
    for (const e of document.querySelectorAll(o.targets || '_none_')) {
      if (!shown(e)) continue;
      const r = e.getBoundingClientRect();
      if (r.width < o.target || r.height < o.target) out.push(name(e) + ' is a touch target of ' + Math.round(r.width) + 'x' + Math.round(r.height) + ', under ' + o.target + 'px');
    }
    for (const sel of o.apart || []) {
      const es = [...document.querySelectorAll(sel)].filter(shown);
      for (let i = 0; i < es.length; i++) for (let j = i + 1; j < es.length; j++) {
        const a = es[i].getBoundingClientRect(), b = es[j].getBoundingClientRect();
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) out.push(name(es[i]) + ' overlaps ' + name(es[j]));
      }
    }
    return out;
  }, opts);
}
// fits asserts that fit finds nothing.
async function fits(page, opts, when) {
  const bad = await fit(page, opts);
  assert(bad.length === 0, when + ': ' + bad.length + ' layout faults:\n  ' + bad.slice(0, 25).join('\n  '));
}
const viewports = [['landscape', 1920, 1080], ['portrait', 1080, 1920], ['phone', 390, 844]];
`

// TestLargeHallBrowser opens the large hall's display in Chinese and
// English on a 1920x1080 screen, a 1080x1920 one and a phone, and fails
// when anything leaves the screen, sticks out of its box or clips its
// text, when a ticket number is under 80px or a counter's state or a
// waiting count under 28px; every counter and every service comes on one
// page or another; ?counters=21-40 shows only those; without an
// announcement its band is gone. axe on each.
func TestLargeHallBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newLargeHall(t)
	browsertest.RunShots(t, fitScript+largeDisplayScript, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_TOKEN": s.Admin})
}

const largeDisplayScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const browser = await civiq.launch();
const displayRules = { skip: '.d-sound, .d-sr, .d-ticker-win', min: [['.tile-num', 80], ['.tile-state', 28], ['.w-count', 28]], apart: ['.tile'] };
for (const [vname, width, height] of viewports) {
  for (const lang of ['zh-CN', 'en']) {
    const when = 'display ' + vname + ' ' + lang;
    mark(when);
    const ctx = await browser.newContext({ viewport: { width, height } });
    const page = watch(await ctx.newPage());
    await page.goto(base + '/halls/big/display?sound=on&lang=' + lang);
    await page.waitForFunction(() => window.civiqDisplay && window.civiqDisplay.synced() >= 1);
    await page.waitForFunction(() => document.querySelectorAll('#d-waiting .w-count').length === 16 &&
      [...document.querySelectorAll('#d-waiting .w-count')].every((e) => e.textContent !== '–'));
    await page.evaluate(() => document.fonts.ready);
    await sleep(1000); // the expected waits come 600 ms after the counts
    assert(await page.$eval('.d-ticker', (e) => getComputedStyle(e).display === 'none'), when + ': the empty announcement band is gone');
    const pg = await page.evaluate(() => window.civiqDisplay.pages());
    // Every counter and service is on some page; the first two pages and
    // the last are looked at closely (a phone has dozens).
    const sets = await page.evaluate(() => window.civiqDisplay.pageSets());
    eq(new Set(sets.counters.flat()).size, 40, when + ': counters over ' + sets.counters.length + ' pages');
    const rows = sets.services.map(([a, b]) => b - a).reduce((x, y) => x + y, 0);
    eq([rows, sets.services[0][0], sets.services.every((r, i) => i === 0 || r[0] === sets.services[i - 1][1])], [16, 0, true], when + ': services over their pages');
    const last = Math.max(pg.counters, pg.services) - 1;
    for (const i of [...new Set([0, Math.min(1, last), last])]) {
      await page.evaluate((i) => window.civiqDisplay.showPage(i), i);
      await fits(page, displayRules, when + ' page ' + (i + 1));
      if (pg.counters > 1) {
        const busy = await page.$$eval('.tile:not(.away):not(.idle)', (es) => es.length);
        if (pg.perPage > 20) assert(busy === 20, when + ': the busy counters stay on every page: ' + busy);
        else if (i === 0) assert(busy === pg.perPage, when + ': busy counters first: ' + busy);
        assert(await page.isVisible('#d-page'), when + ': the page number shows');
      }
      if (i === 0) {
        await page.screenshot({ path: shots + '/large-display-' + vname + '-' + lang + '.png' });
        await axe(page, when);
      }
    }
    console.log(when + ': ' + JSON.stringify(pg));
    clean(page, when);
    await ctx.close();
  }
}

mark('?counters=21-40 and an announcement');
const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
const page = watch(await ctx.newPage());
await page.goto(base + '/halls/big/display?sound=on&counters=21-40');
await page.waitForFunction(() => window.civiqDisplay && window.civiqDisplay.synced() >= 1);
const ids = await page.$$eval('.tile', (es) => es.map((e) => Number(e.dataset.counter)));
assert(ids.length === 20 && ids.every((n) => n >= 21 && n <= 40), '?counters=21-40: ' + ids);
assert(await page.$eval('#d-recent', (e) => e.textContent.trim()) === '暂无叫号', '?counters=21-40: the calls of counters 1-20 are not listed');
await fetch(base + '/api/v1/halls/big/announcements', { method: 'POST', headers: { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN, 'Content-Type': 'application/json' },
  body: JSON.stringify({ text: '温馨提示：请保管好随身财物，过号请到服务台重新取号。' }) });
await page.waitForFunction(() => getComputedStyle(document.querySelector('.d-ticker')).display !== 'none');
await sleep(300);
await page.evaluate(() => window.civiqDisplay.showPage(0));
await fits(page, displayRules, '?counters=21-40 with an announcement');
await page.screenshot({ path: shots + '/large-display-21-40.png' });
clean(page, '?counters=21-40');
const bad = await fetch(base + '/halls/big/display?counters=40-21');
assert(bad.status === 400, '?counters=40-21: ' + bad.status);
console.log('ok');
`

// TestLargeHallKioskBrowser opens the large hall's kiosk, signed in, in
// Chinese and English, lying, standing and on a phone: every service
// button is whole (names wrap or shrink inside it, nothing clipped or
// overlapping), at least 57px (15 mm) either way, and services that do not
// fit are on further pages with a visible way there. axe on each.
// Then the short screens lying down of most kiosks (1280x1024, 5:4, and
// 1024x768), the large hall's kiosk and the demo hall's, both languages,
// with large text (长辈模式) and without: each service button shown holds
// its texts, nothing overlaps (services, pager, the other ways in), every
// text is at least 30 px in the mode, every service is on a page, and axe
// with the mode's 7:1 contrast. The live waiting counts, taken on another
// page than the first, leave the page number (a live region) and the
// pager untouched. At 800x600 in large text, too small for one service a
// page, all 16 services are on one page that scrolls, no pager. A hall of
// one service ("one") has no pager and fits at 1024x768.
func TestLargeHallKioskBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newLargeHall(t)
	// "one": a hall of one service, one counter open.
	if st := s.Call(t, "PUT", "/api/v1/halls/one", s.Admin, map[string]any{"name": "单一事项服务点", "name_en": "One Service Point", "timezone": "Asia/Shanghai", "allow_remote": true}, nil); st != 200 {
		t.Fatalf("create hall one: %d", st)
	}
	if st := s.Call(t, "PUT", "/api/v1/halls/one/services/only", s.Admin, map[string]any{"prefix": "A", "name": largeHallServices[0][0], "name_en": largeHallServices[0][1]}, nil); st != 200 {
		t.Fatalf("service of one: %d", st)
	}
	if st := s.Call(t, "PUT", "/api/v1/halls/one/counters/1", s.Admin, map[string]any{"name": "1号窗口", "service_ids": []string{"only"}}, nil); st != 200 {
		t.Fatalf("counter of one: %d", st)
	}
	if st := s.Call(t, "POST", "/api/v1/halls/one/counters/1/status", s.Admin, map[string]any{"status": "open"}, nil); st != 200 {
		t.Fatalf("open counter of one: %d", st)
	}
	browsertest.RunShots(t, fitScript+largeKioskScript, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword, "CIVIQ_TOKEN": s.Admin})
}

const largeKioskScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const browser = await civiq.launch();
const kioskRules = { skip: '.sr-only', min: [['.svc-name', 22], ['.svc-name small', 15], ['.svc-count', 20]],
  targets: '.svc, .kpage-btn, .action, .kiosk-lang', target: 57, apart: ['.svc', '.action', '.kpage-btn'] };
for (const [vname, width, height] of viewports) {
  for (const lang of ['zh-CN', 'en']) {
    const when = 'kiosk ' + vname + ' ' + lang;
    mark(when);
    const ctx = await browser.newContext({ viewport: { width, height }, hasTouch: true });
    const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
    assert(login.ok(), 'sign in: ' + login.status());
    const page = watch(await ctx.newPage());
    await page.goto(base + '/halls/big/kiosk?lang=' + lang);
    await page.waitForSelector('#s-home:not(.hidden)');
    await page.waitForFunction(() => [...document.querySelectorAll('.svc-count')].every((e) => e.textContent));
    await page.evaluate(() => document.fonts.ready);
    await sleep(300);
    const seen = new Set();
    const pages = await page.evaluate(() => window.civiqKiosk.pages());
    for (let i = 0; i < pages; i++) {
      if (i > 0) await page.click('#kpage-next');
      // Every page is counted; the first two and the last are looked at closely.
      if (i < 2 || i === pages - 1) await fits(page, kioskRules, when + ' page ' + (i + 1));
      for (const id of await page.$$eval('.svc', (es) => es.filter((e) => e.offsetParent).map((e) => e.dataset.service))) seen.add(id);
      if (pages > 1 && i < pages - 1) assert(await page.isEnabled('#kpage-next'), when + ': the way to the next page shows');
      if (i === 0) {
        await page.screenshot({ path: shots + '/large-kiosk-' + vname + '-' + lang + '.png' });
        await axe(page, when);
      }
    }
    assert(seen.size === 16, when + ': services over ' + pages + ' pages: ' + seen.size);
    console.log(when + ': ' + pages + ' pages');
    clean(page, when);
    await ctx.close();
  }
}

// whole lists the service buttons shown whose box does not hold all their
// texts' boxes, or that reach into the pager.
async function whole(page) {
  return page.evaluate(() => {
    const out = [], pager = document.getElementById('kpager');
    const p = pager.classList.contains('hidden') ? null : pager.getBoundingClientRect();
    for (const b of document.querySelectorAll('.svc')) {
      if (!b.checkVisibility()) continue;
      const r = b.getBoundingClientRect(), range = document.createRange();
      const w = document.createTreeWalker(b, NodeFilter.SHOW_TEXT);
      for (let n = w.nextNode(); n; n = w.nextNode()) {
        if (!n.textContent.trim()) continue;
        range.selectNodeContents(n);
        for (const t of range.getClientRects()) {
          if (t.left < r.left - 1 || t.top < r.top - 1 || t.right > r.right + 1 || t.bottom > r.bottom + 1) {
            out.push(b.dataset.service + ': "' + n.textContent.trim().slice(0, 20) + '" outside its button');
          }
        }
      }
      if (p && r.bottom > p.top + 1 && r.top < p.bottom - 1) out.push(b.dataset.service + ' reaches into the pager');
    }
    return out;
  });
}
const shortScreens = [['1280x1024', 1280, 1024], ['1024x768', 1024, 768]];
for (const [hall, count] of [['big', 16], ['demo', 4]]) {
  for (const elder of [true, false]) {
    for (const [vname, width, height] of shortScreens) {
      for (const lang of ['zh-CN', 'en']) {
        const when = hall + ' kiosk ' + vname + ' ' + lang + (elder ? ' large text' : '');
        mark(when);
        const { ctx, page } = await openKiosk(hall, width, height, lang, elder);
        assert(await page.evaluate(() => document.documentElement.classList.contains('elder')) === elder, when + ': the mode');
        const rules = { ...kioskRules, apart: [...kioskRules.apart, '.svc, #kpager, .action, .kiosk-title'] };
        if (elder) rules.min = [['.svc-name', 30], ['.svc-name small', 30], ['.svc-count', 30], ['.svc-eta', 30], ['.action strong', 30]];
        const seen = new Set();
        const pages = await page.evaluate(() => window.civiqKiosk.pages());
        for (let i = 0; i < pages; i++) {
          if (i > 0) await page.click('#kpage-next');
          if (i < 2 || i === pages - 1) {
            eq(await whole(page), [], when + ' page ' + (i + 1) + ': service buttons');
            await fits(page, rules, when + ' page ' + (i + 1));
          }
          for (const id of await page.$$eval('.svc', (es) => es.filter((e) => e.offsetParent).map((e) => e.dataset.service))) seen.add(id);
        }
        assert(seen.size === count, when + ': services over ' + pages + ' pages: ' + seen.size);
        if (elder) eq(await textBelow(page, 30), [], when + ': texts under 30 px');
        await axe(page, when, elder ? ['color-contrast-enhanced'] : []);
        if (shots) await page.screenshot({ path: shots + '/short-kiosk-' + hall + '-' + vname + '-' + lang + (elder ? '-large' : '') + '.png' });
        console.log(when + ': ' + pages + ' pages');
        clean(page, when);
        await ctx.close();
      }
    }
  }
}

// openKiosk opens a hall's kiosk signed in, at a size, with large text or
// without, its waiting counts shown.
async function openKiosk(hall, width, height, lang, elder) {
  const ctx = await browser.newContext({ viewport: { width, height }, hasTouch: true });
  await ctx.addInitScript((on) => { if (on) localStorage.setItem('civiq.elder', '1'); }, elder);
  const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
  assert(login.ok(), 'sign in: ' + login.status());
  const page = watch(await ctx.newPage());
  await page.goto(base + '/halls/' + hall + '/kiosk?lang=' + lang);
  await page.waitForSelector('#s-home:not(.hidden)');
  await page.waitForFunction(() => [...document.querySelectorAll('.svc-count')].every((e) => e.textContent));
  await page.evaluate(() => document.fonts.ready);
  await sleep(300);
  return { ctx, page };
}
async function takeTicket(hall, service) {
  const r = await fetch(base + '/api/v1/halls/' + hall + '/tickets', { method: 'POST',
    headers: { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ service_id: service, channel: 'remote' }) });
  assert(r.status === 201, 'ticket in ' + hall + '/' + service + ': ' + r.status);
}
// pagerState is what the start screen shows of its pages.
const pagerState = (page) => page.evaluate(() => ({ pages: window.civiqKiosk.pages(), pager: !document.getElementById('kpager').classList.contains('hidden'),
  scroll: document.getElementById('s-home').classList.contains('scroll'),
  shown: [...document.querySelectorAll('.svc')].filter((e) => e.checkVisibility()).length }));

// The page number is a live region: the live waiting counts, measured on
// every page, never rewrite it nor the pager while the page stays.
{
  const when = 'big kiosk 1024x768 large text, live counts';
  mark(when);
  const { ctx, page } = await openKiosk('big', 1024, 768, 'zh-CN', true);
  const pages = await page.evaluate(() => window.civiqKiosk.pages());
  assert(pages > 1, when + ': pages ' + pages);
  await page.click('#kpage-next');
  await page.evaluate(() => {
    window.pagerMutations = [];
    const note = (ms) => { for (const m of ms) window.pagerMutations.push(m.type + ' ' + (m.target.id || m.target.parentElement && m.target.parentElement.id) + ' ' + (m.attributeName || '')); };
    new MutationObserver(note).observe(document.getElementById('kpage-at'), { childList: true, characterData: true, subtree: true });
    new MutationObserver(note).observe(document.getElementById('kpager'), { attributes: true, subtree: true, attributeFilter: ['disabled', 'class'] });
  });
  for (const [i, svc] of [[1, 's01'], [2, 's09'], [3, 's16']]) {
    const before = await page.$eval('.svc[data-service=' + svc + '] .svc-count', (e) => e.textContent);
    await takeTicket('big', svc);
    await page.waitForFunction(([svc, before]) => document.querySelector('.svc[data-service=' + svc + '] .svc-count').textContent !== before, [svc, before]);
    await sleep(300);
  }
  eq(await page.evaluate(() => [window.civiqKiosk.page(), window.pagerMutations]), [1, []], when + ': the page and its pager after three live updates');
  clean(page, when);
  await ctx.close();
}

// A screen too small for one service a page (800x600 in large text):
// every service on one page that scrolls, no pager.
for (const lang of ['zh-CN', 'en']) {
  const when = 'big kiosk 800x600 ' + lang + ' large text';
  mark(when);
  const { ctx, page } = await openKiosk('big', 800, 600, lang, true);
  eq(await pagerState(page), { pages: 1, pager: false, scroll: true, shown: 16 }, when + ': pages');
  eq(await whole(page), [], when + ': service buttons');
  eq(await textBelow(page, 30), [], when + ': texts under 30 px');
  await page.$eval('.svc[data-service=s16]', (e) => e.scrollIntoView());
  assert(await page.evaluate(() => { const r = document.querySelector('.svc[data-service=s16]').getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }), when + ': the last service scrolls into view');
  await page.evaluate(() => document.getElementById('s-home').scrollTo(0, 0));
  if (shots) await page.screenshot({ path: shots + '/small-kiosk-big-800x600-' + lang + '-large.png' });
  await axe(page, when, ['color-contrast-enhanced']);
  clean(page, when);
  await ctx.close();
}

// A hall of one service: one page, no pager ("Page 1 of 1"), the
// service whole; it fits unless the screen is very small.
for (const [vname, width, height, elder] of [['1024x768', 1024, 768, false], ['1024x768', 1024, 768, true], ['800x600', 800, 600, true]]) {
  const when = 'one-service kiosk ' + vname + (elder ? ' large text' : '');
  mark(when);
  const { ctx, page } = await openKiosk('one', width, height, 'zh-CN', elder);
  const st = await pagerState(page);
  eq([st.pages, st.pager, st.shown], [1, false, 1], when + ': pages');
  if (width >= 1024) assert(!st.scroll, when + ': fits without scrolling');
  eq(await whole(page), [], when + ': service buttons');
  if (!st.scroll) await fits(page, { ...kioskRules, apart: [...kioskRules.apart, '.svc, .action, .kiosk-title'] }, when);
  if (shots) await page.screenshot({ path: shots + '/one-kiosk-' + vname + (elder ? '-large' : '') + '.png' });
  console.log(when + ': ' + JSON.stringify(st));
  clean(page, when);
  await ctx.close();
}
console.log('ok');
`
