"""Everything stays locked: beat-by-beat time maps, one pitch shift for all stems of a
song, sidechain keyed by the other song's kick, and analyses and stems fetched at once."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from services.processing import stems as stems_module
from services.processing.material import SongMaterial, parse_analysis
from services.processing.render import _sidechain_key, pitch_shifts, render_plan
from services.processing.settings import RenderSettings
from services.processing.warp import build_time_map
from shared.contracts.processing import SongRef
from tests.unit.test_processing_support import grid_errors_sec, low_band_onsets, plan

SR = 44100
FAST = RenderSettings(stretch_high_quality=False)


def _kick(duration_sec: float, beats_sec: np.ndarray) -> np.ndarray:
    audio = np.zeros(int(duration_sec * SR), dtype=np.float32)
    t = np.arange(int(0.15 * SR)) / SR
    kick = (np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.04)).astype(np.float32)
    for beat in beats_sec:
        start = round(beat * SR)
        audio[start:start + kick.size] += kick[: max(0, audio.size - start)]
    hiss = 0.01 * np.diff(np.random.default_rng(0).standard_normal(audio.size), prepend=0.0)
    return np.stack([audio + hiss, audio + hiss]).astype(np.float32) * 0.5


def _material(beats_sec: np.ndarray, duration_sec: float, key: str = "A minor"
              ) -> SongMaterial:
    drums = _kick(duration_sec, beats_sec)
    silent = np.zeros_like(drums)
    analysis = parse_analysis({"bpm": 60.0 / float(np.median(np.diff(beats_sec))),
                               "beats": beats_sec.tolist(),
                               "downbeats": beats_sec[::4].tolist(), "key": key},
                              song_id="k", duration_sec=duration_sec)
    return SongMaterial.build("k", stems={"drums": drums, "bass": drums.copy(),
                                          "other": silent, "vocals": silent},
                              sample_rate_hz=SR, analysis=analysis)


def test_beat_knots_follow_bars_that_drift_and_ignore_steady_ones() -> None:
    beats = 0.2 + 0.5 * np.arange(24)
    beats[9] += 0.04  # bar 2 (beats 8..11): its second beat comes 40 ms late
    beats[17] += 0.005  # bar 4: 5 ms is tracker jitter, not drift
    analysis = parse_analysis({"bpm": 120, "beats": beats.tolist(),
                               "downbeats": (0.2 + 2.0 * np.arange(6)).tolist()},
                              song_id="s", duration_sec=12.0)
    src, pos = analysis.beat_knots
    assert np.all(np.diff(src) > 0)
    grid = analysis.downbeats_sec
    bar = int(np.argmin(np.abs(grid - beats[8])))
    inner = (pos > bar) & (pos < bar + 1)
    assert np.allclose(pos[inner], bar + np.array([0.25, 0.5, 0.75]))
    assert np.allclose(src[inner], beats[9:12])
    steady = int(np.argmin(np.abs(grid - beats[16])))
    assert not np.any((pos > steady) & (pos < steady + 1))


def test_beat_map_locks_a_song_that_drifts_within_its_bars() -> None:
    # Beats alternate long and short (0.53 s, 0.47 s): bars keep time, beats inside do not.
    periods = np.tile([0.53, 0.47], 24)
    beats = 0.5 + np.concatenate([[0.0], np.cumsum(periods)])
    material = _material(beats, float(beats[-1] + 1.0))
    p = plan(123.0, "A minor", [[{"songId": "k", "stem": "drums", "source_start_sec": 0.0}]],
             bars=8)

    def spread(mode: str) -> float:
        audio = render_plan(p, {"k": material}, settings=FAST.with_changes(time_map=mode)).audio
        onsets = low_band_onsets(audio, sample_rate_hz=SR, min_gap_sec=0.3)[1:]
        errors = grid_errors_sec(onsets, period_sec=60 / 123.0)
        assert errors.size >= 28
        return float(np.max(np.abs(errors - np.median(errors))))

    # The beats drift ±30 ms from an even split of their bars; the beat map takes them to
    # the grid to within the stretcher's own transient jitter.
    beat, bar = spread("beat"), spread("bar")
    assert beat < 0.016
    assert bar > 0.025 and beat < 0.6 * bar


def test_all_stems_of_a_song_get_one_pitch_shift_and_plan_shifts_are_smallest() -> None:
    beats = 0.3 + 0.5 * np.arange(40)
    materials = {"k": _material(beats, 21.0, key="C minor")}
    p = plan(120.0, "A minor", [[{"songId": "k", "stem": "drums"},
                                 {"songId": "k", "stem": "bass"}]], bars=4)
    warnings: list[str] = []
    # C minor clashes with A minor; up 2 to D minor it sits a fifth from it and layers
    # (shifting 3 down into A minor itself would be the bigger shift)
    assert pitch_shifts(p, materials, warnings) == {"k": 2}
    p.global_.__pydantic_extra__ = {"pitch_shift_semitones": {"k": 9}}
    assert pitch_shifts(p, materials, warnings) == {"k": -3}
    # Drums and bass carry the same kicks: warped alike, they sum without a flam, so
    # the summed render equals twice the drums alone (to rounding).
    both = render_plan(p, materials, settings=FAST.with_changes(bus_compression=False))
    solo_plan = plan(120.0, "A minor", [[{"songId": "k", "stem": "drums"}]], bars=4)
    solo_plan.global_.__pydantic_extra__ = {"pitch_shift_semitones": {"k": -3}}
    solo = render_plan(solo_plan, materials, settings=FAST.with_changes(bus_compression=False))
    assert both.report["songs"]["k"]["pitch_shift_semitones"] == -3
    a, b = both.audio / np.abs(both.audio).max(), solo.audio / np.abs(solo.audio).max()
    assert float(np.corrcoef(a.mean(axis=0), b.mean(axis=0))[0, 1]) > 0.99


def test_sidechain_ducks_under_the_other_songs_kick() -> None:
    mine, theirs = np.zeros(4), np.ones(4)
    assert _sidechain_key("a", {"a": mine, "b": theirs}) is theirs
    assert _sidechain_key("a", {"a": mine}) is mine
    assert _sidechain_key("a", {}) is None


def test_beat_map_puts_every_source_beat_on_an_output_beat() -> None:
    periods = np.tile([0.52, 0.47, 0.5, 0.46], 8)  # drifts within every bar
    beats = 0.4 + np.concatenate([[0.0], np.cumsum(periods)])
    analysis = parse_analysis({"bpm": 125, "beats": beats.tolist(),
                               "downbeats": beats[::4].tolist()}, song_id="s",
                              duration_sec=float(beats[-1] + 0.5))
    time_map = build_time_map(analysis, anchor_bar=2, anchor_out_sec=8.0, ratio=1.0,
                              target_beat_sec=0.5, mode="beat")
    out = time_map.to_out(beats[4:28])
    assert np.allclose(out, 8.0 + 0.5 * np.arange(24), atol=1e-9)


def test_analyses_and_separations_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, asyncio.Event] = {}

    async def fake_analyze(song_id: str, storage_path: str) -> dict[str, Any]:
        started["analysis"].set()
        await asyncio.wait_for(started["separation"].wait(), timeout=5)
        return {"bpm": 120}

    async def fake_separate(song_id: str, storage_path: str) -> dict[str, str]:
        started["separation"].set()
        await asyncio.wait_for(started["analysis"].wait(), timeout=5)
        return {"drums": "x"}

    monkeypatch.setattr(stems_module, "analyze_song", fake_analyze)
    monkeypatch.setattr(stems_module, "separate_song", fake_separate)

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        started.update(analysis=asyncio.Event(), separation=asyncio.Event())
        return await stems_module.gather_inputs([SongRef(id="s", storage_path="u/s.wav")],
                                                {"s": {"drums"}})

    analyses, stem_keys = asyncio.run(go())
    assert analyses == {"s": {"bpm": 120}} and stem_keys == {"s": {"drums": "x"}}
