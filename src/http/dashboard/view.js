// Drawing the dashboard's parts from the API's answers. Every value goes in as text (never as
// HTML): error details and ids are whatever callers sent. Numbers are updated in place, in
// boxes of fixed size, so that nothing moves when they change.
import {
  formatAgo, formatChange, formatCount, formatDuration, formatLevel, formatWhen, throughputBars, topTopics,
} from "./format.js";

const SVG = "http://www.w3.org/2000/svg";

/** An element with attributes (`class`, `data-*`, ...; functions become listeners) and children. */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

function setText(id, text) {
  const element = document.getElementById(id);
  if (element.textContent !== text) element.textContent = text;
}

export function renderStats(stats) {
  setText("count-pending", formatCount(stats.pending));
  setText("count-processing", formatCount(stats.processing));
  setText("count-processed", formatCount(stats.processed));
  setText("count-failed", formatCount(stats.failed));
  setText("oldest-pending", stats.oldest_pending_seconds === null ? "none" : formatDuration(stats.oldest_pending_seconds));
  setText("latency-p50", formatDuration(stats.latency_seconds.p50));
  setText("latency-p95", formatDuration(stats.latency_seconds.p95));
  setText("latency-p99", formatDuration(stats.latency_seconds.p99));
  document.getElementById("failed-tile").dataset.alert = String(stats.failed > 0);
  renderThroughput(stats.throughput, stats.processed_last_hour);
}

const CHART_HEIGHT = 100;
const BAR_WIDTH = 10;

/** The bars are made once (60 of them) and only resized after that. */
function renderThroughput(throughput, lastHour) {
  const svg = document.getElementById("throughput");
  const group = document.getElementById("throughput-bars");
  const { peak, bars } = throughputBars(throughput, CHART_HEIGHT);
  while (group.childElementCount < bars.length) {
    const rect = document.createElementNS(SVG, "rect");
    rect.append(document.createElementNS(SVG, "title"));
    group.append(rect);
  }
  bars.forEach((bar, index) => {
    const rect = group.children[index];
    rect.setAttribute("x", String(index * BAR_WIDTH + 1));
    rect.setAttribute("width", String(BAR_WIDTH - 2));
    rect.setAttribute("y", String(CHART_HEIGHT - bar.height));
    rect.setAttribute("height", String(bar.height));
    const time = new Date(bar.minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    rect.firstChild.textContent = `${time}: ${formatCount(bar.processed)} processed`;
  });
  svg.setAttribute("viewBox", `0 0 ${bars.length * BAR_WIDTH} ${CHART_HEIGHT}`);
  svg.querySelector(".baseline").setAttribute("x2", String(bars.length * BAR_WIDTH));
  svg.setAttribute("aria-label", `${formatCount(lastHour)} events processed in the last hour, at most ${formatCount(peak)} a minute`);
  setText("throughput-peak", `peak ${formatCount(peak)}/min`);
  setText("throughput-total", `${formatCount(lastHour)} in the last hour`);
}

export function renderWorkers(health, now) {
  const body = document.getElementById("workers-body");
  const rows = health.workers.map((worker) => el("tr", { "data-worker-id": worker.worker_id },
    el("td", {}, el("span", { class: "badge", "data-state": worker.alive ? "ok" : "bad" }, worker.alive ? "live" : "silent")),
    el("td", { class: "mono", title: worker.worker_id }, worker.worker_id),
    el("td", { class: "nowrap" }, `${worker.hostname} · ${worker.pid}`),
    el("td", { class: "num" }, formatAgo(worker.last_seen_at, now)),
  ));
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 4, class: "empty" }, "No worker is running: start one with npm run worker.")));
  body.replaceChildren(...rows);
  setText("database-latency", health.database.reachable ? `database ${health.database.latency_ms} ms` : "database unreachable");
}

/** FAILED events by error_code; `onRetry(eventId, button)` and `onUser(profileId)` act on a click. */
export function renderFailures(failures, now, { onRetry, onUser }) {
  setText("failed-total", formatCount(failures.failed));
  const groups = failures.groups.map((group) => {
    const code = group.error_code ?? "no code";
    const hidden = group.events - group.latest.length;
    return el("details", { class: "failure-group", open: true, "data-error-code": code },
      el("summary", {},
        el("span", { class: "code" }, code),
        el("span", { class: "count" }, `${formatCount(group.events)} event${group.events === 1 ? "" : "s"}`),
        el("span", { class: "muted" }, `last ${formatAgo(group.last_failed_at, now)}`)),
      el("ul", { class: "failed-events" }, group.latest.map((event) => el("li", { "data-event-id": event.event_id },
        el("div", { class: "failed-head" },
          el("span", { class: "mono" }, `#${event.event_id}`),
          el("button", { type: "button", class: "link", onclick: () => onUser(event.profile_id) }, event.profile_id),
          el("span", { class: "muted" }, `${event.attempt_count} attempt${event.attempt_count === 1 ? "" : "s"}, last ${formatAgo(event.last_attempt_at, now)}`),
          el("button", { type: "button", class: "retry", onclick: (click) => onRetry(event.event_id, click.currentTarget) }, "Retry")),
        el("div", { class: "mono muted" }, event.conversation_id),
        el("p", { class: "details" }, event.error_details ?? "(no details)")))),
      hidden > 0 ? el("p", { class: "muted" }, `and ${formatCount(hidden)} more: parley.failures_by_code and parley.conversation_events have them all`) : null);
  });
  if (groups.length === 0) groups.push(el("p", { class: "empty" }, "No failed events."));
  document.getElementById("failures").replaceChildren(...groups);
}

function rankedList(title, agents) {
  return el("div", { class: "candidates" },
    el("h4", {}, title),
    agents.length === 0
      ? el("p", { class: "muted" }, "none")
      : el("ol", {}, agents.map((agent) => el("li", {}, el("span", {}, agent.name), el("span", { class: "num muted" }, agent.score.toFixed(2))))));
}

function topicList(topicMetrics) {
  const topics = topTopics(topicMetrics);
  if (topics.length === 0) return el("p", { class: "muted" }, "none yet");
  return el("ul", { class: "topics" }, topics.map((topic) => el("li", {},
    el("span", {}, topic.topic),
    el("meter", { min: 0, max: 1, value: topic.affinity, title: `affinity ${topic.affinity}` }),
    el("span", { class: "num muted" }, `${formatCount(topic.mentions)}×`))));
}

function candidateLists(candidates) {
  if (candidates === null) return el("p", { class: "muted" }, "none until a conversation is processed");
  return el("div", { class: "candidate-lists" },
    rankedList("Greeting", candidates.greeting_agent ? [candidates.greeting_agent] : []),
    rankedList("Talk", candidates.talk_candidates),
    rankedList("Game", candidates.game_candidates));
}

const EVENT_COLUMNS = ["Event", "Bot", "Status", "Change", "Level", "Turns", "Questions", "Mood", "Ended"];
const NUMERIC_COLUMNS = new Set(["Change", "Turns", "Questions"]);

function eventRow(event, now) {
  return el("tr", { "data-event-id": event.event_id },
    el("td", { class: "nowrap" }, `#${event.event_id}`),
    el("td", {}, event.bot_name ?? event.bot_id),
    el("td", {},
      el("span", { class: "badge", "data-status": event.status, title: event.error_details ?? "" }, event.status),
      event.error_code ? el("span", { class: "muted" }, ` ${event.error_code}`) : null),
    el("td", { class: "num" }, formatChange(event.friendship_score_change)),
    el("td", {}, formatLevel(event.new_friendship_level)),
    el("td", { class: "num" }, formatCount(event.total_turns)),
    el("td", { class: "num" }, formatCount(event.user_initiated_questions)),
    el("td", {}, event.session_emotion?.label ?? "—"),
    el("td", { class: "muted" }, formatWhen(event.ended_at, now)));
}

function eventTable(events, now) {
  const rows = events.length === 0
    ? [el("tr", {}, el("td", { colspan: EVENT_COLUMNS.length, class: "empty" }, "No events for this user."))]
    : events.map((event) => eventRow(event, now));
  return el("div", { class: "scroll" }, el("table", { class: "events" },
    el("thead", {}, el("tr", {}, EVENT_COLUMNS.map((name) => el("th", { class: NUMERIC_COLUMNS.has(name) ? "num" : undefined }, name)))),
    el("tbody", {}, rows)));
}

/** A user's friendship state (GET /v1/users/:id/state) and last events (GET /v1/users/:id/events). */
export function renderUser(state, history, now) {
  const status = state.friendship_status;
  const candidates = state.agent_candidates;
  const conversations = `${formatCount(status.conversation_count)} conversation${status.conversation_count === 1 ? "" : "s"} processed`;
  document.getElementById("user").replaceChildren(el("div", { class: "user", "data-profile-id": state.profile_id },
    el("div", { class: "user-head" },
      el("span", { class: "level", "data-level": status.friendship_level }, formatLevel(status.friendship_level)),
      el("span", {}, "score ", el("strong", { id: "user-score", class: "num" }, status.friendship_score.toFixed(2))),
      el("span", { class: "muted" }, conversations)),
    el("div", { class: "user-grid" },
      el("div", {}, el("h3", {}, "Top topics"), topicList(status.topic_metrics)),
      el("div", {},
        el("h3", {}, "Candidates", candidates?.expired ? el("span", { class: "badge", "data-state": "warn" }, "expired") : null),
        candidateLists(candidates))),
    el("h3", {}, "Last events"),
    eventTable(history.events, now)));
}
