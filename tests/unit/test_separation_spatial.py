"""The multichannel Wiener filter: stems re-shared by their power and stereo image."""

from __future__ import annotations

import numpy as np
import pytest

from services.separation.metrics import sdr_db
from services.separation.spatial import multichannel_wiener
from services.separation.stft import istft, stft

N_FFT, HOP = 1024, 256
SR = 22050


def _noise(seed: int, seconds: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(round(seconds * SR)).astype(np.float32)


def _two_sources() -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping broadband sources: one panned hard left, one in the centre."""
    left = np.stack([_noise(1), np.zeros(round(2.0 * SR), dtype=np.float32)])
    centre = np.stack([_noise(2), _noise(2)]) * 0.7
    return left, centre


def _mid_mask_estimates(mix_spec: np.ndarray, sources: list[np.ndarray]) -> list[np.ndarray]:
    """The first pass the separator makes: each source's share of the mid magnitude
    (here from the true sources: the best any mid-only mask can do), applied to both
    channels."""
    mids = [np.abs(stft(source, n_fft=N_FFT, hop_length=HOP).mean(axis=0)) for source in sources]
    total = sum(mids) + 1e-10
    return [mix_spec * (mid / total)[None] for mid in mids]


@pytest.mark.parametrize(
    ("psd_power", "iterations", "gain_db"), [(1.0, 0, 3.0), (2.0, 0, 3.0), (1.0, 3, 12.0)]
)
def test_a_source_panned_hard_left_is_recovered_better_than_by_the_mid_mask(
    psd_power: float,
    iterations: int,
    gain_db: float,
) -> None:
    left, centre = _two_sources()
    mix = left + centre
    n = mix.shape[1]
    spec = stft(mix, n_fft=N_FFT, hop_length=HOP)
    first = _mid_mask_estimates(spec, [left, centre])
    filtered = multichannel_wiener(spec, first, psd_power=psd_power, iterations=iterations)
    for truth, before, after in zip((left, centre), first, filtered, strict=True):
        before_db = sdr_db(truth, istft(before, hop_length=HOP, length_samples=n))
        after_db = sdr_db(truth, istft(after, hop_length=HOP, length_samples=n))
        # Two sources with different stereo images are separable in every bin: the
        # filter steers a null at the other one, which no shared mask can; the EM
        # re-fits sharpen the spatial model that the first pass blurred (measured:
        # 4.7 dB -> 8.4 at once, 21.6 after three re-fits).
        assert after_db > before_db + gain_db


def test_the_estimates_still_sum_to_the_mix() -> None:
    rng = np.random.default_rng(5)
    mix = rng.standard_normal((2, round(1.0 * SR))).astype(np.float32)
    spec = stft(mix, n_fft=N_FFT, hop_length=HOP)
    shares = rng.random((4, *spec.shape[1:])).astype(np.float32)
    shares /= shares.sum(axis=0, keepdims=True)
    filtered = multichannel_wiener(spec, [spec * share[None] for share in shares], iterations=1)
    assert len(filtered) == 4 and all(part.shape == spec.shape for part in filtered)
    error = np.abs(sum(filtered) - spec)
    # Only the diagonal loading (1e-3 of each bin's power) is not handed out (the caller
    # gives it to the residual stem).
    assert np.sum(error**2) < 1e-4 * np.sum(np.abs(spec) ** 2)
    assert np.max(error / (np.abs(spec).max(axis=0) + 1e-9)) < 0.02


def test_centred_sources_at_psd_power_one_keep_their_shares() -> None:
    """Where every source has the same stereo image, spatial cues add nothing and the
    filter at psd power 1 (variance = magnitude) returns the first-pass shares."""
    mono = _noise(7, seconds=1.0)
    mix = np.stack([mono, mono])
    spec = stft(mix, n_fft=N_FFT, hop_length=HOP)
    shares = np.random.default_rng(8).random((3, *spec.shape[1:])).astype(np.float32)
    shares /= shares.sum(axis=0, keepdims=True)
    first = [spec * share[None] for share in shares]
    filtered = multichannel_wiener(spec, first, psd_power=1.0)
    for before, after in zip(first, filtered, strict=True):
        np.testing.assert_allclose(np.abs(after), np.abs(before), atol=2e-3 * np.max(np.abs(spec)))


def test_rejects_a_mono_mix() -> None:
    spec = np.zeros((1, 9, 4), dtype=np.complex64)
    with pytest.raises(ValueError):
        multichannel_wiener(spec, [spec])
