"""Bar phase from kick, snare and harmonic-change cues."""

from __future__ import annotations

import numpy as np
import pytest

from services.analysis.downbeats import downbeat_phase, harmonic_change
from tests.unit.analysis_songs import SPECS, analysis, nearest_offsets_sec, song


@pytest.mark.parametrize("phase", range(4))
def test_downbeat_phase_follows_the_kick_and_avoids_the_snare(phase: int) -> None:
    n_beats = 32
    kick = np.full(n_beats, 0.2)
    kick[phase::4] = 1.0
    snare = np.zeros(n_beats)
    snare[(phase + 1) % 4::2] = 1.0  # backbeat on beats two and four
    assert downbeat_phase(kick=kick, snare=snare, harmony=np.zeros(n_beats)) == phase


def test_harmonic_change_peaks_where_the_chord_changes() -> None:
    frame_times = np.arange(400) * 0.01
    chroma = np.zeros((400, 12))
    chroma[:200, [0, 4, 7]] = 1.0  # C major for two seconds, then F major
    chroma[200:, [5, 9, 0]] = 1.0
    beats = np.arange(8) * 0.5
    change = harmonic_change(chroma, frame_times_sec=frame_times, beats_sec=beats,
                             duration_sec=4.0)
    assert change.shape == (8,) and int(np.argmax(change)) == 4


@pytest.mark.parametrize("name", sorted(SPECS))
def test_downbeats_have_the_true_bar_phase(name: str) -> None:
    result, truth = analysis(name), song(name).truth
    downbeats = np.asarray(result.downbeats)
    assert set(result.downbeats) <= set(result.beats)
    offsets = nearest_offsets_sec(downbeats, truth.downbeats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95
    bar_sec = 240.0 / SPECS[name].tempo_bpm
    assert np.median(np.diff(downbeats)) == pytest.approx(bar_sec, rel=0.01)
