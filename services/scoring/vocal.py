"""Vocal compatibility and roles: whose vocals lead, and would the two vocals collide?

Each song's vocal intervals become an *activity profile*: `ACTIVITY_BINS` bins over the
song's normalised time (0 = start, 1 = end), each the fraction of that bin with vocals.
Layering two songs stretched to the same length, the mean of the product of the two
profiles estimates the share of time both would sing at once (`overlap`); where in the
mashup each song ends up is not known yet, so normalised time is the neutral guess.

- vocal share: the mean of a profile (fraction of the song with vocals);
- clash: both songs have substantial lead vocals (each share ≥ 0.15) that would overlap
  (overlap ≥ 0.1);
- score = 50 + 50 × presence − 150 × overlap, clipped to 0..100, where presence =
  min(1, larger share / 0.3): a clear vocal over a quiet partner is ideal, two
  instrumentals are a plain 50, two busy vocals fight;
- roles (`vocal_source_is_a`): the song with clearly more vocals is the vocal source.
  When the vocals are comparable — shares within 0.02, or both substantial with the
  smaller at least 60 % of the larger — the harmonic direction decides: the singer is
  the song whose pitch shift onto the other's key is lower (a voice shifted down keeps
  its character better than one shifted up, which turns thin and "chipmunk"-like); if
  the shifts are equal, more vocals win, then the higher key_confidence (a clearer tonal
  centre to sing over), then the first song.

Unknown vocal information (library rows may omit it) scores `NEUTRAL_SCORE`, no clash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ACTIVITY_BINS = 64
SUBSTANTIAL_SHARE = 0.15
CLASH_OVERLAP = 0.1
PRESENCE_SHARE = 0.3
OVERLAP_PENALTY = 150.0
ROLE_TIE_SHARE = 0.02
COMPARABLE_SHARE_RATIO = 0.6
NEUTRAL_SCORE = 60.0


@dataclass(frozen=True)
class VocalMatch:
    score: float
    clash: bool
    share_a: float
    share_b: float
    overlap: float


def activity_matrix(
    starts_frac: np.ndarray,
    ends_frac: np.ndarray,
    row_of_interval: np.ndarray,
    *,
    row_count: int,
    bins: int = ACTIVITY_BINS,
) -> np.ndarray:
    """Vocal activity profiles of many songs at once, shape (row_count, bins), float32.

    Interval i covers [starts_frac[i], ends_frac[i]) of its song's normalised time (0..1)
    and belongs to row `row_of_interval[i]` (any order). Overlapping intervals of one song
    are clipped to 1 per bin.

    O(intervals + rows × bins): the covered time before grid point g is
    Σ ramp(g − start) − ramp(g − end) with ramp(y) = max(y, 0); the second difference of
    ramp(g − p) on the integer grid is 1 − frac(p) at floor(p) + 1 and frac(p) at
    floor(p) + 2, so one weighted bincount and a cumulative sum give every bin's coverage.
    """
    starts = np.clip(np.asarray(starts_frac, dtype=np.float64), 0.0, 1.0) * bins
    ends = np.clip(np.asarray(ends_frac, dtype=np.float64), 0.0, 1.0) * bins
    ends = np.maximum(ends, starts)
    rows = np.asarray(row_of_interval, dtype=np.int64)
    width = bins + 3
    points = np.concatenate([starts, ends])
    signs = np.concatenate([np.ones_like(starts), -np.ones_like(ends)])
    base = np.concatenate([rows, rows]) * width
    whole = np.floor(points)
    frac = points - whole
    whole = whole.astype(np.int64)
    second = np.bincount(
        np.concatenate([base + whole + 1, base + whole + 2]),
        weights=np.concatenate([signs * (1.0 - frac), signs * frac]),
        minlength=row_count * width,
    ).reshape(row_count, width)
    coverage = np.cumsum(second, axis=1)[:, 1:bins + 1]
    return np.clip(coverage, 0.0, 1.0).astype(np.float32)


def vocal_activity(
    intervals_sec: Sequence[Sequence[float]], *, duration_sec: float, bins: int = ACTIVITY_BINS
) -> np.ndarray:
    """One song's vocal activity profile (bins,), values 0..1; intervals in seconds."""
    if not duration_sec > 0:
        raise ValueError("duration_sec must be positive to place vocal intervals")
    spans = np.asarray(intervals_sec, dtype=np.float64).reshape(-1, 2) / duration_sec
    return activity_matrix(
        spans[:, 0], spans[:, 1], np.zeros(len(spans), dtype=np.int64), row_count=1, bins=bins
    )[0]


def vocal_scores(share_a: np.ndarray, share_b: np.ndarray, overlap: np.ndarray) -> np.ndarray:
    """Vectorised score 0..100 from shares and overlap (broadcast; dtype follows the
    inputs). NaN shares mean unknown: neutral score."""
    presence = np.minimum(np.maximum(share_a, share_b) * (1.0 / PRESENCE_SHARE), 1.0)
    score = np.clip(50.0 + 50.0 * presence - OVERLAP_PENALTY * overlap, 0.0, 100.0)
    return np.where(np.isnan(score), NEUTRAL_SCORE, score)


def vocal_score_arrays(
    share_a: np.ndarray, share_b: np.ndarray, overlap: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(score 0..100, clash bool) from shares and overlap (broadcast); NaN = unknown."""
    score = vocal_scores(share_a, share_b, overlap)
    smaller = np.minimum(share_a, share_b)  # NaN compares False: no clash when unknown
    clash = (smaller >= SUBSTANTIAL_SHARE) & (np.asarray(overlap) >= CLASH_OVERLAP)
    return score, clash


def vocal_match(activity_a: np.ndarray | None, activity_b: np.ndarray | None) -> VocalMatch:
    """Score two activity profiles (from `vocal_activity`; None = unknown)."""
    if activity_a is None or activity_b is None:
        nan = float("nan")
        return VocalMatch(score=NEUTRAL_SCORE, clash=False, share_a=nan, share_b=nan, overlap=nan)
    a = np.asarray(activity_a, dtype=np.float64)
    b = np.asarray(activity_b, dtype=np.float64)
    share_a, share_b = float(a.mean()), float(b.mean())
    overlap = float(np.mean(a * b))
    score, clash = vocal_score_arrays(np.float64(share_a), np.float64(share_b), np.float64(overlap))
    return VocalMatch(score=float(score), clash=bool(clash), share_a=share_a, share_b=share_b,
                      overlap=overlap)


def vocal_source_is_a(
    *, share_a: float, share_b: float, key_confidence_a: float, key_confidence_b: float,
    shift_if_a_sings: int = 0, shift_if_b_sings: int = 0,
) -> bool:
    """True when song a should provide the vocals (NaN shares count as 0).

    `shift_if_a_sings`/`shift_if_b_sings`: the pitch shift (semitones) the singer would
    need in each case (shared.harmony.harmonic_match with shift_song "a" / "b").
    """
    share_a = 0.0 if np.isnan(share_a) else share_a
    share_b = 0.0 if np.isnan(share_b) else share_b
    smaller, larger = min(share_a, share_b), max(share_a, share_b)
    comparable = larger - smaller <= ROLE_TIE_SHARE or (
        smaller >= SUBSTANTIAL_SHARE and smaller >= COMPARABLE_SHARE_RATIO * larger)
    if not comparable:
        return share_a > share_b
    if shift_if_a_sings != shift_if_b_sings:
        return shift_if_a_sings < shift_if_b_sings
    if larger - smaller > ROLE_TIE_SHARE:
        return share_a > share_b
    return key_confidence_a >= key_confidence_b
