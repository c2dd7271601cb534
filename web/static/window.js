// civiq window screen (窗口屏): one counter's name, number and state. It
// starts from the page's config, takes the counter's state from GET
// /api/v1/halls/{hall}/status each time the event stream (re)opens, and
// follows the live events, as the display does. Nothing polls.
"use strict";
(function () {
  const C = window.CIVIQ;
  const cfgEl = C.$("w-config");
  if (!cfgEl) return;
  const cfg = JSON.parse(cfgEl.textContent || "{}");
  const id = cfg.counter.id;
  const numEl = C.$("w-num"), stateEl = C.$("w-state"), connEl = C.$("w-conn");
  let counter = cfg.counter;
  let number = "", status = ""; // the ticket at the counter: "called" or "serving"
  let flashTimer = 0, synced = 0;

  function render() {
    numEl.textContent = number || "—";
    numEl.style.setProperty("--len", String(Math.max(4, number.length)));
    // Nobody signed in and no ticket: 未开放, not 空闲 (CIVIQ.counterShown).
    const shown = C.counterShown(counter, !!number);
    let s;
    if (shown === "paused") s = C.tr("window.paused") + (counter.pause_reason ? " · " + C.pauseReason(counter.pause_reason, cfg.pauses) : "");
    else if (shown === "closed") s = C.tr("window.closed");
    else if (number && status === "serving") s = C.tr("window.serving");
    else if (number) s = C.tr("window.calling", number);
    else s = C.tr("window.idle");
    stateEl.textContent = s;
    const b = document.body.classList;
    // A call's flash ends with its number: a no-show or a finish seconds
    // after the call leaves no yellow screen with nobody to call.
    if (!number) { clearTimeout(flashTimer); b.remove("flash"); }
    b.toggle("idle", !number);
    b.toggle("calling", !!number && status !== "serving");
    b.toggle("off", shown === "paused" || shown === "closed");
  }
  function flash() {
    clearTimeout(flashTimer);
    document.body.classList.remove("flash");
    void document.body.offsetWidth; // restart the animation
    document.body.classList.add("flash");
    flashTimer = setTimeout(() => document.body.classList.remove("flash"), 6000);
  }
  // A call older than this (a replay after a cut) is shown, not flashed.
  const FRESH_MS = 2 * 60 * 1000;

  function apply(name, data) {
    const t = data && data.ticket;
    switch (name) {
      case "ticket.called":
      case "ticket.recalled":
        if (!t || !t.number) break;
        if (t.counter_id === id) {
          number = t.number;
          status = "called";
          const at = Date.parse(data.at || "");
          if (isNaN(at) || Date.now() - at < FRESH_MS) flash();
        } else if (t.number === number) {
          number = ""; // the number went to another counter
        }
        break;
      case "ticket.serving":
        if (t && t.counter_id === id) { number = t.number; status = "serving"; }
        break;
      case "ticket.done":
      case "ticket.no_show":
      case "ticket.transferred":
      case "ticket.cancelled":
      case "ticket.returned":
        if (t && t.number === number) number = "";
        break;
      case "counter.updated":
        if (data && data.counter && data.counter.id === id) counter = data.counter;
        break;
      default:
        return;
    }
    render();
  }

  // Events that come while the state is being read wait and are applied
  // on top of it (at most 500).
  const replica = C.replica(apply, 500);
  let retry = 0;
  async function sync() {
    replica.begin();
    clearTimeout(retry);
    let st = null;
    try {
      const r = await C.api("GET", "/api/v1/halls/" + encodeURIComponent(cfg.hall) + "/status");
      if (r.status === 200) st = r.body;
    } catch (e) { st = null; }
    if (st) {
      const c = (st.counters || []).find((x) => x.id === id);
      if (c) {
        counter = c;
        number = c.current_number || "";
        const call = (st.recent_calls || []).find((x) => x.number === number && x.counter_id === id);
        status = call && call.status === "serving" ? "serving" : "called";
      }
    }
    replica.end();
    render();
    synced++;
    if (!st) retry = setTimeout(sync, 5000);
  }

  render();
  const names = ["ticket.called", "ticket.recalled", "ticket.serving", "ticket.done", "ticket.no_show",
    "ticket.transferred", "ticket.returned", "ticket.cancelled", "counter.updated"];
  const handlers = {};
  for (const n of names) handlers[n] = (data, ev) => replica.receive(n, data, ev && ev.lastEventId);
  C.stream(cfg.hall, handlers, (up) => {
    connEl.classList.toggle("hidden", up);
    if (up) sync();
  }, { public: true });

  // For tests.
  window.civiqWindow = { apply, synced: () => synced, state: () => ({ number, status, counter: counter.status, staffed: !!counter.staffed }) };
})();
