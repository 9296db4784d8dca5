"""Separation quality measures."""

from __future__ import annotations

import numpy as np


def sdr_db(reference: np.ndarray, estimate: np.ndarray, *, eps: float = 1e-12) -> float:
    """Signal-to-distortion ratio in dB: 10·log10(‖r‖² / ‖r − e‖²).

    The plain (not scale-invariant) SDR of the SiSEC/MDX challenges, over all channels
    and samples at once; shapes must match. `eps` keeps silent inputs finite.
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {estimate.shape}")
    signal = float(np.sum(reference**2))
    distortion = float(np.sum((reference - estimate) ** 2))
    return 10.0 * float(np.log10((signal + eps) / (distortion + eps)))
