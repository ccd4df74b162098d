// Small inline-SVG charts: a line (or bars) over days, with axis labels, a <title> on
// every point for hover, and the same numbers as a table for screen readers.

import { h, svg } from "./dom.js";

const W = 320;
const H = 160;
const PAD = { left: 44, right: 10, top: 12, bottom: 26 };

/**
 * chart({title, points: [{x: "2026-12-01", y: 0.6}], format: v => string, bars: bool, max})
 * Points whose y is null are gaps.
 */
export function chart({ title, points, format = String, bars = false, max }) {
  const values = points.map((p) => p.y).filter((y) => y !== null && y !== undefined);
  const top = max ?? niceMax(Math.max(0, ...values));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = points.length > 1 ? plotW / (points.length - 1) : 0;
  const xAt = (i) => (bars ? PAD.left + (plotW / points.length) * (i + 0.5) : PAD.left + (points.length > 1 ? i * step : plotW / 2));
  const yAt = (v) => PAD.top + plotH - (top ? (v / top) * plotH : 0);
  const graph = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `${title}, by day` });
  for (const frac of [0, 0.5, 1]) {
    const y = yAt(top * frac);
    graph.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }));
    graph.append(svg("text", { x: PAD.left - 4, y: y + 4, class: "axis", "text-anchor": "end" }, format(top * frac)));
  }
  const labelEvery = Math.max(1, Math.ceil(points.length / 6));
  points.forEach((p, i) => {
    const lastFits = i === points.length - 1 && i % labelEvery >= labelEvery / 2;
    if (i % labelEvery === 0 || lastFits) {
      graph.append(svg("text", { x: xAt(i), y: H - 8, class: "axis", "text-anchor": "middle" }, p.x.slice(5)));
    }
  });
  if (bars) drawBars(graph, points, xAt, yAt, plotW, format);
  else drawLine(graph, points, xAt, yAt, format);
  return h("figure", { class: "chart-box" }, h("figcaption", {}, title), graph, dataTable(title, points, format));
}

function drawBars(graph, points, xAt, yAt, plotW, format) {
  const width = Math.max(2, (plotW / points.length) * 0.6);
  points.forEach((p, i) => {
    if (p.y === null || p.y === undefined) return;
    const y = yAt(p.y);
    graph.append(svg("rect", { x: xAt(i) - width / 2, y, width, height: yAt(0) - y, class: "bar" },
      svg("title", {}, `${p.x}: ${format(p.y)}`)));
  });
}

function drawLine(graph, points, xAt, yAt, format) {
  let d = "";
  let pen = "M";
  points.forEach((p, i) => {
    if (p.y === null || p.y === undefined) {
      pen = "M";
      return;
    }
    d += `${pen}${xAt(i).toFixed(1)},${yAt(p.y).toFixed(1)} `;
    pen = "L";
  });
  if (d) graph.append(svg("path", { d, class: "line" }));
  points.forEach((p, i) => {
    if (p.y === null || p.y === undefined) return;
    graph.append(svg("circle", { cx: xAt(i), cy: yAt(p.y), r: 3, class: "dot" }, svg("title", {}, `${p.x}: ${format(p.y)}`)));
  });
}

function dataTable(title, points, format) {
  return h("details", {}, h("summary", {}, "Data"),
    h("table", {}, h("caption", { class: "sr-only" }, title),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), h("th", { scope: "col" }, title))),
      h("tbody", {}, points.map((p) => h("tr", {}, h("th", { scope: "row" }, p.x), h("td", {}, p.y === null || p.y === undefined ? "—" : format(p.y)))))));
}

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * magnitude >= value) return m * magnitude;
  return 10 * magnitude;
}
