"""Pair scores, roles, recommendations and the multi-song overall."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from services.scoring.features import table_from_analyses
from services.scoring.mashability import (
    GATE_MARGIN,
    WEIGHTS,
    combine_scores,
    min_component_for,
    score_analyses,
)
from services.scoring.pairs import PairColumns, pair_scores
from shared.contracts.analysis import AnalysisResult
from shared.contracts.scoring import MashabilityResponse
from shared.errors import Unprocessable
from tests.unit.test_scoring_factory import make_analysis, sung


def analyses(*bodies: dict) -> list[AnalysisResult]:
    return [AnalysisResult.model_validate(body) for body in bodies]


def test_weights_sum_to_one_and_the_gate_caps_a_tempo_clash() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    assert combine_scores(100.0, 100.0, 100.0, 100.0) == pytest.approx(100.0)
    capped = combine_scores(100.0, 0.0, 100.0, 100.0)
    assert capped == pytest.approx(GATE_MARGIN)  # weighted mean alone would say 65
    rng = np.random.default_rng(0)
    parts = rng.uniform(0, 100, (4, 5000))
    scores = combine_scores(*parts)
    assert np.all((scores >= 0) & (scores <= 100))
    # min_component_for is a true bound: no pair below it reaches the score.
    for name, values in zip(("harmonic", "rhythmic", "spectral", "vocal"), parts, strict=True):
        for target in (50.0, 80.0, 95.0):
            reached = scores >= target
            assert np.all(values[reached] >= min_component_for(target, name) - 1e-9)


def test_vocal_song_becomes_the_vocal_source_and_gets_the_shift() -> None:
    vocal = make_analysis("vox", bpm=86.0, key="D major", vocal_intervals=sung())
    beat = make_analysis("beat", bpm=170.0, key="C major")
    for order in ((vocal, beat), (beat, vocal)):
        result = score_analyses(analyses(*order))
        pair = result.pairs[0]
        rec = pair.recommended
        assert (rec.vocal_source, rec.instrumental_source) == ("vox", "beat")
        # D major over C major: shift the vocals down a whole tone; the bed stays put.
        assert rec.pitch_shift_semitones == {"vox": -2, "beat": 0}
        assert rec.targetKey == "C major"
        assert pair.harmonic.type == "same" and pair.harmonic.unshifted_type == "clash"
        # 86 is half-time of 170: the target sits at the instrumental's level, between.
        assert pair.rhythmic.relation in ("half", "double")
        assert 170.0 < rec.targetBPM < 172.0
        assert not pair.vocal.clash and pair.vocal.score == pytest.approx(100.0)
        assert 0.0 <= pair.score <= 100.0 and result.overall == pair.score


def test_two_singers_clash_and_roles_fall_back_to_key_confidence() -> None:
    a = make_analysis("a", vocal_intervals=sung(share=0.7), key_confidence=0.3)
    b = make_analysis("b", vocal_intervals=sung(share=0.7), key_confidence=0.9)
    pair = score_analyses(analyses(a, b)).pairs[0]
    assert pair.vocal.clash and pair.vocal.score < 50.0
    assert pair.recommended.vocal_source == "b"  # equal vocals: the clearer key sings


def test_three_songs_score_every_pair_and_overall_uses_the_spanning_tree() -> None:
    bodies = [
        make_analysis("house-1", bpm=124.0, key="A minor", vocal_intervals=sung()),
        make_analysis("house-2", bpm=125.0, key="C major"),
        make_analysis("far", bpm=97.0, key="D# major"),
    ]
    result = score_analyses(analyses(*bodies))
    assert len(result.pairs) == 3
    scores = {(p.a, p.b): p.score for p in result.pairs}
    assert result.best_pair == max(scores, key=scores.get) == ("house-1", "house-2")
    tree = [tuple(edge) for edge in result.model_extra["spanning_pairs"]]
    assert len(tree) == 2 and set(itertools.chain(*tree)) == {"house-1", "house-2", "far"}
    assert result.overall == pytest.approx(np.mean([scores[e] for e in tree]), abs=0.01)
    # The tree takes the far song's better link, so overall ≥ the mean of all pairs.
    assert result.overall >= np.mean(list(scores.values())) - 0.01


def test_response_fits_the_contract() -> None:
    result = score_analyses(analyses(make_analysis("x"), make_analysis("y", bpm=128.0)))
    body = result.model_dump(mode="json")
    MashabilityResponse.model_validate(body)
    pair = body["pairs"][0]
    assert set(pair) >= {"a", "b", "score", "harmonic", "rhythmic", "spectral", "vocal",
                         "recommended"}
    assert set(pair["recommended"]) >= {"targetBPM", "targetKey", "pitch_shift_semitones",
                                        "vocal_source", "instrumental_source"}


def test_pair_scores_match_the_library_formula() -> None:
    rng = np.random.default_rng(5)
    bodies = [
        make_analysis(f"s{i}", bpm=float(rng.uniform(70, 180)),
                      key=["A minor", "C major", "F# minor", "D major"][i % 4],
                      energy=float(rng.uniform()),
                      vocal_intervals=sung(share=float(rng.uniform(0, 0.8))) if i % 2 else [],
                      spectral_profile=dict(zip(("low", "mid_low", "mid", "high", "air"),
                                                rng.dirichlet(np.ones(5)).tolist(), strict=True)),
                      **({"genre": ["techno", "hip-hop", "polka"][i % 3]} if i % 4 else {}))
        for i in range(8)
    ]
    result = score_analyses(analyses(*bodies))
    table = table_from_analyses(analyses(*bodies))
    columns = PairColumns.of(table)
    matrix = pair_scores(columns, slice(None), slice(None), outer=True)
    for pair in result.pairs:
        i, j = table.ids.index(pair.a), table.ids.index(pair.b)
        assert pair.score == pytest.approx(matrix[i, j], abs=0.01)
    np.testing.assert_allclose(matrix, matrix.T)  # pair scores are symmetric


def test_bad_input_is_unprocessable() -> None:
    with pytest.raises(Unprocessable, match="at least two"):
        score_analyses(analyses(make_analysis("solo")))
    with pytest.raises(Unprocessable, match="repeats the songId"):
        score_analyses(analyses(make_analysis("same"), make_analysis("same")))
    with pytest.raises(Unprocessable, match=r"analyses\[1\].*key"):
        score_analyses(analyses(make_analysis("a"), {**make_analysis("b"), "key": "weird",
                                                     "camelot": "99Z"}))


def test_comparable_singers_choose_the_downward_shift() -> None:
    # Equal vocals a semitone apart: A minor would have to go up to Bb minor, Bb minor
    # down to A minor, so the Bb minor song sings, even against a clearer key elsewhere.
    a = make_analysis("a", key="A minor", vocal_intervals=sung(share=0.5), key_confidence=0.9)
    b = make_analysis("b", key="A# minor", vocal_intervals=sung(share=0.5), key_confidence=0.2)
    for order in ((a, b), (b, a)):
        rec = score_analyses(analyses(*order)).pairs[0].recommended
        assert (rec.vocal_source, rec.instrumental_source) == ("b", "a")
        assert rec.pitch_shift_semitones["b"] == -1 and rec.pitch_shift_semitones["a"] == 0
        assert rec.targetKey == "A minor"
    # Both sing substantially (0.45 vs 0.35): direction still decides.
    b_less = {**b, "vocal_intervals": sung(share=0.35)}
    assert score_analyses(analyses(a, b_less)).pairs[0].recommended.vocal_source == "b"
    # Clearly more vocals win over direction (0.6 vs 0.1).
    b_little = {**b, "vocal_intervals": sung(share=0.1)}
    a_more = {**a, "vocal_intervals": sung(share=0.6)}
    rec = score_analyses(analyses(a_more, b_little)).pairs[0].recommended
    assert rec.vocal_source == "a" and rec.pitch_shift_semitones["a"] == 1


def test_genre_sets_the_tempo_tolerance() -> None:
    # 124 vs 129 BPM (4 %): tight for house, nothing for hip-hop; quiet songs at these
    # tempi would otherwise be inferred as "other" (±3 %).
    quiet = {"energy": 0.2}
    plain = analyses(make_analysis("a", bpm=124.0, **quiet), make_analysis("b", bpm=129.0,
                                                                           **quiet))
    house = analyses(make_analysis("a", bpm=124.0, genre="Deep House", **quiet),
                     make_analysis("b", bpm=129.0, genre="tech house", **quiet))
    rap = analyses(make_analysis("a", bpm=124.0, genre="hip-hop", **quiet),
                   make_analysis("b", bpm=129.0, genre="Trap", **quiet))
    scores = {name: score_analyses(songs).pairs[0].rhythmic
              for name, songs in (("plain", plain), ("house", house), ("rap", rap))}
    assert scores["plain"].style_a == "other" and scores["house"].style_a == "club"
    assert scores["rap"].style_b == "hiphop"
    assert scores["house"].score < scores["plain"].score < scores["rap"].score == 100.0
    with pytest.raises(Unprocessable, match=r"analyses\[1\].*genre"):
        score_analyses(analyses(make_analysis("a"), make_analysis("b", genre=7)))
