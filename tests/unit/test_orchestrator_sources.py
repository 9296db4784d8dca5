"""Where layers start: vocals on unsung downbeats, ending where nobody sings; an
instrumental under another song's voice where its own singer rests."""

from __future__ import annotations

import random

from services.orchestrator.sources import (
    InstrumentalCursor,
    VocalCursor,
    sung_lines,
    sung_share,
    window_energy,
)
from shared.contracts.analysis import AnalysisResult
from tests.unit.test_orchestrator_factory import make_analysis

BAR_SEC = 2.0  # 120 BPM


def _song(lines_bars: list[tuple[float, float]]) -> AnalysisResult:
    """A 120 BPM song sung over the given (start_bar, end_bar) spans."""
    intervals = [(a * BAR_SEC, b * BAR_SEC) for a, b in lines_bars]
    return AnalysisResult.model_validate(
        make_analysis("song", tempo_bpm=120.0, duration_sec=200.0, vocal_intervals=intervals))


def _sung_at(song: AnalysisResult, time_sec: float) -> bool:
    return any(a - 0.15 < time_sec < b + 0.15 for a, b in song.vocal_intervals)


def test_sung_lines_merge_breaths_only() -> None:
    song = _song([(4, 5.95), (6.0, 8.0), (10, 12)])  # a 0.1 s breath, then a 4-s gap
    assert sung_lines(song) == [(8.0, 16.0), (20.0, 24.0)]


def test_a_window_that_fits_a_phrase_starts_on_its_downbeat() -> None:
    # 8-bar lines with a 2-bar pause: an 8-bar window from the phrase's bar ends unsung
    song = _song([(8.1, 15.5), (18.1, 25.5), (28.1, 35.5)])
    cursor = VocalCursor(song, tempo_ratio=1.0)
    start = cursor.take(8 * BAR_SEC)
    assert start == 8 * BAR_SEC
    assert not _sung_at(song, start + 8 * BAR_SEC)
    assert cursor.take(8 * BAR_SEC) == 18 * BAR_SEC  # the next line, in order


def test_a_line_running_across_the_window_end_moves_the_start() -> None:
    # a 3:2 song fills an 8-bar section with 12 of its bars: from bar 8 the window would
    # end at bar 20, in the middle of the second line; starting two bars earlier (a
    # quarter of the window at most, unsung) it ends in the pause at bar 18
    song = _song([(8.1, 17.5), (18.1, 27.5), (28.1, 37.5)])
    cursor = VocalCursor(song, tempo_ratio=1.5)
    need_sec = 8 * BAR_SEC * 1.5
    start = cursor.take(8 * BAR_SEC)
    assert start is not None and not _sung_at(song, start)
    assert 8 * BAR_SEC - 0.25 * need_sec - 1e-6 <= start <= 8 * BAR_SEC
    assert not _sung_at(song, start + need_sec)


def test_a_later_phrase_is_taken_when_the_first_cannot_end_cleanly() -> None:
    # The first line is sung from bar 0, so no earlier start exists; a 4-bar window from
    # bar 0 ends inside it. The second phrase, 4 bars long, fits exactly.
    song = _song([(0.1, 6.0), (8.1, 11.8), (12.1, 30.0)])
    cursor = VocalCursor(song, tempo_ratio=1.0)
    start = cursor.take(4 * BAR_SEC)
    assert start == 8 * BAR_SEC and not _sung_at(song, start + 4 * BAR_SEC)


def test_without_a_clean_end_the_first_phrase_is_kept() -> None:
    song = _song([(0.1, 99.0)])  # one endless line: every end is inside it
    cursor = VocalCursor(song, tempo_ratio=1.0)
    assert cursor.take(8 * BAR_SEC) == 0.0


def test_reused_phrases_also_end_cleanly() -> None:
    song = _song([(8.1, 15.5), (18.1, 25.5)])
    cursor = VocalCursor(song, tempo_ratio=1.0)
    cursor.position_sec = 90.0  # every phrase used
    start = cursor.take(8 * BAR_SEC)
    assert cursor.reused and start is not None and not _sung_at(song, start + 8 * BAR_SEC)


def _instrumental_song(lines_bars: list[tuple[float, float]]) -> AnalysisResult:
    """120 BPM, one 64-bar "verse" at one energy, sung over the given bar spans."""
    body = make_analysis("inst", tempo_bpm=120.0, duration_sec=140.0,
                         vocal_intervals=[(a * BAR_SEC, b * BAR_SEC) for a, b in lines_bars])
    body["sections"] = [{"label": "verse", "start_sec": 0.0, "end_sec": 128.0, "energy": 0.6},
                        {"label": "outro", "start_sec": 128.0, "end_sec": 140.0, "energy": 0.3}]
    return AnalysisResult.model_validate(body)


def test_under_a_voice_the_instrumental_comes_from_where_its_own_singer_rests() -> None:
    # sung everywhere in the verse but bars 24-40: under another song's voice the 8-bar
    # window starts at bar 24 (a phrase start inside the section), not at the section's
    # start, where its own singer would be a second voice under the lead
    song = _instrumental_song([(0.2, 23.8), (40.2, 63.8)])
    cursor = InstrumentalCursor(song, tempo_ratio=1.0, rng=random.Random(0))
    start = cursor.take(8 * BAR_SEC, energy=0.6, kind="verse", under_voice=True)
    assert start == 24 * BAR_SEC and sung_share(song, start, start + 16.0) == 0.0
    # without a voice over it, the section's start (energy and label decide) as before
    plain = InstrumentalCursor(song, tempo_ratio=1.0, rng=random.Random(0))
    assert plain.take(8 * BAR_SEC, energy=0.6, kind="verse") == 0.0


def test_under_a_voice_a_sung_passage_is_not_played_on() -> None:
    song = _instrumental_song([(8.2, 23.8)])
    cursor = InstrumentalCursor(song, tempo_ratio=1.0, rng=random.Random(1))
    cursor.position_sec = 8 * BAR_SEC  # the music would play on into the sung bars 8-16
    start = cursor.take(8 * BAR_SEC, energy=0.6, kind="verse", under_voice=True)
    assert sung_share(song, start, start + 8 * BAR_SEC) == 0.0
    cursor.position_sec = 8 * BAR_SEC
    assert cursor.take(8 * BAR_SEC, energy=0.6, kind="verse") == 8 * BAR_SEC


def _sectioned_song(sections: list[tuple[str, float, float, float]]) -> AnalysisResult:
    """A 120 BPM instrumental song with (label, start_bar, end_bar, energy) sections."""
    body = make_analysis("song", tempo_bpm=120.0, duration_sec=200.0, sung=False)
    body["sections"] = [{"label": label, "start_sec": a * BAR_SEC, "end_sec": b * BAR_SEC,
                         "energy": energy} for label, a, b, energy in sections]
    return AnalysisResult.model_validate(body)


def test_window_energy_weighs_every_section_the_window_covers() -> None:
    song = _sectioned_song([("chorus", 0, 8, 0.8), ("outro", 8, 32, 0.3)])
    assert window_energy(song, 0.0, 8 * BAR_SEC) == 0.8
    assert abs(window_energy(song, 4 * BAR_SEC, 12 * BAR_SEC) - 0.55) < 1e-9
    # past the last section the song's mean energy counts
    mean = song.energy
    assert abs(window_energy(song, 24 * BAR_SEC, 40 * BAR_SEC) - (0.3 + mean) / 2) < 1e-9


def test_a_loud_start_running_into_a_quiet_outro_is_no_drop() -> None:
    # a 4-bar chorus (0.9) then the outro (0.2), or an 8-bar drop (0.75): the drop's
    # 8 bars are louder on the whole, though the chorus starts louder
    song = _sectioned_song([("intro", 0, 8, 0.3), ("drop", 8, 16, 0.75),
                            ("chorus", 16, 20, 0.9), ("outro", 20, 100, 0.2)])
    for seed in range(5):
        cursor = InstrumentalCursor(song, tempo_ratio=1.0, rng=random.Random(seed))
        assert cursor.take(8 * BAR_SEC, energy=0.95, kind="drop") == 8 * BAR_SEC


def test_a_window_already_heard_yields_to_an_equal_one() -> None:
    # two equally loud choruses: the second drop comes from the other one
    song = _sectioned_song([("intro", 0, 8, 0.3), ("chorus", 8, 16, 0.8),
                            ("verse", 16, 32, 0.5), ("chorus", 32, 40, 0.8),
                            ("outro", 40, 100, 0.2)])
    for seed in range(5):
        cursor = InstrumentalCursor(song, tempo_ratio=1.0, rng=random.Random(seed))
        first = cursor.take(8 * BAR_SEC, energy=0.8, kind="drop")
        cursor.position_sec = None
        second = cursor.take(8 * BAR_SEC, energy=0.8, kind="drop")
        assert {first, second} == {8 * BAR_SEC, 32 * BAR_SEC}


def test_a_drop_takes_the_next_sung_chorus_not_the_next_line() -> None:
    # POP_FORM at 120 BPM: intro 0-16 s, verse 16-48, chorus 48-64, verse 64-96,
    # chorus 96-112, bridge, chorus 128-160; sung throughout verses and choruses
    song = AnalysisResult.model_validate(make_analysis("song", tempo_bpm=120.0,
                                                       duration_sec=200.0))
    cursor = VocalCursor(song, tempo_ratio=1.0)
    assert cursor.take(8 * BAR_SEC) == 16.0  # the verse: the first line
    drop = cursor.take(6 * BAR_SEC, prefer_loud=True)
    assert drop == 48.0  # the first chorus (the verse's second half is skipped)
    assert cursor.take(8 * BAR_SEC) == 64.0  # on from there, in order
    assert cursor.take(6 * BAR_SEC, prefer_loud=True) == 96.0


def test_a_chorus_line_with_a_pickup_still_starts_the_drop_on_the_chorus() -> None:
    body = make_analysis("song", tempo_bpm=120.0, duration_sec=200.0)
    # the chorus's first line starts a beat before its downbeat (48 s): the hook lands on
    # the drop's first beat, the renderer leads in with the pickup
    body["vocal_intervals"] = [[16.2, 40.0], [46.6, 47.3], [47.5, 55.0], [56.3, 62.0]]
    cursor = VocalCursor(AnalysisResult.model_validate(body), tempo_ratio=1.0)
    assert cursor.take(4 * BAR_SEC, prefer_loud=True) == 48.0


def test_a_drop_without_a_sung_hook_ahead_takes_the_next_line() -> None:
    body = make_analysis("song", tempo_bpm=120.0, duration_sec=200.0)
    for section in body["sections"]:  # no chorus or drop at all
        if section["label"] == "chorus":
            section["label"] = "verse"
    song = AnalysisResult.model_validate(body)
    plain, loud = VocalCursor(song, tempo_ratio=1.0), VocalCursor(song, tempo_ratio=1.0)
    assert plain.take(8 * BAR_SEC) == loud.take(8 * BAR_SEC) == 16.0
    assert loud.hooks == []
    assert loud.take(8 * BAR_SEC, prefer_loud=True) == plain.take(8 * BAR_SEC) < 48.0


def test_scattered_ad_libs_are_passed_over_for_a_sung_verse() -> None:
    # an intro of one-bar ad-libs 8 bars apart, then a verse sung in 3.5-bar lines with
    # half-bar breaths: the verse's window is the first one taken
    song = _song([(0.1, 1.0), (8.1, 9.0),
                  *[(bar + 0.1, bar + 3.6) for bar in range(16, 36, 4)]])
    cursor = VocalCursor(song, tempo_ratio=1.0)
    start = cursor.take(8 * BAR_SEC)
    assert start == 16 * BAR_SEC
    assert sung_share(song, start, start + 8 * BAR_SEC) > 0.8


def test_a_song_that_only_sings_sparsely_still_gives_its_first_lines() -> None:
    # every window is a quarter sung: none is sparse next to the song's best
    song = _song([(bar + 0.1, bar + 1.0) for bar in range(0, 60, 4)])
    cursor = VocalCursor(song, tempo_ratio=1.0)
    assert cursor.take(8 * BAR_SEC) == 0.0
