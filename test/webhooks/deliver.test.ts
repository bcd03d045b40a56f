// One attempt against a real HTTP server started here: what is sent, each
// outcome, and the address check at the moment of connecting.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sendWebhook, type Resolver } from "../../src/webhooks/deliver.js";
import { verifySignature } from "../../src/webhooks/signature.js";
import { startReceiver, type Receiver } from "./receiver.js";

const secret = "test-secret-0123456789";
const body = JSON.stringify({ type: "conversation.processed", event_id: "7" });
const allowed = { timeoutMs: 2000, allowPrivate: true };
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
});
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.script([], 200);
});
afterAll(async () => {
  await receiver?.close();
});

const request = (url = receiver.url) => ({ url, secret, deliveryId: "0f5c6b4e-3c5a-4f9e-9d6c-1b2a3c4d5e6f", body });

describe("sendWebhook", () => {
  it("POSTs the body as JSON with the delivery id and a signature the receiver can verify", async () => {
    const outcome = await sendWebhook(request(), allowed);
    expect(outcome).toEqual({ ok: true, httpStatus: 200 });
    const [received] = receiver.requests;
    expect(received).toMatchObject({ method: "POST", path: "/hooks/parley", body });
    expect(received!.headers).toMatchObject({
      "content-type": "application/json",
      "parley-delivery-id": "0f5c6b4e-3c5a-4f9e-9d6c-1b2a3c4d5e6f",
      "user-agent": "Parley-Webhooks/1",
    });
    expect(verifySignature(received!.headers["parley-signature"] as string, received!.body, secret)).toBe(true);
    expect(verifySignature(received!.headers["parley-signature"] as string, received!.body, "another-secret-0123")).toBe(false);
  });

  it("reports a non-2xx answer as a retryable http_error, redirects included", async () => {
    receiver.script([500, 302, 404]);
    expect(await sendWebhook(request(), allowed)).toEqual({ ok: false, httpStatus: 500, errorCode: "http_error", errorDetails: "HTTP 500", retryable: true });
    expect(await sendWebhook(request(), allowed)).toMatchObject({ httpStatus: 302, errorDetails: "HTTP 302 (redirects are not followed)", retryable: true });
    expect(await sendWebhook(request(), allowed)).toMatchObject({ httpStatus: 404, errorCode: "http_error" });
  });

  it("gives up on a receiver that does not answer within the timeout", async () => {
    receiver.script(["hang"]);
    const started = Date.now();
    const outcome = await sendWebhook(request(), { ...allowed, timeoutMs: 300 });
    expect(outcome).toEqual({ ok: false, httpStatus: null, errorCode: "timeout", errorDetails: "no answer within 300 ms", retryable: true });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(receiver.requests).toHaveLength(1);
  });

  it("reports a refused connection as a retryable connection_failed", async () => {
    const closed = await startReceiver();
    await closed.close();
    const outcome = await sendWebhook(request(closed.url), allowed);
    expect(outcome).toMatchObject({ ok: false, httpStatus: null, errorCode: "connection_failed", retryable: true });
    expect(outcome.ok ? "" : outcome.errorDetails).toMatch(/ECONNREFUSED/);
  });

  it("refuses a loopback, private or link-local receiver unless allowed, without connecting", async () => {
    for (const url of [receiver.url, `http://[::1]:${receiver.port}/`, "http://10.0.0.1/", "http://169.254.169.254/latest", "http://[::ffff:127.0.0.1]/"]) {
      const outcome = await sendWebhook(request(url), { timeoutMs: 2000, allowPrivate: false });
      expect(outcome, url).toMatchObject({ ok: false, httpStatus: null, errorCode: "address_refused", retryable: false });
    }
    expect((await sendWebhook(request(), { timeoutMs: 2000, allowPrivate: false })).ok ? "" : "refused").toBe("refused");
    expect(receiver.requests).toHaveLength(0);
  });

  it("checks what a name resolves to: one non-public address refuses it", async () => {
    const resolve: Resolver = async () => [{ address: "93.184.216.34", family: 4 }, { address: "127.0.0.1", family: 4 }];
    const outcome = await sendWebhook(request(`http://hooks.example.test:${receiver.port}/`), { timeoutMs: 2000, allowPrivate: false, resolve });
    expect(outcome).toMatchObject({
      errorCode: "address_refused",
      errorDetails: "hooks.example.test resolves to 127.0.0.1, a loopback address; set PARLEY_WEBHOOK_ALLOW_PRIVATE=true to allow non-public receivers",
    });
    expect(receiver.requests).toHaveLength(0);
  });

  it("connects to the address it checked: a DNS answer that changes afterwards (rebinding) is never used", async () => {
    // First answer: the receiver (127.0.0.1). Any later lookup would get
    // 127.0.0.2, where nothing listens.
    const answers = ["127.0.0.1", "127.0.0.2"];
    let lookups = 0;
    const resolve: Resolver = async () => [{ address: answers[Math.min(lookups++, 1)]!, family: 4 }];
    const outcome = await sendWebhook(request(`http://rebind.example.test:${receiver.port}/hooks`), { ...allowed, resolve });
    expect(outcome).toEqual({ ok: true, httpStatus: 200 });
    expect(lookups).toBe(1);
    expect(receiver.requests[0]!.headers.host).toBe(`rebind.example.test:${receiver.port}`);
  });

  it("reports a name that does not resolve as a retryable connection_failed", async () => {
    const resolve: Resolver = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.test"), { code: "ENOTFOUND" });
    };
    const outcome = await sendWebhook(request("https://nowhere.test/"), { ...allowed, resolve });
    expect(outcome).toMatchObject({ errorCode: "connection_failed", errorDetails: "cannot resolve nowhere.test: getaddrinfo ENOTFOUND nowhere.test", retryable: true });
  });

  it("fails a URL it cannot use at once", async () => {
    expect(await sendWebhook(request("not a url"), allowed)).toMatchObject({ errorCode: "invalid_url", retryable: false });
    expect(await sendWebhook(request("ftp://example.com/"), allowed)).toMatchObject({ errorCode: "invalid_url", retryable: false });
  });
});
