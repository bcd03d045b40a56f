// What every route plugin is handed by buildApp.
import type pg from "pg";
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import type { Config } from "../../config.js";
import type { Db } from "../../db/pool.js";
import type { EventHub } from "../stream/hub.js";

export interface RouteContext {
  pool: pg.Pool;
  db: Db;
  config: Config;
  hub: EventHub;
  /** Seconds a client should wait after a 503. */
  retryAfterSeconds: number;
  /** Interval of the SSE keep-alive comments. */
  sseHeartbeatMs: number;
}

/** Adds fields to every later log line of the request, the completion line included. */
export function bindLog(request: FastifyRequest, fields: Record<string, unknown>): void {
  (request.log as FastifyBaseLogger & { setBindings(bindings: Record<string, unknown>): void }).setBindings(fields);
}
