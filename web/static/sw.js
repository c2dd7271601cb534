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
