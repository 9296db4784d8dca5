"""validate_plan: what it rejects, what it repairs, and that a good plan passes untouched."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from services.orchestrator.validation import validate_plan
from shared.contracts.analysis import AnalysisResult
from shared.contracts.orchestrator import Masterplan
from tests.unit.test_orchestrator_factory import make_analysis

SONGS = [AnalysisResult.model_validate(make_analysis("a", tempo_bpm=120.0)),
         AnalysisResult.model_validate(make_analysis("b", tempo_bpm=120.0, key="C major"))]


def layer(song: str, stem: str, **extra: Any) -> dict[str, Any]:
    return {"songId": song, "stem": stem, "volume_db": -3.0, "effects": [], **extra}


def good_plan() -> dict[str, Any]:
    """120 BPM: one bar is 2 s; 8 + 16 + 8 bars = 64 s."""
    return {
        "title": "a × b", "artistCredits": "A × B",
        "global": {"targetBPM": 120.0, "targetKey": "A minor", "timeSignature": [4, 4]},
        "timeline": [
            {"time_start_sec": 0.0, "duration_sec": 16.0, "description": "intro",
             "energy_level": 0.3, "layers": [layer("b", "drums"), layer("b", "bass")]},
            {"time_start_sec": 16.0, "duration_sec": 32.0, "description": "verse",
             "energy_level": 0.6,
             "layers": [layer("b", "instrumental", source_start_sec=16.0),
                        layer("a", "vocals", effects=["reverb:0.2"], source_start_sec=32.0)]},
            {"time_start_sec": 48.0, "duration_sec": 16.0, "description": "outro",
             "energy_level": 0.3, "layers": [layer("b", "other", effects=["fade_out"])]},
        ],
        "problems_and_solutions": [{"problem": "p", "solution": "s"}],
    }


def test_good_plan_passes_unchanged() -> None:
    plan, errors, warnings = validate_plan(good_plan(), SONGS)
    assert errors == [] and warnings == []
    assert plan is not None
    assert plan.wire() == Masterplan.model_validate(good_plan()).wire()


def test_accepts_a_model_and_dict_analyses() -> None:
    model = Masterplan.model_validate(good_plan())
    plan, errors, _ = validate_plan(model, [s.model_dump() for s in SONGS])
    assert errors == [] and plan is not None


def test_gap_between_sections_is_an_error() -> None:
    raw = good_plan()
    raw["timeline"][1]["time_start_sec"] = 20.0  # 4 s after the intro ends
    raw["timeline"][2]["time_start_sec"] = 52.0
    _, errors, _ = validate_plan(raw, SONGS)
    assert any("timeline[1]" in e and "gap of 4.000 s" in e for e in errors)


def test_overlap_and_late_start_are_errors() -> None:
    raw = good_plan()
    raw["timeline"][1]["time_start_sec"] = 12.0
    raw["timeline"][1]["duration_sec"] = 36.0
    _, errors, _ = validate_plan(raw, SONGS)
    assert any("overlap of 4.000 s" in e for e in errors)
    raw = good_plan()
    for section in raw["timeline"]:
        section["time_start_sec"] += 4.0
    _, errors, _ = validate_plan(raw, SONGS)
    assert any("timeline[0] must start at 0" in e for e in errors)


def test_small_timing_errors_are_snapped_to_bars() -> None:
    raw = good_plan()
    raw["timeline"][0]["duration_sec"] = 16.1  # 0.1 s off; half a beat is 0.25 s
    raw["timeline"][1]["time_start_sec"] = 16.1
    raw["timeline"][1]["duration_sec"] = 31.95
    plan, errors, warnings = validate_plan(raw, SONGS)
    assert errors == []
    assert plan is not None
    assert [(s.time_start_sec, s.duration_sec) for s in plan.timeline] == \
        [(0.0, 16.0), (16.0, 32.0), (48.0, 16.0)]
    assert any("snapped to the bar grid" in w for w in warnings)


def test_off_grid_boundary_is_an_error() -> None:
    raw = good_plan()
    raw["timeline"][0]["duration_sec"] = 17.0  # half a bar: contiguous, but off the grid
    raw["timeline"][1]["time_start_sec"] = 17.0
    raw["timeline"][1]["duration_sec"] = 31.0
    _, errors, _ = validate_plan(raw, SONGS)
    assert any("not on a bar of targetBPM" in e for e in errors)


@pytest.mark.parametrize(("field", "value", "needle"), [
    ("songId", "zzz", "songId 'zzz' is not one of the analysed songs"),
    ("stem", "guitar", "stem 'guitar' is unknown"),
    ("volume_db", -80.0, "volume_db -80 is outside -60..+6 dB"),
    ("volume_db", 9.0, "volume_db 9 is outside -60..+6 dB"),
    ("source_start_sec", 999.0, "source_start_sec 999 is outside the song"),
])
def test_bad_layer_fields_are_errors(field: str, value: Any, needle: str) -> None:
    raw = good_plan()
    raw["timeline"][1]["layers"][0][field] = value
    _, errors, _ = validate_plan(raw, SONGS)
    assert any(e.startswith("timeline[1].layers[0].") and needle in e for e in errors), errors


def test_energy_out_of_range_and_bad_key_are_errors() -> None:
    raw = good_plan()
    raw["timeline"][0]["energy_level"] = 1.5
    raw["global"]["targetKey"] = "H major"
    _, errors, _ = validate_plan(raw, SONGS)
    assert any("energy_level 1.5 is outside 0..1" in e for e in errors)
    assert any("targetKey 'H major' is not a key" in e for e in errors)


def test_all_problems_are_reported_at_once() -> None:
    raw = good_plan()
    raw["timeline"][0]["layers"][0]["stem"] = "kazoo"
    raw["timeline"][1]["layers"][1]["volume_db"] = 20
    raw["timeline"][2]["time_start_sec"] = 50.0
    _, errors, _ = validate_plan(raw, SONGS)
    assert len(errors) >= 3


def test_two_vocal_layers_are_an_error_unless_intended() -> None:
    raw = good_plan()
    raw["timeline"][1]["layers"].append(layer("b", "vocals"))
    _, errors, _ = validate_plan(raw, SONGS)
    assert any("2 vocal layers at once" in e for e in errors)
    raw["timeline"][1]["description"] = "Call-and-response: intended overlap of both singers"
    _, errors, _ = validate_plan(raw, SONGS)
    assert errors == []


def test_full_mix_of_a_sung_song_counts_as_a_vocal() -> None:
    raw = good_plan()
    raw["timeline"][1]["layers"].append(layer("b", "full", effects=["highpass:200"]))
    _, errors, _ = validate_plan(raw, SONGS)
    assert any("vocal layers at once" in e for e in errors)
    instrumental_only = [SONGS[0], AnalysisResult.model_validate(
        make_analysis("b", tempo_bpm=120.0, sung=False))]
    _, errors, _ = validate_plan(raw, instrumental_only)
    assert errors == []


def test_second_bass_gets_its_low_end_cut() -> None:
    raw = good_plan()
    raw["timeline"][0]["layers"].append(layer("a", "bass"))
    plan, errors, warnings = validate_plan(raw, SONGS)
    assert errors == [] and plan is not None
    layers = plan.timeline[0].layers
    assert layers[1].effects == [] and layers[2].effects == ["eq_swap_low"]
    assert any("2 bass layers" in w for w in warnings)
    # A layer that already cuts its low end is no second bass.
    raw = good_plan()
    raw["timeline"][0]["layers"].append(layer("a", "full", effects=["highpass:200"]))
    raw["timeline"][0]["layers"][0]["stem"] = "drums"
    _, _, warnings = validate_plan(raw, SONGS)
    assert not any("bass layers" in w for w in warnings)


def test_length_out_of_range_is_an_error() -> None:
    raw = good_plan()
    raw["timeline"] = raw["timeline"][:1]  # 16 s
    _, errors, _ = validate_plan(raw, SONGS)
    assert any("lasts 16.0 s" in e for e in errors)
    _, errors, _ = validate_plan(raw, SONGS, duration_range_sec=(10.0, 20.0))
    assert errors == []


def test_unknown_effects_are_warnings_only() -> None:
    raw = good_plan()
    raw["timeline"][2]["layers"][0]["effects"] = ["fade_out", "wobble:3"]
    plan, errors, warnings = validate_plan(raw, SONGS)
    assert errors == [] and plan is not None
    assert any("unknown effect 'wobble:3'" in w for w in warnings)


@pytest.mark.parametrize("bad", [None, [], "plan", {"title": "x"},
                                 {**good_plan(), "timeline": []},
                                 {**good_plan(), "global": {"targetBPM": -5, "targetKey": "C"}}])
def test_unreadable_plans_give_errors_not_exceptions(bad: Any) -> None:
    plan, errors, _ = validate_plan(copy.deepcopy(bad), SONGS)
    assert plan is None and errors


def test_known_effects_are_written_canonically() -> None:
    raw = good_plan()
    raw["timeline"][2]["layers"][0]["effects"] = ["Fade_Out", "HIGHPASS: 2kHz", "wobble"]
    plan, errors, _ = validate_plan(raw, SONGS)
    assert errors == [] and plan is not None
    assert plan.timeline[2].layers[0].effects == ["fade_out", "highpass:2000", "wobble"]
