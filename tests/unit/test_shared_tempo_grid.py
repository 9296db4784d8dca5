"""The beat ratios the planner and the renderer share."""

from __future__ import annotations

import pytest

from shared.tempo_grid import beat_ratio, on_the_beat, playback_speed


@pytest.mark.parametrize(("song_bpm", "target_bpm", "ratio"), [
    (118.0, 124.0, 1.0),
    (174.0, 90.0, 0.5),  # drum & bass counted in half time
    (86.0, 172.0, 2.0),
    (124.0, 87.0, 2.0 / 3.0),  # no power of two comes near: 3:2
    (80.0, 121.0, 1.5),
    (92.0, 128.0, 1.5),  # 1.5 needs 7.8 % less stretch than 1.0: worth its penalty
    (100.0, 124.0, 1.0),  # 24 % direct against 17 % at 3:2 (+ penalty): direct
])
def test_the_ratio_that_stretches_least_wins(song_bpm: float, target_bpm: float,
                                             ratio: float) -> None:
    assert beat_ratio(song_bpm=song_bpm, target_bpm=target_bpm) == pytest.approx(ratio)
    speed = playback_speed(song_bpm=song_bpm, target_bpm=target_bpm)
    assert speed == pytest.approx(target_bpm / (ratio * song_bpm))


def test_only_powers_of_two_keep_the_beats_on_the_grid() -> None:
    assert all(on_the_beat(r) for r in (1.0, 2.0, 0.5, 0.25))
    assert not any(on_the_beat(r) for r in (1.5, 2.0 / 3.0))
