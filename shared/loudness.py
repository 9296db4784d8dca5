"""Loudness measurements used by analysis, mastering and the checks: ITU-R BS.1770
integrated loudness (pyloudnorm) and true peak (4x oversampled, as BS.1770 Annex 2)."""

from __future__ import annotations

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

SILENCE_LUFS = -70.0


def integrated_lufs(samples: np.ndarray, *, sample_rate_hz: int) -> float:
    """Integrated loudness in LUFS of (channels, n) or (n,) audio; -70 for silence."""
    data = samples.T if samples.ndim == 2 else samples
    min_len = int(0.4 * sample_rate_hz) + 1
    if data.shape[0] < min_len:
        data = np.concatenate([data, np.zeros((min_len - data.shape[0], *data.shape[1:]))])
    meter = pyloudnorm.Meter(sample_rate_hz)
    value = float(meter.integrated_loudness(np.asarray(data, dtype=np.float64)))
    return value if np.isfinite(value) else SILENCE_LUFS


def true_peak_dbtp(samples: np.ndarray, *, sample_rate_hz: int, oversample: int = 4) -> float:
    """True peak in dBTP: the sample peak of the signal oversampled `oversample` times."""
    data = samples if samples.ndim == 2 else samples[None, :]
    if data.size == 0:
        return -np.inf
    factor = oversample if sample_rate_hz < 176400 else 1
    up = resample_poly(data.astype(np.float64), factor, 1, axis=-1) if factor > 1 else data
    peak = float(np.max(np.abs(up)))
    return 20 * np.log10(peak) if peak > 0 else -np.inf


def db_to_gain(gain_db: float) -> float:
    return float(10 ** (gain_db / 20))


def gain_to_db(gain: float) -> float:
    return float(20 * np.log10(max(gain, 1e-12)))
