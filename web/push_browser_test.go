package web_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/browsertest"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/notify"
	"github.com/civiq/civiq/webpush/pushtest"
)

// TestServiceWorkerServed: the ticket pages' service worker is at /t/sw.js
// (so its scope is /t/), as JavaScript, checked for changes each time.
func TestServiceWorkerServed(t *testing.T) {
	s := civiqtest.New(t)
	res, err := http.Get(s.URL + "/t/sw.js")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
		res.Header.Get("Cache-Control") != "no-cache" || !strings.Contains(string(b), `addEventListener("push"`) {
		t.Errorf("%d %v\n%.80s", res.StatusCode, res.Header, b)
	}
}

// TestWebPushBrowser: the phone page subscribes Chromium to browser
// notifications, its service worker subscribes again when the browser
// replaces the subscription (pushsubscriptionchange) and tells civiq, and
// the hall's "called" message reaches the new subscription and the service
// worker, which shows it with the page closed.
//
// What is real: the page's control, its permission request, the service
// worker's registration at /t/sw.js with scope /t/, the applicationServerKey
// it subscribes with (the node's VAPID public key), the opt-in it posts
// (POST /api/v1/tickets/{id}/notify), the durable delivery, civiq's
// encryption and VAPID signature and its POST to the subscription's
// endpoint, and the service worker's push handler showing the notification.
//
// What stands in: Chromium's push service cannot be reached here (a closed
// network; Chromium's own subscribe answers "permission denied" headless),
// so the test replaces PushManager.subscribe in the page with one that
// answers a subscription whose endpoint is a local push service stand-in
// (webpush/pushtest) and whose keys the test holds. The stand-in checks
// the VAPID token and decrypts the message with those keys; the test then
// hands the decrypted payload to the real service worker with the DevTools
// protocol's ServiceWorker.deliverPushMessage, as Chromium's push service
// would after decrypting it. Not exercised: Chromium's own subscription
// and decryption, and a real push service's delivery to the browser.
func TestWebPushBrowser(t *testing.T) {
	browsertest.Require(t)
	svc := pushtest.NewService()
	defer svc.Close()
	ua, ua2 := pushtest.NewBrowser(), pushtest.NewBrowser()
	svc.Add("/push/chromium-1", ua)
	svc.Add("/push/chromium-2", ua2) // the subscription that replaces it (pushsubscriptionchange)
	sealer, err := civiq.NewSealer(bytes.Repeat([]byte{0x5a}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := civiqtest.New(t, func(s *civiqtest.Server) { s.Engine.Sealer = sealer })
	s.SetPushAllow([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}) // the stand-in's address
	pool := x509.NewCertPool()
	pool.AddCert(svc.Certificate())
	s.Push.HTTP.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}

	if st := s.Call(t, "PUT", "/api/v1/halls/demo/notifications", s.Admin, map[string]any{"webpush": map[string]any{"provider": "webpush"}}, nil); st != 200 {
		t.Fatalf("turn Web Push on: %d", st)
	}
	var issued struct {
		Ticket struct {
			ID, Number string
		}
	}
	if st := s.Call(t, "POST", "/api/v1/halls/demo/tickets", s.Admin, map[string]string{"service_id": "general"}, &issued); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	// The script asks here for the "called" message the stand-in received,
	// decrypted.
	helper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			for _, p := range svc.Pushed() {
				var pl notify.PushPayload
				if json.Unmarshal(p.Plaintext, &pl) == nil && pl.Kind == "called" {
					json.NewEncoder(w).Encode(map[string]any{"data": string(p.Plaintext), "ttl": p.TTL, "urgency": p.Urgency})
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		http.Error(w, "no called message; refused: "+strings.Join(svc.Errors(), "; "), http.StatusGatewayTimeout)
	}))
	defer helper.Close()

	browsertest.RunShots(t, pushScript, map[string]string{
		"BASE": s.URL, "ADMIN_TOKEN": s.Admin, "TICKET": issued.Ticket.ID, "NUMBER": issued.Ticket.Number,
		"ENDPOINT": svc.URL + "/push/chromium-1", "P256DH": ua.P256dh(), "AUTH": ua.AuthKey(),
		"VAPID": s.Site.VAPIDPublicKey, "HELPER": helper.URL,
		"ENDPOINT2": svc.URL + "/push/chromium-2", "P256DH2": ua2.P256dh(), "AUTH2": ua2.AuthKey(),
	})
	var called *pushtest.Pushed
	for _, p := range svc.Pushed() {
		if strings.Contains(string(p.Plaintext), `"kind":"called"`) {
			called = &p
		}
	}
	if called == nil || called.Path != "/push/chromium-2" || called.Urgency != "high" || called.TTL != "600" || called.Token.Key != s.Site.VAPIDPublicKey {
		t.Errorf("the called message: %+v", called)
	}
	if e := svc.Errors(); len(e) > 0 {
		t.Errorf("the push service refused: %v", e)
	}
}

const pushScript = `
const env = process.env;
const base = env.BASE, id = env.TICKET;
async function api(method, path, body) {
  const r = await fetch(base + path, { method, headers: { Authorization: 'Bearer ' + env.ADMIN_TOKEN, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  let j = null;
  try { j = await r.json(); } catch (e) {}
  return { status: r.status, body: j };
}
const browser = await civiq.launch();
const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
await ctx.grantPermissions(['notifications'], { origin: base });
// The stand-in for Chromium's push service (see the Go test's comment).
await ctx.addInitScript((sub) => {
  if (!window.PushManager) return;
  window.__pushKeys = [];
  let made = null;
  PushManager.prototype.getSubscription = async function () { return made; };
  PushManager.prototype.subscribe = async function (opts) {
    window.__pushKeys.push(Array.from(new Uint8Array(opts.applicationServerKey)));
    if (!opts.userVisibleOnly) throw new DOMException('userVisibleOnly', 'NotAllowedError');
    made = { endpoint: sub.endpoint, options: opts, unsubscribe: async () => { made = null; return true; },
      toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: { p256dh: sub.p256dh, auth: sub.auth } }) };
    return made;
  };
}, { endpoint: env.ENDPOINT, p256dh: env.P256DH, auth: env.AUTH });

for (const lang of ['en', 'zh-CN']) {
  const page = watch(await ctx.newPage());
  await page.goto(base + '/t/' + id + '?lang=' + lang);
  await page.waitForSelector('#push:not(.hidden)', { timeout: 10000 });
  await axe(page, 'ticket page with browser notifications, ' + lang);
  if (env.CIVIQ_SHOTS) await page.screenshot({ path: env.CIVIQ_SHOTS + '/push-' + lang + '-before.png', fullPage: true });
  if (lang === 'en') { clean(page, lang); await page.close(); continue; }
  await page.click('#push-on');
  await page.waitForFunction(() => document.querySelector('#push-on').getAttribute('aria-pressed') === 'true', null, { timeout: 10000 });
  const state = await page.textContent('#push-state');
  assert(state.includes('浏览器通知已开启'), 'state after subscribing: ' + state);
  if (env.CIVIQ_SHOTS) await page.screenshot({ path: env.CIVIQ_SHOTS + '/push-zh-on.png', fullPage: true });
  const keys = await page.evaluate(() => window.__pushKeys);
  eq(Buffer.from(keys[0]).toString('base64url'), env.VAPID, 'the applicationServerKey');
  const reg = await page.evaluate(async () => {
    const r = await navigator.serviceWorker.getRegistration('/t/');
    return r && { scope: r.scope, script: (r.active || r.waiting || r.installing).scriptURL };
  });
  eq(reg, { scope: base + '/t/', script: base + '/t/sw.js' }, 'the service worker');
  // The browser replaces the subscription (pushsubscriptionchange, which
  // the test cannot make Chromium fire): the worker subscribes again (the
  // stand-in answers the second endpoint) and tells civiq; the call below
  // reaches the new endpoint.
  const sw = ctx.serviceWorkers().find((w) => w.url() === base + '/t/sw.js') || await ctx.waitForEvent('serviceworker');
  const statuses = await sw.evaluate(async (sub) => {
    self.registration.pushManager.subscribe = async () => ({ endpoint: sub.endpoint,
      toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: { p256dh: sub.p256dh, auth: sub.auth } }) });
    return self.civiqResubscribe(null);
  }, { endpoint: env.ENDPOINT2, p256dh: env.P256DH2, auth: env.AUTH2 });
  eq(statuses, [201], 'the worker subscribed again and told civiq, for the ticket');
  clean(page, 'subscribed');
  mark('subscribed');
  await page.close(); // the page is closed from here on
}

// The clerk calls the ticket; civiq encrypts the "called" message for the
// subscription and posts it to the stand-in, which decrypts it.
const call = await api('POST', '/api/v1/halls/demo/counters/1/call-next');
eq([call.status, call.body && call.body.ticket && call.body.ticket.id], [200, id], 'call-next');
const pushed = await (await fetch(env.HELPER)).json();
mark('pushed: ' + pushed.data);
const data = JSON.parse(pushed.data);
eq([data.kind, data.title], ['called', env.NUMBER], 'the message');

// The push service hands it to the browser: the real service worker shows
// it, no page of the ticket open.
const other = await ctx.newPage();
await other.goto(base + '/');
const cdp = await ctx.newCDPSession(other);
const regs = [];
cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => regs.push(...e.registrations));
await cdp.send('ServiceWorker.enable');
for (let i = 0; i < 100 && !regs.some((r) => r.scopeURL === base + '/t/' && !r.isDeleted); i++) await sleep(50);
const sw = regs.find((r) => r.scopeURL === base + '/t/' && !r.isDeleted);
assert(sw, 'no service worker registration: ' + JSON.stringify(regs));
assert((await ctx.pages()).every((p) => !p.url().includes('/t/' + id)), 'the ticket page is closed');
await cdp.send('ServiceWorker.deliverPushMessage', { origin: base, registrationId: sw.registrationId, data: pushed.data });
let shown = [];
for (let i = 0; i < 100 && shown.length === 0; i++) {
  await sleep(50);
  shown = await other.evaluate(async () => (await (await navigator.serviceWorker.getRegistration('/t/')).getNotifications())
    .map((n) => ({ title: n.title, body: n.body, tag: n.tag })));
}
eq(shown.length, 1, 'notifications shown');
eq(shown[0].title, env.NUMBER, 'the notification title');
assert(shown[0].body.includes(env.NUMBER) && shown[0].tag === data.tag, 'the notification: ' + JSON.stringify(shown[0]));
mark('shown: ' + JSON.stringify(shown[0]));
`
