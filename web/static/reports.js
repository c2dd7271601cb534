// civiq reports: the staff and service reports of a period, as tables and
// charts, from GET /api/v1/halls/{hall}/reports/staff and /services; the
// file links are the same routes with ?format=xlsx or csv. The period is
// kept in the address (?from=&to=&by=), so a report can be linked.
"use strict";
(function () {
  const C = window.CIVIQ;
  const el = C.el, $ = C.$;
  const D = JSON.parse($("rp-config").textContent);
  const tz = D.timezone || "Asia/Shanghai";
  const base = "/api/v1/halls/" + encodeURIComponent(D.hall) + "/reports/";
  let staff = null, services = null, hours = null, loads = 0;

  const day = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
  const dash = "–";
  const pct = (x) => (x === null || x === undefined ? dash : C.pct(x));
  function mins(secs) {
    const m = Math.round(secs / 6) / 10;
    return C.tr("reports.min", m);
  }
  function hms(secs) {
    const h = Math.floor(secs / 3600), m = Math.round((secs % 3600) / 60);
    return h ? C.tr("reports.hm", h, m) : C.tr("reports.min", m);
  }
  const svcName = (r) => (C.lang === "en" && r.name_en) || r.name;
  function periodName(p) {
    const m = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(p);
    if (m) return m[1] === m[2] ? m[1] : m[1] + " – " + m[2];
    return p;
  }

  // The form starts from the address, else this month to today.
  const q = new URLSearchParams(location.search);
  const today = day(new Date());
  $("rp-from").value = q.get("from") || today.slice(0, 8) + "01";
  $("rp-to").value = q.get("to") || today;
  $("rp-by").value = q.get("by") || "range";

  function query() {
    return "from=" + encodeURIComponent($("rp-from").value) + "&to=" + encodeURIComponent($("rp-to").value) + "&by=" + encodeURIComponent($("rp-by").value);
  }

  async function load() {
    const err = $("rp-err");
    err.textContent = "";
    for (const id of ["rp-from", "rp-to", "rp-by"]) $(id).removeAttribute("aria-invalid");
    const from = $("rp-from").value, to = $("rp-to").value;
    for (const [id, v] of [["rp-from", from], ["rp-to", to]]) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) {
        $(id).setAttribute("aria-invalid", "true");
        err.textContent = C.tr(id === "rp-from" ? "reports.err.from" : "reports.err.to", C.tr("reports.err.date"));
        return;
      }
    }
    if (to < from) { // said here, without asking
      $("rp-to").setAttribute("aria-invalid", "true");
      err.textContent = C.tr("reports.err.to", C.tr("reports.err.order"));
      return;
    }
    const qs = query();
    $("rp-run").disabled = true;
    try {
      const [a, b, c] = await Promise.all([
        C.api("GET", base + "staff?" + qs, undefined, { retries: 2 }),
        C.api("GET", base + "services?" + qs, undefined, { retries: 2 }),
        C.api("GET", base + "services?" + qs.replace(/by=[^&]*/, "by=hour"), undefined, { retries: 2 }),
      ]);
      if (a.status === 401) { C.toLogin(); return; }
      for (const r of [a, b, c]) {
        if (r.status !== 200) {
          const e = (r.body && r.body.error) || {};
          const field = { from: "rp-from", to: "rp-to", by: "rp-by" }[e.field];
          if (field) $(field).setAttribute("aria-invalid", "true");
          err.textContent = C.tr("reports.err." + (e.field || "other"), e.message || "HTTP " + r.status);
          return;
        }
      }
      staff = a.body; services = b.body; hours = c.body; loads++;
      const u = new URL(location.href);
      for (const k of ["from", "to", "by"]) u.searchParams.set(k, $("rp-" + k).value);
      history.replaceState(null, "", u);
      for (const [id, kind, fmt] of [["rp-staff-xlsx", "staff", "xlsx"], ["rp-staff-csv", "staff", "csv"], ["rp-svc-xlsx", "services", "xlsx"], ["rp-svc-csv", "services", "csv"]]) {
        $(id).href = base + kind + "?" + qs + "&format=" + fmt;
      }
      render();
    } catch (e) {
      err.textContent = C.tr("reports.err.other", e.message);
    } finally {
      $("rp-run").disabled = false;
    }
  }

  // behalfCells are a row's 帮办代办: the tickets a helper took, and the
  // cases with, in brackets, those a helper handled.
  const behalfCells = (r) => [el("td", "n num", String(r.on_behalf)), el("td", "n num", r.cases + " (" + r.cases_on_behalf + ")")];

  function render() {
    const t = services.total;
    $("rk-arrivals").textContent = String(t.arrivals);
    $("rk-within").textContent = pct(t.within_target_share);
    $("rk-wait").textContent = t.called ? mins(t.mean_wait_seconds) + " / " + mins(t.p90_wait_seconds) : dash;
    $("rk-abandoned").textContent = t.abandoned + " (" + pct(t.abandoned_share) + ")";

    // Services, by period.
    const sb = $("rt-svc").querySelector("tbody");
    sb.replaceChildren(...services.rows.map((r) => {
      const tr = el("tr");
      tr.dataset.service = r.service_id;
      tr.dataset.period = r.period;
      const th = el("th", "", svcName(r));
      th.scope = "row";
      tr.append(el("td", "", periodName(r.period)), th, el("td", "n num", mins(r.target_seconds)), el("td", "n num", String(r.arrivals)),
        el("td", "n num", String(r.called)), el("td", "n num", r.called ? mins(r.mean_wait_seconds) : dash),
        el("td", "n num", r.called ? mins(r.p90_wait_seconds) : dash),
        el("td", "n num" + (r.within_target_share !== null && r.within_target_share < 0.8 ? " low" : ""), pct(r.within_target_share)),
        el("td", "n num", String(r.abandoned)), ...behalfCells(r));
      return tr;
    }));
    const ft = el("tr");
    const fth = el("th", "", C.tr("reports.total"));
    fth.scope = "row";
    ft.append(el("td", "", periodName(t.period)), fth, el("td", "n", ""), el("td", "n num", String(t.arrivals)), el("td", "n num", String(t.called)),
      el("td", "n num", t.called ? mins(t.mean_wait_seconds) : dash), el("td", "n num", t.called ? mins(t.p90_wait_seconds) : dash),
      el("td", "n num", pct(t.within_target_share)), el("td", "n num", String(t.abandoned)), ...behalfCells(t));
    $("rt-svc").querySelector("tfoot").replaceChildren(ft);

    // Clerks and counters.
    const stb = $("rt-staff").querySelector("tbody");
    stb.replaceChildren(...staff.rows.map((r) => {
      const tr = el("tr", "kind-" + r.kind);
      tr.dataset.kind = r.kind;
      tr.dataset.id = r.id;
      tr.dataset.period = r.period;
      // A counter as the screens name it (Counter 1 on an English page).
      const th = el("th", "", r.kind === "counter" ? C.counterName({ id: r.id, name: r.name }, "reports.kind.counter") : C.tr("reports.kind." + r.kind, r.name));
      th.scope = "row";
      tr.append(el("td", "", periodName(r.period)), th, el("td", "n num", String(r.served)),
        el("td", "n num", r.served ? mins(r.mean_handling_seconds) : dash), el("td", "n num", r.served ? mins(r.p90_handling_seconds) : dash),
        el("td", "n num", hms(r.idle_seconds)), el("td", "n num", String(r.no_shows)), el("td", "n num", String(r.transfers)),
        el("td", "n num", String(r.ratings)), el("td", "n num", pct(r.satisfaction_rate)), ...behalfCells(r));
      return tr;
    }));
    if (!staff.rows.length) {
      const tr = el("tr"), td = el("td", "", C.tr("reports.none"));
      td.colSpan = 12;
      tr.append(td);
      stb.append(tr);
    }

    // Charts: arrivals and calls by hour of the day; the share within
    // target by service over the period.
    const hs = [...new Set(hours.rows.map((r) => r.hour))].sort((a, b) => a - b);
    const sum = (h, k) => hours.rows.filter((r) => r.hour === h).reduce((a, r) => a + r[k], 0);
    C.barChart($("rc-hour"), {
      title: "rc-hour-h", desc: "rc-hour-d", first: C.tr("reports.chart.hour"), now: -1, unit: C.tr("reports.chart.people"),
      labels: hs.map((h) => String(h).padStart(2, "0") + (C.lang === "en" ? ":00" : "时")),
      series: [
        { name: C.tr("reports.chart.arrivals"), cls: "s-issued", values: hs.map((h) => sum(h, "arrivals")) },
        { name: C.tr("reports.chart.called"), cls: "s-called", values: hs.map((h) => sum(h, "called")) },
      ],
    });
    const whole = {};
    for (const r of hours.rows) {
      const w = whole[r.service_id] || (whole[r.service_id] = { name: svcName(r), within: 0, base: 0 });
      w.within += r.within_target; w.base += r.called + r.missed;
    }
    const ids = D.services.map((s) => s.id).filter((id) => whole[id]);
    C.barChart($("rc-svc"), {
      title: "rc-svc-h", desc: "rc-svc-d", first: C.tr("reports.col.service"), now: -1, unit: "%", max: 100,
      labels: ids.map((id) => whole[id].name),
      series: [{ name: C.tr("reports.chart.within"), cls: "s-within", values: ids.map((id) => (whole[id].base ? Math.round(whole[id].within / whole[id].base * 1000) / 10 : 0)) }],
      line: { value: 80, label: C.tr("reports.chart.goal") },
    });
  }

  $("rp-form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();

  // For tests and the curious.
  window.civiqReports = { staff: () => staff, services: () => services, hours: () => hours, loads: () => loads };
})();
