// civiq rating device (好差评) at one counter: idle until the counter
// finishes a ticket, then five faces; the two lowest ask why; then thanks.
// Any unanswered screen goes back to idle after 60 s.
"use strict";
(function () {
  const C = window.CIVIQ;
  const $ = C.$;
  const D = JSON.parse($("page-data").textContent);
  C.clock($("clock"), D.timezone);

  const IDLE_AFTER = 60;   // seconds an unanswered screen stays
  const THANKS_FOR = 6;    // seconds the thanks stay
  const STALE = 120000;    // a replayed "done" older than this is not asked about
  const tokenKey = D.hall + "/rate/" + D.counter;
  const services = {};
  for (const s of D.services) services[s.id] = s;

  let token = "", ticket = null, screen = "", timer = null, deadline = 0, sending = false;

  function opts(extra) { return Object.assign(token ? { token } : {}, extra || {}); }

  function show(name) {
    for (const s of ["pair", "idle", "faces", "reason", "thanks"]) $("s-" + s).classList.toggle("hidden", s !== name);
    screen = name;
    document.body.dataset.screen = name;
  }

  function say(text, bad) {
    const m = $("rate-msg");
    m.textContent = text || "";
    m.classList.toggle("bad", !!bad);
  }

  // ---- timing out -----------------------------------------------------
  function countdown(secs) {
    deadline = Date.now() + secs * 1000;
    clearInterval(timer);
    timer = setInterval(tickDown, 1000);
    tickDown();
  }
  function tickDown() {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) { toIdle(); return; }
    const el = screen === "faces" ? $("countdown-f") : screen === "reason" ? $("countdown-r") : null;
    if (el) el.textContent = C.tr("rate.countdown", left);
  }
  function toIdle() {
    clearInterval(timer);
    ticket = null;
    sending = false;
    say("");
    show("idle");
  }
  // Someone is using the screen: give them the full time again.
  function touched() { if (screen === "faces" || screen === "reason") countdown(IDLE_AFTER); }
  document.addEventListener("pointerdown", touched);
  document.addEventListener("keydown", touched);
  document.addEventListener("input", touched);

  // ---- a finished ticket --------------------------------------------------
  // The public stream names the finished ticket by its number only; the
  // rater asks, with its own token, for the id of its counter's last
  // finished ticket, and rates that one if it is the same number.
  async function onDone(data) {
    const t = data.ticket || {};
    if (t.counter_id !== D.counter || screen === "pair") return;
    const at = Date.parse(data.at);
    if (!isNaN(at) && Date.now() - at > STALE) return;
    // Someone explaining a bad rating is not cut off by the next finish.
    if (screen === "reason" || sending) return;
    let res = null;
    try {
      res = await C.api("GET", "/api/v1/halls/" + encodeURIComponent(D.hall) + "/counters/" + encodeURIComponent(D.counter) + "/last-done", undefined, opts());
    } catch (e) { return; }
    if (res.status === 401 && token) { unpair(); return; }
    const last = res.status === 200 && res.body && res.body.ticket;
    if (!last || last.number !== t.number || screen === "reason" || sending) return;
    ask(last);
  }

  function ask(t) {
    if (D.province_page) { toProvince(t); return; }
    ticket = t;
    say("");
    const svc = services[t.service_id];
    $("ticket-line").textContent = C.tr("rate.ticket", t.number, svc ? svc.name : t.service_id);
    for (const b of document.querySelectorAll(".face")) b.disabled = false;
    show("faces");
    countdown(IDLE_AFTER);
  }

  // The hall rates on the province's own page: the rater opens it for the
  // ticket just finished (the platform reports the rating back to civiq),
  // and shows no faces of its own, even when the page cannot be had.
  async function toProvince(t) {
    let res = null;
    try {
      res = await C.api("GET", "/api/v1/tickets/" + encodeURIComponent(t.id) + "/province-page", undefined, opts());
    } catch (e) { return; }
    if (res.status !== 200 || !res.body || !res.body.url) return;
    location.assign(res.body.url.split("{return_url}").join(encodeURIComponent(location.href)));
  }

  for (const b of document.querySelectorAll(".face")) {
    b.addEventListener("click", () => {
      if (!ticket || sending) return;
      const score = Number(b.dataset.score);
      if (score <= 2) { askReason(score); return; }
      send(score, [], "");
    });
  }

  let badScore = 0;
  function askReason(score) {
    badScore = score;
    $("reason-form").reset();
    $("reason-err").textContent = "";
    $("reason-chosen").textContent = C.tr("rate.reason.chosen", C.tr("rate.s" + score));
    show("reason");
    $("chips").scrollTop = 0;
    moreReasons();
    countdown(IDLE_AFTER);
  }

  // moreReasons says when the reasons do not all fit the screen (a small
  // panel, a long list): the list scrolls, and a line under it says more
  // are below until the last is in sight.
  function moreReasons() {
    const f = $("chips");
    const over = f.scrollHeight > f.clientHeight + 1;
    f.classList.toggle("over", over);
    $("chips-more").classList.toggle("hidden", !over || f.scrollTop + f.clientHeight >= f.scrollHeight - 2);
  }
  $("chips").addEventListener("scroll", () => { moreReasons(); touched(); }, { passive: true });
  new ResizeObserver(() => { if (screen === "reason") moreReasons(); }).observe($("chips")); // a resize, late fonts

  $("reason-back").addEventListener("click", () => { show("faces"); countdown(IDLE_AFTER); });

  $("reason-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (sending) return;
    // Reasons are the codes of the hall's list, whatever the screen's
    // language, so that the records and reports read the same.
    const reasons = Array.from(document.querySelectorAll("input[name=reason]:checked"), (i) => i.value);
    const text = $("reason-text").value.trim();
    if (!reasons.length && !text) {
      $("reason-err").textContent = C.tr("rate.reason.need");
      return;
    }
    // A phone for the call back is optional; one given must be a mobile.
    const phone = $("reason-phone").value.replace(/[\s-]/g, "");
    if (phone && !/^(\+86)?1[3-9]\d{9}$/.test(phone)) {
      C.fieldError($("reason-phone"), $("reason-err"), C.tr("rate.phone.bad"));
      $("reason-phone").focus();
      return;
    }
    C.fieldError($("reason-phone"), null, "");
    send(badScore, reasons, text, phone);
  });

  async function send(score, reasons, comment, phone) {
    if (!ticket || sending) return;
    sending = true;
    say(C.tr("rate.sending"));
    for (const b of document.querySelectorAll(".face, #reason-send")) b.disabled = true;
    let res = null;
    try {
      const body = { score, reasons, comment };
      if (phone) body.contact_phone = phone;
      res = await C.api("POST", "/api/v1/tickets/" + encodeURIComponent(ticket.id) + "/rating", body, opts({ retries: 3 }));
    } catch (e) {
      res = null;
    }
    sending = false;
    for (const b of document.querySelectorAll(".face, #reason-send")) b.disabled = false;
    if (res && res.status === 201) { thanks(C.tr("rate.thanks.lead")); return; }
    if (res && res.status === 409) {
      // Rated already (a retry whose first try got through, or the phone),
      // or too late to rate here: either way nothing more to ask.
      if (/already/.test(((res.body || {}).error || {}).message || "")) { thanks(C.tr("rate.already")); return; }
      say(C.tr("rate.closed"), true);
      countdown(5);
      return;
    }
    if (res && res.status === 401 && token) { unpair(); return; }
    say(C.tr("rate.failed"), true);
  }

  function thanks(lead) {
    say("");
    $("thanks-lead").textContent = lead;
    show("thanks");
    $("thanks-h").focus();
    countdown(THANKS_FOR);
  }

  // ---- pairing ------------------------------------------------------------
  function unpair() {
    C.setDeviceToken(tokenKey, "");
    token = "";
    clearInterval(timer);
    show("pair");
    $("pair-code").focus();
  }

  C.pairForm({ kind: "rater", hall: D.hall, counter: D.counter },
    { bad: "rate.pair.bad", network: "rate.failed", wrong: "rate.pair.wrong" }, (t) => {
      token = t;
      C.setDeviceToken(tokenKey, token);
      start();
    });

  // ---- live ---------------------------------------------------------------
  let stream = null;
  function start() {
    toIdle();
    if (stream) return;
    stream = C.stream(D.hall, { "ticket.done": onDone }, (up) => {
      const l = $("live");
      l.textContent = up ? "" : C.tr("rate.live.off");
      l.classList.toggle("hidden", up);
    }, { public: true });
  }

  async function boot() {
    token = C.deviceToken(tokenKey);
    if (!token) {
      if (D.mode === "trial") start(); else unpair();
      return;
    }
    try {
      const res = await C.api("GET", "/api/v1/auth/me", undefined, { token });
      if (res.status === 401) { unpair(); return; }
    } catch (e) { /* offline: go on with the token we have */ }
    start();
  }
  boot();
})();
