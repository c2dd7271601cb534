// civiq administration: halls, services, counters, users, devices,
// announcements and the calling policy, through the JSON API with the
// session's CSRF token. Forms check their input first and show what is
// wrong next to the field; the server's 4xx error.field lands there too.
"use strict";
(function () {
  const C = window.CIVIQ, tr = C.tr;
  const root = document.getElementById("adm");
  if (!root) return;
  const isAdmin = root.dataset.admin === "1";
  let hallID = root.dataset.hall || "";
  const { q, qa } = C;
  const enc = encodeURIComponent;
  const hallPath = (rest) => "/api/v1/halls/" + enc(hallID) + (rest || "");

  // What the page knows; filled from the API.
  const st = { hall: null, services: [], counters: [], devices: [], halls: [], users: [], ann: [], me: "" };

  // h builds an element: h("td", {class: "x"}, "text", child...).
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids) if (c !== null && c !== undefined) el.append(c);
    return el;
  }

  const hallTZ = () => (st.hall && st.hall.timezone) || "Asia/Shanghai";

  // ---- messages ----
  let toastTimer = null;
  function toast(msg) {
    const el = q("#adm-toast");
    el.textContent = msg;
    el.classList.add("on");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.classList.remove("on"); el.textContent = ""; }, 4000);
  }
  function alertIn(box, msg) {
    if (!box) return;
    box.textContent = msg || "";
    box.classList.toggle("on", !!msg);
  }
  const formAlert = (form, msg) => alertIn(q(".form-alert", form), msg);
  const sectionAlert = (name, msg) => alertIn(q("#sec-" + name + " .sec-alert"), msg);

  // errorText turns an API error into words for people: the catalogue's
  // message for the field when there is one, else the server's (in English)
  // or the action's own sentence with the server's detail.
  function errorText(res, fallbackKey) {
    const e = (res.body && res.body.error) || {};
    if (res.status === 403) return tr("admin.err.forbidden");
    if (e.field) {
      for (const k of ["admin.err." + e.code + "." + e.field, e.code === "invalid" ? "admin.err." + e.field : ""]) {
        if (k && C.t[k]) return tr(k);
      }
    }
    if (C.lang === "en" && e.message) return e.message;
    if (fallbackKey) return tr(fallbackKey);
    return tr("admin.err.failed") + (e.message ? "（" + e.message + "）" : "");
  }

  // ---- field errors ----
  function fieldEl(form, field) {
    const f = CSS.escape(field);
    return q('[name="' + f + '"]', form) || q('[data-field="' + f + '"]', form);
  }
  function showError(form, field, msg) {
    const el = fieldEl(form, field);
    if (!el) { formAlert(form, msg); return null; }
    const box = el.closest(".field") || el.parentElement;
    let p = box.querySelector(":scope > .field-error");
    if (!p) {
      p = h("p", { class: "field-error", id: form.id + "-" + field + "-err" });
      box.append(p);
    }
    p.textContent = msg;
    box.classList.add("invalid");
    const inputs = el.matches("input,select,textarea") ? qa('[name="' + CSS.escape(field) + '"]', form) : qa("input,select,textarea", el);
    for (const i of inputs) {
      i.setAttribute("aria-invalid", "true");
      const d = (i.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (!d.includes(p.id)) { d.push(p.id); i.setAttribute("aria-describedby", d.join(" ")); }
    }
    return inputs[0] || el;
  }
  function clearErrors(form) {
    for (const p of qa(".field-error", form)) {
      for (const i of qa('[aria-describedby~="' + p.id + '"]', form)) {
        const d = i.getAttribute("aria-describedby").split(" ").filter((x) => x && x !== p.id);
        if (d.length) i.setAttribute("aria-describedby", d.join(" ")); else i.removeAttribute("aria-describedby");
      }
      p.remove();
    }
    for (const i of qa("[aria-invalid]", form)) i.removeAttribute("aria-invalid");
    for (const b of qa(".invalid", form)) b.classList.remove("invalid");
    formAlert(form, "");
  }
  function focusFirstError(form) {
    const el = q("[aria-invalid]", form);
    if (el) el.focus();
  }

  const checks = {
    id: [/^[a-z0-9][a-z0-9_-]{0,39}$/, "admin.err.id"],
    prefix: [/^[A-Z]{1,2}$/, "admin.err.prefix"],
    username: [/^[A-Za-z0-9._-]{1,40}$/, "admin.err.username"],
    template: [/\{number\}/, "admin.err.template"],
    hhmm: [/^([01][0-9]|2[0-3]):[0-5][0-9]$/, "admin.err.hhmm"],
    event_id: [/^[1-9][0-9]{0,14}$/, "admin.err.from_event_id"], // an event's id, said so (not the input's range)
  };

  // validate checks required fields, patterns and number ranges, then
  // extra(fail) for what the form checks itself; it reports whether all
  // is well and shows every problem next to its field.
  function validate(form, extra) {
    clearErrors(form);
    let ok = true;
    const fail = (field, msg) => { ok = false; showError(form, field, msg); };
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.readOnly || el.type === "checkbox" || el.type === "radio" || el.closest("[hidden]")) continue;
      const v = el.type === "password" ? el.value : el.value.trim();
      if (el.type === "number" && el.validity && el.validity.badInput) { fail(el.name, tr("admin.err.range", el.min, el.max)); continue; }
      if (v === "") { if (el.required) fail(el.name, tr("admin.err.required")); continue; }
      const c = checks[el.dataset.check];
      if (c && !c[0].test(v)) { fail(el.name, tr(c[1])); continue; }
      if (el.type === "number") {
        const n = Number(v), lo = Number(el.min), hi = Number(el.max);
        if (!Number.isInteger(n) || n < lo || n > hi) fail(el.name, tr("admin.err.range", lo, hi));
      }
      if (el.minLength > 0 && v.length < el.minLength) fail(el.name, tr("admin.err.password"));
    }
    if (extra) extra(fail);
    if (!ok) focusFirstError(form);
    return ok;
  }

  // send calls the API for a form; a 4xx is shown on the form, by field
  // when the server names one. It resolves to the answer, or null.
  async function send(form, method, path, body, fallbackKey) {
    const btn = q("[type=submit]", form);
    if (btn) btn.disabled = true;
    try {
      const res = await C.api(method, path, body);
      if (res.status === 401) { C.toLogin(); return null; }
      if (res.status >= 200 && res.status < 300) return res;
      const e = (res.body && res.body.error) || {};
      const msg = errorText(res, fallbackKey);
      if (e.field) showError(form, e.field, msg); else formAlert(form, msg);
      focusFirstError(form);
      return null;
    } catch (err) {
      formAlert(form, tr("admin.err.network"));
      return null;
    } finally {
      if (btn) btn.disabled = false;
    }
  }

  // act is send for buttons in lists: errors go to the section's alert.
  async function act(section, method, path, fallbackKey, body) {
    sectionAlert(section, "");
    try {
      const res = await C.api(method, path, body);
      if (res.status === 401) { C.toLogin(); return null; }
      if (res.status >= 200 && res.status < 300) return res;
      sectionAlert(section, errorText(res, fallbackKey));
    } catch (err) {
      sectionAlert(section, tr("admin.err.network"));
    }
    return null;
  }


  async function get(path) {
    const res = await C.api("GET", path);
    if (res.status === 401) { C.toLogin(); throw new Error("signed out"); }
    if (res.status !== 200) throw new Error("GET " + path + ": " + res.status);
    return res.body;
  }

  const val = (form, name) => { const el = form.elements[name]; return el ? (el.type === "password" ? el.value : el.value.trim()) : ""; };
  const checked = (form, name) => qa('input[name="' + name + '"]:checked', form).map((i) => i.value);

  // ---- tabs ----
  const sections = qa("[data-section]");
  // Without a hall only the halls and users sections make sense.
  const needsNoHall = (name) => name === "halls" || name === "users" || name === "sso" || name === "webhooks" || name === "haochaping";
  function showTab(name) {
    for (const a of qa("[data-tab]")) a.parentElement.hidden = !hallID && !needsNoHall(a.dataset.tab);
    const names = sections.map((s) => s.dataset.section).filter((n) => hallID || needsNoHall(n));
    for (const b of qa(".sec-alert")) alertIn(b, "");
    if (!names.includes(name)) name = names[0];
    for (const s of sections) s.hidden = s.dataset.section !== name;
    for (const a of qa("[data-tab]")) {
      if (a.dataset.tab === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
  }
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));

  // ---- hall picker and live events ----
  let stream = null;
  function follow() {
    if (stream) stream.close();
    stream = null;
    if (!hallID) return;
    stream = C.stream(hallID, {
      announcement: (d) => {
        st.ann.unshift({ text: d.text, at: d.at });
        st.ann = st.ann.slice(0, 20);
        renderAnnouncements();
      },
      "counter.updated": (d) => {
        const c = d.counter;
        if (!c || !c.id) return;
        const i = st.counters.findIndex((x) => x.id === c.id);
        if (i >= 0) st.counters[i] = Object.assign(st.counters[i], c);
        else if (isAdmin) st.counters.push(c);
        renderCounters();
      },
    });
  }

  const picker = q("#adm-hall");
  if (picker) {
    picker.addEventListener("change", () => pickHall(picker.value));
  }
  async function pickHall(id) {
    hallID = id;
    if (picker) {
      if (![...picker.options].some((o) => o.value === id)) picker.append(h("option", { value: id }, id));
      picker.value = id;
    }
    const u = new URL(location.href);
    u.searchParams.set("hall", id);
    history.replaceState(null, "", u);
    resetForms();
    showTab(location.hash.slice(1));
    await loadHall();
    follow();
  }
  function refreshPicker() {
    if (!picker) return;
    q("#adm-hall-box").hidden = !st.halls.length;
    for (const x of st.halls) {
      let o = [...picker.options].find((o) => o.value === x.id);
      if (!o) { o = h("option", { value: x.id }); picker.append(o); }
      o.textContent = C.name(x);
    }
    picker.value = hallID;
  }

  // ---- loading ----
  async function loadHall() {
    if (!hallID) { renderAll(); return; }
    try {
      if (isAdmin) {
        const s = await get(hallPath("/setup"));
        st.hall = s.hall; st.services = s.services || []; st.counters = s.counters || []; st.devices = s.devices || [];
      } else {
        st.hall = (await get(hallPath())).hall;
      }
      st.ann = (await get(hallPath("/announcements"))).announcements || [];
      renderAll();
      document.dispatchEvent(new CustomEvent("civiq:hall", { detail: { hall: hallID, services: st.services } }));
    } catch (e) {
      toast(tr("admin.load_failed"));
    }
  }
  async function loadHalls() { st.halls = (await get("/api/v1/halls")).halls || []; refreshPicker(); }
  async function loadUsers() { st.users = (await get("/api/v1/users")).users || []; }
  async function reloadSetup() {
    const s = await get(hallPath("/setup"));
    st.hall = s.hall; st.services = s.services || []; st.counters = s.counters || []; st.devices = s.devices || [];
  }

  // renderAll draws every list and puts every form back to its start.
  function renderAll() {
    if (isAdmin) {
      renderHalls(); renderServices(); renderCounters(); renderUsers(); renderDevices();
      if (!hallCreating) fillHall(st.hall);
      serviceMode(null); counterMode(null); userMode(null);
    }
    renderAnnouncements(); fillPolicy();
  }

  function resetForms() {
    if (isAdmin) { serviceMode(null); counterMode(null); userMode(null); q("#pair-panel").hidden = true; }
  }

  function emptyRow(tbody, cols) {
    if (!tbody.children.length) tbody.append(h("tr", {}, h("td", { colspan: cols, class: "muted" }, tr("admin.none"))));
  }

  // ---- halls ----
  const hallForm = q("#f-hall");
  let hallCreating = false;
  function renderHalls() {
    const tb = q("#hall-list tbody");
    tb.replaceChildren();
    for (const x of st.halls) {
      const cur = x.id === hallID;
      tb.append(h("tr", cur ? { class: "current" } : {},
        h("td", {}, h("code", {}, x.id)), h("td", {}, x.name), h("td", { lang: "en" }, x.name_en || ""), h("td", {}, x.timezone),
        h("td", { class: "row-actions" }, cur ? h("span", { class: "badge" }, tr("admin.current"))
          : h("button", { type: "button", class: "btn small", onclick: () => pickHall(x.id) }, tr("admin.select")))));
    }
    emptyRow(tb, 5);
  }
  function fillHall(x) {
    const f = hallForm;
    clearErrors(f);
    hallCreating = !x;
    q("#f-hall-title").textContent = tr(x ? "admin.halls.edit" : "admin.halls.create");
    const d = x || { id: "", name: "", name_en: "", timezone: "Asia/Shanghai", opens_at: "", closes_at: "", policy: "fifo",
      max_calls: 3, late_return_behind: 3, priority_groups: qa('input[name="priority_groups"]', f).map((i) => i.value),
      allow_remote: false, max_remote_waiting: 100, remote_per_phone: 1, elder_age: 60, voice_template: "请{number}号到{counter}号窗口办理" };
    f.elements.id.value = d.id;
    f.elements.id.readOnly = !!x;
    for (const k of ["name", "name_en", "timezone", "opens_at", "closes_at", "policy", "voice_template"]) f.elements[k].value = d[k] || "";
    f.elements.max_calls.value = d.max_calls;
    f.elements.late_return_behind.value = d.late_return_behind;
    f.elements.max_remote_waiting.value = d.max_remote_waiting || 100;
    f.elements.remote_per_phone.value = d.remote_per_phone || 1;
    f.elements.elder_age.value = d.elder_age || 60;
    for (const i of qa('input[name="priority_groups"]', f)) i.checked = (d.priority_groups || []).includes(i.value);
    f.elements.allow_remote.checked = !!d.allow_remote;
  }
  if (hallForm) {
    q("#hall-new").addEventListener("click", () => { fillHall(null); hallForm.elements.id.focus(); });
    q("[data-cancel]", hallForm).addEventListener("click", () => fillHall(st.hall));
    hallForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = hallForm, id = val(f, "id");
      const ok = validate(f, (fail) => {
        if (hallCreating && st.halls.some((x) => x.id === id)) fail("id", tr("admin.err.exists"));
        if (!!val(f, "opens_at") !== !!val(f, "closes_at")) fail(val(f, "opens_at") ? "closes_at" : "opens_at", tr("admin.err.hours_pair"));
      });
      if (!ok) return;
      const body = {
        name: val(f, "name"), name_en: val(f, "name_en"), timezone: val(f, "timezone"),
        opens_at: val(f, "opens_at"), closes_at: val(f, "closes_at"), policy: val(f, "policy"),
        max_calls: Number(val(f, "max_calls")), late_return_behind: Number(val(f, "late_return_behind")),
        priority_groups: checked(f, "priority_groups"), allow_remote: f.elements.allow_remote.checked,
        max_remote_waiting: Number(val(f, "max_remote_waiting")), remote_per_phone: Number(val(f, "remote_per_phone")),
        elder_age: Number(val(f, "elder_age")),
        voice_template: val(f, "voice_template"),
      };
      const res = await send(f, "PUT", "/api/v1/halls/" + enc(id), body);
      if (!res) return;
      const created = hallCreating, same = !created && id === hallID;
      // The hall as saved goes back into the form at once: refilled only
      // after the list's reload, it overwrote what was typed meanwhile.
      if (same) { st.hall = res.body.hall; fillHall(st.hall); fillPolicy(); }
      toast(tr(created ? "admin.halls.created" : "admin.saved"));
      q("#adm-nohall") && q("#adm-nohall").remove();
      await loadHalls();
      hallCreating = false;
      if (same) renderHalls(); else await pickHall(id);
    });
  }

  // ---- services ----
  const svcForm = q("#f-service");
  let svcEditing = null;
  function renderServices() {
    const tb = q("#svc-list tbody");
    tb.replaceChildren();
    for (const s of st.services) {
      tb.append(h("tr", {},
        h("td", { class: "num" }, String(s.position)), h("td", {}, h("b", { class: "prefix" }, s.prefix)), h("td", {}, h("code", {}, s.id)),
        h("td", {}, s.name), h("td", { lang: "en" }, s.name_en || ""),
        h("td", { class: "row-actions" },
          h("button", { type: "button", class: "btn small", "aria-label": tr("admin.edit") + " " + s.name, onclick: () => { serviceMode(s); svcForm.elements.prefix.focus(); } }, tr("admin.edit")),
          h("button", { type: "button", class: "btn small danger", "aria-label": tr("admin.delete") + " " + s.name, onclick: () => deleteService(s) }, tr("admin.delete")))));
    }
    emptyRow(tb, 6);
  }
  // A service's quotas (号源) and service level (target wait, alert
  // level, in minutes) go with every save: PUT replaces them all.
  const QUOTAS = ["daily_quota", "half_day_quota", "per_person_daily", "target_wait_minutes", "alert_wait_minutes"];
  function serviceMode(s) {
    const f = svcForm;
    svcEditing = s;
    clearErrors(f);
    q("#f-service-title").textContent = s ? tr("admin.services.edit", s.name) : tr("admin.services.new");
    f.elements.id.value = s ? s.id : "";
    f.elements.id.readOnly = !!s;
    f.elements.prefix.value = s ? s.prefix : "";
    f.elements.name.value = s ? s.name : "";
    f.elements.name_en.value = s ? s.name_en || "" : "";
    f.elements.position.value = s ? s.position : (st.services.reduce((m, x) => Math.max(m, x.position), -1) + 1);
    for (const k of QUOTAS) f.elements[k].value = s && s[k] ? s[k] : "";
  }
  async function deleteService(s) {
    const users = st.counters.filter((c) => c.service_ids.includes(s.id)).map((c) => c.name);
    if (users.length) { sectionAlert("services", tr("admin.err.svc_in_use", C.list(users))); return; }
    if (!confirm(tr("admin.confirm.service", s.name))) return;
    const res = await act("services", "DELETE", hallPath("/services/" + enc(s.id)), "admin.err.delete.service");
    if (!res) return;
    toast(tr("admin.deleted"));
    await reloadSetup(); renderServices(); renderCounters();
    if (!svcEditing || svcEditing.id === s.id) serviceMode(null);
    counterMode(ctrEditing && st.counters.find((c) => c.id === ctrEditing.id));
  }
  if (svcForm) {
    svcForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = svcForm, id = val(f, "id");
      const ok = validate(f, (fail) => {
        if (!svcEditing && st.services.some((x) => x.id === id)) fail("id", tr("admin.err.exists"));
      });
      if (!ok) return;
      const body = { prefix: val(f, "prefix"), name: val(f, "name"), name_en: val(f, "name_en"), position: Number(val(f, "position")) };
      for (const k of QUOTAS) body[k] = Number(val(f, k) || 0);
      const res = await send(f, "PUT", hallPath("/services/" + enc(id)), body);
      if (!res) return;
      toast(tr("admin.saved"));
      await reloadSetup(); renderServices(); renderCounters();
      serviceMode(null);
      counterMode(ctrEditing && st.counters.find((c) => c.id === ctrEditing.id));
    });
    q("[data-cancel]", svcForm).addEventListener("click", () => serviceMode(null));
  }

  // ---- counters ----
  const ctrForm = q("#f-counter");
  let ctrEditing = null;
  const svcByID = (id) => st.services.find((s) => s.id === id);
  function renderCounters() {
    if (!ctrForm) return;
    const tb = q("#ctr-list tbody");
    tb.replaceChildren();
    for (const c of st.counters) {
      const svcs = h("ol", { class: "chips" });
      for (const id of c.service_ids) {
        const s = svcByID(id);
        svcs.append(h("li", {}, s ? s.prefix + " " + C.name(s) : id));
      }
      tb.append(h("tr", {},
        h("td", {}, h("code", {}, c.id)), h("td", {}, c.name), h("td", {}, svcs),
        h("td", {}, h("span", { class: "status " + c.status }, tr("admin.status." + c.status))),
        h("td", { class: "row-actions" },
          h("button", { type: "button", class: "btn small", "aria-label": tr("admin.edit") + " " + c.name, onclick: () => { counterMode(c); ctrForm.elements.name.focus(); } }, tr("admin.edit")),
          h("button", { type: "button", class: "btn small danger", "aria-label": tr("admin.delete") + " " + c.name, onclick: () => deleteCounter(c) }, tr("admin.delete")))));
    }
    emptyRow(tb, 5);
    renderDeviceCounters();
  }
  // renderCounterChoices lists every service with a box to tick and buttons
  // to move it; the ticked ones, top to bottom, are the calling order.
  function renderCounterChoices(selected) {
    if (!ctrForm) return;
    const ol = q("#ctr-services");
    const ids = (selected || []).filter(svcByID).concat(st.services.map((s) => s.id).filter((id) => !(selected || []).includes(id)));
    ol.replaceChildren();
    for (const id of ids) {
      const s = svcByID(id), name = s.prefix + " " + C.name(s), cb = "ctr-svc-" + id;
      ol.append(h("li", { "data-id": id },
        h("input", { type: "checkbox", id: cb, name: "service_ids", value: id, checked: (selected || []).includes(id) }),
        h("label", { for: cb }, name),
        h("span", { class: "move" },
          h("button", { type: "button", class: "btn small icon", "data-move": "up", "aria-label": tr("admin.up", name) }, "↑"),
          h("button", { type: "button", class: "btn small icon", "data-move": "down", "aria-label": tr("admin.down", name) }, "↓"))));
    }
    if (!ids.length) ol.append(h("li", { class: "muted" }, tr("admin.counters.no_services")));
  }
  function counterMode(c) {
    const f = ctrForm;
    if (!f) return;
    ctrEditing = c;
    clearErrors(f);
    q("#f-counter-title").textContent = c ? tr("admin.counters.edit", c.name) : tr("admin.counters.new");
    f.elements.id.value = c ? c.id : "";
    f.elements.id.readOnly = !!c;
    f.elements.name.value = c ? c.name : "";
    renderCounterChoices(c ? c.service_ids : []);
  }
  async function deleteCounter(c) {
    const bound = st.devices.filter((d) => d.counter_id === c.id).map((d) => "#" + d.id + " " + tr("admin.kind." + d.kind));
    if (bound.length) { sectionAlert("counters", tr("admin.err.ctr_in_use", C.list(bound))); return; }
    if (!confirm(tr("admin.confirm.counter", c.name))) return;
    const res = await act("counters", "DELETE", hallPath("/counters/" + enc(c.id)), "admin.err.delete.counter");
    if (!res) return;
    toast(tr("admin.deleted"));
    await reloadSetup(); renderCounters();
    if (!ctrEditing || ctrEditing.id === c.id) counterMode(null);
  }
  if (ctrForm) {
    q("#ctr-services").addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-move]");
      if (!b) return;
      const li = b.closest("li");
      if (b.dataset.move === "up" && li.previousElementSibling) li.previousElementSibling.before(li);
      else if (b.dataset.move === "down" && li.nextElementSibling) li.nextElementSibling.after(li);
      b.focus();
    });
    ctrForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = ctrForm, id = val(f, "id"), svcs = checked(f, "service_ids");
      const ok = validate(f, (fail) => {
        if (!ctrEditing && st.counters.some((x) => x.id === id)) fail("id", tr("admin.err.exists"));
        if (!svcs.length) fail("service_ids", tr("admin.err.service_ids"));
      });
      if (!ok) return;
      const res = await send(f, "PUT", hallPath("/counters/" + enc(id)), { name: val(f, "name"), service_ids: svcs });
      if (!res) return;
      toast(tr("admin.saved"));
      await reloadSetup(); renderCounters();
      counterMode(null);
    });
    q("[data-cancel]", ctrForm).addEventListener("click", () => counterMode(null));
  }

  // ---- users ----
  const userForm = q("#f-user");
  let userEditing = null;
  function renderUsers() {
    if (!userForm) return;
    const tb = q("#user-list tbody");
    tb.replaceChildren();
    const me = root.dataset.me;
    for (const u of st.users) {
      const halls = u.role === "admin" ? tr("admin.users.all_halls")
        : C.list((u.hall_ids || []).map((id) => { const x = st.halls.find((y) => y.id === id); return x ? C.name(x) : id; }));
      // Too many wrong passwords lock a user for a while (civiq's login.go).
      const locked = u.locked_until && new Date(u.locked_until) > new Date();
      tb.append(h("tr", {},
        h("td", {}, u.username, u.username === me ? h("span", { class: "muted" }, tr("admin.users.you")) : null,
          // Signed in by the identity platform or the directory (civiq's sso.go).
          u.source && u.source !== "local" ? h("span", { class: "badge", "data-source": u.source }, tr("admin.users.source_" + u.source)) : null,
          locked ? h("span", { class: "badge", "data-locked": u.username }, tr("admin.users.locked", C.time(u.locked_until, "time", hallTZ()))) : null),
        h("td", {}, tr("role." + u.role)), h("td", {}, halls), h("td", {}, C.time(u.created_at, "datetime", hallTZ())),
        h("td", { class: "row-actions" },
          h("button", { type: "button", class: "btn small", "aria-label": tr("admin.edit") + " " + u.username, onclick: () => { userMode(u); userForm.elements.role.focus(); } }, tr("admin.edit")),
          locked ? h("button", { type: "button", class: "btn small warn", "aria-label": tr("admin.unlock") + " " + u.username, onclick: () => unlockUser(u) }, tr("admin.unlock")) : null,
          u.username === me ? null : h("button", { type: "button", class: "btn small danger", "aria-label": tr("admin.delete") + " " + u.username, onclick: () => deleteUser(u) }, tr("admin.delete")))));
    }
    emptyRow(tb, 5);
  }
  function userHalls(selected) {
    const fs = q("#user-halls");
    for (const el of qa("label", fs)) el.remove();
    for (const x of st.halls) {
      fs.append(h("label", { class: "check" }, h("input", { type: "checkbox", name: "hall_ids", value: x.id, checked: (selected || []).includes(x.id) }), " " + C.name(x) + " (" + x.id + ")"));
    }
  }
  function syncRole() { q("#user-halls").hidden = userForm.elements.role.value === "admin"; }
  function userMode(u) {
    const f = userForm;
    userEditing = u;
    clearErrors(f);
    q("#f-user-title").textContent = u ? tr("admin.users.edit", u.username) : tr("admin.users.new");
    f.elements.username.value = u ? u.username : "";
    f.elements.username.readOnly = !!u;
    f.elements.password.value = "";
    f.elements.password.required = !u;
    q("#user-password-hint").textContent = tr(u ? "admin.hint.password.edit" : "admin.hint.password");
    f.elements.role.value = u ? u.role : "staff";
    userHalls(u ? u.hall_ids : (hallID ? [hallID] : []));
    syncRole();
  }
  async function unlockUser(u) {
    const res = await act("users", "DELETE", "/api/v1/users/" + enc(u.username) + "/lock", "admin.err.unlock");
    if (!res) return;
    toast(tr("admin.unlocked", u.username));
    await loadUsers(); renderUsers();
  }
  async function deleteUser(u) {
    if (!confirm(tr("admin.confirm.user", u.username))) return;
    const res = await act("users", "DELETE", "/api/v1/users/" + enc(u.username), "admin.err.delete.user");
    if (!res) return;
    toast(tr("admin.deleted"));
    await loadUsers(); renderUsers();
    if (!userEditing || userEditing.username === u.username) userMode(null);
  }
  if (userForm) {
    userForm.elements.role.addEventListener("change", syncRole);
    userForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = userForm, role = val(f, "role"), halls = checked(f, "hall_ids"), pw = val(f, "password");
      const ok = validate(f, (fail) => {
        if (role !== "admin" && !halls.length) fail("hall_ids", tr("admin.err.hall_ids"));
      });
      if (!ok) return;
      let res;
      if (userEditing) {
        const body = { role: role, hall_ids: role === "admin" ? [] : halls };
        if (pw) body.password = pw;
        res = await send(f, "PUT", "/api/v1/users/" + enc(userEditing.username), body);
      } else {
        res = await send(f, "POST", "/api/v1/users", { username: val(f, "username"), password: pw, role: role, hall_ids: role === "admin" ? [] : halls });
      }
      if (!res) return;
      toast(tr("admin.saved"));
      await loadUsers(); renderUsers();
      userMode(null);
    });
    q("[data-cancel]", userForm).addEventListener("click", () => userMode(null));
  }

  // ---- devices ----
  const devForm = q("#f-device");
  function devicePage(d) {
    const base = "/halls/" + enc(d.hall_id || hallID);
    switch (d.kind) {
      case "kiosk": return base + "/kiosk";
      case "display": return base + "/display";
      case "counter": return base + "/counter/" + enc(d.counter_id);
      case "rater": return base + "/rate/" + enc(d.counter_id);
    }
    return "/";
  }
  function renderDeviceCounters() {
    if (!devForm) return;
    const sel = devForm.elements.counter_id, keep = sel.value;
    sel.replaceChildren(h("option", { value: "" }, "—"));
    for (const c of st.counters) sel.append(h("option", { value: c.id }, c.name + " (" + c.id + ")"));
    sel.value = st.counters.some((c) => c.id === keep) ? keep : "";
  }
  function syncKind() {
    const k = devForm.elements.kind.value;
    q("#dev-counter-field").hidden = !(k === "rater" || k === "counter");
  }
  function counterName(id) { const c = st.counters.find((x) => x.id === id); return c ? c.name : id; }
  function renderDevices() {
    if (!devForm) return;
    const tb = q("#dev-list tbody"), filter = q("#dev-filter").value;
    tb.replaceChildren();
    let paired = 0;
    for (const d of st.devices) {
      const isPaired = !!d.paired_at;
      if (isPaired) paired++;
      if ((filter === "paired" && !isPaired) || (filter === "unpaired" && isPaired)) continue;
      const state = isPaired ? h("span", { class: "status open" }, tr("admin.devices.paired_at", C.time(d.paired_at, "datetime", hallTZ())))
        : h("span", {}, h("span", { class: "status paused" }, tr("admin.devices.waiting")), " ", h("code", { class: "code" }, (d.pairing_code || "").toUpperCase()));
      tb.append(h("tr", { "data-device": d.id },
        h("td", { class: "num" }, String(d.id)), h("td", {}, tr("admin.kind." + d.kind)),
        h("td", {}, d.counter_id ? counterName(d.counter_id) : "—"), h("td", {}, d.name || ""), h("td", {}, state),
        h("td", { class: "row-actions" },
          h("button", { type: "button", class: "btn small", onclick: () => newCode(d) }, tr("admin.devices.newcode")),
          h("button", { type: "button", class: "btn small danger", "aria-label": tr("admin.delete") + " #" + d.id, onclick: () => deleteDevice(d) }, tr("admin.delete")))));
    }
    emptyRow(tb, 6);
    q("#dev-counts").textContent = tr("admin.devices.counts", paired, st.devices.length - paired);
  }
  function showCode(d) {
    const p = q("#pair-panel");
    q("#pair-code").textContent = (d.pairing_code || "").toUpperCase();
    q("#pair-device").textContent = "#" + d.id + " · " + tr("admin.kind." + d.kind) +
      (d.counter_id ? " · " + counterName(d.counter_id) : "") + (d.name ? " · " + d.name : "");
    const a = q("#pair-url"), url = devicePage(d);
    a.href = url;
    a.textContent = location.origin + url;
    p.hidden = false;
    p.focus();
  }
  async function newCode(d) {
    if (d.paired_at && !confirm(tr("admin.confirm.newcode", d.id))) return;
    const res = await act("devices", "POST", hallPath("/devices/" + d.id + "/pairing-code"));
    if (!res) return;
    showCode(res.body.device);
    await reloadSetup(); renderDevices();
  }
  async function deleteDevice(d) {
    if (!confirm(tr("admin.confirm.device", d.id))) return;
    const res = await act("devices", "DELETE", hallPath("/devices/" + d.id));
    if (!res) return;
    toast(tr("admin.deleted"));
    await reloadSetup(); renderDevices();
  }
  if (devForm) {
    devForm.elements.kind.addEventListener("change", syncKind);
    syncKind();
    q("#dev-filter").addEventListener("change", renderDevices);
    q("#pair-close").addEventListener("click", () => { q("#pair-panel").hidden = true; devForm.elements.kind.focus(); });
    devForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = devForm;
      if (!validate(f)) return;
      const kind = val(f, "kind"), body = { kind: kind, name: val(f, "name") };
      if (kind === "rater" || kind === "counter") body.counter_id = val(f, "counter_id");
      const res = await send(f, "POST", hallPath("/devices"), body);
      if (!res) return;
      f.elements.name.value = "";
      showCode(res.body.device);
      await reloadSetup(); renderDevices();
    });
  }

  // ---- announcements ----
  const annForm = q("#f-announce");
  function renderAnnouncements() {
    const ul = q("#ann-list");
    ul.replaceChildren();
    for (const a of st.ann) ul.append(h("li", {}, h("time", { datetime: a.at }, C.time(a.at, "datetime", hallTZ())), h("span", {}, a.text)));
    if (!st.ann.length) ul.append(h("li", { class: "muted" }, tr("admin.none")));
  }
  function annCount() { q("#ann-count").textContent = tr("admin.ann.count", [...annForm.elements.text.value].length); }
  annForm.elements.text.addEventListener("input", annCount);
  annCount();
  annForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!hallID || !validate(annForm)) return;
    const res = await send(annForm, "POST", hallPath("/announcements"), { text: val(annForm, "text") });
    if (!res) return;
    annForm.elements.text.value = "";
    annCount();
    toast(tr("admin.ann.posted"));
  });

  // ---- calling policy ----
  const polForm = q("#f-policy");
  function fillPolicy() {
    if (!st.hall) return;
    clearErrors(polForm);
    for (const r of qa('input[name="policy"]', polForm)) r.checked = r.value === st.hall.policy;
    polForm.elements.max_calls.value = st.hall.max_calls;
    polForm.elements.late_return_behind.value = st.hall.late_return_behind;
  }
  polForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const policy = checked(polForm, "policy")[0];
    const ok = validate(polForm, (fail) => { if (!policy) fail("policy", tr("admin.err.policy")); });
    if (!ok || !hallID) return;
    const res = await send(polForm, "PUT", hallPath("/policy"), {
      policy: policy, max_calls: Number(val(polForm, "max_calls")), late_return_behind: Number(val(polForm, "late_return_behind")),
    });
    if (!res) return;
    st.hall = res.body.hall;
    toast(tr("admin.saved"));
    if (isAdmin && !hallCreating) fillHall(st.hall);
  });

  // The settings sections (admin-settings.js) use the same helpers.
  window.civiqAdmin = { h, toast, formAlert, validate, send, act, get, val, showError,
    hall: () => hallID, hallPath, services: () => st.services, isAdmin, hallTZ };

  // ---- start ----
  (async function start() {
    showTab(location.hash.slice(1) || (isAdmin && !hallID ? "halls" : ""));
    try {
      if (isAdmin) { await loadHalls(); await loadUsers(); }
    } catch (e) {
      toast(tr("admin.load_failed"));
    }
    await loadHall();
    follow();
    root.dataset.ready = "1";
  })();
})();
