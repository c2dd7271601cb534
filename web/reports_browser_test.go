package web_test

import (
	"testing"
	"time"

	"github.com/civiq/civiq/browsertest"
)

// TestReportsBrowser drives the reports page in Chromium over yesterday's
// busy day of the demo hall: the tables and the figures are the API's,
// the file links give the same period as a workbook and a CSV, a period
// ending before it starts is named next to the date, and axe finds no
// violation in Chinese or English. It writes reports-zh.png and
// reports-en.png (1366x900).
func TestReportsBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newMgrSite(t)
	s.demoHistory(t, 1)
	day := s.Noon.AddDate(0, 0, -1).Format(time.DateOnly)
	runMgrScript(t, s, reportsScript, map[string]string{"CIVIQ_DAY": day})
}

const reportsScript = `
const day = process.env.CIVIQ_DAY;
const view = { width: 1366, height: 900 };
const page = await signedIn('mgr', '/halls/demo/reports?from=' + day + '&to=' + day, view);
const loaded = (n) => page.waitForFunction((k) => window.civiqReports && window.civiqReports.loads() >= k && !document.querySelector('#rp-run').disabled, n, { timeout: 15000 });
await loaded(1);
const q = '?from=' + day + '&to=' + day + '&by=range';
const staff = await api('GET', '/api/v1/halls/demo/reports/staff' + q);
const svcs = await api('GET', '/api/v1/halls/demo/reports/services' + q);
eq(await page.evaluate(() => window.civiqReports.staff()), staff, 'the page\'s staff report is the API\'s');
eq(await page.evaluate(() => window.civiqReports.services()), svcs, 'the page\'s service report is the API\'s');
assert(svcs.total.arrivals > 50, 'a busy day: ' + svcs.total.arrivals);
const pct = (x) => x === null ? '–' : Math.round(x * 1000) / 10 + '%';
eq(await page.textContent('#rk-arrivals'), String(svcs.total.arrivals), 'arrivals');
eq(await page.textContent('#rk-within'), pct(svcs.total.within_target_share), 'within target');
// The service rows: arrivals, called and the share within target.
const srows = await page.$$eval('#rt-svc tbody tr', (rs) => rs.map((r) => [r.dataset.service, r.children[3].textContent, r.children[4].textContent, r.children[7].textContent]));
eq(srows, svcs.rows.map((r) => [r.service_id, String(r.arrivals), String(r.called), pct(r.within_target_share)]), 'service rows');
// Counters and clerks: served, no-shows, ratings, satisfaction.
const trows = await page.$$eval('#rt-staff tbody tr', (rs) => rs.map((r) => [r.dataset.kind, r.dataset.id, r.children[2].textContent, r.children[6].textContent, r.children[8].textContent, r.children[9].textContent]));
eq(trows, staff.rows.map((r) => [r.kind, r.id, String(r.served), String(r.no_shows), String(r.ratings), pct(r.satisfaction_rate)]), 'staff rows');
// 帮办代办 in both: the tickets a helper took, the cases (a helper's).
const behalf = (sel) => page.$$eval(sel, (rs) => rs.map((r) => [...r.children].slice(-2).map((c) => c.textContent)));
const want = (r) => [String(r.on_behalf), r.cases + ' (' + r.cases_on_behalf + ')'];
eq(await behalf('#rt-svc tbody tr'), svcs.rows.map(want), 'service rows: 帮办代办');
eq(await behalf('#rt-svc tfoot tr'), [want(svcs.total)], 'total: 帮办代办');
eq(await behalf('#rt-staff tbody tr'), staff.rows.map(want), 'staff rows: 帮办代办');
assert(staff.rows.some((r) => r.kind === 'counter' && r.served > 0 && r.p90_handling_seconds >= r.mean_handling_seconds), 'p90 at least the mean somewhere');
// The charts: by hour, and by service with the 80% line.
const hourTable = await page.$$eval('#rc-hour table tr', (rs) => rs.slice(1).map((r) => Number(r.children[1].textContent)));
eq(hourTable.reduce((a, b) => a + b, 0), svcs.total.arrivals, 'the hour chart adds up to the arrivals');
eq(await page.$$eval('#rc-svc line.target', (ls) => ls.length), 1, 'the goal line');
// The files behind the links.
const files = await page.evaluate(async () => {
  const out = {};
  for (const id of ['rp-staff-xlsx', 'rp-svc-csv']) {
    const r = await fetch(document.getElementById(id).href);
    out[id] = { status: r.status, type: r.headers.get('content-type'), bytes: [...new Uint8Array(await r.arrayBuffer())].slice(0, 4) };
  }
  return out;
});
eq(files['rp-staff-xlsx'].status, 200, 'xlsx link');
eq(files['rp-staff-xlsx'].bytes, [0x50, 0x4b, 0x03, 0x04], 'the workbook is a zip');
assert(files['rp-svc-csv'].type.startsWith('text/csv'), 'csv type');
eq(files['rp-svc-csv'].bytes.slice(0, 3), [0xef, 0xbb, 0xbf], 'the CSV starts with a BOM');
await axe(page, 'reports zh');
await page.screenshot({ path: shots + '/reports-zh.png', fullPage: true });

// By day, from the day before: a period per day with tickets.
const before = new Date(Date.parse(day + 'T00:00:00Z') - 86400000).toISOString().slice(0, 10);
await page.fill('#rp-from', before);
await page.selectOption('#rp-by', 'day');
await page.click('#rp-run');
await loaded(2);
assert(page.url().includes('by=day'), 'the address keeps the grouping');
eq(await page.$$eval('#rt-svc tbody tr', (rs) => [...new Set(rs.map((r) => r.dataset.period))]), [day], 'one day with tickets');
// A period that ends before it starts is named at the end date.
await page.fill('#rp-from', day);
await page.fill('#rp-to', '2020-01-01');
await page.click('#rp-run');
await page.waitForFunction(() => document.querySelector('#rp-err').textContent.length > 0, null, { timeout: 10000 });
eq(await page.getAttribute('#rp-to', 'aria-invalid'), 'true', 'the end date is marked');
eq(await page.textContent('#rp-err'), '结束日期有误：不能早于开始日期', 'the error names the end date');
clean(page, 'reports zh');

// English.
await page.goto(base + '/halls/demo/reports?lang=en&from=' + day + '&to=' + day);
await loaded(1);
eq(await page.$eval('html', (e) => e.lang), 'en', 'html lang');
assert((await page.$eval('#rt-svc tbody tr th', (e) => e.textContent)).includes('General intake'), 'English service names');
const counters = await page.$$eval('#rt-staff tbody tr[data-kind=counter] th', (ts) => ts.map((t) => t.textContent));
assert(counters.length > 0 && counters.every((c) => /^Counter \d+$/.test(c)), 'English counter names: ' + counters);
await axe(page, 'reports en');
await page.screenshot({ path: shots + '/reports-en.png', fullPage: true });
clean(page, 'reports en');
console.log('reports ok: ' + staff.rows.length + ' staff rows, ' + svcs.rows.length + ' service rows');
`
