import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";

describe("webhook configuration", () => {
  it("defaults: 10s,1m,10m,1h,6h between attempts, 10 s timeout, 4 deliveries at once, non-public receivers refused", () => {
    expect(parseConfig({}).webhooks).toEqual({
      retryScheduleSeconds: [10, 60, 600, 3600, 21600],
      timeoutMs: 10_000,
      concurrency: 4,
      allowPrivate: false,
    });
  });

  it("reads PARLEY_WEBHOOK_RETRY_SCHEDULE like PARLEY_RETRY_SCHEDULE, the timeout, the concurrency and the private switch", () => {
    expect(parseConfig({
      PARLEY_WEBHOOK_RETRY_SCHEDULE: "1s, 2m,3h",
      PARLEY_WEBHOOK_TIMEOUT_MS: "2500",
      PARLEY_WEBHOOK_CONCURRENCY: "16",
      PARLEY_WEBHOOK_ALLOW_PRIVATE: "true",
    }).webhooks).toEqual({ retryScheduleSeconds: [1, 120, 10800], timeoutMs: 2500, concurrency: 16, allowPrivate: true });
  });

  it.each([
    [{ PARLEY_WEBHOOK_RETRY_SCHEDULE: "10s,later" }, /^PARLEY_WEBHOOK_RETRY_SCHEDULE: .*later/],
    [{ PARLEY_WEBHOOK_TIMEOUT_MS: "0" }, /^PARLEY_WEBHOOK_TIMEOUT_MS: /],
    [{ PARLEY_WEBHOOK_CONCURRENCY: "0" }, /^PARLEY_WEBHOOK_CONCURRENCY: /],
    [{ PARLEY_WEBHOOK_ALLOW_PRIVATE: "yes" }, /^PARLEY_WEBHOOK_ALLOW_PRIVATE: /],
  ])("rejects %o with one line naming the variable", (env, message) => {
    expect(() => parseConfig(env)).toThrow(message);
  });
});
