// The two charts, drawn with uPlot: plays and listeners over the timeframe, and plays per minute live.
// Buckets are UTC (the API's), so the axes show UTC too.

import uPlot from "uplot";

export const COLORS = { plays: "#4338ca", listeners: "#0f766e", live: "#c2410c" };

const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");
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

function follow(plot, element, height) {
  new ResizeObserver(() => plot.setSize(sized(element, height))).observe(element);
}

export function historyChart(element) {
  const height = element.clientWidth < 500 ? 220 : 280;
  const options = {
    ...sized(element, height),
    tzDate: utc,
    legend: { show: false },
    cursor: { points: { size: 7 } },
    scales: { y: { range: (u, min, max) => [0, Math.max(4, max * 1.1)] } },
    axes: axes(),
    series: [
      {},
      { label: "Plays", stroke: COLORS.plays, width: 2, fill: "rgba(67, 56, 202, 0.10)" },
      { label: "Listeners", stroke: COLORS.listeners, width: 2, dash: [6, 3] },
    ],
  };
  const plot = new uPlot(options, [[], [], []], element);
  follow(plot, element, height);
  return {
    show(series) {
      const t = series.map((b) => Date.parse(b.t) / 1000);
      plot.setData([t, series.map((b) => b.plays), series.map((b) => b.listeners)]);
    },
  };
}

export function liveChart(element) {
  const height = 90;
  const options = {
    ...sized(element, height),
    tzDate: utc,
    legend: { show: false },
    cursor: { show: false },
    scales: { y: { range: (u, min, max) => [0, Math.max(2, max)] } },
    axes: [
      {
        stroke: "#4b5563",
        grid: { show: false },
        ticks: { show: false },
        font: "11px system-ui, sans-serif",
        values: (u, splits) => splits.map((s) => new Date(s * 1e3).toISOString().slice(11, 16)),
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
  follow(plot, element, height);
  return {
    show(series) {
      plot.setData([series.map((b) => Date.parse(b.t) / 1000), series.map((b) => b.plays)]);
    },
  };
}
