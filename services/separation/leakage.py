"""Where a separator's errors go: the energy of each true stem that each estimate holds.

SDR says how wrong a stem is, not where its errors come from. For a mask-based
separator every estimated stem is (close to) a real mask times the mix's STFT, and the
mix is the sum of the true stems, so the part of true stem j inside estimate i is that
mask times S_j. The mask is read back from the output: per bin, the least-squares gain
from the mix to the estimate over the channels, Re(Σ_c E_c X_c*) / Σ_c |X_c|² (exact for
a real mask shared by the channels; for the complex and per-channel re-shares of the
later passes, their real part). `leak_energy` sums |M_i S_j|² per frequency band, so a
table of "bass → other" by band shows where the bass's energy went and how that
compares with the ideal ratio mask on the same songs.
"""

from __future__ import annotations

import numpy as np

from services.separation.stft import stft

EPS = 1e-12


def effective_mask(mix_spectrum: np.ndarray, estimate_spectrum: np.ndarray) -> np.ndarray:
    """The real gain per bin (bins, frames) that best maps the mix's complex
    (channels, bins, frames) spectrum onto the estimate's, in least squares over the
    channels; clipped to [-0.5, 1.5] (bins where the mix is near silent)."""
    power = np.sum(mix_spectrum.real**2 + mix_spectrum.imag**2, axis=0) + EPS
    gain = np.sum((estimate_spectrum * mix_spectrum.conj()).real, axis=0) / power
    return np.clip(gain, -0.5, 1.5).astype(np.float32)


def leak_energy(
    mix: np.ndarray,
    truth: dict[str, np.ndarray],
    estimate: dict[str, np.ndarray],
    *,
    sample_rate_hz: int,
    bands_hz: tuple[tuple[float, float], ...],
    n_fft: int = 4096,
) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, float]]:
    """({(true stem, estimated stem): energy per band (len(bands_hz),)}, {true stem:
    its total energy}). mix and every stem: (channels, n) or (n,); the estimate's stems
    are read as masks of the mix (`effective_mask`) on an STFT of `n_fft` points, hop a
    quarter. The pairs leave out a stem with itself."""
    hop = n_fft // 4
    def spectrum(signal: np.ndarray) -> np.ndarray:
        return stft(np.atleast_2d(np.asarray(signal, dtype=np.float32)), n_fft=n_fft,
                    hop_length=hop)

    mix_spectrum = spectrum(mix)
    freqs_hz = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate_hz)
    in_band = [(freqs_hz >= low) & (freqs_hz < high) for low, high in bands_hz]
    masks = {name: effective_mask(mix_spectrum, spectrum(stem))
             for name, stem in estimate.items()}
    leaks: dict[tuple[str, str], np.ndarray] = {}
    energy: dict[str, float] = {}
    for source, stem in truth.items():
        true_spectrum = spectrum(stem)
        power = np.sum(true_spectrum.real**2 + true_spectrum.imag**2, axis=0)
        energy[source] = float(power.sum())
        for target, mask in masks.items():
            if target == source:
                continue
            leaked = mask**2 * power
            leaks[(source, target)] = np.array([float(leaked[rows].sum()) for rows in in_band])
    return leaks, energy
