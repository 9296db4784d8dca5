"""Steady-pitch melody segments (`steady`): held instrument notes let go, voices kept."""

from __future__ import annotations

import numpy as np

from services.separation.steady import steady_voicing
from shared.pitch_contour import wobble_cents


def _track() -> np.ndarray:
    """Three segments: a held pad note, a sung note with vibrato, a short blip."""
    t = np.arange(60) * 256 / 22050
    pad = np.full(60, 220.0)
    sung = 330.0 * 2 ** (0.3 * np.sin(2 * np.pi * 5.5 * t) / 12)
    blip = np.full(3, 500.0)
    gap = np.zeros(4)
    return np.concatenate([pad, gap, sung, gap, blip]).astype(np.float32)


def test_wobble_separates_a_held_note_from_vibrato() -> None:
    f0 = _track()
    wobble = wobble_cents(f0, min_frames=5, robust=False)
    assert np.all(wobble[:60] < 1.0)
    assert np.all(wobble[64:124] > 10.0)
    assert np.all(np.isnan(wobble[60:64])) and np.all(np.isnan(wobble[-3:]))
    # A straight glide is no wobble.
    glide = np.geomspace(200.0, 210.0, 30).astype(np.float32)
    assert np.all(wobble_cents(glide, min_frames=8, robust=False) < 0.5)


def test_steady_voicing_drops_held_notes_and_keeps_the_rest() -> None:
    f0 = _track()
    certainty = np.ones_like(f0)
    certainty[64:94] = 0.0  # half the sung note only guessed
    out_f0, out_certainty = steady_voicing(f0, certainty, steady_cents=(2.0, 6.0),
                                           min_frames=5)
    assert np.all(out_f0[:60] == 0) and np.all(out_certainty[:60] == 0)
    np.testing.assert_array_equal(out_f0[60:], f0[60:])
    np.testing.assert_array_equal(out_certainty[60:], certainty[60:])
    # Guesses can be held to a stricter rule: the vibrato (about 10 cents here) is
    # between the two thresholds, so the guessed frames keep their pitch with less
    # certainty... which for a guess (0) stays 0; the voiced frames keep theirs.
    wobble = float(wobble_cents(f0, min_frames=5, robust=False)[70])
    strict = (wobble + 1.0, wobble + 20.0)
    out_f0, _ = steady_voicing(f0, certainty, steady_cents=(2.0, 6.0),
                               guess_steady_cents=strict, min_frames=5)
    assert np.all(out_f0[64:94] == 0)
    np.testing.assert_array_equal(out_f0[94:124], f0[94:124])
