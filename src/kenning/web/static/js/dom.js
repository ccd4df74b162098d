// Building the page without HTML strings. Every piece of text — document titles,
// passages, answers, user names — goes in as a text node, never through innerHTML,
// so markup inside a document is shown, not run. Event handlers are functions only.

/**
 * Create an element: h("button", {class: "x", onclick: fn, "aria-label": "…"}, "text", child)
 * Attributes whose value is null/undefined/false are left out; `true` sets an empty one.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, ...children);
  return el;
}

/** The same for SVG elements (charts). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttrs(el, attrs);
  append(el, ...children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) {
      if (typeof value !== "function") throw new TypeError(`${name} must be a function`);
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.setAttribute("class", value);
    } else if (name === "value" || name === "checked" || name === "selected") {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

/** Append children: strings and numbers become text nodes; arrays are flattened. */
export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace everything inside `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

/** A labelled form field: <label for=id>text</label> + the control. */
export function field(label, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("small", { id: hintId, class: "hint" }, hint));
  }
  return h("div", { class: "field" }, parts);
}

let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Dates and numbers the same way everywhere. */
export function when(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return new Date(seconds * 1000).toLocaleString();
}

/** A status message for assistive technology and sighted users alike. */
export function announce(text, kind = "info") {
  const region = document.getElementById("toast");
  replace(region, h("p", { class: `toast ${kind}` }, text));
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => region.replaceChildren(), 6000);
}

/** A modal <dialog> (native focus trap, Esc closes); removed from the page on close. */
export function modal(title, ...body) {
  const heading = h("h2", { id: uid("dlg") }, title);
  const close = h("button", { class: "close", type: "button", "aria-label": "Close" }, "×");
  const dialog = h(
    "dialog",
    { "aria-labelledby": heading.id, class: "modal" },
    h("div", { class: "modal-head" }, heading, close),
    h("div", { class: "modal-body" }, body),
  );
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
