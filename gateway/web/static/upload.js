// The song list: checks each file, uploads it with a progress bar, and reports errors in
// plain words. A song is usable once the gateway has stored it (storage_path).

import { uploadFile } from "./api.js";
import { clear, formatBytes, formatTime, h } from "./dom.js";

const FORMAT_NAMES = "WAV, FLAC, MP3, OGG or AIFF";

function extensionOf(name) {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot).toLowerCase();
}

/** A song id the contract accepts ([A-Za-z0-9_.-]), unique among `taken`. */
export function songIdFor(name, taken) {
  const stem = name.replace(/\.[^.]*$/, "");
  const base = (stem.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^[_.-]+|[_.-]+$/g, "") || "song")
    .slice(0, 60);
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}-${n}`;
  return id;
}

export class UploadList {
  constructor(listEl, config, onChange) {
    this.listEl = listEl;
    this.config = config;
    this.onChange = onChange;
    this.items = [];
  }

  /** Songs ready for generate-mashup. */
  ready() {
    return this.items.filter((item) => item.state === "done").map((item) => ({
      id: item.id, storage_path: item.storagePath, title: item.title,
    }));
  }

  busy() {
    return this.items.some((item) => item.state === "uploading");
  }

  addFiles(fileList) {
    for (const file of Array.from(fileList)) this.add(file);
  }

  add(file) {
    const taken = new Set(this.items.map((item) => item.id));
    const item = {
      id: songIdFor(file.name, taken), file, title: file.name.replace(/\.[^.]*$/, "") || file.name,
      state: "uploading", progress: 0, message: "Waiting…", storagePath: "", upload: null,
    };
    item.el = this.renderItem(item);
    this.listEl.append(item.el);
    this.items.push(item);
    const problem = this.check(file);
    if (problem) {
      this.update(item, { state: "error", message: problem });
      return;
    }
    this.update(item, { message: "Uploading…" });
    item.upload = uploadFile(file, (fraction) =>
      this.update(item, { progress: fraction, message: `Uploading… ${Math.round(fraction * 100)} %` }));
    item.upload.promise.then(
      (body) => {
        const facts = [body.format && body.format.toUpperCase(),
          body.duration_sec && formatTime(body.duration_sec),
          body.sample_rate && `${(body.sample_rate / 1000).toFixed(1)} kHz`].filter(Boolean);
        this.update(item, { state: "done", progress: 1, storagePath: body.storage_path,
          message: `Ready${facts.length ? ` · ${facts.join(" · ")}` : ""}` });
      },
      (error) => {
        if (error.code === "aborted") return;
        this.update(item, { state: "error", message: error.message });
      },
    );
  }

  /** A plain-words reason to refuse the file before uploading it, or "". */
  check(file) {
    const accepted = this.config.accepted_extensions || [];
    if (accepted.length && !accepted.includes(extensionOf(file.name))) {
      return `“${file.name}” is not a song file we can read; use ${FORMAT_NAMES}.`;
    }
    if (this.config.max_upload_bytes && file.size > this.config.max_upload_bytes) {
      return `“${file.name}” is too large: ${formatBytes(file.size)}; the limit is ` +
        `${formatBytes(this.config.max_upload_bytes)}.`;
    }
    if (file.size === 0) return `“${file.name}” is empty.`;
    return "";
  }

  renderItem(item) {
    const progress = h("progress", { max: "1", value: "0", "aria-label": `Upload of ${item.file.name}` });
    const status = h("span", { class: "upload-status" });
    const remove = h("button", { type: "button", class: "secondary small",
      "aria-label": `Remove ${item.file.name}` }, "Remove");
    remove.addEventListener("click", () => this.remove(item));
    const el = h("li", { class: "upload", "data-song-id": item.id },
      h("span", { class: "upload-name" }, item.file.name,
        h("span", { class: "hint" }, ` · ${formatBytes(item.file.size)}`)),
      remove, progress, status);
    item.progressEl = progress;
    item.statusEl = status;
    return el;
  }

  update(item, changes) {
    Object.assign(item, changes);
    item.el.dataset.state = item.state;
    item.progressEl.value = item.progress;
    item.progressEl.hidden = item.state !== "uploading";
    item.statusEl.textContent = item.message;
    this.onChange();
  }

  remove(item) {
    if (item.upload && item.state === "uploading") item.upload.abort();
    item.el.remove();
    this.items = this.items.filter((other) => other !== item);
    this.onChange();
  }

  reset() {
    for (const item of [...this.items]) this.remove(item);
    clear(this.listEl);
  }
}
