// The dashboard's only way to Parley: the JSON API with the key in an Authorization header, and
// the live stream, opened with a short-lived cookie (POST /v1/events/stream/token) because an
// EventSource cannot send a header and the key must never go in a URL.

const KEY_ITEM = "parley.apiKey";

export class Unauthorized extends Error {
  name = "Unauthorized";
}

/** The key this tab was given: kept in sessionStorage, so it goes with the tab. */
export const storedKey = {
  get: () => sessionStorage.getItem(KEY_ITEM),
  set: (key) => sessionStorage.setItem(KEY_ITEM, key),
  clear: () => sessionStorage.removeItem(KEY_ITEM),
};

export async function request(method, path, key) {
  const headers = { accept: "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  const response = await fetch(path, { method, headers, cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (response.status === 401) throw new Unauthorized(body?.message ?? "the API key is not valid");
  if (!response.ok) throw new Error(body?.message ?? `${method} ${path}: HTTP ${response.status}`);
  return body;
}

/**
 * Follows GET /v1/events/stream: `onChange` gets each change's data, `onState` "live" once the
 * stream's ready message came, "reconnecting" while it is down. When the browser's own reconnect
 * fails (the cookie expired), it asks for a new cookie and opens a new stream. Returns a close function.
 */
export function followStream(key, { onChange, onState, retryMs = 2000 }) {
  let source;
  let timer;
  let closed = false;

  const open = async () => {
    try {
      await request("POST", "/v1/events/stream/token", key);
    } catch (error) {
      if (error instanceof Unauthorized) return onState("unauthorized");
      return reopenLater();
    }
    if (closed) return;
    source = new EventSource("/v1/events/stream");
    source.addEventListener("ready", () => onState("live"));
    source.addEventListener("message", (message) => {
      try {
        onChange(JSON.parse(message.data));
      } catch {
        // A message the page does not understand changes nothing it shows.
      }
    });
    source.addEventListener("error", () => {
      onState("reconnecting");
      if (source.readyState === EventSource.CLOSED) reopenLater();
    });
  };
  const reopenLater = () => {
    onState("reconnecting");
    source?.close();
    clearTimeout(timer);
    if (!closed) timer = setTimeout(open, retryMs);
  };

  void open();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}
