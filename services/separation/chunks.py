"""Overlapping chunks and complementary cross-fades, for bounded-memory processing.

Neighbouring chunks share `overlap_samples`; over the shared samples one chunk fades out
linearly while the next fades in, and the two weights sum to exactly one, so any
per-chunk result that sums to its input still sums to the whole input after overlap-add.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np


def chunk_bounds(
    length_samples: int, *, chunk_samples: int, overlap_samples: int, align_samples: int = 1
) -> list[tuple[int, int]]:
    """Equal chunks [start, end) covering the signal; neighbours share `overlap_samples`.

    Every start is a multiple of `align_samples`, so STFT frames with a hop dividing it
    fall on the same song-wide grid whatever the chunk size (the last chunk may then be
    shorter, but always longer than the overlap).
    """
    if length_samples <= chunk_samples:
        return [(0, length_samples)]
    align_samples = max(1, align_samples)
    stride = chunk_samples - overlap_samples
    n_chunks = math.ceil((length_samples - overlap_samples) / stride)
    stride = math.ceil((length_samples - overlap_samples) / n_chunks)
    stride = math.ceil(stride / align_samples) * align_samples
    n_chunks = math.ceil((length_samples - overlap_samples) / stride)
    return [
        (i * stride, min(length_samples, i * stride + stride + overlap_samples))
        for i in range(n_chunks)
    ]


def crossfade_weights(
    chunk_samples: int, *, fade_in_samples: int, fade_out_samples: int
) -> np.ndarray:
    """Weights (chunk_samples,) rising linearly over the first `fade_in_samples` and
    falling over the last `fade_out_samples`; a fade-out and the next fade-in over the
    same samples sum to exactly one."""
    weights = np.ones(chunk_samples, dtype=np.float32)
    if fade_in_samples:
        weights[:fade_in_samples] = (np.arange(fade_in_samples) + 0.5) / fade_in_samples
    if fade_out_samples:
        ramp = (np.arange(fade_out_samples) + 0.5) / fade_out_samples
        weights[-fade_out_samples:] *= 1.0 - ramp
    return weights


def iter_chunks(
    length_samples: int, *, chunk_samples: int, overlap_samples: int, align_samples: int = 1
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(start, end, cross-fade weights) for each chunk of a signal, in order.

    Chunks are made at least three overlaps long, so that a chunk's fade-in and fade-out
    never meet (the equal-stride layout can shorten a chunk to 2/3 of `chunk_samples`).
    """
    chunk_samples = max(chunk_samples, 3 * overlap_samples, 1)
    bounds = chunk_bounds(length_samples, chunk_samples=chunk_samples,
                          overlap_samples=overlap_samples, align_samples=align_samples)
    for index, (start, end) in enumerate(bounds):
        weights = crossfade_weights(
            end - start,
            fade_in_samples=overlap_samples if index > 0 else 0,
            fade_out_samples=overlap_samples if index < len(bounds) - 1 else 0,
        )
        yield start, end, weights


Piece = tuple[int, int, np.ndarray, dict[str, np.ndarray]]


def overlap_add_blocks(pieces: Iterable[Piece]) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Overlap-add chunk results into contiguous, finished blocks, as they become final.

    pieces: (start, end, cross-fade weights (end-start,), {name: (channels, end-start)}) in
    the order `iter_chunks` makes them. Yields (start, {name: (channels, n)}) blocks that
    tile the signal without overlap; a block is yielded as soon as the next chunk has
    added its fade-in to it, so at most two chunks are held at once.
    """
    pending: dict[str, np.ndarray] | None = None
    pending_start = pending_end = 0
    for start, end, weights, parts in pieces:
        weighted = {name: part * weights for name, part in parts.items()}
        if pending is not None:
            if not pending_start <= start <= pending_end:
                raise ValueError("pieces must come in order and overlap only their neighbour")
            split = start - pending_start
            yield pending_start, {name: block[..., :split] for name, block in pending.items()}
            for name, block in weighted.items():
                tail = pending[name][..., split:]
                block[..., :tail.shape[-1]] += tail
        pending, pending_start, pending_end = weighted, start, end
    if pending is not None:
        yield pending_start, pending
