// civiq's service worker, served at /t/sw.js for the ticket pages (scope
// /t/). It only shows the notifications a hall sends by Web Push (package
// webpush, notify.WebPush): with the ticket's page closed, the phone locked
// or the browser in the background. It handles no fetch: pages load as
// they would without it.
"use strict";
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (ev) => ev.waitUntil(self.clients.claim()));

// A message is JSON: {title, body, url, tag, kind, lang} (notify.PushPayload).
self.addEventListener("push", (ev) => {
  let d = {};
  try {
    d = ev.data ? ev.data.json() : {};
  } catch (e) {
    d = { body: ev.data ? ev.data.text() : "" };
  }
  const called = d.kind === "called";
  ev.waitUntil(self.registration.showNotification(d.title || "civiq", {
    body: d.body || "",
    tag: d.tag || "",
    renotify: !!d.tag, // a newer message of the ticket rings again
    requireInteraction: called, // a call stays until seen
    vibrate: called ? [400, 150, 400, 150, 800] : [200],
    lang: d.lang === "en" ? "en" : "zh-CN",
    data: { url: d.url || "" },
  }));
});

// A tap opens the ticket's page: the one already open, else the message's
// link, else the ticket pages' start.
self.addEventListener("notificationclick", (ev) => {
  ev.notification.close();
  const url = (ev.notification.data && ev.notification.data.url) || "";
  ev.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const want = url ? new URL(url, self.location.href).href : "";
    const open = wins.find((w) => (want ? w.url === want : new URL(w.url).pathname.startsWith("/t/")));
    if (open) return open.focus();
    if (want) return self.clients.openWindow(want);
    return undefined;
  })());
});

// The browser may replace a subscription (expired, or renewed by its push
// service): pushsubscriptionchange. The worker subscribes again with the
// same key and tells civiq, for each ticket the page opted in with it
// (kept by the page in the cache "civiq-push": the tickets and the key),
// so the calls still reach a closed page.
const PUSH_CACHE = "civiq-push", PUSH_ENTRY = "/t/sw-push.json";
async function resubscribe(old) {
  const cache = await caches.open(PUSH_CACHE);
  const r = await cache.match(PUSH_ENTRY);
  const saved = r ? await r.json() : null;
  if (!saved || !saved.key) return [];
  const key = Uint8Array.from(atob(saved.key.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((saved.key.length + 3) % 4)), (c) => c.charCodeAt(0));
  const sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: (old && old.options && old.options.applicationServerKey) || key });
  const statuses = [];
  for (const t of saved.tickets || []) {
    const res = await fetch("/api/v1/tickets/" + encodeURIComponent(t.id) + "/notify", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ webpush: sub.toJSON(), lang: t.lang === "en" ? "en" : "zh" }),
    }).catch(() => null);
    statuses.push(res ? res.status : 0);
  }
  return statuses;
}
self.civiqResubscribe = resubscribe; // for the tests, which cannot make the browser fire the event
self.addEventListener("pushsubscriptionchange", (ev) => ev.waitUntil(resubscribe(ev.oldSubscription)));
