"""Energy: a loudness-based overall energy, an RMS energy curve, and the spectral
profile (each band's share of the total energy)."""

from __future__ import annotations

import numpy as np

from shared.spectra import stft_blocks

ENERGY_HOP_SEC = 0.5
# Overall energy maps integrated loudness linearly onto 0..1 between these levels: a
# quiet acoustic recording sits near -30 LUFS, a loud club master near -6 LUFS.
QUIET_LUFS = -30.0
LOUD_LUFS = -6.0
SPECTRUM_FRAME_SAMPLES = 8192
BANDS_HZ: dict[str, tuple[float, float]] = {
    "low": (20.0, 200.0),
    "mid_low": (200.0, 500.0),
    "mid": (500.0, 2000.0),
    "high": (2000.0, 8000.0),
    "air": (8000.0, 20000.0),
}


def overall_energy(loudness_lufs: float) -> float:
    """0..1 from integrated loudness, so songs compare on one scale."""
    return float(np.clip((loudness_lufs - QUIET_LUFS) / (LOUD_LUFS - QUIET_LUFS), 0.0, 1.0))


def energy_curve(mono: np.ndarray, *, sample_rate_hz: int,
                 hop_sec: float = ENERGY_HOP_SEC) -> np.ndarray:
    """RMS of consecutive `hop_sec` blocks of `mono` (n,), divided by the loudest block:
    (ceil(duration / hop_sec),) values in 0..1; all zeros for silence."""
    hop = max(1, round(hop_sec * sample_rate_hz))
    signal = np.asarray(mono, dtype=np.float64)
    n_blocks = max(1, int(np.ceil(len(signal) / hop)))
    padded = np.zeros(n_blocks * hop)
    padded[: len(signal)] = signal
    blocks = padded.reshape(n_blocks, hop)
    # The last block is partial: average over the samples it really has.
    counts = np.full(n_blocks, hop, dtype=np.float64)
    counts[-1] = max(1, len(signal) - (n_blocks - 1) * hop)
    rms = np.sqrt((blocks**2).sum(axis=1) / counts)
    peak = float(rms.max())
    return rms / peak if peak > 0 else np.zeros(n_blocks)


def spectral_profile(mono: np.ndarray, *, sample_rate_hz: int) -> dict[str, float]:
    """Share of the energy in each band of BANDS_HZ (values sum to 1; equal shares for
    silence). Bands above the Nyquist frequency get 0."""
    signal = np.asarray(mono, dtype=np.float32)
    frame = SPECTRUM_FRAME_SAMPLES
    n_frames = max(1, len(signal) // frame)
    padded = np.zeros(n_frames * frame, dtype=np.float32)
    usable = min(len(signal), len(padded))
    padded[:usable] = signal[:usable]
    # Non-overlapping Hann frames: for a long-term average the bias is negligible.
    power = np.zeros(frame // 2 + 1)
    for block in stft_blocks(padded, n_fft=frame, hop_samples=frame, centred=False):
        power += (np.abs(block) ** 2).sum(axis=0)
    freqs = np.fft.rfftfreq(frame, 1.0 / sample_rate_hz)
    energies = {name: float(power[(freqs >= low) & (freqs < high)].sum())
                for name, (low, high) in BANDS_HZ.items()}
    total = sum(energies.values())
    if total <= 0:
        return {name: 1.0 / len(BANDS_HZ) for name in BANDS_HZ}
    return {name: value / total for name, value in energies.items()}
