"""The energy ride: no section of a render outplays the sections the plan gives most energy."""

from __future__ import annotations

import numpy as np
import pytest

from services.processing.render import render_plan
from services.processing.ride import (
    MAX_CUT_DB,
    SLOPE_DB_PER_ENERGY,
    TOLERANCE_DB,
    apply_ride,
    ride_gains_db,
    section_lufs,
)
from services.processing.settings import RenderSettings
from shared.loudness import SILENCE_LUFS, integrated_lufs
from tests.unit.test_processing_support import SR, house_124, material, plan, pop_118

FAST = RenderSettings(stretch_high_quality=False)


def test_a_breakdown_louder_than_the_drops_is_turned_down_to_its_ceiling() -> None:
    loudness = [-20.0, -14.0, -12.0, -14.0]
    energy = [0.3, 0.9, 0.6, 0.9]
    gains = ride_gains_db(loudness, energy)
    ceiling = -14.0 - SLOPE_DB_PER_ENERGY * 0.3 + TOLERANCE_DB
    assert gains[2] == pytest.approx(ceiling - (-12.0))
    assert gains[1] == gains[3] == 0.0  # the drops keep their level
    assert gains[0] == 0.0  # a quiet intro stays quiet: the ride only cuts


def test_sections_within_the_tolerance_are_left_alone() -> None:
    energy = [0.5, 0.9]
    allowed = -14.0 - SLOPE_DB_PER_ENERGY * 0.4 + TOLERANCE_DB
    assert ride_gains_db([allowed - 0.01, -14.0], energy) == [0.0, 0.0]
    assert ride_gains_db([allowed + 1.0, -14.0], energy)[0] == pytest.approx(-1.0)


def test_the_cut_is_capped_and_silent_sections_are_not_measured() -> None:
    gains = ride_gains_db([-2.0, -14.0, SILENCE_LUFS], [0.4, 0.9, 0.2])
    assert gains == [-MAX_CUT_DB, 0.0, 0.0]
    assert ride_gains_db([SILENCE_LUFS, SILENCE_LUFS], [0.1, 0.9]) == [0.0, 0.0]


def test_equal_energy_everywhere_changes_nothing() -> None:
    assert ride_gains_db([-10.0, -16.0, -13.0], [0.6, 0.6, 0.6]) == [0.0, 0.0, 0.0]


def test_the_reference_is_the_band_of_highest_energy() -> None:
    # Two choruses at 0.85 and 0.9 are both reference (within 0.1): the louder one is not
    # turned down to the quieter; a verse at 0.5 is held under their power mean.
    gains = ride_gains_db([-12.0, -14.0, -12.0], [0.85, 0.9, 0.5])
    assert gains[:2] == [0.0, 0.0]
    ref = 10 * np.log10((10 ** -1.2 + 10 ** -1.4) / 2)
    expected = ref - SLOPE_DB_PER_ENERGY * (0.875 - 0.5) + TOLERANCE_DB - (-12.0)
    assert gains[2] == pytest.approx(expected)


def _ridden(bounds, gains_db, *, n, beat_samples, sample_rate_hz) -> np.ndarray:
    bus = np.ones((2, n), dtype=np.float32)
    apply_ride(bus, bounds, gains_db, beat_samples=beat_samples, sample_rate_hz=sample_rate_hz)
    assert np.array_equal(bus[0], bus[1])
    return bus[0]


def test_the_ride_swells_into_a_rise_and_falls_after_the_boundary() -> None:
    bounds = [(0, 1000), (1000, 2000), (2000, 3000)]
    curve = _ridden(bounds, [-2.0, 0.0, -3.0], n=3000, beat_samples=200, sample_rate_hz=2000)
    db = 20 * np.log10(curve)
    assert db[0] == pytest.approx(-2.0) and db[799] == pytest.approx(-2.0)
    assert -2.0 < db[900] < 0.0  # the rise happens in the beat before the boundary
    assert db[1000] == pytest.approx(0.0) and db[1999] == pytest.approx(0.0)
    assert -3.0 < db[2040] < 0.0  # the fall takes 50 ms (100 samples) after it
    assert db[2100] == pytest.approx(-3.0) and db[2999] == pytest.approx(-3.0)
    # No step anywhere: the largest change between samples is a ramp's, not a jump.
    assert float(np.max(np.abs(np.diff(db)))) < 0.1


def test_no_gain_leaves_the_bus_alone() -> None:
    assert np.all(_ridden([(0, 10), (10, 20)], [0.0, 0.0], n=20, beat_samples=4,
                          sample_rate_hz=100) == 1.0)


def test_section_lufs_measures_each_span() -> None:
    t = np.arange(SR * 2) / SR
    tone = np.sin(2 * np.pi * 997 * t).astype(np.float32)
    bus = np.stack([np.concatenate([tone * 0.1, tone * 0.4])] * 2)
    quiet, loud = section_lufs(bus, [(0, 2 * SR), (2 * SR, 4 * SR)], sample_rate_hz=SR)
    assert loud - quiet == pytest.approx(20 * np.log10(4), abs=0.05)
    assert section_lufs(bus, [(0, 100)], sample_rate_hz=SR) == [SILENCE_LUFS]


def test_a_rendered_breakdown_plays_under_its_drops() -> None:
    # The breakdown's keys and voice at full volume outplay the drops' drums and bass
    # placed 5 dB down (the plan's volumes); the plan says the drops carry the energy.
    drop = [{"songId": "b", "stem": "drums", "volume_db": -5},
            {"songId": "b", "stem": "bass", "volume_db": -5}]
    breakdown = [{"songId": "a", "stem": "other"}, {"songId": "a", "stem": "vocals"},
                 {"songId": "b", "stem": "other"}]
    p = plan(121.0, "A minor", [drop, breakdown, drop], bars=4, energies=[0.9, 0.5, 0.9])
    result = render_plan(p, {"a": material(pop_118(), "a"), "b": material(house_124(), "b")},
                         settings=FAST)
    sections = result.report["sections"]
    assert sections[1]["ride_db"] < -1.0 and sections[0]["ride_db"] == 0.0

    def lufs(i: int) -> float:
        a, b = (round(sections[i][k] * SR) for k in ("start_sec", "end_sec"))
        return integrated_lufs(result.audio[:, a:b], sample_rate_hz=SR)

    drops = min(lufs(0), lufs(2))
    allowed = drops - SLOPE_DB_PER_ENERGY * 0.4 + TOLERANCE_DB
    assert lufs(1) <= allowed + 0.5  # the master's limiter may shift it a little
