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
# A bar-phase change costs this much of the per-beat score (z units, about 1 per bar of
# clear evidence): several bars must disagree with the phase before it moves.
PHASE_CHANGE_COST = 8.0


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


def _downbeat_score(*, kick: np.ndarray, snare: np.ndarray, harmony: np.ndarray,
                    kick_hits: np.ndarray | None = None) -> np.ndarray:
    """Per-beat evidence (n_beats,) that a beat starts a bar: high on kick and harmonic
    change, low on snare. With `kick_hits` the kick's weight is shared equally between
    the kick band and the kick drum's own hits: the band also hears the bass, whose
    note on beat three outweighed a breakbeat's lone kick on one (stress 4000/17), while
    on most pop songs the bass note on one is what makes the band's contrast clearer
    than the hits' (either alone: the worst margin of the true bar phase over the next
    among 216 tuning songs 0.22 / 0.59 z, shared 0.68)."""
    kick_z = _zscore(kick) if kick_hits is None else 0.5 * (_zscore(kick) + _zscore(kick_hits))
    return (KICK_WEIGHT * kick_z + HARMONY_WEIGHT * _zscore(harmony)
            + SNARE_WEIGHT * _zscore(snare))


def downbeat_phase(*, kick: np.ndarray, snare: np.ndarray, harmony: np.ndarray,
                   kick_hits: np.ndarray | None = None) -> int:
    """Index (0..3) of the first downbeat among the beats, from per-beat cue strengths
    (each (n_beats,)): the phase whose beats score highest on kick and harmonic change
    and lowest on snare."""
    score = _downbeat_score(kick=kick, snare=snare, harmony=harmony, kick_hits=kick_hits)
    n_phases = min(BEATS_PER_BAR, len(score))
    if n_phases == 0:
        return 0
    phase_scores = [float(score[p::BEATS_PER_BAR].mean()) for p in range(n_phases)]
    return int(np.argmax(phase_scores))


def bar_positions(score: np.ndarray, *, change_cost: float = PHASE_CHANGE_COST) -> np.ndarray:
    """Position in its bar (0 = downbeat .. 3) of every beat (n_beats,) int, from the
    per-beat downbeat evidence `score`: the Viterbi path that collects the most evidence
    on its downbeats, where each beat normally takes the next position and a jump to any
    other costs `change_cost`. One phase for the whole song misses every bar after a beat
    the tracker added or dropped (and after a bar of two beats); the path follows it."""
    n = len(score)
    positions = np.arange(BEATS_PER_BAR)
    if n == 0:
        return positions[:0]
    nxt = (positions + 1) % BEATS_PER_BAR
    cost = np.full((BEATS_PER_BAR, BEATS_PER_BAR), change_cost)  # (from, to)
    cost[positions, nxt] = 0.0
    emission = np.where(positions[None, :] == 0, score[:, None], 0.0)
    total = emission[0].copy()
    back = np.zeros((n, BEATS_PER_BAR), dtype=np.int64)
    for k in range(1, n):
        moves = total[:, None] - cost
        back[k] = np.argmax(moves, axis=0)
        total = moves[back[k], positions] + emission[k]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for k in range(n - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path


def estimate_downbeats(beats_sec: np.ndarray, *, onsets: OnsetEnvelopes, chroma: np.ndarray,
                       frame_times_sec: np.ndarray, duration_sec: float,
                       steady: bool = True) -> np.ndarray:
    """Downbeat times (a subset of `beats_sec`, every fourth beat) for 4/4 music.

    onsets: kick/snare envelopes; chroma: (n_frames, 12) at `frame_times_sec`. Beats on
    a `steady` grid take one bar phase for the whole song: a grid neither adds nor drops
    beats, and a real song's cues can favour another phase for a whole section (a chorus
    that changes chords on beat three). Beats that are a tracker's own (not steady) may
    have gained or lost one where it lost the beat, so their bar phase follows the cues
    (`bar_positions`)."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if len(beats) < BEATS_PER_BAR:
        return beats[:1]
    cues = {
        "kick": onsets.strength_at(onsets.kick, beats),
        "kick_hits": (None if onsets.kick_hits is None
                      else onsets.strength_at(onsets.kick_hits, beats)),
        "snare": onsets.strength_at(onsets.snare, beats),
        "harmony": harmonic_change(chroma, frame_times_sec=frame_times_sec, beats_sec=beats,
                                   duration_sec=duration_sec),
    }
    if steady:
        return beats[downbeat_phase(**cues)::BEATS_PER_BAR]
    return beats[bar_positions(_downbeat_score(**cues)) == 0]
