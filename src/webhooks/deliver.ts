// One attempt of a webhook delivery: the HTTP POST, at the edge. It never
// throws; every outcome comes back as data for the task to record.
//
// Address safety holds at the moment of connecting: the host is resolved
// here, every address it resolves to is checked, and the socket connects to
// one of those same addresses (a `lookup` that answers with them), so a DNS
// answer that changes between the check and the connection (DNS rebinding)
// cannot redirect the request.
import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { classifyAddress } from "./address.js";
import { DELIVERY_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from "./signature.js";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses (dns.lookup, as node's own connections do). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, order: "verbatim" })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));

export interface DeliverySettings {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Replaces DNS (tests). */
  resolve?: Resolver;
}

export interface WebhookRequest {
  url: string;
  secret: string;
  deliveryId: string;
  body: string;
}

export type WebhookErrorCode = "http_error" | "timeout" | "connection_failed" | "address_refused" | "invalid_url";

export type AttemptOutcome =
  | { ok: true; httpStatus: number }
  | { ok: false; httpStatus: number | null; errorCode: WebhookErrorCode; errorDetails: string; retryable: boolean };

export class AddressRefusedError extends Error {
  override name = "AddressRefusedError";
}

const USER_AGENT = "Parley-Webhooks/1";

export async function sendWebhook(request: WebhookRequest, settings: DeliverySettings): Promise<AttemptOutcome> {
  let url: URL;
  try {
    url = new URL(request.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(`unsupported protocol ${url.protocol}`);
  } catch (error) {
    return failure("invalid_url", `the URL cannot be used: ${(error as Error).message}`, false);
  }

  const deadline = AbortSignal.timeout(settings.timeoutMs);
  let addresses: ResolvedAddress[];
  try {
    addresses = await withDeadline(checkedAddresses(url.hostname, settings), deadline);
  } catch (error) {
    if (error instanceof AddressRefusedError) return failure("address_refused", error.message, false);
    if (deadline.aborted) return failure("timeout", `no answer within ${settings.timeoutMs} ms (resolving ${url.hostname})`, true);
    return failure("connection_failed", `cannot resolve ${url.hostname}: ${describe(error)}`, true);
  }

  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(request.body)),
    "user-agent": USER_AGENT,
    [DELIVERY_ID_HEADER]: request.deliveryId,
    [SIGNATURE_HEADER]: signatureHeader(request.secret, request.body, timestamp),
  };
  try {
    const status = await post(url, headers, request.body, pinnedLookup(addresses), deadline);
    if (status >= 200 && status < 300) return { ok: true, httpStatus: status };
    const note = status >= 300 && status < 400 ? " (redirects are not followed)" : "";
    return { ok: false, httpStatus: status, errorCode: "http_error", errorDetails: `HTTP ${status}${note}`, retryable: true };
  } catch (error) {
    if (deadline.aborted) return failure("timeout", `no answer within ${settings.timeoutMs} ms`, true);
    return failure("connection_failed", describe(error), true);
  }
}

/**
 * The addresses a request to `hostname` may connect to: all it resolves to,
 * each one public unless allowPrivate. One non-public address refuses the
 * host: a name that mixes them is not one to trust.
 */
export async function checkedAddresses(hostname: string, settings: Pick<DeliverySettings, "allowPrivate" | "resolve">): Promise<ResolvedAddress[]> {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  // node connects to an IP literal without a lookup: check the literal itself.
  const family = isIP(bare);
  const addresses = family !== 0
    ? [{ address: bare, family: family as 4 | 6 }]
    : await (settings.resolve ?? systemResolver)(bare);
  if (addresses.length === 0) throw new Error(`${bare} has no address`);
  if (!settings.allowPrivate) {
    for (const { address } of addresses) {
      const verdict = classifyAddress(address);
      if (!verdict.public) {
        throw new AddressRefusedError(
          `${bare === address ? address : `${bare} resolves to ${address}`}, a ${verdict.range} address; ` +
          "set PARLEY_WEBHOOK_ALLOW_PRIVATE=true to allow non-public receivers");
      }
    }
  }
  return addresses;
}

/** A `lookup` for node's connect that answers with the checked addresses, whatever it is asked. */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6
      ? addresses.filter((candidate) => candidate.family === options.family)
      : addresses;
    if (wanted.length === 0) {
      callback(Object.assign(new Error(`no IPv${String(options.family)} address among the checked ones`), { code: "ENOTFOUND" }), "", 4);
    } else if (options.all) {
      (callback as unknown as (error: null, all: ResolvedAddress[]) => void)(null, wanted);
    } else {
      callback(null, wanted[0]!.address, wanted[0]!.family);
    }
  };
}

function post(url: URL, headers: Record<string, string>, body: string, lookup: LookupFunction, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === "https:" ? https : http;
    const outgoing = transport.request(url, { method: "POST", headers, lookup, signal, agent: false }, (response) => {
      // The status decides; the body is read only to let the connection end cleanly.
      response.on("error", () => {});
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

async function withDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  // Settles after the deadline too; nobody waits for it then.
  work.catch(() => {});
  if (signal.aborted) throw signal.reason;
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function failure(errorCode: WebhookErrorCode, errorDetails: string, retryable: boolean): AttemptOutcome {
  return { ok: false, httpStatus: null, errorCode, errorDetails, retryable };
}

function describe(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === "string" && message !== "" ? message : String(error);
  return typeof code === "string" && !text.includes(code) ? `${code}: ${text}` : text;
}
