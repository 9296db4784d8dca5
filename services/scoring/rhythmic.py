"""Tempo compatibility: the metrical relation of two tempi, the stretch it needs, the target.

Relations (b's tempo against a's): direct (b ≈ a), double (b ≈ 2a), half (b ≈ a/2),
3:2 (b ≈ 1.5a) and 2:3 (b ≈ a/1.5); "clash" when even the best of them needs more than
`CLASH_STRETCH_PERCENT`. The mismatch is measured as |ln(b / (k·a))| in percent, so it is
symmetric in a and b.

Tolerance depends on the style: a four-on-the-floor club track (house, techno, trance …)
shows drift quickly (±1.5 BPM), a hip-hop groove hides up to ±8 BPM, anything else gets
±3 %. A song's `genre` (an optional field of the analysis, e.g. "deep house", "Hip-Hop")
names its style when it is one we know (`style_of_genre`); otherwise the style is
inferred from tempo and energy: 118–135 BPM with energy ≥ 0.4 (or unknown) is club,
80–100 BPM is hip-hop. A pair uses the tighter of its two tolerances. Beyond the
tolerance the score ramps down 25 points until 6 % (or tolerance + 2 %), then 55 more
("heavy") until 15 %, then to 0 at 25 %.
The relation then scales the result: direct ×1, half/double ×0.9 (the groove changes
feel), 3:2 ×0.5 (bars no longer line up: 2 bars of one are 3 of the other).

Target tempo: the one that minimises the larger of the two stretches, T = 2 / (1/a + k/b)
at a's metrical level (both songs then move by the same percentage in opposite
directions). Callers convert it to the instrumental's level (multiply by k when b is the
instrumental), since the instrumental's drums define the grid of the mashup.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

CLUB_BPM = (118.0, 135.0)
HIPHOP_BPM = (80.0, 100.0)
CLUB_TOLERANCE_BPM = 1.5
HIPHOP_TOLERANCE_BPM = 8.0
OTHER_TOLERANCE_PERCENT = 3.0
CLUB_MIN_ENERGY = 0.4
STYLES = ("club", "hiphop", "other")  # style codes 0, 1, 2; −1 = infer from tempo/energy
# Words in a genre name that fix the style (checked in this order, so "trip-hop" is
# not hip-hop and "electro swing" stays other).
_GENRE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("other", ("trip-hop", "trip hop", "triphop", "swing", "ambient", "downtempo")),
    ("club", ("house", "techno", "trance", "edm", "electro", "dance", "disco", "garage",
              "club", "hardstyle", "drum and bass", "drum & bass", "dnb", "jungle")),
    ("hiphop", ("hip-hop", "hip hop", "hiphop", "rap", "trap", "boom bap", "r&b", "rnb",
                "grime", "drill", "lo-fi", "lofi")),
)
MAX_TOLERANCE_PERCENT = 10.0
HEAVY_STRETCH_PERCENT = 6.0
CLASH_STRETCH_PERCENT = 15.0
ZERO_STRETCH_PERCENT = 25.0

# (name, k = b / a, factor on the score)
TEMPO_RELATIONS: tuple[tuple[str, float, float], ...] = (
    ("direct", 1.0, 1.0),
    ("double", 2.0, 0.9),
    ("half", 0.5, 0.9),
    ("3:2", 1.5, 0.5),
    ("2:3", 2.0 / 3.0, 0.5),
)
RELATION_NAMES = tuple(name for name, _, _ in TEMPO_RELATIONS)
RELATION_RATIOS = np.array([k for _, k, _ in TEMPO_RELATIONS])
CLASH = "clash"


@dataclass(frozen=True)
class RhythmicMatch:
    """Tempo relation of a pair.

    `stretch_percent`: how much b must be sped up (+) or slowed down (−) to land on a's
    grid at the chosen relation. `target_bpm`: minimax target at a's metrical level;
    `stretch_a_percent`/`stretch_b_percent`: each song's stretch to reach it.
    """

    bpm_a: float
    bpm_b: float
    relation: str
    ratio: float
    stretch_percent: float
    score: float
    target_bpm: float
    stretch_a_percent: float
    stretch_b_percent: float
    style_a: str
    style_b: str
    tolerance_percent: float


def style_of_genre(genre: str | None) -> str | None:
    """The tolerance class ("club", "hiphop", "other") a genre name implies; None when the
    genre is missing or unknown (then the style is inferred)."""
    if not genre:
        return None
    text = " ".join(genre.lower().replace("_", " ").split())
    for style, words in _GENRE_WORDS:
        if any(word in text for word in words):
            return style
    return "other" if text in ("pop", "rock", "folk", "jazz", "classical", "metal",
                               "country", "indie", "reggae", "latin") else None


def infer_style(*, tempo_bpm: float, energy: float | None, genre: str | None = None) -> str:
    """"club", "hiphop" or "other" (the tolerance classes of `tempo_tolerance_percent`):
    from the genre when it names one, else from tempo and energy."""
    style = style_of_genre(genre)
    if style is not None:
        return style
    if CLUB_BPM[0] <= tempo_bpm <= CLUB_BPM[1] and (energy is None or energy >= CLUB_MIN_ENERGY):
        return "club"
    if HIPHOP_BPM[0] <= tempo_bpm <= HIPHOP_BPM[1]:
        return "hiphop"
    return "other"


def tempo_tolerance_percent(
    tempo_bpm: np.ndarray, energy: np.ndarray | None = None, style_code: np.ndarray | None = None
) -> np.ndarray:
    """Tempo deviation (percent of the song's tempo) a song's style hides, shape of tempo_bpm.

    `energy` (0..1, NaN = unknown) and `style_code` (index into STYLES, −1 = infer; from
    a genre) must broadcast with `tempo_bpm`.
    """
    tempo = np.asarray(tempo_bpm, dtype=np.float64)
    if energy is None:
        energetic = np.ones(tempo.shape, dtype=bool)
    else:
        energy = np.asarray(energy, dtype=np.float64)
        energetic = np.isnan(energy) | (energy >= CLUB_MIN_ENERGY)
    club = (tempo >= CLUB_BPM[0]) & (tempo <= CLUB_BPM[1]) & energetic
    hiphop = (tempo >= HIPHOP_BPM[0]) & (tempo <= HIPHOP_BPM[1]) & ~club
    if style_code is not None:
        code = np.broadcast_to(np.asarray(style_code), tempo.shape)
        known = code >= 0
        club = np.where(known, code == 0, club)
        hiphop = np.where(known, code == 1, hiphop)
    with np.errstate(divide="ignore"):
        tolerance = np.where(
            club, 100.0 * CLUB_TOLERANCE_BPM / tempo,
            np.where(hiphop, 100.0 * HIPHOP_TOLERANCE_BPM / tempo, OTHER_TOLERANCE_PERCENT),
        )
    return np.minimum(tolerance, MAX_TOLERANCE_PERCENT)


def _curve(
    mismatch: np.ndarray, tolerance: np.ndarray, knee: np.ndarray, inv_first: np.ndarray,
    inv_heavy: np.ndarray,
) -> np.ndarray:
    """Three linear ramps, each clipped to its span, so the curve is continuous."""
    return (
        100.0
        - 25.0 * np.clip((mismatch - tolerance) * inv_first, 0.0, 1.0)
        - 55.0 * np.clip((mismatch - knee) * inv_heavy, 0.0, 1.0)
        - 20.0 * np.clip((mismatch - CLASH_STRETCH_PERCENT) * _INV_LAST, 0.0, 1.0)
    )


def _curve_knots(tolerance: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(knee, 1 / first ramp width, 1 / heavy ramp width) for per-pair tolerances."""
    knee = np.maximum(tolerance + 2.0, HEAVY_STRETCH_PERCENT)
    return knee, 1.0 / (knee - tolerance), 1.0 / (CLASH_STRETCH_PERCENT - knee)


_INV_LAST = 1.0 / (ZERO_STRETCH_PERCENT - CLASH_STRETCH_PERCENT)


def stretch_score(mismatch_percent: np.ndarray, tolerance_percent: np.ndarray) -> np.ndarray:
    """0..100 for a tempo mismatch (percent, ≥ 0) given the pair's tolerance (percent ≤ 10)."""
    tolerance = np.asarray(tolerance_percent, dtype=np.float64)
    return _curve(np.asarray(mismatch_percent, dtype=np.float64), tolerance,
                  *_curve_knots(tolerance))


# The relations grouped by score factor; within a group the nearest ratio scores best
# (the curve falls with the mismatch), so the score needs 3 curve evaluations, not 5.
_FACTOR_GROUPS: tuple[tuple[float, tuple[float, ...]], ...] = tuple(
    (factor, tuple(math.log(k) for _, k, f in TEMPO_RELATIONS if f == factor))
    for factor in dict.fromkeys(f for _, _, f in TEMPO_RELATIONS)
)


def rhythmic_scores(
    log_bpm_a: np.ndarray, log_bpm_b: np.ndarray, tolerance_a: np.ndarray,
    tolerance_b: np.ndarray,
) -> np.ndarray:
    """Vectorised score 0..100 of tempo pairs given natural-log tempi and each song's
    tolerance (percent, `tempo_tolerance_percent`). Inputs broadcast; float32 in, float32
    out (constants are Python floats so they do not upcast)."""
    log_ratio = log_bpm_b - log_bpm_a
    tolerance = np.minimum(tolerance_a, tolerance_b)
    knots = _curve_knots(tolerance)
    best = None
    for factor, log_ratios in _FACTOR_GROUPS:
        mismatch = np.abs(log_ratio - log_ratios[0])
        for other in log_ratios[1:]:
            mismatch = np.minimum(mismatch, np.abs(log_ratio - other))
        score = factor * _curve(100.0 * mismatch, tolerance, *knots)
        best = score if best is None else np.maximum(best, score)
    assert best is not None
    return best


def rhythmic_arrays(
    bpm_a: np.ndarray, bpm_b: np.ndarray, tolerance_a: np.ndarray, tolerance_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores with labels: (score 0..100, relation index into TEMPO_RELATIONS or −1 for a
    clash, log mismatch ln(b / (k·a)) of the chosen relation). Inputs broadcast."""
    log_a = np.log(np.asarray(bpm_a, dtype=np.float64))
    log_b = np.log(np.asarray(bpm_b, dtype=np.float64))
    tolerance = np.minimum(tolerance_a, tolerance_b)
    best_score = best_index = best_log = None
    for index, (_, ratio, factor) in enumerate(TEMPO_RELATIONS):
        log_mismatch = log_b - log_a - math.log(ratio)
        score = factor * stretch_score(100.0 * np.abs(log_mismatch), tolerance)
        if best_score is None:
            best_score, best_log = score, log_mismatch
            best_index = np.zeros(score.shape, dtype=np.int8)
            continue
        better = score > best_score  # strict: earlier relations (direct first) win ties
        best_score = np.where(better, score, best_score)
        best_log = np.where(better, log_mismatch, best_log)
        best_index = np.where(better, np.int8(index), best_index)
    assert best_index is not None and best_log is not None
    clash = 100.0 * np.abs(best_log) > CLASH_STRETCH_PERCENT
    score = rhythmic_scores(log_a, log_b, tolerance_a, tolerance_b)
    return score, np.where(clash, np.int8(-1), best_index), best_log


@functools.lru_cache(maxsize=1024)
def style_code_of(genre: str | None) -> int:
    """Index into STYLES of the style a genre names; −1 when it names none."""
    style = style_of_genre(genre)
    return -1 if style is None else STYLES.index(style)


def rhythmic_match(
    bpm_a: float, bpm_b: float, *, energy_a: float | None = None, energy_b: float | None = None,
    genre_a: str | None = None, genre_b: str | None = None,
) -> RhythmicMatch:
    """Score the tempi of two songs (BPM > 0; energy 0..1 or None; genre names or None)."""
    if not (bpm_a > 0 and bpm_b > 0 and np.isfinite(bpm_a) and np.isfinite(bpm_b)):
        raise ValueError(f"tempi must be positive BPM, got {bpm_a} and {bpm_b}")
    nan = float("nan")
    tolerance_a = tempo_tolerance_percent(np.float64(bpm_a), np.float64(
        nan if energy_a is None else energy_a), np.int8(style_code_of(genre_a)))
    tolerance_b = tempo_tolerance_percent(np.float64(bpm_b), np.float64(
        nan if energy_b is None else energy_b), np.int8(style_code_of(genre_b)))
    score, index, log_mismatch = rhythmic_arrays(bpm_a, bpm_b, tolerance_a, tolerance_b)
    # For a clash, stretches and target still describe the closest relation.
    closest = int(np.argmin(np.abs(np.log(bpm_b / bpm_a) - np.log(RELATION_RATIOS))))
    chosen = int(index) if int(index) >= 0 else closest
    ratio = TEMPO_RELATIONS[chosen][1]
    if int(index) < 0:
        log_mismatch = np.log(bpm_b / (ratio * bpm_a))
    target = 2.0 / (1.0 / bpm_a + ratio / bpm_b)
    return RhythmicMatch(
        bpm_a=float(bpm_a),
        bpm_b=float(bpm_b),
        relation=CLASH if int(index) < 0 else RELATION_NAMES[chosen],
        ratio=ratio,
        stretch_percent=float(100.0 * (np.exp(-log_mismatch) - 1.0)),
        score=float(np.clip(score, 0.0, 100.0)),
        target_bpm=float(target),
        stretch_a_percent=float(100.0 * (target / bpm_a - 1.0)),
        stretch_b_percent=float(100.0 * (target * ratio / bpm_b - 1.0)),
        style_a=infer_style(tempo_bpm=bpm_a, energy=energy_a, genre=genre_a),
        style_b=infer_style(tempo_bpm=bpm_b, energy=energy_b, genre=genre_b),
        tolerance_percent=float(np.minimum(tolerance_a, tolerance_b)),
    )
