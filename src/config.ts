// The only reader of process.env. Parsed once at start-up; a bad value stops
// the process with one line naming the variable and what is wrong.
import { createHash } from "node:crypto";
import { z } from "zod";
import { parseDuration, parseRetrySchedule, DEFAULT_RETRY_POLICY } from "./pipeline/backoff.js";
import { DEFAULT_SCORE_WEIGHTS } from "./pipeline/score.js";
import { DEFAULT_LEVEL_THRESHOLDS } from "./pipeline/friendship.js";
import { parseRetention } from "./worker/apply-retention.js";
import { EMBEDDER_NAMES, type EmbedderSettings } from "./embed/index.js";

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** A positive duration (parseDuration), in seconds. */
const duration = (text: string, ctx: z.RefinementCtx) => {
  const seconds = parseDuration(text) ?? 0;
  if (seconds <= 0) {
    ctx.addIssue({ code: "custom", message: `must be a positive duration such as "90s", "5m", "24h" or "7d" (got "${text}")` });
    return z.NEVER;
  }
  return seconds;
};

const retrySchedule = (fallback: string) =>
  z.string().default(fallback).transform((text, ctx) => {
    try {
      return parseRetrySchedule(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "must be JSON" });
      return z.NEVER;
    }
  }).pipe(schema);

const scoreWeightsSchema = z.object({
  turns: z.number(),
  questions: z.number(),
  topics: z.number(),
  emotion: z.number(),
  turnsCap: z.number().positive(),
  questionsCap: z.number().positive(),
  topicsCap: z.number().positive(),
}).partial().strict();

const levelThresholdsSchema = z.object({
  acquaintance: z.number().nonnegative(),
  friend: z.number().nonnegative(),
}).partial().strict();

const configSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  PARLEY_CONCURRENCY: positiveInt(4),
  // Events one claim takes, and claims one worker process works on at once.
  PARLEY_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  PARLEY_BATCHES_IN_FLIGHT: z.coerce.number().int().min(1).max(16).default(2),
  // How long a claim lasts if its worker neither finishes nor is seen dead.
  PARLEY_CLAIM_LEASE: z.string().default("5m").transform(duration),
  // How long the live stream's change log keeps entries for resuming clients.
  PARLEY_CHANGE_RETENTION: z.string().default("24h").transform(duration),
  PARLEY_EMBEDDER: z.enum(EMBEDDER_NAMES).default("local"),
  PARLEY_OLLAMA_URL: z.string().url().default("http://127.0.0.1:11434"),
  PARLEY_OLLAMA_MODEL: z.string().min(1).default("nomic-embed-text"),
  PARLEY_OPENAI_BASE_URL: z.string().url().default("https://api.openai.com"),
  PARLEY_OPENAI_API_KEY: z.string().min(1).optional(),
  PARLEY_OPENAI_MODEL: z.string().min(1).default("text-embedding-3-small"),
  PARLEY_EMBED_TIMEOUT_MS: positiveInt(30_000),
  // Texts per request to a remote embedder: a batch of conversations goes in as few requests as this allows.
  PARLEY_EMBED_BATCH_SIZE: z.coerce.number().int().min(1).max(2048).default(512),
  // Only needed for a remote model Parley does not know; otherwise learned from the first answer.
  PARLEY_EMBED_DIMENSION: z.coerce.number().int().positive().optional(),
  PARLEY_IDLE_TIMEOUT: positiveInt(1800),
  PARLEY_RETRY_SCHEDULE: retrySchedule("30s,5m,30m,2h"),
  PARLEY_MAX_ATTEMPTS: positiveInt(DEFAULT_RETRY_POLICY.maxAttempts),
  PARLEY_SCORE_WEIGHTS: jsonOf(scoreWeightsSchema).optional(),
  PARLEY_LEVEL_THRESHOLDS: jsonOf(levelThresholdsSchema).optional(),
  PARLEY_WORKER_STALE_AFTER: positiveInt(30),
  // Delete the messages of PROCESSED conversations older than this ("90 days"); unset keeps them all.
  PARLEY_MESSAGE_RETENTION: z.string().transform((text, ctx) => {
    try {
      return parseRetention(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  }).optional(),
  // Waits between a webhook delivery's attempts; once they are used up it is FAILED.
  PARLEY_WEBHOOK_RETRY_SCHEDULE: retrySchedule("10s,1m,10m,1h,6h"),
  PARLEY_WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
  // Deliveries at once, in a pool of their own beside PARLEY_CONCURRENCY's.
  PARLEY_WEBHOOK_CONCURRENCY: positiveInt(4),
  // Loopback, private, link-local and other non-public receivers are refused unless this is "true".
  PARLEY_WEBHOOK_ALLOW_PRIVATE: z.enum(["true", "false"]).default("false").transform((value) => value === "true"),
  // The worker's own /metrics; 0 turns it off.
  PARLEY_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  PARLEY_EMBEDDED_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  // Where `npm run demo` finds the running API, and the key it sends.
  PARLEY_URL: z.string().url().default("http://127.0.0.1:3000"),
  PARLEY_API_KEY: z.string().min(1).optional(),
  // Bearer keys the HTTP API accepts, comma-separated. Only their sha256
  // hashes are kept; a key shorter than 16 characters is a mistake, not a key.
  PARLEY_API_KEYS: z.string().transform((text, ctx) => {
    const keys = text.split(",").map((key) => key.trim()).filter((key) => key !== "");
    const weak = keys.findIndex((key) => key.length < 16 || /\s/.test(key));
    if (weak >= 0) {
      ctx.addIssue({ code: "custom", message: `key ${weak + 1} must be at least 16 characters with no spaces` });
      return z.NEVER;
    }
    return keys.map((key) => createHash("sha256").update(key).digest());
  }).optional(),
  // "off" serves the API without authentication; it is never the default.
  PARLEY_API_AUTH: z.enum(["on", "off"]).default("on"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // Unset: pretty lines on a terminal, JSON lines otherwise.
  LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
});

export function parseConfig(env: Record<string, string | undefined>) {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const result = configSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`${issue.path.join(".") || "config"}: ${issue.message}`);
  }
  const raw = result.data;
  const thresholds = { ...DEFAULT_LEVEL_THRESHOLDS, ...raw.PARLEY_LEVEL_THRESHOLDS };
  if (raw.PARLEY_EMBEDDER === "openai" && raw.PARLEY_OPENAI_API_KEY === undefined && new URL(raw.PARLEY_OPENAI_BASE_URL).hostname === "api.openai.com") {
    throw new ConfigError("PARLEY_OPENAI_API_KEY: is required with PARLEY_EMBEDDER=openai and api.openai.com (set PARLEY_OPENAI_BASE_URL for a local server that needs no key)");
  }
  if (thresholds.friend < thresholds.acquaintance) {
    throw new ConfigError("PARLEY_LEVEL_THRESHOLDS: friend must not be below acquaintance");
  }
  return {
    databaseUrl: raw.DATABASE_URL,
    concurrency: raw.PARLEY_CONCURRENCY,
    batchSize: raw.PARLEY_BATCH_SIZE,
    batchesInFlight: raw.PARLEY_BATCHES_IN_FLIGHT,
    claimLeaseSeconds: raw.PARLEY_CLAIM_LEASE,
    changeRetentionSeconds: raw.PARLEY_CHANGE_RETENTION,
    embedder: raw.PARLEY_EMBEDDER,
    embedding: {
      ollama: { url: raw.PARLEY_OLLAMA_URL, model: raw.PARLEY_OLLAMA_MODEL },
      openai: { baseUrl: raw.PARLEY_OPENAI_BASE_URL, apiKey: raw.PARLEY_OPENAI_API_KEY, model: raw.PARLEY_OPENAI_MODEL },
      timeoutMs: raw.PARLEY_EMBED_TIMEOUT_MS,
      batchSize: raw.PARLEY_EMBED_BATCH_SIZE,
      dimension: raw.PARLEY_EMBED_DIMENSION,
    } satisfies EmbedderSettings,
    idleTimeoutSeconds: raw.PARLEY_IDLE_TIMEOUT,
    retryPolicy: { scheduleSeconds: raw.PARLEY_RETRY_SCHEDULE, maxAttempts: raw.PARLEY_MAX_ATTEMPTS },
    scoreWeights: { ...DEFAULT_SCORE_WEIGHTS, ...raw.PARLEY_SCORE_WEIGHTS },
    levelThresholds: thresholds,
    workerStaleAfterSeconds: raw.PARLEY_WORKER_STALE_AFTER,
    messageRetention: raw.PARLEY_MESSAGE_RETENTION,
    webhooks: {
      retryScheduleSeconds: raw.PARLEY_WEBHOOK_RETRY_SCHEDULE,
      timeoutMs: raw.PARLEY_WEBHOOK_TIMEOUT_MS,
      concurrency: raw.PARLEY_WEBHOOK_CONCURRENCY,
      allowPrivate: raw.PARLEY_WEBHOOK_ALLOW_PRIVATE,
    },
    metricsPort: raw.PARLEY_METRICS_PORT,
    embeddedPort: raw.PARLEY_EMBEDDED_PORT,
    client: { url: raw.PARLEY_URL, apiKey: raw.PARLEY_API_KEY },
    api: { keyHashes: raw.PARLEY_API_KEYS ?? [], auth: raw.PARLEY_API_AUTH, host: raw.HOST },
    port: raw.PORT,
    logLevel: raw.LOG_LEVEL,
    logFormat: raw.LOG_FORMAT,
  };
}

export type Config = ReturnType<typeof parseConfig>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads the environment, or exits with one line naming the bad variable. */
export function loadConfig(): Config {
  try {
    return parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`parley: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
