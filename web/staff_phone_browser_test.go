package web_test

import (
	"bytes"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestStaffPagesPhoneBrowser: the city overview, the reports, the day's
// bookings, the staffing planner and the administration on a phone (375 px), in Chinese and
// English, do not scroll sideways and cut no figure: their tables scroll
// in their cards, the figures go two by two, and the top bar breaks the
// user's name, not 退出/Sign out or the language link. The city ran 801 px
// wide, its figures cut to "1 o…", "中文" in two lines; the reports ran
// 427 px, their figures cut; the bookings' strikes table ran out of its
// card to 919 px; the planner ran 459 px, its figures cut to "9…"; the
// administration's services ran 546 px and its notifications 777 px (its
// list of messages), each list now scrolling in itself.
func TestStaffPagesPhoneBrowser(t *testing.T) {
	browsertest.Require(t)
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{7}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := civiqtest.New(t, func(s *civiqtest.Server) { s.Engine.Sealer = sealer })
	// A message in the administration's notifications list, in words wider
	// than a phone.
	s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"sms": map[string]any{"provider": "log"}}, nil)
	var tk struct{ Ticket civiq.Ticket }
	s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "general"}, &tk)
	s.Call(t, "POST", "/api/v1/tickets/"+tk.Ticket.ID+"/notify", "", map[string]string{"phone": "13800000001"}, nil)
	s.Call(t, "PUT", "/api/v1/halls/east", s.Admin, map[string]any{"name": "东湖高新技术产业开发区行政审批局政务服务大厅（东湖新城社区分中心）", "timezone": "Asia/Shanghai"}, nil)
	s.Call(t, "PUT", "/api/v1/halls/north", s.Admin, map[string]any{"name": "北城区政务服务中心", "name_en": "North District Service Centre", "timezone": "Asia/Shanghai"}, nil)
	browsertest.RunShots(t, `
const base = process.env.CIVIQ_URL;
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
assert(login.ok(), 'sign in');
// The planner asks for the hall's history first: a hall without any
// answers 409 and the page plans the example day instead.
const page = watch(await ctx.newPage(), /\/plan\?.*days=/);
for (const [path, ready, hash] of [['/city', '#cy-rows tr:nth-child(3)'], ['/halls/demo/reports', '#rp-staff-csv[href*="format"]'],
  ['/halls/demo/bookings', '#strikes tbody tr'], ['/halls/demo/planner', '#pl-table tbody tr'],
  ['/admin', '#svc-list tbody tr', '#services'], ['/admin', '#nt-messages tbody tr[data-kind]', '#notify']]) {
  for (const lang of ['zh-CN', 'en']) {
    await page.goto(base + path + '?lang=' + lang + (hash || ''));
    await page.waitForSelector(ready, { state: 'attached' });
    await page.waitForTimeout(300);
    const m = await page.evaluate(() => {
      const d = document.documentElement;
      const line = (e) => parseFloat(getComputedStyle(e).lineHeight) || 24;
      return {
        page: [d.scrollWidth, d.clientWidth],
        cut: [...document.querySelectorAll('.kpi-v, .kpi-s')].filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent),
        broken: [...document.querySelectorAll('.bar .lang, .bar .link')].filter((e) => e.getBoundingClientRect().height > line(e) * 1.5).map((e) => e.textContent),
      };
    });
    assert(m.page[0] <= m.page[1], path + ' ' + lang + ': the page scrolls sideways: ' + m.page);
    eq(m.cut, [], path + ' ' + lang + ': figures cut');
    eq(m.broken, [], path + ' ' + lang + ': top bar links in two lines');
    await axe(page, path + ' ' + lang);
    await page.screenshot({ path: process.env.CIVIQ_SHOTS + '/phone' + path.replace(/\//g, '-') + (hash || '').replace('#', '-') + '-' + lang + '.png', fullPage: true });
  }
}
clean(page, 'staff pages on a phone');
console.log('ok');
`, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword})
}
