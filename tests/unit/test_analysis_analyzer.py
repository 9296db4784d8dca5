"""The whole analysis: contract invariants on a synth song, silence and empty input."""

from __future__ import annotations

import numpy as np
import pytest

from services.analysis.analyzer import analyze_audio
from services.analysis.settings import ANALYSIS_VERSION
from shared.camelot import key_to_camelot
from tests.unit.analysis_songs import analysis, song


def test_result_is_consistent() -> None:
    result, synth = analysis("house"), song("house")
    assert result.duration_sec == pytest.approx(synth.spec.duration_sec, abs=1e-3)
    assert (result.sample_rate, result.channels) == (44100, 2)
    assert result.key == synth.truth.key and result.camelot == key_to_camelot(result.key)
    assert result.time_signature == (4, 4) and result.analysis_version == ANALYSIS_VERSION
    assert 0.0 < result.bpm_confidence <= 1.0 and 0.0 < result.key_confidence <= 1.0
    assert all(0.0 <= t < result.duration_sec for t in result.beats)
    curve = np.asarray(result.energy_curve.values)
    assert curve.max() == pytest.approx(1.0) and curve.min() >= 0.0
    assert len(curve) == int(np.ceil(result.duration_sec / result.energy_curve.hop_sec))
    profile = result.spectral_profile.model_dump()
    assert sum(profile.values()) == pytest.approx(1.0, abs=1e-3)
    assert profile["low"] > profile["air"]  # kick and bass outweigh the hats
    assert -20.0 < result.loudness_lufs < 0.0 and 0.0 < result.energy <= 1.0
    for start, end in result.vocal_intervals:
        assert 0.0 <= start < end <= result.duration_sec


def test_mono_and_stereo_agree_on_tempo_and_key() -> None:
    synth = song("house")
    mono = analyze_audio(synth.mix.mean(axis=0), sample_rate_hz=44100, song_id="mono")
    stereo = analysis("house")
    assert mono.channels == 1
    assert mono.bpm == pytest.approx(stereo.bpm, rel=1e-3) and mono.key == stereo.key


def test_other_sample_rates_are_resampled() -> None:
    synth = song("house")
    from shared.audio_io import resample

    audio = resample(synth.mix[:, : 20 * 44100], from_rate_hz=44100, to_rate_hz=48000)
    result = analyze_audio(audio, sample_rate_hz=48000, song_id="48k")
    assert result.sample_rate == 48000 and result.bpm == pytest.approx(124.0, rel=0.005)


def test_silence_gets_zero_confidences() -> None:
    result = analyze_audio(np.zeros((2, 6 * 44100), dtype=np.float32), sample_rate_hz=44100,
                           song_id="quiet")
    assert result.bpm_confidence <= 0.1 and result.key_confidence == 0.0
    assert result.vocal_intervals == [] and result.sections


def test_empty_input_is_refused() -> None:
    with pytest.raises(ValueError, match="no samples"):
        analyze_audio(np.zeros((2, 0), dtype=np.float32), sample_rate_hz=44100, song_id="x")
