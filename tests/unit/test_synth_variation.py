"""shared.synth.Variation: departures from the house style keep exact ground truth, and the
default Variation() renders the very same samples as before it existed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from shared.synth import SongSpec, Variation, synthesize_song

BASE = SongSpec("var", 120.0, "A", "minor", 24.0, seed=5, style="pop", sample_rate_hz=22050)


def _song(duration_sec: float = BASE.duration_sec, **fields: object):
    return synthesize_song(replace(BASE, duration_sec=duration_sec,
                                   variation=Variation(**fields)))


def test_default_variation_changes_nothing() -> None:
    plain = synthesize_song(BASE)
    explicit = _song()
    assert np.array_equal(plain.mix, explicit.mix)
    assert np.array_equal(plain.truth.beats_sec, explicit.truth.beats_sec)


def test_tempo_drift_moves_the_truth_beats_and_keeps_the_mean_tempo() -> None:
    song = _song(tempo_drift=0.03)
    intervals = np.diff(song.truth.beats_sec)
    assert intervals.max() / intervals.min() > 1.03  # the grid really drifts
    span_sec = song.truth.beats_sec[-1] - song.truth.beats_sec[0]
    assert song.truth.tempo_bpm == pytest.approx(60.0 * len(intervals) / span_sec)
    assert abs(song.truth.tempo_bpm - 120.0) < 0.04 * 120.0
    assert np.array_equal(song.truth.downbeats_sec, song.truth.beats_sec[::4])
    starts = [s.start_sec for s in song.truth.sections]
    assert all(np.isclose(song.truth.downbeats_sec, t).any() for t in starts)


def test_swing_delays_the_offbeat_eighths_only() -> None:
    from shared.synth import _TimeWarp

    warp = _TimeWarp(offset_sec=0.1, tempo_bpm=120.0, variation=Variation(swing=1.0),
                     n_beats=16, phase=0.0)
    # Triplet shuffle: the off-beat eighth (step 2) at two thirds of the 0.5 s beat, the
    # beats themselves (steps 0, 4, 8) unmoved.
    assert warp.time_sec(2.0) == pytest.approx(0.1 + 0.5 * 2.0 / 3.0)
    assert [warp.time_sec(s) for s in (0.0, 4.0, 8.0)] == pytest.approx([0.1, 0.6, 1.1])
    straight, swung = _song(), _song(swing=1.0)
    assert np.array_equal(straight.truth.beats_sec, swung.truth.beats_sec)
    assert not np.array_equal(straight.stems["drums"], swung.stems["drums"])


def test_doubled_vocals_are_wide_and_panned_vocals_off_centre() -> None:
    doubled, panned = _song(vocal_double=True), _song(vocal_pan=0.8)
    left, right = doubled.stems["vocals"]
    assert np.corrcoef(left, right)[0, 1] < 0.5  # two takes, not one centred voice
    pl, pr = panned.stems["vocals"]
    assert np.sqrt(np.mean(pr**2)) > 3.0 * np.sqrt(np.mean(pl**2))


def test_tuning_shifts_every_pitch() -> None:
    from shared.synth import _bass_note, _wavetable

    sr = 22050
    note = _bass_note(69, sr, sr, _wavetable(np.array([1.0, 0.5])), tuning_ratio=435.0 / 440.0)
    freqs_hz = np.fft.rfftfreq(len(note), 1.0 / sr)
    peak_hz = freqs_hz[np.argmax(np.abs(np.fft.rfft(note * np.hanning(len(note)))))]
    assert abs(peak_hz - 435.0) < 1.5  # A4 at 435 Hz, not 440
    plain, detuned = _song(), _song(tuning_hz=435.0)
    for stem in ("bass", "other", "vocals"):
        assert not np.allclose(plain.stems[stem], detuned.stems[stem])


def test_drumless_intro_has_no_drums_or_bass() -> None:
    song = _song(50.0, drumless_intro=True)  # long enough for the form to keep its intro
    intro = song.truth.sections[0]
    assert intro.label == "intro"
    a, b = round(intro.start_sec * 22050), round(intro.end_sec * 22050) - 2205
    assert np.max(np.abs(song.stems["drums"][:, a:b])) == 0.0
    assert np.max(np.abs(song.stems["bass"][:, a:b])) == 0.0
    assert np.max(np.abs(song.stems["other"][:, a:b])) > 0.01


@pytest.mark.parametrize("harmony", ["modal", "ambiguous"])
def test_other_harmonies_keep_the_tonic_on_section_starts(harmony: str) -> None:
    song = _song(harmony=harmony)
    assert song.truth.key == "A minor"
    assert not np.array_equal(song.stems["other"], _song().stems["other"])


def test_unknown_groove_is_refused() -> None:
    with pytest.raises(ValueError, match="groove"):
        _song(groove="polka")
