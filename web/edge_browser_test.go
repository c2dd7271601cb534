package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
)

// TestAdminEdgeBrowser: on a city, an admin makes the hall's edge token
// (shown once), sees it listed, rotates it (the old one works an hour
// more) and revokes it; the node's role and the hall's edge are shown; axe
// finds nothing serious.
func TestAdminEdgeBrowser(t *testing.T) {
	browsertest.Require(t)
	s := civiqtest.New(t)
	// The hall's edge, heard from with events two minutes old waiting:
	// the city overview marks it behind.
	ctx := context.Background()
	admin := civiq.Principal{User: &civiq.User{Username: "admin", Role: civiq.RoleAdmin}}
	_, tok, err := s.Engine.CreateEdgeToken(ctx, admin, "demo", "pre")
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Minute)
	if _, err := s.Engine.EdgeHello(ctx, tok, &civiq.EdgeHello{EdgeID: "edge-1", Pending: 12, OldestAt: &old}); err != nil {
		t.Fatal(err)
	}
	shots := browsertest.OptionalShots(t)
	res := browsertest.Run(t, edgeScript, map[string]string{"BASE": s.URL, "ADMIN_PW": civiqtest.AdminPassword, "SHOTS": shots})
	t.Logf("browser:\n%s", res)
	if !strings.Contains(res, "ALL DONE") {
		t.Fatalf("the script did not finish")
	}
}

const edgeScript = `
const base = process.env.BASE, shots = process.env.SHOTS;
const browser = await civiq.launch();
let n = 1; // the token made before
for (const lang of ['zh-CN', 'en']) {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  page.on('dialog', (d) => d.accept());
  await page.goto(base + '/admin?hall=demo&lang=' + lang);
  await page.fill('#username', 'admin');
  await page.fill('#password', process.env.ADMIN_PW);
  await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  await page.waitForSelector('#adm[data-ready="1"]');
  await page.evaluate(() => { location.hash = 'edge'; });
  await page.waitForSelector('#sec-edge:not([hidden]) #edge-status dd');
  assert((await page.textContent('#edge-status')).includes(lang === 'en' ? 'City' : '城市中心'), 'the role');
  await page.fill('#edge-description', '大厅机房 ' + lang);
  await page.click('#f-edge button[type=submit]');
  await page.waitForSelector('#edge-token-panel:not([hidden])');
  const token = await page.textContent('#edge-token');
  assert(token.startsWith('edge_'), 'the token: ' + token);
  n++;
  await page.waitForSelector('tr[data-edge-token="' + n + '"]');
  await axe(page, 'edge ' + lang);
  if (shots) await page.screenshot({ path: shots + '/admin-edge-' + lang + '.png', fullPage: true });
  await page.click('#edge-token-close');
  await page.click('tr[data-edge-token="' + n + '"] button:not(.danger)');
  await page.waitForSelector('#edge-token-panel:not([hidden])');
  n++;
  await page.waitForSelector('tr[data-edge-token="' + n + '"]');
  assert((await page.textContent('tr[data-edge-token="' + (n - 1) + '"]')).includes(lang === 'en' ? 'Works until' : '有效至'), 'the rotated one');
  await page.click('#edge-token-close');
  for (const id of [n - 1, n]) {
    await page.click('tr[data-edge-token="' + id + '"] button.danger');
    await page.waitForFunction((id) => !document.querySelector('tr[data-edge-token="' + id + '"] button.danger'), id);
  }
  assert((await page.textContent('tr[data-edge-token="' + n + '"]')).includes(lang === 'en' ? 'Revoked' : '已吊销'), 'revoked');
  await page.goto(base + '/city?lang=' + lang);
  await page.waitForSelector('tr[data-hall="demo"] [data-edge="behind"]');
  await axe(page, 'city ' + lang);
  if (shots) await page.screenshot({ path: shots + '/city-edge-' + lang + '.png' });
}
await browser.close();
console.log('ALL DONE');
`
