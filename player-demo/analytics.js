// The analytics dashboard: reads GET /v1/analytics with the key typed into the page and draws
// the report as text tiles and hand-made SVG charts (the page's CSP admits no other script).

const $ = (id) => document.getElementById(id);
const chart = (name) => document.querySelector(`svg.chart[data-chart="${name}"]`);

const DAY_MS = 86_400_000;
/** The breakdowns drawn, one request each (the API breaks down by one dimension at a time). */
const DIMENSIONS = ["country", "browser", "os", "device"];
/** Bars per breakdown chart. */
const TOP = 10;

// The key lives in this variable only: never in a URL, storage or a cookie.
let apiKey = "";

// ---------------------------------------------------------------------------------------------
// Formatting. The page is English, so numbers and dates are too, whatever the browser's locale.

const NONE = "—";
const count = new Intl.NumberFormat("en-US");
const dayFmt = new Intl.DateTimeFormat("en", { month: "short", day: "numeric" });
const hourFmt = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const fullFmt = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });
const regions = new Intl.DisplayNames(["en"], { type: "region" });

const fmtCount = (n) => count.format(n);

/** A duration for people: "45 s", "12 min", "3 h 05 min". */
function fmtDuration(ms) {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  return `${count.format(Math.floor(minutes / 60))} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** Startup times: milliseconds below a second, seconds above. */
const fmtStartup = (ms) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`);

/** Percentages: two decimals below 1 % so rare failures do not read as "0.0 %". */
const fmtPct = (x) => `${x.toFixed(x !== 0 && Math.abs(x) < 1 ? 2 : 1)} %`;

function fmtBitrate(bps) {
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1000)} kbit/s`;
}

/** Minutes on the watch-time axis: decimals only where they matter. */
const fmtMinutes = (m) => (m < 10 && m !== Math.round(m) ? m.toFixed(1) : count.format(Math.round(m)));

/** Country codes as names ("France (FR)"); "unknown" and anything unexpected as they are. */
function countryName(code) {
  if (!/^[A-Z]{2}$/.test(code)) return code;
  try {
    const name = regions.of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

/** `format(value)`, or a dash when the server has no value (e.g. no view started). */
const orNone = (format) => (v) => (v === null || v === undefined ? NONE : format(v));

/** The KPI tiles, in order: label, the Metrics field, and how to show it. */
const KPIS = [
  ["Views", "views", fmtCount],
  ["Unique viewers", "unique_viewers", fmtCount],
  ["Watch time", "watch_time_ms", fmtDuration],
  ["Playing time", "playing_time_ms", fmtDuration],
  ["Startup time, median", "startup_time_median_ms", fmtStartup],
  ["Startup time, p95", "startup_time_p95_ms", fmtStartup],
  ["Playback failures", "playback_failure_pct", fmtPct],
  ["Exits before start", "exits_before_start_pct", fmtPct],
  ["Rebuffering", "rebuffer_pct", fmtPct],
  ["Rebuffers per minute", "rebuffers_per_minute", (x) => x.toFixed(2)],
  ["Average bitrate", "weighted_bitrate_bps", fmtBitrate],
  ["Upscaling", "upscale_pct", fmtPct],
  ["Downscaling", "downscale_pct", fmtPct],
  ["Seek latency", "seek_latency_avg_ms", (ms) => fmtStartup(Math.round(ms))],
  ["Completion", "completion_pct", fmtPct],
];

// ---------------------------------------------------------------------------------------------
// SVG charts.

const SVG_NS = "http://www.w3.org/2000/svg";
/** Every chart is drawn in a viewBox this wide; CSS scales it to its column. */
const W = 600;
const LINE_H = 220;
const PAD = { top: 16, right: 20, bottom: 30, left: 56 };
const BAR_ROW = 26;
const BAR_LABEL_W = 170;
const BAR_VALUE_W = 100;

function svgEl(name, attrs = {}, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** An element with a tooltip (SVG shows a child <title> on hover, and reads it out). */
function withTitle(el, title) {
  el.append(svgEl("title", {}, title));
  return el;
}

/** Empties a chart and gives it its size and accessible name. */
function begin(svg, height, label) {
  svg.replaceChildren(svgEl("title", {}, label));
  svg.setAttribute("viewBox", `0 0 ${W} ${height}`);
  svg.setAttribute("aria-label", label);
}

/** Marks the chart as drawn, with how many data values it shows (tests count on it). */
function done(svg, points) {
  svg.dataset.points = String(points);
}

function drawNoData(svg, label) {
  begin(svg, 80, `${label}: no data`);
  svg.append(svgEl("text", { x: W / 2, y: 44, "text-anchor": "middle", class: "empty" }, "No data"));
  done(svg, 0);
}

/**
 * A line chart over time, with the area under it shaded. `points`: [{ x: ms, y }], in order.
 * Axis labels: the first and last bucket's start, zero and the largest value.
 */
function drawLineChart(svg, { label, points, formatX, formatY, describe }) {
  if (!points.length) return drawNoData(svg, label);
  const maxY = Math.max(...points.map((p) => p.y));
  begin(svg, LINE_H, `${label}: ${points.length} values, from ${formatX(points[0].x)}, highest ${formatY(maxY)}`);

  const plotW = W - PAD.left - PAD.right;
  const plotH = LINE_H - PAD.top - PAD.bottom;
  const x0 = points[0].x;
  const span = points.at(-1).x - x0;
  // A single bucket sits in the middle; an all-zero series still needs a scale to lie flat on.
  const sx = (x) => PAD.left + (span > 0 ? ((x - x0) / span) * plotW : plotW / 2);
  const top = maxY > 0 ? maxY : 1;
  const sy = (y) => PAD.top + plotH - (y / top) * plotH;
  const baseY = sy(0);

  if (maxY > 0) {
    svg.append(
      svgEl("line", { x1: PAD.left, x2: W - PAD.right, y1: sy(maxY), y2: sy(maxY), class: "grid" }),
      svgEl("text", { x: PAD.left - 8, y: sy(maxY), "text-anchor": "end", "dominant-baseline": "middle" }, formatY(maxY)),
    );
  }
  svg.append(
    svgEl("line", { x1: PAD.left, x2: W - PAD.right, y1: baseY, y2: baseY, class: "axis" }),
    svgEl("line", { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: baseY, class: "axis" }),
    svgEl("text", { x: PAD.left - 8, y: baseY, "text-anchor": "end", "dominant-baseline": "middle" }, formatY(0)),
    svgEl("text", { x: sx(x0), y: LINE_H - 8, "text-anchor": span > 0 ? "start" : "middle" }, formatX(x0)),
  );
  if (span > 0) {
    svg.append(svgEl("text", { x: W - PAD.right, y: LINE_H - 8, "text-anchor": "end" }, formatX(points.at(-1).x)));
  }

  const line = points.map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
  const area = `${line} L${sx(points.at(-1).x).toFixed(1)},${baseY} L${sx(x0).toFixed(1)},${baseY} Z`;
  svg.append(svgEl("path", { d: area, class: "area" }), svgEl("path", { d: line, class: "mark" }));
  for (const p of points) {
    svg.append(withTitle(svgEl("circle", { cx: sx(p.x), cy: sy(p.y), r: 3.5, class: "mark" }), describe(p)));
  }
  done(svg, points.length);
}

/** Long labels are cut to fit their column; the whole label stays in the tooltip. */
const clip = (s, max = 22) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** A horizontal bar chart. `rows`: [{ label, value }], already sorted and cut. */
function drawBarChart(svg, { label, rows, format }) {
  if (!rows.length) return drawNoData(svg, label);
  const height = rows.length * BAR_ROW + 8;
  begin(svg, height, `${label}: ${rows.map((r) => `${r.label} ${format(r.value)}`).join(", ")}`);

  const barW = W - BAR_LABEL_W - BAR_VALUE_W;
  const max = Math.max(...rows.map((r) => r.value)) || 1;
  rows.forEach((r, i) => {
    const y = 4 + i * BAR_ROW;
    const mid = y + BAR_ROW / 2;
    const width = Math.max((r.value / max) * barW, 0);
    svg.append(
      withTitle(svgEl("text", { x: BAR_LABEL_W - 8, y: mid, "text-anchor": "end", "dominant-baseline": "middle", class: "label" }, clip(r.label)), r.label),
      withTitle(svgEl("rect", { x: BAR_LABEL_W, y: y + 4, width: width.toFixed(1), height: BAR_ROW - 8, rx: 2, class: "mark" }), `${r.label}: ${format(r.value)}`),
      svgEl("text", { x: BAR_LABEL_W + width + 6, y: mid, "dominant-baseline": "middle", class: "value" }, format(r.value)),
    );
  });
  done(svg, rows.length);
}

// ---------------------------------------------------------------------------------------------
// The API.

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One report. The key goes in the Authorization header, never in the query string. */
async function fetchReport(params) {
  const res = await fetch(`/v1/analytics?${new URLSearchParams(params)}`, {
    headers: { Authorization: `Bearer ${apiKey}` },
    cache: "no-store",
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    throw new ApiError(res.status, body?.error?.code, body?.error?.message ?? (res.statusText || "request refused"));
  }
  if (!body) throw new ApiError(res.status, "bad_response", "the answer was not JSON");
  return body;
}

/** The report broken down by each dimension, all over the same range. */
function fetchReports({ days, asset }) {
  // One `to` for all requests, so every report covers exactly the same views.
  const to = Date.now();
  const params = { from: to - days * DAY_MS, to, interval: days <= 2 ? "hour" : "day" };
  if (asset) params.asset = asset;
  return Promise.all(DIMENSIONS.map((breakdown) => fetchReport({ ...params, breakdown })));
}

// ---------------------------------------------------------------------------------------------
// Rendering.

function renderKpis(totals) {
  const tiles = KPIS.map(([label, field, format]) => {
    const tile = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = label;
    dd.textContent = orNone(format)(totals[field]);
    dd.dataset.kpi = field;
    tile.append(dt, dd);
    return tile;
  });
  $("kpis").replaceChildren(...tiles);
}

function renderPeriod(report) {
  const buckets = report.interval === "hour" ? "hourly" : "daily";
  const scope = report.asset ? `asset ${report.asset}` : "all assets";
  $("period").textContent = `${fullFmt.format(report.from)} to ${fullFmt.format(report.to)}, ${buckets}, ${scope}.`;
}

function renderSeries(report) {
  const formatX = (ms) => (report.interval === "hour" ? hourFmt : dayFmt).format(ms);
  drawLineChart(chart("views"), {
    label: "Views over time",
    points: report.series.map((p) => ({ x: p.start, y: p.metrics.views })),
    formatX,
    formatY: fmtCount,
    describe: (p) => `${formatX(p.x)}: ${fmtCount(p.y)} views`,
  });
  drawLineChart(chart("watch"), {
    label: "Watch time over time, minutes",
    points: report.series.map((p) => ({ x: p.start, y: p.metrics.watch_time_ms / 60_000 })),
    formatX,
    formatY: fmtMinutes,
    describe: (p) => `${formatX(p.x)}: ${fmtDuration(p.y * 60_000)} watched`,
  });
}

function renderRenditions(renditions) {
  drawBarChart(chart("renditions"), {
    label: "Playing time by rendition",
    rows: renditions.slice(0, TOP).map((r) => ({ label: r.rendition, value: r.playing_time_ms })),
    format: fmtDuration,
  });
}

function renderBreakdown(report) {
  const dimension = report.breakdown_by;
  const name = dimension === "country" ? countryName : (v) => v;
  drawBarChart(chart(dimension), {
    label: `Views by ${dimension}`,
    // The server sorts by views, most first.
    rows: report.breakdown.slice(0, TOP).map((r) => ({ label: name(r.value), value: r.metrics.views })),
    format: fmtCount,
  });
}

/** Draws everything. Totals, series and renditions are the same in every report: any will do. */
function render(reports) {
  const [main] = reports;
  renderPeriod(main);
  renderKpis(main.totals);
  renderSeries(main);
  renderRenditions(main.renditions);
  reports.forEach(renderBreakdown);
  $("report").hidden = false;
}

function showStatus(text, bad = false) {
  $("status").textContent = text;
  $("status").className = bad ? "bad" : "";
}

function describeError(e) {
  if (e instanceof ApiError) return `HTTP ${e.status}: ${e.message}`;
  return `Request failed: ${e.message}`;
}

async function onSubmit(event) {
  event.preventDefault();
  apiKey = $("api-key").value.trim();
  if (!apiKey) return;
  // Cleared, not set to "loading": tests wait for the attribute to appear.
  delete document.body.dataset.loaded;
  $("load").disabled = true;
  showStatus("Loading…");
  try {
    const reports = await fetchReports({ days: Number($("range").value), asset: $("asset").value.trim() });
    render(reports);
    const views = reports[0].totals.views;
    showStatus(`Loaded: ${fmtCount(views)} ${views === 1 ? "view" : "views"}.`);
    document.body.dataset.loaded = "true";
  } catch (e) {
    // An old report under a new error would pass for the answer to this query.
    $("report").hidden = true;
    showStatus(describeError(e), true);
    document.body.dataset.loaded = "error";
  } finally {
    $("load").disabled = false;
  }
}

$("query").addEventListener("submit", onSubmit);
