"""The shape of a mashup: its form in whole phrases and its energy curve.

A phrase is four bars at targetBPM. Forms are chosen from song-like templates that fit
the number of phrases; each section's length stays within its template range, and
extra phrases go preferably where they make 8- or 16-bar sections.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from shared.contracts.orchestrator import ENERGY_CURVES, PlanOptions

PHRASE_BARS = 4
BEATS_PER_BAR = 4
DEFAULT_DURATION_SEC = 90.0
DEFAULT_DURATION_RANGE_SEC = (60.0, 240.0)
# The shortest plan anyone may ask for (two phrases at a fast tempo).
MIN_ASKABLE_SEC = 15.0

# (kind, min phrases, max phrases) per section, simplest first.
TEMPLATES: tuple[tuple[tuple[str, int, int], ...], ...] = (
    (("verse", 1, 2), ("drop", 1, 2)),
    (("verse", 1, 2), ("drop", 1, 3), ("outro", 1, 1)),
    (("intro", 1, 2), ("verse", 1, 4), ("drop", 1, 4), ("outro", 1, 2)),
    (("intro", 1, 2), ("verse", 2, 4), ("build", 1, 2), ("drop", 2, 4), ("outro", 1, 2)),
    (("intro", 1, 2), ("verse", 2, 4), ("build", 1, 2), ("drop", 2, 4), ("breakdown", 1, 4),
     ("drop", 2, 4), ("outro", 1, 2)),
    (("intro", 1, 2), ("verse", 2, 4), ("build", 1, 2), ("drop", 2, 4), ("breakdown", 1, 2),
     ("verse", 2, 4), ("build", 1, 2), ("drop", 2, 4), ("outro", 1, 2)),
)
# Where extra phrases go first; the bigger, the likelier.
_GROWTH_PRIORITY = {"drop": 1.0, "verse": 0.9, "breakdown": 0.6, "intro": 0.5, "outro": 0.4,
                    "build": 0.3}
# Typical energy of each kind of section (0..1), blended with the chosen curve.
KIND_ENERGY = {"intro": 0.3, "verse": 0.5, "build": 0.65, "drop": 0.95, "breakdown": 0.35,
               "outro": 0.3}


@dataclass(frozen=True)
class FormSection:
    kind: str
    bars: int


def asked_duration_range(options: PlanOptions | None) -> tuple[float, float]:
    """The length range (seconds) a plan must keep to.

    `min_duration_sec`/`max_duration_sec` when given, else 60–240 s. An explicit
    `duration_sec` below the default minimum (a preview, a test) asks for a short
    mashup, so then the minimum drops to MIN_ASKABLE_SEC; a `duration_sec` above the
    maximum is clamped (length costs render time and tokens) unless max_duration_sec
    raises it.
    """
    options = options or PlanOptions()
    low, high = DEFAULT_DURATION_RANGE_SEC
    if options.min_duration_sec is not None:
        low = max(MIN_ASKABLE_SEC, options.min_duration_sec)
    elif options.duration_sec is not None and options.duration_sec < low:
        low = MIN_ASKABLE_SEC
    if options.max_duration_sec is not None:
        high = options.max_duration_sec
    return low, max(low, high)


def wanted_duration(options: PlanOptions | None,
                    duration_range_sec: tuple[float, float]) -> tuple[float, str | None]:
    """(length to aim for in seconds, a warning when the asked length was clamped)."""
    options = options or PlanOptions()
    low, high = duration_range_sec
    wanted = options.duration_sec or min(high, max(low, DEFAULT_DURATION_SEC))
    if low <= wanted <= high:
        return wanted, None
    return min(high, max(low, wanted)), (f"duration_sec {wanted:g} is outside {low:g}–"
                                         f"{high:g} s; clamped")


def phrases_for(duration_sec: float, *, target_bpm: float,
                duration_range_sec: tuple[float, float] = DEFAULT_DURATION_RANGE_SEC) -> int:
    """Number of whole phrases closest to `duration_sec`, kept inside the range."""
    phrase_sec = PHRASE_BARS * BEATS_PER_BAR * 60.0 / target_bpm
    low, high = duration_range_sec
    phrases = max(1, round(duration_sec / phrase_sec))
    while phrases > 1 and phrases * phrase_sec > high + 1e-9:
        phrases -= 1
    while phrases * phrase_sec < low - 1e-9 and (phrases + 1) * phrase_sec <= high + 1e-9:
        phrases += 1
    return phrases


def phrase_sec(target_bpm: float) -> float:
    return PHRASE_BARS * BEATS_PER_BAR * 60.0 / target_bpm


def plan_length(duration_sec: float, *, target_bpm: float,
                duration_range_sec: tuple[float, float]) -> tuple[int, tuple[float, float]]:
    """(whole phrases to plan, the range to validate against).

    The range is the asked one, unless no whole number of phrases at `target_bpm` fits
    in it (a narrow range): then it widens just enough to hold the nearest one.
    """
    phrases = phrases_for(duration_sec, target_bpm=target_bpm,
                          duration_range_sec=duration_range_sec)
    total = phrases * phrase_sec(target_bpm)
    low, high = duration_range_sec
    return phrases, (min(low, total), max(high, total))


def _choose_template(phrases: int, rng: random.Random) -> list[tuple[str, int, int]]:
    fitting = [t for t in TEMPLATES if sum(s[1] for s in t) <= phrases <= sum(s[2] for s in t)]
    if not fitting:
        if phrases < sum(s[1] for s in TEMPLATES[0]):
            return [("drop", 1, phrases)]
        # Longer than any template allows: the richest one, with sections growing further.
        return [(kind, low, phrases) for kind, low, _ in TEMPLATES[-1]]
    # Usually the richest form that fits; sometimes a simpler one, for variety.
    richest = fitting[-1]
    if len(fitting) > 1 and rng.random() < 0.3:
        return list(rng.choice(fitting[:-1]))
    return list(richest)


def plan_form(phrases: int, rng: random.Random) -> list[FormSection]:
    """Sections (kind, bars) totalling exactly `phrases` phrases."""
    template = _choose_template(phrases, rng)
    sizes = [low for _, low, _ in template]
    extra = phrases - sum(sizes)
    while extra > 0:
        open_ = [i for i, (_, _, high) in enumerate(template) if sizes[i] < high]
        candidates = open_ or list(range(len(template)))

        def score(i: int) -> float:
            kind = template[i][0]
            # An odd phrase count grows first: 1 → 2 phrases is a 4 → 8 bar section.
            return 2.0 * (sizes[i] % 2) + _GROWTH_PRIORITY.get(kind, 0.5) + 0.6 * rng.random()

        best = max(candidates, key=score)
        sizes[best] += 1
        extra -= 1
    return [FormSection(kind, size * PHRASE_BARS) for (kind, _, _), size in
            zip(template, sizes, strict=True)]


def _bump(t: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((t - centre) / width) ** 2)


def _plateau_peak(t: float) -> float:
    if t < 0.4:
        return 0.3 + 1.5 * t  # 0.3 → 0.9
    if t < 0.85:
        return 0.9 + 0.1 * _bump(t, 0.65, 0.1)
    return 0.9 - (t - 0.85) / 0.15 * 0.5


CURVES: dict[str, Callable[[float], float]] = {
    "build": lambda t: 0.25 + 0.7 * t,
    "decline": lambda t: 0.95 - 0.65 * t,
    "wave": lambda t: 0.55 - 0.35 * math.cos(2.5 * math.pi * t),
    "steady": lambda t: 0.65,
    "double-peak": lambda t: 0.25 + 0.7 * max(_bump(t, 0.35, 0.12), _bump(t, 0.78, 0.12)),
    "late-peak": lambda t: 0.25 + 0.7 * _bump(t, 0.8, 0.15),
    "rollercoaster": lambda t: 0.55 - 0.4 * math.cos(5.0 * math.pi * t),
    "plateau-peak": _plateau_peak,
}
assert set(CURVES) == set(ENERGY_CURVES)


def energy_level(kind: str, position: float, curve: str) -> float:
    """Energy (0..1) of a section of `kind` centred at `position` (0..1 of the mashup)."""
    value = 0.5 * KIND_ENERGY.get(kind, 0.5) + 0.5 * CURVES[curve](min(1.0, max(0.0, position)))
    return round(min(1.0, max(0.0, value)), 2)
