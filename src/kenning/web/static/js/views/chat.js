// Chat: ask, watch the answer stream in, open its numbered citations, rate it; past
// conversations on the side. Answers arrive as SSE from POST /v1/chat (stream: true):
// `sources`, then `token`s, maybe a `reset` (the model failed midway), then `answer`.

import * as api from "../api.js";
import { announce, field, h, replace, svg } from "../dom.js";
import { events } from "../sse.js";
import { openPassage, where } from "./passage.js";

const MARKER = /\[(\d+)\]/g;

export async function render(main, { params }) {
  let conversationId = params[0] || null;
  const list = h("ul", { class: "conversations" });
  const log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  const question = h("textarea", { name: "question", rows: 2, required: true, maxlength: 4000 });
  const send = h("button", { type: "submit" }, "Ask");
  const form = h("form", { class: "ask", onsubmit: ask }, field("Your question", question), send);
  question.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  main.append(
    h(
      "div",
      { class: "chat" },
      h(
        "aside",
        { class: "side", "aria-labelledby": "conv-h" },
        h("h2", { id: "conv-h" }, "Conversations"),
        h("button", { type: "button", class: "ghost", onclick: newConversation }, "New conversation"),
        list,
      ),
      h("section", { class: "thread", "aria-labelledby": "chat-h" }, h("h1", { id: "chat-h" }, "Ask your documents"), log, form),
    ),
  );
  await refreshList();
  if (conversationId) await openConversation(conversationId);
  question.focus();

  function newConversation() {
    conversationId = null;
    log.replaceChildren();
    history.replaceState(null, "", "#/chat");
    markActive();
    question.focus();
  }

  async function refreshList() {
    const convs = await api.get("/v1/conversations");
    replace(
      list,
      convs.length ? null : h("li", { class: "hint" }, "No conversations yet."),
      convs.map((c) =>
        h(
          "li",
          { "data-id": c.id },
          h("button", { type: "button", class: "link", onclick: () => openConversation(c.id) }, c.title),
          h(
            "button",
            { type: "button", class: "icon", "aria-label": `Delete conversation “${c.title}”`, onclick: () => remove(c) },
            "×",
          ),
        ),
      ),
    );
    markActive();
  }

  function markActive() {
    for (const li of list.querySelectorAll("li[data-id]")) {
      if (li.dataset.id === conversationId) li.setAttribute("aria-current", "true");
      else li.removeAttribute("aria-current");
    }
  }

  async function openConversation(id) {
    const conv = await api.get(`/v1/conversations/${encodeURIComponent(id)}`);
    conversationId = conv.id;
    history.replaceState(null, "", `#/chat/${conv.id}`);
    log.replaceChildren();
    for (const m of conv.messages) {
      if (m.role === "user") log.append(userMessage(m.content));
      else log.append(pastAnswer(m));
    }
    markActive();
  }

  async function remove(conv) {
    await api.call("DELETE", `/v1/conversations/${encodeURIComponent(conv.id)}`);
    if (conv.id === conversationId) newConversation();
    await refreshList();
    announce("Conversation deleted.");
  }

  async function ask(event) {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) return;
    send.disabled = true;
    question.value = "";
    log.append(userMessage(text));
    const answer = streamingAnswer();
    log.append(answer.el);
    answer.el.scrollIntoView({ block: "end" });
    try {
      const body = { question: text, stream: true, conversation_id: conversationId };
      const response = await api.raw("/v1/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
      });
      for await (const ev of events(response)) {
        if (ev.type === "token") answer.add(ev.data.text);
        else if (ev.type === "reset") answer.reset();
        else if (ev.type === "answer") {
          answer.finish(ev.data);
          if (!conversationId) {
            conversationId = ev.data.conversation_id;
            history.replaceState(null, "", `#/chat/${conversationId}`);
          }
        }
      }
      await refreshList();
    } catch (err) {
      answer.fail(err.message);
    } finally {
      send.disabled = false;
      // back to the question box only if focus was lost (the Ask button got disabled),
      // never away from where the user went meanwhile (a citation, feedback)
      if (document.activeElement === document.body) question.focus();
    }
  }
}

function userMessage(text) {
  return h("article", { class: "msg user", "aria-label": "You asked" }, h("p", {}, text));
}

function streamingAnswer() {
  const body = h("p", { class: "answer-text" });
  const el = h("article", { class: "msg assistant", "aria-label": "Answer", "aria-busy": "true" }, body);
  let text = "";
  return {
    el,
    add(chunk) {
      text += chunk;
      body.textContent = text;
    },
    reset() {
      text = "";
      body.textContent = "";
    },
    fail(message) {
      el.setAttribute("aria-busy", "false");
      el.append(h("p", { class: "error", role: "alert" }, `The answer failed: ${message}`));
    },
    finish(answer) {
      replace(el, answerBody(answer));
      el.setAttribute("aria-busy", "false");
    },
  };
}

/** A finished answer: text with clickable [n], notice, sources, feedback. */
function answerBody(answer) {
  const byNumber = new Map(answer.citations.map((c) => [c.number, c.passage]));
  const cited = new Set(byNumber.keys());
  const sources = answer.abstained ? answer.sources : answer.sources.filter((s) => cited.has(s.number));
  return [
    h("p", { class: "answer-text" }, withCitations(answer.text, byNumber)),
    answer.search_query ? h("p", { class: "hint searched" }, `Searched for: ${answer.search_query}`) : null,
    answer.memories_used && answer.memories_used.length
      ? h("p", { class: "hint memories-used" }, `Using what you asked me to remember: ${answer.memories_used.join("; ")}`)
      : null,
    answer.notice ? h("p", { class: "notice" }, answer.notice) : null,
    sources.length
      ? h(
          "div",
          { class: "sources" },
          h("h3", {}, answer.abstained ? "Closest sources" : "Sources"),
          h(
            "ol",
            {},
            sources.map((p) =>
              h(
                "li",
                {},
                h("span", { class: "num", "aria-hidden": "true" }, `${p.number}.`),
                h(
                  "span",
                  {},
                  h("button", { type: "button", class: "link", onclick: () => openPassage(p) }, p.title),
                  where(p) ? h("span", { class: "where" }, ` — ${where(p)}`) : null,
                ),
              ),
            ),
          ),
        )
      : null,
    answer.answer_id ? feedback(answer.answer_id) : null,
  ];
}

/** The answer's text with each valid [n] as a button that opens passage n, passing
 * along the sentence the marker stands behind (so the viewer can highlight it). */
function withCitations(text, byNumber) {
  const parts = [];
  let last = 0;
  let claim = "";
  for (const match of text.matchAll(MARKER)) {
    const passage = byNumber.get(Number(match[1]));
    if (!passage) continue;
    const between = text.slice(last, match.index);
    parts.push(between);
    if (between.trim()) claim = lastSentence(between); // "A [1][2]": both cite A
    const words = claim;
    parts.push(
      h(
        "button",
        {
          type: "button",
          class: "cite",
          "aria-label": `Source ${passage.number}: ${passage.title}`,
          onclick: () => openPassage(passage, words),
        },
        `[${passage.number}]`,
      ),
    );
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

function lastSentence(text) {
  const sentences = text.replace(/^[\s.!?;:,]+/, "").split(/(?<=[.!?])\s+/).filter((t) => t.trim());
  return (sentences.pop() || "").trim();
}

/** An answer from a past conversation: its text (citations are not stored with it). */
function pastAnswer(message) {
  return h(
    "article",
    { class: "msg assistant", "aria-label": "Answer" },
    h("p", { class: "answer-text" }, message.content),
    message.search_query ? h("p", { class: "hint searched" }, `Searched for: ${message.search_query}`) : null,
    message.answer_id ? feedback(message.answer_id) : null,
  );
}

/** Thumbs up/down (recorded at once), then an optional comment (replaces the rating's). */
function feedback(answerId) {
  let rating = 0;
  const status = h("span", { class: "hint", role: "status" });
  const up = h("button", { type: "button", class: "thumb", "aria-pressed": "false", onclick: () => rate(1) }, thumb(false), "Helpful");
  const down = h("button", { type: "button", class: "thumb", "aria-pressed": "false", onclick: () => rate(-1) }, thumb(true), "Not helpful");
  const comment = h("input", { name: "comment", maxlength: 4000, autocomplete: "off" });
  const commentForm = h(
    "form",
    { class: "comment", hidden: true, onsubmit: sendComment },
    h("label", { for: `c-${answerId}` }, "Comment (optional)"),
    h("div", { class: "row" }, comment, h("button", { type: "submit", class: "ghost" }, "Send comment")),
  );
  comment.id = `c-${answerId}`;
  return h(
    "div",
    { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" },
    up,
    down,
    status,
    commentForm,
  );

  async function post(text) {
    await api.call("POST", `/v1/answers/${encodeURIComponent(answerId)}/feedback`, { rating, comment: text });
  }

  async function rate(value) {
    rating = value;
    up.setAttribute("aria-pressed", String(value === 1));
    down.setAttribute("aria-pressed", String(value === -1));
    try {
      await post(comment.value);
      status.textContent = "Thanks, feedback recorded.";
      commentForm.hidden = false;
    } catch (err) {
      status.textContent = `Feedback failed: ${err.message}`;
    }
  }

  async function sendComment(event) {
    event.preventDefault();
    try {
      await post(comment.value.trim());
      status.textContent = "Thanks, comment recorded.";
      commentForm.hidden = true;
    } catch (err) {
      status.textContent = `Comment failed: ${err.message}`;
    }
  }
}

/** A thumb icon (SVG: emoji fonts are not everywhere); decorative, the text names it. */
function thumb(down) {
  const path = "M2 10h4v11H2zM8 10l4-8c1.7 0 3 1.3 3 3v4h5.5c1.1 0 2 1 1.8 2.1l-1.6 8.2c-.2.9-1 1.7-2 1.7H8z";
  return svg("svg", { viewBox: "0 0 24 24", class: down ? "icon-thumb down" : "icon-thumb", "aria-hidden": "true", focusable: "false" },
    svg("path", { d: path }));
}
