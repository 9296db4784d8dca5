"""Steady pitch against pitch tracks and tones whose wobble is known."""

from __future__ import annotations

import numpy as np

from shared.pitch_contour import (
    CONTOUR_RATE_HZ,
    MELODY_HOP_SAMPLES,
    MIN_SEGMENT_FRAMES,
    band_signal,
    melody_hz,
    pitch_segments,
    steady_lead_frames,
    wobble_cents,
)

HOP_SEC = MELODY_HOP_SAMPLES / CONTOUR_RATE_HZ


def _track(cents: np.ndarray, base_hz: float = 330.0) -> np.ndarray:
    return base_hz * 2.0 ** (cents / 1200.0)


def _tone(freq_hz: float, duration_sec: float, rate_hz: int, *,
          vibrato_hz: float = 0.0) -> np.ndarray:
    """Six harmonic partials, with an optional 30-cent vibrato."""
    time_sec = np.arange(int(duration_sec * rate_hz)) / rate_hz
    cents = 30.0 * np.sin(2 * np.pi * vibrato_hz * time_sec)
    phase = 2 * np.pi * np.cumsum(freq_hz * 2.0 ** (cents / 1200.0)) / rate_hz
    return sum(np.sin(k * phase) / k for k in range(1, 7)).astype(np.float32)


def test_segments_split_at_jumps_and_gaps() -> None:
    f0 = np.concatenate([np.full(10, 220.0), np.full(10, 330.0), np.zeros(3),
                         _track(np.linspace(0.0, 80.0, 10))])  # a glide stays one segment
    assert pitch_segments(f0) == [(0, 10), (10, 20), (23, 33)]
    assert pitch_segments(np.zeros(5)) == []


def test_wobble_is_vibrato_depth_not_glide_or_hold() -> None:
    time_sec = np.arange(60) * HOP_SEC
    vibrato = _track(30.0 * np.sin(2 * np.pi * 5.5 * time_sec))
    glide = _track(np.linspace(0.0, 90.0, 60))
    held = np.full(60, 440.0)
    # A sine of depth d has a median absolute deviation of d / sqrt(2): 31 cents scaled.
    assert np.allclose(wobble_cents(vibrato), 1.4826 * 30.0 / np.sqrt(2), atol=4.0)
    assert np.allclose(wobble_cents(glide), 0.0, atol=0.5)
    assert np.allclose(wobble_cents(held), 0.0)
    short = wobble_cents(np.concatenate([np.full(MIN_SEGMENT_FRAMES - 1, 220.0), np.zeros(5)]))
    assert np.isnan(short).all()  # too short to tell, and unpitched


def test_steady_intervals_are_dropped_only_where_they_are_most_of_the_lead() -> None:
    frame_sec = 4 * HOP_SEC  # four melody frames a frame
    steady, sung = np.full(40, 2.0), np.full(40, 25.0)
    # Intervals of 10 frames: three steady and one sung -> the three steady ones go.
    wobble = np.concatenate([steady, steady, steady, sung])
    intervals = [(0, 10), (10, 20), (20, 30), (30, 40)]
    out = steady_lead_frames(intervals, wobble, frame_sec=frame_sec,
                             melody_hop_sec=HOP_SEC, n_frames=40)
    assert out[:30].all() and not out[30:].any()
    # One steady interval among three sung: a voice the tracker lost, kept.
    wobble = np.concatenate([steady, sung, sung, sung])
    out = steady_lead_frames(intervals, wobble, frame_sec=frame_sec,
                             melody_hop_sec=HOP_SEC, n_frames=40)
    assert not out.any()
    # An interval with almost no pitch is not judged at all.
    wobble = np.concatenate([np.full(40, np.nan), steady, sung, sung])
    wobble[:4] = 2.0
    out = steady_lead_frames(intervals, wobble, frame_sec=frame_sec,
                             melody_hop_sec=HOP_SEC, n_frames=40)
    assert not out.any()


def test_band_signal_restores_the_band_at_8_khz() -> None:
    from shared.spectra import stft_blocks

    rate_hz, n_fft, hop = 16000, 1024, 512
    time_sec = np.arange(3 * rate_hz) / rate_hz
    signal = (0.5 * np.sin(2 * np.pi * 1000.0 * time_sec)).astype(np.float32)
    spec = np.concatenate(list(stft_blocks(signal, n_fft=n_fft, hop_samples=hop))).T
    bins = np.flatnonzero((np.arange(n_fft // 2 + 1) * rate_hz / n_fft >= 250.0)
                          & (np.arange(n_fft // 2 + 1) * rate_hz / n_fft <= 4000.0))
    frames = np.ones(spec.shape[1], dtype=bool)
    frames[: spec.shape[1] // 2] = False  # only the second half is resynthesised
    out = band_signal(spec[bins], bins, n_fft=n_fft, hop_samples=hop,
                      sample_rate_hz=rate_hz, frames=frames)
    expected = signal[::2]  # a 1 kHz sine needs no low-pass to be decimated
    middle = slice(len(expected) * 2 // 3, len(expected) * 5 // 6)
    assert np.sqrt(np.mean(out[:CONTOUR_RATE_HZ] ** 2)) < 1e-3
    assert np.allclose(out[middle], expected[middle], atol=0.03)


def test_melodia_hears_a_vibrato_wobble_and_a_held_note_hold() -> None:
    sung = wobble_cents(melody_hz(_tone(330.0, 3.0, CONTOUR_RATE_HZ, vibrato_hz=5.5)))
    held = wobble_cents(melody_hz(_tone(330.0, 3.0, CONTOUR_RATE_HZ)))
    assert np.nanmedian(sung) > 15.0
    assert np.nanmedian(held) < 3.0
    assert np.all(melody_hz(np.zeros(100, dtype=np.float32)) == 0.0)


def test_pitch_segments_split_at_gaps_and_jumps_of_the_given_size() -> None:
    f0 = np.array([0, 200, 201, 202, 300, 301, 0, 0, 150, 0], dtype=np.float32)
    assert pitch_segments(f0) == [(1, 4), (4, 6), (8, 9)]
    assert pitch_segments(f0, max_step_cents=1000.0) == [(1, 6), (8, 9)]
