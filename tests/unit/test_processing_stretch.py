"""The stretcher front: silent segments skip Rubber Band, dual-mono ones use one channel,
and neither changes what comes out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pedalboard
import pytest

from services.processing import stretch
from services.processing.stretch import StemStretch, is_mono, stretched_length, time_stretch

SR = 44100


def _noise(channels: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((channels, int(seconds * SR)))).astype(np.float32)


class _Spy:
    """Records the channel count of every Rubber Band call, then makes it."""

    def __init__(self) -> None:
        self.channels: list[int] = []
        self._real = pedalboard.time_stretch

    def __call__(self, audio: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        self.channels.append(audio.shape[0])
        return self._real(audio, *args, **kwargs)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> _Spy:
    recorder = _Spy()
    monkeypatch.setattr(stretch.pedalboard, "time_stretch", recorder)
    return recorder


def _direct(segment: np.ndarray, factor: float, pitch: float) -> np.ndarray:
    return pedalboard.time_stretch(segment, float(SR), stretch_factor=factor,
                                   pitch_shift_in_semitones=pitch, high_quality=True,
                                   preserve_formants=pitch != 0)


def test_a_silent_segment_is_zeros_of_the_stretched_length_without_a_call(spy: _Spy) -> None:
    segment = np.full((2, 3 * SR), 1e-6, dtype=np.float32)  # -120 dBFS
    out = time_stretch(segment, sample_rate_hz=SR, factors=1.05, pitch_semitones=-2,
                       high_quality=True)
    assert spy.channels == []
    assert out.shape == (2, round(3 * SR / 1.05)) and out.dtype == np.float32
    assert not np.any(out)


def test_stretched_length_matches_rubber_band() -> None:
    segment = _noise(2, 1.0)
    assert _direct(segment, 0.93, 0.0).shape[1] == stretched_length(SR, 0.93)


@pytest.mark.parametrize("pitch", [0.0, -2.0])
def test_a_dual_mono_segment_is_stretched_once_and_sounds_the_same(spy: _Spy,
                                                                   pitch: float) -> None:
    mono = _noise(1, 2.0)
    segment = np.repeat(mono, 2, axis=0)
    out = time_stretch(segment, sample_rate_hz=SR, factors=1.07, pitch_semitones=pitch,
                       high_quality=True)
    assert spy.channels == [1]
    both = _direct(segment, 1.07, pitch)
    assert out.shape == both.shape
    assert np.array_equal(out[0], out[1])
    assert np.max(np.abs(out - both)) < 1e-5


def test_a_stereo_segment_keeps_both_channels_and_its_exact_output(spy: _Spy) -> None:
    segment = _noise(2, 2.0)
    out = time_stretch(segment, sample_rate_hz=SR, factors=0.95, pitch_semitones=0.0,
                       high_quality=True)
    assert spy.channels == [2]
    assert np.array_equal(out, _direct(segment, 0.95, 0.0))


def test_mono_means_a_side_signal_80_db_under_the_mid() -> None:
    mid = _noise(1, 1.0)[0]
    side = _noise(1, 1.0, seed=1)[0]
    # side / mid amplitude 10^(-90/20), then 10^(-60/20): under and over the threshold
    assert is_mono(np.stack([mid + 3.2e-5 * side, mid - 3.2e-5 * side]))
    assert not is_mono(np.stack([mid + 1e-3 * side, mid - 1e-3 * side]))
    assert is_mono(mid[None, :])


def test_rubber_band_couples_the_channels_of_one_call() -> None:
    # Why stems never share a call: the left output depends on the right input.
    left = _noise(1, 2.0)
    alone = _direct(np.repeat(left, 2, axis=0), 1.05, 0.0)[0]
    beside_other = _direct(np.concatenate([left, _noise(1, 2.0, seed=3)]), 1.05, 0.0)[0]
    assert np.max(np.abs(alone - beside_other)) > 1e-3


def test_formants_are_kept_for_voices_only_and_stems_without_bass_get_the_short_window(
) -> None:
    options = {s: stretch.stem_stretch(s)
               for s in ("vocals", "full", "drums", "bass", "other", "instrumental")}
    assert {s for s, o in options.items() if o.preserve_formants} == {"vocals", "full"}
    assert {s for s, o in options.items() if o.short_window} == {"drums", "vocals", "other"}
    # A song's stems playing together share one window: beside a stem of their song that
    # needs the long window (it carries the bass), the others take it too.
    assert stretch.stem_stretch("drums", beside=["vocals", "other"]).short_window
    assert stretch.stem_stretch("vocals", beside=["drums"]).short_window
    for stem in ("drums", "vocals", "other"):
        for partner in ("bass", "instrumental", "full"):
            assert not stretch.stem_stretch(stem, beside=[partner]).short_window


def _click_track(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Clicks every 0.25 s over a 55 Hz tone (2, n), and the click sample indices."""
    n = int(seconds * SR)
    segment = np.zeros((2, n), dtype=np.float32)
    segment += (0.1 * np.sin(2 * np.pi * 55 * np.arange(n) / SR)).astype(np.float32)
    clicks = np.arange(SR // 8, n - SR // 8, SR // 4)
    segment[:, clicks] += 0.8
    return segment, clicks


def _onsets(audio: np.ndarray, clicks: np.ndarray, factor: float) -> np.ndarray:
    """Sample of each click in a stretched click track: its broadband energy (high-passed
    by a first difference), the strongest sample near where the click should be."""
    hf = np.abs(np.diff(audio.mean(axis=0)))
    expected = np.round(clicks / factor).astype(int)
    return np.array([e - 400 + int(np.argmax(hf[e - 400:e + 400])) for e in expected
                     if 400 <= e < hf.size - 400])


def test_formant_preservation_moves_no_onset() -> None:
    """Stems of one song are shifted with and without formant preservation and summed:
    that is only safe if the option changes no timing. Clicks every 0.25 s over a bass
    tone, shifted +2 semitones both ways, must put every click on the same sample."""
    segment, clicks = _click_track(4.0)
    with_formants = time_stretch(segment, sample_rate_hz=SR, factors=1.07, pitch_semitones=2,
                                 high_quality=True,
                                 options=StemStretch(preserve_formants=True))
    without = time_stretch(segment, sample_rate_hz=SR, factors=1.07, pitch_semitones=2,
                           high_quality=True, options=StemStretch(preserve_formants=False))
    assert with_formants.shape == without.shape
    assert not np.allclose(with_formants, without)  # the option does act on a shift
    assert np.max(np.abs(_onsets(with_formants, clicks, 1.07)
                         - _onsets(without, clicks, 1.07))) <= 2  # samples


@pytest.mark.parametrize(("factor", "pitch"), [(1.05, 0.0), (0.95, -2.0), (0.9, 0.0)])
def test_the_short_window_keeps_onsets_on_time(factor: float, pitch: float) -> None:
    """Drums (short window) are summed with stems of the same song stretched with the long
    window, over spans of the render's length (~4 s). The long window realises the ratio
    only to ~0.2 % (its onsets drift up to ~8 ms by the end of such a span, which is why
    spans are that short); the short window's onsets stay within 5 ms of where the map
    puts them, so drums sit no further from the grid than the stems around them."""
    segment, clicks = _click_track(4.5)
    long = time_stretch(segment, sample_rate_hz=SR, factors=factor, pitch_semitones=pitch,
                        high_quality=True, options=StemStretch(preserve_formants=False))
    short = time_stretch(segment, sample_rate_hz=SR, factors=factor, pitch_semitones=pitch,
                         high_quality=True,
                         options=StemStretch(preserve_formants=False, short_window=True))
    assert short.shape == long.shape
    assert not np.allclose(short, long)  # the option does act
    ideal = np.round(clicks / factor).astype(int)
    long_lag = _onsets(long, clicks, factor) - ideal[:len(_onsets(long, clicks, factor))]
    short_lag = _onsets(short, clicks, factor) - ideal[:len(_onsets(short, clicks, factor))]
    assert np.max(np.abs(long_lag)) <= 0.009 * SR
    assert np.max(np.abs(short_lag)) <= 0.005 * SR


def test_the_fast_engine_ignores_the_short_window(spy: _Spy) -> None:
    segment = _noise(2, 1.0)
    plain = time_stretch(segment, sample_rate_hz=SR, factors=1.05, pitch_semitones=0.0,
                         high_quality=False)
    short = time_stretch(segment, sample_rate_hz=SR, factors=1.05, pitch_semitones=0.0,
                         high_quality=False, options=StemStretch(short_window=True))
    assert np.array_equal(plain, short)
