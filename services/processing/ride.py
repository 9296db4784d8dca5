"""Section loudness that follows the plan's energy: no section outplays the drops.

Each layer is placed at its song's matched level plus the plan's volume, so a section's
loudness follows its sources, not its place in the energy arc: a breakdown of keys and a
reverberant vocal came out 0.9 dB louder than the drops around it (one real render), a
build 1.2 dB louder than the drop it led into. The master then normalises the whole mix,
so only the sections' loudness relative to each other is ours to set.

The ride is a cut-only rule. The sections nearest the plan's highest energy (within
`REFERENCE_BAND` of it, the drops or choruses) are the reference; every other section may
be at most `SLOPE_DB_PER_ENERGY` dB per unit of energy under them, plus `TOLERANCE_DB`;
a section louder than that is turned down to it, by at most `MAX_CUT_DB`. Quieter sections
are left as they are (an intro's fade-in, a sparse breakdown: their quiet is the plan's),
and the reference sections keep their level. Gains change at section boundaries: a rise
swells over the last beat before the boundary (a build leaning into its drop), a fall
is a short ramp after it (the drop ends where its bar ends).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from shared.loudness import SILENCE_LUFS, integrated_lufs

SLOPE_DB_PER_ENERGY = 6.0  # a verse at energy 0.55 under a 0.95 drop: 2.4 dB quieter
TOLERANCE_DB = 0.5
MAX_CUT_DB = 4.0
REFERENCE_BAND = 0.1  # sections within this much of the highest energy set the level
FALL_RAMP_SEC = 0.05


def section_lufs(bus: np.ndarray, bounds: Sequence[tuple[int, int]], *,
                 sample_rate_hz: int) -> list[float]:
    """Integrated loudness (BS.1770, gated) of each [start, end) sample span of `bus`
    (channels, n); `SILENCE_LUFS` for a span too short or too quiet to measure."""
    out = []
    for start, end in bounds:
        if end - start < int(0.4 * sample_rate_hz):
            out.append(SILENCE_LUFS)
            continue
        out.append(integrated_lufs(bus[:, start:end], sample_rate_hz=sample_rate_hz))
    return out


def ride_gains_db(loudness_lufs: Sequence[float], energy: Sequence[float]) -> list[float]:
    """The gain (dB, <= 0) of each section so that none is louder than the reference
    sections (those within `REFERENCE_BAND` of the highest energy, loudness averaged in
    power) minus `SLOPE_DB_PER_ENERGY` per unit of energy it lies under them, plus
    `TOLERANCE_DB`. Unmeasurable (silent) sections get 0."""
    n = len(loudness_lufs)
    if n != len(energy):
        raise ValueError("one loudness and one energy per section")
    audible = [i for i in range(n) if loudness_lufs[i] > SILENCE_LUFS]
    if not audible:
        return [0.0] * n
    top = max(energy[i] for i in audible)
    reference = [i for i in audible if energy[i] >= top - REFERENCE_BAND]
    ref_lufs = 10 * np.log10(np.mean([10 ** (loudness_lufs[i] / 10) for i in reference]))
    ref_energy = float(np.mean([energy[i] for i in reference]))
    gains = [0.0] * n
    for i in audible:
        if i in reference:
            continue
        ceiling = ref_lufs - SLOPE_DB_PER_ENERGY * max(ref_energy - energy[i], 0.0) \
            + TOLERANCE_DB
        over = loudness_lufs[i] - ceiling
        if over > 0:
            gains[i] = -float(min(over, MAX_CUT_DB))
    return gains


def apply_ride(bus: np.ndarray, bounds: Sequence[tuple[int, int]],
               gains_db: Sequence[float], *, beat_samples: int, sample_rate_hz: int) -> None:
    """Multiply `bus` (channels, n) in place by each section's gain over [start, end),
    the changes between neighbours ramped (raised cosine): a rise over the beat before
    the boundary, a fall over `FALL_RAMP_SEC` after it. Samples outside every section
    take the nearest section's gain. Section by section, with no whole-song gain array
    (a 10-minute render's would take ~200 MB)."""
    if not any(g != 0.0 for g in gains_db):
        return
    n = bus.shape[1]
    order = sorted(range(len(bounds)), key=lambda i: bounds[i][0])
    # Where each section's steady gain holds: its span, less the ramps at its edges.
    spans = {}
    for k, i in enumerate(order):
        start, end = bounds[i]
        spans[i] = [0 if k == 0 else max(start, 0), n if k == len(order) - 1 else min(end, n)]
    ramps = []
    fall = max(1, int(FALL_RAMP_SEC * sample_rate_hz))
    for prev, nxt in pairwise(order):
        edge = bounds[nxt][0]
        before, after = gains_db[prev], gains_db[nxt]
        if before == after or not 0 < edge < n:
            continue
        a, b = (edge - beat_samples, edge) if after > before else (edge, edge + fall)
        a, b = max(a, spans[prev][0]), min(b, spans[nxt][1])
        if b <= a:
            continue
        spans[prev][1] = min(spans[prev][1], a)
        spans[nxt][0] = max(spans[nxt][0], b)
        t = (np.arange(b - a) + 0.5) / (b - a)
        ramp_db = before + (after - before) * 0.5 * (1.0 - np.cos(np.pi * t))
        ramps.append((a, b, (10.0 ** (ramp_db / 20.0)).astype(np.float32)))
    for i, (a, b) in spans.items():
        if b > a and gains_db[i] != 0.0:
            bus[:, a:b] *= np.float32(10.0 ** (gains_db[i] / 20.0))
    for a, b, ramp in ramps:
        bus[:, a:b] *= ramp
