"""The bass line's f0 per STFT frame, and a harmonic comb on it.

Below ~100 Hz the kick drum's tail and the bass notes are both nearly steady low sines,
so neither HPSS nor a crossover tells them apart; knowing the bass note does. A bass note
has overtones (2f, 3f, ...) that reach above the kick's band, the kick's tail has none.
So the f0 of each frame is the candidate whose harmonics 1..H carry the most harmonic,
centred energy (square-root magnitudes, the fundamental weighted least, so a bare kick
sine cannot win on its own), smoothed over a few frames; a frame is voiced when that
salience stands out from the frame's other candidates. Bass lines are mixed to the
centre and pads usually are not, so the caller passes the centre-weighted magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

HARMONIC_WEIGHTS = (0.5, 1.0, 1.0, 0.8, 0.6, 0.5)  # fundamental first


@dataclass(frozen=True)
class BassParams:
    # Down to A0: 808s and five-string basses reach B0-C1 (31-33 Hz), and a tracker
    # floored above the note parks on its floor, putting every comb tooth off the
    # partials (Potassium, C1 bass: drums -6.18 -> -5.88 dB at 27 Hz; the synthetic
    # corpus, whose basses stay above 35 Hz, unchanged).
    min_hz: float = 27.0
    max_hz: float = 250.0
    steps_per_semitone: int = 4
    smooth_frames: int = 5  # median filter over frames on log f0
    # A frame is voiced when its best candidate's salience is this many times the
    # frame's mean salience over all candidates (a frame-local test, so the result does
    # not depend on how the song is chunked).
    voicing: float = 1.5
    n_harmonics: int = 10  # comb teeth
    width_hz: float = 3.0  # half width of a tooth, besides `width_ratio` · frequency
    width_ratio: float = 0.015
    # ... and at least this many bins: a partial between two bin centres lies up to half
    # a bin from both, so a narrower tooth can miss every bin of the note it is for (on
    # the 93 ms window, 10.8 Hz bins, a lone bass line kept about half its sub-bass).
    # The synthetic songs unchanged (avg dB 5000 / 6000 / 100 / 3000 / 4000); Potassium
    # 2.20 -> 2.48 (bass 9.62 -> 10.08, drums -5.55 -> -4.88), Lithium 3.17 -> 3.20. A
    # whole bin won more on the excerpts (2.78 / 3.23) but cost the synthetic songs
    # 0.01 dB (their kicks lie a bin from the notes), as did width_ratio 0.05.
    width_bins: float = 0.5


def bass_f0(
    magnitude: np.ndarray, *, freqs_hz: np.ndarray, params: BassParams
) -> np.ndarray:
    """f0 in Hz per frame (frames,) float32, 0 where unvoiced, from a (bins, frames)
    magnitude (harmonic, centred part) with bin centres `freqs_hz` (uniform from 0)."""
    n_frames = magnitude.shape[1]
    if n_frames == 0 or not np.any(magnitude):
        return np.zeros(n_frames, dtype=np.float32)
    bin_hz = float(freqs_hz[1] - freqs_hz[0])
    n_semitones = 12 * np.log2(params.max_hz / params.min_hz)
    candidates = params.min_hz * 2 ** (
        np.arange(int(n_semitones * params.steps_per_semitone) + 1)
        / (12 * params.steps_per_semitone))
    root = np.sqrt(np.asarray(magnitude, dtype=np.float32))
    salience = np.zeros((candidates.size, n_frames), dtype=np.float32)
    for harmonic, weight in enumerate(HARMONIC_WEIGHTS, start=1):
        position = candidates * harmonic / bin_hz
        low = np.clip(np.floor(position).astype(int), 0, root.shape[0] - 2)
        frac = np.clip(position - low, 0.0, 1.0)[:, None].astype(np.float32)
        salience += weight * ((1 - frac) * root[low] + frac * root[low + 1])
    best = np.argmax(salience, axis=0)
    peak = salience[best, np.arange(n_frames)]
    log_f0 = median_filter(np.log2(candidates[best]), size=params.smooth_frames, mode="nearest")
    voiced = peak > params.voicing * salience.mean(axis=0) + 1e-12
    voiced = median_filter(voiced, size=params.smooth_frames, mode="nearest")
    return np.where(voiced, 2.0 ** log_f0, 0.0).astype(np.float32)


def bass_comb(freqs_hz: np.ndarray, f0_hz: np.ndarray, *, params: BassParams) -> np.ndarray:
    """Mask (bins, frames) in [0, 1]: 1 within a tooth around h·f0 (h = 1..n_harmonics),
    a Gaussian fall-off of the tooth width outside, 0 in unvoiced frames. `freqs_hz`:
    the bin centres (uniform from 0; a prefix of them is fine)."""
    mask = np.zeros((freqs_hz.size, f0_hz.size), dtype=np.float32)
    voiced = np.flatnonzero(f0_hz > 0)
    if voiced.size == 0:
        return mask
    f0 = f0_hz[voiced][None, :]
    freqs = freqs_hz[:, None]
    harmonic = np.clip(np.rint(freqs / f0), 1, params.n_harmonics)
    centre_hz = harmonic * f0
    bin_hz = float(freqs_hz[1] - freqs_hz[0]) if freqs_hz.size > 1 else 0.0
    width = max(params.width_hz, params.width_bins * bin_hz) + params.width_ratio * centre_hz
    slack = np.maximum(np.abs(freqs - centre_hz) - width, 0.0)
    teeth = np.exp(-0.5 * (slack / width) ** 2)
    inside = (freqs > 0.5 * f0) & (freqs < (params.n_harmonics + 0.5) * f0)
    mask[:, voiced] = np.where(inside, teeth, 0.0)
    return mask


def bass_reach_hz(
    magnitude: np.ndarray, *, freqs_hz: np.ndarray, f0_hz: np.ndarray, hold_frames: int,
    margin: float, max_hz: float,
) -> float:
    """How far up the bass line's partials stand out, in Hz: per voiced frame the highest
    harmonic h·f0 (up to `max_hz`) whose bin is louder than `margin` times that bin's
    median over `hold_frames` frames (the level the accompaniment holds there), the
    median over the voiced frames. 0 when no frame is voiced.

    magnitude: the mix's (bins, frames); freqs_hz: bin centres (uniform from 0);
    f0_hz: (frames,) from `bass_f0`. A synthesised bass's few, fast-falling partials sink
    under a sustained pad an octave or two up; a real bass's (a plucked string, a
    distorted synth) stay above it further, and the crossover should follow them.
    """
    voiced = np.flatnonzero(f0_hz > 0)
    if voiced.size == 0 or freqs_hz.size < 2:
        return 0.0
    bin_hz = float(freqs_hz[1] - freqs_hz[0])
    n_rows = min(magnitude.shape[0], int(np.ceil(max_hz / bin_hz)) + 2)
    low = np.asarray(magnitude[:n_rows], dtype=np.float32)
    held = median_filter(low, size=(1, max(1, hold_frames)), mode="reflect")
    f0 = f0_hz[voiced].astype(np.float64)
    n_harmonics = int(max_hz / max(float(f0.min()), 1.0)) + 1
    harmonics = np.arange(1, n_harmonics + 1, dtype=np.float64)[:, None]
    partial_hz = harmonics * f0[None, :]  # (harmonics, voiced frames)
    rows = np.clip(np.rint(partial_hz / bin_hz).astype(int), 0, n_rows - 1)
    columns = np.broadcast_to(voiced[None, :], rows.shape)
    standing = (low[rows, columns] > margin * held[rows, columns]) & (partial_hz <= max_hz)
    reach = np.where(standing, partial_hz, 0.0).max(axis=0)
    return float(np.median(reach))
