"""A second, Wiener-style pass over the stem masks: each stem's estimate is held to what
that kind of sound looks like, and the bins are re-shared among the four stems.

The first-pass masks (`masks.stem_masks`) are rules, each deciding one question (steady
or broadband, on the melody comb or off it, below the bass crossover or above); where
their answers overlap, the leftover goes to "other" whatever it looks like. Kernel
additive modelling (Liutkus et al. 2014) gives a better residual: each stem's magnitude
estimate is smoothed with the kernel of its own kind of sound, and each bin is then
shared in proportion to the smoothed estimates raised to a power.

Only "other" gets a kernel here: chords, pads and held notes of the accompaniment are
steady over a few tenths of a second, so a median over time of its estimate keeps them
and drops the clicks, consonants and vocal glides that the rules left over (those go
back to whichever stem holds the bin). The drum, bass and vocal estimates are left as
they are: a frequency median erases a kick's narrow sub-bass body, a time median a sung
note's vibrato (both measured worse). A power above one sharpens the shares (Wiener's
rule for magnitudes is 2): clean drums gain from it, real mixes less (see MaskParams).

A further pass (`fixed`: drums and vocals keep their masks) re-shares only bass and
"other", "other" rebuilt from the first pass and held over a longer span: a chord's
root, doubling the bass an octave or two up, sounds for a bar, so the frames where it
was heard beside a quieter or absent bass note claim it back for "other" in the frames
a bass note took it. On the rows just above the sub-bass (`peak_rows`, 100-160 Hz by
default) "other" is held at its loudest over that span instead of its median: there
the bass's second and third partials land on the roots and low tones of the chords, and
the first pass gave the bass the whole bin while its note sounded, so the median of a
chord's estimate still sat under the chord wherever the bass played most of the span;
the chord's level is what it reached between the notes.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

from services.separation.masks import median_along_time, percentile_along_time

EPS = 1e-10


def refine_masks(
    masks: dict[str, np.ndarray],
    magnitude: np.ndarray,
    *,
    power: float,
    other_hold_frames: int,
    fixed: tuple[str, ...] = (),
    peak_rows: slice = slice(0, 0),
    high_rows: slice = slice(0, 0),
    high_frames: int = 1,
    high_percentile: float = 50.0,
) -> dict[str, np.ndarray]:
    """Re-share the bins among the stems.

    masks: "vocals", "drums", "bass", each (bins, frames) in [0, 1], summing to at most
    one ("other" is one minus their sum); magnitude: the mix's (bins, frames) magnitude.
    Each stem's estimate is its mask times the magnitude, "other"'s smoothed by a
    median over `other_hold_frames` frames (1: no smoothing); the new mask of a stem
    is its estimate ** power over the sum of the four. The stems named in `fixed` keep
    their masks, and the others share what those leave (one minus their sum) in the same
    proportions. On `peak_rows` "other"'s estimate is held by a maximum over the same
    frames instead of the median (a sustained chord under a moving bass); on
    `high_rows` by its `high_percentile` over `high_frames` frames (pads and chords
    under a voice). Returns the
    three masks, same shapes, float32, summing to at most one; power 1 with no smoothing
    returns them unchanged (up to rounding).
    """
    if power <= 0:
        raise ValueError("power must be positive")
    magnitude = np.asarray(magnitude, dtype=np.float32)
    named = ("vocals", "drums", "bass")
    other = np.clip(1.0 - sum(masks[name] for name in named), 0.0, 1.0) * magnitude
    if other_hold_frames > 1:
        peak = other[peak_rows]
        high = other[high_rows]
        other = median_along_time(other, kernel=other_hold_frames)
        if high.size:
            other[high_rows] = percentile_along_time(high, kernel=high_frames,
                                                     percentile=high_percentile)
        if peak.size:
            other[peak_rows] = maximum_filter1d(peak, size=other_hold_frames, axis=1,
                                                mode="reflect")
    if any(name not in named for name in fixed):
        raise ValueError(f"fixed stems must be among {named}")
    free = [name for name in named if name not in fixed]
    parts = {name: np.power(masks[name] * magnitude, power) for name in free}
    total = sum(parts.values()) + np.power(other, power) + EPS
    # What the fixed stems hold is not re-shared; the free ones share the rest.
    room = np.clip(1.0 - sum((masks[name] for name in fixed), np.zeros_like(magnitude)),
                   0.0, 1.0)
    # Bins where the mix is silent keep their first-pass shares.
    silent = magnitude <= EPS
    return {name: (masks[name] if name in fixed else
                   np.where(silent, masks[name], room * parts[name] / total)).astype(np.float32)
            for name in named}
