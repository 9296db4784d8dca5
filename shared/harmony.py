"""Harmonic compatibility of two keys on the Camelot wheel, with a small pitch-shift search.

Scores are for *layering* (both songs sounding at once), which is what a mashup does:

| relation (b against a) | notes shared | score |
|---|---|---|
| same                      | 7 of 7, same tonic      | 100 |
| relative (8A ↔ 8B)        | 7 of 7, other tonic     | 94  |
| +1 / -1 (a fifth apart)   | 6 of 7                  | 88  |
| diagonal (±1 number, other letter) | 6 of 7         | 76  |
| modal (parallel, 8A ↔ 11B)| 4 of 7, same tonic      | 66  |
| energy_boost (+7, same letter: b a semitone up) | 2 of 7 | 55 |
| clash                     | by distance in fifths d | 45 (d=2) … 5 (d=6) |

`energy_boost` is a DJ's key-change move between sections, so it scores as "acceptable"
and only in that direction (b a semitone *above* a); the reverse is a clash. The wheel
number difference is the distance between the key signatures in fifths, which is why it
grades the clashes.

Pitch shifts of −2…+2 semitones of one song are searched; each semitone costs
`SHIFT_COST_PER_SEMITONE` points, so 0 is preferred, then ±1, then ±2, and on a tie a
downward shift (it sounds more natural on vocals than an upward one). Shifting a by −s
or b by +s gives the same relation (transposing both keys keeps their wheel distance),
so the score does not depend on which song is shifted, only the reported shift does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from shared.camelot import (
    camelot_of,
    camelot_relation,
    key_name,
    parse_camelot,
    parse_key,
)

KEY_COUNT = 24  # index = pitch class (0..11) + 12 for minor
MODES = ("major", "minor")
MAX_SHIFT_SEMITONES = 2
SHIFT_COST_PER_SEMITONE = 5.0

RELATION_SCORES: dict[str, float] = {
    "same": 100.0,
    "relative": 94.0,
    "+1": 88.0,
    "-1": 88.0,
    "diagonal": 76.0,
    "modal": 66.0,
    "energy_boost": 55.0,
}
# Clash score by the distance between the key signatures in fifths (wheel numbers);
# distances 0 and 1 are never clashes, they are listed so every distance has a value.
CLASH_SCORES_BY_FIFTHS: dict[int, float] = {0: 45.0, 1: 45.0, 2: 45.0, 3: 30.0, 4: 18.0,
                                            5: 8.0, 6: 5.0}

Quality = Literal["perfect", "excellent", "good", "acceptable", "risky", "clash"]
# Lowest score of each quality label, best first.
QUALITY_FLOORS: tuple[tuple[Quality, float], ...] = (
    ("perfect", 97.0),
    ("excellent", 85.0),
    ("good", 70.0),
    ("acceptable", 55.0),
    ("risky", 35.0),
    ("clash", 0.0),
)

_ADVICE: dict[str, str] = {
    "same": "both are in the same key, so vocals and harmony layer freely",
    "relative": "the keys are relative major/minor and share every note, so they layer "
    "freely; the mood moves between major and minor colour",
    "+1": "the keys are neighbours on the Camelot wheel (a fifth apart) and share six of "
    "seven notes, so layering works; watch long sustained chords",
    "diagonal": "the keys are diagonal neighbours on the wheel (a fifth apart and a mode "
    "change) and share six notes; put vocals over sparse harmony, keep dense chords apart",
    "modal": "the keys are parallel major/minor (same tonic, three notes differ); layer only "
    "sparse parts, or use the switch as a deliberate change of mood",
    "energy_boost": "{b} sits a semitone above {a}: use it as an energy-boost key change "
    "between sections rather than layering the two",
    "clash": "the keys clash, so avoid layering harmonic parts: pair drums or an acapella "
    "with a sparse section, or transition without overlap",
}
_ADVICE["-1"] = _ADVICE["+1"]


@dataclass(frozen=True)
class HarmonicMatch:
    """The best relation of two keys after the pitch-shift search.

    `type`/`score` are after the shift (the score includes the shift cost);
    `shift_a_semitones`/`shift_b_semitones` say how far to pitch-shift each song (one of
    them is 0); `shifted_key` is the shifted song's key after the shift.
    """

    type: str
    score: float
    quality: Quality
    recommendation: str
    unshifted_type: str
    unshifted_score: float
    shift_a_semitones: int
    shift_b_semitones: int
    key_a: str
    key_b: str
    shifted_key: str


def key_index(key_or_camelot: str) -> int:
    """"A minor" / "Bbm" / "8A" → 0..23 (pitch class + 12 for minor); ValueError if neither."""
    try:
        pitch_class, mode = parse_key(key_or_camelot)
    except ValueError:
        number, letter = parse_camelot(key_or_camelot)  # raises ValueError with a message
        mode = "minor" if letter == "A" else "major"
        reference = 9 if mode == "minor" else 0  # 8A = A minor, 8B = C major
        pitch_class = (reference + 7 * (number - 8)) % 12
    return pitch_class + (12 if mode == "minor" else 0)


def key_of_index(index: int) -> str:
    return key_name(index % 12, MODES[index // 12])


def camelot_of_index(index: int) -> str:
    return camelot_of(index % 12, MODES[index // 12])


def transpose_index(index: int, semitones: int) -> int:
    return (index % 12 + semitones) % 12 + 12 * (index // 12)


def quality_label(score: float) -> Quality:
    for label, floor in QUALITY_FLOORS:
        if score >= floor:
            return label
    return "clash"


def relation_score(camelot_a: str, camelot_b: str) -> tuple[str, float]:
    """Relation of key b to key a on the wheel (shared.camelot) and its layering score."""
    relation = camelot_relation(camelot_a, camelot_b)
    if relation in RELATION_SCORES:
        return relation, RELATION_SCORES[relation]
    step = (parse_camelot(camelot_b)[0] - parse_camelot(camelot_a)[0]) % 12
    return relation, CLASH_SCORES_BY_FIFTHS[min(step, 12 - step)]


def _shift_order(max_shift_semitones: int) -> list[int]:
    """0, −1, +1, −2, +2, …: smaller shifts first, downward before upward on a tie."""
    order = [0]
    for size in range(1, max_shift_semitones + 1):
        order += [-size, size]
    return order


def _best_shift(
    index_a: int, index_b: int, *, shift_song: str, max_shift_semitones: int,
    shift_cost_per_semitone: float,
) -> tuple[int, str, float]:
    """(shift of the shifted song, relation after it, score after the shift cost)."""
    best = (0, "clash", -1.0)
    for shift in _shift_order(max_shift_semitones):
        a = transpose_index(index_a, shift) if shift_song == "a" else index_a
        b = transpose_index(index_b, shift) if shift_song == "b" else index_b
        relation, score = relation_score(camelot_of_index(a), camelot_of_index(b))
        score -= shift_cost_per_semitone * abs(shift)
        if score > best[2]:  # strict: the earlier (smaller, downward) shift wins ties
            best = (shift, relation, score)
    return best


def _recommendation(
    relation: str, shift: int, shifted_name: str, shifted_key: str, name_a: str, name_b: str
) -> str:
    advice = _ADVICE.get(relation, _ADVICE["clash"]).format(a=name_a, b=name_b)
    if shift == 0:
        return advice[0].upper() + advice[1:] + "."
    direction = "up" if shift > 0 else "down"
    unit = "semitone" if abs(shift) == 1 else "semitones"
    return f"Shift {shifted_name} {direction} {abs(shift)} {unit} to {shifted_key}: {advice}."


def harmonic_match(
    key_a: str,
    key_b: str,
    *,
    shift_song: Literal["a", "b"] = "b",
    max_shift_semitones: int = MAX_SHIFT_SEMITONES,
    shift_cost_per_semitone: float = SHIFT_COST_PER_SEMITONE,
    name_a: str = "song A",
    name_b: str = "song B",
) -> HarmonicMatch:
    """Score two keys ("A minor", "F# major" or Camelot "8A") for layering.

    `shift_song` is the song that gets pitch-shifted when a shift helps (the scoring
    service shifts the vocal source, so the mashup stays in the instrumental's key).
    Raises ValueError for a key that is neither a key name nor a Camelot code.
    """
    index_a, index_b = key_index(key_a), key_index(key_b)
    unshifted_type, unshifted_score = relation_score(
        camelot_of_index(index_a), camelot_of_index(index_b)
    )
    shift, relation, score = _best_shift(
        index_a, index_b, shift_song=shift_song, max_shift_semitones=max_shift_semitones,
        shift_cost_per_semitone=shift_cost_per_semitone,
    )
    score = float(np.clip(score, 0.0, 100.0))
    shifted_index = transpose_index(index_a if shift_song == "a" else index_b, shift)
    shifted_key = key_of_index(shifted_index)
    shifted_name = name_a if shift_song == "a" else name_b
    return HarmonicMatch(
        type=relation,
        score=score,
        quality=quality_label(score),
        recommendation=_recommendation(relation, shift, shifted_name, shifted_key, name_a, name_b),
        unshifted_type=unshifted_type,
        unshifted_score=unshifted_score,
        shift_a_semitones=shift if shift_song == "a" else 0,
        shift_b_semitones=shift if shift_song == "b" else 0,
        key_a=key_of_index(index_a),
        key_b=key_of_index(index_b),
        shifted_key=shifted_key,
    )


def layering_shift(source_key: str, target_key: str) -> int:
    """Semitones to pitch-shift a song in `source_key` so it layers over harmony in
    `target_key`: the scoring's choice (`harmonic_match` shifting the source): 0 for keys
    that layer as they are (same, relative, a fifth apart, diagonal, parallel), else the
    smallest shift that helps. Within ±2 semitones every key reaches one of those
    relations (the wheel numbers n, n±2 and n±5 always meet one), so a voice is never
    shifted further. The planners and the renderer share it, so a plan's words and its
    sound agree. Raises ValueError for an unreadable key."""
    return harmonic_match(target_key, source_key, shift_song="b").shift_b_semitones


def harmonic_table(
    *, max_shift_semitones: int = MAX_SHIFT_SEMITONES,
    shift_cost_per_semitone: float = SHIFT_COST_PER_SEMITONE,
) -> np.ndarray:
    """Score of every key pair, shape (24, 24), indexed by `key_index` of a and b.

    The library ranking looks scores up here instead of calling `harmonic_match` per pair.
    """
    table = np.empty((KEY_COUNT, KEY_COUNT), dtype=np.float64)
    for a in range(KEY_COUNT):
        for b in range(KEY_COUNT):
            table[a, b] = harmonic_match(
                key_of_index(a), key_of_index(b), max_shift_semitones=max_shift_semitones,
                shift_cost_per_semitone=shift_cost_per_semitone,
            ).score
    return table


HARMONIC_TABLE = harmonic_table()
