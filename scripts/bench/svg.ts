// A hand-written SVG of the latency distributions (one panel per scenario and
// measure: cumulative distribution on a log time axis, one line per design)
// and of the backlog over time. Pure: results in, markup out.
import { DESIGN_LABELS, type DesignId } from "./design.js";
import type { BacklogSeries, LatencySeries } from "./results.js";

export const DESIGN_COLORS: Record<DesignId, string> = {
  parley: "#d62728",
  synchronous: "#1f77b4",
  "memory-queue": "#ff7f0e",
  "polling-10s": "#9467bd",
  "polling-1s": "#8c564b",
  "raw-floor": "#7f7f7f",
};

const WIDTH = 960;
const PANEL_HEIGHT = 280;
const MARGIN = { left: 70, right: 190, top: 36, bottom: 44 };

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** Decades spanning [min, max] on a log axis, e.g. 0.1, 1, 10, 100. */
export function logTicks(min: number, max: number): number[] {
  const low = Math.floor(Math.log10(Math.max(min, 1e-3)));
  const high = Math.ceil(Math.log10(Math.max(max, 1e-3)));
  const ticks: number[] = [];
  for (let exponent = low; exponent <= Math.max(high, low + 1); exponent++) ticks.push(10 ** exponent);
  return ticks;
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  if (ms >= 1) return `${ms} ms`;
  return `${Number(ms.toPrecision(1))} ms`;
}

function panelFrame(y: number, title: string): string[] {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  return [
    `<g transform="translate(0,${y})">`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
  ];
}

function legend(entries: Array<{ design: DesignId; label: string }>): string[] {
  const x = WIDTH - MARGIN.right + 14;
  return entries.flatMap((entry, i) => {
    const y = MARGIN.top + 10 + i * 20;
    return [
      `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${DESIGN_COLORS[entry.design]}" stroke-width="2.5"/>`,
      `<text x="${x + 28}" y="${y + 4}" font-size="12">${escapeXml(entry.label)}</text>`,
    ];
  });
}

function cdfPanel(y: number, title: string, series: LatencySeries[]): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const all = series.flatMap((s) => s.cdf.map(([ms]) => ms)).filter((ms) => ms > 0);
  const ticks = logTicks(Math.min(...all), Math.max(...all));
  const lo = Math.log10(ticks[0]!);
  const hi = Math.log10(ticks[ticks.length - 1]!);
  const sx = (ms: number) => MARGIN.left + ((Math.log10(Math.max(ms, ticks[0]!)) - lo) / (hi - lo)) * plotWidth;
  const sy = (fraction: number) => MARGIN.top + (1 - fraction) * plotHeight;
  const out = panelFrame(y, title);
  for (const tick of ticks) {
    out.push(`<line x1="${sx(tick).toFixed(1)}" y1="${MARGIN.top}" x2="${sx(tick).toFixed(1)}" y2="${MARGIN.top + plotHeight}" stroke="#eee"/>`);
    out.push(`<text x="${sx(tick).toFixed(1)}" y="${MARGIN.top + plotHeight + 16}" font-size="11" text-anchor="middle">${escapeXml(formatMs(tick))}</text>`);
  }
  for (const fraction of [0, 0.5, 0.99, 1]) {
    out.push(`<line x1="${MARGIN.left}" y1="${sy(fraction).toFixed(1)}" x2="${MARGIN.left + plotWidth}" y2="${sy(fraction).toFixed(1)}" stroke="#ddd" stroke-dasharray="${fraction === 0.5 || fraction === 0.99 ? "4 3" : "0"}"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${(sy(fraction) + 4).toFixed(1)}" font-size="11" text-anchor="end">${fraction === 0.99 ? "p99" : fraction === 0.5 ? "p50" : `${fraction * 100}%`}</text>`);
  }
  out.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${MARGIN.top + plotHeight + 34}" font-size="12" text-anchor="middle">latency (log scale); line = share of calls at or below</text>`);
  for (const s of series) {
    const points = s.cdf.map(([ms, fraction]) => `${sx(ms).toFixed(1)},${sy(fraction).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${DESIGN_COLORS[s.design]}" stroke-width="2" points="${points}"/>`);
  }
  out.push(...legend(series.map((s) => ({ design: s.design, label: `${DESIGN_LABELS[s.design]} (p99 ${formatMs(Number(s.summary.p99.toPrecision(2)))})` }))));
  out.push("</g>");
  return out.join("\n");
}

function backlogPanel(y: number, series: BacklogSeries[]): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxX = Math.max(1, ...series.flatMap((s) => s.points.map(([x]) => x)));
  const maxY = Math.max(1, ...series.flatMap((s) => s.points.map(([, value]) => value)));
  const sx = (x: number) => MARGIN.left + (x / maxX) * plotWidth;
  const sy = (value: number) => MARGIN.top + (1 - value / maxY) * plotHeight;
  const out = panelFrame(y, "3. Sustained rate: backlog (acknowledged, not yet PROCESSED)");
  for (let i = 0; i <= 4; i++) {
    const value = (maxY * i) / 4;
    out.push(`<text x="${MARGIN.left - 6}" y="${(sy(value) + 4).toFixed(1)}" font-size="11" text-anchor="end">${Math.round(value)}</text>`);
    const x = (maxX * i) / 4;
    out.push(`<text x="${sx(x).toFixed(1)}" y="${MARGIN.top + plotHeight + 16}" font-size="11" text-anchor="middle">${x.toFixed(maxX < 10 ? 1 : 0)} s</text>`);
  }
  for (const s of series) {
    const points = s.points.map(([x, value]) => `${sx(x).toFixed(1)},${sy(value).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${DESIGN_COLORS[s.design]}" stroke-width="2" points="${points}"/>`);
  }
  out.push(...legend(series.map((s) => ({ design: s.design, label: DESIGN_LABELS[s.design] }))));
  out.push("</g>");
  return out.join("\n");
}

export interface ChartInput {
  title: string;
  latencies: LatencySeries[];
  backlog: BacklogSeries[];
  /** Scenario titles by id, for panel headings. */
  scenarioTitles: Record<string, string>;
}

export function renderChart(input: ChartInput): string {
  // One panel per (scenario, measure), in the order they were recorded; the
  // inspection and search queries have tables of their own and would crowd the chart.
  const groups = new Map<string, LatencySeries[]>();
  for (const series of input.latencies) {
    if (series.scenario === "inspection" || series.scenario === "search") continue;
    const key = `${series.scenario}\u0000${series.measure}`;
    groups.set(key, [...(groups.get(key) ?? []), series]);
  }
  const panels: string[] = [];
  let y = 40;
  for (const [key, series] of groups) {
    const [scenario, measure] = key.split("\u0000") as [string, string];
    panels.push(cdfPanel(y, `${input.scenarioTitles[scenario] ?? scenario}: ${measure}`, series));
    y += PANEL_HEIGHT;
  }
  if (input.backlog.some((s) => s.points.length > 0)) {
    panels.push(backlogPanel(y, input.backlog.filter((s) => s.points.length > 0)));
    y += PANEL_HEIGHT;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" viewBox="0 0 ${WIDTH} ${y + 10}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN.left}" y="26" font-size="18" font-weight="bold">${escapeXml(input.title)}</text>`,
    ...panels,
    "</svg>",
    "",
  ].join("\n");
}
