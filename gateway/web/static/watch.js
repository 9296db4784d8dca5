// Following one job: the gateway's live event stream (/mashup-events) when it has one,
// else polling get-mashup-status at the pace the gateway asks for (poll_after_ms).
// Watching is always bounded: it stops at a terminal state, an unknown job, too many
// failed calls in a row, or after MAX_WATCH_MS; a person can then check again by hand.

import { getStatus } from "./api.js";

export const MAX_WATCH_MS = 25 * 60 * 1000; // beyond the gateway's default 15 min deadline
const MAX_FAILURES = 6;
const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;
const HIDDEN_DELAY_MS = 5000;
const QUIET_STREAM_MS = 20000; // re-read the whole state when the stream goes quiet

export const isTerminal = (state) => state && (state.status === "complete" || state.status === "failed");

/**
 * watchJob(jobId, {onState, onMode, onStop}) → {stop, restart}
 * onState(state): every full JobState; onMode(text): how the page is following;
 * onStop(reason, message): watching ended ("terminal" | "not_found" | "failures" | "time").
 */
export function watchJob(jobId, { onState, onMode, onStop }) {
  let stopped = false;
  let timer = 0;
  let source = null;
  const started = Date.now();
  let failures = 0;
  let last = null;
  let quietTimer = 0;

  const finish = (reason, message) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    clearTimeout(quietTimer);
    if (source) source.close();
    source = null;
    onStop(reason, message);
  };

  const outOfTime = () => Date.now() - started > MAX_WATCH_MS;

  const signature = (state) => `${state.status}|${state.progress}|${state.currentStep}`;

  /** One full read of the job; returns it or null after recording the failure. */
  async function refresh() {
    try {
      const state = await getStatus(jobId);
      failures = 0;
      const changed = !last || signature(last) !== signature(state);
      last = state;
      onState(state);
      if (isTerminal(state)) finish("terminal");
      return { state, changed };
    } catch (error) {
      if (error.status === 404) {
        finish("not_found", "The gateway does not know this job (it may have been cleaned up). Start a new mashup.");
        return null;
      }
      failures += 1;
      if (failures >= MAX_FAILURES) {
        finish("failures", `Lost contact with the gateway: ${error.message}`);
      }
      return null;
    }
  }

  // Polling: the gateway's hint, slowed down while nothing changes or the tab is hidden.
  let idleDelay = 0;
  async function poll() {
    if (stopped) return;
    if (outOfTime()) {
      finish("time", "Stopped checking after 25 minutes. The job may still finish; check again later.");
      return;
    }
    const result = await refresh();
    if (stopped) return;
    let delay;
    if (!result) {
      delay = Math.min(1000 * 2 ** failures, 15000);
    } else {
      const hint = Number(result.state.poll_after_ms) || 1000;
      idleDelay = result.changed ? hint : Math.min(Math.max(idleDelay, hint) * 1.5, MAX_DELAY_MS);
      delay = Math.max(MIN_DELAY_MS, idleDelay);
    }
    if (document.hidden) delay = Math.max(delay, HIDDEN_DELAY_MS);
    timer = setTimeout(poll, delay);
  }

  function startPolling() {
    if (stopped) return;
    if (source) source.close();
    source = null;
    onMode("Checking for updates every few seconds.");
    clearTimeout(timer);
    poll();
  }

  // Live stream: any event that carries a state (or a part of one) triggers a full read
  // when the step, status or progress changed, so analyses and the plan show as they land.
  function startStream() {
    if (typeof EventSource === "undefined") return startPolling();
    let opened = false;
    source = new EventSource(`/mashup-events?jobId=${encodeURIComponent(jobId)}`);
    const handle = (event) => {
      opened = true;
      armQuiet();
      let data = null;
      try {
        data = JSON.parse(event.data);
      } catch {
        data = null;
      }
      if (!data || typeof data !== "object") return;
      const partial = { ...(last || {}), ...data };
      if (!last || signature(partial) !== signature(last) || isTerminal(partial)) refresh();
    };
    source.onopen = () => {
      opened = true;
      onMode("Live updates from the gateway.");
      armQuiet();
    };
    source.onmessage = handle;
    for (const name of ["state", "status", "progress", "step", "complete", "failed", "job"]) {
      source.addEventListener(name, handle);
    }
    source.onerror = () => {
      if (stopped) return;
      // Never opened (no such endpoint) or closed for good: fall back to polling.
      if (!opened || source.readyState === EventSource.CLOSED) startPolling();
    };
  }

  function armQuiet() {
    clearTimeout(quietTimer);
    quietTimer = setTimeout(async () => {
      if (stopped || !source) return;
      if (outOfTime()) {
        finish("time", "Stopped checking after 25 minutes. The job may still finish; check again later.");
        return;
      }
      await refresh();
      armQuiet();
    }, QUIET_STREAM_MS);
  }

  async function begin() {
    const first = await refresh(); // show the state at once, before any event arrives
    if (stopped) return;
    if (!first) startPolling();
    else startStream();
  }

  begin();
  return {
    stop: () => finish("stopped"),
    restart: () => watchJob(jobId, { onState, onMode, onStop }),
  };
}
