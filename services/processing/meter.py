"""A fast BS.1770-4 integrated loudness meter for the mastering loop.

Mastering measures the whole render three times or more; pyloudnorm (used by
`shared.loudness`) filters in float64 one channel and stage at a time and gates in a
Python loop. This meter uses pyloudnorm's own K-weighting coefficients and block bounds,
filters both channels through both stages in one float32 `sosfilt` and gates with array
code; it agrees with `shared.loudness.integrated_lufs` to within 0.01 LU.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyloudnorm
from scipy import signal

from shared.loudness import SILENCE_LUFS

_BLOCK_SEC = 0.4
_STEP = 0.25  # 75 % overlap
_ABSOLUTE_GATE_LUFS = -70.0


@lru_cache(maxsize=8)
def _k_weighting_sos(sample_rate_hz: int) -> np.ndarray:
    meter = pyloudnorm.Meter(sample_rate_hz)
    rows = [np.concatenate([np.asarray(f.b, float), np.asarray(f.a, float)])
            for f in meter._filters.values()]
    return np.vstack(rows)


def integrated_lufs(audio: np.ndarray, *, sample_rate_hz: int) -> float:
    """Gated integrated loudness (LUFS) of (channels, n) audio; -70 for silence."""
    data = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    sr = sample_rate_hz
    block = int(_BLOCK_SEC * sr)
    if data.shape[1] < block + 1:
        data = np.pad(data, ((0, 0), (0, block + 1 - data.shape[1])))
    weighted = signal.sosfilt(_k_weighting_sos(sr).astype(np.float32), data, axis=-1)
    power = np.square(weighted, dtype=np.float64).sum(axis=0)  # channel weights are 1
    csum = np.concatenate([[0.0], np.cumsum(power)])
    n_blocks = int(np.round((data.shape[1] / sr - _BLOCK_SEC) / (_BLOCK_SEC * _STEP))) + 1
    j = np.arange(n_blocks)
    lower = (_BLOCK_SEC * (j * _STEP) * sr).astype(int)
    upper = np.minimum((_BLOCK_SEC * (j * _STEP + 1) * sr).astype(int), data.shape[1])
    z = (csum[upper] - csum[lower]) / (_BLOCK_SEC * sr)
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(z)
    gated = loud >= _ABSOLUTE_GATE_LUFS
    if not np.any(gated):
        return SILENCE_LUFS
    relative = -0.691 + 10 * np.log10(z[gated].mean()) - 10.0
    keep = gated & (loud > relative)
    if not np.any(keep):
        return SILENCE_LUFS
    value = -0.691 + 10 * np.log10(z[keep].mean())
    return float(value) if np.isfinite(value) else SILENCE_LUFS
