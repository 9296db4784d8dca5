"""DJ cue points from the song form: where to start mixing in, where to start mixing out,
and the moments around each drop."""

from __future__ import annotations

import itertools

import numpy as np

from services.analysis.sections import Section

PRE_DROP_BARS = 4
HOOK_LABELS = ("drop", "chorus")
MIN_DROP_RISE = 0.15  # energy (0..1) a hook must gain over the section before it
AUDIBLE_ENERGY = 0.05  # energy-curve level below which the song has not really started


def cue_points(*, sections: list[Section], phrase_starts_sec: np.ndarray, bar_sec: float,
               energy_curve: np.ndarray, energy_hop_sec: float,
               duration_sec: float) -> list[tuple[str, float]]:
    """[(type, time_sec)] sorted by time.

    mix_in: the first phrase start once the song is audible; mix_out: the last phrase
    start before the outro (without an outro, the last one leaving 8 bars to play);
    pre_drop / post_drop: PRE_DROP_BARS bars before, and at, every chorus or drop that
    lifts the energy."""
    phrases = np.asarray(phrase_starts_sec, dtype=np.float64)
    if not len(phrases):
        phrases = np.array([0.0])
    cues: list[tuple[str, float]] = []

    audible = np.flatnonzero(np.asarray(energy_curve) >= AUDIBLE_ENERGY)
    start_sec = audible[0] * energy_hop_sec if len(audible) else 0.0
    # Half a hop of slack: the energy block that first turns audible may start just
    # after the phrase's downbeat.
    later = phrases[phrases >= start_sec - energy_hop_sec]
    mix_in = float(later[0]) if len(later) else float(phrases[0])
    cues.append(("mix_in", mix_in))

    outro = next((s for s in reversed(sections) if s.label == "outro"), None)
    limit = outro.start_sec if outro is not None else duration_sec - 8 * bar_sec
    before = phrases[(phrases <= limit + 1e-3) & (phrases > mix_in)]
    mix_out = float(before[-1]) if len(before) else float(phrases[-1])
    cues.append(("mix_out", max(mix_out, mix_in)))

    for previous, section in itertools.pairwise(sections):
        if section.label in HOOK_LABELS and section.energy - previous.energy >= MIN_DROP_RISE:
            cues.append(("pre_drop", max(0.0, section.start_sec - PRE_DROP_BARS * bar_sec)))
            cues.append(("post_drop", section.start_sec))
    return sorted(((kind, round(time_sec, 3)) for kind, time_sec in cues), key=lambda c: c[1])
