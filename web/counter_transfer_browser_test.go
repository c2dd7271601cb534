package web_test

import (
	"context"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
)

// The clerk's context across counters: who is signed in at each, the
// guide a kiosk ticket was taken from, a transfer to a given clerk with a
// note, and that note on the next clerk's counter page.
func TestCounterTransferBrowser(t *testing.T) {
	browsertest.Require(t)
	t.Parallel()
	s := startCtrSite(t)
	ctx := context.Background()
	if _, err := s.Engine.LoadDemoGuides(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Engine.CreateUser(ctx, &civiq.User{Username: "zhao", Role: civiq.RoleStaff, HallIDs: []string{"demo"}}, "zhao-password-1"); err != nil {
		t.Fatal(err)
	}
	browsertest.Run(t, ctrPrelude+`
const page = await civiq.newPage({ viewport: { width: 1366, height: 768 } });
watch(page);
async function until(p, what, fn, arg) {
  try { await p.waitForFunction(fn, arg, { timeout: 15000 }); } catch (e) {
    throw new Error('waiting for ' + what + ': message "' + await p.textContent('#msg') + '", clerk "' + await p.textContent('#clerk') + '"');
  }
}
const guide = (await api('GET', '/api/v1/guides/demo-p-transfer')).body.guide;
const k1 = (await api('POST', '/api/v1/halls/demo/tickets', { service_id: 'property', channel: 'kiosk', guide_id: guide.id })).body.ticket;
check(k1.guide_id === guide.id, 'the ticket keeps its guide: ' + JSON.stringify(k1));

await page.goto(base + '/halls/demo/counter/3');
await page.fill('#username', 'admin');
await page.fill('#password', process.env.ADMIN_PW);
await Promise.all([page.waitForURL('**/halls/demo/counter/3'), page.click('button[type=submit]')]);
await page.goto(base + '/halls/demo/counter/3?lang=zh-CN');
await page.waitForSelector('#b-call:not([disabled])');
check((await page.textContent('#clerk')) === '本窗口无人登录', 'clerk before anyone opened: ' + await page.textContent('#clerk'));
// Pausing and opening again signs the admin in here.
await page.click('#b-pause');
await page.click('#pause-form button[type=submit]');
await page.waitForSelector('#ctr[aria-busy=false]');
await page.waitForTimeout(700); // the same action within 600 ms is taken for a double press
await page.click('#b-pause');
await until(page, 'the admin signed in', () => document.getElementById('clerk').textContent === '本窗口人员：admin');

// zhao opens counter 4 in another browser.
const zpage = await civiq.newPage({ viewport: { width: 1366, height: 768 } });
zpage.on('pageerror', (e) => errors.push(e.message));
await zpage.goto(base + '/halls/demo/counter/4?lang=zh-CN');
await zpage.fill('#username', 'zhao');
await zpage.fill('#password', 'zhao-password-1');
await Promise.all([zpage.waitForURL('**/halls/demo/counter/4**'), zpage.click('button[type=submit]')]);
await zpage.goto(base + '/halls/demo/counter/4?lang=zh-CN');
await zpage.waitForSelector('#b-pause:not([disabled])');
await zpage.click('#b-pause'); // paused: the reasons
await zpage.click('#pause-form button[type=submit]');
await zpage.waitForSelector('#ctr[aria-busy=false]');
await zpage.waitForTimeout(700);
await zpage.click('#b-pause'); // open again, as zhao
await until(zpage, 'zhao signed in', () => document.getElementById('clerk').textContent === '本窗口人员：zhao');

// The kiosk ticket at counter 3 shows the guide it was taken from.
await page.click('#queue li:first-child button');
await page.fill('#callone-reason', '指南取号');
await page.click('#callone-form button[type=submit]');
await until(page, 'the ticket called', (n) => document.getElementById('cur-number').textContent === n, k1.number);
await until(page, 'the guide shown', (g) => document.getElementById('cur-guide').textContent === '取号所选办事指南：' + g, guide.name);

// Transfer to zhao, with a note.
await page.waitForSelector('#ctr[aria-busy=false]');
await page.keyboard.press('t');
await page.waitForSelector('#d-transfer[open]');
await page.waitForSelector('#clerk-pick button');
const clerks = await page.$$eval('#clerk-pick button', (bs) => bs.map((b) => b.textContent));
check(clerks.length === 1 && clerks[0].includes('zhao') && clerks[0].includes('4号窗口'), 'clerks offered: ' + clerks);
check((await page.textContent('#ctr-pick')).includes('4号窗口 · zhao'), 'counters offered: ' + await page.textContent('#ctr-pick'));
check((await page.textContent('#ctr-pick')).includes('5号窗口 · 无人登录'), 'a counter with nobody there says so: ' + await page.textContent('#ctr-pick'));
await page.fill('#transfer-note', '已核验身份证，缺少购房合同原件');
await shot(page, 'counter-transfer-zh');
await axe(page, 'transfer dialog with counters and clerks');
await page.click('#clerk-pick button');
await until(page, 'transferred', () => !document.getElementById('cur-none').classList.contains('hidden'));
check((await page.textContent('#msg')).includes('已转给 zhao'), 'message: ' + await page.textContent('#msg'));

// Counter 4 lists it first, marked, and calls it with the note.
await until(zpage, 'the ticket listed for zhao', (n) => { const l = document.querySelector('#queue li'); return l && l.textContent.includes(n) && l.textContent.includes('转给本窗口'); }, k1.number);
await zpage.keyboard.press('n');
await until(zpage, 'zhao called it', (n) => document.getElementById('cur-number').textContent === n, k1.number);
await until(zpage, 'the note shown', () => document.getElementById('cur-note').textContent === '上一窗口备注：已核验身份证，缺少购房合同原件');
check(!(await zpage.isHidden('#cur-guide')), 'the guide follows the ticket');
await until(zpage, 'the waiting list emptied', () => document.querySelectorAll('#queue li').length === 0);
await shot(zpage, 'counter-transferred-zh');
await axe(zpage, 'counter with a transferred ticket');
await zpage.goto(base + '/halls/demo/counter/4?lang=en');
await until(zpage, 'the note in English', () => document.getElementById('cur-note').textContent.startsWith('Note from the last clerk: '));
await until(zpage, 'the guide in English', (g) => document.getElementById('cur-guide').textContent === 'Guide the ticket was taken from: ' + g, guide.name_en);
check((await zpage.textContent('#clerk')) === 'Signed in here: zhao', 'clerk in English');
await shot(zpage, 'counter-transferred-en');
await axe(zpage, 'counter with a transferred ticket, English');
check(errors.length === 0, 'page errors: ' + errors.join('; '));
`, ctrEnv(t, s))
}
