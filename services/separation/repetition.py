"""Repeating-pattern model of a spectrogram (REPET-SIM, Rafii & Pardo 2012).

Popular music repeats: the drums, the bass line and the chords come back bar after bar,
while the lead vocal changes its words and notes. For each frame we find the frames of the
song most similar to it (cosine similarity of compressed spectra, at least `min_gap_sec`
apart so the neighbours are other bars, not the same note's next frame) and take the
element-wise median of their magnitudes: that median keeps what the similar frames share
(the repeating accompaniment) and drops what only a few of them have (a sung note). The
repeating share of a bin is min(median, |X|) / |X|.

The search needs no tempo, so it works on swung, rubato or tempo-drifting music as well
as on loops, and it finds whichever repeat is closest (the same bar of the next chord
cycle rather than the next bar with another chord).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-10


def frame_features(magnitude: np.ndarray, *, n_bands: int = 96) -> np.ndarray:
    """Unit-length features (frames, n_bands) for the similarity search: the square-root
    magnitude pooled into `n_bands` equal bands of the (bins, frames) spectrogram.
    Pooling makes the search cheap and tolerant of small pitch wobble."""
    n_bins = magnitude.shape[0]
    edges = np.linspace(0, n_bins, n_bands + 1).astype(int)
    pooled = np.add.reduceat(np.sqrt(np.maximum(magnitude, 0.0)), edges[:-1], axis=0)
    features = pooled.T.astype(np.float32)
    norm = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norm, EPS)


def similar_frames(features: np.ndarray, *, n_neighbours: int, min_gap_frames: int,
                   pitch_cents: np.ndarray | None = None, same_pitch_cents: float = 0.0,
                   ) -> np.ndarray:
    """Indices (n_neighbours, frames) of each frame's most similar frames, itself first.

    features: (frames, dims), unit length. Frames closer than `min_gap_frames` to the
    frame are never chosen (besides the frame itself). With fewer candidates than asked
    for, the frame's own index fills the rest.
    """
    n_frames = features.shape[0]
    n_neighbours = max(1, n_neighbours)
    out = np.repeat(np.arange(n_frames)[None, :], n_neighbours, axis=0)
    if n_frames < 2 or n_neighbours == 1:
        return out
    similarity = features @ features.T
    index = np.arange(n_frames)
    near = np.abs(index[:, None] - index[None, :]) < max(1, min_gap_frames)
    similarity[near] = -np.inf
    if pitch_cents is not None and same_pitch_cents > 0:
        # A frame whose melody sings the same note repeats the voice as well as the
        # accompaniment: as a neighbour it would make the voice count as repeating.
        pitched = np.isfinite(pitch_cents)
        apart = np.abs(pitch_cents[:, None] - pitch_cents[None, :])
        same = pitched[:, None] & pitched[None, :] & (apart < same_pitch_cents)
        similarity[same] = -np.inf
    n_pick = min(n_neighbours - 1, n_frames - 1)
    picked = np.argpartition(-similarity, n_pick - 1, axis=1)[:, :n_pick]
    valid = np.isfinite(np.take_along_axis(similarity, picked, axis=1))
    out[1:1 + n_pick] = np.where(valid, picked, index[:, None]).T
    return out


def repeating_share(magnitude: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Share of each bin (bins, frames) in [0, 1] explained by the repeating model: the
    median magnitude over each frame's similar frames (`similar_frames`), capped at the
    frame's own magnitude, divided by it."""
    gathered = magnitude[:, neighbours]  # (bins, n_neighbours, frames)
    # The middle order statistic by partition: the median for an odd count (the lower
    # median for an even one), several times faster than np.median.
    middle = neighbours.shape[0] // 2 - (1 - neighbours.shape[0] % 2)
    gathered.partition(middle, axis=1)
    model = gathered[:, middle]
    return np.minimum(model, magnitude) / np.maximum(magnitude, EPS)


def song_repeating_share(
    magnitude: np.ndarray,
    *,
    frame_hop_sec: float,
    n_neighbours: int = 9,
    min_gap_sec: float = 1.0,
    max_hz_bin: int | None = None,
    pitch_cents: np.ndarray | None = None,
    same_pitch_cents: float = 0.0,
) -> np.ndarray:
    """`repeating_share` of a (bins, frames) magnitude spectrogram with neighbours found on
    its first `max_hz_bin` bins (all when None). float32 (bins, frames)."""
    magnitude = np.asarray(magnitude, dtype=np.float32)
    if magnitude.shape[1] == 0:
        return np.ones_like(magnitude)
    features = frame_features(magnitude[:max_hz_bin])
    neighbours = similar_frames(features, n_neighbours=n_neighbours,
                                min_gap_frames=max(1, round(min_gap_sec / frame_hop_sec)),
                                pitch_cents=pitch_cents, same_pitch_cents=same_pitch_cents)
    return repeating_share(magnitude, neighbours).astype(np.float32)


def share_on_grid(
    share: np.ndarray,
    *,
    share_hop_sec: float,
    share_bin_hz: float,
    freqs_hz: np.ndarray,
    n_frames: int,
    frame_hop_sec: float,
    start_sec: float,
) -> np.ndarray:
    """Nearest-neighbour resampling of a song's repeating share (bins, frames; frame i at
    i * share_hop_sec, bin k at k * share_bin_hz) onto a chunk's STFT grid (`freqs_hz`,
    frame j at start_sec + j * frame_hop_sec). Bins above the share's top bin take its
    top bin's value. float32 (len(freqs_hz), n_frames)."""
    if share.size == 0:
        return np.ones((freqs_hz.size, n_frames), dtype=np.float32)
    rows = np.clip(np.rint(freqs_hz / share_bin_hz).astype(int), 0, share.shape[0] - 1)
    centres_sec = start_sec + np.arange(n_frames) * frame_hop_sec
    cols = np.clip(np.rint(centres_sec / share_hop_sec).astype(int), 0, share.shape[1] - 1)
    return share[np.ix_(rows, cols)].astype(np.float32)
