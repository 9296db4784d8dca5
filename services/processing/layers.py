"""Render one placement dry: its pieces through Rubber Band, spliced, at its volume.

Rubber Band's high-quality engine (as pedalboard drives it) realises a stretch ratio only
to about ±0.2 %, a drift of up to 2 ms per second that a long section would accumulate
into an audible flam against the other song. So in that mode every piece is rendered in
chunks of about `_CHUNK_SEC` (whole output bars) that each start exactly on their bar,
spliced with 10 ms linear crossfades that end on a downbeat (both sides are the same
source audio, so equal gain keeps the level). A loop restart is spliced the same way
with an equal-power curve (different audio on each side). The fast engine keeps time
exactly and is rendered a piece at a time. Either engine follows changes of speed only
with some lag, so a piece is also cut wherever its time map changes speed by more than
2 % (the beats of a bar that drifts): each span then runs at one steady speed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from services.processing.arrange import Piece, Placement, SongContext
from services.processing.material import SongMaterial
from services.processing.settings import RenderSettings
from services.processing.stretch import StemStretch, stem_stretch
from services.processing.warp import (
    SpanRead,
    TimeMap,
    build_time_map,
    cut_span,
    plan_span,
    stretch_source,
)

_CHUNK_SEC = 4.0
_SPEED_JUMP = 0.02  # relative change of the map's speed at a knot that starts a new span
_MIN_SPAN_SEC = 0.05


def fade_curve(n: int, kind: str, *, rising: bool) -> np.ndarray:
    """(n,) gains: "power" is sin (equal power), "linear" equal gain; rising or falling."""
    u = (np.arange(n) + 0.5) / max(n, 1)
    u = u if rising else 1.0 - u
    return (np.sin(0.5 * np.pi * u) if kind == "power" else u).astype(np.float32)


def _chunks(piece: Piece, *, time_map: TimeMap, out_bar_sec: float, sample_rate_hz: int,
            chunked: bool) -> list[tuple[int, int]]:
    """[start, end) sample spans covering the piece: cut on output bars of the piece (every
    ~`_CHUNK_SEC`, when `chunked`) and wherever the time map changes speed by more than
    `_SPEED_JUMP` (a beat-by-beat warp of a drifting bar), so that each span is stretched
    at a steady speed and starts exactly where the map says."""
    sr = sample_rate_hz
    cuts: set[int] = set()
    if chunked:
        bars = max(1, math.floor(_CHUNK_SEC / out_bar_sec + 1e-9))
        step = bars * out_bar_sec
        m = math.floor((piece.out_start / sr - piece.anchor_out_sec) / step) + 1
        while (cut := round((piece.anchor_out_sec + m * step) * sr)) < piece.out_end:
            cuts.add(cut)
            m += 1
    slopes = np.diff(time_map.src_sec) / np.diff(time_map.out_sec)
    jumps = np.abs(np.diff(slopes)) > _SPEED_JUMP * np.abs(slopes[1:])
    for knot_sec in time_map.out_sec[1:-1][jumps]:
        cut = round(knot_sec * sr)
        if piece.out_start < cut < piece.out_end:
            cuts.add(cut)
    edges = [piece.out_start]
    min_span = int(_MIN_SPAN_SEC * sr)
    for cut in sorted(cuts):
        if cut - edges[-1] >= min_span and piece.out_end - cut >= min_span:
            edges.append(cut)
    edges.append(piece.out_end)
    return list(itertools.pairwise(edges))


@dataclass(frozen=True)
class SpanJob:
    """One stretcher call of a placement and where its output goes in the dry buffer."""

    read: SpanRead
    pos: int  # buffer index of the span's first sample (its lead included)
    lead: int  # samples before the span's start that crossfade with what is before
    splice: Literal["linear", "power"] | None  # None: the first span, written as is


def plan_spans(p: Placement, ctx: SongContext, *, settings: RenderSettings,
               beat_sec: float) -> list[SpanJob]:
    """The stretcher calls that render placement `p`, in order (pure; no audio)."""
    sr = settings.sample_rate_hz
    origin = p.start - p.preroll
    splice = max(1, int(settings.loop_splice_ms * sr / 1000))
    out_bar_sec = ctx.analysis.beats_per_bar * beat_sec  # output bars, not source bars
    jobs: list[SpanJob] = []
    for k, piece in enumerate(p.pieces):
        time_map = build_time_map(ctx.analysis, anchor_bar=piece.anchor_bar,
                                  anchor_out_sec=piece.anchor_out_sec, ratio=ctx.ratio,
                                  target_beat_sec=beat_sec, mode=settings.time_map)
        spans = _chunks(piece, time_map=time_map, out_bar_sec=out_bar_sec, sample_rate_hz=sr,
                        chunked=settings.stretch_high_quality)
        for j, (a, b) in enumerate(spans):
            first = not jobs
            lead = p.preroll if first else min(splice, a - origin)
            read = plan_span(time_map, out_start=a - lead, n_out=b - a + lead,
                             sample_rate_hz=sr, high_quality=settings.stretch_high_quality)
            kind: Literal["linear", "power"] | None = (
                None if first else "power" if j == 0 and k > 0 else "linear")
            jobs.append(SpanJob(read, a - lead - origin, lead, kind))
    return jobs


def splice_spans(p: Placement, jobs: list[SpanJob], audios: list[np.ndarray]) -> np.ndarray:
    """The dry buffer of `p` from its spans' audio (one (2, n_out) per job), at its volume
    (the plan's volume_db plus the song's level match, `gain_db`):
    float32 (2, preroll + end - start). Within a piece the splices are 10 ms linear
    crossfades (both sides are the same source audio); a loop restart is equal-power."""
    out = np.zeros((2, p.end - p.start + p.preroll), dtype=np.float32)
    for job, audio in zip(jobs, audios, strict=True):
        pos, lead = job.pos, job.lead
        if job.splice is None:
            out[:, pos:pos + audio.shape[1]] = audio
            continue
        audio = audio.copy()
        audio[:, :lead] *= fade_curve(lead, job.splice, rising=True)
        out[:, pos:pos + lead] *= fade_curve(lead, job.splice, rising=False)
        out[:, pos:pos + audio.shape[1]] += audio
    return out * np.float32(10 ** ((p.volume_db + p.gain_db) / 20))


def stretch_job(material: SongMaterial, stem: str, read: SpanRead, *, pitch: int,
                settings: RenderSettings, options: StemStretch) -> np.ndarray:
    """What one span of `stem` is cut from (at `read.source_offset(pitch)`): its source
    samples through the stretcher, with the map and shift every stem of a song shares."""
    segment = material.stem_audio(stem, read.src_start, read.src_stop)
    return stretch_source(segment, read, pitch_semitones=pitch,
                          sample_rate_hz=settings.sample_rate_hz,
                          high_quality=settings.stretch_high_quality, options=options)


def render_dry(p: Placement, material: SongMaterial, ctx: SongContext, *, pitch: int,
               settings: RenderSettings, beat_sec: float) -> np.ndarray:
    """Warped audio of a placement at its volume: float32 (2, preroll + end - start),
    its spans stretched one after the other (`dry_pool` runs them in parallel). The
    placement is taken to play without other stems of its song (a section's fill)."""
    jobs = plan_spans(p, ctx, settings=settings, beat_sec=beat_sec)
    options = stem_stretch(p.stem)
    audios = [cut_span(stretch_job(material, p.stem, job.read, pitch=pitch, settings=settings,
                                   options=options),
                       job.read.source_offset(pitch), n_out=job.read.n_out) for job in jobs]
    return splice_spans(p, jobs, audios)
