// What Kenning remembers about you (long-term memory): list, add, forget one, forget all.
// Only your own memories: the API takes tenant and user from your session.

import * as api from "../api.js";
import { announce, field, h, replace, when } from "../dom.js";

export async function render(main) {
  const rows = h("tbody");
  const text = h("input", { name: "memory-text", required: true, maxlength: 500, autocomplete: "off" });
  const error = h("p", { class: "error", role: "alert" });
  const forgetAll = h("button", { type: "button", class: "danger", onclick: clear }, "Forget everything");
  main.append(
    h("h1", {}, "Memories"),
    h("p", { class: "hint" },
      "Facts and preferences Kenning keeps for your later questions. Say “remember that …” in the chat, or add one here. ",
      "They help the model understand your questions; answers still come only from the documents."),
    h("form", { class: "card inline", onsubmit: add }, field("Remember", text), h("button", { type: "submit" }, "Add"), error),
    h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Memory"), h("th", { scope: "col" }, "From"), h("th", { scope: "col" }, "Since"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))), rows)),
    h("p", {}, forgetAll),
  );
  await refresh();

  async function refresh() {
    const memories = await api.get("/v1/memories");
    forgetAll.hidden = memories.length === 0;
    replace(rows, memories.length ? memories.map((m) => memoryRow(m, refresh))
      : h("tr", {}, h("td", { colspan: 4, class: "hint" }, "Nothing remembered yet.")));
  }

  async function add(event) {
    event.preventDefault();
    error.textContent = "";
    try {
      await api.call("POST", "/v1/memories", { text: text.value.trim() });
      text.value = "";
      announce("Remembered.");
      await refresh();
    } catch (err) {
      error.textContent = err.message;
    }
  }

  async function clear() {
    if (!window.confirm("Forget everything Kenning remembers about you?")) return;
    const { deleted } = await api.call("DELETE", "/v1/memories");
    announce(`${deleted} memories forgotten.`);
    await refresh();
  }
}

function memoryRow(memory, refresh) {
  return h("tr", {},
    h("td", {}, memory.text),
    h("td", {}, memory.source === "explicit" ? "you" : "a conversation"),
    h("td", {}, when(memory.created_at)),
    h("td", { class: "actions" }, h("button", { type: "button", class: "danger", "aria-label": `Forget: ${memory.text}`, onclick: async () => {
      await api.call("DELETE", `/v1/memories/${encodeURIComponent(memory.id)}`);
      announce("Forgotten.");
      await refresh();
    } }, "Forget")));
}
