"""A small, exactly invertible STFT pair for mask-based separation.

Frames are centred (the signal is zero-padded by half a window on each side) and windowed
with a periodic Hann window; the inverse divides by the summed squared window, so
`istft(stft(x))` returns `x` to float precision. Written on scipy.fft rather than librosa
because it is as fast and has no first-call compilation cost inside a request.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from numpy.lib.stride_tricks import sliding_window_view


def fft_size_for(sample_rate_hz: int, *, window_sec: float = 0.0929) -> int:
    """The power-of-two FFT size closest to `window_sec` (4096 at 44.1 or 48 kHz)."""
    if sample_rate_hz <= 0:
        raise ValueError("sample_rate_hz must be positive")
    return int(2 ** round(np.log2(window_sec * sample_rate_hz)))


def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window, float32 (n_fft,)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def n_frames_for(length_samples: int, *, hop_length: int) -> int:
    """Number of centred frames `stft` produces for a signal of `length_samples`."""
    return length_samples // hop_length + 1


def stft(samples: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """Complex spectrogram of float samples (..., n) → complex64 (..., n_fft//2+1, frames).

    Frame j is centred on sample j * hop_length.
    """
    if n_fft % hop_length:
        raise ValueError("n_fft must be a multiple of hop_length")
    samples = np.asarray(samples, dtype=np.float32)
    length_samples = samples.shape[-1]
    n_frames = n_frames_for(length_samples, hop_length=hop_length)
    pad_end = (n_frames - 1) * hop_length + n_fft - (length_samples + n_fft // 2)
    padding = [(0, 0)] * (samples.ndim - 1) + [(n_fft // 2, pad_end)]
    padded = np.pad(samples, padding)
    frames = sliding_window_view(padded, n_fft, axis=-1)[..., ::hop_length, :]
    spectrum = sfft.rfft(frames * hann_window(n_fft), axis=-1)
    return np.swapaxes(spectrum, -1, -2).astype(np.complex64, copy=False)


def istft(spectrum: np.ndarray, *, hop_length: int, length_samples: int) -> np.ndarray:
    """Inverse of `stft`: complex (..., bins, frames) → float32 (..., length_samples)."""
    n_fft = 2 * (spectrum.shape[-2] - 1)
    n_frames = spectrum.shape[-1]
    window = hann_window(n_fft)
    frames = sfft.irfft(np.swapaxes(spectrum, -1, -2), n=n_fft, axis=-1) * window
    frames = frames.astype(np.float32, copy=False)
    lead = spectrum.shape[:-2]
    total = (n_frames - 1) * hop_length + n_fft
    out = np.zeros((*lead, total), dtype=np.float32)
    norm = np.zeros(total, dtype=np.float32)
    # n_fft is a whole number of hops, so overlap-add is n_fft // hop_length strided sums.
    for part in range(n_fft // hop_length):
        block = frames[..., part * hop_length:(part + 1) * hop_length]
        start = part * hop_length
        out[..., start:start + n_frames * hop_length] += block.reshape(*lead, -1)
        norm[start:start + n_frames * hop_length] += np.tile(
            window[part * hop_length:(part + 1) * hop_length] ** 2, n_frames
        )
    begin = n_fft // 2
    out = out[..., begin:begin + length_samples]
    norm = norm[begin:begin + length_samples]
    return out / np.maximum(norm, 1e-8)
