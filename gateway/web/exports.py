"""Everything a person can download from a job, beyond the signed result_url: the mashup
in each output format (converted once, then kept in storage), the stems the plan used,
the cue sheet and the JSON timeline."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.jobs import Job, JobStatus, Step
from gateway.web.cue import cue_sheet
from gateway.web.lookup import find_job, plan_output, song_titles
from gateway.web.pages import OUTPUT_FORMATS
from shared.audio_io import decode_audio, encode_audio
from shared.contracts.orchestrator import stem_files
from shared.contracts.separation import ALL_STEMS
from shared.errors import Conflict, NotFound
from shared.settings import AudioLimits
from shared.storage import Storage, get_storage
from shared.workers import BoundedWorkers

MEDIA_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg"}
# The mashup was made by the mesh itself: no size or length caps when re-encoding it.
_NO_LIMITS = AudioLimits(max_bytes=1 << 40, max_duration_sec=1e7, min_duration_sec=0.0)
_exports = BoundedWorkers(max_workers=1, max_queue=16)


def _slug(text: str, default: str = "mashup") -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60]
    return slug or default


def _render(job: Job) -> dict[str, Any]:
    render = job.outputs.get(Step.RENDER.value)
    if job.status is not JobStatus.COMPLETE or not render:
        raise Conflict("The mashup is not finished yet; download it once the job is complete.",
                       code="job_not_complete")
    return render


def _base_name(job: Job) -> str:
    plan = plan_output(job).get("masterplan") or {}
    return _slug(str(plan.get("title") or ""), default=f"mashup-{job.job_id[:8]}")


def used_stem_files(masterplan: dict[str, Any]) -> dict[str, list[str]]:
    """songId → the separated stem files the plan's layers play, in a stable order."""
    used: dict[str, set[str]] = {}
    for section in masterplan.get("timeline") or []:
        for layer in section.get("layers") or []:
            used.setdefault(str(layer.get("songId")), set()).add(str(layer.get("stem")))
    return {song: stem_files(stems) for song, stems in used.items()}


def export_audio(storage: Storage, *, source_key: str, fmt: str, export_key: str) -> str:
    """Re-encode the stored mashup as `fmt` once; later calls find it stored."""
    if not storage.exists(export_key):
        decoded = decode_audio(storage.get_bytes(source_key), limits=_NO_LIMITS,
                               reject_silent=False)
        data = encode_audio(decoded.samples, sample_rate_hz=decoded.sample_rate_hz, fmt=fmt,
                            bit_depth=24)
        storage.put_bytes(export_key, data)
    return export_key


def _file_response(storage: Storage, key: str, *, filename: str, media_type: str) -> Response:
    path = storage.local_path(key)
    if path is not None:
        if not path.is_file():
            raise NotFound("The file behind this link no longer exists.")
        return FileResponse(path, filename=filename, media_type=media_type)
    return Response(storage.get_bytes(key), media_type=media_type,
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


async def list_files(request: Request) -> Response:
    """What the job offers to download right now, grouped for the page."""
    job = await find_job(request)
    base = f"/web/jobs/{job.job_id}"
    name = _base_name(job)
    files: list[dict[str, str]] = []
    if job.status is JobStatus.COMPLETE and job.outputs.get(Step.RENDER.value):
        files += [{"group": "mashup", "label": f"Mashup ({fmt.upper()})", "format": fmt,
                   "url": f"{base}/mashup.{fmt}", "filename": f"{name}.{fmt}"}
                  for fmt in OUTPUT_FORMATS]
    masterplan = plan_output(job).get("masterplan")
    if masterplan:
        files.append({"group": "plan", "label": "Timeline (JSON)", "format": "json",
                      "url": f"{base}/timeline.json", "filename": f"{name}-timeline.json"})
        files.append({"group": "plan", "label": "Cue sheet", "format": "cue",
                      "url": f"{base}/mashup.cue", "filename": f"{name}.cue"})
        separated = job.outputs.get(Step.SEPARATE.value) or {}
        titles = song_titles(job)
        for song_id, stems in used_stem_files(masterplan).items():
            for stem in stems:
                if (separated.get(song_id) or {}).get("stems", {}).get(stem):
                    files.append({
                        "group": "stems", "label": f"{titles.get(song_id, song_id)}: {stem}",
                        "format": "flac", "url": f"{base}/stems/{song_id}/{stem}.flac",
                        "filename": f"{_slug(song_id, 'song')}-{stem}.flac"})
    return JSONResponse({"jobId": job.job_id, "status": job.status.value, "files": files})


async def mashup_file(request: Request) -> Response:
    fmt = str(request.path_params["fmt"]).lower()
    if fmt not in OUTPUT_FORMATS:
        raise NotFound(f"No mashup format {fmt!r}; choose wav, flac or mp3.",
                       code="unknown_format")
    job = await find_job(request)
    render = _render(job)
    storage = get_storage()
    key = str(render["storage_path"])
    if not key.lower().endswith(f".{fmt}"):
        key = await _exports.run(export_audio, storage, source_key=key, fmt=fmt,
                                 export_key=f"exports/{job.job_id}/mashup.{fmt}")
    return _file_response(storage, key, filename=f"{_base_name(job)}.{fmt}",
                          media_type=MEDIA_TYPES[fmt])


async def stem_file(request: Request) -> Response:
    job = await find_job(request)
    song_id, stem = str(request.path_params["song_id"]), str(request.path_params["stem"])
    separated = (job.outputs.get(Step.SEPARATE.value) or {}).get(song_id) or {}
    key = (separated.get("stems") or {}).get(stem)
    if stem not in ALL_STEMS or not key:
        raise NotFound(f"No {stem!r} stem of song {song_id!r} in this job.",
                       code="stem_not_found")
    return _file_response(get_storage(), str(key), filename=f"{_slug(song_id, 'song')}-{stem}.flac",
                          media_type=MEDIA_TYPES["flac"])


def _plan_or_409(job: Job) -> dict[str, Any]:
    plan = plan_output(job)
    if not plan.get("masterplan"):
        raise Conflict("The masterplan is not written yet.", code="plan_not_ready")
    return plan


async def timeline_json(request: Request) -> Response:
    job = await find_job(request)
    plan = _plan_or_409(job)
    body = {
        "jobId": job.job_id,
        "songs": job.songs,
        "planner": plan.get("planner"),
        "model": plan.get("model"),
        "creative_vision": plan.get("creative_vision"),
        "masterplan": plan["masterplan"],
        "mashabilityScore": job.outputs.get(Step.SCORE.value),
        "analyses": job.outputs.get(Step.ANALYZE.value),
    }
    filename = f"{_base_name(job)}-timeline.json"
    return Response(json.dumps(body, indent=2), media_type="application/json",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


async def cue_file(request: Request) -> Response:
    job = await find_job(request)
    plan = _plan_or_409(job)
    render = job.outputs.get(Step.RENDER.value) or {}
    fmt = str(render.get("storage_path", "x.wav")).rsplit(".", 1)[-1].lower()
    fmt = fmt if fmt in OUTPUT_FORMATS else "wav"
    name = _base_name(job)
    text = cue_sheet(plan["masterplan"], audio_filename=f"{name}.{fmt}", fmt=fmt,
                     titles=song_titles(job))
    return Response(text, media_type="application/x-cue; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}.cue"'})


routes: list[BaseRoute] = [
    Route("/web/jobs/{job_id}/files", list_files, methods=["GET"]),
    Route("/web/jobs/{job_id}/mashup.cue", cue_file, methods=["GET"]),
    Route("/web/jobs/{job_id}/mashup.{fmt}", mashup_file, methods=["GET"]),
    Route("/web/jobs/{job_id}/timeline.json", timeline_json, methods=["GET"]),
    Route("/web/jobs/{job_id}/stems/{song_id}/{stem}.flac", stem_file, methods=["GET"]),
]
