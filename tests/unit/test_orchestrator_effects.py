"""The effects vocabulary: parsing, canonical spelling, warnings (never errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.orchestrator.effects import (
    EFFECTS_VOCABULARY,
    delay_time_sec,
    has_low_cut,
    parse_effect,
    validate_effects,
    vocabulary_markdown,
)


@pytest.mark.parametrize(("text", "name", "value", "canonical"), [
    ("highpass:200", "highpass", 200.0, "highpass:200"),
    (" HighPass : 150Hz ", "highpass", 150.0, "highpass:150"),
    ("lowpass:2k", "lowpass", 2000.0, "lowpass:2000"),
    ("lowpass", "lowpass", 800.0, "lowpass"),
    ("filter_sweep_up", "filter_sweep_up", None, "filter_sweep_up"),
    ("filter_sweep_down", "filter_sweep_down", None, "filter_sweep_down"),
    ("reverb", "reverb", 0.3, "reverb"),
    ("reverb:0.5", "reverb", 0.5, "reverb:0.5"),
    ("delay:1/8", "delay", 0.5, "delay:1/8"),
    ("delay", "delay", 0.5, "delay:1/8"),
    ("delay:1/4", "delay", 1.0, "delay:1/4"),
    ("delay:3/16", "delay", 0.75, "delay:3/16"),
    ("delay:1/8d", "delay", 0.75, "delay:1/8d"),
    ("delay:1/4t", "delay", 2 / 3, "delay:1/4t"),
    ("fade_in", "fade_in", 0.0, "fade_in"),
    ("fade_out:2", "fade_out", 2.0, "fade_out:2"),
    ("fade_in:0", "fade_in", 0.0, "fade_in:0"),
    ("sidechain", "sidechain", 6.0, "sidechain"),
    ("sidechain:4", "sidechain", 4.0, "sidechain:4"),
    ("eq_swap_low", "eq_swap_low", None, "eq_swap_low"),
])
def test_parse_known_effects(text: str, name: str, value: float | None, canonical: str) -> None:
    effect = parse_effect(text)
    assert effect is not None
    assert (effect.name, effect.value, effect.text) == (name, value, canonical)
    # The canonical spelling parses to the same effect.
    assert parse_effect(effect.text) == effect


@pytest.mark.parametrize("text", [
    "flanger", "", "highpass:abc", "highpass:5", "highpass:30000", "reverb:1.5",
    "delay:1/3", "delay:0/8", "delay:64/1", "filter_sweep_up:3", "sidechain:-2",
    "eq_swap_low:100", 42, None,
])
def test_parse_rejects_unknown_or_malformed(text: object) -> None:
    assert parse_effect(text) is None  # type: ignore[arg-type]


def test_validate_effects_warns_and_never_raises() -> None:
    assert validate_effects(["highpass:200", "delay:1/8", "reverb"]) == []
    warnings = validate_effects(["flanger", "highpass:abc", "reverb"], where="timeline[0]")
    assert len(warnings) == 2
    assert warnings[0].startswith("timeline[0]: unknown effect 'flanger'")
    assert "bad parameter" in warnings[1] and "highpass[:cutoff_hz]" in warnings[1]
    assert len(validate_effects(["reverb"] * 9)) == 1  # too many on one layer


def test_delay_time_is_tempo_synced() -> None:
    eighth = parse_effect("delay:1/8")
    assert eighth is not None
    assert delay_time_sec(eighth, tempo_bpm=120.0) == pytest.approx(0.25)
    quarter = parse_effect("delay:1/4")
    assert quarter is not None
    assert delay_time_sec(quarter, tempo_bpm=60.0) == pytest.approx(1.0)
    reverb = parse_effect("reverb")
    assert reverb is not None
    with pytest.raises(ValueError):
        delay_time_sec(reverb, tempo_bpm=120.0)


def test_low_cut_detection() -> None:
    assert has_low_cut(["highpass:200"])
    assert has_low_cut(["reverb", "eq_swap_low"])
    assert not has_low_cut(["highpass:40"])
    assert not has_low_cut(["lowpass:800", "nonsense"])


def test_vocabulary_is_documented() -> None:
    assert {"highpass", "lowpass", "filter_sweep_up", "filter_sweep_down", "reverb", "delay",
            "fade_in", "fade_out", "sidechain", "eq_swap_low"} == set(EFFECTS_VOCABULARY)
    text = vocabulary_markdown()
    assert all(f"`{name}`" in text for name in EFFECTS_VOCABULARY)
    # Every entry's own default spelling parses.
    assert all(parse_effect(name) is not None for name in EFFECTS_VOCABULARY)


def test_readme_documents_the_whole_vocabulary() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert vocabulary_markdown() in readme  # regenerate the README list when it changes
