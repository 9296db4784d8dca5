"""Tempo relations, stretch, tolerance and target tempo."""

from __future__ import annotations

import numpy as np
import pytest

from services.scoring.rhythmic import (
    RELATION_RATIOS,
    infer_style,
    rhythmic_arrays,
    rhythmic_match,
    stretch_score,
    style_of_genre,
    tempo_tolerance_percent,
)

INVERSE = {"direct": "direct", "double": "half", "half": "double", "3:2": "2:3", "2:3": "3:2",
           "clash": "clash"}


def test_double_and_half_time() -> None:
    match = rhythmic_match(85.0, 170.0)
    assert match.relation == "double" and abs(match.stretch_percent) < 1e-9
    assert match.score >= 85 and match.target_bpm == pytest.approx(85.0)
    assert rhythmic_match(170.0, 85.0).relation == "half"


def test_three_against_two() -> None:
    assert rhythmic_match(114.0, 171.0).relation == "3:2"
    assert rhythmic_match(171.0, 114.0).relation == "2:3"
    # Bars no longer line up, so even an exact 3:2 scores well below a direct match.
    assert rhythmic_match(114.0, 171.0).score < rhythmic_match(114.0, 116.0).score - 30


def test_nearby_club_tempi_need_a_small_stretch() -> None:
    match = rhythmic_match(124.0, 126.0, energy_a=0.8, energy_b=0.8)
    assert match.relation == "direct" and match.style_a == match.style_b == "club"
    assert match.stretch_percent == pytest.approx(100 * (124 / 126 - 1))
    assert 124.0 < match.target_bpm < 126.0
    assert match.stretch_a_percent == pytest.approx(-match.stretch_b_percent)
    assert abs(match.stretch_a_percent) < 1.0
    assert 90.0 < match.score < 100.0


def test_ninety_against_one_forty_is_clash_ish() -> None:
    match = rhythmic_match(90.0, 140.0)
    assert match.relation in ("3:2", "clash") and match.score < 50.0


def test_beyond_fifteen_percent_is_a_clash() -> None:
    match = rhythmic_match(100.0, 125.0)  # 25 % direct, 18 % from 3:2
    assert match.relation == "clash" and match.score <= 20.0
    assert match.target_bpm > 0


def test_scores_are_symmetric_bounded_and_relations_invert() -> None:
    tempi = np.arange(60.0, 200.0, 3.7)
    for a in tempi:
        for b in tempi:
            forward, backward = rhythmic_match(a, b), rhythmic_match(b, a)
            assert 0.0 <= forward.score <= 100.0
            assert forward.score == pytest.approx(backward.score)
            assert backward.relation == INVERSE[forward.relation]


def test_vectorised_core_matches_the_scalar_function() -> None:
    rng = np.random.default_rng(1)
    bpm_a, bpm_b = rng.uniform(60, 200, 300), rng.uniform(60, 200, 300)
    energy_a, energy_b = rng.uniform(0, 1, 300), rng.uniform(0, 1, 300)
    scores, index, _ = rhythmic_arrays(
        bpm_a, bpm_b, tempo_tolerance_percent(bpm_a, energy_a),
        tempo_tolerance_percent(bpm_b, energy_b),
    )
    for k in range(300):
        match = rhythmic_match(bpm_a[k], bpm_b[k], energy_a=energy_a[k], energy_b=energy_b[k])
        assert scores[k] == pytest.approx(match.score)
        assert (index[k] < 0) == (match.relation == "clash")


def test_tolerance_is_tight_for_club_and_loose_for_hiphop() -> None:
    assert infer_style(tempo_bpm=124, energy=0.8) == "club"
    assert infer_style(tempo_bpm=124, energy=0.1) == "other"
    assert infer_style(tempo_bpm=90, energy=0.9) == "hiphop"
    club = rhythmic_match(124.0, 127.0, energy_a=0.8, energy_b=0.8)  # 2.4 % apart
    hiphop = rhythmic_match(90.0, 92.2, energy_a=0.5, energy_b=0.5)  # 2.4 % apart
    assert hiphop.score == pytest.approx(100.0) and club.score < 95.0
    assert rhythmic_match(90.0, 97.0).score > 95.0  # 7 BPM is nothing for hip-hop
    assert tempo_tolerance_percent(np.array([124.0]), np.array([np.nan]))[0] == pytest.approx(
        100 * 1.5 / 124)


def test_stretch_cost_is_monotone_and_heavy_beyond_six_percent() -> None:
    mismatch = np.linspace(0, 40, 801)
    for tolerance in (1.2, 3.0, 8.9, 10.0):
        curve = stretch_score(mismatch, np.full_like(mismatch, tolerance))
        assert np.all(np.diff(curve) <= 1e-12) and curve[0] == 100.0 and curve[-1] == 0.0
    assert stretch_score(np.array(6.0), np.array(1.2)) <= 75.0
    assert stretch_score(np.array(15.0), np.array(1.2)) <= 20.0


def test_target_minimises_the_larger_stretch() -> None:
    for a, b in ((124.0, 126.0), (85.0, 172.0), (114.0, 168.0), (95.0, 100.0)):
        match = rhythmic_match(a, b)
        grid = np.linspace(match.target_bpm * 0.9, match.target_bpm * 1.1, 20001)
        worst = np.maximum(np.abs(grid / a - 1), np.abs(grid * match.ratio / b - 1))
        assert match.target_bpm == pytest.approx(grid[np.argmin(worst)], rel=1e-4)
        assert match.ratio in RELATION_RATIOS


@pytest.mark.parametrize("bad", [0.0, -120.0, float("nan"), float("inf")])
def test_invalid_tempo_is_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        rhythmic_match(bad, 120.0)


def test_genre_names_the_style_and_overrides_the_inference() -> None:
    cases = {"Deep House": "club", "techno": "club", "drum_and_bass": "club",
             "Hip Hop": "hiphop", "boom-bap rap": "hiphop", "R&B": "hiphop",
             "trip-hop": "other", "electro swing": "other", "pop": "other",
             "polka": None, "": None, None: None}
    for genre, style in cases.items():
        assert style_of_genre(genre) == style, genre
    # 95 BPM is hip-hop by inference, but a genre of "techno" makes it tight.
    assert infer_style(tempo_bpm=95.0, energy=0.8) == "hiphop"
    assert infer_style(tempo_bpm=95.0, energy=0.8, genre="techno") == "club"
    loose = rhythmic_match(95.0, 99.0)
    tight = rhythmic_match(95.0, 99.0, genre_a="techno", genre_b="minimal techno")
    assert loose.score == 100.0 and tight.score < 95.0
    assert tight.tolerance_percent == pytest.approx(100 * 1.5 / 99.0)
    # An unknown genre changes nothing.
    assert rhythmic_match(95.0, 99.0, genre_a="polka").score == loose.score
