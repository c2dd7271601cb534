// civiq administration, notifications (issue 15): a hall's SMS settings
// (provider, where it is, the key with its write-only secret, the 签名 and
// the template registered per kind), the "ahead" count, quiet hours and the
// daily budget; WeChat (the Official Account's app id, its secret
// write-only, a template per ticket message) and Web Push (on or off); the
// day's messages per channel and kind, in words, with the cost estimate;
// the messages of a chosen day one by one, with their status; and a test
// message to a given number. The page's checks and the
// server's error land next to their field (admin.js's helpers).
"use strict";
(function () {
  const A = window.civiqAdmin, C = window.CIVIQ, tr = C.tr;
  if (!A || !A.isAdmin || !document.getElementById("f-notify")) return;
  const { h } = A;
  const form = document.getElementById("f-notify"), testForm = document.getElementById("f-notify-test");
  const kinds = (form.dataset.kinds || "").split(" ").filter(Boolean);
  const params = JSON.parse(form.dataset.params || "{}"); // each kind's template parameters, in order
  let ns = null;

  function field(name, label, attrs, hint) {
    const id = "nt-" + name.replace(/[^a-z0-9_-]/gi, "_");
    const input = h(attrs.tag || "input", Object.assign({ id, name }, attrs, { tag: undefined }, hint ? { "aria-describedby": id + "-hint" } : {}));
    return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "hint", id: id + "-hint" }, hint) : null);
  }
  function build() {
    for (const el of [...form.children]) if (!el.classList.contains("form-alert")) el.remove();
    A.formAlert(form, "");
    const sms = ns.sms || {};
    form.append(h("div", { class: "grid3" },
      field("ahead", tr("admin.nt.ahead"), { type: "number", min: 1, max: 50, step: 1, inputmode: "numeric", class: "short", required: true, value: ns.ahead || 3 }, tr("admin.nt.ahead_hint")),
      field("quiet_from", tr("admin.nt.quiet_from"), { "data-check": "hhmm", class: "short", placeholder: "21:00", value: ns.quiet_from || "" }, tr("admin.nt.quiet_hint")),
      field("quiet_to", tr("admin.nt.quiet_to"), { "data-check": "hhmm", class: "short", placeholder: "08:00", value: ns.quiet_to || "" })));
    form.append(h("div", { class: "grid3" },
      field("daily_budget", tr("admin.nt.daily_budget"), { type: "number", min: 0, max: 1000000, step: 1, inputmode: "numeric", class: "short", required: true, value: ns.daily_budget || 0 }, tr("admin.nt.budget_hint")),
      field("cost_fen", tr("admin.nt.cost_fen"), { type: "number", min: 0, max: 10000, step: 1, inputmode: "numeric", class: "short", required: true, value: ns.cost_fen || 0 }, tr("admin.nt.cost_hint")),
      field("reminder_at", tr("admin.nt.reminder_at"), { "data-check": "hhmm", class: "short", placeholder: "18:00", value: ns.reminder_at || "" }, tr("admin.nt.reminder_hint"))));
    const prov = h("select", { id: "nt-sms_provider", name: "sms.provider" });
    for (const p of ["", "aliyun", "tencent", "log"]) prov.append(h("option", { value: p }, tr("admin.nt.provider." + (p || "none"))));
    prov.value = sms.provider || "";
    form.append(h("h3", {}, tr("admin.nt.sms")), h("div", { class: "grid2" },
      h("div", { class: "field" }, h("label", { for: "nt-sms_provider" }, tr("admin.nt.provider")), prov),
      field("sms.endpoint", tr("admin.nt.endpoint"), { type: "url", value: sms.endpoint || "", autocomplete: "off" }, tr("admin.nt.endpoint_hint")),
      field("sms.access_key_id", tr("admin.nt.key_id"), { value: sms.access_key_id || "", autocomplete: "off" }),
      field("sms.access_key_secret", tr("admin.nt.secret"), { type: "password", value: "", autocomplete: "new-password" },
        tr(sms.has_secret ? "admin.nt.secret_set" : "admin.nt.secret_unset")),
      field("sms.sign_name", tr("admin.nt.sign_name"), { value: sms.sign_name || "", maxlength: 64 }),
      field("sms.app_id", tr("admin.nt.app_id"), { value: sms.app_id || "" }, tr("admin.nt.tencent_only")),
      field("sms.region", tr("admin.nt.region"), { value: sms.region || "", placeholder: "ap-guangzhou" }, tr("admin.nt.tencent_only"))));
    const grid = h("div", { class: "grid3" });
    // the taken message has its link only under the hall's link_base (set
    // by the API): a template that wants one without it is refused at send.
    // The providers take a link only as the template's own text, so the
    // template writes the address and ${link} is the ticket's id after it.
    const ps = (k) => (params[k] || []).filter((p) => p !== "link" || ns.link_base);
    const shown = (p) => (p === "link" ? ns.link_base + "/t/${link}" : "${" + p + "}");
    for (const k of kinds) grid.append(field("sms.templates." + k, tr("admin.nt.kind." + k), { value: (sms.templates || {})[k] || "", maxlength: 64, autocomplete: "off" },
      ps(k).length ? tr("admin.nt.params", ps(k).map(shown).join(" ")) : ""));
    form.append(h("fieldset", { class: "field", "data-field": "sms.templates" }, h("legend", {}, tr("admin.nt.templates")),
      h("p", { class: "hint" }, tr("admin.nt.templates_hint")), grid));
    // WeChat (the Official Account: app id, app secret write-only, the
    // template of each ticket message) and Web Push (the installation's
    // VAPID key: on or off).
    const wc = ns.wechat || {};
    const wprov = h("select", { id: "nt-wechat_provider", name: "wechat.provider" },
      h("option", { value: "" }, tr("admin.nt.provider.none_wechat")), h("option", { value: "wechat" }, tr("admin.nt.provider.wechat")));
    wprov.value = wc.provider || "";
    const wmode = h("select", { id: "nt-wechat_message", name: "wechat.message" },
      h("option", { value: "template" }, tr("admin.nt.wechat_template")), h("option", { value: "subscribe" }, tr("admin.nt.wechat_subscribe")));
    wmode.value = (wc.extra || {}).message || "template";
    const wgrid = h("div", { class: "grid3" });
    for (const k of ticketKinds) wgrid.append(field("wechat.templates." + k, tr("admin.nt.kind." + k), { value: (wc.templates || {})[k] || "", maxlength: 64, autocomplete: "off" }));
    form.append(h("h3", {}, tr("admin.nt.wechat")), h("div", { class: "grid2" },
      h("div", { class: "field" }, h("label", { for: "nt-wechat_provider" }, tr("admin.nt.provider")), wprov),
      h("div", { class: "field" }, h("label", { for: "nt-wechat_message" }, tr("admin.nt.wechat_message")), wmode),
      field("wechat.access_key_id", tr("admin.nt.wechat_app_id"), { value: wc.access_key_id || "", autocomplete: "off", placeholder: "wx…" }),
      field("wechat.access_key_secret", tr("admin.nt.wechat_secret"), { type: "password", value: "", autocomplete: "new-password" },
        tr(wc.has_secret ? "admin.nt.secret_set" : "admin.nt.secret_unset")),
      field("wechat.endpoint", tr("admin.nt.endpoint"), { type: "url", value: wc.endpoint || "", autocomplete: "off" }, tr("admin.nt.endpoint_hint"))),
    h("fieldset", { class: "field", "data-field": "wechat.templates" }, h("legend", {}, tr("admin.nt.wechat_templates")), wgrid));
    const push = h("input", { type: "checkbox", id: "nt-webpush", name: "webpush.on" });
    push.checked = !!(ns.webpush && ns.webpush.provider);
    form.append(h("h3", {}, tr("admin.nt.webpush")), h("div", { class: "field check", "data-field": "webpush" },
      h("label", { for: "nt-webpush" }, push, " ", tr("admin.nt.webpush_on")), h("p", { class: "hint" }, tr("admin.nt.webpush_hint"))));
    form.append(h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit" }, tr("admin.save"))));
  }
  const ticketKinds = ["taken", "ahead", "next", "called", "no_show", "transferred"].filter((k) => kinds.includes(k));
  // channel names a report line's medium and provider in words.
  const channel = (c) => tr("admin.nt.medium." + c.medium) + (c.provider ? " · " + tr("admin.nt.provider." + c.provider) : "");
  // today is the day in the hall's own zone (the report's days are the hall's).
  const today = () => C.isoDay(Date.now(), A.hallTZ());
  async function loadReport() {
    const d = today();
    const rep = (await A.get(A.hallPath("/notifications/report?from=" + d + "&to=" + d))).report;
    const body = document.querySelector("#nt-report tbody");
    body.textContent = "";
    for (const c of rep.counts || []) {
      body.append(h("tr", {}, h("td", {}, channel(c)), h("td", {}, tr("admin.nt.kind." + c.kind)),
        h("td", {}, tr("admin.nt.status." + c.status)), h("td", { class: "num" }, String(c.count))));
    }
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 4, class: "muted" }, tr("admin.nt.none_today"))));
    document.getElementById("nt-spend").textContent = tr("admin.nt.spend", rep.sms_today,
      rep.daily_budget ? String(rep.daily_budget) : tr("admin.nt.no_limit"), (rep.cost_fen / 100).toFixed(2));
  }
  // The messages of a day one by one (GET …/notifications/messages): the
  // time of its status, the number it is about, kind and channel in words,
  // the address masked as the server gives it, and the status with why
  // (civiq's own reasons in words, a provider's code as it came).
  const ownCodes = ["budget", "limit_phone", "params", "no_template", "interrupted", "stale", "quiet", "opted_out"];
  const dateInput = document.getElementById("nt-date");
  function statusOf(m) {
    const parts = [tr("admin.nt.status." + m.status)];
    if (m.status === "scheduled" && m.due_at) parts.push(tr("admin.nt.due", C.time(m.due_at, "datetime", A.hallTZ())));
    const why = m.status !== "sent" && m.status !== "delivered"; // a provider's "OK" says nothing more
    if (why && m.code) parts.push(ownCodes.includes(m.code) ? tr("admin.nt.code." + m.code) : m.code);
    if (why && m.error && !ownCodes.includes(m.code)) parts.push(m.error);
    if (m.tries > 1) parts.push(tr("admin.nt.tries", String(m.tries)));
    return parts.join(" · ");
  }
  async function loadMessages() {
    const d = dateInput.value || today();
    const list = (await A.get(A.hallPath("/notifications/messages?date=" + d))).messages || [];
    const body = document.querySelector("#nt-messages tbody");
    body.textContent = "";
    for (const m of list) {
      body.append(h("tr", { "data-status": m.status, "data-kind": m.kind },
        h("td", {}, C.time(m.updated_at, "seconds", A.hallTZ())), h("td", {}, m.number),
        h("td", {}, tr("admin.nt.kind." + m.kind)), h("td", {}, channel(m)), h("td", {}, m.to),
        h("td", { class: "nt-status" }, statusOf(m))));
    }
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, tr("admin.nt.none_day"))));
  }
  document.getElementById("f-nt-day").addEventListener("submit", (ev) => { ev.preventDefault(); loadMessages().catch(() => {}); });
  dateInput.addEventListener("change", () => { loadMessages().catch(() => A.toast(tr("admin.load_failed"))); });
  async function load() {
    ns = (await A.get(A.hallPath("/notifications"))).notifications || { ahead: 3 };
    build();
    dateInput.value = today();
    await loadReport();
    await loadMessages();
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!ns) return;
    const v = (n) => A.val(form, n);
    const ok = A.validate(form, (fail) => {
      if (!v("quiet_from") !== !v("quiet_to")) fail(v("quiet_from") ? "quiet_to" : "quiet_from", tr("admin.nt.err.quiet"));
      if (v("sms.provider") === "aliyun" || v("sms.provider") === "tencent") {
        if (!v("sms.access_key_id")) fail("sms.access_key_id", tr("admin.err.required"));
        if (!v("sms.sign_name")) fail("sms.sign_name", tr("admin.err.required"));
        if (!v("sms.access_key_secret") && !(ns.sms && ns.sms.has_secret)) fail("sms.access_key_secret", tr("admin.err.required"));
        if (v("sms.provider") === "tencent" && !v("sms.app_id")) fail("sms.app_id", tr("admin.err.required"));
      }
      if (v("wechat.provider")) {
        if (!v("wechat.access_key_id")) fail("wechat.access_key_id", tr("admin.err.required"));
        if (!v("wechat.access_key_secret") && !(ns.wechat && ns.wechat.has_secret)) fail("wechat.access_key_secret", tr("admin.err.required"));
      }
    });
    if (!ok) return;
    const body = Object.assign({}, ns, { ahead: Number(v("ahead")), daily_budget: Number(v("daily_budget")), cost_fen: Number(v("cost_fen")),
      quiet_from: v("quiet_from"), quiet_to: v("quiet_to"), reminder_at: v("reminder_at") });
    delete body.updated_at;
    if (!v("sms.provider")) body.sms = null;
    else {
      const templates = {};
      for (const k of kinds) if (v("sms.templates." + k)) templates[k] = v("sms.templates." + k);
      body.sms = Object.assign({}, ns.sms, { provider: v("sms.provider"), endpoint: v("sms.endpoint"), access_key_id: v("sms.access_key_id"),
        sign_name: v("sms.sign_name"), app_id: v("sms.app_id"), region: v("sms.region"), templates });
      delete body.sms.has_secret;
      delete body.sms.access_key_secret;
      const secret = form.elements["sms.access_key_secret"].value;
      if (secret) body.sms.access_key_secret = secret;
    }
    if (!v("wechat.provider")) body.wechat = null;
    else {
      const templates = {};
      for (const k of ticketKinds) if (v("wechat.templates." + k)) templates[k] = v("wechat.templates." + k);
      body.wechat = Object.assign({}, ns.wechat, { provider: "wechat", access_key_id: v("wechat.access_key_id"), endpoint: v("wechat.endpoint"),
        templates, extra: Object.assign({}, (ns.wechat || {}).extra, { message: v("wechat.message") }) });
      delete body.wechat.has_secret;
      delete body.wechat.access_key_secret;
      const secret = form.elements["wechat.access_key_secret"].value;
      if (secret) body.wechat.access_key_secret = secret;
    }
    body.webpush = form.elements["webpush.on"].checked ? Object.assign({}, ns.webpush, { provider: "webpush" }) : null;
    if (body.webpush) delete body.webpush.has_secret;
    delete body.callback_token;
    const res = await A.send(form, "PUT", A.hallPath("/notifications"), body);
    if (!res) return;
    ns = res.body.notifications || ns;
    build();
    A.toast(tr("admin.saved"));
  });
  testForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = document.getElementById("nt-test-result");
    out.textContent = "";
    if (!A.validate(testForm)) return;
    const res = await A.send(testForm, "POST", A.hallPath("/notifications/test"), { phone: A.val(testForm, "phone") }, "admin.nt.err.test");
    if (!res) return;
    const r = res.body.result || {};
    const good = r.Status === "sent" || r.Status === "delivered";
    out.className = good ? "ok" : "field-error";
    out.textContent = tr(good ? "admin.nt.test_ok" : "admin.nt.test_failed", r.Code || "", r.ProviderID || r.Error || "");
    loadReport().catch(() => {});
  });
  document.addEventListener("civiq:hall", () => {
    if (!A.hall()) return;
    load().catch(() => A.toast(tr("admin.load_failed")));
  });
})();
