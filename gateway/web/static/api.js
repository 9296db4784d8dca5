// Talking to the gateway: JSON calls, uploads with progress, and errors in plain words.

export class ApiError extends Error {
  constructor(message, status = 0, code = "") {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const PREFIX_BY_STATUS = {
  413: "Too large",
  415: "Unsupported file",
  422: "Cannot use this",
  429: "The mesh is busy",
};

/** A sentence a person can act on, from a status code and the contract's error body. */
export function plainError(status, body) {
  const message = body && body.error && body.error.message;
  if (status === 0) return "Could not reach the gateway. Check the connection and try again.";
  if (message) {
    const prefix = PREFIX_BY_STATUS[status];
    return prefix ? `${prefix}: ${message}` : message;
  }
  if (status >= 500) return `The gateway had a problem (HTTP ${status}). Try again in a moment.`;
  return `The request was refused (HTTP ${status}).`;
}

async function decode(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw new ApiError(plainError(response.status, body), response.status,
      (body && body.error && body.error.code) || "");
  }
  return body;
}

async function call(url, options = {}) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, ...options });
  } catch {
    throw new ApiError(plainError(0, null), 0, "network");
  }
  return decode(response);
}

export const getConfig = () => call("/web/config");
export const getStatus = (jobId) =>
  call(`/get-mashup-status?jobId=${encodeURIComponent(jobId)}`, { cache: "no-store" });
export const listFiles = (jobId) => call(`/web/jobs/${encodeURIComponent(jobId)}/files`);
export const requestPreview = (jobId) =>
  call(`/web/jobs/${encodeURIComponent(jobId)}/preview`, { method: "POST" });

/** Start a job. The optional Anthropic key goes in a header for this one request only. */
export function startJob(body, { anthropicKey = "", idempotencyKey = "" } = {}) {
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  if (anthropicKey) headers["X-Anthropic-Key"] = anthropicKey;
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  return call("/generate-mashup", { method: "POST", headers, body: JSON.stringify(body) });
}

/**
 * Upload one file as multipart (field `file`). XMLHttpRequest, because fetch cannot report
 * upload progress. Returns {promise, abort}; onProgress gets a fraction 0..1.
 */
export function uploadFile(file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", "/upload");
    xhr.responseType = "json";
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300 && body && body.storage_path) resolve(body);
      else reject(new ApiError(plainError(xhr.status, body), xhr.status,
        (body && body.error && body.error.code) || ""));
    };
    xhr.onerror = () => reject(new ApiError(plainError(0, null), 0, "network"));
    xhr.onabort = () => reject(new ApiError("Upload cancelled.", 0, "aborted"));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
