from __future__ import annotations

import itertools

import pytest

from shared.camelot import (
    PITCH_CLASSES,
    camelot_relation,
    camelot_to_key,
    key_name,
    key_shift_semitones,
    key_to_camelot,
    normalize_key,
    parse_key,
    transpose_key,
)

KNOWN = {"A minor": "8A", "C major": "8B", "E minor": "9A", "G major": "9B", "D minor": "7A",
         "F major": "7B", "G# minor": "1A", "B major": "1B", "C# minor": "12A", "E major": "12B",
         "F# major": "2B", "G minor": "6A"}


@pytest.mark.parametrize(("key", "code"), KNOWN.items())
def test_known_codes(key: str, code: str) -> None:
    assert key_to_camelot(key) == code
    assert camelot_to_key(code) == key


def test_all_24_keys_round_trip_and_are_distinct() -> None:
    codes = set()
    for pc, mode in itertools.product(range(12), ("major", "minor")):
        code = key_to_camelot(key_name(pc, mode))
        codes.add(code)
        assert camelot_to_key(code) == key_name(pc, mode)
    assert len(codes) == 24


def test_flats_and_short_forms() -> None:
    assert normalize_key("Bbm") == "A# minor"
    assert normalize_key("Db") == "C# major"
    assert parse_key("f# minor") == (6, "minor")
    with pytest.raises(ValueError):
        parse_key("H major")


def test_relations() -> None:
    assert camelot_relation("8A", "8A") == "same"
    assert camelot_relation("8A", "8B") == "relative"
    assert camelot_relation("8A", "9A") == "+1"
    assert camelot_relation("12A", "1A") == "+1"  # the wheel wraps
    assert camelot_relation("1B", "12B") == "-1"
    assert camelot_relation("8A", "3A") == "energy_boost"
    assert camelot_relation("3A", "8A") != "energy_boost"  # directional
    assert camelot_relation("8A", "11B") == "modal"  # A minor / A major
    assert camelot_relation("8A", "2A") == "clash"


def test_energy_boost_is_one_semitone_up() -> None:
    for pc, mode in itertools.product(range(12), ("major", "minor")):
        key = key_name(pc, mode)
        boosted = transpose_key(key, 1)
        assert camelot_relation(key_to_camelot(key), key_to_camelot(boosted)) == "energy_boost"
    assert PITCH_CLASSES[0] == "C"


def test_relative_of_is_the_same_camelot_number_in_the_other_mode() -> None:
    from shared.camelot import camelot_of, relative_of

    for pitch_class in range(12):
        for mode in ("major", "minor"):
            other_pc, other_mode = relative_of(pitch_class, mode)
            assert other_mode != mode
            assert camelot_of(other_pc, other_mode)[:-1] == camelot_of(pitch_class, mode)[:-1]
            assert relative_of(other_pc, other_mode) == (pitch_class, mode)


@pytest.mark.parametrize(("song", "target", "shift"), [
    ("C major", "A minor", 0), ("A minor", "C major", 0), ("F minor", "D minor", -3),
    ("D major", "A minor", -2), ("E minor", "C major", 5), ("G major", "G major", 0),
    ("B major", "C major", 1), ("F# major", "C major", -6), ("Bb minor", "A minor", -1),
])
def test_key_shift_is_the_smallest_move(song: str, target: str, shift: int) -> None:
    assert key_shift_semitones(song, target) == shift


def test_key_shift_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        key_shift_semitones("H dorian", "C major")
