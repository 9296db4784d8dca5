"""Loudness measurements used by analysis, mastering and the checks: ITU-R BS.1770
integrated loudness (as pyloudnorm measures it). True peak is `shared.true_peak`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
import pyloudnorm
from scipy.signal import sosfilt

SILENCE_LUFS = -70.0


@cache
def _k_weighting_sos(sample_rate_hz: int) -> np.ndarray:
    """pyloudnorm's BS.1770 K-weighting (high shelf, then high pass) for this rate, as
    second-order sections."""
    meter = pyloudnorm.Meter(sample_rate_hz)
    sections = [np.concatenate([f.b * f.passband_gain, f.a]) for f in meter._filters.values()]
    return np.asarray(sections, dtype=np.float64)


_THREADS = 2


def integrated_lufs(samples: np.ndarray, *, sample_rate_hz: int) -> float:
    """Integrated loudness in LUFS of (channels, n) or (n,) audio; -70 for silence.

    BS.1770-4 as pyloudnorm measures it (same filters, 400 ms blocks every 100 ms,
    absolute and relative gates; within 0.01 LU of it), five times cheaper: the filters
    run as single-precision second-order sections and the blocks are summed at once."""
    data = np.asarray(samples if samples.ndim == 2 else samples[None, :], dtype=np.float32)
    min_len = int(0.4 * sample_rate_hz) + 1
    if data.shape[1] < min_len:
        data = np.pad(data, ((0, 0), (0, min_len - data.shape[1])))
    # Second-order sections stay exact in single precision (within 1e-4 dB here).
    sos = _k_weighting_sos(sample_rate_hz).astype(np.float32)
    n_blocks = int(np.round((data.shape[1] / sample_rate_hz - 0.4) / 0.1)) + 1
    # 400 ms blocks every 100 ms: sums over 100 ms steps, four of them to a block. A
    # step that runs past the end sums what there is (as pyloudnorm's slices do).
    steps = (0.1 * np.arange(n_blocks + 4) * sample_rate_hz).astype(np.int64)
    starts = steps[:-1]
    inside = starts < data.shape[1]
    step_sums = np.zeros((data.shape[0], len(starts)))

    def weigh(channel: int) -> None:  # a channel at a time: one filtered copy of a channel
        weighted = sosfilt(sos, data[channel])
        np.square(weighted, out=weighted)
        step_sums[channel, inside] = np.add.reduceat(weighted[: steps[-1]], starts[inside],
                                                     dtype=np.float64)

    # Two channels in two threads (scipy's filter runs without the GIL): the mastering
    # measures a render three times while the other core would idle.
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        list(pool.map(weigh, range(data.shape[0])))
    block_sums = sum(step_sums[:, k:k + n_blocks] for k in range(4))
    z = block_sums / (0.4 * sample_rate_hz)  # mean square per channel and block
    gains = np.array([1.0, 1.0, 1.0, 1.41, 1.41])[: data.shape[0], None]
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(np.sum(gains * z, axis=0))
        above_absolute = block_lufs >= -70.0
        if not above_absolute.any():
            return SILENCE_LUFS
        relative = -0.691 + 10.0 * np.log10(
            np.sum(gains * z[:, above_absolute].mean(axis=1, keepdims=True))) - 10.0
        gated = (block_lufs > relative) & (block_lufs > -70.0)
        if not gated.any():
            return SILENCE_LUFS
        value = -0.691 + 10.0 * np.log10(np.sum(gains * z[:, gated].mean(axis=1, keepdims=True)))
    return float(value) if np.isfinite(value) else SILENCE_LUFS


def db_to_gain(gain_db: float) -> float:
    return float(10 ** (gain_db / 20))


def gain_to_db(gain: float) -> float:
    return float(20 * np.log10(max(gain, 1e-12)))
