"""Time-frequency features computed once per song and shared by the analysis modules.

One magnitude spectrogram of the mono mix at 22050 Hz (2048-sample frames, 512-sample hop,
about 23 ms) serves the downbeat, section and energy modules; everything here is numpy
in, numpy out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import librosa
import numpy as np

from shared.spectra import stft_blocks

FEATURE_RATE_HZ = 22050
N_FFT = 2048
HOP_SAMPLES = 512
N_MELS = 40


@dataclass(frozen=True)
class Spectrogram:
    """Magnitude STFT frames of a mono signal.

    magnitude: float32 (n_frames, N_FFT // 2 + 1); frame i is centred on i * hop_sec.
    """

    magnitude: np.ndarray
    sample_rate_hz: int
    hop_sec: float

    @property
    def n_frames(self) -> int:
        return int(self.magnitude.shape[0])

    @property
    def freqs_hz(self) -> np.ndarray:
        return np.fft.rfftfreq(N_FFT, 1.0 / self.sample_rate_hz)

    def frame_times_sec(self) -> np.ndarray:
        return np.arange(self.n_frames) * self.hop_sec

    def band(self, *, low_hz: float, high_hz: float) -> np.ndarray:
        """Magnitudes of the bins in [low_hz, high_hz): (n_frames, n_bins_in_band)."""
        freqs = self.freqs_hz
        return self.magnitude[:, (freqs >= low_hz) & (freqs < high_hz)]


def compute_spectrogram(mono: np.ndarray, *, sample_rate_hz: int) -> Spectrogram:
    """Hann-windowed magnitude STFT of `mono` (n,) at `sample_rate_hz` (use 22050 Hz)."""
    n_frames = max(1, 1 + len(mono) // HOP_SAMPLES)  # as stft_blocks frames it
    magnitude = np.empty((n_frames, N_FFT // 2 + 1), dtype=np.float32)
    filled = 0
    for block in stft_blocks(mono, n_fft=N_FFT, hop_samples=HOP_SAMPLES):
        magnitude[filled:filled + len(block)] = np.abs(block)
        filled += len(block)
    return Spectrogram(magnitude[:filled], sample_rate_hz, HOP_SAMPLES / sample_rate_hz)


def band_flux(spec: Spectrogram, *, low_hz: float, high_hz: float) -> np.ndarray:
    """Half-wave rectified spectral flux of log magnitudes in a band: onset strength
    (n_frames,), >= 0; the first frame is 0."""
    log_band = np.log1p(100.0 * spec.band(low_hz=low_hz, high_hz=high_hz))
    flux = np.maximum(np.diff(log_band, axis=0), 0.0).sum(axis=1)
    return np.concatenate([[0.0], flux]).astype(np.float32)


KICK_DECAY_SEC = 0.09  # a kick's sweep is gone this soon after it starts; a bass note is not


def transient_flux(spec: Spectrogram, *, low_hz: float, high_hz: float,
                   decay_sec: float = KICK_DECAY_SEC) -> np.ndarray:
    """Onset strength (n_frames,) >= 0 of what starts in a band and is gone again within
    `decay_sec`: per bin, the rise of the linear magnitude from the frame before, capped
    by its fall to the frame `decay_sec` later, summed over the band.

    A kick drum is a downward pitch sweep (from 150-180 Hz to 50 Hz in a few tens of ms),
    so its energy in most low bins comes and goes at once; a bass note is pitched and
    sustained, so its bins rise and stay. Plain flux (`band_flux`) counts both alike,
    and an off-beat bass as loud as the kick (house) then outweighs the kick. Linear
    magnitudes, not log: the log counts the rise of quiet bins between a bass note's
    harmonics as much as the kick's loud ones."""
    ahead = max(1, round(decay_sec / spec.hop_sec))
    band = spec.band(low_hz=low_hz, high_hz=high_hz)
    padded = np.concatenate([band[:1], band, np.repeat(band[-1:], ahead, axis=0)])
    now = padded[1:len(band) + 1]
    rise = now - padded[:len(band)]
    fall = now - padded[1 + ahead:]
    return np.maximum(np.minimum(rise, fall), 0.0).sum(axis=1).astype(np.float32)


@cache
def _chroma_filters(sample_rate_hz: int) -> np.ndarray:
    # 130 Hz-5 kHz: below, the bass line (roots, fifths, octaves on off-beats) would
    # dominate; above, it is mostly partials and noise.
    filters = librosa.filters.chroma(sr=sample_rate_hz, n_fft=N_FFT, tuning=0.0)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sample_rate_hz)
    filters[:, (freqs < 130.0) | (freqs > 5000.0)] = 0.0
    return filters.astype(np.float32)


def chroma(spec: Spectrogram) -> np.ndarray:
    """Harmonic content per pitch class (n_frames, 12), C first; rows not normalised.

    Built from log-compressed magnitudes so that the chords, not the loudest partial,
    shape it."""
    return np.log1p(100.0 * spec.magnitude) @ _chroma_filters(spec.sample_rate_hz).T


@cache
def _mel_filters(sample_rate_hz: int) -> np.ndarray:
    return librosa.filters.mel(sr=sample_rate_hz, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


def log_mel(spec: Spectrogram) -> np.ndarray:
    """Log mel-band energies (n_frames, N_MELS) in dB: the timbre of each frame."""
    mel = (spec.magnitude**2) @ _mel_filters(spec.sample_rate_hz).T
    return (10.0 * np.log10(mel + 1e-10)).astype(np.float32)


def frame_rms(spec: Spectrogram) -> np.ndarray:
    """RMS amplitude of each frame (n_frames,), from the spectrum (Parseval)."""
    window_power = float(np.sum(np.hanning(N_FFT) ** 2))
    power = (spec.magnitude[:, 0] ** 2 + spec.magnitude[:, -1] ** 2
             + 2.0 * np.sum(spec.magnitude[:, 1:-1] ** 2, axis=1))
    return np.sqrt(power / (N_FFT * window_power)).astype(np.float32)


def pool_segments(values: np.ndarray, *, frame_times_sec: np.ndarray,
                  boundaries_sec: np.ndarray) -> np.ndarray:
    """Mean of frame-rate `values` (n_frames, ...) over each span between consecutive
    `boundaries_sec` (n+1,) → (n, ...); an empty span takes its nearest frame."""
    starts = np.searchsorted(frame_times_sec, boundaries_sec[:-1])
    ends = np.searchsorted(frame_times_sec, boundaries_sec[1:])
    last = len(frame_times_sec) - 1
    pooled = []
    for start, end in zip(starts, ends, strict=True):
        start = min(int(start), last)
        end = max(int(end), start + 1)
        pooled.append(values[start:end].mean(axis=0))
    return np.asarray(pooled, dtype=np.float32).reshape(len(starts), *values.shape[1:])


@dataclass(frozen=True)
class OnsetEnvelopes:
    """Onset strength of the kick band (30-150 Hz: kicks and bass notes alike), of the
    snare/clap crack band (1-5 kHz), of the whole spectrum (30 Hz-11 kHz: every
    instrument's notes and hits) and of the kick drum's own hits (transients of 30-150
    Hz, see `transient_flux`: not the bass notes), each (n_frames,) >= 0 at `hop_sec`;
    `broadband` and `kick_hits` may be None (tests that need only the drums; `kick_hits`
    then falls back to `kick`)."""

    kick: np.ndarray
    snare: np.ndarray
    hop_sec: float
    broadband: np.ndarray | None = None
    kick_hits: np.ndarray | None = None

    @property
    def kick_hits_or_band(self) -> np.ndarray:
        return self.kick if self.kick_hits is None else self.kick_hits

    def strength_at(self, envelope: np.ndarray, times_sec: np.ndarray) -> np.ndarray:
        """Envelope value at each time (n,), taking the peak within one frame either side:
        onsets smear across frames."""
        if not len(envelope) or not len(times_sec):
            return np.zeros(len(times_sec), dtype=np.float32)
        local_max = np.maximum(envelope, np.maximum(np.roll(envelope, 1), np.roll(envelope, -1)))
        idx = np.clip(np.round(np.asarray(times_sec) / self.hop_sec).astype(int), 0,
                      len(envelope) - 1)
        return local_max[idx]


def onset_envelopes(spec: Spectrogram) -> OnsetEnvelopes:
    return OnsetEnvelopes(
        kick=band_flux(spec, low_hz=30.0, high_hz=150.0),
        snare=band_flux(spec, low_hz=1000.0, high_hz=5000.0),
        hop_sec=spec.hop_sec,
        broadband=band_flux(spec, low_hz=30.0, high_hz=11000.0),
        kick_hits=transient_flux(spec, low_hz=30.0, high_hz=150.0),
    )
