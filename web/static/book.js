// civiq: the citizen's booking page (/halls/{hall}/book) and the staff's
// page of a day's bookings (/halls/{hall}/bookings). No framework.
"use strict";
(function () {
  const C = window.CIVIQ;
  const { $, q } = C;
  const cfgEl = $("book-config");
  if (!cfgEl) return;
  const cfg = JSON.parse(cfgEl.textContent);
  const hall = cfg.hall;
  const enc = encodeURIComponent;

  // Times are shown in the hall's zone, whatever the phone's.
  const hhmm = (iso) => C.time(iso, "time", cfg.tz);
  const when = (b) => C.time(b.slot_start, "day", cfg.tz) + " " + hhmm(b.slot_start) + "–" + hhmm(b.slot_end);
  const addMinutes = (iso, m) => new Date(new Date(iso).getTime() + m * 60000).toISOString();

  // errorText turns an API error into words for people.
  function errorText(res, context) {
    if (!res || !res.body || !res.body.error) return C.tr("book.err.other");
    const e = res.body.error;
    if (e.code === "invalid" && e.field && C.t["book.err." + e.field]) return C.tr("book.err." + e.field);
    if (e.code === "too_late" && context === "cancel") return C.tr("book.err.cancel_late", cfg.cancel_minutes || 120);
    if (C.t["book.err." + e.code]) return C.tr("book.err." + e.code);
    if (res.status >= 500) return C.tr("book.err.unavailable");
    return e.message || C.tr("book.err.other");
  }

  if ($("staff-page")) staffPage(); else citizenPage();

  // ---- the citizen's page ----
  function citizenPage() {
    const form = $("book-form");
    const state = { service: null, date: null, slot: null, booking: null, last4: "" };
    const services = {};
    for (const s of cfg.services || []) services[s.id] = s;
    let loadSeq = 0;

    function setStatus(text) { $("slots-status").textContent = text; }

    async function loadSlots() {
      const box = $("slots");
      box.textContent = "";
      state.slot = null;
      updateChosen();
      if (!state.service || !state.date) return;
      const day = (cfg.days || []).find((d) => d.date === state.date);
      if (day && !day.working) { setStatus(C.tr("book.day_off")); return; }
      setStatus(C.tr("book.loading"));
      const seq = ++loadSeq;
      let res;
      try {
        res = await C.api("GET", "/api/v1/halls/" + enc(hall) + "/services/" + enc(state.service) + "/slots?date=" + enc(state.date));
      } catch (e) { setStatus(C.tr("error.network")); return; }
      if (seq !== loadSeq) return; // a later choice has been made
      if (res.status !== 200) { setStatus(errorText(res)); return; }
      const slots = res.body.slots || [];
      if (!res.body.working) { setStatus(C.tr("book.day_off")); return; }
      let open = 0;
      for (const s of slots) {
        const label = document.createElement("label");
        label.className = "bslot";
        const input = document.createElement("input");
        input.type = "radio";
        input.name = "slot";
        input.value = s.start;
        const free = s.bookable && s.available > 0;
        input.disabled = !free;
        if (free) open++;
        const t = document.createElement("span");
        t.className = "btime num";
        t.textContent = hhmm(s.start);
        const left = document.createElement("span");
        left.className = "bleft";
        left.textContent = !s.bookable ? C.tr("book.closed") : s.available > 0 ? C.tr("book.left", s.available) : C.tr("book.full");
        if (!free) label.classList.add("off");
        label.append(input, t, left);
        input.addEventListener("change", () => {
          state.slot = s;
          updateChosen();
          $("step-person").disabled = false;
        });
        box.append(label);
      }
      setStatus(open ? C.tr("book.pick_slot") : C.tr("book.none"));
    }

    function updateChosen() {
      const el = $("chosen");
      if (!state.slot) { el.textContent = ""; $("step-person").disabled = true; return; }
      const svc = services[state.service];
      el.textContent = C.tr("book.your_slot", svc.name + " · " + when({ slot_start: state.slot.start, slot_end: state.slot.end }));
    }

    if (form) bindForm();
    function bindForm() {
      form.addEventListener("change", (ev) => {
        const t = ev.target;
        if (t.name === "service") {
          state.service = t.value;
          $("step-time").disabled = false;
          if (!state.date) {
            const first = form.querySelector('input[name="date"]:not(:disabled)');
            if (first) { first.checked = true; state.date = first.value; }
          }
          loadSlots();
        } else if (t.name === "date") {
          state.date = t.value;
          loadSlots();
        }
      });

      const fieldError = (field, text) => C.fieldError(q('[name="' + field + '"]', form), $("e-" + field), text);

      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        for (const f of ["name", "phone", "id_number", "consent"]) fieldError(f, "");
        $("form-error").textContent = "";
        const name = $("f-name").value.trim();
        const phone = $("f-phone").value.replace(/[\s-]/g, "");
        const id = $("f-id").value.trim().toUpperCase();
        let bad = null;
        if (!name) { fieldError("name", C.tr("book.err.name")); bad = bad || "f-name"; }
        if (!/^(\+86)?1[3-9]\d{9}$/.test(phone)) { fieldError("phone", C.tr("book.err.phone")); bad = bad || "f-phone"; }
        if (!/^\d{17}[\dX]$/.test(id)) { fieldError("id_number", C.tr("book.err.id_number")); bad = bad || "f-id"; }
        if (!$("f-consent").checked) { fieldError("consent", C.tr("book.err.consent")); bad = bad || "f-consent"; }
        if (!state.slot) { $("form-error").textContent = C.tr("book.pick_slot"); return; }
        if (bad) { $(bad).focus(); return; }
        const btn = $("submit");
        btn.disabled = true;
        btn.textContent = C.tr("book.submitting");
        let res;
        try {
          res = await C.api("POST", "/api/v1/halls/" + enc(hall) + "/bookings",
            { service_id: state.service, slot_start: state.slot.start, name, phone, id_number: id });
        } catch (e) {
          res = null;
          $("form-error").textContent = C.tr("error.network");
        } finally {
          btn.disabled = false;
          btn.textContent = btn.dataset.label;
        }
        if (!res) return;
        if (res.status === 201) {
          state.last4 = id.slice(-4);
          showResult(res.body.booking, state.last4, true);
          return;
        }
        const e = res.body && res.body.error;
        if (e && (e.code === "invalid" || e.code === "invalid_id_number") && ["name", "phone", "id_number"].includes(e.field)) {
          fieldError(e.field, errorText(res));
          form.querySelector('[name="' + e.field + '"]').focus();
        } else {
          $("form-error").textContent = errorText(res);
        }
        if (e && (e.code === "slot_full" || e.code === "too_late" || e.field === "slot_start")) loadSlots();
      });
      $("submit").dataset.label = $("submit").textContent;

      // A guide's "book" link names its service: chosen, its days shown.
      const want = new URLSearchParams(location.search).get("service");
      const pick = want && [...form.querySelectorAll('input[name="service"]')].find((i) => i.value === want);
      if (pick) {
        pick.checked = true;
        pick.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }

    // showResult shows booking b: "booked" when it was made just now, else
    // (looked up, cancelled) the citizen's booking, its status below.
    function showResult(b, last4, made) {
      state.booking = b;
      $("result-h").textContent = C.tr(made ? "book.done" : "book.yours");
      state.last4 = last4;
      try { localStorage.setItem("civiq.booking." + hall, JSON.stringify({ code: b.code, last4 })); } catch (e) { /* private mode */ }
      const svc = services[b.service_id];
      $("r-code").textContent = b.code.slice(0, 4) + " " + b.code.slice(4);
      // The QR holds the signed pass when there is one: scanned at the
      // kiosk it gives the code, and at a hall's edge node cut off from
      // the city the pass that checks the booking in there.
      $("r-qr").src = b.pass ? "/api/v1/booking-passes/qr.svg?pass=" + enc(b.pass) : "/api/v1/bookings/" + enc(b.code) + "/qr.svg";
      $("r-service").textContent = svc ? svc.name : b.service_id;
      $("r-time").textContent = when(b);
      $("r-person").textContent = b.name + "\n" + b.phone;
      $("r-status").textContent = C.tr("book.status." + b.status);
      $("r-checkin").textContent = C.tr("book.checkin_at", hhmm(addMinutes(b.slot_start, -(cfg.early || 30))), hhmm(addMinutes(b.slot_start, cfg.late || 15)));
      $("r-ics").href = "/api/v1/bookings/" + enc(b.code) + "/ics?id_last4=" + enc(last4) + (C.lang === "en" ? "&lang=en" : "");
      $("r-ics").setAttribute("download", "booking-" + b.code + ".ics");
      const active = b.status === "booked";
      $("r-cancel").classList.toggle("hidden", !active);
      $("r-checkin").classList.toggle("hidden", !active);
      $("r-keep").classList.toggle("hidden", !active);
      $("r-note").textContent = "";
      $("r-ics").classList.toggle("hidden", b.status === "cancelled");
      $("r-error").textContent = "";
      if (form) form.classList.add("hidden");
      const r = $("result");
      r.classList.remove("hidden");
      r.classList.toggle("cancelled", b.status === "cancelled");
      r.focus();
      r.scrollIntoView({ block: "start" });
    }

    $("r-cancel").addEventListener("click", async () => {
      if (!state.booking || !confirm(C.tr("book.cancel_confirm"))) return;
      let res;
      try {
        res = await C.api("DELETE", "/api/v1/bookings/" + enc(state.booking.code) + "?id_last4=" + enc(state.last4));
      } catch (e) { $("r-error").textContent = C.tr("error.network"); return; }
      if (res.status !== 200) { $("r-error").textContent = errorText(res, "cancel"); return; }
      showResult(res.body.booking, state.last4);
      $("r-note").textContent = C.tr("book.cancelled");
    });

    $("r-new").addEventListener("click", () => {
      $("result").classList.add("hidden");
      if (!form) return;
      form.classList.remove("hidden");
      form.reset();
      state.slot = null;
      loadSlots();
      window.scrollTo(0, 0);
    });

    $("find-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const code = $("q-code").value.replace(/[\s-]/g, "").toUpperCase();
      const last4 = $("q-last4").value.trim().toUpperCase();
      $("find-error").textContent = "";
      if (!code || last4.length !== 4) { $("find-error").textContent = C.tr("book.err.not_found"); return; }
      let res;
      try {
        res = await C.api("GET", "/api/v1/bookings/" + enc(code) + "?id_last4=" + enc(last4));
      } catch (e) { $("find-error").textContent = C.tr("error.network"); return; }
      if (res.status !== 200) { $("find-error").textContent = errorText(res); return; }
      showResult(res.body.booking, last4);
    });

    // The last booking made on this phone fills the search form.
    try {
      const saved = JSON.parse(localStorage.getItem("civiq.booking." + hall) || "null");
      if (saved && saved.code) { $("q-code").value = saved.code; $("q-last4").value = saved.last4 || ""; }
    } catch (e) { /* nothing saved */ }

    window.civiqBook = { state };
  }

  // ---- the staff's page ----
  function staffPage() {
    const names = cfg.services || {};
    let timer = null;

    function cell(text, cls) {
      const td = document.createElement("td");
      td.textContent = text == null ? "" : String(text);
      if (cls) td.className = cls;
      return td;
    }

    async function loadBookings() {
      let res;
      try {
        res = await C.api("GET", "/api/v1/halls/" + enc(hall) + "/bookings?date=" + enc(cfg.date));
      } catch (e) { $("list-error").textContent = C.tr("error.network"); return; }
      if (res.status !== 200) { $("list-error").textContent = errorText(res); return; }
      $("list-error").textContent = "";
      const list = res.body.bookings || [];
      const body = q("#bookings tbody");
      body.textContent = "";
      const n = { booked: 0, checked_in: 0, no_show: 0, cancelled: 0 };
      for (const b of list) {
        n[b.status] = (n[b.status] || 0) + 1;
        const tr = document.createElement("tr");
        tr.className = "st-" + b.status;
        tr.dataset.code = b.code;
        const ticket = b.ticket_number ? b.ticket_number + (b.ticket_status ? " · " + C.tr("ticket.status." + b.ticket_status) : "") : "";
        const status = cell("", "bs-status");
        const badge = document.createElement("span");
        badge.className = "badge " + b.status;
        badge.textContent = C.tr("book.status." + b.status);
        status.append(badge);
        const act = cell("");
        if (b.status === "booked") {
          const btn = document.createElement("button");
          btn.type = "button";
          btn.className = "btn small";
          btn.textContent = C.tr("book.staff.cancel");
          btn.addEventListener("click", () => cancel(b.code));
          act.append(btn);
        }
        tr.append(cell(hhmm(b.slot_start) + "–" + hhmm(b.slot_end), "num"), cell(names[b.service_id] || b.service_id), cell(b.code, "num"),
          cell(b.name), cell(b.phone, "num"), cell(b.id_number, "num"), status, cell(ticket, "num"), act);
        body.append(tr);
      }
      if (!list.length) {
        const tr = document.createElement("tr");
        const td = cell(C.tr("book.staff.empty"));
        td.colSpan = 9;
        tr.append(td);
        body.append(tr);
      }
      $("counts").textContent = C.tr("book.staff.counts", list.length, n.booked, n.checked_in, n.no_show, n.cancelled);
    }

    async function cancel(code) {
      if (!confirm(C.tr("book.staff.cancel_confirm"))) return;
      let res;
      try { res = await C.api("DELETE", "/api/v1/bookings/" + enc(code)); } catch (e) { $("list-error").textContent = C.tr("error.network"); return; }
      if (res.status !== 200) { $("list-error").textContent = errorText(res); return; }
      loadBookings();
    }

    let clearing = null;
    async function loadStrikes() {
      let res;
      try { res = await C.api("GET", "/api/v1/halls/" + enc(hall) + "/strikes?all=1"); } catch (e) { $("strike-error").textContent = C.tr("error.network"); return; }
      if (res.status !== 200) { $("strike-error").textContent = errorText(res); return; }
      $("strike-error").textContent = "";
      const body = q("#strikes tbody");
      body.textContent = "";
      const list = res.body.strikes || [];
      for (const s of list) {
        const tr = document.createElement("tr");
        let state = s.cleared_at ? C.tr("book.staff.cleared", s.clear_reason) : C.tr("book.staff.active");
        if (!s.cleared_at && s.suspended_until) state += " · " + C.tr("book.staff.suspended_until", C.time(s.suspended_until, "date", cfg.tz));
        const act = cell("");
        if (!s.cleared_at) {
          const btn = document.createElement("button");
          btn.type = "button";
          btn.className = "btn small";
          btn.textContent = C.tr("book.staff.clear");
          btn.addEventListener("click", () => {
            clearing = s.id;
            $("clear-form").classList.remove("hidden");
            $("clear-reason").value = "";
            $("clear-reason").focus();
          });
          act.append(btn);
        }
        tr.append(cell(C.time(s.slot_start, "datetime", cfg.tz), "num"), cell(s.booking_code, "num"), cell(s.name + " · " + s.phone),
          cell(s.id_number, "num"), cell(s.warning, "bs-sms"), cell(state), act);
        body.append(tr);
      }
      if (!list.length) {
        const tr = document.createElement("tr");
        const td = cell(C.tr("book.staff.no_strikes"));
        td.colSpan = 7;
        tr.append(td);
        body.append(tr);
      }
    }

    $("clear-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = $("clear-reason").value.trim();
      if (!reason) { $("strike-error").textContent = C.tr("book.staff.reason"); $("clear-reason").focus(); return; }
      let res;
      try {
        res = await C.api("POST", "/api/v1/halls/" + enc(hall) + "/strikes/" + clearing + "/clear", { reason });
      } catch (e) { $("strike-error").textContent = C.tr("error.network"); return; }
      if (res.status !== 200) { $("strike-error").textContent = errorText(res); return; }
      $("clear-form").classList.add("hidden");
      loadStrikes();
    });
    $("clear-cancel").addEventListener("click", () => $("clear-form").classList.add("hidden"));

    $("checkin-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = $("checkin-result");
      // A scanner of the booking's QR types its signed pass (it has a
      // dot; a code has none): sent as the pass, the code is the pass's.
      const typed = $("c-code").value.trim();
      const body = typed.includes(".") ? { pass: typed } : { code: typed.replace(/[\s-]/g, "").toUpperCase() };
      body.id_last4 = $("c-last4").value.trim().toUpperCase();
      out.className = "";
      let res;
      try {
        res = await C.api("POST", "/api/v1/halls/" + enc(hall) + "/checkins", body, { key: C.key() });
      } catch (e) { out.textContent = C.tr("error.network"); return; }
      if (res.status !== 201) { out.className = "error"; out.textContent = errorText(res); return; }
      out.className = "ok";
      out.textContent = C.tr("book.staff.checked_in", res.body.ticket.number);
      $("checkin-form").reset();
      loadBookings();
    });

    function refresh() {
      clearTimeout(timer);
      timer = setTimeout(() => { loadBookings(); loadStrikes(); }, 300);
    }
    const onEvent = (d) => { if (d && d.booking) refresh(); };
    const onTicket = (d) => { if (d && d.ticket && d.ticket.channel === "appointment") refresh(); };
    C.stream(hall, {
      "booking.created": refresh, "booking.cancelled": refresh, "booking.no_show": refresh, "booking.strike_cleared": refresh,
      "ticket.issued": onEvent, "ticket.called": onTicket, "ticket.serving": onTicket, "ticket.done": onTicket, "ticket.no_show": onTicket,
    }, (up) => {
      const live = $("live");
      live.textContent = up ? C.tr("book.staff.live") : C.tr("book.staff.offline");
      live.classList.toggle("off", !up);
    });
    setInterval(() => { loadBookings(); loadStrikes(); }, 60000);
    loadBookings();
    loadStrikes();
  }
})();
