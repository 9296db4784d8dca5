"""Master the summed layers: loudness to target, gentle glue, true-peak limiting.

The limiter is a look-ahead true-peak limiter computed on the 4x oversampled signal (as
BS.1770 measures true peak; `shared.true_peak`): for every sample the gain reduction
needed to keep the oversampled peak under the ceiling, held over ±15 ms (sliding
maximum) and smoothed with a Hann window of the same span. Because every point of the
smoothing window sees the peak inside its hold, the smoothed reduction is never less than
the needed one: the gain starts falling 15 ms before a peak and recovers 15 ms after it.
It is all array code (no per-sample loop) and deterministic; a check re-measures and
repeats if a residual over remains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pedalboard
from scipy.ndimage import maximum_filter1d
from scipy.signal import oaconvolve

from shared.loudness import SILENCE_LUFS, integrated_lufs
from shared.true_peak import REACH, may_exceed, oversampled_peak, peak_given

HOLD_MS = 15.0
# Aim this far under the ceiling: other true-peak meters (other interpolation filters)
# read higher than ours, and none of them may see the ceiling crossed. Measured on the
# bench's renders: Essentia's TruePeakDetector up to 0.18 dB over ours (on sharp drum
# transients), 16x oversampling 0.05 dB.
_MARGIN_DB = 0.35
_MAX_PUSH_DB = 6.0  # most extra gain into the limiter to reach the loudness target
_LUFS_TOLERANCE = 0.3  # a render this close under the target is not pushed further
_SILENT_PEAK = 1e-6


@dataclass(frozen=True)
class MasterResult:
    audio: np.ndarray  # float32 (2, n)
    lufs: float
    true_peak_dbtp: float
    limiter_reduction_db: float  # largest gain reduction of the limiter
    warnings: list[str] = field(default_factory=list)


def _runs(mask: np.ndarray, *, gap: int) -> list[tuple[int, int]]:
    """[start, stop) of the runs of True in `mask` (n,), runs closer than `gap` merged."""
    hot = np.flatnonzero(mask)
    if hot.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(hot) > gap)
    starts = hot[np.concatenate(([0], breaks + 1))]
    stops = hot[np.concatenate((breaks, [hot.size - 1]))] + 1
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _dilate(mask: np.ndarray, reach: int) -> np.ndarray:
    """`mask` (n,) widened by `reach` samples either side (a running maximum, done run by
    run: the limiter's masks are short runs in a long song)."""
    out = np.zeros_like(mask)
    for a, b in _runs(mask, gap=2 * reach):
        out[max(0, a - reach):b + reach] = True
    return out


def limiter_gain_db(peak: np.ndarray, *, sample_rate_hz: int, ceiling_dbtp: float,
                    hold_ms: float = HOLD_MS) -> np.ndarray:
    """Smoothed gain (n,) in dB (≤ 0) that brings a true-peak envelope `peak` (n,) under
    the ceiling (less a small margin); exactly 0 away from the peaks."""
    need_db = np.maximum(0.0, 20 * np.log10(np.maximum(peak, 1e-12)) - ceiling_dbtp
                         + _MARGIN_DB)
    gain_db = np.zeros(peak.size)
    half = max(1, int(hold_ms * sample_rate_hz / 1000))
    window = np.hanning(2 * half + 3)[1:-1]
    # A need reaches `half` samples through the hold and `half` more through the
    # smoothing, so each run of needs is computed alone with that much room each side
    # (the rest of a song needs no gain: typically 99 % of it).
    reach = 2 * half + 2
    for a, b in _runs(need_db > 0, gap=2 * reach):
        a, b = max(0, a - reach), min(peak.size, b + reach)
        held = maximum_filter1d(need_db[a:b], size=2 * half + 1, mode="nearest")
        smooth = oaconvolve(held, window / window.sum(), mode="same")
        gain_db[a:b] = -np.maximum(smooth, need_db[a:b])
    return gain_db


def limit_true_peak(audio: np.ndarray, *, sample_rate_hz: int, ceiling_dbtp: float,
                    max_passes: int = 4) -> tuple[np.ndarray, float, float]:
    """Apply the limiter until the true peak is under the ceiling.

    Returns (limited float32 (2, n), largest gain reduction in dB ≥ 0, its true peak in
    dBTP: exact, as `shared.true_peak.true_peak_dbtp` measures it).
    """
    # float32 throughout (the output is 24-bit at most): half the memory traffic of float64.
    out = np.array(audio, dtype=np.float32)
    worst = 0.0
    accept_db = ceiling_dbtp - _MARGIN_DB / 2
    # Where the true peak cannot reach the limiter's threshold it needs no exact value;
    # after a pass only the samples whose gain changed (and their filter reach) change.
    threshold = 10 ** ((ceiling_dbtp - _MARGIN_DB) / 20)
    # `peak` is exact where `known` (the blocks that may reach the threshold, and what a
    # pass changed); elsewhere it is the sample peak, and the true peak is under the
    # threshold.
    known = may_exceed(out, threshold)
    peak = oversampled_peak(out, only=known)
    for _ in range(max_passes):
        tp = 20 * np.log10(max(float(peak.max()), 1e-12))
        if tp <= accept_db:
            break
        gain_db = limiter_gain_db(peak, sample_rate_hz=sample_rate_hz, ceiling_dbtp=ceiling_dbtp)
        worst = max(worst, float(-gain_db.min()))
        changed = gain_db < 0
        for a, b in _runs(changed, gap=1):  # only where the gain is under 0 dB
            out[:, a:b] *= (10 ** (gain_db[a:b] / 20)).astype(np.float32)
        changed = _dilate(changed, REACH)
        peak = np.where(changed, oversampled_peak(out, only=changed), peak)
        known |= changed
    else:  # still over after every pass: trim the residual flat
        tp = 20 * np.log10(max(float(oversampled_peak(out).max()), 1e-12))
        if tp > accept_db:
            out *= np.float32(10 ** ((ceiling_dbtp - _MARGIN_DB - tp) / 20))
            tp = ceiling_dbtp - _MARGIN_DB
        return out, worst, tp
    # The limiter's envelope is exact where it may reach the threshold; its peaks sit there,
    # so the exact figure usually needs no more oversampling.
    best = peak_given(out, peak, known)
    return out, worst, 20 * np.log10(best) if best > 0 else -np.inf


def _glue(audio: np.ndarray, *, sample_rate_hz: int) -> np.ndarray:
    """Gentle 2:1 bus compression on the loud parts only (threshold 8 dB under 0 dBFS at
    the target loudness), for glue between layers from different songs."""
    comp = pedalboard.Compressor(threshold_db=-8.0, ratio=2.0, attack_ms=15.0, release_ms=150.0)
    return comp(np.asarray(audio, dtype=np.float32), sample_rate_hz)


def master(mix: np.ndarray, *, sample_rate_hz: int, target_lufs: float, ceiling_dbtp: float,
           bus_compression: bool = True) -> MasterResult:
    """Normalise `mix` (2, n) to `target_lufs`, glue, and limit to `ceiling_dbtp` true peak.

    When limiting costs loudness, more gain is pushed into the limiter (at most 6 dB) until
    the target is met; what is reported is always measured on the final samples.
    """
    audio = np.array(mix, dtype=np.float32)  # a copy: the caller's mix is left alone
    if audio.size == 0 or float(np.max(np.abs(audio))) < _SILENT_PEAK:
        return MasterResult(np.zeros_like(audio, dtype=np.float32), SILENCE_LUFS, -np.inf, 0.0,
                            ["the render is silent; nothing to master"])
    sr = sample_rate_hz
    audio *= np.float32(10 ** ((target_lufs - integrated_lufs(audio, sample_rate_hz=sr)) / 20))
    if bus_compression:
        audio = _glue(audio, sample_rate_hz=sr)
        audio *= np.float32(10 ** ((target_lufs - integrated_lufs(audio, sample_rate_hz=sr)) / 20))
    push_db = 0.0
    limited, reduction, tp = limit_true_peak(audio, sample_rate_hz=sr, ceiling_dbtp=ceiling_dbtp)
    lufs = integrated_lufs(limited, sample_rate_hz=sr)
    for _ in range(3):
        shortfall = target_lufs - lufs
        if shortfall < _LUFS_TOLERANCE or push_db >= _MAX_PUSH_DB:
            break
        # Limiting eats part of any push, so push a little more than the shortfall.
        push_db = min(_MAX_PUSH_DB, push_db + 1.2 * shortfall)
        limited, reduction, tp = limit_true_peak(audio * np.float32(10 ** (push_db / 20)),
                                                 sample_rate_hz=sr, ceiling_dbtp=ceiling_dbtp)
        lufs = integrated_lufs(limited, sample_rate_hz=sr)
    warnings = []
    if abs(lufs - target_lufs) > 1.0:
        warnings.append(f"loudness is {lufs:.1f} LUFS, not the {target_lufs:g} LUFS target: the "
                        f"{ceiling_dbtp:g} dBTP ceiling allows no more without heavy limiting")
    return MasterResult(limited, lufs, tp, reduction, warnings)
