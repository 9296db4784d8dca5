"""Spectral band balance and clash bands."""

from __future__ import annotations

import numpy as np
import pytest

from services.scoring.spectral import (
    BANDS,
    NEUTRAL_SCORE,
    REFERENCE_SHARES,
    spectral_arrays,
    spectral_match,
)


def profile(**shares: float) -> dict[str, float]:
    """A profile with the given band shares; the rest split the remainder evenly."""
    rest = [band for band in BANDS if band not in shares]
    remainder = (1.0 - sum(shares.values())) / len(rest)
    return {band: shares.get(band, remainder) for band in BANDS}


REFERENCE = dict(zip(BANDS, REFERENCE_SHARES.tolist(), strict=True))
BASS_HEAVY = profile(low=0.7, mid_low=0.15, mid=0.08, high=0.05)
MID_HEAVY = profile(low=0.15, mid_low=0.25, mid=0.4, high=0.15)


def test_reference_pair_is_perfect() -> None:
    match = spectral_match(REFERENCE, REFERENCE)
    assert match.score == pytest.approx(100.0) and match.clash_bands == []


def test_two_bass_heavy_songs_clash_in_the_bass() -> None:
    match = spectral_match(BASS_HEAVY, BASS_HEAVY)
    assert match.clash_bands == ["bass"]
    assert match.score < 70.0
    assert match.score < spectral_match(BASS_HEAVY, MID_HEAVY).score


def test_two_mid_heavy_songs_clash_in_the_mid() -> None:
    match = spectral_match(MID_HEAVY, MID_HEAVY)
    assert "mid" in match.clash_bands and "bass" not in match.clash_bands
    assert match.score < spectral_match(MID_HEAVY, BASS_HEAVY).score


def test_complementary_songs_do_not_clash() -> None:
    assert spectral_match(BASS_HEAVY, MID_HEAVY).clash_bands == []


def test_random_profiles_score_in_range_and_symmetrically() -> None:
    rng = np.random.default_rng(7)
    a = rng.dirichlet(np.ones(5), size=2000)
    b = rng.dirichlet(np.ones(5), size=2000)
    forward, mask_ab = spectral_arrays(a, b)
    backward, mask_ba = spectral_arrays(b, a)
    assert np.all((forward >= 0) & (forward <= 100))
    np.testing.assert_allclose(forward, backward)
    np.testing.assert_array_equal(mask_ab, mask_ba)
    # Broadcasting a (rows, 1, 5) block against (1, cols, 5) gives the same numbers.
    block, _ = spectral_arrays(a[:30, None, :], b[None, :40, :])
    single, _ = spectral_arrays(a[7], b[11])
    assert block.shape == (30, 40) and block[7, 11] == pytest.approx(float(single))


def test_unnormalised_profile_is_renormalised() -> None:
    doubled = {band: 2 * share for band, share in REFERENCE.items()}
    assert spectral_match(doubled, REFERENCE).score == pytest.approx(100.0)


def test_unknown_profile_is_neutral() -> None:
    assert spectral_match(None, REFERENCE).score == NEUTRAL_SCORE
    score, mask = spectral_arrays(np.full(5, np.nan), REFERENCE_SHARES)
    assert float(score) == NEUTRAL_SCORE and int(mask) == 0


@pytest.mark.parametrize("bad", [{"low": 1.0}, {**REFERENCE, "mid": "loud"},
                                 {**REFERENCE, "air": -0.1}])
def test_invalid_profiles_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError, match="spectral_profile"):
        spectral_match(bad, REFERENCE)
