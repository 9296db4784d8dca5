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


def test_the_kick_drums_hits_outvote_a_bass_note_in_the_kick_band() -> None:
    # A breakbeat: the kick drum hits beat one only, a loud bass note on beat three fills
    # the kick band more than the lone kick does, the snare is on two and four.
    n_beats = 32
    band = np.tile([1.3, 0.6, 1.7, 0.4], n_beats // 4)
    hits = np.tile([1.9, 0.9, 0.4, 0.8], n_beats // 4)
    snare = np.tile([0.4, 1.9, 0.3, 1.4], n_beats // 4)
    harmony = np.zeros(n_beats)
    assert downbeat_phase(kick=band, snare=snare, harmony=harmony) == 2
    assert downbeat_phase(kick=band, snare=snare, harmony=harmony, kick_hits=hits) == 0


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


def _bar_cues(n_beats: int, *, dropped_beat: int | None) -> dict[str, np.ndarray]:
    """Kick on beat one and a backbeat snare, over beats of which the tracker dropped
    one (so the bar phase moves by one beat there)."""
    position = np.arange(n_beats + 1) % 4
    if dropped_beat is not None:
        position = np.delete(position, dropped_beat)
    position = position[:n_beats]
    kick = np.where(position == 0, 1.0, 0.2)
    snare = np.where(position % 2 == 1, 1.0, 0.0)
    return {"kick": kick, "snare": snare, "harmony": np.zeros(n_beats)}


def test_bar_positions_follow_a_beat_the_tracker_dropped() -> None:
    from services.analysis.downbeats import _downbeat_score, bar_positions

    cues = _bar_cues(96, dropped_beat=50)
    positions = bar_positions(_downbeat_score(**cues))
    downbeats = np.flatnonzero(positions == 0)
    assert np.array_equal(downbeats, np.flatnonzero(cues["kick"] == 1.0))
    # One phase for the whole song gets only one side of the dropped beat right.
    phase = downbeat_phase(**cues)
    assert np.mean(np.isin(np.arange(phase, 96, 4), downbeats)) < 0.6


def test_bar_positions_keep_the_phase_through_a_bar_of_contrary_cues() -> None:
    from services.analysis.downbeats import _downbeat_score, bar_positions

    cues = _bar_cues(64, dropped_beat=None)
    cues["kick"][33] = 3.0  # one loud kick on beat two of bar nine
    positions = bar_positions(_downbeat_score(**cues))
    assert np.array_equal(positions, np.arange(64) % 4)


def test_a_steady_grid_keeps_one_bar_phase_and_tracked_beats_follow_the_cues() -> None:
    from services.analysis.downbeats import estimate_downbeats
    from services.analysis.features import OnsetEnvelopes

    hop_sec, beat_sec = 512 / 22050, 0.5
    beats = 0.25 + beat_sec * np.arange(96)
    n_frames = int(beats[-1] / hop_sec) + 10
    # Kicks start bars on beat 0 for 48 beats, then (a beat dropped) on beat 51 on.
    bar_starts = np.concatenate([beats[0:48:4], beats[51::4]])
    kick = np.zeros(n_frames, dtype=np.float32)
    kick[np.round(bar_starts / hop_sec).astype(int)] = 1.0
    onsets = OnsetEnvelopes(kick=kick, snare=np.zeros(n_frames, dtype=np.float32),
                            hop_sec=hop_sec)
    frame_times = np.arange(n_frames) * hop_sec
    # The chord alternates between C and F major at each bar start as well.
    bar_index = np.searchsorted(bar_starts, frame_times, side="right")
    chroma = np.zeros((n_frames, 12), dtype=np.float32)
    chroma[np.ix_(bar_index % 2 == 0, [0, 4, 7])] = 1.0
    chroma[np.ix_(bar_index % 2 == 1, [5, 9, 0])] = 1.0
    kwargs = {"onsets": onsets, "chroma": chroma, "frame_times_sec": frame_times,
              "duration_sec": float(frame_times[-1])}
    tracked = estimate_downbeats(beats, steady=False, **kwargs)
    assert np.allclose(tracked, bar_starts)
    grid = estimate_downbeats(beats, steady=True, **kwargs)
    assert np.allclose(np.diff(grid), 4 * beat_sec)
