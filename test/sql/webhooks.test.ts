// Webhooks in plain SQL: subscriptions, deliveries queued by the statement
// trigger in the transaction that finishes an event, the attempts' state
// machine (one row of webhook_deliveries per attempt), and what goes with a
// user's events and with a removed webhook.
// Each test runs in a transaction it rolls back, so subscriptions never leak
// from one test into the next.
import { describe, expect } from "vitest";
import type { PoolClient } from "pg";
import { it, type TestDatabase } from "../support/database.js";
import { conversationPayload, sqlRejection, uniqueId } from "../support/fixtures.js";
import { WEBHOOK_EVENT_KINDS } from "../../src/domain.js";

const SECRET = "sql-test-secret-0123456789";

async function rolledBack<T>(database: TestDatabase, body: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await database.pool.connect();
  try {
    await client.query("begin");
    return await body(client);
  } finally {
    await client.query("rollback").catch(() => {});
    client.release();
  }
}

async function addWebhook(client: PoolClient, url = "https://hooks.example.com/parley", events?: string[]): Promise<string> {
  const { rows } = events === undefined
    ? await client.query<{ id: string }>("select parley.add_webhook($1, $2) as id", [url, SECRET])
    : await client.query<{ id: string }>("select parley.add_webhook($1, $2, $3) as id", [url, SECRET, events]);
  return rows[0]!.id;
}

/** Ended conversations' event ids, one per profile given. */
async function events(client: PoolClient, profiles: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const profile of profiles) {
    const { rows } = await client.query<{ id: string }>("select parley.end_conversation($1) as id",
      [JSON.stringify(conversationPayload({ profile_id: profile }))]);
    ids.push(rows[0]!.id);
  }
  return ids;
}

/** Each delivery (its message) with its state: the status of its latest attempt. */
async function deliveries(client: PoolClient) {
  const { rows } = await client.query<{ delivery_id: string; webhook_id: string; event_id: string; status: string; payload: Record<string, unknown> }>(`
    select m.delivery_id, m.webhook_id, m.event_id, latest.status, m.payload
    from parley.webhook_messages m
    cross join lateral (select d.status from parley.webhook_deliveries d where d.delivery_id = m.delivery_id
                        order by d.attempt desc limit 1) latest
    order by m.event_id, m.webhook_id`);
  return rows;
}

async function attemptRows(client: PoolClient) {
  const { rows } = await client.query<{ delivery_id: string; attempt: number; status: string; due_now: boolean; made: boolean }>(`
    select delivery_id, attempt, status, scheduled_at = now() as due_now, attempted_at is not null as made
    from parley.webhook_deliveries order by delivery_id, attempt`);
  return rows;
}

async function deliveryJobs(client: PoolClient) {
  const { rows } = await client.query<{ payload: { delivery_id: string }; queue_name: string | null; priority: number; key: string; run_at: Date }>(`
    select p.payload, j.queue_name, j.priority, p.key, p.run_at from graphile_worker.jobs j
    join graphile_worker._private_jobs p on p.id = j.id
    where j.task_identifier = 'deliver_webhook' order by p.id`);
  return rows;
}

describe("parley.add_webhook", () => {
  it("stores a subscription, to PROCESSED and FAILED by default, and returns its id", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const id = await addWebhook(client);
      const only = await addWebhook(client, "HTTP://[2001:db8::1]:8443/x?y=1", ["FAILED", "FAILED"]);
      const { rows } = await client.query("select webhook_id, url, secret, events from parley.webhooks order by webhook_id");
      expect(rows).toEqual([
        { webhook_id: id, url: "https://hooks.example.com/parley", secret: SECRET, events: ["PROCESSED", "FAILED"] },
        { webhook_id: only, url: "HTTP://[2001:db8::1]:8443/x?y=1", secret: SECRET, events: ["FAILED"] },
      ]);
    });
  });

  it.for([
    [["ftp://example.com/x", SECRET], "url", "url: must be an absolute URL starting with https:// or http:// (got ftp:)"],
    [["example.com/hooks", SECRET], "url", "url: must be an absolute URL starting with https:// or http://"],
    [["", SECRET], "url", "url: is required"],
    [[null, SECRET], "url", "url: is required"],
    [["https://", SECRET], "url", "url: has no host"],
    [["https://user:pass@example.com/", SECRET], "url", "url: must not contain credentials"],
    [["https://exa mple.com/", SECRET], "url", "url: must not contain spaces or control characters"],
    [["https://exämple.com/", SECRET], "url", "url: must have a DNS name or an IP address as its host"],
    [["https://example.com:0/", SECRET], "url", "url: port 0 is out of range 1-65535"],
    [["https://example.com:65536/", SECRET], "url", "url: port 65536 is out of range 1-65535"],
    [[`https://example.com/${"x".repeat(2048)}`, SECRET], "url", "url: is 2068 characters long; the limit is 2048"],
    [["https://example.com/", null], "secret", "secret: is required"],
    [["https://example.com/", ""], "secret", "secret: is required"],
    [["https://example.com/", "too-short-1234"], "secret", "secret: must be at least 16 characters long (got 14)"],
    [["https://example.com/", "s".repeat(257)], "secret", "secret: must be at most 256 characters long (got 257)"],
    [["https://example.com/", SECRET, []], "events", "events: must list at least one of PROCESSED, FAILED"],
    [["https://example.com/", SECRET, null], "events", "events: must list at least one of PROCESSED, FAILED"],
    [["https://example.com/", SECRET, ["PROCESSED", "DONE"]], "events[1]", "events[1]: must be one of PROCESSED, FAILED (got DONE)"],
    [["https://example.com/", SECRET, ["processed"]], "events[0]", "events[0]: must be one of PROCESSED, FAILED (got processed)"],
    [["https://example.com/", SECRET, ["PENDING"]], "events[0]", "events[0]: must be one of PROCESSED, FAILED (got PENDING)"],
  ] as Array<[unknown[], string, string]>)("rejects %j with 22023 naming %s, writes nothing and never echoes the secret", async ([args, field, message], { database }) => {
    await rolledBack(database, async (client) => {
      const call = args.length === 3
        ? client.query("select parley.add_webhook($1, $2, $3)", args)
        : client.query("select parley.add_webhook($1, $2)", args);
      const error = await sqlRejection(call);
      expect(error.code).toBe("22023");
      expect(error.column).toBe(field);
      expect(error.message.startsWith(message)).toBe(true);
      if (typeof args[1] === "string" && args[1].length > 0) expect(error.message).not.toContain(args[1]);
    });
    expect((await database.pool.query("select count(*)::int as n from parley.webhooks")).rows[0].n).toBe(0);
  });

  it("knows exactly the event kinds the TypeScript schemas offer", async ({ database }) => {
    await rolledBack(database, async (client) => {
      for (const kind of WEBHOOK_EVENT_KINDS) await addWebhook(client, "https://example.com/", [kind]);
      const { rows } = await client.query("select array_agg(events[1] order by webhook_id) as kinds from parley.webhooks");
      expect(rows[0].kinds).toEqual([...WEBHOOK_EVENT_KINDS]);
    });
  });
});

describe("queueing deliveries", () => {
  it("an event that becomes PROCESSED queues one delivery per webhook and a job holding only the delivery id, in the same transaction", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const both = await addWebhook(client);
      const processedOnly = await addWebhook(client, "https://other.example.com/", ["PROCESSED"]);
      const failedOnly = await addWebhook(client, "https://third.example.com/", ["FAILED"]);
      const [eventId] = await events(client, [uniqueId("user")]);
      await client.query(`update parley.conversation_events set status = 'PROCESSED', processed_at = now(), total_turns = 4,
        friendship_score_change = 2.5, new_friendship_level = 'PHASE1_STRANGER' where event_id = $1`, [eventId]);

      const queued = await deliveries(client);
      expect(queued.map((d) => [d.webhook_id, d.event_id, d.status])).toEqual([[both, eventId, "PENDING"], [processedOnly, eventId, "PENDING"]]);
      // Each delivery's first attempt: one row of webhook_deliveries, PENDING, due at once, not yet made.
      expect(await attemptRows(client)).toEqual(queued.map((d) => ({ delivery_id: d.delivery_id, attempt: 1, status: "PENDING", due_now: true, made: false }))
        .sort((a, b) => a.delivery_id.localeCompare(b.delivery_id)));
      expect(queued.map((d) => d.webhook_id)).not.toContain(failedOnly);
      expect(queued[0]!.payload).toMatchObject({
        type: "conversation.processed", event_id: eventId, status: "PROCESSED", error: null,
        results: { total_turns: 4, friendship_score_change: 2.5, new_friendship_level: "PHASE1_STRANGER" },
      });
      const jobs = await deliveryJobs(client);
      expect(jobs.map((job) => job.payload.delivery_id).sort()).toEqual(queued.map((d) => d.delivery_id).sort());
      expect(jobs.map((job) => Object.keys(job.payload))).toEqual([["delivery_id"], ["delivery_id"]]);
      // No named queue (it would serialize a webhook's deliveries behind graphile-worker's poll), no priority (a pool of their own).
      expect(jobs.map((job) => [job.queue_name, job.priority])).toEqual([[null, 0], [null, 0]]);
    });
  });

  it("a FAILED event is announced as conversation.failed with its error, to the webhooks that want failures", async ({ database }) => {
    await rolledBack(database, async (client) => {
      await addWebhook(client, "https://only-processed.example.com/", ["PROCESSED"]);
      const failures = await addWebhook(client, "https://failures.example.com/", ["FAILED"]);
      const [eventId] = await events(client, ["user_failed"]);
      await client.query(`update parley.conversation_events set status = 'FAILED', error_code = 'empty_conversation',
        error_details = 'no messages' where event_id = $1`, [eventId]);
      const queued = await deliveries(client);
      expect(queued).toHaveLength(1);
      expect(queued[0]!.webhook_id).toBe(failures);
      expect(queued[0]!.payload).toEqual({
        type: "conversation.failed", event_id: eventId, conversation_id: expect.any(String), profile_id: "user_failed",
        status: "FAILED", results: null, error: { code: "empty_conversation", details: "no messages" },
      });
    });
  });

  it("one UPDATE finishing many events (a worker's batch) queues one delivery per event and webhook, and nothing for other changes", async ({ database }) => {
    await rolledBack(database, async (client) => {
      await addWebhook(client);
      await addWebhook(client, "https://second.example.com/");
      const ids = await events(client, Array.from({ length: 6 }, (_, i) => `batch_user_${i}`));
      // Claims, and a change that leaves the status as it was, queue nothing.
      await client.query("update parley.conversation_events set status = 'PROCESSING' where event_id = any($1)", [ids]);
      await client.query("update parley.conversation_events set attempt_count = 1 where event_id = any($1)", [ids]);
      expect(await deliveries(client)).toEqual([]);

      await client.query(`update parley.conversation_events set
        status = case when event_id = $2 then 'FAILED' else 'PROCESSED' end where event_id = any($1)`, [ids, ids[0]]);
      const queued = await deliveries(client);
      expect(queued).toHaveLength(12);
      expect(await attemptRows(client)).toHaveLength(12);
      expect(new Set(queued.map((d) => d.event_id))).toEqual(new Set(ids));
      expect(queued.filter((d) => d.payload.type === "conversation.failed").map((d) => d.event_id)).toEqual([ids[0], ids[0]]);
      expect(await deliveryJobs(client)).toHaveLength(12);

      // Already PROCESSED: updating it again is no new event.
      await client.query("update parley.conversation_events set processed_at = now() where event_id = any($1)", [ids]);
      await client.query("update parley.conversation_events set status = 'PROCESSED' where event_id = any($1) and status = 'PROCESSED'", [ids]);
      expect(await deliveries(client)).toHaveLength(12);
    });
  });

  it("a rolled-back finish leaves no delivery and no job", async ({ database }) => {
    await rolledBack(database, async (client) => {
      await addWebhook(client);
      const [eventId] = await events(client, ["user_rollback"]);
      await client.query("savepoint finish");
      await client.query("update parley.conversation_events set status = 'PROCESSED' where event_id = $1", [eventId]);
      expect(await deliveries(client)).toHaveLength(1);
      await client.query("rollback to savepoint finish");
      expect(await deliveries(client)).toEqual([]);
      expect(await attemptRows(client)).toEqual([]);
      expect(await deliveryJobs(client)).toEqual([]);
    });
  });

  it("with no webhook, finishing events queues nothing", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const ids = await events(client, ["user_a", "user_b"]);
      await client.query("update parley.conversation_events set status = 'PROCESSED' where event_id = any($1)", [ids]);
      expect(await deliveries(client)).toEqual([]);
      expect(await deliveryJobs(client)).toEqual([]);
    });
  });
});

describe("what goes with what", () => {
  it("parley.forget_user deletes the user's deliveries and their attempts, not others'", async ({ database }) => {
    await rolledBack(database, async (client) => {
      await addWebhook(client);
      const forgotten = uniqueId("forgotten");
      const kept = uniqueId("kept");
      const ids = await events(client, [forgotten, kept, forgotten]);
      await client.query("update parley.conversation_events set status = 'PROCESSED' where event_id = any($1)", [ids]);
      const first = (await deliveries(client)).find((d) => d.payload.profile_id === forgotten)!;
      await client.query("select parley.record_webhook_attempt($1, 1, now(), 5, 500, 'http_error', 'HTTP 500', true, '{10}')", [first.delivery_id]);
      expect(await attemptRows(client)).toHaveLength(4);

      await client.query("select parley.forget_user($1)", [forgotten]);
      const left = await deliveries(client);
      expect(left.map((d) => d.payload.profile_id)).toEqual([kept]);
      expect((await attemptRows(client)).map((row) => row.delivery_id)).toEqual([left[0]!.delivery_id]);
    });
  });

  it("remove_webhook deletes the webhook, its deliveries and their queued jobs; false for an unknown id", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const removed = await addWebhook(client);
      const kept = await addWebhook(client, "https://kept.example.com/");
      const ids = await events(client, ["user_x", "user_y"]);
      await client.query("update parley.conversation_events set status = 'PROCESSED' where event_id = any($1)", [ids]);
      expect(await deliveryJobs(client)).toHaveLength(4);

      expect((await client.query("select parley.remove_webhook($1) as removed", [removed])).rows[0].removed).toBe(true);
      expect((await client.query("select parley.remove_webhook($1) as removed", [removed])).rows[0].removed).toBe(false);
      expect((await client.query("select parley.remove_webhook(999999) as removed")).rows[0].removed).toBe(false);
      const left = await deliveries(client);
      expect(left.map((d) => d.webhook_id)).toEqual([kept, kept]);
      expect((await attemptRows(client)).map((row) => row.delivery_id).sort()).toEqual(left.map((d) => d.delivery_id).sort());
      expect((await deliveryJobs(client)).map((job) => job.payload.delivery_id).sort()).toEqual(left.map((d) => d.delivery_id).sort());
      expect((await client.query("select count(*)::int as n from parley.webhooks where webhook_id = $1", [removed])).rows[0].n).toBe(0);
    });
  });
});

describe("concurrently", () => {
  it("an event finishing while its webhook is being removed waits, then finishes without that delivery", async ({ database }) => {
    const remover = await database.pool.connect();
    const finisher = await database.pool.connect();
    try {
      const webhookId = await addWebhook(remover, "https://removed-meanwhile.example.com/");
      const [eventId] = await events(finisher, [uniqueId("user")]);
      await remover.query("begin");
      await remover.query("select parley.remove_webhook($1)", [webhookId]);

      await finisher.query("begin");
      let finished = false;
      const finishing = finisher.query("update parley.conversation_events set status = 'PROCESSED' where event_id = $1", [eventId])
        .then(() => (finished = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(finished).toBe(false);
      await remover.query("commit");
      await finishing;
      await finisher.query("commit");

      const { rows } = await database.pool.query("select count(*)::int as n from parley.webhook_messages where event_id = $1", [eventId]);
      expect(rows[0].n).toBe(0);
      expect((await database.pool.query("select status from parley.conversation_events where event_id = $1", [eventId])).rows[0].status).toBe("PROCESSED");
    } finally {
      await remover.query("rollback").catch(() => {});
      await finisher.query("rollback").catch(() => {});
      remover.release();
      finisher.release();
    }
  });
});

describe("a delivery's attempts", () => {
  async function oneDelivery(client: PoolClient): Promise<string> {
    await addWebhook(client);
    const [eventId] = await events(client, [uniqueId("user")]);
    await client.query("update parley.conversation_events set status = 'PROCESSED' where event_id = $1", [eventId]);
    return (await deliveries(client))[0]!.delivery_id;
  }
  // now() is the transaction's start: make the waiting attempt due within it.
  const makeDue = (client: PoolClient) =>
    client.query("update parley.webhook_deliveries set scheduled_at = now() - interval '1 second' where status = 'PENDING'");
  const record = async (client: PoolClient, id: string, attempt: number, httpStatus: number | null, errorCode: string | null, retryable: boolean, schedule = [10, 60]) => {
    await makeDue(client);
    const { rows } = await client.query<{ status: string | null }>(
      "select parley.record_webhook_attempt($1, $2, now() - interval '1 second', 12, $3, $4, $5, $6, $7) as status",
      [id, attempt, httpStatus, errorCode, errorCode && `details of ${errorCode}`, retryable, schedule]);
    return rows[0]!.status;
  };
  const attempts = async (client: PoolClient, id: string) => (await client.query(`
    select attempt, status, http_status, error_code, error_details, duration_ms,
           extract(epoch from scheduled_at - now())::int as wait, attempted_at is not null as made
    from parley.webhook_deliveries where delivery_id = $1 order by attempt`, [id])).rows;

  it("webhook_delivery_to_send gives the URL, secret, payload and number of a delivery's due PENDING attempt", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const id = await oneDelivery(client);
      await makeDue(client);
      const { rows } = await client.query("select url, secret, attempt, payload ->> 'type' as type from parley.webhook_delivery_to_send($1)", [id]);
      expect(rows).toEqual([{ url: "https://hooks.example.com/parley", secret: SECRET, attempt: 1, type: "conversation.processed" }]);
      await client.query("update parley.webhook_deliveries set scheduled_at = now() + interval '1 minute'");
      expect((await client.query("select * from parley.webhook_delivery_to_send($1)", [id])).rows).toEqual([]);
      expect((await client.query("select * from parley.webhook_delivery_to_send(gen_random_uuid())")).rows).toEqual([]);
      expect(await record(client, id, 1, 200, null, false)).toBe("DELIVERED");
      expect((await client.query("select * from parley.webhook_delivery_to_send($1)", [id])).rows).toEqual([]);
    });
  });

  it("retries a retryable failure per the schedule, then gives up; each attempt is a row of webhook_deliveries with its status, HTTP code and error", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const id = await oneDelivery(client);
      expect(await record(client, id, 1, 500, "http_error", true)).toBe("PENDING");
      expect(await attempts(client, id)).toMatchObject([
        { attempt: 1, status: "FAILED", http_status: 500, error_code: "http_error", made: true },
        { attempt: 2, status: "PENDING", http_status: null, error_code: null, wait: 10, made: false, duration_ms: null },
      ]);
      const [retryJob] = (await deliveryJobs(client)).filter((job) => job.run_at > new Date(Date.now() + 5000));
      expect(retryJob).toMatchObject({ payload: { delivery_id: id }, key: `parley:webhook_delivery:${id}` });
      expect(await record(client, id, 2, null, "timeout", true)).toBe("PENDING");
      expect((await attempts(client, id))[2]).toMatchObject({ attempt: 3, status: "PENDING", wait: 60 });
      expect(await record(client, id, 3, 503, "http_error", true)).toBe("FAILED");
      expect(await attempts(client, id)).toEqual([
        { attempt: 1, status: "FAILED", http_status: 500, error_code: "http_error", error_details: "details of http_error", duration_ms: 12, wait: -1, made: true },
        { attempt: 2, status: "FAILED", http_status: null, error_code: "timeout", error_details: "details of timeout", duration_ms: 12, wait: -1, made: true },
        { attempt: 3, status: "FAILED", http_status: 503, error_code: "http_error", error_details: "details of http_error", duration_ms: 12, wait: -1, made: true },
      ]);
      expect((await deliveries(client))[0]!.status).toBe("FAILED");
      // Given up: a stray job records nothing more.
      expect(await record(client, id, 3, 200, null, false)).toBeNull();
      expect(await record(client, id, 4, 200, null, false)).toBeNull();
      expect(await attempts(client, id)).toHaveLength(3);
    });
  });

  it("a success marks the attempt, and so the delivery, DELIVERED; a failure retrying cannot fix gives up at once", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const id = await oneDelivery(client);
      expect(await record(client, id, 1, 204, null, false)).toBe("DELIVERED");
      expect(await attempts(client, id)).toEqual([
        { attempt: 1, status: "DELIVERED", http_status: 204, error_code: null, error_details: null, duration_ms: 12, wait: -1, made: true },
      ]);
    });
    await rolledBack(database, async (client) => {
      const id = await oneDelivery(client);
      expect(await record(client, id, 1, null, "address_refused", false)).toBe("FAILED");
      expect(await attempts(client, id)).toMatchObject([{ attempt: 1, status: "FAILED", error_code: "address_refused" }]);
    });
  });

  it("only the attempt that was sent is recorded: a second run of an attempt already recorded leaves the next one waiting", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const id = await oneDelivery(client);
      expect(await record(client, id, 1, 500, "http_error", true)).toBe("PENDING");
      // The same attempt sent again (its job ran twice) and succeeding this time.
      expect(await record(client, id, 1, 200, null, false)).toBeNull();
      expect((await attempts(client, id)).map((row) => [row.attempt, row.status])).toEqual([[1, "FAILED"], [2, "PENDING"]]);
    });
  });

  it("a delivery has at most one waiting attempt", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const id = await oneDelivery(client);
      const error = await sqlRejection(client.query("insert into parley.webhook_deliveries (delivery_id, attempt) values ($1, 2)", [id]));
      expect(error.constraint).toBe("webhook_deliveries_pending");
    });
  });

  it("an attempt for a delivery that is gone records nothing", async ({ database }) => {
    await rolledBack(database, async (client) => {
      const id = await oneDelivery(client);
      await client.query("delete from parley.webhook_messages where delivery_id = $1", [id]);
      expect(await record(client, id, 1, 200, null, false)).toBeNull();
      expect(await attemptRows(client)).toEqual([]);
    });
  });
});

describe("crash recovery of the webhook pool", () => {
  it("release_dead_workers unlocks the delivery jobs of a silent process's webhook pool, never those of a live one", async ({ database }) => {
    await rolledBack(database, async (client) => {
      for (const [key, pool] of [["live", "pool-live-webhooks"], ["dead", "pool-dead-webhooks"]]) {
        await client.query("select graphile_worker.add_job('deliver_webhook', json_build_object('delivery_id', gen_random_uuid()), job_key => $1)", [`test:${key}`]);
        await client.query(`update graphile_worker._private_jobs set locked_by = $2, locked_at = now() - interval '1 minute'
          where key = $1`, [`test:${key}`, pool]);
      }
      await client.query(`insert into parley.worker_heartbeats (worker_id, hostname, pid, last_seen_at, pool_id, webhook_pool_id) values
        ('worker-live', 'host', 1, now(), 'pool-live', 'pool-live-webhooks'),
        ('worker-dead', 'host', 2, now() - interval '1 minute', 'pool-dead', 'pool-dead-webhooks')`);

      const { rows: [released] } = await client.query<{ ids: string[] }>("select parley.release_dead_workers(interval '30 seconds') as ids");
      expect(released!.ids).toContain("pool-dead-webhooks");
      expect(released!.ids).not.toContain("pool-live-webhooks");
      const { rows } = await client.query("select key, locked_by from graphile_worker._private_jobs where key like 'test:%' order by key");
      expect(rows).toEqual([{ key: "test:dead", locked_by: null }, { key: "test:live", locked_by: "pool-live-webhooks" }]);
    });
  });
});

describe("stranded deliveries", () => {
  const requeue = async (client: PoolClient) =>
    (await client.query<{ n: number }>("select parley.requeue_stranded_webhook_deliveries() as n")).rows[0]!.n;
  const jobOf = async (client: PoolClient, deliveryId: string) => (await client.query<{ attempts: number; run_at: Date }>(
    "select attempts, run_at from graphile_worker.jobs where key = $1", [`parley:webhook_delivery:${deliveryId}`])).rows;

  it("a due waiting attempt whose job was deleted, or ran out of graphile-worker attempts, gets a fresh job; others are left alone", async ({ database }) => {
    await rolledBack(database, async (client) => {
      await addWebhook(client);
      const ids = await events(client, Array.from({ length: 5 }, (_, i) => `stranded_user_${i}`));
      await client.query("update parley.conversation_events set status = 'PROCESSED' where event_id = any($1)", [ids]);
      // now() is the transaction's start: make every waiting attempt due within it.
      await client.query("update parley.webhook_deliveries set scheduled_at = now() - interval '1 second'");
      const [deleted, exhausted, alive, notDue, finished] = (await deliveries(client)).map((d) => d.delivery_id) as [string, string, string, string, string];

      await client.query("select graphile_worker.remove_job($1)", [`parley:webhook_delivery:${deleted}`]);
      await client.query("update graphile_worker._private_jobs set attempts = max_attempts, last_error = 'database away' where key = $1",
        [`parley:webhook_delivery:${exhausted}`]);
      await client.query("select graphile_worker.remove_job($1)", [`parley:webhook_delivery:${notDue}`]);
      await client.query("update parley.webhook_deliveries set scheduled_at = now() + interval '1 minute' where delivery_id = $1", [notDue]);
      await client.query("select parley.record_webhook_attempt($1, 1, now(), 5, 200, null, null, false, '{}')", [finished]);
      await client.query("select graphile_worker.remove_job($1)", [`parley:webhook_delivery:${finished}`]);

      expect(await requeue(client)).toBe(2);
      expect(await jobOf(client, deleted)).toMatchObject([{ attempts: 0 }]);
      expect(await jobOf(client, exhausted)).toMatchObject([{ attempts: 0 }]);
      expect(await jobOf(client, alive)).toHaveLength(1);
      expect(await jobOf(client, notDue)).toEqual([]);
      expect(await jobOf(client, finished)).toEqual([]);
      // Each has one live job again: nothing more to do.
      expect(await requeue(client)).toBe(0);
    });
  });
});
