"""Keys and the Camelot wheel.

Keys are spelled with sharps ("F# major", "A minor"). On the wheel, moving one number
clockwise is a fifth up (+7 semitones); the letter is the mode (A minor, B major); a
minor key and its relative major share a number (8A = A minor, 8B = C major).
"""

from __future__ import annotations

import re

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Semitones above the tonic of each degree of the major and the (natural) minor scale.
SCALE_STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
_FLATS = {"DB": "C#", "EB": "D#", "GB": "F#", "AB": "G#", "BB": "A#", "CB": "B", "FB": "E",
          "E#": "F", "B#": "C"}
_KEY_RE = re.compile(r"^\s*([A-Ga-g])\s*([#b♯♭]?)\s*(major|minor|maj|min|m)?\s*$", re.I)
_CAMELOT_RE = re.compile(r"^\s*(1[0-2]|[1-9])\s*([AaBb])\s*$")


def parse_key(key: str) -> tuple[int, str]:
    """"A minor" / "F#" / "Bbm" → (pitch class 0..11, "major"|"minor")."""
    match = _KEY_RE.match(key)
    if not match:
        raise ValueError(f"not a key: {key!r} (expected e.g. 'A minor' or 'F# major')")
    letter, accidental, mode = match.groups()
    name = letter.upper() + {"♯": "#", "♭": "B", "b": "B"}.get(accidental, accidental)
    name = _FLATS.get(name, name)
    mode_name = "minor" if mode and mode.lower() in ("minor", "min", "m") else "major"
    return PITCH_CLASSES.index(name), mode_name


def key_name(pitch_class: int, mode: str) -> str:
    return f"{PITCH_CLASSES[pitch_class % 12]} {mode}"


def relative_of(pitch_class: int, mode: str) -> tuple[int, str]:
    """The relative key (the same notes in the other mode): A minor <-> C major."""
    if mode == "major":
        return (pitch_class + 9) % 12, "minor"
    return (pitch_class + 3) % 12, "major"


def normalize_key(key: str) -> str:
    return key_name(*parse_key(key))


def camelot_of(pitch_class: int, mode: str) -> str:
    """Camelot code of a key: A minor → 8A, C major → 8B."""
    reference = 9 if mode == "minor" else 0  # 8A is A minor, 8B is C major
    steps = ((pitch_class - reference) * 7) % 12  # fifths from the reference key
    number = (8 - 1 + steps) % 12 + 1
    return f"{number}{'A' if mode == 'minor' else 'B'}"


def key_to_camelot(key: str) -> str:
    return camelot_of(*parse_key(key))


def parse_camelot(code: str) -> tuple[int, str]:
    match = _CAMELOT_RE.match(code)
    if not match:
        raise ValueError(f"not a Camelot code: {code!r}")
    return int(match.group(1)), match.group(2).upper()


def camelot_to_key(code: str) -> str:
    number, letter = parse_camelot(code)
    mode = "minor" if letter == "A" else "major"
    reference = 9 if mode == "minor" else 0
    pitch_class = (reference + 7 * (number - 8)) % 12
    return key_name(pitch_class, mode)


def key_shift_semitones(source_key: str, target_key: str) -> int:
    """Smallest shift in semitones (−6…+5) taking `source_key` to `target_key`; a key in
    the other mode counts as its relative (A minor ~ C major: no shift). On a tritone the
    shift goes down: a voice lowered six semitones sounds less processed than raised.
    Raises ValueError for an unparsable key. The planner and the renderer both use it."""
    source_pc, source_mode = parse_key(source_key)
    target_pc, target_mode = parse_key(target_key)
    if source_mode != target_mode:
        source_pc, _ = relative_of(source_pc, source_mode)
    return (target_pc - source_pc + 6) % 12 - 6


def transpose_key(key: str, semitones: int) -> str:
    pitch_class, mode = parse_key(key)
    return key_name(pitch_class + semitones, mode)


def camelot_relation(code_a: str, code_b: str) -> str:
    """How key b sits relative to key a on the wheel.

    same, relative (same number, other letter), +1 / -1 (adjacent number, same letter),
    energy_boost (+7 on the same letter: one semitone up), modal (parallel key:
    same tonic, other mode), diagonal (±1 number and other letter), or clash.
    """
    num_a, let_a = parse_camelot(code_a)
    num_b, let_b = parse_camelot(code_b)
    step = (num_b - num_a) % 12
    if let_a == let_b:
        return {0: "same", 1: "+1", 11: "-1", 7: "energy_boost"}.get(step, "clash")
    if step == 0:
        return "relative"
    # Parallel keys: A minor (8A) and A major (11B) are 3 numbers apart.
    if (let_a == "A" and step == 3) or (let_a == "B" and step == 9):
        return "modal"
    if step in (1, 11):
        return "diagonal"
    return "clash"
