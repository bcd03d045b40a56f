// An embedder that fails and stalls past its timeout: every event ends
// PROCESSED after exactly as many attempts as it took, or FAILED with
// embedding_failed after exactly PARLEY_MAX_ATTEMPTS, and no event reaches
// friendship_status twice. Faults are scripted per conversation (a marker in
// its text), so the attempt counts are exact, not statistical.
import { expect } from "vitest";
import { ChaosEmbedder, type Fate } from "../../scripts/chaos/embedder.js";
import { ledger } from "../../scripts/chaos/verify.js";
import { CachedEmbedder } from "../../src/embed/cache.js";
import { EmbeddingError } from "../../src/embed/embedder.js";
import { HashingEmbedder } from "../../src/embed/hashing.js";
import { it } from "../support/worker.js";
import { conversationPayload, endConversation, uniqueId, waitFor } from "../support/fixtures.js";

const MAX_ATTEMPTS = 5;

it("a flaky, stalling embedder: PROCESSED after exactly k+1 attempts, or FAILED with embedding_failed after exactly 5", { timeout: 60_000 }, async ({ database, startWorker }) => {
  // "chaos:<k>:<id>": the first k attempts of that conversation go wrong, alternately failing
  // and stalling past the timeout. Every conversation carries a marker (k may be 0). A call
  // with one marker embeds one conversation's attempt (a batch of one, or the worker's call
  // for one event after its batch's call failed); a call with several is a whole batch, which
  // fails while any of its conversations still has faults due, so that the worker embeds
  // them one by one and each attempt is counted once.
  const seen = new Map<string, number>();
  const fate = (texts: readonly string[]): Fate => {
    const markers = texts.map((text) => /chaos:(\d+):(\w+)/.exec(text)).filter((match) => match !== null);
    if (markers.length > 1) {
      return markers.some((marker) => (seen.get(marker[2]!) ?? 0) < Number(marker[1])) ? "fail" : "pass";
    }
    const marker = markers[0];
    if (!marker) return "pass";
    const calls = (seen.get(marker[2]!) ?? 0) + 1;
    seen.set(marker[2]!, calls);
    if (calls > Number(marker[1])) return "pass";
    return calls % 2 === 1 ? "fail" : "stall";
  };
  const embedder = new ChaosEmbedder(new HashingEmbedder(), { failRate: 0, stallRate: 0, stallMs: 1500, timeoutMs: 150, fate });
  await startWorker({
    env: { PARLEY_RETRY_SCHEDULE: "1s", PARLEY_MAX_ATTEMPTS: String(MAX_ATTEMPTS) }, embedder, pollInterval: 250, noWait: true,
  });

  // Three users share the events, so retried and first-time events update the same rows concurrently.
  const failures = [0, 1, 2, 3, 4, 5, 6, 0, 2, 4, 5, 1];
  const events = new Map<string, number>();
  for (const [index, k] of failures.entries()) {
    const id = uniqueId("flaky").replace(/[^\w]/g, "");
    const payload = conversationPayload({ profile_id: `flaky_user_${index % 3}` });
    // Texts of their own: a text shared with another conversation would tie
    // this attempt to that conversation's embedder call in the cache.
    payload.conversation_log = payload.conversation_log.map((message, position) => ({
      ...message, content: `${message.content} (${id})${position === 0 ? ` chaos:${k}:${id}` : ""}`,
    }));
    events.set(await endConversation(database.pool, payload), k);
  }

  const rows = await waitFor(async () => {
    const found = await database.db.selectFrom("parley.conversation_events")
      .select(["event_id", "status", "attempt_count", "error_code", "error_details"]).execute();
    return found.every((row) => row.status === "PROCESSED" || row.status === "FAILED") ? found : undefined;
  }, 45_000, 100);

  for (const row of rows) {
    const k = events.get(row.event_id)!;
    if (k < MAX_ATTEMPTS) {
      expect(row, `k=${k}`).toMatchObject({ status: "PROCESSED", attempt_count: k + 1, error_code: null });
    } else {
      expect(row, `k=${k}`).toMatchObject({ status: "FAILED", attempt_count: MAX_ATTEMPTS, error_code: "embedding_failed" });
      // The 5th attempt fails (odd calls fail, even ones stall): its reason is on the row.
      expect(row.error_details).toMatch(/injected embedder failure/);
    }
  }
  expect(embedder.counts.timedOut).toBe(embedder.counts.stalled);
  expect(embedder.counts.stalled).toBeGreaterThan(0);
  expect(await ledger(database.pool)).toEqual({ doubleCounted: 0, scoreMismatches: 0, orphans: 0 });
});

it("a cached embedder whose concurrent calls both fail leaves no unhandled rejection to crash the process", async () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", record);
  try {
    let call = 0;
    const failing = {
      model: "failing-8",
      dimension: 8,
      async embed(): Promise<Float32Array[]> {
        const mine = ++call;
        // The first call (which the second one waits on for "shared") fails last.
        await new Promise((resolve) => setTimeout(resolve, mine === 1 ? 40 : 5));
        throw new EmbeddingError(`failure ${mine}`, { retryable: true });
      },
    };
    const cached = new CachedEmbedder(failing);
    const first = cached.embed(["shared", "first only"]);
    const second = cached.embed(["shared", "second only"]);
    await expect(second).rejects.toThrow("failure 2");
    await expect(first).rejects.toThrow("failure 1");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
  } finally {
    process.off("unhandledRejection", record);
  }
});
