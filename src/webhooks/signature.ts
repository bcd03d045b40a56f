// Parley-Signature, Stripe's scheme: t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" keyed with the webhook's secret>. The timestamp is signed with
// the body, so a receiver can refuse a replay of an old request. Pure.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "parley-signature";
export const DELIVERY_ID_HEADER = "parley-delivery-id";
/** How far from now a receiver should accept a signature's t (scripts/webhook-receiver.mjs uses the same 5 minutes). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signatureHeader(secret: string, body: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${hmacHex(secret, timestampSeconds, body)}`;
}

/**
 * Checks a Parley-Signature header as a receiver should: some v1 matches the
 * body under the secret (compared in constant time), and t is within
 * toleranceSeconds of now, so a captured request cannot be replayed later.
 */
export function verifySignature(
  header: string | undefined,
  body: string,
  secret: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  if (header === undefined) return false;
  const nowSeconds = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const parts = header.split(",").map((part) => part.trim().split("="));
  const timestamp = Number(parts.find(([key]) => key === "t")?.[1]);
  if (!Number.isSafeInteger(timestamp) || Math.abs(nowSeconds - timestamp) > tolerance) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, body));
  return parts.some(([key, value]) => {
    if (key !== "v1" || value === undefined) return false;
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function hmacHex(secret: string, timestampSeconds: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
}
