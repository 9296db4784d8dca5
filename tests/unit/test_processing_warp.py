"""Warping: tempo folding, key shifts, time maps, grid cleaning, and timing accuracy of the
stretched audio (click tracks whose every beat is known)."""

from __future__ import annotations

import numpy as np
import pytest

from services.processing.material import SongMaterial, clean_grid, parse_analysis
from services.processing.render import render_plan
from services.processing.settings import RenderSettings
from services.processing.warp import TimeMap
from shared.errors import Unprocessable
from shared.tempo_grid import beat_ratio, playback_speed
from tests.unit.test_processing_support import grid_errors_sec, low_band_onsets, plan

SR = 44100


@pytest.mark.parametrize(("song_bpm", "target_bpm", "ratio"), [
    (118, 121, 1.0), (124, 121, 1.0), (92, 174, 2.0), (174, 90, 0.5), (87, 174, 2.0),
    (120, 180, 1.5), (180, 120, 2 / 3),
])
def test_tempo_folds_to_the_least_stretch(song_bpm: float, target_bpm: float,
                                          ratio: float) -> None:
    assert beat_ratio(song_bpm=song_bpm, target_bpm=target_bpm) == pytest.approx(ratio)
    assert abs(playback_speed(song_bpm=song_bpm, target_bpm=target_bpm) - 1) < 0.06


def test_time_map_interpolates_and_extrapolates() -> None:
    tm = TimeMap(src_sec=np.array([1.0, 3.0, 5.0]), out_sec=np.array([0.0, 2.2, 4.4]))
    assert tm.to_out(2.0)[0] == pytest.approx(1.1)
    assert tm.to_src(tm.to_out(np.array([0.0, 4.0, 7.0]))) == pytest.approx([0.0, 4.0, 7.0])
    assert tm.slope_at_src(np.array([0.0, 2.0, 9.0])) == pytest.approx([2 / 2.2] * 3)


def test_clean_grid_fills_gaps_drops_doubles_and_covers_the_song() -> None:
    period = 2.0
    detected = np.array([0.5, 2.5, 2.6, 6.5, 8.5])  # 4.5 missing, 2.6 spurious
    grid = clean_grid(detected, period_sec=period, duration_sec=12.0)
    assert grid[0] <= 0.0 and grid[-1] >= 12.0
    assert np.allclose(np.diff(grid), period)
    assert 4.5 in np.round(grid, 6)


def test_parse_analysis_derives_downbeats_and_refuses_no_bpm() -> None:
    beats = list(0.1 + 0.5 * np.arange(40))
    parsed = parse_analysis({"bpm": 120, "beats": beats, "key": "A minor"}, song_id="s",
                            duration_sec=20.0)
    assert parsed.downbeats_sec[1] == pytest.approx(0.1)
    assert np.allclose(np.diff(parsed.downbeats_sec), 2.0)
    with pytest.raises(Unprocessable):
        parse_analysis({"beats": beats}, song_id="s", duration_sec=20.0)
    with pytest.raises(Unprocessable):
        parse_analysis({"bpm": "fast"}, song_id="s", duration_sec=20.0)


def _click_track(beats_sec: np.ndarray, duration_sec: float) -> np.ndarray:
    # Kicks over a soft hiss (above the kick band): a crest factor like music's, so
    # mastering does not have to limit isolated clicks by 20 dB.
    hiss = np.random.default_rng(0).standard_normal(int(duration_sec * SR))
    audio = (0.03 * np.diff(hiss, prepend=0.0)).astype(np.float32)
    t = np.arange(int(0.15 * SR)) / SR
    kick = (np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.04)).astype(np.float32)
    for beat in beats_sec:
        start = round(beat * SR)
        audio[start:start + kick.size] += kick[: max(0, audio.size - start)]
    return np.stack([audio, audio]) * 0.5


def _click_material(beats_sec: np.ndarray, duration_sec: float) -> SongMaterial:
    drums = _click_track(beats_sec, duration_sec)
    silent = np.zeros_like(drums)
    analysis = parse_analysis({"bpm": 60.0 / float(np.median(np.diff(beats_sec))),
                               "beats": beats_sec.tolist(),
                               "downbeats": beats_sec[::4].tolist(), "key": "A minor"},
                              song_id="clicks", duration_sec=duration_sec)
    return SongMaterial.build("clicks", stems={"drums": drums, "bass": silent, "other": silent,
                                               "vocals": silent},
                              sample_rate_hz=SR, analysis=analysis)


def _render_clicks(material: SongMaterial, *, target_bpm: float, bars: int,
                   settings: RenderSettings) -> np.ndarray:
    p = plan(target_bpm, "A minor", [[{"songId": "clicks", "stem": "drums",
                                       "source_start_sec": 0.0}]], bars=bars)
    return render_plan(p, {"clicks": material}, settings=settings).audio


def _grid_errors(audio: np.ndarray, target_bpm: float) -> np.ndarray:
    onsets = low_band_onsets(audio, sample_rate_hz=SR, min_gap_sec=0.3)
    return grid_errors_sec(onsets[1:], period_sec=60.0 / target_bpm)


def test_high_quality_stretch_keeps_every_beat_on_the_grid() -> None:
    # Rubber Band's high-quality engine drifts up to 2 ms/s; chunking on bars cancels it.
    beats = 0.5 + (60 / 124.0) * np.arange(40)
    material = _click_material(beats, 21.0)
    audio = _render_clicks(material, target_bpm=121.0, bars=8,
                           settings=RenderSettings(stretch_high_quality=True))
    errors = _grid_errors(audio, 121.0)
    assert errors.size >= 28
    assert np.max(np.abs(errors - np.median(errors))) < 0.006


def test_bar_time_map_locks_a_drifting_song_that_a_constant_map_cannot() -> None:
    # The source speeds up from 120 to 126 BPM; its analysis knows every beat.
    periods = np.linspace(60 / 120.0, 60 / 126.0, 40)
    beats = 0.5 + np.concatenate([[0.0], np.cumsum(periods)])
    material = _click_material(beats, float(beats[-1] + 1.0))
    fast = RenderSettings(stretch_high_quality=False)
    locked = _grid_errors(_render_clicks(material, target_bpm=123.0, bars=8, settings=fast),
                          123.0)
    drifting = _grid_errors(
        _render_clicks(material, target_bpm=123.0, bars=8,
                       settings=fast.with_changes(time_map="constant")), 123.0)
    assert np.max(np.abs(locked - np.median(locked))) < 0.010
    assert np.max(np.abs(drifting - np.median(drifting))) > 0.040


def test_plan_span_gives_one_speed_where_the_map_is_steady_and_per_sample_where_not() -> None:
    from services.processing.warp import plan_span

    # Source second 1..2 plays over 1.1 output seconds; the rest at speed 1.
    time_map = TimeMap(src_sec=np.array([0.0, 1.0, 2.0, 3.0]),
                       out_sec=np.array([0.0, 1.0, 2.1, 3.1]))
    steady = plan_span(time_map, out_start=round(0.3 * SR), n_out=round(0.3 * SR),
                       sample_rate_hz=SR, margin_sec=0.1, tail_sec=0.1)
    assert steady.factors == 1.0 and steady.unity
    assert steady.copy_offset == round(0.1 * SR)
    slow = plan_span(time_map, out_start=round(1.2 * SR), n_out=round(0.5 * SR),
                     sample_rate_hz=SR, margin_sec=0.1, tail_sec=0.1)
    assert slow.factors == pytest.approx(1 / 1.1) and not slow.unity
    assert slow.out_offset == pytest.approx(0.1 * SR * 1.1, abs=1)
    across = plan_span(time_map, out_start=round(0.8 * SR), n_out=round(0.5 * SR),
                       sample_rate_hz=SR, margin_sec=0.1, tail_sec=0.1)
    assert isinstance(across.factors, np.ndarray)
    assert across.factors.size == across.src_stop - across.src_start
    assert set(np.round(across.factors, 6)) == {1.0, round(1 / 1.1, 6)}
