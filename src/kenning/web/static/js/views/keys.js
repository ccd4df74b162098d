// API keys (admins see everyone's): create one — its secret is shown once, here, and
// never again — list, revoke.

import * as api from "../api.js";
import { announce, field, h, modal, replace, when } from "../dom.js";

const SCOPES = ["read", "write", "admin"];

export async function render(main, { me }) {
  const rows = h("tbody");
  const name = h("input", { name: "key-name", required: true, maxlength: 100, autocomplete: "off" });
  const owner = h("input", { name: "key-owner", value: me.username, autocomplete: "off" });
  const days = h("input", { name: "key-days", type: "number", min: 1, max: 3650, value: 90 });
  const scopes = SCOPES.map((s) => h("input", { type: "checkbox", id: `scope-${s}`, value: s, checked: s === "read" }));
  const error = h("p", { class: "error", role: "alert" });
  main.append(
    h("h1", {}, "API keys"),
    h("form", { class: "card inline", onsubmit: create },
      field("Name", name), field("Owner", owner), field("Valid for (days)", days),
      h("fieldset", {}, h("legend", {}, "Scopes"), scopes.map((box) => h("span", { class: "check" }, box, h("label", { for: box.id }, box.value)))),
      h("button", { type: "submit" }, "Create key"), error),
    h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Owner"), h("th", { scope: "col" }, "Scopes"),
      h("th", { scope: "col" }, "Expires"), h("th", { scope: "col" }, "Last used"), h("th", { scope: "col" }, "State"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))), rows)),
  );
  await refresh();

  async function refresh() {
    const keys = await api.get("/v1/api-keys");
    replace(rows, keys.length ? keys.map((k) => keyRow(k, refresh)) : h("tr", {}, h("td", { colspan: 7, class: "hint" }, "No keys.")));
  }

  async function create(event) {
    event.preventDefault();
    error.textContent = "";
    const body = {
      name: name.value.trim(),
      username: owner.value.trim() || null,
      days: Number(days.value),
      scopes: scopes.filter((b) => b.checked).map((b) => b.value),
    };
    try {
      const created = await api.call("POST", "/v1/api-keys", body);
      name.value = "";
      showOnce(created);
      refresh();
    } catch (err) {
      error.textContent = err.message;
    }
  }
}

function showOnce(created) {
  const secret = h("input", { readonly: true, value: created.key, class: "secret", id: "new-key", "aria-describedby": "new-key-warn" });
  const copy = h("button", { type: "button", onclick: async () => {
    secret.select();
    try {
      await navigator.clipboard.writeText(created.key);
      announce("Key copied.");
    } catch {
      announce("Select the key and copy it (Ctrl+C).");
    }
  } }, "Copy");
  modal(`Key “${created.name}” created`,
    h("p", { id: "new-key-warn", class: "warn" }, "Copy it now: this is the only time it is shown. Kenning keeps only a hash."),
    h("div", { class: "field" }, h("label", { for: "new-key" }, "API key"), secret),
    copy);
  secret.select();
}

function keyRow(key, refresh) {
  const state = key.revoked_at ? "revoked" : key.expires_at * 1000 < Date.now() ? "expired" : "active";
  return h("tr", {},
    h("th", { scope: "row" }, key.name), h("td", {}, key.username), h("td", {}, key.scopes.join(", ")),
    h("td", {}, when(key.expires_at)), h("td", {}, when(key.last_used_at)), h("td", {}, state),
    h("td", { class: "actions" }, state === "active" ?
      h("button", { type: "button", class: "danger", "aria-label": `Revoke key ${key.name}`, onclick: async () => {
        await api.call("DELETE", `/v1/api-keys/${encodeURIComponent(key.id)}`);
        announce(`Key ${key.name} revoked.`);
        refresh();
      } }, "Revoke") : null));
}
