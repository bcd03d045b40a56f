// `npm run demo [-- --count 200 --seed 42]`: against a running Parley (`npm start`), ends a few
// hundred sample conversations over HTTP, watches them get processed on the live event stream,
// and prints what happened.
//
// PARLEY_URL (default http://127.0.0.1:3000) and PARLEY_API_KEY; without a key it uses the one
// `npm start` keeps in .data/api-key.
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { readDevKey, DEV_KEY_FILE } from "../src/dev-key.js";
import type { EventStatus } from "../src/domain.js";
import type { ConversationDetail, Health, QueuedEvent, UserState } from "../src/http/route-schemas.js";
import { EventStreamError, openEventStream, type ReceivedMessage } from "../src/http/sse-client.js";
import type { EventChange } from "../src/http/stream/changes.js";
import { sampleConversations, type SampleConversation } from "./lib/sample-conversations.js";
import { pickUsers, progressBar, renderReport, type DemoReport, type UserSummary } from "./lib/demo-report.js";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "200" },
    seed: { type: "string" },
    concurrency: { type: "string", default: "8" },
    timeout: { type: "string", default: "180" },
  },
});
const count = positiveInt("--count", values.count!);
const concurrency = positiveInt("--concurrency", values.concurrency!);
const timeoutMs = positiveInt("--timeout", values.timeout!) * 1000;
const seed = values.seed === undefined ? Math.floor(Date.now() / 1000) % 1_000_000 : positiveInt("--seed", values.seed, true);

const config = loadConfig();
const base = config.client.url.replace(/\/+$/, "");
const key = config.client.apiKey ?? (await readDevKey());

class DemoError extends Error {}

function unauthorized(): DemoError {
  return new DemoError(key
    ? "the API refused the key (401): set PARLEY_API_KEY to one of the server's PARLEY_API_KEYS"
    : `the API wants a key (401): set PARLEY_API_KEY, or run \`npm start\` without PARLEY_API_KEYS so that it keeps one in ${DEV_KEY_FILE}`);
}

function positiveInt(flag: string, text: string, zeroOk = false): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < (zeroOk ? 0 : 1)) fail(`${flag}: must be a ${zeroOk ? "non-negative" : "positive"} integer, got ${JSON.stringify(text)}`);
  return value;
}

function fail(message: string): never {
  process.stderr.write(`parley demo: ${message}\n`);
  process.exit(1);
}

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new DemoError(`cannot reach Parley at ${base} (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}): start it with \`npm start\`, or set PARLEY_URL`);
  }
  const text = await response.text();
  const parsed = text === "" ? undefined : (JSON.parse(text) as T & { code?: string; message?: string });
  if (response.status === 401) throw unauthorized();
  if (response.status >= 400) {
    throw new DemoError(`${method} ${path} answered ${response.status}: ${parsed?.code ?? ""} ${parsed?.message ?? text.slice(0, 200)}`.trim());
  }
  return { status: response.status, body: parsed as T };
}

/** PROCESSED and FAILED are final: the event changes no more unless someone retries it. */
function isSettled(status: EventStatus | undefined): boolean {
  return status === "PROCESSED" || status === "FAILED";
}

/** Runs `work` on every item, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

const tty = process.stderr.isTTY;
let lastLine = 0;
function progress(label: string, done: number, total: number, extra: string, final = false) {
  const line = `${label.padEnd(11)} ${progressBar(done, total)}  ${String(done).padStart(String(total).length)}/${total}  ${extra}`;
  if (tty) process.stderr.write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
  else if (final || Date.now() - lastLine > 2000) {
    process.stderr.write(`${line}\n`);
    lastLine = Date.now();
  }
}

/**
 * The live stream of status changes, opened before the first conversation is sent so that no
 * change is missed. Keeps the latest status of each conversation and when it arrived.
 */
async function watchStream(wanted: ReadonlySet<string>, onChange: (conversationId: string, status: EventStatus) => void) {
  const stream = await openEventStream(base, key ? { apiKey: key } : {}).catch((error: unknown) => {
    throw error instanceof EventStreamError && error.status === 401 ? unauthorized() : error;
  });
  let open = true;
  void stream.ended.then(() => (open = false));
  const handle = (message: ReceivedMessage) => {
    if (message.event !== "message") return;
    const change = JSON.parse(message.data) as EventChange;
    if (wanted.has(change.conversation_id)) onChange(change.conversation_id, change.status);
  };
  // What arrived before this listener, then the rest.
  stream.messages.forEach(handle);
  stream.onMessage(handle);
  await stream.waitFor((message) => message.event === "ready", 10_000).catch((error: unknown) => {
    stream.close();
    throw error;
  });
  return { isOpen: () => open, close: () => stream.close() };
}

try {
  const health = await api<Health>("GET", "/health");
  if (health.body.workers.length === 0) process.stderr.write("note: no worker has a heartbeat; conversations will wait until one runs (`npm run worker`)\n");

  const conversations = sampleConversations(count, seed, {
    idPrefix: `demo_${seed}_`,
    userPrefix: `demo_${seed}_user_`,
    until: Math.floor(Date.now() / 1000) * 1000,
  });
  const byId = new Map<string, SampleConversation>(conversations.map((c) => [c.conversation_id, c]));
  const status = new Map<string, EventStatus>();
  const acceptedAt = new Map<string, number>();
  const streamLatencies: number[] = [];
  const settled = () => [...status.values()].filter(isSettled).length;
  let onSettled: (() => void) | undefined;

  const stream = await watchStream(new Set(byId.keys()), (conversationId, newStatus) => {
    status.set(conversationId, newStatus);
    const sent = acceptedAt.get(conversationId);
    if (newStatus === "PROCESSED" && sent !== undefined) streamLatencies.push(Math.max(0, performance.now() - sent) / 1000);
    if (settled() === count) onSettled?.();
  }).catch((error: unknown) => {
    if (error instanceof DemoError) throw error;
    process.stderr.write(`note: no live event stream (${(error as Error).message}); checking each conversation instead\n`);
    return undefined;
  });

  const sendStarted = performance.now();
  let sent = 0;
  await eachLimited(conversations, concurrency, async (conversation) => {
    const { body } = await api<QueuedEvent>("POST", "/v1/conversations/end", conversation);
    acceptedAt.set(conversation.conversation_id, performance.now());
    if (!status.has(conversation.conversation_id)) status.set(conversation.conversation_id, body.status);
    sent++;
    progress("sending", sent, count, `processed ${settled()}`);
  });
  const sendSeconds = (performance.now() - sendStarted) / 1000;
  progress("sending", sent, count, `processed ${settled()}`, true);

  const waitStarted = performance.now();
  const deadline = Date.now() + timeoutMs;
  while (settled() < count && Date.now() < deadline) {
    progress("processing", settled(), count, `failed ${[...status.values()].filter((s) => s === "FAILED").length}`);
    if (stream?.isOpen()) {
      await new Promise<void>((resolve) => {
        onSettled = resolve;
        setTimeout(resolve, 250);
      });
    } else {
      // No stream, or it ended (the server restarted): ask for each unsettled conversation.
      await refreshUnsettled(status, [...byId.keys()], 1000);
    }
  }
  stream?.close();
  progress("processing", settled(), count, "", true);
  const waitSeconds = (performance.now() - waitStarted) / 1000;

  // The final word comes from the server: each conversation's event, then each user's state.
  const statuses: Record<string, number> = {};
  const serverLatencies: number[] = [];
  const failures: DemoReport["failures"] = [];
  await eachLimited(conversations, concurrency, async (conversation) => {
    const { body } = await api<ConversationDetail>("GET", `/v1/conversations/${encodeURIComponent(conversation.conversation_id)}`);
    const event = body.event;
    const eventStatus = event?.status ?? "OPEN";
    statuses[eventStatus] = (statuses[eventStatus] ?? 0) + 1;
    if (event?.status === "PROCESSED" && event.processed_at) {
      serverLatencies.push((Date.parse(event.processed_at) - Date.parse(event.created_at)) / 1000);
    } else {
      failures.push({ conversation_id: conversation.conversation_id, error_code: event?.error_code ?? null, error_details: event?.error_details ?? null });
    }
  });

  const perUser = new Map<string, number>();
  for (const conversation of conversations) perUser.set(conversation.profile_id, (perUser.get(conversation.profile_id) ?? 0) + 1);
  const levels: Record<string, number> = {};
  const states = new Map<string, UserState>();
  await eachLimited([...perUser.keys()], concurrency, async (profileId) => {
    const { body } = await api<UserState>("GET", `/v1/users/${encodeURIComponent(profileId)}/state`);
    states.set(profileId, body);
    const level = body.friendship_status.friendship_level;
    levels[level] = (levels[level] ?? 0) + 1;
  });
  const users: UserSummary[] = pickUsers(perUser).map((profileId) => {
    const state = states.get(profileId)!;
    const topics = Object.entries((state.friendship_status.topic_metrics ?? {}) as Record<string, { affinity?: number }>)
      .sort((a, b) => (b[1].affinity ?? 0) - (a[1].affinity ?? 0)).slice(0, 3).map(([topic]) => topic);
    const candidates = state.agent_candidates;
    return {
      profile_id: profileId,
      conversations_in_run: perUser.get(profileId)!,
      friendship_level: state.friendship_status.friendship_level,
      friendship_score: state.friendship_status.friendship_score,
      top_topics: topics,
      greeting: candidates?.greeting_agent?.name ?? null,
      talk: (candidates?.talk_candidates ?? []).map((agent) => agent.name),
      game: (candidates?.game_candidates ?? []).map((agent) => agent.name),
    };
  });

  process.stdout.write(`\n${renderReport({ seed, url: base, sent, sendSeconds, waitSeconds, statuses, serverLatencies, streamLatencies, levels, users, failures })}\n`);
  process.exit(statuses.PROCESSED === count ? 0 : 1);
} catch (error) {
  if (tty) process.stderr.write("\n");
  if (error instanceof DemoError) fail(error.message);
  throw error;
}

async function refreshUnsettled(status: Map<string, EventStatus>, ids: string[], pauseMs: number) {
  const unsettled = ids.filter((id) => !isSettled(status.get(id)));
  await eachLimited(unsettled, concurrency, async (id) => {
    const { body } = await api<ConversationDetail>("GET", `/v1/conversations/${encodeURIComponent(id)}`);
    if (body.event) status.set(id, body.event.status);
  });
  if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
}
