"""The effects vocabulary a masterplan layer may name.

An effect is a string `name` or `name:parameter` ("highpass:200", "delay:1/8"). The
orchestrator writes and validates them; the processing service implements them. An
unknown or malformed effect is a warning, never an error: the renderer skips it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

# name → what it does (the README lists this table; processing implements each entry).
EFFECTS_VOCABULARY: dict[str, str] = {
    "highpass": "highpass[:cutoff_hz] — high-pass filter (default 200 Hz, 20–20000 Hz); "
    "removes the low end, e.g. to layer a second drum part without a second kick.",
    "lowpass": "lowpass[:cutoff_hz] — low-pass filter (default 800 Hz, 20–20000 Hz); "
    "a muffled, distant layer.",
    "filter_sweep_up": "filter_sweep_up — a low-pass that opens from ~300 Hz to fully open "
    "across the section (a build-up riser).",
    "filter_sweep_down": "filter_sweep_down — a low-pass that closes from fully open to "
    "~300 Hz across the section (winding down).",
    "reverb": "reverb[:mix] — room reverb, wet mix 0–1 (default 0.3).",
    "delay": "delay[:note] — tempo-synced echo at targetBPM; note value n/d with an "
    "optional 'd' (dotted) or 't' (triplet) (default 1/8; e.g. 1/4, 3/16, 1/8d, 1/8t).",
    "fade_in": "fade_in[:bars] — fade in from silence over the first bars of the section "
    "(default: the whole section).",
    "fade_out": "fade_out[:bars] — fade out to silence over the last bars of the section "
    "(default: the whole section).",
    "sidechain": "sidechain[:depth_db] — duck this layer under the kick of the section's "
    "drum layer (else on every beat), depth in dB 0–24 (default 6).",
    "eq_swap_low": "eq_swap_low — cut this layer below ~150 Hz for the section, so "
    "another layer's bass owns the low end (bass hand-over).",
}

# Parameter ranges: (default, low, high) for numeric parameters; units are in the names above.
_NUMERIC: dict[str, tuple[float, float, float]] = {
    "highpass": (200.0, 20.0, 20000.0),
    "lowpass": (800.0, 20.0, 20000.0),
    "reverb": (0.3, 0.0, 1.0),
    "fade_in": (0.0, 0.0, 64.0),  # 0 = the whole section
    "fade_out": (0.0, 0.0, 64.0),
    "sidechain": (6.0, 0.0, 24.0),
}
_NO_PARAMETER = frozenset({"filter_sweep_up", "filter_sweep_down", "eq_swap_low"})
_NOTE_RE = re.compile(r"^(\d{1,2})/(1|2|4|8|16|32)([dt]?)$")
_HZ_RE = re.compile(r"^([0-9]*\.?[0-9]+)\s*(?:hz)?$")
_KHZ_RE = re.compile(r"^([0-9]*\.?[0-9]+)\s*k(?:hz)?$")
MAX_EFFECTS_PER_LAYER = 8


@dataclass(frozen=True)
class Effect:
    """A parsed effect.

    `value` is the numeric parameter in the unit of that effect (Hz for the filters, wet
    mix 0–1 for reverb, bars for the fades with 0 meaning the whole section, dB for
    sidechain) or, for delay, the echo time in beats (1/8 note = 0.5 beat); None for
    effects without a parameter. `text` is the canonical spelling.
    """

    name: str
    value: float | None
    text: str


def _parse_number(name: str, param: str) -> float | None:
    """A number with an optional Hz/kHz unit for the filters; None when malformed."""
    if name in ("highpass", "lowpass"):
        if match := _KHZ_RE.match(param):
            return float(match.group(1)) * 1000.0
        match = _HZ_RE.match(param)
        return float(match.group(1)) if match else None
    try:
        return float(param)
    except ValueError:
        return None


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _parse_delay(param: str | None) -> Effect | None:
    note = param or "1/8"
    match = _NOTE_RE.match(note)
    if not match:
        return None
    numerator, denominator, kind = int(match.group(1)), int(match.group(2)), match.group(3)
    if numerator == 0:
        return None
    scale = {"d": Fraction(3, 2), "t": Fraction(2, 3)}.get(kind, Fraction(1))
    whole_notes = Fraction(numerator, denominator) * scale
    beats = float(whole_notes * 4)  # a whole note is four beats in 4/4
    if beats > 16:  # more than four bars of echo time is not a delay
        return None
    return Effect("delay", beats, f"delay:{note}")


def parse_effect(text: str) -> Effect | None:
    """Parse "name" or "name:parameter"; None for an unknown name or a bad parameter."""
    if not isinstance(text, str):
        return None
    name, _, param = text.strip().lower().partition(":")
    name, param = name.strip(), param.strip().replace(" ", "")
    if name not in EFFECTS_VOCABULARY:
        return None
    if name == "delay":
        return _parse_delay(param or None)
    if name in _NO_PARAMETER:
        return None if param else Effect(name, None, name)
    default, low, high = _NUMERIC[name]
    if not param:
        return Effect(name, default, name)
    value = _parse_number(name, param)
    if value is None or not low <= value <= high:
        return None
    return Effect(name, value, f"{name}:{_format_number(value)}")


def validate_effects(effects: Iterable[str], *, where: str = "") -> list[str]:
    """Warnings (sentences) for unknown or malformed effects; never raises."""
    prefix = f"{where}: " if where else ""
    warnings: list[str] = []
    effects = list(effects)
    for text in effects:
        if parse_effect(text) is not None:
            continue
        name = str(text).partition(":")[0].strip().lower()
        if name in EFFECTS_VOCABULARY:
            warnings.append(
                f"{prefix}effect {text!r} has a bad parameter; "
                f"expected {EFFECTS_VOCABULARY[name].split(' — ')[0]}"
            )
        else:
            warnings.append(f"{prefix}unknown effect {text!r} is ignored")
    if len(effects) > MAX_EFFECTS_PER_LAYER:
        warnings.append(f"{prefix}{len(effects)} effects on one layer; only the first "
                        f"{MAX_EFFECTS_PER_LAYER} are used")
    return warnings


def delay_time_sec(effect: Effect, *, tempo_bpm: float) -> float:
    """Echo time in seconds of a parsed delay effect at `tempo_bpm`."""
    if effect.name != "delay" or effect.value is None:
        raise ValueError("not a delay effect")
    return effect.value * 60.0 / tempo_bpm


def has_low_cut(effects: Iterable[str], *, min_cutoff_hz: float = 100.0) -> bool:
    """Whether a layer's effects remove its bass (a high-pass ≥ min_cutoff_hz or eq_swap_low)."""
    for text in effects:
        effect = parse_effect(text)
        if effect is None:
            continue
        if effect.name == "eq_swap_low":
            return True
        if effect.name == "highpass" and (effect.value or 0.0) >= min_cutoff_hz:
            return True
    return False


def vocabulary_markdown() -> str:
    """The vocabulary as a Markdown list (for the README and the Claude prompt)."""
    return "\n".join(f"- `{name}`: {text}" for name, text in EFFECTS_VOCABULARY.items())
