"""The gateway (port 8080): uploads, jobs, status, signed downloads.

Routes and start-up only; the job chain lives in `gateway.runner` and `gateway.chain`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from gateway.jobs import Job, JobStatus, Step
from gateway.runner import JobRunner
from gateway.settings import GatewaySettings
from gateway.store import SQLiteJobStore
from gateway.web import routes as web_routes
from shared.audio_io import decode_audio
from shared.contracts.gateway import GenerateRequest, JobState, StatusRequest
from shared.errors import (
    BadRequest,
    MeshError,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.settings import AudioLimits
from shared.storage import content_key, get_storage, safe_key, sign_key, verify_signature
from shared.web import create_app, json_response, read_model, validate_model
from shared.workers import BoundedWorkers

UPLOAD_CHUNK_BYTES = 1024 * 1024
_upload_checks = BoundedWorkers(max_workers=2, max_queue=32)


class Forbidden(MeshError):
    status_code = 403
    code = "forbidden"


def _runner(request: Request) -> JobRunner:
    return request.app.state.runner


async def upload(request: Request) -> Response:
    """Multipart upload (field `file`) → content-addressed storage_path."""
    limits = AudioLimits.from_env()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes + 64 * 1024:
        raise PayloadTooLarge(f"The upload is larger than {limits.max_bytes / 1e6:.0f} MB.")
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            "Send the song as multipart/form-data with the field 'file'."
        )
    try:
        form = await request.form(max_files=1, max_fields=8)
    except Exception as exc:  # python-multipart raises several types on bad bodies
        raise BadRequest(f"The multipart body could not be parsed ({exc}).",
                         code="malformed_multipart") from exc
    try:
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise Unprocessable("Put the song in the multipart field named 'file'.",
                                code="missing_file")
        chunks: list[bytes] = []
        size = 0
        while chunk := await upload_file.read(UPLOAD_CHUNK_BYTES):
            size += len(chunk)
            if size > limits.max_bytes:
                raise PayloadTooLarge(
                    f"The upload is larger than {limits.max_bytes / 1e6:.0f} MB."
                )
            chunks.append(chunk)
    finally:
        await form.close()
    data = b"".join(chunks)
    decoded = await _upload_checks.run(decode_audio, data, limits=limits)
    storage = get_storage()
    key = content_key("uploads", data, decoded.format)
    if not storage.exists(key):
        await _upload_checks.run(storage.put_bytes, key, data)
    return json_response({
        "storage_path": key,
        "bytes": len(data),
        "format": decoded.format,
        "duration_sec": round(decoded.duration_sec, 3),
        "sample_rate": decoded.sample_rate_hz,
        "channels": decoded.channels,
    })


async def generate_mashup(request: Request) -> Response:
    body = await read_model(request, GenerateRequest, max_bytes=1024 * 1024)
    ids = [song.id for song in body.songs]
    if len(set(ids)) != len(ids):
        raise Unprocessable("Every song needs a different id.", code="duplicate_song_id")
    storage = get_storage()
    for song in body.songs:
        if not storage.exists(song.storage_path):
            raise Unprocessable(f"Song {song.id!r}: nothing is stored at {song.storage_path!r}; "
                                "upload it first with POST /upload.", code="unknown_storage_path")
    settings: GatewaySettings = request.app.state.settings
    idempotency_key = request.headers.get("idempotency-key") or None
    if idempotency_key and len(idempotency_key) > 200:
        raise BadRequest("Idempotency-Key is longer than 200 characters.")
    now = time.time()
    request_body = body.model_dump(mode="json", exclude_none=True)
    job = Job(
        job_id=uuid.uuid4().hex,
        status=JobStatus.PROCESSING,
        progress=0.0,
        current_step="Queued",
        request=request_body,
        created_at=dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds"),
        deadline_at=now + settings.job_deadline_sec,
        idempotency_key=idempotency_key,
    )
    store = request.app.state.store
    job, created = await store.create(job)
    if created:
        _runner(request).submit(job, anthropic_key=request.headers.get("x-anthropic-key"))
    return json_response({"success": True, "jobId": job.job_id, "created": created})


def _result_url(request: Request, key: str) -> str:
    settings: GatewaySettings = request.app.state.settings
    expires_at, signature = sign_key(key, expires_in_sec=settings.url_expiry_sec)
    base = settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}/download/{key}?expires={expires_at}&sig={signature}"


def job_state(request: Request, job: Job) -> dict[str, Any]:
    plan = job.outputs.get(Step.PLAN.value) or {}
    result = job.outputs.get(Step.RENDER.value)
    state: dict[str, Any] = {
        "jobId": job.job_id,
        "status": job.status.value,
        "progress": round(job.progress, 1),
        "currentStep": job.current_step,
        "songs": job.songs,
        "analyses": job.outputs.get(Step.ANALYZE.value),
        "mashabilityScore": job.outputs.get(Step.SCORE.value),
        "masterplan": plan.get("masterplan"),
        "creative_vision": plan.get("creative_vision"),
        "planner": plan.get("planner"),
        "error_message": job.error_message,
        "created_at": job.created_at,
        "poll_after_ms": 1000 if job.status is JobStatus.PROCESSING else None,
    }
    if job.status is JobStatus.COMPLETE and result:
        state["result_url"] = _result_url(request, result["storage_path"])
        state["result"] = {k: result.get(k) for k in
                           ("storage_path", "duration_sec", "lufs", "true_peak_dbtp", "warnings")}
    return JobState.model_validate(state).model_dump(mode="json", exclude_none=True)


async def get_mashup_status(request: Request) -> Response:
    if request.method == "GET":
        body = validate_model(dict(request.query_params), StatusRequest)
    else:
        body = await read_model(request, StatusRequest, max_bytes=64 * 1024)
    job = await request.app.state.store.get(body.jobId)
    if job is None:
        raise NotFound(f"No job {body.jobId!r}; check the jobId from generate-mashup.",
                       code="job_not_found")
    return JSONResponse(job_state(request, job))


async def download(request: Request) -> Response:
    key = safe_key(request.path_params["key"])
    try:
        expires_at = int(request.query_params.get("expires", ""))
    except ValueError:
        raise Forbidden("This download link is missing its expiry; ask for a new result_url.",
                        code="bad_signature") from None
    signature = request.query_params.get("sig", "")
    if not verify_signature(key, expires_at, signature):
        raise Forbidden("This download link is invalid or has expired; poll "
                        "get-mashup-status for a fresh result_url.", code="bad_signature")
    storage = get_storage()
    path = storage.local_path(key)
    filename = key.rsplit("/", 1)[-1]
    if path is not None:
        if not path.is_file():
            raise NotFound("The file behind this link no longer exists.")
        return FileResponse(path, filename=filename)
    return Response(storage.get_bytes(key), headers={
        "content-disposition": f'attachment; filename="{filename}"'})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings = GatewaySettings.from_env()
    store = SQLiteJobStore(settings.db_path)
    runner = JobRunner(store, settings)
    app.state.settings = settings
    app.state.store = store
    app.state.runner = runner
    await runner.resume_all()
    try:
        yield
    finally:
        await runner.shutdown()
        await store.close()


routes = [
    Route("/upload", upload, methods=["POST"]),
    Route("/generate-mashup", generate_mashup, methods=["POST"]),
    Route("/get-mashup-status", get_mashup_status, methods=["GET", "POST"]),
    Route("/download/{key:path}", download, methods=["GET"]),
    *web_routes,  # the web app at / (gateway.web)
]

app = create_app("gateway", routes, lifespan=lifespan)
