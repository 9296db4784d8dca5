"""Pitch for the sung frames the melody track left without one (`sung_gaps`)."""

from __future__ import annotations

import numpy as np

from services.separation.sung_gaps import bridge_gaps, comb_search, nearest_pitch, search_sung
from tests.unit.test_separation_octave import HOP, SR, _voice


def _track() -> tuple[np.ndarray, np.ndarray]:
    f0 = np.zeros(40, dtype=np.float32)
    f0[2:10] = 200.0
    f0[15:20] = 220.0  # a 5-frame gap (10-14) after the note at 200 Hz: 165 cents
    f0[30:35] = 440.0  # a 10-frame gap (20-29) before it: an octave up
    return f0, (f0 > 0).astype(np.float32) * 0.3


def test_a_short_gap_inside_a_sung_interval_is_bridged_in_cents() -> None:
    f0, certainty = _track()
    sung = np.ones(40, dtype=bool)
    out, out_certainty = bridge_gaps(f0, certainty, sung, max_gap_frames=8,
                                     max_jump_cents=300.0, fill_certainty=1.0)
    cents = 1200 * np.log2(out[9:16] / 200.0)
    step_cents = 1200 * np.log2(220.0 / 200.0) / 6
    assert np.allclose(np.diff(cents), step_cents, atol=1e-2)  # a straight line in cents
    assert np.all(out_certainty[10:15] == 1.0)
    # The octave leap is no contour, nor are the frames before the first pitch or
    # after the last; the pitched frames keep their pitch and certainty.
    assert np.all(out[20:30] == 0) and np.all(out[:2] == 0) and np.all(out[35:] == 0)
    assert np.array_equal(out[f0 > 0], f0[f0 > 0])
    assert np.array_equal(out_certainty[f0 > 0], certainty[f0 > 0])


def test_gaps_outside_the_sung_intervals_or_too_long_stay_unpitched() -> None:
    f0, certainty = _track()
    sung = np.ones(40, dtype=bool)
    sung[12] = False  # the detector hears no voice in the middle of the gap
    out, _ = bridge_gaps(f0, certainty, sung, max_gap_frames=8, max_jump_cents=300.0,
                         fill_certainty=1.0)
    assert np.array_equal(out, f0)
    out, _ = bridge_gaps(f0, certainty, np.ones(40, bool), max_gap_frames=4,
                         max_jump_cents=300.0, fill_certainty=1.0)
    assert np.array_equal(out, f0)


def test_nearest_pitch() -> None:
    f0 = np.array([0, 0, 200, 0, 0, 0, 300, 0], dtype=np.float32)
    assert nearest_pitch(f0).tolist() == [200, 200, 200, 200, 200, 300, 300, 300]
    assert np.all(nearest_pitch(np.zeros(3)) == 0)


def test_comb_search_finds_the_voice_near_the_given_pitch() -> None:
    true_f0 = np.full(60, 330.0)
    source = _voice(true_f0)
    frames = np.arange(10, 50)
    found, score = comb_search(source, frames, np.full(frames.size, 294.0),
                               sample_rate_hz=SR, hop_length=HOP, span_cents=400.0)
    assert np.all(np.abs(1200 * np.log2(found / 330.0)) < 25)
    # Off the voice the comb fits worse: the same search centred two octaves away.
    _, far = comb_search(source, frames, np.full(frames.size, 82.0), sample_rate_hz=SR,
                         hop_length=HOP, span_cents=400.0)
    assert np.all(score > far)


def test_search_fills_a_sung_hole_and_leaves_unsung_frames_alone() -> None:
    true_f0 = np.full(80, 262.0)
    source = _voice(true_f0)
    f0 = true_f0.astype(np.float32).copy()
    f0[30:50] = 0.0  # Melodia lost the note
    f0[60:] = 0.0
    sung = np.zeros(80, dtype=bool)
    sung[:50] = True  # frames 60-79 lie outside the detector's intervals
    out, certainty = search_sung(f0, np.ones(80, np.float32), sung, source,
                                 sample_rate_hz=SR, hop_length=HOP, span_cents=700.0,
                                 min_score=0.8, fill_certainty=0.9)
    assert np.all(np.abs(1200 * np.log2(out[30:50] / 262.0)) < 25)
    assert np.all(certainty[30:50] == np.float32(0.9))
    assert np.all(out[60:] == 0)
    # A score nothing reaches leaves the hole.
    out, _ = search_sung(f0, np.ones(80, np.float32), sung, source, sample_rate_hz=SR,
                         hop_length=HOP, span_cents=700.0, min_score=1e9, fill_certainty=0.9)
    assert np.all(out[30:50] == 0)
