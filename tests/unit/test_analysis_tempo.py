"""Tempo and beats: the DJ's metrical level, grid fitting, and beats against synth truth."""

from __future__ import annotations

import numpy as np
import pytest

from services.analysis.features import OnsetEnvelopes
from services.analysis.tempo import (
    backbeat_contrast,
    backbeat_on_every_beat,
    backbeat_overrule,
    bar_accent_profile,
    bar_accents_lead,
    bar_accents_off_the_beat,
    beat_misfits_bars,
    beat_phase_origin,
    bridge_weak_beats,
    dj_tempo,
    estimate_tempo,
    fit_grid,
    grid_beats,
    grid_is_unsteady,
    is_double_time,
    move_offbeat_runs,
    offbeat_runs,
    onsets_overrule,
    pulse_confidence,
    rescale_beats,
    shift_beats,
    swung_offbeat_lead,
)
from tests.unit.analysis_songs import SPECS, analysis, nearest_offsets_sec, song


def test_a_tight_grid_stands_though_the_tracker_wobbles() -> None:
    # The mashup case: 98.6 % of the beats within 70 ms, rms 15 ms, local tempi 0.86 % off.
    assert not grid_is_unsteady(rms_sec=0.015, inlier_share=0.986, drift=0.0086)
    # A looser fit with that drift is a drifting song: its own beats are kept...
    assert grid_is_unsteady(rms_sec=0.015, inlier_share=0.9, drift=0.0086)
    assert not grid_is_unsteady(rms_sec=0.015, inlier_share=0.9, drift=0.005)
    # A fast song drifting 2 %: 96 % of its beats within 70 ms (a fifth of a beat at
    # 157), but at a residual of 30 ms, near the loose limit: it drifts.
    assert grid_is_unsteady(rms_sec=0.0298, inlier_share=0.963, drift=0.0119)
    # ...and a loose fit is never a grid.
    assert grid_is_unsteady(rms_sec=0.04, inlier_share=0.99, drift=0.0)
    assert grid_is_unsteady(rms_sec=0.01, inlier_share=0.6, drift=0.0)


@pytest.mark.parametrize(("tempo_bpm", "expected_bpm", "factor"), [
    (124.0, 124.0, 1.0), (60.0, 120.0, 2.0), (200.0, 100.0, 0.5), (180.4, 180.4, 1.0),
    (35.0, 140.0, 4.0),
])
def test_dj_tempo_folds_into_the_dj_range(tempo_bpm: float, expected_bpm: float,
                                          factor: float) -> None:
    assert dj_tempo(tempo_bpm) == pytest.approx((expected_bpm, factor))


def test_rescale_beats_doubles_and_halves() -> None:
    beats = np.arange(8) * 0.5
    assert np.allclose(rescale_beats(beats, factor=2.0), np.arange(15) * 0.25)
    assert np.allclose(rescale_beats(beats, factor=0.5), beats[::2])
    assert np.allclose(rescale_beats(beats, factor=1.0), beats)


def test_fit_grid_recovers_period_and_phase_from_jittered_ticks() -> None:
    rng = np.random.default_rng(0)
    period_sec, origin_sec = 60.0 / 126.0, 0.137
    truth = origin_sec + period_sec * np.arange(120)
    # 11.6 ms frame quantisation, as the tracker has, and a stretch locked to off-beats.
    ticks = np.round((truth + rng.normal(0.0, 0.004, len(truth))) / 0.0116) * 0.0116
    ticks[40:55] += period_sec / 2.0
    origin, period, rms_sec, inliers = fit_grid(ticks, period_sec=period_sec * 1.01)
    assert period == pytest.approx(period_sec, abs=2e-4)
    half_phase = ((origin - origin_sec) / (period_sec / 2.0)) % 1.0
    assert min(half_phase, 1.0 - half_phase) < 0.02
    assert rms_sec < 0.01 and inliers > 0.95


def test_grid_beats_cover_the_song_from_its_start() -> None:
    grid = grid_beats(origin_sec=3.1, period_sec=0.5, duration_sec=10.0)
    assert grid[0] == pytest.approx(0.1) and grid[-1] < 10.0 and np.allclose(np.diff(grid), 0.5)


def test_double_time_needs_kick_and_snare_on_opposite_half_beats() -> None:
    assert is_double_time(np.array([[3.0, 0.5], [0.5, 3.0]]))  # kick on beat, snare off it
    assert not is_double_time(np.array([[3.0, 3.0], [0.5, 0.5]]))  # both on the beat
    # A snare on every other beat of its half is a backbeat at the counted tempo.
    assert not is_double_time(np.array([[0.5, 3.0], [3.0, 0.5]]), snare_contrast=2.0)


def test_onsets_overrule_the_beats_only_when_kick_and_snare_both_sit_off_them() -> None:
    assert onsets_overrule(np.array([[2.0, 2.0], [4.0, 3.0]]))  # both off the beats
    assert onsets_overrule(np.array([[2.0, 2.0], [3.2, 2.1]]))  # the clap barely, the kick clearly
    assert not onsets_overrule(np.array([[2.0, 2.0], [2.3, 2.3]]))  # both, but neither clearly
    assert not onsets_overrule(np.array([[2.0, 3.0], [4.0, 2.5]]))  # the kick alone
    assert not onsets_overrule(np.array([[3.0, 2.0], [2.5, 4.0]]))  # off-beat hats alone
    assert not onsets_overrule(np.array([[3.0, 3.0], [1.0, 1.0]]))  # on the beats


def test_a_unanimous_tracker_on_the_off_beat_is_overruled_by_kick_and_snare() -> None:
    period_sec = 0.5
    ticks_sec = 0.25 + period_sec * np.arange(40)  # all on the off-beat of the grid at 0
    on_beat = np.array([[4.0, 3.0], [2.0, 2.0]])  # rows: grid through 0, half a beat later
    # The kick band (bass notes included) agrees with the tracker; the kick's own hits
    # and the snare do not.
    assert beat_phase_origin(ticks_sec, origin_sec=0.0, period_sec=period_sec,
                             strengths=on_beat[::-1], hit_strengths=on_beat) == 0.0
    assert beat_phase_origin(ticks_sec, origin_sec=0.0, period_sec=period_sec,
                             strengths=on_beat, hit_strengths=on_beat[::-1]) == 0.25
    assert beat_phase_origin(ticks_sec, origin_sec=0.0, period_sec=period_sec,
                             strengths=on_beat) == 0.25


def test_a_wandering_tracker_follows_the_kick_hits_over_the_kick_band() -> None:
    period_sec = 0.5
    ticks_sec = period_sec * np.arange(40) + np.where(np.arange(40) < 20, 0.0, 0.25)
    bass_on_the_grid = np.array([[4.0, 2.5], [2.0, 2.2]])  # the kick band: grid through 0
    hits_off_it = np.array([[2.0, 2.2], [4.0, 2.5]])  # the kick drum: half a beat later
    assert beat_phase_origin(ticks_sec, origin_sec=0.0, period_sec=period_sec,
                             strengths=bass_on_the_grid) == 0.0
    assert beat_phase_origin(ticks_sec, origin_sec=0.0, period_sec=period_sec,
                             strengths=bass_on_the_grid, hit_strengths=hits_off_it) == 0.25


def test_shift_beats_follows_the_local_interval() -> None:
    np.testing.assert_allclose(shift_beats(np.array([0.0, 1.0, 3.0])), [0.5, 2.0, 4.0])
    np.testing.assert_allclose(shift_beats(np.array([0.0, 3.0]), fraction=1 / 3), [1.0, 4.0])


def test_a_tracker_on_the_swung_off_beat_moves_to_the_beat_a_third_later() -> None:
    def strengths_at(lead: float) -> np.ndarray:
        on_beat = abs(lead - 0.333) < 0.01  # the beat a third of a beat after the tracker
        return np.array([[2.0, 2.0], [4.0, 3.0] if on_beat else [2.1, 1.9]])

    assert swung_offbeat_lead(strengths_at) == 0.333
    assert swung_offbeat_lead(lambda lead: np.array([[3.0, 3.0], [2.0, 2.0]])) is None


def test_confidence_rewards_regular_beats_on_the_onsets() -> None:
    hop_sec = 0.01
    kick = np.zeros(1000, dtype=np.float32)
    kick[::50] = 1.0  # a kick every 0.5 s
    onsets = OnsetEnvelopes(kick=kick, snare=kick.copy(), hop_sec=hop_sec)
    on_beat = np.arange(0.0, 10.0, 0.5)
    high = pulse_confidence(regularity=1.0, beats_sec=on_beat, onsets=onsets)
    off_beat = pulse_confidence(regularity=1.0, beats_sec=on_beat + 0.25, onsets=onsets)
    assert high == pytest.approx(1.0) and off_beat == pytest.approx(0.5)
    assert pulse_confidence(regularity=0.2, beats_sec=on_beat, onsets=None) == 0.2


def test_a_beat_of_three_halves_misfits_the_bars() -> None:
    # A trap bar of 80 frames (beat 20): kicks on sixteenths 0, 6 and 10, snare on 8.
    hop_sec = 0.02
    kick = np.zeros(4000, dtype=np.float32)
    snare = np.zeros(4000, dtype=np.float32)
    for bar_start in range(0, 4000, 80):
        kick[[bar_start, bar_start + 30, bar_start + 50]] = 1.0
        snare[bar_start + 40] = 1.0
    onsets = OnsetEnvelopes(kick=kick, snare=snare, hop_sec=hop_sec)
    assert not beat_misfits_bars(onsets, period_sec=20 * hop_sec)
    assert beat_misfits_bars(onsets, period_sec=30 * hop_sec)  # the tracker's 3:2 error


def test_estimate_tempo_needs_44k1_audio() -> None:
    with pytest.raises(ValueError, match="44100"):
        estimate_tempo(np.zeros(22050, dtype=np.float32), sample_rate_hz=22050)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_tempo_is_the_level_a_dj_counts(name: str) -> None:
    # 174 drum & bass, not 87; 90 hip-hop, not 180; within 0.5 %.
    assert analysis(name).bpm == pytest.approx(SPECS[name].tempo_bpm, rel=0.005)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_beats_land_on_the_true_beats(name: str) -> None:
    result, truth = analysis(name), song(name).truth
    beats = np.asarray(result.beats)
    assert np.all(np.diff(beats) > 0)
    offsets = nearest_offsets_sec(beats, truth.beats_sec)
    # mir_eval's F-measure window is 70 ms; demand nearly every beat well inside it.
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95
    assert len(beats) <= 1.05 * len(truth.beats_sec) + 1


def test_a_grid_that_slips_against_drifting_beats_gives_way_to_them(monkeypatch) -> None:
    import services.analysis.tempo as tempo_module

    # Drum & bass drifting ±1 % around 167.16 BPM (one cycle per 96 beats, the synth's
    # drift), its tracker following the beat all through (stress 30000/14). A half-beat
    # grid fits it at 168 with 95 % of the beats within 70 ms and local tempi within
    # MAX_DRIFT of that period, while it runs half a beat off them for a third of the song.
    hop_sec, period_sec = 512 / 22050, 60.0 / 167.16
    durations = period_sec / (1.0 + 0.01 * np.sin(2 * np.pi * np.arange(190) / 96.0 + 4.71))
    truth = 0.3 + np.concatenate([[0.0], np.cumsum(durations)])
    ticks = np.round(truth / 0.0116) * 0.0116
    n_frames = int((truth[-1] + 1.0) / hop_sec)
    kick = _impulses(truth[0::2], hop_sec=hop_sec, n_frames=n_frames) + 0.01
    snare = _impulses(truth[1::2], hop_sec=hop_sec, n_frames=n_frames) + 0.01
    hats = _impulses(truth[:-1] + durations / 2.0, hop_sec=hop_sec, n_frames=n_frames) * 0.5
    onsets = OnsetEnvelopes(kick=kick, snare=snare + 0.3 * hats, hop_sec=hop_sec,
                            broadband=kick + snare + hats)
    monkeypatch.setattr(tempo_module, "rhythm_extractor",
                        lambda method="degara": lambda signal: (167.0, ticks, 0, 0, 0))
    _, grid_period, rms, inliers = tempo_module.fit_grid(ticks, period_sec=period_sec)
    assert not tempo_module.grid_is_unsteady(
        rms_sec=rms, inlier_share=inliers,
        drift=tempo_module.tempo_drift(ticks, period_sec=grid_period))
    assert tempo_module.grid_slip(ticks, period_sec=grid_period) > tempo_module.MAX_GRID_SLIP
    mono = np.random.default_rng(0).normal(0.0, 0.1, int((truth[-1] + 1.0) * 44100))
    estimate = estimate_tempo(mono.astype(np.float32), sample_rate_hz=44100, onsets=onsets)
    assert not estimate.steady
    assert estimate.tempo_bpm == pytest.approx(167.16, rel=0.01)
    assert np.mean(np.abs(nearest_offsets_sec(estimate.beats_sec, truth)) < 0.07) > 0.95


def test_tempo_drift_tells_a_drifting_grid_from_a_jittered_steady_one() -> None:
    from services.analysis.tempo import MAX_DRIFT, tempo_drift

    rng = np.random.default_rng(3)
    period_sec = 0.5
    # A tracker's ticks: quantised to 11.6 ms frames, one skipped beat, a locking-on start.
    steady = np.round((0.2 + period_sec * np.arange(160)) / 0.0116) * 0.0116
    steady = np.delete(steady, 70)
    steady[:4] += rng.normal(0.0, 0.03, 4)
    assert tempo_drift(steady, period_sec=period_sec) < MAX_DRIFT / 3
    # The same beats on a tempo that swings ±2 % over 96 beats.
    durations = period_sec / (1.0 + 0.02 * np.sin(2 * np.pi * np.arange(160) / 96.0))
    drifting = np.round((0.2 + np.concatenate([[0.0], np.cumsum(durations)])) / 0.0116) * 0.0116
    assert tempo_drift(drifting, period_sec=period_sec) > 2 * MAX_DRIFT
    assert tempo_drift(steady[:10], period_sec=period_sec) == 0.0


def test_a_drifting_song_keeps_the_tracked_beats_instead_of_a_grid() -> None:
    from shared.audio_io import to_mono
    from shared.synth import SongSpec, Variation, synthesize_song

    synth = synthesize_song(SongSpec("drift", 110.0, "E", "minor", 40.0, seed=31,
                                     style="rock", variation=Variation(tempo_drift=0.025)))
    estimate = estimate_tempo(to_mono(synth.mix), sample_rate_hz=synth.sample_rate_hz)
    assert not estimate.steady
    truth = synth.truth.beats_sec[synth.truth.beats_sec > 5.0]
    offsets = nearest_offsets_sec(estimate.beats_sec, truth)
    assert np.mean(np.abs(offsets) < 0.07) > 0.9


def _impulses(times_sec: np.ndarray, *, hop_sec: float, n_frames: int,
              gains: np.ndarray | None = None) -> np.ndarray:
    envelope = np.zeros(n_frames, dtype=np.float32)
    idx = np.round(np.asarray(times_sec) / hop_sec).astype(int)
    envelope[idx[idx < n_frames]] += 1.0 if gains is None else gains[idx < n_frames]
    return envelope


@pytest.mark.parametrize(("sixteenths", "expected"), [(False, True), (True, False)])
def test_counted_double_time_needs_bare_beats_and_subdivided_half_beats(
        sixteenths: bool, expected: bool) -> None:
    from services.analysis.tempo import counted_double_time

    hop_sec, n_frames = 512 / 22050, 2000
    # A groove at 85.7 BPM (0.7 s beats) with eighth-note hats; counted at 171.4 the
    # "beats" are those eighths and nothing sits between them, unless 16ths are played.
    eighths = np.arange(0.2, 44.0, 0.35)
    hits = np.concatenate([eighths, eighths + 0.175]) if sixteenths else eighths
    broadband = _impulses(hits, hop_sec=hop_sec, n_frames=n_frames)
    kick = _impulses(eighths[::2], hop_sec=hop_sec, n_frames=n_frames)
    onsets = OnsetEnvelopes(kick=kick, snare=kick.copy(), hop_sec=hop_sec, broadband=broadband)
    assert counted_double_time(onsets, eighths) is expected
    # At the felt tempo the subdivision is there, so it is never halved again.
    assert counted_double_time(onsets, eighths[::2]) is False


def test_a_boom_bap_groove_counted_double_is_brought_back_to_its_tempo() -> None:
    from services.analysis import features
    from shared.audio_io import resample, to_mono
    from shared.synth import SongSpec, synthesize_song

    # The stress corpus's boom-bap at 84.8 that the tracker counted at 169.6.
    synth = synthesize_song(SongSpec("bb", 84.8, "C", "minor", 45.0, seed=2015,
                                     style="hiphop"))
    mono = to_mono(synth.mix)
    spec = features.compute_spectrogram(
        resample(mono, from_rate_hz=44100, to_rate_hz=22050), sample_rate_hz=22050)
    estimate = estimate_tempo(mono, sample_rate_hz=44100,
                              onsets=features.onset_envelopes(spec))
    assert estimate.tempo_bpm == pytest.approx(84.8, rel=0.04)


def test_extend_beats_reaches_both_ends_of_the_song_at_the_local_period() -> None:
    from services.analysis.tempo import extend_beats

    # A tracker that locked on at 3.1 s and lost the beat 5 s before the end; the tempo
    # is slower at the start (0.6 s) than at the end (0.5 s).
    beats = np.concatenate([3.1 + 0.6 * np.arange(10), 9.1 + 0.5 * np.arange(1, 12)])
    extended = extend_beats(beats, duration_sec=20.0)
    assert np.allclose(extended[:5], [0.1, 0.7, 1.3, 1.9, 2.5])
    assert np.allclose(extended[-10:], 14.6 + 0.5 * np.arange(1, 11))
    assert extended[-1] < 20.0 and np.all(np.diff(extended) > 0)
    assert np.array_equal(extend_beats(beats[:1], duration_sec=20.0), beats[:1])


@pytest.mark.parametrize(("kick_on_and", "slow_bpm", "expected"),
                         [(False, 85.0, True), (True, 85.0, False), (False, 95.0, False)])
def test_counted_half_time_needs_even_sixteenths_a_lone_kick_and_a_slow_tempo(
        kick_on_and: bool, slow_bpm: float, expected: bool) -> None:
    from services.analysis.tempo import counted_half_time

    hop_sec, n_frames = 512 / 22050, 3000
    # A half-time groove at twice `slow_bpm` tracked at `slow_bpm`: its eighths fill every
    # sixteenth of the slow beat; the kick lands on the slow beat only (or also on its "and").
    beat_sec = 60.0 / slow_bpm
    beats = np.arange(0.2, 60.0, beat_sec)
    hats = np.concatenate([beats + f * beat_sec for f in (0.0, 0.25, 0.5, 0.75)])
    broadband = _impulses(hats, hop_sec=hop_sec, n_frames=n_frames)
    kicks = np.concatenate([beats, beats + 0.5 * beat_sec]) if kick_on_and else beats
    kick = _impulses(kicks, hop_sec=hop_sec, n_frames=n_frames)
    onsets = OnsetEnvelopes(kick=kick, snare=kick.copy(), hop_sec=hop_sec, broadband=broadband)
    assert counted_half_time(onsets, slow_bpm, beats) is expected


@pytest.mark.parametrize(("snare_on_half", "tempo_bpm", "expected"),
                         [(1.0, 90.0, True), (0.5, 90.0, False), (1.0, 95.0, False)])
def test_counted_every_other_beat_needs_half_beats_as_strong_as_beats_in_every_band(
        snare_on_half: float, tempo_bpm: float, expected: bool) -> None:
    from services.analysis.tempo import counted_every_other_beat

    hop_sec, n_frames = 512 / 22050, 3000
    period_sec = 60.0 / tempo_bpm
    beats = np.arange(0.3, 60.0, period_sec)
    halves = beats + period_sec / 2.0
    hits = np.concatenate([beats, halves])
    # A drummer at twice the tempo: kick and snare on every (half-)beat, hats on the
    # eighths between them; `snare_on_half` < 1 is a backbeat instead (only the beats).
    gains = np.concatenate([np.ones(len(beats)), np.full(len(halves), snare_on_half)])
    kick = _impulses(hits, hop_sec=hop_sec, n_frames=n_frames)
    snare = _impulses(hits, hop_sec=hop_sec, n_frames=n_frames, gains=gains)
    hats = _impulses(hits + period_sec / 4.0, hop_sec=hop_sec, n_frames=n_frames) * 0.4
    onsets = OnsetEnvelopes(kick=kick, snare=snare, hop_sec=hop_sec, broadband=kick + snare + hats)
    assert counted_every_other_beat(onsets, tempo_bpm, beats) is expected


def test_counted_every_other_beat_keeps_a_backbeat_on_the_counted_beats() -> None:
    from services.analysis.tempo import counted_every_other_beat

    hop_sec, n_frames = 512 / 22050, 3000
    period_sec = 60.0 / 90.0
    beats = np.arange(0.3, 60.0, period_sec)
    halves = beats + period_sec / 2.0
    hits = np.concatenate([beats, halves])
    # As busy between the beats as on them in every band, but the loud snare lands on
    # every other counted beat (two and four): the counted beat is the beat.
    kick = _impulses(hits, hop_sec=hop_sec, n_frames=n_frames)
    backbeat = np.concatenate([np.where(np.arange(len(beats)) % 2 == 1, 3.0, 0.5),
                               np.full(len(halves), 1.5)])
    snare = _impulses(hits, hop_sec=hop_sec, n_frames=n_frames, gains=backbeat)
    onsets = OnsetEnvelopes(kick=kick, snare=snare, hop_sec=hop_sec, broadband=kick + snare)
    assert not counted_every_other_beat(onsets, 90.0, beats)
    flat = _impulses(hits, hop_sec=hop_sec, n_frames=n_frames,
                     gains=np.concatenate([np.full(len(beats), 1.75),
                                           np.full(len(halves), 1.5)]))
    onsets = OnsetEnvelopes(kick=kick, snare=flat, hop_sec=hop_sec, broadband=kick + flat)
    assert counted_every_other_beat(onsets, 90.0, beats)


def test_realign_beats_undoes_a_tracker_sliding_to_the_off_beat_and_back() -> None:
    from services.analysis.tempo import realign_beats

    hop_sec, n_frames = 512 / 22050, 4000
    # A drifting groove (0.40 s beats slowing to 0.44 s): kick and snare on the beats,
    # a weaker hat on every off-beat, nothing else.
    periods = np.linspace(0.40, 0.44, 200)
    truth = 0.5 + np.concatenate([[0.0], np.cumsum(periods)])[:200]
    offbeats = truth[:-1] + np.diff(truth) / 2.0
    kick = _impulses(truth, hop_sec=hop_sec, n_frames=n_frames)
    hats = _impulses(offbeats, hop_sec=hop_sec, n_frames=n_frames) * 0.5
    onsets = OnsetEnvelopes(kick=kick, snare=kick.copy(), hop_sec=hop_sec, broadband=kick + hats)
    # The tracker: right for 60 beats, slides over 4 beats onto the off-beats for 40,
    # slides back; its own 11.6 ms frame quantisation throughout.
    shift = np.zeros(len(truth))
    shift[60:64] = np.linspace(0.125, 0.5, 4)
    shift[64:100] = 0.5
    shift[100:104] = np.linspace(0.375, 0.0, 4)
    intervals = np.append(np.diff(truth), periods[-1])
    ticks = np.round((truth + shift * intervals) / 0.0116) * 0.0116
    assert np.mean(np.abs(nearest_offsets_sec(ticks, truth)) < 0.07) < 0.8
    realigned = realign_beats(ticks, onsets)
    assert len(realigned) == len(ticks) and np.all(np.diff(realigned) > 0)
    assert np.mean(np.abs(nearest_offsets_sec(realigned, truth)) < 0.07) > 0.97
    # Where the tracker was right its beats are kept as they were (finer than a step).
    assert np.allclose(realigned[10:50], ticks[10:50])
    assert np.array_equal(realign_beats(ticks[:5], onsets), ticks[:5])


def _backbeat_onsets(beats_sec: np.ndarray, *, n_frames: int) -> OnsetEnvelopes:
    """A backbeat groove on `beats_sec`: the kick on one and three, the snare on two and
    four, a weaker hat (in the snare band) and bass note (in the kick band) on every
    off-beat."""
    hop_sec = 512 / 22050
    offbeats = _impulses(beats_sec[:-1] + np.diff(beats_sec) / 2.0, hop_sec=hop_sec,
                         n_frames=n_frames) * 0.3
    kick = _impulses(beats_sec[0::2], hop_sec=hop_sec, n_frames=n_frames) + offbeats
    snare = _impulses(beats_sec[1::2], hop_sec=hop_sec, n_frames=n_frames) + offbeats
    return OnsetEnvelopes(kick=kick, snare=snare, hop_sec=hop_sec, broadband=kick + snare)


def test_a_stretch_of_beats_on_the_off_beat_is_moved_onto_the_beat() -> None:
    # 160 beats drifting from 0.36 s to 0.38 s; the tracker is right for 70 of them and
    # half a beat late for the last 90 (it slid in a breakdown and stayed there).
    periods = np.linspace(0.36, 0.38, 159)
    truth = 0.5 + np.concatenate([[0.0], np.cumsum(periods)])
    onsets = _backbeat_onsets(truth, n_frames=3000)
    intervals = np.append(periods, periods[-1])
    tracked = truth + np.where(np.arange(len(truth)) >= 70, 0.5, 0.0) * intervals
    tracked = tracked[:-1]  # the last off-beat is past the song's last beat
    # The run is found within half a window (four beats) of where the tracker slid.
    [(first, end, lead)] = offbeat_runs(onsets, tracked)
    assert 62 <= first <= 78 and end == len(tracked) and lead == 0.5
    moved = move_offbeat_runs(tracked, onsets)
    offsets = nearest_offsets_sec(moved, truth)
    assert np.mean(np.abs(offsets) < 0.03) > 0.95
    assert np.allclose(moved[:60], tracked[:60])
    assert np.all(np.diff(moved) > 0.75 * 0.36)
    # Beats right all through, and 24 beats (six bars) off the beat: both stay as tracked.
    assert np.array_equal(move_offbeat_runs(truth, onsets), truth)
    short = truth + np.where((np.arange(len(truth)) >= 70) & (np.arange(len(truth)) < 94),
                             0.5, 0.0) * intervals
    assert np.array_equal(move_offbeat_runs(short, onsets), short)


def _swung_syncopated_onsets(beats_sec: np.ndarray, *, n_frames: int,
                             swing: float = 0.6) -> OnsetEnvelopes:
    """Swung syncopated house, the bar from beats_sec[0]: the kick drum on one and on the
    swung "and" of two and of three, the clap on two and four, an open hat on every swung
    off-beat. On average the kick and the snare band are both stronger off the beat
    than on it; the bar's strongest kick and snare are on beats."""
    hop_sec = 512 / 22050
    beats = beats_sec[:-1]
    offbeats = beats + swing * np.diff(beats_sec)
    position = np.arange(len(beats)) % 4
    kick = (_impulses(beats[position == 0], hop_sec=hop_sec, n_frames=n_frames)
            + 0.8 * _impulses(offbeats[(position == 1) | (position == 2)], hop_sec=hop_sec,
                              n_frames=n_frames))
    snare = (_impulses(beats[position % 2 == 1], hop_sec=hop_sec, n_frames=n_frames)
             + 0.6 * _impulses(offbeats, hop_sec=hop_sec, n_frames=n_frames))
    return OnsetEnvelopes(kick=kick, snare=snare, hop_sec=hop_sec, broadband=kick + snare,
                          kick_hits=kick)


def test_a_stretch_on_a_swung_off_beat_is_moved_by_the_bars_strongest_accents() -> None:
    # 160 beats at 150 BPM, the off-beat eighth swung to 0.6 of the beat; the tracker is
    # right for 60 beats, then sits on the swung off-beat. Half a beat after it there is
    # nothing (the beat is 0.4 of a beat after it), so the mean tests see no off-beat.
    truth = 0.5 + 0.4 * np.arange(161)
    onsets = _swung_syncopated_onsets(truth, n_frames=3000)
    tracked = (truth + np.where(np.arange(len(truth)) >= 60, 0.6, 0.0) * 0.4)[:-1]
    [(first, end, lead)] = offbeat_runs(onsets, tracked)
    assert 44 <= first <= 76 and end == len(tracked)
    assert lead == pytest.approx(0.417)
    moved = move_offbeat_runs(tracked, onsets)
    offsets = nearest_offsets_sec(moved, truth)
    assert np.mean(np.abs(offsets) < 0.03) > 0.9
    assert np.allclose(moved[:40], tracked[:40])
    # On the beat all through: left alone.
    assert np.array_equal(move_offbeat_runs(truth, onsets), truth)


def test_a_grid_on_a_swung_off_beat_leads_to_the_bars_strongest_accents() -> None:
    truth = 0.5 + 0.4 * np.arange(161)
    onsets = _swung_syncopated_onsets(truth, n_frames=3000)
    assert bar_accents_lead(onsets, truth) is None
    assert bar_accents_lead(onsets, truth[:-1] + 0.6 * 0.4) == pytest.approx(0.417)
    # Straight, the off-beat grid is half a beat before the beat.
    straight = _swung_syncopated_onsets(truth, n_frames=3000, swing=0.5)
    assert bar_accents_lead(straight, truth) is None
    assert bar_accents_lead(straight, truth[:-1] + 0.5 * 0.4) == 0.5
    # Where the snare's strongest hits are on the counted beats, the kick alone does
    # not move them.
    counted = truth[:-1] + 0.6 * 0.4
    snare_there = _impulses(counted[1::2], hop_sec=onsets.hop_sec, n_frames=3000)
    kick_only = OnsetEnvelopes(kick=onsets.kick, snare=snare_there, hop_sec=onsets.hop_sec,
                               kick_hits=onsets.kick)
    assert bar_accents_lead(kick_only, counted) is None


def test_drifting_drum_and_bass_with_a_drumless_intro_keeps_its_beat_all_through() -> None:
    # Its tracker wandered through the drumless intro, slid to the off-beat in a
    # breakdown and back after it; `realign_beats` moved the half before the breakdown
    # to the off-beat (beat F .63).
    from shared.synth import SongSpec, Variation

    estimate, truth = _estimate_synth(SongSpec(
        "16-dnb-150.7-drift0.018-sw0-style-nodrumintro", 150.7, "A", "minor",
        86.44194612105373, seed=900017, style="dnb", with_vocals=False,
        variation=Variation(tempo_drift=0.018, drumless_intro=True)))
    assert not estimate.steady
    offsets = nearest_offsets_sec(estimate.beats_sec, truth.beats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95


def test_a_steady_song_whose_tracker_slid_off_the_beat_gets_its_grid(monkeypatch) -> None:
    import services.analysis.tempo as tempo_module

    hop_sec, period_sec = 512 / 22050, 0.4
    truth = 0.3 + period_sec * np.arange(200)
    n_frames = int((truth[-1] + 1.0) / hop_sec)
    kick = _impulses(truth, hop_sec=hop_sec, n_frames=n_frames)
    hats = _impulses(truth + period_sec / 2.0, hop_sec=hop_sec, n_frames=n_frames) * 0.5
    onsets = OnsetEnvelopes(kick=kick, snare=kick.copy(), hop_sec=hop_sec, broadband=kick + hats)
    # The tracker slides onto the off-beats and back every 30 beats, over 4 beats each
    # time (as degara does under an off-beat bass): its slides read as drift.
    shift = np.zeros(len(truth))
    for start in range(20, 190, 60):
        shift[start:start + 4] = np.linspace(0.125, 0.5, 4)
        shift[start + 4:start + 30] = 0.5
        shift[start + 30:start + 34] = np.linspace(0.375, 0.0, 4)
    ticks = np.round((truth + shift * period_sec) / 0.0116) * 0.0116
    monkeypatch.setattr(tempo_module, "rhythm_extractor",
                        lambda method="degara": lambda signal: (150.0, ticks, 0, 0, 0))
    assert tempo_module.tempo_drift(ticks, period_sec=period_sec) > tempo_module.MAX_DRIFT
    mono = np.random.default_rng(0).normal(0.0, 0.1, int((truth[-1] + 1.0) * 44100))
    estimate = estimate_tempo(mono.astype(np.float32), sample_rate_hz=44100, onsets=onsets)
    assert estimate.steady and estimate.tempo_bpm == pytest.approx(150.0, rel=0.002)
    assert np.mean(np.abs(nearest_offsets_sec(estimate.beats_sec, truth)) < 0.03) > 0.99


def _estimate_synth(spec: object) -> tuple[object, object]:
    """(TempoEstimate, SongTruth) of a synthesised song, the way analyze_audio gets it."""
    from services.analysis.features import compute_spectrogram, onset_envelopes
    from shared.audio_io import resample, to_mono
    from shared.synth import synthesize_song

    synth = synthesize_song(spec)
    mono = resample(to_mono(synth.mix), from_rate_hz=synth.sample_rate_hz, to_rate_hz=44100)
    onsets = onset_envelopes(compute_spectrogram(
        resample(mono, from_rate_hz=44100, to_rate_hz=22050), sample_rate_hz=22050))
    return estimate_tempo(mono, sample_rate_hz=44100, onsets=onsets), synth.truth


def test_a_fast_breakbeat_doubled_by_its_drums_is_not_halved_again() -> None:
    # Kick on 1 and the "and" of 1, snare on 2 and 4, at 174.6: the tracker counts 87.3,
    # where the snare lands on every off-beat (is_double_time doubles it); between the
    # fast beats there is hardly anything, which `_felt_tempo` must not take for a
    # reason to halve it back (it did: stress 10000/13 read 87.4).
    from shared.synth import SongSpec, Variation

    estimate, truth = _estimate_synth(SongSpec(
        "breakbeat", 174.6, "B", "major", 53.0, seed=10013, style="rock",
        variation=Variation(groove="breakbeat", humanize_ms=8.6, drumless_intro=True)))
    assert estimate.tempo_bpm == pytest.approx(174.6, rel=0.01)
    offsets = nearest_offsets_sec(estimate.beats_sec, truth.beats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95


def test_syncopated_house_counted_in_half_time_that_flips_to_the_off_beat_gets_its_grid(
        ) -> None:
    # Steady syncopated house at 170.8: the tracker counts 84.7 and flips between the
    # beat and the off-beat, a quarter of its own period, which reads as drift at its
    # level; at the real beat's level both phases lie on one grid (stress 6000/14 read
    # 169.8 with beat F .51).
    from shared.synth import SongSpec, Variation

    estimate, truth = _estimate_synth(SongSpec(
        # The name seeds the synth's random parts (`_song_seed`): this draw is the stress
        # song the tracker flips on (another name may not flip it).
        "14-house-170.8-vocdouble-syncopated-pad0.8", 170.8, "C", "major", 60.335,
        seed=6014, style="house",
        with_vocals=True, variation=Variation(swing=0.0, humanize_ms=0.0, tempo_drift=0.0,
                                              groove="syncopated", drumless_intro=False,
                                              vocal_double=True, pad_rolloff=0.8)))
    assert estimate.steady and estimate.tempo_bpm == pytest.approx(170.8, rel=0.002)
    offsets = nearest_offsets_sec(estimate.beats_sec, truth.beats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95


def test_backbeat_contrast_tells_a_backbeat_from_hats_on_every_beat() -> None:
    assert backbeat_contrast(np.tile([1.0, 4.0], 8)) == pytest.approx(4.0)
    assert backbeat_contrast(np.tile([4.0, 1.0], 8)) == pytest.approx(4.0)
    assert backbeat_contrast(np.full(16, 2.0)) == pytest.approx(1.0)


def test_a_backbeat_off_the_tracked_beats_overrules_them_alone() -> None:
    # A breakbeat tracked on the off-beat: on its beats the hats (even), half a beat
    # later the snare on two and four.
    hats = np.full(32, 2.0)
    backbeat = np.tile([1.9, 4.6], 16)
    assert backbeat_overrule(hats, backbeat)
    # Tracked right: the backbeat is on the beats, the hats off them.
    assert not backbeat_overrule(backbeat, hats)
    # Off-beat hats as loud as a snare, but alike on every off-beat: no backbeat there.
    assert not backbeat_overrule(backbeat, np.full(32, 4.0))
    # A snare a little stronger off the beats, with less contrast there than on them.
    assert not backbeat_overrule(np.tile([1.5, 2.5], 16), np.tile([2.1, 2.5], 16))


def test_a_backbeat_with_beat_one_s_kick_off_the_beats_overrules_them() -> None:
    # Syncopated house tracked on its off-beats: the clap on two and four half a beat
    # later (alternating 2x), but an off-beat bass with its octave on every other
    # off-beat alternates more on the tracked beats (2.4x).
    on = np.tile([1.3, 3.1], 16)
    off = np.tile([2.1, 4.2], 16)
    assert not backbeat_overrule(on, off)
    # The bar's strongest kick (beat one) half a beat off the tracked beats agrees.
    kick_off = np.array([2.0, 3.7, 1.5, 1.8, 3.0, 2.1, 3.0, 0.6])
    assert backbeat_overrule(on, off, kick_profile=kick_off)
    # Beat one's kick on the tracked beats: they stand.
    assert not backbeat_overrule(on, off, kick_profile=kick_off[[1, 0, 3, 2, 5, 4, 7, 6]])


def test_syncopated_house_over_a_loud_off_beat_bass_keeps_its_backbeat() -> None:
    # Stress 22000/19 as the benchmark makes it (beat F 0: every beat on the off-beat).
    from shared.synth import SongSpec, Variation

    estimate, truth = _estimate_synth(SongSpec(
        "19-house-168-pad2.5-syncopated-bass+6.7dB", 168.0, "D", "minor",
        63.75589637755382, seed=22019, style="house",
        variation=Variation(groove="syncopated", pad_rolloff=2.5,
                            stem_gain_db=(("bass", 6.7), ("drums", -3.0)))))
    offsets = nearest_offsets_sec(estimate.beats_sec, truth.beats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95


# Two stress songs (seeds 10000/16, 16000/5) as the benchmark makes them.
_OFFBEAT_KICK_HOUSE = {
    "breakbeat": dict(tempo_bpm=104.1, key_tonic="G#", key_mode="minor", duration_sec=69.0,
                      seed=10016, variation=dict(groove="breakbeat", vocal_pan=0.72,
                                                 stem_gain_db=(("vocals", -7.9),))),
    "syncopated": dict(tempo_bpm=174.3, key_tonic="E", key_mode="major", duration_sec=52.886,
                       seed=16005, variation=dict(groove="syncopated", drumless_intro=True,
                                                  stem_gain_db=(("bass", 5.0),
                                                                ("drums", -3.0)))),
}


@pytest.mark.parametrize("groove", sorted(_OFFBEAT_KICK_HOUSE))
def test_house_with_its_kicks_off_the_beat_keeps_the_beat_of_its_backbeat(groove: str) -> None:
    # More kicks on the off-beats than on the beats, an off-beat bass: the tracker and
    # the kick sit on the off-beat, only the snare's backbeat says where the beat is.
    from shared.synth import SongSpec, Variation

    fields = dict(_OFFBEAT_KICK_HOUSE[groove])
    variation = Variation(**fields.pop("variation"))
    estimate, truth = _estimate_synth(SongSpec(name=groove, style="house", variation=variation,
                                               **fields))
    offsets = nearest_offsets_sec(estimate.beats_sec, truth.beats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95


def test_a_drifting_breakbeat_tracked_on_the_off_beat_keeps_its_drift_and_its_backbeat(
        ) -> None:
    # Stress 14000/45 as the benchmark makes it: a breakbeat over a loud house bass,
    # drifting 1.3 %, tracked on the off-beat all through. Its realigned beats kept 96 %
    # within 70 ms of one grid, which drifted half a beat off the song (beat F .22);
    # kept as tracked, only the backbeat says where the beat is.
    from shared.synth import SongSpec, Variation

    estimate, truth = _estimate_synth(SongSpec(
        "45-house-159.9-bass+7.9dB-breakbeat-drift0.013", 159.9, "A#", "minor",
        52.397209072510606, seed=14045, style="house",
        variation=Variation(tempo_drift=0.013, groove="breakbeat",
                            stem_gain_db=(("bass", 7.9), ("drums", -3.0)))))
    assert not estimate.steady
    offsets = nearest_offsets_sec(estimate.beats_sec, truth.beats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95


def _shuffle_onsets(beats_sec: np.ndarray, *, late_fraction: float) -> OnsetEnvelopes:
    """Kick on every beat; on the off-beat eighth `late_fraction` of the way to the next
    beat (0.5 straight, 2/3 a full shuffle) a hat and a bass note, which the kick band
    hears too."""
    hop_sec, n_frames = 512 / 22050, 4000
    eighths = beats_sec[:-1] + late_fraction * np.diff(beats_sec)
    kick = _impulses(beats_sec, hop_sec=hop_sec, n_frames=n_frames)
    late = _impulses(eighths, hop_sec=hop_sec, n_frames=n_frames)
    return OnsetEnvelopes(kick=kick + late, snare=late, hop_sec=hop_sec, broadband=kick + late)


def test_swing_fraction_finds_a_clear_shuffle_and_ignores_a_straight_groove() -> None:
    from services.analysis.tempo import swing_fraction

    beats = 0.5 + 0.7 * np.arange(100)
    assert swing_fraction(_shuffle_onsets(beats, late_fraction=0.667), beats) == 0.667
    assert swing_fraction(_shuffle_onsets(beats, late_fraction=0.5), beats) == 0.5
    # A light swing, its eighths as strong half-way (within a frame) as where they are.
    assert swing_fraction(_shuffle_onsets(beats, late_fraction=0.52), beats) == 0.5


def test_realign_beats_leaves_a_shuffle_on_its_beat() -> None:
    # A drifting shuffle tracked right: the late eighths, louder than the beat in the
    # snare band and as loud in the others, must not pull the beats a sixth of a beat
    # late (where the late eighth is half a beat after them).
    from services.analysis.tempo import realign_beats

    periods = np.linspace(0.70, 0.74, 100)
    truth = 0.5 + np.concatenate([[0.0], np.cumsum(periods)])[:100]
    onsets = _shuffle_onsets(truth, late_fraction=0.667)
    ticks = np.round(truth / 0.0116) * 0.0116
    realigned = realign_beats(ticks, onsets)
    assert np.mean(np.abs(nearest_offsets_sec(realigned, truth)) < 0.03) > 0.97


def _drums_but(truth_sec: np.ndarray, silent: slice, *, hop_sec: float = 0.01) -> OnsetEnvelopes:
    """Kick, snare and broadband onsets on every true beat and off-beat eighth except in
    `silent` (beat indices): a breakdown or a drumless intro, with only a faint floor."""
    n_frames = int((truth_sec[-1] + 1.0) / hop_sec)
    hits = np.ones(len(truth_sec))
    hits[silent] = 0.0
    mids = truth_sec[:-1] + 0.5 * np.diff(truth_sec)
    kick = _impulses(truth_sec, hop_sec=hop_sec, n_frames=n_frames, gains=hits) + 0.02
    snare = _impulses(mids, hop_sec=hop_sec, n_frames=n_frames, gains=0.6 * hits[:-1]) + 0.02
    return OnsetEnvelopes(kick=kick, snare=snare, hop_sec=hop_sec, broadband=kick + snare,
                          kick_hits=kick)


def test_a_breakdown_is_counted_through_at_the_tempo_around_it() -> None:
    truth = 0.3 + np.arange(120) * 0.5
    onsets = _drums_but(truth, slice(50, 70))
    # Through the breakdown the tracker slides a whole beat late: it drops one.
    slide = np.clip((np.arange(120) - 52) / 14.0, 0.0, 1.0)
    tracked = truth + slide * 0.5
    tracked = np.delete(tracked, np.flatnonzero(slide >= 1.0)[0])
    bridged = bridge_weak_beats(tracked, onsets)
    bridged = bridged[bridged < truth[-1] + 0.25]  # the tracker ran on past the last
    assert len(bridged) == len(truth)
    assert np.max(np.abs(bridged - truth)) < 0.01


def test_a_drumless_intro_is_counted_back_from_the_drums() -> None:
    truth = 0.2 + np.arange(100) * 0.48
    onsets = _drums_but(truth, slice(0, 20))
    tracked = truth + np.where(np.arange(100) < 20, 0.15, 0.0)  # late until the drums come
    bridged = bridge_weak_beats(tracked, onsets)
    assert np.max(np.abs(bridged - truth)) < 0.01
    # Drums all through: the tracked beats stay as they are.
    assert np.array_equal(bridge_weak_beats(truth, _drums_but(truth, slice(0, 0))), truth)


def test_the_bars_strongest_kick_and_snare_mark_the_beat() -> None:
    # Half-time house heard from a grid on the off-beat: the kick on one and the clap on
    # three fall on its odd half-beats; the "and" of three's kick and the open hats on
    # every "and" fill its beats, as strong on average.
    kick = np.array([1.0, 12.0, 0.5, 0.4, 8.5, 2.4, 2.2, 0.5])
    snare = np.array([3.4, 4.2, 3.5, 1.3, 1.8, 6.1, 3.0, 1.7])
    assert bar_accents_off_the_beat(kick, snare)
    # Seen from the beat (shifted by half a beat), or with only the kick off: no.
    assert not bar_accents_off_the_beat(np.roll(kick, -1), np.roll(snare, -1))
    assert not bar_accents_off_the_beat(kick, np.roll(snare, -1))


def test_bar_accent_profile_folds_half_beats_of_a_bar() -> None:
    hop_sec, period_sec = 0.01, 0.5
    truth = np.arange(64) * period_sec
    kick = _impulses(truth[::4], hop_sec=hop_sec, n_frames=3300)  # beat one only
    onsets = OnsetEnvelopes(kick=kick, snare=kick, hop_sec=hop_sec)
    profile = bar_accent_profile(kick, onsets, origin_sec=0.25, period_sec=period_sec,
                                 duration_sec=32.0)
    # Through the off-beat origin, beat one is the half-beat before the origin: odd.
    assert int(np.argmax(profile)) % 2 == 1 and np.sum(profile > 0.5 * profile.max()) == 1


@pytest.mark.parametrize(("snare_every", "kick_between", "tempo_bpm", "expected"), [
    (1, True, 86.0, True),  # claps on two and four counted as every beat: double
    (2, True, 86.0, False),  # a backbeat on every other counted beat: the count is right
    (1, False, 86.0, False),  # no kick between the beats: nothing says they are beats
    (1, True, 95.0, False),  # 190 is no DJ tempo
])
def test_a_snare_on_every_counted_beat_with_kicks_between_is_a_backbeat(
        snare_every: int, kick_between: bool, tempo_bpm: float, expected: bool) -> None:
    hop_sec, period_sec = 0.01, 60.0 / tempo_bpm
    beats = 0.2 + np.arange(64) * period_sec
    n_frames = int((beats[-1] + 1.0) / hop_sec)
    kick_times = np.sort(np.concatenate([beats, beats + period_sec / 2.0])) if kick_between \
        else beats
    kick = _impulses(kick_times, hop_sec=hop_sec, n_frames=n_frames) + 0.01
    snare = _impulses(beats[::snare_every], hop_sec=hop_sec, n_frames=n_frames) + 0.01
    onsets = OnsetEnvelopes(kick=kick, snare=snare, hop_sec=hop_sec, kick_hits=kick)
    assert backbeat_on_every_beat(onsets, tempo_bpm, beats) is expected


def test_a_kick_on_every_other_counted_beat_keeps_a_snare_on_every_beat_at_its_tempo() -> None:
    # Pop at 90 under a bass far louder than the drums: the bass fills the snare band on
    # one and three as much as the snare on two and four, and its off-beat notes lift the
    # kick band between the beats; the kick drum itself still alternates, on one and three.
    tempo_bpm = 90.0
    hop_sec, period_sec = 0.01, 60.0 / tempo_bpm
    beats = 0.2 + np.arange(64) * period_sec
    n_frames = int((beats[-1] + 1.0) / hop_sec)
    on_one_and_three = beats[0::2]
    kick = (_impulses(np.concatenate([on_one_and_three, beats + period_sec / 2.0]),
                      hop_sec=hop_sec, n_frames=n_frames) + 0.01)
    snare = _impulses(beats, hop_sec=hop_sec, n_frames=n_frames) + 0.01
    onsets = OnsetEnvelopes(kick=kick, snare=snare, hop_sec=hop_sec, kick_hits=kick)
    assert not backbeat_on_every_beat(onsets, tempo_bpm, beats)
    # With the kick on every counted beat too (four on the floor at 180 counted on its
    # claps) it is the count twice as fast.
    four = _impulses(np.concatenate([beats, beats + period_sec / 2.0]), hop_sec=hop_sec,
                     n_frames=n_frames) + 0.01
    onsets = OnsetEnvelopes(kick=four, snare=snare, hop_sec=hop_sec, kick_hits=four)
    assert backbeat_on_every_beat(onsets, tempo_bpm, beats)


# Two stress songs (14000/17, 15000/21) as the benchmark makes them: house drifting 2.7
# and 2.9 % around 170 and 153 BPM (the first tracked at half the tempo and doubled, the
# second a swung half-time groove). Where the tracker slides about a quarter beat and
# back, the onsets (kick and an off-beat bass alike) cannot tell which way the beat went;
# the realigned beats went on to the off-beat and stayed there (beat F .39 and .57).
_DRIFTING_HOUSE = {
    "17-house-170.5-A440.1-bass+4.1dB-drift0.027": dict(
        tempo_bpm=170.5, key_tonic="E", key_mode="major", duration_sec=75.80160180248545,
        seed=14017, with_vocals=False,
        variation=dict(tempo_drift=0.027, tuning_hz=440.1,
                       stem_gain_db=(("bass", 4.1), ("drums", -3.0)))),
    "21-house-152.8-halftime-drift0.029-swing0.73": dict(
        tempo_bpm=152.8, key_tonic="F", key_mode="major", duration_sec=62.20464827397025,
        seed=15021, variation=dict(swing=0.73, tempo_drift=0.029, groove="halftime")),
}


@pytest.mark.parametrize("name", sorted(_DRIFTING_HOUSE))
def test_a_tracker_that_slid_and_came_back_leaves_the_beats_on_the_beat(name: str) -> None:
    from shared.synth import SongSpec, Variation

    fields = dict(_DRIFTING_HOUSE[name])
    variation = Variation(**fields.pop("variation"))
    estimate, truth = _estimate_synth(SongSpec(name=name, style="house", variation=variation,
                                               **fields))
    assert not estimate.steady
    offsets = nearest_offsets_sec(estimate.beats_sec, truth.beats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.9


@pytest.mark.parametrize(("snare_beat", "kick_beats", "tempo_bpm", "expected"), [
    (2, (0, 2), 162.0, True),  # house at 81 counted on its eighths: clap with the kick
    (1, (0, 2), 162.0, False),  # rock at 162: the backbeat between the kicks
    (2, (0,), 162.0, False),  # half-time at 162: snare on three, the kick on one only
    (2, (0, 2), 150.0, False),  # half of it (75) is no DJ tempo
])
def test_kick_on_every_other_beat_finds_four_on_the_floor_counted_on_its_eighths(
        snare_beat: int, kick_beats: tuple[int, ...], tempo_bpm: float, expected: bool) -> None:
    from services.analysis.tempo import kick_on_every_other_beat

    hop_sec, n_frames = 512 / 22050, 3000
    beats = np.arange(0.3, 60.0, 60.0 / tempo_bpm)
    position = np.arange(len(beats)) % 4
    kick = _impulses(beats[np.isin(position, kick_beats)], hop_sec=hop_sec, n_frames=n_frames)
    # Open hats (in the snare band, weaker than the clap) and an off-beat bass on every
    # counted beat between the kicks.
    snare = (_impulses(beats[position == snare_beat], hop_sec=hop_sec, n_frames=n_frames)
             + 0.5 * _impulses(beats[position % 2 == 1], hop_sec=hop_sec, n_frames=n_frames))
    onsets = OnsetEnvelopes(kick=kick, snare=snare, hop_sec=hop_sec, broadband=kick + snare)
    assert kick_on_every_other_beat(onsets, tempo_bpm, beats) is expected


# Stress songs (11000/9, 4000/0) as the benchmark makes them: house at 90.6 that the
# tracker counts at 181.2, and rock at 164.4 (kick on one and three, snare on two and
# four) that must stay there.
_KICK_PULSE_SONGS = {
    "09-house-90.6-pad0.8-hum7.8ms-ambiguous": dict(
        style="house", tempo_bpm=90.6, key_tonic="F", key_mode="major",
        duration_sec=55.958587065912525, seed=11009,
        variation=dict(humanize_ms=7.8, harmony="ambiguous", pad_rolloff=0.8)),
    "00-rock-164.4-modal-pad0.8-vocdouble": dict(
        style="rock", tempo_bpm=164.4, key_tonic="F#", key_mode="major",
        duration_sec=56.60064248092295, seed=4000,
        variation=dict(harmony="modal", pad_rolloff=0.8, vocal_double=True)),
}


@pytest.mark.parametrize("name", sorted(_KICK_PULSE_SONGS))
def test_four_on_the_floor_is_counted_on_its_kicks(name: str) -> None:
    from shared.synth import SongSpec, Variation

    fields = dict(_KICK_PULSE_SONGS[name])
    variation = Variation(**fields.pop("variation"))
    estimate, truth = _estimate_synth(SongSpec(name=name, variation=variation, **fields))
    assert estimate.tempo_bpm == pytest.approx(truth.tempo_bpm, rel=0.02)
    offsets = nearest_offsets_sec(estimate.beats_sec, truth.beats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95


def _breakbeat_onsets(tempo_bpm: float, *, groove: str) -> tuple[OnsetEnvelopes, np.ndarray]:
    """Drum onsets of one groove counted at `tempo_bpm`, four counted beats per pattern:
    "slow" a breakbeat at half the tempo counted double (kick on one and its "and", snare
    on two and four of the slow bar, hats on its eighths), "dnb" drum & bass at the
    counted tempo (snare on two and four, hats on its eighths), "halftime" a half-time
    groove at the counted tempo (snare on three, hats on its eighths), "bare" one with
    hats only on its beats."""
    hop_sec, n_frames = 512 / 22050, 3000
    beat_sec = 60.0 / tempo_bpm
    beats = np.arange(0.3, 64.0, beat_sec)
    position = np.arange(len(beats)) % 4
    eighths = np.concatenate([beats, beats + 0.5 * beat_sec])
    if groove == "slow":
        kicks = beats[np.isin(position, (0, 1))]
        snares = beats[position == 2]
        hats = beats
    elif groove == "dnb":
        kicks = np.concatenate([beats[position == 0], beats[position == 2] + 0.5 * beat_sec])
        snares = beats[position % 2 == 1]
        hats = eighths
    else:
        kicks = beats[position == 0]
        snares = beats[position == 2]
        hats = eighths if groove == "halftime" else beats

    def envelope(times: np.ndarray) -> np.ndarray:
        return _impulses(times, hop_sec=hop_sec, n_frames=n_frames)

    kick, snare, hat = envelope(kicks), envelope(snares), envelope(hats)
    onsets = OnsetEnvelopes(kick=kick, snare=snare + 0.3 * hat, hop_sec=hop_sec,
                            broadband=kick + snare + hat)
    return onsets, beats


@pytest.mark.parametrize(("groove", "tempo_bpm", "shift", "expected"), [
    ("slow", 164.0, 0.0, True),  # a breakbeat at 82 counted on its eighths
    ("slow", 164.0, 0.5, False),  # ... counted on their off-beats: the phase is wrong
    ("dnb", 170.0, 0.0, False),  # drum & bass at 170: the snare on every other beat
    ("halftime", 164.0, 0.0, False),  # half-time at 164: its eighths are slow sixteenths
    ("bare", 164.0, 0.0, False),  # half-time without eighths: no kick on the slow "and"
    ("slow", 150.0, 0.0, False),  # half of it (75) is no DJ tempo
])
def test_backbeat_on_every_other_beat_halves_a_breakbeat_counted_on_its_eighths(
        groove: str, tempo_bpm: float, shift: float, expected: bool) -> None:
    from services.analysis.tempo import backbeat_on_every_other_beat

    onsets, beats = _breakbeat_onsets(tempo_bpm, groove=groove)
    counted = beats + shift * 60.0 / tempo_bpm
    assert backbeat_on_every_other_beat(onsets, tempo_bpm, counted) is expected


def test_snare_half_contrast_tells_a_backbeat_from_a_snare_on_every_beat() -> None:
    from services.analysis.tempo import LEVEL_CONTRAST, snare_half_contrast

    # Drum & bass at 170 counted at 85: the snare on every slow off-beat alike.
    onsets, beats = _breakbeat_onsets(170.0, groove="dnb")
    assert snare_half_contrast(onsets, beats[0::2]) < LEVEL_CONTRAST
    # A breakbeat at 82 counted right: the snare on two and four.
    onsets, beats = _breakbeat_onsets(164.0, groove="slow")
    assert snare_half_contrast(onsets, beats[0::2]) >= LEVEL_CONTRAST


def _slow_backbeat_onsets(*, snare_on_one: float) -> tuple[OnsetEnvelopes, np.ndarray]:
    """Drum onsets of house at 81 BPM counted at 162 (`beats`, eight to the slow bar): the
    kick drum on every slow beat (beat one loudest), the clap on slow two and four, the
    kick's click in the snare band at `snare_on_one` of the clap on slow one and three,
    an off-beat bass in the kick band and hats on every counted beat."""
    hop_sec = 512 / 22050
    beats = np.arange(0.3, 64.0, 60.0 / 162.0)
    n_frames = int((beats[-1] + 1.0) / hop_sec)
    position = np.arange(len(beats)) % 8

    def envelope(mask: np.ndarray, gain: float = 1.0) -> np.ndarray:
        return gain * _impulses(beats[mask], hop_sec=hop_sec, n_frames=n_frames)

    hits = envelope(position == 0) + 0.8 * envelope(np.isin(position, (2, 4, 6)))
    snare = envelope(np.isin(position, (2, 6))) + snare_on_one * envelope(
        np.isin(position, (0, 4)))
    band = hits + 0.7 * envelope(position % 2 == 1)
    hats = envelope(np.ones(len(beats), dtype=bool), 0.3)
    onsets = OnsetEnvelopes(kick=band + 0.01, snare=snare + hats + 0.01, hop_sec=hop_sec,
                            broadband=band + snare + hats + 0.01, kick_hits=hits + 0.01)
    return onsets, beats


@pytest.mark.parametrize(("snare_on_one", "expected"), [
    (0.6, True),  # contrast 1.4-1.7 on the slow beats, beat one's kick on one: halve
    (0.9, False),  # contrast 1.1: no backbeat at the slow count
])
def test_a_slow_backbeat_of_moderate_contrast_halves_a_count_when_the_kick_leads_its_bar(
        snare_on_one: float, expected: bool) -> None:
    from services.analysis.tempo import backbeat_on_every_other_beat, kick_leads_the_bar

    onsets, beats = _slow_backbeat_onsets(snare_on_one=snare_on_one)
    assert backbeat_on_every_other_beat(onsets, 162.0, beats) is expected
    # The bar's loudest kick is on a slow beat, not between them.
    assert kick_leads_the_bar(onsets, beats[0::2])
    assert not kick_leads_the_bar(onsets, beats[1::2])


def test_drifting_syncopated_house_at_81_is_not_counted_at_162() -> None:
    # Stress 42000/3 as the benchmark makes it: funk kicks off the beat, the clap on two
    # and four only 1.3-1.5 times as strong as the kick's click on one and three; the
    # tracker counts 163 (beat F .67, downbeat F .43).
    from shared.synth import SongSpec, Variation

    estimate, truth = _estimate_synth(SongSpec(
        "03-house-81.5-pad0.8-drift0.028-syncopated", 81.5, "C", "major", 63.94889910547898,
        seed=42003, style="house",
        variation=Variation(tempo_drift=0.028, groove="syncopated", pad_rolloff=0.8)))
    assert estimate.tempo_bpm == pytest.approx(truth.tempo_bpm, rel=0.02)
    offsets = nearest_offsets_sec(estimate.beats_sec, truth.beats_sec)
    assert np.mean(np.abs(offsets) < 0.07) >= 0.95
