"""A multichannel Wiener filter: the stems re-shared by where they sit in the stereo image.

The first-pass masks are computed on the mid channel and applied alike to both channels,
so a sound panned hard to one side takes its share from both (hats right, a vocal double
left, a wide pad: each leaks into the channel it is absent from). Following the local
Gaussian model of Duong, Vincent & Gribonval (2010), as used in the EM post-filter of
Nugraha, Liutkus & Vincent (2016) (open-unmix's `norbert.wiener`), each source j gets

- a power spectral density v_j(f, t): the mean over channels of its estimate's |S_j|²
  (raised to `psd_power` / 2: 2 is Wiener's rule, less is a softer split), and
- a spatial covariance R_j(f): sum over frames of S_j S_jᴴ over the sum of v_j, a 2×2
  Hermitian matrix per frequency (its diagonal is the source's balance between the
  channels, its off-diagonal their coherence),

and each source is re-estimated as S_j = v_j R_j (Σ_k v_k R_k)⁻¹ x per bin. The gains
sum to the identity (up to the regularisation), and the caller keeps "other" as the
residual, so the stems still sum to the mix exactly. Further EM iterations re-fit v and R
on the new estimates. Stereo only; the 2×2 inverse is written out (no batched linalg), so
the cost is a few elementwise passes over the (bins, frames) arrays.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-10


def _model(
    estimate: np.ndarray, *, psd_power: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(v (bins, frames), R00, R11 (bins,) real and R01 (bins,) complex) of one source's
    complex estimate (2, bins, frames)."""
    left, right = estimate[0], estimate[1]
    power_l = left.real**2 + left.imag**2
    power_r = right.real**2 + right.imag**2
    psd = 0.5 * (power_l + power_r)
    weight = psd.sum(axis=1) + EPS
    r00 = power_l.sum(axis=1) / weight
    r11 = power_r.sum(axis=1) / weight
    r01 = (left * right.conj()).sum(axis=1) / weight
    if psd_power != 2.0:
        psd = np.power(psd, psd_power / 2.0)
    return psd.astype(np.float32), r00, r11, r01


def multichannel_wiener(
    mix: np.ndarray,
    estimates: list[np.ndarray],
    *,
    iterations: int = 0,
    psd_power: float = 2.0,
    regularisation: float = 1e-3,
) -> list[np.ndarray]:
    """Re-estimate the sources of a stereo mix with a multichannel Wiener filter.

    mix: complex (2, bins, frames) STFT; estimates: the first-pass complex estimates of
    every source (each (2, bins, frames)), the residual included, so that together they
    model the whole mix. `iterations` EM steps re-fit the model on the filtered
    estimates (0: one filter from the first-pass model). `regularisation` is added to
    the mixture covariance's diagonal, relative to each bin's mean power, so silent or
    one-source bins stay well conditioned. Returns the new estimates, complex64, in the
    same order; their sum is the mix up to that regularisation.
    """
    if mix.ndim != 3 or mix.shape[0] != 2:
        raise ValueError("mix must be a stereo (2, bins, frames) spectrum")
    if not estimates:
        raise ValueError("at least one source estimate is needed")
    x0, x1 = mix[0], mix[1]
    # The loading is in the units of v (power ** (psd_power / 2)), like the model.
    mix_psd = 0.5 * (np.abs(x0) ** 2 + np.abs(x1) ** 2)
    floor = regularisation * np.power(mix_psd, psd_power / 2.0) + EPS
    for _ in range(iterations + 1):
        models = [_model(est, psd_power=psd_power) for est in estimates]
        # The mixture covariance Σ_k v_k R_k: a, d real diagonal, b the upper off-diagonal.
        a = floor.copy()
        d = floor.copy()
        b = np.zeros(x0.shape, dtype=np.complex64)
        for psd, r00, r11, r01 in models:
            a += psd * r00[:, None].astype(np.float32)
            d += psd * r11[:, None].astype(np.float32)
            b += psd * r01[:, None].astype(np.complex64)
        det = a * d - (b.real**2 + b.imag**2)
        det = np.maximum(det, EPS)
        # y = C⁻¹ x once; then each source is v_j R_j y.
        y0 = (d * x0 - b * x1) / det
        y1 = (a * x1 - b.conj() * x0) / det
        del a, d, b, det
        new = []
        for psd, r00, r11, r01 in models:
            s0 = psd * (r00[:, None] * y0 + r01[:, None] * y1)
            s1 = psd * (r01.conj()[:, None] * y0 + r11[:, None] * y1)
            new.append(np.stack([s0, s1]).astype(np.complex64))
        estimates = new
    return estimates
