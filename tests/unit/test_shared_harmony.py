"""Harmonic scoring over all 24 × 24 key pairs."""

from __future__ import annotations

import itertools

import pytest

from shared.camelot import camelot_relation, key_to_camelot, transpose_key
from shared.harmony import (
    HARMONIC_TABLE,
    KEY_COUNT,
    QUALITY_FLOORS,
    camelot_of_index,
    harmonic_match,
    key_index,
    key_of_index,
    layering_shift,
    quality_label,
)

KEYS = [key_of_index(i) for i in range(KEY_COUNT)]
PAIRS = list(itertools.product(KEYS, KEYS))
INVERSE = {"same": "same", "relative": "relative", "+1": "-1", "-1": "+1",
           "diagonal": "diagonal", "modal": "modal"}


def test_key_index_reads_names_and_camelot_codes() -> None:
    assert sorted(key_index(k) for k in KEYS) == list(range(KEY_COUNT))
    for index in range(KEY_COUNT):
        assert key_index(camelot_of_index(index)) == index
    assert key_index("8A") == key_index("A minor") == key_index("Am")
    assert key_index("8B") == key_index("C major")
    assert key_index("Bb major") == key_index("A# major")
    with pytest.raises(ValueError):
        key_index("H minor")
    with pytest.raises(ValueError):
        key_index("13A")


@pytest.mark.parametrize("max_shift", [0, 2])
def test_every_pair_scores_in_range_with_a_consistent_label(max_shift: int) -> None:
    for key_a, key_b in PAIRS:
        match = harmonic_match(key_a, key_b, max_shift_semitones=max_shift)
        assert 0.0 <= match.score <= 100.0
        assert match.quality == quality_label(match.score)
        assert match.recommendation.endswith(".") and len(match.recommendation) > 20
        assert match.key_a == key_a and match.key_b == key_b


def test_unshifted_relations_are_symmetric_except_energy_boost() -> None:
    for key_a, key_b in PAIRS:
        forward = harmonic_match(key_a, key_b, max_shift_semitones=0)
        backward = harmonic_match(key_b, key_a, max_shift_semitones=0)
        if forward.type in INVERSE:
            assert backward.type == INVERSE[forward.type], (key_a, key_b)
            assert backward.score == forward.score
        if forward.type == "clash" and backward.type == "clash":
            assert backward.score == forward.score


def test_same_relative_and_neighbours_on_the_wheel() -> None:
    assert harmonic_match("8A", "8A", max_shift_semitones=0).quality == "perfect"
    assert harmonic_match("8A", "8B", max_shift_semitones=0).type == "relative"
    assert harmonic_match("8A", "9A", max_shift_semitones=0).type == "+1"
    assert harmonic_match("8A", "7A", max_shift_semitones=0).type == "-1"
    assert harmonic_match("8A", "11B", max_shift_semitones=0).type == "modal"  # A minor/major
    assert harmonic_match("8A", "9B", max_shift_semitones=0).type == "diagonal"
    ranked = [harmonic_match("8A", code, max_shift_semitones=0).score
              for code in ("8A", "8B", "9A", "9B", "11B", "3A", "10A", "2A")]
    assert ranked == sorted(ranked, reverse=True)  # same > relative > … > tritone


def test_camelot_numbers_wrap_from_12_to_1() -> None:
    for letter in "AB":
        assert harmonic_match(f"12{letter}", f"1{letter}", max_shift_semitones=0).type == "+1"
        assert harmonic_match(f"1{letter}", f"12{letter}", max_shift_semitones=0).type == "-1"
    assert harmonic_match("12A", "1B", max_shift_semitones=0).type == "diagonal"


def test_energy_boost_is_directional() -> None:
    for key in KEYS:
        up = transpose_key(key, 1)  # +7 on the wheel, same letter
        number_a, number_b = int(camelot_of_index(key_index(key))[:-1]), int(
            camelot_of_index(key_index(up))[:-1])
        assert (number_b - number_a) % 12 == 7
        assert harmonic_match(key, up, max_shift_semitones=0).type == "energy_boost"
        assert harmonic_match(up, key, max_shift_semitones=0).type == "clash"
        # With the shift search both directions become the same key, one semitone away.
        for a, b in ((key, up), (up, key)):
            shifted = harmonic_match(a, b)
            assert shifted.type == "same" and abs(shifted.shift_b_semitones) == 1


def test_shift_search_prefers_small_shifts_and_reports_them_per_song() -> None:
    for key_a, key_b in PAIRS:
        match = harmonic_match(key_a, key_b)
        shift = match.shift_b_semitones
        assert match.shift_a_semitones == 0 and -2 <= shift <= 2
        assert transpose_key(key_b, shift) == match.shifted_key
        if shift != 0:  # a shift is only taken when it beats the unshifted relation
            assert match.score > match.unshifted_score
        else:
            assert match.score == match.unshifted_score
        if abs(shift) == 2:  # ±2 only when ±1 cannot do as well
            assert match.score > harmonic_match(key_a, key_b, max_shift_semitones=1).score
        # Shifting a instead of b gives the same score with the opposite shift.
        other = harmonic_match(key_a, key_b, shift_song="a")
        assert other.score == match.score and other.shift_b_semitones == 0
        assert abs(other.shift_a_semitones) == abs(shift)


def test_shifted_scores_are_symmetric_and_match_the_table() -> None:
    for a, b in itertools.product(range(KEY_COUNT), repeat=2):
        score = harmonic_match(KEYS[a], KEYS[b]).score
        assert HARMONIC_TABLE[a, b] == score == HARMONIC_TABLE[b, a]


def test_a_whole_tone_apart_is_fixed_by_a_two_semitone_shift() -> None:
    match = harmonic_match("A minor", "B minor", name_b="song-b")
    assert match.unshifted_type == "clash"
    assert (match.type, match.shift_b_semitones, match.shifted_key) == ("same", -2, "A minor")
    assert match.recommendation.startswith("Shift song-b down 2 semitones to A minor")
    assert match.quality in ("excellent", "good")


def test_quality_floors_are_ordered() -> None:
    floors = [floor for _, floor in QUALITY_FLOORS]
    assert floors == sorted(floors, reverse=True) and floors[-1] == 0.0
    assert quality_label(100) == "perfect" and quality_label(0) == "clash"


LAYERS_AS_IS = {"same", "relative", "+1", "-1", "diagonal", "modal"}


@pytest.mark.parametrize(("source", "target", "shift"), [
    ("C major", "G major", 0),    # a fifth apart: no shift (the old exact-key rule: -5)
    ("G minor", "G major", 0),    # parallel keys layer as they are
    ("A minor", "C major", 0),    # relative
    ("C# major", "C major", -1),  # a semitone above: down into the same key
    ("C minor", "A minor", 2),    # up 2 to D minor, a fifth from A minor (not down 3)
])
def test_layering_shift_keeps_compatible_keys_and_shifts_least(source: str, target: str,
                                                               shift: int) -> None:
    assert layering_shift(source, target) == shift


def test_layering_shift_always_reaches_a_layering_relation_within_two() -> None:
    for source, target in PAIRS:
        shift = layering_shift(source, target)
        assert abs(shift) <= 2, (source, target)
        shifted = key_to_camelot(transpose_key(source, shift))
        assert camelot_relation(key_to_camelot(target), shifted) in LAYERS_AS_IS
        if camelot_relation(key_to_camelot(target), key_to_camelot(source)) in LAYERS_AS_IS:
            assert shift == 0, (source, target)
