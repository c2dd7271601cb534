// civiq administration, the hall's settings a manager needs without the
// API: booking (预约设置) with each service's slot, capacity and default
// handling time, the hall's calendar days (holidays and 调休), and the
// 好差评 settings. Forms are built here from lists of fields, checked
// first, and the server's 4xx error.field lands next to its field
// (admin.js's helpers). A PUT sends back every setting it loaded, changed
// or not: a setting not on the form is kept.
"use strict";
(function () {
  const A = window.civiqAdmin, C = window.CIVIQ, tr = C.tr;
  if (!A || !A.isAdmin || !C.$("f-booking")) return;
  const { h } = A;
  const enc = encodeURIComponent;

  // numField is a labelled number input with its range as a hint.
  function numField(form, name, min, max, value, label, hint) {
    const id = form.id + "-" + name.replace(/[^a-z0-9_-]/gi, "_");
    const input = h("input", { id, name, type: "number", min, max, step: 1, inputmode: "numeric", class: "short", required: true,
      "aria-describedby": id + "-hint" });
    input.value = value === undefined || value === null ? "" : String(value);
    return h("div", { class: "field" }, h("label", { for: id }, label), input,
      h("p", { class: "hint", id: id + "-hint" }, hint || tr("admin.set.range", min, max)));
  }
  const num = (form, name) => Number(A.val(form, name));
  function actions(form) {
    form.append(h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit" }, tr("admin.save"))));
  }
  function reset(form) {
    for (const el of [...form.children]) if (!el.classList.contains("form-alert")) el.remove();
    A.formAlert(form, "");
  }

  // ---- booking ----
  const bkFields = [
    ["slot_minutes", 5, 240], ["days_ahead", 0, 60], ["lead_minutes", 0, 10080], ["cancel_minutes", 0, 10080],
    ["checkin_early_minutes", 0, 240], ["checkin_late_minutes", 0, 240], ["max_per_service_day", 1, 10],
    ["max_per_week", 1, 50], ["appointment_share_percent", 1, 100], ["strikes_to_suspend", 1, 20], ["suspend_days", 0, 1098],
  ];
  const bkForm = C.$("f-booking");
  let bk = null;
  async function loadBooking() {
    bk = (await A.get(A.hallPath("/booking-settings"))).settings;
    reset(bkForm);
    const enabled = h("input", { type: "checkbox", name: "enabled", id: "bk-enabled" });
    enabled.checked = !!bk.enabled;
    bkForm.append(h("div", { class: "field" }, h("label", { class: "check", for: "bk-enabled" }, enabled, tr("admin.bk.enabled"))));
    const grid = h("div", { class: "grid2" });
    for (const [name, min, max] of bkFields) grid.append(numField(bkForm, name, min, max, bk[name], tr("admin.bk.f." + name)));
    bkForm.append(grid);
    // Each service: closed, its slot length, a fixed capacity, and the
    // default handling time (expected waits and capacities use it while
    // the service has little history).
    const rows = h("tbody");
    for (const s of A.services()) {
      const sb = (bk.services || {})[s.id] || {};
      const cell = (field, min, max) => {
        const name = "services." + s.id + "." + field, id = "bk-" + s.id + "-" + field;
        const input = h("input", { id, name, type: "number", min, max, step: 1, inputmode: "numeric", class: "short",
          "aria-label": C.name(s) + " · " + tr("admin.bk.s." + field) });
        input.value = String(sb[field] || 0);
        return h("td", { class: "field" }, input);
      };
      const closed = h("input", { type: "checkbox", name: "services." + s.id + ".closed", "aria-label": C.name(s) + " · " + tr("admin.bk.s.closed") });
      closed.checked = !!sb.closed;
      rows.append(h("tr", { "data-service": s.id }, h("th", { scope: "row" }, C.name(s)), h("td", {}, closed),
        cell("slot_minutes", 0, 240), cell("capacity", 0, 1000), cell("handling_seconds", 0, 14400)));
    }
    bkForm.append(h("h3", {}, tr("admin.bk.services")), h("p", { class: "hint" }, tr("admin.bk.services_hint")),
      h("table", { class: "list bk-services" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, tr("admin.bk.s.service")),
        h("th", { scope: "col" }, tr("admin.bk.s.closed")), h("th", { scope: "col" }, tr("admin.bk.s.slot_minutes")),
        h("th", { scope: "col" }, tr("admin.bk.s.capacity")), h("th", { scope: "col" }, tr("admin.bk.s.handling_seconds")))), rows));
    actions(bkForm);
  }
  bkForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!bk) return;
    const ok = A.validate(bkForm, (fail) => {
      for (const s of A.services()) {
        const name = "services." + s.id + ".handling_seconds", v = num(bkForm, name);
        if (v !== 0 && v < 30) fail(name, tr("admin.bk.err.handling"));
        const sl = "services." + s.id + ".slot_minutes", m = num(bkForm, sl);
        if (m !== 0 && m < 5) fail(sl, tr("admin.bk.err.slot"));
      }
    });
    if (!ok) return;
    const body = Object.assign({}, bk, { enabled: bkForm.elements.enabled.checked, services: Object.assign({}, bk.services) });
    for (const [name] of bkFields) body[name] = num(bkForm, name);
    for (const s of A.services()) {
      const f = (x) => num(bkForm, "services." + s.id + "." + x);
      body.services[s.id] = { closed: bkForm.elements["services." + s.id + ".closed"].checked,
        slot_minutes: f("slot_minutes"), capacity: f("capacity"), handling_seconds: f("handling_seconds") };
    }
    const res = await A.send(bkForm, "PUT", A.hallPath("/booking-settings"), body);
    if (!res) return;
    bk = res.body.settings || body;
    A.toast(tr("admin.saved"));
  });

  // ---- ratings (好差评) ----
  const rsForm = C.$("f-ratings");
  let rs = null;
  async function loadRatings() {
    rs = (await A.get(A.hallPath("/rating-settings"))).settings;
    reset(rsForm);
    rsForm.append(h("div", { class: "grid2" },
      numField(rsForm, "followup_working_days", 1, 60, rs.followup_working_days, tr("admin.rs.followup_working_days"), tr("admin.rs.followup_hint")),
      numField(rsForm, "rater_window_minutes", 1, 60, rs.rater_window_minutes, tr("admin.rs.rater_window_minutes"), tr("admin.rs.rater_hint"))));
    const def = h("input", { type: "checkbox", name: "default_basic_satisfied", id: "rs-default" });
    def.checked = !!rs.default_basic_satisfied;
    rsForm.append(h("div", { class: "field" }, h("label", { class: "check", for: "rs-default" }, def, tr("admin.rs.default_basic_satisfied")),
      h("p", { class: "hint" }, tr("admin.rs.default_hint"))));
    // The provincial platform (docs/api.md, section 17): the hall's
    // 行政区划代码, which its records carry, and the province's own rating
    // page with the key of its callback, write-only.
    rsForm.append(h("h3", {}, tr("admin.rs.province")),
      textField(rsForm, "region_code", rs.region_code, tr("admin.rs.region_code"), tr("admin.rs.region_hint"), { inputmode: "numeric", maxlength: 12, class: "short", autocomplete: "off" }),
      textField(rsForm, "province_page_url", rs.province_page_url, tr("admin.rs.province_page_url"), tr("admin.rs.province_page_hint"), { type: "url", maxlength: 2000, autocomplete: "off" }),
      textField(rsForm, "province_callback_key", "", tr("admin.rs.province_callback_key"),
        tr(rs.province_callback_key_set ? "admin.rs.key_set" : "admin.rs.key_unset"), { type: "password", maxlength: 512, autocomplete: "new-password" }));
    actions(rsForm);
  }
  // textField is a labelled text input with its hint.
  function textField(form, name, value, label, hint, attrs) {
    const id = form.id + "-" + name;
    const input = h("input", Object.assign({ id, name, "aria-describedby": id + "-hint" }, attrs));
    input.value = value || "";
    return h("div", { class: "field" }, h("label", { for: id }, label), input, h("p", { class: "hint", id: id + "-hint" }, hint));
  }
  rsForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!rs) return;
    const region = A.val(rsForm, "region_code");
    const ok = A.validate(rsForm, (fail) => {
      if (region && !/^([0-9]{6}|[0-9]{12})$/.test(region)) fail("region_code", tr("admin.err.region_code"));
    });
    if (!ok) return;
    const body = Object.assign({}, rs, { followup_working_days: num(rsForm, "followup_working_days"),
      rater_window_minutes: num(rsForm, "rater_window_minutes"), default_basic_satisfied: rsForm.elements.default_basic_satisfied.checked,
      region_code: region, province_page_url: A.val(rsForm, "province_page_url"),
      province_callback_key: rsForm.elements.province_callback_key.value || undefined });
    const res = await A.send(rsForm, "PUT", A.hallPath("/rating-settings"), body);
    if (!res) return;
    rs = res.body.settings || body;
    // The key's field empties and says whether one is kept.
    rsForm.elements.province_callback_key.value = "";
    C.$("f-ratings-province_callback_key-hint").textContent = tr(rs.province_callback_key_set ? "admin.rs.key_set" : "admin.rs.key_unset");
    A.toast(tr("admin.saved"));
  });

  // ---- calendar days ----
  const calForm = C.$("f-calday"), yearSel = C.$("cal-year");
  const calBody = document.querySelector("#cal-days tbody");
  // The years offered: this one and the next, in the hall's own zone (its
  // new year may not be Shanghai's), set again for each hall.
  function buildYears() {
    const thisYear = Number(C.isoDay(Date.now(), A.hallTZ()).slice(0, 4));
    yearSel.replaceChildren(...[thisYear, thisYear + 1].map((y) => h("option", { value: y }, String(y))));
  }
  yearSel.addEventListener("change", () => loadCalendar().catch(() => A.toast(tr("admin.load_failed"))));
  function buildCalForm() {
    reset(calForm);
    const kind = h("select", { id: "cal-kind", name: "kind" }, h("option", { value: "off" }, tr("admin.cal.off")), h("option", { value: "work" }, tr("admin.cal.work")));
    calForm.append(h("h3", {}, tr("admin.cal.add")), h("div", { class: "grid3" },
      h("div", { class: "field" }, h("label", { for: "cal-date" }, tr("admin.cal.date")), h("input", { id: "cal-date", name: "date", type: "date", required: true })),
      h("div", { class: "field" }, h("label", { for: "cal-kind" }, tr("admin.cal.kind")), kind),
      h("div", { class: "field" }, h("label", { for: "cal-name" }, tr("admin.cal.name")), h("input", { id: "cal-name", name: "name", maxlength: 50 }))));
    calForm.append(h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit" }, tr("admin.cal.save"))));
  }
  async function loadCalendar() {
    const cal = await A.get(A.hallPath("/calendar/" + yearSel.value));
    // A year nobody has entered has weekends only: its public holidays
    // stay open for bookings until they are added here.
    const unknown = C.$("cal-unknown");
    unknown.hidden = cal.source !== "none";
    unknown.textContent = unknown.hidden ? "" : tr("admin.cal.unknown_year", String(cal.year));
    calBody.textContent = "";
    for (const d of cal.days || []) {
      const del = d.source === "hall" ? h("button", { class: "btn small danger", type: "button", onclick: () => removeDay(d.date) }, tr("admin.cal.remove")) : null;
      calBody.append(h("tr", {}, h("td", { class: "num" }, C.date(d.date)), h("td", {}, tr(d.kind === "off" ? "admin.cal.off" : "admin.cal.work")),
        h("td", {}, d.name || ""), h("td", {}, tr("admin.cal.src." + (d.source || "builtin"))), h("td", { class: "row-actions" }, del)));
    }
    if (!calBody.children.length) calBody.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, tr("admin.none"))));
  }
  async function removeDay(date) {
    if (await A.act("calendar", "DELETE", A.hallPath("/calendar/days/" + enc(date)))) { A.toast(tr("admin.saved")); await loadCalendar(); }
  }
  calForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!A.validate(calForm)) return;
    const date = A.val(calForm, "date");
    const res = await A.send(calForm, "PUT", A.hallPath("/calendar/days/" + enc(date)), { kind: A.val(calForm, "kind"), name: A.val(calForm, "name") });
    if (!res) return;
    A.toast(tr("admin.saved"));
    if (date.slice(0, 4) !== yearSel.value && [...yearSel.options].some((o) => o.value === date.slice(0, 4))) yearSel.value = date.slice(0, 4);
    calForm.elements.name.value = "";
    await loadCalendar();
  });

  document.addEventListener("civiq:hall", () => {
    if (!A.hall()) return;
    buildYears();
    buildCalForm();
    Promise.all([loadBooking(), loadRatings(), loadCalendar()]).catch(() => A.toast(tr("admin.load_failed")));
  });
})();
