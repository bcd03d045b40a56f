import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config.js";

describe("configuration", () => {
  it("has the documented defaults", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      concurrency: 4,
      embedder: "local",
      idleTimeoutSeconds: 1800,
      port: 3000,
      logLevel: "info",
      retryPolicy: { scheduleSeconds: [30, 300, 1800, 7200], maxAttempts: 5 },
      scoreWeights: { turns: 4, questions: 3, topics: 2, emotion: 3 },
      levelThresholds: { acquaintance: 20, friend: 60 },
      workerStaleAfterSeconds: 30,
      messageRetention: undefined,
    });
  });

  it("reads every variable", () => {
    const config = parseConfig({
      DATABASE_URL: "postgres://u@db:5432/parley",
      PARLEY_CONCURRENCY: "16",
      PARLEY_EMBEDDER: "hashing",
      PARLEY_IDLE_TIMEOUT: "60",
      PARLEY_RETRY_SCHEDULE: "1s,2m,3h",
      PARLEY_MAX_ATTEMPTS: "3",
      PARLEY_SCORE_WEIGHTS: '{"emotion": 5}',
      PARLEY_LEVEL_THRESHOLDS: '{"friend": 100}',
      PORT: "8080",
      LOG_LEVEL: "debug",
      PARLEY_MESSAGE_RETENTION: "90 days",
    });
    expect(config).toMatchObject({
      databaseUrl: "postgres://u@db:5432/parley",
      concurrency: 16,
      embedder: "hashing",
      idleTimeoutSeconds: 60,
      retryPolicy: { scheduleSeconds: [1, 120, 10800], maxAttempts: 3 },
      scoreWeights: { emotion: 5, turns: 4 },
      levelThresholds: { acquaintance: 20, friend: 100 },
      port: 8080,
      logLevel: "debug",
      messageRetention: "90 days",
    });
  });

  it.each([
    [{ PARLEY_CONCURRENCY: "zero" }, /^PARLEY_CONCURRENCY: /],
    [{ PARLEY_CONCURRENCY: "-1" }, /^PARLEY_CONCURRENCY: /],
    [{ PARLEY_EMBEDDER: "gpt" }, /^PARLEY_EMBEDDER: /],
    [{ PARLEY_IDLE_TIMEOUT: "1.5" }, /^PARLEY_IDLE_TIMEOUT: /],
    [{ PARLEY_RETRY_SCHEDULE: "30s,soon" }, /^PARLEY_RETRY_SCHEDULE: .*soon/],
    [{ PARLEY_SCORE_WEIGHTS: "{not json" }, /^PARLEY_SCORE_WEIGHTS: must be JSON/],
    [{ PARLEY_SCORE_WEIGHTS: '{"charm": 1}' }, /^PARLEY_SCORE_WEIGHTS/],
    [{ PARLEY_LEVEL_THRESHOLDS: '{"acquaintance": 80}' }, /^PARLEY_LEVEL_THRESHOLDS: friend must not be below acquaintance/],
    [{ PORT: "70000" }, /^PORT: /],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL: /],
    [{ DATABASE_URL: "not a url" }, /^DATABASE_URL: /],
    [{ PARLEY_MESSAGE_RETENTION: "forever" }, /^PARLEY_MESSAGE_RETENTION: must be a period like/],
    [{ PARLEY_CLAIM_LEASE: "0s" }, /^PARLEY_CLAIM_LEASE: must be a positive duration/],
    [{ PARLEY_CHANGE_RETENTION: "a while" }, /^PARLEY_CHANGE_RETENTION: must be a positive duration/],
    [{ PARLEY_MESSAGE_RETENTION: "0 days" }, /^PARLEY_MESSAGE_RETENTION: must be longer than zero/],
    [{ PARLEY_EMBEDDER: "openai" }, /^PARLEY_OPENAI_API_KEY: is required with PARLEY_EMBEDDER=openai and api.openai.com/],
  ])("rejects %o with one line naming the variable", (env, message) => {
    expect(() => parseConfig(env)).toThrow(message);
  });

  it("reads the claim lease and the change log's retention as durations: 5 min and 24 h by default", () => {
    expect(parseConfig({})).toMatchObject({ claimLeaseSeconds: 300, changeRetentionSeconds: 86_400 });
    expect(parseConfig({ PARLEY_CLAIM_LEASE: "90", PARLEY_CHANGE_RETENTION: "7d" }))
      .toMatchObject({ claimLeaseSeconds: 90, changeRetentionSeconds: 604_800 });
  });

  it("needs no OpenAI key for another OpenAI-compatible server, and takes one for api.openai.com", () => {
    expect(parseConfig({ PARLEY_EMBEDDER: "openai", PARLEY_OPENAI_BASE_URL: "http://127.0.0.1:8000/v1" }).embedding.openai.apiKey).toBeUndefined();
    expect(parseConfig({ PARLEY_EMBEDDER: "openai", PARLEY_OPENAI_API_KEY: "sk-test" }).embedding.openai).toEqual({
      baseUrl: "https://api.openai.com", apiKey: "sk-test", model: "text-embedding-3-small",
    });
  });
});
