package web_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/civiq/civiq/browsertest"
)

// TestPlannerBrowser drives the staffing planner in Chromium: it plans
// from the demo hall's history at once, the same plan the API gives; the
// table's totals add up; the CSV link gives UTF-8 with a BOM; a wrong goal
// is named next to its field; an uploaded profile is planned and its CSV
// downloaded; axe finds no serious violation in Chinese or English. It
// writes planner-zh.png and planner-en.png (1366x768).
func TestPlannerBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newMgrSite(t)
	start := time.Now()
	s.demoHistory(t, 1)
	t.Logf("played the history in %v", time.Since(start))
	profile, _ := filepath.Abs("../sim/demo_profile.json")
	runMgrScript(t, s, plannerScript, map[string]string{"CIVIQ_PROFILE": profile})
}

const plannerScript = `
const fs = require('fs');
const view = { width: 1366, height: 768 };
const page = await signedIn('mgr', '/halls/demo/planner', view);
const planned = (source) => page.waitForFunction((src) => { const p = window.civiqPlanner && window.civiqPlanner.plan(); return p && p.source === src && !document.querySelector('#pl-run').disabled; }, source, { timeout: 15000 });
await planned('history');
const plan = await page.evaluate(() => window.civiqPlanner.plan());
const same = await api('GET', '/api/v1/halls/demo/plan?goal=0.8&target_minutes=15&days=28');
eq(plan.slots, same.slots, 'the page\'s plan is the API\'s');
assert(plan.check.meets_goal, 'the plan meets the goal in simulation');
assert(plan.slots.length >= 8 && plan.slots[0].from === '08:00', 'slots from 08:00: ' + plan.slots.map((s) => s.from));
eq(await page.$$eval('#pl-table tbody tr', (rs) => rs.length), plan.slots.length, 'table rows');
const totals = await page.$$eval('#pl-table tbody tr', (rs) => rs.map((r) => {
  const cells = [...r.querySelectorAll('td')];
  const sum = cells.slice(0, -1).reduce((a, td) => a + (Number(td.querySelector('.cnum').textContent) || 0), 0);
  return [sum, Number(cells[cells.length - 1].textContent)];
}));
for (const [sum, total] of totals) assert(sum === total, 'a row adds up to ' + sum + ', its total says ' + total);
eq(await page.$$eval('#pl-chart rect.seg', (rs) => rs.length) > 0, true, 'chart segments');
assert((await page.textContent('#pk-from')).includes(plan.history_to), 'the period read is named');
// The CSV, from the link as the browser would fetch it.
const csv = await page.evaluate(async () => { const r = await fetch(document.querySelector('#pl-csv').href); return { type: r.headers.get('content-type'), bytes: [...new Uint8Array(await r.arrayBuffer())] }; });
assert(csv.type.startsWith('text/csv'), 'csv type ' + csv.type);
eq(csv.bytes.slice(0, 3), [0xef, 0xbb, 0xbf], 'the CSV starts with a BOM');
const csvText = Buffer.from(csv.bytes.slice(3)).toString('utf8').trim().split('\n');
assert(csvText[0].startsWith('开始,结束,综合受理 每小时到达,综合受理 窗口数'), 'csv header ' + csvText[0]);
eq(csvText.length, 1 + plan.slots.length, 'csv rows');
await axe(page, 'planner zh');
await page.screenshot({ path: shots + '/planner-zh.png' });
console.log('history plan: ' + plan.slots.length + ' slots, peak ' + Math.max(...plan.slots.map((s) => s.counters)));

// A wrong goal is named next to its field, and nothing is asked.
await page.fill('#pl-goal', '101');
await page.click('#pl-run');
eq(await page.textContent('#pl-goal-err'), '请填写 50 到 99 之间的整数。', 'goal error');
eq(await page.getAttribute('#pl-goal', 'aria-invalid'), 'true', 'aria-invalid');
await page.fill('#pl-goal', '90');

// An uploaded profile.
await page.setInputFiles('#pl-file', process.env.CIVIQ_PROFILE);
eq(await page.$eval('input[name=source]:checked', (e) => e.value), 'profile', 'choosing a file chooses the upload');
await page.click('#pl-run');
await planned('profile');
const p2 = await page.evaluate(() => window.civiqPlanner.plan());
eq(p2.goal, 0.9, 'the goal sent');
assert(p2.slots[0].from === '08:30', 'the profile\'s slots');
eq(await page.textContent('#pl-goal-err'), '', 'the goal error is gone');
const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#pl-csv')]);
const chunks = []; // read as a stream: a download of the shared browser has no local path
for await (const c of await dl.createReadStream()) chunks.push(c);
const file = Buffer.concat(chunks);
eq([...file.slice(0, 3)], [0xef, 0xbb, 0xbf], 'the uploaded plan\'s CSV starts with a BOM');
eq(file.toString('utf8').trim().split('\n').length, 1 + p2.slots.length, 'uploaded csv rows');
clean(page, 'planner zh');

// English.
await page.goto(base + '/halls/demo/planner?lang=en');
await planned('history');
eq(await page.$eval('html', (e) => e.lang), 'en', 'html lang');
assert((await page.textContent('#pl-table thead')).includes('General intake'), 'English service names');
await axe(page, 'planner en');
await page.screenshot({ path: shots + '/planner-en.png' });
clean(page, 'planner en');
console.log('english ok');
`
