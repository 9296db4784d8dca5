"""The gateway (port 8080): uploads, jobs, status, cancel, live events, signed downloads.

Routes and start-up only; the job chain lives in `gateway.runner` and `gateway.chain`,
the job store in `gateway.store`, the event streams in `gateway.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from gateway.auth import AuthConfig, current_user, owns_upload, upload_prefix, visible_job
from gateway.chain import MeshClients
from gateway.changes import WatchedStore
from gateway.cleanup import cleanup_forever
from gateway.events import mashup_events, mashup_events_ws
from gateway.jobs import TERMINAL, Job, JobStatus, JobTransitionError
from gateway.metrics import JOBS_CREATED, JOBS_FINISHED, RATE_LIMITED
from gateway.ratelimit import RateLimiter
from gateway.runner import JobRunner
from gateway.settings import GatewaySettings
from gateway.state import job_state
from gateway.store import open_store
from gateway.web import routes as web_routes
from shared.audio_io import decode_audio
from shared.contracts.gateway import GenerateRequest, StatusRequest
from shared.errors import (
    BadRequest,
    Conflict,
    MeshError,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.settings import AudioLimits
from shared.storage import content_key, get_storage, safe_key, verify_signature
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
    user = current_user(request)
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
    key = content_key(upload_prefix(user), data, decoded.format)
    # Off the loop: with Supabase Storage each of these is an HTTP round trip.
    if not await asyncio.to_thread(storage.exists, key):
        await _upload_checks.run(storage.put_bytes, key, data)
    return json_response({
        "storage_path": key,
        "bytes": len(data),
        "format": decoded.format,
        "duration_sec": round(decoded.duration_sec, 3),
        "sample_rate": decoded.sample_rate_hz,
        "channels": decoded.channels,
    })


def _rate_limited(request: Request, user: str | None) -> Response | None:
    limiter: RateLimiter = request.app.state.rate_limiter
    settings: GatewaySettings = request.app.state.settings
    address = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for", "")
    if settings.trust_forwarded_for and forwarded:
        address = forwarded.split(",")[0].strip()[:64]
    client = user or address
    wait_sec = limiter.take(client)
    if wait_sec <= 0:
        return None
    RATE_LIMITED.inc()
    retry_after = max(1, math.ceil(wait_sec))
    error = TooManyRequests(f"Too many mashups requested; try again in {retry_after} s.",
                            code="rate_limited", retry_after_sec=retry_after)
    return JSONResponse(error.body(), 429, headers={"Retry-After": str(retry_after)})


async def generate_mashup(request: Request) -> Response:
    user = current_user(request)
    if (limited := _rate_limited(request, user)) is not None:
        return limited
    body = await read_model(request, GenerateRequest, max_bytes=1024 * 1024)
    ids = [song.id for song in body.songs]
    if len(set(ids)) != len(ids):
        raise Unprocessable("Every song needs a different id.", code="duplicate_song_id")
    storage = get_storage()
    for song in body.songs:
        if not owns_upload(user, song.storage_path) or not await asyncio.to_thread(
                storage.exists, song.storage_path):
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
        # Keys are per user, so two users can never collide on (or probe) each other's.
        idempotency_key=f"{user or ''}|{idempotency_key}" if idempotency_key else None,
        user_id=user,
    )
    store = request.app.state.store
    job, created = await store.create(job)
    if created:
        JOBS_CREATED.inc()
        _runner(request).submit(job, anthropic_key=request.headers.get("x-anthropic-key"))
    return json_response({"success": True, "jobId": job.job_id, "created": created})


async def get_mashup_status(request: Request) -> Response:
    if request.method == "GET":
        body = validate_model(dict(request.query_params), StatusRequest)
    else:
        body = await read_model(request, StatusRequest, max_bytes=64 * 1024)
    job = await visible_job(request, body.jobId)
    return JSONResponse(job_state(request, job))


async def cancel_mashup(request: Request) -> Response:
    """Fail a processing job as cancelled; a finished job stays as it is (409)."""
    body = await read_model(request, StatusRequest, max_bytes=64 * 1024)
    job = await visible_job(request, body.jobId)
    if job.status in TERMINAL:
        raise Conflict(f"Job {job.job_id!r} already ended as {job.status.value}; "
                       "finished jobs never change.", code="job_finished",
                       status=job.status.value)
    try:
        await request.app.state.store.finish(job.job_id, JobStatus.FAILED, "Cancelled",
                                             "Cancelled by the user.")
    except JobTransitionError:
        raise Conflict(f"Job {job.job_id!r} ended before it could be cancelled.",
                       code="job_finished") from None
    JOBS_FINISHED.labels("failed").inc()
    # The replica running it (this one or another) sees the terminal state and stops.
    _runner(request).cancel_local(job.job_id)
    current = await request.app.state.store.get(job.job_id)
    return JSONResponse(job_state(request, current or job))


async def download(request: Request) -> Response:
    # No auth check: the signature is the capability, and only the job's owner is given it.
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
    return Response(await asyncio.to_thread(storage.get_bytes, key), headers={
        "content-disposition": f'attachment; filename="{filename}"'})


def create_gateway_app(*, clients: Callable[[], MeshClients] | None = None,
                       extra_routes: list[BaseRoute] | None = None) -> Starlette:
    """The gateway app; `clients` swaps the services it calls (benchmarks, tests)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings = GatewaySettings.from_env()
        store = WatchedStore(await open_store(settings.db_path, schema=settings.db_schema))
        runner = JobRunner(store, settings, clients() if clients else None)
        app.state.settings = settings
        app.state.store = store
        app.state.runner = runner
        app.state.auth = AuthConfig.from_env()
        app.state.rate_limiter = RateLimiter(settings.rate_limit_per_min,
                                             settings.rate_limit_burst)
        await runner.start()
        cleaner = asyncio.create_task(cleanup_forever(store, get_storage(), settings))
        try:
            yield
        finally:
            cleaner.cancel()
            await asyncio.gather(cleaner, return_exceptions=True)
            await runner.shutdown()
            await store.close()

    def health_detail() -> dict[str, Any]:
        runner: JobRunner | None = getattr(app.state, "runner", None)
        if runner is None:
            return {}
        return {"replica": runner.owner, "running_jobs": runner.queue.running,
                "queued_jobs": len(runner.queue.waiting),
                "store": type(getattr(runner.store, "inner", runner.store)).__name__}

    app = create_app("gateway", [*routes, *(extra_routes or [])], lifespan=lifespan,
                     health_detail=health_detail)
    return app


routes: list[BaseRoute] = [
    Route("/upload", upload, methods=["POST"]),
    Route("/generate-mashup", generate_mashup, methods=["POST"]),
    Route("/get-mashup-status", get_mashup_status, methods=["GET", "POST"]),
    Route("/cancel-mashup", cancel_mashup, methods=["POST"]),
    Route("/mashup-events", mashup_events, methods=["GET"]),
    WebSocketRoute("/mashup-events/ws", mashup_events_ws),
    Route("/download/{key:path}", download, methods=["GET"]),
    *web_routes,  # the web app at / (gateway.web)
]

app = create_gateway_app()
