// The managers' 好差评 desk: every bad rating's case with filters, and one
// case with its history and only the moves it may make next (the state
// machine comes from the server, D.moves). The contact phone is masked;
// the full number is read on request, and the server records who read it.
"use strict";
(function () {
  const C = window.CIVIQ;
  const $ = C.$;
  const el = C.el;
  const enc = encodeURIComponent;
  const cfg = $("fu-config");
  if (!cfg) return;
  const D = JSON.parse(cfg.textContent);
  const tz = D.timezone || "Asia/Shanghai";
  const fmt = (t) => C.time(t, "datetime", tz);
  const st = (s) => C.tr("fu.st." + s);
  const counters = {};
  for (const c of D.counters) counters[c.id] = c;
  const counterName = (id) => C.counterName(counters[id] || { id }, "fu.counter_n");
  const score = (n) => C.tr("rate.s" + n);
  // A reason is shown by the label of its code when the page knows it.
  const reason = (r) => (D.reasons && D.reasons[r]) || r;
  // reasons are a case's reasons: the labels of its codes, then the
  // citizen's own words.
  const reasons = (f) => C.list((f.reasons || []).map(reason).concat(f.reason_text || []));
  let current = null, busy = false, chosen = null;

  // ---- the filters, kept in the address for a link to a view ----
  const params = new URLSearchParams(location.search);
  for (const c of D.counters) $("fu-counter").append(new Option(counterName(c.id), c.id));
  for (const u of D.staff) $("fu-staff").append(new Option(u, u));
  if (params.has("status")) $("fu-status").value = params.get("status") === "all" ? "" : params.get("status");
  if (params.get("overdue") === "1") $("fu-overdue").checked = true;
  if (params.has("counter")) $("fu-counter").value = params.get("counter");
  if (params.has("staff")) $("fu-staff").value = params.get("staff");

  function remember() {
    const u = new URL(location.href);
    const set = (k, v) => (v ? u.searchParams.set(k, v) : u.searchParams.delete(k));
    set("status", $("fu-status").value === "active" ? "" : $("fu-status").value || "all");
    set("overdue", $("fu-overdue").checked ? "1" : "");
    set("counter", $("fu-counter").value);
    set("staff", $("fu-staff").value);
    set("id", current ? String(current.id) : "");
    history.replaceState(null, "", u);
  }

  function deadlineCell(f) {
    const td = el("td", "num fu-dl");
    td.append(el("span", "", C.date(f.deadline)));
    if (f.overdue) td.append(el("span", "fu-over", C.tr("fu.overdue")));
    else if (!f.closed_at) td.append(el("span", f.due_soon ? "fu-soon" : "fu-left", C.tr("fu.left", f.working_days_left)));
    return td;
  }

  // ---- the list ----
  async function list() {
    const q = new URLSearchParams();
    const s = $("fu-status").value;
    const statuses = [];
    if (s && s !== "all") statuses.push(s);
    if ($("fu-overdue").checked) statuses.splice(0, statuses.length, "overdue");
    if (statuses.length) q.set("status", statuses.join(","));
    if ($("fu-counter").value) q.set("counter", $("fu-counter").value);
    if ($("fu-staff").value) q.set("staff", $("fu-staff").value);
    q.set("limit", "1000");
    remember();
    let r;
    try {
      r = await C.api("GET", "/api/v1/halls/" + enc(D.hall) + "/followups?" + q.toString());
    } catch (e) {
      $("fu-count").textContent = C.tr("error.network");
      return;
    }
    if (r.status === 401) { C.toLogin(); return; }
    if (r.status !== 200) {
      $("fu-count").textContent = C.tr("fu.failed", (r.body && r.body.error && r.body.error.message) || r.status);
      return;
    }
    let fs = r.body.followups;
    // "Overdue only" narrows the status chosen too.
    if ($("fu-overdue").checked && s && s !== "all") fs = fs.filter((f) => s === "active" || f.status === s);
    const tbody = $("fu-table").querySelector("tbody");
    tbody.replaceChildren();
    $("fu-count").textContent = fs.length ? C.tr("fu.count", fs.length) : C.tr("fu.none");
    for (const f of fs) {
      const tr = el("tr");
      tr.dataset.id = f.id;
      if (f.overdue) tr.classList.add("overdue");
      if (current && current.id === f.id) tr.classList.add("sel");
      const rating = el("td");
      rating.append(el("span", "chip fu-s" + f.score, score(f.score)), el("small", "num", fmt(f.opened_at)));
      const why = el("td", "fu-why");
      why.append(el("span", "", reasons(f)));
      if (f.comment) why.append(el("small", "", f.comment));
      const where = el("td");
      where.append(el("span", "fu-ctr", counterName(f.counter_id)), el("small", "", f.staff || ""));
      const ticket = el("td");
      const open = el("button", "linkish num", f.ticket_number);
      open.type = "button";
      open.setAttribute("aria-label", C.tr("fu.open", f.ticket_number));
      open.addEventListener("click", () => show(f.id, true));
      ticket.append(open);
      if (f.case_number) ticket.append(el("small", "num", f.case_number));
      const status = el("td");
      status.append(el("span", "chip st-" + f.status, st(f.status)));
      tr.append(rating, why, where, ticket, el("td", "num", f.contact_phone || "—"), status, deadlineCell(f));
      // The whole row opens the case, as the desk's "choose one on the
      // left" invites (but not text being selected to copy); the number's
      // button is the keyboard's way.
      tr.addEventListener("click", (e) => {
        if (!e.target.closest("button, a") && !String(window.getSelection())) show(f.id, true);
      });
      tbody.append(tr);
    }
  }
  for (const id of ["fu-status", "fu-counter", "fu-staff", "fu-overdue"]) $(id).addEventListener("change", list);
  $("fu-filter").addEventListener("submit", (e) => { e.preventDefault(); list(); });

  // ---- one case ----
  async function show(id, focus) {
    $("fu-case-h").textContent = C.tr("fu.loading");
    $("fu-done").textContent = "";
    let r;
    try {
      r = await C.api("GET", "/api/v1/followups/" + enc(id));
    } catch (e) {
      $("fu-case-h").textContent = C.tr("error.network");
      return;
    }
    if (r.status === 401) { C.toLogin(); return; }
    if (r.status !== 200 || r.body.followup.hall_id !== D.hall) {
      current = null;
      $("fu-body").classList.add("hidden");
      $("fu-case-h").textContent = C.tr("fu.failed", (r.body && r.body.error && r.body.error.message) || r.status);
      return;
    }
    render(r.body.followup);
    remember();
    if (focus) $("fu-case").focus();
    for (const tr of $("fu-table").querySelectorAll("tbody tr")) tr.classList.toggle("sel", tr.dataset.id === String(id));
  }

  function moveLabel(to) {
    return current.status === "rejection_requested" && to === "verifying" ? C.tr("fu.move.refuse") : C.tr("fu.move." + to);
  }

  function render(f) {
    // The same case seen again in the same state (the live stream's copy
    // of a move the page just made) keeps the move being filled in open.
    const keep = current && current.id === f.id && current.status === f.status ? chosen : null;
    current = f;
    chosen = null;
    document.body.dataset.followup = f.id;
    document.body.dataset.followupStatus = f.status;
    $("fu-case-h").textContent = f.ticket_number + " · " + score(f.score);
    $("fu-chip").textContent = st(f.status);
    $("fu-chip").className = "chip st-" + f.status;
    const due = $("fu-due");
    due.className = f.overdue ? "fu-over" : f.due_soon ? "fu-soon" : "fu-left";
    due.textContent = f.closed_at ? "" : f.overdue ? C.tr("fu.overdue") : C.tr("fu.left", f.working_days_left);
    const rt = f.rating || {};
    $("fu-score").replaceChildren(el("span", "chip fu-s" + f.score, score(f.score)));
    $("fu-reasons").textContent = reasons(f) || C.tr("fu.none_v");
    $("fu-comment").textContent = rt.comment || C.tr("fu.none_v");
    $("fu-counter-v").textContent = counterName(f.counter_id);
    $("fu-staff-v").textContent = f.staff || "—";
    $("fu-ticket").textContent = f.ticket_number;
    const cn = $("fu-casenum");
    cn.replaceChildren();
    if (f.case_number) {
      const a = el("a", "num", f.case_number);
      a.href = "/halls/" + enc(D.hall) + "/cases?number=" + enc(f.case_number);
      cn.append(a);
    } else cn.textContent = "—";
    $("fu-rated").textContent = fmt(rt.created_at || f.opened_at) + (rt.channel ? " · " + C.tr("fu.ch." + rt.channel) : "");
    $("fu-phone").textContent = f.contact_phone || C.tr("fu.no_phone");
    $("fu-reveal").classList.toggle("hidden", !f.contact_phone);
    $("fu-reveal-note").classList.toggle("hidden", !f.contact_phone);
    $("fu-reveal").disabled = false;
    $("fu-reveal-note").textContent = C.tr("fu.reveal.note");
    let dl = C.tr("fu.until", C.date(f.deadline));
    if (f.extended) dl += " · " + C.tr("fu.extended", C.date(f.original_deadline));
    $("fu-deadline").textContent = dl;
    $("fu-deadline").classList.toggle("fu-over", !!f.overdue);
    $("fu-summary").textContent = f.public_summary || "";
    $("fu-summary").classList.toggle("hidden", !f.public_summary);
    $("fu-summary-k").classList.toggle("hidden", !f.public_summary);

    const hist = $("fu-history");
    hist.replaceChildren();
    for (const h of f.history || []) {
      const li = el("li");
      let what = h.move === "open" ? C.tr("fu.h.opened") : h.move === "extend" ? C.tr("fu.h.extend", C.date(h.deadline)) : C.tr("fu.step", st(h.from), st(h.to));
      li.append(el("span", "num", fmt(h.at)), " ", what);
      if (h.by) li.append(" " + C.tr("fu.by", h.by));
      if (h.citizen_view) li.append(el("div", "fu-h-view", C.tr("fu.view") + "：" + C.tr("fu.view." + h.citizen_view)));
      if (h.reason && h.move !== "extend") li.append(el("div", "fu-h-reason", h.reason));
      if (h.note && h.move !== "open") li.append(el("div", "fu-h-note", h.note));
      hist.append(li);
    }

    // Only the moves the state machine allows from here; the extension
    // while it is unused and the deadline not passed.
    const closed = f.status === "revisited" || f.status === "rejected";
    let next = (D.moves[f.status] || []).slice();
    const mine = f.status === "rejection_requested" && f.rejection_requested_by === D.me;
    if (mine) next = next.filter((to) => to !== "rejected");
    if (!closed && !f.extended && !f.overdue) next.push("extend");
    const moves = $("fu-moves");
    moves.replaceChildren();
    for (const to of next) {
      const b = el("button", "btn" + (to === "rejection_requested" || to === "rejected" ? " warn" : ""), moveLabel(to));
      b.type = "button";
      b.dataset.to = to;
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => choose(to));
      moves.append(b);
    }
    $("fu-wait").classList.toggle("hidden", !mine);
    $("fu-move").classList.toggle("hidden", !next.length);
    $("fu-fields").classList.add("hidden");
    $("fu-closed").classList.toggle("hidden", !closed);
    $("fu-body").classList.remove("hidden");
    if (keep && next.includes(keep)) {
      chosen = keep;
      for (const b of moves.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.to === keep));
      $("fu-fields").classList.remove("hidden");
    }
  }

  // choose opens the fields of one move: a note always (the extension's
  // reason is its note), a reason to ask for rejection, the citizen's view
  // at the call back, the public summary once put right.
  function choose(to) {
    chosen = to;
    for (const b of $("fu-moves").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.to === to));
    const f = $("fu-fields");
    f.classList.remove("hidden");
    $("fu-move-h").textContent = moveLabel(to);
    $("fu-note-l").textContent = to === "extend" ? C.tr("fu.reason") : C.t["fu.note." + to] && current.status !== "rejection_requested" ? C.tr("fu.note." + to) : C.tr("fu.note");
    $("fu-reason-f").classList.toggle("hidden", to !== "rejection_requested");
    $("fu-view-f").classList.toggle("hidden", to !== "revisited");
    $("fu-summary-f").classList.toggle("hidden", to !== "rectified" && to !== "revisited");
    $("fu-public").value = current.public_summary || "";
    $("fu-submit").textContent = moveLabel(to);
    $("fu-error").textContent = "";
    $("fu-note").focus();
  }
  $("fu-cancel").addEventListener("click", () => {
    chosen = null;
    $("fu-fields").classList.add("hidden");
    for (const b of $("fu-moves").querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
  });

  $("fu-move").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (busy || !current || !chosen) return;
    const err = $("fu-error");
    const note = $("fu-note").value.trim();
    if (!note) { C.fieldError($("fu-note"), err, C.tr(chosen === "extend" ? "fu.need.reason" : "fu.need.note")); $("fu-note").focus(); return; }
    C.fieldError($("fu-note"), err, "");
    C.fieldError($("fu-public"), null, "");
    let path = "/api/v1/followups/" + enc(current.id), body;
    if (chosen === "extend") {
      path += "/extend";
      body = { reason: note };
    } else {
      path += "/transition";
      body = { to: chosen, note };
      if (chosen === "rejection_requested") {
        body.reason = $("fu-reason").value.trim();
        if (!body.reason) { C.fieldError($("fu-reason"), err, C.tr("fu.need.reason")); $("fu-reason").focus(); return; }
      }
      if (chosen === "revisited") {
        const v = document.querySelector("input[name=fu-view]:checked");
        if (!v) { const first = document.querySelector("input[name=fu-view]"); C.fieldError(first, err, C.tr("fu.need.view")); first.focus(); return; }
        body.citizen_view = v.value;
      }
      if (chosen === "rectified" || chosen === "revisited") body.public_summary = $("fu-public").value.trim();
    }
    busy = true;
    $("fu-submit").disabled = true;
    try {
      const r = await C.api("POST", path, body, { key: C.key() });
      if (r.status === 200) {
        $("fu-note").value = "";
        $("fu-reason").value = "";
        for (const i of document.querySelectorAll("input[name=fu-view]")) i.checked = false;
        render(r.body.followup);
        $("fu-done").textContent = C.tr("fu.moved", st(r.body.followup.status));
        $("fu-case").focus();
        list();
      } else if (r.status === 401) {
        C.toLogin();
      } else if (r.status === 400 && r.body && r.body.error && r.body.error.field === "public_summary") {
        C.fieldError($("fu-public"), err, C.tr("fu.summary.personal"));
        $("fu-public").focus();
      } else {
        err.textContent = C.tr("fu.failed", (r.body && r.body.error && r.body.error.message) || r.status);
      }
    } catch (x) {
      err.textContent = C.tr("error.network");
    } finally {
      busy = false;
      $("fu-submit").disabled = false;
    }
  });

  $("fu-reveal").addEventListener("click", async () => {
    if (!current) return;
    const b = $("fu-reveal");
    b.disabled = true;
    try {
      const r = await C.api("POST", "/api/v1/followups/" + enc(current.id) + "/phone");
      if (r.status === 200) {
        $("fu-phone").textContent = r.body.contact_phone;
        b.classList.add("hidden");
        $("fu-reveal-note").textContent = C.tr("fu.revealed");
        return;
      }
      $("fu-reveal-note").textContent = C.tr("fu.failed", (r.body && r.body.error && r.body.error.message) || r.status);
    } catch (x) {
      $("fu-reveal-note").textContent = C.tr("error.network");
    }
    b.disabled = false;
  });

  // A case changed elsewhere (another manager, a new bad rating): the list
  // follows; the open case too, unless a move is being written.
  C.stream(D.hall, {
    "followup.updated": (ev) => {
      list();
      if (current && ev.followup && ev.followup.id === current.id && !chosen) show(current.id, false);
    },
    "ticket.rated": (ev) => { if (ev.followup) list(); },
  });

  list();
  if (params.get("id")) show(params.get("id"), false);
})();
