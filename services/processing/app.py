"""processing service (port 8001): `POST /execute-masterplan`, `POST /render-preview`.

Run with `uvicorn services.processing.app:app --port 8001`. A request is checked (plan,
songs, storage) before anything expensive happens; then analyses and stems are fetched
from the mesh concurrently, and decoding, rendering, encoding and storing run as one job
in the bounded worker pool (429 when the queue is full).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.processing.material import parse_analysis
from services.processing.output import cached_response, output_key, store_render
from services.processing.preview import preview_window
from services.processing.render import render_plan
from services.processing.settings import RenderSettings, ServiceSettings
from services.processing.stems import gather_inputs, load_material
from shared.contracts.orchestrator import Masterplan, layer_stems_needed
from shared.contracts.processing import ExecuteRequest, RenderResponse, SongRef
from shared.errors import NotFound, Unprocessable
from shared.storage import Storage, get_storage
from shared.web import create_app, describe_validation_error, json_response, read_model
from shared.workers import BoundedWorkers

_FALLBACK_DURATION_SEC = 600.0  # only for the early check; the render uses the real one
_service = ServiceSettings.from_env()
workers = BoundedWorkers(max_workers=_service.workers, max_queue=_service.queue)


def parse_plan(data: dict[str, Any]) -> Masterplan:
    """The request's masterplan, or 422 naming what is wrong with it."""
    try:
        return Masterplan.model_validate(data)
    except ValidationError as exc:
        message = describe_validation_error(exc).replace("Invalid request", "Invalid masterplan")
        raise Unprocessable(message, code="invalid_masterplan") from None


def used_songs(request: ExecuteRequest, plan: Masterplan, storage: Storage) -> list[SongRef]:
    """The songs the plan plays, after checking ids and that their files are stored."""
    ids = [song.id for song in request.songs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise Unprocessable(f"song ids must be unique; repeated: {', '.join(duplicates)}.",
                            code="duplicate_song")
    needs = layer_stems_needed(plan, [song.id for song in request.songs])
    unknown = sorted(set(needs) - set(ids))
    if unknown:
        raise Unprocessable(f"the masterplan names songs that are not in songs: "
                            f"{', '.join(unknown)}.", code="unknown_song")
    used = [song for song in request.songs if song.id in needs]
    for song in used:
        if song.analysis is not None:  # refuse a bad analysis before any expensive call
            parse_analysis(song.analysis, song_id=song.id,
                           duration_sec=_FALLBACK_DURATION_SEC)
        if not storage.exists(song.storage_path):
            raise NotFound(f"song {song.id!r}: nothing is stored at {song.storage_path!r}; "
                           "upload it first.", code="object_not_found")
    return used


def render_job(songs: list[SongRef], *, plan: Masterplan, needs: dict[str, set[str]],
                analyses: dict[str, dict[str, Any]], stem_keys: dict[str, dict[str, str]],
                preview: bool, fmt: str, base_key: str, settings: RenderSettings,
                storage: Storage) -> RenderResponse:
    """Decode, render, encode and store (blocking; runs in a worker thread)."""
    # The songs load side by side (each decodes its files two at a time): a song's last
    # file no longer leaves a core idle before the next song starts.
    with ThreadPoolExecutor(max_workers=max(1, len(songs))) as pool:
        loading = {
            song.id: pool.submit(load_material, song, analysis=analyses[song.id],
                                 stem_keys=stem_keys[song.id], stems=needs[song.id],
                                 storage=storage, render_rate_hz=settings.sample_rate_hz,
                                 beats_per_bar=int(plan.global_.timeSignature[0]) or 4)
            for song in songs
        }
        materials = {song_id: job.result() for song_id, job in loading.items()}
    window = preview_window(plan, max_sec=settings.preview_max_sec) if preview else None
    result = render_plan(plan, materials, settings=settings, window_sec=window)
    return store_render(result, base_key=base_key, fmt=fmt, storage=storage,
                        ceiling_dbtp=settings.ceiling_dbtp)


async def _render(request: Request, *, preview: bool) -> Response:
    body = await read_model(request, ExecuteRequest)
    plan = parse_plan(body.masterplan)
    fmt = body.output.format if body.output else "wav"
    preview = preview or bool(body.output and body.output.preview)
    settings = RenderSettings.from_env()
    if preview:
        settings = settings.for_preview()
    storage = get_storage()
    songs = used_songs(body, plan, storage)
    base_key = output_key(plan, body.songs, fmt=fmt, preview=preview, settings=settings)
    if ServiceSettings.from_env().cache:
        cached = cached_response(base_key, fmt=fmt, storage=storage)
        if cached is not None:
            return json_response(cached)
    needs = layer_stems_needed(plan, [song.id for song in body.songs])
    analyses, stem_keys = await gather_inputs(songs, needs)
    response = await workers.run(
        render_job, songs, plan=plan, needs=needs, analyses=analyses, stem_keys=stem_keys,
        preview=preview, fmt=fmt, base_key=base_key, settings=settings, storage=storage)
    return json_response(response)


async def execute_masterplan(request: Request) -> Response:
    return await _render(request, preview=False)


async def render_preview(request: Request) -> Response:
    return await _render(request, preview=True)


def _health() -> dict[str, Any]:
    return {"workers": {"running": workers.running, "waiting": workers.waiting}}


routes = [
    Route("/execute-masterplan", execute_masterplan, methods=["POST"]),
    Route("/render-preview", render_preview, methods=["POST"]),
]
app = create_app("processing", routes, health_detail=_health)
