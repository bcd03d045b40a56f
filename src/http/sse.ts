// Server-Sent Events, the wire format only (WHATWG HTML, "Server-sent
// events"): writing messages and reading them back (tests, scripts, any Node
// client). No I/O here.

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
  retry?: number;
}

export function formatSseMessage(message: SseMessage): string {
  let text = "";
  if (message.retry !== undefined) text += `retry: ${message.retry}\n`;
  if (message.id !== undefined) text += `id: ${message.id}\n`;
  if (message.event !== undefined) text += `event: ${message.event}\n`;
  for (const line of message.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** A comment line: clients ignore it; it keeps proxies and load balancers from timing the stream out. */
export function formatSseComment(text: string): string {
  return `: ${text}\n\n`;
}

export interface ParsedSseMessage {
  /** The last event ID in effect when the message was dispatched, as EventSource keeps it. */
  id: string;
  event: string;
  data: string;
}

/** Incremental parser: feed it chunks as they arrive, get whole messages back. */
export class SseParser {
  private buffer = "";
  private lastEventId = "";
  private data: string[] = [];
  private event = "";

  push(chunk: string): ParsedSseMessage[] {
    this.buffer += chunk;
    const messages: ParsedSseMessage[] = [];
    for (;;) {
      const end = this.buffer.search(/\r\n|\r|\n/);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (end < 0 || (this.buffer[end] === "\r" && end === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith("\r\n", end) ? 2 : 1));
      const message = this.line(line);
      if (message) messages.push(message);
    }
    return messages;
  }

  get cursor(): string {
    return this.lastEventId;
  }

  private line(line: string): ParsedSseMessage | undefined {
    if (line === "") {
      const message = this.data.length > 0
        ? { id: this.lastEventId, event: this.event || "message", data: this.data.join("\n") }
        : undefined;
      this.data = [];
      this.event = "";
      return message;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    // Per the spec an id takes effect even on a message without data.
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    return undefined;
  }
}
