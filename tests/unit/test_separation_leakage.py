"""The leak table: how much of each true stem each estimate holds, per band."""

from __future__ import annotations

import numpy as np

from services.separation.leakage import effective_mask, leak_energy
from services.separation.stft import stft

SR = 22050
BANDS_HZ = ((0.0, 200.0), (200.0, 11025.0))


def _tone(freq_hz: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return np.stack([np.sin(2 * np.pi * freq_hz * t)] * 2).astype(np.float32)


def test_effective_mask_reads_back_a_real_mask() -> None:
    rng = np.random.default_rng(0)
    mix = stft(rng.standard_normal((2, SR)).astype(np.float32), n_fft=1024, hop_length=256)
    mask = rng.random(mix.shape[1:]).astype(np.float32)
    assert np.allclose(effective_mask(mix, mix * mask[None]), mask, atol=1e-4)


def test_a_perfect_split_leaks_nothing_and_a_lumped_one_all() -> None:
    """Two tones in two bands: the true split leaks (almost) nothing; an estimate that
    puts the whole mix in "bass" holds all of the high tone's energy, in its band."""
    low, high = _tone(80.0), 0.5 * _tone(1000.0)
    mix = low + high
    truth = {"bass": low, "other": high}
    perfect, energy = leak_energy(mix, truth, truth, sample_rate_hz=SR, bands_hz=BANDS_HZ)
    assert perfect[("other", "bass")].sum() < 1e-3 * energy["other"]
    assert perfect[("bass", "other")].sum() < 1e-3 * energy["bass"]
    lumped, _ = leak_energy(mix, truth, {"bass": mix, "other": np.zeros_like(mix)},
                            sample_rate_hz=SR, bands_hz=BANDS_HZ)
    leaked = lumped[("other", "bass")]
    assert abs(leaked.sum() / energy["other"] - 1.0) < 1e-3
    assert leaked[0] < 1e-3 * leaked[1]  # all of it above 200 Hz
    assert lumped[("bass", "other")].sum() < 1e-3 * energy["bass"]
