"""The vectorised BS.1770 integrated loudness against pyloudnorm's reference loop."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from shared.loudness import SILENCE_LUFS, integrated_lufs


@pytest.mark.parametrize("sample_rate_hz", [22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_matches_pyloudnorm(sample_rate_hz: int, channels: int) -> None:
    rng = np.random.default_rng(channels)
    n = int(7.3 * sample_rate_hz)
    # Loud and quiet passages and a silent stretch, so both gates matter.
    level = np.repeat([0.3, 0.01, 0.0, 0.5, 0.05], n // 5 + 1)[:n]
    audio = (rng.standard_normal((channels, n)) * level).astype(np.float32)
    reference = pyloudnorm.Meter(sample_rate_hz).integrated_loudness(
        audio.T.astype(np.float64) if channels == 2 else audio[0].astype(np.float64))
    measured = integrated_lufs(audio if channels == 2 else audio[0],
                               sample_rate_hz=sample_rate_hz)
    assert measured == pytest.approx(reference, abs=0.01)


def test_silence_and_tiny_input() -> None:
    assert integrated_lufs(np.zeros((2, 44100)), sample_rate_hz=44100) == SILENCE_LUFS
    assert np.isfinite(integrated_lufs(np.full(100, 0.5), sample_rate_hz=44100))
