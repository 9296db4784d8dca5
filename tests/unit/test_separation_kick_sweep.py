"""A kick template fitted as a decaying pitch sweep, the bass left in it dropped."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from services.separation.kick_sweep import fit_sweep, sweep_columns

RATE = 2205.0
BAND = (30.0, 200.0)
N = 1100  # 0.5 s


def band(signal: np.ndarray) -> np.ndarray:
    return sosfiltfilt(butter(4, list(BAND), btype="band", fs=RATE, output="sos"), signal)


def kick() -> np.ndarray:
    """A sweep 150 → 50 Hz decaying over 0.2 s, starting 10 ms in, band-passed."""
    columns = sweep_columns(N, rate_hz=RATE, onset_sec=0.01, decay_sec=0.2, start_hz=150.0,
                            rest_hz=50.0, drop_sec=0.03)
    return band(0.8 * columns[0] + 0.6 * columns[1])


def bass_note(pitch_hz: float) -> np.ndarray:
    """A bass note struck with the kick and held (partials 1..3), band-passed."""
    t = np.arange(N) / RATE - 0.01
    on = (t >= 0).astype(float)
    return band(on * 0.3 * sum(np.sin(2 * np.pi * k * pitch_hz * t) / k for k in (1, 2, 3)))


def relative_error(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sum((estimate - truth) ** 2) / np.sum(truth**2))


def test_recovers_the_kick_under_a_bass_note_struck_with_it() -> None:
    truth = kick()
    template = truth + bass_note(73.4)  # what a median keeps when the bass plays in step
    fit = fit_sweep(template, rate_hz=RATE, band_hz=BAND)
    assert fit is not None
    assert relative_error(template, truth) > 0.5
    assert relative_error(fit.kick, truth) < 0.1
    assert abs(fit.rest_hz - 50.0) < 3.0 and abs(fit.decay_sec - 0.2) < 0.05
    # render() continues the same sweep beyond the template.
    longer = fit.render(2 * N)
    assert longer.size == 2 * N
    assert relative_error(longer[:N // 2], fit.kick[:N // 2]) < 0.01


def test_a_clean_kick_is_kept() -> None:
    truth = kick()
    fit = fit_sweep(truth, rate_hz=RATE, band_hz=BAND)
    assert fit is not None and fit.unexplained < 0.05
    assert relative_error(fit.kick, truth) < 0.05


def test_no_fit_for_what_is_no_sweep() -> None:
    rng = np.random.default_rng(0)
    assert fit_sweep(band(rng.standard_normal(N)), rate_hz=RATE, band_hz=BAND) is None
    assert fit_sweep(bass_note(55.0), rate_hz=RATE, band_hz=BAND) is None
    assert fit_sweep(np.zeros(N), rate_hz=RATE, band_hz=BAND) is None
    assert fit_sweep(np.ones(10), rate_hz=RATE, band_hz=BAND) is None


def test_a_plucked_note_is_no_kick() -> None:
    # Decays like a kick but keeps its pitch.
    columns = sweep_columns(N, rate_hz=RATE, onset_sec=0.01, decay_sec=0.2, start_hz=60.0,
                            rest_hz=60.0, drop_sec=0.03)
    assert fit_sweep(band(columns[0]), rate_hz=RATE, band_hz=BAND) is None
