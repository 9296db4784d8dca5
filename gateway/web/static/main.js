// The page: choose songs and options, start a job, then follow it (the jobId lives in the
// URL as ?job=, so a reload picks the job up again).

import { ApiError, getConfig, startJob } from "./api.js";
import { renderSongs } from "./analysis.js";
import { Results } from "./results.js";
import { renderPlan } from "./timeline.js";
import { UploadList } from "./upload.js";
import { watchJob } from "./watch.js";
import { renderMatch } from "./words.js";

const $ = (id) => document.getElementById(id);
const FALLBACK_CONFIG = {
  max_upload_bytes: 200 * 1024 * 1024,
  accepted_extensions: [".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".aif", ".aiff"],
  energy_curves: ["build", "decline", "wave", "steady", "double-peak", "late-peak", "rollercoaster", "plateau-peak"],
  min_songs: 2,
  max_songs: 8,
};

const page = {
  config: FALLBACK_CONFIG,
  uploads: null,
  watcher: null,
  results: null,
  shown: { analyses: false, match: false, plan: false },
  lastProgress: 0,
};

function curveLabel(name) {
  return name.replace(/-/g, " ").replace(/^./, (c) => c.toUpperCase());
}

function fillCurves() {
  const select = $("opt-curve");
  for (const name of page.config.energy_curves || []) {
    select.append(new Option(curveLabel(name), name));
  }
}

function updateStart() {
  const ready = page.uploads.ready().length;
  const busy = page.uploads.busy();
  const { min_songs: min, max_songs: max } = page.config;
  let hint = "";
  if (busy) hint = "Waiting for uploads to finish…";
  else if (ready < min) hint = `Add at least ${min} songs first (${ready} ready).`;
  else if (ready > max) hint = `Use at most ${max} songs (${ready} ready); remove some.`;
  else hint = `${ready} songs ready.`;
  $("start").disabled = busy || ready < min || ready > max;
  $("start-hint").textContent = hint;
}

function readOptions() {
  const options = {};
  const duration = Number($("opt-duration").value);
  if (!Number.isFinite(duration) || duration < 30 || duration > 600) {
    throw new ApiError("Target length must be between 30 and 600 seconds.");
  }
  options.duration_sec = duration;
  if ($("opt-curve").value) options.energy_curve = $("opt-curve").value;
  const style = $("opt-style").value.trim();
  if (style) options.style_prompt = style;
  options.format = $("opt-format").value;
  return options;
}

async function onSubmit(event) {
  event.preventDefault();
  const errorEl = $("form-error");
  errorEl.hidden = true;
  const button = $("start");
  button.disabled = true;
  try {
    const options = readOptions();
    const songs = page.uploads.ready();
    // The key goes with this one request and is then dropped from the page.
    const keyInput = $("opt-key");
    const anthropicKey = keyInput.value.trim();
    const body = await startJob({ songs, options }, {
      anthropicKey, idempotencyKey: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()),
    });
    keyInput.value = "";
    const url = new URL(window.location.href);
    url.searchParams.set("job", body.jobId);
    history.pushState({ job: body.jobId }, "", url);
    showJob(body.jobId);
  } catch (error) {
    errorEl.textContent = error.message || "Could not start the job.";
    errorEl.hidden = false;
    updateStart();
  }
}

function resetJobView(jobId) {
  page.shown = { analyses: false, match: false, plan: false };
  page.lastProgress = 0;
  $("job-id").textContent = jobId;
  $("job-step").textContent = "Starting…";
  $("job-progress").value = 0;
  $("job-percent").textContent = "0 %";
  $("job-error").hidden = true;
  $("job-retry").hidden = true;
  $("job-queue").hidden = true;
  $("job-watch").textContent = "";
  for (const id of ["songs-panel", "match-panel", "plan-panel"]) $(id).hidden = true;
  page.results.reset(jobId);
}

/** A queue position in words, from an explicit field or from the step text. */
function queueWords(state) {
  if (Number.isInteger(state.queue_position) && state.queue_position > 0) {
    return `Position ${state.queue_position} in the queue.`;
  }
  const step = String(state.currentStep || "");
  if (!/queue/i.test(step)) return "";
  const match = step.match(/(?:position|#)\s*(\d+)/i);
  return match ? `Position ${match[1]} in the queue.` : "Waiting in the queue for a free slot.";
}

function renderState(state) {
  const jobEl = $("job");
  jobEl.dataset.status = state.status;
  // Progress never goes back on screen, even if an old answer arrives late.
  const progress = Math.max(page.lastProgress, Number(state.progress) || 0);
  page.lastProgress = progress;
  $("job-progress").value = progress;
  $("job-percent").textContent = `${Math.round(progress)} %`;
  const stepText = state.status === "complete" ? "Complete — your mashup is ready."
    : state.status === "failed" ? "Failed" : state.currentStep || "Working…";
  if ($("job-step").textContent !== stepText) $("job-step").textContent = stepText;
  const queue = queueWords(state);
  $("job-queue").hidden = !queue;
  $("job-queue").textContent = queue;
  const errorEl = $("job-error");
  if (state.status === "failed") {
    errorEl.textContent = state.error_message || "The job failed without a reason.";
    errorEl.hidden = false;
  }
  if (state.analyses && !page.shown.analyses) {
    page.shown.analyses = renderSongs($("song-cards"), state);
    $("songs-panel").hidden = !page.shown.analyses;
  }
  if (state.mashabilityScore && !page.shown.match) {
    page.shown.match = renderMatch($("match"), state);
    $("match-panel").hidden = !page.shown.match;
  }
  if (state.masterplan && !page.shown.plan) {
    page.shown.plan = renderPlan($("plan"), state);
    $("plan-panel").hidden = !page.shown.plan;
  }
  page.results.update(state);
}

function follow(jobId) {
  if (page.watcher) page.watcher.stop();
  $("job-retry").hidden = true;
  page.watcher = watchJob(jobId, {
    onState: renderState,
    onMode: (text) => { $("job-watch").textContent = text; },
    onStop: (reason, message) => {
      if (reason === "terminal" || reason === "stopped") {
        $("job-watch").textContent = "";
        return;
      }
      $("job-watch").textContent = message || "Stopped checking.";
      $("job-retry").hidden = reason === "not_found";
      if (reason === "not_found") {
        const errorEl = $("job-error");
        errorEl.textContent = message;
        errorEl.hidden = false;
      }
    },
  });
}

function showJob(jobId) {
  $("make").hidden = true;
  $("job").hidden = false;
  resetJobView(jobId);
  follow(jobId);
  $("job-title").focus({ preventScroll: false });
}

function showMake() {
  if (page.watcher) page.watcher.stop();
  page.watcher = null;
  $("job").hidden = true;
  $("make").hidden = false;
  updateStart();
}

function route() {
  const jobId = new URL(window.location.href).searchParams.get("job");
  if (jobId) showJob(jobId);
  else showMake();
}

function wireDropzone() {
  const zone = $("dropzone");
  const input = $("file-input");
  input.addEventListener("change", () => {
    page.uploads.addFiles(input.files);
    input.value = ""; // the same file can be chosen again after removing it
  });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, () => zone.classList.remove("dragging"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) page.uploads.addFiles(event.dataTransfer.files);
  });
  // Dropping a file anywhere else must not navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

async function init() {
  try {
    page.config = { ...FALLBACK_CONFIG, ...(await getConfig()) };
  } catch {
    page.config = FALLBACK_CONFIG;
  }
  fillCurves();
  $("job-title").setAttribute("tabindex", "-1");
  page.uploads = new UploadList($("uploads"), page.config, updateStart);
  page.results = new Results({
    listen: $("listen"), previewBlock: $("preview-block"), previewAudio: $("preview-audio"),
    resultBlock: $("result-block"), resultAudio: $("result-audio"), facts: $("result-facts"),
    downloads: $("downloads"), groups: $("download-groups"),
  });
  wireDropzone();
  $("options").addEventListener("submit", onSubmit);
  $("new-job").addEventListener("click", () => {
    const url = new URL(window.location.href);
    url.searchParams.delete("job");
    history.pushState({}, "", url);
    showMake();
  });
  $("job-retry").addEventListener("click", () => {
    const jobId = $("job-id").textContent;
    if (jobId) follow(jobId);
  });
  window.addEventListener("popstate", route);
  document.body.dataset.ready = "true";
  route();
}

init();
