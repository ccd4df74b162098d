// Users and groups of the workspace (admins): create, change role, (de)activate,
// delete; groups with their members.

import * as api from "../api.js";
import { announce, field, h, modal, replace } from "../dom.js";

const ROLES = ["viewer", "editor", "admin"];

export async function render(main, { me }) {
  const users = h("tbody");
  const groups = h("ul", { class: "groups" });
  main.append(
    h("h1", {}, "Users & groups"),
    h("section", { "aria-labelledby": "u-h" }, h("h2", { id: "u-h" }, "Users"), createUserForm(refresh),
      h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "User"), h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, "Groups"),
        h("th", { scope: "col" }, "Active"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))), users))),
    h("section", { "aria-labelledby": "g-h" }, h("h2", { id: "g-h" }, "Groups"), createGroupForm(refresh), groups),
  );
  await refresh();

  async function refresh() {
    const [us, gs] = await Promise.all([api.get("/v1/users"), api.get("/v1/groups")]);
    replace(users, us.map((u) => userRow(u, me, refresh)));
    replace(groups, gs.length ? gs.map((g) => groupItem(g, us, refresh)) : h("li", { class: "hint" }, "No groups yet."));
  }
}

function select(name, options, current, label) {
  return h("select", { name, "aria-label": label }, options.map((o) => h("option", { value: o, selected: o === current }, o)));
}

function createUserForm(refresh) {
  const username = h("input", { name: "new-username", required: true, autocomplete: "off", pattern: "[A-Za-z0-9][A-Za-z0-9._@\\-]{0,63}" });
  const password = h("input", { name: "new-password", type: "password", required: true, minlength: 10, autocomplete: "new-password" });
  const role = select("new-role", ROLES, "viewer");
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card inline", onsubmit: create },
    field("User name", username), field("Password", password, "At least 10 characters."), field("Role", role),
    h("button", { type: "submit" }, "Create user"), error);
  return form;

  async function create(event) {
    event.preventDefault();
    error.textContent = "";
    try {
      await api.call("POST", "/v1/users", { username: username.value.trim(), password: password.value, role: role.value });
      announce(`User ${username.value} created.`);
      form.reset();
      refresh();
    } catch (err) {
      error.textContent = err.message;
    }
  }
}

function userRow(user, me, refresh) {
  const self = user.username === me.username;
  const role = select("role", ROLES, user.role, `Role of ${user.username}`);
  role.disabled = self;
  role.addEventListener("change", () => patch({ role: role.value }));
  const active = h("input", { type: "checkbox", checked: user.active, disabled: self, "aria-label": `${user.username} is active` });
  active.addEventListener("change", () => patch({ active: active.checked }));
  return h("tr", { "data-user": user.username },
    h("th", { scope: "row" }, user.username, user.superuser ? h("span", { class: "badge" }, "superuser") : null),
    h("td", {}, role),
    h("td", {}, user.groups.join(", ") || "—"),
    h("td", {}, active),
    h("td", { class: "actions" }, self ? null :
      h("button", { type: "button", class: "danger", "aria-label": `Delete user ${user.username}`, onclick: confirmDelete }, "Delete")));

  async function patch(body) {
    try {
      await api.call("PATCH", `/v1/users/${encodeURIComponent(user.username)}`, body);
      announce(`${user.username} updated.`);
    } catch (err) {
      announce(`Update failed: ${err.message}`, "error");
    }
    refresh();
  }

  function confirmDelete() {
    const dialog = modal(`Delete ${user.username}?`,
      h("p", {}, "Their conversations, keys and sessions go with them."),
      h("div", { class: "row" },
        h("button", { type: "button", class: "danger", onclick: remove }, "Delete"),
        h("button", { type: "button", class: "ghost", onclick: () => dialog.close() }, "Cancel")));

    async function remove() {
      await api.call("DELETE", `/v1/users/${encodeURIComponent(user.username)}`).catch((err) => announce(err.message, "error"));
      dialog.close();
      refresh();
    }
  }
}

function createGroupForm(refresh) {
  const name = h("input", { name: "group-name", required: true, autocomplete: "off" });
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card inline", onsubmit: create }, field("New group", name), h("button", { type: "submit" }, "Create group"), error);
  return form;

  async function create(event) {
    event.preventDefault();
    try {
      await api.call("POST", "/v1/groups", { name: name.value.trim() });
      form.reset();
      refresh();
    } catch (err) {
      error.textContent = err.message;
    }
  }
}

function groupItem(group, users, refresh) {
  const base = `/v1/groups/${encodeURIComponent(group.name)}`;
  const candidates = users.map((u) => u.username).filter((u) => !group.members.includes(u));
  const pick = h("select", { "aria-label": `User to add to ${group.name}` }, candidates.map((u) => h("option", { value: u }, u)));
  return h("li", { class: "card" },
    h("h3", {}, group.name),
    h("ul", { class: "members" }, group.members.map((m) => h("li", {}, m,
      h("button", { type: "button", class: "icon", "aria-label": `Remove ${m} from ${group.name}`,
        onclick: () => api.call("DELETE", `${base}/members/${encodeURIComponent(m)}`).then(refresh) }, "×")))),
    h("div", { class: "row" },
      candidates.length ? [pick, h("button", { type: "button", class: "ghost",
        onclick: () => api.call("PUT", `${base}/members/${encodeURIComponent(pick.value)}`).then(refresh) }, "Add member")] : null,
      h("button", { type: "button", class: "danger", "aria-label": `Delete group ${group.name}`,
        onclick: () => api.call("DELETE", base).then(refresh) }, "Delete group")));
}
