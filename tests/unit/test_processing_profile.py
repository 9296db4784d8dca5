"""Bar profiles of a source song: the analysis's sung bars, heard in the separated voice."""

from __future__ import annotations

import numpy as np
import pytest

from services.processing.arrange import SongContext, plan_arrangement
from services.processing.material import LAYER_STEMS, SongMaterial, parse_analysis
from services.processing.profile import (
    QUIET_VOICE_DB,
    SILENT_VOICE_DB,
    heard_voice,
    source_profile,
)
from services.processing.settings import RenderSettings
from shared.tempo_grid import beat_ratio
from tests.unit.test_processing_support import SR, analysis_dict, plan, pop_118


def _tone(seconds: float, level_db: float) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (10 ** (level_db / 20) * np.sqrt(2) * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_heard_voice_follows_the_voice_against_the_songs_sung_level() -> None:
    # Eight 1-s bars, all "sung" by the analysis; the voice is at -20 dB in four of them,
    # 15 dB under that in one (half heard), and 40 dB under it in the rest.
    levels = [-20, -20, -20, -20, -20 - 15, -60, -60, -60]
    voice = np.concatenate([_tone(1.0, db) for db in levels])
    grid = np.arange(9, dtype=np.float64)
    heard = heard_voice(np.stack([voice, voice]), grid, np.ones(8), sample_rate_hz=SR)
    assert heard[:4] == pytest.approx(1.0)
    midway = (SILENT_VOICE_DB - 15) / (SILENT_VOICE_DB - QUIET_VOICE_DB)
    assert heard[4] == pytest.approx(midway, abs=0.02)
    assert heard[5:] == pytest.approx(0.0)


def test_no_sung_bars_no_judgement() -> None:
    voice = np.zeros((2, 4 * SR), dtype=np.float32)
    heard = heard_voice(voice, np.arange(5, dtype=np.float64), np.zeros(4), sample_rate_hz=SR)
    assert heard == pytest.approx(1.0)


def _pop_with_a_silent_voice_until(silent_sec: float) -> SongMaterial:
    """The pop song whose separated voice is silent for its first `silent_sec` while the
    analysis still says it sings there (its lines start at 0.1, 4.17, 8.24, 12.3 s)."""
    song = pop_118()
    stems = dict(song.stems)
    vocals = stems["vocals"].copy()
    vocals[:, : round(silent_sec * SR)] = 0.0
    stems["vocals"] = vocals
    return SongMaterial.build("a", stems=stems, sample_rate_hz=song.sample_rate_hz,
                              analysis=parse_analysis(analysis_dict(song, "a"), song_id="a"))


def test_the_profile_does_not_call_a_silent_voice_sung() -> None:
    profile = source_profile(_pop_with_a_silent_voice_until(8.0))
    whole = source_profile(_pop_with_a_silent_voice_until(0.0))  # the voice everywhere
    grid = profile.downbeats_sec
    silent = [j for j in range(grid.size - 1) if grid[j] >= 0.0 and grid[j + 1] <= 8.0]
    heard = [j for j in range(grid.size - 1) if grid[j] >= 8.2]
    assert silent and heard
    assert max(whole.bar_vocal[silent]) > 0.5  # the analysis says they are sung...
    assert max(profile.bar_vocal[silent]) == 0.0  # ...but nobody is heard there
    assert profile.bar_vocal[heard] == pytest.approx(whole.bar_vocal[heard])


def _arrange_vocal_at(source_start_sec: float):
    material = _pop_with_a_silent_voice_until(8.0)
    ctx = SongContext(material.analysis, source_profile(material),
                      beat_ratio(song_bpm=118.0, target_bpm=118.0))
    p = plan(118.0, "C major", [[{"songId": "a", "stem": "vocals",
                                  "source_start_sec": source_start_sec},
                                 {"songId": "a", "stem": "drums",
                                  "source_start_sec": source_start_sec}]], bars=2)
    return plan_arrangement(p, {"a": ctx}, settings=RenderSettings(), fill_song="a",
                            available={"a": set(LAYER_STEMS)})


def test_a_plans_vocal_window_without_a_voice_moves_to_a_sung_one() -> None:
    arrangement = _arrange_vocal_at(0.1)
    vocals, drums = arrangement.sections[0].placements
    assert vocals.source_start_sec >= 8.0  # where the voice is heard
    assert drums.source_start_sec == vocals.source_start_sec  # the song's layers together
    assert any("sings almost nothing at 0.1 s" in w for w in arrangement.warnings)


def test_a_sung_vocal_window_stays_where_the_plan_put_it() -> None:
    arrangement = _arrange_vocal_at(8.24)
    vocals = arrangement.sections[0].placements[0]
    assert vocals.source_start_sec == pytest.approx(8.24, abs=0.01)
    assert not arrangement.warnings


def test_a_moved_window_keeps_clear_of_lines_already_played() -> None:
    # Two sung 4-bar phrases: the first (bars 4-7) at the section's energy but already
    # played, the second (bars 8-11) 0.3 quieter. The usual overlap cost replays the
    # first; a moved window (MOVED_OVERLAP_COST) takes the fresh one.
    from services.processing.arrange import MOVED_OVERLAP_COST, choose_anchor
    from services.processing.material import SongAnalysis
    from services.processing.profile import SourceProfile

    grid = np.arange(17, dtype=np.float64) * 2.0
    vocal = np.zeros(16)
    vocal[4:12] = 1.0
    energy = np.full(16, 0.6)
    energy[4:8] = 0.9
    analysis = SongAnalysis(bpm=120.0, beats_sec=np.arange(0.0, 32.0, 0.5), downbeats_sec=grid,
                            key="C major", vocal_intervals=((8.0, 24.0),), sections=(),
                            duration_sec=32.0)
    profile = SourceProfile(downbeats_sec=grid, bar_energy=energy, bar_vocal=vocal,
                            bar_in_form=np.ones(16), first_bar=0, end_bar=16)
    ctx = SongContext(analysis, profile, 1.0)
    kwargs = {"needed_bars": 4.0, "energy_level": 0.9, "wants_vocals": True,
              "used": [(4, 8)]}
    assert choose_anchor(ctx, **kwargs) == 4
    assert choose_anchor(ctx, **kwargs, overlap_cost=MOVED_OVERLAP_COST) == 8
