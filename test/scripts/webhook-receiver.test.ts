// The receiver README shows (scripts/webhook-receiver.mjs), run as a process
// and sent real deliveries: it accepts Parley's signature, refuses a wrong one
// and a replay older than 5 minutes, and handles a repeated delivery once.
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendWebhook } from "../../src/webhooks/deliver.js";
import { signatureHeader } from "../../src/webhooks/signature.js";
import { unusedPort, waitFor } from "../support/fixtures.js";

const SECRET = "receiver-test-secret-8c2e";
let receiver: ChildProcess;
let url: string;
const printed: string[] = [];

beforeAll(async () => {
  const port = await unusedPort();
  url = `http://127.0.0.1:${port}/`;
  receiver = spawn(process.execPath, ["scripts/webhook-receiver.mjs"], {
    env: { ...process.env, PARLEY_WEBHOOK_SECRET: SECRET, PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  receiver.stdout!.setEncoding("utf8").on("data", (text: string) => printed.push(...text.split("\n").filter(Boolean)));
  await waitFor(async () => fetch(url, { method: "POST" }).then(() => true, () => false), 10_000, 50);
});
afterAll(() => {
  receiver?.kill();
});

const body = JSON.stringify({ type: "conversation.processed", event_id: "7", conversation_id: "c", profile_id: "u", status: "PROCESSED", results: { total_turns: 4 }, error: null });
const send = (secret: string, deliveryId = "8d7c6b5a-0000-4000-8000-000000000001") =>
  sendWebhook({ url, secret, deliveryId, body }, { timeoutMs: 5000, allowPrivate: true });

describe("the README's webhook receiver", () => {
  it("accepts a delivery Parley signed, and handles the same delivery id once", async () => {
    expect(await send(SECRET)).toEqual({ ok: true, httpStatus: 204 });
    expect(await send(SECRET)).toEqual({ ok: true, httpStatus: 204 });
    await waitFor(async () => printed.length > 0);
    expect(printed.map((line) => JSON.parse(line))).toEqual([
      { delivery_id: "8d7c6b5a-0000-4000-8000-000000000001", type: "conversation.processed", event_id: "7", results: { total_turns: 4 } },
    ]);
  });

  it("refuses a signature made with another secret", async () => {
    expect(await send("not-the-receivers-secret", "8d7c6b5a-0000-4000-8000-000000000002")).toMatchObject({ ok: false, httpStatus: 401 });
  });

  it("refuses a replay signed more than 5 minutes ago, and accepts one signed 4 minutes ago", async () => {
    const post = async (secondsAgo: number) => (await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "parley-delivery-id": `replay-${secondsAgo}`,
        "parley-signature": signatureHeader(SECRET, body, Math.floor(Date.now() / 1000) - secondsAgo),
      },
      body,
    })).status;
    expect(await post(301)).toBe(401);
    expect(await post(240)).toBe(204);
  });

  it("is the code README shows", async () => {
    const [script, readme] = await Promise.all([readFile("scripts/webhook-receiver.mjs", "utf8"), readFile("README.md", "utf8")]);
    const shown = script.slice(script.indexOf("import {"));
    expect(readme).toContain(shown.trim());
  });
});
