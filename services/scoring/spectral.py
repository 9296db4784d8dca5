"""Spectral compatibility: do the two songs crowd the same frequency bands?

Each song's spectral profile is its share of energy in five bands (low 20–200 Hz,
mid_low 200–500, mid 500–2k, high 2k–8k, air 8k–20k; they sum to 1). Against a reference
balance of a typical finished mix:

- a band *clashes* when both songs are heavy there (each share ≥ 1.25 × the reference):
  two bass lines make mud, two dense mids mask the vocal;
- the clash penalty grows with how far the *weaker* of the two is above the reference
  (both above → they compete), weighted per band (bass and mids matter most);
- the balance penalty is the total-variation distance of the pair's average profile from
  the reference (a pair that is all bass or all air sums to a lopsided mix).

score = 100 − clash penalty − 40 × balance distance, clipped to 0..100. A missing profile
(library rows may omit it) scores `NEUTRAL_SCORE` with no clash bands.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

BANDS = ("low", "mid_low", "mid", "high", "air")
CLASH_BAND_NAMES = ("bass", "mid_low", "mid", "high", "air")  # what a clash is called
# Power shares of a typical full mix, as the analysis service measures them: its
# spectral_profile of the real recordings in shared/real-audio (house-pop, pop-rock,
# folk-pop, metal) gives low 0.38–0.58, mid_low 0.15–0.39, mid 0.09–0.21, high
# 0.03–0.17, air 0.01–0.05 (a hip-hop excerpt reaches low 0.95).
REFERENCE_SHARES = np.array([0.50, 0.22, 0.17, 0.085, 0.025])
HEAVY_FACTOR = 1.25
CLASH_WEIGHTS = np.array([60.0, 40.0, 50.0, 25.0, 10.0])  # points per unit of shared excess
BALANCE_WEIGHT = 40.0
NEUTRAL_SCORE = 70.0


@dataclass(frozen=True)
class SpectralMatch:
    score: float
    clash_bands: list[str]


def profile_values(profile: Mapping[str, float]) -> list[float]:
    """The five band shares of a profile mapping, in BANDS order (pure Python, cheap per
    row); raises ValueError naming a missing or invalid band."""
    values = []
    for band in BANDS:
        value = profile.get(band)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"spectral_profile.{band} must be a number")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"spectral_profile.{band} must be a finite share ≥ 0")
        values.append(float(value))
    return values


def normalise_profiles(values: np.ndarray) -> np.ndarray:
    """Rows of band shares (..., 5) rescaled to sum 1; all-zero rows become NaN (unknown)."""
    values = np.asarray(values, dtype=np.float64)
    total = values.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, values / total, np.nan)


def profile_vector(profile: Mapping[str, float] | None) -> np.ndarray | None:
    """The five band shares as an array (5,), renormalised to sum 1; None if unknown."""
    if profile is None:
        return None
    vector = normalise_profiles(np.array(profile_values(profile)))
    return None if np.isnan(vector[0]) else vector


def spectral_terms(profiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-song terms of the pair score, computed once per song: (share / reference,
    (share − reference) / 2), each of the input's shape (..., 5)."""
    profiles = np.asarray(profiles, dtype=np.float64)
    return profiles / REFERENCE_SHARES, 0.5 * (profiles - REFERENCE_SHARES)


def spectral_scores(
    ratio_a: np.ndarray, half_dev_a: np.ndarray, ratio_b: np.ndarray, half_dev_b: np.ndarray
) -> np.ndarray:
    """Vectorised score 0..100 from `spectral_terms` of both songs ((..., 5), broadcast).

    Loops over the 5 bands, never over pairs, so a (rows, 1, 5) × (1, cols, 5) block needs
    only (rows, cols) temporaries. A NaN row (unknown profile) scores NEUTRAL_SCORE.
    """
    penalty = distance = None
    for band in range(len(BANDS)):
        # Both above the reference → they compete: the weaker one's excess is the clash.
        excess = np.maximum(np.minimum(ratio_a[..., band], ratio_b[..., band]) - 1.0, 0.0)
        term = float(CLASH_WEIGHTS[band]) * excess
        # |mean of the two − reference| summed over bands = 2 × total-variation distance.
        gap = np.abs(half_dev_a[..., band] + half_dev_b[..., band])
        penalty = term if penalty is None else penalty + term
        distance = gap if distance is None else distance + gap
    assert penalty is not None and distance is not None
    score = np.clip(100.0 - penalty - (0.5 * BALANCE_WEIGHT) * distance, 0.0, 100.0)
    return np.where(np.isnan(score), NEUTRAL_SCORE, score)


def spectral_arrays(
    profiles_a: np.ndarray, profiles_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Score and clash bands of profile pairs ((..., 5) arrays that broadcast; a NaN row
    means unknown). Returns (score 0..100, int8 bit mask: bit i set when band i clashes)."""
    ratio_a, half_dev_a = spectral_terms(profiles_a)
    ratio_b, half_dev_b = spectral_terms(profiles_b)
    score = spectral_scores(ratio_a, half_dev_a, ratio_b, half_dev_b)
    mask = np.zeros(score.shape, dtype=np.int8)
    for band in range(len(BANDS)):
        heavy = np.minimum(ratio_a[..., band], ratio_b[..., band]) >= HEAVY_FACTOR
        mask = mask | (heavy.astype(np.int8) << band)
    return score, mask


def clash_band_names(mask: int) -> list[str]:
    return [name for band, name in enumerate(CLASH_BAND_NAMES) if int(mask) >> band & 1]


def spectral_match(
    profile_a: Mapping[str, float] | None, profile_b: Mapping[str, float] | None
) -> SpectralMatch:
    """Score two spectral profiles (mappings of the five band shares, or None)."""
    vector_a, vector_b = profile_vector(profile_a), profile_vector(profile_b)
    if vector_a is None or vector_b is None:
        return SpectralMatch(score=NEUTRAL_SCORE, clash_bands=[])
    score, mask = spectral_arrays(vector_a, vector_b)
    return SpectralMatch(score=float(score), clash_bands=clash_band_names(int(mask)))
