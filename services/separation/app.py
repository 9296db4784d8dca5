"""separation service (port 8004): `POST /separate` splits a song into four stems.

Run as `uvicorn services.separation.app:app --port 8004`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import Counter
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.separation import processes
from services.separation.backends import (
    DSP_BACKEND,
    DemucsSeparator,
    Separator,
    SeparatorUnavailable,
    dsp_separator,
    get_separator,
    mark_unavailable,
)
from services.separation.cache import audio_digest, cached_stems, stem_prefix
from services.separation.pipeline import requested_stems, separate_and_store
from services.separation.settings import SeparationSettings
from shared.audio_source import song_bytes
from shared.contracts.separation import SeparateRequest, SeparateResponse
from shared.errors import TooManyRequests
from shared.storage import Storage, get_storage
from shared.web import create_app, error_response, json_response, read_model
from shared.workers import BoundedWorkers

log = logging.getLogger(__name__)

SEPARATIONS = Counter(
    "separation_songs_total", "Songs answered by /separate", ["backend", "cached"]
)

_WORKERS: dict[tuple[int, int], BoundedWorkers] = {}


def get_workers(settings: SeparationSettings) -> BoundedWorkers:
    """The pool for the configured size (one per size, so tests can change it)."""
    size = (settings.workers, settings.queue)
    if size not in _WORKERS:
        _WORKERS[size] = BoundedWorkers(max_workers=settings.workers, max_queue=settings.queue,
                                        retry_after_sec=10)
    return _WORKERS[size]


async def _stems_from(
    separator: Separator, data: bytes, digest: str, wanted: list[str], *,
    storage: Storage, settings: SeparationSettings
) -> tuple[dict[str, str], bool]:
    """({stem: key} for `wanted`, cached?) using `separator`."""
    prefix = stem_prefix(digest, backend=separator.name, model=separator.model,
                         version=settings.version)
    keys = await run_in_threadpool(cached_stems, storage, prefix, wanted)
    if keys is not None:
        return keys, True
    workers = get_workers(settings)
    if settings.processes and separator.name == DSP_BACKEND:
        all_keys = await workers.run(processes.separate_in_process, data, prefix=prefix,
                                     workers=settings.workers)
    else:
        all_keys = await workers.run(separate_and_store, data, separator=separator,
                                     storage=storage, prefix=prefix)
    return {name: all_keys[name] for name in wanted}, False


async def separate(request: Request) -> Response:
    body = await read_model(request, SeparateRequest)
    started = time.perf_counter()
    settings = SeparationSettings.from_env()
    storage = get_storage()
    data = await run_in_threadpool(song_bytes, body, storage)
    digest = await run_in_threadpool(audio_digest, data)
    wanted = requested_stems(body.stems)
    separator = get_separator(settings)
    try:
        try:
            keys, cached = await _stems_from(separator, data, digest, wanted,
                                             storage=storage, settings=settings)
        except SeparatorUnavailable as exc:
            log.error("%s; falling back to the DSP separator", exc)
            mark_unavailable(separator, settings)
            separator = dsp_separator()
            keys, cached = await _stems_from(separator, data, digest, wanted,
                                             storage=storage, settings=settings)
    except TooManyRequests as exc:
        # The shared handler writes the body only; clients and proxies read the header.
        retry_after = int(exc.data.get("retry_after_sec", 10))
        response = error_response(429, exc.code, exc.message, retry_after_sec=retry_after)
        response.headers["Retry-After"] = str(retry_after)
        return response
    SEPARATIONS.labels(backend=separator.name, cached=str(cached).lower()).inc()
    return json_response(SeparateResponse(
        songId=body.songId,
        stems=keys,
        backend=separator.name,
        model=separator.model,
        cached=cached,
        elapsed_sec=round(time.perf_counter() - started, 3),
    ))


def health_detail() -> dict[str, Any]:
    settings = SeparationSettings.from_env()
    separator = get_separator(settings)
    workers = get_workers(settings)
    detail: dict[str, Any] = {
        "backend": separator.name,
        "workers": {"running": workers.running, "waiting": workers.waiting,
                    "max_workers": workers.max_workers, "max_queue": workers.max_queue},
    }
    if separator.model:
        detail["model"] = separator.model
    if isinstance(separator, DemucsSeparator):
        detail["model_loaded"] = separator.loaded
    return detail


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    await run_in_threadpool(processes.shutdown)  # no worker process outlives the service


routes = [Route("/separate", separate, methods=["POST"])]
app = create_app("separation", routes, lifespan=lifespan, health_detail=health_detail)
