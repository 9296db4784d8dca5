"""Render one placement dry: its pieces through Rubber Band, spliced, at its volume.

Rubber Band's high-quality engine (as pedalboard drives it) realises a stretch ratio only
to about ±0.2 %, a drift of up to 2 ms per second that a long section would accumulate
into an audible flam against the other song. So in that mode every piece is rendered in
chunks of about `_CHUNK_SEC` (whole output bars) that each start exactly on their bar,
spliced with 10 ms linear crossfades that end on a downbeat (both sides are the same
source audio, so equal gain keeps the level). A loop restart is spliced the same way
with an equal-power curve (different audio on each side). The fast engine keeps time
exactly and is rendered a piece at a time.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from services.processing.arrange import Piece, Placement, SongContext
from services.processing.material import SongMaterial
from services.processing.settings import RenderSettings
from services.processing.warp import build_time_map, stretch_span

_CHUNK_SEC = 4.0


def fade_curve(n: int, kind: str, *, rising: bool) -> np.ndarray:
    """(n,) gains: "power" is sin (equal power), "linear" equal gain; rising or falling."""
    u = (np.arange(n) + 0.5) / max(n, 1)
    u = u if rising else 1.0 - u
    return (np.sin(0.5 * np.pi * u) if kind == "power" else u).astype(np.float32)


def _chunks(piece: Piece, *, out_bar_sec: float, sample_rate_hz: int,
            chunked: bool) -> list[tuple[int, int]]:
    """[start, end) sample spans covering the piece, cut on output bars of the piece."""
    if not chunked:
        return [(piece.out_start, piece.out_end)]
    bars = max(1, math.floor(_CHUNK_SEC / out_bar_sec + 1e-9))
    step = bars * out_bar_sec
    first = math.floor((piece.out_start / sample_rate_hz - piece.anchor_out_sec) / step) + 1
    cuts = [piece.out_start]
    m = first
    while True:
        cut = round((piece.anchor_out_sec + m * step) * sample_rate_hz)
        if cut >= piece.out_end:
            break
        if cut > cuts[-1]:
            cuts.append(cut)
        m += 1
    cuts.append(piece.out_end)
    return list(itertools.pairwise(cuts))


def render_dry(p: Placement, material: SongMaterial, ctx: SongContext, *, pitch: int,
               settings: RenderSettings, beat_sec: float) -> np.ndarray:
    """Warped audio of a placement at its volume: float32 (2, preroll + end - start)."""
    sr = settings.sample_rate_hz
    origin = p.start - p.preroll
    out = np.zeros((2, p.end - origin), dtype=np.float32)
    splice = max(1, int(settings.loop_splice_ms * sr / 1000))
    out_bar_sec = ctx.analysis.beats_per_bar * beat_sec  # output bars, not source bars
    first = True
    for k, piece in enumerate(p.pieces):
        time_map = build_time_map(ctx.analysis, anchor_bar=piece.anchor_bar,
                                  anchor_out_sec=piece.anchor_out_sec, ratio=ctx.ratio,
                                  target_beat_sec=beat_sec, mode=settings.time_map)
        spans = _chunks(piece, out_bar_sec=out_bar_sec, sample_rate_hz=sr,
                        chunked=settings.stretch_high_quality)
        for j, (a, b) in enumerate(spans):
            lead = p.preroll if first else min(splice, a - origin)
            audio = stretch_span(material, p.stem, time_map=time_map, out_start=a - lead,
                                 n_out=b - a + lead, pitch_semitones=pitch,
                                 high_quality=settings.stretch_high_quality)
            pos = a - lead - origin
            if first:
                out[:, pos:pos + audio.shape[1]] = audio
                first = False
                continue
            kind = "power" if j == 0 and k > 0 else "linear"
            audio[:, :lead] *= fade_curve(lead, kind, rising=True)
            out[:, pos:pos + lead] *= fade_curve(lead, kind, rising=False)
            out[:, pos:pos + audio.shape[1]] += audio
    return out * np.float32(10 ** (p.volume_db / 20))
