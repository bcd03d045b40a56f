// Pure helpers of the dashboard: numbers and durations as people read them, and the small
// derivations the views need. No DOM here (test/http/dashboard/format.test.ts runs them in Node).

const counts = new Intl.NumberFormat("en");

/** 12345 -> "12,345"; null or undefined -> "—". */
export function formatCount(value) {
  return value === null || value === undefined ? "—" : counts.format(value);
}

/** Seconds as the two largest units that matter: 0.0042 -> "4 ms", 1.25 -> "1.3 s", 200 -> "3 min 20 s". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 10) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return pair(Math.floor(whole / 60), "min", whole % 60, "s");
  if (whole < 86_400) return pair(Math.floor(whole / 3600), "h", Math.floor((whole % 3600) / 60), "min");
  return pair(Math.floor(whole / 86_400), "d", Math.floor((whole % 86_400) / 3600), "h");
}

function pair(major, majorUnit, minor, minorUnit) {
  return minor === 0 ? `${major} ${majorUnit}` : `${major} ${majorUnit} ${minor} ${minorUnit}`;
}

/** How long ago `iso` was, seen from `now` (ms): "just now", "5 s ago", "3 min 20 s ago"; null -> "—". */
export function formatAgo(iso, now) {
  if (iso === null || iso === undefined) return "—";
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  return seconds < 1 ? "just now" : `${formatDuration(Math.floor(seconds))} ago`;
}

/** Within the last day as "3 min ago", before that as a date and time ("25 Nov 2025, 18:20"). */
export function formatWhen(iso, now, timeZone = undefined) {
  if (iso === null || iso === undefined) return "—";
  if (now - Date.parse(iso) < 86_400_000) return formatAgo(iso, now);
  return new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(iso));
}

/** "PHASE2_ACQUAINTANCE" -> "Acquaintance". */
export function formatLevel(level) {
  if (!level) return "—";
  const name = level.replace(/^PHASE\d_/, "").toLowerCase();
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** A signed score change: 2.5 -> "+2.50", -1 -> "−1.00", null -> "—". */
export function formatChange(value) {
  if (value === null || value === undefined) return "—";
  const fixed = Math.abs(value).toFixed(2);
  return value > 0 ? `+${fixed}` : value < 0 ? `−${fixed}` : fixed;
}

/** The user's `limit` strongest topics from friendship_status.topic_metrics, by affinity, then mentions. */
export function topTopics(topicMetrics, limit = 5) {
  return Object.entries(topicMetrics ?? {})
    .map(([topic, metric]) => ({ topic, affinity: metric.affinity ?? 0, mentions: metric.mentions ?? 0 }))
    .sort((a, b) => b.affinity - a.affinity || b.mentions - a.mentions || a.topic.localeCompare(b.topic))
    .slice(0, limit);
}

/**
 * Bars of the throughput chart in a box `height` high: one per minute, each as tall as its count
 * against the busiest minute (at least 1, so an idle hour draws a flat line rather than dividing
 * by zero), a minute with any event at least 1 unit tall so that it shows.
 */
export function throughputBars(throughput, height) {
  const peak = Math.max(1, ...throughput.map((minute) => minute.processed));
  return {
    peak,
    bars: throughput.map((minute) => ({
      minute: minute.minute,
      processed: minute.processed,
      height: minute.processed === 0 ? 0 : Math.max(1, (minute.processed / peak) * height),
    })),
  };
}

/** When the next refresh may run: at most one per `intervalMs`, the pending one kept. */
export function nextRefreshDelay(lastRefreshAt, now, intervalMs) {
  return Math.max(0, lastRefreshAt + intervalMs - now);
}
