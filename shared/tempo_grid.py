"""How a song's beats meet the mashup's beat grid: the folds a DJ counts.

A song plays on the target grid at `beat_ratio` output beats per source beat: 1 (direct),
2 or 1/2 (double or half time), or 3/2 and 2/3 (a 3:2 relation, 80 BPM against 120; a
small preference penalty keeps it for pairs no power of two brings close). One definition
for the planner, which chooses source passages by how fast they play, and the renderer,
which warps them: both must agree on the speed.

In a 3:2 relation the song's beats do not fall on the grid's beats (three of its beats
take two of the grid's), so its rhythm must not play against the other song's drums.
"""

from __future__ import annotations

import math

# (output beats per source beat, preference penalty in log-stretch units)
CROSSING_PENALTY = 0.08  # a 3:2 relation weighs like this much more log-stretch
BEAT_RATIOS: tuple[tuple[float, float], ...] = (
    (1.0, 0.0), (2.0, 0.0), (0.5, 0.0), (1.5, CROSSING_PENALTY), (2.0 / 3.0, CROSSING_PENALTY))


def _costs(song_bpm: float, target_bpm: float) -> list[tuple[float, float]]:
    """(log-stretch + preference penalty, ratio) of the song at every one of BEAT_RATIOS."""
    return [(abs(math.log(target_bpm / (ratio * song_bpm))) + penalty, ratio)
            for ratio, penalty in BEAT_RATIOS]


def beat_ratio(*, song_bpm: float, target_bpm: float) -> float:
    """Output beats per source beat (one of `BEAT_RATIOS`), whichever stretches least."""
    return min(_costs(song_bpm, target_bpm), key=lambda item: item[0])[1]


def grid_misfit(*, song_bpm: float, target_bpm: float) -> float:
    """What `beat_ratio` minimises: the song's log-stretch at its ratio, plus
    CROSSING_PENALTY for a 3:2 relation."""
    return min(cost for cost, _ in _costs(song_bpm, target_bpm))


def playback_speed(*, song_bpm: float, target_bpm: float) -> float:
    """Source seconds per output second (> 1: faster) of the song at its beat ratio."""
    return target_bpm / (beat_ratio(song_bpm=song_bpm, target_bpm=target_bpm) * song_bpm)


def on_the_beat(ratio: float) -> bool:
    """True when a song at `ratio` has its beats on the grid's beats (a power of two),
    False for a 3:2 relation (its rhythm would cross the other song's)."""
    return abs(math.log2(ratio) - round(math.log2(ratio))) < 1e-9
