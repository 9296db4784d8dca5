"""The benchmark's independent checks catch what they are meant to catch."""

from __future__ import annotations

import numpy as np
import pytest

from services.processing import qa

SR = 44100


def _clicks(duration_sec: float, period_sec: float, offset_sec: float = 0.1) -> np.ndarray:
    audio = np.zeros(int(duration_sec * SR), dtype=np.float32)
    t = np.arange(int(0.03 * SR)) / SR
    hit = (np.random.default_rng(0).standard_normal(t.size) * np.exp(-t / 0.005)) * 0.5
    for start in np.arange(offset_sec, duration_sec - 0.05, period_sec):
        i = round(start * SR)
        audio[i:i + hit.size] += hit.astype(np.float32)
    return np.stack([audio, audio])


def test_a_hard_cut_is_a_click_and_a_faded_splice_is_not() -> None:
    t = np.arange(2 * SR) / SR
    tone = 0.5 * np.sin(2 * np.pi * 220 * t)
    other = 0.5 * np.sin(2 * np.pi * 220 * t + 2.0)
    cut = np.where(np.arange(t.size) < SR, tone, other)  # a phase jump: a step
    u = np.clip((np.arange(t.size) - SR + 350) / 350, 0, 1)  # 8 ms, ending at the splice
    faded = tone * np.cos(0.5 * np.pi * u) + other * np.sin(0.5 * np.pi * u)
    assert qa.click_ratio(np.stack([cut, cut]), at_sample=SR, sample_rate_hz=SR) > qa.CLICK_RATIO
    assert qa.click_ratio(np.stack([faded, faded]), at_sample=SR,
                          sample_rate_hz=SR) < qa.CLICK_RATIO


def test_gaps_and_clipping_are_counted() -> None:
    audio = 0.3 * np.random.default_rng(1).standard_normal((2, 4 * SR))
    audio[:, 2 * SR:int(2.5 * SR)] = 0.0
    [(start, length)] = qa.silent_runs(audio, sample_rate_hz=SR)
    assert length == pytest.approx(0.5, abs=0.1) and start == pytest.approx(2.0, abs=0.06)
    assert qa.level_dbfs(audio[:, 2 * SR + 100:int(2.4 * SR)]) < -150
    assert qa.clipped_samples(np.clip(audio * 4, -1, 1)) > 0
    assert qa.clipped_samples(audio * 0.5) == 0


def test_layer_lock_measures_a_known_delay() -> None:
    source = _clicks(12.0, 0.4)
    late = np.roll(source, int(0.012 * SR), axis=1)
    lock = qa.layer_lock(late[:, 2 * SR:8 * SR], source, source_start_sec=2.0, speed=1.0,
                         sample_rate_hz=SR)
    assert lock.windows >= 2
    assert np.all(np.abs(lock.lags_ms - 12.0) < 2.0)


def test_layer_lock_skips_windows_it_cannot_time() -> None:
    """A phrase's last notes in a sliver of a window, or silence, give no lag (a lag
    there is the correlation's edge, not the layer's timing); delays are still seen."""
    source = _clicks(12.0, 0.4)
    source[:, int(4.2 * SR):] = 0.0  # the phrase ends just inside the third window
    lock = qa.layer_lock(source[:, :int(8.2 * SR)], source, source_start_sec=0.0, speed=1.0,
                         sample_rate_hz=SR)
    assert lock.windows == 2 and np.all(np.abs(lock.lags_ms) < 2.0)
    late = np.roll(source, int(0.025 * SR), axis=1)
    lock = qa.layer_lock(late[:, :int(8.2 * SR)], source, source_start_sec=0.0, speed=1.0,
                         sample_rate_hz=SR)
    assert lock.windows == 2 and np.all(np.abs(lock.lags_ms - 25.0) < 2.0)


def test_tempo_fit_and_folding() -> None:
    beats = 0.3 + 0.5 * np.arange(0, 40, 2)  # a half-time tracker on a 120 BPM grid
    assert qa.fitted_tempo_bpm(beats, target_bpm=120.0) == pytest.approx(120.0, rel=1e-6)
    assert qa.folded_bpm(61.0, target_bpm=120.0) == pytest.approx(122.0)


def test_essentia_meters_read_a_known_sine() -> None:
    t = np.arange(10 * SR) / SR
    sine = 0.5 * np.sin(2 * np.pi * 997 * t)
    stereo = np.stack([sine, sine]).astype(np.float32)
    assert qa.essentia_true_peak_dbtp(stereo, sample_rate_hz=SR) == pytest.approx(-6.02, abs=0.1)
    # A 997 Hz sine at -6 dBFS in both channels reads about -6 LUFS (K-weighting ~ +0.7 dB).
    assert qa.essentia_lufs(stereo, sample_rate_hz=SR) == pytest.approx(-6.0, abs=0.7)
