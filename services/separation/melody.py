"""Predominant-melody f0 track, resampled onto the separator's STFT frames.

Essentia's PredominantPitchMelodia (Salamon & Gómez 2012) runs on a 22.05 kHz mono copy
at a 256-sample hop (11.6 ms), which is fast (about 60× realtime) and fine enough to
follow vibrato. The caller feeds it the unsteady, above-bass part of the mix (see
`dsp.melody_source`): held pads and the bass would otherwise win the salience contest.
For each STFT frame we keep the median f0 and the f0 spread over the melody frames the
STFT window covers, so the harmonic comb can widen where the pitch moves within one
window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.audio_io import resample

MELODY_RATE_HZ = 22050
MELODY_HOP = 256
MELODY_FRAME = 2048


@dataclass(frozen=True)
class MelodyTrack:
    """f0 per STFT frame: `f0_hz` (frames,) is 0 where unvoiced; `spread_hz` (frames,) is
    the f0 range the melody covers within that frame's window; `certainty` (frames,)
    in [0, 1], the share of the frame's pitch that Melodia heard as voiced rather than
    guessed (None: all voiced frames certain)."""

    f0_hz: np.ndarray
    spread_hz: np.ndarray
    certainty: np.ndarray | None = None

    @property
    def voiced(self) -> np.ndarray:
        return self.f0_hz > 0


def melody_f0(
    mono: np.ndarray,
    *,
    sample_rate_hz: int,
    min_f0_hz: float = 100.0,
    max_f0_hz: float = 1000.0,
    relative_confidence: float = 0.7,
    guess_unvoiced: bool = False,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Predominant melody of a mono signal (n,).

    Melodia marks too much as voiced in dense mixes (pads and stabs form contours too),
    so frames whose pitch confidence is below `relative_confidence` times the 90th
    percentile of this signal's confidences are set unvoiced. The threshold is relative
    because Melodia's confidence scales with the signal level. But Melodia also leaves
    many sung frames unvoiced: with `guess_unvoiced` those keep the pitch of the contour
    Melodia could still follow through them (its guessUnvoiced mode), and so do the
    frames below the gate, marked uncertain, for the caller to confirm or drop.
    Returns (f0_hz, certainty, hop_sec): f0 per melody frame (0 = unvoiced), 1 where
    voiced above the gate and 0 where guessed or below it (or unvoiced), frame i
    centred at i * hop_sec.
    """
    import essentia.standard as es  # imported here: Essentia's import is slow and noisy

    hop_sec = MELODY_HOP / MELODY_RATE_HZ
    mono = np.asarray(mono, dtype=np.float32)
    if mono.size < MELODY_FRAME or not np.any(mono):
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32), hop_sec
    low = resample(mono, from_rate_hz=sample_rate_hz, to_rate_hz=MELODY_RATE_HZ)
    extractor = es.PredominantPitchMelodia(
        sampleRate=MELODY_RATE_HZ,
        frameSize=MELODY_FRAME,
        hopSize=MELODY_HOP,
        minFrequency=min_f0_hz,
        maxFrequency=max_f0_hz,
        guessUnvoiced=guess_unvoiced,
    )
    pitch_hz, confidence = extractor(np.ascontiguousarray(low, dtype=np.float32))
    pitch_hz = np.asarray(pitch_hz, dtype=np.float32)
    confidence = np.asarray(confidence, dtype=np.float32)
    # Melodia's voiced frames carry a positive confidence, a guessed pitch a negative one.
    voiced = (pitch_hz > 0) & (confidence > 0)
    if voiced.any():
        floor = relative_confidence * float(np.percentile(confidence[voiced], 90))
        voiced &= confidence >= floor
    guessed = (pitch_hz > 0) & ~voiced if guess_unvoiced else np.zeros_like(voiced)
    pitch_hz = np.where(voiced | guessed, pitch_hz, 0.0).astype(np.float32)
    return pitch_hz, voiced.astype(np.float32), hop_sec


def melody_on_frames(
    f0_hz: np.ndarray,
    *,
    melody_hop_sec: float,
    n_frames: int,
    frame_hop_sec: float,
    window_sec: float,
    start_sec: float = 0.0,
    min_voiced_fraction: float = 0.5,
    certainty: np.ndarray | None = None,
) -> MelodyTrack:
    """Summarise a melody track on STFT frames (frame j centred at start_sec + j *
    frame_hop_sec, so a chunk of the song can take its part of the song's track).

    A frame is voiced when at least `min_voiced_fraction` of the melody frames within
    the central half of its window are voiced (the Hann window's energy sits there);
    its certainty is the mean `certainty` (per melody frame; None: all 1) over those
    voiced frames.
    """
    f0_out = np.zeros(n_frames, dtype=np.float32)
    spread_out = np.zeros(n_frames, dtype=np.float32)
    certainty_out = np.zeros(n_frames, dtype=np.float32)
    if f0_hz.size == 0:
        return MelodyTrack(f0_out, spread_out, certainty_out)
    if certainty is None:
        certainty = (f0_hz > 0).astype(np.float32)
    half_span = max(1, round(window_sec / 4 / melody_hop_sec))
    centres_sec = start_sec + np.arange(n_frames) * frame_hop_sec
    centres = np.rint(centres_sec / melody_hop_sec).astype(int)
    # Pad with unvoiced frames so every window has the same width.
    pad = (half_span, half_span + max(0, centres[-1] + 1 - f0_hz.size))
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(f0_hz, pad), 2 * half_span + 1)
    weights = np.lib.stride_tricks.sliding_window_view(np.pad(certainty, pad), 2 * half_span + 1)
    index = np.clip(centres, 0, windows.shape[0] - 1)
    windows, weights = windows[index], weights[index]
    voiced = windows > 0
    keep = voiced.mean(axis=1) >= min_voiced_fraction
    if keep.any():
        # Median and range over the voiced melody frames only (unvoiced ones are 0).
        rows = np.where(voiced[keep], windows[keep], np.nan)
        f0_out[keep] = np.nanmedian(rows, axis=1)
        spread_out[keep] = np.nanmax(rows, axis=1) - np.nanmin(rows, axis=1)
        certainty_out[keep] = np.nanmean(np.where(voiced[keep], weights[keep], np.nan), axis=1)
    return MelodyTrack(f0_out, spread_out, certainty_out)
