"""A gate for separated vocals: the analysed singing passes, the rest is turned down.

Between sung lines a separated vocal stem holds only what the separator could not keep
out: the song's own drums and keys, quietly. Under another song's groove that residue is
a ghost of the wrong beat. The analysis knows where the song sings (its vocal
intervals), so outside them, widened by a hold for breaths and soft onsets, the vocal
stem is turned down to a floor rather than muted: a line the analysis missed stays
audible. On synthesised songs with known stems this gain raised the separated vocals'
SDR by 0.3-0.5 dB (separation bench seeds 5000 and 6000, six 20-s songs each, with the
analysis's own vocal intervals: separator v10 7.71 -> 8.00 dB and 6.74 -> 7.21 dB; v9 7.27 ->
7.81 and 6.48 -> 7.01); on the real excerpts, sung
throughout, it changes nothing (Lithium 1.09 -> 1.14, Potassium 4.00 -> 4.02).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

HOLD_SEC = 0.2  # kept open this long before and after each analysed line
FLOOR_DB = -15.0
FADE_SEC = 0.03  # the gate opens and closes over this (no click)


def vocal_gate_gain(start: int, stop: int, *, sample_rate_hz: int,
                    intervals_sec: Iterable[tuple[float, float]],
                    hold_sec: float = HOLD_SEC, floor_db: float = FLOOR_DB,
                    fade_sec: float = FADE_SEC) -> np.ndarray:
    """Gain (stop - start,) float32 for source samples [start, stop): 1 within the
    intervals widened by `hold_sec`, 10 ** (floor_db / 20) away from them, linear ramps
    of `fade_sec` outside each widened interval's edges. Only the intervals that reach
    the range are drawn, so a slice of a long song costs no more than the slice."""
    n = max(0, stop - start)
    floor = np.float32(10.0 ** (floor_db / 20.0))
    gain = np.full(n, floor, dtype=np.float32)
    fade = max(1, round(fade_sec * sample_rate_hz))
    for a_sec, b_sec in intervals_sec:
        a = round((a_sec - hold_sec) * sample_rate_hz) - start
        b = round((b_sec + hold_sec) * sample_rate_hz) - start
        if b + fade <= 0 or a - fade >= n or b <= a:
            continue
        lo, hi = max(0, a - fade), min(n, b + fade)
        index = np.arange(lo, hi)
        # 1 inside [a, b), falling linearly to 0 over `fade` samples outside it
        distance = np.maximum(np.maximum(a - index, index - (b - 1)), 0)
        opening = np.clip(1.0 - distance / fade, 0.0, 1.0).astype(np.float32)
        gain[lo:hi] = np.maximum(gain[lo:hi], floor + (1.0 - floor) * opening)
    return gain
