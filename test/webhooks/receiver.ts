// A real HTTP server for the webhook tests: it records every request and
// answers with the next scripted reply (a status, or "hang" to answer never).
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Reply = number | "hang";

export interface ReceivedRequest {
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Replies for the next requests, in order; after them, `then` (default 200). */
  script(replies: Reply[], then?: Reply): void;
  close(): Promise<void>;
}

export async function startReceiver(path = "/hooks/parley"): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let queue: Reply[] = [];
  let fallback: Reply = 200;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({
        at: Date.now(),
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const reply = queue.shift() ?? fallback;
      if (reply === "hang") return;
      response.writeHead(reply, { "content-type": "text/plain" }).end(reply < 300 ? "ok" : "no");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    requests,
    script(replies, then = 200) {
      queue = [...replies];
      fallback = then;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
