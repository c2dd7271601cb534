// civiq counter page: call and serve at one counter, for signed-in staff or
// a paired counter device. Live through the hall's event stream; every
// press is one request with its own Idempotency-Key, and no button works
// while a request is in flight.
"use strict";
(function () {
  const C = window.CIVIQ;
  const $ = C.$;
  const D = JSON.parse($("page-data").textContent);
  const root = $("ctr");
  C.clock($("clock"), D.timezone);
  if (!$("work")) return; // not allowed here: the page says so

  const base = "/api/v1/halls/" + encodeURIComponent(D.hall) + "/counters/" + encodeURIComponent(D.counter);
  const services = {};
  for (const s of D.services) services[s.id] = s;
  const tokenKey = D.hall + "/counter/" + D.counter;
  let token = "";

  const st = {
    counter: { status: D.status, pause_reason: D.pause_reason },
    cur: null,        // the counter's called or serving ticket
    busy: false,      // a request is in flight
    ready: false,     // the counter's state has been read once
    gen: 0,           // bumped by every answered action, to drop stale reads
    last: "",         // the last action answered, and when: against double presses
    lastAt: 0,
    pending: null,    // a press the network failed: sent again when back
  };

  function opts(extra) { return Object.assign(token ? { token } : {}, extra || {}); }
  function svcName(id) { return (services[id] && services[id].name) || id; }

  // ---- messages -------------------------------------------------------
  function say(text, kind, link) {
    const m = $("msg");
    m.className = "msg" + (kind ? " msg-" + kind : "");
    m.textContent = text || "";
    if (link) {
      const a = document.createElement("a");
      a.href = link.href; a.textContent = link.text;
      m.append(" ", a);
    }
  }

  function errorOf(res) {
    const e = (res.body && res.body.error) || {};
    return { code: e.code || "", message: e.message || ("HTTP " + res.status) };
  }

  // showError says plainly why an action did not happen.
  function showError(res) {
    const e = errorOf(res);
    switch (e.code) {
      case "invalid_transition":
        say(C.tr("counter.err.invalid_transition") + " (" + e.message + ")", "bad");
        refreshSoon();
        break;
      case "conflict":
        say(C.tr("counter.err.conflict") + e.message, "bad");
        refreshSoon();
        break;
      case "invalid":
        say(C.tr("counter.err.invalid") + e.message, "bad");
        break;
      case "not_found":
        say(C.tr("counter.err.not_found"), "bad");
        refreshSoon();
        break;
      case "forbidden":
        say(C.tr("counter.err.forbidden") + " (" + e.message + ")", "bad");
        break;
      case "unauthorized":
        unauthorized();
        break;
      default:
        say(C.tr("counter.err.other") + " (" + e.message + ")", "bad");
    }
  }

  function unauthorized() {
    if (D.mode === "device") {
      C.setDeviceToken(tokenKey, "");
      token = "";
      showPair();
      return;
    }
    say(C.tr("counter.err.unauthorized"), "bad", { href: D.login, text: C.tr("counter.err.relogin") });
  }

  // ---- drawing ----------------------------------------------------------
  // Reasons are kept in Chinese; show the chosen one in the page's language.
  const reasonText = (r) => C.pauseReason(r, D.records);

  function setBtn(id, on) { const b = $(id); if (b) b.disabled = !on; }

  function label(id, key) { $(id).querySelector("span").textContent = C.tr(key); }

  function render() {
    const cur = st.cur, s = cur ? cur.status : "", status = st.counter.status;
    const can = st.ready && !st.busy;
    setBtn("b-call", can && status === "open");
    setBtn("b-recall", can && s === "called");
    setBtn("b-start", can && s === "called");
    setBtn("b-no-show", can && s === "called");
    setBtn("b-finish", can && (s === "serving" || s === "called"));
    setBtn("b-transfer", can && (s === "called" || s === "serving"));
    setBtn("b-pause", can);
    setBtn("b-close", can && status !== "closed");
    $("b-close").classList.toggle("hidden", status === "closed");
    label("b-pause", status === "open" ? "counter.act.pause" : status === "paused" ? "counter.act.resume" : "counter.act.open");
    root.setAttribute("aria-busy", st.busy ? "true" : "false");

    const clerk = st.counter.clerk || "";
    $("clerk").textContent = clerk ? C.tr("counter.clerk", clerk) : C.tr("counter.clerk.none");
    // A counter opened for nobody (the demo's loading, a paired device)
    // shows 未开放 in the hall: the clerk signs in at it without closing it.
    $("b-sign-in").classList.toggle("hidden", !!clerk || D.mode !== "staff" || status !== "open");
    $("b-sign-in").disabled = !can;
    const pill = $("state");
    pill.className = "pill state-" + status;
    pill.textContent = C.tr("counter.state." + status);
    $("state-reason").textContent = status === "paused" && st.counter.pause_reason ? C.tr("counter.state.reason", reasonText(st.counter.pause_reason)) : "";

    // Without a ticket, say what the next step is: call, or open first.
    $("cur-none-big").textContent = C.tr(status === "open" ? "counter.none" : "counter.state." + status);
    $("cur-none-hint").textContent = C.tr(status === "open" ? "counter.none_hint" : status === "paused" ? "counter.paused_hint" : "counter.closed_hint");
    // Case intake (办件) for the citizen being served, on its own page.
    const caseLink = $("cur-case");
    caseLink.classList.toggle("hidden", !(cur && (s === "serving" || s === "called")));
    if (cur) caseLink.href = "/halls/" + encodeURIComponent(D.hall) + "/cases/new?ticket=" + encodeURIComponent(cur.id);
    $("cur-ticket").classList.toggle("hidden", !cur);
    $("cur-none").classList.toggle("hidden", !!cur);
    if (cur) {
      $("cur-number").textContent = cur.number;
      $("cur-service").textContent = svcName(cur.service_id);
      const sp = $("cur-status");
      sp.className = "pill status-" + cur.status;
      sp.textContent = C.tr("counter.status." + cur.status);
      $("cur-calls").textContent = cur.status === "called" ? C.tr("counter.calls", cur.call_count) : "";
      $("cur-channel").textContent = cur.channel ? C.tr("counter.channel." + cur.channel) : "";
      const g = $("cur-group");
      g.classList.toggle("hidden", !cur.priority_group);
      g.textContent = cur.priority_group ? "· " + C.tr("counter.green", groupName(cur.priority_group)) : "";
      const bh = $("cur-behalf");
      bh.value = cur.on_behalf ? cur.on_behalf.role : "";
      bh.disabled = st.busy || (cur.status !== "called" && cur.status !== "serving");
    }
    drawContext(cur && st.ctx && st.ctx.id === cur.id ? st.ctx : null);
    for (const b of $("queue").querySelectorAll("button")) b.disabled = !(can && status === "open");
    for (const b of $("noshows").querySelectorAll("button")) b.disabled = !can;
    tick();
  }

  // drawContext shows what the clerk should know of the current ticket:
  // the appointment's masked name, the document of its green channel, its
  // cases linked to the case desk. ctx is the page's read of /today.
  function drawContext(ctx) {
    const guide = ctx && ctx.guide, note = ctx && ctx.transfer_note;
    $("cur-guide").classList.toggle("hidden", !guide);
    $("cur-guide").textContent = guide ? C.tr("counter.ctx.guide", C.name(guide)) : "";
    $("cur-note").classList.toggle("hidden", !note);
    $("cur-note").textContent = note ? C.tr("counter.ctx.note", note) : "";
    const booked = $("cur-booked"), doc = $("cur-doc"), cases = $("cur-cases");
    const name = ctx && ctx.booking_name, d = ctx && ctx.check_document;
    booked.classList.toggle("hidden", !name);
    booked.textContent = name ? C.tr("counter.ctx.booked", name) : "";
    doc.classList.toggle("hidden", !d);
    doc.textContent = d ? C.tr("counter.ctx.document", C.lang === "en" ? d.en : d.zh) : "";
    const list = (ctx && ctx.cases) || [];
    cases.replaceChildren(...list.map((c) => {
      const a = C.el("a", "", C.tr("counter.ctx.case", c.number, C.guideName(c), C.tr("case.status." + c.status)));
      a.href = "/halls/" + encodeURIComponent(D.hall) + "/cases?number=" + encodeURIComponent(c.number);
      const li = C.el("li");
      li.append(a);
      return li;
    }));
    cases.classList.toggle("hidden", list.length === 0);
  }

  // groupName names a green-channel group in the page's language; a group
  // the hall added itself keeps its own name.
  function groupName(g) {
    const k = "counter.group." + g, n = C.tr(k);
    return n === k ? g : n;
  }

  function clockText(secs) {
    secs = Math.max(0, Math.floor(secs));
    const h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  // tick keeps the timer of the current ticket: since it was called, or
  // since serving began.
  function tick() {
    const cur = st.cur;
    if (!cur) return;
    const since = Date.parse(cur.status === "serving" && cur.serving_at ? cur.serving_at : cur.called_at);
    const secs = isNaN(since) ? 0 : (Date.now() - since) / 1000;
    const el = $("cur-timer");
    el.textContent = clockText(secs);
    el.classList.toggle("long", secs >= 20 * 60);
  }
  setInterval(tick, 1000);

  function duration(secs) {
    secs = Math.round(secs || 0);
    if (secs < 60) return C.tr("counter.duration.s", secs);
    return C.tr("counter.duration.ms", Math.floor(secs / 60), secs % 60);
  }

  // ---- reading the counter's state --------------------------------------
  function setCur(t) {
    st.cur = t && t.counter_id === D.counter && (t.status === "called" || t.status === "serving") ? t : null;
  }

  async function refresh() {
    const gen = st.gen;
    let res;
    try { res = await C.api("GET", base + "/today", undefined, opts()); } catch (e) { return; }
    if (res.status === 401) { unauthorized(); return; }
    if (res.status !== 200) { showError(res); return; }
    if (gen !== st.gen) { refreshSoon(); return; } // an action answered meanwhile: read again
    const d = res.body;
    st.counter = d.counter;
    setCur(d.current_ticket);
    st.ctx = d.current_ticket && d.current_context ? Object.assign({ id: d.current_ticket.id }, d.current_context) : null;
    $("t-served").textContent = d.served;
    $("t-avg").textContent = d.served ? duration(d.average_handling_seconds) : "–";
    $("t-noshow").textContent = d.no_shows;
    st.ready = true;
    render();
  }

  // The tickets waiting in the counter's services, to call one out of turn.
  async function refreshQueue() {
    let res;
    try { res = await C.api("GET", base + "/waiting", undefined, opts()); } catch (e) { return; }
    if (res.status !== 200) return;
    const q = res.body;
    const items = (q.tickets || []).map((t) => queueRow(t, C.tr("counter.queue.call", t.number), () => openCallOne(t)));
    $("queue").replaceChildren(...items);
    $("queue-none").classList.toggle("hidden", items.length > 0);
    const ns = (q.no_shows || []).map((t) => queueRow(t, C.tr("counter.noshows.return", t.number), () => putBack(t), true));
    $("noshows").replaceChildren(...ns);
    $("noshows").classList.toggle("hidden", ns.length === 0);
    $("noshows-h").classList.toggle("hidden", ns.length === 0);
    render();
  }

  // queueRow is a ticket of the waiting list or of the no-shows, with its
  // button.
  function queueRow(t, label, press, noShow) {
    const li = C.el("li");
    const num = C.el("span", "q-num num", t.number);
    const meta = C.el("span", "q-meta", svcName(t.service_id) + " · " + C.tr("counter.channel." + t.channel) +
      (noShow ? "" : " · " + C.tr("counter.queue.waited", Math.floor(t.waited_seconds / 60))));
    if (t.priority_group) meta.append(C.el("span", "green", " · " + C.tr("counter.green", groupName(t.priority_group))));
    if (t.for_here) meta.append(C.el("span", "for-here", " · " + (t.transfer_note ? C.tr("counter.queue.for_here_note", t.transfer_note) : C.tr("counter.queue.for_here"))));
    const b = C.el("button", "btn small", label);
    b.type = "button";
    if (noShow) b.dataset.noshow = "1";
    b.addEventListener("click", press);
    li.append(num, meta, b);
    return li;
  }

  // putBack puts a no-show back in line (a late arrival): behind the few
  // the hall says, not at the end.
  function putBack(t) {
    run("return " + t.id, "/api/v1/tickets/" + encodeURIComponent(t.id) + "/return", undefined, (res) => {
      say(C.tr("counter.msg.returned", res.body.ticket.number), "ok");
      waitingSoon();
    });
  }

  async function refreshWaiting() {
    refreshQueue();
    let res;
    try { res = await C.api("GET", "/api/v1/halls/" + encodeURIComponent(D.hall) + "/status"); } catch (e) { return; }
    if (res.status !== 200) return;
    const w = res.body.waiting || {};
    for (const li of $("wait-list").querySelectorAll("li")) {
      const n = w[li.dataset.service] || 0;
      const el = li.querySelector("[data-count]");
      el.textContent = C.tr("counter.waiting.n", n);
      li.classList.toggle("zero", n === 0);
    }
  }

  setInterval(() => { if (st.ready) refreshQueue(); }, 60000); // how long each has waited
  const refreshSoon = C.soon(refresh, 150);
  const waitingSoon = C.soon(refreshWaiting, 250);

  // ---- actions ------------------------------------------------------------
  // run sends one press: one request, one Idempotency-Key (kept across
  // retries of a network failure), nothing else until it answers. When the
  // network fails past the retries, whether it was done is not known: the
  // press is kept, with its key, and sent again once the page is back
  // (resend): the server then answers what it did, or does it now.
  async function run(name, path, body, done) {
    if (st.busy) return;
    if (st.pending) { say(C.tr("counter.err.network_pending"), "warn"); return; }
    // The second click of a double click, or a second tap, can land after a
    // fast answer: the same action again within 600 ms of its answer, with
    // nothing in between, is the same press.
    if (st.last === name && Date.now() - st.lastAt < 600) return;
    await send({ name, path, body, done, key: C.key() });
  }

  async function send(p) {
    st.busy = true;
    render();
    say(st.pending ? C.tr("counter.msg.resending") : "", st.pending ? "warn" : "");
    try {
      const res = await C.api("POST", p.path, p.body, opts({ key: p.key, onRetry: () => say(C.tr("error.network"), "warn") }));
      st.pending = null;
      if (res.status >= 200 && res.status < 300) {
        st.gen++;
        p.done(res);
      } else {
        showError(res);
      }
    } catch (e) {
      st.pending = p;
      say(C.tr("counter.err.network_pending"), "bad");
    } finally {
      st.last = p.name;
      st.lastAt = Date.now();
      st.busy = false;
      render();
      refreshSoon();
    }
  }

  // resend sends the press the network failed, once the page is back.
  function resend() {
    if (st.pending && !st.busy) send(st.pending);
  }
  setInterval(resend, 10000);

  // 帮办代办: the clerk marks the ticket as handled for someone, by the
  // helper's role, or back to in person.
  $("cur-behalf").addEventListener("change", (ev) => {
    const cur = st.cur, role = ev.target.value;
    if (!cur) return;
    // Named with the role: another choice right after is not a double click.
    run("on-behalf:" + role, "/api/v1/tickets/" + encodeURIComponent(cur.id) + "/on-behalf", { on_behalf: role ? { role } : null }, (res) => {
      const t = res.body.ticket;
      setCur(t);
      say(role ? C.tr("counter.msg.behalf", t.number, C.tr("behalf." + role)) : C.tr("counter.msg.behalf_none", t.number), "ok");
    });
  });

  function ticketAct(act, body) {
    const cur = st.cur;
    if (!cur) return;
    run(act, "/api/v1/tickets/" + encodeURIComponent(cur.id) + "/" + act, body, (res) => {
      const t = res.body.ticket;
      setCur(t);
      switch (act) {
        case "recall":
          say(t.status === "no_show" ? C.tr("counter.msg.max_calls", t.number) : C.tr("counter.msg.recalled", t.number), t.status === "no_show" ? "warn" : "ok");
          break;
        case "start": say(C.tr("counter.msg.started", t.number), "ok"); break;
        case "finish": say(C.tr("counter.msg.finished", t.number), "ok"); break;
        case "no-show": say(C.tr("counter.msg.no_show", t.number), "ok"); break;
        case "transfer":
          say(body.counter_id ? C.tr("counter.msg.transferred_counter", t.number, counterName(body.counter_id))
            : body.clerk ? C.tr("counter.msg.transferred_clerk", t.number, body.clerk)
              : C.tr("counter.msg.transferred", t.number, svcName(t.service_id)), "ok");
          break;
      }
    });
  }

  function setStatus(status, reason) {
    run("status", base + "/status", reason ? { status, reason } : { status }, (res) => {
      st.counter = res.body.counter;
      say(C.tr(status === "paused" ? "counter.msg.paused" : status === "open" ? "counter.msg.opened" : "counter.msg.closed"), "ok");
    });
  }

  const actions = {
    call() {
      run("call", base + "/call-next", undefined, (res) => {
        if (res.status === 204) {
          st.cur = null;
          say(C.tr("counter.msg.nobody"), "warn");
          return;
        }
        setCur(res.body.ticket);
        say(C.tr("counter.msg.called", res.body.ticket.number), "ok");
      });
    },
    recall() { ticketAct("recall"); },
    start() { ticketAct("start"); },
    finish() { ticketAct("finish"); },
    "no-show"() { ticketAct("no-show"); },
    transfer() { openTransfer(); },
    pause() {
      const s = st.counter.status;
      if (s === "open") openPause();
      else setStatus("open");
    },
    close() { setStatus("closed"); },
  };

  $("b-sign-in").addEventListener("click", () => {
    run("sign-in", base + "/status", { status: "open" }, (res) => {
      st.counter = res.body.counter;
      say(C.tr("counter.msg.signed_in"), "ok");
    });
  });

  for (const b of root.querySelectorAll("button.act[data-act]")) {
    b.addEventListener("click", (e) => {
      if (e.detail > 1) return; // the second click of a double click
      actions[b.dataset.act]();
    });
  }

  // ---- transfer -----------------------------------------------------------
  // To another service (keys 1-9), to a given counter or to a given clerk
  // signed in at one, with a note the next clerk reads.
  const dT = $("d-transfer");
  let counters = [];
  function counterName(id) { return C.counterName(counters.find((x) => x.id === id) || { id }, "counter.name_of"); }
  function pickButton(text, sub, press) {
    const b = C.el("button", "svc", text);
    b.type = "button";
    if (sub) b.append(C.el("small", "", " · " + sub));
    b.addEventListener("click", press);
    return b;
  }
  async function loadCounters() {
    let res;
    try { res = await C.api("GET", "/api/v1/halls/" + encodeURIComponent(D.hall) + "/counters", undefined, opts()); } catch (e) { return; }
    if (res.status !== 200) return;
    counters = res.body.counters || [];
    const others = counters.filter((c) => c.id !== D.counter);
    $("ctr-pick").replaceChildren(...others.map((c) =>
      pickButton(C.counterName(c, "counter.name_of"), c.clerk || C.tr(c.status === "closed" ? "counter.state.closed" : "counter.state.nobody"),
        () => transferTo({ counter_id: c.id }))));
    const clerks = others.filter((c) => c.clerk);
    $("clerk-pick").replaceChildren(...clerks.map((c) =>
      pickButton(c.clerk, C.counterName(c, "counter.name_of"), () => transferTo({ clerk: c.clerk }))));
    $("clerk-none").classList.toggle("hidden", clerks.length > 0);
  }
  function openTransfer() {
    if (!st.cur) return;
    for (const b of $("svc-pick").querySelectorAll("button.svc")) {
      const same = b.dataset.service === st.cur.service_id;
      b.disabled = same;
      b.setAttribute("aria-disabled", same ? "true" : "false");
    }
    $("transfer-note").value = "";
    $("transfer-err").textContent = "";
    loadCounters();
    dT.showModal();
    const first = dT.querySelector("#svc-pick button.svc:not(:disabled)");
    if (first) first.focus();
  }
  function transferTo(to) {
    const note = $("transfer-note").value.trim();
    dT.close();
    ticketAct("transfer", note ? Object.assign({ note }, to) : to);
  }
  for (const b of $("svc-pick").querySelectorAll("button.svc")) {
    b.addEventListener("click", () => transferTo({ service_id: b.dataset.service }));
  }
  dT.addEventListener("keydown", (e) => {
    if (e.target && e.target.tagName === "INPUT") return; // typing the note
    const n = parseInt(e.key, 10);
    if (n >= 1 && n <= 9) {
      const b = $("svc-pick").querySelectorAll("button.svc")[n - 1];
      if (b && !b.disabled) { e.preventDefault(); transferTo({ service_id: b.dataset.service }); }
    }
  });

  // ---- calling a chosen ticket out of turn ----------------------------------
  const dC = $("d-callone"), cf = $("callone-form");
  let chosen = null;
  function openCallOne(t) {
    chosen = t;
    $("d-callone-h").textContent = C.tr("counter.callone.title", t.number);
    $("callone-err").textContent = "";
    cf.reset();
    dC.showModal();
    $("callone-reason").focus();
  }
  $("callone-cancel").addEventListener("click", () => dC.close());
  cf.addEventListener("submit", (e) => {
    e.preventDefault();
    const reason = $("callone-reason").value.trim();
    if (!C.fieldError($("callone-reason"), $("callone-err"), reason ? "" : C.tr("counter.callone.need_reason"))) {
      $("callone-reason").focus();
      return;
    }
    const t = chosen;
    dC.close();
    run("call-one " + t.id, base + "/call", { ticket_id: t.id, reason }, (res) => {
      setCur(res.body.ticket);
      say(C.tr("counter.msg.called_out_of_order", res.body.ticket.number), "ok");
      waitingSoon();
    });
  });

  // ---- pause --------------------------------------------------------------
  const dP = $("d-pause"), pf = $("pause-form");
  function openPause() {
    $("pause-err").textContent = "";
    pf.reset();
    dP.showModal();
    const c = pf.querySelector("input[name=reason]:checked");
    if (c) c.focus();
  }
  $("pause-cancel").addEventListener("click", () => dP.close());
  pf.addEventListener("submit", (e) => {
    e.preventDefault();
    const c = pf.querySelector("input[name=reason]:checked");
    const text = $("pause-text").value.trim();
    const err = $("pause-err");
    if (!c) { err.textContent = C.tr("counter.pause.need_reason"); return; }
    if (!C.fieldError($("pause-text"), err, /r5_other$/.test(c.value) && !text ? C.tr("counter.pause.need_text") : "")) {
      $("pause-text").focus();
      return;
    }
    const rec = D.records[c.value] || c.value;
    dP.close();
    setStatus("paused", text ? rec + "：" + text : rec);
  });

  // ---- keyboard -----------------------------------------------------------
  const keys = { KeyN: "b-call", KeyR: "b-recall", KeyS: "b-start", KeyF: "b-finish", KeyX: "b-no-show", KeyT: "b-transfer", KeyP: "b-pause" };
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    if (dT.open || dP.open || dC.open) return;
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (e.target && e.target.isContentEditable)) return;
    const id = keys[e.code];
    if (!id) return;
    e.preventDefault();
    const b = $(id);
    if (b.disabled) {
      if (st.busy) say(C.tr("counter.msg.busy"), "warn");
      return;
    }
    actions[b.dataset.act]();
  });

  // ---- live ---------------------------------------------------------------
  function onTicket(data) {
    const t = data.ticket || {};
    // By number: a paired device reads the public stream, which names
    // tickets by number only.
    if (t.counter_id === D.counter || (st.cur && t.number === st.cur.number)) refreshSoon();
  }
  function onWaiting(data) { waitingSoon(); onTicket(data); }
  function onCounter(data) {
    const c = data.counter;
    if (!c || c.id !== D.counter) return;
    // The public stream of a paired device has no clerk: keep the last read.
    st.counter = Object.assign({}, st.counter, { status: c.status, pause_reason: c.pause_reason || "" }, c.clerk !== undefined ? { clerk: c.clerk } : {});
    render();
    refreshSoon();
  }

  let stream = null;
  function start() {
    $("pair").classList.add("hidden");
    $("work").classList.remove("hidden");
    render();
    refresh();
    refreshWaiting();
    if (stream) return;
    stream = C.stream(D.hall, {
      "ticket.issued": onWaiting,
      "ticket.called": onWaiting,
      "ticket.recalled": onTicket,
      "ticket.serving": onTicket,
      "ticket.done": onTicket,
      "ticket.no_show": onWaiting,
      "ticket.transferred": onWaiting,
      "ticket.returned": onWaiting,
      "ticket.cancelled": onWaiting,
      "counter.updated": onCounter,
    }, (up) => {
      const l = $("live");
      l.textContent = C.tr(up ? "counter.live.on" : "counter.live.off");
      l.classList.toggle("down", !up);
      if (up) { resend(); refreshSoon(); waitingSoon(); }
    });
  }

  // ---- pairing a counter device ------------------------------------------
  function showPair() {
    $("work").classList.add("hidden");
    $("pair").classList.remove("hidden");
    $("pair-code").focus();
  }

  C.pairForm({ kind: "counter", hall: D.hall, counter: D.counter },
    { bad: "counter.pair.bad", network: "counter.err.network", wrong: "counter.pair.wrong" }, (t) => {
      token = t;
      C.setDeviceToken(tokenKey, token);
      // A marker, not the token: the page opens without sign-in from now on.
      document.cookie = "civiq_device=1; path=" + location.pathname + "; max-age=315360000; samesite=lax";
      start();
    });

  async function boot() {
    if (D.mode !== "device") { start(); return; }
    token = C.deviceToken(tokenKey);
    if (!token) { showPair(); return; }
    try {
      const res = await C.api("GET", "/api/v1/auth/me", undefined, { token });
      if (res.status === 401) { unauthorized(); return; }
    } catch (e) { /* offline: go on with the token we have */ }
    start();
  }
  boot();
})();
