// The kiosk: a citizen taps a service (after choosing a green-channel group
// if they have one), gets a ticket on screen and on paper, and the kiosk
// goes back to the start by itself. One press gives one ticket, whatever
// the network does: every retry of a press sends the same Idempotency-Key.
"use strict";
(function () {
  const C = window.CIVIQ;
  const K = JSON.parse(document.getElementById("kiosk-config").textContent);
  const $ = (id) => document.getElementById(id);
  const hallPath = "/api/v1/halls/" + encodeURIComponent(K.hall);
  const params = new URLSearchParams(location.search);
  const autoPrint = params.get("print") !== "0";
  const loadedAt = Date.now();
  const services = Object.fromEntries(K.services.map((s) => [s.id, s]));
  const groups = Object.fromEntries(K.groups.map((g) => [g.id, g.label]));
  if (!autoPrint) document.getElementById("take").classList.add("hidden");

  let token = C.deviceToken(K.hall); // a paired kiosk's own token
  let group = "";                    // the chosen green-channel group
  let busy = false;                  // a press is being served
  let backTimer = 0, idleTimer = 0, waitsTimer = 0, stream = null;

  function show(name) {
    for (const s of document.querySelectorAll(".screen")) s.classList.toggle("hidden", s.id !== "s-" + name);
    document.body.dataset.screen = name;
  }
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
      }
    } catch (e) { /* the next event or reconnection tries again */ }
  }
  // Many events come at once when a stream replays: read once after them.
  function refresh() { clearTimeout(waitsTimer); waitsTimer = setTimeout(loadWaits, 250); }

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
    });
  }

  // ---- the start screen and the green channel ----
  function home() {
    clearInterval(backTimer);
    busy = false;
    $("green-banner").classList.toggle("hidden", !group);
    $("green-text").textContent = group ? C.tr("kiosk.green_for", groups[group] || group) : "";
    const open = $("green-open");
    if (open) open.classList.toggle("hidden", !!group);
    show("home");
    idle(!!group);
  }

  // A half-finished choice goes back to the start when nobody touches it.
  function idle(on) {
    clearTimeout(idleTimer);
    if (on) idleTimer = setTimeout(reset, 30000);
  }

  // reset is the start for the next citizen: Chinese again, and a fresh
  // page now and then so that a kiosk running for weeks stays current.
  function reset() {
    clearInterval(backTimer);
    clearTimeout(idleTimer);
    group = "";
    busy = false;
    delete document.body.dataset.ticket;
    const stale = Date.now() - loadedAt > 12 * 3600 * 1000;
    if (C.lang !== "zh-CN" || stale) {
      const q = new URLSearchParams(location.search);
      q.set("lang", "zh-CN");
      location.replace(location.pathname + "?" + q.toString());
      return;
    }
    home();
  }

  document.addEventListener("pointerdown", () => { if (document.body.dataset.screen === "green" || group) idle(true); });
  if ($("green-open")) $("green-open").addEventListener("click", () => { if (!busy) { show("green"); idle(true); } });
  $("green-back").addEventListener("click", () => { group = ""; home(); });
  $("green-cancel").addEventListener("click", () => { group = ""; home(); });
  for (const b of document.querySelectorAll(".group")) {
    b.addEventListener("click", () => { group = b.dataset.group; home(); });
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
        showTicket(r.body.ticket);
        return;
      }
      if (r && r.status < 500 && r.status !== 429) {
        if (r.status === 401 && token) { token = ""; C.setDeviceToken(K.hall, ""); }
        fail(r.status === 401 || r.status === 403 ? "kiosk.unauthorized" : r.status === 409 ? "kiosk.hall_closed" : "kiosk.failed",
          r.status === 401 && !K.can_issue);
        return;
      }
      trouble();
      if (Date.now() > until) { fail("kiosk.gave_up"); return; }
      await sleep(2000);
    }
  }

  function fail(key, unpaired) {
    $("error-text").textContent = C.tr(key);
    show("error");
    $("error-back").onclick = () => (unpaired ? start() : reset());
    countdown(10, unpaired ? start : reset);
  }

  function fmtTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    return new Intl.DateTimeFormat(C.lang === "en" ? "en-GB" : "zh-CN", {
      timeZone: K.tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(d);
  }

  function showTicket(t) {
    const svc = services[t.service_id] || { name: t.service_id };
    const ahead = t.position === null || t.position === undefined ? 0 : t.position;
    $("tp-number").textContent = t.number;
    $("tp-service").textContent = svc.name;
    const pr = $("tp-priority");
    pr.textContent = t.priority_group ? C.tr("kiosk.ticket_priority", groups[t.priority_group] || t.priority_group) : "";
    pr.classList.toggle("hidden", !t.priority_group);
    $("tp-ahead").textContent = C.tr("kiosk.ahead", ahead);
    $("tp-eta").textContent = t.eta_seconds === null || t.eta_seconds === undefined ? "" : C.tr("kiosk.eta", C.minutes(t.eta_seconds));
    $("tp-time").textContent = fmtTime(t.issued_at);
    $("tp-taken").textContent = C.tr("kiosk.taken", t.number, ahead);
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
      countdown(10, reset);
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

  // ---- start ----
  async function start() {
    if (token) await checkToken();
    if (!token && !K.can_issue) {
      show("pair");
      $("pair-code").focus();
      return;
    }
    home();
    loadWaits();
    follow();
  }
  C.clock($("clock"), K.tz);
  start();
})();
