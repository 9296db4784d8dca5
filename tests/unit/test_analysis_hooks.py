"""The hook: bars whose four-bar passage recurs three or more times, far apart, where
such bars are the exception."""

from __future__ import annotations

import numpy as np

from services.analysis.hooks import hook_spans, recurrences, sequence_similarity

RNG = np.random.default_rng(7)


def _chords(n_bars: int, *, seed: int) -> np.ndarray:
    """n_bars of bar chroma (n, 12): a random progression, every bar different."""
    rng = np.random.default_rng(seed)
    return rng.random((n_bars, 12)) ** 3


def _jitter(chroma: np.ndarray, amount: float = 0.03) -> np.ndarray:
    return np.clip(chroma + amount * RNG.standard_normal(chroma.shape), 0.0, None)


def _song(*, choruses: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Verse (8 bars, new every time) then chorus (8 bars, the same every time), repeated;
    returns (bar chroma, bar loudness, chorus spans)."""
    chorus = _chords(8, seed=100)
    parts, loudness, spans, bar = [], [], [], 0
    for k in range(choruses):
        parts.append(_chords(8, seed=k))
        loudness += [0.0] * 8
        bar += 8
        parts.append(_jitter(chorus))
        loudness += [0.2] * 8
        spans.append((bar, bar + 8))
        bar += 8
    return np.vstack(parts), np.array(loudness), spans


def test_sequence_similarity_matches_a_passage_with_itself_in_order() -> None:
    chroma = _chords(20, seed=1)
    similarity = sequence_similarity(np.vstack([chroma, chroma]))
    assert similarity.shape == (37, 37)
    assert np.allclose(np.diag(similarity, 20), 1.0)
    assert similarity[0, 1] < 0.5  # the same bars one bar out of step do not match


def test_recurrences_count_places_far_enough_apart() -> None:
    chroma, _, _ = _song(choruses=3)
    counts = recurrences(sequence_similarity(chroma))
    assert counts[8] == 2 and counts[24] == 2 and counts[40] == 2  # chorus starts
    assert counts[0] == 0 and counts[16] == 0  # verses: new chords each time


def test_the_chorus_that_recurs_three_times_is_the_hook() -> None:
    chroma, loudness, choruses = _song(choruses=3)
    spans = hook_spans(chroma, loudness)
    assert len(spans) == 3
    for (start, end), (true_start, true_end) in zip(spans, choruses, strict=True):
        assert abs(start - true_start) <= 1 and abs(end - true_end) <= 1


def test_no_hook_when_the_chorus_comes_only_twice() -> None:
    chroma, loudness, _ = _song(choruses=2)
    assert hook_spans(chroma, loudness) == []


def test_no_hook_in_a_song_that_loops_one_progression() -> None:
    loop = _chords(4, seed=3)
    chroma = _jitter(np.vstack([loop] * 16))
    assert hook_spans(chroma, np.zeros(len(chroma))) == []


def test_a_quiet_recurring_passage_is_not_the_hook() -> None:
    chroma, loudness, _ = _song(choruses=3)
    assert hook_spans(chroma, -loudness) == []  # the recurring part is the quiet one
