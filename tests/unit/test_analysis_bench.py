"""The analysis bench reads the real recordings' key labels the way the Camelot wheel files them."""

import pytest

from services.analysis.bench import _truth_key


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("G minor", "G minor"),
        ("C major", "C major"),
        ("F", "F major"),  # a bare tonic is major, as normalize_key reads it
        ("F (blues/dorian phrasing)", "F minor"),  # dorian has a minor third
        ("E (phrygian)", "E minor"),
        ("A (mixolydian)", "A major"),  # mixolydian has a major third
        ("G minor (relative of Bb)", "G minor"),  # an explicit mode wins over the remark
    ],
)
def test_truth_key_files_modes_by_their_third(label: str, key: str) -> None:
    assert _truth_key(label) == key
