// civiq: small helpers shared by every page. No build step, no framework.
"use strict";
(function () {
  const C = window.CIVIQ || (window.CIVIQ = {});
  C.t = C.t || {};

  // $ is the element with an id; q and qa find by a CSS selector, in el or
  // the document (qa gives an array).
  C.$ = (id) => document.getElementById(id);
  C.q = (sel, el) => (el || document).querySelector(sel);
  C.qa = (sel, el) => Array.from((el || document).querySelectorAll(sel));

  // name is the name of a hall, a service or a guide in the page's
  // language: its English name on an English page when it has one.
  C.name = (x) => (C.lang === "en" && x.name_en) || x.name;
  // pauseReason shows a counter's pause_reason in the page's language:
  // reasons are kept in Chinese (records: catalogue key -> that text), as
  // the chosen one, or the chosen one, "：" and the clerk's words.
  C.pauseReason = function (r, records) {
    for (const k of Object.keys(records || {})) {
      const rec = records[k];
      if (r === rec) return C.tr(k);
      if (r.startsWith(rec + "：")) return C.tr(k) + (C.lang === "en" ? ": " : "：") + r.slice(rec.length + 1);
    }
    return r;
  };
  // list joins names for a sentence in the page's language: 甲、乙 in
  // Chinese, "A, B" in English.
  C.list = (xs) => xs.join(C.lang === "en" ? ", " : "、");
  // guideName is the guide's name of a case (or of a case's reference).
  C.guideName = (c) => C.name({ name: c.guide_name, name_en: c.guide_name_en });

  // counterName names a counter for people: its name, or, on an English
  // page, "Counter 3" when the name is Chinese (the demo's 3号窗口); key is
  // the page's catalogue entry for "Counter %s".
  C.counterName = function (c, key) {
    const name = (c && c.name) || "";
    return !name || (C.lang === "en" && /[^\x20-\x7e]/.test(name)) ? C.tr(key, c.id) : name;
  };

  // counterShown is what the screens say of counter c (its status and
  // public staffed), busy telling whether a ticket is called or served
  // there: "closed" (未开放: closed, or nobody signed in and no ticket),
  // "paused", "busy" or "idle" — the rule of civiq's Counter.Shown.
  C.counterShown = function (c, busy) {
    if (!c || c.status === "closed") return "closed";
    if (c.status === "paused" && c.staffed) return "paused";
    if (busy) return "busy";
    if (!c.staffed) return "closed";
    return c.status === "paused" ? "paused" : "idle";
  };

  // pct shows a share (0.923) as a percentage with one decimal: 92.3%.
  C.pct = (x) => Math.round(x * 1000) / 10 + "%";

  // time formats a time (a Date or an ISO string) in the hall's time zone
  // tz and the page's language, as kind says: "date" and "datetime" in the
  // one format of each language that the server's pages write too (web's
  // dates.go): 2031-03-04 and 2031-03-04 10:00 in Chinese, 4 Mar 2031 and
  // 4 Mar 2031, 10:00 in English; "time" 10:00, "seconds" 10:00:05; "day"
  // a day of the coming days with its weekday, in the one short form of
  // each language (dates.go's too): 3月4日周二 / Tue 4 Mar; "daytime" the
  // day and the time, 3月4日周二 10:00 / Tue 4 Mar, 10:00. No time, or a
  // bad one, is "".
  const kinds = {
    parts: { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" },
    time: { hour: "2-digit", minute: "2-digit" },
    seconds: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
  };
  const formats = {};
  C.timeFormat = function (kind, tz) {
    const k = kind + " " + (tz || "");
    if (!formats[k]) {
      const locale = C.lang === "en" ? "en-GB" : "zh-CN";
      const opts = Object.assign({ hour12: false }, kinds[kind]);
      try {
        formats[k] = new Intl.DateTimeFormat(locale, Object.assign({ timeZone: tz || "Asia/Shanghai" }, opts));
      } catch (e) { // a time zone this browser does not know
        formats[k] = new Intl.DateTimeFormat(locale, Object.assign({ timeZone: "Asia/Shanghai" }, opts));
      }
    }
    return formats[k];
  };
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const weekdays = C.lang === "en" ? ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] : ["周日", "周一", "周二", "周三", "周四", "周五", "周六"];
  // ymd writes a calendar day (numbers) in the page's language.
  const ymd = (y, m, d) => (C.lang === "en" ? Number(d) + " " + months[Number(m) - 1] + " " + y
    : y + "-" + String(m).padStart(2, "0") + "-" + String(d).padStart(2, "0"));
  // wmd writes a day without its year, with its weekday.
  const wmd = (y, m, d) => {
    const wd = weekdays[new Date(Date.UTC(Number(y), Number(m) - 1, Number(d))).getUTCDay()];
    return C.lang === "en" ? wd + " " + Number(d) + " " + months[Number(m) - 1] : Number(m) + "月" + Number(d) + "日" + wd;
  };
  C.time = function (t, kind, tz) {
    if (!t) return "";
    const d = new Date(t);
    if (isNaN(d)) return "";
    if (kind === "time" || kind === "seconds") return C.timeFormat(kind, tz).format(d);
    const p = {};
    for (const x of C.timeFormat("parts", tz).formatToParts(d)) p[x.type] = x.value;
    const day = kind === "day" || kind === "daytime" ? wmd(p.year, p.month, p.day) : ymd(p.year, p.month, p.day);
    if (kind === "date" || kind === "day") return day;
    const hm = (p.hour === "24" ? "00" : p.hour) + ":" + p.minute;
    return day + (C.lang === "en" ? ", " : " ") + hm;
  };
  // isoDay is the day of a time (a Date, an ISO string, a number) in the
  // time zone tz as the API names days, 2031-03-04: for requests, not
  // for people (CIVIQ.date shows one).
  C.isoDay = function (t, tz) {
    const p = {};
    for (const x of C.timeFormat("parts", tz).formatToParts(new Date(t))) p[x.type] = x.value;
    return p.year + "-" + p.month + "-" + p.day;
  };
  // date writes a day given as "2031-03-04" (a promised date) in the
  // page's language; anything else as it is.
  C.date = function (s) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || "");
    return m ? ymd(m[1], m[2], m[3]) : (s || "");
  };

  // fieldError shows text as the error of input in msg (or clears both
  // with ""), and returns whether the field is fine. An error shown goes
  // once its field changes (a radio's: once one of its group is chosen),
  // not only at the next submit.
  C.fieldError = function (input, msg, text) {
    if (msg) msg.textContent = text || "";
    if (input) { if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid"); }
    if (input && text) {
      const scope = input.type === "radio" && input.form ? input.form : input;
      const clear = (ev) => {
        if (ev.target !== input && ev.target.name !== input.name) return;
        scope.removeEventListener("input", clear);
        scope.removeEventListener("change", clear);
        if (msg && msg.textContent === text) msg.textContent = "";
        input.removeAttribute("aria-invalid");
      };
      scope.addEventListener("input", clear);
      scope.addEventListener("change", clear);
    }
    return !text;
  };

  // tr translates a catalogue key given to the page, filling %s and %d;
  // a count of 1, the last argument, takes the key's singular (key +
  // ".one") where there is one, as the server's T does.
  C.tr = function (key, ...args) {
    if (args.length && args[args.length - 1] === 1 && C.t[key + ".one"]) key += ".one";
    let s = C.t[key] || key;
    for (const a of args) s = s.replace(/%[sd]/, () => String(a)); // a function: no $& patterns
    return s;
  };

  // deviceToken is the token a paired device keeps (localStorage).
  C.deviceToken = function (hall) { return localStorage.getItem("civiq.device." + hall) || ""; };
  C.setDeviceToken = function (hall, token) { localStorage.setItem("civiq.device." + hall, token); };

  // toLogin sends a page whose session has ended to sign in, and back.
  C.toLogin = function () {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search + location.hash);
  };

  // key makes an Idempotency-Key for one press of a button.
  C.key = function () {
    const b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  };

  // api calls the JSON API. A device token goes as a bearer token; a
  // signed-in page sends its CSRF token. With opts.key the same
  // Idempotency-Key is sent on every retry of a network failure, so one
  // press never does two things. opts.raw sends a text that is JSON already
  // (a file) as the body; with opts.blob a 2xx answer's body is a Blob (a
  // CSV file). It resolves to {status, body, headers}; nothing is cached.
  C.api = async function (method, path, body, opts) {
    opts = opts || {};
    const headers = { "Accept": "application/json" };
    if (opts.raw !== undefined) body = undefined;
    const sent = opts.raw !== undefined ? opts.raw : body === undefined ? undefined : JSON.stringify(body);
    if (sent !== undefined) headers["Content-Type"] = "application/json";
    if (opts.token) headers["Authorization"] = "Bearer " + opts.token;
    if (C.csrf) headers["X-CSRF-Token"] = C.csrf;
    if (opts.key) headers["Idempotency-Key"] = opts.key;
    const retries = opts.retries === undefined ? (opts.key ? 5 : 0) : opts.retries;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(path, { method, headers, body: sent, credentials: "same-origin", cache: "no-store" });
        let data = null;
        if (opts.blob && res.ok) data = await res.blob();
        else if (res.status !== 204) { try { data = await res.json(); } catch (e) { data = null; } }
        if (res.status >= 500 && attempt < retries) throw new Error("server " + res.status);
        return { status: res.status, body: data, headers: res.headers };
      } catch (err) {
        if (attempt >= retries) throw err;
        if (opts.onRetry) opts.onRetry(err, attempt + 1);
        await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 4000)));
      }
    }
  };

  // replica keeps a page's copy of the hall in step with its stream: an
  // event seen twice (a replay after a reconnect) is applied once, and the
  // events that come while the page reads the state (between begin and
  // end) wait and are applied on top of it, in order, at most max of them.
  C.replica = function (apply, max) {
    const buffer = [];
    let syncing = false, lastId = 0;
    return {
      receive(name, data, idStr) {
        const id = Number(idStr) || 0;
        if (id) {
          if (id <= lastId) return;
          lastId = id;
        }
        if (syncing) {
          if (buffer.length >= max) buffer.shift();
          buffer.push([name, data]);
          return;
        }
        apply(name, data);
      },
      begin() { syncing = true; },
      end() {
        syncing = false;
        for (const [name, data] of buffer.splice(0)) apply(name, data);
      },
      waiting() { return buffer.length; },
    };
  };

  // stream follows a hall's live events; follow, any live stream at path.
  // The browser's EventSource reconnects by itself and sends
  // Last-Event-ID, so nothing is missed; when the server has closed it for
  // good we open a new one from the last id seen. handlers maps event names
  // to functions of the parsed data; onState hears the stream go up (true)
  // and down (false). A public page (the display, a kiosk, the citizen's
  // ticket) passes opts.public: its stream is the public view even where
  // staff are signed in (EventSource sends the browser's cookies), so no
  // ticket id reaches a public screen.
  C.stream = function (hall, handlers, onState, opts) {
    const path = "/api/v1/halls/" + encodeURIComponent(hall) + "/events" + (opts && opts.public ? "?view=public" : "");
    return C.follow(path, handlers, onState);
  };
  C.follow = function (path, handlers, onState) {
    let last = null, es = null, timer = null;
    const names = Object.keys(handlers);
    function open() {
      const q = last === null ? "" : (path.includes("?") ? "&" : "?") + "last_event_id=" + encodeURIComponent(last);
      es = new EventSource(path + q);
      es.onopen = () => onState && onState(true);
      es.onerror = () => {
        onState && onState(false);
        if (es.readyState === EventSource.CLOSED) { clearTimeout(timer); timer = setTimeout(open, 2000); }
      };
      for (const name of names) {
        es.addEventListener(name, (ev) => {
          if (ev.lastEventId) last = ev.lastEventId;
          let data = null;
          try { data = JSON.parse(ev.data); } catch (e) { return; }
          handlers[name](data, ev);
        });
      }
    }
    open();
    return { close() { clearTimeout(timer); es && es.close(); }, lastId() { return last; } };
  };

  // soon makes a function that runs fn ms after it is first called; the
  // calls meanwhile (a stream's replay, a busy hall's events) join that
  // run and never put it off, so a hall whose events come closer than ms
  // apart still sees fresh numbers every ms.
  C.soon = function (fn, ms) {
    let timer = null;
    return () => {
      if (timer === null) timer = setTimeout(() => { timer = null; fn(); }, ms);
    };
  };

  // minutes rounds a wait in seconds for people: "约 15 分钟" / "about 15 min".
  C.minutes = function (secs) {
    if (secs === null || secs === undefined) return "";
    const m = Math.max(1, Math.round(secs / 60 / (secs > 1800 ? 5 : 1)) * (secs > 1800 ? 5 : 1));
    return C.tr("wait.about", m);
  };

  // el makes an element with a class and a text (both optional).
  C.el = function (tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // svg makes an SVG element with attributes and a text (optional).
  C.svg = function (tag, attrs, text) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten, so
  // that its grid lines fall on round numbers.
  function niceMax(v, ticks) {
    if (!(v > 0)) return ticks;
    const raw = v / ticks, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw);
    return Math.max(step * ticks, ticks);
  }

  // barChart draws bars per label (an hour, a service), a series beside
  // the other, with an optional marker per label and a dashed target line,
  // in an SVG of the page's style (.chart-svg, civiq.css); a hidden table
  // carries the same numbers for screen readers, its first column headed
  // o.first. The dashboard and the reports page draw with it.
  C.barChart = function (box, o) {
    const el = C.el, svg = C.svg;
    const W = 860, H = 345, L = 46, R = 14, T = 34, B = 30;
    const n = o.labels.length, pw = W - L - R, ph = H - T - B;
    const all = [];
    for (const s of o.series) all.push(...s.values);
    if (o.marker) all.push(...o.marker.values);
    if (o.line) all.push(o.line.value);
    const top = o.max || niceMax(Math.max(0, ...all), 4); // o.max: a fixed top (100 for shares in %)
    const y = (v) => T + ph - (v / top) * ph;
    const g = pw / Math.max(n, 1);
    const chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": o.title, "aria-describedby": o.desc, class: "chart-svg" });
    for (let i = 0; i <= 4; i++) {
      const v = top / 4 * i;
      chart.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: i ? "grid" : "axis" }));
      chart.append(svg("text", { x: L - 8, y: y(v) + 4, class: "tick", "text-anchor": "end" }, String(Math.round(v * 10) / 10)));
    }
    if (o.unit) chart.append(svg("text", { x: L - 8, y: T - 14, class: "unit", "text-anchor": "end" }, o.unit));
    if (o.now >= 0) chart.append(svg("rect", { x: L + o.now * g, y: T, width: g, height: ph, class: "now" }));
    const k = o.series.length, bw = Math.min(g * 0.72 / k, 34);
    o.labels.forEach((lab, i) => {
      const cx = L + g * i + g / 2;
      o.series.forEach((s, j) => {
        const v = s.values[i] || 0, x = cx - (bw * k) / 2 + j * bw;
        const cls = s.cls + (s.over && v > s.over ? " over" : "");
        if (v > 0) chart.append(svg("rect", { x: x + 1, y: y(v), width: bw - 2, height: Math.max(y(0) - y(v), 1), class: cls, rx: 2 }));
        if (v > 0 && s.label !== false && bw >= 16) chart.append(svg("text", { x: x + bw / 2, y: y(v) - 4, class: "val", "text-anchor": "middle" }, String(s.fmt ? s.fmt(v) : v)));
      });
      if (o.marker) {
        const v = o.marker.values[i];
        if (v > 0) chart.append(svg("line", { x1: cx - bw * k / 2 - 2, x2: cx + bw * k / 2 + 2, y1: y(v), y2: y(v), class: o.marker.cls }));
      }
      chart.append(svg("text", { x: cx, y: H - B + 18, class: "tick", "text-anchor": "middle" }, lab));
    });
    if (o.line) {
      chart.append(svg("line", { x1: L, x2: W - R, y1: y(o.line.value), y2: y(o.line.value), class: "target" }));
      chart.append(svg("text", { x: W - R - 4, y: y(o.line.value) - 6, class: "target-label", "text-anchor": "end" }, o.line.label));
    }
    const table = el("table", "sr-only");
    const head = el("tr");
    head.append(el("th", "", o.first || ""));
    for (const s of o.series) head.append(el("th", "", s.name));
    if (o.marker) head.append(el("th", "", o.marker.name));
    table.append(head);
    o.labels.forEach((lab, i) => {
      const tr = el("tr");
      tr.append(el("td", "", lab));
      for (const s of o.series) tr.append(el("td", "", String(s.values[i] || 0)));
      if (o.marker) tr.append(el("td", "", String(o.marker.values[i] || 0)));
      table.append(tr);
    });
    box.replaceChildren(chart, table);
    // The legend, top right, laid out by the width of its words (which
    // needs the chart on the page).
    let lx = W - R;
    const items = o.series.map((s) => [s.name, s.cls, "rect"]);
    if (o.marker) items.push([o.marker.name, o.marker.cls, "line"]);
    for (const [name, cls, kind] of items.reverse()) {
      const t = svg("text", { x: lx, y: 16, class: "legend", "text-anchor": "end" }, name);
      chart.append(t);
      lx -= t.getComputedTextLength() + 6;
      chart.append(kind === "rect" ? svg("rect", { x: lx - 12, y: 6, width: 12, height: 12, rx: 2, class: cls })
        : svg("line", { x1: lx - 14, x2: lx, y1: 12, y2: 12, class: cls }));
      lx -= 30;
    }
  };

  // pairForm pairs a device from the page's form (#pair-form, #pair-code,
  // #pair-err). want is the device the page is for ({kind, hall,
  // counter}); keys name the catalogue entries of the errors ({bad,
  // network, wrong}). onPaired gets the device's token.
  C.pairForm = function (want, keys, onPaired) {
    document.getElementById("pair-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const code = document.getElementById("pair-code").value.trim();
      const err = document.getElementById("pair-err");
      err.textContent = "";
      if (!code) { err.textContent = C.tr(keys.bad); return; }
      let res;
      try { res = await C.api("POST", "/api/v1/devices/pair", { code }, { retries: 2 }); } catch (x) { err.textContent = C.tr(keys.network); return; }
      if (res.status !== 200) { err.textContent = C.tr(keys.bad); return; }
      const d = res.body.device || {};
      if (d.kind !== want.kind || d.hall_id !== want.hall || d.counter_id !== want.counter) {
        err.textContent = C.tr(keys.wrong, d.kind + " " + (d.counter_id || d.hall_id || ""));
        return;
      }
      onPaired(res.body.token);
    });
  };

  // elder is whether 长辈模式 (large text, stronger contrast, longer times)
  // is on; setElder turns it on or off on this device (localStorage, read
  // by layout.html before the page is drawn) and tells the page with the
  // event "civiq:elder". Every [data-elder] button is its switch.
  C.elder = () => document.documentElement.classList.contains("elder");
  C.setElder = function (on) {
    document.documentElement.classList.toggle("elder", on);
    try { if (on) localStorage.setItem("civiq.elder", "1"); else localStorage.removeItem("civiq.elder"); } catch (e) { /* no storage */ }
    for (const b of C.qa("[data-elder]")) b.setAttribute("aria-pressed", String(on));
    document.dispatchEvent(new CustomEvent("civiq:elder", { detail: on }));
  };
  for (const b of C.qa("[data-elder]")) {
    b.setAttribute("aria-pressed", String(C.elder()));
    b.addEventListener("click", () => C.setElder(!C.elder()));
  }

  // spell reads a ticket number one sign at a time: A012 is "A零一二" in
  // Chinese and "A 0 1 2" in English. Letters are read as letters.
  const ZH_DIGITS = "零一二三四五六七八九";
  C.spell = function (number, zh) {
    const out = [];
    for (const ch of String(number || "")) {
      if (ch >= "0" && ch <= "9") out.push(zh ? ZH_DIGITS[ch.charCodeAt(0) - 48] : ch);
      else if (/[A-Za-z]/.test(ch)) out.push(ch.toUpperCase());
    }
    return out.join(zh ? "" : " ");
  };

  // pickVoice chooses an installed (local, offline) voice: zh-CN for
  // Chinese, en-* (US or GB first) for English; null means the browser's
  // default voice for the utterance's language.
  C.pickVoice = function (voices, want) {
    const local = Array.from(voices || []).filter((v) => v && v.localService !== false);
    const lang = (v) => String(v.lang || "").replace("_", "-").toLowerCase();
    if (want === "zh") return local.find((v) => lang(v) === "zh-cn") || null;
    return local.find((v) => lang(v) === "en-us") || local.find((v) => lang(v) === "en-gb") ||
      local.find((v) => lang(v).startsWith("en-") || lang(v) === "en") || null;
  };

  // read says a text aloud in the page's language (the browser's speech,
  // offline voices first), stopping what it was saying; false when the
  // browser cannot speak.
  C.read = function (text) {
    const s = window.speechSynthesis;
    if (!s || !text || typeof SpeechSynthesisUtterance === "undefined") return false;
    const zh = C.lang !== "en";
    const u = new SpeechSynthesisUtterance(text);
    u.lang = zh ? "zh-CN" : "en-US";
    let v = null;
    try { v = C.pickVoice(s.getVoices(), zh ? "zh" : "en"); } catch (e) { /* the default voice */ }
    if (v) { try { u.voice = v; } catch (e) { /* not a real voice */ } }
    u.rate = zh ? 0.85 : 0.9;
    try { s.cancel(); s.speak(u); } catch (e) { return false; }
    return true;
  };

  // clock keeps an element showing the hall's local time.
  C.clock = function (el, tz) {
    const tick = () => { el.textContent = C.time(new Date(), "seconds", tz); };
    tick();
    return setInterval(tick, 1000);
  };
})();
