// Log in with tenant, user name and password (the tenant is prefilled as "default").

import * as api from "../api.js";
import { field, h } from "../dom.js";

export function render(main, onSignedIn) {
  const tenant = h("input", { name: "tenant", autocomplete: "organization", value: "default", required: true });
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Log in");
  const form = h(
    "form",
    { class: "card login", onsubmit: onSubmit },
    h("h1", {}, "Log in to Kenning"),
    field("Workspace (tenant)", tenant),
    field("User name", username),
    field("Password", password),
    error,
    submit,
  );
  main.append(form);
  username.focus();

  async function onSubmit(event) {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      await api.login(tenant.value.trim(), username.value.trim(), password.value);
      await onSignedIn();
    } catch (err) {
      error.textContent = err.status === 401 ? "Wrong user name or password." : err.message;
      submit.disabled = false;
      password.select();
    }
  }
}
