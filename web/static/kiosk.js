// The kiosk: a citizen taps a service (after choosing a green-channel group
// if they have one), or checks in with a booking (预约取号), gets a ticket on
// screen and on paper, and the kiosk goes back to the start by itself. One
// press gives one ticket, whatever the network does: every retry of a press
// sends the same Idempotency-Key.
"use strict";
(function () {
  const C = window.CIVIQ;
  const $ = C.$;
  const K = JSON.parse($("kiosk-config").textContent);
  const hallPath = "/api/v1/halls/" + encodeURIComponent(K.hall);
  const params = new URLSearchParams(location.search);
  // Tickets are printed only on a kiosk with a printer: its address has
  // ?print=1 (and its Chromium --kiosk-printing, which prints without a
  // dialog). Elsewhere (a demo, a tablet) the ticket is on screen only.
  const autoPrint = params.get("print") === "1";
  // The guides opened from this kiosk print too (guide.js).
  try { if (autoPrint) localStorage.setItem("civiq.print." + K.hall, "1"); else localStorage.removeItem("civiq.print." + K.hall); } catch (e) { /* no storage */ }
  const loadedAt = Date.now();
  const services = Object.fromEntries(K.services.map((s) => [s.id, s]));
  const groups = Object.fromEntries(K.groups.map((g) => [g.id, g.label]));
  if (!autoPrint) $("take").classList.add("hidden");

  let token = C.deviceToken(K.hall); // a paired kiosk's own token
  let group = "";                    // the chosen green-channel group
  let cardID = "";                   // a resident ID the card reader read at the start
  let behalf = "";                   // 帮办代办: the helper's role, taking the ticket for someone else
  let busy = false;                  // a press is being served
  let backTimer = 0, idleTimer = 0, stream = null;

  const langLink = document.querySelector(".kiosk-lang");
  function show(name) {
    for (const s of document.querySelectorAll(".screen")) s.classList.toggle("hidden", s.id !== "s-" + name);
    document.body.dataset.screen = name;
    // The language switch keeps the other parameters, and the check-in
    // form (empty: nothing typed goes into an address).
    const q = new URLSearchParams(location.search);
    q.set("lang", C.lang === "en" ? "zh-CN" : "en");
    langLink.href = "?" + q.toString() + (name === "checkin" ? "#checkin" : "");
    // 长辈模式 reads each screen a tap opens (the start screen waits for
    // its button: nobody may be there).
    if (C.elder() && name !== "home") readScreen();
  }

  // ---- 长辈模式: reading the screen aloud, longer times ----
  // readScreen says what the screen shows: its heading and lead, then its
  // buttons and messages, in the page's language (C.read, the browser's
  // speech as the display's); the ticket is read as a ticket.
  const readable = "h1, .kiosk-lead, .svc:not(.away) .svc-name, .svc:not(.away) .svc-wait, .action strong, .green-open strong, " +
    ".group, .role, #busy-text, .error-big, .ci-field label, .ci-error, .ci-status, .green-banner:not(.hidden) strong, #tp-priority, #tp-behalf, #tp-appt, #tp-until, #tp-ahead, #tp-eta";
  function readScreen() {
    const screen = document.body.dataset.screen;
    const box = $("s-" + screen);
    if (!box) return;
    const parts = [];
    if (screen === "ticket") parts.push(C.tr("kiosk.read_number", C.spell($("tp-number").textContent, C.lang !== "en")), $("tp-service").textContent);
    for (const e of box.querySelectorAll(readable)) {
      // A service's name without its other language's, read in another voice.
      const text = (e.matches(".svc-name") ? e.firstChild.textContent : e.textContent).trim();
      if (text && e.checkVisibility()) parts.push(text);
    }
    C.read(parts.join(C.lang === "en" ? ". " : "。"));
  }
  $("kiosk-read").addEventListener("click", readScreen);
  document.addEventListener("civiq:elder", (ev) => {
    if (document.body.dataset.screen === "home") fitServices();
    if (ev.detail) readScreen();
  });
  // waitSecs is how long a screen waits before it goes back by itself: a
  // ticket or a message 10 s, 2 minutes in 长辈模式; a half-finished choice
  // always 2 minutes.
  const waitSecs = () => (C.elder() ? 120 : 10);
  const IDLE_MS = 120000;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // ---- who this kiosk is ----
  function authOpts(extra) { return Object.assign(token ? { token } : {}, extra || {}); }

  async function checkToken() {
    try {
      const r = await C.api("GET", "/api/v1/auth/me", undefined, { token });
      const d = r.body && r.body.device;
      if (r.status === 401) { token = ""; C.setDeviceToken(K.hall, ""); }
      // Another device's token (a display paired in this browser) stays where it is.
      if (r.status === 200 && (!d || d.kind !== "kiosk" || d.hall_id !== K.hall)) token = "";
    } catch (e) { /* offline: keep the token and try when a citizen presses */ }
  }

  $("pair-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("pair-code"), err = $("pair-error"), btn = ev.target.querySelector("button");
    const code = input.value.trim();
    err.textContent = "";
    if (!code) { err.textContent = C.tr("kiosk.pair_bad"); input.focus(); return; }
    btn.disabled = true;
    try {
      // No retry: a code is used once, a retry after a lost answer would fail.
      const r = await C.api("POST", "/api/v1/devices/pair", { code }, { retries: 0 });
      const d = r.body && r.body.device;
      if (r.status === 200 && d && d.kind === "kiosk" && d.hall_id === K.hall) {
        token = r.body.token;
        C.setDeviceToken(K.hall, token);
        input.value = "";
        start();
      } else {
        err.textContent = C.tr(r.status === 200 ? "kiosk.pair_wrong" : "kiosk.pair_bad");
      }
    } catch (e) {
      err.textContent = C.tr("error.network");
    } finally {
      btn.disabled = false;
    }
  });

  // ---- waiting counts and expected waits, live ----
  // openCounters is each service's open_counters at the last read: the
  // ticket of a service no counter works for says so, as its button did,
  // and promises no wait (its eta_seconds is as if one were worked).
  const openCounters = {};
  async function loadWaits() {
    try {
      const r = await C.api("GET", hallPath + "/waits");
      if (r.status !== 200) return;
      for (const w of r.body.services) {
        const btn = document.querySelector('.svc[data-service="' + CSS.escape(w.id) + '"]');
        if (!btn) continue;
        btn.querySelector(".svc-count").textContent = C.tr("kiosk.waiting", w.waiting);
        btn.querySelector(".svc-eta").textContent = w.open_counters > 0 ? C.minutes(w.eta_seconds) : C.tr("kiosk.closed");
        btn.classList.toggle("closed", w.open_counters === 0);
        openCounters[w.id] = w.open_counters;
      }
      // Longer counts may not fit any more, on this page or another.
      if (document.body.dataset.screen === "home" && !everyPageFits()) fitServices();
    } catch (e) { /* the next event or reconnection tries again */ }
  }
  // Many events come at once when a stream replays, and often in a busy
  // hall: read once after the first, never put off by the next.
  const refresh = C.soon(loadWaits, 250);

  function follow() {
    if (stream) return;
    const h = {};
    for (const name of ["ticket.issued", "ticket.called", "ticket.recalled", "ticket.serving", "ticket.done", "ticket.no_show",
      "ticket.transferred", "ticket.returned", "ticket.cancelled", "counter.updated"]) h[name] = refresh;
    const live = $("live");
    live.classList.remove("hidden");
    stream = C.stream(K.hall, h, (up) => {
      live.classList.toggle("off", !up);
      live.textContent = up ? C.tr("kiosk.live") : C.tr("kiosk.offline");
      if (up) refresh();
    }, { public: true });
  }

  // ---- fitting the services on the screen ----
  // fitServices finds the biggest scale, then the fewest columns, at which
  // every service button holds its names whole (wrapped), each button at
  // least MIN_TARGET px (15 mm at 96 dpi) and names at least MIN_NAME px.
  // When none does, the services go on pages of as many as fit, turned by
  // the buttons under them.
  // In 长辈模式 every text of a button is at least ELDER_TEXT px.
  // Choosing a service is the kiosk's main job: when the services do not
  // all fit beside the other ways in (booking, guides, 代办, green channel)
  // at their full size, those go compact (the start screen's class
  // "compact": one row lying down, without their lead lines) and the
  // services take the room, on pages if need be. A screen too small for
  // even one service a page shows them all on one page that scrolls
  // rather than overlap them.
  const MIN_TARGET = 57, MIN_NAME = 22, ELDER_TEXT = 30;
  const svcBox = $("services"), pager = $("kpager"), homeBox = $("s-home");
  const svcButtons = [...document.querySelectorAll(".svc")];
  let svcPages = [[0, svcButtons.length]], svcPage = 0;
  function inside(inner, outer) {
    const a = inner.getBoundingClientRect(), b = outer.getBoundingClientRect();
    return a.left >= b.left - 1 && a.top >= b.top - 1 && a.right <= b.right + 1 && a.bottom <= b.bottom + 1;
  }
  // A button's texts, drawn (a CJK font's glyphs reach above and below
  // its line), stay within its border.
  const texts = document.createRange();
  function textsInside(b) {
    const r = b.getBoundingClientRect();
    const top = r.top + b.clientTop, bottom = top + b.clientHeight;
    const w = document.createTreeWalker(b, NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      if (!n.textContent.trim()) continue;
      texts.selectNodeContents(n);
      for (const t of texts.getClientRects()) if (t.top < top - 1 || t.bottom > bottom + 1) return false;
    }
    return true;
  }
  function servicesFit() {
    if (svcBox.scrollHeight > svcBox.clientHeight + 1) return false;
    for (const b of svcButtons) {
      if (b.classList.contains("away")) continue;
      const r = b.getBoundingClientRect();
      if (r.width < MIN_TARGET || r.height < MIN_TARGET || !inside(b, svcBox)) return false;
      const name = b.querySelector(".svc-name");
      if (parseFloat(getComputedStyle(name).fontSize) < MIN_NAME) return false;
      if (C.elder()) for (const t of b.querySelectorAll(".svc-name, small, .svc-count, .svc-eta")) if (parseFloat(getComputedStyle(t).fontSize) < ELDER_TEXT) return false;
      for (const part of b.children) if (!inside(part, b) || part.scrollWidth > part.clientWidth + 1) return false;
      if (!textsInside(b)) return false;
    }
    return true;
  }
  function layoutServices(cols, n, scale) {
    svcBox.style.setProperty("--svc-cols", String(cols));
    svcBox.style.setProperty("--svc-rows", String(Math.max(1, Math.ceil(n / cols))));
    svcBox.style.setProperty("--svc-scale", String(scale));
  }
  function fitServices() {
    if (!svcButtons.length || !svcBox.getClientRects().length) return; // the start screen is not shown
    const n = svcButtons.length;
    const wide = innerWidth > innerHeight, narrow = innerWidth < 700;
    // No more columns than services (one service: one column).
    const colChoices = (wide ? [2, 3, 4] : narrow ? [1, 2] : [1, 2, 3]).filter((c) => c <= n);
    if (!colChoices.length) colChoices.push(1);
    const scales = [1, 0.92, 0.85, 0.78, 0.72, 0.66, 0.6, 0.55];
    pager.classList.add("hidden");
    homeBox.classList.remove("scroll");
    for (const b of svcButtons) b.classList.remove("away");
    for (const compact of [false, true]) {
      homeBox.classList.toggle("compact", compact);
      for (const sc of scales) {
        for (const c of colChoices) {
          layoutServices(c, n, sc);
          if (servicesFit()) { svcPages = [[0, n]]; svcPage = 0; return; }
        }
      }
    }
    // Pages: the most services a page holds, every page, at a middle
    // scale (lying down, one wide column too: long names on one line).
    pager.classList.remove("hidden");
    const pagesFit = (k, c, sc) => {
      layoutServices(c, k, sc);
      for (let i = 0; i < n; i += k) {
        svcButtons.forEach((b, j) => b.classList.toggle("away", j < i || j >= i + k));
        if (!servicesFit()) return false;
      }
      return true;
    };
    let best = null;
    for (const sc of [0.85, 0.72, 0.6]) {
      for (const c of wide ? [1, ...colChoices] : colChoices) {
        for (let k = n - 1; k > (best ? best.k : 0); k--) {
          if (pagesFit(k, c, sc)) { best = { k, c, sc }; break; }
        }
      }
    }
    if (!best) {
      // Not even one a page: every service on one page that scrolls (no
      // pager to step through them one by one). Scrolling, every scale
      // "fits": the middle one, not the largest.
      best = { k: n, c: 1, sc: 0.6 };
      homeBox.classList.add("scroll");
    }
    // As many on each page as the pages need (4 services, 3 a page: two
    // and two), as large as they fit so.
    const even = Math.ceil(n / Math.ceil(n / best.k));
    // (Scrolling, one page: nothing to even out.)
    bigger: for (const sc of scales.filter((s) => best.k < n && (s > best.sc || (even < best.k && s === best.sc)))) {
      for (const c of wide ? [1, ...colChoices] : colChoices) {
        if (c <= even && pagesFit(even, c, sc)) { best = { k: even, c, sc }; break bigger; }
      }
    }
    layoutServices(best.c, best.k, best.sc);
    svcPages = [];
    for (let i = 0; i < n; i += best.k) svcPages.push([i, Math.min(n, i + best.k)]);
    showServicePage(Math.min(svcPage, svcPages.length - 1));
  }
  // everyPageFits measures each page with only its buttons shown: the
  // page number (a live region) and the pager's buttons stay as they are,
  // so that a screen reader hears nothing when the counts change.
  function everyPageFits() {
    let ok = true;
    for (let p = 0; p < svcPages.length && ok; p++) {
      if (svcPages.length > 1) showServiceButtons(p);
      ok = servicesFit();
    }
    if (svcPages.length > 1) showServiceButtons(svcPage);
    return ok;
  }
  function showServiceButtons(p) {
    const [a, b] = svcPages[p];
    svcButtons.forEach((btn, j) => btn.classList.toggle("away", j < a || j >= b));
  }
  function showServicePage(p) {
    svcPage = p;
    showServiceButtons(p);
    // One page: no pager ("Page 1 of 1" with both ways shut says nothing).
    pager.classList.toggle("hidden", svcPages.length < 2);
    const at = $("kpage-at"), label = C.tr("kiosk.page", p + 1, svcPages.length);
    if (at.textContent !== label) at.textContent = label;
    $("kpage-prev").disabled = p === 0;
    $("kpage-next").disabled = p === svcPages.length - 1;
  }
  $("kpage-prev").addEventListener("click", () => { if (svcPage > 0) showServicePage(svcPage - 1); });
  $("kpage-next").addEventListener("click", () => { if (svcPage < svcPages.length - 1) showServicePage(svcPage + 1); });
  let fitTimer = 0;
  window.addEventListener("resize", () => { clearTimeout(fitTimer); fitTimer = setTimeout(fitServices, 100); });
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(() => { if (document.body.dataset.screen === "home") fitServices(); });
  window.civiqKiosk = { pages: () => svcPages.length, page: () => svcPage };

  // ---- the start screen and the green channel ----
  function home() {
    clearInterval(backTimer);
    busy = false;
    $("green-banner").classList.toggle("hidden", !group);
    $("green-text").textContent = group ? C.tr("kiosk.green_for", groups[group] || group) : "";
    const open = $("green-open");
    if (open) open.classList.toggle("hidden", !!group);
    $("behalf-banner").classList.toggle("hidden", !behalf);
    $("behalf-text").textContent = behalf ? C.tr("kiosk.behalf_for", C.tr("behalf." + behalf)) : "";
    $("behalf-open").classList.toggle("hidden", !!behalf);
    $("card-banner").classList.toggle("hidden", !cardID);
    $("card-text").textContent = cardID ? C.tr("kiosk.card_read", cardID.slice(0, 3) + "*".repeat(11) + cardID.slice(-4)) : "";
    show("home");
    if (svcPages.length > 1 && svcPage !== 0) showServicePage(0);
    fitServices();
    idle(!!group || !!cardID || !!behalf);
  }

  // ---- a resident ID card read at the start ----
  // The hall's card reader types like a keyboard: 17 digits, a digit or
  // X, and Enter. Read on the start screen, the number goes with the next
  // ticket (id_number): the hall gives the green channel by age itself and
  // counts the person's tickets for a service's per-person quota. Only its
  // first 3 and last 4 characters are shown; it is forgotten with the
  // ticket, or at the start for the next citizen.
  let cardKeys = "";
  document.addEventListener("keydown", (ev) => {
    if (document.body.dataset.screen !== "home" || ev.target.closest("input, textarea")) return;
    if (ev.key === "Enter") {
      const id = cardKeys.toUpperCase();
      cardKeys = "";
      if (/^\d{17}[\dX]$/.test(id)) { cardID = id; home(); }
      return;
    }
    if (/^[0-9xX]$/.test(ev.key)) cardKeys = (cardKeys + ev.key).slice(-18);
  });
  $("card-cancel").addEventListener("click", () => { cardID = ""; home(); });

  // A half-finished choice goes back to the start when nobody touches it.
  function idle(on) {
    clearTimeout(idleTimer);
    if (on) idleTimer = setTimeout(reset, IDLE_MS);
  }

  // reset is the start for the next citizen: Chinese again, and a fresh
  // page now and then so that a kiosk running for weeks stays current.
  function reset() {
    clearInterval(backTimer);
    clearTimeout(idleTimer);
    group = "";
    cardID = "";
    behalf = "";
    busy = false;
    if (ci) ci.clear();
    if (sms) sms.clear();
    // The last ticket's id (its holder's key) leaves the screen with it.
    delete document.body.dataset.ticket;
    $("tp-qr").removeAttribute("src");
    const stale = Date.now() - loadedAt > 12 * 3600 * 1000;
    if (C.lang !== "zh-CN" || stale) {
      const q = new URLSearchParams(location.search);
      q.set("lang", "zh-CN");
      location.replace(location.pathname + "?" + q.toString());
      return;
    }
    home();
  }

  const idleScreens = new Set(["green", "behalf", "checkin"]);
  const touched = () => { if ((idleScreens.has(document.body.dataset.screen) || group || cardID || behalf) && !(ci && ci.busy)) idle(true); };
  document.addEventListener("pointerdown", touched);
  document.addEventListener("keydown", touched);
  if ($("green-open")) $("green-open").addEventListener("click", () => { if (!busy) { show("green"); idle(true); } });
  $("green-back").addEventListener("click", () => { group = ""; home(); });
  $("green-cancel").addEventListener("click", () => { group = ""; home(); });
  for (const b of document.querySelectorAll(".group")) {
    b.addEventListener("click", () => { group = b.dataset.group; home(); });
  }
  // 帮办代办: "for someone else", then the helper's role; the next
  // ticket carries it (on_behalf), and the start forgets it.
  $("behalf-open").addEventListener("click", () => { if (!busy) { show("behalf"); idle(true); } });
  $("behalf-back").addEventListener("click", () => { behalf = ""; home(); });
  $("behalf-cancel").addEventListener("click", () => { behalf = ""; home(); });
  for (const b of document.querySelectorAll(".role")) {
    b.addEventListener("click", () => { behalf = b.dataset.role; home(); });
  }
  for (const b of document.querySelectorAll(".svc")) {
    b.addEventListener("click", () => take(b.dataset.service));
  }

  // ---- taking a ticket ----
  async function take(serviceId) {
    if (busy) return; // a double tap, or a tap while the last press is served
    busy = true;
    clearTimeout(idleTimer);
    const key = C.key(); // one press, one key, however many tries
    const body = { service_id: serviceId, channel: "kiosk" };
    if (group) body.priority_group = group;
    if (cardID) body.id_number = cardID;
    if (behalf) body.on_behalf = { role: behalf };
    const text = $("busy-text"), cancel = $("busy-cancel");
    text.textContent = C.tr("kiosk.issuing");
    cancel.classList.add("hidden");
    show("busy");
    let cancelled = false;
    cancel.onclick = () => { cancelled = true; reset(); };
    const trouble = () => {
      if (cancelled) return;
      text.textContent = C.tr("error.network");
      cancel.classList.remove("hidden");
    };
    const until = Date.now() + 90000;
    while (!cancelled) {
      let r = null;
      try {
        r = await C.api("POST", hallPath + "/tickets", body, authOpts({ key, retries: 2, onRetry: trouble }));
      } catch (e) {
        r = null;
      }
      if (cancelled) return;
      if (r && (r.status === 201 || r.status === 200) && r.body && r.body.ticket) {
        cardID = ""; // the ID goes with its ticket
        showTicket(r.body.ticket);
        return;
      }
      if (r && r.status < 500 && r.status !== 429) {
        if (r.status === 401 && token) { token = ""; C.setDeviceToken(K.hall, ""); }
        const e = (r.body && r.body.error) || {};
        // A quota reached (号源) says which, and when tickets come again
        // by the hall's hours and calendar.
        if (e.code === "quota_reached") {
          fail("kiosk.quota." + e.field, false, (services[serviceId] || {}).name || serviceId, C.time(e.again_at, "daytime", K.tz));
          return;
        }
        fail(r.status === 401 || r.status === 403 ? "kiosk.unauthorized" : e.code === "invalid_id_number" ? "kiosk.card_bad"
          : r.status === 409 ? "kiosk.hall_closed" : "kiosk.failed", r.status === 401 && !K.can_issue);
        return;
      }
      trouble();
      if (Date.now() > until) { fail("kiosk.gave_up"); return; }
      await sleep(2000);
    }
  }

  function fail(key, unpaired, ...args) {
    $("error-text").textContent = C.tr(key, ...args);
    show("error");
    $("error-back").onclick = () => (unpaired ? start() : reset());
    countdown(waitSecs(), unpaired ? start : reset);
  }

  // hhmm shows a time of day in the hall's time zone: 10:00.
  const hhmm = (d) => C.time(d, "time", K.tz);
  // day is the hall's local date of a time: 2031-03-04.
  const day = (d) => C.isoDay(d, K.tz);

  // showTicket shows (and prints) a ticket; booking is the booking an
  // appointment ticket was checked in from.
  function showTicket(t, booking) {
    const svc = services[t.service_id] || { name: t.service_id };
    const ahead = t.position === null || t.position === undefined ? 0 : t.position;
    const appt = t.channel === "appointment";
    const slot = appt && booking ? { start: new Date(booking.slot_start), end: new Date(booking.slot_end) } : null;
    $("tp-number").textContent = t.number;
    $("tp-service").textContent = svc.name;
    const pr = $("tp-priority");
    pr.textContent = !t.priority_group ? "" : C.tr(t.priority_by === "age" ? "kiosk.ticket_priority_age" : "kiosk.ticket_priority",
      groups[t.priority_group] || t.priority_group);
    pr.classList.toggle("hidden", !t.priority_group);
    const bh = $("tp-behalf");
    bh.textContent = t.on_behalf ? C.tr("kiosk.ticket_behalf", C.tr("behalf." + t.on_behalf.role)) : "";
    bh.classList.toggle("hidden", !t.on_behalf);
    const ap = $("tp-appt");
    ap.textContent = appt ? C.tr("kiosk.appt_mark", slot ? hhmm(slot.start) + "–" + hhmm(slot.end) : "").trim() : "";
    ap.classList.toggle("hidden", !appt);
    // An early arrival is not called before the slot's start.
    const until = $("tp-until");
    const early = slot && slot.start > Date.now();
    until.textContent = early ? C.tr("kiosk.appt_wait_until", hhmm(slot.start)) : "";
    until.classList.toggle("hidden", !early);
    $("tp-ahead").textContent = C.tr("kiosk.ahead", ahead);
    $("tp-eta").textContent = t.eta_seconds === null || t.eta_seconds === undefined ? ""
      : openCounters[t.service_id] === 0 ? C.tr("kiosk.closed") : C.tr("kiosk.eta", C.minutes(t.eta_seconds));
    $("tp-time").textContent = C.time(t.issued_at, "datetime", K.tz);
    $("tp-taken").textContent = appt ? C.tr("kiosk.appt_taken", t.number) : C.tr("kiosk.taken", t.number, ahead);
    const qr = $("tp-qr");
    const loaded = new Promise((ok) => { qr.onload = ok; qr.onerror = ok; setTimeout(ok, 3000); });
    qr.src = "/t/" + encodeURIComponent(t.id) + "/qr.svg";
    show("ticket");
    document.body.dataset.ticket = t.id;
    refresh();
    loaded.then(() => {
      if (document.body.dataset.ticket !== t.id) return;
      if (autoPrint) {
        printLayout(true);
        window.print();
        printLayout(false);
      }
      if (!sms || !sms.typing()) countdown(waitSecs(), reset);
    });
  }

  // printLayout lays the ticket out as printed and makes the page exactly
  // as long as the ticket, or puts it back as shown on screen. Between the
  // two, nothing is painted on screen: window.print() runs in between.
  const pageSize = document.head.appendChild(document.createElement("style"));
  function printLayout(on) {
    const paper = $("ticket");
    paper.classList.toggle("printed", on);
    if (!on) return;
    const mm = Math.ceil(paper.getBoundingClientRect().height * 25.4 / 96) + 6 + 4; // margins, and a little to tear off
    pageSize.textContent = "@page { size: 80mm " + mm + "mm; margin: 3mm 4mm; }";
  }
  // A print started otherwise (Ctrl+P on a staff kiosk) gets the same.
  window.addEventListener("beforeprint", () => printLayout(true));
  window.addEventListener("afterprint", () => printLayout(false));

  function countdown(secs, then) {
    clearInterval(backTimer);
    let left = secs;
    const el = $("back-in");
    const tick = () => { el.textContent = C.tr("kiosk.back_in", left); };
    tick();
    backTimer = setInterval(() => {
      left--;
      if (left <= 0) { clearInterval(backTimer); then(); } else tick();
    }, 1000);
  }
  $("done").addEventListener("click", reset);

  // ---- "text me when my turn nears" (a hall that sends SMS) ----
  // The number is typed on the keypad (or a keyboard) and posted as the
  // ticket's opt-in; the screen stays while it is typed, and goes back to
  // the start as usual once it is given.
  const sms = K.sms && $("sms") ? (function () {
    const form = $("sms-form"), input = $("sms-phone"), msg = $("sms-msg"), open = $("sms-open");
    const say = (text, bad) => { msg.textContent = text; msg.classList.toggle("bad", !!bad); };
    // typing shows the form; its "send" is then the screen's one main
    // button, and "done" steps back to a plain one.
    const typing = (on) => {
      form.classList.toggle("hidden", !on);
      $("s-ticket").classList.toggle("sms-typing", on);
      $("done").classList.toggle("primary", !on);
    };
    open.addEventListener("click", () => {
      clearInterval(backTimer);
      $("back-in").textContent = "";
      open.classList.add("hidden");
      typing(true);
      input.focus();
    });
    for (const b of form.querySelectorAll(".key")) {
      b.addEventListener("click", () => {
        const k = b.dataset.key;
        if (k === "+" && input.value !== "") return; // "+" begins a number only
        input.value = k === "del" ? input.value.slice(0, -1) : (input.value + k).slice(0, 16);
        input.removeAttribute("aria-invalid");
      });
    }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const id = document.body.dataset.ticket, phone = input.value.replace(/[\s-]/g, "");
      if (!id) return;
      if (!/^(\+?\d{8,15})$/.test(phone)) { input.setAttribute("aria-invalid", "true"); say(C.tr("kiosk.sms_bad"), true); input.focus(); return; }
      $("sms-submit").disabled = true;
      try {
        const r = await C.api("POST", "/api/v1/tickets/" + encodeURIComponent(id) + "/notify", { phone, lang: C.lang === "en" ? "en" : "zh" });
        if (r && r.status === 201) {
          typing(false);
          say(C.tr("kiosk.sms_ok", (r.body.opt_in || {}).to || ""));
          countdown(waitSecs(), reset);
        } else if (r && r.status === 400) {
          input.setAttribute("aria-invalid", "true");
          say(C.tr("kiosk.sms_bad"), true);
        } else {
          say(C.tr("kiosk.sms_failed"), true);
        }
      } catch (err) {
        say(C.tr("error.network"), true);
      } finally {
        $("sms-submit").disabled = false;
      }
    });
    return {
      typing: () => !form.classList.contains("hidden"),
      clear() {
        input.value = "";
        input.removeAttribute("aria-invalid");
        say("");
        typing(false);
        open.classList.remove("hidden");
      },
    };
  })() : null;

  // ---- check-in with a booking (预约取号) ----
  // The booking code and the last 4 characters of the ID number, typed on
  // the on-screen keypads, or by a scanner of the booking's QR code or an
  // ID card reader that types like a keyboard: a card reader's whole ID
  // number (18 characters) is sent as id_number, the screen showing only
  // its last 4. The fields hold what this script keeps in `typed`. The
  // booking's QR may hold its signed pass (with a dot, which no code has):
  // a scanner typing one gives the pass's code, and the pass goes with
  // the check-in, so that a hall's edge node cut off from the city checks
  // the booking in from it (bookingpass.go).
  const ci = K.appointments ? (function () {
    const CODE_LEN = 8, ID_FULL = 18;
    const codeKeys = new Set([...document.querySelectorAll("#keys-code .key")].map((b) => b.dataset.key).filter((k) => k !== "del"));
    const input = { code: $("ci-code"), id: $("ci-id") };
    const form = $("ci-form"), err = $("ci-error"), status = $("ci-status"), submit = $("ci-submit");
    const typed = { code: "", id: "", pass: "" };
    let active = "code", cancel = null, scan = "";
    const self = { busy: false };

    function render() {
      const c = typed.code;
      input.code.value = c.length > 4 ? c.slice(0, 4) + " " + c.slice(4) : c;
      input.id.value = typed.id.slice(-4);
      for (const f of ["code", "id"]) {
        const el = input[f];
        if (document.activeElement === el) el.setSelectionRange(el.value.length, el.value.length);
      }
    }
    function setActive(f, focus) {
      active = f;
      for (const el of document.querySelectorAll(".ci-field")) el.classList.toggle("active", el.dataset.field === f);
      $("keys-code").classList.toggle("hidden", f !== "code");
      $("keys-id").classList.toggle("hidden", f !== "id");
      if (focus !== false && document.activeElement !== input[f]) input[f].focus({ preventScroll: true });
    }
    // say shows what went wrong (kind "wait": nothing typed wrong, the
    // time is not right) and marks the fields to look at.
    function say(msg, fields, kind) {
      err.textContent = msg || "";
      err.classList.toggle("wait", kind === "wait");
      for (const f of ["code", "id"]) input[f].setAttribute("aria-invalid", fields && fields.includes(f) ? "true" : "false");
    }
    // put adds characters to a field: from the keypad (limit: what the
    // field shows) or typed by a device (an ID number in full).
    function put(f, chars, fromKeypad) {
      for (const ch of chars.toUpperCase()) {
        if (f === "code" && codeKeys.has(ch) && typed.code.length < CODE_LEN) typed.code += ch;
        else if (f === "id" && /[0-9X]/.test(ch) && typed.id.length < (fromKeypad ? 4 : ID_FULL)) typed.id += ch;
      }
      if (typed.id.length > 4 && fromKeypad) typed.id = typed.id.slice(-4);
      say("");
      render();
      if (f === "code" && typed.code.length === CODE_LEN) setActive("id");
    }
    // takePass takes what a scanner typed when it is a booking pass.
    function takePass(text) {
      const m = /^([A-Za-z0-9_-]{20,})\.[A-Za-z0-9_-]{20,}$/.exec(text.trim());
      if (!m) return false;
      let p = null;
      try {
        const b64 = m[1].replace(/-/g, "+").replace(/_/g, "/");
        p = JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4)));
      } catch (e) { return false; }
      if (!p || p.v !== 1 || typeof p.code !== "string" || p.code.length !== CODE_LEN) return false;
      typed.pass = text.trim();
      typed.code = p.code;
      typed.id = "";
      scan = "";
      say("");
      render();
      setActive("id");
      return true;
    }
    function del(f) {
      if (f === "id" && typed.id === "") { setActive("code"); f = "code"; }
      typed[f] = f === "id" && typed.id.length > 4 ? typed.id.slice(-4, -1) : typed[f].slice(0, -1);
      say("");
      render();
    }
    self.clear = function () {
      if (cancel) cancel();
      typed.code = typed.id = typed.pass = scan = "";
      say("");
      status.textContent = "";
      setBusy(false);
      render();
      setActive("code", false);
    };
    self.open = function () {
      if (busy) return;
      self.clear();
      show("checkin");
      setActive("code");
      idle(true);
    };
    function setBusy(on) {
      self.busy = on;
      form.classList.toggle("busy", on);
      submit.disabled = on;
      for (const b of document.querySelectorAll("#s-checkin .key, #ci-clear")) b.disabled = on;
    }

    for (const f of ["code", "id"]) {
      const el = input[f];
      el.addEventListener("focus", () => setActive(f, false));
      // A scanner's Enter after the code goes on to the ID (the code's
      // last character already took it there); any other Enter checks in.
      el.addEventListener("keydown", (ev) => {
        if (ev.key !== "Enter") return;
        ev.preventDefault();
        const scanned = scan;
        scan = "";
        if (takePass(scanned)) return;
        if (typed.code.length === CODE_LEN && typed.id === "") setActive("id");
        else checkIn();
      });
      // Whatever is typed goes through put and del: the field shows it.
      el.addEventListener("beforeinput", (ev) => {
        ev.preventDefault();
        if (self.busy) return;
        const text = ev.data || (ev.dataTransfer && ev.dataTransfer.getData("text/plain")) || "";
        if (ev.inputType.startsWith("delete")) { del(f); return; }
        if (text.length > 1 && takePass(text)) return; // pasted, or typed at once
        if (scan.length < 2048) scan += text;
        if (f === "code") typed.pass = ""; // another code: its own pass, if any, comes whole
        put(f, text, false);
      });
    }
    // Keys do not take the focus from the field they type into.
    document.querySelector(".ci-keys").addEventListener("mousedown", (ev) => ev.preventDefault());
    for (const b of document.querySelectorAll("#s-checkin .key")) {
      b.addEventListener("click", () => {
        if (self.busy) return;
        const f = b.closest("#keys-id") ? "id" : "code";
        if (b.dataset.key === "del") del(f); else put(f, b.dataset.key, true);
        if (f === "code") typed.pass = ""; // a code typed by hand: no pass
        if (document.activeElement !== input[active]) input[active].focus({ preventScroll: true });
      });
    }
    $("ci-clear").addEventListener("click", () => { self.clear(); setActive("code"); });
    $("ci-back").addEventListener("click", reset);
    $("checkin-open").addEventListener("click", () => self.open());

    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      checkIn();
    });

    async function checkIn() {
      if (self.busy) return; // a double tap: one check-in
      if (typed.code.length !== CODE_LEN) { say(C.tr("kiosk.ci_code_short"), ["code"]); setActive("code"); return; }
      if (typed.id.length !== 4 && typed.id.length !== ID_FULL) { say(C.tr("kiosk.ci_id_short"), ["id"]); setActive("id"); return; }
      const body = { code: typed.code };
      if (typed.pass) body.pass = typed.pass;
      if (typed.id.length === ID_FULL) body.id_number = typed.id; else body.id_last4 = typed.id;
      const key = C.key(); // one press, one key, however many tries
      let cancelled = false;
      cancel = () => { cancelled = true; cancel = null; };
      say("");
      status.textContent = C.tr("kiosk.ci_checking");
      setBusy(true);
      idle(false); // nobody is sent away while the kiosk works
      const trouble = () => { if (!cancelled) status.textContent = C.tr("error.network"); };
      const until = Date.now() + 90000;
      while (!cancelled) {
        let r = null;
        try {
          r = await C.api("POST", hallPath + "/checkins", body, authOpts({ key, retries: 2, onRetry: trouble }));
        } catch (e) {
          r = null;
        }
        if (cancelled) return;
        if (r && r.status === 201 && r.body && r.body.ticket) {
          cancel = null;
          const t = r.body.ticket, b = r.body.booking;
          self.clear();
          showTicket(t, b);
          return;
        }
        if (r && r.status < 500) {
          if (r.status === 401 || r.status === 403) {
            cancel = null;
            if (r.status === 401 && token) { token = ""; C.setDeviceToken(K.hall, ""); }
            self.clear();
            fail("kiosk.unauthorized", r.status === 401 && !K.can_issue);
            return;
          }
          const [msg, fields, kind] = await explain(r, body);
          if (cancelled) return; // gone back meanwhile
          cancel = null;
          status.textContent = "";
          setBusy(false);
          say(msg, fields, kind);
          idle(true);
          return;
        }
        trouble();
        if (Date.now() > until) { self.clear(); fail("kiosk.gave_up"); return; }
        await sleep(2000);
      }
    }

    // explain says what went wrong, which fields to look at, and whether
    // it is a matter of time ("wait").
    async function explain(r, body) {
      const e = (r.body && r.body.error) || {};
      if (r.status === 429) return [C.tr("kiosk.ci_rate_limited"), [], "wait"];
      if (r.status === 404 || e.code === "invalid_id_number") return [C.tr("kiosk.ci_not_found"), ["code", "id"]];
      if (r.status === 400) {
        if (e.field === "pass") return [C.tr("kiosk.ci_pass_bad"), ["code"]];
        return e.field === "code" ? [C.tr("kiosk.ci_code_short"), ["code"]] :
          /^id_/.test(e.field || "") ? [C.tr("kiosk.ci_id_short"), ["id"]] : [C.tr("kiosk.ci_failed"), []];
      }
      if (r.status !== 409) return [C.tr("kiosk.ci_failed"), []];
      if (e.code === "too_late") return [C.tr("kiosk.ci_too_late", K.checkin_late_minutes), []];
      // The code and ID matched: the booking tells when, or what became of it.
      let b = null;
      try {
        const g = await C.api("GET", "/api/v1/bookings/" + encodeURIComponent(body.code) + "?id_last4=" +
          encodeURIComponent((body.id_last4 || body.id_number).slice(-4)), undefined, authOpts());
        if (g.status === 200 && g.body) b = g.body.booking;
      } catch (x) { /* said below without it */ }
      if (e.code === "too_early") {
        if (b) {
          const start = new Date(b.slot_start), opens = new Date(start - K.checkin_early_minutes * 60000);
          if (day(start) === day(new Date())) return [C.tr("kiosk.ci_too_early", hhmm(start), hhmm(opens)), [], "wait"];
          const d = C.time(start, "day", K.tz);
          return [C.tr("kiosk.ci_too_early_day", d + " " + hhmm(start), hhmm(opens)), [], "wait"];
        }
        const m = /(\d{1,2}:\d{2})/.exec(e.message || "");
        return [C.tr("kiosk.ci_too_early_at", m ? m[1] : "").trim(), [], "wait"];
      }
      if (b && b.status === "checked_in") return [C.tr("kiosk.ci_done_already", b.ticket_number || ""), [], "wait"];
      if (b && b.status === "cancelled") return [C.tr("kiosk.ci_cancelled"), []];
      if (b && b.status === "no_show") return [C.tr("kiosk.ci_too_late", K.checkin_late_minutes), []];
      return [C.tr("kiosk.ci_failed"), []];
    }
    return self;
  })() : null;

  // ---- start ----
  async function start() {
    if (token) await checkToken();
    if (!token && !K.can_issue) {
      show("pair");
      $("pair-code").focus();
      return;
    }
    home();
    if (location.hash === "#checkin") {
      history.replaceState(null, "", location.pathname + location.search);
      if (ci) ci.open();
    }
    loadWaits();
    follow();
  }
  C.clock($("clock"), K.tz);
  start();
})();
