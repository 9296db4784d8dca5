"""The job chain: one coroutine per step, each calling one service and returning the
output the store saves. Steps are idempotent given their inputs, so a resumed job can
re-run an unfinished step safely (the services cache by content hash)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from gateway.jobs import STEP_PROGRESS, Job, Step
from shared.client import ServiceClient
from shared.contracts.orchestrator import Masterplan, layer_stems_needed, stem_files

ProgressFn = Callable[[float, str], Awaitable[None]]
PLAN_OPTION_KEYS = ("duration_sec", "min_duration_sec", "max_duration_sec", "energy_curve",
                    "style_prompt", "seed")


@dataclass
class MeshClients:
    analysis: ServiceClient = field(default_factory=lambda: ServiceClient("analysis"))
    scoring: ServiceClient = field(default_factory=lambda: ServiceClient("scoring"))
    orchestrator: ServiceClient = field(default_factory=lambda: ServiceClient("orchestrator"))
    separation: ServiceClient = field(default_factory=lambda: ServiceClient("separation"))
    processing: ServiceClient = field(default_factory=lambda: ServiceClient("processing"))

    async def aclose(self) -> None:
        for client in (self.analysis, self.scoring, self.orchestrator, self.separation,
                       self.processing):
            await client.aclose()


def _spread(step: Step, done: int, total: int) -> float:
    start, end = STEP_PROGRESS[step]
    return start + (end - start) * done / max(total, 1)


async def _each_song(
    job: Job, step: Step, concurrency: int, call: Callable[[dict[str, Any]], Awaitable[Any]],
    progress: ProgressFn, label: str, songs: list[dict[str, Any]] | None = None,
) -> list[Any]:
    """Run `call` for every song (or those of `songs`), `concurrency` at a time,
    reporting progress per song."""
    songs = job.songs if songs is None else songs
    semaphore = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(song: dict[str, Any]) -> Any:
        nonlocal done
        async with semaphore:
            result = await call(song)
        done += 1
        await progress(_spread(step, done, len(songs)), f"{label} ({done}/{len(songs)})")
        return result

    return list(await asyncio.gather(*(one(song) for song in songs)))


async def analyze(job: Job, clients: MeshClients, progress: ProgressFn, *,
                  concurrency: int) -> list[dict[str, Any]]:
    async def call(song: dict[str, Any]) -> dict[str, Any]:
        return await clients.analysis.post_json(
            "/analyze", {"songId": song["id"], "storage_path": song["storage_path"]}
        )

    return await _each_song(job, Step.ANALYZE, concurrency, call, progress, "Analyzing songs")


async def score(job: Job, clients: MeshClients) -> dict[str, Any]:
    return await clients.scoring.post_json(
        "/calculate-mashability", {"analyses": job.outputs[Step.ANALYZE]}
    )


async def plan(job: Job, clients: MeshClients, *, anthropic_key: str | None) -> dict[str, Any]:
    options = job.request.get("options") or {}
    body = {
        "analyses": job.outputs[Step.ANALYZE],
        "scores": job.outputs[Step.SCORE],
        "options": {k: options[k] for k in PLAN_OPTION_KEYS if options.get(k) is not None},
    }
    # The key makes the orchestrator create (and Claude bill) this job's plan once, even
    # when a gateway dies mid-call and the job's next owner asks again.
    headers = {"Idempotency-Key": f"{job.job_id}:plan"}
    if anthropic_key:
        headers["X-Anthropic-Key"] = anthropic_key
    return await clients.orchestrator.post_json("/create-masterplan", body, headers=headers)


def songs_to_separate(job: Job) -> list[dict[str, Any]]:
    """The songs whose separated stems the plan plays: a song it leaves out, or plays
    whole, is not separated. Every song when the plan does not parse (the renderer is the
    judge of a plan; this is only a saving)."""
    try:
        plan = Masterplan.model_validate((job.outputs.get(Step.PLAN) or {}).get("masterplan"))
    except ValidationError:
        return job.songs
    needs = layer_stems_needed(plan, [song["id"] for song in job.songs])
    return [song for song in job.songs if stem_files(needs.get(song["id"], ()))]


async def separate(job: Job, clients: MeshClients, progress: ProgressFn, *,
                   concurrency: int) -> dict[str, Any]:
    async def call(song: dict[str, Any]) -> dict[str, Any]:
        return await clients.separation.post_json(
            "/separate", {"songId": song["id"], "storage_path": song["storage_path"]}
        )

    # The service bounds its own work (SEPARATION_WORKERS songs at once, the rest queue
    # in order), so asking for two songs at once costs nothing where it has one worker.
    results = await _each_song(job, Step.SEPARATE, concurrency, call, progress,
                               "Separating stems", songs=songs_to_separate(job))
    return {r["songId"]: {"stems": r["stems"], "backend": r.get("backend")} for r in results}


async def render(job: Job, clients: MeshClients) -> dict[str, Any]:
    options = job.request.get("options") or {}
    analyses = {a["songId"]: a for a in job.outputs[Step.ANALYZE]}
    body = {
        "masterplan": job.outputs[Step.PLAN]["masterplan"],
        "songs": [
            {"id": s["id"], "storage_path": s["storage_path"], "analysis": analyses.get(s["id"])}
            for s in job.songs
        ],
        "output": {"format": options.get("format", "wav")},
    }
    return await clients.processing.post_json("/execute-masterplan", body)
