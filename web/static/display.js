// civiq display: the hall's big screen (1920x1080, read from 10 m away).
//
// It starts from the page's config (hall, services, counters, the latest
// announcement), takes the hall's state from GET /api/v1/halls/{hall}/status
// each time the event stream (re)opens, and then follows the live events.
// Nothing polls but the clock. Calls are spoken through the browser's own
// speech synthesis (no internet): twice in Mandarin, once in English, one
// utterance at a time.
//
// Memory stays flat for days: every list below has a fixed bound, named
// where it is kept, and the DOM is made once and updated in place.
"use strict";
(function () {
  const C = window.CIVIQ;
  const el = C.el;

  // ---- Speech texts (pure) -------------------------------------------------

  const DEFAULT_TEMPLATE = "请{number}号到{counter}号窗口办理";
  const spell = C.spell;

  // speechTexts gives what is said for a call: {zh, en}. The hall's
  // template fills {number} (spelled) and {counter} (as it is: "3" is read
  // 三 in 3号窗口).
  function speechTexts(number, counter, template) {
    const t = typeof template === "string" && template.trim() ? template.trim() : DEFAULT_TEMPLATE;
    const c = String(counter == null ? "" : counter);
    const zh = t.split("{number}").join(spell(number, true)).split("{counter}").join(c);
    const en = "Number " + spell(number, false) + ", please go to counter " + c;
    return { zh, en };
  }

  const pickVoice = C.pickVoice;

  // ---- Speaker ---------------------------------------------------------------

  // MAX_PENDING bounds the calls waiting to be spoken; when more come the
  // oldest waiting call is dropped (it is on the board all the same).
  const MAX_PENDING = 8;

  const speaker = (function () {
    const pending = []; // calls: {key, parts: [{text, lang}]}; at most MAX_PENDING
    let parts = []; // what is left of the call being spoken: at most 3
    let current = null; // the utterance being spoken (kept so it is not collected)
    let watchdog = 0;
    let enabled = false;
    const voices = { zh: null, en: null };
    const synth = () => window.speechSynthesis || null;

    function loadVoices() {
      const s = synth();
      if (!s || typeof s.getVoices !== "function") return;
      try {
        const vs = s.getVoices();
        voices.zh = pickVoice(vs, "zh");
        voices.en = pickVoice(vs, "en");
      } catch (e) { /* keep the defaults */ }
    }

    // watchdogMs is how long an utterance may take before we stop waiting
    // for its end event (which some engines never send).
    function watchdogMs(p) {
      const per = p.lang.startsWith("zh") ? 450 : 130;
      return Math.min(30000, 4000 + per * p.text.length);
    }

    function next() {
      clearTimeout(watchdog);
      current = null;
      if (!enabled) return;
      if (!parts.length) {
        const call = pending.shift();
        if (!call) return;
        parts = call.parts.slice();
      }
      const p = parts.shift();
      const s = synth();
      if (!s) { parts = []; pending.length = 0; return; }
      const u = new SpeechSynthesisUtterance(p.text);
      u.lang = p.lang;
      const v = p.lang.startsWith("zh") ? voices.zh : voices.en;
      if (v) { try { u.voice = v; } catch (e) { /* not a real voice */ } }
      u.rate = p.lang.startsWith("zh") ? 0.9 : 0.95;
      const done = () => { if (current === u) next(); };
      u.onend = done;
      u.onerror = done;
      current = u;
      watchdog = setTimeout(() => {
        if (current !== u) return;
        current = null; // cancel's own end/error event is then ignored
        try { s.cancel(); } catch (e) { /* nothing to cancel */ }
        next();
      }, watchdogMs(p));
      try {
        if (s.paused && typeof s.resume === "function") s.resume();
        s.speak(u);
      } catch (e) {
        setTimeout(done, 0);
      }
    }

    return {
      // enable runs in the click that lifts the browser's block on sound.
      enable() {
        if (enabled) return;
        enabled = true;
        const s = synth();
        if (!s) return;
        loadVoices();
        if (typeof s.addEventListener === "function") s.addEventListener("voiceschanged", loadVoices);
        // An empty utterance inside the gesture unlocks speech where the
        // browser asks for it (Safari); Chromium remembers the click anyway.
        try { s.speak(new SpeechSynthesisUtterance("")); } catch (e) { /* no speech */ }
      },
      enabled: () => enabled,
      // say queues a call's three utterances; a call already waiting is not
      // queued twice.
      say(key, texts) {
        if (!enabled || !synth()) return false;
        if (pending.some((c) => c.key === key)) return false;
        pending.push({ key, parts: [
          { text: texts.zh, lang: "zh-CN" }, { text: texts.zh, lang: "zh-CN" }, { text: texts.en, lang: "en-US" }] });
        while (pending.length > MAX_PENDING) pending.shift();
        if (!current) next();
        return true;
      },
      // size counts the calls waiting and the one being spoken.
      size: () => pending.length + (current || parts.length ? 1 : 0),
    };
  })();

  // ---- Board -----------------------------------------------------------------

  const cfgEl = C.$("d-config");
  if (!cfgEl) return;
  const cfg = JSON.parse(cfgEl.textContent || "{}");
  const $ = C.$;
  const tilesEl = $("d-tiles"), recentEl = $("d-recent"), waitingEl = $("d-waiting");
  const annEl = $("d-ann"), tickerWin = $("d-ticker-win"), connEl = $("d-conn"), soundEl = $("d-sound");

  // Time: the server's clock is the truth; skew corrects a display whose
  // own clock is wrong (taken from the Date header of status answers).
  let skew = 0;
  const serverNow = () => Date.now() + skew;
  function noteServerDate(h) {
    const t = Date.parse(h || "");
    if (!isNaN(t) && Math.abs(t + 500 - Date.now() - skew) > 1500) skew = t + 500 - Date.now();
  }
  // FRESH_MS: a call older than this (a replay after a long cut) updates the
  // board but is neither flashed nor spoken.
  const FRESH_MS = 2 * 60 * 1000;
  function fresh(data) {
    const at = Date.parse((data && data.at) || "");
    return isNaN(at) || serverNow() - at < FRESH_MS;
  }

  // Counters: one tile per counter, made once; MAX_COUNTERS bounds the
  // tiles (a counter added later gets one too, up to the bound).
  const MAX_COUNTERS = 64;
  const tiles = new Map(); // counter id -> tile
  const counterLabel = (c) => C.counterName(c, "display.counter");
  // only: the counters this screen shows (?counters=1-12), or all.
  const only = Array.isArray(cfg.only) && cfg.only.length ? new Set(cfg.only) : null;
  function tile(id) {
    let t = tiles.get(id);
    if (t || tiles.size >= MAX_COUNTERS || !id || (only && !only.has(id))) return t || null;
    const li = el("li", "tile idle");
    li.dataset.counter = id;
    const name = el("span", "tile-name"), num = el("span", "tile-num", "—"), state = el("span", "tile-state");
    li.append(name, num, state);
    tilesEl.append(li);
    t = { id, li, name, num, state, number: "", counter: { id, name: "", status: "open" }, flashTimer: 0 };
    tiles.set(id, t);
    showCounter(t);
    layoutSoon();
    return t;
  }
  function showCounter(t) {
    const c = t.counter;
    t.name.textContent = counterLabel(c);
    // Nobody signed in and no ticket: 未开放, not 空闲 (CIVIQ.counterShown).
    const shown = C.counterShown(c, !!t.number);
    let s = "";
    if (shown === "paused") s = C.tr("display.paused") + (c.pause_reason ? " · " + C.pauseReason(c.pause_reason, cfg.pauses) : "");
    else if (shown === "closed") s = C.tr("display.closed");
    else if (shown === "idle") s = C.tr("display.idle");
    t.state.textContent = s;
    fitState(t);
    t.li.classList.toggle("off", shown === "paused" || shown === "closed");
  }
  // fitState drops a pause's reason when it does not fit the tile: the
  // state stays large and whole (暂停服务) rather than cut.
  function fitState(t) {
    const c = t.counter;
    if (C.counterShown(c, !!t.number) === "paused" && c.pause_reason && t.state.clientWidth > 0 && t.state.scrollWidth > t.state.clientWidth + 1) {
      t.state.textContent = C.tr("display.paused");
    }
  }
  function setCounter(c) {
    const t = tile(c && c.id);
    if (!t) return;
    t.counter = { id: c.id, name: c.name || "", status: c.status || "open", pause_reason: c.pause_reason || "", staffed: !!c.staffed };
    showCounter(t);
  }
  function setCurrent(id, number) {
    const t = tile(id);
    if (!t) return;
    t.number = number || "";
    t.num.textContent = t.number || "—";
    // A call's flash ends with its number (done or a no-show within the
    // flash), as on the window screen: no yellow tile with nobody called.
    if (!t.number) { clearTimeout(t.flashTimer); t.li.classList.remove("flash"); }
    // Numbers run past three digits (A1000, BD1000): longer ones are drawn
    // smaller so that they fit their tile.
    t.num.style.setProperty("--len", String(Math.max(4, t.number.length)));
    const was = t.li.classList.contains("idle");
    t.li.classList.toggle("idle", !t.number);
    showCounter(t);
    if (was === !!t.number) layoutSoon(); // busy or not: the pages change
  }
  // clearNumber empties whichever counter shows number (done, no-show,
  // transferred, cancelled: the ticket has left the counter).
  function clearNumber(number, except) {
    if (!number) return;
    for (const t of tiles.values()) if (t.number === number && t.id !== except) setCurrent(t.id, "");
  }
  function flash(id) {
    const t = tiles.get(id);
    if (!t) return;
    clearTimeout(t.flashTimer);
    t.li.classList.remove("flash");
    void t.li.offsetWidth; // restart the animation
    t.li.classList.add("flash");
    t.flashTimer = setTimeout(() => t.li.classList.remove("flash"), 6000);
  }
  // Tiles are never smaller than TILE_MIN_W x TILE_MIN_H CSS pixels: the
  // number is then at least 80px (half the height, 1.2 widths over four
  // signs) and the state at least 28px (display.css). When the counters do
  // not fit, the busy ones (calling or serving) stay and the others are
  // shown page by page, PAGE_MS each; when the busy ones alone do not fit,
  // every counter is paged, busy ones first.
  const TILE_MIN_W = 272, TILE_MIN_H = 172, PAGE_MS = 8000;
  const pageEl = $("d-page");
  let perPage = 0, pageNo = 0, pageCount = 1, layoutTimer = 0;
  function layoutSoon() {
    if (!layoutTimer) layoutTimer = setTimeout(() => { layoutTimer = 0; layoutTiles(); }, 0);
  }
  // layoutTiles picks how many tiles a page holds and the columns that
  // give the biggest digits, then shows the page.
  function layoutTiles() {
    const all = [...tiles.values()];
    const n = Math.max(1, all.length);
    pageEl.classList.add("hidden");
    const W = tilesEl.clientWidth || 1;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const gap = 1.2 * rem;
    let H = tilesEl.clientHeight || 1;
    const cmax = Math.max(1, Math.floor((W + gap) / (TILE_MIN_W + gap)));
    let rmax = Math.max(1, Math.floor((H + gap) / (TILE_MIN_H + gap)));
    if (n > cmax * rmax) {
      // Paging: the page number takes a line under the tiles.
      pageEl.classList.remove("hidden");
      pageEl.textContent = C.tr("display.page", 1, 2);
      H = tilesEl.clientHeight || 1;
      rmax = Math.max(1, Math.floor((H + gap) / (TILE_MIN_H + gap)));
    }
    perPage = Math.min(n, cmax * rmax);
    let best = 1, bestSize = 0;
    for (let c = 1; c <= Math.min(cmax, perPage); c++) {
      const r = Math.ceil(perPage / c);
      if (r > rmax) continue;
      const size = Math.min((W - (c - 1) * gap) / c * 0.3, (H - (r - 1) * gap) / r * 0.5);
      if (size > bestSize) { bestSize = size; best = c; }
    }
    tilesEl.style.setProperty("--cols", String(best));
    tilesEl.style.setProperty("--rows", String(Math.ceil(perPage / best)));
    showPage(pageNo);
  }
  // pages splits the tiles into what each page shows, in counter order.
  function pages() {
    const all = [...tiles.values()];
    if (!perPage || all.length <= perPage) return [all];
    const busy = all.filter((t) => t.number), rest = all.filter((t) => !t.number);
    const out = [];
    if (busy.length < perPage) {
      const room = perPage - busy.length;
      for (let i = 0; i < rest.length; i += room) {
        const shown = new Set(busy.concat(rest.slice(i, i + room)));
        out.push(all.filter((t) => shown.has(t)));
      }
    } else {
      const order = busy.concat(rest);
      for (let i = 0; i < order.length; i += perPage) {
        const shown = new Set(order.slice(i, i + perPage));
        out.push(all.filter((t) => shown.has(t)));
      }
    }
    return out.length ? out : [all];
  }
  function showPage(i) {
    const ps = pages();
    pageCount = ps.length;
    pageNo = ((i % pageCount) + pageCount) % pageCount;
    const shown = new Set(ps[pageNo]);
    for (const t of tiles.values()) t.li.classList.toggle("away", !shown.has(t));
    pageEl.classList.toggle("hidden", pageCount < 2);
    pageEl.textContent = pageCount < 2 ? "" : C.tr("display.page", pageNo + 1, pageCount);
    for (const t of shown) { showCounter(t); }
  }
  // Recent calls: MAX_RECENT rows made once; recent holds at most
  // MAX_RECENT entries, newest first, one per ticket number.
  const MAX_RECENT = 8;
  const recent = [];
  const recentRows = [];
  for (let i = 0; i < MAX_RECENT; i++) {
    const li = el("li", "r-row empty");
    const num = el("span", "r-num"), ctr = el("span", "r-ctr");
    li.append(num, ctr);
    recentEl.append(li);
    recentRows.push({ li, num, ctr });
  }
  function addRecent(number, counter, at) {
    if (only && !only.has(counter)) return; // another screen's call
    const i = recent.findIndex((r) => r.number === number);
    if (i >= 0) {
      if (recent[i].at > at) return;
      recent.splice(i, 1);
    }
    let j = 0;
    while (j < recent.length && recent[j].at > at) j++;
    recent.splice(j, 0, { number, counter, at });
    if (recent.length > MAX_RECENT) recent.length = MAX_RECENT;
  }
  function renderRecent() {
    for (let i = 0; i < MAX_RECENT; i++) {
      const row = recentRows[i], r = recent[i];
      row.li.classList.toggle("empty", !r);
      row.li.classList.toggle("newest", i === 0 && !!r);
      row.num.textContent = r ? r.number : (i === 0 ? C.tr("display.norecent") : "");
      row.ctr.textContent = r ? counterLabel((tiles.get(r.counter) || {}).counter || { id: r.counter }) : "";
    }
    // Idle, with no call yet: the panel shows the QR code of the hall's
    // published 好差评 results instead of empty rows.
    $("d-recent").parentElement.classList.toggle("idle", !recent.length);
    const newest = recent[0] && recent[0].counter;
    for (const t of tiles.values()) t.li.classList.toggle("latest", t.id === newest && !!t.number);
  }

  // Waiting per service: one row per service, made once; MAX_SERVICES bounds
  // rows for services added later.
  const MAX_SERVICES = 32;
  const waiting = new Map(); // service id -> row
  function serviceRow(s) {
    let w = waiting.get(s.id);
    if (w || waiting.size >= MAX_SERVICES) return w || null;
    const li = el("li", "w-row");
    const name = el("span", "w-name", C.name(s) || s.id);
    const count = el("span", "w-count", "–");
    const eta = el("span", "w-eta", "");
    li.append(name, count, eta);
    waitingEl.append(li);
    w = { li, count, eta };
    waiting.set(s.id, w);
    return w;
  }
  function setWaiting(counts) {
    if (!counts) return;
    for (const w of waiting.values()) w.count.textContent = C.tr("display.people", 0);
    for (const id of Object.keys(counts)) {
      const w = serviceRow({ id });
      if (w) w.count.textContent = C.tr("display.people", counts[id]);
    }
    fitWaiting();
  }
  // setWaits shows the counts and expected waits of GET .../waits; an
  // expected wait is rounded for people (约 15 分钟), none when nobody
  // waits; a service no counter works for says so (暂无窗口办理, as the
  // kiosk does) instead of a wait nobody is working down.
  function setWaits(services) {
    if (!services) return;
    const counts = {};
    for (const s of services) {
      counts[s.id] = s.waiting;
      const w = serviceRow(s);
      if (w) w.eta.textContent = s.waiting > 0 && s.open_counters === 0 ? C.tr("display.no_counter")
        : s.waiting > 0 && s.eta_seconds > 0 ? C.tr("display.eta", Math.max(1, Math.round(s.eta_seconds / 60))) : "";
    }
    setWaiting(counts);
  }
  // fitWaiting shrinks the waiting line until every service fits in it,
  // but no further than counts of 28px (display.css); services that do not
  // fit then are shown page by page, with the counters' pages.
  let wPages = [[0, 0]], wPageNo = 0;
  const overflows = (e) => e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1;
  function fitWaiting() {
    const rows = [...waiting.values()];
    for (const w of rows) w.li.classList.remove("away");
    let scale = 1;
    waitingEl.style.setProperty("--w-scale", "1");
    while (scale > 0.55 && overflows(waitingEl)) {
      scale -= 0.05;
      waitingEl.style.setProperty("--w-scale", scale.toFixed(2));
    }
    wPages = [[0, rows.length]];
    if (!overflows(waitingEl)) { wPageNo = 0; return; }
    // Pages: from each start, as many rows as fit.
    wPages = [];
    for (let i = 0; i < rows.length;) {
      rows.forEach((w, j) => w.li.classList.toggle("away", j < i));
      let k = i + 1;
      while (k < rows.length) {
        rows.forEach((w, j) => w.li.classList.toggle("away", j < i || j > k));
        if (overflows(waitingEl)) break;
        k++;
      }
      wPages.push([i, k]);
      i = k;
    }
    showWaitingPage(wPageNo);
  }
  function showWaitingPage(i) {
    const rows = [...waiting.values()];
    wPageNo = ((i % wPages.length) + wPages.length) % wPages.length;
    const [a, b] = wPages[wPageNo];
    rows.forEach((w, j) => w.li.classList.toggle("away", j < a || j >= b));
  }

  // Announcement: only the latest is kept. When it is wider than the screen
  // it scrolls round without a gap: a second copy (hidden from screen
  // readers) follows the first, and the line moves by one copy's width. It
  // stands still, wrapped, under prefers-reduced-motion.
  const reduceMotion = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : { matches: false };
  const annText = $("d-ann-text"), annCopy = $("d-ann-copy");
  function setAnnouncement(text) {
    annText.textContent = text || "";
    annCopy.textContent = "";
    annEl.parentElement.parentElement.classList.toggle("empty", !text);
    const had = !document.body.classList.contains("no-ann");
    document.body.classList.toggle("no-ann", !text);
    if (had !== !!text) fitAll(); // the band came or went: the others have its room
    fitTicker();
  }
  function fitTicker() {
    annEl.classList.remove("scroll", "loop");
    annCopy.textContent = "";
    if (!annText.textContent || reduceMotion.matches) return;
    const win = tickerWin.clientWidth, w = annText.getBoundingClientRect().width;
    if (w <= win) return;
    annCopy.textContent = annText.textContent;
    annEl.classList.add("loop"); // the gap between the copies
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const lap = annCopy.getBoundingClientRect().left - annText.getBoundingClientRect().left; // text and gap
    annEl.style.setProperty("--d-dur", (lap / (8 * rem)).toFixed(1) + "s"); // 8rem a second
    annEl.classList.add("scroll");
  }

  // A polite live region repeats a fresh call for screen readers.
  const live = el("p", "d-sr");
  live.setAttribute("aria-live", "polite");
  document.body.append(live);

  // ---- Events ----------------------------------------------------------------

  // apply changes the board for one event. Only a fresh call (see
  // FRESH_MS) flashes and is spoken.
  function apply(name, data) {
    const t = data && data.ticket;
    switch (name) {
      case "ticket.called":
      case "ticket.recalled": {
        if (!t || !t.counter_id || !t.number) break;
        clearNumber(t.number, t.counter_id); // a number is at one counter at a time
        setCurrent(t.counter_id, t.number);
        const at = Date.parse(data.at || "");
        addRecent(t.number, t.counter_id, isNaN(at) ? serverNow() : at);
        renderRecent();
        if (fresh(data)) {
          flash(t.counter_id);
          const label = counterLabel((tiles.get(t.counter_id) || {}).counter || { id: t.counter_id });
          live.textContent = C.tr("display.calling", t.number, label);
          speaker.say(t.number + "@" + t.counter_id, speechTexts(t.number, t.counter_id, cfg.voice_template));
        }
        break;
      }
      case "ticket.serving":
        if (t && t.counter_id && t.number) { setCurrent(t.counter_id, t.number); renderRecent(); }
        break;
      case "ticket.done":
      case "ticket.no_show":
      case "ticket.transferred":
      case "ticket.cancelled":
      case "ticket.returned":
        if (t) { clearNumber(t.number); renderRecent(); }
        break;
      case "counter.updated":
        if (data && data.counter) { setCounter(data.counter); renderRecent(); }
        break;
      case "announcement":
        setAnnouncement((data && data.text) || "");
        break;
    }
    if (WAITING_EVENTS.has(name)) refreshWaitingSoon();
  }
  // A counter signed in at or left changes the expected waits (and whether
  // a service has a counter at all): counter.updated.
  const WAITING_EVENTS = new Set(["ticket.issued", "ticket.called", "ticket.transferred", "ticket.returned",
    "ticket.cancelled", "ticket.no_show", "counter.updated"]);

  // Events that come while the state is being fetched wait and are applied
  // on top of it, in order: the state then lacks nothing. MAX_BUFFER bounds
  // them (a status answer takes milliseconds).
  const MAX_BUFFER = 2000;
  const replica = C.replica(apply, MAX_BUFFER);
  let syncGen = 0, syncRetry = 0;
  let synced = 0; // how many times the state was taken (tests wait for it)

  const statusURL = "/api/v1/halls/" + encodeURIComponent(cfg.hall) + "/status";
  const waitsURL = "/api/v1/halls/" + encodeURIComponent(cfg.hall) + "/waits";
  // get reads one of the hall's public answers; anything but a 200 throws.
  async function get(url) {
    const res = await C.api("GET", url);
    if (res.status !== 200) throw new Error(url + " " + res.status);
    return res;
  }
  async function fetchWaits() { return (await get(waitsURL)).body; }
  async function fetchStatus() {
    const res = await get(statusURL);
    noteServerDate(res.headers.get("Date"));
    return res.body;
  }

  // sync takes the hall's state when the stream (re)opens: the counters'
  // numbers, the last calls and the waiting counts, and the hall's voice
  // template (an admin may have changed it).
  async function sync() {
    const gen = ++syncGen;
    replica.begin();
    clearTimeout(syncRetry);
    const hall = get("/api/v1/halls/" + encodeURIComponent(cfg.hall)).then((r) => r.body, () => null);
    let st = null;
    try { st = await fetchStatus(); } catch (e) { st = null; }
    const h = await hall;
    if (gen !== syncGen) return; // a newer sync is under way
    if (h && h.hall && typeof h.hall.voice_template === "string" && h.hall.voice_template) cfg.voice_template = h.hall.voice_template;
    if (st) {
      for (const c of st.counters || []) {
        setCounter(c);
        setCurrent(c.id, c.current_number || "");
      }
      recent.length = 0;
      for (const r of (st.recent_calls || []).slice(0, MAX_RECENT)) {
        addRecent(r.number, r.counter_id, Date.parse(r.called_at) || 0);
      }
      setWaiting(st.waiting);
    }
    replica.end();
    renderRecent();
    refreshWaitingSoon(); // the expected waits beside the counts
    synced++;
    if (!st) syncRetry = setTimeout(sync, 5000);
  }

  // Waiting counts come from the status answer, fetched (once, a short
  // while after a burst of events) when an event may have changed them.
  let waitTimer = 0, waitBusy = false, waitAgain = false;
  function refreshWaitingSoon() {
    if (waitBusy) { waitAgain = true; return; }
    if (waitTimer) return;
    waitTimer = setTimeout(async () => {
      waitTimer = 0;
      waitBusy = true;
      try { setWaits((await fetchWaits()).services); } catch (e) { /* the next event tries again */ }
      waitBusy = false;
      if (waitAgain) { waitAgain = false; refreshWaitingSoon(); }
    }, 600);
  }

  function onState(up) {
    connEl.classList.toggle("hidden", up);
    if (up) sync();
  }

  // ---- Clock -----------------------------------------------------------------

  function clock() {
    const clockEl = $("d-clock"), dateEl = $("d-date");
    const tick = () => {
      const now = new Date(serverNow());
      clockEl.textContent = C.time(now, "seconds", cfg.timezone);
      dateEl.textContent = C.time(now, "day", cfg.timezone);
      setTimeout(tick, 1000 - (serverNow() % 1000) + 5); // the only timer that repeats
    };
    tick();
  }

  // ---- Fitting the screen ---------------------------------------------------

  // fitHall shrinks the hall's name (wrapped on up to two lines) until it
  // fits its header; the clock beside it never moves.
  const hallEl = document.querySelector(".d-hall");
  function fitHall() {
    if (!hallEl) return;
    hallEl.style.fontSize = "";
    let px = parseFloat(getComputedStyle(hallEl).fontSize);
    const min = px * 0.4;
    const head = hallEl.parentElement;
    const tooBig = () => hallEl.scrollWidth > hallEl.clientWidth + 1 || hallEl.offsetHeight > head.clientHeight ||
      hallEl.offsetHeight > px * 1.15 * 2.2; // two lines at most
    while (px > min && tooBig()) {
      px *= 0.92;
      hallEl.style.fontSize = px.toFixed(1) + "px";
    }
  }
  function fitAll() { fitHall(); layoutTiles(); fitTicker(); fitWaiting(); }
  // Pages turn together: the counters' and the services'.
  setInterval(() => {
    if (pageCount > 1) showPage(pageNo + 1);
    if (wPages.length > 1) showWaitingPage(wPageNo + 1);
  }, PAGE_MS);

  // ---- Start -----------------------------------------------------------------

  for (const c of cfg.counters || []) setCounter(c);
  for (const s of cfg.services || []) serviceRow(s);
  renderRecent();
  if (cfg.announcement) setAnnouncement(cfg.announcement.text);
  else setAnnouncement("");
  clock();
  fitAll();
  window.addEventListener("resize", fitAll);
  if (reduceMotion.addEventListener) reduceMotion.addEventListener("change", fitTicker);

  // Sound: the browser plays nothing before a click. ?sound=on skips the
  // overlay for a display whose Chromium runs with
  // --autoplay-policy=no-user-gesture-required.
  function enableSound() {
    speaker.enable();
    soundEl.classList.add("hidden");
  }
  soundEl.addEventListener("click", enableSound);
  if (new URLSearchParams(location.search).get("sound") === "on") enableSound();
  else soundEl.focus();

  const names = ["ticket.issued", "ticket.called", "ticket.recalled", "ticket.serving", "ticket.done", "ticket.no_show",
    "ticket.transferred", "ticket.returned", "ticket.cancelled", "counter.updated", "announcement"];
  const handlers = {};
  for (const n of names) handlers[n] = (data, ev) => replica.receive(n, data, ev && ev.lastEventId);
  C.stream(cfg.hall, handlers, onState, { public: true });

  // For tests and for people looking at a display from the console.
  window.civiqDisplay = {
    speechTexts,
    pickVoice,
    apply, // apply(name, data): as if the event came from the stream
    soundEnabled: speaker.enabled,
    synced: () => synced,
    stats: () => ({ tiles: tiles.size, recent: recent.length, services: waiting.size, pending: speaker.size(), buffer: replica.waiting() }),
    // The pages of counters and of waiting services: how many, and turning
    // to one (as the timer does every PAGE_MS).
    pages: () => ({ counters: pageCount, perPage, services: wPages.length }),
    showPage: (i) => { showPage(i); showWaitingPage(i); },
    // What each page shows: counter ids, and the services' row ranges.
    pageSets: () => ({ counters: pages().map((p) => p.map((t) => t.id)), services: wPages.map((r) => r.slice()) }),
    bounds: { MAX_PENDING, MAX_COUNTERS, MAX_RECENT, MAX_SERVICES, MAX_BUFFER },
  };
})();
