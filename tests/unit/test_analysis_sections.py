"""Song form: boundaries on phrase-starting downbeats, whole phrases, labels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from services.analysis.sections import (
    BARS_PER_PHRASE,
    choose_boundaries,
    complete_bars,
    cut_where_singing_starts,
    first_music_bar,
    first_voice_sec,
    hook_phrase_spans,
    label_sections,
    optimal_sections,
    phrase_phase,
    repeats_stand_apart,
)
from tests.unit.analysis_songs import SPECS, analysis, song

LABELS = {"intro", "verse", "chorus", "build", "drop", "breakdown", "bridge", "outro"}


def test_choose_boundaries_splits_repeats_from_changes() -> None:
    distances = np.array([0.1, 0.12, 2.0, 0.11, 1.5, 0.09])
    assert choose_boundaries(distances).tolist() == [False, False, True, False, True, False]
    assert not choose_boundaries(np.full(5, 0.05)).any()  # one long section: no change
    assert choose_boundaries(np.zeros(0)).shape == (0,)


def test_choose_boundaries_is_not_blinded_by_one_huge_change() -> None:
    # A drumless intro's end (3.3) would make the widest gap the one below it; the
    # verse/chorus changes (0.4-0.5) still stand well apart from the repeats (0.1-0.2).
    distances = np.array([3.3, 0.17, 0.45, 0.12, 0.5, 0.18, 0.42, 0.11])
    assert choose_boundaries(distances).tolist() == [True, False, True, False, True, False,
                                                     True, False]


def test_complete_bars_puts_back_the_bar_a_tracker_missed() -> None:
    bar_sec = 2.0
    late = np.arange(2.1, 40.0, bar_sec)  # the music starts at 0.1 s, the tracker at 2.1 s
    np.testing.assert_allclose(complete_bars(late, music_start_sec=0.0)[:2], [0.1, 2.1])
    # A first downbeat a little before the first sound (a pickup) still counts...
    np.testing.assert_allclose(complete_bars(late, music_start_sec=0.5)[0], 0.1)
    # ...but silence before the music is not a bar of it.
    assert complete_bars(late, music_start_sec=1.0)[0] == pytest.approx(2.1)
    # Two missed bars: both come back; a downbeat just before 0 is clipped to 0.
    np.testing.assert_allclose(complete_bars(np.arange(3.9, 40.0, bar_sec),
                                             music_start_sec=0.0)[:3], [0.0, 1.9, 3.9])
    on_time = np.arange(0.2, 40.0, bar_sec)
    np.testing.assert_array_equal(complete_bars(on_time, music_start_sec=0.0), on_time)
    assert len(complete_bars(np.array([5.0]), music_start_sec=0.0)) == 1


def test_phrase_phase_finds_phrases_that_start_mid_song() -> None:
    # 8-bar sections (two repeated phrases each) from bar 2 on: phrases start at bar 2.
    rng = np.random.default_rng(1)
    levels = rng.normal(0.0, 3.0, (6, 8))
    bars = np.repeat(levels, 2 * BARS_PER_PHRASE, axis=0)[:46]
    features = np.vstack([np.repeat(levels[-1:], 2, axis=0), bars])
    features += rng.normal(0.0, 0.01, features.shape)
    assert phrase_phase(features, n_full_bars=len(features)) == 2


def test_phrase_phase_counts_from_the_first_bar_of_music() -> None:
    # Phrases of 4 bars after a silent first bar; the contrast is the same for every
    # phase (a song that changes everywhere): the first bar of music decides.
    rng = np.random.default_rng(2)
    features = rng.normal(0.0, 1.0, (41, 6))
    assert phrase_phase(features, n_full_bars=41, first_bar=1) == 1
    assert phrase_phase(features, n_full_bars=41) == 0


def test_first_music_bar_skips_a_silent_lead_in() -> None:
    downbeats = np.arange(0.0, 60.0, 2.0)
    assert first_music_bar(downbeats, music_start_sec=1.9) == 1  # bar 1 silent
    assert first_music_bar(downbeats, music_start_sec=1.2) == 0  # a pickup in bar 1
    assert first_music_bar(downbeats, music_start_sec=0.0) == 0
    assert first_music_bar(downbeats, music_start_sec=4.5) == 2
    assert first_music_bar(np.array([0.0]), music_start_sec=5.0) == 0


def test_optimal_sections_finds_changes_in_music_that_never_repeats_exactly() -> None:
    # Three sections (4, 2 and 3 phrases) of played music: every phrase differs from
    # its neighbour about as much as the small changes between the sections' means, so
    # no gap splits repeats from changes; the spread around each section's mean does.
    rng = np.random.default_rng(3)
    means = rng.normal(0.0, 1.0, (3, 12))
    phrases = np.vstack([np.repeat(means[k:k + 1], size, axis=0)
                         for k, size in enumerate((4, 2, 3))])
    phrases += rng.normal(0.0, 0.35, phrases.shape)
    distances = np.linalg.norm(np.diff(phrases, axis=0), axis=1)
    assert not repeats_stand_apart(distances)
    assert optimal_sections(phrases).tolist() == [4, 6]
    assert optimal_sections(phrases[:1]).tolist() == []
    # A steady stretch of 32 bars is one section; a longer one is cut into sections
    # of at most 32 bars...
    steady = rng.normal(0.0, 0.05, (16, 12))
    assert optimal_sections(steady[:8]).tolist() == []
    assert all(np.diff([0, *optimal_sections(steady).tolist(), 16]) <= 8)
    # ...and exact loops with clear changes are the other path's case.
    assert repeats_stand_apart(np.array([0.01, 0.012, 2.0, 0.011, 1.5]))


def test_first_voice_sec_skips_blips_and_joins_short_gaps() -> None:
    assert first_voice_sec([]) is None
    assert first_voice_sec([(3.0, 3.4), (9.0, 9.6), (9.9, 10.5)]) == 9.0  # a blip, then 1.5 s
    assert first_voice_sec([(12.0, 20.0), (2.0, 2.3)]) == 12.0
    assert first_voice_sec([(1.0, 1.5), (4.0, 4.5)]) is None  # never a sustained stretch


def test_the_first_section_ends_where_the_singing_starts() -> None:
    bar_sec = 2.0
    downbeats = np.arange(0.0, 200.0, bar_sec)
    phrase_bars = np.arange(0, 96, 4)  # phrases of 8 s
    cuts = np.array([6, 12])
    # Singing from 16.5 s (phrase 2, 16 s): the intro ends there.
    assert cut_where_singing_starts(cuts, phrase_bars, downbeats, 16.5, bar_sec).tolist() == \
        [2, 6, 12]
    # A pickup a beat before phrase 3 (24 s) starts phrase 3.
    assert cut_where_singing_starts(cuts, phrase_bars, downbeats, 23.6, bar_sec)[0] == 3
    # Singing from the first phrase, or only after the first cut: nothing to add.
    for voice in (3.0, 60.0, None):
        assert cut_where_singing_starts(cuts, phrase_bars, downbeats, voice,
                                        bar_sec).tolist() == [6, 12]


def test_label_sections_keeps_a_long_quiet_start_from_being_one_intro() -> None:
    # A long song's sparse first minutes: quiet sections until bar 48, then the hook.
    energies = [0.2, 0.25, 0.3, 0.3, 0.9, 0.4]
    bars = [8, 8, 16, 16, 16, 8]
    assert label_sections(energies, [0.0] * 6, bars) == [
        "intro", "intro", "verse", "verse", "chorus", "outro"]
    # A rise of 32 bars into the hook is a verse, not its build; 8 bars is a build.
    assert label_sections([0.3, 0.7, 1.0, 0.3], [0.0, 0.3, 0.0, 0.0], [8, 32, 16, 8])[1] == "verse"
    assert label_sections([0.3, 0.7, 1.0, 0.3], [0.0, 0.3, 0.0, 0.0], [8, 8, 16, 8])[1] == "build"


def test_label_sections_names_an_edm_form() -> None:
    energies = [0.3, 0.95, 0.45, 0.6, 1.0, 0.35]
    rises = [0.0, 0.0, 0.0, 0.2, 0.0, -0.1]
    # A breakdown makes it dance music: every hook is a drop.
    assert label_sections(energies, rises) == [
        "intro", "drop", "breakdown", "build", "drop", "outro"]


def test_a_hook_straight_after_the_intro_is_a_drop_when_a_later_one_is() -> None:
    # No breakdown; a verse-level stretch rises into the second hook: dance form, and the
    # first hook (straight after the intro, no build before it) is a drop too
    energies = [0.2, 0.95, 0.7, 0.75, 1.0, 0.3]
    rises = [0.0, 0.0, 0.0, 0.3, 0.0, 0.0]
    assert label_sections(energies, rises, [8, 16, 8, 8, 16, 8]) == [
        "intro", "drop", "verse", "build", "drop", "outro"]


def test_label_sections_names_a_song_form() -> None:
    energies = [0.4, 0.45, 0.75, 1.0, 0.75, 1.0, 0.4]
    rises = [0.0] * 7
    # The quiet second phrase before any hook is still the intro.
    assert label_sections(energies, rises) == [
        "intro", "intro", "verse", "chorus", "verse", "chorus", "outro"]
    assert label_sections([0.5], [0.0]) == ["verse"] and label_sections([], []) == []


def test_a_known_hook_names_the_choruses_whatever_their_level() -> None:
    # On the run's shape: the verses are as loud as the choruses (energy alone called
    # both hooks); the recurring passage is the chorus, the rest verses, and a quiet
    # stretch before the first chorus is the first verse, not more intro
    energies = [0.3, 0.55, 0.9, 0.95, 0.92, 0.97, 0.3]
    rises = [0.0] * 7
    hooks = [False, False, True, False, True, False, False]
    assert label_sections(energies, rises, [4, 8, 8, 8, 8, 8, 4], hooks) == [
        "intro", "verse", "chorus", "verse", "chorus", "verse", "outro"]
    # no hook found: energy decides, as before (every loud section a chorus, the quiet
    # one before them more intro)
    assert label_sections(energies, rises, [4, 8, 8, 8, 8, 8, 4], [False] * 7) == [
        "intro", "intro", "chorus", "chorus", "chorus", "chorus", "outro"]


def test_hook_phrase_spans_snap_to_phrase_starts() -> None:
    # 64 bars of phrases; a chorus recurs three times, its runs found a bar early
    rng = np.random.default_rng(3)
    chorus = rng.random((8, 12)) ** 3
    bars = [rng.random((8, 12)) ** 3 if k % 2 == 0 else chorus for k in range(8)]
    chroma = np.vstack(bars)
    chroma /= np.linalg.norm(chroma, axis=1, keepdims=True)
    loudness = np.array([0.2 if (b // 8) % 2 else 0.0 for b in range(64)])
    features = np.hstack([chroma, np.zeros((64, 3)), loudness[:, None]])
    phrase_bars = np.arange(0, 64, BARS_PER_PHRASE)
    assert hook_phrase_spans(features, phrase_bars) == [(2, 4), (6, 8), (10, 12), (14, 16)]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_sections_tile_the_song_on_downbeats_in_whole_phrases(name: str) -> None:
    result = analysis(name)
    sections = result.sections
    assert sections[0].start_sec == 0.0
    assert sections[-1].end_sec == pytest.approx(result.duration_sec, abs=1e-3)
    assert {s.label for s in sections} <= LABELS
    bar_sec = 240.0 / result.bpm
    for before, after in itertools.pairwise(sections):
        assert before.end_sec == after.start_sec
        assert min(abs(np.asarray(result.downbeats) - after.start_sec)) < 1e-3
    for section in sections[1:-1]:  # the ends may hold a part phrase (fade, pickup)
        bars = (section.end_sec - section.start_sec) / bar_sec
        assert round(bars) % BARS_PER_PHRASE == 0 and abs(bars - round(bars)) < 0.05


@pytest.mark.parametrize("name", sorted(SPECS))
def test_section_boundaries_match_the_truth(name: str) -> None:
    result, truth = analysis(name), song(name).truth
    estimated = np.array([s.start_sec for s in result.sections[1:]])
    # Internal true boundaries (the last truth section ends where the fading tail begins).
    true_bounds = [s.start_sec for s in truth.sections[1:]]
    assert len(estimated) >= len(true_bounds) - 1
    hits = [min(abs(estimated - b)) < 0.5 for b in true_bounds]
    assert np.mean(hits) >= 0.75


def test_a_phrase_grid_counts_from_the_first_bar_unless_another_is_far_clearer() -> None:
    # Stress 6000/19 as the benchmark makes it (hip-hop at 148.4, four on the floor, loud
    # bass, harmony leaning to the relative key): another phase's contrast was 2.39 times
    # the first bar's, and it was wrong: one true boundary of three was found
    from services.analysis.analyzer import analyze_audio
    from services.analysis.bench import stress_specs
    from shared.synth import synthesize_song

    spec = stress_specs(20, seed=6000)[19]
    assert spec.tempo_bpm == pytest.approx(148.4, abs=0.05)
    song = synthesize_song(spec)
    result = analyze_audio(song.mix, sample_rate_hz=song.sample_rate_hz, song_id="s")
    found = [s.start_sec for s in result.sections[1:]]
    for section in song.truth.sections[1:]:
        assert min(abs(section.start_sec - t) for t in found) <= 3.0
