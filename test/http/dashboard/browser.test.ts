/// <reference lib="dom" />
// GET /dashboard in a real headless Chromium (Debian's chromium, driven by playwright-core),
// against a real API and worker on a real PostgreSQL. The scenario: enter the key, see
// the PROCESSED count follow a conversation ended through the API, see a failed event under its
// error_code and Retry it, see it processed, look its user up. Screenshots of each state go to
// test/artifacts/dashboard/ (git-ignored). No chromium is a failure, not a skip: .ci/run installs it.
import { existsSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect } from "vitest";
import { chromium, type Browser, type BrowserContext, type Page, type Request } from "playwright-core";
import type { FastifyInstance } from "fastify";
import type pg from "pg";
import { it } from "../../support/database.js";
import { createPool } from "../../../src/db/pool.js";
import { createApiPool } from "../../../src/http/pool.js";
import { buildApp } from "../../../src/http/app.js";
import { startWorker, type RunningWorker } from "../../../src/worker/runner.js";
import { HashingEmbedder } from "../../../src/embed/hashing.js";
import { EmbeddingError, type Embedder } from "../../../src/embed/embedder.js";
import { API_KEY, endPayload, silentLog, testConfig, until } from "../support.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const ARTIFACTS = path.resolve(import.meta.dirname, "../../artifacts/dashboard");
const MARK = "REFUSE_ME";
// Markup in an error's details (whatever a provider answered) must show as text.
const REFUSAL = `the provider refused a text: <img src=x onerror="document.title='owned'"> (it contains ${MARK})`;
const USER = "user_dashboard";
// How many minutes ago each conversation of the seeded hour was processed: a load that rises
// and falls, so that the chart has a shape.
const HISTORY_MINUTES = Array.from({ length: 58 }, (_, index) => index + 1)
  .flatMap((minute) => Array<number>(Math.round(2.2 + 1.8 * Math.sin(minute / 6) + ((minute * 7) % 3) * 0.5)).fill(minute));
const HISTORY = HISTORY_MINUTES.length;

/** The hashing embedder, except that while `refusing`, a text with MARK in it fails for good. */
class RefusingEmbedder implements Embedder {
  private readonly inner = new HashingEmbedder();
  readonly model = this.inner.model;
  readonly dimension = this.inner.dimension;
  readonly cheap = true;
  refusing = true;
  refusal = REFUSAL;
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.refusing && texts.some((text) => text.includes(MARK))) {
      throw new EmbeddingError(this.refusal, { retryable: false });
    }
    return this.inner.embed(texts);
  }
}

let apiPool: pg.Pool;
let workerPool: pg.Pool;
let app: FastifyInstance;
let worker: RunningWorker;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let url: string;
// The browser reaches the API through this proxy, so that a test can cut its connections.
let proxy: Server;
let pageUrl: string;
const connections = new Set<Socket>();
const embedder = new RefusingEmbedder();
const requests: Request[] = [];
const streamMessages: string[] = [];
const pageErrors: string[] = [];

async function endConversation(overrides: Parameters<typeof endPayload>[0] = {}): Promise<string> {
  const response = await fetch(`${url}/v1/conversations/end`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(endPayload({ profile_id: USER, ...overrides })),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { event_id: string }).event_id;
}

async function status(eventId: string): Promise<string> {
  const { rows } = await apiPool.query<{ status: string }>("select status from parley.conversation_events where event_id = $1", [eventId]);
  return rows[0]!.status;
}

const screenshot = (target: Page, name: string) => target.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
const text = async (selector: string) => (await page.locator(selector).textContent())?.trim();

/** Layout shifts since the last call and what moved (the Layout Instability API, recorded by an init script). */
async function takeLayoutShifts(target: Page): Promise<{ total: number; moved: string[] }> {
  return target.evaluate(() => {
    const holder = window as unknown as { layoutShift: { total: number; moved: string[] } };
    const shifts = holder.layoutShift;
    holder.layoutShift = { total: 0, moved: [] };
    return shifts;
  });
}

async function openDashboard(target: Page): Promise<void> {
  await target.addInitScript(() => {
    const holder = window as unknown as { layoutShift: { total: number; moved: string[] } };
    holder.layoutShift = { total: 0, moved: [] };
    type Shift = PerformanceEntry & { value: number; hadRecentInput: boolean; sources: Array<{ node?: Node | null }> };
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as Shift[]) {
        if (entry.hadRecentInput) continue;
        holder.layoutShift.total += entry.value;
        for (const source of entry.sources) {
          const node = source.node as HTMLElement | null | undefined;
          holder.layoutShift.moved.push(node ? `${node.nodeName}#${node.id}.${node.className} "${(node.textContent ?? "").slice(0, 40)}"` : "?");
        }
      }
    }).observe({ type: "layout-shift", buffered: true });
  });
  await target.goto(`${pageUrl}/dashboard`);
  await target.locator("#key").fill(API_KEY);
  await target.getByRole("button", { name: "Connect" }).click();
  await target.locator("#live[data-state=live]").waitFor({ timeout: 15_000 });
  await target.locator("#count-processed", { hasNotText: "—" }).waitFor();
}

it.beforeAll(async ({ database }) => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does)`);
  await mkdir(ARTIFACTS, { recursive: true });
  const config = testConfig();
  apiPool = createApiPool(database.url);
  workerPool = createPool(database.url, 6, "parley-worker");
  app = buildApp({ pool: apiPool, log: silentLog, config });
  url = await app.listen({ host: "127.0.0.1", port: 0 });
  const apiPort = new URL(url).port;
  proxy = createServer((client) => {
    const upstream = connect(Number(apiPort), "127.0.0.1");
    for (const socket of [client, upstream]) {
      connections.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        connections.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  pageUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  worker = await startWorker({ config, pool: workerPool, log: silentLog, embedder, pollInterval: 500 });
  await worker.listening;

  // An hour of history for the chart and the percentiles: conversations processed now, then
  // moved back to uneven minutes of the last hour, a few of them slow.
  const history = await Promise.all(Array.from({ length: HISTORY }, (_, index) => endConversation({ profile_id: `user_history_${index % 7}` })));
  await until(async () => (await Promise.all(history.map(status))).every((value) => value === "PROCESSED"), 30_000);
  await apiPool.query(`
    with moved as (
      select event_id, now() - make_interval(mins => minutes, secs => event_id % 50) as processed_at,
        make_interval(secs => 0.02 + event_id % 9 * 0.015 + case when event_id % 40 = 0 then 2.5 else 0 end) as latency
      from unnest($1::bigint[], $2::int[]) as history(event_id, minutes)
    )
    update parley.conversation_events e set processed_at = moved.processed_at, created_at = moved.processed_at - moved.latency
    from moved where e.event_id = moved.event_id`, [history, HISTORY_MINUTES]);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
  page = await context.newPage();
  page.on("request", (request) => requests.push(request));
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    // The browser reports failed requests itself: the wrong key refused on purpose, the cut stream.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) pageErrors.push(message.text());
  });
  // The stream as the browser received it (Chromium's DevTools protocol sees EventSource messages).
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.eventSourceMessageReceived", (message) => streamMessages.push(message.data));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  for (const socket of connections) socket.destroy();
  proxy?.close();
  await app?.close();
  await worker?.stop();
  await Promise.all([apiPool?.end(), workerPool?.end()]);
}, 30_000);

describe("the dashboard in Chromium", { timeout: 60_000 }, () => {
  let failedEvent: string;
  let processedEvent: string;

  it("1. asks for the key once, keeps it in sessionStorage, and goes live", async () => {
    await page.goto(`${pageUrl}/dashboard`);
    await page.locator("#key-form").waitFor();
    await page.locator("#key").fill("not-the-key-0123456789");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.locator("#key-error", { hasText: "refused" }).waitFor();

    await openDashboard(page);
    expect(await page.evaluate(() => sessionStorage.getItem("parley.apiKey"))).toBe(API_KEY);
    expect(await text("#count-processed")).toBe(String(HISTORY));
    expect(await text("#throughput-total")).toBe(`${HISTORY} in the last hour`);
    expect(await page.locator("#throughput rect").count()).toBe(60);
    expect(await page.locator("#workers-body tr[data-worker-id] .badge").first().textContent()).toBe("live");
    await screenshot(page, "1-connected");

    // A reload in the same tab needs no key again.
    await page.reload();
    await page.locator("#live[data-state=live]").waitFor({ timeout: 15_000 });
    expect(await page.locator("#key-form").isHidden()).toBe(true);
  });

  it("2. shows the PROCESSED count change live, from the event stream, with no layout shift", async () => {
    await takeLayoutShifts(page);
    processedEvent = await endConversation();
    await page.locator("#count-processed", { hasText: new RegExp(`^${HISTORY + 1}$`) }).waitFor({ timeout: 15_000 });
    expect(await status(processedEvent)).toBe("PROCESSED");
    const heard = streamMessages.map((data) => JSON.parse(data) as { event_id: string; status: string });
    expect(heard).toContainEqual(expect.objectContaining({ event_id: processedEvent, status: "PROCESSED" }));
    expect(await takeLayoutShifts(page)).toEqual({ total: 0, moved: [] });
    await screenshot(page, "2-processed");
  });

  it("3. shows a failed event under its error_code with its details", async () => {
    failedEvent = await endConversation({
      conversation_log: [
        { role: "agent", content: "What did you watch this weekend?" },
        { role: "user", content: `A documentary about whales. ${MARK}` },
      ],
    });
    const row = page.locator(`[data-error-code="embedding_failed"] li[data-event-id="${failedEvent}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator(".details").textContent()).toBe(REFUSAL);
    expect(await row.locator(".details img").count()).toBe(0);
    expect(await page.title()).toBe("Parley · dashboard");
    // The counts and the list are two reads: the next refresh brings them together if need be.
    await page.locator("#count-failed", { hasText: /^1$/ }).waitFor();
    expect(await page.locator("#failed-tile").getAttribute("data-alert")).toBe("true");
    await screenshot(page, "3-failed");
  });

  it("4. retries it with one click and sees it processed", async () => {
    embedder.refusing = false;
    await page.locator(`li[data-event-id="${failedEvent}"]`).getByRole("button", { name: "Retry" }).click();
    await page.locator(`li[data-event-id="${failedEvent}"]`).waitFor({ state: "detached", timeout: 15_000 });
    await page.locator("#count-failed", { hasText: /^0$/ }).waitFor();
    await page.locator("#count-processed", { hasText: new RegExp(`^${HISTORY + 2}$`) }).waitFor();
    expect(await status(failedEvent)).toBe("PROCESSED");
    expect(await page.locator("#failures").textContent()).toBe("No failed events.");
    await screenshot(page, "4-retried");
  });

  it("5. looks the user up: level, score, topics, candidates and last events with results", async () => {
    await page.locator("#profile").fill(USER);
    await page.getByRole("button", { name: "Look up" }).click();
    const panel = page.locator(`.user[data-profile-id="${USER}"]`);
    await panel.waitFor();
    const { rows } = await apiPool.query<{ friendship_score: string; friendship_level: string }>(
      "select friendship_score, friendship_level from parley.friendship_status where profile_id = $1", [USER]);
    expect(await panel.locator("#user-score").textContent()).toBe(Number(rows[0]!.friendship_score).toFixed(2));
    expect(await panel.locator(".level").getAttribute("data-level")).toBe(rows[0]!.friendship_level);
    expect(await panel.locator(".topics li").count()).toBeGreaterThan(0);
    expect(await panel.locator(".candidates").count()).toBe(3);
    const events = panel.locator("table.events tbody tr");
    expect(await events.count()).toBe(2);
    for (const eventId of [failedEvent, processedEvent]) {
      expect(await panel.locator(`tr[data-event-id="${eventId}"] .badge`).textContent()).toBe("PROCESSED");
    }
    expect(await panel.locator(`tr[data-event-id="${processedEvent}"] td`).nth(3).textContent()).toMatch(/^[+−]?\d+\.\d\d$/);
    await screenshot(page, "5-user");
  });

  it("shows a new failure live while a user is looked up (README's screenshot)", async () => {
    embedder.refusing = true;
    embedder.refusal = "ollama answered 400: input length exceeds the context length of nomic-embed-text";
    const another = await endConversation({
      profile_id: "user_with_bad_text",
      conversation_log: [{ role: "user", content: `Tell me about the ocean. ${MARK}` }],
    });
    await page.locator(`[data-error-code="embedding_failed"] li[data-event-id="${another}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator(`.user[data-profile-id="${USER}"]`).count()).toBe(1);
    await screenshot(page, "8-overview");
  });

  it("comes back live after the connection is cut and its cookie is gone, with a new cookie", async () => {
    await context.clearCookies();
    for (const socket of connections) socket.destroy();
    await page.locator("#live[data-state=reconnecting]").waitFor({ timeout: 15_000 });
    await page.locator("#live[data-state=live]").waitFor({ timeout: 15_000 });
    // The browser's own reconnect, without a cookie, was refused; the page asked for a new one.
    const tokens = requests.filter((request) => request.url().endsWith("/v1/events/stream/token"));
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    const processed = Number(await text("#count-processed"));
    embedder.refusing = false;
    await endConversation();
    await page.locator("#count-processed", { hasText: new RegExp(`^${processed + 1}$`) }).waitFor({ timeout: 15_000 });
  });

  it("never put the API key in a URL; the stream was opened with its cookie, not the key", async () => {
    expect(requests.map((request) => request.url()).filter((requested) => requested.includes(API_KEY))).toEqual([]);
    const streams = requests.filter((request) => new URL(request.url()).pathname === "/v1/events/stream");
    let opened = 0;
    for (const stream of streams) {
      const headers = await stream.allHeaders();
      expect(headers.authorization).toBeUndefined();
      if ((await stream.response())?.status() !== 200) continue;
      expect(headers.cookie).toMatch(/^parley_stream=\d+\.\d+\.[0-9a-f]{64}$/);
      opened++;
    }
    // The first stream, one after the reload, one after the cut.
    expect(opened).toBeGreaterThanOrEqual(3);
  });

  it("ran without a script error", () => {
    expect(pageErrors).toEqual([]);
  });

  it("is readable in dark mode", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    const contrast = await page.evaluate(() => {
      const luminance = (color: string) => {
        const [r, g, b] = color.match(/\d+(\.\d+)?/g)!.slice(0, 3).map(Number).map((channel) => {
          const c = channel / 255;
          return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const ratio = (a: string, b: string) => {
        const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (light! + 0.05) / (dark! + 0.05);
      };
      const card = getComputedStyle(document.querySelector(".card")!).backgroundColor;
      const body = getComputedStyle(document.body);
      const muted = getComputedStyle(document.querySelector(".tile .label")!).color;
      return { background: luminance(body.backgroundColor), text: ratio(body.color, card), muted: ratio(muted, card) };
    });
    expect(contrast.background).toBeLessThan(0.05);
    // WCAG AA: 4.5 for text.
    expect(contrast.text).toBeGreaterThan(7);
    expect(contrast.muted).toBeGreaterThan(4.5);
    await screenshot(page, "6-dark");
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("fits a 1,280 px window and a phone without sideways scrolling", async () => {
    const overflow = (target: Page) => target.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow(page)).toBeLessThanOrEqual(0);

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      await openDashboard(phone);
      await phone.locator("#profile").fill(USER);
      await phone.getByRole("button", { name: "Look up" }).click();
      await phone.locator(`.user[data-profile-id="${USER}"]`).waitFor();
      expect(await overflow(phone)).toBeLessThanOrEqual(0);
      await screenshot(phone, "7-phone");
    } finally {
      await phone.close();
    }
  });
});
