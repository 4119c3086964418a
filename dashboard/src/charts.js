// The two charts, drawn with uPlot: plays and listeners over the range on screen, with the period before
// as a faint overlay and the buckets still counting shaded; and plays per minute live. Axes show the zone.

import uPlot from "uplot";
import { clockIn } from "./zones.js";

export const COLORS = { plays: "#4338ca", listeners: "#0f766e", previous: "#6b7280", live: "#c2410c" };

const zoned = (tz) => (ts) => uPlot.tzDate(new Date(ts * 1e3), tz === "UTC" ? "Etc/UTC" : tz);
const whole = (u, splits) => splits.map((v) => (Number.isInteger(v) ? v.toLocaleString("en") : ""));

function axes() {
  const grid = { stroke: "#e5e7eb", width: 1 };
  const font = "12px system-ui, sans-serif";
  return [
    { stroke: "#4b5563", grid, ticks: grid, font },
    { stroke: "#4b5563", grid, ticks: grid, font, values: whole, size: 48 },
  ];
}

function sized(element, height) {
  return { width: Math.max(element.clientWidth, 200), height };
}

/** The buckets from `first` to the last one on the chart, shaded and labelled "partial". */
function shadePartial(u, first, last) {
  const xs = u.data[0];
  if (first < 0 || first >= xs.length) return;
  const dpr = devicePixelRatio || 1;
  const at = (i) => u.valToPos(xs[i], "x", true);
  const half = first > 0 ? (at(first) - at(first - 1)) / 2 : 0;
  const left = Math.max(u.bbox.left, at(first) - half);
  const right = last + 1 < xs.length ? at(last + 1) : u.bbox.left + u.bbox.width;
  const ctx = u.ctx;
  ctx.save();
  ctx.fillStyle = "rgba(245, 158, 11, 0.16)";
  ctx.fillRect(left, u.bbox.top, Math.max(right - left, 4 * dpr), u.bbox.height);
  ctx.fillStyle = "#92400e";
  ctx.font = `${12 * dpr}px system-ui, sans-serif`;
  ctx.textAlign = right - left > 60 * dpr ? "left" : "right";
  ctx.fillText("partial", ctx.textAlign === "left" ? left + 4 * dpr : right - 4 * dpr, u.bbox.top + 14 * dpr);
  ctx.restore();
}

/** The x values: this period's buckets, then (while it still runs) the previous period's remaining
 *  buckets moved forward by the distance between the two starts, so both lines share one axis. */
function aligned(series, previous) {
  const xs = series.map((b) => Date.parse(b.t) / 1000);
  if (series.length > 0 && previous.length > series.length) {
    const shift = xs[0] - Date.parse(previous[0].t) / 1000;
    for (const b of previous.slice(series.length)) {
      const x = Date.parse(b.t) / 1000 + shift;
      if (x <= xs[xs.length - 1]) break;
      xs.push(x);
    }
  }
  const at = (list, key) => xs.map((_, i) => (i < list.length ? list[i][key] : null));
  return [xs, at(series, "plays"), at(series, "listeners"), at(previous, "plays")];
}

export function historyChart(element) {
  const height = element.clientWidth < 500 ? 220 : 280;
  let plot = null;
  let zone = null;
  const partial = { first: -1, last: -1 };
  const make = (tz) => {
    plot?.destroy();
    zone = tz;
    const options = {
      ...sized(element, height),
      tzDate: zoned(tz),
      legend: { show: false },
      cursor: { points: { size: 7 } },
      scales: { y: { range: (u, min, max) => [0, Math.max(4, max * 1.1)] } },
      axes: axes(),
      series: [
        {},
        { label: "Plays", stroke: COLORS.plays, width: 2, fill: "rgba(67, 56, 202, 0.10)" },
        { label: "Listeners", stroke: COLORS.listeners, width: 2, dash: [6, 3] },
        { label: "Plays, period before", stroke: COLORS.previous, width: 1.5, dash: [2, 4], points: { show: false } },
      ],
      hooks: { drawClear: [(u) => shadePartial(u, partial.first, partial.last)] },
    };
    plot = new uPlot(options, [[], [], [], []], element);
  };
  make("UTC");
  new ResizeObserver(() => plot.setSize(sized(element, height))).observe(element);
  return {
    /** `partialFrom`: the index of the first bucket still counting, or -1 when all are final. */
    show(series, { previous = [], tz = zone, partialFrom = -1 } = {}) {
      if (tz !== zone) make(tz);
      partial.first = partialFrom;
      partial.last = series.length - 1;
      plot.setData(aligned(series, previous));
    },
  };
}

/** `zoneOf()` names the zone the minutes are shown in. */
export function liveChart(element, zoneOf) {
  const height = 90;
  const options = {
    ...sized(element, height),
    tzDate: zoned("UTC"),
    legend: { show: false },
    cursor: { show: false },
    scales: { y: { range: (u, min, max) => [0, Math.max(2, max)] } },
    axes: [
      {
        stroke: "#4b5563",
        grid: { show: false },
        ticks: { show: false },
        font: "11px system-ui, sans-serif",
        values: (u, splits) => splits.map((s) => clockIn(s * 1e3, zoneOf()).slice(0, 5)),
      },
      { show: false },
    ],
    series: [
      {},
      {
        label: "Plays",
        fill: COLORS.live,
        stroke: COLORS.live,
        paths: uPlot.paths.bars({ size: [0.7, 12] }),
        points: { show: false },
      },
    ],
  };
  const plot = new uPlot(options, [[], []], element);
  new ResizeObserver(() => plot.setSize(sized(element, height))).observe(element);
  return {
    show(series) {
      plot.setData([series.map((b) => Date.parse(b.t) / 1000), series.map((b) => b.plays)]);
    },
  };
}
