// The admin dashboard: quality, latency, cost and deflection over time, from
// GET /v1/report (JSON). Totals as tiles, the "daily" series as charts. A server
// without the report endpoint (404) gets an explanation instead of an error.

import * as api from "../api.js";
import { chart } from "../charts.js";
import { field, h, replace } from "../dom.js";

const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)} %`);
const ms = (v) => (v === null || v === undefined ? "—" : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const money = (v) => (v === null || v === undefined ? "—" : v < 0.01 && v > 0 ? v.toFixed(4) : v.toFixed(2));
const num = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString());
const minutes = (v) => (v === null || v === undefined ? "—" : v >= 120 ? `${Math.round(v / 60)} h` : `${Math.round(v)} min`);
const dec = (v) => (v === null || v === undefined ? "—" : v.toFixed(2));

export async function render(main) {
  const since = h("select", { name: "since" },
    [["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"]].map(([v, t]) => h("option", { value: v, selected: v === "7d" }, t)));
  const body = h("div", { class: "dashboard", "aria-live": "polite" });
  since.addEventListener("change", load);
  main.append(h("h1", {}, "Dashboard"), h("form", { class: "inline period", onsubmit: (e) => e.preventDefault() }, field("Period", since)), body);
  await load();

  async function load() {
    body.setAttribute("aria-busy", "true");
    try {
      const report = await api.get(`/v1/report?since=${encodeURIComponent(since.value)}`);
      replace(body, tiles(report), charts(report));
    } catch (err) {
      const text = err.status === 404
        ? "Reports are not available on this server yet: the report endpoint (GET /v1/report) arrives with the observability release."
        : err.status === 403 ? "The dashboard needs the admin role." : `The report could not be loaded: ${err.message}`;
      replace(body, h("p", { class: "notice", role: "status" }, text));
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  }
}

function tiles(r) {
  const items = [
    ["Questions", num(r.questions), `${num(r.answered)} answered · ${num(r.abstained)} abstained`],
    ["Deflection", pct(r.deflection_rate), `${num(r.deflected)} resolved without a human · ${num(r.escalations)} escalated`],
    ["Groundedness", dec(r.groundedness_mean), "mean over answered questions"],
    ["Negative feedback", pct(r.negative_feedback_rate), `${num(r.feedback?.up)} up · ${num(r.feedback?.down)} down · ${num(r.feedback?.comments)} comments`],
    ["Latency p50", ms(r.latency_ms_p50), `p95 ${ms(r.latency_ms_p95)}`],
    ["Cost", money(r.cost_total), `${money(r.cost_per_answer)} per answer · ${num(r.tokens_in)} in / ${num(r.tokens_out)} out tokens`],
    ["Time saved", minutes(r.minutes_saved), "estimated from deflected questions"],
    ["Answer modes", `${num(r.llm)} / ${num(r.extractive)}`, "model-written / extractive"],
  ];
  return h("section", { "aria-labelledby": "tiles-h" }, h("h2", { id: "tiles-h", class: "sr-only" }, "Totals"),
    h("ul", { class: "tiles" }, items.map(([label, value, sub]) =>
      h("li", { class: "tile" }, h("span", { class: "label" }, label), h("strong", { class: "value" }, value), h("span", { class: "sub" }, sub)))));
}

function charts(r) {
  const daily = r.daily || [];
  if (!daily.length) return h("p", { class: "hint" }, "No answers in this period yet.");
  const series = (key) => daily.map((d) => ({ x: d.day, y: d[key] }));
  return h("section", { "aria-labelledby": "charts-h" }, h("h2", { id: "charts-h" }, "Over time"),
    h("div", { class: "charts" },
      chart({ title: "Questions", points: series("questions"), format: (v) => String(Math.round(v)), bars: true }),
      chart({ title: "Deflection rate", points: series("deflection_rate"), format: pct, max: 1 }),
      chart({ title: "Groundedness", points: series("groundedness_mean"), format: dec, max: 1 }),
      chart({ title: "Latency p50", points: series("latency_ms_p50"), format: ms }),
      chart({ title: "Cost", points: series("cost"), format: money }),
      chart({ title: "Negative feedback", points: series("negative_feedback_rate"), format: pct, max: 1 }),
      chart({ title: "Abstention rate", points: series("abstention_rate"), format: pct, max: 1 })));
}
