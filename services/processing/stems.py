"""Gather what a render needs from the mesh and storage: analyses, stems, audio.

The async half calls the analysis and separation services (all songs at once); the sync
half (`load_material`, run in a worker thread) reads and decodes the files. Tests replace
`analyze_song` / `separate_song` in this module, or skip it entirely and hand
`render.render_plan` ready `SongMaterial`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from services.processing.decoded import DecodedCache
from services.processing.material import SEPARATED_STEMS, SongMaterial, parse_analysis
from services.processing.settings import ServiceSettings
from shared.audio_io import SILENCE_PEAK, decode_audio, resample
from shared.client import ServiceCallError, ServiceClient, is_client_error
from shared.contracts.orchestrator import stem_files
from shared.contracts.processing import SongRef
from shared.errors import MeshError, NotFound, Unprocessable, UpstreamError
from shared.storage import Storage

_DECODE_THREADS = 2


async def analyze_song(song_id: str, storage_path: str) -> dict[str, Any]:
    """The analysis service's AnalysisResult for one stored song."""
    async with ServiceClient("analysis") as client:
        return await client.post_json("/analyze", {"songId": song_id,
                                                   "storage_path": storage_path})


async def separate_song(song_id: str, storage_path: str) -> dict[str, str]:
    """Storage keys of the four stems of one stored song, from the separation service."""
    async with ServiceClient("separation") as client:
        body = await client.post_json("/separate", {"songId": song_id,
                                                    "storage_path": storage_path})
    stems = body.get("stems")
    if not isinstance(stems, dict) or not all(isinstance(stems.get(s), str)
                                              for s in SEPARATED_STEMS):
        raise UpstreamError(f"separation returned no complete stems for song {song_id!r}.",
                            service="separation")
    return {name: stems[name] for name in SEPARATED_STEMS}


def _upstream(service: str, song_id: str, exc: MeshError) -> MeshError:
    """Name the failing service; an upstream 4xx means the song itself was refused."""
    message = exc.message
    if isinstance(exc, ServiceCallError) and is_client_error(exc):
        return Unprocessable(f"{service} refused song {song_id!r}: {message}",
                             code=f"{service}_refused", service=service)
    return UpstreamError(f"{service} failed for song {song_id!r}: {message}", service=service)


async def gather_inputs(songs: list[SongRef], needs: Mapping[str, set[str]]) -> tuple[
        dict[str, dict[str, Any]], dict[str, dict[str, str]]]:
    """(analysis dict per song, stem keys per song) for the songs the plan uses.

    Analyses come from the request when given, else from the analysis service; stems from
    the separation service for songs that play a separated stem. All calls run at once.
    A failure raises UpstreamError naming the service (there is no silent fallback).
    """
    by_id = {song.id: song for song in songs if song.id in needs}

    async def analysis(song: SongRef) -> dict[str, Any]:
        if song.analysis is not None:
            return song.analysis
        try:
            return await analyze_song(song.id, song.storage_path)
        except MeshError as exc:
            raise _upstream("analysis", song.id, exc) from exc

    async def separation(song: SongRef) -> dict[str, str]:
        if not stem_files(needs[song.id]):
            return {}
        try:
            return await separate_song(song.id, song.storage_path)
        except MeshError as exc:
            raise _upstream("separation", song.id, exc) from exc

    ids = list(by_id)
    # Analyses and separations of every song are independent: all run at once.
    results = await asyncio.gather(*(analysis(by_id[i]) for i in ids),
                                   *(separation(by_id[i]) for i in ids))
    analyses, stems = results[:len(ids)], results[len(ids):]
    return (dict(zip(ids, analyses, strict=True)),  # type: ignore[arg-type]
            dict(zip(ids, stems, strict=True)))  # type: ignore[arg-type]


# Decoded files shared by the render jobs of this process (see `decoded`).
decode_cache = DecodedCache(ServiceSettings.from_env().decode_cache_mb * 2**20)


def _decode(storage: Storage, key: str, *, what: str, reject_silent: bool) -> tuple[Any, int]:
    decoded = decode_cache.decode(storage.get_bytes(key), reject_silent=reject_silent,
                                  decoder=decode_audio)
    if decoded.samples.size == 0:
        raise Unprocessable(f"{what} at {key!r} holds no audio.", code="empty_audio")
    return decoded.samples, decoded.sample_rate_hz


def load_material(song: SongRef, *, analysis: dict[str, Any], stem_keys: Mapping[str, str],
                  stems: set[str], storage: Storage, render_rate_hz: int,
                  beats_per_bar: int = 4) -> SongMaterial:
    """Decode the song and the stems it plays into a SongMaterial (blocking; run in a
    worker). The full mix gives the energy profile and the "full" stem; it is read unless
    every separated stem is read anyway and no layer plays the full mix (then the stems'
    sum stands in for the profile, and decoding the mix would be a third of the work). A
    stem may be silent (a song without vocals); the song itself may not. The files are
    decoded `_DECODE_THREADS` at a time (libsndfile runs without the GIL), or come from
    the decode cache when an earlier job read the same bytes."""
    names = sorted(stem_files(stems))
    read_full = "full" in stems or set(names) != set(SEPARATED_STEMS)

    def decode_stem(name: str) -> tuple[Any, int]:
        try:
            return _decode(storage, stem_keys[name], what=f"{name} stem", reject_silent=False)
        except NotFound as exc:
            raise UpstreamError(f"separation listed a {name} stem for {song.id!r} that is not "
                                f"in storage ({stem_keys[name]!r}).", service="separation") from exc
        except MeshError as exc:
            raise UpstreamError(f"the {name} stem of {song.id!r} from separation is unreadable: "
                                f"{exc.message}", service="separation") from exc

    audio: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=_DECODE_THREADS) as pool:
        full_job = pool.submit(_decode, storage, song.storage_path, what=f"song {song.id!r}",
                               reject_silent=True) if read_full else None
        stem_jobs = {name: pool.submit(decode_stem, name) for name in names}
        decoded = {name: job.result() for name, job in stem_jobs.items()}
        if full_job is not None:
            audio["full"], rate = full_job.result()
        else:
            rate = decoded[names[0]][1]
        for name, (samples, stem_rate) in decoded.items():
            if stem_rate != rate:
                samples = resample(samples, from_rate_hz=stem_rate, to_rate_hz=rate)
            audio[name] = samples
    if full_job is None and all(float(np.max(np.abs(a))) < SILENCE_PEAK for a in audio.values()):
        raise Unprocessable(f"song {song.id!r} is silent (nothing above -80 dBFS in any stem).",
                            code="silent_audio")
    duration_sec = max(a.shape[1] for a in audio.values()) / rate
    parsed = parse_analysis(analysis, song_id=song.id, duration_sec=duration_sec,
                            beats_per_bar=beats_per_bar)
    return SongMaterial.build(song.id, stems=audio, sample_rate_hz=rate, analysis=parsed,
                              render_rate_hz=render_rate_hz)
