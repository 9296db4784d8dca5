"""The separated-vocals gate: open where the analysis hears singing, a floor elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from services.processing.gate import vocal_gate_gain
from services.processing.material import SongMaterial, parse_analysis

SR = 1000  # samples per second keep the arithmetic readable


def test_open_on_lines_widened_by_the_hold_and_at_the_floor_between() -> None:
    gain = vocal_gate_gain(0, 10 * SR, sample_rate_hz=SR, intervals_sec=[(2.0, 4.0)],
                           hold_sec=0.2, floor_db=-20.0, fade_sec=0.05)
    floor = 10 ** (-20 / 20)
    assert np.all(gain[1800:4200] == 1.0)  # the line and its hold
    assert np.allclose(gain[:1750], floor) and np.allclose(gain[4250:], floor)
    ramp = gain[1750:1800]  # rises monotonically, no step larger than one fade step
    assert np.all(np.diff(ramp) > 0) and np.max(np.diff(gain)) <= (1 - floor) / 50 + 1e-6


def test_a_slice_equals_the_same_part_of_the_whole() -> None:
    lines = [(0.5, 1.2), (3.0, 3.3), (7.9, 9.5)]
    whole = vocal_gate_gain(0, 10 * SR, sample_rate_hz=SR, intervals_sec=lines)
    part = vocal_gate_gain(3100, 8000, sample_rate_hz=SR, intervals_sec=lines)
    assert np.array_equal(part, whole[3100:8000])
    assert vocal_gate_gain(-500, 200, sample_rate_hz=SR, intervals_sec=lines).shape == (700,)


def _material(vocal_intervals: list[list[float]]) -> SongMaterial:
    analysis = parse_analysis({"bpm": 120.0, "duration_sec": 8.0, "beats": [], "downbeats": [],
                               "vocal_intervals": vocal_intervals}, song_id="s")
    ones = np.ones((2, 8 * 44100), dtype=np.float32)
    return SongMaterial.build("s", stems={"vocals": ones, "drums": ones, "bass": ones,
                                          "other": ones}, sample_rate_hz=44100,
                              analysis=analysis)


def test_vocal_layers_are_gated_and_nothing_else() -> None:
    material = _material([[2.0, 4.0]])
    vocals = material.stem_audio("vocals")
    assert vocals[:, 3 * 44100].tolist() == [1.0, 1.0]
    assert vocals[0, 6 * 44100] == pytest.approx(10 ** (-15 / 20))
    for stem in ("drums", "instrumental", "full"):  # the mix keeps its vocals' residue
        assert float(material.stem_audio(stem)[0, 6 * 44100]) in (1.0, 3.0, 4.0)


def test_a_song_analysed_as_never_singing_keeps_its_vocal_stem() -> None:
    assert np.all(_material([]).stem_audio("vocals") == 1.0)


def test_unusable_vocal_intervals_are_dropped_before_the_gate() -> None:
    # JSON allows Infinity and NaN (Python's parser reads them): an interval that is
    # not two finite times is ignored, not turned into a crash of the render
    analysis = parse_analysis({"bpm": 120.0, "duration_sec": 8.0, "vocal_intervals": [
        [float("-inf"), float("inf")], [float("nan"), 3.0], [1.0, "x"], [2.0, 1.0],
        [2.0, 4.0]]}, song_id="s")
    assert analysis.vocal_intervals == ((2.0, 4.0),)
