"""Which frequency bands the voice has partials in: the melody comb's contrast per band.

The vocal comb (`masks.comb_mask`) keeps up to 20 teeth, as real voices carry
partials up to several kHz; a voice with few partials (the synthetic voice holds 99 %
of its energy below 1.6 kHz) leaves the upper teeth to sample the accompaniment, and
the comb took about half of those bins from it (seed 5000 rock_9 / house_6: comb bins
above 1.6 kHz held 0.1-0.2 % of the vocal energy and took 0.8 % of it from "other").

Where the voice has partials, its teeth hold more power than the gaps between them; where
it has none, the teeth sample the accompaniment as the gaps do. So per band (half
octaves from 200 Hz), over the song's sure melody frames (`certainty` >= 0.99: heard as
voiced by Melodia and the lead-vocal gate), the contrast is the teeth's mean power over
the gaps' mean power: 6-65 where the synthetic voice sings, 0.7-2 above its last
partial. It is a song-level cue (gathered in the cue pass, `cues.song_cues`), so the
result does not depend on the chunk size.
"""

from __future__ import annotations

import numpy as np

TOOTH = 0.5  # a bin with comb above this is on a tooth
GAP = 0.05  # one with comb below this lies between the teeth


def band_index(freqs_hz: np.ndarray, edges_hz: tuple[float, ...]) -> np.ndarray:
    """The band (between consecutive `edges_hz`) each bin lies in, (bins,) int; -1
    outside every band."""
    index = np.searchsorted(np.asarray(edges_hz), freqs_hz, side="right") - 1
    return np.where((index >= 0) & (index < len(edges_hz) - 1), index, -1)


def add_band_power(
    sums: np.ndarray, power: np.ndarray, comb: np.ndarray, *, bands: np.ndarray,
    frames: np.ndarray, inside: np.ndarray,
) -> None:
    """Accumulate into `sums` (4, n_bands): per band the teeth's summed power, their bin
    count, the gaps' summed power and count, over the frames where `frames` (bool,
    (frames,)) is set. power, comb: (bins, frames); bands: `band_index` (bins,);
    inside: (bins, frames) bool, the bins within the comb's reach (below its last
    tooth): above it every bin would count as a gap, and the frames with a low f0 (no
    teeth high up) would set the gaps' level alone."""
    if not np.any(frames):
        return
    sub_power, sub_comb, sub_inside = power[:, frames], comb[:, frames], inside[:, frames]
    for band in range(sums.shape[1]):
        rows = bands == band
        if not rows.any():
            continue
        band_power, band_comb = sub_power[rows], sub_comb[rows]
        on, gap = band_comb > TOOTH, (band_comb < GAP) & sub_inside[rows]
        sums[:, band] += (band_power[on].sum(), on.sum(), band_power[gap].sum(), gap.sum())


def band_contrast(sums: np.ndarray, *, min_teeth: int) -> np.ndarray:
    """Per band, (n_bands,), the teeth's mean power over the gaps' from `add_band_power`'s
    sums; inf (no evidence against the voice) where the band has fewer than `min_teeth`
    tooth bins or no gap power."""
    on_sum, on_count, gap_sum, gap_count = sums
    contrast = np.full(sums.shape[1], np.inf, dtype=np.float32)
    known = (on_count >= max(min_teeth, 1)) & (gap_count > 0) & (gap_sum > 0)
    contrast[known] = (on_sum[known] / on_count[known]) / (gap_sum[known] / gap_count[known])
    return contrast


def band_gain(
    freqs_hz: np.ndarray, contrast: np.ndarray, *, edges_hz: tuple[float, ...],
    ramp: tuple[float, float],
) -> np.ndarray:
    """The comb's gain per bin, (bins,) in [0, 1]: its band's contrast ramped from
    ramp[0] (0) to ramp[1] (1); 1 outside every band or where the contrast is unknown."""
    gain = np.ones(freqs_hz.size, dtype=np.float32)
    if contrast.size == 0:
        return gain
    bands = band_index(freqs_hz, edges_hz)
    inside = bands >= 0
    low, high = ramp
    per_band = np.clip((contrast - low) / max(high - low, 1e-9), 0.0, 1.0)
    gain[inside] = per_band[bands[inside]]
    return gain
