"""Block-wise STFT: the same frames as one whole-signal STFT, in order."""

from __future__ import annotations

import numpy as np

from shared.spectra import FFT_BLOCK_FRAMES, stft_blocks


def _reference_stft(signal: np.ndarray, *, n_fft: int, hop_samples: int) -> np.ndarray:
    padded = np.pad(signal, (n_fft // 2, n_fft // 2))
    n_frames = 1 + (len(padded) - n_fft) // hop_samples
    window = np.hanning(n_fft)
    return np.stack([np.fft.rfft(padded[i * hop_samples:i * hop_samples + n_fft] * window)
                     for i in range(n_frames)])


def test_blocks_tile_the_whole_stft() -> None:
    rng = np.random.default_rng(0)
    signal = rng.standard_normal(512 * (FFT_BLOCK_FRAMES + 40)).astype(np.float32)
    blocks = list(stft_blocks(signal, n_fft=1024, hop_samples=512))
    assert len(blocks) == 2 and blocks[0].shape == (FFT_BLOCK_FRAMES, 513)
    whole = np.concatenate(blocks)
    reference = _reference_stft(signal, n_fft=1024, hop_samples=512)
    assert whole.shape == reference.shape
    assert np.allclose(whole, reference, atol=1e-3 * np.abs(reference).max())


def test_a_sine_peaks_in_its_bin() -> None:
    sample_rate_hz, n_fft = 8000, 800  # 10 Hz bins
    t_sec = np.arange(sample_rate_hz) / sample_rate_hz
    blocks = stft_blocks(np.sin(2 * np.pi * 440.0 * t_sec), n_fft=n_fft, hop_samples=200)
    magnitude = np.abs(np.concatenate(list(blocks)))
    assert set(np.argmax(magnitude[2:-2], axis=1)) == {44}


def test_a_signal_shorter_than_a_frame_gives_one_frame() -> None:
    blocks = list(stft_blocks(np.ones(100, dtype=np.float32), n_fft=1024, hop_samples=256,
                              centred=False))
    assert len(blocks) == 1 and blocks[0].shape == (1, 513)
