package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
)

// cityHalls are the halls of the city tests besides the demo hall: their
// names, arrivals per hour of their two services, counters and the share
// of good ratings.
var cityHalls = []struct {
	ID, Name, NameEn string
	General, Social  float64
	Counters         int
	Good             float64
}{
	{"citizen", "市民中心政务服务大厅", "Citizen Centre Service Hall", 40, 18, 6, 0.97},
	{"east", "东城区政务服务中心", "East District Service Centre", 26, 10, 4, 0.99},
	{"west", "西城区政务服务中心", "West District Service Centre", 30, 12, 3, 0.9},
	{"south", "南湖区政务服务中心", "Nanhu District Service Centre", 14, 6, 3, 1},
	{"north", "北山区政务服务中心", "Beishan District Service Centre", 18, 9, 3, 0.95},
	{"hitech", "高新区政务服务中心", "High-tech Zone Service Centre", 22, 4, 3, 0.98},
	{"devzone", "经开区企业服务中心", "Development Zone Business Centre", 9, 3, 2, 1},
	{"linjiang", "临江镇便民服务中心", "Linjiang Town Service Centre", 6, 5, 2, 0.85},
	{"qingshi", "青石街道便民服务站", "Qingshi Street Service Point", 4, 3, 1, 1},
}

// cityMorning adds the halls and plays the last hour of their mornings,
// to 11:20 today.
func (s *mgrSite) cityMorning(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	day := time.Date(s.Noon.Year(), s.Noon.Month(), s.Noon.Day(), 0, 0, 0, 0, mgrTZ)
	s.Clock.Set(day.Add(8 * time.Hour))
	for i, h := range cityHalls {
		hall := civiq.Hall{ID: h.ID, Name: h.Name, NameEn: h.NameEn, Timezone: "Asia/Shanghai", LateReturnBehind: civiq.DefaultLateReturnBehind}
		if err := s.Engine.SaveHall(ctx, &hall); err != nil {
			t.Fatal(err)
		}
		for j, sv := range []civiq.Service{{ID: "general", Prefix: "A", Name: "综合受理", NameEn: "General intake"},
			{ID: "social", Prefix: "D", Name: "社保医保", NameEn: "Social and medical insurance"}} {
			sv.HallID, sv.Position = h.ID, j
			if err := s.Engine.SaveService(ctx, &sv, civiq.KeepQuotas{}); err != nil {
				t.Fatal(err)
			}
		}
		for c := 1; c <= h.Counters; c++ {
			id := fmt.Sprint(c)
			if err := s.Engine.SaveCounter(ctx, &civiq.Counter{HallID: h.ID, ID: id, Name: id + "号窗口", ServiceIDs: []string{"general", "social"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Engine.SetCounterStatus(ctx, h.ID, id, civiq.CounterOpen, "", nil); err != nil {
				t.Fatal(err)
			}
		}
		s.play(t, dayPlan{Hall: h.ID, Day: day, From: 10*time.Hour + 20*time.Minute, To: 11*time.Hour + 20*time.Minute, Seed: uint64(10 + i), Step: time.Minute,
			Rates:    map[string]float64{"general": h.General, "social": h.Social},
			Handling: map[string]float64{"general": 6, "social": 5},
			NoShow:   0.03, Rated: 0.6, Good: h.Good})
	}
	s.Clock.Set(s.Noon)
}

// TestCityBrowser drives the city overview in Chromium with ten halls: the
// rows and totals are the API's; a ticket in one hall shows within a
// couple of seconds, fetched for that hall alone; sorting and finding
// work; a manager sees only their hall; axe finds no serious violation in
// Chinese or English. It writes city-zh.png and city-en.png (1920x1080).
func TestCityBrowser(t *testing.T) {
	browsertest.Require(t)
	s := newMgrSite(t)
	start := time.Now()
	s.cityMorning(t)
	s.demoFrom(t, 10*time.Hour+20*time.Minute)
	t.Logf("played the city's morning in %v", time.Since(start))
	runMgrScript(t, s, cityScript, nil)
}

const cityScript = `
const view = { width: 1920, height: 1080 };
const page = await signedIn('admin', '/city', view);
const live = () => page.waitForFunction(() => document.querySelector('#cy-live').classList.length === 1 && !document.querySelector('#cy-live').classList.contains('down')
  && document.querySelector('#cy-live').textContent === window.CIVIQ.t['city.live.on'], null, { timeout: 10000 });
await live();
const fromAPI = await api('GET', '/api/v1/city');
eq(fromAPI.halls.length, 10, 'halls from the API');
const rows = () => page.$$eval('#cy-rows tr', (rs) => rs.map((r) => ({ id: r.dataset.hall, waiting: Number(r.querySelector('.bar-num').textContent), rate: r.children[5].textContent })));
let got = await rows();
eq(got.length, 10, 'rows');
const byId = Object.fromEntries(fromAPI.halls.map((h) => [h.id, h]));
for (const r of got) {
  eq(r.waiting, byId[r.id].waiting, 'waiting of ' + r.id);
  const h = byId[r.id];
  eq(r.rate, h.satisfaction_rate === null ? '暂无' : Math.round(h.satisfaction_rate * 1000) / 10 + '%', 'satisfaction of ' + r.id);
}
eq(await page.textContent('#ck-waiting'), String(fromAPI.totals.waiting), 'total waiting');
eq(await page.textContent('#ck-rate'), Math.round(fromAPI.totals.satisfaction_rate * 1000) / 10 + '%', 'the city\'s satisfaction');
// Sorted by the longest wait, longest first.
const longest = got.map((r) => byId[r.id].longest_wait_seconds);
for (let i = 1; i < longest.length; i++) assert(longest[i - 1] >= longest[i] - 2, 'sorted by the longest wait: ' + longest);
await axe(page, 'city zh');
await page.screenshot({ path: shots + '/city-zh.png' });
console.log('rows match; screenshot taken');

// A ticket in one hall: only that hall is fetched again.
const asked = [];
page.on('request', (r) => { if (r.url().includes('/api/v1/city')) asked.push(r.url().slice(base.length)); });
const before = byId.east.waiting;
const t0 = Date.now();
await api('POST', '/api/v1/halls/east/tickets', { service_id: 'general' });
await page.waitForFunction((n) => Number(document.querySelector('#cy-rows tr[data-hall="east"] .bar-num').textContent) === n, before + 1, { timeout: 10000 });
console.log('a ticket in east shown after ' + (Date.now() - t0) + ' ms; asked ' + asked.join(' '));
eq(asked, ['/api/v1/city?halls=east'], 'what was fetched');
eq(await page.textContent('#ck-waiting'), String(fromAPI.totals.waiting + 1), 'the total follows');

// Nothing happens, nothing is fetched.
await sleep(2500);
eq(asked.length, 1, 'fetches while nothing happens');

// Sorting by name, and finding.
await page.click('th[data-sort="name"] button');
eq(await page.getAttribute('th[data-sort="name"]', 'aria-sort'), 'ascending', 'aria-sort');
await page.fill('#cy-q', '东城');
eq((await rows()).map((r) => r.id), ['east'], 'finding 东城');
await page.fill('#cy-q', '');
clean(page, 'city zh');

// English.
await page.goto(base + '/city?lang=en');
await live();
eq(await page.$eval('html', (e) => e.lang), 'en', 'html lang');
assert((await page.textContent('#cy-rows')).includes('East District Service Centre'), 'English hall names');
await axe(page, 'city en');
await page.screenshot({ path: shots + '/city-en.png' });
clean(page, 'city en');

// A hall's manager sees their hall only.
const mgr = await signedIn('mgr', '/city?lang=zh-CN', view);
await mgr.waitForFunction(() => document.querySelectorAll('#cy-rows tr').length > 0);
eq(await mgr.$$eval('#cy-rows tr', (rs) => rs.map((r) => r.dataset.hall)), ['demo'], 'the manager\'s halls');
clean(mgr, 'city as manager');
console.log('english and manager ok');
`
