"""True peak: the blockwise computation gives the whole-signal 4x oversampled peak."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from shared.true_peak import BLOCK, may_exceed, oversampled_peak, true_peak_dbtp

SR = 44100


def _reference_dbtp(audio: np.ndarray) -> float:
    """BS.1770 Annex 2 the plain way: oversample the whole signal 4x, take its peak."""
    up = resample_poly(audio.astype(np.float64), 4, 1, axis=-1)
    return 20 * float(np.log10(np.max(np.abs(up))))


def _intersample_tone(n: int, level: float = 1.0) -> np.ndarray:
    # A sine at fs/4 with a 45° phase: its samples sit 3 dB under its true peak.
    tone = level * np.sin(2 * np.pi * np.arange(n) / 4 + np.pi / 4)
    return np.stack([tone, tone])


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_whole_signal_oversampling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40) * BLOCK + rng.integers(0, BLOCK))
    audio = 0.1 * rng.standard_normal((2, n))
    # Loud bursts in a few places, one of them an intersample peak over its sample peak.
    for _ in range(4):
        at = int(rng.integers(0, n - 512))
        audio[:, at:at + 512] += _intersample_tone(512, float(rng.uniform(0.3, 0.8)))
    audio = audio.astype(np.float32)
    assert true_peak_dbtp(audio, sample_rate_hz=SR) == pytest.approx(_reference_dbtp(audio),
                                                                   abs=1e-4)


def test_an_intersample_peak_away_from_the_sample_peak_is_found() -> None:
    # The largest sample is a lone spike; the true peak is a tone elsewhere whose samples
    # are lower than the spike but whose waveform between them is higher.
    n = 20 * BLOCK
    audio = np.zeros((2, n), dtype=np.float32)
    audio[:, 3 * BLOCK] = 0.75
    audio[:, 15 * BLOCK:15 * BLOCK + 400] = _intersample_tone(400, 1.0)  # samples ~0.707
    measured = true_peak_dbtp(audio, sample_rate_hz=SR)
    assert measured == pytest.approx(_reference_dbtp(audio), abs=1e-4)
    assert measured > 20 * np.log10(0.75) + 0.5


def test_mono_silence_and_high_rates() -> None:
    mono = _intersample_tone(SR)[0].astype(np.float32)
    assert true_peak_dbtp(mono, sample_rate_hz=SR) == pytest.approx(
        _reference_dbtp(mono[None, :]), abs=1e-4)
    assert true_peak_dbtp(np.zeros((2, SR), dtype=np.float32), sample_rate_hz=SR) == -np.inf
    assert true_peak_dbtp(np.zeros((2, 0), dtype=np.float32), sample_rate_hz=SR) == -np.inf
    # At 176.4 kHz and above the samples are dense enough: the sample peak is the answer.
    assert true_peak_dbtp(0.5 * mono, sample_rate_hz=192000) == pytest.approx(
        20 * np.log10(0.5 * np.max(np.abs(mono))), abs=1e-6)


def test_outside_the_hot_blocks_nothing_reaches_the_level() -> None:
    rng = np.random.default_rng(9)
    audio = (0.05 * rng.standard_normal((2, 12 * BLOCK))).astype(np.float32)
    audio[:, 5 * BLOCK + 100:5 * BLOCK + 600] = _intersample_tone(500, 0.9)
    hot = may_exceed(audio, 0.5)
    whole = oversampled_peak(audio)
    assert hot.any() and not hot.all()
    assert float(whole[~hot].max()) < 0.5
