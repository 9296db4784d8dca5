"""Bring a song onto the mashup's tempo grid and key.

Time: a `TimeMap` pairs source times with output times at knots and is linear between
them. Mode "beat" (the default) has a knot at every detected beat: source downbeat j lands
on output time `anchor_out + (j - anchor) * beats_per_bar * beat_ratio * target_beat_sec`
and beat k of bar j `k * beat_ratio * target_beat_sec` after it, so a song whose tempo
drifts, even within a bar, stays locked beat by beat. A bar whose detected beats do not
number `beats_per_bar` (a missed or doubled beat) keeps only its downbeat knots, so one
bad beat can never shift the bars after it. Mode "bar" has knots at downbeats only,
"constant" one slope for the whole song. Rubber Band (`pedalboard.time_stretch`) renders
the map with a per-sample stretch factor equal to its local slope.

Tempo folding (`shared.tempo_grid`, which the planner shares): a song is played at 1x, 2x
or 0.5x beats per output beat (3:2 only when the simple ratios would need far more
stretching), the ratio needing the least stretch.

Pitch: the shift that lets the song's key layer over the target key
(`shared.harmony.layering_shift`, the scoring's choice: none for keys a fifth apart,
relative or parallel, else the smallest that helps; into the key itself, −6…+5
semitones, when nothing smaller avoids a clash). Every stem
of a song, drums included, is warped with the same map and the same shift, so stems
summed in the output cannot flam or phase against each other (bleed of one stem in
another stays coherent).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from services.processing.material import SongAnalysis
from services.processing.settings import TimeMapMode
from services.processing.stretch import StemStretch, time_stretch

_UNITY_TOLERANCE = 1e-6
# Input after a span that the high-quality engine still reads: its output over the span
# is the same bytes with 0.12 s as with more (with 0.05 s it is not), so no more is fed.
_HQ_TAIL_SEC = 0.12
# Constant speeds are rounded to 12 decimals, so the same phrase placed again on the same
# map a whole number of bars later is the very same stretch (which `dry_pool` runs once)
# when it also reads the same source samples. (Snapping the reads to a coarser sample
# grid to make that more likely was tried: the stretchers' timing then wanders by a few
# ms with the snap, so reads start where the map says, to the sample.)
_FACTOR_DECIMALS = 12


@dataclass(frozen=True)
class TimeMap:
    """Piecewise-linear map between source and output time (seconds), both increasing."""

    src_sec: np.ndarray
    out_sec: np.ndarray

    def __post_init__(self) -> None:
        if self.src_sec.size < 2 or self.src_sec.size != self.out_sec.size:
            raise ValueError("a time map needs at least two knots on each side")

    def _extrapolate(self, x: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        y = np.interp(x, xs, ys)
        lo, hi = x < xs[0], x > xs[-1]
        y[lo] = ys[0] + (x[lo] - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0])
        y[hi] = ys[-1] + (x[hi] - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        return y

    def to_src(self, out_sec: float | np.ndarray) -> np.ndarray:
        return self._extrapolate(np.atleast_1d(np.asarray(out_sec, float)), self.out_sec,
                                 self.src_sec)

    def to_out(self, src_sec: float | np.ndarray) -> np.ndarray:
        return self._extrapolate(np.atleast_1d(np.asarray(src_sec, float)), self.src_sec,
                                 self.out_sec)

    @cached_property
    def slopes(self) -> np.ndarray:
        """Source seconds per output second (the stretch factor) of each segment between
        knots; computed once per map, which every span of a placement consults."""
        return np.diff(self.src_sec) / np.diff(self.out_sec)

    def _segment_of(self, src_sec: np.ndarray | list[float]) -> np.ndarray:
        """Index of the segment each source time falls in (the end segments extended)."""
        return np.clip(np.searchsorted(self.src_sec, src_sec, side="right") - 1, 0,
                       self.slopes.size - 1)

    def slopes_between(self, src0_sec: float, src1_sec: float) -> np.ndarray:
        """The stretch factors of every segment of the map that source times
        [src0_sec, src1_sec] touch, in order (the same as `slope_at_src` gives there)."""
        i0, i1 = self._segment_of([src0_sec, src1_sec])
        return self.slopes[i0:i1 + 1]

    def slope_at_src(self, src_sec: np.ndarray) -> np.ndarray:
        """Source seconds per output second at each source time (the stretch factor)."""
        return self.slopes[self._segment_of(src_sec)]


def build_time_map(analysis: SongAnalysis, *, anchor_bar: int, anchor_out_sec: float,
                   ratio: float, target_beat_sec: float, mode: TimeMapMode) -> TimeMap:
    """The map that puts source downbeat `anchor_bar` at output time `anchor_out_sec`."""
    downbeats = analysis.downbeats_sec
    bpb = analysis.beats_per_bar
    out_bar_sec = bpb * ratio * target_beat_sec
    if mode == "beat":
        src, bar_pos = analysis.beat_knots
        return TimeMap(src_sec=src, out_sec=anchor_out_sec + (bar_pos - anchor_bar) * out_bar_sec)
    if mode == "constant":
        src0 = float(downbeats[anchor_bar])
        return TimeMap(src_sec=np.array([src0, src0 + analysis.bar_sec]),
                       out_sec=np.array([anchor_out_sec, anchor_out_sec + out_bar_sec]))
    out = anchor_out_sec + (np.arange(downbeats.size) - anchor_bar) * out_bar_sec
    return TimeMap(src_sec=downbeats.copy(), out_sec=out)


@dataclass(frozen=True)
class SpanRead:
    """How one output span is made: source samples [src_start, src_stop) through the
    stretcher at `factors`, then `n_out` samples from index `out_offset` of its output.
    When `unity` (speed 1) and unshifted it is a plain copy from `copy_offset` of the
    segment, with no stretcher colouring."""

    src_start: int
    src_stop: int
    factors: float | np.ndarray  # source samples per output sample: constant or per input
    out_offset: int
    n_out: int
    copy_offset: int  # index in the segment of the first wanted sample (unity copy)
    unity: bool

    @cached_property
    def _stretch_key(self) -> tuple[object, ...]:
        # Hashing a span's per-sample factors costs ~2 ms; the dry pool asks twice.
        factors = self.factors
        shape = (factors if isinstance(factors, float) else
                 hashlib.blake2b(factors.tobytes(), digest_size=16).hexdigest())
        return self.src_start, self.src_stop, shape, self.unity

    def stretch_key(self) -> tuple[object, ...]:
        """Equal keys (same stem and pitch assumed) give the same stretcher output."""
        return self._stretch_key

    def source_offset(self, pitch_semitones: float) -> int:
        """Index of the span's first sample in what `stretch_source` returns."""
        return self.copy_offset if self.unity and pitch_semitones == 0 else self.out_offset


def plan_span(time_map: TimeMap, *, out_start: int, n_out: int, sample_rate_hz: int,
              high_quality: bool = True, margin_sec: float = 0.25,
              tail_sec: float | None = None) -> SpanRead:
    """Which source samples, at which speeds, render output samples [out_start,
    out_start + n_out) through `time_map` (pure: `stretch_source` does the work).

    The source range is read with `margin_sec` of context before it, so the stretcher has
    settled (its timing too) when the span starts, and `tail_sec` after it (default:
    `_HQ_TAIL_SEC` for the high-quality engine, else `margin_sec`); source time outside
    the song reads as silence.
    """
    sr = sample_rate_hz
    src0, src1 = time_map.to_src(np.array([out_start / sr, (out_start + n_out) / sr]))
    a = math.floor((src0 - margin_sec) * sr)
    if tail_sec is None:
        tail_sec = _HQ_TAIL_SEC if high_quality else margin_sec
    b = math.ceil((src1 + tail_sec) * sr)
    # The margins stretch at the span's edge speeds: a speed change just outside the span
    # would reach the stretcher late (it follows ratio changes with some lag).
    offset_in = src0 * sr - a  # fractional input index of the first wanted sample
    whole = math.floor(offset_in)
    speeds = time_map.slopes_between(src0, max(src0, src1 - 0.5 / sr))
    if float(speeds.max() - speeds.min()) <= _UNITY_TOLERANCE * float(speeds.max()):
        # One speed over the whole read (the usual case): no per-sample array needed.
        factor = round(float(speeds[0]), _FACTOR_DECIMALS)
        # The output index of input sample i is i / factor.
        return SpanRead(a, b, factor, round(whole / factor + (offset_in - whole) / factor),
                        n_out, copy_offset=round(offset_in),
                        unity=abs(factor - 1.0) < _UNITY_TOLERANCE)
    src_times = np.clip((a + np.arange(b - a)) / sr, src0, max(src0, src1 - 0.5 / sr))
    factors = time_map.slope_at_src(src_times).astype(np.float64)
    # The output index of input sample i is the integral of 1/factor up to i.
    out_pos = float(np.sum(1.0 / factors[:whole])) + (offset_in - whole) / factors[whole]
    return SpanRead(a, b, factors, round(out_pos), n_out, copy_offset=round(offset_in),
                    unity=False)


def stretch_source(segment: np.ndarray, read: SpanRead, *, pitch_semitones: float,
                   sample_rate_hz: int, high_quality: bool,
                   options: StemStretch = StemStretch()) -> np.ndarray:
    """What the span is cut from (at `read.source_offset(pitch_semitones)`): the
    stretcher's output for `segment` (2, src_stop - src_start), or for a unity copy the
    segment itself."""
    if read.unity and pitch_semitones == 0:
        return segment
    return time_stretch(segment, sample_rate_hz=sample_rate_hz, factors=read.factors,
                        pitch_semitones=pitch_semitones, high_quality=high_quality,
                        options=options)


def cut_span(source: np.ndarray, offset: int, *, n_out: int) -> np.ndarray:
    """`n_out` samples of `source` from `offset` (zeros past its end): float32 (2, n_out)."""
    out = source[:, offset:offset + n_out]
    if out.shape[1] < n_out:
        out = np.pad(out, ((0, 0), (0, n_out - out.shape[1])))
    return np.ascontiguousarray(out, dtype=np.float32)
