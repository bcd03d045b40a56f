import { describe, expect, it } from "vitest";
import { escapeXml, formatMs, logTicks, renderChart } from "../../scripts/bench/svg.js";
import type { LatencySeries } from "../../scripts/bench/results.js";
import { cdfPoints, summarize } from "../../scripts/bench/stats.js";

function series(design: LatencySeries["design"], values: number[], measure = "caller write"): LatencySeries {
  return { scenario: "single", measure, design, summary: summarize(values)!, cdf: cdfPoints(values) };
}

describe("logTicks", () => {
  it("spans the values with whole decades", () => {
    expect(logTicks(0.3, 45)).toEqual([0.1, 1, 10, 100]);
    expect(logTicks(2, 3)).toEqual([1, 10]);
  });
});

describe("formatMs", () => {
  it("writes milliseconds under a second and seconds above", () => {
    expect(formatMs(0.1)).toBe("0.1 ms");
    expect(formatMs(10)).toBe("10 ms");
    expect(formatMs(1000)).toBe("1 s");
  });
});

describe("renderChart", () => {
  const svg = renderChart({
    title: "Parley <bench> & co",
    latencies: [
      series("parley", [1, 2, 3, 4, 50]),
      series("synchronous", [20, 30, 40]),
      { ...series("parley", [1]), scenario: "inspection", measure: "pipeline_stats" },
    ],
    backlog: [{ design: "parley", points: [[0, 0], [1, 10], [2, 0]] }],
    scenarioTitles: { single: "1. One conversation" },
  });

  it("is one well-formed SVG document with escaped text", () => {
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("Parley &lt;bench&gt; &amp; co");
    expect(svg).not.toContain("<bench>");
    expect(svg.match(/<g /g)?.length).toBe(svg.match(/<\/g>/g)?.length);
  });

  it("draws one line per design in each latency panel, plus the backlog panel, and leaves the inspection queries out", () => {
    expect(svg).toContain("1. One conversation: caller write");
    expect(svg.match(/<polyline/g)?.length).toBe(3);
    expect(svg).toContain("backlog");
    expect(svg).not.toContain("pipeline_stats");
    expect(svg).toContain("p99 48 ms");
  });

  it("puts every point inside the drawing", () => {
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    for (const [, points] of svg.matchAll(/points="([^"]+)"/g)) {
      for (const pair of points!.split(" ")) {
        const [x, y] = pair.split(",").map(Number) as [number, number];
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(width);
        expect(y).toBeGreaterThanOrEqual(0);
      }
    }
  });
});

describe("escapeXml", () => {
  it("escapes the five XML specials", () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
  });
});
