// The shell: session, navigation by role, and a tiny hash router (#/chat, #/documents…).
// One page keeps the access token in memory across views; each view is a module with
// `render(main, ctx)` and is loaded when first visited.

import * as api from "./api.js";
import { h, replace } from "./dom.js";

const ROUTES = {
  chat: { title: "Chat", role: "viewer", load: () => import("./views/chat.js") },
  memories: { title: "Memories", role: "viewer", load: () => import("./views/memories.js") },
  documents: { title: "Documents", role: "editor", load: () => import("./views/documents.js") },
  users: { title: "Users & groups", role: "admin", load: () => import("./views/users.js") },
  keys: { title: "API keys", role: "admin", load: () => import("./views/keys.js") },
  dashboard: { title: "Dashboard", role: "admin", load: () => import("./views/dashboard.js") },
};
const RANK = { viewer: 0, editor: 1, admin: 2 };
const main = document.getElementById("main");
let me = null;

export const allowed = (user, role) => RANK[user.role] >= RANK[role];

function routeName() {
  const match = location.hash.match(/^#\/([a-z]+)/);
  return match ? match[1] : null;
}

let generation = 0; // the latest navigation; an older one still loading gives way

async function show() {
  if (!me) return;
  const mine = ++generation;
  const name = routeName();
  if (name === null) {
    if (!location.hash) location.replace("#/chat");
    return; // a skip link or other in-page anchor: not a route
  }
  const route = ROUTES[name];
  markCurrent(name);
  if (!route) return render("Not found", h("p", {}, "There is no such page."));
  if (!allowed(me, route.role)) {
    return render(
      "Not allowed",
      h("p", { class: "error", role: "alert" }, `This page needs the ${route.role} role.`),
    );
  }
  document.title = `${route.title} · Kenning`;
  main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  const view = await route.load();
  if (mine !== generation) return;
  main.replaceChildren();
  await view.render(main, { me, params: location.hash.split("/").slice(2) });
  // move focus to the new page (for screen readers) unless the view chose a control
  if (mine !== generation) return;
  const focused = document.activeElement;
  if (!main.contains(focused) || focused === main) focusHeading();
}

function render(title, ...body) {
  document.title = `${title} · Kenning`;
  replace(main, h("h1", {}, title), body);
  focusHeading();
}

function focusHeading() {
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

function markCurrent(name) {
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function buildChrome() {
  const nav = document.getElementById("nav");
  const links = Object.entries(ROUTES)
    .filter(([, r]) => allowed(me, r.role))
    .map(([name, r]) => h("a", { href: `#/${name}`, "data-route": name }, r.title));
  replace(nav, links);
  nav.hidden = false;
  const account = document.getElementById("account");
  replace(
    account,
    h("span", { class: "who" }, `${me.username} · ${me.role}`),
    h("button", { type: "button", class: "ghost", onclick: () => api.logout() }, "Log out"),
  );
  account.hidden = false;
}

async function signedIn() {
  me = await api.get("/v1/users/me");
  buildChrome();
  await show();
}

async function signedOut() {
  me = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("account").hidden = true;
  const { render: renderLogin } = await import("./views/login.js");
  document.title = "Log in · Kenning";
  main.replaceChildren();
  renderLogin(main, signedIn);
}

api.whenSignedOut(signedOut);
window.addEventListener("hashchange", () => show().catch(failed));
document.getElementById("skip").addEventListener("click", (e) => {
  e.preventDefault(); // keep the route in the address bar
  main.focus();
});

function failed(err) {
  replace(main, h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, String(err.message || err)));
}

(async () => {
  try {
    if (await api.restore()) await signedIn();
    else await signedOut();
  } catch (err) {
    failed(err);
  }
})();
