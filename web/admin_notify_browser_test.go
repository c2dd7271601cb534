package web_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestAdminNotifyBrowser: a hall's SMS notifications are set on /admin
// (the page's checks and the server's next to the field, the secret
// write-only: "set" after saving, never shown), WeChat (app id, secret
// write-only, templates) and Web Push too, the day's messages are counted
// with the cost and the channel in words, listed one by one for a chosen
// day (number, kind, channel, masked address, status with why), and a test
// message goes to a given number. The heading names every channel.
// axe in both languages.
func TestAdminNotifyBrowser(t *testing.T) {
	browsertest.Require(t)
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{7}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := civiqtest.New(t, func(s *civiqtest.Server) { s.Engine.Sealer = sealer })
	// The hall far from China's zone: its day, the report's, is most of
	// the time not Shanghai's.
	h, err := s.Engine.Hall(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	far := *h
	far.Timezone = "Pacific/Kiritimati"
	if err := s.Engine.SaveHall(context.Background(), &far); err != nil {
		t.Fatal(err)
	}
	browsertest.RunShots(t, adminNotifyScript, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword, "CIVIQ_TOKEN": s.Admin})
}

const adminNotifyScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const call = async (method, path, body) => (await (await fetch(base + path, { method, headers: { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN, 'Content-Type': 'application/json' },
  body: body ? JSON.stringify(body) : undefined })).json());
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
assert(login.ok(), 'sign in');
const page = watch(await ctx.newPage(), /\/notifications(\/test)?$/);
const errorOf = (name) => page.$eval('[name="' + name + '"]', (e) => { const p = (e.closest('.field') || e.parentElement).querySelector('.field-error'); return p ? p.textContent : ''; });
// until reads again until ok takes what it read (5 s at most): the page
// writes a refusal's words after the answer came, a moment later under load.
const until = async (read, ok) => { let v; for (let i = 0; i < 100; i++) { v = await read(); if (ok(v)) return v; await page.waitForTimeout(50); } return v; };
const saved = () => page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).pathname === '/api/v1/halls/demo/notifications');

mark('settings');
await page.goto(base + '/admin?hall=demo#notify');
await page.waitForSelector('#f-notify [name="sms.templates.taken"]');
eq(await page.$eval('[name="ahead"]', (e) => e.value), '3', 'the default ahead');
// "next" goes when nobody is left before the ticket, not one.
assert((await page.textContent('#nt-ahead-hint')).includes('前面没有人'), 'the hint says when next goes: ' + await page.textContent('#nt-ahead-hint'));
// The day's report comes with its own answer, after the form.
await page.waitForFunction(() => (document.querySelector('#nt-report') || {}).textContent?.includes('还没有'), null, { timeout: 10000 }).catch(() => {});
assert((await page.textContent('#nt-report')).includes('还没有'), 'nothing sent yet');
await axe(page, 'notify zh');
await page.selectOption('[name="sms.provider"]', 'aliyun');
await page.fill('[name="quiet_from"]', '21:00');
await page.fill('[name="ahead"]', '0');
await page.click('#f-notify [type=submit]');
assert((await errorOf('ahead')) !== '', 'the page checks ahead');
assert((await errorOf('quiet_to')) !== '', 'the page wants both quiet hours');
assert((await errorOf('sms.access_key_id')) !== '', 'aliyun needs its key');
assert((await errorOf('sms.access_key_secret')) !== '', 'and its secret');
await page.screenshot({ path: shots + '/admin-notify-errors.png', fullPage: true });
// The server's check next to its field: a template longer than 64.
await page.selectOption('[name="sms.provider"]', 'log');
await page.fill('[name="ahead"]', '4');
await page.fill('[name="quiet_to"]', '08:00');
await page.fill('[name="daily_budget"]', '100');
await page.fill('[name="cost_fen"]', '5');
await page.fill('[name="reminder_at"]', '25:00');
await page.click('#f-notify [type=submit]');
assert((await errorOf('reminder_at')) !== '', 'the page checks the reminder hour');
await page.fill('[name="reminder_at"]', '19:30');
assert((await page.textContent('#nt-sms_templates_booking_reminder_day-hint')).includes('\${code} \${service} \${time}'), "a template's parameters, in order");
eq(await page.textContent('#nt-sms_templates_taken-hint'), '参数（依次）：\${number}', 'no link without link_base');
await page.$eval('[name="sms.templates.called"]', (e) => e.removeAttribute('maxlength'));
await page.fill('[name="sms.templates.called"]', 'X'.repeat(70));
let r = saved();
await page.click('#f-notify [type=submit]');
eq((await r).status(), 400, 'the server refuses a long template');
assert((await until(() => page.textContent('[data-field="sms.templates"]'), (v) => v.includes('64'))).includes('64'), 'its error by the templates');
const tmplErr = await page.textContent('[data-field="sms.templates"] > .field-error');
assert(tmplErr.includes('64') && tmplErr.includes('个字符'), 'in Chinese: ' + tmplErr);
await page.fill('[name="sms.templates.called"]', 'SMS_004');
await page.fill('[name="sms.templates.taken"]', 'SMS_001');
await page.fill('[name="sms.access_key_secret"]', 'very-secret');
r = saved();
await page.click('#f-notify [type=submit]');
eq((await r).status(), 200, 'saved');
await page.waitForSelector('#nt-sms_access_key_secret-hint:has-text("已设置")');
eq(await page.$eval('[name="sms.access_key_secret"]', (e) => e.value), '', 'the secret is not shown');
let ns = (await call('GET', '/api/v1/halls/demo/notifications')).notifications;
eq([ns.ahead, ns.quiet_from, ns.quiet_to, ns.reminder_at, ns.daily_budget, ns.cost_fen, ns.sms.provider, ns.sms.templates.taken, ns.sms.has_secret, ns.sms.access_key_secret],
  [4, '21:00', '08:00', '19:30', 100, 5, 'log', 'SMS_001', true, undefined], 'what the API answers');
// Saved again without a secret: the stored one is kept.
r = saved();
await page.click('#f-notify [type=submit]');
eq((await r).status(), 200, 'saved again');
eq((await call('GET', '/api/v1/halls/demo/notifications')).notifications.sms.has_secret, true, 'the secret kept');
// The server's refusals of the notifications' fields in the page's
// language, not its English: a private address for the endpoint.
await page.fill('[name="sms.endpoint"]', 'http://10.1.2.3/sms');
r = saved();
await page.click('#f-notify [type=submit]');
eq((await r).status(), 400, 'a private endpoint refused');
const why = await until(() => errorOf('sms.endpoint'), (v) => v.includes('--notify-allow') && v.includes('内网'));
assert(why.includes('--notify-allow') && why.includes('内网'), 'why, in Chinese: ' + why);
await page.fill('[name="sms.endpoint"]', '');

mark('wechat and web push');
await page.selectOption('[name="wechat.provider"]', 'wechat');
await page.click('#f-notify [type=submit]');
assert((await errorOf('wechat.access_key_id')) !== '', 'wechat needs its app id');
assert((await errorOf('wechat.access_key_secret')) !== '', 'and its secret');
await page.fill('[name="wechat.access_key_id"]', 'wx0123456789abcdef');
await page.fill('[name="wechat.access_key_secret"]', 'wechat-secret');
await page.fill('[name="wechat.templates.called"]', 'TPL_called_0001');
await page.check('#nt-webpush');
r = saved();
await page.click('#f-notify [type=submit]');
eq((await r).status(), 200, 'saved with wechat and web push');
await page.waitForSelector('#nt-wechat_access_key_secret-hint:has-text("已设置")');
eq(await page.$eval('[name="wechat.access_key_secret"]', (e) => e.value), '', 'the wechat secret is not shown');
ns = (await call('GET', '/api/v1/halls/demo/notifications')).notifications;
eq([ns.wechat.provider, ns.wechat.access_key_id, ns.wechat.has_secret, ns.wechat.access_key_secret, ns.wechat.templates.called, ns.webpush.provider, ns.sms.has_secret],
  ['wechat', 'wx0123456789abcdef', true, undefined, 'TPL_called_0001', 'webpush', true], 'wechat and web push as the API answers');
assert(await page.isChecked('#nt-webpush'), 'web push shown on');
await page.screenshot({ path: shots + '/admin-notify-wechat.png', fullPage: true });

mark('test send');
await page.fill('#nt-test-phone', '12');
const tr = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/notifications/test'));
await page.click('#f-notify-test [type=submit]');
eq((await tr).status(), 400, 'a bad number');
const phoneErr = await until(() => errorOf('phone'), (v) => v.includes('13 至 19'));
assert(phoneErr.includes('13 至 19'), 'named at the field, in Chinese: ' + phoneErr);
await page.fill('#nt-test-phone', '138 1234 5678');
await page.click('#f-notify-test [type=submit]');
await page.waitForSelector('#nt-test-result.ok');

mark('report');
const t = (await call('POST', '/api/v1/halls/demo/tickets', { service_id: 'general', channel: 'remote' })).ticket;
await call('POST', '/api/v1/tickets/' + t.id + '/notify', { phone: '13900001111' });
for (let i = 0; i < 100; i++) {
  const rep = (await call('GET', '/api/v1/halls/demo/notifications/report')).report;
  if (rep.sms_today > 0) break;
  await new Promise((ok) => setTimeout(ok, 100));
}
const asked = page.waitForRequest((r) => new URL(r.url()).pathname.endsWith('/notifications/report'));
await page.reload();
const hallDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Pacific/Kiritimati', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
eq(new URL((await asked).url()).searchParams.get('from'), hallDay, "the report is of the hall's day, in its zone");
await page.waitForSelector('#nt-report td:has-text("取号成功")');
assert((await page.textContent('#nt-report tbody')).includes('短信 · 仅写日志'), 'the channel in words: ' + await page.textContent('#nt-report tbody'));
assert(!(await page.textContent('#nt-report tbody')).includes('sms'), 'no code for the channel');
assert((await page.textContent('#nt-spend')).includes('¥0.05'), 'the cost: ' + await page.textContent('#nt-spend'));
eq(await page.textContent('#h-notify'), '通知设置', 'the heading names every channel, not only SMS');

mark('messages one by one');
// One more to the same number, past its limit of one an hour: failed,
// with why.
const st = (await call('GET', '/api/v1/halls/demo/notifications')).notifications;
delete st.callback_token; delete st.updated_at;
await call('PUT', '/api/v1/halls/demo/notifications', Object.assign(st, { per_phone_hour: 1, link_base: 'https://h.example.cn' }));
const t2 = (await call('POST', '/api/v1/halls/demo/tickets', { service_id: 'general', channel: 'remote' })).ticket;
await call('POST', '/api/v1/tickets/' + t2.id + '/notify', { phone: '13900001111' });
for (let i = 0; i < 100; i++) {
  const list = (await call('GET', '/api/v1/halls/demo/notifications/messages')).messages;
  if (list.some((m) => m.status === 'failed')) break;
  await new Promise((ok) => setTimeout(ok, 100));
}
await page.reload();
await page.waitForSelector('#nt-messages tr[data-status="failed"]');
eq(await page.textContent('#nt-sms_templates_taken-hint'), '参数（依次）：\${number} https://h.example.cn/t/\${link}', 'the link with link_base: the address written in');
eq(await page.$eval('#nt-date', (e) => e.value), hallDay, "the list is of the hall's day at first");
const rows = await page.$$eval('#nt-messages tbody tr', (trs) => trs.map((r) => [...r.cells].map((c) => c.textContent)));
eq(rows.length, 2, 'one row a message: ' + JSON.stringify(rows));
eq(rows[0].slice(1), [t.number, '取号成功', '短信 · 仅写日志（演示）', '139****1111', rows[0][5]], 'the first message');
assert(/^(已发送|已送达)$/.test(rows[0][5]), 'sent: ' + rows[0][5]);
eq(rows[1].slice(1), [t2.number, '取号成功', '短信 · 仅写日志（演示）', '139****1111', '失败 · 该号码本小时条数已满'], 'the second failed, with why');
assert(/^\d\d:\d\d:\d\d$/.test(rows[0][0]), 'the time of its status: ' + rows[0][0]);
assert(!(await page.textContent('#sec-notify')).includes('13900001111'), 'no number whole');
await page.screenshot({ path: shots + '/admin-notify.png', fullPage: true });
// Another day: none.
const listed = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/notifications/messages'));
await page.fill('#nt-date', '2020-01-02');
await page.dispatchEvent('#nt-date', 'change');
eq(new URL((await listed).url()).searchParams.get('date'), '2020-01-02', 'the day asked');
await page.waitForSelector('#nt-messages td:has-text("这一天没有消息")');

// Tencent's rule of 12 characters cannot take the taken message's link
// (the ticket's id, under the link_base set above): the form says so in
// Chinese, and what to do.
await page.selectOption('[name="sms.provider"]', 'tencent');
await page.fill('[name="sms.access_key_id"]', 'AKIDtest');
await page.fill('[name="sms.access_key_secret"]', 'tencent-secret');
await page.fill('[name="sms.sign_name"]', '示范大厅');
await page.fill('[name="sms.app_id"]', '1400000000');
r = saved();
await page.click('#f-notify [type=submit]');
eq((await r).status(), 400, 'the link too long for tencent');
const alert = await until(() => page.textContent('#f-notify .form-alert'), (v) => v.includes('取号成功'));
assert(alert.includes('取号成功') && alert.includes('extra.max_param_len'), 'why, in Chinese: ' + alert);

mark('English');
await page.goto(base + '/admin?hall=demo&lang=en#notify');
await page.waitForSelector('#nt-report td:has-text("Ticket taken")');
assert((await page.textContent('#nt-report tbody')).includes('SMS · '), 'the channel in English');
eq(await page.textContent('#h-notify'), 'Notifications', 'the heading in English');
await page.waitForSelector('#nt-messages tr[data-status="failed"]');
eq(await page.textContent('#nt-messages tr[data-status="failed"] td:last-child'), 'Failed · this number\'s messages of the hour used up', 'why, in English');
await axe(page, 'notify en');
await page.screenshot({ path: shots + '/admin-notify-en.png', fullPage: true });
clean(page, 'admin notify');
console.log('ok');
`
