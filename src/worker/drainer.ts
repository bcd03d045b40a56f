// The worker process's batch loops. graphile-worker hands each job
// (`process_conversation`, one per event: the wake-up and the durable record)
// to a task handler, which asks the drainer for its event and waits. A loop
// claims the waiting events and, up to the batch size, whatever else is due,
// processes them as one batch, and goes on while there is more; it never
// waits for more work, so a lone event is processed at once. Events claimed
// without their job being fetched have their job removed when they finish,
// so at load graphile-worker fetches a few jobs per batch, not one per event.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../log.js";
import { claimDue, processClaimed, type Outcome, type ProcessingContext } from "./process-batch.js";
import { releaseEvents } from "./transitions.js";

export class WorkerStoppingError extends Error {
  override name = "WorkerStoppingError";
  constructor() {
    super("the worker is stopping; the job goes back to the queue");
  }
}

interface Waiter {
  promise: Promise<Outcome>;
  resolve: (outcome: Outcome) => void;
  reject: (error: Error) => void;
  /** Sent with a claim that has not answered yet. */
  offered: boolean;
}

export interface DrainerOptions {
  /** Batches one process runs at once: while one is in the database, the next computes. */
  loops: number;
  /** First pause before asking again for events that must wait (behind an earlier event of their user); it doubles, to 1 s, while they still must. */
  blockedRetryMs?: number;
  /** No claim before this settles (the embedder warming up). */
  ready?: Promise<void>;
}

/** While the database is unreachable: 250 ms, doubling, at most 1 s between tries. */
const OUTAGE_RETRY_MS = [250, 500, 1000];

export class Drainer {
  private readonly waiting = new Map<string, Waiter>();
  /** Events claimed by a batch that has not finished. */
  private readonly inFlight = new Set<string>();
  /** Claims whose outcome the database may not have recorded: given back before the next claim. */
  private readonly unsettled = new Set<string>();
  /** A claim got no answer: it may have claimed events nobody here knows of. */
  private claimUnanswered = false;
  private running = 0;
  private stopping = false;
  private readonly idle: Array<() => void> = [];
  private announceStop!: () => void;
  private readonly stopRequested = new Promise<void>((resolve) => (this.announceStop = resolve));

  constructor(
    private readonly context: ProcessingContext,
    private readonly options: DrainerOptions,
    private readonly log: Logger = context.log,
  ) {}

  /** Resolves once `eventId` needs nothing more from this process's job; rejects when the worker stops first. */
  want(eventId: string): Promise<Outcome> {
    if (this.stopping) return Promise.reject(new WorkerStoppingError());
    let waiter = this.waiting.get(eventId);
    if (waiter === undefined) {
      let resolve!: (outcome: Outcome) => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<Outcome>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      waiter = { promise, resolve, reject, offered: false };
      this.waiting.set(eventId, waiter);
    }
    this.kick();
    return waiter.promise;
  }

  /** Starts a loop if fewer than `loops` run. */
  kick(): void {
    if (this.stopping || this.running >= this.options.loops) return;
    this.running++;
    void this.loop().finally(() => {
      this.running--;
      if (this.running === 0) for (const notify of this.idle.splice(0)) notify();
      // A handler that arrived as the last loop was leaving.
      if (!this.stopping && this.hasUnoffered()) this.kick();
    });
  }

  /** Stops claiming, lets the batches in flight finish, and sends waiting handlers' jobs back. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.announceStop();
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    for (const waiter of this.waiting.values()) waiter.reject(new WorkerStoppingError());
    this.waiting.clear();
    await this.settle().catch((error: unknown) => this.log.warn({ err: error }, "could not give back unfinished claims; the heartbeat sweep will"));
  }

  private async loop(): Promise<void> {
    await Promise.race([this.options.ready, this.stopRequested]);
    for (let outage = 0, waitedForBlocked = 0; !this.stopping;) {
      let wanted: string[] = [];
      try {
        await this.settle();
        wanted = this.offer();
        const claim = await this.claim(wanted);
        outage = 0;
        if (claim.blocked.length === 0) waitedForBlocked = 0;
        for (const eventId of claim.notDue) this.finish(eventId, "not_due");
        for (const eventId of claim.blocked) this.unoffer(eventId);
        if (claim.claimed.length > 0) await this.process(claim.claimed.map((event) => event.event_id), () => processClaimed(this.context, claim.claimed));
        if (claim.claimed.length >= this.context.batchSize) continue;
        if (claim.blocked.length > 0) {
          // The event ahead is usually a batch away; one on a slow embedder elsewhere may take seconds.
          await sleep(Math.min(1000, (this.options.blockedRetryMs ?? 20) * 2 ** waitedForBlocked++));
          continue;
        }
        if (this.hasUnoffered()) continue;
        return;
      } catch (error) {
        for (const eventId of wanted) this.unoffer(eventId);
        const delay = OUTAGE_RETRY_MS[Math.min(outage++, OUTAGE_RETRY_MS.length - 1)]!;
        this.log.warn({ err: error, retry_in_ms: delay }, "worker cannot reach the database; retrying");
        await sleep(delay);
      }
    }
  }

  private async claim(wanted: string[]) {
    try {
      return await claimDue(this.context, wanted);
    } catch (error) {
      this.claimUnanswered = true;
      throw error;
    }
  }

  private async process(eventIds: string[], run: () => Promise<Map<string, Outcome>>): Promise<void> {
    for (const eventId of eventIds) this.inFlight.add(eventId);
    try {
      const outcomes = await run();
      for (const eventId of eventIds) this.finish(eventId, outcomes.get(eventId) ?? "already_done");
    } catch (error) {
      for (const eventId of eventIds) {
        this.unsettled.add(eventId);
        this.unoffer(eventId);
      }
      throw error;
    } finally {
      for (const eventId of eventIds) this.inFlight.delete(eventId);
    }
  }

  /** Gives back what earlier batches could not record, so that a loop claims it again. */
  private async settle(): Promise<void> {
    const { pool, workerId } = this.context;
    if (this.claimUnanswered) {
      const released = await releaseEvents(pool, workerId, null, [...this.inFlight]);
      this.claimUnanswered = false;
      this.unsettled.clear();
      if (released > 0) this.log.info({ released }, "gave back events claimed while the database was unreachable");
    } else if (this.unsettled.size > 0) {
      const eventIds = [...this.unsettled];
      const released = await releaseEvents(pool, workerId, eventIds);
      for (const eventId of eventIds) this.unsettled.delete(eventId);
      if (released > 0) this.log.info({ released }, "gave back events whose batch could not be recorded");
    }
  }

  /** Whether a handler waits for an event no claim carries yet. */
  private hasUnoffered(): boolean {
    for (const waiter of this.waiting.values()) if (!waiter.offered) return true;
    return false;
  }

  /** The waiting events no claim carries yet, at most a batch of them. */
  private offer(): string[] {
    const wanted: string[] = [];
    for (const [eventId, waiter] of this.waiting) {
      if (wanted.length >= this.context.batchSize) break;
      if (waiter.offered || this.inFlight.has(eventId)) continue;
      waiter.offered = true;
      wanted.push(eventId);
    }
    return wanted;
  }

  private unoffer(eventId: string): void {
    const waiter = this.waiting.get(eventId);
    if (waiter) waiter.offered = false;
  }

  private finish(eventId: string, outcome: Outcome): void {
    const waiter = this.waiting.get(eventId);
    if (waiter === undefined) return;
    this.waiting.delete(eventId);
    waiter.resolve(outcome);
  }
}
