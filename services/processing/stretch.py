"""Run Rubber Band on one source segment, skipping work that cannot change the result.

Rubber Band's cost is per channel and per input sample (about 0.07 CPU-s per stereo
second with the high-quality engine, plus 0.01–0.05 s per call), so the only real saving
is feeding it fewer channel-samples:

- A silent segment (peak under `SILENT_PEAK`, -100 dBFS, below a 16-bit file's last bit)
  is returned as zeros of the length the stretcher would give: a vocal stem between
  phrases costs nothing.
- A dual-mono segment (the side signal L−R at least `MONO_SIDE_DB` under the mid) is
  stretched as one channel and copied to both: with identical channels Rubber Band's
  stereo output is that mono output (bit-identical unshifted, within 2e-7 pitch-shifted),
  so this halves the cost of mono stems (many basses and vocals) at no change in sound.

Per stem, two options (`stem_stretch`): a pitch shift keeps the formants only of stems
that carry a voice, and stems without the bass use R3's short window unless a stem of
their song that carries the bass plays beside them (see `SHORT_WINDOW_STEMS`).

Channels of different signals must never share one call to save the per-call overhead:
Rubber Band couples the channels of a call (one channel's output changes with the
other's input), so each stereo stem keeps its own call.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pedalboard

SILENT_PEAK = 1e-5  # -100 dBFS
# Stems that carry a voice: a pitch shift keeps their formants (spectral envelope), or a
# singer shifted up sounds smaller and one shifted down muffled. Drums, bass and the other
# instruments are shifted without it: it changes no timing (onsets land on the same
# sample either way), and costs ~22 % more Rubber Band CPU on everything it touches.
FORMANT_STEMS = frozenset({"vocals", "full"})
# The high-quality engine runs with its short window (R3's `OptionWindowShort`, pedalboard's
# `use_long_fft_window=False`) on drums, vocals and other instruments, and with its long
# window on stems that carry the bass (bass, instrumental, full): the long window resolves
# low partials that sit a few hertz apart (a sustained A1 comes out 65 dB over its residue
# against 39 dB with the short one), while above ~150 Hz the short window is as clean or
# cleaner (a C4 triad 25 dB against 16 dB; a stretch there and back measured on real and
# synthesised vocals, pads and drums with a log-mel distance 0.3-1.5 dB lower) with
# onsets as close to the map (render QA worst lag on drums 4.3-7.5 ms against
# 4.9-10.7 ms), at 2.3-2.6x less CPU.
#
# One song's stems that play together share one window: they hold each other's bleed
# (the kick in the bass, the voice in the other instruments), and the long window
# realises a stretch ratio only to ~0.2 % (its onsets drift a few ms over a span) while
# the short one does not drift alike, so mixed windows would comb the bleed against its
# stem. Hence short only when no stem of the song beside it needs the long window.
SHORT_WINDOW_STEMS = frozenset({"drums", "vocals", "other"})
LONG_WINDOW_STEMS = frozenset({"bass", "instrumental", "full"})


@dataclass(frozen=True)
class StemStretch:
    """How the stretcher treats every span of one stem."""

    preserve_formants: bool = True
    short_window: bool = False


def stem_stretch(stem: str, *, beside: Collection[str] = ()) -> StemStretch:
    """The stretcher options of `stem`, playing at the same time as the stems `beside` of
    the same song (see FORMANT_STEMS and SHORT_WINDOW_STEMS)."""
    return StemStretch(preserve_formants=stem in FORMANT_STEMS,
                       short_window=stem in SHORT_WINDOW_STEMS
                       and not LONG_WINDOW_STEMS.intersection(beside))


MONO_SIDE_DB = -80.0  # side RMS under mid RMS by this much: the segment is mono


def stretched_length(n_in: int, factors: float | np.ndarray) -> int:
    """Output samples of a stretch of `n_in` samples: the sum of 1/factor per input
    sample (as Rubber Band lays them out), rounded."""
    if isinstance(factors, np.ndarray):
        return round(float(np.sum(1.0 / factors[:n_in])))
    return round(n_in / factors)


def is_mono(segment: np.ndarray) -> bool:
    """True when the two channels of `segment` (2, n) differ by less than `MONO_SIDE_DB`
    (side RMS against mid RMS); a single channel is mono too."""
    if segment.shape[0] < 2:
        return True
    # Plain ufuncs, not np.dot: BLAS would wake its own threads, which spin on the cores
    # the stretcher threads need (seconds of CPU per render).
    diff = segment[0] - segment[1]
    total = segment[0] + segment[1]
    side = float(np.sum(np.square(diff, dtype=np.float64)))
    mid = float(np.sum(np.square(total, dtype=np.float64)))
    return side <= mid * 10 ** (MONO_SIDE_DB / 10)


def time_stretch(segment: np.ndarray, *, sample_rate_hz: int, factors: float | np.ndarray,
                 pitch_semitones: float, high_quality: bool,
                 options: StemStretch = StemStretch()) -> np.ndarray:
    """`pedalboard.time_stretch` of `segment` (channels, n) float32 with `factors` (source
    samples per output sample: a float or one float64 per input sample) and a pitch shift;
    formants are kept on a shift when `options.preserve_formants`, and the high-quality
    engine runs with its short window when `options.short_window`. Returns float32
    (channels, m)."""
    if float(np.max(np.abs(segment), initial=0.0)) < SILENT_PEAK:
        return np.zeros((segment.shape[0], stretched_length(segment.shape[1], factors)),
                        dtype=np.float32)
    mono = segment.shape[0] == 2 and is_mono(segment)
    source = segment.mean(axis=0, keepdims=True, dtype=np.float32) if mono else segment
    out = pedalboard.time_stretch(
        np.ascontiguousarray(source, dtype=np.float32), float(sample_rate_hz),
        stretch_factor=factors, pitch_shift_in_semitones=float(pitch_semitones),
        high_quality=high_quality,
        # Formant preservation only acts on a pitch shift; unshifted, the output is the
        # same bytes without it, at ~12 % less CPU.
        preserve_formants=options.preserve_formants and pitch_semitones != 0,
        # None: Rubber Band's own choice (R3's long window); the fast engine keeps it.
        use_long_fft_window=False if options.short_window and high_quality else None,
    )
    return np.repeat(out, 2, axis=0) if mono else out

