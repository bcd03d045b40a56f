import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signatureHeader, verifySignature } from "../../src/webhooks/signature.js";

const secret = "whsec_0123456789abcdef";
const body = '{"type":"conversation.processed","event_id":"1"}';

describe("Parley-Signature", () => {
  it("is t=<seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\"> with the secret", () => {
    const expected = createHmac("sha256", secret).update(`1764093600.${body}`).digest("hex");
    expect(signatureHeader(secret, body, 1764093600)).toBe(`t=1764093600,v1=${expected}`);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it("verifies a fresh signature of the same body and secret", () => {
    const now = 1764093600;
    expect(verifySignature(signatureHeader(secret, body, now), body, secret, { nowSeconds: now + 299 })).toBe(true);
  });

  it("rejects another body, another secret, a replay older than 5 minutes, and malformed headers", () => {
    const now = 1764093600;
    const header = signatureHeader(secret, body, now);
    expect(verifySignature(header, `${body} `, secret, { nowSeconds: now })).toBe(false);
    expect(verifySignature(header, body, `${secret}x`, { nowSeconds: now })).toBe(false);
    expect(verifySignature(header, body, secret, { nowSeconds: now + 301 })).toBe(false);
    expect(verifySignature(header, body, secret, { nowSeconds: now - 301 })).toBe(false);
    expect(verifySignature(undefined, body, secret, { nowSeconds: now })).toBe(false);
    expect(verifySignature(header.replace(/^t=\d+/, "t=soon"), body, secret, { nowSeconds: now })).toBe(false);
    expect(verifySignature(header.replace(/,v1=.*/, ""), body, secret, { nowSeconds: now })).toBe(false);
    expect(verifySignature(header.slice(0, -2), body, secret, { nowSeconds: now })).toBe(false);
    // A signature over another timestamp does not pass with this one.
    const other = signatureHeader(secret, body, now - 10).replace(/^t=\d+/, `t=${now}`);
    expect(verifySignature(other, body, secret, { nowSeconds: now })).toBe(false);
  });

  it("accepts a header with several v1 signatures when one matches", () => {
    const now = 1764093600;
    const good = signatureHeader(secret, body, now);
    const bad = signatureHeader("another-secret-0123", body, now).split(",")[1]!;
    expect(verifySignature(`${good.split(",")[0]},${bad},${good.split(",")[1]}`, body, secret, { nowSeconds: now })).toBe(true);
  });
});
