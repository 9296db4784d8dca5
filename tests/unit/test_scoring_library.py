"""Library ranking: planted partners, exactness of the pruned search, row validation."""

from __future__ import annotations

import numpy as np
import pytest

from services.scoring.bench import random_library
from services.scoring.features import table_from_rows
from services.scoring.library import _max_mismatch_percent, find_mashups, rank_pairs
from services.scoring.pairs import PairColumns, pair_scores
from services.scoring.rhythmic import stretch_score
from services.scoring.spectral import BANDS, REFERENCE_SHARES
from shared.contracts.scoring import FindMashupsRequest
from shared.errors import Unprocessable

REFERENCE = dict(zip(BANDS, REFERENCE_SHARES.tolist(), strict=True))


def singer(song_id: str) -> dict:
    return {"songId": song_id, "bpm": 124.0, "key": "A minor", "energy": 0.8,
            "duration_sec": 200.0, "spectral_profile": REFERENCE,
            "vocal_intervals": [[10.0, 70.0], [90.0, 150.0]]}


def backing(song_id: str) -> dict:
    return {"songId": song_id, "bpm": 124.0, "camelot": "8A", "energy": 0.8,
            "duration_sec": 180.0, "spectral_profile": REFERENCE, "vocal_intervals": []}


def brute_force_top(rows: list[dict], top_k: int) -> list[tuple[int, int]]:
    table = table_from_rows(rows)
    matrix = pair_scores(PairColumns.of(table, np.float32), slice(None), slice(None), outer=True)
    a, b = np.triu_indices(len(rows), 1)
    order = np.lexsort((b, a, -matrix[a, b]))[:top_k]
    return list(zip(a[order].tolist(), b[order].tolist(), strict=True))


def test_query_finds_the_planted_partner_among_2000_rows() -> None:
    rows = random_library(2000, seed=11)
    rows[0] = singer("query")
    rows[1234] = backing("planted")
    response = find_mashups(FindMashupsRequest(library=rows, query="query", top_k=10))
    matches = response.matches
    assert matches[0].b == "planted" and matches[0].score == pytest.approx(100.0, abs=0.01)
    assert len(matches) == 10 and all(m.a == "query" and m.b != "query" for m in matches)
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    extra = matches[0].model_extra
    assert extra["harmonic_type"] == "same" and extra["tempo_relation"] == "direct"


def test_whole_library_finds_the_planted_pair_among_2000_rows() -> None:
    rows = random_library(2000, seed=12)
    rows[700] = singer("planted-vocal")
    rows[1900] = backing("planted-beat")
    response = find_mashups(FindMashupsRequest(library=rows, top_k=5))
    first = response.matches[0]
    assert {first.a, first.b} == {"planted-vocal", "planted-beat"}
    assert len(response.matches) == 5


@pytest.mark.parametrize(("size", "block_elements"),
                         [(50, 1), (400, 997), (400, 20_000), (400, 10_000_000)])
def test_pruned_search_equals_brute_force_for_any_block_size(
    size: int, block_elements: int
) -> None:
    rows = random_library(size, seed=3)
    table = table_from_rows(rows)
    a, b, _ = rank_pairs(table, top_k=30, block_elements=block_elements)
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == brute_force_top(rows, 30)


def test_ties_are_broken_by_library_order() -> None:
    rows = [backing(f"twin-{i}") for i in range(40)]
    for block_elements in (7, 100_000):
        a, b, scores = rank_pairs(table_from_rows(rows), top_k=5, block_elements=block_elements)
        assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (0, 2), (0, 3),
                                                                  (0, 4), (0, 5)]
        assert np.all(scores == scores[0])


def test_minimal_rows_are_enough() -> None:
    rows = [{"songId": "a", "bpm": 120, "key": "C major"},
            {"songId": "b", "bpm": 121.5, "camelot": "8B"},
            {"songId": "c", "bpm": 90, "key": "F# minor"}]
    matches = find_mashups(FindMashupsRequest(library=rows, query="a", top_k=5)).matches
    assert [m.b for m in matches] == ["b", "c"]


def test_max_mismatch_inverts_the_stretch_curve() -> None:
    for tolerance in (1.1, 3.0, 8.5, 10.0):
        for level in (99.9, 90.0, 75.0, 50.0, 20.0, 5.0):
            m = _max_mismatch_percent(level, tolerance)
            assert stretch_score(np.float64(m), np.float64(tolerance)) == pytest.approx(level)
            assert stretch_score(np.float64(m + 0.01), np.float64(tolerance)) < level


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"bpm": 120, "key": "A minor"}, r"library\[1\]: needs a non-empty string songId"),
        ({"songId": "x", "key": "A minor"}, r"library\[1\] \(songId 'x'\): needs bpm"),
        ({"songId": "x", "bpm": -5, "key": "A minor"}, r"songId 'x'\): needs bpm"),
        ({"songId": "x", "bpm": 120}, r"songId 'x'\): needs a key"),
        ({"songId": "x", "bpm": 120, "key": "Q major"}, r"needs a key"),
        ({"songId": "a", "bpm": 120, "key": "A minor"}, r"repeats the songId of library\[0\]"),
        ({"songId": "x", "bpm": 120, "key": "Am", "energy": 3}, r"energy must be"),
        ({"songId": "x", "bpm": 120, "key": "Am", "spectral_profile": {"low": 1}},
         r"library\[1\] \(songId 'x'\): spectral_profile.mid_low"),
        ({"songId": "x", "bpm": 120, "key": "Am", "vocal_intervals": [[5, 1]]},
         r"library\[1\] \(songId 'x'\): vocal_intervals need"),
        ({"songId": "x", "bpm": 120, "key": "Am", "vocal_intervals": [[1, "2"]]},
         r"library\[1\] \(songId 'x'\): vocal_intervals need"),
        ({"songId": "x", "bpm": 120, "key": "Am", "vocal_intervals": [[1, 2, 3]]},
         r"library\[1\] \(songId 'x'\): vocal_intervals must be"),
        ({"songId": "x", "bpm": 120, "key": "Am", "vocal_intervals": "lots"},
         r"vocal_intervals must be"),
        ({"songId": "x", "bpm": 120, "key": "Am", "vocal_intervals": [], "duration_sec": 0},
         r"duration_sec must be"),
    ],
)
def test_bad_rows_are_named(row: object, message: str) -> None:
    rows = [{"songId": "a", "bpm": 120, "key": "A minor"}, row]
    with pytest.raises(Unprocessable, match=message):
        find_mashups(FindMashupsRequest(library=rows, top_k=3))


def test_a_row_that_is_not_an_object_is_named() -> None:
    with pytest.raises(Unprocessable, match=r"library\[1\]: must be an object"):
        table_from_rows([{"songId": "a", "bpm": 120, "key": "A minor"}, "not a row"])


def test_unknown_query_is_unprocessable() -> None:
    rows = [backing("a"), backing("b")]
    with pytest.raises(Unprocessable, match="'nope' is not a songId"):
        find_mashups(FindMashupsRequest(library=rows, query="nope"))
