// 办事指南 query mode (kiosk and phone) and the staff's case intake.
// The list and the guide work without script; with it the list searches
// as the citizen types, the materials checklist counts what is ready, and
// "take a ticket" takes one for the guide's service: a kiosk ticket (printed)
// on a paired kiosk, a remote ticket followed on /t/{id} on a phone.
"use strict";
(function () {
  const C = window.CIVIQ;
  const { $, el } = C;
  const enc = encodeURIComponent;

  const guideCfg = $("guide-config");
  if (guideCfg) guides(JSON.parse(guideCfg.textContent));
  const caseCfg = $("case-config");
  if (caseCfg) intake(JSON.parse(caseCfg.textContent));

  function promised(days) { return days === 0 ? C.tr("guide.instant") : C.tr("guide.promised", days); }
  function visits(n) { return n === 0 ? C.tr("guide.visits0") : C.tr("guide.visits", n); }
  function names(g) {
    const name = C.name(g);
    return [name, name === g.name ? g.name_en || "" : g.name];
  }

  // ---- the query mode ----
  function guides(G) {
    const kiosk = !!C.deviceToken(G.hall); // this browser is a paired kiosk
    const start = "/halls/" + enc(G.hall) + "/guides";
    if (kiosk) {
      document.body.classList.add("on-kiosk");
      // Back to the start for the next citizen when nobody touches it for
      // 2 minutes (no timeout shorter, 适老化).
      let timer = 0;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (location.pathname === start && !location.search && C.lang === "zh-CN") return arm();
          location.href = start + "?lang=zh-CN";
        }, 120000);
      };
      for (const ev of ["pointerdown", "keydown", "input"]) document.addEventListener(ev, arm, { passive: true });
      arm();
    }
    if ($("gq-list")) listPage(G);
    if ($("take")) guidePage(G, kiosk, start);
  }

  function listPage(G) {
    const input = $("q"), list = $("gq-list"), status = $("gq-status"), pages = $("gq-pages");
    const service = new URLSearchParams(location.search).get("service") || "";
    let timer = 0, seq = 0;
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 200); });
    $("gq-form").addEventListener("submit", (ev) => { ev.preventDefault(); clearTimeout(timer); run(); });

    async function run() {
      const q = input.value.trim();
      const mine = ++seq;
      const p = new URLSearchParams();
      if (q) p.set("q", q);
      if (service) p.set("service", service);
      status.textContent = C.tr("guide.searching");
      let r;
      try {
        r = await C.api("GET", "/api/v1/halls/" + enc(G.hall) + "/guides?" + p + "&limit=60");
      } catch (e) {
        if (mine === seq) status.textContent = C.tr("error.network");
        return;
      }
      if (mine !== seq) return; // a newer search is on its way
      if (r.status !== 200 || !r.body) { status.textContent = C.tr("error.network"); return; }
      render(r.body.guides, r.body.more, p);
      status.textContent = q ? C.tr("guide.found", r.body.guides.length) : "";
      history.replaceState(null, "", G.base + (p.toString() ? "?" + p : ""));
      for (const a of document.querySelectorAll(".gq-tabs a")) {
        const t = new URLSearchParams();
        if (q) t.set("q", q);
        if (a.dataset.service) t.set("service", a.dataset.service);
        a.href = G.base + (t.toString() ? "?" + t : "");
      }
    }

    function render(gs, more, p) {
      list.replaceChildren();
      if (!gs.length) list.append(el("li", "gq-empty", C.tr("guide.none")));
      for (const g of gs) {
        const [name, other] = names(g);
        const a = el("a", "gq-item");
        a.href = G.base + "/" + enc(g.id);
        const n = el("span", "gq-name", name);
        if (other) {
          const s = el("small", "", other);
          s.lang = C.lang === "en" ? "zh-CN" : "en";
          n.append(s);
        }
        const meta = el("span", "gq-meta");
        meta.append(el("span", "chip svc", G.services[g.service_id] || g.service_id), el("span", "chip", promised(g.promised_days)),
          el("span", "chip", visits(g.visits)), el("span", "chip", C.tr("guide.materials_n", g.materials)));
        if (g.online) meta.append(el("span", "chip ok", C.tr("guide.online")));
        if (g.appointment) meta.append(el("span", "chip", C.tr("guide.appointment")));
        a.append(n, meta);
        const li = el("li");
        li.append(a);
        list.append(li);
      }
      pages.replaceChildren();
      if (more) {
        const next = new URLSearchParams(p);
        next.set("offset", "60");
        const a = el("a", "gbtn", C.tr("guide.more"));
        a.href = G.base + "?" + next;
        pages.append(a);
      }
    }
  }

  function guidePage(G, kiosk, start) {
    // The checklist: what the citizen has ready, remembered on a phone for
    // the visit (never on a kiosk, where the next citizen comes).
    const boxes = Array.from(document.querySelectorAll(".checklist input[type=checkbox]"));
    const have = $("have"), store = kiosk ? null : window.sessionStorage, key = "civiq.guide." + G.guide;
    try {
      const saved = store && JSON.parse(store.getItem(key) || "null");
      if (Array.isArray(saved) && saved.length === boxes.length) boxes.forEach((b, i) => { b.checked = !!saved[i]; });
    } catch (e) { /* nothing saved */ }
    function count() {
      const req = boxes.filter((b) => b.dataset.required === "true");
      const n = req.filter((b) => b.checked).length;
      have.textContent = req.length ? C.tr("guide.have", n, req.length) : "";
      have.classList.toggle("all", req.length > 0 && n === req.length);
      if (store) try { store.setItem(key, JSON.stringify(boxes.map((b) => b.checked))); } catch (e) { /* full or private */ }
    }
    for (const b of boxes) b.addEventListener("change", count);
    count();

    // Taking a ticket: asked once more (which service), then one press,
    // one ticket, whatever the network does; the ticket can be undone
    // (cancelled) from here. A kiosk prints it where a printer is set up
    // (the kiosk page was opened with ?print=1, kiosk.js).
    const take = $("take"), msg = $("take-msg"), ask = $("take-confirm"), done = $("take-done");
    let autoPrint = false;
    try { autoPrint = kiosk && localStorage.getItem("civiq.print." + G.hall) === "1"; } catch (e) { /* no storage */ }
    let busy = false, idem = "", taken = null, gtTimer = 0, gtPoll = 0;
    take.addEventListener("click", (ev) => {
      ev.preventDefault();
      if (busy) return;
      if (!kiosk && !G.allow_remote) { msg.textContent = C.tr("guide.no_remote"); return; }
      const svc = take.querySelector("small");
      $("take-q").textContent = C.tr("guide.take_q", svc ? svc.textContent.trim() : "");
      msg.textContent = "";
      done.classList.add("hidden");
      ask.classList.remove("hidden");
      $("take-yes").focus();
    });
    $("take-no").addEventListener("click", () => { ask.classList.add("hidden"); take.focus(); });
    $("take-yes").addEventListener("click", async () => {
      if (busy) return;
      busy = true;
      ask.classList.add("hidden");
      take.setAttribute("aria-disabled", "true");
      msg.textContent = C.tr("guide.taking");
      idem = idem || C.key();
      const body = { service_id: take.dataset.service, channel: kiosk ? "kiosk" : "remote", guide_id: G.guide };
      try {
        const r = await C.api("POST", "/api/v1/halls/" + enc(G.hall) + "/tickets", body,
          { token: kiosk ? C.deviceToken(G.hall) : "", key: idem, retries: 3 });
        if ((r.status === 201 || r.status === 200) && r.body && r.body.ticket) {
          idem = "";
          msg.textContent = "";
          taken = r.body.ticket;
          if (kiosk) { showTicket(taken); return; }
          $("take-done-msg").textContent = C.tr("guide.taken", taken.number, taken.position || 0);
          $("take-follow").href = "/t/" + enc(taken.id);
          done.classList.remove("hidden");
          $("take-follow").focus();
          return;
        }
        if (r.status < 500) idem = "";
        const e = (r.body && r.body.error) || {}, code = e.code || "";
        // A quota reached (号源) says which, and when tickets come again.
        if (code === "quota_reached") { msg.textContent = C.tr("guide.quota." + e.field, C.time(e.again_at, "daytime", G.tz)); return; }
        msg.textContent = C.tr(code === "remote_full" ? "guide.remote_full" : code === "ticket_held" ? "guide.ticket_held"
          : r.status === 429 ? "guide.too_many" : r.status === 409 ? "guide.hall_closed"
          : r.status === 403 && !kiosk ? "guide.no_remote" : "guide.take_failed");
      } catch (e) {
        msg.textContent = C.tr("error.network");
      } finally {
        busy = false;
        take.removeAttribute("aria-disabled");
      }
    });
    // undo cancels the ticket just taken (its id is the holder's key),
    // saying what happened in out. A ticket the server no longer cancels
    // is read again: cancelled already (a repeat), or called in and being
    // served, which no undo takes back.
    async function undo(out) {
      if (!taken || busy) return false;
      busy = true;
      try {
        const path = "/api/v1/tickets/" + enc(taken.id);
        const r = await C.api("POST", path + "/cancel", undefined, { retries: 2 });
        let status = r.status === 200 ? "cancelled" : "";
        if (r.status === 409 && r.body && r.body.error && r.body.error.code === "invalid_transition") {
          const now = await C.api("GET", path, undefined, { retries: 2 });
          status = now.status === 200 ? now.body.ticket.status : "";
        }
        if (status === "cancelled") {
          out.textContent = C.tr("guide.undone", taken.number);
          taken = null;
          done.classList.add("hidden");
          return true;
        }
        out.textContent = status === "serving" || status === "done" ? C.tr("guide.undo_served", taken.number)
          : status === "no_show" ? C.tr("guide.undo_no_show", taken.number) : C.tr("guide.undo_failed");
      } catch (e) {
        out.textContent = C.tr("error.network");
      } finally {
        busy = false;
      }
      return false;
    }
    $("take-undo").addEventListener("click", () => { undo(msg).then((ok) => { if (ok) take.focus(); }); });

    // gtState says where the ticket stands: how many are ahead while it
    // waits, the counter once one calls or serves it.
    function gtState(t) {
      const at = (G.counters || {})[t.counter_id] || t.counter_id || "";
      $("gt-ahead").textContent = t.status === "called" ? C.tr("guide.ticket_called", at)
        : t.status === "serving" ? C.tr("guide.ticket_serving", at)
        : C.tr("guide.ticket_ahead", t.position === null || t.position === undefined ? 0 : t.position);
    }

    function showTicket(t) {
      $("gt-number").textContent = t.number;
      gtState(t);
      const qr = $("gt-qr");
      const loaded = new Promise((ok) => { qr.onload = ok; qr.onerror = ok; setTimeout(ok, 3000); });
      qr.src = "/t/" + enc(t.id) + "/qr.svg";
      $("g-main").classList.add("hidden");
      $("g-ticket").classList.remove("hidden");
      document.body.dataset.ticket = t.id;
      const home = () => { location.href = start + "?lang=zh-CN"; };
      $("gt-done").onclick = home;
      $("gt-undo").onclick = async () => {
        if (await undo($("gt-msg"))) { clearInterval(gtTimer); $("g-ticket").classList.add("hidden"); $("g-main").classList.remove("hidden"); take.focus(); }
      };
      // The ticket shown follows the queue: a counter may call it while
      // it is on the screen, which then names the counter.
      clearInterval(gtPoll);
      gtPoll = setInterval(async () => {
        if (document.body.dataset.ticket !== t.id || $("g-ticket").classList.contains("hidden")) { clearInterval(gtPoll); return; }
        const r = await C.api("GET", "/api/v1/tickets/" + enc(t.id)).catch(() => null);
        if (r && r.status === 200 && r.body && r.body.ticket) gtState(r.body.ticket);
      }, 2000);
      loaded.then(() => {
        if (autoPrint) window.print();
        let left = 15;
        const tick = () => { $("gt-back-in").textContent = C.tr("guide.back_in", left); };
        tick();
        gtTimer = setInterval(() => { if (--left <= 0) { clearInterval(gtTimer); home(); } else tick(); }, 1000);
      });
    }
  }

  // ---- case intake at the counter (staff, signed in) ----
  function intake(K) {
    const form = $("ci-form"), guidesBox = $("ci-guides"), q = $("ci-q"), found = $("ci-found");
    const table = $("ci-mats"), tbody = table.querySelector("tbody"), verdict = $("ci-verdict"), err = $("ci-error");
    let guide = null, timer = 0, seq = 0, busy = false;

    q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 200); });
    q.addEventListener("keydown", (ev) => { if (ev.key === "Enter") ev.preventDefault(); });
    async function search() {
      const mine = ++seq, text = q.value.trim();
      found.textContent = C.tr("guide.searching");
      let r;
      try { r = await C.api("GET", "/api/v1/halls/" + enc(K.hall) + "/guides?limit=100&q=" + enc(text)); } catch (e) { r = null; }
      if (mine !== seq) return;
      if (!r || r.status !== 200) { found.textContent = C.tr("error.network"); return; }
      const chosen = guide && guide.id;
      guidesBox.replaceChildren();
      for (const g of r.body.guides) {
        const l = el("label", "ci-g"), i = el("input");
        i.type = "radio"; i.name = "guide"; i.value = g.id; i.checked = g.id === chosen;
        l.append(i, el("span", "", names(g)[0]), el("small", "", promised(g.promised_days)));
        guidesBox.append(l);
      }
      found.textContent = r.body.guides.length ? (text ? C.tr("guide.found", r.body.guides.length) : "") : C.tr("guide.none");
    }

    guidesBox.addEventListener("change", async (ev) => {
      if (ev.target.name !== "guide") return;
      const id = ev.target.value;
      try {
        const r = await C.api("GET", "/api/v1/guides/" + enc(id));
        if (r.status !== 200) throw new Error("guide " + r.status);
        guide = r.body.guide;
        materials();
      } catch (e) { err.textContent = C.tr("error.network"); }
    });

    function materials() {
      $("ci-pick").classList.add("hidden");
      table.classList.remove("hidden");
      tbody.replaceChildren();
      guide.materials.forEach((m, i) => {
        const tr = el("tr");
        const name = el("td");
        name.append(el("strong", "", C.name(m)));
        if (m.notes) name.append(el("small", "", m.notes));
        const need = el("td", "", C.tr("case.need." + m.necessity) + " · " + C.tr("case.form." + m.form) + " × " + m.copies);
        const st = el("td");
        const box = el("div", "ci-st");
        box.setAttribute("role", "radiogroup");
        box.setAttribute("aria-label", C.name(m));
        const opts = m.necessity === "required" ? ["received", "missing"] : ["received", "missing", "not_applicable"];
        for (const o of opts) {
          const l = el("label", o), r = el("input");
          r.type = "radio"; r.name = "m-" + i; r.value = o; r.dataset.id = m.id;
          r.checked = m.necessity === "required" ? o === "missing" : o === "not_applicable";
          l.append(r, document.createTextNode(C.tr("case.m." + o)));
          box.append(l);
        }
        st.append(box);
        tr.append(name, need, st);
        tbody.append(tr);
      });
      if (!$("ci-all")) {
        const all = el("button", "btn small", C.tr("case.all_received"));
        all.type = "button"; all.id = "ci-all";
        all.addEventListener("click", () => {
          for (const r of tbody.querySelectorAll("input[value=received]")) {
            const m = guide.materials.find((x) => x.id === r.dataset.id);
            if (m && m.necessity === "required") r.checked = true;
          }
          judge();
        });
        table.parentElement.after(all);
      }
      judge();
    }

    function chosen() {
      return Array.from(tbody.querySelectorAll("input:checked")).map((r) => ({ id: r.dataset.id, status: r.value }));
    }
    function decision() { return form.querySelector("input[name=decision]:checked").value; }
    function judge() {
      verdict.className = "ci-verdict";
      if (!guide) { verdict.textContent = ""; return; }
      const missing = chosen().filter((m) => m.status === "missing").length;
      if (decision() === "refuse") {
        verdict.textContent = C.tr("case.will_refuse");
        verdict.classList.add("warn");
      } else if (missing) {
        verdict.textContent = C.tr("case.will_correct", missing);
        verdict.classList.add("warn");
      } else {
        verdict.textContent = C.tr("case.will_accept", guide.promised_days === 0 ? C.tr("case.instant") : C.tr("case.days", guide.promised_days));
        verdict.classList.add("ok");
      }
    }
    tbody.addEventListener("change", judge);
    for (const r of form.querySelectorAll("input[name=decision]")) r.addEventListener("change", judge);

    const fields = { "applicant.name": "ci-name", "applicant.id_number": "ci-id", "applicant.id_type": "ci-idtype",
      "applicant.phone": "ci-phone", reason: "ci-reason", note: "ci-note", guide_id: "ci-q", decision: "ci-reason", "on_behalf.role": "ci-behalf" };
    // A field's error is shown, and the field marked invalid, until that
    // field changes (C.fieldError; the guide's also once one is chosen),
    // or the next submit.
    let errAt = null;
    function fieldErr(input, text) {
      if (errAt && errAt !== input) C.fieldError(errAt, null, "");
      errAt = text ? input : null;
      C.fieldError(input, err, text);
      if (text) input.focus();
    }
    form.addEventListener("change", (ev) => {
      if (errAt === q && ev.target.name === "guide") fieldErr(q, "");
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (busy) return;
      if (errAt) fieldErr(errAt, "");
      err.textContent = "";
      if (!guide) { fieldErr(q, C.tr("case.pick_guide")); return; }
      const body = {
        guide_id: guide.id,
        applicant: { name: $("ci-name").value.trim(), id_type: $("ci-idtype").value, id_number: $("ci-id").value.trim(), phone: $("ci-phone").value.trim() },
        materials: chosen(), decision: decision(), reason: $("ci-reason").value.trim(), note: $("ci-note").value.trim(),
      };
      if ($("ci-behalf").value) body.on_behalf = { role: $("ci-behalf").value };
      busy = true;
      const btn = $("ci-submit");
      btn.disabled = true;
      err.textContent = C.tr("case.saving");
      try {
        const r = await C.api("POST", "/api/v1/tickets/" + enc(K.ticket) + "/cases", body);
        if (r.status === 201) {
          err.textContent = "";
          result(r.body.case, r.body.progress_url, r.body.receipt_url);
          cases();
          return;
        }
        const e = (r.body && r.body.error) || {};
        const local = C.t["case.err." + e.field]; // the page's language when it has the field
        const text = C.tr("case.failed", local || e.message || r.status), f = fields[e.field] && $(fields[e.field]);
        if (f) fieldErr(f, text);
        else err.textContent = text;
      } catch (e) {
        err.textContent = C.tr("error.network");
      } finally {
        busy = false;
        btn.disabled = false;
      }
    });

    const fmt = (iso) => C.time(iso, "datetime", K.tz);

    function result(c, url, receipt) {
      const doc = c.status === "correction" ? "correction" : c.status === "not_accepted" ? "not_accepted" : "accepted";
      $("cr-doc").textContent = C.tr("case.doc." + doc);
      $("cr-number").textContent = c.number;
      $("cr-guide").textContent = C.guideName(c);
      $("cr-applicant").textContent = c.applicant.name;
      $("cr-opened").textContent = fmt(c.opened_at);
      $("cr-promised").textContent = C.date(c.promised_date);
      $("cr-promised").classList.toggle("hidden", !c.promised_date);
      $("cr-promised-k").classList.toggle("hidden", !c.promised_date);
      const miss = $("cr-missing"), ol = miss.querySelector("ol");
      ol.replaceChildren(...c.missing.map((m) => el("li", "", m)));
      miss.classList.toggle("hidden", c.status !== "correction");
      const reason = $("cr-reason");
      reason.textContent = c.reason ? C.tr("case.status.not_accepted") + "：" + c.reason : "";
      reason.classList.toggle("hidden", !c.reason);
      $("cr-qr").src = "/c/" + enc(c.number) + "/qr.svg";
      $("cr-url").textContent = location.origin + url;
      $("cr-receipt").href = receipt || "#";
      $("cr-receipt").classList.toggle("hidden", !receipt);
      const code = c.receipt_code || "";
      $("cr-signed").classList.toggle("hidden", !code);
      if (code) {
        $("cr-vqr").src = "/receipts/" + enc(code) + "/qr.svg";
        $("cr-code").textContent = code.slice(0, 4) + "-" + code.slice(4, 8) + "-" + code.slice(8);
        $("cr-verify").href = "/receipts/verify?code=" + enc(code);
        $("cr-verify").textContent = location.origin + "/receipts/verify?code=" + code;
      }
      $("ci-main").classList.add("hidden");
      $("ci-result").classList.remove("hidden");
      document.body.dataset.case = c.number;
      $("cr-print").focus();
    }
    $("cr-print").addEventListener("click", () => window.print());
    $("cr-again").addEventListener("click", () => {
      for (const id of ["ci-name", "ci-id", "ci-phone", "ci-reason", "ci-note"]) $(id).value = "";
      $("ci-behalf").value = K.behalf || ""; // the ticket's helper again
      $("ci-result").classList.add("hidden");
      $("ci-main").classList.remove("hidden");
      delete document.body.dataset.case;
      if (guide) materials();
      window.scrollTo(0, 0);
    });

    async function cases() {
      const ul = $("ci-cases");
      try {
        const r = await C.api("GET", "/api/v1/tickets/" + enc(K.ticket) + "/cases");
        if (r.status !== 200) return;
        ul.replaceChildren();
        if (!r.body.cases.length) ul.append(el("li", "", C.tr("case.none_yet")));
        for (const c of r.body.cases) {
          // Each opens on the case desk, where it moves on.
          const a = el("a", "num", c.number);
          a.href = "/halls/" + enc(K.hall) + "/cases?number=" + enc(c.number);
          const li = el("li");
          li.append(a, " · " + [C.guideName(c), C.tr("case.status." + c.status), c.applicant.name, C.date(c.promised_date)].filter(Boolean).join(" · "));
          ul.append(li);
        }
      } catch (e) { /* shown on the next case */ }
    }
    cases();
  }
})();
