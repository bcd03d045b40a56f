// Just enough PromQL and Prometheus text format reading to check that dashboards and alert rules
// name metrics that exist.

export interface Selector {
  metric: string;
  /** Equality matchers only (label="value"); regex and negative matchers are not checked. */
  labels: Record<string, string>;
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"]);
const blank = (text: string) => " ".repeat(text.length);

/** The metrics an expression reads, with their equality matchers. */
export function selectors(expr: string): Selector[] {
  // Same-length masks keep positions: string contents, ranges, and by/without label lists.
  const masked = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, (literal) => `"${blank(literal.slice(2))}"`)
    .replace(/\[[^\]]*\]/g, blank)
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, blank);
  const found: Selector[] = [];
  for (const match of masked.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\{[^}]*\})?(\s*\()?/g)) {
    const [, name, braces, call] = match;
    if (call !== undefined || KEYWORDS.has(name!.toLowerCase())) continue;
    const labels: Record<string, string> = {};
    if (braces !== undefined) {
      const start = match.index! + name!.length;
      for (const matcher of expr.slice(start, start + braces.length).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
        if (matcher[2] === "=") labels[matcher[1]!] = matcher[3]!;
      }
    }
    found.push({ metric: name!, labels });
  }
  return found;
}

export interface Exposition {
  /** Family name -> type, from the # TYPE lines. */
  types: Map<string, string>;
  samples: Array<{ name: string; labels: Record<string, string> }>;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Exposition["samples"] = [];
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === "" || line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    const labels = Object.fromEntries([...(sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1]!, pair[2]!]));
    samples.push({ name: sample[1]!, labels });
  }
  return { types, samples };
}

/** Why `selector` finds nothing in `exposition`, or undefined when it finds a series. */
export function missing(selector: Selector, exposition: Exposition): string | undefined {
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(selector.metric);
  const known = exposition.types.has(selector.metric) || (histogram !== null && exposition.types.get(histogram[1]!) === "histogram");
  if (!known) return `${selector.metric}: no such metric`;
  const series = exposition.samples.filter((sample) => sample.name === selector.metric
    && Object.entries(selector.labels).every(([label, value]) => sample.labels[label] === value));
  return series.length > 0 ? undefined : `${selector.metric}${JSON.stringify(selector.labels)}: no series`;
}
