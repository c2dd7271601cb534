// civiq staffing planner: asks the API for the counters each service needs
// in each slot of the day (Erlang C, checked by simulation) and shows them
// as a stacked chart and a table, with the CSV and the profile to download.
"use strict";
(function () {
  const C = window.CIVIQ;
  const el = C.el, svg = C.svg;
  const $ = C.$;
  const D = JSON.parse($("pl-config").textContent);
  const svcs = {};
  for (const s of D.services) svcs[s.id] = s;
  // One colour per service, in the hall's order; enough for most halls.
  const palette = ["#1a5fb4", "#c64600", "#26a269", "#9141ac", "#a51d2d", "#1c71d8", "#865e3c", "#5e5c64"];
  const form = $("pl-form");
  let plan = null, fileText = null, fileName = "", csvBlobURL = null;

  const name = (s) => (svcs[s.id] ? C.name(svcs[s.id]) : s.name || s.id);
  const pct = C.pct;

  // ---- the form ----------------------------------------------------------
  const fieldError = (id, msg) => C.fieldError($(id), $(id + "-err"), msg);

  function read() {
    const src = form.elements.source.value;
    const goal = Number(form.elements.goal.value), target = Number(form.elements.target.value);
    let ok = fieldError("pl-goal", Number.isInteger(goal) && goal >= 50 && goal <= 99 ? "" : C.tr("planner.err.goal"));
    ok = fieldError("pl-target", Number.isInteger(target) && target >= 1 && target <= 240 ? "" : C.tr("planner.err.target")) && ok;
    ok = fieldError("pl-file", src !== "profile" || fileText !== null ? "" : C.tr("planner.err.file")) && ok;
    if (!ok) return null;
    const q = new URLSearchParams({ goal: String(goal / 100), target_minutes: String(target) });
    if (src === "history") q.set("days", form.elements.days.value);
    if (src === "example") q.set("source", "example");
    return { src, q };
  }

  // Choosing a file chooses the upload; the file is read meanwhile, and a
  // plan asked for at once waits for it.
  let fileRead = Promise.resolve();
  $("pl-file").addEventListener("change", (e) => {
    const f = e.target.files[0];
    fileName = f ? f.name : "";
    fileText = null;
    if (f) form.elements.source.value = "profile";
    fieldError("pl-file", "");
    fileRead = f ? f.text().then((t) => { fileText = t; }, () => { fileText = null; }) : Promise.resolve();
  });

  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });

  function say(text, bad) {
    const m = $("pl-msg");
    m.textContent = text || "";
    m.classList.toggle("bad", !!bad);
  }

  const base = "/api/v1/halls/" + encodeURIComponent(D.hall) + "/plan";

  async function run(first) {
    await fileRead;
    const req = read();
    if (!req) return;
    $("pl-run").disabled = true;
    say(C.tr("planner.running"));
    try {
      const res = req.src === "profile"
        ? await postProfile("?" + req.q.toString(), "json")
        : await C.api("GET", base + "?" + req.q.toString(), undefined, { retries: 1 });
      if (res.status === 401) { C.toLogin(); return; }
      if (res.status !== 200) {
        const e = (res.body && res.body.error) || {};
        if (res.status === 409 && e.field === "days" && first) {
          // A hall with no history yet: show the example day meanwhile.
          form.elements.source.value = "example";
          await run(false);
          say(C.tr("planner.err.nohistory.example"));
          return;
        }
        if (res.status === 409 && e.field === "days") say(C.tr("planner.err.nohistory"), true);
        else say(C.tr("planner.err.other", e.message || "HTTP " + res.status), true);
        return;
      }
      plan = res.body;
      say("");
      render(req);
    } catch (err) {
      say(C.tr("planner.err.other", err.message), true);
    } finally {
      $("pl-run").disabled = false;
    }
  }

  // postProfile sends the uploaded profile as the body; the CSV comes as
  // a Blob.
  function postProfile(query, kind) {
    const csv = kind === "csv";
    return C.api("POST", base + query + (csv ? "&format=csv&lang=" + C.lang : ""), undefined, { raw: fileText, blob: csv });
  }

  // ---- the answer ----------------------------------------------------------
  function render(req) {
    $("pl-result").classList.remove("hidden");
    let peak = 0, peakAt = "", hours = 0;
    for (const s of plan.slots) if (s.counters > peak) { peak = s.counters; peakAt = s.from; }
    for (const s of plan.services) hours += s.counter_hours;
    $("pk-peak").textContent = String(peak);
    $("pk-peak-s").textContent = peakAt ? C.tr("planner.k.peak.sub", peakAt) : "";
    $("pk-hours").textContent = String(Math.round(hours * 10) / 10);
    $("pk-sim").textContent = pct(plan.check.within_target);
    $("pk-sim-s").textContent = C.tr("planner.k.sim.sub", plan.check.days, Math.round(plan.goal * 100));
    $("pk-sim-box").classList.toggle("good", plan.check.meets_goal);
    $("pk-sim-box").classList.toggle("bad", !plan.check.meets_goal);
    $("pk-check").textContent = !plan.check.meets_goal ? C.tr("planner.k.check.short")
      : plan.check.added ? C.tr("planner.k.check.added", plan.check.added) : C.tr("planner.k.check.ok");
    $("pk-from").textContent = plan.source === "history" ? C.tr("planner.from.history", plan.history_from, plan.history_to, plan.history_days)
      : plan.source === "example" ? C.tr("planner.from.example") : C.tr("planner.from.profile", fileName);
    chart();
    table();
    const csv = $("pl-csv");
    if (req.src === "profile") {
      csv.href = "#";
      csv.dataset.post = req.q.toString();
    } else {
      delete csv.dataset.post;
      const q = new URLSearchParams(req.q);
      q.set("format", "csv");
      q.set("lang", C.lang);
      csv.href = base + "?" + q.toString();
    }
  }

  function chart() {
    const W = 760, H = 330, L = 40, R = 12, T = 44, B = 30;
    const n = plan.slots.length, pw = W - L - R, ph = H - T - B;
    const top = Math.max(4, Math.ceil(Math.max(0, ...plan.slots.map((s) => s.counters)) / 4) * 4);
    const y = (v) => T + ph - (v / top) * ph;
    const g = pw / Math.max(n, 1), bw = Math.min(g * 0.7, 46);
    const box = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": "pl-chart-h", "aria-describedby": "pl-chart-d", class: "chart-svg" });
    for (let i = 0; i <= 4; i++) {
      const v = top / 4 * i;
      box.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: i ? "grid" : "axis" }));
      box.append(svg("text", { x: L - 8, y: y(v) + 4, class: "tick", "text-anchor": "end" }, String(v)));
    }
    box.append(svg("text", { x: 2, y: T - 12, class: "unit" }, C.tr("planner.chart.counters")));
    plan.slots.forEach((sl, i) => {
      const x = L + g * i + (g - bw) / 2;
      let acc = 0;
      plan.services.forEach((s, si) => {
        const c = s.cells[i].counters;
        if (c > 0) {
          const r = svg("rect", { x, y: y(acc + c), width: bw, height: y(acc) - y(acc + c), fill: palette[si % palette.length], class: "seg" });
          r.append(svg("title", {}, name(s) + " " + sl.from + "–" + sl.to + ": " + c));
          box.append(r);
        }
        acc += c;
      });
      if (acc > 0) box.append(svg("text", { x: x + bw / 2, y: y(acc) - 5, class: "val", "text-anchor": "middle" }, String(acc)));
      box.append(svg("text", { x: x + bw / 2, y: H - B + 18, class: "tick", "text-anchor": "middle" }, sl.from));
    });
    const sr = el("table", "sr-only");
    const hr = el("tr");
    hr.append(el("th", "", C.tr("planner.table.slot")));
    for (const s of plan.services) hr.append(el("th", "", name(s)));
    sr.append(hr);
    plan.slots.forEach((sl, i) => {
      const tr = el("tr");
      tr.append(el("td", "", sl.from + "–" + sl.to));
      for (const s of plan.services) tr.append(el("td", "", String(s.cells[i].counters)));
      sr.append(tr);
    });
    $("pl-chart").replaceChildren(box, sr);
    // The legend, across the top, laid out by the width of its words.
    let lx = L;
    plan.services.forEach((s, si) => {
      box.append(svg("rect", { x: lx, y: 7, width: 14, height: 14, rx: 2, fill: palette[si % palette.length] }));
      const t = svg("text", { x: lx + 19, y: 19, class: "legend" }, name(s));
      box.append(t);
      lx += 19 + t.getComputedTextLength() + 16;
    });
  }

  function table() {
    const t = $("pl-table");
    t.replaceChildren();
    const head = el("thead"), hr = el("tr");
    const th0 = el("th", "", C.tr("planner.table.slot"));
    th0.scope = "col";
    hr.append(th0);
    plan.services.forEach((s, si) => {
      const th = el("th", "n");
      th.scope = "col";
      const sw = el("span", "sw");
      sw.style.background = palette[si % palette.length];
      th.append(sw, name(s));
      hr.append(th);
    });
    const tt = el("th", "n", C.tr("planner.table.total"));
    tt.scope = "col";
    hr.append(tt);
    head.append(hr);
    const body = el("tbody");
    plan.slots.forEach((sl, i) => {
      const tr = el("tr");
      const th = el("th", "num", sl.from + "–" + sl.to);
      th.scope = "row";
      tr.append(th);
      for (const s of plan.services) {
        const c = s.cells[i], td = el("td", "n");
        const added = c.counters - c.erlang_counters;
        if (c.arrivals_per_hour > 0) {
          td.append(el("span", "arr num", C.tr("planner.table.cell", Math.round(c.arrivals_per_hour * 10) / 10)));
          td.title = name(s) + " " + sl.from + "–" + sl.to + " · ρ " + Math.round(c.utilisation * 100) + "% · SL " + pct(c.service_level);
        }
        if (added > 0) {
          const a = el("span", "added", "+" + added);
          a.title = C.tr("planner.table.added", added);
          td.append(a);
        }
        td.append(el("span", "cnum num", c.arrivals_per_hour > 0 ? String(c.counters) : C.tr("planner.dash")));
        tr.append(td);
      }
      tr.append(el("td", "n total num", String(sl.counters)));
      body.append(tr);
    });
    const foot = el("tfoot");
    const row = (label, f) => {
      const tr = el("tr");
      const th = el("th", "", label);
      th.scope = "row";
      tr.append(th);
      for (const s of plan.services) tr.append(el("td", "n num", f(s)));
      tr.append(el("td", "n"));
      foot.append(tr);
    };
    row(C.tr("planner.table.sim"), (s) => s.simulated.customers ? pct(s.simulated.within_target) : C.tr("planner.dash"));
    row(C.tr("planner.table.wait"), (s) => s.simulated.customers ? C.tr("planner.min", Math.round(s.simulated.mean_wait_seconds / 60)) : C.tr("planner.dash"));
    row(C.tr("planner.table.handling"), (s) => C.tr("planner.min", Math.round(s.handling_minutes)));
    t.append(head, body, foot);
  }

  // ---- downloads ---------------------------------------------------------
  function save(blob, filename) {
    if (csvBlobURL) URL.revokeObjectURL(csvBlobURL);
    csvBlobURL = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = csvBlobURL;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
  }
  $("pl-csv").addEventListener("click", async (e) => {
    const q = e.currentTarget.dataset.post;
    if (q === undefined) return; // a plain download link
    e.preventDefault();
    const r = await postProfile("?" + q, "csv");
    if (r.status !== 200) { say(C.tr("planner.err.other", "HTTP " + r.status), true); return; }
    save(r.body, "staffing-" + D.hall + ".csv");
  });
  $("pl-json").addEventListener("click", () => {
    if (!plan) return;
    save(new Blob([JSON.stringify(plan.profile, null, 2) + "\n"], { type: "application/json" }), "profile-" + D.hall + ".json");
  });

  run(true);
  window.civiqPlanner = { plan: () => plan };
})();
