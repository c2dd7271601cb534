package web_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
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

// TestEdgePassCheckInBrowser: a citizen who booked on the city finds the
// booking on the city's page, whose QR now holds the signed pass; at the
// hall's edge node, which never pulled the booking and cannot reach the
// city, the kiosk's scanner reads the QR (typed like a keyboard) and the
// citizen types the ID's last 4: checked in, a ticket. An altered pass
// and one signed by another key are refused with words that say so, and
// the staff's bookings page refuses an altered pass too. The check-in's
// event, which goes up when the link returns, names the city's booking.
func TestEdgePassCheckInBrowser(t *testing.T) {
	_, e2e := browsertest.Require(t)
	cityKeys, err := civiq.NewReceiptKeys(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	city := newApptSite(t)
	city.Engine.Receipts = cityKeys
	edge := newApptSite(t)
	var dev struct {
		Device struct {
			PairingCode string `json:"pairing_code"`
		}
	}
	if st := edge.call(t, "POST", "/api/v1/halls/demo/devices", edge.Admin, map[string]string{"kind": "kiosk", "name": "kiosk 1"}, &dev, nil); st != 201 {
		t.Fatalf("kiosk device: %d", st)
	}
	var pair struct{ Token string }
	if st := edge.call(t, "POST", "/api/v1/devices/pair", "", map[string]string{"code": dev.Device.PairingCode}, &pair, nil); st != 200 && st != 201 {
		t.Fatalf("pair: %d", st)
	}
	// From here the second site is the hall's edge, alone: it holds the
	// city's public keys (as its last pull left them) and no link.
	edge.Engine.Node = civiq.Node{Role: civiq.NodeEdge, Hall: "demo"}
	if edge.Engine.CityKeys, err = civiq.PublicReceiptKeys(cityKeys.Public()); err != nil {
		t.Fatal(err)
	}
	code := city.book(t, "general", "10:00", 2) // person 2's ID ends in X
	other, _ := civiq.NewReceiptKeys(bytes.Repeat([]byte{5}, 32))
	forged, err := other.SignBookingPass(&civiq.Booking{ID: "forgedbookingid2", Code: "HMPQ7R2K", HallID: "demo", ServiceID: "general",
		SlotStart: kioskMorning.Add(20 * time.Minute), SlotEnd: kioskMorning.Add(50 * time.Minute)}, kioskPerson(2))
	if err != nil {
		t.Fatal(err)
	}
	shots := kioskShots(t)
	out := browsertest.Run(t, passCheckInScript, map[string]string{
		"CITY": city.URL, "EDGE": edge.URL, "BASE": edge.URL, "ADMIN_TOKEN": edge.Admin, "ADMIN_PW": civiqtest.AdminPassword, "KIOSK_TOKEN": pair.Token, "CODE": code,
		"LAST4": kioskPerson(2)[14:], "FORGED": forged, "SHOTS": shots,
		"AXE":    filepath.Join(e2e, "node_modules", "axe-core", "axe.min.js"),
		"NOW_MS": strconv.FormatInt(time.Now().Add(time.Until(kioskMorning)).UnixMilli(), 10),
	})
	t.Log(out)
	if !strings.Contains(out, "ALL DONE") {
		t.Fatal("the script did not finish")
	}
	recs, err := edge.Engine.EdgeRecords(context.Background(), "demo", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var told bool
	for _, r := range recs {
		told = told || r.Type == civiq.EventIssued && r.Booking != nil && r.Booking.Status == civiq.BookingCheckedIn && r.Ticket.Channel == civiq.ChannelAppointment
	}
	if !told {
		t.Errorf("no check-in among the events that go up: %+v", recs)
	}
}

const passCheckInScript = kioskPrelude + `
const city = process.env.CITY, edgeURL = process.env.EDGE;
const browser = await civiq.launch();

// The citizen finds the booking on the city's page: its QR holds the pass.
const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' })).newPage();
watch(phone, 'book');
await phone.goto(city + '/halls/demo/book');
await phone.click('#find summary');
await phone.fill('#q-code', process.env.CODE);
await phone.fill('#q-last4', process.env.LAST4);
await phone.click('#find-form button[type=submit]');
await phone.waitForSelector('#result:not(.hidden) #r-qr[src*="booking-passes"]');
await phone.waitForFunction(() => document.querySelector('#r-qr').complete && document.querySelector('#r-qr').naturalWidth > 0);
const pass = new URL(await phone.getAttribute('#r-qr', 'src'), city).searchParams.get('pass');
check(pass && pass.includes('.'), 'the QR holds the pass: ' + pass);
await shot(phone, 'book-pass-qr');

// The hall's kiosk, at the edge.
const ctx = await browser.newContext({ viewport: { width: 1080, height: 1920 }, hasTouch: true });
await ctx.clock.install({ time: +process.env.NOW_MS });
const kiosk = await ctx.newPage();
watch(kiosk, 'kiosk');
await kiosk.addInitScript((token) => { localStorage.setItem('civiq.device.demo', token); window.print = () => {}; }, process.env.KIOSK_TOKEN);
const sent = [];
kiosk.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/checkins')) sent.push(JSON.parse(r.postData())); });
await kiosk.goto(edgeURL + '/halls/demo/kiosk');
async function scanAndCheckIn(payload) {
  await kiosk.click('#checkin-open');
  await visible(kiosk, 's-checkin');
  await kiosk.focus('#ci-code');
  await kiosk.keyboard.type(payload); // a scanner types like a keyboard
  await kiosk.keyboard.press('Enter');
  await kiosk.waitForFunction(() => document.querySelector('#ci-id').closest('.ci-field').classList.contains('active'));
  for (const c of process.env.LAST4) await kiosk.click('#s-checkin .keypad:not(.hidden) .key[data-key="' + c + '"]');
  await kiosk.click('#ci-submit');
}
// Altered: another slot, the signature kept.
const [body, sig] = pass.split('.');
const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
claims.start -= 3600; claims.end -= 3600;
const altered = Buffer.from(JSON.stringify(claims)).toString('base64url') + '.' + sig;
for (const [name, p] of [['altered', altered], ['forged', process.env.FORGED]]) {
  await scanAndCheckIn(p);
  await kiosk.waitForFunction(() => document.querySelector('#ci-error').textContent.includes('无法验证'));
  check((await kiosk.inputValue('#ci-code')).replace(' ', '').length === 8, name + ': the code shows');
  if (name === 'altered') { await axe(kiosk, 'pass refused'); await shot(kiosk, 'kiosk-pass-refused'); }
  await kiosk.click('#ci-back');
}
check(sent.length === 2 && sent.every((b) => b.pass && b.id_last4 === process.env.LAST4), 'the pass went with the check-ins: ' + JSON.stringify(sent.map((b) => Object.keys(b))));

// The staff's bookings page at the edge: a pass scanned into the code
// field goes as the pass; an altered one is refused in words.
const staff = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
watch(staff, 'staff');
await staff.goto(edgeURL + '/halls/demo/bookings?lang=en');
await staff.fill('#username', 'admin');
await staff.fill('#password', process.env.ADMIN_PW);
await Promise.all([staff.waitForNavigation(), staff.click('form button[type=submit]')]);
await staff.waitForSelector('#checkin-form');
await staff.fill('#c-code', altered);
await staff.fill('#c-last4', process.env.LAST4);
await staff.click('#checkin-form button[type=submit]');
await staff.waitForSelector('#checkin-result.error');
check((await text(staff, '#checkin-result')).includes('cannot be verified'), 'staff told: ' + await text(staff, '#checkin-result'));
await shot(staff, 'bookings-pass-refused-en');

// The genuine pass: checked in, a ticket.
await scanAndCheckIn(pass);
await visible(kiosk, 's-ticket');
const number = await text(kiosk, '#tp-number');
check(/^A\d{3}$/.test(number), 'a ticket: ' + number);
check(sent.length === 3, 'kiosk check-ins: ' + sent.length);
check(sent[2].code === process.env.CODE && sent[2].pass === pass, 'the code came from the pass');
await shot(kiosk, 'kiosk-pass-ticket');

check(errors.length === 0, 'page errors: ' + errors.join('; '));
console.log('ALL DONE');
await browser.close();
`
