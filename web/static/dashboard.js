// civiq dashboard: a hall's queues, counters and day for its managers.
// The figures come from GET /api/v1/halls/{hall}/dashboard; the hall's
// event stream says when they change, and the page fetches them again,
// gathered (one fetch for a burst of events, never more than one at a
// time). Nothing polls: waits tick on from the server's clock, and the
// page fetches once more when the server says a figure will change with
// no event (a ticket passing the target, midnight).
"use strict";
(function () {
  const C = window.CIVIQ;
  const el = C.el, svg = C.svg;
  const $ = C.$;
  const D = JSON.parse($("db-config").textContent);
  const en = C.lang === "en";
  const svcs = {};
  for (const s of D.services) svcs[s.id] = s;
  const svcName = (id) => (svcs[id] ? C.name(svcs[id]) : id);
  const tz = D.timezone || "Asia/Shanghai";
  const hm = (t) => C.time(t, "time", tz);
  const hms = (t) => C.time(t, "seconds", tz);
  // The clock shows the server's time (the hall's), like every figure.
  const clockEl = $("db-clock");
  clockEl.textContent = hms(new Date());

  let target = D.target || 15;
  let data = null;        // the last dashboard
  let skew = 0;           // server time minus this machine's
  let fetching = false, again = false, timer = null, changeTimer = null;
  let fetches = 0;        // for tests: how many fetches were made

  // ---- formatting -------------------------------------------------------
  function mins(secs) {
    if (secs === null || secs === undefined) return C.tr("dashboard.dash");
    const m = Math.floor(secs / 60);
    if (m >= 60) return C.tr("dashboard.hm", Math.floor(m / 60), m % 60);
    return C.tr("dashboard.min", m);
  }
  function clockOf(secs) {
    secs = Math.max(0, Math.floor(secs));
    const m = Math.floor(secs / 60), s = secs % 60;
    return m + ":" + String(s).padStart(2, "0");
  }
  const pct = (x) => (x === null || x === undefined ? C.tr("dashboard.dash") : C.pct(x));
  function now() { return Date.now() + skew; }
  function set(id, text) { const e = $(id); if (e.textContent !== text) e.textContent = text; }

  // ---- fetching, gathered ------------------------------------------------
  // schedule asks for a fetch soon; events that come meanwhile ride on it.
  function schedule(delay) {
    if (fetching) { again = true; return; }
    if (timer) return;
    timer = setTimeout(() => { timer = null; load(); }, delay === undefined ? 300 : delay);
  }

  async function load() {
    fetching = true; again = false; fetches++;
    try {
      const res = await C.api("GET", "/api/v1/halls/" + encodeURIComponent(D.hall) + "/dashboard?target_minutes=" + target, undefined, { retries: 2 });
      if (res.status === 401) { C.toLogin(); return; }
      if (res.status !== 200) throw new Error((res.body && res.body.error && res.body.error.message) || "HTTP " + res.status);
      data = res.body;
      skew = Date.parse(data.now) - Date.now();
      render();
      set("db-updated", C.tr("dashboard.updated", hms(new Date(now()))));
      $("db-updated").classList.remove("bad");
      planChange();
    } catch (err) {
      set("db-updated", C.tr("dashboard.error", err.message));
      $("db-updated").classList.add("bad");
    } finally {
      fetching = false;
      if (again) schedule();
    }
  }

  // planChange fetches again when a waiting ticket passes the target or
  // the day ends, which no event tells.
  function planChange() {
    clearTimeout(changeTimer);
    if (!data || !data.next_change_at) return;
    const wait = Date.parse(data.next_change_at) - now() + 1000;
    changeTimer = setTimeout(() => schedule(0), Math.min(Math.max(wait, 1000), 6 * 3600 * 1000));
  }

  // ---- rendering ---------------------------------------------------------
  function render() {
    const d = data, td = d.today, tmin = Math.round(d.target_seconds / 60);
    set("kv-waiting", String(d.waiting));
    set("ks-waiting", td.missed > 0 ? C.tr("dashboard.k.waiting.sub", td.missed, tmin) : C.tr("dashboard.k.waiting.none"));
    $("k-waiting").classList.toggle("warn", td.missed > 0);
    set("kh-within", C.tr("dashboard.k.within", tmin));
    set("kv-within", pct(td.within_target_share));
    set("ks-within", td.within_target_share === null ? C.tr("dashboard.k.within.none")
      : C.tr("dashboard.k.within.sub", td.within_target, td.called + td.missed));
    const share = td.within_target_share;
    $("k-within").classList.toggle("good", share !== null && share >= 0.8);
    $("k-within").classList.toggle("warn", share !== null && share < 0.8 && share >= 0.6);
    $("k-within").classList.toggle("bad", share !== null && share < 0.6);
    set("kv-served", String(td.served));
    set("ks-served", C.tr("dashboard.k.served.sub", td.issued, td.no_shows, td.cancelled));
    set("kv-mean", td.called ? mins(td.mean_wait_seconds) : C.tr("dashboard.dash"));
    set("ks-mean", C.tr("dashboard.k.mean.sub", td.called ? mins(td.max_wait_seconds) : C.tr("dashboard.dash"),
      td.served ? mins(td.mean_handling_seconds) : C.tr("dashboard.dash")));
    const cs = d.counter_states;
    set("kv-counters", C.tr("dashboard.k.counters.value", cs.open, d.counters.length));
    set("ks-counters", C.tr("dashboard.k.counters.sub", cs.busy, cs.paused, cs.closed));
    renderAlerts();
    renderServices();
    renderCounters();
    tick();
    renderCharts();
  }

  function renderServices() {
    const d = data, rows = $("svc-rows"), maxW = Math.max(1, ...d.services.map((s) => s.waiting));
    rows.replaceChildren();
    const tot = { waiting: 0, priority: 0, open: 0, issued: 0, called: 0, served: 0, wait: 0, within: 0 };
    for (const s of d.services) {
      const tr = el("tr");
      tr.dataset.service = s.id;
      const th = el("th");
      th.scope = "row";
      th.append(el("span", "pfx", s.prefix || ""), " ", svcName(s.id));
      tr.append(th);
      const w = el("td", "n db-bar-col"), cell = el("div", "barcell"), track = el("span", "qbar-track"), bar = el("span", "qbar");
      bar.style.width = (s.waiting / maxW * 100) + "%";
      track.append(bar);
      cell.append(track, el("span", "bar-num num", String(s.waiting)));
      w.append(cell);
      tr.append(w);
      const longest = el("td", "n num longest");
      longest.dataset.since = s.longest_wait_since || "";
      tr.append(el("td", "n num", String(s.priority)), longest,
        el("td", "n num" + (s.waiting > 0 && s.open_counters === 0 ? " bad" : ""), String(s.open_counters)),
        el("td", "n num", String(s.issued)), el("td", "n num", String(s.called)), el("td", "n num", String(s.served)),
        el("td", "n num", s.called ? mins(s.mean_wait_seconds) : C.tr("dashboard.dash")),
        el("td", "n num", s.called + s.missed ? pct(s.within_target / (s.called + s.missed)) : C.tr("dashboard.dash")));
      rows.append(tr);
      tot.waiting += s.waiting; tot.priority += s.priority; tot.issued += s.issued; tot.called += s.called;
      tot.served += s.served; tot.wait += s.mean_wait_seconds * s.called; tot.within += s.within_target;
    }
    const foot = el("tr");
    const th = el("th", "", C.tr("dashboard.svc.total"));
    th.scope = "row";
    const longest = el("td", "n num longest");
    longest.dataset.since = d.longest_wait_since || "";
    foot.append(th, el("td", "n num", String(tot.waiting)), el("td", "n num", String(tot.priority)), longest,
      el("td", "n num", String(d.counter_states.open)), el("td", "n num", String(tot.issued)), el("td", "n num", String(tot.called)),
      el("td", "n num", String(tot.served)), el("td", "n num", tot.called ? mins(d.today.mean_wait_seconds) : C.tr("dashboard.dash")),
      el("td", "n num", pct(d.today.within_target_share)));
    $("svc-foot").replaceChildren(foot);
  }

  // The services' alerts (raised past their alert level) and the counters
  // idle while their services have people waiting.
  function renderAlerts() {
    const d = data, items = [];
    for (const a of d.alerts || []) {
      const li = el("li", "al-item");
      li.dataset.service = a.service_id;
      li.append(el("b", "", C.tr("dashboard.alert.line", svcName(a.service_id), mins(a.alert_seconds), mins(a.longest_wait_seconds),
        mins(a.expected_wait_seconds), a.waiting)), " ",
      el("span", "al-do", a.open_more > 0 ? C.tr("dashboard.alert.more", a.open_more, a.open_counters, a.suggested_counters)
        : C.tr("dashboard.alert.enough", a.open_counters)), " ",
      el("span", "al-since", C.tr("dashboard.alert.since", hm(new Date(a.since)))));
      items.push(li);
    }
    const idle = d.counters.filter((c) => c.idle);
    if (idle.length) items.push(el("li", "al-item al-idle", C.tr("dashboard.alert.idle", idle.length, C.list(idle.map(counterName)))));
    $("al-list").replaceChildren(...items);
    $("db-alerts").hidden = items.length === 0;
    $("db-alerts").classList.toggle("raised", (d.alerts || []).length > 0);
  }

  function renderCounters() {
    const ul = $("ctr-tiles");
    ul.replaceChildren();
    if (!data.counters.length) { ul.append(el("li", "ctr-none", C.tr("dashboard.ctr.none"))); return; }
    for (const c of data.counters) {
      // Open or paused with nobody signed in and no ticket: 未开放, as the
      // hall's screens show it (shown), not 空闲.
      const nobody = c.shown === "closed" && c.status !== "closed";
      const state = nobody ? "closed" : c.status;
      const li = el("li", "ctr-tile state-" + state + (c.current_number ? " busy" : "") + (c.idle ? " idle" : ""));
      li.dataset.counter = c.id;
      const head = el("div", "ctr-h");
      head.append(el("span", "ctr-name", counterName(c)), el("span", "pill pill-" + state, C.tr(nobody ? "dashboard.ctr.unstaffed" : "dashboard.ctr." + c.status)));
      const body = el("div", "ctr-b");
      if (c.current_number) {
        body.append(el("span", "ctr-num num", c.current_number));
        const t = el("span", "ctr-t");
        t.append(C.tr("dashboard.ctr." + c.current_status) + " ");
        const tm = el("time", "num ctr-timer");
        tm.dataset.since = c.current_since || "";
        t.append(tm);
        body.append(t);
      } else {
        body.append(el("span", "ctr-idle", c.shown === "closed" ? C.tr(nobody ? "dashboard.ctr.unstaffed_" + c.status : "dashboard.ctr.unstaffed")
          : c.status === "paused" && c.pause_reason ? C.pauseReason(c.pause_reason, D.pauses)
          : C.tr(c.idle ? "dashboard.ctr.idleWaiting" : "dashboard.ctr.idle")));
      }
      li.append(head, body, el("p", "ctr-served", C.tr("dashboard.ctr.served", c.served)));
      li.append(el("p", "ctr-clerk", c.clerk ? C.tr("dashboard.ctr.clerk", c.clerk) : C.tr("dashboard.ctr.no_clerk")));
      li.title = (c.service_ids || []).map(svcName).join(" · ");
      ul.append(li);
    }
  }

  const counterName = (c) => C.counterName(c, "dashboard.ctr.counter");

  // tick moves the waits and timers on, by the server's clock.
  function tick() {
    const t = now();
    clockEl.textContent = hms(new Date(t));
    if (!data) return;
    if (data.longest_wait_since) {
      const secs = (t - Date.parse(data.longest_wait_since)) / 1000;
      set("kv-longest", mins(secs));
      let who = "";
      for (const s of data.services) if (s.longest_wait_since === data.longest_wait_since) who = svcName(s.id);
      set("ks-longest", C.tr("dashboard.k.longest.sub", hm(new Date(data.longest_wait_since)), who));
      $("k-longest").classList.toggle("warn", secs > data.target_seconds);
    } else {
      set("kv-longest", C.tr("dashboard.dash"));
      set("ks-longest", C.tr("dashboard.k.longest.none"));
      $("k-longest").classList.remove("warn");
    }
    for (const td of document.querySelectorAll("td.longest")) {
      const since = td.dataset.since;
      const secs = since ? (t - Date.parse(since)) / 1000 : null;
      td.textContent = since ? mins(secs) : C.tr("dashboard.dash");
      td.classList.toggle("warn", secs !== null && secs > data.target_seconds);
    }
    for (const tm of document.querySelectorAll("time.ctr-timer")) {
      tm.textContent = tm.dataset.since ? clockOf((t - Date.parse(tm.dataset.since)) / 1000) : "";
    }
  }
  setInterval(tick, 1000);

  // ---- charts (CIVIQ.barChart) -------------------------------------------
  const barChart = (box, o) => C.barChart(box, Object.assign({ first: C.tr("dashboard.chart.hour") }, o));

  function renderCharts() {
    const hours = data.hours, labels = hours.map((h) => String(h.hour).padStart(2, "0") + (en ? ":00" : "时"));
    const cur = Number(hm(new Date(now())).slice(0, 2));
    const nowIdx = hours.findIndex((h) => h.hour === cur);
    barChart($("ch-arr"), {
      title: "ch-arr-h", desc: "ch-arr-d", labels, now: nowIdx, unit: C.tr("dashboard.chart.people"),
      series: [
        { name: C.tr("dashboard.chart.issued"), cls: "s-issued", values: hours.map((h) => h.arrivals) },
        { name: C.tr("dashboard.chart.called"), cls: "s-called", values: hours.map((h) => h.called) },
      ],
    });
    const tmin = data.target_seconds / 60;
    const r1 = (s) => Math.round(s / 6) / 10;
    barChart($("ch-wait"), {
      title: "ch-wait-h", desc: "ch-wait-d", labels, now: nowIdx, unit: C.tr("dashboard.chart.minutes"),
      series: [{ name: C.tr("dashboard.chart.mean"), cls: "s-mean", over: tmin, values: hours.map((h) => r1(h.mean_wait_seconds)), fmt: (v) => Math.round(v) }],
      marker: { name: C.tr("dashboard.chart.max"), cls: "m-max", values: hours.map((h) => r1(h.max_wait_seconds)) },
      line: { value: tmin, label: C.tr("dashboard.chart.target", Math.round(tmin)) },
    });
  }

  // ---- the target --------------------------------------------------------
  $("db-target").addEventListener("change", (e) => {
    target = Number(e.target.value) || 15;
    const u = new URL(location.href);
    u.searchParams.set("target", target);
    history.replaceState(null, "", u);
    schedule(0);
  });
  $("db-target-form").addEventListener("submit", (e) => e.preventDefault());

  // ---- 好差评 today -------------------------------------------------------
  // The day's ratings report (counts by level, satisfaction rate) and the
  // cases not closed, fetched again, gathered, when a rating comes or a
  // case moves.
  const hallDay = () => C.isoDay(now(), tz);
  const scheduleRates = C.soon(() => loadRates(), 400);
  async function loadRates() {
    const hall = "/api/v1/halls/" + encodeURIComponent(D.hall);
    const day = hallDay();
    try {
      const [rep, fus] = await Promise.all([
        C.api("GET", hall + "/reports/ratings?from=" + day + "&to=" + day, undefined, { retries: 2 }),
        C.api("GET", hall + "/followups/counts", undefined, { retries: 2 }),
      ]);
      if (rep.status !== 200 || fus.status !== 200) return;
      const r = rep.body, overdue = fus.body.overdue;
      set("rt-rate", r.total ? C.pct(r.satisfaction_rate) : C.tr("dashboard.dash"));
      set("rt-total", C.tr("dashboard.r.total", r.total));
      set("rt-open", String(fus.body.open));
      set("rt-overdue", String(overdue));
      $("rt-overdue-f").classList.toggle("bad", overdue > 0);
      const most = Math.max(1, ...Object.values(r.by_score));
      const rows = [];
      for (let s = 5; s >= 1; s--) {
        const n = r.by_score[String(s)] || 0;
        const tr = el("tr", "rt-s" + s);
        const cell = el("td", "rt-barcell");
        if (n) { // a level nobody gave has no bar, not a sliver
          const bar = el("span", "rt-bar");
          bar.style.width = Math.round((n / most) * 100) + "%";
          cell.append(bar);
        }
        tr.append(el("th", "rt-level", C.tr("rate.s" + s)), cell, el("td", "num rt-n", String(n)));
        rows.push(tr);
      }
      $("db-rates").querySelector("tbody").replaceChildren(...rows);
    } catch (e) { /* the next event or reconnection tries again */ }
  }

  // ---- live --------------------------------------------------------------
  const live = $("db-live");
  const again_ = () => schedule();
  const handlers = {};
  for (const name of ["ticket.issued", "ticket.called", "ticket.recalled", "ticket.serving", "ticket.done", "ticket.no_show",
    "ticket.transferred", "ticket.returned", "ticket.cancelled", "counter.updated", "service.alert"]) handlers[name] = again_;
  handlers["ticket.rated"] = scheduleRates;
  handlers["followup.updated"] = scheduleRates;
  C.stream(D.hall, handlers, (up) => {
    live.textContent = C.tr(up ? "dashboard.live.on" : "dashboard.live.off");
    live.classList.toggle("down", !up);
    if (up) { schedule(0); scheduleRates(); } // (re)connected: whatever happened meanwhile is in the next fetch
  });
  schedule(0);

  // For tests and the curious.
  window.civiqDashboard = { data: () => data, fetches: () => fetches };
})();
