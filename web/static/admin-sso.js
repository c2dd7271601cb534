// civiq administration, single sign-on (issue 17): the identity platform
// (OpenID Connect) and the directory (LDAP) as GET /api/v1/sso has them,
// sent back whole with PUT. The secrets are write-only: the page says
// whether one is kept, an empty box keeps it. admin.js's helpers send and
// show errors, by field (oidc.issuer…).
"use strict";
(function () {
  const A = window.civiqAdmin, C = window.CIVIQ, tr = C.tr;
  const form = document.getElementById("f-sso");
  if (!A || !A.isAdmin || !form) return;
  const parts = {
    oidc: ["name", "issuer", "client_id", "redirect_url", "username_claim", "groups_claim", "roles"],
    ldap: ["url", "bind_dn", "base", "filter", "search_dn", "username_attr", "group_attr", "group_base", "group_filter", "roles"],
  };
  const secret = { oidc: "client_secret", ldap: "search_password" };
  const el = (part, name) => form.elements[part + "." + name];
  const on = (part) => document.getElementById("sso-" + part + "-on");

  function toggle(part) {
    form.querySelector('[data-fields="' + part + '"]').hidden = !on(part).checked;
  }

  function fill(s) {
    const src = document.getElementById("sso-source");
    src.textContent = s.source === "store" ? tr("admin.sso.source.store", s.updated_by || "—", s.updated_at ? C.time(s.updated_at, "datetime", A.hallTZ()) : "—")
      : tr(s.source === "flags" ? "admin.sso.source.flags" : "admin.sso.source.none");
    for (const part of Object.keys(parts)) {
      const v = s[part] || {};
      on(part).checked = !!s[part];
      for (const name of parts[part]) el(part, name).value = v[name] || "";
      el(part, secret[part]).value = "";
      form.elements[part + ".clear_" + secret[part]].checked = false;
      document.getElementById("sso-" + part + "-secret-state").textContent = tr(v[secret[part] + "_set"] ? "admin.sso.secret_set" : "admin.sso.secret_unset");
      toggle(part);
    }
    el("oidc", "scopes").value = ((s.oidc && s.oidc.scopes) || []).join(" ");
    form.elements["ldap.starttls"].checked = !!(s.ldap && s.ldap.starttls);
  }

  async function load() {
    try { fill(await A.get("/api/v1/sso")); } catch (e) { A.formAlert(form, tr("admin.load_failed")); }
  }

  function body() {
    const out = { oidc: null, ldap: null };
    for (const part of Object.keys(parts)) {
      if (!on(part).checked) continue;
      const v = {};
      for (const name of parts[part]) v[name] = A.val(form, part + "." + name);
      v[secret[part]] = el(part, secret[part]).value;
      v["clear_" + secret[part]] = form.elements[part + ".clear_" + secret[part]].checked;
      out[part] = v;
    }
    if (out.oidc) out.oidc.scopes = A.val(form, "oidc.scopes").split(/[\s,]+/).filter(Boolean);
    if (out.ldap) out.ldap.starttls = form.elements["ldap.starttls"].checked;
    return out;
  }

  for (const part of Object.keys(parts)) on(part).addEventListener("change", () => toggle(part));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!A.validate(form)) return;
    const res = await A.send(form, "PUT", "/api/v1/sso", body());
    if (!res) return;
    fill(res.body);
    A.toast(tr("admin.sso.saved"));
  });
  load();
})();
