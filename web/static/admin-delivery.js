// civiq administration, outbound delivery (issue 13): the webhooks and the
// 好差评 reporters, each with its delivery state (the event it is done
// through, the events pending and the oldest one's age, failed tries, the
// last error, its status: failing once the retry schedule of about 24
// hours is spent) and an admin's moves: its delivery log, resume (tries
// the held message now), skip (audited) and replay from an event id. One
// builder for both kinds; admin.js's helpers call the API.
"use strict";
(function () {
  const A = window.civiqAdmin, C = window.CIVIQ, tr = C.tr;
  if (!A || !A.isAdmin) return;
  const { h } = A;
  const kinds = [
    { kind: "webhook", section: "webhooks", path: "/api/v1/webhooks", list: "webhooks", test: true,
      change: (x) => ({ url: x.url, events: x.events, halls: x.halls, description: x.description }) },
    { kind: "reporter", section: "haochaping", path: "/api/v1/haochaping/reporters", list: "reporters",
      change: (x) => ({ url: x.url, halls: x.halls, description: x.description }) },
  ];
  const when = (t) => C.time(t, "datetime", A.hallTZ());

  // status is what the row says: a subscriber active with failed tries is
  // retrying.
  const tone = { active: "open", retrying: "paused", failing: "bad", disabled: "closed" };
  const status = (x) => (x.status === "active" && x.delivery && x.delivery.attempts ? "retrying" : x.status);

  // age is how long the oldest pending event has waited: under a minute
  // (not "0 min"), minutes, then hours and minutes.
  function age(sec) {
    const m = Math.floor(sec / 60);
    if (m < 1) return tr("admin.webhooks.age_under");
    if (m < 60) return tr("admin.webhooks.age", String(m));
    return tr("admin.webhooks.age_hours", String(Math.floor(m / 60)), String(m % 60));
  }

  function render(k) {
    const tb = document.querySelector('[data-delivery="' + k.kind + '"] tbody');
    tb.replaceChildren();
    for (const x of k.items) {
      const d = x.delivery || {}, s = status(x);
      const waited = d.pending ? age(d.oldest_pending_age_seconds || 0) : "—";
      // When the next try is due, in the row (a disabled one tries nothing).
      const next = d.attempts && d.next_attempt_at && s !== "disabled" ? h("div", { class: "muted", "data-next": "" }, tr("admin.delivery.next", when(d.next_attempt_at))) : null;
      const tries = String(d.attempts || 0);
      tb.append(h("tr", { "data-sub": x.id, "data-status": s },
        h("td", {}, h("code", {}, x.url), x.description ? h("span", { class: "muted" }, " " + x.description) : null),
        h("td", {}, h("span", { class: "status " + tone[s] }, tr("admin.webhooks.s." + s))),
        h("td", { class: "num" }, String(x.cursor)),
        h("td", { class: "num" }, String(d.pending || 0)), h("td", { class: "age" }, waited),
        h("td", { class: "num" }, tries),
        h("td", {}, d.last_error || "", next),
        h("td", { class: "row-actions" },
          h("button", { type: "button", class: "btn small", "data-move": "log", "aria-label": tr("admin.delivery.show") + " #" + x.id, onclick: () => open(k, x) }, tr("admin.delivery.show")),
          s !== "active" ? h("button", { type: "button", class: "btn small", "data-move": "resume", "aria-label": tr("admin.delivery.resume") + " #" + x.id, onclick: () => resume(k, x) }, tr("admin.delivery.resume")) : null,
          d.attempts ? h("button", { type: "button", class: "btn small danger", "data-move": "skip", "aria-label": tr("admin.delivery.skip") + " #" + x.id, onclick: () => skip(k, x) }, tr("admin.delivery.skip")) : null)));
    }
    if (!tb.children.length) tb.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, tr("admin.none"))));
  }

  async function load(k) {
    try { k.items = (await A.get(k.path))[k.list] || []; } catch (e) { return; }
    render(k);
    if (k.open) {
      const x = k.items.find((y) => y.id === k.open);
      if (x) await showLog(k, x); else detail(k).hidden = true;
    }
  }

  const detail = (k) => document.querySelector('[data-detail="' + k.kind + '"]');

  // open shows a subscriber's delivery log, with the replay form.
  async function open(k, x) {
    k.open = x.id;
    const box = detail(k);
    if (k.test) box.querySelector("[data-test-result]").textContent = "";
    box.querySelector("h3").textContent = "#" + x.id + " " + x.url;
    const f = box.querySelector("form");
    f.elements.from_event_id.value = "";
    box.hidden = false;
    await showLog(k, x);
    box.focus();
  }

  // ms is a try's latency to a tenth of a millisecond.
  const ms = (v) => String(Math.round((v || 0) * 10) / 10);

  async function showLog(k, x) {
    let log = [];
    try { log = (await A.get(k.path + "/" + x.id + "/deliveries")).deliveries || []; } catch (e) { return; }
    const tb = detail(k).querySelector("table tbody");
    tb.replaceChildren();
    for (const a of log) {
      const ok = a.status >= 200 && a.status < 300;
      tb.append(h("tr", { "data-event": a.event_id },
        h("td", {}, when(a.at)), h("td", { class: "num" }, a.event_id ? String(a.event_id) : tr("admin.delivery.test_row")),
        h("td", { class: "num" }, h("span", { class: "status " + (ok ? "open" : "paused") }, a.status ? String(a.status) : tr("admin.delivery.no_answer"))),
        h("td", { class: "num" }, ms(a.latency_ms)), h("td", {}, a.error || "")));
    }
    if (!tb.children.length) tb.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, tr("admin.none"))));
  }

  // sendTest sends the open webhook a webhook.test message now and says
  // how the receiver answered; the try joins its log.
  // The answer may take the whole 10 s of a try: meanwhile the page says
  // it is sending and the button waits.
  async function sendTest(k) {
    const out = detail(k).querySelector("[data-test-result]"), btn = detail(k).querySelector("[data-test]");
    out.textContent = tr("admin.delivery.test_sending");
    btn.disabled = true;
    let res = null;
    try {
      res = await A.act(k.section, "POST", k.path + "/" + k.open + "/test");
    } finally {
      btn.disabled = false;
    }
    if (!res) { out.textContent = ""; return; }
    const d = res.body.delivery || {};
    out.textContent = d.status >= 200 && d.status < 300 ? tr("admin.delivery.test_ok", d.status, ms(d.latency_ms))
      : tr("admin.delivery.test_failed", d.status ? String(d.status) : tr("admin.delivery.no_answer"), d.error || "");
    const x = k.items.find((y) => y.id === k.open);
    if (x) await showLog(k, x);
  }

  async function resume(k, x) {
    const res = await A.act(k.section, "PUT", k.path + "/" + x.id, null, Object.assign(k.change(x), { status: "active" }));
    if (!res) return;
    A.toast(tr("admin.delivery.resumed"));
    await load(k);
  }

  async function skip(k, x) {
    if (!confirm(tr("admin.delivery.confirm.skip", x.id))) return;
    const res = await A.act(k.section, "POST", k.path + "/" + x.id + "/skip");
    if (!res) return;
    A.toast(tr("admin.delivery.skipped", res.body.skipped_event_id));
    await load(k);
  }

  for (const k of kinds) {
    k.items = [];
    const box = detail(k), f = box.querySelector("form");
    box.querySelector("[data-close]").addEventListener("click", () => { k.open = 0; box.hidden = true; });
    if (k.test) box.querySelector("[data-test]").addEventListener("click", () => sendTest(k));
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!A.validate(f)) return;
      const from = Number(A.val(f, "from_event_id"));
      const res = await A.send(f, "POST", k.path + "/" + k.open + "/replay", { from_event_id: from });
      if (!res) return;
      A.toast(tr("admin.delivery.replaying", from));
      await load(k);
    });
  }

  // Loaded at the start, and again every 10 seconds while shown.
  for (const k of kinds) load(k);
  setInterval(() => {
    for (const k of kinds) if (!document.getElementById("sec-" + k.section).hidden) load(k);
  }, 10000);
})();
