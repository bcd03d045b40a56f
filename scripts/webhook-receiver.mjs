// A webhook receiver for Parley, in plain Node (no dependencies): it checks
// Parley-Signature, refuses replays older than 5 minutes, and handles each
// Parley-Delivery-Id once. README ("Webhooks") shows it; copy it freely.
//   PARLEY_WEBHOOK_SECRET=... PORT=8080 node scripts/webhook-receiver.mjs
import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";

const SECRET = process.env.PARLEY_WEBHOOK_SECRET; // the secret given to add_webhook
const TOLERANCE_SECONDS = 5 * 60;
const handled = new Set(); // in production: a table with a unique key on the delivery id

function verified(header, body, nowSeconds = Date.now() / 1000) {
  const fields = String(header ?? "").split(",").map((field) => field.trim().split("="));
  const t = Number(fields.find(([key]) => key === "t")?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > TOLERANCE_SECONDS) return false; // stale: maybe a replay
  const expected = Buffer.from(createHmac("sha256", SECRET).update(`${t}.${body}`).digest("hex"));
  return fields.some(([key, value]) => {
    const given = Buffer.from(value ?? "");
    return key === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8"); // the exact bytes Parley signed
    if (!verified(request.headers["parley-signature"], body)) return response.writeHead(401).end();
    const deliveryId = request.headers["parley-delivery-id"];
    if (!handled.has(deliveryId)) { // at least once: a delivery can arrive again
      handled.add(deliveryId);
      const event = JSON.parse(body);
      console.log(JSON.stringify({ delivery_id: deliveryId, type: event.type, event_id: event.event_id, results: event.results }));
    }
    response.writeHead(204).end(); // any 2xx in time; anything else is retried
  });
}).listen(Number(process.env.PORT ?? 8080), "127.0.0.1");
