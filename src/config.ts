// The only reader of process.env. Parsed once at start-up; a bad value stops
// the process with one line naming the variable and what is wrong.
import { z } from "zod";
import { parseRetrySchedule, DEFAULT_RETRY_POLICY } from "./pipeline/backoff.js";
import { DEFAULT_SCORE_WEIGHTS } from "./pipeline/score.js";
import { DEFAULT_LEVEL_THRESHOLDS } from "./pipeline/friendship.js";

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

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

export const configSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  PARLEY_CONCURRENCY: positiveInt(4),
  PARLEY_EMBEDDER: z.enum(["local", "hashing"]).default("local"),
  PARLEY_IDLE_TIMEOUT: positiveInt(1800),
  PARLEY_RETRY_SCHEDULE: z.string().default("30s,5m,30m,2h").transform((text, ctx) => {
    try {
      return parseRetrySchedule(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  }),
  PARLEY_MAX_ATTEMPTS: positiveInt(DEFAULT_RETRY_POLICY.maxAttempts),
  PARLEY_SCORE_WEIGHTS: jsonOf(scoreWeightsSchema).optional(),
  PARLEY_LEVEL_THRESHOLDS: jsonOf(levelThresholdsSchema).optional(),
  PARLEY_WORKER_STALE_AFTER: positiveInt(30),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type RawConfig = z.infer<typeof configSchema>;

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
  if (thresholds.friend < thresholds.acquaintance) {
    throw new ConfigError("PARLEY_LEVEL_THRESHOLDS: friend must not be below acquaintance");
  }
  return {
    databaseUrl: raw.DATABASE_URL,
    concurrency: raw.PARLEY_CONCURRENCY,
    embedder: raw.PARLEY_EMBEDDER,
    idleTimeoutSeconds: raw.PARLEY_IDLE_TIMEOUT,
    retryPolicy: { scheduleSeconds: raw.PARLEY_RETRY_SCHEDULE, maxAttempts: raw.PARLEY_MAX_ATTEMPTS },
    scoreWeights: { ...DEFAULT_SCORE_WEIGHTS, ...raw.PARLEY_SCORE_WEIGHTS },
    levelThresholds: thresholds,
    workerStaleAfterSeconds: raw.PARLEY_WORKER_STALE_AFTER,
    port: raw.PORT,
    logLevel: raw.LOG_LEVEL,
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
