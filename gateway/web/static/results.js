// Listening and downloading: the preview (as soon as processing rendered one) and the
// finished mashup, with the mashup in every format, the stems used, the cue sheet and the
// JSON timeline.

import { listFiles, requestPreview } from "./api.js";
import { clear, formatTime, h } from "./dom.js";

const GROUP_TITLES = { mashup: "The mashup", stems: "Stems used", plan: "Cue sheet and timeline" };

export class Results {
  constructor(els) {
    this.els = els;
    this.jobId = "";
    this.previewAsked = "";
    this.previewDone = false;
    this.resultUrl = "";
    this.filesKey = "";
  }

  reset(jobId) {
    this.jobId = jobId;
    this.previewAsked = "";
    this.previewDone = false;
    this.resultUrl = "";
    this.filesKey = "";
    const { listen, previewBlock, previewAudio, resultBlock, resultAudio, downloads, groups } = this.els;
    listen.hidden = true;
    previewBlock.hidden = true;
    resultBlock.hidden = true;
    downloads.hidden = true;
    previewAudio.removeAttribute("src");
    resultAudio.removeAttribute("src");
    clear(groups);
  }

  update(state) {
    if (state.status === "complete" && state.result_url) this.showResult(state);
    else if (state.status === "processing" && state.masterplan) this.maybePreview(state);
    // The downloads change when a step lands (plan, stems, result): re-read them per step.
    const key = `${state.status}|${state.currentStep}`;
    if (state.masterplan && key !== this.filesKey) {
      this.filesKey = key;
      this.refreshFiles();
    }
  }

  /** Ask for a preview once per step after the plan exists, until one is made. A plan
   * that is already short (≤ 45 s) needs no preview: the mashup itself comes as quickly. */
  maybePreview(state) {
    if (this.previewDone || this.previewAsked === state.currentStep) return;
    const timeline = state.masterplan.timeline || [];
    const total = Math.max(0, ...timeline.map((sec) => sec.time_start_sec + sec.duration_sec));
    if (total <= 45) return;
    this.previewAsked = state.currentStep;
    const jobId = this.jobId;
    requestPreview(jobId).then((body) => {
      if (jobId !== this.jobId || this.resultUrl) return;
      this.previewDone = true;
      this.els.previewAudio.src = body.url;
      this.els.previewBlock.hidden = false;
      this.els.listen.hidden = false;
    }, () => { /* 409 until the stems exist: asked again at the next step */ });
  }

  showResult(state) {
    if (this.resultUrl) return;
    this.resultUrl = state.result_url;
    const { listen, resultBlock, resultAudio, previewBlock, facts } = this.els;
    resultAudio.src = state.result_url;
    resultBlock.hidden = false;
    previewBlock.hidden = true;
    listen.hidden = false;
    const result = state.result || {};
    facts.textContent = [result.duration_sec && `Length ${formatTime(result.duration_sec)}`,
      result.lufs !== undefined && `loudness ${Number(result.lufs).toFixed(1)} LUFS`,
      result.true_peak_dbtp !== undefined && `true peak ${Number(result.true_peak_dbtp).toFixed(1)} dBTP`,
      ...(result.warnings || [])].filter(Boolean).join(" · ");
  }

  async refreshFiles() {
    const jobId = this.jobId;
    let body;
    try {
      body = await listFiles(jobId);
    } catch {
      return; // the page still offers result_url through the player
    }
    if (jobId !== this.jobId) return;
    const { listen, downloads, groups } = this.els;
    clear(groups);
    const byGroup = new Map();
    for (const file of body.files || []) {
      if (!byGroup.has(file.group)) byGroup.set(file.group, []);
      byGroup.get(file.group).push(file);
    }
    for (const [group, files] of byGroup) {
      groups.append(h("div", { class: "download-group", "data-group": group },
        h("p", { class: "label" }, GROUP_TITLES[group] || group),
        h("ul", {}, files.map((file) => h("li", {},
          h("a", { href: file.url, download: file.filename, "data-format": file.format }, file.label))))));
    }
    downloads.hidden = byGroup.size === 0;
    if (byGroup.size) listen.hidden = false;
  }
}
