package web_test

import (
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestPublicPagesPublicStream opens the public pages (the display, the
// window screen, the kiosk, the rating device, a phone ticket page) in a
// browser where a manager of the hall is signed in: the session cookie
// goes with each page's EventSource, and each asks ?view=public, so no
// ticket id reaches the page, before a cut or after it, when the page
// opens the stream again with ?view=public&last_event_id=N. The counter
// page, a staff page, in the same browser still gets the staff view.
func TestPublicPagesPublicStream(t *testing.T) {
	browsertest.Require(t)
	ds := civiqtest.New(t)
	browsertest.Run(t, publicStreamScript, map[string]string{"CIVIQ_URL": ds.URL, "CIVIQ_TOKEN": ds.Admin,
		"CIVIQ_MANAGER": ds.User(t, "mgr-stream", civiq.RoleManager, "demo")})
}

const publicStreamScript = `
const base = process.env.CIVIQ_URL, token = process.env.CIVIQ_TOKEN;
const issue = async (svc) => (await api('POST', '/api/v1/halls/demo/tickets', { service_id: svc })).ticket;
const callNext = async (ctr) => (await api('POST', '/api/v1/halls/demo/counters/' + ctr + '/call-next')).ticket;

// Every EventSource the page opens is noted (its URL, its opening, its
// closing for good) and every event it hears, as the page's handler got it.
const spy = () => {
  window.__es = []; window.__got = []; window.__opened = 0; window.__closed = 0;
  const Real = window.EventSource;
  window.EventSource = class extends Real {
    constructor(url, opts) {
      super(url, opts);
      window.__es.push(String(url));
      super.addEventListener('open', () => window.__opened++);
      super.addEventListener('error', () => { if (this.readyState === Real.CLOSED) window.__closed++; });
    }
    addEventListener(name, fn, opts) {
      return super.addEventListener(name, (ev) => { window.__got.push({ name, data: ev.data }); return fn(ev); }, opts);
    }
  };
};

const waiting = await issue('general');
const b = await civiq.launch();
const ctx = await b.newContext({ viewport: { width: 1280, height: 800 } });
await ctx.addCookies([{ name: 'civiq_session', value: process.env.CIVIQ_MANAGER, url: base }]);
await ctx.addInitScript(spy);
const paths = { display: '/halls/demo/display', window: '/halls/demo/window/1', kiosk: '/halls/demo/kiosk',
  rate: '/halls/demo/rate/1', ticket: '/t/' + waiting.id, counter: '/halls/demo/counter/2' };
const pages = {};
for (const [name, path] of Object.entries(paths)) {
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(base + path, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__opened >= 1, null, { timeout: 10000 });
  pages[name] = page;
}
const publicPages = Object.keys(pages).filter((n) => n !== 'counter');
const state = (page) => page.evaluate(() => ({ es: window.__es, got: window.__got, closed: window.__closed }));

// serve calls the next ticket at counter 1 and finishes it: every page
// hears its end (the rating device hears nothing else).
async function serve(want) {
  const t = await callNext('1');
  eq(t.id, want.id, 'the waiting ticket is called');
  await api('POST', '/api/v1/tickets/' + t.id + '/start');
  await api('POST', '/api/v1/tickets/' + t.id + '/finish');
  for (const [name, page] of Object.entries(pages)) {
    await page.waitForFunction((n) => window.__got.some((g) => g.name === 'ticket.done' && JSON.parse(g.data).ticket.number === n),
      t.number, { timeout: 10000 }).catch(() => { throw new Error(name + ' never heard the end of ' + t.number); });
  }
  return t;
}
// checkPublic: the public pages' streams asked ?view=public and heard no
// ticket id, no counter's ticket or clerk, nothing staff-only.
async function checkPublic(when, ids) {
  for (const name of publicPages) {
    const s = await state(pages[name]);
    for (const url of s.es) assert(/\/api\/v1\/halls\/demo\/events\?view=public(&last_event_id=\d+)?$/.test(url), when + ': ' + name + ' opened ' + url);
    for (const g of s.got) {
      const d = JSON.parse(g.data);
      const bad = (d.ticket && ('id' in d.ticket || 'channel' in d.ticket)) || (d.counter && ('current_ticket_id' in d.counter || 'clerk' in d.counter)) ||
        ['reason', 'followup', 'booking', 'case', 'alert'].some((k) => k in d) || ids.some((id) => g.data.includes(id));
      assert(!bad, when + ': ' + name + ' heard a staff field: ' + g.name + ' ' + g.data);
    }
    assert(pages[name].errors.length === 0, when + ': ' + name + ': ' + pages[name].errors.join('; '));
  }
}

const c1 = await serve(waiting);
await checkPublic('live', [waiting.id]);
// The staff page in the same browser: the staff view, ids and all (and
// so the spy would have seen an id on a public page).
const staff = await state(pages.counter);
eq(staff.es, ['/api/v1/halls/demo/events'], 'the counter page opens the staff stream');
assert(staff.got.some((g) => g.name === 'ticket.called' && JSON.parse(g.data).ticket.id === c1.id), 'the counter page heard the ticket id');

// Cut: the reconnection is refused once, the streams close for good, and
// each page opens its stream again from the last id it heard.
await ctx.route('**/api/v1/halls/demo/events**', (r) => r.fulfill({ status: 503, contentType: 'application/json', body: '{}' }));
const cut = await (await fetch(base + '/test/cut-streams', { method: 'POST' })).json();
assert(cut.cut >= Object.keys(pages).length, 'streams cut: ' + cut.cut);
for (const page of Object.values(pages)) await page.waitForFunction(() => window.__closed >= 1, null, { timeout: 10000 });
await ctx.unroute('**/api/v1/halls/demo/events**');
const t2 = await issue('general');
for (const [name, page] of Object.entries(pages)) {
  await page.waitForFunction(() => window.__opened >= 2, null, { timeout: 10000 }).catch(() => { throw new Error(name + ' never opened its stream again'); });
}
await serve(t2);
for (const name of publicPages) {
  const s = await state(pages[name]);
  assert(/\?view=public&last_event_id=\d+$/.test(s.es[s.es.length - 1]), name + ' opened again with ' + s.es[s.es.length - 1]);
}
await checkPublic('after the cut', [waiting.id, t2.id]);
const again = await state(pages.counter);
assert(/^\/api\/v1\/halls\/demo\/events\?last_event_id=\d+$/.test(again.es[again.es.length - 1]), 'the counter page opened again with ' + again.es[again.es.length - 1]);
console.log('ok');
`
