package web_test

import (
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestPasswordBrowser drives the own-password page in Chromium: a staff
// member reaches it from their name at the top of a page, a wrong current
// password and a mistyped repeat are named, a change keeps this browser
// signed in and signs the other one out; axe finds no serious violation in
// Chinese or English. It writes password-zh.png and password-en.png.
func TestPasswordBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t)
	s.User(t, "clerk", civiq.RoleStaff, "demo")
	browsertest.RunShots(t, passwordScript, map[string]string{"CIVIQ_URL": s.URL, "CIVIQ_PASSWORD": civiqtest.UserPassword("clerk")})
}

const passwordScript = `
const base = process.env.CIVIQ_URL, shots = process.env.CIVIQ_SHOTS, pw = process.env.CIVIQ_PASSWORD;
const view = { width: 1366, height: 768 };
async function signIn(path) {
  const page = watch(await civiq.newPage({ viewport: view }), /\/account\/password$/);
  await page.goto(base + '/login?next=' + encodeURIComponent(path));
  await page.fill('input[name=username]', 'clerk');
  await page.fill('input[name=password]', pw);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.press('input[name=password]', 'Enter')]);
  return page;
}
const page = await signIn('/halls/demo/counter/1');
const other = await signIn('/');

// From the name at the top to the page.
await Promise.all([page.waitForURL((u) => u.pathname === '/account/password'), page.click('header a.who')]);
eq(await page.textContent('h1'), '修改我的密码', 'heading');
await axe(page, 'password zh');
const submit = (cur, next, again) => page.fill('#current', cur).then(() => page.fill('#new', next)).then(() => page.fill('#confirm', again))
  .then(() => Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]));

await submit('not-my-password', 'a-new-password-1', 'a-new-password-1');
eq(await page.textContent('#password-error'), '当前密码不正确。', 'wrong current');
eq(await page.getAttribute('#current', 'aria-invalid'), 'true', 'the wrong field is marked');
await submit(pw, 'a-new-password-1', 'a-new-password-2');
eq(await page.textContent('#password-error'), '两次输入的新密码不一致。', 'mismatch');
await axe(page, 'password zh, with an error');
await page.screenshot({ path: shots + '/password-zh.png' });

await submit(pw, 'a-new-password-1', 'a-new-password-1');
eq(await page.textContent('.done'), '密码已修改，其他设备上的登录已退出。', 'done');
await page.goto(base + '/halls/demo/counter/1');
assert(!new URL(page.url()).pathname.startsWith('/login'), 'this browser stays signed in: ' + page.url());
await other.goto(base + '/halls/demo/counter/1');
assert(new URL(other.url()).pathname === '/login', 'the other browser is signed out: ' + other.url());

await page.goto(base + '/account/password?lang=en');
eq(await page.textContent('h1'), 'Change my password', 'English heading');
eq(await page.$eval('html', (e) => e.lang), 'en', 'html lang');
await axe(page, 'password en');
await page.screenshot({ path: shots + '/password-en.png' });
clean(page, 'password');
console.log('ok');
`
