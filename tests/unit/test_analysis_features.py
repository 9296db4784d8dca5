"""Onset envelopes of the analysis features: the kick cue must see kicks, not bass notes."""

from __future__ import annotations

import numpy as np

from services.analysis.features import (
    FEATURE_RATE_HZ,
    band_flux,
    compute_spectrogram,
    onset_envelopes,
    transient_flux,
)

RATE_HZ = FEATURE_RATE_HZ
BEAT_SEC = 0.5  # 120 BPM


def _kick(rate_hz: int) -> np.ndarray:
    """A sine sweeping down from 160 to 50 Hz, decaying over about 0.15 s."""
    t = np.arange(int(0.5 * rate_hz)) / rate_hz
    freq_hz = 50.0 + 110.0 * np.exp(-t / 0.035)
    return np.sin(2 * np.pi * np.cumsum(freq_hz) / rate_hz) * np.exp(-t / 0.15)


def _bass_note(rate_hz: int, *, f0_hz: float, length_sec: float) -> np.ndarray:
    """A harmonic note held for `length_sec` with a 4 ms attack."""
    t = np.arange(int(length_sec * rate_hz)) / rate_hz
    tone = sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in range(1, 5))
    return tone * np.minimum(t / 0.004, 1.0) * np.exp(-t / 1.0)


def _house_groove(*, bass_gain: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kicks on every beat and bass notes (55 Hz, held to the next beat) on every
    off-beat, 16 beats; returns the mix and the beat and off-beat times."""
    n_beats = 16
    mix = np.zeros(int((n_beats + 1) * BEAT_SEC * RATE_HZ))
    kick = _kick(RATE_HZ)
    bass = bass_gain * _bass_note(RATE_HZ, f0_hz=55.0, length_sec=BEAT_SEC / 2.0)
    beats_sec = np.arange(1, n_beats) * BEAT_SEC
    for beat_sec in beats_sec:
        start = int(beat_sec * RATE_HZ)
        mix[start:start + len(kick)] += kick
        start = int((beat_sec + BEAT_SEC / 2.0) * RATE_HZ)
        mix[start:start + len(bass)] += bass
    return mix.astype(np.float32), beats_sec, beats_sec + BEAT_SEC / 2.0


def _mean_at(envelope: np.ndarray, times_sec: np.ndarray, hop_sec: float) -> float:
    idx = np.round(times_sec / hop_sec).astype(int)
    peaks = np.maximum(envelope[idx], np.maximum(envelope[idx - 1], envelope[idx + 1]))
    return float(peaks.mean())


def test_the_kick_cue_ignores_an_off_beat_bass_as_loud_as_the_kick() -> None:
    mix, beats_sec, offbeats_sec = _house_groove(bass_gain=1.0)
    spec = compute_spectrogram(mix, sample_rate_hz=RATE_HZ)
    kick = transient_flux(spec, low_hz=30.0, high_hz=150.0)
    plain = band_flux(spec, low_hz=30.0, high_hz=150.0)
    # Plain flux of the band hears the bass notes more than the kicks ...
    assert _mean_at(plain, beats_sec, spec.hop_sec) < 0.8 * _mean_at(
        plain, offbeats_sec, spec.hop_sec)
    # ... the transient cue hears the kicks far more.
    assert _mean_at(kick, beats_sec, spec.hop_sec) > 1.5 * _mean_at(
        kick, offbeats_sec, spec.hop_sec)


def test_onset_envelopes_keep_the_kick_band_beside_the_kick_hits() -> None:
    mix, beats_sec, offbeats_sec = _house_groove(bass_gain=1.0)
    onsets = onset_envelopes(compute_spectrogram(mix, sample_rate_hz=RATE_HZ))
    assert onsets.kick_hits is not None and onsets.kick_hits_or_band is onsets.kick_hits
    assert _mean_at(onsets.kick, offbeats_sec, onsets.hop_sec) > _mean_at(
        onsets.kick, beats_sec, onsets.hop_sec)
    assert _mean_at(onsets.kick_hits, beats_sec, onsets.hop_sec) > _mean_at(
        onsets.kick_hits, offbeats_sec, onsets.hop_sec)


def test_transient_flux_is_zero_for_a_held_tone() -> None:
    t = np.arange(4 * RATE_HZ) / RATE_HZ
    spec = compute_spectrogram(np.sin(2 * np.pi * 80.0 * t).astype(np.float32),
                               sample_rate_hz=RATE_HZ)
    flux = transient_flux(spec, low_hz=30.0, high_hz=150.0)
    assert flux[10:-10].max() < 1e-3 * spec.magnitude.max()
