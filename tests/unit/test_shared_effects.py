"""The effects vocabulary: one tolerant parser for the orchestrator and the renderer."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.effects import (
    EFFECTS_VOCABULARY,
    MAX_EFFECTS_PER_LAYER,
    canonical_effects,
    delay_time_sec,
    has_low_cut,
    parse_effect,
    parse_effects,
    vocabulary_markdown,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "name", "value", "canonical"), [
    ("highpass:200", "highpass", 200.0, "highpass:200"),
    (" HighPass : 150Hz ", "highpass", 150.0, "highpass:150"),
    ("HighPass 2kHz", "highpass", 2000.0, "highpass:2000"),
    ("LPF(800)", "lowpass", 800.0, "lowpass:800"),
    (" lowpass : 1.5k ", "lowpass", 1500.0, "lowpass:1500"),
    ("lowpass", "lowpass", 800.0, "lowpass"),
    ("filter_sweep_up", "filter_sweep_up", None, "filter_sweep_up"),
    ("Filter Sweep Up", "filter_sweep_up", None, "filter_sweep_up"),
    ("sweep up", "filter_sweep_up", None, "filter_sweep_up"),
    ("filter-sweep-down", "filter_sweep_down", None, "filter_sweep_down"),
    ("reverb", "reverb", 0.3, "reverb"),
    ("reverb:0.5", "reverb", 0.5, "reverb:0.5"),
    ("reverb 40%", "reverb", 0.4, "reverb:0.4"),
    ("delay:1/8", "delay", 0.5, "delay:1/8"),
    ("delay", "delay", 0.5, "delay:1/8"),
    ("echo 1/4", "delay", 1.0, "delay:1/4"),
    ("delay:3/16", "delay", 0.75, "delay:3/16"),
    ("delay 1/8d", "delay", 0.75, "delay:1/8d"),
    ("delay:1/4t", "delay", pytest.approx(2 / 3), "delay:1/4t"),
    ("fade_in", "fade_in", 0.0, "fade_in"),
    ("FADE OUT", "fade_out", 0.0, "fade_out"),
    ("fade_out:2", "fade_out", 2.0, "fade_out:2"),
    ("fade_in:4 bars", "fade_in", 4.0, "fade_in:4"),
    ("sidechain", "sidechain", 6.0, "sidechain"),
    ("sidechain:8db", "sidechain", 8.0, "sidechain:8"),
    ("duck", "sidechain", 6.0, "sidechain"),
    ("eq_swap_low", "eq_swap_low", None, "eq_swap_low"),
    ("bass swap", "eq_swap_low", None, "eq_swap_low"),
])
def test_parse_understands_what_people_write(text: str, name: str, value: object,
                                             canonical: str) -> None:
    effect, warning = parse_effect(text)
    assert warning is None
    assert effect is not None
    assert (effect.name, effect.value, effect.text) == (name, value, canonical)
    # The canonical spelling parses back to the same effect.
    assert parse_effect(effect.text) == (effect, None)


@pytest.mark.parametrize(("text", "canonical", "said"), [
    ("highpass:abc", "highpass", "not understood"),  # default
    ("highpass:5", "highpass:20", "outside 20–20000"),  # clamped
    ("lowpass:99999", "lowpass:20000", "outside"),
    ("reverb:1.5", "reverb:1", "outside"),
    ("sidechain:-2", "sidechain", "not understood"),
    ("delay:1/3", "delay:1/8", "not understood"),
    ("delay:0/8", "delay:1/8", "not understood"),
    ("delay:64/1", "delay:1/8", "not understood"),
    ("filter_sweep_up:3", "filter_sweep_up", "takes no parameter"),
])
def test_a_bad_parameter_keeps_the_effect_with_a_warning(text: str, canonical: str,
                                                         said: str) -> None:
    effect, warning = parse_effect(text)
    assert effect is not None and effect.text == canonical
    assert warning is not None and said in warning and repr(text) in warning


@pytest.mark.parametrize("text", ["flanger", "", "   ", 42, None, ["reverb"]])
def test_unknown_names_and_non_strings_are_dropped_with_a_warning(text: object) -> None:
    effect, warning = parse_effect(text)
    assert effect is None and warning


def test_parse_effects_prefixes_warnings_and_never_raises() -> None:
    effects, warnings = parse_effects(["flanger", "lowpass:abc", "highpass:99999", "", "reverb"],
                                      where="timeline[0]")
    assert [e.text for e in effects] == ["lowpass", "highpass:20000", "reverb"]
    assert len(warnings) == 4
    assert warnings[0].startswith("timeline[0]: unknown effect 'flanger'")
    assert "lowpass[:cutoff_hz]" in warnings[1]  # says what was expected
    assert parse_effects(["highpass:200", "delay:1/8", "reverb"]) == (
        [parse_effect(t)[0] for t in ("highpass:200", "delay:1/8", "reverb")], [])


def test_too_many_effects_on_a_layer_keeps_the_first() -> None:
    effects, warnings = parse_effects(["reverb"] * (MAX_EFFECTS_PER_LAYER + 1))
    assert len(effects) == MAX_EFFECTS_PER_LAYER
    assert warnings == [f"{MAX_EFFECTS_PER_LAYER + 1} effects on one layer; only the first "
                        f"{MAX_EFFECTS_PER_LAYER} are used"]


def test_canonical_effects_is_what_the_renderer_will_do() -> None:
    assert canonical_effects(["LPF(800)", "flanger", "reverb:2"]) == [
        "lowpass:800", "flanger", "reverb:1"]


def test_delay_time_is_tempo_synced() -> None:
    eighth, _ = parse_effect("delay:1/8")
    assert eighth is not None
    assert delay_time_sec(eighth, tempo_bpm=120.0) == pytest.approx(0.25)
    quarter, _ = parse_effect("delay:1/4")
    assert quarter is not None
    assert delay_time_sec(quarter, tempo_bpm=60.0) == pytest.approx(1.0)
    reverb, _ = parse_effect("reverb")
    assert reverb is not None
    with pytest.raises(ValueError):
        delay_time_sec(reverb, tempo_bpm=120.0)


def test_low_cut_detection() -> None:
    assert has_low_cut(["highpass:200"])
    assert has_low_cut(["reverb", "eq swap"])
    assert not has_low_cut(["highpass:40"])
    assert not has_low_cut(["lowpass:800", "nonsense"])


def test_vocabulary_is_documented() -> None:
    assert {"highpass", "lowpass", "filter_sweep_up", "filter_sweep_down", "reverb", "delay",
            "fade_in", "fade_out", "sidechain", "eq_swap_low"} == set(EFFECTS_VOCABULARY)
    text = vocabulary_markdown()
    assert all(f"`{name}`" in text for name in EFFECTS_VOCABULARY)
    # Every entry's own default spelling parses without a warning.
    assert all(parse_effect(name)[1] is None for name in EFFECTS_VOCABULARY)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert vocabulary_markdown() in readme  # regenerate the README list when it changes
    table = (ROOT / "docs" / "effects.md").read_text(encoding="utf-8")
    assert all(f"`{name}" in table for name in EFFECTS_VOCABULARY)
