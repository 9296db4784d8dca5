"""Decoded audio parked in a temporary file and read back piece by piece.

A 10-minute stereo song is 212 MB of float32. Demucs needs only the piece it is
separating (plus the whole song's mean and deviation, gathered in one pass), while its
forward pass alone takes ~0.8 GB of transient memory; keeping the song in the process as
well pushed the peak of a 10-minute song past 1.5 GB. Parked in a file, the song is read
with plain file reads: the pages live in the kernel's page cache (dropped under pressure),
not in the process's resident memory.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import TracebackType

import numpy as np

_DTYPE = np.dtype(np.float32)


class SpilledAudio:
    """float32 (channels, n) audio in a temporary file; `audio[:, a:b]` reads a piece.

    Only that indexing form is offered: whatever reads it goes piece by piece, by design.
    Use as a context manager (or call `close`) to delete the file.
    """

    ndim = 2

    def __init__(self, samples: np.ndarray, *, folder: str | Path | None = None) -> None:
        samples = np.asarray(samples, dtype=_DTYPE)
        if samples.ndim == 1:
            samples = samples[None, :]
        self.shape: tuple[int, int] = (int(samples.shape[0]), int(samples.shape[1]))
        # Closed by close() / __exit__: the object owns the file for its whole life.
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="song-", suffix=".f32", dir=folder)
        for channel in samples:  # channel-major, so a piece is one read per channel
            np.ascontiguousarray(channel).tofile(self._file)
        self._file.flush()

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = key
        if rows != slice(None) or not isinstance(cols, slice) or cols.step not in (None, 1):
            raise TypeError("SpilledAudio reads pieces only: audio[:, start:end]")
        channels, length = self.shape
        start, end, _ = cols.indices(length)
        end = max(start, end)
        out = np.empty((channels, end - start), dtype=_DTYPE)
        for channel in range(channels):
            self._file.seek(((channel * length) + start) * _DTYPE.itemsize)
            out[channel] = np.fromfile(self._file, dtype=_DTYPE, count=end - start)
        return out

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpilledAudio:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def mono_mean_std(samples: np.ndarray | SpilledAudio, *, block_samples: int = 1 << 20,
                  ) -> tuple[float, float]:
    """Mean and standard deviation of the channel average of (channels, n) audio, read
    block by block (float64 sums), so a spilled song is never loaded whole."""
    length = samples.shape[-1]
    total = total_sq = 0.0
    for start in range(0, length, block_samples):
        block = samples[:, start:start + block_samples].mean(axis=0, dtype=np.float64)
        total += float(block.sum())
        total_sq += float(np.square(block).sum())
    if length == 0:
        return 0.0, 0.0
    mean = total / length
    return mean, max(total_sq / length - mean * mean, 0.0) ** 0.5
