"""Short loops get the whole-bar grid their length implies; songs and excerpts do not."""

from __future__ import annotations

import numpy as np
import pytest

from services.analysis.features import OnsetEnvelopes
from services.analysis.loops import fills_whole_bars, loop_grid, whole_bar_tempi
from services.analysis.tempo import TempoEstimate, grid_beats

HOP_SEC = 0.01


def _onsets(times_sec: list[float] | np.ndarray, duration_sec: float) -> OnsetEnvelopes:
    envelope = np.full(int(duration_sec / HOP_SEC) + 1, 0.05, dtype=np.float32)
    for t in times_sec:
        envelope[round(float(t) / HOP_SEC)] = 1.0
    silent = np.zeros_like(envelope)
    return OnsetEnvelopes(kick=silent, snare=silent, hop_sec=HOP_SEC, broadband=envelope)


def _tracked(tempo_bpm: float, duration_sec: float, origin_sec: float = 0.0) -> TempoEstimate:
    return TempoEstimate(tempo_bpm=tempo_bpm, confidence=0.5, steady=True,
                         beats_sec=grid_beats(origin_sec=origin_sec, period_sec=60 / tempo_bpm,
                                              duration_sec=duration_sec))


def test_whole_bars_at_any_octave() -> None:
    assert fills_whole_bars(90.0, 16 / 3)  # two bars at 90
    assert fills_whole_bars(180.0, 16 / 3) and fills_whole_bars(45.0, 16 / 3)
    assert not fills_whole_bars(121.8, 16 / 3)  # 10.8 beats
    assert whole_bar_tempi(16 / 3) == pytest.approx([90.0, 135.0, 180.0])


def test_a_two_bar_loop_tracked_at_a_wrong_tempo_gets_its_bars() -> None:
    # a phrase on a 90 BPM grid: beats 1, 2, the "and" of 3, 5, 6, 7 and the "and" of 8
    duration = 16 / 3
    beat = 60 / 90
    notes = [0, beat, 2.5 * beat, 4 * beat, 5 * beat, 6 * beat, 7.5 * beat]
    onsets = _onsets(notes, duration)
    loop = loop_grid(_tracked(121.8, duration), duration_sec=duration, onsets=onsets)
    assert loop is not None and loop.tempo_bpm == pytest.approx(90.0)
    assert loop.beats_sec[0] == 0.0 and np.allclose(np.diff(loop.beats_sec), beat)


def test_a_steady_excerpt_cut_mid_bar_keeps_its_tracked_beats() -> None:
    duration = 20.0  # 10.25 bars at 123 BPM, its first beat 0.2 s in (and a note at 0)
    beats = grid_beats(origin_sec=0.2, period_sec=60 / 123, duration_sec=duration)
    onsets = _onsets([0.0, *beats], duration)
    assert loop_grid(_tracked(123.0, duration, 0.2), duration_sec=duration,
                     onsets=onsets) is None


def test_songs_and_loops_that_already_fit_are_left_alone() -> None:
    beats = grid_beats(origin_sec=0.0, period_sec=0.5, duration_sec=60.0)
    assert loop_grid(_tracked(121.8, 60.0), duration_sec=60.0,
                     onsets=_onsets(beats, 60.0)) is None  # longer than a loop
    loop_beats = grid_beats(origin_sec=0.0, period_sec=0.5, duration_sec=8.0)
    assert loop_grid(_tracked(120.0, 8.0), duration_sec=8.0,
                     onsets=_onsets(loop_beats, 8.0)) is None  # 4 bars at 120 already


def test_a_loop_must_start_on_its_beat() -> None:
    duration = 16 / 3
    notes = [0.3 + i * 60 / 90 for i in range(7)]  # nothing at the start
    assert loop_grid(_tracked(121.8, duration), duration_sec=duration,
                     onsets=_onsets(notes, duration)) is None
