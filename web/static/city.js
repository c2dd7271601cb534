// civiq city overview: every hall's waiting count, longest current wait and
// today's satisfaction rate, live. One event stream serves the whole city
// (GET /api/v1/city/events says which halls changed); the page fetches only
// those halls again, gathered over half a second, or everything when many
// changed or the stream (re)opens. Nothing polls: longest waits tick on
// from the server's clock.
"use strict";
(function () {
  const C = window.CIVIQ;
  const el = C.el;
  const $ = C.$;
  const cfg = JSON.parse($("cy-config").textContent);
  const en = C.lang === "en";
  const halls = new Map(); // id -> hall
  let skew = 0;
  let sortKey = "longest", sortDesc = true, query = "";
  const dirty = new Set();
  let full = false, timer = null, fetching = false, fetches = 0;
  const FULL_ABOVE = 40; // more halls changed than this: fetch everything

  const tz = (cfg.overview.halls[0] && cfg.overview.halls[0].timezone) || "Asia/Shanghai";
  const hms = (t) => C.time(t, "seconds", tz);
  // The clock shows the server's time, like every figure.
  const clockEl = $("cy-clock");

  const now = () => Date.now() + skew;
  function mins(secs) {
    const m = Math.floor(Math.max(0, secs) / 60);
    return m >= 60 ? C.tr("city.hm", Math.floor(m / 60), m % 60) : C.tr("city.min", m);
  }
  function waitOf(h) { return h.longest_wait_since ? (now() - Date.parse(h.longest_wait_since)) / 1000 : -1; }
  function level(secs) { return secs > 3600 ? "bad" : secs > 1800 ? "warn" : ""; }
  function rateLevel(r) { return r === null ? "" : r < 0.9 ? "bad" : r < 0.95 ? "warn" : "good"; }

  function take(ov, all) {
    skew = Date.parse(ov.now) - Date.now();
    if (all) halls.clear();
    for (const h of ov.halls) halls.set(h.id, h);
    render();
    $("cy-updated").textContent = C.tr("city.updated", hms(new Date(now())));
    $("cy-updated").classList.remove("bad");
  }

  // ---- fetching, gathered ------------------------------------------------
  function schedule(delay) {
    if (fetching || timer) return;
    timer = setTimeout(() => { timer = null; load(); }, delay === undefined ? 500 : delay);
  }

  async function load() {
    const all = full || dirty.size > FULL_ABOVE;
    const ids = [...dirty];
    full = false;
    dirty.clear();
    if (!all && !ids.length) return;
    fetching = true; fetches++;
    try {
      const res = await C.api("GET", "/api/v1/city" + (all ? "" : "?halls=" + ids.map(encodeURIComponent).join(",")), undefined, { retries: 2 });
      if (res.status === 401) { C.toLogin(); return; }
      if (res.status !== 200) throw new Error((res.body && res.body.error && res.body.error.message) || "HTTP " + res.status);
      take(res.body, all);
    } catch (err) {
      // Try these halls again with the next change.
      if (all) full = true; else for (const id of ids) dirty.add(id);
      $("cy-updated").textContent = C.tr("city.error", err.message);
      $("cy-updated").classList.add("bad");
    } finally {
      fetching = false;
      if (full || dirty.size) schedule();
    }
  }

  // ---- the stream ----------------------------------------------------------
  const live = $("cy-live");
  function state(up) {
    live.textContent = C.tr(up ? "city.live.on" : "city.live.off");
    live.classList.toggle("down", !up);
  }
  function open() {
    C.follow("/api/v1/city/events", {
      halls(d) {
        for (const id of d.halls || []) dirty.add(id);
        schedule();
      },
    }, (up) => {
      state(up);
      if (up) { full = true; schedule(0); }
    });
  }

  // ---- rendering ---------------------------------------------------------
  function sorted() {
    const list = [...halls.values()].filter((h) => !query || C.name(h).toLowerCase().includes(query) || h.id.includes(query) || h.name.includes(query));
    const val = {
      name: (h) => C.name(h),
      waiting: (h) => h.waiting,
      longest: (h) => waitOf(h),
      counters: (h) => h.counters_open,
      ratings: (h) => h.ratings,
      rate: (h) => (h.satisfaction_rate === null ? -1 : h.satisfaction_rate),
    }[sortKey];
    list.sort((a, b) => {
      const x = val(a), y = val(b);
      let c = typeof x === "string" ? x.localeCompare(y, en ? "en" : "zh-CN") : x - y;
      if (sortDesc) c = -c;
      return c || a.id.localeCompare(b.id);
    });
    return list;
  }

  function render() {
    let waiting = 0, open = 0, counters = 0, ratings = 0, satisfied = 0, oldest = null;
    for (const h of halls.values()) {
      waiting += h.waiting; open += h.counters_open; counters += h.counters;
      ratings += h.ratings; satisfied += h.satisfied;
      if (h.longest_wait_since && (!oldest || Date.parse(h.longest_wait_since) < Date.parse(oldest.longest_wait_since))) oldest = h;
    }
    $("ck-halls").textContent = String(halls.size);
    $("ck-halls-s").textContent = C.tr("city.k.halls.sub", open, counters);
    $("ck-waiting").textContent = String(waiting);
    $("ck-waiting-s").textContent = C.tr("city.k.waiting.sub", halls.size ? String(Math.round(waiting / halls.size * 10) / 10) : "0");
    $("ck-longest-box").dataset.since = oldest ? oldest.longest_wait_since : "";
    $("ck-longest-s").textContent = oldest ? C.name(oldest) : C.tr("city.k.longest.none");
    const rate = ratings ? satisfied / ratings : null;
    $("ck-rate").textContent = rate === null ? C.tr("city.dash") : C.pct(rate);
    $("ck-rate-s").textContent = rate === null ? C.tr("city.k.rate.none") : C.tr("city.k.rate.sub", ratings, satisfied);
    const rb = $("ck-rate-box");
    rb.classList.remove("good", "warn", "bad");
    if (rateLevel(rate)) rb.classList.add(rateLevel(rate));

    const list = sorted(), maxW = Math.max(1, ...list.map((h) => h.waiting));
    const rows = $("cy-rows");
    rows.replaceChildren();
    for (const h of list) {
      const tr = el("tr");
      tr.dataset.hall = h.id;
      const th = el("th");
      th.scope = "row";
      th.append(el("span", "cy-name", C.name(h)));
      if (en && h.name_en && h.name_en !== h.name) th.append(el("span", "cy-alt", h.name));
      if (h.edge) { // the hall's edge node: behind or silent is marked
        const b = el("span", "cy-edge " + h.edge.health, C.tr("city.edge." + h.edge.health));
        b.dataset.edge = h.edge.health;
        th.append(b);
      }
      const w = el("td", "n cy-bar-col"), cell = el("div", "barcell");
      const track = el("span", "qbar-track"), bar = el("span", "qbar");
      bar.style.width = (h.waiting / maxW * 100) + "%";
      track.append(bar);
      cell.append(track, el("span", "bar-num num", String(h.waiting)));
      w.append(cell);
      const lw = el("td", "n num longest");
      lw.dataset.since = h.longest_wait_since || "";
      const ctr = el("td", "n num" + (h.waiting > 0 && h.counters_open === 0 ? " bad" : ""), h.counters_open + " / " + h.counters);
      const rt = el("td", "n num cy-rate-col " + rateLevel(h.satisfaction_rate), h.satisfaction_rate === null ? C.tr("city.rate.none") : C.pct(h.satisfaction_rate));
      const link = el("td", "n");
      const a = el("a", "btn small", C.tr("city.open"));
      a.href = "/halls/" + encodeURIComponent(h.id) + "/dashboard";
      a.setAttribute("aria-label", C.tr("city.open.label", C.name(h)));
      link.append(a);
      tr.append(th, w, lw, ctr, el("td", "n num", String(h.ratings)), rt, link);
      rows.append(tr);
    }
    const empty = $("cy-empty");
    empty.classList.toggle("hidden", list.length > 0);
    empty.textContent = halls.size ? C.tr("city.nomatch", query) : C.tr("city.none");
    for (const th of document.querySelectorAll(".cy-table th[data-sort]")) {
      th.setAttribute("aria-sort", th.dataset.sort === sortKey ? (sortDesc ? "descending" : "ascending") : "none");
    }
    tick();
  }

  // tick moves the longest waits on by the server's clock.
  function tick() {
    clockEl.textContent = hms(new Date(now()));
    const box = $("ck-longest-box"), since = box.dataset.since;
    const secs = since ? (now() - Date.parse(since)) / 1000 : -1;
    $("ck-longest").textContent = since ? mins(secs) : C.tr("city.dash");
    box.classList.remove("warn", "bad");
    if (since && level(secs)) box.classList.add(level(secs));
    for (const td of document.querySelectorAll("td.longest")) {
      const s = td.dataset.since;
      const w = s ? (now() - Date.parse(s)) / 1000 : -1;
      td.textContent = s ? mins(w) : C.tr("city.dash");
      td.classList.remove("warn", "bad");
      if (s && level(w)) td.classList.add(level(w));
    }
  }
  setInterval(tick, 1000);

  for (const th of document.querySelectorAll(".cy-table th[data-sort]")) {
    const b = th.querySelector("button");
    b.title = C.tr("city.sort");
    b.addEventListener("click", () => {
      const k = th.dataset.sort;
      if (k === sortKey) sortDesc = !sortDesc;
      else { sortKey = k; sortDesc = k !== "name"; }
      render();
    });
  }
  $("cy-q").addEventListener("input", (e) => { query = e.target.value.trim().toLowerCase(); render(); });

  take(cfg.overview, true);
  $("cy-updated").textContent = "";
  open();
  window.civiqCity = { halls: () => [...halls.values()], fetches: () => fetches };
})();
