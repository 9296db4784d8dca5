"""The melody comb's contrast per band (`comb_bands`): where the voice has partials."""

from __future__ import annotations

import numpy as np

from services.separation.comb_bands import add_band_power, band_contrast, band_gain, band_index
from services.separation.masks import MaskParams, comb_mask, hpss_medians, stem_masks
from services.separation.melody import MelodyTrack
from services.separation.stft import stft

SR = 22050
N_FFT = 2048
HOP = 512
EDGES_HZ = MaskParams().vocal_band_edges_hz


def _voice_in_noise() -> tuple[np.ndarray, np.ndarray, MelodyTrack]:
    """A 220 Hz tone with partials up to 880 Hz over white noise: (magnitude, freqs,
    a sure melody track on it)."""
    rng = np.random.default_rng(5)
    t = np.arange(round(4.0 * SR)) / SR
    voice = sum(np.sin(2 * np.pi * k * 220.0 * t) / k for k in range(1, 5))
    mix = (0.1 * voice + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    magnitude = np.abs(stft(mix, n_fft=N_FFT, hop_length=HOP))
    n_frames = magnitude.shape[1]
    freqs_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SR).astype(np.float32)
    f0 = np.full(n_frames, 220.0, np.float32)
    return magnitude, freqs_hz, MelodyTrack(f0, np.zeros(n_frames, np.float32),
                                            np.ones(n_frames, np.float32))


def _contrast(magnitude: np.ndarray, freqs_hz: np.ndarray, comb: np.ndarray,
              f0_hz: float, *, n_harmonics: int) -> np.ndarray:
    bands = band_index(freqs_hz, EDGES_HZ)
    sums = np.zeros((4, len(EDGES_HZ) - 1))
    inside = np.broadcast_to((freqs_hz < n_harmonics * f0_hz)[:, None], magnitude.shape)
    add_band_power(sums, magnitude**2, comb, bands=bands,
                   frames=np.ones(magnitude.shape[1], bool), inside=inside)
    return band_contrast(sums, min_teeth=10)


def test_the_teeth_stand_out_only_where_the_voice_has_partials() -> None:
    magnitude, freqs_hz, melody = _voice_in_noise()
    params = MaskParams()
    comb = comb_mask(freqs_hz, melody, n_harmonics=params.n_harmonics,
                     width_hz=params.comb_width_hz)
    contrast = _contrast(magnitude, freqs_hz, comb, 220.0, n_harmonics=params.n_harmonics)
    # Bands 200-283, 400-566, 566-800 hold partials; 1.6-2.3, 2.3-3.2 kHz noise alone.
    assert np.all(contrast[[0, 2, 3]] > 10.0)
    assert np.all(contrast[[6, 7]] < 2.0)
    assert np.isinf(contrast[1])  # no tooth between 283 and 400 Hz: nothing known
    gain = band_gain(freqs_hz, contrast, edges_hz=EDGES_HZ, ramp=(1.0, 3.0))
    assert np.all(gain[freqs_hz < 200.0] == 1.0)  # outside every band
    assert np.all(gain[(freqs_hz > 400.0) & (freqs_hz < 800.0)] == 1.0)
    assert np.all(gain[(freqs_hz > 1600.0) & (freqs_hz < 3200.0)] < 0.5)


def test_the_comb_gain_scales_the_comb_s_vocal_share() -> None:
    magnitude, freqs_hz, melody = _voice_in_noise()
    params = MaskParams()
    gain = np.where(freqs_hz > 1600.0, 0.0, 1.0).astype(np.float32)

    def vocals(comb_gain: np.ndarray | None) -> np.ndarray:
        return stem_masks(magnitude, medians=hpss_medians(magnitude, params=params),
                          freqs_hz=freqs_hz, melody=melody, bass_overtone_ratio=0.0,
                          params=params, repeating=np.zeros_like(magnitude),
                          comb_gain=comb_gain)["vocals"]

    plain, gated = vocals(None), vocals(gain)
    comb = comb_mask(freqs_hz, melody, n_harmonics=params.n_harmonics,
                     width_hz=params.comb_width_hz)[:, 0] > 0.5
    high = comb & (freqs_hz > 1600.0) & (freqs_hz < 4000.0)
    assert plain[high].mean() > 0.3
    assert np.all(gated[high] < 1e-6)
    np.testing.assert_allclose(gated[freqs_hz < 1500.0], plain[freqs_hz < 1500.0])
