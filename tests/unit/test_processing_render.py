"""End-to-end renders of small plans from synthetic stems (no HTTP, no storage).

Two songs at different tempi (pop 118 BPM in C major, house 124 BPM in A minor) meet at
121 BPM, and a half-time pair (hip-hop 92, drum & bass 174) at 90 BPM. The checks are the
invariants of a finished mashup: exact length, true peak, loudness, tempo and grid lock,
no holes, and the warnings the plan deserves. Renders use Rubber Band's fast engine to
keep the suite quick; the high-quality engine is covered in test_processing_warp.
"""

from __future__ import annotations

import numpy as np
import pytest

from services.orchestrator.rules_planner import plan_rules
from services.processing.arrange import Placement
from services.processing.material import SongMaterial
from services.processing.preview import preview_window
from services.processing.render import (
    RenderResult,
    _kick_envelopes,
    _Layer,
    _sidechain_key,
    render_plan,
)
from services.processing.settings import RenderSettings
from shared.contracts.analysis import AnalysisResult
from shared.contracts.orchestrator import PlanOptions
from shared.effects import parse_effects
from shared.errors import Unprocessable
from shared.loudness import integrated_lufs
from shared.true_peak import true_peak_dbtp
from tests.unit.test_processing_support import (
    SR,
    analysis_dict,
    dnb_174,
    grid_errors_sec,
    hiphop_92,
    house_124,
    low_band_onsets,
    material,
    plan,
    pop_118,
    synth,
    tempo_from_onsets,
    warp_lags_ms,
    window_rms_db,
)

FAST = RenderSettings(stretch_high_quality=False)
TARGET_BPM = 121.0


def _main_plan():
    return plan(TARGET_BPM, "A minor", [
        [{"songId": "b", "stem": "drums"}, {"songId": "a", "stem": "vocals"}],
        [{"songId": "a", "stem": "instrumental"}, {"songId": "b", "stem": "bass"},
         {"songId": "b", "stem": "vocals", "effects": ["reverb"]}],
        [{"songId": "a", "stem": "drums"},
         {"songId": "b", "stem": "vocals", "effects": ["delay:1/8", "flanger"]}],
    ], energies=[0.5, 0.7, 0.9])


@pytest.fixture(scope="module")
def main_render() -> RenderResult:
    materials = {"a": material(pop_118(), "a"), "b": material(house_124(), "b")}
    return render_plan(_main_plan(), materials, settings=FAST)


def test_output_length_equals_plan_duration(main_render: RenderResult) -> None:
    expected = sum(s.duration_sec for s in _main_plan().timeline)
    assert abs(main_render.audio.shape[1] - expected * SR) <= 1
    assert main_render.duration_sec == pytest.approx(expected, abs=1 / SR)


def test_true_peak_under_ceiling_and_nothing_clips(main_render: RenderResult) -> None:
    audio = main_render.audio
    assert true_peak_dbtp(audio, sample_rate_hz=SR) <= -1.0 + 1e-3
    assert main_render.true_peak_dbtp <= -1.0
    assert float(np.max(np.abs(audio))) < 0.9  # -1 dBTP is 0.891


def test_loudness_is_near_target(main_render: RenderResult) -> None:
    measured = integrated_lufs(main_render.audio, sample_rate_hz=SR)
    assert abs(measured - -14.0) <= 1.0
    assert abs(main_render.lufs - measured) < 0.05


def test_kicks_land_on_the_target_grid(main_render: RenderResult) -> None:
    # Section 1 plays the house song's four-on-the-floor drums: one kick per beat.
    section = main_render.report["sections"][0]
    layer = section["layers"][0]
    a, b = int(section["start_sec"] * SR), int(section["end_sec"] * SR)
    beat_sec = 60.0 / TARGET_BPM
    onsets = low_band_onsets(main_render.audio[:, a:b], sample_rate_hz=SR,
                             min_gap_sec=0.6 * beat_sec) + section["start_sec"]
    # The detector reports a kick a few ms after it starts (its bias, measured on the
    # source); the source also has a few fills off the beat, which are left out.
    source = house_124()
    src = low_band_onsets(source.stems["drums"], sample_rate_hz=SR, min_gap_sec=0.3)
    src_errors = grid_errors_sec(src, period_sec=60 / 124.0, offset_sec=source.truth.beats_sec[0])
    bias = float(np.median(src_errors))
    played = (src >= layer["source_start_sec"]) & (src < layer["source_end_sec"] - 0.1)
    on_beat = src[played & (np.abs(src_errors - bias) < 0.005)]
    speed = main_render.report["songs"]["b"]["stretch_factor"]
    expected = section["start_sec"] + (on_beat - layer["source_start_sec"]) / speed
    assert expected.size >= 12
    found = np.array([onsets[np.argmin(np.abs(onsets - t))] for t in expected])
    assert np.max(np.abs(found - expected)) < 0.020
    grid = grid_errors_sec(found, period_sec=beat_sec) - bias
    assert np.max(np.abs(grid)) < 0.020
    assert np.median(np.abs(grid)) < 0.008


def test_tempo_of_the_output_matches_target(main_render: RenderResult) -> None:
    import essentia.standard as es

    section = main_render.report["sections"][0]
    a, b = int(section["start_sec"] * SR), int(section["end_sec"] * SR)
    onsets = low_band_onsets(main_render.audio[:, a:b], sample_rate_hz=SR, min_gap_sec=0.3)
    assert tempo_from_onsets(onsets, beat_sec=60 / TARGET_BPM) == pytest.approx(TARGET_BPM,
                                                                              rel=0.005)
    # Essentia's beat tracker over the whole mashup (all sections, both songs).
    tempo = es.RhythmExtractor2013(method="degara")(main_render.audio.mean(axis=0))[0]
    folded = min((float(tempo) * f for f in (0.5, 1.0, 2.0)),
                 key=lambda bpm: abs(bpm - TARGET_BPM))
    assert folded == pytest.approx(TARGET_BPM, rel=0.02)


def test_no_silent_holes(main_render: RenderResult) -> None:
    levels = window_rms_db(main_render.audio, sample_rate_hz=SR)
    assert levels.min() > -50.0


def test_warnings_name_the_unknown_effect_and_the_bass_clash(main_render: RenderResult) -> None:
    text = " ".join(main_render.warnings)
    assert "unknown effect 'flanger'" in text
    assert "section 2: bass from" in text  # a's instrumental and b's bass at once


def test_report_shows_sung_bars_for_vocal_layers(main_render: RenderResult) -> None:
    songs = {"a": pop_118(), "b": house_124()}
    for section in main_render.report["sections"]:
        for layer in section["layers"]:
            if layer["stem"] != "vocals":
                continue
            start, end = layer["source_start_sec"], layer["source_end_sec"]
            sung = sum(max(0.0, min(end, y) - max(start, x))
                       for x, y in songs[layer["songId"]].truth.vocal_intervals)
            assert sung / (end - start) > 0.5, layer
    assert main_render.report["songs"]["a"]["pitch_shift_semitones"] == 0  # C major ~ A minor


@pytest.fixture(scope="module")
def half_time_render() -> RenderResult:
    materials = {"h": material(hiphop_92(), "h"), "d": material(dnb_174(), "d")}
    p = plan(90.0, "D minor", [
        [{"songId": "d", "stem": "drums"}, {"songId": "h", "stem": "vocals"}],
        [{"songId": "h", "stem": "drums"}, {"songId": "d", "stem": "other"}],
        [{"songId": "d", "stem": "instrumental", "effects": ["sidechain"]},
         {"songId": "h", "stem": "vocals", "effects": ["lowpass:3000"]}],
    ], bars=2, energies=[0.6, 0.5, 0.9])
    return render_plan(p, materials, settings=FAST)


def test_half_time_pair_folds_tempo_and_stays_locked(half_time_render: RenderResult) -> None:
    report = half_time_render.report
    assert report["songs"]["d"]["beat_ratio"] == 0.5  # 174 BPM plays as 87 → 90
    assert report["songs"]["h"]["beat_ratio"] == 1.0
    assert abs(report["songs"]["d"]["stretch_factor"] - 1) < 0.05
    # F minor clashes with D minor; up 2 to G minor it is a fifth from it and layers
    assert report["songs"]["d"]["pitch_shift_semitones"] == 2
    sources = {"h": hiphop_92(), "d": dnb_174()}
    for section in report["sections"]:
        a, b = int(section["start_sec"] * SR), int(section["end_sec"] * SR)
        for layer in section["layers"]:
            if layer["stem"] not in ("drums", "instrumental"):
                continue
            lags = warp_lags_ms(half_time_render.audio[:, a:b],
                                sources[layer["songId"]].stems["drums"],
                                source_start_sec=layer["source_start_sec"],
                                speed=report["songs"][layer["songId"]]["stretch_factor"],
                                sample_rate_hz=SR)
            assert lags.size and np.max(np.abs(lags)) < 20.0, (layer, lags)
    assert true_peak_dbtp(half_time_render.audio, sample_rate_hz=SR) <= -1.0 + 1e-3
    assert abs(integrated_lufs(half_time_render.audio, sample_rate_hz=SR) + 14.0) <= 1.0
    assert window_rms_db(half_time_render.audio, sample_rate_hz=SR).min() > -50.0


def _small_plan(layers_b: list[dict] | None = None):
    return plan(TARGET_BPM, "A minor", [
        [{"songId": "b", "stem": "instrumental", "effects": ["filter_sweep_up", "sidechain"]},
         {"songId": "a", "stem": "vocals", "effects": ["reverb:0.4", "delay:1/8d"]}],
        layers_b if layers_b is not None else [{"songId": "b", "stem": "full"}],
    ], bars=2)


def test_render_is_deterministic() -> None:
    materials = {"a": material(pop_118(), "a"), "b": material(house_124(), "b")}
    first = render_plan(_small_plan(), materials, settings=FAST)
    second = render_plan(_small_plan(), materials, settings=FAST)
    assert np.array_equal(first.audio, second.audio)
    assert first.warnings == second.warnings


def test_empty_section_is_filled_with_a_warning() -> None:
    materials = {"a": material(pop_118(), "a"), "b": material(house_124(), "b")}
    result = render_plan(_small_plan(layers_b=[]), materials, settings=FAST)
    assert any("section 2 has no layers" in w for w in result.warnings)
    filled = result.report["sections"][1]["layers"]
    assert filled and filled[0]["filled"] and filled[0]["stem"] == "instrumental"
    second_half = result.audio[:, result.audio.shape[1] // 2:]
    assert window_rms_db(second_half, sample_rate_hz=SR).min() > -50.0


def test_preview_plays_the_build_into_the_drop() -> None:
    p = plan(TARGET_BPM, "A minor", [
        [{"songId": "b", "stem": "drums"}],
        [{"songId": "b", "stem": "other", "effects": ["filter_sweep_up"]}],
        [{"songId": "b", "stem": "full"}],
        [{"songId": "b", "stem": "instrumental", "effects": ["fade_out"]}],
    ], bars=8, energies=[0.4, 0.5, 1.0, 0.3],
        descriptions=["intro", "build", "the drop", "outro"])
    bar_sec = 4 * 60 / TARGET_BPM
    start, end = preview_window(p, max_sec=30.0)
    assert start == pytest.approx(16 * bar_sec - 2 * bar_sec)
    assert end - start == pytest.approx(30.0)
    # Render a 10 s window from the same start: the sections around the drop only.
    materials = {"b": material(house_124(), "b")}
    result = render_plan(p, materials, settings=FAST, window_sec=(start, start + 10.0))
    assert abs(result.audio.shape[1] - 10.0 * SR) <= 1
    assert result.true_peak_dbtp <= -1.0
    assert result.report["window_sec"] == [pytest.approx(start, abs=1e-3),
                                           pytest.approx(start + 10.0, abs=1e-3)]
    rendered = [s for s in result.report["sections"] if s["layers"]]
    assert len(rendered) == 4  # the arrangement is planned whole, the audio only near the drop


def test_preview_of_a_flat_plan_is_its_first_30_seconds() -> None:
    p = plan(TARGET_BPM, "A minor", [[{"songId": "b", "stem": "full"}]] * 3, bars=8)
    assert preview_window(p, max_sec=30.0) == (0.0, 30.0)
    short = plan(TARGET_BPM, "A minor", [[{"songId": "b", "stem": "full"}]], bars=4)
    assert preview_window(short, max_sec=30.0)[1] == pytest.approx(4 * 4 * 60 / TARGET_BPM)


def test_a_layer_naming_an_unknown_song_is_unprocessable() -> None:
    p = plan(TARGET_BPM, "A minor", [[{"songId": "nope", "stem": "drums"}]])
    with pytest.raises(Unprocessable):
        render_plan(p, {"b": material(house_124(), "b")}, settings=FAST)


def test_bass_handover_takes_the_outgoing_lows_out_before_the_downbeat() -> None:
    from scipy import signal

    materials = {"a": material(pop_118(), "a"), "b": material(house_124(), "b")}

    def last_quarter_beat_lows(second_bass: str) -> float:
        p = plan(TARGET_BPM, "A minor", [
            [{"songId": "b", "stem": "bass"}, {"songId": "b", "stem": "other"}],
            [{"songId": second_bass, "stem": "bass"}]], bars=2)
        audio = render_plan(p, materials, settings=FAST).audio.mean(axis=0)
        sos = signal.butter(4, 150, btype="low", fs=SR, output="sos")
        low = signal.sosfilt(sos, audio)
        boundary, beat = int(8 * 60 / TARGET_BPM * SR), int(60 / TARGET_BPM * SR)
        return float(np.sqrt(np.mean(low[boundary - beat // 4:boundary] ** 2)))

    # b's bass hands over to a's: its lows leave over the last beat; b to b: they stay.
    assert last_quarter_beat_lows("a") < 0.6 * last_quarter_beat_lows("b")


def test_a_rules_plan_of_three_songs_renders_the_guest_in_its_section() -> None:
    """The planner's guest (a third song leading one section) reaches the mix."""
    songs = {"a": pop_118(), "b": house_124(),
             "c": synth("guest120", 120.0, "E", "minor", "pop", 5)}
    analyses = [AnalysisResult.model_validate(analysis_dict(song, song_id))
                for song_id, song in songs.items()]
    result = plan_rules(analyses, {}, PlanOptions(seed=2, duration_sec=60))
    plan_ = result.masterplan
    guest_sections = [i for i, s in enumerate(plan_.timeline) if "guest spot" in s.description]
    assert len(guest_sections) == 1 and not any("no section" in w for w in result.warnings)
    render = render_plan(plan_, {k: material(v, k) for k, v in songs.items()}, settings=FAST)
    assert abs(render.audio.shape[1] - sum(s.duration_sec for s in plan_.timeline) * SR) <= 1
    assert render.true_peak_dbtp <= -1.0 + 1e-6
    report = render.report["sections"]
    played = {layer["songId"] for section in report for layer in section["layers"]}
    assert played == set(songs)
    instrumental = plan_.timeline[0].layers[0].songId  # the intro is the groove's song
    guest_id = next(la.songId for la in plan_.timeline[guest_sections[0]].layers
                    if la.songId != instrumental)
    # The guest plays in its own section only, and its sung passage really sings.
    for index, section in enumerate(report):
        guest_layers = [la for la in section["layers"] if la["songId"] == guest_id]
        assert bool(guest_layers) == (index == guest_sections[0])
    for layer in report[guest_sections[0]]["layers"]:
        if layer["songId"] == guest_id and layer["stem"] == "vocals":
            start, end = layer["source_start_sec"], layer["source_end_sec"]
            sung = sum(max(0.0, min(end, y) - max(start, x))
                       for x, y in songs[guest_id].truth.vocal_intervals)
            assert sung / (end - start) > 0.5, layer


def test_songs_mastered_at_different_levels_keep_the_plans_balance() -> None:
    # The same plan from the same songs, song b's file 12 dB quieter (an older, quieter
    # master): every song is brought to one loudness before the plan's volume_db, so the
    # render is the same mix. Mixed at their file levels, b's drums under a's vocals
    # would drop 12 dB against them.
    p = plan(TARGET_BPM, "A minor", [
        [{"songId": "b", "stem": "drums", "volume_db": -3}, {"songId": "a", "stem": "vocals"}],
        [{"songId": "b", "stem": "instrumental"}, {"songId": "a", "stem": "vocals"}],
    ], bars=2)
    pop, house = pop_118(), house_124()
    quiet = {name: stem * np.float32(10 ** (-12 / 20)) for name, stem in house.stems.items()}
    loud_render = render_plan(p, {"a": material(pop, "a"), "b": material(house, "b")},
                              settings=FAST)
    quiet_b = SongMaterial.build("b", stems=quiet, sample_rate_hz=house.sample_rate_hz,
                                 analysis=material(house, "b").analysis)
    quiet_render = render_plan(p, {"a": material(pop, "a"), "b": quiet_b}, settings=FAST)
    gains = {k: v["level_match_db"] for k, v in quiet_render.report["songs"].items()}
    louder = {k: v["level_match_db"] for k, v in loud_render.report["songs"].items()}
    assert gains["b"] == pytest.approx(louder["b"] + 12.0, abs=0.05)
    assert gains["a"] == louder["a"]
    a, b = loud_render.audio, quiet_render.audio
    residual_db = 10 * np.log10(np.mean((a - b) ** 2) / np.mean(a ** 2))
    assert residual_db < -40.0


def _drum_layer(song_id: str, effects: list[str], kick_times_sec: list[float]) -> _Layer:
    dry = np.zeros((2, 2 * SR), dtype=np.float32)
    t = np.arange(int(0.1 * SR)) / SR
    hit = (np.sin(2 * np.pi * 55.0 * t) * np.exp(-t / 0.03)).astype(np.float32)
    for time_sec in kick_times_sec:
        start = int(time_sec * SR)
        dry[:, start:start + hit.size] += hit
    placement = Placement(section=0, song_id=song_id, stem="drums", volume_db=0.0,
                          effects=tuple(effects), start=0, end=dry.shape[1], pieces=[])
    return _Layer(placement, dry, parse_effects(effects)[0], carries_bass=False)


def test_a_high_passed_drum_layer_gives_no_kick_to_duck_under() -> None:
    # song "a" plays its drums high-passed at 200 Hz (their kick filtered away): a layer
    # of "b" with a sidechain ducks under b's own, audible kick, not a's inaudible one
    layers = [_drum_layer("a", ["highpass:200"], [0.25, 0.75, 1.25]),
              _drum_layer("b", [], [0.0, 0.5, 1.0, 1.5])]
    kicks = _kick_envelopes(layers, SR)
    assert set(kicks) == {"b"}
    key = _sidechain_key("b", kicks)
    assert key is not None and key[int(0.51 * SR)] > 0.5 and key[int(0.76 * SR)] < 0.1
    # unfiltered, a's kick is the one b ducks under, as before
    layers[0] = _drum_layer("a", [], [0.25, 0.75, 1.25])
    key = _sidechain_key("b", _kick_envelopes(layers, SR))
    assert key is not None and key[int(0.76 * SR)] > 0.5
