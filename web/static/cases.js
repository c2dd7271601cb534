// The staff's case desk (办件管理): the hall's cases with filters, and one
// case with its materials, its history and the moves it may make next.
"use strict";
(function () {
  const C = window.CIVIQ;
  const $ = C.$;
  const enc = encodeURIComponent;
  const el = C.el;
  const cfg = $("desk-config");
  if (!cfg) return;
  const D = JSON.parse(cfg.textContent);
  const hallPath = "/api/v1/halls/" + enc(D.hall) + "/cases";
  // The moves each open status may make (case.go's state machine).
  const moves = {
    correction: ["accepted", "not_accepted"],
    accepted: ["reviewing", "finished", "refused"],
    reviewing: ["finished", "refused"],
  };
  const needReason = { not_accepted: true, refused: true };
  const behalfMoves = { accepted: true, finished: true };
  let current = null, busy = false;

  const fmt = (iso) => C.time(iso, "datetime", D.tz);
  function status(s) { return C.tr("case.status." + s); }
  function applicant(a) {
    const id = a.id_number ? C.tr("case.desk.id." + (a.id_type || "other")) + " " + a.id_number : "";
    return [a.name, a.phone, id].filter(Boolean).join(" · ");
  }

  // ---- the list ----
  async function list() {
    const q = new URLSearchParams();
    if ($("cd-status").value) q.set("status", $("cd-status").value);
    if ($("cd-overdue").checked) q.set("overdue", "1");
    q.set("limit", "200");
    const tbody = $("cd-table").querySelector("tbody");
    let r;
    try {
      r = await C.api("GET", hallPath + "?" + q.toString());
    } catch (e) {
      $("cd-count").textContent = C.tr("error.network");
      return;
    }
    if (r.status !== 200) {
      $("cd-count").textContent = C.tr("case.desk.failed", (r.body && r.body.error && r.body.error.message) || r.status);
      return;
    }
    const cases = r.body.cases;
    tbody.replaceChildren();
    $("cd-count").textContent = cases.length ? C.tr("case.desk.count", cases.length) : C.tr("case.desk.none");
    for (const c of cases) {
      const tr = el("tr");
      if (current && current.number === c.number) tr.className = "sel";
      const open = el("button", "linkish num", c.number);
      open.type = "button";
      open.setAttribute("aria-label", C.tr("case.desk.open", c.number));
      open.addEventListener("click", () => show(c.number, true));
      const st = el("td");
      st.append(el("span", "chip st-" + c.status, status(c.status)));
      if (c.overdue) st.append(" ", el("span", "chip warn", C.tr("case.overdue")));
      tr.append(el("td"), el("td", "", C.guideName(c)), el("td", "", c.applicant.name), st, el("td", "num", C.date(c.promised_date)));
      tr.firstChild.append(open);
      tbody.append(tr);
    }
  }
  $("cd-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const n = $("cd-number").value.trim();
    if (n) show(n, true); else list();
  });
  $("cd-status").addEventListener("change", list);
  $("cd-overdue").addEventListener("change", list);

  // ---- one case ----
  async function show(number, focus) {
    $("cd-case-h").textContent = C.tr("case.desk.loading");
    $("cd-done").textContent = "";
    let r;
    try {
      r = await C.api("GET", "/api/v1/cases/" + enc(number));
    } catch (e) {
      $("cd-case-h").textContent = C.tr("error.network");
      return;
    }
    if (r.status !== 200 || r.body.case.hall_id !== D.hall) {
      current = null;
      $("cd-body").classList.add("hidden");
      $("cd-case-h").textContent = C.tr("case.desk.not_found", number);
      return;
    }
    render(r.body.case);
    const u = new URL(location.href);
    u.searchParams.set("number", number);
    history.replaceState(null, "", u);
    if (focus) $("cd-case").focus();
    for (const tr of $("cd-table").querySelectorAll("tbody tr")) {
      tr.classList.toggle("sel", tr.querySelector("button").textContent === number);
    }
  }

  function render(c) {
    current = c;
    document.body.dataset.case = c.number;
    document.body.dataset.caseStatus = c.status;
    $("cd-case-h").textContent = c.number;
    $("cd-chip").textContent = status(c.status);
    $("cd-chip").className = "chip st-" + c.status;
    $("cd-overdue-chip").classList.toggle("hidden", !c.overdue);
    $("cd-guide").textContent = C.guideName(c) + " · " + (c.promised_days === 0 ? C.tr("case.instant") : C.tr("case.days", c.promised_days));
    $("cd-applicant").textContent = applicant(c.applicant);
    $("cd-ticket").textContent = c.ticket_number;
    $("cd-opened").textContent = fmt(c.opened_at);
    $("cd-promised").textContent = C.date(c.promised_date) || "—";
    $("cd-reason").textContent = c.reason || "";
    $("cd-reason").classList.toggle("hidden", !c.reason);
    $("cd-reason-k").classList.toggle("hidden", !c.reason);
    $("cd-progress").href = "/c/" + enc(c.number);
    $("cd-receipt").href = c.receipt_code ? "/receipts/" + enc(c.receipt_code) : "#";
    $("cd-receipt").classList.toggle("hidden", !c.receipt_code);

    const next = D.act ? moves[c.status] || [] : [];
    const tbody = $("cd-mats").querySelector("tbody");
    tbody.replaceChildren();
    for (const m of c.materials) {
      const st = el("td");
      if (m.status === "missing" && next.includes("accepted")) {
        const lab = el("label", "cd-recv");
        const box = el("input");
        box.type = "checkbox";
        box.dataset.material = m.id;
        lab.append(box, " " + C.tr("case.desk.mark_received"));
        st.append(el("span", "chip st-missing", C.tr("case.m.missing")), " ", lab);
      } else {
        st.append(el("span", "chip st-" + m.status, C.tr("case.m." + m.status)));
      }
      const tr = el("tr");
      tr.append(el("td", "", C.name(m)), el("td", "", C.tr("case.need." + m.necessity)), st);
      tbody.append(tr);
    }

    const hist = $("cd-history");
    hist.replaceChildren();
    for (const h of c.history || []) {
      const li = el("li");
      li.append(el("span", "num", fmt(h.at)), " ", h.from ? C.tr("case.desk.step", status(h.from), status(h.to)) : C.tr("case.desk.created", status(h.to)));
      if (h.by) li.append(" · " + C.tr("case.desk.by", h.by.replace(/^user:/, "")));
      if (h.on_behalf) li.append(" · " + C.tr("case.desk.behalf_by", C.tr("behalf." + h.on_behalf.role)));
      if (h.reason) li.append(el("div", "cd-h-reason", h.reason));
      if (h.note) li.append(el("div", "cd-h-note", h.note));
      hist.append(li);
    }

    const actions = $("cd-actions");
    actions.replaceChildren();
    for (const to of next) {
      const b = el("button", "btn" + (needReason[to] ? " warn" : to === "finished" || to === "accepted" ? " primary" : ""), C.tr("case.desk.to." + to));
      b.type = "button";
      b.dataset.to = to;
      b.addEventListener("click", () => move(to));
      actions.append(b);
    }
    $("cd-move").classList.toggle("hidden", !next.length);
    // A helper may act for the applicant on the moves the applicant takes
    // part in (case.go's CaseMove.OnBehalf).
    $("cd-behalf-row").classList.toggle("hidden", !next.some((to) => behalfMoves[to]));
    $("cd-behalf").value = "";
    $("cd-closed").classList.toggle("hidden", !!moves[c.status]);
    $("cd-error").textContent = "";
    $("cd-note").value = "";
    $("cd-why").value = "";
    $("cd-body").classList.remove("hidden");
  }

  async function move(to) {
    if (busy || !current) return;
    const err = $("cd-error");
    const why = $("cd-why").value.trim();
    if (needReason[to] && !why) {
      err.textContent = C.tr("case.desk.need_reason");
      $("cd-why").focus();
      return;
    }
    const body = { to, note: $("cd-note").value.trim() };
    if (needReason[to]) body.reason = why;
    if (behalfMoves[to] && $("cd-behalf").value) body.on_behalf = { role: $("cd-behalf").value };
    if (to === "accepted") {
      const boxes = [...$("cd-mats").querySelectorAll("input[data-material]")];
      if (boxes.some((b) => !b.checked)) {
        err.textContent = C.tr("case.desk.need_all");
        boxes.find((b) => !b.checked).focus();
        return;
      }
      body.materials = boxes.map((b) => ({ id: b.dataset.material, status: "received" }));
    }
    busy = true;
    for (const b of $("cd-actions").querySelectorAll("button")) b.disabled = true;
    try {
      const r = await C.api("POST", "/api/v1/cases/" + enc(current.number) + "/transition", body);
      if (r.status === 200) {
        // Read it again as staff see it: the answer to a move masks the applicant.
        await show(r.body.case.number, false);
        $("cd-done").textContent = C.tr("case.desk.moved", r.body.case.number, status(r.body.case.status));
        list();
      } else {
        err.textContent = C.tr("case.desk.failed", (r.body && r.body.error && r.body.error.message) || r.status);
      }
    } catch (e) {
      err.textContent = C.tr("error.network");
    } finally {
      busy = false;
      for (const b of $("cd-actions").querySelectorAll("button")) b.disabled = false;
    }
  }

  list();
  if (D.number) { $("cd-number").value = D.number; show(D.number, false); }
})();
