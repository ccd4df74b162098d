// Documents for editors and admins: upload files (one request and one job per file, so
// each file has its own progress bar and its own error), folder and URL sources to
// sync, and the document list with access (ACL) editing and deletion.

import * as api from "../api.js";
import { announce, field, h, modal, replace } from "../dom.js";
import { follow, summary } from "./jobs.js";

export async function render(main) {
  const table = h("tbody");
  const sources = h("tbody");
  main.append(
    h("h1", {}, "Documents"),
    uploadSection(() => refresh()),
    h("section", { "aria-labelledby": "docs-h" }, h("h2", { id: "docs-h" }, "Indexed documents"),
      h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Title"), h("th", { scope: "col" }, "Format"),
        h("th", { scope: "col" }, "Source"), h("th", { scope: "col" }, "Access"),
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))), table))),
    sourcesSection(sources, () => refresh()),
  );
  await refresh();

  async function refresh() {
    const [docs, srcs] = await Promise.all([api.get("/v1/documents"), api.get("/v1/sources")]);
    replace(table, docs.length ? docs.map((d) => documentRow(d, refresh)) : h("tr", {}, h("td", { colspan: 5, class: "hint" }, "No documents yet.")));
    replace(sources, srcs.length ? srcs.map((s) => sourceRow(s, refresh)) : h("tr", {}, h("td", { colspan: 4, class: "hint" }, "No sources.")));
  }
}

export function aclText(acl) {
  if (!acl) return "";
  if (acl.public) return "everyone";
  return [...acl.users.map((u) => `user:${u}`), ...acl.groups.map((g) => `group:${g}`)].join(", ") || "nobody";
}

function parseAcl(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

function uploadSection(onDone) {
  const files = h("input", { type: "file", name: "files", multiple: true, required: true });
  const acl = h("input", { name: "acl", value: "public", autocomplete: "off" });
  const rows = h("ul", { class: "uploads", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card", onsubmit: start },
    field("Files", files, "PDF, Word, PowerPoint, Excel, HTML, Markdown, text or e-mail files."),
    field("Who may read them", acl, "“public”, or user:NAME and group:NAME separated by commas."),
    h("button", { type: "submit" }, "Upload"),
    rows,
  );
  return h("section", { "aria-labelledby": "up-h" }, h("h2", { id: "up-h" }, "Upload"), form);

  async function start(event) {
    event.preventDefault();
    const entries = parseAcl(acl.value);
    const chosen = [...files.files];
    files.value = "";
    await Promise.all(chosen.map((file) => uploadOne(file, entries)));
    onDone();
  }

  async function uploadOne(file, entries) {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `Upload of ${file.name}` });
    const status = h("span", { class: "status" }, "uploading");
    rows.append(h("li", {}, h("span", { class: "name" }, file.name), bar, status));
    try {
      const job = await api.upload(file, entries, (fraction) => {
        bar.value = fraction;
      });
      bar.value = 1;
      const done = await follow(job.id, (j) => {
        status.textContent = j.status === "done" || j.status === "failed" ? status.textContent : j.status;
      });
      const result = summary(done);
      status.textContent = result.ok ? `done: ${result.text}` : `failed: ${result.text}`;
      status.className = result.ok ? "status ok" : "status error";
    } catch (err) {
      status.textContent = `failed: ${err.message}`;
      status.className = "status error";
    }
  }
}

function documentRow(doc, refresh) {
  return h(
    "tr",
    { "data-id": doc.id },
    h("th", { scope: "row" }, doc.title),
    h("td", {}, doc.format),
    h("td", { class: "source" }, doc.metadata.filename || doc.source),
    h("td", {}, aclText(doc.acl)),
    h(
      "td",
      { class: "actions" },
      h("button", { type: "button", class: "ghost", "aria-label": `Access to ${doc.title}`, onclick: () => editAcl(doc, refresh) }, "Access"),
      h("button", { type: "button", class: "danger", "aria-label": `Delete ${doc.title}`, onclick: () => confirmDelete(doc, refresh) }, "Delete"),
    ),
  );
}

function editAcl(doc, refresh) {
  const everyone = h("input", { type: "checkbox", name: "public", checked: doc.acl.public });
  const users = h("input", { name: "users", value: doc.acl.users.join(", "), autocomplete: "off" });
  const groups = h("input", { name: "groups", value: doc.acl.groups.join(", "), autocomplete: "off" });
  const error = h("p", { class: "error", role: "alert" });
  const dialog = modal(
    `Access to ${doc.title}`,
    h(
      "form",
      { onsubmit: save },
      h("div", { class: "check" }, everyone, h("label", { for: (everyone.id = "acl-public") }, "Everyone in the workspace")),
      field("Users", users, "Names separated by commas. Naming anyone restricts the document to those named — include yourself to keep access (the ACL binds admins too)."),
      field("Groups", groups),
      error,
      h("button", { type: "submit" }, "Save access"),
    ),
  );

  async function save(event) {
    event.preventDefault();
    const body = { public: everyone.checked, users: parseAcl(users.value), groups: parseAcl(groups.value) };
    try {
      await api.call("PUT", `/v1/documents/${encodeURIComponent(doc.id)}/acl`, body);
      dialog.close();
      announce(`Access to “${doc.title}” saved.`);
      refresh();
    } catch (err) {
      error.textContent = err.message;
    }
  }
}

function confirmDelete(doc, refresh) {
  const dialog = modal(
    "Delete document?",
    h("p", {}, `“${doc.title}” will be removed from the index and from answers.`),
    h("div", { class: "row" },
      h("button", { type: "button", class: "danger", onclick: remove }, "Delete"),
      h("button", { type: "button", class: "ghost", onclick: () => dialog.close() }, "Cancel")),
  );

  async function remove() {
    try {
      await api.call("DELETE", `/v1/documents/${encodeURIComponent(doc.id)}`);
      announce(`“${doc.title}” deleted.`);
    } catch (err) {
      announce(`Delete failed: ${err.message}`, "error");
    }
    dialog.close();
    refresh();
  }
}

function sourcesSection(tbody, refresh) {
  const kind = h("select", { name: "kind" }, h("option", { value: "folder" }, "Server folder"), h("option", { value: "url" }, "Web site (URL)"));
  const location = h("input", { name: "location", required: true, autocomplete: "off" });
  const acl = h("input", { name: "source-acl", value: "public", autocomplete: "off" });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "card inline", onsubmit: add },
    field("Kind", kind),
    field("Folder or URL", location),
    field("Who may read it", acl),
    h("button", { type: "submit" }, "Add source"),
    error,
  );
  return h(
    "section",
    { "aria-labelledby": "src-h" },
    h("h2", { id: "src-h" }, "Sources"),
    form,
    h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Location"), h("th", { scope: "col" }, "Access"),
      h("th", { scope: "col" }, "Last sync"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))), tbody)),
  );

  async function add(event) {
    event.preventDefault();
    error.textContent = "";
    const entries = parseAcl(acl.value);
    const body = {
      kind: kind.value,
      location: location.value.trim(),
      acl: { public: entries.includes("public") || !entries.length,
        users: entries.filter((e) => e.startsWith("user:")).map((e) => e.slice(5)),
        groups: entries.filter((e) => e.startsWith("group:")).map((e) => e.slice(6)) },
    };
    try {
      await api.call("POST", "/v1/sources", body);
      location.value = "";
      refresh();
    } catch (err) {
      error.textContent = err.message;
    }
  }
}

function sourceRow(source, refresh) {
  const status = h("td", { class: "status" }, source.last_job_id ? "…" : "never");
  if (source.last_job_id) {
    api.get(`/v1/jobs/${source.last_job_id}`).then((j) => show(j)).catch(() => (status.textContent = "—"));
  }
  return h(
    "tr",
    {},
    h("th", { scope: "row", class: "source" }, source.location),
    h("td", {}, aclText(source.acl)),
    status,
    h(
      "td",
      { class: "actions" },
      h("button", { type: "button", class: "ghost", "aria-label": `Sync ${source.location}`, onclick: sync }, "Sync"),
      h("button", { type: "button", class: "danger", "aria-label": `Remove source ${source.location}`, onclick: remove }, "Remove"),
    ),
  );

  function show(job) {
    const finished = job.status === "done" || job.status === "failed";
    const result = finished ? summary(job) : { ok: true, text: job.status };
    status.textContent = result.text;
    status.className = result.ok ? "status ok" : "status error";
  }

  async function sync() {
    try {
      const job = await api.call("POST", `/v1/sources/${encodeURIComponent(source.id)}/sync`);
      await follow(job.id, show);
      refresh();
    } catch (err) {
      status.textContent = `failed: ${err.message}`;
    }
  }

  function remove() {
    const dialog = modal(
      "Remove source?",
      h("p", {}, `${source.location} and every document indexed from it will be removed.`),
      h("div", { class: "row" },
        h("button", { type: "button", class: "danger", onclick: confirmed }, "Remove"),
        h("button", { type: "button", class: "ghost", onclick: () => dialog.close() }, "Cancel")),
    );

    async function confirmed() {
      try {
        await api.call("DELETE", `/v1/sources/${encodeURIComponent(source.id)}`);
        announce("Source removed with its documents.");
      } catch (err) {
        announce(`Remove failed: ${err.message}`, "error");
      }
      dialog.close();
      refresh();
    }
  }
}
