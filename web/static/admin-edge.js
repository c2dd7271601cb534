// civiq administration, edge nodes (issue 16): this node's role and its
// link (an edge's link to its city, the events waiting to go up, the last
// configuration pulled; on a city, the picked hall's edge in step, behind
// or silent), and the hall's edge tokens: made (shown once), rotated and
// revoked. admin.js's helpers send and show errors.
"use strict";
(function () {
  const A = window.civiqAdmin, C = window.CIVIQ, tr = C.tr;
  const form = document.getElementById("f-edge");
  if (!A || !A.isAdmin || !form) return;
  const { h } = A;
  const list = document.querySelector("#edge-list tbody");
  const when = (t) => (t ? C.time(t, "datetime", "Asia/Shanghai") : tr("admin.edge.never"));

  function row(dl, key, value, cls) {
    dl.append(h("dt", {}, tr(key)), h("dd", cls ? { class: cls } : {}, value));
  }

  async function loadStatus() {
    const dl = document.getElementById("edge-status");
    let node;
    try { node = (await A.get("/api/v1/node")).node; } catch (e) { return; }
    dl.replaceChildren();
    row(dl, "admin.edge.role", tr("admin.edge.role." + node.role));
    if (node.role === "edge") {
      const l = node.link || {};
      row(dl, "admin.edge.link", h("span", { class: "badge" + (l.up ? "" : " warn") }, tr(l.up ? "admin.edge.link.up" : "admin.edge.link.down")));
      row(dl, "admin.edge.pending", String(node.pending || 0));
      row(dl, "admin.edge.oldest", node.pending ? tr("admin.edge.age", String(Math.round(node.oldest_pending_age_seconds))) : "—");
      row(dl, "admin.edge.pulled", when(l.last_pulled_at));
      return;
    }
    const e = (node.edges || []).find((x) => x.hall_id === A.hall());
    const health = e ? e.health : "none";
    row(dl, "admin.edge.hall_edge", h("span", {},
      h("span", { class: "badge" + (health === "ok" ? "" : " warn"), "data-health": health }, tr("admin.edge.health." + health)),
      e ? " " + tr("admin.edge.seen", when(e.seen_at)) : ""));
    if (e) {
      row(dl, "admin.edge.pending", String(e.pending || 0));
    }
  }

  async function loadTokens() {
    if (!A.hall()) return;
    let tokens = [];
    try { tokens = (await A.get(A.hallPath("/edge-tokens"))).edge_tokens || []; } catch (e) { return; }
    list.replaceChildren();
    const now = Date.now();
    for (const t of tokens) {
      const ended = t.expires_at && Date.parse(t.expires_at) <= now;
      const state = ended ? tr("admin.edge.revoked") : t.expires_at ? tr("admin.edge.until", when(t.expires_at)) : tr("admin.edge.active");
      list.append(h("tr", { "data-edge-token": t.id },
        h("td", { class: "num" }, String(t.id)), h("td", {}, t.description || ""), h("td", {}, when(t.created_at)),
        h("td", {}, h("span", { class: "status " + (ended ? "closed" : t.expires_at ? "paused" : "open") }, state)),
        h("td", {}, when(t.last_used_at)),
        h("td", { class: "row-actions" }, ...(ended ? [] : [
          h("button", { type: "button", class: "btn small", onclick: () => rotate(t) }, tr("admin.edge.rotate")),
          h("button", { type: "button", class: "btn small danger", "aria-label": tr("admin.edge.revoke") + " #" + t.id, onclick: () => revoke(t) }, tr("admin.edge.revoke"))]))));
    }
    if (!list.children.length) list.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, tr("admin.none"))));
  }

  function showToken(token) {
    const p = document.getElementById("edge-token-panel");
    document.getElementById("edge-token").textContent = token;
    p.hidden = false;
    p.focus();
  }
  async function rotate(t) {
    if (!confirm(tr("admin.edge.confirm.rotate", t.id))) return;
    const res = await A.act("edge", "POST", A.hallPath("/edge-tokens/" + t.id + "/rotate"));
    if (!res) return;
    showToken(res.body.token);
    loadTokens();
  }
  async function revoke(t) {
    if (!confirm(tr("admin.edge.confirm.revoke", t.id))) return;
    const res = await A.act("edge", "DELETE", A.hallPath("/edge-tokens/" + t.id));
    if (!res) return;
    A.toast(tr("admin.edge.revoked_toast"));
    loadTokens();
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const res = await A.send(form, "POST", A.hallPath("/edge-tokens"), { description: A.val(form, "description") });
    if (!res) return;
    form.elements.description.value = "";
    showToken(res.body.token);
    loadTokens();
  });
  document.getElementById("edge-token-close").addEventListener("click", () => {
    document.getElementById("edge-token-panel").hidden = true;
    document.getElementById("edge-token").textContent = "";
    form.elements.description.focus();
  });
  document.addEventListener("civiq:hall", () => { loadTokens(); loadStatus(); });
  loadStatus();
  loadTokens();
  setInterval(loadStatus, 15000);
})();
