"""The effects a masterplan layer may name, parsed tolerantly and applied to a layer.

Names and parameters match the orchestrator's vocabulary (services/orchestrator/effects.py):
`name` or `name:parameter`. Parsing forgives case, spaces, hyphens and a few aliases
("High Pass 2kHz", "LPF(800)", "sweep up"); an unknown effect or a bad parameter is a
warning sentence for the response, never an error. All effects run on a layer's buffer
(float32 (2, n)); the section occupies samples [section_start, section_start +
section_length) of that buffer, the rest is crossfade pre-roll or effect tail.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pedalboard
from scipy import signal

EFFECTS_VOCABULARY: dict[str, str] = {
    "highpass": "highpass[:cutoff_hz] — high-pass filter, 24 dB/oct (default 200 Hz).",
    "lowpass": "lowpass[:cutoff_hz] — low-pass filter, 24 dB/oct (default 800 Hz).",
    "filter_sweep_up": "filter_sweep_up — a low-pass opening from 300 Hz to fully open "
    "across the section.",
    "filter_sweep_down": "filter_sweep_down — a low-pass closing from fully open to 300 Hz "
    "across the section.",
    "reverb": "reverb[:mix] — room reverb, wet mix 0–1 (default 0.3); its tail rings on "
    "past the section when the layer stops.",
    "delay": "delay[:note] — echo synced to targetBPM: n/d, 'd' dotted, 't' triplet "
    "(default 1/8).",
    "fade_in": "fade_in[:bars] — fade in over the first bars (default: the whole section).",
    "fade_out": "fade_out[:bars] — fade out over the last bars (default: the whole section).",
    "sidechain": "sidechain[:depth_db] — duck under the kick of the other song's drum layer "
    "in the section (else its own song's, else on every beat), depth 0–24 dB (default 6).",
    "eq_swap_low": "eq_swap_low — cut this layer below 150 Hz for the section so another "
    "layer's bass owns the low end.",
}
TAIL_EFFECTS = frozenset({"reverb", "delay"})
_DEFAULTS = {"highpass": 200.0, "lowpass": 800.0, "reverb": 0.3, "fade_in": 0.0,
             "fade_out": 0.0, "sidechain": 6.0, "delay": 0.5}
_RANGES = {"highpass": (20.0, 20000.0), "lowpass": (20.0, 20000.0), "reverb": (0.0, 1.0),
           "fade_in": (0.0, 64.0), "fade_out": (0.0, 64.0), "sidechain": (0.0, 24.0)}
_ALIASES = {"hpf": "highpass", "hp": "highpass", "lpf": "lowpass", "lp": "lowpass",
            "sweepup": "filter_sweep_up", "filtersweep": "filter_sweep_up",
            "sweepdown": "filter_sweep_down", "echo": "delay", "duck": "sidechain",
            "pump": "sidechain", "eqswap": "eq_swap_low", "bassswap": "eq_swap_low",
            "fadein": "fade_in", "fadeout": "fade_out"}
_COMPACT = {re.sub("[^a-z]", "", name): name for name in EFFECTS_VOCABULARY}
_NOTE_RE = re.compile(r"^(\d{1,2})/(\d{1,2})([dt]?)$")
_NUMBER_RE = re.compile(r"^([0-9]*\.?[0-9]+)(khz|k|hz|db|bars?|%)?$")
SWEEP_LOW_HZ = 300.0
EQ_SWAP_HZ = 150.0
_SWEEP_BLOCK = 1024  # 23 ms cutoff steps: fine enough for a sweep over bars


@dataclass(frozen=True)
class Effect:
    """A parsed effect; `value` in the effect's unit (Hz, wet mix, bars, dB, or beats for
    delay), None for effects without a parameter."""

    name: str
    value: float | None
    text: str


def _split(text: str) -> tuple[str, str]:
    match = re.search(r"[:=(]|\d", text)
    if not match:
        return text, ""
    cut = match.start()
    return text[:cut], text[cut:].lstrip(":=(").rstrip(")")


def parse_effect(text: object) -> tuple[Effect | None, str | None]:
    """(effect, None) when understood; (None, warning) when not; (effect, warning) when a
    parameter was out of range and got clamped."""
    if not isinstance(text, str) or not text.strip():
        return None, f"effect {text!r} is not a name; ignored"
    raw_name, raw_param = _split(text.strip().lower())
    compact = re.sub("[^a-z]", "", raw_name)
    name = _COMPACT.get(compact) or _ALIASES.get(compact)
    if name is None:
        known = ", ".join(EFFECTS_VOCABULARY)
        return None, f"unknown effect {text!r} ignored (known: {known})"
    param = re.sub(r"\s+", "", raw_param)
    if name in ("filter_sweep_up", "filter_sweep_down", "eq_swap_low"):
        return Effect(name, None, name), None
    if name == "delay":
        return _parse_delay(text, param)
    if not param:
        return Effect(name, _DEFAULTS[name], name), None
    match = _NUMBER_RE.match(param)
    if not match:
        return Effect(name, _DEFAULTS[name], name), (
            f"effect {text!r}: parameter {param!r} not understood; used the default")
    value = float(match.group(1))
    unit = match.group(2) or ""
    if unit in ("k", "khz"):
        value *= 1000.0
    if unit == "%":
        value /= 100.0
    low, high = _RANGES[name]
    if not low <= value <= high:
        clamped = min(max(value, low), high)
        return Effect(name, clamped, f"{name}:{clamped:g}"), (
            f"effect {text!r}: {value:g} is outside {low:g}–{high:g}; used {clamped:g}")
    return Effect(name, value, f"{name}:{value:g}"), None


def _parse_delay(text: str, param: str) -> tuple[Effect | None, str | None]:
    note = param or "1/8"
    match = _NOTE_RE.match(note)
    if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        return Effect("delay", _DEFAULTS["delay"], "delay:1/8"), (
            f"effect {text!r}: note {note!r} not understood; used 1/8")
    whole = Fraction(int(match.group(1)), int(match.group(2)))
    whole *= {"d": Fraction(3, 2), "t": Fraction(2, 3)}.get(match.group(3), Fraction(1))
    beats = float(whole * 4)
    if beats > 16:
        return Effect("delay", _DEFAULTS["delay"], "delay:1/8"), (
            f"effect {text!r}: an echo longer than 4 bars is not a delay; used 1/8")
    return Effect("delay", beats, f"delay:{note}"), None


def parse_effects(texts: tuple[str, ...] | list[str], *, where: str) -> tuple[list[Effect],
                                                                              list[str]]:
    """Parse a layer's effects; warnings are prefixed with `where`."""
    effects, warnings = [], []
    for text in texts:
        effect, warning = parse_effect(text)
        if effect is not None:
            effects.append(effect)
        if warning:
            warnings.append(f"{where}: {warning}")
    return effects, warnings


@dataclass(frozen=True)
class EffectContext:
    """Where the section sits in a layer buffer, and the tempo."""

    sample_rate_hz: int
    tempo_bpm: float
    beats_per_bar: int
    section_start: int  # buffer index of the section's first sample
    section_length: int  # samples
    buffer_start_sec: float  # output time of buffer index 0
    kick_envelope: np.ndarray | None = None  # (n,) 0..1 over the buffer, or None

    @property
    def bar_samples(self) -> float:
        return self.beats_per_bar * 60.0 / self.tempo_bpm * self.sample_rate_hz


def butter_filter(audio: np.ndarray, *, cutoff_hz: float, kind: str, sample_rate_hz: int,
                  order: int = 4) -> np.ndarray:
    """Butterworth high/low-pass along the last axis; float32 out."""
    cutoff = min(max(cutoff_hz, 10.0), 0.45 * sample_rate_hz)
    sos = signal.butter(order, cutoff, btype=kind, fs=sample_rate_hz, output="sos")
    return signal.sosfilt(sos, audio, axis=-1).astype(np.float32)


def low_band(audio: np.ndarray, *, cutoff_hz: float, sample_rate_hz: int) -> np.ndarray:
    """Zero-phase low band (forward-backward Butterworth): `audio - low_band(audio)` is the
    exactly complementary high band, so lows can be faded out without phase smear."""
    sos = signal.butter(4, cutoff_hz, btype="low", fs=sample_rate_hz, output="sos")
    return signal.sosfiltfilt(sos, audio, axis=-1).astype(np.float32)


def _lowpass_biquad(cutoff_hz: float, sample_rate_hz: int) -> np.ndarray:
    """RBJ-cookbook low-pass (Q = 1/sqrt 2) as one sos row."""
    w0 = 2 * math.pi * min(cutoff_hz, 0.45 * sample_rate_hz) / sample_rate_hz
    alpha = math.sin(w0) / math.sqrt(2.0)
    cos_w0 = math.cos(w0)
    a0 = 1 + alpha
    b = np.array([(1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2]) / a0
    a = np.array([1.0, -2 * cos_w0 / a0, (1 - alpha) / a0])
    return np.concatenate([b, a])[None, :]


def filter_sweep(audio: np.ndarray, *, ctx: EffectContext, rising: bool) -> np.ndarray:
    """Low-pass whose cutoff moves exponentially between 300 Hz and fully open across the
    section; processed in 1024-sample blocks, the filter state carried across blocks."""
    sr = ctx.sample_rate_hz
    top = 0.45 * sr
    n = audio.shape[1]
    out = np.empty_like(audio, dtype=np.float32)
    zi = np.zeros((2, audio.shape[0], 2))  # two cascaded biquads: 24 dB/oct
    for a in range(0, n, _SWEEP_BLOCK):
        b = min(a + _SWEEP_BLOCK, n)
        u = np.clip(((a + b) / 2 - ctx.section_start) / max(ctx.section_length, 1), 0.0, 1.0)
        u = u if rising else 1.0 - u
        cutoff = SWEEP_LOW_HZ * (top / SWEEP_LOW_HZ) ** u
        sos = np.vstack([_lowpass_biquad(cutoff, sr)] * 2)
        out[:, a:b], zi = signal.sosfilt(sos, audio[:, a:b], axis=-1, zi=zi)
    return out


def _fade_curve(u: np.ndarray) -> np.ndarray:
    return np.sin(0.5 * np.pi * np.clip(u, 0.0, 1.0)) ** 2


def _fade(audio: np.ndarray, effect: Effect, ctx: EffectContext) -> np.ndarray:
    bars = effect.value or 0.0
    length = ctx.section_length if bars <= 0 else min(ctx.section_length,
                                                      int(bars * ctx.bar_samples))
    idx = np.arange(audio.shape[1]) - ctx.section_start
    if effect.name == "fade_in":
        gain = _fade_curve(idx / max(length, 1))
    else:
        gain = _fade_curve((ctx.section_length - idx) / max(length, 1))
    return (audio * gain[None, :]).astype(np.float32)


def kick_envelope(drums: np.ndarray, *, sample_rate_hz: int) -> np.ndarray:
    """0..1 envelope of the kick in a drum signal (2, n) or (n,): low band (< 150 Hz),
    rectified, smoothed over 30 ms, scaled by its 99.5th percentile."""
    mono = drums.mean(axis=0) if drums.ndim == 2 else drums
    low = butter_filter(mono, cutoff_hz=150.0, kind="lowpass", sample_rate_hz=sample_rate_hz)
    pole = math.exp(-1.0 / (0.03 * sample_rate_hz))
    env = signal.lfilter([1 - pole], [1, -pole], np.abs(low))
    scale = float(np.percentile(env, 99.5)) if env.size else 0.0
    if scale <= 1e-6:
        return np.zeros_like(env, dtype=np.float32)
    return np.clip(env / scale, 0.0, 1.0).astype(np.float32)


def grid_pump(n: int, ctx: EffectContext) -> np.ndarray:
    """A kick-like envelope on every output beat (1 at the beat, decaying within it)."""
    beat_samples = 60.0 / ctx.tempo_bpm * ctx.sample_rate_hz
    t = ctx.buffer_start_sec * ctx.sample_rate_hz + np.arange(n)
    phase = np.mod(t, beat_samples) / beat_samples
    return np.exp(-phase / 0.3).astype(np.float32)


def _sidechain(audio: np.ndarray, effect: Effect, ctx: EffectContext) -> np.ndarray:
    env = ctx.kick_envelope if ctx.kick_envelope is not None else grid_pump(audio.shape[1], ctx)
    depth_db = effect.value if effect.value is not None else _DEFAULTS["sidechain"]
    gain = 10 ** (-depth_db * env / 20.0)
    return (audio * gain[None, :]).astype(np.float32)


def apply_effect(audio: np.ndarray, effect: Effect, ctx: EffectContext) -> np.ndarray:
    """One effect on a layer buffer (2, n) → (2, n) float32."""
    sr = ctx.sample_rate_hz
    name = effect.name
    if name in ("highpass", "lowpass"):
        return butter_filter(audio, cutoff_hz=effect.value or _DEFAULTS[name],
                             kind=name.replace("pass", ""), sample_rate_hz=sr)
    if name == "eq_swap_low":
        return butter_filter(audio, cutoff_hz=EQ_SWAP_HZ, kind="high", sample_rate_hz=sr)
    if name in ("filter_sweep_up", "filter_sweep_down"):
        return filter_sweep(audio, ctx=ctx, rising=name == "filter_sweep_up")
    if name == "reverb":
        mix = effect.value if effect.value is not None else _DEFAULTS["reverb"]
        reverb = pedalboard.Reverb(room_size=0.6, damping=0.5, wet_level=mix,
                                   dry_level=1.0 - 0.5 * mix, width=1.0)
        return reverb(audio.astype(np.float32), sr)
    if name == "delay":
        beats = effect.value or _DEFAULTS["delay"]
        delay = pedalboard.Delay(delay_seconds=beats * 60.0 / ctx.tempo_bpm, feedback=0.35,
                                 mix=0.3)
        return delay(audio.astype(np.float32), sr)
    if name in ("fade_in", "fade_out"):
        return _fade(audio, effect, ctx)
    if name == "sidechain":
        return _sidechain(audio, effect, ctx)
    raise ValueError(f"no implementation for effect {name!r}")


def apply_effects(audio: np.ndarray, effects: list[Effect], ctx: EffectContext) -> np.ndarray:
    """The effects in the order the plan lists them."""
    for effect in effects:
        audio = apply_effect(audio, effect, ctx)
    return audio
