// A local OpenAI-compatible embeddings server for the bench: POST /v1/embeddings
// answers after a fixed delay (100 ms by default, a remote provider's round
// trip) with one vector per input, computed with the hashing embedder so that
// the same text always gets the same vector. GET /stats says how many
// requests and texts it served. Started as a child process; prints
// "listening <port>" on its IPC channel.
import http from "node:http";
import { HashingEmbedder } from "../../../src/embed/hashing.js";

const delayMs = Number(process.env.STUB_DELAY_MS ?? 100);
const embedder = new HashingEmbedder(Number(process.env.STUB_DIMENSION ?? 384));
const stats = { requests: 0, texts: 0 };

const server = http.createServer((request, response) => {
  if (request.method === "GET" && request.url === "/stats") {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
    return;
  }
  if (request.method !== "POST" || request.url !== "/v1/embeddings") {
    response.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const { input } = JSON.parse(Buffer.concat(chunks).toString()) as { input: string[] };
    stats.requests += 1;
    stats.texts += input.length;
    const data = input.map((text, index) => ({ object: "embedding", index, embedding: Array.from(embedder.embedOne(text)) }));
    setTimeout(() => {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data }));
    }, delayMs);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ listening: typeof address === "object" && address ? address.port : 0 });
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
