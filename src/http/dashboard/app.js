// The dashboard: asks for the API key once (kept in sessionStorage), then shows the pipeline
// live. Every change on the event stream schedules a refresh of what it can affect, at most one
// per REFRESH_MS; a slower timer keeps ages and heartbeats current between changes.
import { followStream, request, storedKey, Unauthorized } from "./api.js";
import { nextRefreshDelay } from "./format.js";
import { el, renderFailures, renderStats, renderUser, renderWorkers } from "./view.js";

const REFRESH_MS = 1000;
const TICK_MS = 5000;

const $ = (id) => document.getElementById(id);
let key = storedKey.get();
let closeStream = () => {};
let tick;
let lookedUp = null;

/** A refresh that runs at most once per REFRESH_MS however often it is asked for. */
function throttled(run) {
  let last = 0;
  let timer = null;
  return () => {
    if (timer !== null) return;
    timer = setTimeout(async () => {
      last = Date.now();
      try {
        await run();
        showProblem(null);
      } catch (error) {
        if (error instanceof Unauthorized) signOut(error.message);
        else showProblem(error);
      } finally {
        timer = null;
      }
    }, nextRefreshDelay(last, Date.now(), REFRESH_MS));
  };
}

const refreshPipeline = throttled(async () => {
  const [stats, health, failures] = await Promise.all([
    request("GET", "/v1/pipeline/stats", key),
    request("GET", "/health", key),
    request("GET", "/v1/events/failed?per_code=10", key),
  ]);
  const now = Date.now();
  renderStats(stats);
  renderWorkers(health, now);
  renderFailures(failures, now, { onRetry: retry, onUser: lookUp });
  $("updated").textContent = `updated ${new Date(now).toLocaleTimeString()}`;
});

const refreshUser = throttled(async () => {
  if (lookedUp === null) return;
  const profile = encodeURIComponent(lookedUp);
  const panel = $("user");
  try {
    const [state, history] = await Promise.all([
      request("GET", `/v1/users/${profile}/state`, key),
      request("GET", `/v1/users/${profile}/events?limit=10`, key),
    ]);
    renderUser(state, history, Date.now());
  } catch (error) {
    if (error instanceof Unauthorized) throw error;
    panel.replaceChildren(el("p", { class: "problem", role: "alert" }, error.message));
  } finally {
    panel.removeAttribute("aria-busy");
  }
});

async function retry(eventId, button) {
  button.disabled = true;
  button.textContent = "Retrying…";
  try {
    const result = await request("POST", `/v1/events/${encodeURIComponent(eventId)}/retry`, key);
    button.textContent = result.retried ? "Queued" : result.status;
  } catch (error) {
    button.disabled = false;
    button.textContent = "Retry";
    showProblem(error);
  }
  refreshPipeline();
}

function lookUp(profileId) {
  lookedUp = profileId.trim() || null;
  $("profile").value = lookedUp ?? "";
  if (lookedUp === null) return;
  $("user").setAttribute("aria-busy", "true");
  refreshUser();
}

function showProblem(error) {
  const banner = $("problem");
  banner.hidden = error === null;
  banner.textContent = error === null ? "" : `Cannot reach Parley: ${error.message}. Retrying; the numbers shown may be stale.`;
}

function setLive(state) {
  const live = $("live");
  live.dataset.state = state;
  live.textContent = { live: "live", reconnecting: "reconnecting", offline: "offline", unauthorized: "offline" }[state];
  if (state === "unauthorized") signOut("the API key is not valid");
  // Whatever happened while the stream was down is read again.
  if (state === "live") {
    refreshPipeline();
    refreshUser();
  }
}

function onChange(change) {
  refreshPipeline();
  if (lookedUp !== null && change.profile_id === lookedUp) refreshUser();
}

async function connect() {
  // Probe with the key (or none: an API running with PARLEY_API_AUTH=off needs none).
  try {
    await request("GET", "/v1/pipeline/stats", key);
  } catch (error) {
    if (error instanceof Unauthorized) return askForKey(key ? "The API key was refused; enter it again." : "");
    showProblem(error);
    setTimeout(connect, 2000);
    return;
  }
  $("key-form").hidden = true;
  $("board").hidden = false;
  $("sign-out").hidden = !key;
  closeStream = followStream(key, { onChange, onState: setLive });
  clearInterval(tick);
  tick = setInterval(() => {
    if (document.visibilityState === "visible") refreshPipeline();
  }, TICK_MS);
  refreshPipeline();
}

function askForKey(message) {
  $("board").hidden = true;
  $("key-form").hidden = false;
  $("key-error").textContent = message;
  $("key").focus();
}

function signOut(message = "") {
  closeStream();
  clearInterval(tick);
  setLive("offline");
  key = null;
  storedKey.clear();
  $("sign-out").hidden = true;
  askForKey(message);
}

$("key-form").addEventListener("submit", (submit) => {
  submit.preventDefault();
  key = $("key").value.trim();
  $("key").value = "";
  storedKey.set(key);
  void connect();
});
$("user-form").addEventListener("submit", (submit) => {
  submit.preventDefault();
  lookUp($("profile").value);
});
$("sign-out").addEventListener("click", () => signOut());

void connect();
