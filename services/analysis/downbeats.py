"""Bar phase: which beat of every four is the downbeat, from the cues that mark bar
starts in real music: the kick lands on beat one, harmony changes there, and the
backbeat snare avoids it."""

from __future__ import annotations

import numpy as np

from services.analysis.features import OnsetEnvelopes, pool_segments

BEATS_PER_BAR = 4
# Weights of the z-scored cues in the phase score: the kick is the most reliable cue on
# electronic and pop material, harmonic change the most reliable where drums are sparse.
KICK_WEIGHT = 1.0
HARMONY_WEIGHT = 1.0
SNARE_WEIGHT = -0.5


def harmonic_change(chroma: np.ndarray, *, frame_times_sec: np.ndarray,
                    beats_sec: np.ndarray, duration_sec: float) -> np.ndarray:
    """Cosine distance (0..1) between the chroma of the beat before and the beat after
    each beat; (n_beats,), 0 for the first beat."""
    boundaries = np.append(beats_sec, duration_sec)
    segments = pool_segments(chroma, frame_times_sec=frame_times_sec, boundaries_sec=boundaries)
    unit = segments / (np.linalg.norm(segments, axis=1, keepdims=True) + 1e-9)
    change = 1.0 - np.sum(unit[1:] * unit[:-1], axis=1)
    return np.concatenate([[0.0], change])


def _zscore(values: np.ndarray) -> np.ndarray:
    std = float(values.std())
    return (values - values.mean()) / std if std > 1e-9 else np.zeros_like(values)


def downbeat_phase(*, kick: np.ndarray, snare: np.ndarray, harmony: np.ndarray) -> int:
    """Index (0..3) of the first downbeat among the beats, from per-beat cue strengths
    (each (n_beats,)): the phase whose beats score highest on kick and harmonic change
    and lowest on snare."""
    score = (KICK_WEIGHT * _zscore(kick) + HARMONY_WEIGHT * _zscore(harmony)
             + SNARE_WEIGHT * _zscore(snare))
    n_phases = min(BEATS_PER_BAR, len(score))
    if n_phases == 0:
        return 0
    phase_scores = [float(score[p::BEATS_PER_BAR].mean()) for p in range(n_phases)]
    return int(np.argmax(phase_scores))


def estimate_downbeats(beats_sec: np.ndarray, *, onsets: OnsetEnvelopes, chroma: np.ndarray,
                       frame_times_sec: np.ndarray, duration_sec: float) -> np.ndarray:
    """Downbeat times (a subset of `beats_sec`, every fourth beat) for 4/4 music.

    onsets: kick/snare envelopes; chroma: (n_frames, 12) at `frame_times_sec`."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if len(beats) < BEATS_PER_BAR:
        return beats[:1]
    phase = downbeat_phase(
        kick=onsets.strength_at(onsets.kick, beats),
        snare=onsets.strength_at(onsets.snare, beats),
        harmony=harmonic_change(chroma, frame_times_sec=frame_times_sec, beats_sec=beats,
                                duration_sec=duration_sec),
    )
    return beats[phase::BEATS_PER_BAR]
