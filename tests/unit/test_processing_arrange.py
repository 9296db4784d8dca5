"""Arrangement planning (no audio rendered): positions, loops, continuity, fades."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from services.processing.arrange import SongContext, plan_arrangement
from services.processing.material import LAYER_STEMS
from services.processing.profile import source_profile
from services.processing.settings import RenderSettings
from shared.tempo_grid import beat_ratio
from tests.unit.test_processing_support import SR, house_124, material, plan, pop_118

TARGET_BPM = 121.0
SETTINGS = RenderSettings()


def _arrange(p, fill_song: str = "a"):
    materials = {"a": material(pop_118(), "a"), "b": material(house_124(), "b")}
    contexts = {
        song_id: SongContext(m.analysis, source_profile(m),
                             beat_ratio(song_bpm=m.analysis.bpm, target_bpm=TARGET_BPM))
        for song_id, m in materials.items()
    }
    available = {song_id: set(LAYER_STEMS) for song_id in materials}
    return plan_arrangement(p, contexts, settings=SETTINGS, fill_song=fill_song,
                            available=available)


def test_sections_are_laid_end_to_end_in_samples() -> None:
    arrangement = _arrange(plan(TARGET_BPM, "A minor", [[{"songId": "a", "stem": "full"}]] * 3))
    bar_sec = 4 * 60 / TARGET_BPM
    assert [s.start for s in arrangement.sections] == [round(i * 4 * bar_sec * SR)
                                                       for i in range(3)]
    assert arrangement.total_samples == round(12 * bar_sec * SR)
    assert arrangement.warnings == []


def test_explicit_source_start_snaps_to_the_nearest_downbeat() -> None:
    downbeats = house_124().truth.downbeats_sec
    wanted = float(downbeats[4]) + 0.3
    arrangement = _arrange(plan(TARGET_BPM, "A minor", [
        [{"songId": "b", "stem": "drums", "source_start_sec": wanted}]]))
    placement = arrangement.sections[0].placements[0]
    assert placement.source_start_sec == pytest.approx(downbeats[4], abs=1e-3)
    assert placement.pieces[0].anchor_out_sec == 0.0


def test_layers_of_one_song_share_their_source_position() -> None:
    arrangement = _arrange(plan(TARGET_BPM, "A minor", [
        [{"songId": "a", "stem": "vocals"}, {"songId": "a", "stem": "drums"},
         {"songId": "b", "stem": "bass"}]]))
    vocals, drums, _ = arrangement.sections[0].placements
    assert vocals.source_start_sec == drums.source_start_sec
    assert vocals.pieces == drums.pieces


def test_a_continuing_layer_picks_up_where_it_left_off_with_a_crossfade() -> None:
    arrangement = _arrange(plan(TARGET_BPM, "A minor", [
        [{"songId": "a", "stem": "instrumental"}],
        [{"songId": "a", "stem": "instrumental", "volume_db": -3}],
        [{"songId": "b", "stem": "drums"}],
    ], bars=2))
    first, second, third = (s.placements[0] for s in arrangement.sections)
    assert second.source_start_sec == pytest.approx(first.source_end_sec, abs=1e-3)
    beat = round(60 / TARGET_BPM * SR)
    assert first.continues and abs(first.fade_out - beat) <= 1
    assert abs(second.preroll - beat) <= 1 and second.crossfade == "linear"
    assert not second.continues and second.fade_out == int(SETTINGS.declick_ms * SR / 1000)
    assert third.preroll == 0 and third.fade_in == second.fade_out


def test_source_that_runs_out_loops_on_bar_boundaries() -> None:
    # 16 bars of the 24 s pop song (about 8 whole bars inside its form) must loop.
    arrangement = _arrange(plan(TARGET_BPM, "A minor", [
        [{"songId": "a", "stem": "drums", "source_start_sec": 0.0}]], bars=16))
    placement = arrangement.sections[0].placements[0]
    pieces = placement.pieces
    assert placement.looped and len(pieces) >= 3
    assert pieces[0].out_start == placement.start and pieces[-1].out_end == placement.end
    for before, after in itertools.pairwise(pieces):
        assert after.out_start == before.out_end  # contiguous
    bar_samples = 4 * 60 / TARGET_BPM * SR
    for piece in pieces[1:]:
        assert piece.anchor_bar == pieces[1].anchor_bar  # the same 4 bars repeat
        bars = piece.anchor_out_sec * SR / bar_samples
        assert bars == pytest.approx(round(bars), abs=1e-6)  # each loop starts on a bar


def test_empty_section_gets_the_first_songs_instrumental() -> None:
    arrangement = _arrange(plan(TARGET_BPM, "A minor", [
        [{"songId": "b", "stem": "vocals"}], []]), fill_song="b")
    filled = arrangement.sections[1].placements
    assert len(filled) == 1 and filled[0].filled
    assert (filled[0].song_id, filled[0].stem) == ("b", "instrumental")
    assert any("section 2 has no layers" in w for w in arrangement.warnings)


def test_vocal_layer_prefers_sung_bars_and_energy_follows_the_plan() -> None:
    song = pop_118()
    for energy in (0.1, 0.9):
        arrangement = _arrange(plan(TARGET_BPM, "A minor", [[{"songId": "a", "stem": "vocals"}]],
                                    energies=[energy]))
        p = arrangement.sections[0].placements[0]
        sung = sum(max(0.0, min(p.source_end_sec, y) - max(p.source_start_sec, x))
                   for x, y in song.truth.vocal_intervals)
        assert sung / (p.source_end_sec - p.source_start_sec) > 0.5
    quiet = _arrange(plan(TARGET_BPM, "A minor", [[{"songId": "b", "stem": "full"}]],
                          energies=[0.0])).sections[0].placements[0]
    loud = _arrange(plan(TARGET_BPM, "A minor", [[{"songId": "b", "stem": "full"}]],
                         energies=[1.0])).sections[0].placements[0]
    drop = next(s for s in house_124().truth.sections if s.label == "drop")
    assert drop.start_sec - 0.1 <= loud.source_start_sec < drop.end_sec
    assert not np.isclose(quiet.source_start_sec, loud.source_start_sec)


def _arrange_with_voice(p, vocal_intervals: list[tuple[float, float]],
                        guest_intervals: list[tuple[float, float]] | None = None):
    """Song a (pop 118) sung over `vocal_intervals`, song b over `guest_intervals` (its
    own when None)."""
    materials = {"a": material(pop_118(), "a"), "b": material(house_124(), "b")}
    voices = {"a": vocal_intervals, "b": guest_intervals}
    contexts = {}
    for song_id, m in materials.items():
        analysis = m.analysis
        if voices[song_id] is not None:
            analysis = dataclasses.replace(analysis, vocal_intervals=tuple(voices[song_id]))
        contexts[song_id] = SongContext(analysis, source_profile(m), beat_ratio(
            song_bpm=analysis.bpm, target_bpm=TARGET_BPM))
    available = {song_id: set(LAYER_STEMS) for song_id in materials}
    return plan_arrangement(p, contexts, settings=SETTINGS, fill_song="b",
                            available=available), contexts["a"]


@pytest.mark.parametrize("pickup_beats", [0.5, 1.5])
def test_a_vocal_pickup_before_the_first_downbeat_is_rendered(pickup_beats: float) -> None:
    song = pop_118()
    downbeat = float(song.truth.downbeats_sec[6])  # a sung line starts here...
    beat_src = 60.0 / 118.0
    line_start = downbeat - pickup_beats * beat_src  # ...made to start early: "On the | run"
    arrangement, ctx = _arrange_with_voice(plan(TARGET_BPM, "A minor", [
        [{"songId": "b", "stem": "drums"}],
        [{"songId": "a", "stem": "vocals", "source_start_sec": downbeat},
         {"songId": "b", "stem": "drums"}],
    ], bars=2), [*song.truth.vocal_intervals[:3], (line_start, downbeat + 3.0)])
    vocals = arrangement.sections[1].placements[0]
    assert vocals.source_start_sec == pytest.approx(downbeat, abs=1e-3)
    # rendered from just before the line's start, in output time, at full level
    expected = (pickup_beats * beat_src + 0.05) / beat_src * ctx.ratio * 60 / TARGET_BPM * SR
    assert vocals.preroll == pytest.approx(expected, abs=2)
    assert vocals.fade_in == int(SETTINGS.declick_ms * SR / 1000)


def test_a_line_that_ended_before_the_downbeat_is_no_pickup() -> None:
    song = pop_118()
    downbeat = float(song.truth.downbeats_sec[6])
    beat_src = 60.0 / 118.0
    arrangement, _ = _arrange_with_voice(plan(TARGET_BPM, "A minor", [
        [{"songId": "b", "stem": "drums"}],
        [{"songId": "a", "stem": "vocals", "source_start_sec": downbeat}],
    ], bars=2), [*song.truth.vocal_intervals[:3],
                 (downbeat - 1.5 * beat_src, downbeat - 0.8 * beat_src),  # a line's end
                 (downbeat + 0.1, downbeat + 3.0)])
    vocals = arrangement.sections[1].placements[0]
    assert vocals.preroll == 0


@pytest.mark.parametrize("guest_sings_at_end", [False, True])
def test_no_pickup_over_another_songs_voice(guest_sings_at_end: bool) -> None:
    song = pop_118()
    downbeat = float(song.truth.downbeats_sec[6])
    beat_src = 60.0 / 118.0
    guest_start = float(house_124().truth.downbeats_sec[4])  # b sings its 2 bars...
    guest_end = guest_start + 2 * 4 * 60 / 124
    guest_line = (guest_start + 0.1, guest_end - (0.05 if guest_sings_at_end else 1.0))
    arrangement, _ = _arrange_with_voice(plan(TARGET_BPM, "A minor", [
        [{"songId": "b", "stem": "vocals", "source_start_sec": guest_start}],
        [{"songId": "a", "stem": "vocals", "source_start_sec": downbeat}],
    ], bars=2), [*song.truth.vocal_intervals[:3], (downbeat - 0.5 * beat_src, downbeat + 3.0)],
        [guest_line])
    guest, vocals = (s.placements[0] for s in arrangement.sections)
    assert guest.source_start_sec == pytest.approx(guest_start, abs=1e-3)
    assert (vocals.preroll == 0) == guest_sings_at_end
