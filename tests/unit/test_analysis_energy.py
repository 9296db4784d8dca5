"""Energy curve, overall energy and the five-band spectral profile."""

from __future__ import annotations

import numpy as np
import pytest

from services.analysis.energy import energy_curve, overall_energy, spectral_profile

RATE_HZ = 22050


def _tone(freq_hz: float, duration_sec: float = 2.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(duration_sec * RATE_HZ)) / RATE_HZ
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def test_energy_curve_follows_the_level_and_peaks_at_one() -> None:
    signal = np.concatenate([_tone(440.0, 1.0, 0.1), _tone(440.0, 1.0, 0.5)])
    curve = energy_curve(signal, sample_rate_hz=RATE_HZ, hop_sec=0.5)
    assert curve.shape == (4,) and curve.max() == pytest.approx(1.0)
    assert curve[:2] == pytest.approx([0.2, 0.2], abs=0.01)
    assert not energy_curve(np.zeros(RATE_HZ), sample_rate_hz=RATE_HZ).any()


@pytest.mark.parametrize(("freq_hz", "band"), [
    (80.0, "low"), (300.0, "mid_low"), (1000.0, "mid"), (4000.0, "high"), (10000.0, "air")])
def test_spectral_profile_puts_a_tone_in_its_band(freq_hz: float, band: str) -> None:
    profile = spectral_profile(_tone(freq_hz), sample_rate_hz=RATE_HZ)
    assert sum(profile.values()) == pytest.approx(1.0)
    assert profile[band] > 0.95


def test_spectral_profile_of_silence_is_even() -> None:
    profile = spectral_profile(np.zeros(RATE_HZ, dtype=np.float32), sample_rate_hz=RATE_HZ)
    assert set(profile.values()) == {0.2}


def test_overall_energy_rises_with_loudness() -> None:
    assert overall_energy(-40.0) == 0.0 and overall_energy(0.0) == 1.0
    assert overall_energy(-20.0) < overall_energy(-10.0)
