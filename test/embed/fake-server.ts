// A local HTTP server for provider tests: records each request and answers with whatever the
// test's handler says.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseConfig } from "../../src/config.js";

const { ollama, openai, timeoutMs, batchSize } = parseConfig({}).embedding;
/** The remote embedders' options as the configuration's defaults set them (src/config.ts holds them). */
export const OLLAMA_DEFAULTS = { ...ollama, timeoutMs, batchSize };
export const OPENAI_DEFAULTS = { ...openai, timeoutMs, batchSize };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: any;
}

export type Handler = (request: RecordedRequest, response: ServerResponse) => void;

export async function fakeServer(handler: Handler) {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (raw += chunk));
    req.on("end", () => {
      const recorded = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: raw === "" ? undefined : JSON.parse(raw) };
      requests.push(recorded);
      handler(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

/** A deterministic vector for a text: [length, 1, 0, ...] padded to `dimension`. */
export function vectorFor(text: string, dimension: number): number[] {
  const vector = new Array<number>(dimension).fill(0);
  vector[0] = text.length;
  vector[1] = 1;
  return vector;
}
