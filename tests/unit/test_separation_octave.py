"""Octave correction of a melody track (`octave`) on synthesised harmonic tones."""

from __future__ import annotations

import numpy as np

from services.separation.octave import comb_scores, correct_octaves, frame_levels

SR = 22050
HOP = 256


def _voice(f0_hz: np.ndarray, *, n_harmonics: int = 10, seed: int = 0) -> np.ndarray:
    """A harmonic tone following `f0_hz` (one value per HOP samples) over quiet noise."""
    per_sample = np.repeat(f0_hz, HOP)
    phase = 2 * np.pi * np.cumsum(per_sample) / SR
    tone = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1))
    rng = np.random.default_rng(seed)
    return (0.1 * tone + 0.001 * rng.standard_normal(per_sample.size)).astype(np.float32)


def _vibrato(f0_hz: float, n_frames: int) -> np.ndarray:
    t = np.arange(n_frames) * HOP / SR
    return f0_hz * 2 ** (0.25 * np.sin(2 * np.pi * 5.5 * t) / 12)


def test_an_octave_low_track_is_moved_up_to_the_voice() -> None:
    true_f0 = np.concatenate([_vibrato(330.0, 120), _vibrato(440.0, 120)])
    source = _voice(true_f0)
    track = true_f0.astype(np.float32).copy()
    track[:120] /= 2.0  # the first note an octave low, as Melodia errs
    track[120:] /= 3.0  # the second a twelfth low
    fixed = correct_octaves(track, source, sample_rate_hz=SR, hop_length=HOP)
    cents = 1200 * np.log2(fixed / true_f0)
    assert np.all(np.abs(cents) < 10)


def test_a_right_track_and_silence_are_left_alone() -> None:
    true_f0 = _vibrato(262.0, 200)
    source = _voice(true_f0)
    track = true_f0.astype(np.float32)
    np.testing.assert_array_equal(
        correct_octaves(track, source, sample_rate_hz=SR, hop_length=HOP), track)
    # An octave-high track is moved down (its half-way teeth hold the voice's partials).
    high = correct_octaves(2 * track, source, sample_rate_hz=SR, hop_length=HOP)
    assert np.all(np.abs(1200 * np.log2(high / true_f0)) < 10)
    unvoiced = np.zeros(200, dtype=np.float32)
    np.testing.assert_array_equal(
        correct_octaves(unvoiced, source, sample_rate_hz=SR, hop_length=HOP), unvoiced)


def test_comb_scores_peak_at_the_true_fundamental() -> None:
    f0 = np.full(40, 300.0)
    source = _voice(f0)
    levels = frame_levels(source, np.arange(5, 35), n_fft=2048, hop_length=HOP, n_bins=290)
    # Candidates: 150 (sub-harmonic), 300 (right), 600 and 900 (too high).
    scores = comb_scores(levels, np.full(30, 150.0), bin_hz=SR / 2048,
                         ratios=(1.0, 2.0, 4.0, 6.0), min_hz=150.0, max_hz=3000.0)
    assert scores.shape == (30, 4)
    assert np.all(np.argmax(scores, axis=1) == 1)
    none_in_band = comb_scores(levels, np.full(30, 4000.0), bin_hz=SR / 2048,
                               ratios=(1.0, 2.0, 3.0), min_hz=150.0, max_hz=3000.0)
    assert np.all(np.isneginf(none_in_band))


def test_frame_levels_match_the_full_stft_at_any_frames() -> None:
    from scipy.ndimage import maximum_filter1d

    from services.separation.stft import stft

    source = _voice(np.full(50, 220.0), seed=4)
    full = np.sqrt(np.abs(stft(source, n_fft=2048, hop_length=HOP)))[:200].T
    full = maximum_filter1d(full, size=3, axis=1)
    full /= full.mean(axis=1, keepdims=True)
    for frames in (np.array([0, 1, 7]), np.array([20, 33, 50]), np.arange(45, 51)):
        levels = frame_levels(source, frames, n_fft=2048, hop_length=HOP, n_bins=200)
        np.testing.assert_allclose(levels, full[frames], rtol=1e-3, atol=1e-4)


def test_a_note_dipping_an_octave_below_its_neighbours_is_lifted() -> None:
    from services.separation.octave import lift_dips

    f0 = np.concatenate([np.full(30, 330.0), np.zeros(5), np.full(20, 262.0 / 2),
                         np.zeros(5), np.full(30, 294.0)]).astype(np.float32)
    lifted = lift_dips(f0)
    np.testing.assert_allclose(lifted[35:55], 262.0)
    np.testing.assert_array_equal(lifted[:35], f0[:35])
    np.testing.assert_array_equal(lifted[55:], f0[55:])
    # A step down that does not come back, or a dip across a long pause, stays.
    step = f0.copy()
    step[60:] = 110.0
    np.testing.assert_array_equal(lift_dips(step), step)
    far = np.concatenate([f0[:35], np.zeros(60), f0[35:]])
    np.testing.assert_array_equal(lift_dips(far), far)
    # Two octaves down is lifted by four.
    deep = f0.copy()
    deep[35:55] = 330.0 / 4
    np.testing.assert_allclose(lift_dips(deep)[35:55], 330.0)
