"""Vocal activity, vocal clash and role assignment."""

from __future__ import annotations

import numpy as np
import pytest

from services.scoring.vocal import (
    ACTIVITY_BINS,
    NEUTRAL_SCORE,
    activity_matrix,
    vocal_activity,
    vocal_match,
    vocal_source_is_a,
)
from tests.unit.test_scoring_factory import sung


def test_activity_profile_covers_the_sung_time() -> None:
    first_half = vocal_activity([[0.0, 50.0]], duration_sec=100.0)
    assert first_half.shape == (ACTIVITY_BINS,)
    assert np.all(first_half[:32] == 1.0) and np.all(first_half[32:] == 0.0)
    partial = vocal_activity([[0.0, 100.0 / 128]], duration_sec=100.0)  # half of bin 0
    assert partial[0] == pytest.approx(0.5) and partial[1:].sum() == 0.0
    overlapping = vocal_activity([[0.0, 60.0], [40.0, 100.0]], duration_sec=100.0)
    assert np.all(overlapping == 1.0)
    assert vocal_activity([], duration_sec=100.0).sum() == 0.0
    assert vocal_activity(sung(180.0, 0.6), duration_sec=180.0).mean() == pytest.approx(0.6)


def test_batched_activity_equals_per_song_activity() -> None:
    rng = np.random.default_rng(3)
    starts = rng.uniform(0, 1, 500)
    ends = np.minimum(starts + rng.uniform(0, 0.2, 500), 1.0)
    rows = rng.integers(0, 40, 500)
    batch = activity_matrix(starts, ends, rows, row_count=40)
    for row in range(40):
        mine = rows == row
        single = vocal_activity(np.c_[starts[mine], ends[mine]] * 10.0, duration_sec=10.0)
        np.testing.assert_allclose(batch[row], single, atol=1e-6)


def test_a_vocal_over_an_instrumental_is_ideal() -> None:
    vocal = vocal_activity(sung(180.0, 0.6), duration_sec=180.0)
    instrumental = vocal_activity([], duration_sec=180.0)
    match = vocal_match(vocal, instrumental)
    assert match.score == pytest.approx(100.0) and not match.clash
    assert match.share_a == pytest.approx(0.6) and match.share_b == 0.0


def test_two_busy_vocals_clash() -> None:
    a = vocal_activity(sung(180.0, 0.8), duration_sec=180.0)
    b = vocal_activity(sung(200.0, 0.8), duration_sec=200.0)
    match = vocal_match(a, b)
    assert match.clash and match.overlap > 0.5 and match.score < 50.0
    # Vocals in different halves of the songs do not overlap, so no clash.
    verse = vocal_activity([[0.0, 80.0]], duration_sec=180.0)
    outro = vocal_activity([[100.0, 180.0]], duration_sec=180.0)
    apart = vocal_match(verse, outro)
    assert not apart.clash and apart.overlap == 0.0 and apart.score == pytest.approx(100.0)


def test_two_instrumentals_are_plain_and_unknown_is_neutral() -> None:
    silent = np.zeros(ACTIVITY_BINS, dtype=np.float32)
    assert vocal_match(silent, silent).score == pytest.approx(50.0)
    assert vocal_match(None, silent).score == NEUTRAL_SCORE


def test_roles_follow_the_vocals_then_key_confidence() -> None:
    assert vocal_source_is_a(share_a=0.5, share_b=0.0, key_confidence_a=0.1,
                             key_confidence_b=0.9)
    assert not vocal_source_is_a(share_a=0.0, share_b=0.3, key_confidence_a=0.9,
                                 key_confidence_b=0.1)
    # A tie on vocals goes to the clearer key.
    assert not vocal_source_is_a(share_a=0.40, share_b=0.41, key_confidence_a=0.2,
                                 key_confidence_b=0.7)
    assert vocal_source_is_a(share_a=np.nan, share_b=np.nan, key_confidence_a=0.5,
                             key_confidence_b=0.5)


def test_bad_duration_is_refused() -> None:
    with pytest.raises(ValueError):
        vocal_activity([[0.0, 1.0]], duration_sec=0.0)
