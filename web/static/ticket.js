// The citizen's ticket page: where the ticket is in the queue, live from
// the hall's event stream; a sound and a vibration when it is called; the
// 好差评 rating once it is done.
"use strict";
(function () {
  const C = window.CIVIQ;
  const $ = C.$;
  const T = JSON.parse($("ticket-config").textContent);
  const path = "/api/v1/tickets/" + encodeURIComponent(T.id);
  let t = T.ticket;
  let rated = T.rated;
  let stream = null, audio = null, fetching = false, again = false;
  let lastCall = callKey(t);
  let apptTimer = 0;

  // A call (or a recall) is told apart by its count and counter.
  function callKey(x) { return x.status === "called" ? x.call_count + "@" + (x.counter_id || "") : ""; }
  function counterName(id) { return T.counters[id] || id || ""; }
  function show(el, on) { el.classList.toggle("hidden", !on); }
  const known = (v) => v !== null && v !== undefined;

  function render() {
    const st = t.status;
    $("card").className = "tcard status-" + st;
    $("status").textContent = C.tr("ticket.status." + st);
    $("number").textContent = t.number;

    const waiting = st === "waiting";
    // An appointment ticket says its slot, and an early arrival that calls
    // start at the slot's start, as the kiosk's ticket does.
    const slot = T.appointment, hhmm = (d) => C.time(d, "time", T.tz);
    $("appt").textContent = slot ? C.tr("kiosk.appt_mark", hhmm(slot.slot_start) + "–" + hhmm(slot.slot_end)) : "";
    show($("appt"), !!slot);
    const early = slot && waiting ? new Date(slot.slot_start) - Date.now() : 0;
    $("appt-until").textContent = early > 0 ? C.tr("kiosk.appt_wait_until", hhmm(slot.slot_start)) : "";
    show($("appt-until"), early > 0);
    clearTimeout(apptTimer);
    if (early > 0) apptTimer = setTimeout(render, Math.min(early + 1000, 2147483647));
    const ahead = $("ahead");
    ahead.textContent = waiting && known(t.position) ? (t.position === 0 ? C.tr("ticket.ahead_none") : C.tr("ticket.ahead", t.position)) : "";
    show(ahead, waiting && known(t.position));
    $("eta").textContent = waiting && known(t.eta_seconds) ? C.minutes(t.eta_seconds) : "";
    show($("f-eta"), waiting && known(t.eta_seconds));
    $("issued").textContent = C.time(t.issued_at, "time", T.tz);

    const call = $("call");
    call.textContent = st === "called" ? C.tr("ticket.go_to", counterName(t.counter_id))
      : st === "serving" ? C.tr("ticket.serving_at", counterName(t.counter_id)) : "";
    show(call, st === "called" || st === "serving");

    const help = $("help");
    help.textContent = st === "no_show" ? C.tr("ticket.noshow_help") : st === "cancelled" ? C.tr("ticket.cancelled_help") : "";
    show(help, st === "no_show" || st === "cancelled");

    show($("alerts"), waiting || st === "called");
    const canLeave = waiting || st === "called";
    show($("leave"), canLeave);
    if (!canLeave) closeLeave();
    showPush();
    show($("rate"), st === "done" && !rated);
    // A rating is tied to the counter that served: the page says so, never
    // that it is anonymous.
    if (t.counter_id) $("rate-lead").textContent = C.tr("ticket.rate_lead_counter", counterName(t.counter_id));
    $("thanks").textContent = rated ? C.tr("ticket.rated") : "";
    show($("thanks"), rated);

    document.title = st === "called" ? C.tr("ticket.called_title", counterName(t.counter_id), t.number)
      : t.number + " · " + C.tr("ticket.status." + st);

    renderSMS();
    show($("more-open"), true);
    if (view === "sms" && sms.classList.contains("hidden")) setView("more", false);
    const k = callKey(t);
    if (k && k !== lastCall) ring();
    lastCall = k;

    // Nothing more can happen to a done and rated, or a cancelled, ticket.
    if (stream && ((st === "done" && rated) || st === "cancelled")) { stream.close(); stream = null; }
  }

  // ---- sound and vibration ----
  function beep() {
    try {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return;
      audio = audio || new AC();
      if (audio.state === "suspended") audio.resume();
      const now = audio.currentTime;
      for (let i = 0; i < 3; i++) {
        const o = audio.createOscillator(), g = audio.createGain();
        const at = now + i * 0.45;
        o.type = "sine";
        o.frequency.value = i === 2 ? 1175 : 880;
        g.gain.setValueAtTime(0.0001, at);
        g.gain.exponentialRampToValueAtTime(0.4, at + 0.03);
        g.gain.exponentialRampToValueAtTime(0.0001, at + 0.35);
        o.connect(g).connect(audio.destination);
        o.start(at);
        o.stop(at + 0.4);
      }
    } catch (e) { /* no sound on this phone */ }
  }
  function ring() {
    setView("ticket", false); // in 长辈模式, the call comes first
    beep();
    if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 800]);
    const card = $("card");
    card.classList.remove("ring");
    void card.offsetWidth; // restart the animation
    card.classList.add("ring");
  }
  // Phones play sound and vibrate only after a tap on the page.
  $("alerts").addEventListener("click", (ev) => {
    const b = ev.currentTarget;
    try {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (AC) { audio = audio || new AC(); audio.resume(); }
    } catch (e) { /* ignore */ }
    if (navigator.vibrate) navigator.vibrate(60);
    b.textContent = C.tr("ticket.alerts_on");
    b.setAttribute("aria-pressed", "true");
    b.classList.add("on");
  });

  // ---- leaving the queue: a confirmation, then POST .../cancel ----
  function closeLeave() {
    show($("leave-confirm"), false);
    show($("leave-open"), true);
    $("leave-open").setAttribute("aria-expanded", "false");
    $("leave-error").textContent = "";
  }
  $("leave-open").addEventListener("click", () => {
    $("leave-q").textContent = C.tr("ticket.leave_q", t.number);
    show($("leave-confirm"), true);
    show($("leave-open"), false);
    $("leave-open").setAttribute("aria-expanded", "true");
    $("leave-no").focus();
  });
  $("leave-no").addEventListener("click", () => { closeLeave(); $("leave-open").focus(); });
  $("leave-yes").addEventListener("click", async (ev) => {
    const b = ev.currentTarget;
    b.disabled = true;
    $("leave-error").textContent = "";
    try {
      const r = await C.api("POST", path + "/cancel", undefined, { retries: 2 });
      if (r.status === 200 && r.body && r.body.ticket) { t = r.body.ticket; closeLeave(); render(); }
      else if (r.status === 409) { closeLeave(); refetch(); } // called meanwhile, or cancelled already
      else $("leave-error").textContent = C.tr("ticket.leave_failed");
    } catch (e) {
      $("leave-error").textContent = C.tr("error.network");
    }
    b.disabled = false;
  });

  // ---- live ----
  async function refetch() {
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      const r = await C.api("GET", path);
      if (r.status === 200 && r.body && r.body.ticket) { t = r.body.ticket; render(); }
    } catch (e) { /* the next event or reconnection tries again */ }
    fetching = false;
    if (again) { again = false; refetch(); }
  }
  const soon = C.soon(refetch, 300);

  // The public stream names tickets by number, never by id; numbers restart
  // every day, so an event is this ticket's when it names its number and
  // comes after the ticket was issued (a minute's grace for the clocks of
  // several nodes).
  const issuedAt = Date.parse(T.ticket.issued_at);
  function mine(data) {
    const e = data && data.ticket;
    if (!e || e.number !== t.number) return false;
    const at = Date.parse(data.at);
    return isNaN(at) || isNaN(issuedAt) || at >= issuedAt - 60000;
  }

  function onEvent(type) {
    return (data) => {
      const e = data && data.ticket;
      if (mine(data)) {
        if (type === "ticket.rated") rated = true;
        refetch();
        return;
      }
      if (t.status !== "waiting") return;
      // Tickets ahead move when their service's queue moves, when a
      // ticket changes queue, and when counters open or close.
      if (type === "counter.updated" || type === "ticket.transferred" || type === "ticket.returned" || (e && e.service_id === t.service_id)) soon();
    };
  }
  const handlers = {};
  for (const name of ["ticket.issued", "ticket.called", "ticket.recalled", "ticket.serving", "ticket.done", "ticket.no_show",
    "ticket.transferred", "ticket.returned", "ticket.cancelled", "ticket.rated", "counter.updated"]) handlers[name] = onEvent(name);

  // ---- rating ----
  const form = $("rate");
  form.addEventListener("change", (ev) => {
    if (ev.target.name === "score") {
      show($("reasons"), Number(ev.target.value) <= 2);
      $("rate-error").textContent = "";
    }
    if (ev.target.name === "reason") $("reason-error").textContent = "";
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = $("rate-error"), rerr = $("reason-error"), btn = form.querySelector('button[type="submit"]');
    err.textContent = rerr.textContent = "";
    const sel = form.querySelector('input[name="score"]:checked');
    if (!sel) { err.textContent = C.tr("ticket.rate_pick"); form.querySelector('input[name="score"]').focus(); return; }
    const score = Number(sel.value);
    const body = { score };
    if (score <= 2) {
      // The codes of the hall's one reason list, as the rating device sends.
      body.reasons = Array.from(form.querySelectorAll('input[name="reason"]:checked'), (i) => i.value);
      body.comment = $("comment").value.trim();
      if (!body.reasons.length && !body.comment) { rerr.textContent = C.tr("ticket.reason_needed"); $("comment").focus(); return; }
      const phone = $("phone").value.replace(/[\s-]/g, "");
      if (phone && !/^(\+86)?1[3-9]\d{9}$/.test(phone)) {
        C.fieldError($("phone"), rerr, C.tr("ticket.phone_bad"));
        $("phone").focus();
        return;
      }
      C.fieldError($("phone"), null, "");
      if (phone) body.contact_phone = phone;
    }
    btn.disabled = true;
    try {
      const r = await C.api("POST", path + "/rating", body, { retries: 2 });
      // 409: rated already (perhaps by this very request, answered late).
      if (r.status === 201 || r.status === 409) { rated = true; render(); $("thanks").focus && $("thanks").scrollIntoView({ block: "center" }); }
      else err.textContent = C.tr("ticket.rate_failed");
    } catch (e) {
      err.textContent = C.tr("error.network");
    }
    btn.disabled = false;
  });

  // ---- SMS when the turn nears ----
  const N = T.notify || { media: [], opt_ins: {} };
  const sms = $("sms");
  function renderSMS() {
    const to = N.opt_ins.sms;
    const on = N.media.includes("sms") && (t.status === "waiting" || t.status === "called" || t.status === "no_show");
    show(sms, on);
    show($("sms-open"), on);
    show($("sms-in"), !to);
    show($("sms-done"), !!to);
    $("sms-to").textContent = to ? C.tr("ticket.sms_to", to) : "";
  }
  sms.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = $("sms-error"), input = $("sms-phone"), btn = sms.querySelector('button[type="submit"]');
    const phone = input.value.trim();
    if (!/^(\+86)?[\s-]*1[3-9](\d[\s-]*){9}$/.test(phone) && !/^\+[1-9][\d\s-]{7,18}$/.test(phone)) {
      C.fieldError(input, err, C.tr("ticket.sms_bad"));
      input.focus();
      return;
    }
    C.fieldError(input, err, "");
    btn.disabled = true;
    try {
      const r = await C.api("POST", path + "/notify", { phone, lang: document.documentElement.lang === "en" ? "en" : "zh" });
      if (r.status === 201) { N.opt_ins.sms = r.body.opt_in.to; input.value = ""; $("sms-stopped").textContent = ""; renderSMS(); $("sms-off").focus(); }
      else {
        // 429: this number, today; 409: no text can go now (the day's
        // budget spent, or the hall stopped its texts): say what still
        // works on this page rather than "try again later" (browser
        // notifications only where the page offers them).
        const code = r.body && r.body.error && r.body.error.code;
        const unavailable = canPush ? "ticket.sms_unavailable" : "ticket.sms_unavailable_alerts";
        C.fieldError(input, err, C.tr(code === "rate_limited" ? "ticket.sms_limited" : r.status === 409 ? unavailable : "ticket.sms_failed"));
      }
    } catch (e) {
      err.textContent = C.tr("error.network");
    }
    btn.disabled = false;
  });
  $("sms-off").addEventListener("click", async () => {
    const err = $("sms-error");
    err.textContent = "";
    try {
      const r = await C.api("DELETE", path + "/notify?medium=sms");
      if (r.status === 204 || r.status === 404) {
        // Said in words: no more texts to that number (the hall's, for any
        // ticket, until it is given again).
        $("sms-stopped").textContent = C.tr("ticket.sms_stopped", N.opt_ins.sms || "");
        delete N.opt_ins.sms;
        renderSMS();
        $("sms-phone").focus();
      }
      else err.textContent = C.tr("ticket.sms_failed");
    } catch (e) {
      err.textContent = C.tr("error.network");
    }
  });

  // ---- browser notifications (Web Push) ----
  // When the hall sends them (T.webpush is the installation's VAPID public
  // key), the browser subscribes through the service worker at /t/sw.js
  // and the subscription is the ticket's opt-in (POST …/notify): the
  // service worker shows the hall's messages with this page closed too.
  const push = $("push"), pushBtn = $("push-on"), pushState = $("push-state");
  const canPush = !!T.webpush && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  function pushOn(on, msg) {
    pushBtn.textContent = C.tr(on ? "ticket.push_off" : "ticket.push");
    pushBtn.setAttribute("aria-pressed", String(on));
    pushBtn.classList.toggle("on", on);
    pushState.textContent = msg ? C.tr(msg) : "";
  }
  function keyBytes(b64) {
    const s = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }
  async function subscribe() {
    const reg = await navigator.serviceWorker.register("/t/sw.js", { scope: "/t/" });
    await navigator.serviceWorker.ready;
    const key = keyBytes(T.webpush);
    let sub = await reg.pushManager.getSubscription();
    if (sub && sub.options && sub.options.applicationServerKey &&
      new Uint8Array(sub.options.applicationServerKey).join() !== key.join()) {
      await sub.unsubscribe(); // made with another key pair: useless now
      sub = null;
    }
    return sub || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  // remember keeps, for the service worker, the tickets opted in with this
  // browser's subscription and the key: when the browser replaces the
  // subscription (pushsubscriptionchange) the worker subscribes again and
  // tells civiq for each (sw.js).
  async function remember(lang) {
    if (!("caches" in window)) return;
    const cache = await caches.open("civiq-push"), entry = "/t/sw-push.json";
    const r = await cache.match(entry);
    const saved = r ? await r.json() : { tickets: [] };
    const tickets = (saved.tickets || []).filter((x) => x.id !== T.id).concat([{ id: T.id, lang }]).slice(-10);
    await cache.put(entry, new Response(JSON.stringify({ key: T.webpush, tickets }), { headers: { "Content-Type": "application/json" } }));
  }
  pushBtn.addEventListener("click", async () => {
    pushBtn.disabled = true;
    try {
      if (pushBtn.getAttribute("aria-pressed") === "true") {
        const r = await C.api("DELETE", path + "/notify?medium=webpush");
        if (r.status === 204 || r.status === 404) { delete N.opt_ins.webpush; pushOn(false, "ticket.push_stopped"); }
        else pushState.textContent = C.tr("ticket.push_failed");
        return;
      }
      if (await Notification.requestPermission() !== "granted") { pushOn(false, "ticket.push_denied"); return; }
      const sub = await subscribe();
      const lang = document.documentElement.lang === "en" ? "en" : "zh";
      const r = await C.api("POST", path + "/notify", { webpush: sub.toJSON(), lang }, { retries: 2 });
      if (r.status === 201) {
        N.opt_ins.webpush = r.body.opt_in.to;
        pushOn(true, "ticket.push_on");
        remember(lang).catch(() => {});
      }
      else pushOn(false, "ticket.push_failed");
    } catch (e) {
      pushOn(false, "ticket.push_failed");
    } finally {
      pushBtn.disabled = false;
    }
  });
  if (T.webpush && !canPush) pushState.textContent = C.tr("ticket.push_unsupported");
  show(pushBtn, canPush);
  if (canPush && N.opt_ins.webpush && Notification.permission === "granted") pushOn(true, "ticket.push_on");
  // WeChat: the hall's Official Account's login, which works inside
  // WeChat only, binds the visitor to the ticket and comes back here.
  const inWeChat = !!T.wechat && /MicroMessenger/i.test(navigator.userAgent);
  if (inWeChat) { $("wechat").href = T.wechat; show($("wechat"), true); }
  if (N.opt_ins.wechat) pushState.textContent = C.tr("ticket.wechat_on");
  function showPush() { show(push, (!!T.webpush || inWeChat) && (t.status === "waiting" || t.status === "called")); }

  // ---- 长辈模式: one task per screen ----
  // In the mode the page shows one view at a time (body data-view): the
  // ticket (with the rating once done) and a button to the others; "more",
  // the other actions, each one step (leaving asks alone); "sms", the
  // texts' form alone. Without the mode the views change nothing
  // (ticket.css).
  let view = "ticket";
  function setView(v, focus) {
    view = v;
    document.body.dataset.view = v;
    $("view-back").textContent = C.tr(v === "sms" ? "ticket.back_more" : "ticket.back_ticket");
    if (focus === false || !C.elder()) return;
    window.scrollTo(0, 0);
    (v === "ticket" ? $("more-open") : v === "sms" ? $("sms-h") : $("more-h")).focus({ preventScroll: true });
  }
  $("more-open").addEventListener("click", () => setView("more"));
  $("sms-open").addEventListener("click", () => setView("sms"));
  $("view-back").addEventListener("click", () => setView(view === "sms" ? "more" : "ticket"));
  document.addEventListener("civiq:elder", () => setView("ticket", false));
  setView("ticket", false);

  render();
  if (!((t.status === "done" && rated) || t.status === "cancelled")) {
    const live = $("live");
    stream = C.stream(T.hall, handlers, (up) => {
      live.classList.toggle("off", !up);
      live.textContent = C.tr(up ? "ticket.live" : "ticket.offline");
      // What changed between this page's rendering and the stream's start.
      if (up) soon();
    }, { public: true });
  } else {
    show($("live"), false);
  }
})();
