"""A kick's low band as a decaying pitch sweep, fitted to its median template.

`kick.kick_track` takes the kick's waveform as the median of its aligned hits in the
mix. Where the bass plays on the kick's steps with the same note (a rock bass on the
root in eighths, a house bass on every downbeat), the bass under the hits is the same
in most of them and stays in the median: the template then carries a steady tone that
the separator hands to the drums (measured: the model's error is 45-85 % of the
kick's low-band energy on such songs, 5-15 % where the bass moves).

The kick's body itself is simple: a sine whose pitch falls fast from its attack to a
resting pitch while its level decays, in synthesisers (the 808 family) and, in the band
below ~200 Hz, close enough in acoustic kicks (a struck head's lowest mode, pitch
dropping as the head relaxes):

    body(t) = exp(-t / decay) · sin(2π (f_end t + (f_start − f_end) τ (1 − exp(−t / τ))) + φ)

A bass note does not decay to nothing within half a second and keeps its pitch, so the
template is fitted by this sweep plus steady tones (a bass note's first three partials,
from the kick's onset on) that soak up the bass, and the sweep alone becomes the kick's
template. The fit runs in three steps on the KICK_RATE_HZ template: a coarse grid over
the sweep's shape (amplitude and phase solved linearly), a grid over the steady tone's
pitch with the sweep fixed, then a bounded nonlinear refinement of the sweep's shape.
A template that the sweep and tones explain poorly (not a sweep: an unusual kick, or
something else that repeats) keeps its median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.signal import butter, sosfiltfilt

EPS = 1e-12


@dataclass(frozen=True)
class SweepParams:
    # The fit's grids: onset within the template (it starts ~10 ms before the hit's
    # steepest rise), resting pitch, start/rest pitch ratio, pitch-drop time, decay time.
    onset_grid_sec: tuple[float, ...] = (0.004, 0.01, 0.016, 0.022)
    rest_hz: tuple[float, float] = (30.0, 100.0)
    rest_steps: int = 16
    start_ratios: tuple[float, ...] = (1.0, 1.7, 2.8, 4.0)
    drop_grid_sec: tuple[float, ...] = (0.015, 0.04)
    decay_grid_sec: tuple[float, ...] = (0.07, 0.15, 0.3)
    # The steady tone (a bass note under the hits): pitch grid and partials.
    tone_hz: tuple[float, float] = (28.0, 110.0)
    tone_steps: int = 60
    tone_partials: int = 3
    tone_guard_semitones: float = 1.5
    refine_evaluations: int = 15
    # The sweep and tones must explain this share of the template's energy.
    min_explained: float = 0.5
    # ... and the sweep alone at most this share of the template's second half.
    max_tail_unexplained: float = 0.9
    # A kick dies away: a fitted decay time beyond this (-12 dB/s, the median template's
    # own limit in `kick.KickParams`) is a held note.
    max_decay_sec: float = 0.72
    # A kick's pitch falls: a "sweep" starting below this multiple of its resting pitch
    # is a plucked note (kicks measured 2.5-4x, Lithium's 3x).
    min_drop_ratio: float = 1.5


@dataclass(frozen=True)
class SweepFit:
    """The fitted sweep: onset (s into the template), decay (s), start and resting
    pitch (Hz), pitch-drop time (s); the steady tone's pitch (Hz, 0: none); the
    template's energy share left unexplained; the sweep's sine and cosine
    amplitudes; `kick`: the sweep alone, band-limited like the template (same
    length); `render` gives it at any length."""

    onset_sec: float
    decay_sec: float
    start_hz: float
    rest_hz: float
    drop_sec: float
    tone_hz: float
    unexplained: float
    amplitudes: tuple[float, float]
    kick: np.ndarray
    tone: np.ndarray
    rate_hz: float
    band_hz: tuple[float, float]

    def render(self, n: int) -> np.ndarray:
        """The fitted sweep over n samples at rate_hz, band-passed like the template."""
        columns = sweep_columns(n, rate_hz=self.rate_hz, onset_sec=self.onset_sec,
                                decay_sec=self.decay_sec, start_hz=self.start_hz,
                                rest_hz=self.rest_hz, drop_sec=self.drop_sec)
        sos = butter(4, list(self.band_hz), btype="band", fs=self.rate_hz, output="sos")
        return sosfiltfilt(sos, np.asarray(self.amplitudes) @ columns).astype(np.float32)


def sweep_columns(n: int, *, rate_hz: float, onset_sec: float, decay_sec: float,
                  start_hz: float, rest_hz: float, drop_sec: float) -> np.ndarray:
    """The sweep's sine and cosine phase, unit amplitude at the onset, (2, n)."""
    t = np.arange(n) / rate_hz - onset_sec
    tau = np.maximum(t, 0.0)
    phase = 2 * np.pi * (rest_hz * tau + (start_hz - rest_hz) * drop_sec
                         * (1.0 - np.exp(-tau / drop_sec)))
    envelope = np.exp(-tau / decay_sec) * (t >= 0)
    return np.stack([envelope * np.sin(phase), envelope * np.cos(phase)])


def tone_columns(n: int, *, rate_hz: float, onset_sec: float, pitch_hz: float,
                 partials: int, max_hz: float) -> np.ndarray:
    """Steady sines and cosines at the first `partials` multiples of pitch_hz below
    max_hz, from the onset on, (2 · partials kept, n)."""
    t = np.arange(n) / rate_hz
    on = (t >= onset_sec).astype(np.float64)
    columns = []
    for k in range(1, partials + 1):
        if k * pitch_hz < max_hz:
            columns += [on * np.sin(2 * np.pi * k * pitch_hz * t),
                        on * np.cos(2 * np.pi * k * pitch_hz * t)]
    return np.array(columns).reshape(len(columns), n)


def _least_squares(target: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, float]:
    """(coefficients, residual energy) of target against the rows of `columns`."""
    coef, *_ = np.linalg.lstsq(columns.T, target, rcond=None)
    residual = target - columns.T @ coef
    return coef, float(residual @ residual)


def fit_sweep(template: np.ndarray, *, rate_hz: float, band_hz: tuple[float, float],
              params: SweepParams | None = None) -> SweepFit | None:
    """Fit a kick template (samples at rate_hz, band-passed to band_hz by a 4th-order
    zero-phase Butterworth, as `kick.low_band` does) with a decaying sweep plus steady
    tones; None when the template is too short or explained poorly."""
    params = params or SweepParams()
    target = np.asarray(template, dtype=np.float64)
    n = target.size
    energy = float(target @ target)
    if n < 32 or energy <= EPS:
        return None
    sos = butter(4, list(band_hz), btype="band", fs=rate_hz, output="sos")

    def band(columns: np.ndarray) -> np.ndarray:
        return sosfiltfilt(sos, columns, axis=-1)

    # 1. Coarse grid over the sweep's shape, unfiltered (the band-pass barely changes a
    # sweep inside the band; the refinement below filters). For each onset, the sine
    # and cosine of every pitch curve against every decay envelope: the 2 x 2 normal
    # equations of each shape come from (curves, n) @ (n, envelopes) products.
    rests = np.geomspace(*params.rest_hz, params.rest_steps)
    curves = [(rest * ratio, rest, drop) for rest in rests for ratio in params.start_ratios
              for drop in params.drop_grid_sec]
    start = np.array([c[0] for c in curves])[:, None]
    rest = np.array([c[1] for c in curves])[:, None]
    drop = np.array([c[2] for c in curves])[:, None]
    decays = np.asarray(params.decay_grid_sec)[:, None]
    shapes, explained_parts = [], []
    for onset in params.onset_grid_sec:
        t = np.arange(n) / rate_hz - onset
        tau = np.maximum(t, 0.0)[None, :]
        phase = 2 * np.pi * (rest * tau + (start - rest) * drop * (1.0 - np.exp(-tau / drop)))
        sine, cosine = np.sin(phase), np.cos(phase)  # (curves, n)
        envelope = np.exp(-tau / decays) * (t >= 0)  # (decays, n)
        power = (envelope**2).T
        ss, sc, cc = (sine * sine) @ power, (sine * cosine) @ power, (cosine * cosine) @ power
        ps, pc = sine @ (envelope * target).T, cosine @ (envelope * target).T
        det = ss * cc - sc * sc + 1e-12
        # Energy explained by the best amplitudes: p' G^-1 p for G = [[ss, sc], [sc, cc]].
        explained_parts.append((cc * ps * ps - 2 * sc * ps * pc + ss * pc * pc) / det)
        shapes += [(onset, float(decay), float(c[0]), float(c[1]), float(c[2]))
                   for c in curves for decay in params.decay_grid_sec]
    explained = np.concatenate([part.ravel() for part in explained_parts])
    shape = np.array(shapes[int(np.argmax(explained))])

    # 2. The steady tone's pitch with the sweep fixed (0: no tone).
    def residual(theta: np.ndarray, tone_hz: float, *, filtered: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        onset, decay, start, rest, drop = theta
        parts = [sweep_columns(n, rate_hz=rate_hz, onset_sec=onset, decay_sec=decay,
                               start_hz=start, rest_hz=rest, drop_sec=drop)]
        if tone_hz > 0:
            parts.append(tone_columns(n, rate_hz=rate_hz, onset_sec=onset, pitch_hz=tone_hz,
                                      partials=params.tone_partials, max_hz=band_hz[1]))
        columns = band(np.concatenate(parts)) if filtered else np.concatenate(parts)
        coef, _ = _least_squares(target, columns)
        return target - columns.T @ coef, columns, coef

    tones = np.geomspace(*params.tone_hz, params.tone_steps)
    # A tone at the sweep's resting pitch would trade off against the sweep's decay
    # (a slower decay, partly cancelled): measured worse, so none near it.
    tones = np.concatenate([[0.0], tones[np.abs(12 * np.log2(tones / shape[3]))
                                         >= params.tone_guard_semitones]])
    sweep = band(sweep_columns(n, rate_hz=rate_hz, onset_sec=shape[0], decay_sec=shape[1],
                               start_hz=shape[2], rest_hz=shape[3], drop_sec=shape[4]))
    errors = [_least_squares(target, sweep)[1]]
    if tones.size > 1:
        tone_bank = band(np.array([tone_columns(n, rate_hz=rate_hz, onset_sec=shape[0],
                                                pitch_hz=pitch, partials=1, max_hz=np.inf)
                                   for pitch in tones[1:]]))  # (tones, 2, n)
        errors += [_least_squares(target, np.concatenate([sweep, tone]))[1]
                   for tone in tone_bank]
    tone_hz = float(tones[int(np.argmin(errors))])

    # 3. Refine the sweep's shape (bounded; amplitudes solved inside), unfiltered too:
    # filtering each trial cost 0.14 s a song and changed the fits by under 1 %.
    lower = np.array([0.0, 0.02, band_hz[0] * 0.6, band_hz[0] * 0.6, 0.003])
    upper = np.array([0.05, 1.0, band_hz[1] * 2.0, 150.0, 0.2])
    shape = np.clip(shape, lower + 1e-6, upper - 1e-6)
    if shape[2] < shape[3]:
        shape[2] = shape[3]
    solution = least_squares(lambda theta: residual(theta, tone_hz, filtered=False)[0], shape,
                             bounds=(lower, upper), x_scale=[0.005, 0.05, 20.0, 5.0, 0.01],
                             max_nfev=params.refine_evaluations)
    theta = solution.x
    left, filtered, coef = residual(theta, tone_hz, filtered=True)
    unexplained = float(left @ left) / energy
    if (unexplained > 1.0 - params.min_explained or theta[1] > params.max_decay_sec
            or theta[2] < params.min_drop_ratio * theta[3]):
        return None
    kick = filtered[:2].T @ coef[:2]
    tone = filtered[2:].T @ coef[2:]
    # The sweep's tail must explain part of the template's: a sweep whose pitch or decay
    # is off drifts out of phase there and would add energy (a real kick that is no
    # simple sweep: Lithium's, measured 1.4 here, the synthetic ones 0.5-0.75).
    half = n // 2
    tail_left = target[half:] - kick[half:]
    if float(tail_left @ tail_left) > params.max_tail_unexplained * float(
            target[half:] @ target[half:]):
        return None
    return SweepFit(onset_sec=float(theta[0]), decay_sec=float(theta[1]),
                    start_hz=float(theta[2]), rest_hz=float(theta[3]),
                    drop_sec=float(theta[4]), tone_hz=tone_hz, unexplained=unexplained,
                    amplitudes=(float(coef[0]), float(coef[1])), kick=kick.astype(np.float32),
                    tone=tone.astype(np.float32),
                    rate_hz=float(rate_hz), band_hz=(float(band_hz[0]), float(band_hz[1])))
