// A citation opened: the document, its page or section, and the cited text highlighted
// inside the text around it (GET /v1/documents/{id}/passage with the citation's offsets).
// When the document changed or went away since the answer, the answer's own copy of the
// passage is shown instead, with a note.

import * as api from "../api.js";
import { h, modal, replace } from "../dom.js";

export function where(p) {
  const parts = [];
  if (p.page) parts.push(`page ${p.page}`);
  if (p.section && p.section.length) parts.push(p.section.join(" › "));
  return parts.join(" · ");
}

/** Where in `text` the answer's sentence sits, whitespace-insensitively; null if not. */
export function locate(text, claim) {
  const words = (claim || "").replace(/[.!?;:,]+$/, "").split(/\s+/).filter(Boolean);
  if (words.length < 3) return null;
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const match = new RegExp(escaped.join("\\s+"), "i").exec(text);
  return match ? [match.index, match.index + match[0].length] : null;
}

/** The cited text, with the sentence the answer took from it marked when found. */
function cited(text, claim) {
  const span = locate(text, claim);
  if (!span) return [h("mark", {}, text)];
  return [
    h("span", { class: "cited" }, text.slice(0, span[0])),
    h("mark", {}, text.slice(span[0], span[1])),
    h("span", { class: "cited" }, text.slice(span[1])),
  ];
}

function shortSource(source) {
  return /^https?:\/\//.test(source) ? source : source.split(/[\\/]/).pop();
}

export function openPassage(p, claim = "") {
  const excerpt = h("blockquote", { class: "excerpt", "aria-busy": "true" }, cited(p.text, claim));
  const note = h("p", { class: "hint" });
  const dialog = modal(
    `[${p.number}] ${p.title}`,
    h("p", { class: "meta" }, where(p) || "whole document"),
    h("p", { class: "meta source" }, shortSource(p.source)),
    excerpt,
    note,
  );
  dialog.classList.add("passage");
  const query = new URLSearchParams({ start: p.start, end: p.end, context: 700 });
  api
    .get(`/v1/documents/${encodeURIComponent(p.document_id)}/passage?${query}`)
    .then((ctx) => {
      if (ctx.text !== p.text) throw new Error("changed");
      replace(
        excerpt,
        ctx.start > ctx.before.length ? "… " : "",
        ctx.before,
        cited(ctx.text, claim),
        ctx.after,
        ctx.end + ctx.after.length < ctx.length ? " …" : "",
      );
      excerpt.querySelector("mark").scrollIntoView({ block: "center" });
    })
    .catch(() => {
      note.textContent = "The document has changed since this answer; this is the passage as cited.";
    })
    .finally(() => excerpt.setAttribute("aria-busy", "false"));
  return dialog;
}
