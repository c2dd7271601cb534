package web_test

import (
	"bytes"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestKioskSMSBrowser: the kiosk's ticket screen offers "text me when my
// turn nears" only when the hall sends SMS; the number is typed on the
// on-screen keypad (a bad one is told so), the screen waits while it is
// typed, and the opt-in is the ticket's, shown masked; "+" begins a number
// of another country's. axe in both languages. In 长辈模式 it all stays on
// the screen, standing or lying.
func TestKioskSMSBrowser(t *testing.T) {
	browsertest.Require(t)
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{5}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := civiqtest.New(t, func(s *civiqtest.Server) { s.Engine.Sealer = sealer })
	browsertest.RunShots(t, kioskSMSScript, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PW": civiqtest.AdminPassword, "CIVIQ_TOKEN": s.Admin})
	if n := len(s.NotifyLog.Sent()); n < 1 {
		t.Errorf("the log channel sent %d messages, want the ticket's taken", n)
	}
}

const kioskSMSScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS;
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 1080, height: 1920 } });
const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username: 'admin', password: process.env.CIVIQ_PW } });
assert(login.ok(), 'sign in');
const page = watch(await ctx.newPage(), /\/notify$/);
async function take(lang) {
  await page.goto(base + '/halls/demo/kiosk?lang=' + lang);
  await page.click('.svc[data-service=general]');
  await page.waitForSelector('#s-ticket:not(.hidden)');
}

mark('no SMS');
await take('zh-CN');
eq(await page.$$eval('#sms', (es) => es.length), 0, 'a hall without SMS offers none');
const put = await fetch(base + '/api/v1/halls/demo/notifications', { method: 'PUT',
  headers: { Authorization: 'Bearer ' + process.env.CIVIQ_TOKEN, 'Content-Type': 'application/json' },
  body: JSON.stringify({ sms: { provider: 'log' } }) });
eq(put.status, 200, 'SMS set up');

mark('SMS');
await take('zh-CN');
await page.click('#sms-open');
await page.waitForSelector('#sms-form:not(.hidden)');
eq(await page.textContent('#back-in'), '', 'the screen waits while the number is typed');
const mains = () => page.$$eval('#s-ticket .kbtn.primary', (es) => es.filter((e) => e.offsetParent !== null).map((e) => e.id));
eq(await mains(), ['sms-submit'], 'one main button while the number is typed: send');
for (const k of '123') await page.click('.sms-keys .key[data-key="' + k + '"]');
await page.click('#sms-submit');
assert((await page.textContent('#sms-msg')).includes('11'), 'a short number is told so: ' + await page.textContent('#sms-msg'));
eq(await page.$eval('#sms-phone', (e) => e.getAttribute('aria-invalid')), 'true', 'marked');
await axe(page, 'kiosk sms zh');
await page.screenshot({ path: shots + '/kiosk-sms-form.png' });
for (let i = 0; i < 3; i++) await page.click('.sms-keys .key[data-key="del"]');
// eleven digits that are no mobile number: told what one starts with, not
// to type the eleven digits they typed
for (const k of '12345678901') await page.click('.sms-keys .key[data-key="' + k + '"]');
const refused = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/notify'));
await page.click('#sms-submit');
eq((await refused).status(), 400, 'not a mobile number');
await page.waitForSelector('#sms-msg:has-text("13")');
for (let i = 0; i < 11; i++) await page.click('.sms-keys .key[data-key="del"]');
for (const k of '13812345678') await page.click('.sms-keys .key[data-key="' + k + '"]');
const r = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/notify'));
await page.click('#sms-submit');
eq((await r).status(), 201, 'opted in');
await page.waitForSelector('#sms-msg:has-text("138****5678")');
assert(await page.$eval('#sms-form', (e) => e.classList.contains('hidden')), 'the form goes');
assert((await page.textContent('#back-in')) !== '', 'and the screen goes back as usual');
eq(await mains(), ['done'], 'done is the main button again');
await page.screenshot({ path: shots + '/kiosk-sms-done.png' });
await page.click('#done');

mark('English');
await take('en');
await page.click('#sms-open');
await page.waitForSelector('#sms-form:not(.hidden)');
eq(await page.textContent('#sms-open'), 'Text me when my turn nears', 'in English');
// "+" begins a number of another country's, and only begins one.
for (const k of '+852+91234567') await page.click('.sms-keys .key[data-key="' + k + '"]');
eq(await page.inputValue('#sms-phone'), '+85291234567', 'a "+" at the start only');
await axe(page, 'kiosk sms en');
await page.screenshot({ path: shots + '/kiosk-sms-en.png' });
await page.setViewportSize({ width: 1920, height: 1080 });
await page.screenshot({ path: shots + '/kiosk-sms-landscape.png' });
const r2 = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/notify'));
await page.click('#sms-submit');
eq((await r2).status(), 201, 'a number of another country opted in (the log channel sends abroad)');
await page.waitForFunction(() => document.getElementById('sms-msg').textContent !== '');
assert(!(await page.textContent('#sms-msg')).includes('91234567'), 'shown masked: ' + await page.textContent('#sms-msg'));

mark('elder');
// 长辈模式, standing and lying (a short screen too), a wrong number told:
// the number's field, the keypad, 提交, the message and 完成 all on the
// screen, none over the top bar (完成 ran below the screen, the field
// over the bar).
await page.evaluate(() => localStorage.setItem('civiq.elder', '1'));
for (const [w, h, lang] of [[1080, 1920, 'zh-CN'], [1366, 768, 'en'], [1366, 768, 'zh-CN']]) {
  await page.setViewportSize({ width: w, height: h });
  await take(lang);
  await page.click('#sms-open');
  await page.waitForSelector('#sms-form:not(.hidden)');
  for (const k of '123') await page.click('.sms-keys .key[data-key="' + k + '"]');
  await page.click('#sms-submit');
  await page.waitForFunction(() => document.getElementById('sms-msg').textContent !== '');
  const off = await page.evaluate(() => {
    const top = document.querySelector('.kiosk-bar').getBoundingClientRect().bottom;
    return ['.ticket-paper', '#sms-form label', '#sms-phone', '.sms-keys', '#sms-submit', '#sms-msg', '#done'].filter((sel) => {
      const b = document.querySelector(sel).getBoundingClientRect();
      return b.top < top - 0.5 || b.bottom > innerHeight + 0.5;
    });
  });
  eq(off, [], w + 'x' + h + ' ' + lang + ': off the screen or over the bar');
  await page.screenshot({ path: shots + '/kiosk-sms-elder-' + w + 'x' + h + '-' + lang + '.png' });
  await page.click('#done');
}
clean(page, 'kiosk sms');
console.log('ok');
`
