"""The effects vocabulary a masterplan layer may name: one definition for the whole mesh.

An effect is a string `name` or `name:parameter` ("highpass:200", "delay:1/8"). The
orchestrator validates a plan's effects and writes them back in their canonical spelling;
the processing service applies them (services/processing/effects.py holds only the DSP).
Both parse with `parse_effect` below, so what the orchestrator calls valid is exactly what
the renderer does.

Parsing forgives what people and language models write: case, spaces, hyphens, brackets,
units ("High Pass 2kHz", "LPF(800)", "reverb 40%", "sweep up") and a few aliases. It never
raises: an unknown name is dropped with a warning; a parameter it cannot read falls back to
the default, and one out of range is clamped, each with a warning, because the layer is
still better with the effect the plan asked for than without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

# name → what it does (the README and Claude's prompt list this; processing implements it).
EFFECTS_VOCABULARY: dict[str, str] = {
    "highpass": "highpass[:cutoff_hz] — high-pass filter, 24 dB/oct (default 200 Hz, "
    "20–20000 Hz); removes the low end, e.g. to layer a second drum part without a second "
    "kick.",
    "lowpass": "lowpass[:cutoff_hz] — low-pass filter, 24 dB/oct (default 800 Hz, "
    "20–20000 Hz); a muffled, distant layer.",
    "filter_sweep_up": "filter_sweep_up — a low-pass that opens from ~300 Hz to fully open "
    "across the section (a build-up riser).",
    "filter_sweep_down": "filter_sweep_down — a low-pass that closes from fully open to "
    "~300 Hz across the section (winding down).",
    "reverb": "reverb[:mix] — room reverb, wet mix 0–1 (default 0.3); its tail rings on "
    "past the section when the layer stops.",
    "delay": "delay[:note] — tempo-synced echo at targetBPM; note value n/d with an "
    "optional 'd' (dotted) or 't' (triplet) (default 1/8; e.g. 1/4, 3/16, 1/8d, 1/8t).",
    "fade_in": "fade_in[:bars] — fade in from silence over the first bars of the section "
    "(default: the whole section).",
    "fade_out": "fade_out[:bars] — fade out to silence over the last bars of the section "
    "(default: the whole section).",
    "sidechain": "sidechain[:depth_db] — pump this layer down on each beat where the other "
    "song's drum layer in the section has a kick (else its own song's; with no drum layer "
    "on every beat), recovering within the beat; depth in dB 0–24 (default 6).",
    "eq_swap_low": "eq_swap_low — cut this layer below ~150 Hz for the section, so "
    "another layer's bass owns the low end (bass hand-over).",
}
# Spellings people use for the same effects (compared with everything but letters removed).
ALIASES: dict[str, str] = {
    "hpf": "highpass", "hp": "highpass", "lpf": "lowpass", "lp": "lowpass",
    "sweepup": "filter_sweep_up", "filtersweep": "filter_sweep_up",
    "sweepdown": "filter_sweep_down", "echo": "delay", "duck": "sidechain",
    "pump": "sidechain", "eqswap": "eq_swap_low", "bassswap": "eq_swap_low",
}
# Numeric parameters: (default, low, high) in the unit the description names.
_NUMERIC: dict[str, tuple[float, float, float]] = {
    "highpass": (200.0, 20.0, 20000.0),
    "lowpass": (800.0, 20.0, 20000.0),
    "reverb": (0.3, 0.0, 1.0),
    "fade_in": (0.0, 0.0, 64.0),  # 0 = the whole section
    "fade_out": (0.0, 0.0, 64.0),
    "sidechain": (6.0, 0.0, 24.0),
}
NO_PARAMETER = frozenset({"filter_sweep_up", "filter_sweep_down", "eq_swap_low"})
# Effects whose sound rings on after the layer's last sample (the renderer keeps a tail).
TAIL_EFFECTS = frozenset({"reverb", "delay"})
DEFAULT_DELAY_NOTE = "1/8"
MAX_EFFECTS_PER_LAYER = 8
# A high-pass at or above this removes a layer's bass (for the one-bass-per-section rule).
LOW_CUT_MIN_HZ = 100.0

_COMPACT = {re.sub("[^a-z]", "", name): name for name in EFFECTS_VOCABULARY}
_NOTE_RE = re.compile(r"^(\d{1,2})/(1|2|4|8|16|32)([dt]?)$")
_NUMBER_RE = re.compile(r"^([0-9]*\.?[0-9]+)(khz|k|hz|db|bars?|%)?$")


@dataclass(frozen=True)
class Effect:
    """A parsed effect.

    `value` is the numeric parameter in the unit of that effect (Hz for the filters, wet
    mix 0–1 for reverb, bars for the fades with 0 meaning the whole section, dB for
    sidechain) or, for delay, the echo time in beats (1/8 note = 0.5 beat); None for
    effects without a parameter. `text` is the canonical spelling, which parses back to
    the same effect.
    """

    name: str
    value: float | None
    text: str


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _split(text: str) -> tuple[str, str]:
    """("high pass", "2khz") from "high pass 2khz": the name ends at ':', '=', '(' or a digit."""
    match = re.search(r"[:=(]|\d", text)
    if not match:
        return text, ""
    cut = match.start()
    return text[:cut], text[cut:].lstrip(":=(").rstrip(")")


def _expected(name: str) -> str:
    return EFFECTS_VOCABULARY[name].split(" — ")[0]


def _parse_delay(text: str, param: str) -> tuple[Effect, str | None]:
    note = param or DEFAULT_DELAY_NOTE
    match = _NOTE_RE.match(note)
    beats = 0.0
    if match and int(match.group(1)) > 0:
        whole = Fraction(int(match.group(1)), int(match.group(2)))
        whole *= {"d": Fraction(3, 2), "t": Fraction(2, 3)}.get(match.group(3), Fraction(1))
        beats = float(whole * 4)  # a whole note is four beats in 4/4
    if 0 < beats <= 16:  # more than four bars of echo time is not a delay
        return Effect("delay", beats, f"delay:{note}"), None
    default = Effect("delay", 0.5, f"delay:{DEFAULT_DELAY_NOTE}")
    return default, (f"effect {text!r}: note {note!r} not understood (expected "
                     f"{_expected('delay')}); used {DEFAULT_DELAY_NOTE}")


def parse_effect(text: object) -> tuple[Effect | None, str | None]:
    """(effect, None) when understood; (None, warning) for an unknown name or a non-string;
    (effect, warning) when the parameter was unreadable (default used) or out of range
    (clamped) or given to an effect that takes none (ignored)."""
    if not isinstance(text, str) or not text.strip():
        return None, f"effect {text!r} is not a name; ignored"
    raw_name, raw_param = _split(text.strip().lower())
    compact = re.sub("[^a-z]", "", raw_name)
    name = _COMPACT.get(compact) or ALIASES.get(compact)
    if name is None:
        return None, (f"unknown effect {text!r} is ignored "
                      f"(known: {', '.join(EFFECTS_VOCABULARY)})")
    param = re.sub(r"\s+", "", raw_param)
    if name == "delay":
        return _parse_delay(text, param)
    if name in NO_PARAMETER:
        warning = f"effect {text!r}: {name} takes no parameter; ignored it" if param else None
        return Effect(name, None, name), warning
    default, low, high = _NUMERIC[name]
    if not param:
        return Effect(name, default, name), None
    match = _NUMBER_RE.match(param)
    if not match:
        return Effect(name, default, name), (
            f"effect {text!r}: parameter {param!r} not understood (expected "
            f"{_expected(name)}); used the default")
    value = float(match.group(1))
    unit = match.group(2) or ""
    if unit in ("k", "khz"):
        value *= 1000.0
    elif unit == "%":
        value /= 100.0
    if not low <= value <= high:
        clamped = min(max(value, low), high)
        return Effect(name, clamped, f"{name}:{_format_number(clamped)}"), (
            f"effect {text!r}: {value:g} is outside {low:g}–{high:g}; used {clamped:g}")
    return Effect(name, value, f"{name}:{_format_number(value)}"), None


def parse_effects(texts: Iterable[object], *, where: str = "") -> tuple[list[Effect], list[str]]:
    """A layer's effects in order (at most MAX_EFFECTS_PER_LAYER) and the warnings, each
    prefixed with `where`; never raises."""
    prefix = f"{where}: " if where else ""
    texts = list(texts)
    effects: list[Effect] = []
    warnings: list[str] = []
    for text in texts[:MAX_EFFECTS_PER_LAYER]:
        effect, warning = parse_effect(text)
        if effect is not None:
            effects.append(effect)
        if warning:
            warnings.append(prefix + warning)
    if len(texts) > MAX_EFFECTS_PER_LAYER:
        warnings.append(f"{prefix}{len(texts)} effects on one layer; only the first "
                        f"{MAX_EFFECTS_PER_LAYER} are used")
    return effects, warnings


def canonical_effects(texts: Iterable[str]) -> list[str]:
    """Each understood effect in its canonical spelling (what the renderer will do);
    unknown names are kept as written, for the renderer to skip with its own warning."""
    out = []
    for text in texts:
        effect, _ = parse_effect(text)
        out.append(effect.text if effect is not None else text)
    return out


def removes_lows(effects: Iterable[Effect]) -> bool:
    """Whether parsed effects take a layer's bass away (eq_swap_low, or a high-pass at
    LOW_CUT_MIN_HZ or above)."""
    return any(e.name == "eq_swap_low" or (e.name == "highpass" and
                                           (e.value or 0.0) >= LOW_CUT_MIN_HZ)
               for e in effects)


def has_low_cut(texts: Iterable[str]) -> bool:
    """`removes_lows` for a layer's effect strings."""
    return removes_lows(parse_effects(texts)[0])


def delay_time_sec(effect: Effect, *, tempo_bpm: float) -> float:
    """Echo time in seconds of a parsed delay effect at `tempo_bpm`."""
    if effect.name != "delay" or effect.value is None:
        raise ValueError("not a delay effect")
    return effect.value * 60.0 / tempo_bpm


def vocabulary_markdown() -> str:
    """The vocabulary as a Markdown list (for the README and the Claude prompt)."""
    return "\n".join(f"- `{name}`: {text}" for name, text in EFFECTS_VOCABULARY.items())
